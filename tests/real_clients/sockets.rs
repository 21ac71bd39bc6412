//! curl and raw sockets: the token flow, the Host check, hostile input, the request log.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::{self, http, require, serve_sample, wait_until, Expected, Need, ServeOptions};

fn curl(args: &[&str]) -> (String, String) {
    let output = Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "10"])
        .args(args)
        .output()
        .expect("run curl");
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The IMDSv2 flow as the AWS documentation shows it with curl, and a DNS-rebinding
/// style request (foreign Host header) refused (docs/protocol.md case 41).
#[test]
fn curl_token_flow_works_and_a_foreign_host_is_refused() {
    if !require(
        Need::Curl,
        "curl_token_flow_works_and_a_foreign_host_is_refused",
    ) {
        return;
    }
    let expected = Expected::sample_identity(0);
    let server = serve_sample(
        |doc| doc["imds"]["tokens"] = toml_edit::value("required"),
        ServeOptions::default(),
    );
    let base = server.url();
    let (token, err) = curl(&[
        "-X",
        "PUT",
        &format!("{base}/latest/api/token"),
        "-H",
        "X-aws-ec2-metadata-token-ttl-seconds: 21600",
    ]);
    assert!(token.len() >= 40, "token {token:?}; curl: {err}");
    let header = format!("X-aws-ec2-metadata-token: {token}");
    let url = format!("{base}/latest/meta-data/instance-id");
    let (id, err) = curl(&["-H", &header, &url]);
    assert_eq!(id, expected.instance_id, "curl: {err}");

    let (status, _) = curl(&["-o", "/dev/null", "-w", "%{http_code}", &url]);
    assert_eq!(status, "401", "tokens required: no token");
    let (status, _) = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-H",
        &header,
        "--header",
        "Host: evil.example",
        &url,
    ]);
    assert_eq!(status, "403", "foreign Host header");
    let (body, _) = curl(&["-H", &header, "--header", "Host: evil.example", &url]);
    // EC2's 403: an empty body (docs/protocol.md §2).
    assert!(body.is_empty(), "{body}");
    assert!(
        !body.contains(&expected.instance_id),
        "refused request leaked data: {body}"
    );
}

/// Hostile or broken requests over a real socket get 4xx in EC2's shape where the
/// broker answers, and the server keeps serving (docs/protocol.md cases 17, 19, 21, 22, 25, 34, 35).
#[test]
fn bad_input_gets_ec2_errors_and_the_server_keeps_serving() {
    let mut server = serve_sample(|_| {}, ServeOptions::default());
    let addr = server.addr;
    let ttl = "X-aws-ec2-metadata-token-ttl-seconds";
    for bad in [
        "0",
        "21601",
        "-1",
        "sixty",
        "",
        "1.5",
        "99999999999999999999",
    ] {
        let response = http::request(addr, "PUT", "/latest/api/token", &[(ttl, bad)]).unwrap();
        response.assert_ec2_error(400, &format!("TTL {bad:?}"));
    }
    let response = http::request(addr, "PUT", "/latest/api/token", &[]).unwrap();
    response.assert_ec2_error(400, "TTL missing");

    let garbage = "AAAAgarbageTokenThatWasNeverIssuedByThisServer0000000000==";
    let response = http::get_v2(addr, "/latest/meta-data/instance-id", garbage).unwrap();
    response.assert_ec2_error(401, "garbage token");
    // The server's clock is its own: wait for the one-second token to be refused, and check
    // that it was not refused early.
    let asked = Instant::now();
    let short_lived = http::token(addr, "1");
    let mut response = None;
    let expired = wait_until(Duration::from_secs(10), || {
        let answer = http::get_v2(addr, "/latest/meta-data/instance-id", &short_lived).unwrap();
        let refused = answer.status == 401;
        response = Some(answer);
        refused
    });
    assert!(expired, "a one-second token still served after 10 s");
    assert!(
        asked.elapsed() >= Duration::from_secs(1),
        "a one-second token refused after {:?}",
        asked.elapsed()
    );
    response
        .expect("asked at least once")
        .assert_ec2_error(401, "expired token");

    http::get(addr, "/latest/meta-data/no-such-thing")
        .unwrap()
        .assert_ec2_error(404, "unknown path");
    for method in ["POST", "DELETE"] {
        http::request(addr, method, "/latest/meta-data/instance-id", &[])
            .unwrap()
            .assert_ec2_error(405, &format!("{method} on meta-data"));
    }
    http::get(addr, "/latest/api/token")
        .unwrap()
        .assert_ec2_error(405, "GET on the token path");

    let long_path = format!("/latest/meta-data/{}", "a".repeat(8 * 1024));
    let response = http::get(addr, &long_path).unwrap();
    assert!(
        (400..500).contains(&response.status),
        "8 KiB path: {}",
        response.status
    );
    assert_eq!(
        response.header("server"),
        Some("EC2ws"),
        "8 KiB path answered by the broker"
    );

    // 64 KiB of header exceeds the connection's head limit: hyper refuses it before the
    // broker sees it, so only the status class is EC2-like here.
    let big = "b".repeat(64 * 1024);
    let response = http::request(addr, "GET", "/latest/meta-data/", &[("X-Big", &big)]).unwrap();
    assert!(
        (400..500).contains(&response.status),
        "64 KiB header: {}",
        response.status
    );

    assert!(
        server.is_running(),
        "server died; stderr:\n{}",
        server.stderr()
    );
    let response = http::get(addr, "/latest/meta-data/instance-id").unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.text(), Expected::sample_identity(0).instance_id);
    let token = http::token(addr, "21600");
    assert_eq!(
        http::get_v2(addr, "/latest/meta-data/instance-id", &token)
            .unwrap()
            .status,
        200
    );
}

/// `--log-requests FILE`: one JSON line per exchange, secrets and tokens masked.
#[test]
fn request_log_has_a_line_per_exchange_and_no_secrets() {
    let log_dir = support::temp_dir();
    let log = log_dir.path().join("requests.jsonl");
    let mut server = serve_sample(
        |_| {},
        ServeOptions {
            extra_args: vec!["--log-requests".into(), log.display().to_string()],
            ..ServeOptions::default()
        },
    );
    let addr = server.addr;
    let expected = Expected::sample_identity(0);
    let token = http::token(addr, "21600");
    let credentials_path = expected.credentials_path();
    let exchanges: Vec<(&str, String, u16)> = vec![
        ("PUT", "/latest/api/token".into(), 200),
        (
            "GET",
            "/latest/meta-data/iam/security-credentials/".into(),
            200,
        ),
        ("GET", credentials_path.clone(), 200),
        ("GET", "/latest/meta-data/instance-id".into(), 200),
        ("GET", "/latest/meta-data/nope".into(), 404),
        ("PUT", "/latest/api/token".into(), 400),
    ];
    for (method, path, status) in &exchanges[1..] {
        let response = if *method == "PUT" {
            http::request(
                addr,
                "PUT",
                path,
                &[("X-aws-ec2-metadata-token-ttl-seconds", "0")],
            )
        } else {
            http::get_v2(addr, path, &token)
        }
        .unwrap();
        assert_eq!(response.status, *status, "{method} {path}");
        if path == &credentials_path {
            let served = response.text();
            assert!(served.contains(&expected.secret));
        }
    }

    // One writer appends the lines in the order the exchanges were recorded: once the line
    // of a last request shows, every earlier exchange has been written (or never will be).
    const SENTINEL: &str = "/latest/meta-data/ami-id";
    assert_eq!(http::get_v2(addr, SENTINEL, &token).unwrap().status, 200);
    let read = || {
        support::read_lossy(&log)
            .lines()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let is_sentinel = |line: &str| line.contains(&format!("\"path\":\"{SENTINEL}\""));
    let caught_up = wait_until(Duration::from_secs(10), || {
        read().last().is_some_and(|line| is_sentinel(line))
    });
    let mut lines = read();
    assert!(caught_up, "the last request's line never came: {lines:#?}");
    lines.pop();
    assert_eq!(
        lines.len(),
        exchanges.len(),
        "one line per exchange: {lines:#?}"
    );
    let mut logged: Vec<(String, String, u64)> = lines
        .iter()
        .map(|line| {
            let record: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|err| panic!("not JSON ({err}): {line}"));
            (
                record["method"].as_str().unwrap_or_default().to_string(),
                record["path"].as_str().unwrap_or_default().to_string(),
                record["status"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    let mut want: Vec<(String, String, u64)> = exchanges
        .iter()
        .map(|(method, path, status)| (method.to_string(), path.clone(), u64::from(*status)))
        .collect();
    logged.sort();
    want.sort();
    assert_eq!(logged, want);

    let text = lines.join("\n");
    // Bodies are logged (masked): the key id shows, so the absence checks below mean something.
    assert!(text.contains(&expected.access_key), "{text}");
    let stderr = server.stderr();
    for (what, secret) in [
        ("secret key", expected.secret.clone()),
        ("session token", expected.token.clone()),
        ("IMDSv2 token", token.clone()),
    ] {
        assert!(
            !text.contains(&secret),
            "{what} in the request log:\n{text}"
        );
        assert!(
            !stderr.contains(&secret),
            "{what} in the server's log:\n{stderr}"
        );
    }
    assert!(server.is_running());
}

/// `serve` is for this machine: a --listen address others can reach needs --allow-remote.
#[test]
fn serve_refuses_a_non_loopback_listen_address() {
    let dir = support::temp_dir();
    let config = dir.path().join("config.toml");
    let out = Command::new(support::BIN)
        .arg("--config")
        .arg(&config)
        .args(["serve", "--listen", "192.0.2.10:1338"])
        .output()
        .expect("run imds-spoof serve");
    assert!(!out.status.success(), "{}", support::describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not a loopback address") && stderr.contains("--allow-remote"),
        "{stderr}"
    );
    // With --allow-remote the same address is accepted, then fails only because this
    // machine does not have it: the refusal above was the policy, not the bind.
    let out = Command::new(support::BIN)
        .arg("--config")
        .arg(&config)
        .args(["serve", "--allow-remote", "--listen", "192.0.2.10:1338"])
        .output()
        .expect("run imds-spoof serve");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("not an address of this machine"),
        "{stderr}"
    );
}
