//! IMDSv2 session tokens: cases 16–24 and 36.

use std::collections::HashSet;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use imds_spoof::broker::TokenStore;
use imds_spoof::config::TokenMode;

use crate::support::{loopback, request, wire, Answer, Expected, Imds, ManualClock, TOKEN_PATH};

const INSTANCE_ID: &str = "/latest/meta-data/instance-id";

async fn put_token(imds: &Imds, ttl: Option<&str>) -> Answer {
    let mut builder = request(Method::PUT, TOKEN_PATH);
    if let Some(ttl) = ttl {
        builder = builder.ttl(ttl);
    }
    imds.send(builder.build()).await
}

#[tokio::test]
async fn case_16_token_put_echoes_the_ttl() {
    let imds = Imds::new();
    for ttl in ["1", "60", "21600"] {
        let answer = put_token(&imds, Some(ttl)).await;
        answer.assert_ok(ttl);
        assert_eq!(
            answer.header("x-aws-ec2-metadata-token-ttl-seconds"),
            Some(ttl)
        );
        let token = answer.text();
        assert!(token.len() >= 40, "{token}");
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+/=_-".contains(&b)),
            "{token}"
        );
    }
    // Only `/latest` hands out tokens: dated versions are case 48 (answers.rs).
}

#[tokio::test]
async fn case_17_bad_ttls_are_400() {
    let imds = Imds::new();
    for ttl in [
        Some("0"),
        Some("21601"),
        Some("-1"),
        Some("text"),
        Some(""),
        Some("1.5"),
        None,
    ] {
        put_token(&imds, ttl)
            .await
            .assert_error(StatusCode::BAD_REQUEST, &format!("ttl {ttl:?}"));
    }
}

#[tokio::test]
async fn case_18_token_put_with_x_forwarded_for_is_403() {
    let imds = Imds::new();
    let answer = imds
        .send(
            request(Method::PUT, TOKEN_PATH)
                .ttl("60")
                .header("x-forwarded-for", "203.0.113.9")
                .build(),
        )
        .await;
    answer.assert_forbidden("token through a proxy");
    // GETs carrying it are served: only token requests are refused.
    let get = imds
        .send(
            request(Method::GET, INSTANCE_ID)
                .header("x-forwarded-for", "203.0.113.9")
                .build(),
        )
        .await;
    get.assert_ok("GET with X-Forwarded-For");
}

#[tokio::test]
async fn case_19_other_methods_on_the_token_path_are_405() {
    let imds = Imds::new();
    for method in [Method::GET, Method::POST, Method::DELETE, Method::HEAD] {
        let answer = imds
            .send(request(method.clone(), TOKEN_PATH).ttl("60").build())
            .await;
        assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(answer.header("allow"), Some("OPTIONS, PUT"), "{method}");
        if method != Method::HEAD {
            answer.assert_error(StatusCode::METHOD_NOT_ALLOWED, method.as_str());
        }
    }
    // Even where tokens are required: the method is refused before any token is asked for.
    let required = Imds::with(|config| config.imds.tokens = TokenMode::Required);
    let answer = required.get(TOKEN_PATH).await;
    answer.assert_error(StatusCode::METHOD_NOT_ALLOWED, "GET, tokens required");
    assert_eq!(answer.header("allow"), Some("OPTIONS, PUT"));
    // On the wire, EC2's status line says `405 Not Allowed`.
    let broker =
        imds_spoof::broker::Broker::start("127.0.0.1:0".parse().unwrap(), imds.state.clone())
            .await
            .expect("start the broker");
    let raw = wire::exchange(
        broker.local_addr().expect("a TCP broker"),
        &wire::get(TOKEN_PATH, ""),
        Duration::from_secs(5),
    )
    .await;
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 405 Not Allowed\r\n"), "{text}");
    assert!(
        text.to_ascii_lowercase()
            .contains("\r\nallow: options, put\r\n"),
        "{text}"
    );
    assert!(text.contains("<title>405 - Not Allowed</title>"), "{text}");
    broker.stop().await;
}

#[tokio::test]
async fn case_20_valid_token_is_served() {
    let imds = Imds::new();
    let token = imds.token(21600).await;
    let answer = imds.get_v2(INSTANCE_ID, &token).await;
    answer.assert_ok("v2 GET");
    assert_eq!(answer.text(), Expected::sample_identity(0).instance_id);
    // Tokens belong to the instance: on loopback every local process is this one host.
    let elsewhere = imds
        .send(
            request(Method::GET, INSTANCE_ID)
                .token(&token)
                .peer("127.0.0.2".parse().expect("ip"))
                .build(),
        )
        .await;
    elsewhere.assert_ok("token from another caller");
}

#[tokio::test]
async fn case_21_garbage_token_is_401() {
    let imds = Imds::new();
    for token in [
        "garbage",
        "",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        imds.get_v2(INSTANCE_ID, token)
            .await
            .assert_error(StatusCode::UNAUTHORIZED, token);
    }
}

#[tokio::test]
async fn case_22_expired_token_is_401() {
    let clock = ManualClock::new();
    let reader = clock.reader();
    let imds = Imds::build(
        |_| {},
        loopback(),
        |state| {
            state.tokens = TokenStore::with_clock(reader);
        },
    );
    let token = imds.token(1).await;
    imds.get_v2(INSTANCE_ID, &token)
        .await
        .assert_ok("fresh token");
    clock.advance(Duration::from_millis(999));
    imds.get_v2(INSTANCE_ID, &token)
        .await
        .assert_ok("a token in its last millisecond");
    clock.advance(Duration::from_millis(101));
    imds.get_v2(INSTANCE_ID, &token)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "expired token");
}

#[tokio::test]
async fn case_23_no_token_with_optional_is_served() {
    let imds = Imds::new();
    assert_eq!(
        imds.text(INSTANCE_ID).await,
        Expected::sample_identity(0).instance_id
    );
}

#[tokio::test]
async fn case_24_no_token_with_required_is_401() {
    let imds = Imds::with(|config| config.imds.tokens = TokenMode::Required);
    for path in [INSTANCE_ID, "/", "/latest/meta-data/", "/latest/nothing"] {
        imds.get(path)
            .await
            .assert_error(StatusCode::UNAUTHORIZED, path);
    }
    let token = imds.token(60).await;
    imds.get_v2(INSTANCE_ID, &token)
        .await
        .assert_ok("v2 in required mode");
    imds.get_v2(INSTANCE_ID, "garbage")
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "garbage in required mode");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case_36_a_thousand_concurrent_token_puts_get_distinct_tokens() {
    let imds = std::sync::Arc::new(Imds::new());
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let imds = imds.clone();
            tokio::spawn(async move {
                let answer = imds
                    .send(request(Method::PUT, TOKEN_PATH).ttl("21600").build())
                    .await;
                assert_eq!(answer.status, StatusCode::OK);
                answer.text().to_string()
            })
        })
        .collect();
    let mut tokens = HashSet::new();
    for task in tasks {
        tokens.insert(task.await.expect("token task"));
    }
    assert_eq!(tokens.len(), 1000, "tokens were not distinct");
    for token in &tokens {
        assert_eq!(imds.get_v2(INSTANCE_ID, token).await.status, StatusCode::OK);
    }
}
