//! Reaching the engine: DOCKER_HOST or the default socket, API version negotiation, and
//! errors that say whether Docker is off, unreachable or forbidden to us.

use std::io::ErrorKind;
use std::time::Duration;

use bollard::{Docker, API_DEFAULT_VERSION};

use super::DockerError;

const DEFAULT_SOCKET: &str = "/var/run/docker.sock";
/// Per-request limit inside bollard (seconds). Pulls stream for longer; only the wait for
/// response headers counts.
const REQUEST_TIMEOUT_S: u64 = 120;
/// How long the first exchange may take before we call the engine stuck.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Podman's API socket of a rootless user, under `XDG_RUNTIME_DIR`.
const PODMAN_ROOTLESS_SOCKET: &str = "podman/podman.sock";
/// Podman's API socket when it runs as root.
const PODMAN_ROOTFUL_SOCKET: &str = "/run/podman/podman.sock";

/// Which engine answers: Docker, or Podman through its Docker-compatible API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    Docker,
    Podman { rootless: bool },
}

/// How the engine was found, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    DockerHost,
    ContainerHost,
    Configured,
    DockerSocket,
    PodmanRootlessSocket,
    PodmanRootfulSocket,
}

impl Found {
    pub fn describe(self) -> &'static str {
        match self {
            Found::DockerHost => "DOCKER_HOST",
            Found::ContainerHost => "CONTAINER_HOST",
            Found::Configured => "[engine] socket",
            Found::DockerSocket => "Docker's socket",
            Found::PodmanRootlessSocket => "Podman's rootless socket",
            Found::PodmanRootfulSocket => "Podman's rootful socket",
        }
    }

    fn is_environment(self) -> bool {
        matches!(
            self,
            Found::DockerHost | Found::ContainerHost | Found::Configured
        )
    }
}

/// A connected engine and what we learnt about it.
#[derive(Clone)]
pub struct Engine {
    /// Private to this layer: everything above talks to the engine through `docker::`.
    pub(super) docker: Docker,
    /// Where we connected, as the user would write it (for messages).
    pub host: String,
    pub found: Found,
    pub kind: EngineKind,
    /// Docker Desktop runs containers in a VM: no route from containers to the host's bridge
    /// addresses, so the broker listens on loopback and nginx uses host.docker.internal.
    pub desktop: bool,
    pub server_version: String,
    pub operating_system: String,
    /// The kernel the engine runs containers on (`info`).
    pub kernel_version: String,
}

impl Engine {
    /// The engine's name, version and mode, as messages say it:
    /// `Podman 4.3.1 (rootless)`, `Docker 27.3.1 (Debian GNU/Linux 12)`.
    /// The engine, where it answers and how it was found: `Podman 4.3.1 (rootful) at
    /// unix:///run/podman/podman.sock (found through DOCKER_HOST)`.
    pub fn whereabouts(&self) -> String {
        format!(
            "{} at {} (found through {})",
            self.describe(),
            self.host,
            self.found.describe()
        )
    }

    pub fn describe(&self) -> String {
        match self.kind {
            EngineKind::Docker => {
                format!("Docker {} ({})", self.server_version, self.operating_system)
            }
            EngineKind::Podman { rootless } => format!(
                "Podman {} ({})",
                self.server_version,
                if rootless { "rootless" } else { "rootful" }
            ),
        }
    }

    /// The engine runs containers on this machine's kernel, reached through a unix socket:
    /// a socket of ours can be mounted into its containers, whatever its bridge looks like
    /// yet (Podman makes the bridge only when the first container starts).
    pub fn is_local(&self) -> bool {
        let unix = self.host.starts_with("unix://") || self.host.starts_with('/');
        let ours = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|release| release.trim() == self.kernel_version.trim())
            .unwrap_or(false);
        unix && ours && !self.desktop
    }

    /// Podman, rootful or rootless, behind its compatible API.
    pub fn is_podman(&self) -> bool {
        matches!(self.kind, EngineKind::Podman { .. })
    }

    /// The engine's bridge is on this machine's network (so the host reaches the proxies'
    /// addresses): not with rootless Podman, whose networks live in the user's own
    /// network namespace.
    pub fn bridge_on_host(&self) -> bool {
        !matches!(self.kind, EngineKind::Podman { rootless: true })
    }

    /// The name a container of this engine reaches the host by, and whether it must be
    /// added to the container (`host-gateway`) or the engine provides it.
    pub fn host_alias(&self) -> (&'static str, bool) {
        match self.kind {
            EngineKind::Docker => ("host.docker.internal", true),
            EngineKind::Podman { .. } => ("host.containers.internal", false),
        }
    }
}

/// `[engine] socket`, set once the configuration is read (the engine is chosen for the
/// whole process, as `DOCKER_HOST` chooses it).
static PREFERRED: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Uses `socket` (`[engine] socket`) when the environment names no engine. The first
/// call wins.
pub fn prefer_socket(socket: Option<&str>) {
    if let Some(socket) = socket.map(str::trim).filter(|socket| !socket.is_empty()) {
        let _ = PREFERRED.set(socket.to_string());
    }
}

/// Where to look for the engine, in order: DOCKER_HOST, CONTAINER_HOST, `[engine] socket`,
/// then the first socket that exists of Docker's, Podman's rootless and Podman's rootful;
/// Docker's when none does (the error then says so).
fn locate() -> (String, Found) {
    let env = |name: &str| {
        std::env::var(name)
            .ok()
            .filter(|host| !host.trim().is_empty())
    };
    if let Some(host) = env("DOCKER_HOST") {
        return (host, Found::DockerHost);
    }
    if let Some(host) = env("CONTAINER_HOST") {
        return (host, Found::ContainerHost);
    }
    if let Some(socket) = PREFERRED.get() {
        return (socket.clone(), Found::Configured);
    }
    let rootless = std::env::var_os("XDG_RUNTIME_DIR")
        .map(|dir| std::path::Path::new(&dir).join(PODMAN_ROOTLESS_SOCKET));
    let sockets = [
        (
            Some(std::path::PathBuf::from(DEFAULT_SOCKET)),
            Found::DockerSocket,
        ),
        (rootless, Found::PodmanRootlessSocket),
        (
            Some(std::path::PathBuf::from(PODMAN_ROOTFUL_SOCKET)),
            Found::PodmanRootfulSocket,
        ),
    ];
    for (path, found) in sockets {
        if let Some(path) = path.filter(|path| path.exists()) {
            return (format!("unix://{}", path.display()), found);
        }
    }
    (format!("unix://{DEFAULT_SOCKET}"), Found::DockerSocket)
}

/// Connects to the engine [`locate`] finds and checks it answers.
pub async fn connect() -> Result<Engine, DockerError> {
    let (host, found) = locate();
    let from_env = found.is_environment();
    let docker = open(&host, from_env)?;
    let docker = match tokio::time::timeout(HANDSHAKE_TIMEOUT, docker.negotiate_version()).await {
        Ok(Ok(docker)) => docker,
        Ok(Err(err)) => return Err(classify(&host, err, from_env)),
        Err(_) => {
            return Err(DockerError::Timeout {
                what: format!("version handshake with {host}"),
                seconds: HANDSHAKE_TIMEOUT.as_secs(),
            })
        }
    };
    // `info` tells Docker Desktop apart; an engine whose info we cannot read is treated as
    // a plain Linux engine (the usual case), which the health check then verifies.
    let mut rootless = false;
    let (operating_system, server_version, kernel_version) =
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, docker.info()).await {
            Ok(Ok(info)) => {
                // Docker says so in its security options; Podman 4's compatible API does
                // not, but a rootless Podman keeps its storage in the user's home.
                rootless = info
                    .security_options
                    .iter()
                    .flatten()
                    .any(|option| option.contains("rootless"))
                    || info
                        .docker_root_dir
                        .as_deref()
                        .is_some_and(|dir| !dir.starts_with("/var/lib/"));
                (
                    info.operating_system.unwrap_or_default(),
                    info.server_version.unwrap_or_default(),
                    info.kernel_version.unwrap_or_default(),
                )
            }
            Ok(Err(err)) => {
                tracing::debug!("docker info unreadable: {err}");
                (String::new(), String::new(), String::new())
            }
            Err(_) => (String::new(), String::new(), String::new()),
        };
    // Podman's compatible API names itself among the version's components.
    let podman = match tokio::time::timeout(HANDSHAKE_TIMEOUT, docker.version()).await {
        Ok(Ok(version)) => version
            .components
            .iter()
            .flatten()
            .any(|component| component.name.contains("Podman")),
        _ => false,
    };
    let kind = if podman {
        EngineKind::Podman { rootless }
    } else {
        EngineKind::Docker
    };
    let desktop = operating_system.contains("Docker Desktop");
    Ok(Engine {
        docker,
        host,
        found,
        kind,
        desktop,
        server_version,
        operating_system,
        kernel_version,
    })
}

fn open(host: &str, from_env: bool) -> Result<Docker, DockerError> {
    let result = if let Some(path) = host.strip_prefix("unix://") {
        Docker::connect_with_unix(path, REQUEST_TIMEOUT_S, API_DEFAULT_VERSION)
    } else if host.starts_with('/') {
        Docker::connect_with_unix(host, REQUEST_TIMEOUT_S, API_DEFAULT_VERSION)
    } else if host.starts_with("tcp://") || host.starts_with("http://") {
        if std::env::var_os("DOCKER_TLS_VERIFY").is_some_and(|v| !v.is_empty() && v != "0") {
            return Err(DockerError::UnsupportedHost {
                host: format!("{host} with DOCKER_TLS_VERIFY"),
            });
        }
        Docker::connect_with_http(host, REQUEST_TIMEOUT_S, API_DEFAULT_VERSION)
    } else {
        return Err(DockerError::UnsupportedHost {
            host: host.to_string(),
        });
    };
    result.map_err(|err| match err {
        bollard::errors::Error::SocketNotFoundError(path) => DockerError::NotRunning {
            host: host.to_string(),
            reason: format!("there is no socket at {path}"),
            hint: socket_hint(from_env),
        },
        other => classify(host, other, from_env),
    })
}

/// Turns a failed first exchange into the situation the user must fix.
fn classify(host: &str, err: bollard::errors::Error, from_env: bool) -> DockerError {
    match io_kind(&err) {
        Some(ErrorKind::PermissionDenied) => DockerError::PermissionDenied {
            socket: host.trim_start_matches("unix://").to_string(),
        },
        Some(kind) => DockerError::NotRunning {
            host: host.to_string(),
            reason: describe_kind(kind, &err),
            hint: socket_hint(from_env),
        },
        None => match err {
            bollard::errors::Error::RequestTimeoutError => DockerError::Timeout {
                what: format!("first request to {host}"),
                seconds: REQUEST_TIMEOUT_S,
            },
            // Something answered HTTP, but not as an engine does.
            bollard::errors::Error::DockerResponseServerError { status_code, .. } => {
                DockerError::NotRunning {
                    host: host.to_string(),
                    reason: format!(
                        "something answers there, but it is not a Docker engine (HTTP {status_code} to GET /version)"
                    ),
                    hint: socket_hint(from_env),
                }
            }
            other => DockerError::NotRunning {
                host: host.to_string(),
                reason: other.to_string(),
                hint: socket_hint(from_env),
            },
        },
    }
}

fn describe_kind(kind: ErrorKind, err: &bollard::errors::Error) -> String {
    match kind {
        ErrorKind::ConnectionRefused => "connection refused (nothing listens there)".to_string(),
        ErrorKind::NotFound => "the socket does not exist".to_string(),
        _ => innermost(err),
    }
}

/// Where else an engine might be, when the default socket failed.
fn socket_hint(from_env: bool) -> String {
    if from_env {
        return " (DOCKER_HOST, CONTAINER_HOST or [engine] socket names it: is it right?)"
            .to_string();
    }
    let mut hints = Vec::new();
    if let Some(runtime) = std::env::var_os("XDG_RUNTIME_DIR") {
        let rootless = std::path::Path::new(&runtime).join("docker.sock");
        if rootless.exists() {
            hints.push(format!(
                "a rootless engine's socket exists: DOCKER_HOST=unix://{}",
                rootless.display()
            ));
        }
    }
    if podman_installed() {
        hints.push(
            "Podman is installed but its API socket is not running: `systemctl --user start podman.socket` \
             (rootless) or `sudo systemctl start podman.socket` (rootful); without systemd, \
             `podman system service --time=0 &`"
                .to_string(),
        );
    }
    hints.push(
        "with a Docker context, use its endpoint: DOCKER_HOST=$(docker context inspect -f '{{.Endpoints.docker.Host}}')"
            .to_string(),
    );
    format!(" ({})", hints.join("; "))
}

/// `podman` is on PATH.
fn podman_installed() -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("podman").is_file()))
}

/// The io::Error kind somewhere in the error's source chain.
fn io_kind(err: &(dyn std::error::Error + 'static)) -> Option<ErrorKind> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(error) = current {
        if let Some(io) = error.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        current = error.source();
    }
    None
}

fn innermost(err: &(dyn std::error::Error + 'static)) -> String {
    let mut current = err;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn missing_socket_is_not_running() {
        let Err(err) = open("unix:///nonexistent/imds-spoof-test.sock", true) else {
            panic!("no socket there");
        };
        assert!(matches!(err, DockerError::NotRunning { .. }), "{err}");
        assert!(err.to_string().contains("no socket at"), "{err}");
    }

    #[test]
    fn ssh_is_explained() {
        let Err(err) = open("ssh://user@host", true) else {
            panic!("unsupported");
        };
        assert!(matches!(err, DockerError::UnsupportedHost { .. }), "{err}");
    }

    #[tokio::test]
    async fn refused_tcp_is_not_running() {
        // A port nothing listens on: bind, note the port, close.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let host = format!("tcp://127.0.0.1:{port}");
        let docker = open(&host, true).expect("client builds");
        let Err(err) = docker.negotiate_version().await else {
            panic!("refused");
        };
        let err = classify(&host, err, true);
        assert!(matches!(err, DockerError::NotRunning { .. }), "{err}");
        assert!(err.to_string().contains("connection refused"), "{err}");
    }
}
