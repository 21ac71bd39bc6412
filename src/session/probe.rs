//! Readiness: is the broker answering through the proxy? A request as an SDK sends it,
//! through hyper's client, judged by who answered: at IMDS `Server: EC2ws` is the broker;
//! at the doors, whose agents send no `Server`, the shape of the door's answer to a request
//! without an id or token (ECS: JSON; EKS: Go's plain text). Either way the proxy marks
//! the answers it makes itself (nginx answers its own errors in EC2's shape too,
//! docker/nginx.conf, and marks them only for a request carrying [`PROBE_HEADER`]).

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use http_body_util::Empty;
use hyper_util::rt::TokioIo;

use crate::config::Door;
use crate::docker::{self, DockerError, Engine};

/// What the probe asks IMDS for: a listing every configuration serves.
pub(super) const PROBE_PATH: &str = "/latest/meta-data/";
/// Asks the proxy to mark the answers nginx makes itself with [`ANSWERED_BY_HEADER`].
const PROBE_HEADER: &str = "x-imds-spoof-probe";
const ANSWERED_BY_HEADER: &str = "x-imds-spoof-answered-by";

/// What the probe asks a door for: its credentials path without an id (ECS) or token
/// (EKS), which the broker refuses in the door's own words before any credentials.
pub(super) fn probe_path(door: Door) -> &'static str {
    match door {
        Door::Imds => PROBE_PATH,
        Door::Ecs => crate::broker::doors::ECS_CREDENTIALS_PATH,
        Door::Eks => crate::broker::doors::EKS_PATH,
    }
}

/// What a probe request through the proxy got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub path: &'static str,
    pub status: u16,
    /// The answer came from the broker (`Server: EC2ws`), not from nginx itself.
    pub from_broker: bool,
    pub elapsed: Duration,
}

impl Probe {
    /// "GET /latest/meta-data/ -> 200 in 1.2 ms", saying why a 403 is still healthy.
    pub fn describe(&self) -> String {
        let why = if self.status == 403 {
            " (the host itself is refused unless [broker] allow_host = true)"
        } else {
            ""
        };
        format!(
            "GET {} -> {} in {:.1} ms{why}",
            self.path,
            self.status,
            self.elapsed.as_secs_f64() * 1000.0
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("cannot connect to the proxy at {0}: {1}")]
    Connect(SocketAddr, std::io::Error),
    #[error("the proxy accepted the probe but nothing answered")]
    Silent,
    #[error("unreadable answer from the proxy: {0}")]
    Garbled(String),
}

/// `GET /latest/meta-data/` to http://IP/ from this host, as an SDK would send it.
pub async fn probe_imds(ip: IpAddr, timeout: Duration) -> Result<Probe, ProbeError> {
    probe_door(Door::Imds, ip, None, timeout).await
}

/// [`probe_imds`] from the address `source` of this host (the network's gateway): the
/// source the host's own requests carry, which the broker knows as the host.
pub async fn probe_imds_from(
    ip: IpAddr,
    source: Option<IpAddr>,
    timeout: Duration,
) -> Result<Probe, ProbeError> {
    probe_door(Door::Imds, ip, source, timeout).await
}

/// The door's probe request ([`probe_path`]) to http://IP/, from `source` when given.
pub async fn probe_door(
    door: Door,
    ip: IpAddr,
    source: Option<IpAddr>,
    timeout: Duration,
) -> Result<Probe, ProbeError> {
    let path = probe_path(door);
    let started = Instant::now();
    let addr = SocketAddr::from((ip, 80));
    let stream = match tokio::time::timeout(timeout, connect_from(addr, source)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(err)) => return Err(ProbeError::Connect(addr, err)),
        Err(_) => {
            let err = std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out");
            return Err(ProbeError::Connect(addr, err));
        }
    };
    let exchange = async {
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        // The connection task ends with the exchange (the request asks to close).
        tokio::spawn(connection);
        let request = hyper::Request::get(path)
            .header(hyper::header::HOST, host_header(ip))
            .header(hyper::header::USER_AGENT, "imds-spoof-health")
            .header(hyper::header::CONNECTION, "close")
            .header(PROBE_HEADER, "1")
            .body(Empty::<bytes::Bytes>::new())
            .map_err(|err| ProbeError::Garbled(err.to_string()))?;
        Ok::<_, ProbeError>(sender.send_request(request).await?)
    };
    let response = match tokio::time::timeout(timeout, exchange).await {
        Ok(Ok(response)) => response,
        Ok(Err(err)) => return Err(err),
        Err(_) => return Err(ProbeError::Silent),
    };
    let from_broker = answered_by_broker(door, response.headers())
        && !response.headers().contains_key(ANSWERED_BY_HEADER);
    Ok(Probe {
        path,
        status: response.status().as_u16(),
        from_broker,
        elapsed: started.elapsed(),
    })
}

/// A TCP connection to `addr`, from `source` when given. An IPv6 gateway address the
/// kernel still holds as tentative (duplicate address detection, about a second after the
/// bridge comes up) cannot be bound yet: the caller tries again.
async fn connect_from(
    addr: SocketAddr,
    source: Option<IpAddr>,
) -> std::io::Result<tokio::net::TcpStream> {
    let Some(source) = source else {
        return tokio::net::TcpStream::connect(addr).await;
    };
    let socket = match source {
        IpAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        IpAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.bind(SocketAddr::from((source, 0)))?;
    socket.connect(addr).await
}

/// Did the broker answer (module documentation)? nginx's own pages are HTML.
fn answered_by_broker(door: Door, headers: &hyper::HeaderMap) -> bool {
    let header = |name: hyper::header::HeaderName| {
        headers
            .get(name)
            .map(|value| value.as_bytes())
            .unwrap_or_default()
    };
    match door {
        Door::Imds => header(hyper::header::SERVER) == crate::broker::SERVER.as_bytes(),
        Door::Ecs => header(hyper::header::CONTENT_TYPE) == b"application/json",
        Door::Eks => header(hyper::header::CONTENT_TYPE) == b"text/plain; charset=utf-8",
    }
}

/// The Host header an SDK sends for `ip`: IPv6 in brackets.
fn host_header(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

impl From<hyper::Error> for ProbeError {
    fn from(err: hyper::Error) -> Self {
        // A connection closed before any answer is the silence a hang fault produces.
        if err.is_incomplete_message() || err.is_closed() || err.is_canceled() {
            ProbeError::Silent
        } else {
            ProbeError::Garbled(err.to_string())
        }
    }
}

/// Waits until the broker answers through the proxy container `id` at each of its
/// addresses (or, on Docker Desktop where the host cannot reach container addresses, until
/// the container has been running for a moment). A target's `expect_silence`: the
/// configuration makes the broker hold that answer back (IMDS disabled, a hang fault), so
/// an accepted but unanswered probe counts as healthy.
pub(super) async fn wait_healthy(
    engine: &Engine,
    id: &str,
    targets: &[ProbeTarget],
    reachable_from_host: bool,
    timeout: Duration,
) -> Result<String, DockerError> {
    let deadline = Instant::now() + timeout;
    let mut answers = Vec::new();
    for target in targets {
        let wait = Wait {
            reachable_from_host,
            expect_silence: target.expect_silence,
            deadline,
            timeout,
        };
        let answer = wait_answer(engine, id, target, &wait).await?;
        answers.push(answer);
        if !reachable_from_host {
            break;
        }
    }
    Ok(answers.join("; "))
}

/// Where the readiness probe goes, and from which address of this host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ProbeTarget {
    pub door: Door,
    pub ip: IpAddr,
    pub source: Option<IpAddr>,
    /// The configuration makes the broker hold this answer back (see [`wait_healthy`]).
    pub expect_silence: bool,
}

/// How the readiness wait goes, for every address it probes.
struct Wait {
    reachable_from_host: bool,
    expect_silence: bool,
    deadline: Instant,
    timeout: Duration,
}

/// Waits until the broker answers through the proxy at one address.
async fn wait_answer(
    engine: &Engine,
    id: &str,
    target: &ProbeTarget,
    wait: &Wait,
) -> Result<String, DockerError> {
    let mut last: String;
    loop {
        if let Some(exit) = docker::container_exit(engine, id).await? {
            return Err(unhealthy(engine, id, format!("nginx exited ({exit})")).await);
        }
        if !wait.reachable_from_host {
            tokio::time::sleep(Duration::from_millis(500)).await;
            if docker::container_exit(engine, id).await?.is_none() {
                return Ok(
                    "running (not probed: the host cannot reach it, as with Docker Desktop or rootless Podman)"
                        .to_string(),
                );
            }
            continue;
        }
        let probe = probe_door(
            target.door,
            target.ip,
            target.source,
            Duration::from_millis(800),
        );
        match probe.await {
            Ok(probe) if probe.from_broker => {
                return Ok(format!(
                    "broker answered {} through the proxy at {}",
                    probe.status,
                    host_header(target.ip)
                ))
            }
            Ok(probe) => {
                last = format!(
                    "nginx answered {} itself: it cannot reach the broker (a firewall on this host dropping traffic from the bridge to the broker port?)",
                    probe.status
                )
            }
            Err(ProbeError::Silent) if wait.expect_silence => {
                return Ok("proxy accepts; the broker holds answers back as configured".to_string())
            }
            Err(err) => last = err.to_string(),
        }
        if Instant::now() >= wait.deadline {
            let reason = format!(
                "after {} s at {}: {last}",
                wait.timeout.as_secs(),
                host_header(target.ip)
            );
            return Err(unhealthy(engine, id, reason).await);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn unhealthy(engine: &Engine, id: &str, reason: String) -> DockerError {
    let logs = docker::container_log_tail(engine, id, 20).await;
    DockerError::ProxyUnhealthy {
        reason,
        logs: if logs.is_empty() {
            String::new()
        } else {
            format!("; nginx says:\n{logs}")
        },
    }
}
