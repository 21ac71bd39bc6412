//! Injected faults (case 42) and over-long requests on a real socket (cases 34, 35).

use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use imds_spoof::broker::Broker;
use imds_spoof::config::{Fault, FaultKind};
use time::OffsetDateTime;

use crate::support::{
    fault, identity, request, wire, Expected, Imds, CREDENTIALS_PATH, NO_ANSWER_WAIT,
};

const INSTANCE_ID: &str = "/latest/meta-data/instance-id";

fn with_faults(faults: Vec<Fault>) -> Imds {
    Imds::with(move |config| config.faults = faults)
}

/// A broker on a real loopback socket.
async fn start(imds: &Imds) -> Broker {
    let addr = "127.0.0.1:0".parse().expect("address");
    Broker::start(addr, imds.state.clone())
        .await
        .expect("start the broker")
}

#[tokio::test]
async fn case_42_latency() {
    let imds = with_faults(vec![
        fault(INSTANCE_ID, FaultKind::Latency { ms: 250 }),
        fault("/latest/meta-data/iam/", FaultKind::Latency { ms: 100 }),
        fault("/latest/meta-data/iam/", FaultKind::Status { status: 503 }),
    ]);
    let started = Instant::now();
    let answer = imds.get(INSTANCE_ID).await;
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "{:?}",
        started.elapsed()
    );
    answer.assert_ok("delayed");
    assert_eq!(answer.text(), identity(0).instance_id.as_str());
    // Only the prefix is delayed; a delay combines with a replacing fault.
    imds.get("/latest/meta-data/ami-id")
        .await
        .assert_ok("not delayed");
    let started = Instant::now();
    imds.get("/latest/meta-data/iam/info")
        .await
        .assert_error(StatusCode::SERVICE_UNAVAILABLE, "delayed 503");
    assert!(started.elapsed() >= Duration::from_millis(100));
    let faults = imds.recorded_faults();
    assert_eq!(
        faults,
        [
            Some("latency 250 ms".to_string()),
            None,
            Some("latency 100 ms, status 503".to_string())
        ]
    );
}

#[tokio::test]
async fn case_42_status() {
    let imds = with_faults(vec![fault(
        "/latest/meta-data/iam/",
        FaultKind::Status { status: 503 },
    )]);
    imds.get(CREDENTIALS_PATH)
        .await
        .assert_error(StatusCode::SERVICE_UNAVAILABLE, "injected 503");
    imds.get(INSTANCE_ID).await.assert_ok("outside the prefix");
    let record = &imds.state.recorder.snapshot()[0];
    assert_eq!(record.fault.as_deref(), Some("status 503"));
    // Token requests can be made to fail too (SDKs then fall back to IMDSv1).
    let tokens = with_faults(vec![fault(
        "/latest/api/",
        FaultKind::Status { status: 500 },
    )]);
    tokens
        .send(request(Method::PUT, "/latest/api/token").ttl("60").build())
        .await
        .assert_error(StatusCode::INTERNAL_SERVER_ERROR, "token 500");
}

#[tokio::test]
async fn case_42_hang() {
    let imds = with_faults(vec![fault("", FaultKind::Hang)]);
    let answered = imds
        .answers_within_wait(request(Method::GET, INSTANCE_ID).build())
        .await;
    assert!(
        !answered,
        "a hung request was answered within {NO_ANSWER_WAIT:?}"
    );
    assert_eq!(
        imds.state.recorder.snapshot()[0].fault.as_deref(),
        Some("hang")
    );
}

#[tokio::test]
async fn case_42_drop_closes_the_connection_without_a_byte() {
    let imds = with_faults(vec![fault(INSTANCE_ID, FaultKind::Drop)]);
    let broker = start(&imds).await;
    let started = Instant::now();
    let received = wire::exchange(
        broker.local_addr().expect("a TCP broker"),
        &wire::get(INSTANCE_ID, ""),
        Duration::from_secs(5),
    )
    .await;
    assert!(received.is_empty(), "dropped connection sent {received:?}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "connection was not closed"
    );
    // Other paths on new connections are answered.
    let ok = wire::exchange(
        broker.local_addr().expect("a TCP broker"),
        &wire::get("/latest/meta-data/ami-id", ""),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(wire::status(&ok), Some(200));
    assert_eq!(wire::body(&ok), identity(0).ami_id.as_str());
    broker.stop().await;
}

#[tokio::test]
async fn case_42_malformed_credentials() {
    let imds = with_faults(vec![fault(
        "/latest/meta-data/iam/",
        FaultKind::MalformedCredentials,
    )]);
    let answer = imds.get(CREDENTIALS_PATH).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(
        serde_json::from_slice::<serde_json::Value>(&answer.body).is_err(),
        "still parses: {}",
        answer.text()
    );
    // Other documents under the prefix are untouched.
    imds.get("/latest/meta-data/iam/info").await.json();
    let faults = imds.recorded_faults();
    assert_eq!(faults, [Some("malformed-credentials".to_string()), None]);
}

#[tokio::test]
async fn case_42_expired_credentials() {
    let imds = with_faults(vec![fault("", FaultKind::ExpiredCredentials)]);
    let json = imds.get(CREDENTIALS_PATH).await.json();
    let expiration =
        imds_spoof::imds::time::parse_timestamp(json["Expiration"].as_str().unwrap_or(""))
            .expect("Expiration parses");
    assert!(expiration < OffsetDateTime::now_utc(), "{expiration}");
    assert_eq!(
        json["AccessKeyId"],
        Expected::sample_identity(0).access_key.as_str()
    );
    let record = &imds.state.recorder.snapshot()[0];
    assert_eq!(record.fault.as_deref(), Some("expired-credentials"));
}

#[tokio::test]
async fn case_42_probability_zero_never_applies() {
    let never = |kind| Fault {
        probability: 0.0,
        ..fault("", kind)
    };
    let imds = with_faults(vec![
        never(FaultKind::Status { status: 503 }),
        never(FaultKind::Latency { ms: 5_000 }),
        never(FaultKind::Hang),
        never(FaultKind::MalformedCredentials),
    ]);
    for _ in 0..50 {
        imds.get(CREDENTIALS_PATH).await.json();
    }
    assert!(imds.recorded_faults().iter().all(Option::is_none));
}

#[tokio::test]
async fn case_34_an_over_long_path_is_refused_and_the_server_carries_on() {
    let imds = Imds::new();
    let broker = start(&imds).await;
    let long_path = format!("/latest/meta-data/{}", "a".repeat(8 * 1024));
    assert_refused(
        broker.local_addr().expect("a TCP broker"),
        &wire::get(&long_path, ""),
        "8 KiB path",
    )
    .await;
    assert_still_serving(broker.local_addr().expect("a TCP broker")).await;
    broker.stop().await;
}

#[tokio::test]
async fn case_35_an_over_long_header_is_refused_and_the_server_carries_on() {
    let imds = Imds::new();
    let broker = start(&imds).await;
    for size in [20 * 1024, 64 * 1024] {
        let header = format!("X-Padding: {}\r\n", "b".repeat(size));
        let head = wire::get(INSTANCE_ID, &header);
        assert_refused(
            broker.local_addr().expect("a TCP broker"),
            &head,
            &size.to_string(),
        )
        .await;
    }
    // Up to what hyper reads (64 KiB), the refusal is EC2's: 431, its page, Server: EC2ws.
    let header = format!("X-Padding: {}\r\n", "b".repeat(20 * 1024));
    let answer = wire::exchange(
        broker.local_addr().expect("a TCP broker"),
        &wire::get(INSTANCE_ID, &header),
        Duration::from_secs(5),
    )
    .await;
    let text = String::from_utf8_lossy(&answer).to_string();
    assert!(
        text.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
        "{text}"
    );
    assert!(
        text.to_ascii_lowercase().contains("\r\nserver: ec2ws\r\n"),
        "{text}"
    );
    assert!(
        wire::body(&answer).contains("<title>431 - Request Header Fields Too Large</title>"),
        "{text}"
    );
    assert_still_serving(broker.local_addr().expect("a TCP broker")).await;
    broker.stop().await;
}

/// `head` on a new connection is answered with a 4xx status.
async fn assert_refused(addr: std::net::SocketAddr, head: &[u8], what: &str) {
    let answer = wire::exchange(addr, head, Duration::from_secs(5)).await;
    let status = wire::status(&answer);
    assert!(
        status.is_some_and(|s| (400..500).contains(&s)),
        "{what}: {status:?}"
    );
}

/// A normal request on a new connection is still answered.
async fn assert_still_serving(addr: std::net::SocketAddr) {
    let ok = wire::exchange(addr, &wire::get(INSTANCE_ID, ""), Duration::from_secs(5)).await;
    assert_eq!(wire::status(&ok), Some(200));
    assert_eq!(wire::body(&ok), identity(0).instance_id.as_str());
}

/// Idle connections are closed by the broker's idle check (15 to 30 s), so they cannot hold
/// descriptors for ever; a connection waiting on a hung answer is left open. Paused time:
/// the clock jumps ahead whenever the broker has nothing else to do.
#[tokio::test(start_paused = true)]
async fn idle_connections_are_closed_but_hung_answers_are_not() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let imds = with_faults(vec![fault("/latest/meta-data/ami-id", FaultKind::Hang)]);
    let broker = start(&imds).await;
    let addr = broker.local_addr().expect("a TCP broker");
    let mut hung = tokio::net::TcpStream::connect(addr).await.expect("connect");
    hung.write_all(&wire::get("/latest/meta-data/ami-id", ""))
        .await
        .expect("send");
    // The hung request is under way before the clock may move.
    for _ in 0..200 {
        if !imds.state.recorder.snapshot().is_empty() {
            break;
        }
        tokio::task::yield_now().await;
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut idle = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut buffer = [0u8; 64];
    let closed = tokio::time::timeout(Duration::from_secs(31), idle.read(&mut buffer)).await;
    assert!(
        matches!(closed, Ok(Ok(0))),
        "an idle connection was not closed within 31 s: {closed:?}"
    );
    let waiting = tokio::time::timeout(Duration::from_secs(120), hung.read(&mut buffer)).await;
    assert!(
        waiting.is_err(),
        "a connection waiting on a hung answer was closed or answered: {waiting:?}"
    );
    broker.stop().await;
}
