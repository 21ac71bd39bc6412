//! The CI recipe in examples/github-actions/workflow.yml, run as written: its "Tests
//! against imds-spoof" step's script, with `imds-spoof` on PATH and an application test
//! that reads IMDS from a container. With IMDSv2 the step passes; an application that
//! still uses IMDSv1 fails it through `imds-spoof report`, and either way nothing of ours
//! is left on the engine.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::docker::*;
use support::{describe as text, repo, require_all, Need, BIN};

const TEST: &str = "the_github_actions_recipe_passes_with_imdsv2_and_fails_with_imdsv1";

/// The `run: |` block of the step named `step` in a workflow file.
fn step_script(workflow: &str, step: &str) -> String {
    let mut lines = workflow
        .lines()
        .skip_while(|line| !line.contains(&format!("name: {step}")));
    lines.next().expect("the step is in the workflow");
    let mut lines = lines.skip_while(|line| line.trim() != "run: |");
    let run = lines.next().expect("the step runs a script");
    let indent = run.len() - run.trim_start().len();
    lines
        .take_while(|line| line.trim().is_empty() || line.len() - line.trim_start().len() > indent)
        .map(|line| line.trim_start())
        .collect::<Vec<_>>()
        .join("\n")
}

fn run_step(script: &str, config: &Path, state: &Path, bin_dir: &Path, app_test: &str) -> Output {
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .env("PATH", path)
        .env("IMDS_SPOOF_CONFIG", config)
        .env("XDG_STATE_HOME", state)
        .env("APP_TEST", app_test)
        .output()
        .expect("run the workflow step")
}

#[test]
fn the_github_actions_recipe_passes_with_imdsv2_and_fails_with_imdsv1() {
    if !require_all(&[Need::Docker, Need::OfflineImages], TEST) {
        return;
    }
    let engine = EngineFixture::new();
    let workflow = std::fs::read_to_string(repo().join("examples/github-actions/workflow.yml"))
        .expect("read the workflow");
    let script = step_script(&workflow, "Tests against imds-spoof");
    assert!(script.contains("imds-spoof up --detach"), "{script}");
    let state = tempfile::tempdir().expect("state dir");
    let bin_dir = tempfile::tempdir().expect("bin dir");
    std::os::unix::fs::symlink(BIN, bin_dir.path().join("imds-spoof")).expect("link the binary");

    // The offline client image borrows curl and bash from the host (client_mounts).
    let mounts = client_mounts(None).join(" ");
    let client = |name: &str, ask: &str| {
        format!(
            "docker run --rm --name {name} --network imds-spoof --label {TEST_LABEL} {mounts} {CLIENT_IMAGE} bash -c '{ask}'"
        )
    };
    let v2 = client(
        "imds-spoof-test-ci-v2",
        "T=$(curl -sf -X PUT -H X-aws-ec2-metadata-token-ttl-seconds:60 http://169.254.169.254/latest/api/token) && curl -sf -H X-aws-ec2-metadata-token:$T http://169.254.169.254/latest/meta-data/instance-id",
    );
    let passed = run_step(&script, &engine.config, state.path(), bin_dir.path(), &v2);
    assert!(
        passed.status.success(),
        "IMDSv2 application: {}",
        text(&passed)
    );
    let (containers, networks) = leftovers();
    assert!(containers.trim().is_empty(), "left behind: {containers}");
    // The network stays only if an older run made it; ours is removed by `down --force`.
    let _ = networks;

    let v1 = client(
        "imds-spoof-test-ci-v1",
        "curl -sf http://169.254.169.254/latest/meta-data/instance-id",
    );
    let failed = run_step(&script, &engine.config, state.path(), bin_dir.path(), &v1);
    assert_eq!(
        failed.status.code(),
        Some(1),
        "IMDSv1 application: {}",
        text(&failed)
    );
    assert!(
        text(&failed).contains("IMDSv1"),
        "report says why: {}",
        text(&failed)
    );
    let (containers, _) = leftovers();
    assert!(containers.trim().is_empty(), "left behind: {containers}");
}
