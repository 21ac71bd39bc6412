//! What Docker says of a container, as task metadata needs it, and which task it is in.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The compose label that makes containers one task.
pub const COMPOSE_PROJECT_LABEL: &str = "com.docker.compose.project";
/// The directory compose ran in: two projects of one name from two directories are two.
pub const COMPOSE_WORKING_DIR_LABEL: &str = "com.docker.compose.project.working_dir";
/// The compose service: the container's name in the "task definition".
pub const COMPOSE_SERVICE_LABEL: &str = "com.docker.compose.service";

/// One container as the task metadata needs it (from Docker inspect).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerSnapshot {
    /// Docker's full id (64 hex digits).
    pub id: String,
    /// Docker's name, without the leading slash.
    pub name: String,
    /// The image as the container was created with it (`Config.Image`).
    pub image: String,
    /// The image id (`sha256:…`).
    pub image_id: String,
    pub labels: BTreeMap<String, String>,
    /// RFC 3339 with nanoseconds, as Docker writes it.
    pub created_at: String,
    /// None when the container never started.
    pub started_at: Option<String>,
    /// None while it runs or when it never ran.
    pub finished_at: Option<String>,
    /// Docker's state: created, running, paused, restarting, removing, exited or dead.
    pub state: String,
    /// Set once the container has stopped.
    pub exit_code: Option<i64>,
    pub limits: ResourceLimits,
    pub log_driver: String,
    pub log_options: BTreeMap<String, String>,
    /// `HostConfig.NetworkMode`: bridge, host, none, a network name, `container:ID`.
    pub network_mode: String,
    /// Sorted by network name.
    pub networks: Vec<NetworkAttachment>,
}

/// What Docker limits a container to; 0 means no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResourceLimits {
    /// `--cpu-shares`, the unit ECS writes container CPU in (1024 per vCPU).
    pub cpu_shares: i64,
    /// `--cpus` × 10⁹.
    pub nano_cpus: i64,
    /// `--memory`, bytes.
    pub memory_bytes: i64,
}

/// The container's endpoint on one Docker network.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkAttachment {
    pub network: String,
    pub ipv4: Option<Ipv4Addr>,
    pub prefix_len: u8,
    pub gateway: Option<Ipv4Addr>,
    pub mac: String,
    /// On a network with IPv6 (`[network] ipv6`).
    pub ipv6: Option<Ipv6Addr>,
    pub ipv6_prefix_len: u8,
    pub ipv6_gateway: Option<Ipv6Addr>,
}

impl NetworkAttachment {
    /// The subnet in CIDR form (`169.254.0.0/16`), from the address and its prefix.
    pub fn subnet_cidr(&self) -> Option<String> {
        let ip = self.ipv4?;
        if self.prefix_len > 32 {
            return None;
        }
        let mask = u32::MAX
            .checked_shl(32 - u32::from(self.prefix_len))
            .unwrap_or(0);
        let network = Ipv4Addr::from(u32::from(ip) & mask);
        Some(format!("{network}/{}", self.prefix_len))
    }

    /// The IPv6 subnet in CIDR form (`fd00:ec2::/64`).
    pub fn ipv6_subnet_cidr(&self) -> Option<String> {
        let ip = self.ipv6?;
        if self.ipv6_prefix_len > 128 {
            return None;
        }
        let mask = u128::MAX
            .checked_shl(128 - u32::from(self.ipv6_prefix_len))
            .unwrap_or(0);
        let network = Ipv6Addr::from(u128::from(ip) & mask);
        Some(format!("{network}/{}", self.ipv6_prefix_len))
    }
}

/// Which task a container belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TaskKey {
    /// A compose project, told apart from a namesake in another directory by the
    /// directory compose records (`com.docker.compose.project.working_dir`).
    Compose {
        project: String,
        working_dir: Option<String>,
    },
    Lone {
        container_id: String,
        name: String,
    },
}

impl ContainerSnapshot {
    pub fn task_key(&self) -> TaskKey {
        match self.labels.get(COMPOSE_PROJECT_LABEL) {
            Some(project) if !project.is_empty() => TaskKey::Compose {
                project: project.clone(),
                working_dir: self
                    .labels
                    .get(COMPOSE_WORKING_DIR_LABEL)
                    .filter(|dir| !dir.is_empty())
                    .cloned(),
            },
            _ => TaskKey::Lone {
                container_id: self.id.clone(),
                name: self.name.clone(),
            },
        }
    }

    /// Is `other` in this container's task, as this container (on `network`) sees it: the
    /// same compose project from the same directory, and attached to `network` too. A
    /// container off our network, or one that borrowed the project's label from
    /// elsewhere, is nobody's task mate: its labels and log options are not served.
    pub fn is_task_mate(&self, other: &ContainerSnapshot, network: &str) -> bool {
        other.task_key() == self.task_key()
            && other
                .networks
                .iter()
                .any(|attached| attached.network == network)
    }

    /// The network this container reaches us from: the one holding `ip`.
    pub fn network_holding(&self, ip: std::net::IpAddr) -> Option<&str> {
        self.networks
            .iter()
            .find(|attached| match ip {
                std::net::IpAddr::V4(v4) => attached.ipv4 == Some(v4),
                std::net::IpAddr::V6(v6) => attached.ipv6 == Some(v6),
            })
            .map(|attached| attached.network.as_str())
    }

    /// The name in the "task definition": the compose service, or Docker's name.
    pub fn task_container_name(&self) -> &str {
        self.labels
            .get(COMPOSE_SERVICE_LABEL)
            .filter(|service| !service.is_empty())
            .map_or(self.name.as_str(), String::as_str)
    }

    /// Running as far as stats go: the engine measures it.
    pub fn is_running(&self) -> bool {
        matches!(self.state.as_str(), "running" | "paused" | "restarting")
    }

    pub(super) fn is_stopped(&self) -> bool {
        matches!(self.state.as_str(), "exited" | "dead" | "removing")
    }
}
