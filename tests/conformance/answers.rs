//! Answers corrected from SDK sources and captures of real instances (issue 10): cases 45–54
//! and 56. Cases 16, 18, 19 are in tokens.rs, 25 in tree.rs, 33 in configuration.rs; 55
//! (signatures) in signatures.rs; 57 with real clients in tests/real_clients.rs.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use imds_spoof::broker::Broker;
use imds_spoof::config::{CredentialSource, FaultKind, ImdsSettings, TokenMode};
use serde_json::Value;

use crate::support::{
    fault, identity, request, wire, Imds, CREDENTIALS_PATH, META, NO_ANSWER_WAIT, ROLE, TOKEN_PATH,
};

const INSTANCE_ID: &str = "/latest/meta-data/instance-id";
const EXTENDED: &str = "/latest/meta-data/iam/security-credentials-extended/";
const EXTENDED_ROLE: &str =
    "/latest/meta-data/iam/security-credentials-extended/imds-spoof-dev-role";

/// A broker on a real loopback socket, for what only the wire shows.
async fn start(imds: &Imds) -> Broker {
    Broker::start("127.0.0.1:0".parse().expect("address"), imds.state.clone())
        .await
        .expect("start the broker")
}

/// The raw answer to `head` on a new connection.
async fn over_the_wire(broker: &Broker, head: &[u8]) -> String {
    let addr = broker.local_addr().expect("a TCP broker");
    String::from_utf8_lossy(&wire::exchange(addr, head, Duration::from_secs(5)).await).into_owned()
}

#[tokio::test]
async fn case_45_disabled_imds_answers_an_empty_403() {
    assert_eq!(
        ImdsSettings::default().disabled_behaviour,
        imds_spoof::config::DisabledBehaviour::Forbidden,
        "403 is the default"
    );
    let imds = Imds::with(|config| config.imds.enabled = false);
    for (method, path) in [
        (Method::PUT, TOKEN_PATH),
        (Method::GET, INSTANCE_ID),
        (Method::GET, EXTENDED_ROLE),
        (Method::OPTIONS, TOKEN_PATH),
    ] {
        imds.send(request(method.clone(), path).ttl("60").build())
            .await
            .assert_forbidden(&format!("{method} {path}"));
    }
    // On the wire: Content-Length 0, text/plain, Server: EC2ws, nothing after the head.
    let broker = start(&imds).await;
    let put = b"PUT /latest/api/token HTTP/1.1\r\nHost: 169.254.169.254\r\n\
X-aws-ec2-metadata-token-ttl-seconds: 60\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    for (what, head) in [
        ("token PUT", put.to_vec()),
        ("GET", wire::get(INSTANCE_ID, "")),
    ] {
        let raw = over_the_wire(&broker, &head).await;
        let lower = raw.to_ascii_lowercase();
        assert!(
            raw.starts_with("HTTP/1.1 403 Forbidden\r\n"),
            "{what}: {raw}"
        );
        for header in [
            "\r\ncontent-length: 0\r\n",
            "\r\ncontent-type: text/plain\r\n",
            "\r\nserver: ec2ws\r\n",
        ] {
            assert!(lower.contains(header), "{what}: no {header:?} in {raw}");
        }
        assert!(raw.ends_with("\r\n\r\n"), "{what}: a body: {raw}");
    }
    broker.stop().await;
}

#[tokio::test]
async fn case_46_options_on_the_token_path() {
    let imds = Imds::new();
    let answer = imds
        .send(request(Method::OPTIONS, TOKEN_PATH).build())
        .await;
    answer.assert_ok("OPTIONS");
    assert!(answer.body.is_empty(), "{}", answer.text());
    assert_eq!(answer.header("allow"), Some("OPTIONS, PUT"));
}

#[tokio::test]
async fn case_47_token_put_with_a_trailing_slash_is_403() {
    let imds = Imds::new();
    imds.send(request(Method::PUT, "/latest/api/token/").ttl("60").build())
        .await
        .assert_forbidden("PUT /latest/api/token/");
    // Nothing was issued: the record says so.
    assert_eq!(imds.last_record().status, 403);
}

#[tokio::test]
async fn case_48_dated_token_put_is_403_and_latest_tokens_work_on_dated_paths() {
    let imds = Imds::with(|config| config.imds.tokens = TokenMode::Required);
    for path in ["/2021-07-15/api/token", "/2016-09-02/api/token/"] {
        imds.send(request(Method::PUT, path).ttl("60").build())
            .await
            .assert_forbidden(path);
    }
    let token = imds.token(60).await;
    let listing = imds.get_v2("/2021-07-15/meta-data/", &token).await;
    listing.assert_ok("dated listing with a /latest token");
    assert_eq!(listing.text(), imds.get_v2(META, &token).await.text());
    let id = imds
        .get_v2("/2021-07-15/meta-data/instance-id", &token)
        .await;
    id.assert_ok("dated leaf");
    assert_eq!(id.text(), identity(0).instance_id);
}

#[tokio::test]
async fn case_49_a_leaf_with_a_trailing_slash_is_the_leaf() {
    let imds = Imds::new();
    let leaf = imds
        .text("/latest/meta-data/placement/availability-zone")
        .await;
    assert_eq!(leaf, identity(0).availability_zone);
    assert_eq!(
        imds.text("/latest/meta-data/placement/availability-zone/")
            .await,
        leaf
    );
}

#[tokio::test]
async fn case_50_the_401_is_ec2s_xhtml_page() {
    let imds = Imds::new();
    let answer = imds.get_v2(INSTANCE_ID, "garbage").await;
    answer.assert_error(StatusCode::UNAUTHORIZED, "garbage token");
    let expected = imds_spoof::broker::error_page(StatusCode::UNAUTHORIZED);
    assert_eq!(answer.text(), expected);
    // The length of a captured EC2 401 (the template and a final newline).
    assert_eq!(answer.body.len(), 343);
    assert!(answer.text().contains("<h1>401 - Unauthorized</h1>"));
}

#[tokio::test]
async fn case_51_unknown_versions_are_404_and_old_ones_serve() {
    let imds = Imds::new();
    imds.get("/2099-01-01/meta-data/instance-id")
        .await
        .assert_error(StatusCode::NOT_FOUND, "2099-01-01");
    assert_eq!(
        imds.text("/2016-09-02/meta-data/instance-id").await,
        identity(0).instance_id
    );
}

/// The extended document is the legacy one plus `AccountId`.
fn assert_extended_matches_legacy(extended: &Value, legacy: &Value) {
    let (Some(extended), Some(legacy)) = (extended.as_object(), legacy.as_object()) else {
        panic!("not JSON objects: {extended} {legacy}");
    };
    assert_eq!(
        extended.get("AccountId").and_then(Value::as_str),
        Some(identity(0).account_id.as_str())
    );
    for (key, value) in legacy {
        assert_eq!(extended.get(key), Some(value), "{key}");
    }
    assert_eq!(extended.len(), legacy.len() + 1);
}

#[tokio::test]
async fn case_52_extended_credentials_are_200_with_account_id() {
    let imds = Imds::new();
    assert_eq!(imds.text(EXTENDED).await, ROLE);
    assert_eq!(
        imds.text("/latest/meta-data/iam/security-credentials-extended")
            .await,
        ROLE
    );
    let answer = imds.get(EXTENDED_ROLE).await;
    answer.assert_ok("extended credentials");
    let text = answer.text().to_string();
    assert!(
        text.contains("\n  \"AccountId\" : \""),
        "EC2's layout: {text}"
    );
    assert_extended_matches_legacy(&answer.json(), &imds.get(CREDENTIALS_PATH).await.json());
    // Listed in iam/, so a walk of the tree reaches it.
    let iam = imds.text("/latest/meta-data/iam/").await;
    assert!(
        iam.lines()
            .any(|line| line == "security-credentials-extended/"),
        "{iam}"
    );
    // Dated versions serve it too.
    imds.get("/2021-07-15/meta-data/iam/security-credentials-extended/imds-spoof-dev-role")
        .await
        .assert_ok("dated extended");
}

#[tokio::test]
async fn case_52_extended_credentials_switched_off_are_404() {
    let imds = Imds::with(|config| config.imds.credentials_extended = false);
    for path in [EXTENDED, EXTENDED_ROLE] {
        imds.get(path)
            .await
            .assert_error(StatusCode::NOT_FOUND, path);
    }
    imds.get(CREDENTIALS_PATH)
        .await
        .assert_ok("legacy still served");
    let iam = imds.text("/latest/meta-data/iam/").await;
    assert!(!iam.contains("extended"), "{iam}");
}

#[tokio::test]
async fn case_52_extended_credentials_are_never_401_in_any_token_mode() {
    for mode in [TokenMode::Optional, TokenMode::Required] {
        let imds = Imds::with(|config| config.imds.tokens = mode);
        for path in [EXTENDED, EXTENDED_ROLE] {
            // A bad token: 404, so the SDK moves on to the legacy path, which says 401.
            imds.get_v2(path, "garbage")
                .await
                .assert_error(StatusCode::NOT_FOUND, &format!("{mode:?} {path} bad token"));
            let token = imds.token(60).await;
            imds.get_v2(path, &token)
                .await
                .assert_ok(&format!("{mode:?} {path} good token"));
        }
        imds.get_v2(CREDENTIALS_PATH, "garbage")
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "the legacy path says why");
        let record = imds.state.recorder.snapshot();
        let settled = record
            .iter()
            .filter(|record| record.status == 404)
            .all(|record| {
                record
                    .fault
                    .as_deref()
                    .is_some_and(|note| note.contains("401 answered as 404"))
            });
        assert!(settled, "the 404s are recorded as settled 401s");
    }
    // No token where tokens are required: 404 there, 401 on the legacy path; never the
    // credentials.
    let required = Imds::with(|config| config.imds.tokens = TokenMode::Required);
    required
        .get(EXTENDED_ROLE)
        .await
        .assert_error(StatusCode::NOT_FOUND, "required, no token");
    required
        .get(CREDENTIALS_PATH)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "required, no token, legacy");
    // Optional and no token: served, as v1.
    let optional = Imds::new();
    optional.get(EXTENDED_ROLE).await.assert_ok("v1");
}

#[tokio::test]
async fn case_52_faults_on_credentials_leave_the_extended_path_200_or_404() {
    let legacy_prefix = "/latest/meta-data/iam/security-credentials/";
    for (kind, legacy_status) in [
        (
            FaultKind::Status { status: 500 },
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
        (FaultKind::Status { status: 403 }, StatusCode::FORBIDDEN),
        (FaultKind::Status { status: 401 }, StatusCode::UNAUTHORIZED),
    ] {
        // Written for the legacy path, for all of iam/, and for every path.
        for prefix in [legacy_prefix, "/latest/meta-data/iam/", ""] {
            let imds = Imds::with(|config| config.faults = vec![fault(prefix, kind.clone())]);
            for path in [EXTENDED, EXTENDED_ROLE] {
                imds.get(path)
                    .await
                    .assert_error(StatusCode::NOT_FOUND, &format!("{kind:?} on {prefix:?}"));
            }
            // The legacy path shows the fault, which the SDK sees after its fallback.
            assert_eq!(
                imds.get(CREDENTIALS_PATH).await.status,
                legacy_status,
                "{kind:?} on {prefix:?}"
            );
        }
    }
    // Hang and drop: an immediate 404 instead of a hang.
    for kind in [FaultKind::Hang, FaultKind::Drop] {
        let imds = Imds::with(|config| config.faults = vec![fault(legacy_prefix, kind.clone())]);
        let answered = tokio::time::timeout(NO_ANSWER_WAIT, imds.get(EXTENDED_ROLE)).await;
        let answer =
            answered.unwrap_or_else(|_| panic!("{kind:?}: no answer on the extended path"));
        answer.assert_error(StatusCode::NOT_FOUND, &format!("{kind:?}"));
        assert!(
            !imds
                .answers_within_wait(request(Method::GET, CREDENTIALS_PATH).build())
                .await,
            "{kind:?}: the legacy path still shows the fault"
        );
    }
    // A fault that spoils credentials reaches the extended document too (a 200).
    let imds = Imds::with(|config| {
        config.faults = vec![fault(legacy_prefix, FaultKind::ExpiredCredentials)];
    });
    let answer = imds.get(EXTENDED_ROLE).await;
    answer.assert_ok("expired credentials on the extended path");
    let json = answer.json();
    assert_eq!(
        json["Expiration"],
        imds.get(CREDENTIALS_PATH).await.json()["Expiration"]
    );
    let expiration =
        imds_spoof::imds::time::parse_timestamp(json["Expiration"].as_str().unwrap_or(""))
            .expect("Expiration parses");
    assert!(expiration < time::OffsetDateTime::now_utc());
}

#[tokio::test]
async fn case_52_a_failing_credential_source_is_404_on_the_extended_path() {
    let imds = Imds::with(|config| {
        if let Some(role) = config.identities[0].role.as_mut() {
            role.source = CredentialSource::Command {
                command: "exit 3".to_string(),
                timeout_ms: 5_000,
            };
        }
    });
    imds.get(EXTENDED_ROLE)
        .await
        .assert_error(StatusCode::NOT_FOUND, "failing source, extended");
    imds.get(CREDENTIALS_PATH)
        .await
        .assert_error(StatusCode::INTERNAL_SERVER_ERROR, "failing source, legacy");
}

#[tokio::test]
async fn case_53_interfaces_list_network_card() {
    let imds = Imds::new();
    let base = format!(
        "/latest/meta-data/network/interfaces/macs/{}/",
        identity(0).mac
    );
    let listing = imds.text(&base).await;
    let entries: Vec<&str> = listing.lines().collect();
    assert!(entries.contains(&"network-card"), "{listing}");
    assert!(!entries.contains(&"network-card-index"), "{listing}");
    assert_eq!(imds.text(&format!("{base}network-card")).await, "0");
    imds.get(&format!("{base}network-card-index"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "AEMM's key");
    // The other paths docs/protocol.md §4 lists.
    assert_eq!(imds.text("/latest/meta-data/system").await, "nitro");
    assert_eq!(imds.text("/latest/meta-data/profile").await, "default-hvm");
    assert_eq!(
        imds.text("/latest/meta-data/events/maintenance/").await,
        "history\nscheduled"
    );
    assert_eq!(
        imds.text(&format!("{base}ipv4-associations/192.0.2.54"))
            .await,
        identity(0).local_ipv4.to_string()
    );
}

#[tokio::test]
async fn case_54_documents_use_ec2s_layout() {
    let imds = Imds::new();
    let document = imds
        .text("/latest/dynamic/instance-identity/document")
        .await;
    for needle in [
        "{\n  \"accountId\" : \"",
        "\n  \"kernelId\" : null,\n",
        "\n  \"ramdiskId\" : null,\n",
    ] {
        assert!(document.contains(needle), "{needle:?} in {document}");
    }
    for path in [CREDENTIALS_PATH, EXTENDED_ROLE] {
        let credentials = imds.text(path).await;
        assert!(
            credentials.starts_with("{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : \""),
            "{path}: {credentials}"
        );
        assert!(credentials.ends_with("\"\n}"), "{path}: {credentials}");
        for line in credentials.lines().filter(|line| line.contains(':')) {
            assert!(
                line.starts_with("  \"") && line.contains("\" : "),
                "{path}: {line}"
            );
        }
    }
}

#[tokio::test]
async fn case_56_throttling_never_answers_429() {
    // A status-429 fault (the dashboard's throttling row) closes the connection instead.
    let imds = Imds::with(|config| {
        config.faults = vec![fault("", FaultKind::Status { status: 429 })];
    });
    let broker = start(&imds).await;
    for path in [INSTANCE_ID, TOKEN_PATH, CREDENTIALS_PATH] {
        let raw = over_the_wire(&broker, &wire::get(path, "")).await;
        assert!(raw.is_empty(), "{path}: throttled request answered: {raw}");
    }
    assert!(imds
        .state
        .recorder
        .snapshot()
        .iter()
        .all(|record| record.status == 0 && record.fault.as_deref() == Some("drop")));
    broker.stop().await;
}
