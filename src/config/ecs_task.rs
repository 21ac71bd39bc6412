//! `[identity.ecs]`: what a container of this identity reports as its ECS task in task
//! metadata v4 (docs/architecture.md, "Three doors"). Every key is optional: an identity without the table is a task
//! on the cluster `default`, revision 1, launched on EC2, in the identity's zone and account.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The `[identity.ecs]` table as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EcsTaskSettings {
    /// Cluster short name or ARN (Fargate reports the ARN). Default `default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// A fixed task ARN for every task of this identity; default one per task, derived
    /// from the cluster and the task (compose project or lone container).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_arn: Option<String>,
    /// Task definition family; default the compose project, or the lone container's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// Task definition revision. Default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_type: Option<LaunchType>,
    /// The ECS service that started the task; absent for a task run on its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// Reported instead of the container's own Docker log driver (agents read
    /// `awslogs-group` and friends from `LogOptions`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_driver: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub log_options: BTreeMap<String, String>,
    /// `TaskTags` of `/taskWithTags`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum LaunchType {
    #[default]
    #[serde(rename = "EC2")]
    Ec2,
    #[serde(rename = "FARGATE")]
    Fargate,
    #[serde(rename = "EXTERNAL")]
    External,
}

impl LaunchType {
    pub fn as_str(self) -> &'static str {
        match self {
            LaunchType::Ec2 => "EC2",
            LaunchType::Fargate => "FARGATE",
            LaunchType::External => "EXTERNAL",
        }
    }
}

/// ECS's own name for the cluster a task runs on when none is chosen.
pub const DEFAULT_CLUSTER: &str = "default";

impl EcsTaskSettings {
    pub fn cluster(&self) -> &str {
        self.cluster.as_deref().unwrap_or(DEFAULT_CLUSTER)
    }

    /// The cluster's short name, also when it is written as an ARN (task ARNs use it).
    pub fn cluster_name(&self) -> &str {
        let cluster = self.cluster();
        cluster
            .rsplit_once(":cluster/")
            .map_or(cluster, |(_, name)| name)
    }

    pub fn revision(&self) -> u32 {
        self.revision.unwrap_or(1)
    }

    pub fn launch_type(&self) -> LaunchType {
        self.launch_type.unwrap_or_default()
    }

    /// What serde cannot check; messages start with the key, so the loader finds its line.
    pub fn check(&self) -> Result<(), String> {
        let cluster = self.cluster();
        let cluster_ok = match cluster.strip_prefix("arn:") {
            Some(_) => ecs_arn(cluster)
                .and_then(|resource| resource.strip_prefix("cluster/"))
                .is_some_and(is_ecs_name),
            None => is_ecs_name(cluster),
        };
        if !cluster_ok {
            return Err(format!(
                "cluster {cluster:?}: a cluster name (letters, digits, - and _) or arn:aws:ecs:REGION:ACCOUNT:cluster/NAME"
            ));
        }
        if let Some(arn) = &self.task_arn {
            if !ecs_arn(arn).is_some_and(is_task_resource) {
                return Err(format!(
                    "task_arn {arn:?}: must look like arn:aws:ecs:REGION:ACCOUNT:task/CLUSTER/TASK_ID (TASK_ID 32 lowercase hex digits or a UUID)"
                ));
            }
        }
        if let Some(family) = &self.family {
            if !is_ecs_name(family) {
                return Err(format!(
                    "family {family:?}: up to 255 letters, digits, - and _"
                ));
            }
        }
        if self.revision == Some(0) {
            return Err("revision 0: revisions start at 1".to_string());
        }
        if let Some(service) = &self.service_name {
            if !is_ecs_name(service) {
                return Err(format!(
                    "service_name {service:?}: up to 255 letters, digits, - and _"
                ));
            }
        }
        if self.log_driver.as_deref() == Some("") {
            return Err("log_driver \"\": name a driver such as awslogs, or leave it out".into());
        }
        Ok(())
    }
}

/// The resource part of an ECS ARN, `arn:PARTITION:ecs:REGION:ACCOUNT:RESOURCE`, when
/// every field has the shape AWS gives it: partition `aws` or `aws-…`, a region like
/// `us-east-1`, a 12-digit account.
fn ecs_arn(arn: &str) -> Option<&str> {
    let mut fields = arn.splitn(6, ':');
    let (arn_word, partition, service, region, account, resource) = (
        fields.next()?,
        fields.next()?,
        fields.next()?,
        fields.next()?,
        fields.next()?,
        fields.next()?,
    );
    let lower = |text: &str| {
        !text.is_empty()
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    let partition_ok = partition == "aws"
        || partition
            .strip_prefix("aws-")
            .is_some_and(|rest| lower(rest) && !rest.ends_with('-'));
    let region_ok = lower(region) && region.split('-').count() >= 3;
    let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    (arn_word == "arn" && partition_ok && service == "ecs" && region_ok && account_ok)
        .then_some(resource)
}

/// `task/CLUSTER/TASK_ID` (today's form) or `task/TASK_ID` (the old one), the id 32
/// lowercase hex digits or a UUID.
fn is_task_resource(resource: &str) -> bool {
    let Some(rest) = resource.strip_prefix("task/") else {
        return false;
    };
    let id = match rest.split_once('/') {
        Some((cluster, id)) if is_ecs_name(cluster) => id,
        Some(_) => return false,
        None => rest,
    };
    let hex = |text: &str| {
        text.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let uuid = {
        let groups: Vec<&str> = id.split('-').collect();
        groups.iter().map(|group| group.len()).eq([8, 4, 4, 4, 12]) && groups.iter().all(|g| hex(g))
    };
    (id.len() == 32 && hex(id)) || uuid
}

/// Family, cluster and service names: 1 to 255 letters, digits, hyphens and underscores.
fn is_ecs_name(name: &str) -> bool {
    (1..=255).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_an_ec2_task_on_the_default_cluster() {
        let settings = EcsTaskSettings::default();
        assert_eq!(settings.cluster(), "default");
        assert_eq!(settings.revision(), 1);
        assert_eq!(settings.launch_type().as_str(), "EC2");
        assert_eq!(settings.check(), Ok(()));
    }

    #[test]
    fn a_cluster_arn_has_a_short_name() {
        let settings = EcsTaskSettings {
            cluster: Some("arn:aws:ecs:us-west-2:111122223333:cluster/prod".into()),
            ..Default::default()
        };
        assert_eq!(settings.cluster_name(), "prod");
        assert_eq!(settings.check(), Ok(()));
    }

    #[test]
    fn bad_values_are_named_by_their_key() {
        for (settings, key) in [
            (
                EcsTaskSettings {
                    cluster: Some("my cluster".into()),
                    ..Default::default()
                },
                "cluster",
            ),
            (
                EcsTaskSettings {
                    task_arn: Some("arn:aws:ecs:us-east-1:1:cluster/x".into()),
                    ..Default::default()
                },
                "task_arn",
            ),
            (
                EcsTaskSettings {
                    cluster: Some("arn:aws:ecs:us-east-1:111122223333:cluster/".into()),
                    ..Default::default()
                },
                "cluster",
            ),
            (
                EcsTaskSettings {
                    cluster: Some("arn:evil:ecs:x:cluster/prod".into()),
                    ..Default::default()
                },
                "cluster",
            ),
            (
                EcsTaskSettings {
                    task_arn: Some("arn:aws:ecs:us-east-1:111122223333:task/prod/not-an-id".into()),
                    ..Default::default()
                },
                "task_arn",
            ),
            (
                EcsTaskSettings {
                    task_arn: Some("arn:aws:ecs:us-east-1:12:task/prod/0123456789abcdef0123456789abcdef".into()),
                    ..Default::default()
                },
                "task_arn",
            ),
            (
                EcsTaskSettings {
                    task_arn: Some("arn:aws:s3:us-east-1:111122223333:task/prod/0123456789abcdef0123456789abcdef".into()),
                    ..Default::default()
                },
                "task_arn",
            ),
            (
                EcsTaskSettings {
                    family: Some("a.b".into()),
                    ..Default::default()
                },
                "family",
            ),
            (
                EcsTaskSettings {
                    revision: Some(0),
                    ..Default::default()
                },
                "revision",
            ),
        ] {
            let err = settings.check().unwrap_err();
            assert!(err.starts_with(key), "{err}");
        }
    }

    #[test]
    fn task_arns_of_both_forms_are_accepted() {
        for arn in [
            "arn:aws:ecs:us-east-1:111122223333:task/prod/0123456789abcdef0123456789abcdef",
            "arn:aws-cn:ecs:cn-north-1:111122223333:task/prod/0123456789abcdef0123456789abcdef",
            "arn:aws:ecs:us-east-1:111122223333:task/0a1b2c3d-0000-4000-8000-0123456789ab",
        ] {
            let settings = EcsTaskSettings {
                task_arn: Some(arn.into()),
                ..Default::default()
            };
            assert_eq!(settings.check(), Ok(()), "{arn}");
        }
    }
}
