//! ECS task metadata v4 (docs/protocol.md §7) built from plain data: what Docker says of the
//! containers and what the configuration says of the identity. Nothing here asks Docker;
//! the Docker layer fills [`ContainerSnapshot`] and [`ContainerStats`].
//!
//! What "the task" is for Docker containers: a compose project is one task and its
//! containers (every one carrying the same `com.docker.compose.project` label and working
//! directory, running or not, on our network) are the task's containers; a container
//! outside compose is a task of its own.
//! The task's cluster, family, revision, launch type and ARNs come from the identity of the
//! container that asks (`[identity.ecs]`, defaults derived from the identity).
//!
//! JSON field names, order and omissions follow the ECS agent's v4 response types
//! (amazon-ecs-agent `tmds/handlers/v2` and `v4/state`): compact, map keys sorted as Go
//! writes them.

mod container;
mod document;
mod facts;
mod snapshot;
mod stats;
mod task;

pub use container::container_json;
pub use document::TaskDocument;
pub use facts::TaskFacts;
pub use snapshot::{
    ContainerSnapshot, NetworkAttachment, ResourceLimits, TaskKey, COMPOSE_PROJECT_LABEL,
    COMPOSE_SERVICE_LABEL, COMPOSE_WORKING_DIR_LABEL,
};
pub use stats::{
    container_stats_json, task_stats_json, BlkioEntry, BlkioStats, ContainerStats, CpuStats,
    CpuUsage, MemoryStats, NetworkStats, PidsStats, StorageStats, ThrottlingData,
};
pub use task::task_json;

#[cfg(test)]
pub(crate) mod fixtures;

#[cfg(test)]
mod tests {
    use super::fixtures::{identity, snapshot};
    use std::net::Ipv4Addr;

    use super::facts::is_hex;
    use super::*;
    use crate::config::EcsTaskSettings;

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
