//! IMDS over IPv6 (docs/protocol.md §9): case 69 through the proxy policy. nginx names an
//! IPv6 caller by its IPv6 address and passes the Host `[fd00:ec2::254]` as sent; the host
//! itself, through the network's IPv6 gateway, is refused like through the IPv4 one.

use std::sync::Arc;

use axum::http::Method;
use imds_spoof::broker::{AccessPolicy, CALLER_HEADER, SECRET_HEADER};

use crate::support::{identity, request, Expected, Imds, KnownCallers, RequestBuilder, TOKEN_PATH};

const SECRET: &str = "per-run-secret-ipv6";
/// One container, dual-stack: its IPv4 and its IPv6 address on the network.
const APP_V4: &str = "169.254.0.7";
const APP_V6: &str = "fd00:ec2::1:7";
const GATEWAY_V4: &str = "169.254.0.1";
const GATEWAY_V6: &str = "fd00:ec2::1";

/// The Docker side: both addresses name the same container, labelled for the worker.
fn dual_stack() -> KnownCallers {
    let worker = Some(identity(1).name.as_str());
    KnownCallers::default()
        .container(APP_V4, "dual-app", None, worker)
        .container(APP_V6, "dual-app", None, worker)
}

fn proxied() -> Imds {
    Imds::build(
        |_| {},
        AccessPolicy::Proxy {
            proxy_ip: None,
            secret: SECRET.to_string(),
            host_ips: vec![
                GATEWAY_V4.parse().expect("ip"),
                GATEWAY_V6.parse().expect("ip"),
            ],
        },
        |state| state.callers = Some(Arc::new(dual_stack())),
    )
}

/// What nginx adds, and the Host the SDK sent for the endpoint it called.
fn via_proxy(builder: RequestBuilder, caller: &str) -> RequestBuilder {
    let host = if caller.contains(':') {
        "[fd00:ec2::254]"
    } else {
        "169.254.169.254"
    };
    builder
        .host(host)
        .header(SECRET_HEADER, SECRET)
        .header(CALLER_HEADER, caller)
}

/// Token, listing and credentials as one caller sees them.
async fn walk(imds: &Imds, caller: &str) -> (String, String, serde_json::Value) {
    let put = via_proxy(request(Method::PUT, TOKEN_PATH).ttl("60"), caller).build();
    let token = imds.send(put).await;
    token.assert_ok(&format!("token PUT from {caller}"));
    let token = token.text().to_string();
    let get = |path: &str| via_proxy(request(Method::GET, path).token(&token), caller).build();
    let listing = imds.send(get("/latest/meta-data/")).await;
    listing.assert_ok(&format!("listing from {caller}"));
    let roles = imds
        .send(get("/latest/meta-data/iam/security-credentials/"))
        .await;
    roles.assert_ok(&format!("role listing from {caller}"));
    let role = roles.text().trim().to_string();
    let path = format!("/latest/meta-data/iam/security-credentials/{role}");
    let credentials = imds.send(get(&path)).await;
    credentials.assert_ok(&format!("credentials from {caller}"));
    (
        roles.text().to_string(),
        listing.text().to_string(),
        credentials.json(),
    )
}

#[tokio::test]
async fn case_69_ipv6_gives_the_same_answers_as_ipv4() {
    let imds = proxied();
    let (roles_v4, listing_v4, creds_v4) = walk(&imds, APP_V4).await;
    let (roles_v6, listing_v6, creds_v6) = walk(&imds, APP_V6).await;
    assert_eq!(listing_v6, listing_v4);
    assert_eq!(roles_v6, roles_v4);
    for field in ["Code", "Type", "AccessKeyId", "SecretAccessKey", "Token"] {
        assert_eq!(creds_v6[field], creds_v4[field], "{field}");
    }
    let worker = Expected::sample_identity(1);
    assert_eq!(roles_v6.trim(), worker.role);
    assert_eq!(creds_v6["AccessKeyId"], worker.access_key.as_str());
    // Both callers are the same container, with its label's identity, recorded by address.
    let records = imds.state.recorder.snapshot();
    let v6: Vec<_> = records
        .iter()
        .filter(|record| record.caller_ip == Some(APP_V6.parse().expect("ip")))
        .collect();
    assert_eq!(v6.len(), 4, "every IPv6 exchange recorded with its caller");
    for record in v6 {
        assert_eq!(record.caller_container.as_deref(), Some("dual-app"));
        assert_eq!(record.identity, identity(1).name);
    }
}

#[tokio::test]
async fn case_69_the_ipv6_host_header_is_an_imds_host_with_or_without_its_port() {
    let imds = proxied();
    for host in ["[fd00:ec2::254]", "[fd00:ec2::254]:80"] {
        let get = request(Method::GET, "/latest/meta-data/instance-id")
            .host(host)
            .header(SECRET_HEADER, SECRET)
            .header(CALLER_HEADER, APP_V6)
            .build();
        let answer = imds.send(get).await;
        answer.assert_ok(host);
        assert_eq!(answer.text(), identity(1).instance_id.as_str(), "{host}");
    }
    for host in ["[fd00:ec2::254]:8080", "[fd00:ec2::23]", "[::1]"] {
        let get = request(Method::GET, "/latest/meta-data/instance-id")
            .host(host)
            .header(SECRET_HEADER, SECRET)
            .header(CALLER_HEADER, APP_V6)
            .build();
        imds.send(get).await.assert_forbidden(host);
    }
}

#[tokio::test]
async fn the_host_through_the_ipv6_gateway_is_refused_unless_allowed() {
    let imds = proxied();
    let get = || {
        via_proxy(
            request(Method::GET, "/latest/meta-data/instance-id"),
            GATEWAY_V6,
        )
        .build()
    };
    imds.send(get())
        .await
        .assert_forbidden("the host over IPv6");
    imds.update(|config| config.broker.allow_host = true);
    let answer = imds.send(get()).await;
    answer.assert_ok("the host over IPv6, allowed");
    assert_eq!(answer.text(), identity(0).instance_id.as_str());
}
