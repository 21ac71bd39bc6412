//! Errors the proxy makes itself reach a container in EC2's shape (issue 10): through the
//! real nginx proxy of `up` on the real engine, a client container sends an over-long
//! request line (nginx's 414), a malformed one (400), an oversized header (nginx's 494,
//! answered 431), and, after the broker is gone, a plain GET (502). Each answer must say
//! `Server: EC2ws` with EC2's XHTML page, exactly the broker's page for that status; only
//! the readiness probe's header earns nginx's own mark.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::http::StatusCode;
use serde_json::Value;
use support::docker::*;
use support::{describe, require, Need};

const TEST: &str = "nginx_errors_reach_the_caller_as_ec2s";
const PROXY: &str = "169.254.169.254";

/// Sends `request` byte for byte from a client container; the answer as JSON.
fn send(mounts: &[String], name: &str, request: &str) -> Value {
    let out = run_client(
        name,
        &[],
        mounts,
        &["python3", "/clients/raw_http.py", PROXY, request],
    );
    assert!(out.status.success(), "{}", describe(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|err| panic!("{err}: {}", describe(&out)))
}

fn header<'a>(answer: &'a Value, name: &str) -> Option<&'a str> {
    answer["headers"].as_array()?.iter().find_map(|pair| {
        (pair[0].as_str()?.eq_ignore_ascii_case(name))
            .then(|| pair[1].as_str())
            .flatten()
    })
}

/// EC2's error answer for `status`: the reason, `Server: EC2ws`, the broker's own page.
fn assert_ec2_error(answer: &Value, status: u16, what: &str) {
    assert_eq!(answer["status"], status, "{what}: {answer}");
    let code = StatusCode::from_u16(status).unwrap();
    assert_eq!(
        answer["reason"],
        code.canonical_reason().unwrap(),
        "{what}: {answer}"
    );
    assert_eq!(header(answer, "server"), Some("EC2ws"), "{what}: {answer}");
    assert_eq!(
        header(answer, "content-type"),
        Some("text/html"),
        "{what}: {answer}"
    );
    assert_eq!(
        answer["body"].as_str(),
        Some(imds_spoof::broker::error_page(code).as_str()),
        "{what}: {answer}"
    );
    assert_eq!(
        header(answer, "x-imds-spoof-answered-by"),
        None,
        "{what}: the probe's mark without the probe's header: {answer}"
    );
}

#[test]
fn nginx_errors_reach_the_caller_as_ec2s() {
    if !require(Need::Docker, TEST) || !require(Need::OfflineImages, TEST) {
        return;
    }
    let engine = EngineFixture::new();
    let mounts = client_mounts(None);
    let up = Up::start(&engine.config, &[], &engine.dir.path().join("up.err"))
        .unwrap_or_else(|(err, code)| panic!("up failed ({code}): {err}"));

    // The broker serves through the proxy: the baseline.
    let ok = send(
        &mounts,
        "imds-spoof-test-errors-ok",
        "GET /latest/meta-data/instance-id HTTP/1.1\r\nHost: 169.254.169.254\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(ok["status"], 200, "{ok}");
    assert_eq!(header(&ok, "server"), Some("EC2ws"), "{ok}");

    let long_path = format!(
        "GET /latest/meta-data/{} HTTP/1.1\r\nHost: 169.254.169.254\r\nConnection: close\r\n\r\n",
        "a".repeat(9 * 1024)
    );
    let answer = send(&mounts, "imds-spoof-test-errors-414", &long_path);
    assert_ec2_error(&answer, 414, "9 KiB request line");

    let answer = send(
        &mounts,
        "imds-spoof-test-errors-400",
        "GET /latest/meta-data/ HTTP/1.1\r\nHost: 169.254.169.254\r\nNo colon here\r\n\r\n",
    );
    assert_ec2_error(&answer, 400, "malformed header line");

    let big_header = format!(
        "GET /latest/meta-data/ HTTP/1.1\r\nHost: 169.254.169.254\r\nX-Padding: {}\r\nConnection: close\r\n\r\n",
        "b".repeat(9 * 1024)
    );
    let answer = send(&mounts, "imds-spoof-test-errors-431", &big_header);
    assert_ec2_error(&answer, 431, "9 KiB header");

    // The broker gone (killed, so it cannot take the proxy with it): nginx's 502.
    up.kill9();
    let get =
        "GET /latest/meta-data/ HTTP/1.1\r\nHost: 169.254.169.254\r\nConnection: close\r\n\r\n";
    let answer = send(&mounts, "imds-spoof-test-errors-502", get);
    assert_ec2_error(&answer, 502, "broker down");
    // The readiness probe's header earns the mark that tells it nginx answered.
    let probe = "GET /latest/meta-data/ HTTP/1.1\r\nHost: 169.254.169.254\r\nX-Imds-Spoof-Probe: 1\r\nConnection: close\r\n\r\n";
    let answer = send(&mounts, "imds-spoof-test-errors-probe", probe);
    assert_eq!(answer["status"], 502, "{answer}");
    assert_eq!(
        header(&answer, "x-imds-spoof-answered-by"),
        Some("nginx"),
        "{answer}"
    );
}
