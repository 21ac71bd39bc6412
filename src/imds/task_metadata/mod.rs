//! ECS task metadata v4 (protocol notes §7) built from plain data: what Docker says of the
//! containers and what the configuration says of the identity. Nothing here asks Docker;
//! the Docker layer fills [`ContainerSnapshot`] and [`ContainerStats`].
//!
//! What "the task" is for Docker containers: a compose project is one task and its
//! containers (every one carrying the same `com.docker.compose.project` label, running or
//! not) are the task's containers; a container outside compose is a task of its own.
//! The task's cluster, family, revision, launch type and ARNs come from the identity of the
//! container that asks (`[identity.ecs]`, defaults derived from the identity).
//!
//! JSON field names, order and omissions follow the ECS agent's v4 response types
//! (amazon-ecs-agent `tmds/handlers/v2` and `v4/state`): compact, map keys sorted as Go
//! writes them.

mod container;
mod stats;
mod task;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use sha2::{Digest, Sha256};

use crate::config::{EcsTaskSettings, Identity};

pub use container::container_json;
pub use stats::{
    container_stats_json, task_stats_json, BlkioEntry, BlkioStats, ContainerStats, CpuStats,
    CpuUsage, MemoryStats, NetworkStats, PidsStats, StorageStats, ThrottlingData,
};
pub use task::task_json;

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

    fn is_stopped(&self) -> bool {
        matches!(self.state.as_str(), "exited" | "dead" | "removing")
    }
}

/// The task as the identity of the asking container describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFacts {
    pub cluster: String,
    pub task_arn: String,
    pub family: String,
    pub revision: String,
    /// `arn:PARTITION:ecs:REGION:ACCOUNT:` — container ARNs start the same way.
    arn_prefix: String,
    cluster_name: String,
    task_id: String,
}

impl TaskFacts {
    pub fn new(identity: &Identity, key: &TaskKey) -> TaskFacts {
        let settings = identity.ecs_task();
        let partition = super::documents::partition_of(&identity.region).1;
        let arn_prefix = format!(
            "arn:{partition}:ecs:{}:{}:",
            identity.region, identity.account_id
        );
        let task_id = match key {
            // A lone container's task id is its own id's start: easy to recognise.
            TaskKey::Lone { container_id, .. } if is_hex(container_id, 32) => {
                container_id[..32].to_string()
            }
            TaskKey::Lone { container_id, .. } => hex_digest("container", container_id),
            TaskKey::Compose {
                project,
                working_dir: None,
            } => hex_digest("compose", project),
            TaskKey::Compose {
                project,
                working_dir: Some(dir),
            } => hex_digest("compose", &format!("{project}\0{dir}")),
        };
        let cluster_name = settings.cluster_name().to_string();
        let task_arn = settings
            .task_arn
            .clone()
            .unwrap_or_else(|| format!("{arn_prefix}task/{cluster_name}/{task_id}"));
        TaskFacts {
            cluster: settings.cluster().to_string(),
            family: family_of(&settings, key),
            revision: settings.revision().to_string(),
            task_arn,
            arn_prefix,
            cluster_name,
            task_id,
        }
    }

    /// `arn:…:container/CLUSTER/TASK_ID/UUID`, the UUID taken from the Docker id.
    pub fn container_arn(&self, docker_id: &str) -> String {
        let hex = if is_hex(docker_id, 32) {
            docker_id[..32].to_string()
        } else {
            hex_digest("container", docker_id)
        };
        let uuid = format!(
            "{}-{}-{}-{}-{}",
            &hex[..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        );
        format!(
            "{}container/{}/{}/{uuid}",
            self.arn_prefix, self.cluster_name, self.task_id
        )
    }
}

/// The family: configured, else the compose project or the container's name with every
/// character ECS does not allow in a family turned into `-`.
fn family_of(settings: &EcsTaskSettings, key: &TaskKey) -> String {
    if let Some(family) = &settings.family {
        return family.clone();
    }
    let base = match key {
        TaskKey::Compose { project, .. } => project.as_str(),
        TaskKey::Lone { name, .. } => name.as_str(),
    };
    base.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(255)
        .collect()
}

fn is_hex(text: &str, at_least: usize) -> bool {
    text.len() >= at_least && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// 32 lowercase hex digits, stable for the same text.
fn hex_digest(kind: &str, text: &str) -> String {
    let digest = Sha256::digest(format!("imds-spoof {kind} {text}").as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// Which v4 document a path below `ECS_CONTAINER_METADATA_URI_V4` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskDocument {
    Container,
    Task,
    TaskWithTags,
    ContainerStats,
    TaskStats,
}

impl TaskDocument {
    /// The document of `rest`, the path after `/v4/<id>`; None for anything else (404).
    /// Exact, as the agent's router matches: a trailing `/` is another path there (its
    /// gorilla/mux routes are registered without `StrictSlash`).
    pub fn from_rest(rest: &str) -> Option<TaskDocument> {
        Some(match rest {
            "" => TaskDocument::Container,
            "/task" => TaskDocument::Task,
            "/taskWithTags" => TaskDocument::TaskWithTags,
            "/stats" => TaskDocument::ContainerStats,
            "/task/stats" => TaskDocument::TaskStats,
            _ => return None,
        })
    }

    /// Whether answering needs the engine's stats (slow: Docker samples twice).
    pub fn needs_stats(self) -> bool {
        matches!(self, TaskDocument::ContainerStats | TaskDocument::TaskStats)
    }
}

#[cfg(test)]
pub(crate) mod fixtures;

#[cfg(test)]
mod tests {
    use super::fixtures::{identity, snapshot};
    use super::*;

    #[test]
    fn compose_projects_are_tasks_and_lone_containers_their_own() {
        let web = snapshot("web-1", Some(("shop", "web")));
        let lone = snapshot("tool", None);
        assert_eq!(
            web.task_key(),
            TaskKey::Compose {
                project: "shop".into(),
                working_dir: None,
            }
        );
        assert_eq!(web.task_container_name(), "web");
        assert_eq!(
            lone.task_key(),
            TaskKey::Lone {
                container_id: lone.id.clone(),
                name: "tool".into()
            }
        );
        assert_eq!(lone.task_container_name(), "tool");
    }

    #[test]
    fn task_mates_share_the_project_its_directory_and_our_network() {
        let web = snapshot("web-1", Some(("shop", "web")));
        let db = snapshot("db-1", Some(("shop", "db")));
        assert!(web.is_task_mate(&db, "imds-spoof"));
        // Off our network: not listed, whatever its labels say.
        let mut off = db.clone();
        off.networks.clear();
        assert!(!web.is_task_mate(&off, "imds-spoof"));
        // The same project name from another directory is another task.
        let mut here = web.clone();
        here.labels
            .insert(COMPOSE_WORKING_DIR_LABEL.into(), "/home/a/shop".into());
        let mut there = db.clone();
        there
            .labels
            .insert(COMPOSE_WORKING_DIR_LABEL.into(), "/home/b/shop".into());
        assert!(!here.is_task_mate(&there, "imds-spoof"));
        there
            .labels
            .insert(COMPOSE_WORKING_DIR_LABEL.into(), "/home/a/shop".into());
        assert!(here.is_task_mate(&there, "imds-spoof"));
        // And their task ids differ.
        let mut elsewhere = web.clone();
        elsewhere
            .labels
            .insert(COMPOSE_WORKING_DIR_LABEL.into(), "/home/b/shop".into());
        let id = |snapshot: &ContainerSnapshot| {
            TaskFacts::new(&identity(), &snapshot.task_key()).task_id
        };
        assert_ne!(id(&here), id(&elsewhere));
        assert_eq!(id(&web), id(&db));
    }

    #[test]
    fn arns_are_derived_from_the_identity_and_stable() {
        let identity = identity();
        let web = snapshot("web-1", Some(("shop", "web")));
        let facts = TaskFacts::new(&identity, &web.task_key());
        assert_eq!(facts, TaskFacts::new(&identity, &web.task_key()));
        assert_eq!(facts.cluster, "default");
        assert_eq!(facts.family, "shop");
        assert_eq!(facts.revision, "1");
        let (head, id) = facts.task_arn.rsplit_once('/').unwrap();
        assert_eq!(head, "arn:aws:ecs:us-west-2:111122223333:task/default");
        assert!(is_hex(id, 32) && id.len() == 32, "{id}");
        let container = facts.container_arn(&web.id);
        assert!(
            container.starts_with(&format!(
                "arn:aws:ecs:us-west-2:111122223333:container/default/{id}/"
            )),
            "{container}"
        );
        let uuid = container.rsplit('/').next().unwrap();
        assert_eq!(
            uuid.split('-').map(str::len).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );

        let lone = snapshot("my.tool", None);
        let facts = TaskFacts::new(&identity, &lone.task_key());
        assert!(
            facts.task_arn.ends_with(&lone.id[..32]),
            "{}",
            facts.task_arn
        );
        assert_eq!(
            facts.family, "my-tool",
            "a lone container's family is its name"
        );
    }

    #[test]
    fn configured_task_settings_win() {
        let mut identity = identity();
        identity.ecs = Some(EcsTaskSettings {
            cluster: Some("arn:aws:ecs:us-west-2:111122223333:cluster/prod".into()),
            family: Some("billing".into()),
            revision: Some(7),
            ..Default::default()
        });
        let facts = TaskFacts::new(
            &identity,
            &TaskKey::Compose {
                project: "x".into(),
                working_dir: None,
            },
        );
        assert_eq!(
            facts.cluster,
            "arn:aws:ecs:us-west-2:111122223333:cluster/prod"
        );
        assert!(facts.task_arn.contains(":task/prod/"), "{}", facts.task_arn);
        assert_eq!(
            (facts.family.as_str(), facts.revision.as_str()),
            ("billing", "7")
        );
    }

    #[test]
    fn subnets_are_computed_from_address_and_prefix() {
        let attachment = NetworkAttachment {
            ipv4: Some(Ipv4Addr::new(169, 254, 3, 7)),
            prefix_len: 16,
            ..Default::default()
        };
        assert_eq!(attachment.subnet_cidr().as_deref(), Some("169.254.0.0/16"));
        let host = NetworkAttachment {
            ipv4: Some(Ipv4Addr::new(10, 0, 0, 1)),
            prefix_len: 0,
            ..Default::default()
        };
        assert_eq!(host.subnet_cidr().as_deref(), Some("0.0.0.0/0"));
        assert_eq!(NetworkAttachment::default().subnet_cidr(), None);
        let v6 = NetworkAttachment {
            ipv6: Some("fd00:ec2::1:5".parse().unwrap()),
            ipv6_prefix_len: 64,
            ..Default::default()
        };
        assert_eq!(v6.ipv6_subnet_cidr().as_deref(), Some("fd00:ec2::/64"));
    }

    #[test]
    fn paths_below_the_uri_name_their_document() {
        assert_eq!(TaskDocument::from_rest(""), Some(TaskDocument::Container));
        assert_eq!(TaskDocument::from_rest("/task"), Some(TaskDocument::Task));
        assert_eq!(
            TaskDocument::from_rest("/taskWithTags"),
            Some(TaskDocument::TaskWithTags)
        );
        assert_eq!(
            TaskDocument::from_rest("/stats"),
            Some(TaskDocument::ContainerStats)
        );
        assert_eq!(
            TaskDocument::from_rest("/task/stats"),
            Some(TaskDocument::TaskStats)
        );
        assert_eq!(TaskDocument::from_rest("/tasks"), None);
        for trailing in ["/", "/task/", "/stats/", "/task/stats/", "/taskWithTags/"] {
            assert_eq!(TaskDocument::from_rest(trailing), None, "{trailing}");
        }
    }
}
