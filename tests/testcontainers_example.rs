//! examples/testcontainers/test_identity.py, run as a user runs it: testcontainers (PyPI)
//! starts an application container on the imds-spoof network of a running `up`, and the
//! container reads the instance id of the identity its label names, over IMDSv2.

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
    assert_eq!(up.stop(), 0);
}
