//! The proxy container: nginx at the IMDS address, configured with our nginx.conf (uploaded
//! before start), checked healthy by asking the broker through it.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HostConfig, NetworkingConfig,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, InspectContainerOptions, LogsOptionsBuilder,
    RemoveContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::host::ProcessMark;
use super::{
    api, is_managed, run_labels, status_of, DockerError, Engine, LABEL_HOST, LABEL_PART, LABEL_PID,
    LABEL_RUN, PROXY_NAME,
};

const NGINX_TEMPLATE: &str = include_str!("../../docker/nginx.conf");

/// The labels identifying a run on its proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunLabels {
    pub run_id: String,
    pub process: ProcessMark,
}

/// Where nginx finds the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerRoute {
    /// An address nginx can reach: the network's gateway (Linux) or host.docker.internal.
    pub host: String,
    pub port: u16,
    /// Docker Desktop: add host.docker.internal:host-gateway to the container.
    pub via_host_gateway: bool,
}

/// Everything needed to create the proxy.
#[derive(Debug, Clone)]
pub struct ProxySpec {
    pub image: String,
    pub network: String,
    pub proxy_ip: Ipv4Addr,
    pub route: BrokerRoute,
    pub secret: String,
    pub labels: RunLabels,
}

/// The nginx.conf for this run. The values are ours (addresses, a hex secret), never user
/// text, so plain substitution cannot break the config's syntax.
pub fn render_nginx_conf(broker_host: &str, broker_port: u16, secret: &str) -> String {
    NGINX_TEMPLATE
        .replace("{{BROKER_HOST}}", broker_host)
        .replace("{{BROKER_PORT}}", &broker_port.to_string())
        .replace("{{PROXY_SECRET}}", secret)
}

/// A proxy container found on the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyLeftover {
    pub id: String,
    pub managed: bool,
    pub run_id: Option<String>,
    pub process: Option<ProcessMark>,
    pub running: bool,
    pub image: String,
}

impl ProxyLeftover {
    /// A proxy whose run's process is gone: safe to clear.
    pub fn orphaned(&self) -> bool {
        self.managed && !self.process.as_ref().is_some_and(ProcessMark::alive)
    }
}

/// The container named imds-spoof-proxy, if any.
pub async fn find_proxy(engine: &Engine) -> Result<Option<ProxyLeftover>, DockerError> {
    let inspect = match engine
        .docker
        .inspect_container(PROXY_NAME, None::<InspectContainerOptions>)
        .await
    {
        Ok(inspect) => inspect,
        Err(err) if status_of(&err) == Some(404) => return Ok(None),
        Err(err) => return Err(api(format!("inspecting {PROXY_NAME}"))(err)),
    };
    let config = inspect.config.unwrap_or_default();
    let labels = config.labels.unwrap_or_default();
    let host = labels.get(LABEL_HOST).cloned().unwrap_or_default();
    Ok(Some(ProxyLeftover {
        id: inspect.id.unwrap_or_default(),
        managed: is_managed(Some(&labels)),
        run_id: labels.get(LABEL_RUN).cloned(),
        process: labels
            .get(LABEL_PID)
            .and_then(|pid| ProcessMark::parse_label(pid, &host)),
        running: inspect
            .state
            .and_then(|state| state.running)
            .unwrap_or(false),
        image: config.image.unwrap_or_default(),
    }))
}

/// Creates the proxy, uploads its configuration and starts it. Returns the container id.
/// On failure nothing is left behind.
pub async fn start_proxy(engine: &Engine, spec: &ProxySpec) -> Result<String, DockerError> {
    let mut labels = run_labels(&spec.labels.run_id);
    labels.insert(LABEL_PART.to_string(), "proxy".to_string());
    labels.insert(LABEL_PID.to_string(), spec.labels.process.label());
    labels.insert(LABEL_HOST.to_string(), spec.labels.process.host.clone());
    let endpoint = EndpointSettings {
        ipam_config: Some(EndpointIpamConfig {
            ipv4_address: Some(spec.proxy_ip.to_string()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let body = ContainerCreateBody {
        image: Some(spec.image.clone()),
        hostname: Some(PROXY_NAME.to_string()),
        labels: Some(labels),
        host_config: Some(HostConfig {
            network_mode: Some(spec.network.clone()),
            extra_hosts: spec
                .route
                .via_host_gateway
                .then(|| vec!["host.docker.internal:host-gateway".to_string()]),
            ..Default::default()
        }),
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some(HashMap::from([(spec.network.clone(), endpoint)])),
        }),
        ..Default::default()
    };
    let options = CreateContainerOptionsBuilder::default()
        .name(PROXY_NAME)
        .build();
    let created = match engine.docker.create_container(Some(options), body).await {
        Ok(created) => created,
        Err(err) if status_of(&err) == Some(409) => {
            return Err(DockerError::ProxyNameTaken {
                name: PROXY_NAME.to_string(),
            })
        }
        Err(err) => return Err(api(format!("creating {PROXY_NAME}"))(err)),
    };
    let id = created.id;
    let result = configure_and_start(engine, &id, spec).await;
    if result.is_err() {
        let _ = remove_proxy(engine, &id).await;
    }
    result.map(|()| id)
}

async fn configure_and_start(
    engine: &Engine,
    id: &str,
    spec: &ProxySpec,
) -> Result<(), DockerError> {
    let conf = render_nginx_conf(&spec.route.host, spec.route.port, &spec.secret);
    let archive = tar_one_file("nginx.conf", conf.as_bytes(), 0o644);
    let options = UploadToContainerOptionsBuilder::default()
        .path("/etc/nginx")
        .build();
    engine
        .docker
        .upload_to_container(id, Some(options), bollard::body_full(archive.into()))
        .await
        .map_err(api(format!(
            "uploading nginx.conf into {PROXY_NAME} (does {} have /etc/nginx?)",
            spec.image
        )))?;
    match engine.docker.start_container(id, None).await {
        Ok(()) => Ok(()),
        Err(err) if err.to_string().contains("ddress already in use") => {
            Err(DockerError::AddressTaken {
                ip: spec.proxy_ip.to_string(),
                network: spec.network.clone(),
                holder: holder_of(engine, &spec.network, spec.proxy_ip)
                    .await
                    .unwrap_or_else(|| "(unknown)".to_string()),
            })
        }
        Err(err) => Err(api(format!("starting {PROXY_NAME}"))(err)),
    }
}

/// The container that holds `ip` on `network`.
async fn holder_of(engine: &Engine, network: &str, ip: Ipv4Addr) -> Option<String> {
    let network = super::find_network(engine, network).await.ok()??;
    network.containers?.into_values().find_map(|endpoint| {
        let address = endpoint.ipv4_address?;
        (address.split('/').next()? == ip.to_string()).then_some(endpoint.name?)
    })
}

/// Removes the proxy container (stopping it first if needed). A missing one is fine.
pub async fn remove_proxy(engine: &Engine, id_or_name: &str) -> Result<(), DockerError> {
    let options = RemoveContainerOptionsBuilder::default().force(true).build();
    match engine
        .docker
        .remove_container(id_or_name, Some(options))
        .await
    {
        Ok(()) => Ok(()),
        Err(err) if matches!(status_of(&err), Some(404) | Some(409)) => Ok(()),
        Err(err) => Err(api(format!("removing {PROXY_NAME}"))(err)),
    }
}

/// Waits until the broker answers through the proxy (or, on Docker Desktop where the host
/// cannot reach container addresses, until the container has been running for a moment).
/// `expect_silence`: the configuration makes the broker hold answers back (IMDS disabled,
/// a hang fault), so an accepted but unanswered probe counts as healthy.
pub async fn wait_healthy(
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
        if let Some(exit) = exited(engine, id).await? {
            return Err(DockerError::ProxyUnhealthy {
                reason: format!("nginx exited ({exit})"),
                logs: tail_logs(engine, id).await,
            });
        }
        if !reachable_from_host {
            tokio::time::sleep(Duration::from_millis(500)).await;
            if exited(engine, id).await?.is_none() {
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
            return Err(DockerError::ProxyUnhealthy {
                reason: format!("after {} s: {last}", timeout.as_secs()),
                logs: tail_logs(engine, id).await,
            });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The container's exit description if it is no longer running.
async fn exited(engine: &Engine, id: &str) -> Result<Option<String>, DockerError> {
    let inspect = engine
        .docker
        .inspect_container(id, None::<InspectContainerOptions>)
        .await
        .map_err(api(format!("inspecting {PROXY_NAME}")))?;
    let state = inspect.state.unwrap_or_default();
    if state.running.unwrap_or(false) {
        return Ok(None);
    }
    Ok(Some(format!(
        "status {}, exit code {}",
        state
            .status
            .map(|status| status.to_string())
            .unwrap_or_default(),
        state.exit_code.unwrap_or_default()
    )))
}

async fn tail_logs(engine: &Engine, id: &str) -> String {
    let options = LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .tail("20")
        .build();
    let mut stream = engine.docker.logs(id, Some(options));
    let mut text = String::new();
    while let Some(Ok(chunk)) = stream.next().await {
        text.push_str(&chunk.to_string());
    }
    let text = text.trim();
    if text.is_empty() {
        String::new()
    } else {
        format!("; nginx says:\n{text}")
    }
}

/// What a probe request through the proxy got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub status: u16,
    /// The answer came from the broker (`Server: EC2ws`), not from nginx itself.
    pub from_broker: bool,
    pub elapsed: Duration,
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
    let connect = tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await;
    let mut stream = match connect {
        Ok(Ok(stream)) => stream,
        Ok(Err(err)) => return Err(ProbeError::Connect(addr, err)),
        Err(_) => {
            let err = std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out");
            return Err(ProbeError::Connect(addr, err));
        }
    };
    let request = format!(
        "GET /latest/meta-data/ HTTP/1.1\r\nHost: {ip}\r\nUser-Agent: imds-spoof-health\r\nConnection: close\r\n\r\n"
    );
    let exchange = async {
        stream.write_all(request.as_bytes()).await?;
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        Ok::<_, std::io::Error>(head)
    };
    let head = match tokio::time::timeout(timeout, exchange).await {
        Ok(Ok(head)) if !head.is_empty() => head,
        Ok(Ok(_)) | Err(_) => return Err(ProbeError::Silent),
        Ok(Err(err)) => return Err(ProbeError::Garbled(err.to_string())),
    };
    let head = String::from_utf8_lossy(&head);
    let status = head
        .lines()
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| ProbeError::Garbled(head.lines().next().unwrap_or("").to_string()))?;
    let from_broker = head.lines().any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.eq_ignore_ascii_case("server") && value.trim() == crate::broker::SERVER
        })
    });
    Ok(Probe {
        status,
        from_broker,
        elapsed: started.elapsed(),
    })
}

/// A POSIX tar archive holding one regular file (what the archive upload API takes).
fn tar_one_file(name: &str, content: &[u8], mode: u32) -> Vec<u8> {
    let mut header = [0u8; 512];
    let put = |header: &mut [u8; 512], at: usize, bytes: &[u8]| {
        header[at..at + bytes.len()].copy_from_slice(bytes);
    };
    put(&mut header, 0, name.as_bytes());
    put(&mut header, 100, format!("{mode:07o}\0").as_bytes());
    put(&mut header, 108, b"0000000\0");
    put(&mut header, 116, b"0000000\0");
    put(
        &mut header,
        124,
        format!("{:011o}\0", content.len()).as_bytes(),
    );
    let mtime = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    put(&mut header, 136, format!("{mtime:011o}\0").as_bytes());
    put(&mut header, 148, b"        ");
    header[156] = b'0';
    put(&mut header, 257, b"ustar\0");
    put(&mut header, 263, b"00");
    put(&mut header, 265, b"root");
    put(&mut header, 297, b"root");
    let checksum: u32 = header.iter().map(|b| u32::from(*b)).sum();
    put(&mut header, 148, format!("{checksum:06o}\0 ").as_bytes());
    let mut archive = header.to_vec();
    archive.extend_from_slice(content);
    archive.resize(archive.len().div_ceil(512) * 512, 0);
    archive.extend_from_slice(&[0u8; 1024]);
    archive
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_is_rendered_completely() {
        let conf = render_nginx_conf("169.254.0.1", 1338, "abc123");
        assert!(conf.contains("server 169.254.0.1:1338;"));
        assert!(conf.contains("X-Imds-Spoof-Secret \"abc123\""));
        assert!(!conf.contains("{{"), "unrendered placeholder left");
    }

    #[test]
    fn tar_is_readable_by_tar() {
        let archive = tar_one_file("nginx.conf", b"hello\n", 0o644);
        assert_eq!(archive.len() % 512, 0);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.tar");
        std::fs::write(&path, &archive).unwrap();
        let out = std::process::Command::new("tar")
            .arg("-xf")
            .arg(&path)
            .arg("-C")
            .arg(dir.path())
            .output();
        let Ok(out) = out else {
            eprintln!("skipped: no tar program");
            return;
        };
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            std::fs::read(dir.path().join("nginx.conf")).unwrap(),
            b"hello\n"
        );
    }
}
