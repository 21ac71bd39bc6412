//! `${ECS_CONTAINER_METADATA_URI_V4}/task` and `/taskWithTags`: the task of the caller, as
//! the agent's v4 TaskResponse.
//!
//! Left out on purpose: `PullStartedAt` / `PullStoppedAt` (Docker does not record when an
//! image was pulled; the agent also omits them when it pulled nothing), `ClockDrift`,
//! `EphemeralStorageMetrics` and `Ports`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::container::{to_json, ContainerResponse};
use super::{ContainerSnapshot, TaskFacts};
use crate::config::{Identity, LaunchType};

/// The task document. `containers` are the task's containers as the Docker layer found
/// them (the caller among them or not); those of another task are ignored.
pub fn task_json(
    identity: &Identity,
    caller: &ContainerSnapshot,
    containers: &[ContainerSnapshot],
    with_tags: bool,
) -> String {
    let key = caller.task_key();
    let mut members: Vec<&ContainerSnapshot> = containers
        .iter()
        .filter(|container| container.task_key() == key && container.id != caller.id)
        .chain(std::iter::once(caller))
        .collect();
    members.sort_by(|a, b| (&a.created_at, &a.name).cmp(&(&b.created_at, &b.name)));
    let facts = TaskFacts::new(identity, &key);
    let settings = identity.ecs_task();
    let launch_type = settings.launch_type();
    let running = members.iter().any(|c| c.is_running());
    let all_stopped = members.iter().all(|c| c.is_stopped());
    let response = TaskResponse {
        cluster: &facts.cluster,
        task_arn: &facts.task_arn,
        family: &facts.family,
        revision: &facts.revision,
        desired_status: if all_stopped { "STOPPED" } else { "RUNNING" },
        known_status: if running {
            "RUNNING"
        } else if all_stopped {
            "STOPPED"
        } else {
            "CREATED"
        },
        limits: task_limits(&members),
        availability_zone: &identity.availability_zone,
        task_tags: if with_tags {
            settings.tags.clone()
        } else {
            BTreeMap::new()
        },
        // The EC2 instance's tags: the identity's, on the launch types with an instance.
        container_instance_tags: if with_tags && launch_type != LaunchType::Fargate {
            identity.tags.clone()
        } else {
            BTreeMap::new()
        },
        launch_type: launch_type.as_str(),
        containers: members
            .iter()
            .map(|container| ContainerResponse::new(identity, &facts, container))
            .collect(),
        // The agent reports the instance's VPC on EC2 only.
        vpc_id: Some(identity.vpc_id.as_str())
            .filter(|vpc| !vpc.is_empty() && launch_type == LaunchType::Ec2),
        service_name: settings.service_name.as_deref(),
    };
    to_json(&response)
}

#[derive(Debug, Serialize)]
struct TaskResponse<'a> {
    #[serde(rename = "Cluster")]
    cluster: &'a str,
    #[serde(rename = "TaskARN")]
    task_arn: &'a str,
    #[serde(rename = "Family")]
    family: &'a str,
    #[serde(rename = "Revision")]
    revision: &'a str,
    #[serde(rename = "DesiredStatus")]
    desired_status: &'static str,
    #[serde(rename = "KnownStatus")]
    known_status: &'static str,
    #[serde(rename = "Limits", skip_serializing_if = "Option::is_none")]
    limits: Option<TaskLimits>,
    #[serde(rename = "AvailabilityZone", skip_serializing_if = "str::is_empty")]
    availability_zone: &'a str,
    #[serde(rename = "TaskTags", skip_serializing_if = "BTreeMap::is_empty")]
    task_tags: BTreeMap<String, String>,
    #[serde(
        rename = "ContainerInstanceTags",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    container_instance_tags: BTreeMap<String, String>,
    #[serde(rename = "LaunchType")]
    launch_type: &'static str,
    #[serde(rename = "Containers")]
    containers: Vec<ContainerResponse<'a>>,
    #[serde(rename = "VPCID", skip_serializing_if = "Option::is_none")]
    vpc_id: Option<&'a str>,
    #[serde(rename = "ServiceName", skip_serializing_if = "Option::is_none")]
    service_name: Option<&'a str>,
}

/// Task limits: CPU in vCPUs, memory in MiB.
#[derive(Debug, Serialize)]
struct TaskLimits {
    #[serde(rename = "CPU", skip_serializing_if = "Option::is_none")]
    cpu: Option<serde_json::Number>,
    #[serde(rename = "Memory", skip_serializing_if = "Option::is_none")]
    memory: Option<i64>,
}

/// What Docker gives instead of task-level limits: the sum over the containers, each part
/// only when every container has that limit (otherwise the task is not limited by it).
fn task_limits(members: &[&ContainerSnapshot]) -> Option<TaskLimits> {
    let nano_cpus: Option<i64> = members
        .iter()
        .map(|c| {
            let limits = c.limits;
            if limits.nano_cpus > 0 {
                Some(limits.nano_cpus)
            } else if limits.cpu_shares > 0 {
                Some(limits.cpu_shares * 1_000_000_000 / 1024)
            } else {
                None
            }
        })
        .sum();
    let memory: Option<i64> = members
        .iter()
        .map(|c| (c.limits.memory_bytes > 0).then_some(c.limits.memory_bytes / (1024 * 1024)))
        .sum();
    let cpu = nano_cpus.map(|nano| {
        let vcpus = nano as f64 / 1e9;
        if vcpus.fract() == 0.0 {
            serde_json::Number::from(vcpus as i64)
        } else {
            // Thousandths are as precise as a task definition's CPU units get.
            let rounded = (vcpus * 1000.0).round() / 1000.0;
            serde_json::Number::from_f64(rounded).unwrap_or_else(|| 0.into())
        }
    });
    (cpu.is_some() || memory.is_some()).then_some(TaskLimits { cpu, memory })
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::super::fixtures::{identity, snapshot};
    use super::super::ResourceLimits;
    use super::*;

    #[test]
    fn the_task_document_has_the_documented_shape() {
        let identity = identity();
        let web = snapshot("shop-web-1", Some(("shop", "web")));
        let mut db = snapshot("shop-db-1", Some(("shop", "db")));
        db.created_at = "2020-10-02T00:15:01Z".into();
        let stranger = snapshot("other-1", Some(("other", "x")));
        let text = task_json(&identity, &web, &[web.clone(), db.clone(), stranger], false);
        let value: Value = serde_json::from_str(&text).unwrap();
        let order = [
            "Cluster",
            "TaskARN",
            "Family",
            "Revision",
            "DesiredStatus",
            "KnownStatus",
            "Limits",
            "AvailabilityZone",
            "LaunchType",
            "Containers",
            "VPCID",
        ];
        let positions: Vec<usize> = order
            .iter()
            .map(|key| text.find(&format!("\"{key}\":")).unwrap())
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert_eq!(value.as_object().unwrap().len(), order.len(), "{text}");
        assert_eq!(value["Cluster"], "default");
        assert_eq!(value["Family"], "shop");
        assert_eq!(value["Revision"], "1");
        assert_eq!(value["AvailabilityZone"], "us-west-2d");
        assert_eq!(value["LaunchType"], "EC2");
        assert_eq!(value["VPCID"], json!(identity.vpc_id));
        assert_eq!(value["KnownStatus"], "RUNNING");
        // Two containers of 10 units and 128 MiB.
        assert_eq!(value["Limits"], json!({"CPU": 0.02, "Memory": 256}));
        let containers = value["Containers"].as_array().unwrap();
        let names: Vec<&str> = containers
            .iter()
            .map(|c| c["DockerName"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            ["shop-db-1", "shop-web-1"],
            "by creation, strangers left out"
        );
        for container in containers {
            assert_eq!(
                container["Labels"]["com.amazonaws.ecs.task-arn"], value["TaskARN"],
                "case 62: labels match the task"
            );
            assert_eq!(
                container["Labels"]["com.amazonaws.ecs.cluster"],
                value["Cluster"]
            );
        }
        assert!(value.get("TaskTags").is_none());
    }

    #[test]
    fn with_tags_adds_task_and_instance_tags() {
        let mut identity = identity();
        identity.ecs = Some(crate::config::EcsTaskSettings {
            tags: [("team".to_string(), "payments".to_string())].into(),
            service_name: Some("billing".into()),
            ..Default::default()
        });
        let lone = snapshot("tool", None);
        let value: Value = serde_json::from_str(&task_json(&identity, &lone, &[], true)).unwrap();
        assert_eq!(value["TaskTags"], json!({"team": "payments"}));
        assert_eq!(value["ContainerInstanceTags"]["Name"], "imds-spoof-dev");
        assert_eq!(value["ServiceName"], "billing");
        assert_eq!(value["Family"], "tool");
        assert_eq!(value["Containers"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn limits_are_left_out_when_a_container_has_none() {
        let identity = identity();
        let mut lone = snapshot("tool", None);
        lone.limits = ResourceLimits::default();
        let value: Value = serde_json::from_str(&task_json(&identity, &lone, &[], false)).unwrap();
        assert!(value.get("Limits").is_none());
        lone.limits.nano_cpus = 2_000_000_000;
        let value: Value = serde_json::from_str(&task_json(&identity, &lone, &[], false)).unwrap();
        assert_eq!(value["Limits"], json!({"CPU": 2}));
    }
}
