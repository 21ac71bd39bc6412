//! `imds-spoof up --detach` against the real engine, as a script or CI job uses it: it
//! returns once everything answers, printing the ready line; `logs` shows the run's log;
//! a second one is refused while the first runs; `down` stops it and cleans up; and a run
//! that cannot come up gives `up`'s own exit status and message.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::{Command, Output};

use support::docker::*;
use support::{describe as text, require_all, Expected, Need, BIN};

const TEST: &str = "up_detach_returns_when_ready_and_down_stops_it";

/// The binary with `args`, its state directory in `state`.
fn imds_spoof(config: &std::path::Path, state: &std::path::Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--config")
        .arg(config)
        .args(args)
        .env("XDG_STATE_HOME", state)
        .env("IMDS_SPOOF_LOG", "info")
        .output()
        .expect("run imds-spoof")
}

#[test]
fn up_detach_returns_when_ready_and_down_stops_it() {
    if !require_all(&[Need::Docker, Need::OfflineImages], TEST) {
        return;
    }
    let engine = EngineFixture::new();
    let state = tempfile::tempdir().expect("state dir");
    let config = &engine.config;

    let started = imds_spoof(config, state.path(), &["up", "--detach"]);
    assert!(started.status.success(), "up --detach: {}", text(&started));
    let stdout = String::from_utf8_lossy(&started.stdout);
    assert!(
        stdout.contains("http://169.254.169.254"),
        "the ready line names the endpoint: {stdout}"
    );
    let stderr = String::from_utf8_lossy(&started.stderr);
    assert!(
        stderr.contains("running in the background (pid"),
        "{stderr}"
    );

    // It serves after the command returned.
    let mounts = client_mounts(None);
    let out = run_client("imds-spoof-test-detached", &[], &mounts, &CURL_INSTANCE_ID);
    assert_stdout(&out, &Expected::sample_identity(0).instance_id);
    let logs = imds_spoof(config, state.path(), &["logs"]);
    assert!(logs.status.success(), "{}", text(&logs));
    assert!(
        String::from_utf8_lossy(&logs.stdout).contains("/latest/meta-data/instance-id"),
        "the log has the request: {}",
        text(&logs)
    );

    let status = imds_spoof(config, state.path(), &["status", "--json"]);
    assert!(status.status.success(), "status: {}", text(&status));
    let document: serde_json::Value =
        serde_json::from_slice(&status.stdout).expect("status --json is JSON");
    assert_eq!(document["up"], true, "{document}");
    assert!(document["background"]["pid"].is_u64(), "{document}");

    let again = imds_spoof(config, state.path(), &["up", "--detach"]);
    assert_eq!(
        again.status.code(),
        Some(8),
        "a second run: {}",
        text(&again)
    );
    assert!(text(&again).contains("already running"), "{}", text(&again));

    let down = imds_spoof(config, state.path(), &["down"]);
    assert!(down.status.success(), "down: {}", text(&down));
    assert!(
        String::from_utf8_lossy(&down.stdout).contains("stopped the background run"),
        "{}",
        text(&down)
    );
    let (containers, networks) = leftovers();
    assert!(
        containers.trim().is_empty() && networks.trim().is_empty(),
        "left behind: {containers} {networks}"
    );

    // A run that cannot come up: the same status and reason as `up` in the foreground.
    let image = ["--proxy-image", "localhost/imds-spoof/no-such-image:0"];
    let foreground = imds_spoof(config, state.path(), &[&["up"][..], &image[..]].concat());
    let background = imds_spoof(
        config,
        state.path(),
        &[&["up", "--detach"][..], &image[..]].concat(),
    );
    assert_ne!(foreground.status.code(), Some(0));
    assert_eq!(
        background.status.code(),
        foreground.status.code(),
        "foreground: {}\nbackground: {}",
        text(&foreground),
        text(&background)
    );
    assert!(
        text(&background).contains("no-such-image"),
        "the reason is shown: {}",
        text(&background)
    );
}
