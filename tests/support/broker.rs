//! The conformance suite's harness: the real broker router, driven in-process with
//! `tower::ServiceExt::oneshot`, answering from the real built-in provider.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use bytes::Bytes;
use imds_spoof::broker::{self, AccessPolicy, BrokerState, PeerAddr};
use imds_spoof::config::{self, Config, ConfigStore};
use imds_spoof::imds::signing::IdentitySigner;
use imds_spoof::provider::{BuiltinProvider, Provider};
use tower::ServiceExt;

use super::sample::sample_config;

/// One key for the whole test binary: RSA key generation is the slow part of a harness.
pub static SIGNER: LazyLock<Arc<IdentitySigner>> = LazyLock::new(|| {
    Arc::new(IdentitySigner::generate().expect("generate the identity signing key"))
});

pub const TOKEN_PATH: &str = "/latest/api/token";
pub const META: &str = "/latest/meta-data/";
/// The sample's default role and its credentials path: constants because the suite passes
/// paths as `&'static str`; `support::sample` checks them against the sample on first use.
pub const ROLE: &str = "imds-spoof-dev-role";
pub const CREDENTIALS_PATH: &str = "/latest/meta-data/iam/security-credentials/imds-spoof-dev-role";
/// The loopback address the harness pretends to listen on.
pub const LISTEN: &str = "127.0.0.1:1338";
/// The peer every in-process request comes from unless a test says otherwise.
pub const PEER: &str = "127.0.0.1:40000";
/// How long a "no answer" must stay unanswered in these tests.
pub const NO_ANSWER_WAIT: Duration = Duration::from_millis(300);

/// A broker (router + state) and the store behind it.
pub struct Imds {
    pub store: ConfigStore,
    pub state: Arc<BrokerState>,
}

impl Imds {
    /// The newest exchange the broker recorded.
    pub fn last_record(&self) -> std::sync::Arc<imds_spoof::broker::ExchangeRecord> {
        self.state
            .recorder
            .snapshot()
            .last()
            .cloned()
            .expect("an exchange was recorded")
    }

    /// The sample configuration on the loopback policy.
    pub fn new() -> Self {
        Self::with(|_| {})
    }

    /// The sample configuration after `edit`.
    pub fn with(edit: impl FnOnce(&mut Config)) -> Self {
        Self::build(edit, loopback(), |_| {})
    }

    /// Full control: configuration edit, access policy, and state edit before it is shared.
    pub fn build(
        edit: impl FnOnce(&mut Config),
        access: AccessPolicy,
        state_edit: impl FnOnce(&mut BrokerState),
    ) -> Self {
        let mut config = sample_config();
        edit(&mut config);
        config::validate(&config).expect("test configuration is valid");
        let store = ConfigStore::in_memory(config);
        let provider = Arc::new(BuiltinProvider::new(store.clone(), SIGNER.clone()));
        Self::from_parts(store, provider, access, state_edit)
    }

    pub fn from_parts(
        store: ConfigStore,
        provider: Arc<dyn Provider>,
        access: AccessPolicy,
        state_edit: impl FnOnce(&mut BrokerState),
    ) -> Self {
        let mut state = BrokerState::new(store.clone(), provider, access);
        state_edit(&mut state);
        Self {
            store,
            state: Arc::new(state),
        }
    }

    /// Changes the configuration in force, as the dashboard does.
    pub fn update(&self, edit: impl FnOnce(&mut Config)) {
        let mut config = (*self.store.current()).clone();
        edit(&mut config);
        config::validate(&config).expect("test configuration is valid");
        self.store.replace(config);
    }

    /// The fault applied to each recorded exchange, oldest first.
    pub fn recorded_faults(&self) -> Vec<Option<String>> {
        self.state
            .recorder
            .snapshot()
            .iter()
            .map(|record| record.fault.clone())
            .collect()
    }

    /// Sends one request through the router. Every answer must carry `Server: EC2ws` (case 9).
    pub async fn send(&self, request: Request<Body>) -> Answer {
        let (request_path, method) = (request.uri().path().to_string(), request.method().clone());
        let response = self.send_raw(request).await;
        let answer = Answer::from_response(response).await;
        assert_eq!(
            answer.header("server"),
            Some("EC2ws"),
            "{method} {request_path} answered {} without Server: EC2ws",
            answer.status
        );
        answer
    }

    /// Sends without looking at the answer; for timing and no-answer checks.
    pub async fn send_raw(&self, request: Request<Body>) -> axum::response::Response {
        let router = broker::router(self.state.clone());
        match router.oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(request(Method::GET, path).build()).await
    }

    /// A v2 GET with `token`.
    pub async fn get_v2(&self, path: &str, token: &str) -> Answer {
        self.send(request(Method::GET, path).token(token).build())
            .await
    }

    /// Asks for a session token and returns it, asserting the 200.
    pub async fn token(&self, ttl: u32) -> String {
        let answer = self
            .send(
                request(Method::PUT, TOKEN_PATH)
                    .ttl(&ttl.to_string())
                    .build(),
            )
            .await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "token PUT: {}",
            answer.text()
        );
        answer.text().to_string()
    }

    /// GET that must answer 200 text/plain; returns the body.
    pub async fn text(&self, path: &str) -> String {
        let answer = self.get(path).await;
        answer.assert_ok(path);
        answer.text().to_string()
    }

    /// Resolves within [`NO_ANSWER_WAIT`]? Used to prove "no answer at all".
    pub async fn answers_within_wait(&self, request: Request<Body>) -> bool {
        tokio::time::timeout(NO_ANSWER_WAIT, self.send_raw(request))
            .await
            .is_ok()
    }
}

pub fn loopback() -> AccessPolicy {
    AccessPolicy::Loopback {
        listen: LISTEN.parse().expect("listen address"),
    }
}

/// A request builder with the IMDS headers as methods.
pub struct RequestBuilder {
    builder: axum::http::request::Builder,
    peer: SocketAddr,
}

pub fn request(method: Method, path: &str) -> RequestBuilder {
    RequestBuilder {
        builder: Request::builder()
            .method(method)
            .uri(path)
            .header("host", "169.254.169.254"),
        peer: PEER.parse().expect("peer address"),
    }
}

impl RequestBuilder {
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.builder = self.builder.header(name, value);
        self
    }

    pub fn token(self, token: &str) -> Self {
        self.header(broker::TOKEN_HEADER, token)
    }

    pub fn ttl(self, ttl: &str) -> Self {
        self.header(broker::TOKEN_TTL_HEADER, ttl)
    }

    /// Replaces the default Host header.
    pub fn host(mut self, host: &str) -> Self {
        if let Some(headers) = self.builder.headers_mut() {
            headers.insert("host", host.parse().expect("host header value"));
        }
        self
    }

    pub fn peer(mut self, ip: IpAddr) -> Self {
        self.peer = SocketAddr::new(ip, 40000);
        self
    }

    pub fn build(self) -> Request<Body> {
        let mut request = self.builder.body(Body::empty()).expect("valid request");
        request.extensions_mut().insert(PeerAddr(self.peer));
        request
    }
}

/// A whole answer, body collected.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub async fn from_response(response: axum::response::Response) -> Self {
        let (parts, body) = response.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX)
            .await
            .expect("read the body");
        Self {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("UTF-8 body")
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|err| panic!("not JSON ({err}): {}", self.text()))
    }

    /// 200, `text/plain`, like every successful EC2 answer.
    pub fn assert_ok(&self, what: &str) {
        assert_eq!(
            self.status,
            StatusCode::OK,
            "{what}: {} {}",
            self.status,
            self.text()
        );
        assert_eq!(self.header("content-type"), Some("text/plain"), "{what}");
    }

    /// EC2's 403: an empty `text/plain` body (docs/protocol.md §2).
    pub fn assert_forbidden(&self, what: &str) {
        assert_eq!(
            self.status,
            StatusCode::FORBIDDEN,
            "{what}: {}",
            self.text()
        );
        assert_eq!(self.header("content-type"), Some("text/plain"), "{what}");
        assert!(
            self.body.is_empty(),
            "{what}: 403 with a body: {}",
            self.text()
        );
    }

    /// EC2's HTML error page for `status` (405 is titled with EC2's `Not Allowed`).
    pub fn assert_error(&self, status: StatusCode, what: &str) {
        assert_eq!(self.status, status, "{what}: {}", self.text());
        assert_eq!(self.header("content-type"), Some("text/html"), "{what}");
        let reason = if status == StatusCode::METHOD_NOT_ALLOWED {
            "Not Allowed"
        } else {
            status.canonical_reason().unwrap_or("Error")
        };
        let title = format!("{} - {reason}", status.as_u16());
        let body = self.text();
        assert!(body.starts_with("<?xml version=\"1.0\""), "{what}: {body}");
        assert!(body.contains("<!DOCTYPE html"), "{what}: {body}");
        assert!(
            body.contains(&format!("<title>{title}</title>")),
            "{what}: {body}"
        );
        assert!(
            body.contains(&format!("<h1>{title}</h1>")),
            "{what}: {body}"
        );
    }
}

/// A tiny HTTP/1.1 exchange over a real socket, for what only a connection can show.
pub mod wire {
    use std::net::SocketAddr;
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    /// Writes `head` (request line and headers, CRLF-terminated) and reads until the
    /// server closes the connection or `deadline` passes; returns the bytes read.
    pub async fn exchange(addr: SocketAddr, head: &[u8], deadline: Duration) -> Vec<u8> {
        let mut stream = TcpStream::connect(addr)
            .await
            .expect("connect to the broker");
        // The server may refuse and close before reading all of an over-long request.
        let _ = stream.write_all(head).await;
        let mut received = Vec::new();
        let _ = tokio::time::timeout(deadline, async {
            let mut buf = [0u8; 4096];
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => received.extend_from_slice(&buf[..n]),
                }
            }
        })
        .await;
        received
    }

    /// `GET path` with `Connection: close` and extra header lines.
    pub fn get(path: &str, extra: &str) -> Vec<u8> {
        format!("GET {path} HTTP/1.1\r\nHost: 169.254.169.254\r\n{extra}Connection: close\r\n\r\n")
            .into_bytes()
    }

    /// The status code of a raw HTTP answer.
    pub fn status(answer: &[u8]) -> Option<u16> {
        let text = String::from_utf8_lossy(answer);
        let line = text.lines().next()?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    pub fn body(answer: &[u8]) -> String {
        let text = String::from_utf8_lossy(answer);
        text.split_once("\r\n\r\n")
            .map(|(_, body)| body.to_string())
            .unwrap_or_default()
    }
}

/// The Docker side's view of callers, as a table: each address names a container (with
/// its compose service and identity label) or is one the engine could not name; any
/// other address is no container.
#[derive(Default)]
pub struct KnownCallers {
    callers: Vec<(IpAddr, broker::CallerInfo)>,
}

impl KnownCallers {
    pub fn container(
        mut self,
        ip: &str,
        name: &str,
        service: Option<&str>,
        label: Option<&str>,
    ) -> KnownCallers {
        let info = broker::CallerInfo::Container {
            name: name.to_string(),
            facts: config::ContainerFacts {
                name: Some(name.to_string()),
                compose_service: service.map(str::to_string),
                identity_label: label.map(str::to_string),
            },
        };
        self.callers
            .push((ip.parse().expect("caller address"), info));
        self
    }

    pub fn unresolved(mut self, ip: &str, reason: &str) -> KnownCallers {
        let info = broker::CallerInfo::Unresolved {
            reason: reason.to_string(),
        };
        self.callers
            .push((ip.parse().expect("caller address"), info));
        self
    }
}

impl broker::CallerDirectory for KnownCallers {
    fn resolve(
        &self,
        ip: IpAddr,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = broker::CallerInfo> + Send + '_>> {
        let info = self
            .callers
            .iter()
            .find(|(known, _)| *known == ip)
            .map_or(broker::CallerInfo::NotAContainer, |(_, info)| info.clone());
        Box::pin(std::future::ready(info))
    }
}

/// A fault on every request under `path_prefix`, at any door.
pub fn fault(path_prefix: &str, kind: config::FaultKind) -> config::Fault {
    config::Fault {
        door: None,
        path_prefix: path_prefix.to_string(),
        probability: 1.0,
        kind,
    }
}
