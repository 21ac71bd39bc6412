//! The proxy's answers to errors nginx makes itself (docker/nginx.conf, the `stream` block):
//! each a whole HTTP response in EC2's shape, whose body is the broker's own error page to
//! the byte. The Docker test tests/docker_errors.rs sends them through a real proxy.

use axum::http::StatusCode;

/// Undoes nginx's escapes in a single-quoted string.
fn unescape(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('r') => out.push('\r'),
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// (status, raw answer) of every fixed answer in the stream block.
fn fixed_answers(conf: &str) -> Vec<(u16, String)> {
    let stream = &conf[conf.find("\nstream {").expect("a stream block")..];
    stream
        .split("listen unix:/tmp/imds-spoof-ec2-")
        .skip(1)
        .map(|server| {
            let status: u16 = server[..3].parse().expect("status in the socket name");
            let start = server.find("return '").expect("return") + "return '".len();
            let end = start + server[start..].find("';").expect("end of return");
            (status, unescape(&server[start..end]))
        })
        .collect()
}

#[test]
fn nginx_errors_are_ec2s_answers() {
    let conf = std::fs::read_to_string(crate::support::repo().join("docker/nginx.conf"))
        .expect("read docker/nginx.conf");
    let answers = fixed_answers(&conf);
    let statuses: Vec<u16> = answers.iter().map(|(status, _)| *status).collect();
    assert_eq!(statuses, [400, 404, 414, 431, 502, 504]);
    for (code, raw) in &answers {
        let status = StatusCode::from_u16(*code).expect("status");
        let (head, body) = raw.split_once("\r\n\r\n").expect("head and body");
        let mut lines = head.split("\r\n");
        assert_eq!(
            lines.next(),
            Some(
                format!(
                    "HTTP/1.1 {code} {}",
                    status.canonical_reason().unwrap_or("")
                )
                .as_str()
            )
        );
        let headers: Vec<&str> = lines.collect();
        assert_eq!(
            headers,
            [
                "Server: EC2ws",
                "Content-Type: text/html",
                &format!("Content-Length: {}", body.len()),
                "Connection: close",
            ],
            "{code}"
        );
        assert_eq!(body, imds_spoof::broker::error_page(status), "{code}");
        // Every fixed answer is reachable from an error_page of the metadata server.
        let location = format!("location = /.imds-spoof-error/{code} {{ proxy_pass http://unix:/tmp/imds-spoof-ec2-{code}.sock:; }}");
        assert!(conf.contains(&location), "{location}");
    }
    // The readiness probe's mark, only for a request with its header.
    assert!(conf.contains("add_header X-Imds-Spoof-Answered-By $imds_spoof_own_error always;"));
    assert!(conf.contains("map $http_x_imds_spoof_probe $imds_spoof_own_error {"));
    for (nginx, answer) in [
        (400, 400),
        (404, 404),
        (414, 414),
        (494, 431),
        (502, 502),
        (504, 504),
    ] {
        let line = format!("error_page {nginx} = /.imds-spoof-error/{answer};");
        assert!(conf.contains(&line), "{line}");
    }
}
