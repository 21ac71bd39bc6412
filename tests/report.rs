//! `imds-spoof report`: IMDSv2 readiness from a running `serve` (its report socket) and from
//! its `--log-requests` file. Real parts: the binary serving, curl asking without a token
//! (IMDSv1) from 127.0.0.2, the Rust SDK's aws-config (IMDSv2 only) from 127.0.0.1, the
//! binary reporting. Each test gives its processes a runtime directory of their own, so
//! other runs on the machine are not in the report.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use support::wait::wait_for;
use support::{require, serve_sample, Need, ServeOptions, Server, BIN};

const CREDENTIALS: &str = "/latest/meta-data/iam/security-credentials/";

/// A `serve` whose report socket is in `runtime` and whose exchanges go to `log`.
fn serve(runtime: &Path, log: &Path) -> Server {
    serve_sample(
        |_| {},
        ServeOptions {
            extra_args: vec!["--log-requests".into(), log.display().to_string()],
            env: vec![("XDG_RUNTIME_DIR".into(), runtime.display().to_string())],
        },
    )
}

fn report(runtime: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("report")
        .args(args)
        .env("XDG_RUNTIME_DIR", runtime)
        .output()
        .expect("run imds-spoof report")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The IMDSv1 caller: curl, no token, from 127.0.0.2 (a caller of its own on loopback).
fn curl_v1(server: &Server) {
    let output = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "10",
            "--interface",
            "127.0.0.2",
            "-o",
            "/dev/null",
        ])
        .args(["-w", "%{http_code}"])
        .arg(format!("{}{CREDENTIALS}", server.url()))
        .output()
        .expect("run curl");
    assert_eq!(stdout(&output), "200", "curl: {output:?}");
}

/// The IMDSv2 caller: the Rust SDK's credentials and region providers, from 127.0.0.1.
async fn sdk_v2(server: &Server) {
    support::aws::resolve(&server.url())
        .await
        .expect("aws-config resolves credentials");
}

/// The `--json` report once it has the callers wanted (the log file is written in the
/// background, the socket's tally follows the broker's stream).
fn report_with(runtime: &Path, args: &[&str], callers: usize) -> (serde_json::Value, Output) {
    wait_for(Duration::from_secs(15), || {
        let output = report(runtime, args);
        let value: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
        (value["callers"].as_array()?.len() == callers).then_some((value, output))
    })
    .unwrap_or_else(|| {
        let output = report(runtime, args);
        panic!(
            "no report with {callers} callers: {}{}",
            stdout(&output),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn caller<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["callers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|caller| caller["caller"] == name)
        .unwrap_or_else(|| panic!("no caller {name} in {report}"))
}

fn check_one_flagged(report: &serde_json::Value, what: &str) {
    assert_eq!(report["format"], 1, "{what}");
    assert_eq!(report["v1_callers"], 1, "{what}: {report}");
    let legacy = caller(report, "127.0.0.2");
    assert!(
        legacy["v1_requests"].as_u64().unwrap() >= 1,
        "{what}: {legacy}"
    );
    assert_eq!(legacy["v1_paths"][0]["path"], CREDENTIALS, "{what}");
    assert_eq!(legacy["agents"][0]["sdk"], "curl", "{what}: {legacy}");
    let modern = caller(report, "127.0.0.1");
    assert_eq!(modern["v1_requests"], 0, "{what}: {modern}");
    assert!(
        modern["v2_requests"].as_u64().unwrap() >= 2,
        "{what}: {modern}"
    );
    assert!(
        modern["token_requests"].as_u64().unwrap() >= 1,
        "{what}: {modern}"
    );
    assert_eq!(
        modern["agents"][0]["sdk"], "aws-sdk-rust",
        "{what}: {modern}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_v1_caller_is_one_flagged_row_and_exit_status_1() {
    if !require(
        Need::Curl,
        "one_v1_caller_is_one_flagged_row_and_exit_status_1",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("requests.jsonl");
    let server = serve(dir.path(), &log);
    sdk_v2(&server).await;
    curl_v1(&server);

    // From the running broker.
    let (live, output) = report_with(dir.path(), &["--json"], 2);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    check_one_flagged(&live, "live --json");

    let table = report(dir.path(), &[]);
    assert_eq!(table.status.code(), Some(1), "{table:?}");
    let text = stdout(&table);
    let flagged: Vec<&str> = text.lines().filter(|line| line.starts_with('!')).collect();
    assert_eq!(flagged.len(), 1, "exactly one row flagged:\n{text}");
    assert!(
        flagged[0].contains("127.0.0.2") && flagged[0].contains("curl 7"),
        "{text}"
    );
    assert!(text.contains("1 of 2 callers used IMDSv1"), "{text}");
    assert!(
        text.lines()
            .any(|line| line.starts_with("   127.0.0.1") && line.contains("aws-sdk-rust")),
        "the v2 caller, not flagged:\n{text}"
    );
    assert!(
        String::from_utf8_lossy(&table.stderr).contains("1 caller used IMDSv1"),
        "{table:?}"
    );

    // From the request log: the same finding.
    let log_arg = log.display().to_string();
    let (from_file, output) = report_with(dir.path(), &["--json", "--from", &log_arg], 2);
    assert_eq!(output.status.code(), Some(1));
    check_one_flagged(&from_file, "--from");
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_callers_only_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("requests.jsonl");
    let server = serve(dir.path(), &log);
    sdk_v2(&server).await;

    let (live, output) = report_with(dir.path(), &["--json"], 1);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(live["v1_callers"], 0);
    let table = report(dir.path(), &[]);
    assert_eq!(table.status.code(), Some(0), "{table:?}");
    let text = stdout(&table);
    assert!(!text.lines().any(|line| line.starts_with('!')), "{text}");
    assert!(text.contains("0 of 1 caller used IMDSv1"), "{text}");
    drop(server);
}

/// Nothing to read is an error, never the 1 that means "IMDSv1 in use".
#[test]
fn nothing_to_read_is_exit_status_11() {
    let dir = tempfile::tempdir().unwrap();
    let nothing = report(dir.path(), &[]);
    assert_eq!(nothing.status.code(), Some(11), "{nothing:?}");
    assert!(
        String::from_utf8_lossy(&nothing.stderr).contains("no running imds-spoof"),
        "{nothing:?}"
    );
    let absent: PathBuf = dir.path().join("absent.jsonl");
    let missing = report(dir.path(), &["--from", &absent.display().to_string()]);
    assert_eq!(missing.status.code(), Some(11), "{missing:?}");
    let foreign = dir.path().join("foreign.jsonl");
    std::fs::write(&foreign, "not json\n").unwrap();
    let bad = report(dir.path(), &["--from", &foreign.display().to_string()]);
    assert_eq!(bad.status.code(), Some(11), "{bad:?}");
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("foreign.jsonl:1:"),
        "{bad:?}"
    );
}
