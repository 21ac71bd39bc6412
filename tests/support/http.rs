//! A deliberately plain HTTP/1.1 client over a TcpStream: it sends exactly the bytes a test
//! asks for (over-long paths and headers, odd methods, a foreign Host) and reads the whole
//! answer, so nothing between the test and the server normalises the request.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

const IO_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// Header names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts EC2's error shape: the status, `Server: EC2ws`, an HTML page titled
    /// `NNN - Reason`.
    pub fn assert_ec2_error(&self, status: u16, what: &str) {
        assert_eq!(
            self.status,
            status,
            "{what}: status; body {:?}",
            self.text()
        );
        assert_eq!(
            self.header("server"),
            Some("EC2ws"),
            "{what}: Server header"
        );
        assert_eq!(
            self.header("content-type"),
            Some("text/html"),
            "{what}: Content-Type"
        );
        let body = self.text();
        assert!(
            body.contains(&format!("<title>{status} - ")) && body.contains("<?xml version="),
            "{what}: not EC2's HTML error page: {body:?}"
        );
    }
}

/// Sends `method path` with `headers` (a Host header is added unless one is given) and
/// `Connection: close`, and reads the answer.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<Response> {
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("host"))
    {
        head.push_str(&format!("Host: {addr}\r\n"));
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if method == "PUT" || method == "POST" {
        head.push_str("Content-Length: 0\r\n");
    }
    head.push_str("Connection: close\r\n\r\n");
    raw(addr, head.as_bytes())
}

pub fn get(addr: SocketAddr, path: &str) -> std::io::Result<Response> {
    request(addr, "GET", path, &[])
}

/// A GET with an IMDSv2 token.
pub fn get_v2(addr: SocketAddr, path: &str, token: &str) -> std::io::Result<Response> {
    request(addr, "GET", path, &[("X-aws-ec2-metadata-token", token)])
}

/// PUT /latest/api/token with this TTL; panics unless the answer is 200.
pub fn token(addr: SocketAddr, ttl: &str) -> String {
    let response = request(
        addr,
        "PUT",
        "/latest/api/token",
        &[("X-aws-ec2-metadata-token-ttl-seconds", ttl)],
    )
    .expect("token PUT");
    assert_eq!(response.status, 200, "token PUT: {}", response.text());
    assert_eq!(
        response.header("x-aws-ec2-metadata-token-ttl-seconds"),
        Some(ttl),
        "TTL echoed"
    );
    response.text()
}

/// Sends `bytes` as they are and parses the answer.
pub fn raw(addr: SocketAddr, bytes: &[u8]) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    stream.write_all(bytes)?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    parse(&answer)
}

fn parse(answer: &[u8]) -> std::io::Result<Response> {
    let invalid = |why: &str| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{why}: {:?}", String::from_utf8_lossy(answer)),
        )
    };
    let split = answer
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .ok_or_else(|| invalid("no end of head"))?;
    let head = std::str::from_utf8(&answer[..split]).map_err(|_| invalid("head not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| invalid("no status line"))?;
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    Ok(Response {
        status,
        headers,
        body: answer[split + 4..].to_vec(),
    })
}
