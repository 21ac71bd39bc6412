//! The proxy containers: nginx at the IMDS address and at each door's (doors.rs),
//! configured with our nginx.conf (uploaded before start), with the broker's socket
//! directory mounted (local Linux engine), checked healthy by asking the broker through it.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::path::PathBuf;

use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HostConfig, NetworkingConfig,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, InspectContainerOptions, LogsOptionsBuilder,
    RemoveContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};
use futures_util::StreamExt;

use super::doors::{door_of_name, ProxyEndpoint};
use super::host::ProcessMark;
use super::{
    api, is_managed, run_labels, status_of, DockerError, Engine, LABEL_DOOR, LABEL_HOST,
    LABEL_PART, LABEL_PID, LABEL_RUN,
};
use crate::config::Door;

const NGINX_TEMPLATE: &str = include_str!("../../docker/nginx.conf");

/// The labels identifying a run on its proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunLabels {
    pub run_id: String,
    pub process: ProcessMark,
}

/// Where the run's socket directory appears inside the proxy container.
pub const PROXY_SOCKET_DIR: &str = "/run/imds-spoof";
/// The broker's socket in that directory.
pub const BROKER_SOCKET_NAME: &str = "broker.sock";

/// Where nginx finds the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokerRoute {
    /// A unix socket in `dir` on this host, which is bind-mounted into the proxy at
    /// [`PROXY_SOCKET_DIR`]: the proxy→broker leg never touches the bridge, where other
    /// containers could capture it (local Linux engine).
    Unix { dir: PathBuf },
    /// TCP to an address nginx can reach: host.docker.internal (Docker Desktop).
    Tcp {
        host: String,
        port: u16,
        /// Docker Desktop: add host.docker.internal:host-gateway to the container.
        via_host_gateway: bool,
    },
}

impl BrokerRoute {
    /// nginx's `server` target for the broker upstream.
    pub fn upstream(&self) -> String {
        match self {
            BrokerRoute::Unix { .. } => format!("unix:{PROXY_SOCKET_DIR}/{BROKER_SOCKET_NAME}"),
            BrokerRoute::Tcp { host, port, .. } => format!("{host}:{port}"),
        }
    }

    /// Can this host reach the proxy's address (no VM in between)?
    pub fn reachable_from_host(&self) -> bool {
        !matches!(
            self,
            BrokerRoute::Tcp {
                via_host_gateway: true,
                ..
            }
        )
    }
}

/// Everything needed to create one proxy container.
#[derive(Debug, Clone)]
pub struct ProxySpec {
    pub image: String,
    pub network: String,
    /// Which door, under which name, at which addresses.
    pub endpoint: ProxyEndpoint,
    pub route: BrokerRoute,
    pub secret: String,
    pub labels: RunLabels,
}

/// The nginx.conf for this run, `upstream` being the broker's `server` target
/// ([`BrokerRoute::upstream`]), `ipv6` the IPv6 address to answer on as well. The values
/// are ours (addresses or our socket path, a hex secret), never user text, so plain
/// substitution cannot break the config's syntax.
pub fn render_nginx_conf(upstream: &str, secret: &str, ipv6: Option<Ipv6Addr>) -> String {
    let listen_ipv6 = match ipv6 {
        Some(ip) => format!("listen [{ip}]:80 default_server;"),
        None => "# IPv6 off".to_string(),
    };
    NGINX_TEMPLATE
        .replace("{{BROKER_SERVER}}", upstream)
        .replace("{{PROXY_SECRET}}", secret)
        .replace("{{LISTEN_IPV6}}", &listen_ipv6)
}

/// A proxy container found on the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyLeftover {
    pub id: String,
    /// Its container name (one of [`super::PROXY_NAMES`]).
    pub name: String,
    /// The door it serves (its label; else its name).
    pub door: Option<Door>,
    pub managed: bool,
    pub run_id: Option<String>,
    pub process: Option<ProcessMark>,
    pub running: bool,
    pub image: String,
    /// The broker's socket on this host, from the proxy's bind mount (None when the proxy
    /// reaches the broker over TCP: Docker Desktop).
    pub broker_socket: Option<PathBuf>,
}

impl ProxyLeftover {
    /// A proxy whose run's process is gone: safe to clear.
    pub fn orphaned(&self) -> bool {
        self.managed && !self.process.as_ref().is_some_and(ProcessMark::alive)
    }
}

/// The proxy container called `name` (imds-spoof-proxy, -ecs, -eks), if any.
pub async fn find_proxy(engine: &Engine, name: &str) -> Result<Option<ProxyLeftover>, DockerError> {
    let inspect = match engine
        .docker
        .inspect_container(name, None::<InspectContainerOptions>)
        .await
    {
        Ok(inspect) => inspect,
        Err(err) if status_of(&err) == Some(404) => return Ok(None),
        Err(err) => return Err(api(format!("inspecting {name}"))(err)),
    };
    let config = inspect.config.unwrap_or_default();
    let broker_socket = inspect
        .mounts
        .unwrap_or_default()
        .into_iter()
        .find_map(|mount| {
            let source = mount.source?;
            (mount.destination.as_deref() == Some(PROXY_SOCKET_DIR))
                .then(|| PathBuf::from(source).join(BROKER_SOCKET_NAME))
        });
    let labels = config.labels.unwrap_or_default();
    let host = labels.get(LABEL_HOST).cloned().unwrap_or_default();
    let door = match labels.get(LABEL_DOOR).map(String::as_str) {
        Some("imds") => Some(Door::Imds),
        Some("ecs") => Some(Door::Ecs),
        Some("eks") => Some(Door::Eks),
        _ => door_of_name(name),
    };
    Ok(Some(ProxyLeftover {
        id: inspect.id.unwrap_or_default(),
        name: name.to_string(),
        door,
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
        broker_socket,
    }))
}

/// Creates the proxy, uploads its configuration and starts it. Returns the container id.
/// On failure nothing is left behind.
pub async fn start_proxy(engine: &Engine, spec: &ProxySpec) -> Result<String, DockerError> {
    let mut labels = run_labels(&spec.labels.run_id);
    labels.insert(LABEL_PART.to_string(), "proxy".to_string());
    labels.insert(LABEL_PID.to_string(), spec.labels.process.label());
    labels.insert(LABEL_HOST.to_string(), spec.labels.process.host.clone());
    labels.insert(
        LABEL_DOOR.to_string(),
        spec.endpoint.door.as_str().to_string(),
    );
    let name = spec.endpoint.name;
    let endpoint = EndpointSettings {
        ipam_config: Some(EndpointIpamConfig {
            ipv4_address: Some(spec.endpoint.ipv4.to_string()),
            ipv6_address: spec.endpoint.ipv6.map(|ip| ip.to_string()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let body = ContainerCreateBody {
        image: Some(spec.image.clone()),
        hostname: Some(name.to_string()),
        labels: Some(labels),
        host_config: Some(HostConfig {
            network_mode: Some(spec.network.clone()),
            extra_hosts: matches!(
                spec.route,
                BrokerRoute::Tcp {
                    via_host_gateway: true,
                    ..
                }
            )
            .then(|| vec!["host.docker.internal:host-gateway".to_string()]),
            binds: match &spec.route {
                // Read-write: connecting to a unix socket needs write access to it.
                BrokerRoute::Unix { dir } => {
                    Some(vec![format!("{}:{PROXY_SOCKET_DIR}", dir.display())])
                }
                BrokerRoute::Tcp { .. } => None,
            },
            ..Default::default()
        }),
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some(HashMap::from([(spec.network.clone(), endpoint)])),
        }),
        ..Default::default()
    };
    let options = CreateContainerOptionsBuilder::default().name(name).build();
    let created = match engine.docker.create_container(Some(options), body).await {
        Ok(created) => created,
        Err(err) if status_of(&err) == Some(409) => {
            return Err(DockerError::ProxyNameTaken {
                name: name.to_string(),
            })
        }
        Err(err) => return Err(api(format!("creating {name}"))(err)),
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
    let name = spec.endpoint.name;
    let conf = render_nginx_conf(&spec.route.upstream(), &spec.secret, spec.endpoint.ipv6);
    let archive = tar_one_file("nginx.conf", conf.as_bytes(), 0o644)
        .map_err(|err| DockerError::Archive(err.to_string()))?;
    let options = UploadToContainerOptionsBuilder::default()
        .path("/etc/nginx")
        .build();
    engine
        .docker
        .upload_to_container(id, Some(options), bollard::body_full(archive.into()))
        .await
        .map_err(api(format!(
            "uploading nginx.conf into {name} (does {} have /etc/nginx?)",
            spec.image
        )))?;
    match engine.docker.start_container(id, None).await {
        Ok(()) => Ok(()),
        Err(err) if err.to_string().contains("ddress already in use") => {
            let mut wanted = vec![IpAddr::V4(spec.endpoint.ipv4)];
            wanted.extend(spec.endpoint.ipv6.map(IpAddr::V6));
            let (ip, holder) = match holder_of(engine, &spec.network, &wanted).await {
                Some((ip, holder)) => (ip, holder),
                None => (wanted[0], "(unknown)".to_string()),
            };
            Err(DockerError::AddressTaken {
                ip: ip.to_string(),
                network: spec.network.clone(),
                holder,
            })
        }
        Err(err) => Err(api(format!("starting {name}"))(err)),
    }
}

/// The container that holds one of `wanted` on `network`, with that address.
async fn holder_of(engine: &Engine, network: &str, wanted: &[IpAddr]) -> Option<(IpAddr, String)> {
    let network = super::net::inspect_network(engine, network).await.ok()??;
    network.containers?.into_values().find_map(|endpoint| {
        let held = [&endpoint.ipv4_address, &endpoint.ipv6_address]
            .into_iter()
            .flatten()
            .filter_map(|address| address.split('/').next()?.parse::<IpAddr>().ok())
            .find(|ip| wanted.contains(ip))?;
        Some((held, endpoint.name?))
    })
}

/// Removes a proxy container (stopping it first if needed). A missing one is fine.
pub async fn remove_proxy(engine: &Engine, id_or_name: &str) -> Result<(), DockerError> {
    let options = RemoveContainerOptionsBuilder::default().force(true).build();
    match engine
        .docker
        .remove_container(id_or_name, Some(options))
        .await
    {
        Ok(()) => Ok(()),
        Err(err) if matches!(status_of(&err), Some(404) | Some(409)) => Ok(()),
        Err(err) => Err(api(format!("removing {id_or_name}"))(err)),
    }
}

/// The container's exit description if it is no longer running.
pub async fn container_exit(engine: &Engine, id: &str) -> Result<Option<String>, DockerError> {
    let inspect = engine
        .docker
        .inspect_container(id, None::<InspectContainerOptions>)
        .await
        .map_err(api(format!("inspecting {id}")))?;
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

/// The last `lines` lines a container printed (stdout and stderr), trimmed; empty when
/// there are none or the engine will not say.
pub async fn container_log_tail(engine: &Engine, id: &str, lines: usize) -> String {
    let options = LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .tail(&lines.to_string())
        .build();
    let mut stream = engine.docker.logs(id, Some(options));
    let mut text = String::new();
    while let Some(Ok(chunk)) = stream.next().await {
        text.push_str(&chunk.to_string());
    }
    text.trim().to_string()
}

/// A tar archive holding one regular file (what the archive upload API takes).
fn tar_one_file(name: &str, content: &[u8], mode: u32) -> std::io::Result<Vec<u8>> {
    let mut header = tar::Header::new_ustar();
    header.set_size(content.len() as u64);
    header.set_mode(mode);
    header.set_uid(0);
    header.set_gid(0);
    header.set_entry_type(tar::EntryType::Regular);
    let mtime = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    header.set_mtime(mtime);
    let mut archive = tar::Builder::new(Vec::new());
    archive.append_data(&mut header, name, content)?;
    archive.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_is_rendered_completely() {
        let unix = BrokerRoute::Unix {
            dir: PathBuf::from("/run/user/1000/imds-spoof/run-1"),
        };
        let conf = render_nginx_conf(&unix.upstream(), "abc123", None);
        assert!(conf.contains("server unix:/run/imds-spoof/broker.sock;"));
        assert!(conf.contains("X-Imds-Spoof-Secret \"abc123\""));
        assert!(!conf.contains("{{"), "unrendered placeholder left");
        let listens_on_ipv6 = |conf: &str| conf.lines().any(|l| l.trim().starts_with("listen ["));
        assert!(!listens_on_ipv6(&conf), "no IPv6 listener unless asked");
        let ipv6 = render_nginx_conf(&unix.upstream(), "abc123", Some(super::super::IMDS_IPV6));
        assert!(ipv6.contains("        listen [fd00:ec2::254]:80 default_server;\n"));
        assert!(listens_on_ipv6(&ipv6));
        assert!(!ipv6.contains("{{"), "unrendered placeholder left");
        let desktop = BrokerRoute::Tcp {
            host: "host.docker.internal".to_string(),
            port: 1338,
            via_host_gateway: true,
        };
        let conf = render_nginx_conf(&desktop.upstream(), "abc123", None);
        assert!(conf.contains("server host.docker.internal:1338;"));
    }

    #[test]
    fn tar_is_readable_by_tar() {
        let archive = tar_one_file("nginx.conf", b"hello\n", 0o644).unwrap();
        assert_eq!(archive.len() % 512, 0);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.tar");
        std::fs::write(&path, &archive).unwrap();
        let out = std::process::Command::new("tar")
            .arg("-xf")
            .arg(&path)
            .arg("-C")
            .arg(dir.path())
            .output()
            .expect("tar (Debian essential) runs");
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
