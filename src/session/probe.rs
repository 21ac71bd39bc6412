//! Readiness: is the broker answering through the proxy? A request as an SDK sends it,
//! through hyper's client, judged by who answered (`Server: EC2ws` is the broker; anything
//! else is nginx speaking for itself).

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use http_body_util::Empty;
use hyper_util::rt::TokioIo;

use crate::docker::{self, DockerError, Engine};

/// What the probe asks for: a listing every configuration serves.
pub(super) const PROBE_PATH: &str = "/latest/meta-data/";

/// What a probe request through the proxy got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
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
            "GET {PROBE_PATH} -> {} in {:.1} ms{why}",
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
pub async fn probe_imds(ip: Ipv4Addr, timeout: Duration) -> Result<Probe, ProbeError> {
    let started = Instant::now();
    let addr = SocketAddr::from((ip, 80));
    let stream = match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
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
        let request = hyper::Request::get(PROBE_PATH)
            .header(hyper::header::HOST, ip.to_string())
            .header(hyper::header::USER_AGENT, "imds-spoof-health")
            .header(hyper::header::CONNECTION, "close")
            .body(Empty::<bytes::Bytes>::new())
            .map_err(|err| ProbeError::Garbled(err.to_string()))?;
        Ok::<_, ProbeError>(sender.send_request(request).await?)
    };
    let response = match tokio::time::timeout(timeout, exchange).await {
        Ok(Ok(response)) => response,
        Ok(Err(err)) => return Err(err),
        Err(_) => return Err(ProbeError::Silent),
    };
    let from_broker = response
        .headers()
        .get(hyper::header::SERVER)
        .is_some_and(|server| server.as_bytes() == crate::broker::SERVER.as_bytes());
    Ok(Probe {
        status: response.status().as_u16(),
        from_broker,
        elapsed: started.elapsed(),
    })
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

/// Waits until the broker answers through the proxy (or, on Docker Desktop where the host
/// cannot reach container addresses, until the container has been running for a moment).
/// `expect_silence`: the configuration makes the broker hold answers back (IMDS disabled,
/// a hang fault), so an accepted but unanswered probe counts as healthy.
pub(super) async fn wait_healthy(
    engine: &Engine,
    id: &str,
    proxy_ip: Ipv4Addr,
    reachable_from_host: bool,
    expect_silence: bool,
    timeout: Duration,
) -> Result<String, DockerError> {
    let deadline = Instant::now() + timeout;
    let mut last: String;
    loop {
        if let Some(exit) = docker::container_exit(engine, id).await? {
            return Err(unhealthy(engine, id, format!("nginx exited ({exit})")).await);
        }
        if !reachable_from_host {
            tokio::time::sleep(Duration::from_millis(500)).await;
            if docker::container_exit(engine, id).await?.is_none() {
                return Ok("running (Docker Desktop: not probed from the host)".to_string());
            }
            continue;
        }
        match probe_imds(proxy_ip, Duration::from_millis(800)).await {
            Ok(probe) if probe.from_broker => {
                return Ok(format!("broker answered {} through the proxy", probe.status))
            }
            Ok(probe) => {
                last = format!(
                    "nginx answered {} itself: it cannot reach the broker (a firewall on this host dropping traffic from the bridge to the broker port?)",
                    probe.status
                )
            }
            Err(ProbeError::Silent) if expect_silence => {
                return Ok("proxy accepts; the broker holds answers back as configured".to_string())
            }
            Err(err) => last = err.to_string(),
        }
        if Instant::now() >= deadline {
            let reason = format!("after {} s: {last}", timeout.as_secs());
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
