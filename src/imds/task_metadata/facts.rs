//! The task as the identity of the asking container describes it: cluster, family,
//! revision, ARNs and ids, derived from `[identity.ecs]` and the task key.

use sha2::{Digest, Sha256};

use super::snapshot::TaskKey;
use crate::config::{EcsTaskSettings, Identity};

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
    pub(super) task_id: String,
}

impl TaskFacts {
    pub fn new(identity: &Identity, key: &TaskKey) -> TaskFacts {
        let settings = identity.ecs_task();
        let partition = crate::imds::documents::partition_of(&identity.region).1;
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

pub(super) fn is_hex(text: &str, at_least: usize) -> bool {
    text.len() >= at_least && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// 32 lowercase hex digits, stable for the same text.
pub(super) fn hex_digest(kind: &str, text: &str) -> String {
    let digest = Sha256::digest(format!("imds-spoof {kind} {text}").as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}
