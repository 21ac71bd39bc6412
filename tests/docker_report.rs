//! IMDSv2 readiness per container on the real engine: behind `up`, one container asks
//! without a token and one with; `imds-spoof report` names both by container and flags
//! only the first, live from the running `up` and from its request log after it ended.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use support::docker::*;
use support::wait::wait_for;
use support::{describe as text, require_all, Need, BIN};

const TEST: &str = "report_names_containers_and_flags_the_v1_one";
const V1: &str = "imds-spoof-test-readiness-v1";
const V2: &str = "imds-spoof-test-readiness-v2";

fn report(runtime: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("report")
        .arg("--json")
        .args(args)
        .env("XDG_RUNTIME_DIR", runtime)
        .output()
        .expect("run imds-spoof report")
}

/// The report once it names both containers.
fn both_named(runtime: &Path, args: &[&str]) -> (serde_json::Value, Output) {
    wait_for(Duration::from_secs(20), || {
        let output = report(runtime, args);
        let value: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
        let callers = value["callers"].as_array()?;
        let named = |name: &str| callers.iter().any(|caller| caller["container"] == name);
        (named(V1) && named(V2)).then_some((value, output))
    })
    .unwrap_or_else(|| panic!("no report naming both: {}", text(&report(runtime, args))))
}

fn check(report: &serde_json::Value, what: &str) {
    assert_eq!(report["v1_callers"], 1, "{what}: {report}");
    let callers = report["callers"].as_array().unwrap();
    let flagged: Vec<_> = callers
        .iter()
        .filter(|caller| caller["v1_requests"].as_u64() > Some(0))
        .collect();
    assert_eq!(flagged.len(), 1, "{what}: {report}");
    assert_eq!(flagged[0]["caller"], V1, "{what}");
    assert_eq!(
        flagged[0]["v1_paths"][0]["path"],
        "/latest/meta-data/instance-id"
    );
    assert_eq!(flagged[0]["agents"][0]["sdk"], "curl", "{what}");
    let modern = callers
        .iter()
        .find(|caller| caller["caller"] == V2)
        .unwrap();
    assert_eq!(modern["v2_requests"], 1, "{what}: {modern}");
    assert_eq!(modern["token_requests"], 1, "{what}: {modern}");
}

#[test]
fn report_names_containers_and_flags_the_v1_one() {
    if !require_all(&[Need::Docker, Need::OfflineImages], TEST) {
        return;
    }
    let engine = EngineFixture::new();
    let runtime = engine.dir.path().join("runtime");
    std::fs::create_dir(&runtime).unwrap();
    let runtime_arg = runtime.display().to_string();
    let log = engine.dir.path().join("requests.jsonl");
    let log_arg = log.display().to_string();
    let up = Up::start_with_env(
        &engine.config,
        &["--log-requests", &log_arg],
        &engine.dir.path().join("up.err"),
        &[("XDG_RUNTIME_DIR", &runtime_arg)],
    )
    .unwrap_or_else(|(err, code)| panic!("up failed ({code}): {err}"));
    let mounts = client_mounts(None);

    let base = "http://169.254.169.254/latest";
    let v1 = run_client(
        V1,
        &[],
        &mounts,
        &["curl", "-sf", &format!("{base}/meta-data/instance-id")],
    );
    assert!(v1.status.success(), "{}", text(&v1));
    let ask_v2 = format!(
        "T=$(curl -sf -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' {base}/api/token) && \
         curl -sf -H \"X-aws-ec2-metadata-token: $T\" {base}/meta-data/instance-id"
    );
    let v2 = run_client(V2, &[], &mounts, &["bash", "-c", &ask_v2]);
    assert!(v2.status.success(), "{}", text(&v2));

    let (live, output) = both_named(&runtime, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    check(&live, "live from up");

    assert_eq!(up.stop(), 0, "SIGTERM ends up cleanly");
    let sockets: Vec<_> = std::fs::read_dir(runtime.join("imds-spoof"))
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name())
        .collect();
    assert!(sockets.is_empty(), "up left {sockets:?} behind");

    let (from_log, output) = both_named(&runtime, &["--from", &log_arg]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    check(&from_log, "from the request log");
}
