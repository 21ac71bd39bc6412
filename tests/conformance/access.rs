//! Who may call and how the proxy path behaves: case 41, the hop limit, the proxy secret.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use imds_spoof::broker::{AccessPolicy, Broker, CALLER_HEADER, SECRET_HEADER};
use imds_spoof::config::{ContainerRule, IdentityOrigin, UnresolvedPolicy};

use crate::support::{
    identity, loopback, request, wire, Imds, KnownCallers, RequestBuilder, TOKEN_PATH,
};

const INSTANCE_ID: &str = "/latest/meta-data/instance-id";
const SECRET: &str = "per-run-secret-0123456789";
const CONTAINER_IP: &str = "169.254.0.7";
const WORKER_IP: &str = "169.254.0.9";
const BILLING_IP: &str = "169.254.0.11";
const UNNAMED_IP: &str = "169.254.0.12";

/// The Docker side's view of callers: a labelled container, a plain one, a compose
/// service, and an address the engine cannot name.
fn directory() -> KnownCallers {
    KnownCallers::default()
        .container(WORKER_IP, "worker-app", None, Some("worker"))
        .container(CONTAINER_IP, "plain-app", None, None)
        .container(BILLING_IP, "billing-1", Some("billing"), Some("default"))
        .unresolved(UNNAMED_IP, "engine unreachable")
}

fn proxied(hop_limit: u8) -> Imds {
    Imds::build(
        |config| config.imds.hop_limit = hop_limit,
        AccessPolicy::Proxy {
            proxy_ip: None,
            secret: SECRET.to_string(),
            host_ips: vec!["169.254.0.1".parse().expect("ip")],
        },
        |state| state.callers = Some(Arc::new(directory())),
    )
}

/// What nginx adds to every request it forwards.
fn via_proxy(builder: RequestBuilder, caller: &str) -> RequestBuilder {
    builder
        .header(SECRET_HEADER, SECRET)
        .header(CALLER_HEADER, caller)
}

#[tokio::test]
async fn case_41_loopback_refuses_a_foreign_host() {
    let imds = Imds::new();
    let get = |host: &str| request(Method::GET, INSTANCE_ID).host(host).build();
    let put = |host: &str| {
        request(Method::PUT, TOKEN_PATH)
            .ttl("60")
            .host(host)
            .build()
    };
    for host in [
        "evil.example",
        "evil.example:1338",
        "127.0.0.1:8080",
        "10.0.0.1:1338",
    ] {
        for refused in [get(host), put(host)] {
            imds.send(refused).await.assert_forbidden(host);
        }
    }
    for host in [
        "127.0.0.1:1338",
        "localhost:1338",
        "169.254.169.254",
        "169.254.169.254:80",
    ] {
        imds.send(get(host)).await.assert_ok(host);
    }
}

#[tokio::test]
async fn case_41_loopback_on_port_zero_accepts_the_bound_port_only() {
    let imds = Imds::build(
        |_| {},
        AccessPolicy::Loopback {
            listen: "127.0.0.1:0".parse().expect("address"),
        },
        |_| {},
    );
    let broker = Broker::start("127.0.0.1:0".parse().expect("address"), imds.state.clone())
        .await
        .expect("start the broker");
    let addr = broker.local_addr().expect("a TCP broker");
    let ask = |host: String| async move {
        let head =
            format!("GET {INSTANCE_ID} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        wire::status(&wire::exchange(addr, head.as_bytes(), Duration::from_secs(5)).await)
    };
    assert_eq!(ask(format!("127.0.0.1:{}", addr.port())).await, Some(200));
    assert_eq!(ask(format!("localhost:{}", addr.port())).await, Some(200));
    assert_eq!(ask("127.0.0.1:1".to_string()).await, Some(403));
    assert_eq!(ask("rebinding.example".to_string()).await, Some(403));
    broker.stop().await;
}

#[tokio::test]
async fn hop_limit_one_never_answers_a_proxied_token_put() {
    let imds = proxied(1);
    let put = via_proxy(request(Method::PUT, TOKEN_PATH).ttl("21600"), CONTAINER_IP).build();
    assert!(
        !imds.answers_within_wait(put).await,
        "a token PUT through the bridge was answered with hop limit 1"
    );
    let dropped = imds.state.recorder.snapshot();
    let dropped = dropped.last().expect("the dropped token PUT is recorded");
    assert_eq!(dropped.status, 0);
    assert!(
        dropped
            .fault
            .as_deref()
            .is_some_and(|why| why.contains("hop limit")),
        "the record says why nothing was answered: {:?}",
        dropped.fault
    );
    // GETs are not affected: the SDK falls back to IMDSv1 and succeeds.
    let get = via_proxy(request(Method::GET, INSTANCE_ID), CONTAINER_IP).build();
    imds.send(get).await.assert_ok("v1 GET with hop limit 1");
    // A caller on the host itself (loopback policy, no bridge) still gets its token.
    let local = Imds::with(|config| config.imds.hop_limit = 1);
    local.token(60).await;
}

#[tokio::test]
async fn hop_limit_two_answers_a_proxied_token_put() {
    let imds = proxied(2);
    let put = via_proxy(request(Method::PUT, TOKEN_PATH).ttl("21600"), CONTAINER_IP).build();
    let answer = imds.send(put).await;
    answer.assert_ok("token PUT with hop limit 2");
    let token = answer.text().to_string();
    let get = via_proxy(
        request(Method::GET, INSTANCE_ID).token(&token),
        CONTAINER_IP,
    )
    .build();
    imds.send(get).await.assert_ok("v2 GET through the proxy");
}

#[tokio::test]
async fn proxy_policy_demands_the_secret_and_a_caller() {
    let imds = proxied(2);
    let cases = [
        (
            "no secret",
            request(Method::GET, INSTANCE_ID).header(CALLER_HEADER, CONTAINER_IP),
        ),
        (
            "wrong secret",
            request(Method::GET, INSTANCE_ID)
                .header(SECRET_HEADER, "guess")
                .header(CALLER_HEADER, CONTAINER_IP),
        ),
        (
            "no caller",
            request(Method::GET, INSTANCE_ID).header(SECRET_HEADER, SECRET),
        ),
        (
            "bad caller",
            via_proxy(request(Method::GET, INSTANCE_ID), "not-an-ip"),
        ),
    ];
    for (what, builder) in cases {
        imds.send(builder.build()).await.assert_forbidden(what);
    }
}

#[tokio::test]
async fn the_caller_header_is_trusted_only_with_the_secret() {
    // Through the proxy, the caller header names the container and picks its identity.
    let imds = proxied(2);
    let worker = via_proxy(request(Method::GET, INSTANCE_ID), WORKER_IP).build();
    assert_eq!(
        imds.send(worker).await.text(),
        identity(1).instance_id.as_str()
    );
    let other = via_proxy(request(Method::GET, INSTANCE_ID), CONTAINER_IP).build();
    assert_eq!(
        imds.send(other).await.text(),
        identity(0).instance_id.as_str()
    );
    let records = imds.state.recorder.snapshot();
    assert_eq!(records[0].caller_ip, Some(WORKER_IP.parse().expect("ip")));
    assert_eq!(records[0].caller_container.as_deref(), Some("worker-app"));
    assert_eq!(records[0].identity, "worker");

    // On loopback the same header is the client's own claim: ignored.
    let local = Imds::build(
        |_| {},
        loopback(),
        |state| state.callers = Some(Arc::new(directory())),
    );
    let forged = request(Method::GET, INSTANCE_ID)
        .header(CALLER_HEADER, WORKER_IP)
        .header(SECRET_HEADER, "anything")
        .build();
    assert_eq!(
        local.send(forged).await.text(),
        identity(0).instance_id.as_str()
    );
    let record = &local.state.recorder.snapshot()[0];
    assert_eq!(record.caller_ip, Some("127.0.0.1".parse().expect("ip")));
    assert_eq!(record.identity, "default");
}

/// An Imds behind the proxy with an edited configuration.
fn proxied_with(edit: impl FnOnce(&mut imds_spoof::config::Config)) -> Imds {
    Imds::build(
        edit,
        AccessPolicy::Proxy {
            proxy_ip: None,
            secret: SECRET.to_string(),
            host_ips: vec!["169.254.0.1".parse().expect("ip")],
        },
        |state| state.callers = Some(Arc::new(directory())),
    )
}

async fn instance_id_for(imds: &Imds, caller: &str) -> String {
    let get = via_proxy(request(Method::GET, INSTANCE_ID), caller).build();
    imds.send(get).await.text().to_string()
}

#[tokio::test]
async fn a_token_belongs_to_the_container_that_asked_for_it() {
    let imds = proxied(2);
    let put = via_proxy(request(Method::PUT, TOKEN_PATH).ttl("60"), WORKER_IP).build();
    let token = imds.send(put).await.text().to_string();
    let by = |caller| via_proxy(request(Method::GET, INSTANCE_ID).token(&token), caller).build();
    imds.send(by(WORKER_IP))
        .await
        .assert_ok("the token's own container");
    imds.send(by(CONTAINER_IP))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "another container");
    imds.send(request(Method::GET, INSTANCE_ID).token(&token).build())
        .await
        .assert_forbidden("not through the proxy at all");
}

#[tokio::test]
async fn a_token_survives_its_containers_change_of_identity() {
    let imds = proxied(2);
    let put = via_proxy(request(Method::PUT, TOKEN_PATH).ttl("60"), WORKER_IP).build();
    let token = imds.send(put).await.text().to_string();
    let mut config = (*imds.store.current()).clone();
    config.container_rules.push(ContainerRule {
        name: Some("worker-app".into()),
        compose_service: None,
        identity: identity(0).name.clone(),
    });
    imds.store.replace(config);
    let get = via_proxy(request(Method::GET, INSTANCE_ID).token(&token), WORKER_IP).build();
    let answer = imds.send(get).await;
    answer.assert_ok("same container, new identity");
    assert_eq!(answer.text(), identity(0).instance_id.as_str());
}

#[tokio::test]
async fn rules_win_over_labels_which_win_over_the_active_identity() {
    let worker = identity(1).name.clone();
    let imds = proxied_with(|config| {
        config.container_rules.push(ContainerRule {
            name: None,
            compose_service: Some("billing".into()),
            identity: worker.clone(),
        })
    });
    // billing-1 is labelled for the default identity, but its service's rule says worker.
    assert_eq!(
        instance_id_for(&imds, BILLING_IP).await,
        identity(1).instance_id
    );
    assert_eq!(
        instance_id_for(&imds, WORKER_IP).await,
        identity(1).instance_id
    );
    assert_eq!(
        instance_id_for(&imds, CONTAINER_IP).await,
        identity(0).instance_id
    );
    let origins: Vec<(String, IdentityOrigin)> = imds
        .state
        .recorder
        .snapshot()
        .iter()
        .map(|record| (record.identity.clone(), record.identity_origin))
        .collect();
    assert_eq!(
        origins,
        vec![
            (worker.clone(), IdentityOrigin::Rule),
            (worker, IdentityOrigin::Label),
            (identity(0).name.clone(), IdentityOrigin::Active),
        ]
    );
}

#[tokio::test]
async fn an_unnamed_caller_on_the_network_gets_what_the_config_says() {
    let refused = proxied(2);
    let get = via_proxy(request(Method::GET, INSTANCE_ID), UNNAMED_IP).build();
    refused
        .send(get)
        .await
        .assert_error(StatusCode::INTERNAL_SERVER_ERROR, "unresolved = refuse");
    let record = &refused.state.recorder.snapshot()[0];
    let why = record.provider_error.as_deref().unwrap_or("");
    assert!(
        why.contains("caller not identified") && why.contains("engine unreachable"),
        "{why}"
    );

    let active = proxied_with(|config| config.containers.unresolved = UnresolvedPolicy::Active);
    assert_eq!(
        instance_id_for(&active, UNNAMED_IP).await,
        identity(0).instance_id
    );
}
