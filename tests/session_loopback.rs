//! The dashboard's broker on loopback (`--no-start`, or no engine): callers on this host
//! can never be containers, so they are answered without any lookup, however their
//! requests are spaced (issue 8: each used to wait 250 ms for a directory miss).

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use imds_spoof::config::{ConfigStore, IdentityOrigin};
use imds_spoof::session::{Session, SessionOptions};
use support::docker::free_port;
use support::identity;

/// What a directory miss used to add to every such request.
const OLD_MISS_WAIT: Duration = Duration::from_millis(250);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_callers_are_never_looked_up() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, support::sample::sample_text_with(port, None)).expect("config");
    let store = ConfigStore::from_file(&path, None).expect("store");
    let (events, _receiver) = tokio::sync::mpsc::unbounded_channel();
    let options = SessionOptions {
        start_docker: false,
        ..Default::default()
    };
    let session = Session::start(store, options, events).await;
    let broker = SocketAddr::from(([127, 0, 0, 1], port));
    assert_eq!(session.broker_addr(), Some(broker));

    for round in 0..10 {
        let answer = tokio::task::spawn_blocking(move || {
            support::http::get(broker, "/latest/meta-data/instance-id")
        })
        .await
        .expect("client thread")
        .expect("request");
        assert_eq!(
            (answer.status, answer.text()),
            (200, identity(0).instance_id.clone())
        );
        // Spaced past the time a directory miss used to wait.
        if round < 9 {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
    let records = session.recorder().snapshot();
    assert_eq!(records.len(), 10);
    let mut took: Vec<Duration> = records
        .iter()
        .map(|record| {
            assert_eq!(record.caller_container, None);
            assert_eq!(record.identity_origin, IdentityOrigin::Active);
            // The broker's own measure of the exchange, free of the client's scheduling.
            Duration::from_micros(record.latency_us)
        })
        .collect();
    took.sort();
    // A lookup would hold every request back by a directory miss's wait; a busy machine
    // may slow any one of them, but never by that much (no tighter bound: shared machines).
    assert!(
        took[took.len() - 1] < OLD_MISS_WAIT,
        "loopback answers took {took:?}"
    );
    session.shutdown().await;
}
