//! The ECS and EKS doors (docs/protocol.md §7–§8, docs/doors.md): cases 58–60 and 63–67,
//! behind the proxy (the door named by the proxy's header) and on `serve`'s loopback (the
//! door named by the path). Neither agent sends `Server: EC2ws`, so answers are read with
//! `send_raw`.

use axum::http::{Method, StatusCode};
use imds_spoof::broker::doors::ServiceAccount;
use imds_spoof::broker::DOOR_HEADER;
use imds_spoof::broker::{AccessPolicy, CALLER_HEADER, SECRET_HEADER};
use imds_spoof::config::Door;
use imds_spoof::config::{CredentialSource, FaultKind, IdentityOrigin, ServiceAccountRule};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::support::{fault, identity, loopback, request, Answer, Expected, Imds, RequestBuilder};

pub(crate) const SECRET: &str = "per-run-secret-0123456789";
const CONTAINER_TOKEN: &str = "container-token-for-the-conformance-suite";
const EKS_PATH: &str = "/v1/credentials";
const EKS_HOST: &str = "169.254.170.23";
const ECS_HOST: &str = "169.254.170.2";

fn proxy_policy() -> AccessPolicy {
    AccessPolicy::Proxy {
        proxy_ip: None,
        secret: SECRET.to_string(),
        host_ips: vec!["169.254.0.1".parse().expect("ip")],
    }
}

/// A broker behind the proxy, with the configuration after `edit`.
pub(crate) fn proxied(edit: impl FnOnce(&mut imds_spoof::config::Config)) -> Imds {
    Imds::build(edit, proxy_policy(), |_| {})
}

/// `serve`'s loopback broker, with its container token.
fn served(edit: impl FnOnce(&mut imds_spoof::config::Config)) -> Imds {
    Imds::build(edit, loopback(), |state| {
        state.doors.container_token = Some(CONTAINER_TOKEN.to_string());
    })
}

/// A request as the proxy forwards it from a container that connected to `door_address`.
pub(crate) fn through_proxy(path: &str, door_address: &str) -> RequestBuilder {
    request(Method::GET, path)
        .host(door_address)
        .header(SECRET_HEADER, SECRET)
        .header(CALLER_HEADER, "169.254.0.7")
        .header(DOOR_HEADER, door_address)
}

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// A token for `account` valid from `from` (unix seconds) for `ttl` seconds.
fn pod_token(imds: &Imds, account: &str, from: i64, ttl: i64) -> String {
    let account = ServiceAccount::parse(account).expect("service account name");
    imds.state.doors.pod_tokens.issue(&account, from, ttl)
}

async fn send(imds: &Imds, request: RequestBuilder) -> Answer {
    Answer::from_response(imds.send_raw(request.build()).await).await
}

fn assert_compact_json(answer: &Answer, what: &str) {
    assert_eq!(answer.status, StatusCode::OK, "{what}: {}", answer.text());
    assert_eq!(
        answer.header("content-type"),
        Some("application/json"),
        "{what}"
    );
    assert_eq!(
        answer.header("server"),
        None,
        "{what}: agents send no Server"
    );
    let text = answer.text();
    assert!(
        !text.contains('\n') && !text.contains(": ") && !text.contains(", "),
        "{what}: not compact: {text}"
    );
}

/// Go's RFC3339Nano: UTC `Z`, a fraction of one to nine digits without trailing zeros, or none.
fn assert_rfc3339_nano(value: &str) -> OffsetDateTime {
    let at = OffsetDateTime::parse(value, &Rfc3339)
        .unwrap_or_else(|err| panic!("{value}: not RFC 3339: {err}"));
    assert!(value.ends_with('Z'), "{value}: not UTC Z form");
    if let Some((_, fraction)) = value.trim_end_matches('Z').split_once('.') {
        assert!(
            (1..=9).contains(&fraction.len())
                && fraction.bytes().all(|b| b.is_ascii_digit())
                && !fraction.ends_with('0'),
            "{value}: fraction is not RFC3339Nano's"
        );
    }
    at
}

fn assert_go_text_error(answer: &Answer, status: StatusCode, starts: &str, what: &str) {
    assert_eq!(answer.status, status, "{what}: {}", answer.text());
    assert_eq!(
        answer.header("content-type"),
        Some("text/plain; charset=utf-8"),
        "{what}"
    );
    assert!(
        answer.text().starts_with(starts) && answer.text().ends_with('\n'),
        "{what}: {:?}",
        answer.text()
    );
    assert!(!answer.text().contains("SecretAccessKey"), "{what}");
}

fn assert_ecs_error(answer: &Answer, status: StatusCode, code: &str, what: &str) {
    assert_eq!(answer.status, status, "{what}: {}", answer.text());
    assert_eq!(
        answer.header("content-type"),
        Some("application/json"),
        "{what}"
    );
    let json = answer.json();
    assert_eq!(json["code"], code, "{what}: {json}");
    assert!(json["message"].is_string(), "{what}: {json}");
    assert!(json.get("AccessKeyId").is_none(), "{what}: {json}");
}

/// The ECS document for `expected`: four strings, a future RFC 3339 Expiration, RoleArn
/// and AccountId.
fn assert_ecs_credentials(answer: &Answer, expected: &Expected, account: &str, what: &str) {
    assert_compact_json(answer, what);
    let json = answer.json();
    for field in [
        "AccessKeyId",
        "SecretAccessKey",
        "Token",
        "Expiration",
        "RoleArn",
        "AccountId",
    ] {
        assert!(json[field].is_string(), "{what}: {field} in {json}");
    }
    assert_eq!(json["AccessKeyId"], expected.access_key.as_str(), "{what}");
    assert_eq!(json["SecretAccessKey"], expected.secret.as_str(), "{what}");
    assert_eq!(json["Token"], expected.token.as_str(), "{what}");
    assert_eq!(
        json["RoleArn"],
        format!("arn:aws:iam::{account}:role/{}", expected.role).as_str(),
        "{what}"
    );
    assert_eq!(json["AccountId"], account, "{what}");
    let expiration = json["Expiration"].as_str().expect("string");
    let at = OffsetDateTime::parse(expiration, &Rfc3339).expect("RFC 3339 Expiration");
    assert!(
        at > OffsetDateTime::now_utc(),
        "{what}: {expiration} is past"
    );
}

/// The address of a container labelled to play `worker` (see [`proxied_with_callers`]).
const WORKER_IP: &str = "169.254.0.9";

/// A broker behind the proxy that knows two containers: `plain-app` at 169.254.0.7 (plays
/// the active identity, `default`) and `worker-app` at [`WORKER_IP`] (labelled `worker`).
fn proxied_with_callers() -> Imds {
    Imds::build(
        |_| {},
        proxy_policy(),
        |state| {
            let directory = crate::support::KnownCallers::default()
                .container("169.254.0.7", "plain-app", None, None)
                .container(WORKER_IP, "worker-app", None, Some("worker"));
            state.callers = Some(std::sync::Arc::new(directory));
        },
    )
}

fn from_caller(path: &str, caller: &str) -> RequestBuilder {
    request(Method::GET, path)
        .host(ECS_HOST)
        .header(SECRET_HEADER, SECRET)
        .header(CALLER_HEADER, caller)
        .header(DOOR_HEADER, ECS_HOST)
}

#[tokio::test]
async fn case_58_relative_uri_answers_the_callers_own_identity_by_name_and_self() {
    let imds = proxied_with_callers();
    let worker = identity(1);
    for path in ["/v2/credentials/worker", "/v2/credentials/self"] {
        let answer = send(&imds, from_caller(path, WORKER_IP)).await;
        assert_ecs_credentials(
            &answer,
            &Expected::sample_identity(1),
            &worker.account_id,
            path,
        );
        let record = imds.last_record();
        assert_eq!(record.door, Door::Ecs);
        assert_eq!(record.identity, "worker");
        assert_eq!(record.identity_origin, IdentityOrigin::Label, "{path}");
        assert_eq!(record.protocol(), "ecs");
    }

    // The plain container plays the active identity, by its name or as `self`.
    for path in ["/v2/credentials/default", "/v2/credentials/self"] {
        let answer = send(&imds, from_caller(path, "169.254.0.7")).await;
        assert_ecs_credentials(
            &answer,
            &Expected::sample_identity(0),
            &identity(0).account_id,
            path,
        );
        assert_eq!(imds.last_record().identity_origin, IdentityOrigin::Active);
    }

    // Without the proxy's door header the same path is IMDS's, which has no such path.
    let answer = send(
        &imds,
        request(Method::GET, "/v2/credentials/worker")
            .header(SECRET_HEADER, SECRET)
            .header(CALLER_HEADER, WORKER_IP),
    )
    .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(imds.last_record().door, Door::Imds);
}

/// On ECS a credentials id is an unguessable id given only to its task; here it is an
/// identity's name, so a container may name only the identity it plays. Another
/// identity's name, configured or not, in any case, gets the unknown-id answer byte for
/// byte: no keys, and no telling which names exist.
#[tokio::test]
async fn case_58_a_container_cannot_name_another_identity_at_the_ecs_door() {
    let imds = proxied_with_callers();
    let unknown = send(&imds, from_caller("/v2/credentials/nope", "169.254.0.7")).await;
    assert_ecs_error(
        &unknown,
        StatusCode::BAD_REQUEST,
        "InvalidIdInRequest",
        "nope",
    );
    for (path, caller) in [
        ("/v2/credentials/worker", "169.254.0.7"),
        ("/v2/credentials/WORKER", "169.254.0.7"),
        ("/v2/credentials/default", WORKER_IP),
        ("/v2/credentials/Worker", WORKER_IP),
        // A caller the engine does not know plays the active identity, not worker.
        ("/v2/credentials/worker", "169.254.0.55"),
    ] {
        let answer = send(&imds, from_caller(path, caller)).await;
        assert_eq!(answer.status, unknown.status, "{path} from {caller}");
        assert_eq!(answer.body, unknown.body, "{path} from {caller}");
        assert_eq!(answer.headers, unknown.headers, "{path} from {caller}");
        let text = answer.text();
        assert!(
            !text.contains("AccessKeyId"),
            "{path} from {caller}: {text}"
        );
    }
}

#[tokio::test]
async fn case_58_the_ecs_door_checks_host_and_the_proxy_secret() {
    let imds = proxied(|_| {});
    for host in ["evil.example", "169.254.170.2:8080", "169.254.169.254"] {
        let answer = send(
            &imds,
            through_proxy("/v2/credentials/worker", ECS_HOST).host(host),
        )
        .await;
        assert_ecs_error(&answer, StatusCode::FORBIDDEN, "AccessDenied", host);
    }
    let forged = request(Method::GET, "/v2/credentials/worker")
        .host(ECS_HOST)
        .header(SECRET_HEADER, "guess")
        .header(CALLER_HEADER, "169.254.0.7")
        .header(DOOR_HEADER, ECS_HOST);
    let answer = send(&imds, forged).await;
    assert_ecs_error(&answer, StatusCode::FORBIDDEN, "AccessDenied", "no secret");
}

#[tokio::test]
async fn case_59_missing_and_unknown_ids_are_the_agents_400s() {
    let imds = proxied(|_| {});
    for path in ["/v2/credentials", "/v2/credentials/"] {
        let answer = send(&imds, through_proxy(path, ECS_HOST)).await;
        assert_ecs_error(&answer, StatusCode::BAD_REQUEST, "NoIdInRequest", path);
    }
    for path in ["/v2/credentials/nobody", "/v2/credentials/worker/extra"] {
        let answer = send(&imds, through_proxy(path, ECS_HOST)).await;
        assert_ecs_error(&answer, StatusCode::BAD_REQUEST, "InvalidIdInRequest", path);
    }
}

#[tokio::test]
async fn case_60_loopback_ecs_needs_the_container_token() {
    let imds = served(|_| {});
    let ecs = |auth: Option<&str>| {
        let builder = request(Method::GET, "/v2/credentials/worker").host("127.0.0.1:1338");
        match auth {
            Some(auth) => builder.header("authorization", auth),
            None => builder,
        }
    };
    for (auth, what) in [(None, "missing"), (Some("wrong-token"), "wrong")] {
        let answer = send(&imds, ecs(auth)).await;
        assert_ecs_error(&answer, StatusCode::FORBIDDEN, "AccessDenied", what);
    }
    let answer = send(&imds, ecs(Some(CONTAINER_TOKEN))).await;
    assert_ecs_credentials(
        &answer,
        &Expected::sample_identity(1),
        &identity(1).account_id,
        "correct token",
    );
    // The token is masked in the record's safe copy, like the IMDS token.
    let masked = imds.last_record().masked();
    let auth = masked
        .request_headers
        .iter()
        .find(|(name, _)| *name == "authorization")
        .map(|(_, value)| value.to_string())
        .expect("authorization recorded");
    assert!(
        auth.starts_with("****") && !auth.contains("container-token"),
        "{auth}"
    );
    // IMDS's loopback Host rule stays: a foreign Host is refused even with the token.
    let answer = send(&imds, ecs(Some(CONTAINER_TOKEN)).host("evil.example:1338")).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);

    // A loopback broker without a container token refuses ECS altogether.
    let untokened = Imds::new();
    let answer = send(&untokened, ecs(Some(CONTAINER_TOKEN))).await;
    assert_ecs_error(
        &answer,
        StatusCode::FORBIDDEN,
        "AccessDenied",
        "no token configured",
    );
}

#[tokio::test]
async fn case_63_a_valid_token_gets_compact_eks_credentials() {
    let imds = proxied(|_| {});
    let token = pod_token(&imds, "imds-spoof/worker", now(), 3600);
    let answer = send(
        &imds,
        through_proxy(EKS_PATH, EKS_HOST).header("authorization", &token),
    )
    .await;
    assert_compact_json(&answer, "EKS credentials");
    let json = answer.json();
    let expected = Expected::sample_identity(1);
    assert_eq!(json["AccessKeyId"], expected.access_key.as_str());
    assert_eq!(json["SecretAccessKey"], expected.secret.as_str());
    assert_eq!(json["Token"], expected.token.as_str());
    assert_eq!(json["AccountId"], identity(1).account_id.as_str());
    assert!(json.get("RoleArn").is_none(), "no RoleArn: {json}");
    let keys: Vec<&str> = json
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 5, "{json}");
    let at = assert_rfc3339_nano(json["Expiration"].as_str().expect("string"));
    assert!(at > OffsetDateTime::now_utc());
    // The agent's field order.
    let text = answer.text();
    let order: Vec<usize> = [
        "AccessKeyId",
        "SecretAccessKey",
        "Token",
        "AccountId",
        "Expiration",
    ]
    .iter()
    .map(|key| text.find(&format!("\"{key}\"")).expect("key"))
    .collect();
    assert!(order.windows(2).all(|pair| pair[0] < pair[1]), "{text}");

    let record = imds.last_record();
    assert_eq!(record.door, Door::Eks);
    assert_eq!(record.identity, "worker");
    assert_eq!(record.identity_origin, IdentityOrigin::Token);
    let masked = record.masked();
    assert!(!serde_json::to_string(&masked)
        .expect("json")
        .contains(&token));
}

#[tokio::test]
async fn case_63_service_accounts_map_to_identities_through_the_config() {
    let imds = proxied(|config| {
        config.service_accounts.push(ServiceAccountRule {
            name: "payments/api".to_string(),
            identity: "worker".to_string(),
        })
    });
    let get = |token: String| through_proxy(EKS_PATH, EKS_HOST).header("authorization", &token);
    let answer = send(&imds, get(pod_token(&imds, "payments/api", now(), 600))).await;
    assert_compact_json(&answer, "mapped account");
    assert_eq!(
        answer.json()["AccessKeyId"],
        Expected::sample_identity(1).access_key.as_str()
    );
    for account in ["payments/other", "imds-spoof/nobody"] {
        let answer = send(&imds, get(pod_token(&imds, account, now(), 600))).await;
        assert_go_text_error(&answer, StatusCode::FORBIDDEN, "Access Denied.", account);
    }
}

#[tokio::test]
async fn case_64_a_bad_host_is_refused_before_the_token_is_read() {
    let imds = proxied(|_| {});
    for host in ["localhost", "169.254.170.2", "evil.com", "169.254.169.254"] {
        // An empty token would be a 400: the 403 proves Host is checked first.
        let answer = send(
            &imds,
            through_proxy(EKS_PATH, EKS_HOST)
                .host(host)
                .header("authorization", ""),
        )
        .await;
        assert_go_text_error(
            &answer,
            StatusCode::FORBIDDEN,
            "Access Denied. Called agent through invalid address",
            host,
        );
    }
    // serve's loopback: its own address with its port is the documented exception; every
    // other Host is refused as the agent refuses it.
    let served = served(|_| {});
    let token = pod_token(&served, "imds-spoof/worker", now(), 600);
    let on_loopback = |host: &str| {
        request(Method::GET, EKS_PATH)
            .host(host)
            .header("authorization", &token)
    };
    for host in [
        "127.0.0.1:1338",
        "localhost:1338",
        EKS_HOST,
        "[fd00:ec2::23]:80",
    ] {
        let answer = send(&served, on_loopback(host)).await;
        assert_compact_json(&answer, host);
    }
    for host in [
        "evil.com",
        "evil.com:1338",
        "localhost",
        "127.0.0.1:1339",
        ECS_HOST,
    ] {
        let answer = send(&served, on_loopback(host)).await;
        assert_go_text_error(&answer, StatusCode::FORBIDDEN, "Access Denied.", host);
    }
}

#[tokio::test]
async fn case_65_the_ipv6_host_is_accepted_with_or_without_port() {
    let imds = proxied(|_| {});
    let token = pod_token(&imds, "imds-spoof/default", now(), 600);
    for host in ["[fd00:ec2::23]:80", "[fd00:ec2::23]", "169.254.170.23:80"] {
        let answer = send(
            &imds,
            through_proxy(EKS_PATH, "fd00:ec2::23")
                .host(host)
                .header("authorization", &token),
        )
        .await;
        assert_compact_json(&answer, host);
    }
}

#[tokio::test]
async fn case_66_empty_garbage_expired_and_early_tokens_are_400() {
    let imds = proxied(|_| {});
    let other_key = imds_spoof::broker::doors::PodTokenKey::generate();
    let account = ServiceAccount::parse("imds-spoof/worker").expect("account");
    let cases = [
        (String::new(), "Service account token cannot be empty"),
        (
            "not-a-jwt".to_string(),
            "Service account token cannot be parsed",
        ),
        (
            "a.b.c".to_string(),
            "Service account token cannot be parsed",
        ),
        (
            other_key.issue(&account, now(), 600),
            "Service account token cannot be parsed",
        ),
        (
            pod_token(&imds, "imds-spoof/worker", now() - 7200, 3600),
            "Service account token failed basic claim validations",
        ),
        (
            pod_token(&imds, "imds-spoof/worker", now() + 3600, 3600),
            "Service account token failed basic claim validations",
        ),
    ];
    for (token, starts) in cases {
        let answer = send(
            &imds,
            through_proxy(EKS_PATH, EKS_HOST).header("authorization", &token),
        )
        .await;
        assert_go_text_error(&answer, StatusCode::BAD_REQUEST, starts, &token);
    }
    // No Authorization header at all is the empty token.
    let answer = send(&imds, through_proxy(EKS_PATH, EKS_HOST)).await;
    assert_go_text_error(
        &answer,
        StatusCode::BAD_REQUEST,
        "Service account token cannot be empty",
        "no header",
    );
}

/// An EKS request through the proxy with a fresh token for service account `account`.
async fn eks_through_proxy(imds: &Imds, account: &str) -> Answer {
    let token = pod_token(imds, account, now(), 600);
    send(
        imds,
        through_proxy(EKS_PATH, EKS_HOST).header("authorization", &token),
    )
    .await
}

#[tokio::test]
async fn case_67_a_throttle_fault_is_a_429_at_eks() {
    let imds = proxied(|config| {
        config
            .faults
            .push(fault(EKS_PATH, FaultKind::Status { status: 429 }))
    });
    let answer = eks_through_proxy(&imds, "imds-spoof/worker").await;
    assert_go_text_error(
        &answer,
        StatusCode::TOO_MANY_REQUESTS,
        "Too Many Requests.",
        "throttled",
    );
    assert_eq!(imds.last_record().fault.as_deref(), Some("status 429"));
    // A fault on the EKS path leaves ECS alone.
    let answer = send(&imds, through_proxy("/v2/credentials/self", ECS_HOST)).await;
    assert_compact_json(&answer, "ECS beside a throttled EKS");
}

#[tokio::test]
async fn faults_shape_door_credentials_like_imds_ones() {
    let imds = proxied(|config| {
        config
            .faults
            .push(fault("/v2/credentials/", FaultKind::ExpiredCredentials));
        config
            .faults
            .push(fault(EKS_PATH, FaultKind::Status { status: 503 }));
    });
    let answer = send(&imds, through_proxy("/v2/credentials/self", ECS_HOST)).await;
    assert_compact_json(&answer, "expired ECS credentials");
    let expiration = answer.json()["Expiration"]
        .as_str()
        .expect("string")
        .to_string();
    let at = OffsetDateTime::parse(&expiration, &Rfc3339).expect("RFC 3339");
    assert!(
        at < OffsetDateTime::now_utc(),
        "{expiration} should be past"
    );
    assert_eq!(
        imds.last_record().fault.as_deref(),
        Some("expired-credentials")
    );
    let answer = eks_through_proxy(&imds, "imds-spoof/worker").await;
    assert_go_text_error(
        &answer,
        StatusCode::SERVICE_UNAVAILABLE,
        "Service Unavailable",
        "503 fault",
    );
}

/// The dashboard's "expire now" pins an Expiration in the past. IMDS serves it as it is
/// (SDKs extend it); the container agents never hand out lapsed credentials and botocore's
/// container provider fails on them, so both doors serve the same keys with a renewed
/// Expiration and say so in the record.
#[tokio::test]
async fn lapsed_credentials_are_renewed_at_the_container_doors() {
    const PAST: &str = "2020-01-01T00:00:00Z";
    // The active identity: what the caller gets at IMDS and at `/v2/credentials/self`.
    let active = identity(0);
    let role = active
        .role
        .as_ref()
        .expect("the sample's active identity has a role");
    let imds = proxied(|config| {
        if let Some(role) = config.identities[0].role.as_mut() {
            role.source = CredentialSource::Static {
                access_key_id: "ASIALAPSEDEXAMPLE".into(),
                secret_access_key: "lapsed-secret-example".into(),
                session_token: Some("lapsed-token-example".into()),
                expiration: Some(PAST.into()),
            };
        }
    });
    let renewed = |answer: &Answer, what: &str| {
        assert_compact_json(answer, what);
        let json = answer.json();
        assert_eq!(json["AccessKeyId"], "ASIALAPSEDEXAMPLE", "{what}");
        let expiration = json["Expiration"].as_str().expect("string");
        let at = OffsetDateTime::parse(expiration, &Rfc3339).expect("RFC 3339");
        assert!(
            at > OffsetDateTime::now_utc() + time::Duration::minutes(50),
            "{what}: {expiration} should be about an hour ahead"
        );
        let note = imds.last_record().fault.clone().unwrap_or_default();
        assert!(note.contains("renewed"), "{what}: record says {note:?}");
    };
    let ecs = send(&imds, through_proxy("/v2/credentials/self", ECS_HOST)).await;
    renewed(&ecs, "ECS");
    let account = format!("imds-spoof/{}", active.name);
    let token = pod_token(&imds, &account, now(), 600);
    let eks = send(
        &imds,
        through_proxy(EKS_PATH, EKS_HOST).header("authorization", &token),
    )
    .await;
    renewed(&eks, "EKS");

    // IMDS keeps serving the past: SDKs' static stability is what it lets users test.
    let path = format!("/latest/meta-data/iam/security-credentials/{}", role.name);
    let answer = send(
        &imds,
        request(Method::GET, &path)
            .header(SECRET_HEADER, SECRET)
            .header(CALLER_HEADER, "169.254.0.7"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert!(answer.text().contains(PAST), "{}", answer.text());
    assert_eq!(imds.last_record().fault, None);
}
