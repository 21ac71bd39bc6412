//! The session API the dashboard uses (imds_spoof::session), against the real engine:
//! no engine -> loopback broker and Unavailable parts; with the engine -> all parts up,
//! container list, attach/detach, caller names in the recorder, parts stopped and started.
//! One test function: it changes DOCKER_HOST for the process and uses the fixed network.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use imds_spoof::broker::Endpoint;
use imds_spoof::config::ConfigStore;
use imds_spoof::session::{Part, PartState, Session, SessionEvent, SessionOptions};
use support::docker::*;
use support::{require, Expected, Need};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc::UnboundedReceiver;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_parts_containers_and_callers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let config = config_for_engine(dir.path(), port);
    let store = ConfigStore::from_file(&config, None).expect("config");

    // No engine: the broker serves this host on loopback, the Docker parts say why not.
    let user_host = std::env::var_os("DOCKER_HOST");
    std::env::set_var("DOCKER_HOST", "unix:///nonexistent/imds-spoof-test.sock");
    let (sender, mut events) = tokio::sync::mpsc::unbounded_channel();
    let options = SessionOptions {
        start_docker: true,
        ..Default::default()
    };
    let session = Session::start(store.clone(), options, sender).await;
    match &user_host {
        Some(host) => std::env::set_var("DOCKER_HOST", host),
        None => std::env::remove_var("DOCKER_HOST"),
    }
    let loopback = SocketAddr::from(([127, 0, 0, 1], port));
    assert_eq!(session.broker_addr(), Some(loopback));
    let seen = drain(&mut events);
    assert!(
        seen.iter().any(|e| matches!(e, SessionEvent::Part(Part::Network, PartState::Unavailable(why)) if why.contains("Docker is not running"))),
        "{seen:?}"
    );
    assert!(matches!(
        session.part_state(Part::Proxy),
        PartState::Unavailable(_)
    ));
    assert!(matches!(session.part_state(Part::Broker), PartState::Up(_)));
    let (status, body) = get(
        loopback,
        &format!("127.0.0.1:{port}"),
        "/latest/meta-data/instance-id",
    )
    .await;
    let default = Expected::sample_identity(0);
    assert_eq!((status, body.as_str()), (200, default.instance_id.as_str()));
    assert_eq!(session.recorder().snapshot().len(), 1);
    session.shutdown().await;

    if !require(
        Need::Docker,
        "session_parts_containers_and_callers (engine part)",
    ) {
        return;
    }
    let _lock = lock_engine();
    ensure_images();
    let _cleanup = Cleanup::new();
    let mounts = client_mounts(None);

    let (sender, mut events) = tokio::sync::mpsc::unbounded_channel();
    let options = SessionOptions {
        start_docker: true,
        ..Default::default()
    };
    let mut session = Session::start(store.clone(), options, sender).await;
    for part in [Part::Network, Part::Proxy, Part::Broker] {
        assert!(
            matches!(session.part_state(part), PartState::Up(_)),
            "{part:?}: {:?}",
            session.part_state(part)
        );
    }
    // Behind the proxy the broker listens on a unix socket in this run's directory (mounted
    // into the proxy), not on any address: nothing of it is on the bridge.
    assert_eq!(session.broker_addr(), None);
    let socket = match session.broker_endpoint() {
        Some(Endpoint::Unix(path)) => path,
        other => panic!("broker not on a unix socket: {other:?}"),
    };
    assert!(
        socket.ends_with(format!("run-{}/broker.sock", session.run_id())),
        "{}",
        socket.display()
    );
    assert!(socket.exists(), "{}", socket.display());
    let socket_dir = socket.parent().expect("socket directory").to_path_buf();
    drain(&mut events);

    // A container on the default bridge, attached and detached through the session.
    let id = start_idle_client(
        "imds-spoof-test-attach",
        &["--label", "imds-spoof.identity=worker"],
        &mounts,
    );
    session.attach(&id).await.expect("attach");
    let listed = wait_containers(&mut events, |list| {
        list.iter().any(|c| c.id == id && c.ip_on_network.is_some())
    })
    .await;
    let info = listed.iter().find(|c| c.id == id).expect("listed");
    assert_eq!(info.name, "imds-spoof-test-attach");
    assert_eq!(info.identity_label.as_deref(), Some("worker"));
    assert!(info.running);

    let mut exec = vec!["exec", "imds-spoof-test-attach"];
    exec.extend(CURL_INSTANCE_ID);
    let out = docker(&exec);
    assert_stdout(&out, &Expected::sample_identity(1).instance_id);
    let record = session
        .recorder()
        .snapshot()
        .into_iter()
        .rev()
        .find(|r| r.path == "/latest/meta-data/instance-id")
        .expect("recorded");
    assert_eq!(
        record.caller_container.as_deref(),
        Some("imds-spoof-test-attach")
    );
    assert_eq!(record.identity, "worker");

    session.detach(&id).await.expect("detach");
    wait_containers(&mut events, |list| {
        list.iter().any(|c| c.id == id && c.ip_on_network.is_none())
    })
    .await;
    docker(&["rm", "-f", "imds-spoof-test-attach"]);

    // Parts stop and start again.
    session.stop_part(Part::Proxy).await;
    assert_eq!(session.part_state(Part::Proxy), PartState::Stopped);
    assert!(leftovers().0.is_empty(), "proxy removed");
    session.start_part(Part::Proxy).await;
    assert!(
        matches!(session.part_state(Part::Proxy), PartState::Up(_)),
        "{:?}",
        session.part_state(Part::Proxy)
    );

    // The broker restarted under a running proxy binds its socket in the same (mounted)
    // directory: the proxy reaches it again.
    session.stop_part(Part::Broker).await;
    session.start_part(Part::Broker).await;
    assert_eq!(
        session.broker_endpoint(),
        Some(Endpoint::Unix(socket.clone()))
    );
    let out = run_client(
        "imds-spoof-test-after-broker",
        &[],
        &mounts,
        &CURL_INSTANCE_ID,
    );
    assert_stdout(&out, &Expected::sample_identity(0).instance_id);

    // Shutdown removes the proxy and the socket directory and keeps the network.
    session.shutdown().await;
    assert!(!socket_dir.exists(), "{} left", socket_dir.display());
    let (containers, networks) = leftovers();
    assert!(containers.is_empty(), "proxy left: {containers}");
    assert!(!networks.is_empty(), "the network stays after shutdown");

    // --no-start: loopback only, Docker parts stopped.
    let (sender, _events) = tokio::sync::mpsc::unbounded_channel();
    let session = Session::start(store, SessionOptions::default(), sender).await;
    assert_eq!(session.broker_addr(), Some(loopback));
    assert_eq!(session.part_state(Part::Network), PartState::Stopped);
    session.shutdown().await;
}

fn drain(events: &mut UnboundedReceiver<SessionEvent>) -> Vec<SessionEvent> {
    let mut seen = Vec::new();
    while let Ok(event) = events.try_recv() {
        seen.push(event);
    }
    seen
}

async fn wait_containers(
    events: &mut UnboundedReceiver<SessionEvent>,
    want: impl Fn(&[imds_spoof::session::ContainerInfo]) -> bool,
) -> Vec<imds_spoof::session::ContainerInfo> {
    let wait = async {
        while let Some(event) = events.recv().await {
            if let SessionEvent::Containers(list) = event {
                if want(&list) {
                    return list;
                }
            }
        }
        panic!("events ended");
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .expect("Containers event in time")
}

/// A plain HTTP GET with a Host header; (status, body).
async fn get(addr: SocketAddr, host: &str, path: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}
