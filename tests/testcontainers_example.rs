//! examples/testcontainers/, run as a user runs it: testcontainers (the PyPI package in
//! test_identity.py, the Rust crate in rust/, a crate of its own built with cargo)
//! starts an application container on the imds-spoof network of a running `up`, and the
//! container reads the instance id of the identity its label names, over IMDSv2. Both
//! share one `up`.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Command;

use support::docker::*;
use support::need::python;
use support::{describe as text, identity, repo, require_all, Need};

const TEST: &str = "the_testcontainers_example_gets_its_identity";

#[test]
fn the_testcontainers_example_gets_its_identity() {
    if !require_all(&[Need::Docker, Need::OfflineImages], TEST) {
        return;
    }
    let Some(python) = python(TEST) else {
        return;
    };
    let engine = EngineFixture::new();
    let (up, _log) = engine.up_logging("up");
    // "--volume=HOST:INSIDE:ro" lines, as [HOST, INSIDE] pairs for the example.
    let mounts: Vec<[String; 2]> = client_mounts(None)
        .iter()
        .filter_map(|mount| {
            let spec = mount.strip_prefix("--volume=")?;
            let mut parts = spec.split(':');
            Some([parts.next()?.to_string(), parts.next()?.to_string()])
        })
        .collect();
    let expected = identity(1);
    let out = Command::new(&python)
        .arg(repo().join("examples/testcontainers/test_identity.py"))
        .env("APP_IMAGE", CLIENT_IMAGE)
        .env("EXTRA_MOUNTS", serde_json::to_string(&mounts).unwrap())
        .env("IMDS_IDENTITY", &expected.name)
        .env("EXPECTED_INSTANCE_ID", &expected.instance_id)
        // No registry here: the reaper image cannot be pulled (the example stops its own).
        .env("TESTCONTAINERS_RYUK_DISABLED", "true")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("run the example");
    assert!(out.status.success(), "the example: {}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("played its identity"),
        "{}",
        text(&out)
    );

    // The Rust crate, against the same run: one container per identity.
    let example = repo().join("examples/testcontainers/rust");
    for (index, label) in [(1, Some("worker")), (0, None)] {
        let expected = identity(index);
        let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cargo
            .args(["test", "--quiet", "--manifest-path"])
            .arg(example.join("Cargo.toml"))
            .arg("--target-dir")
            .arg(repo().join("target/testcontainers-example"))
            .env("APP_IMAGE", CLIENT_IMAGE)
            .env("EXTRA_MOUNTS", serde_json::to_string(&mounts).unwrap())
            .env("EXPECTED_INSTANCE_ID", &expected.instance_id)
            .env_remove("IMDS_IDENTITY");
        if let Some(label) = label {
            cargo.env("IMDS_IDENTITY", label);
        }
        let out = cargo.output().expect("run cargo test on the Rust example");
        assert!(
            out.status.success(),
            "the Rust example ({label:?}): {}",
            text(&out)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("1 passed"),
            "the Rust example ran no test: {}",
            text(&out)
        );
    }
    assert_eq!(up.stop(), 0);
}
