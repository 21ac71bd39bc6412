//! What goes wrong talking to the engine, with what to do about it.

#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    #[error("Docker is not running or not reachable at {host}: {reason}. Start Docker (for example `sudo systemctl start docker`), or point DOCKER_HOST at a running engine{hint}")]
    NotRunning {
        host: String,
        reason: String,
        hint: String,
    },
    #[error("permission denied on the Docker socket {socket}: add your user to the docker group (`sudo usermod -aG docker $USER`, then log in again) or run imds-spoof with sudo")]
    PermissionDenied { socket: String },
    #[error("DOCKER_HOST={host} is not supported: use unix:///path/to/docker.sock or tcp://HOST:PORT (TLS and ssh:// are not built in; forward the socket instead, e.g. `ssh -L /tmp/docker.sock:/var/run/docker.sock HOST` and DOCKER_HOST=unix:///tmp/docker.sock)")]
    UnsupportedHost { host: String },
    #[error("the Docker engine did not answer within {seconds} s ({what}); is it overloaded or stuck? `docker info` should answer quickly")]
    Timeout { what: String, seconds: u64 },
    #[error("subnet {subnet} overlaps the Docker network {network:?} ({their_subnet}): {remedy}")]
    SubnetTaken {
        subnet: String,
        network: String,
        their_subnet: String,
        remedy: String,
    },
    #[error("a Docker network named {name:?} already exists {why}: remove it (`docker network rm {name}`) or choose another name with [network] name in the configuration")]
    NetworkNameTaken { name: String, why: String },
    #[error("the Docker engine cannot make network {network} with IPv6 ([network] ipv6 = true): {reason}. Without IPv6 support in the engine (IPv6 disabled in the host's kernel, a rootless or remote engine without it), set [network] ipv6 = false; `imds-spoof doctor` checks it")]
    Ipv6Unsupported { network: String, reason: String },
    #[error("the [network] settings are not usable: {0}")]
    BadNetworkSettings(String),
    #[error("proxy image {image} is not available: {reason}. Without access to a registry, build one locally with `scripts/offline-images.sh` (makes {offline}) and use it: `imds-spoof up --proxy-image {offline}`, or [proxy] image = \"{offline}\" in the configuration")]
    ImageUnavailable {
        image: String,
        reason: String,
        offline: String,
    },
    #[error("a container named {name} exists and is not imds-spoof's: remove or rename it (`docker rm -f {name}`)")]
    ProxyNameTaken { name: String },
    #[error("another imds-spoof run (pid {pid}{host}, run {run}) is serving through {name}: stop it first (Ctrl-C in its terminal, or `kill {pid}`), or `imds-spoof down` to remove its proxy")]
    OtherRun {
        pid: String,
        host: String,
        run: String,
        name: String,
    },
    #[error("the proxy address {ip} on network {network} is taken by container {holder}: disconnect it (`docker network disconnect {network} {holder}`)")]
    AddressTaken {
        ip: String,
        network: String,
        holder: String,
    },
    #[error("the proxy did not become healthy: {reason}{logs}")]
    ProxyUnhealthy { reason: String, logs: String },
    #[error("{0}")]
    ProxyGone(String),
    #[error("network {network} still has application containers attached: {}. Stop or disconnect them (`docker network disconnect {network} NAME`), or use `imds-spoof down --force` to disconnect them", names.join(", "))]
    ContainersAttached { network: String, names: Vec<String> },
    #[error("cannot build the archive that carries nginx.conf into the proxy: {0}")]
    Archive(String),
    #[error("container {0:?} not found")]
    NoSuchContainer(String),
    #[error("cannot read {path} in container {container}: {reason}")]
    ReadFile {
        container: String,
        path: String,
        reason: String,
    },
    // The engine's error is part of the message, not a `source`: printed once either way.
    #[error("Docker engine: {what}: {error}")]
    Api {
        what: String,
        error: bollard::errors::Error,
    },
}

impl DockerError {
    /// Whether the engine itself is missing (as opposed to a problem with our objects).
    pub fn engine_unavailable(&self) -> bool {
        matches!(
            self,
            DockerError::NotRunning { .. }
                | DockerError::PermissionDenied { .. }
                | DockerError::UnsupportedHost { .. }
                | DockerError::Timeout { .. }
        )
    }
}

/// Wraps an engine error with what we were doing.
pub(crate) fn api(what: impl Into<String>) -> impl FnOnce(bollard::errors::Error) -> DockerError {
    let what = what.into();
    move |error| DockerError::Api { what, error }
}

/// The engine's HTTP status for an error, if it answered at all.
pub(crate) fn status_of(err: &bollard::errors::Error) -> Option<u16> {
    match err {
        bollard::errors::Error::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}
