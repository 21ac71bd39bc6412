//! A helper printing without end must not grow imds-spoof's memory (issue 9: `yes` took
//! it to 1.77 GB). Its own test binary, with this one test, so the process's peak
//! resident size (VmHWM) is this test's alone.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use imds_spoof::config::CredentialSource;
use imds_spoof::provider::{ExternalProvider, Provider, ProviderRequest};

use support::{Imds, CREDENTIALS_PATH};

/// Peak resident memory of this process, in KiB, from /proc/self/status.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_helper_output_keeps_memory_under_100_mb() {
    let before = peak_rss_kib();
    // Long timeouts: only the output cap can end these runs in time.
    let imds = Imds::with(|config| {
        if let Some(role) = config.identities[0].role.as_mut() {
            role.source = CredentialSource::Command {
                command: "yes".to_string(),
                timeout_ms: 30_000,
            };
        }
    });
    let answers = futures_util::future::join_all((0..4).map(|_| imds.get(CREDENTIALS_PATH))).await;
    for answer in answers {
        answer.assert_error(StatusCode::INTERNAL_SERVER_ERROR, "endless command");
    }
    let provider = Arc::new(ExternalProvider::new(
        vec!["sh".into(), "-c".into(), "cat >/dev/null; yes".into()],
        Duration::from_secs(30),
        Duration::ZERO,
    ));
    let requests = (0..4).map(|n| ProviderRequest {
        method: "GET".into(),
        path: format!("/latest/meta-data/path-{n}"),
        identity: "default".into(),
        caller_ip: None,
        caller_container: None,
    });
    let answers = futures_util::future::join_all(requests.map(|request| {
        let provider = provider.clone();
        async move { provider.answer(&request).await }
    }))
    .await;
    let peak = peak_rss_kib();
    eprintln!("peak RSS: {before} KiB before, {peak} KiB after");
    assert!(peak < 100 * 1024, "peak RSS {peak} KiB");
    for answer in answers {
        let error = answer.expect_err("endless provider output").to_string();
        assert!(error.contains("printed more than 1 MiB"), "{error}");
    }
}
