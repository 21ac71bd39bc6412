//! `doctor --container` on the real engine: the container credential variables
//! (`AWS_CONTAINER_*`, `ECS_CONTAINER_METADATA_URI_V4`) of real containers, with the token
//! file read out of the container (a bind mount, and a symlink to one).

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;

use support::docker::*;
use support::{describe as text, require_all, Need};

const TEST: &str = "doctor_checks_container_credential_variables_on_the_real_engine";

#[test]
fn doctor_checks_container_credential_variables_on_the_real_engine() {
    if !require_all(&[Need::Docker, Need::OfflineImages], TEST) {
        return;
    }
    let engine = EngineFixture::new();
    let dir = engine.dir.path();
    let mounts = client_mounts(None);
    let good_token = dir.join("good-token");
    let bad_token = dir.join("bad-token");
    std::fs::write(&good_token, "eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl").unwrap();
    std::fs::write(&bad_token, "eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl\n").unwrap();

    // Everything wrong at once: both URIs, a host SDKs refuse, a token file ending with a
    // newline next to an env token, task metadata pointing elsewhere.
    let bad_mount = format!("--volume={}:/run/token:ro", bad_token.display());
    start_idle_client(
        "imds-spoof-test-doctor-bad",
        &[
            "--env=AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/self",
            "--env=AWS_CONTAINER_CREDENTIALS_FULL_URI=http://evil.example/creds",
            "--env=AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=/run/token",
            "--env=AWS_CONTAINER_AUTHORIZATION_TOKEN=abc",
            "--env=ECS_CONTAINER_METADATA_URI_V4=http://10.0.0.9/v4/x",
            &bad_mount,
        ],
        &mounts,
    );
    let lines = doctor_lines(&engine.config, "imds-spoof-test-doctor-bad");
    for (level, words) in [
        ("warn", "botocore (Python) uses RELATIVE"),
        (
            "FAIL",
            "botocore and JS v3 refuse plain http to evil.example",
        ),
        ("FAIL", "/run/token ends with a newline"),
        ("warn", "JS v3 sends AWS_CONTAINER_AUTHORIZATION_TOKEN"),
        ("warn", "points at 10.0.0.9"),
    ] {
        assert!(
            lines
                .iter()
                .any(|line| line.starts_with(level) && line.contains(words)),
            "no {level} line with {words:?} in:\n{}",
            lines.join("\n")
        );
    }

    // The EKS door without the token file it names.
    start_idle_client(
        "imds-spoof-test-doctor-missing",
        &[
            "--env=AWS_CONTAINER_CREDENTIALS_FULL_URI=http://169.254.170.23/v1/credentials",
            "--env=AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=/var/run/nope/token",
        ],
        &mounts,
    );
    let lines = doctor_lines(&engine.config, "imds-spoof-test-doctor-missing");
    assert!(
        lines.iter().any(|line| line.starts_with("FAIL")
            && line.contains("/var/run/nope/token does not exist in the container")),
        "{}",
        lines.join("\n")
    );

    // As it should be, the token file behind a symlink the way Kubernetes projects it.
    let good_mount = format!("--volume={}:/run/t/..data/token:ro", good_token.display());
    start_idle_client(
        "imds-spoof-test-doctor-good",
        &[
            "--env=AWS_CONTAINER_CREDENTIALS_FULL_URI=http://169.254.170.23/v1/credentials",
            "--env=AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=/run/t/token",
            "--env=ECS_CONTAINER_METADATA_URI_V4=http://169.254.170.2/v4/self",
            &good_mount,
        ],
        &mounts,
    );
    let link = docker(&[
        "exec",
        "imds-spoof-test-doctor-good",
        "ln",
        "-s",
        "..data/token",
        "/run/t/token",
    ]);
    assert!(link.status.success(), "{}", text(&link));
    let lines = doctor_lines(&engine.config, "imds-spoof-test-doctor-good");
    let ours: Vec<&String> = lines
        .iter()
        .filter(|line| {
            let check = line.get(6..).unwrap_or_default();
            check.starts_with("credentials ") || check.starts_with("task metadata ")
        })
        .collect();
    assert_eq!(ours.len(), 3, "{}", lines.join("\n"));
    assert!(
        ours.iter().all(|line| line.starts_with("ok")),
        "{}",
        lines.join("\n")
    );
    assert!(
        lines
            .iter()
            .any(|line| line.contains("/run/t/token: 37 bytes, no trailing newline")),
        "{}",
        lines.join("\n")
    );
}

/// `doctor --container NAME` output lines (it fails overall: the container is not on the
/// network, which no `up` created here).
fn doctor_lines(config: &Path, name: &str) -> Vec<String> {
    let out = imds_spoof(config, &["doctor", "--container", name], &[]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}
