//! `${ECS_CONTAINER_METADATA_URI_V4}`: one container, as the agent's v4 ContainerResponse.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::Serialize;

use super::{ContainerSnapshot, TaskFacts};
use crate::config::Identity;

/// The container document the caller reads at the URI itself.
pub fn container_json(identity: &Identity, container: &ContainerSnapshot) -> String {
    let facts = TaskFacts::new(identity, &container.task_key());
    to_json(&ContainerResponse::new(identity, &facts, container))
}

pub(super) fn to_json(value: &impl Serialize) -> String {
    // Plain structs, maps with string keys and numbers: serialisation cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

#[derive(Debug, Serialize)]
pub(super) struct ContainerResponse<'a> {
    #[serde(rename = "DockerId")]
    docker_id: &'a str,
    #[serde(rename = "Name")]
    name: &'a str,
    #[serde(rename = "DockerName")]
    docker_name: &'a str,
    #[serde(rename = "Image")]
    image: &'a str,
    #[serde(rename = "ImageID")]
    image_id: &'a str,
    #[serde(rename = "Labels")]
    labels: BTreeMap<&'a str, &'a str>,
    #[serde(rename = "DesiredStatus")]
    desired_status: &'static str,
    #[serde(rename = "KnownStatus")]
    known_status: &'static str,
    #[serde(rename = "ExitCode", skip_serializing_if = "Option::is_none")]
    exit_code: Option<i64>,
    #[serde(rename = "Limits")]
    limits: Limits,
    #[serde(rename = "CreatedAt", skip_serializing_if = "Option::is_none")]
    created_at: Option<&'a str>,
    #[serde(rename = "StartedAt", skip_serializing_if = "Option::is_none")]
    started_at: Option<&'a str>,
    #[serde(rename = "FinishedAt", skip_serializing_if = "Option::is_none")]
    finished_at: Option<&'a str>,
    #[serde(rename = "Type")]
    kind: &'static str,
    #[serde(rename = "LogDriver", skip_serializing_if = "str::is_empty")]
    log_driver: &'a str,
    #[serde(rename = "LogOptions", skip_serializing_if = "BTreeMap::is_empty")]
    log_options: BTreeMap<&'a str, std::borrow::Cow<'a, str>>,
    #[serde(rename = "ContainerARN")]
    container_arn: String,
    #[serde(rename = "Networks", skip_serializing_if = "Vec::is_empty")]
    networks: Vec<Network>,
}

/// Container limits: CPU in CPU units (1024 a vCPU), memory in MiB.
#[derive(Debug, Serialize)]
struct Limits {
    #[serde(rename = "CPU")]
    cpu: serde_json::Number,
    #[serde(rename = "Memory")]
    memory: i64,
}

#[derive(Debug, Serialize)]
struct Network {
    #[serde(rename = "NetworkMode")]
    mode: &'static str,
    #[serde(rename = "IPv4Addresses", skip_serializing_if = "Vec::is_empty")]
    ipv4_addresses: Vec<String>,
    #[serde(rename = "IPv6Addresses", skip_serializing_if = "Vec::is_empty")]
    ipv6_addresses: Vec<String>,
    #[serde(rename = "AttachmentIndex")]
    attachment_index: usize,
    #[serde(rename = "MACAddress", skip_serializing_if = "String::is_empty")]
    mac: String,
    #[serde(
        rename = "IPv4SubnetCIDRBlock",
        skip_serializing_if = "Option::is_none"
    )]
    subnet: Option<String>,
    #[serde(
        rename = "IPv6SubnetCIDRBlock",
        skip_serializing_if = "Option::is_none"
    )]
    ipv6_subnet: Option<String>,
    #[serde(rename = "PrivateDNSName", skip_serializing_if = "Option::is_none")]
    private_dns_name: Option<String>,
    #[serde(
        rename = "SubnetGatewayIpv4Address",
        skip_serializing_if = "Option::is_none"
    )]
    gateway: Option<String>,
    #[serde(
        rename = "SubnetGatewayIpv6Address",
        skip_serializing_if = "Option::is_none"
    )]
    ipv6_gateway: Option<String>,
}

impl<'a> ContainerResponse<'a> {
    pub(super) fn new(
        identity: &'a Identity,
        facts: &'a TaskFacts,
        container: &'a ContainerSnapshot,
    ) -> Self {
        // Real ECS containers carry these as Docker labels; ours get them added.
        let mut labels: BTreeMap<&str, &str> = container
            .labels
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
            .collect();
        labels.extend([
            ("com.amazonaws.ecs.cluster", facts.cluster.as_str()),
            (
                "com.amazonaws.ecs.container-name",
                container.task_container_name(),
            ),
            ("com.amazonaws.ecs.task-arn", facts.task_arn.as_str()),
            (
                "com.amazonaws.ecs.task-definition-family",
                facts.family.as_str(),
            ),
            (
                "com.amazonaws.ecs.task-definition-version",
                facts.revision.as_str(),
            ),
        ]);
        let (log_driver, log_options) = match &identity.ecs {
            Some(settings) if settings.log_driver.is_some() => (
                settings.log_driver.as_deref().unwrap_or_default(),
                &settings.log_options,
            ),
            _ => (container.log_driver.as_str(), &container.log_options),
        };
        ContainerResponse {
            docker_id: &container.id,
            name: container.task_container_name(),
            docker_name: &container.name,
            image: &container.image,
            image_id: &container.image_id,
            labels,
            desired_status: if container.is_stopped() {
                "STOPPED"
            } else {
                "RUNNING"
            },
            known_status: known_status(&container.state),
            exit_code: container.exit_code.filter(|_| container.is_stopped()),
            limits: Limits {
                cpu: cpu_units(container),
                memory: container.limits.memory_bytes / (1024 * 1024),
            },
            created_at: timestamp(Some(&container.created_at)),
            started_at: timestamp(container.started_at.as_deref()),
            finished_at: timestamp(container.finished_at.as_deref())
                .filter(|_| container.is_stopped()),
            kind: "NORMAL",
            log_driver,
            log_options: resolved_log_options(
                log_driver,
                log_options,
                container.task_container_name(),
                &facts.task_arn,
            ),
            container_arn: facts.container_arn(&container.id),
            networks: networks(container, &identity.region),
        }
    }
}

/// Log options as the agent hands them to Docker and serves them: for `awslogs` with an
/// `awslogs-stream-prefix` and no stream of its own, the resolved
/// `awslogs-stream` = `PREFIX/CONTAINER-NAME/TASK-ID` (readers such as OpenTelemetry's
/// ECS detector read the stream, not the prefix).
fn resolved_log_options<'a>(
    log_driver: &str,
    options: &'a BTreeMap<String, String>,
    container_name: &str,
    task_arn: &str,
) -> BTreeMap<&'a str, std::borrow::Cow<'a, str>> {
    let mut resolved: BTreeMap<&'a str, std::borrow::Cow<'a, str>> = options
        .iter()
        .map(|(key, value)| (key.as_str(), std::borrow::Cow::Borrowed(value.as_str())))
        .collect();
    let prefix = options.get(AWSLOGS_STREAM_PREFIX).filter(|p| !p.is_empty());
    if let (true, Some(prefix), false) = (
        log_driver == "awslogs",
        prefix,
        options.contains_key(AWSLOGS_STREAM),
    ) {
        let task_id = task_arn.rsplit('/').next().unwrap_or_default();
        resolved.insert(
            AWSLOGS_STREAM,
            std::borrow::Cow::Owned(format!("{prefix}/{container_name}/{task_id}")),
        );
    }
    resolved
}

const AWSLOGS_STREAM_PREFIX: &str = "awslogs-stream-prefix";
const AWSLOGS_STREAM: &str = "awslogs-stream";

/// The agent's container states for Docker's.
fn known_status(state: &str) -> &'static str {
    match state {
        "created" => "CREATED",
        "running" | "paused" | "restarting" => "RUNNING",
        "exited" | "dead" | "removing" => "STOPPED",
        _ => "NONE",
    }
}

/// CPU units: the shares ECS sets from the task definition, else `--cpus` in units.
/// Go writes a whole float64 without a fraction (`10`, not `10.0`).
fn cpu_units(container: &ContainerSnapshot) -> serde_json::Number {
    let limits = container.limits;
    if limits.cpu_shares > 0 {
        return limits.cpu_shares.into();
    }
    let units = limits.nano_cpus as f64 * 1024.0 / 1e9;
    if units.fract() == 0.0 {
        (units as i64).into()
    } else {
        serde_json::Number::from_f64(units).unwrap_or_else(|| 0.into())
    }
}

/// Docker writes never-set times as the zero time; the agent leaves them out.
fn timestamp(value: Option<&str>) -> Option<&str> {
    value.filter(|text| !text.is_empty() && !text.starts_with("0001-01-01"))
}

/// Every Docker network of the container, as a bridge-mode ECS network with the
/// interface details the agent gives awsvpc tasks (agents use them to name the host).
fn networks(container: &ContainerSnapshot, region: &str) -> Vec<Network> {
    let mode = match container.network_mode.as_str() {
        "host" => "host",
        "none" => "none",
        _ => "bridge",
    };
    container
        .networks
        .iter()
        .enumerate()
        .map(|(index, attachment)| Network {
            mode,
            ipv4_addresses: attachment.ipv4.iter().map(Ipv4Addr::to_string).collect(),
            ipv6_addresses: attachment.ipv6.iter().map(Ipv6Addr::to_string).collect(),
            attachment_index: index,
            mac: attachment.mac.clone(),
            subnet: attachment.subnet_cidr(),
            ipv6_subnet: attachment.ipv6_subnet_cidr(),
            private_dns_name: attachment.ipv4.map(|ip| private_dns_name(ip, region)),
            // The agent writes the gateway with the subnet's prefix (`172.31.32.1/20`).
            gateway: attachment
                .gateway
                .map(|gateway| format!("{gateway}/{}", attachment.prefix_len)),
            ipv6_gateway: attachment
                .ipv6_gateway
                .map(|gateway| format!("{gateway}/{}", attachment.ipv6_prefix_len)),
        })
        .collect()
}

/// EC2's private DNS name of an address.
fn private_dns_name(ip: Ipv4Addr, region: &str) -> String {
    let dashed = ip.to_string().replace('.', "-");
    if region == "us-east-1" {
        format!("ip-{dashed}.ec2.internal")
    } else {
        format!("ip-{dashed}.{region}.compute.internal")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::super::fixtures::{identity, snapshot};
    use super::*;

    /// The documented example's fields, in the agent's order, from a container with the
    /// same limits and times.
    #[test]
    fn the_container_document_has_the_documented_shape() {
        let identity = identity();
        let container = snapshot("shop-web-1", Some(("shop", "web")));
        let text = container_json(&identity, &container);
        let value: Value = serde_json::from_str(&text).unwrap();
        let keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut in_text_order = keys.clone();
        in_text_order.sort_by_key(|key| text.find(&format!("\"{key}\":")).unwrap());
        assert_eq!(
            in_text_order,
            [
                "DockerId",
                "Name",
                "DockerName",
                "Image",
                "ImageID",
                "Labels",
                "DesiredStatus",
                "KnownStatus",
                "Limits",
                "CreatedAt",
                "StartedAt",
                "Type",
                "LogDriver",
                "ContainerARN",
                "Networks"
            ]
        );
        assert_eq!(value["DockerId"], json!(container.id));
        assert_eq!(value["Name"], "web");
        assert_eq!(value["DockerName"], "shop-web-1");
        assert_eq!(value["Limits"], json!({"CPU": 10, "Memory": 128}));
        assert!(
            text.contains("\"CPU\":10,"),
            "whole CPU units as Go writes them"
        );
        assert_eq!(value["CreatedAt"], "2020-10-02T00:15:07.620912337Z");
        assert_eq!(value["StartedAt"], "2020-10-02T00:15:08.062559351Z");
        assert_eq!(
            (&value["DesiredStatus"], &value["KnownStatus"]),
            (&json!("RUNNING"), &json!("RUNNING"))
        );
        assert_eq!(value["Type"], "NORMAL");
        assert_eq!(value["LogDriver"], "json-file");
        assert!(
            value.get("LogOptions").is_none(),
            "empty options are left out"
        );
        let labels = &value["Labels"];
        let task_arn = labels["com.amazonaws.ecs.task-arn"].as_str().unwrap();
        assert!(task_arn.starts_with("arn:aws:ecs:us-west-2:111122223333:task/default/"));
        assert_eq!(labels["com.amazonaws.ecs.cluster"], "default");
        assert_eq!(labels["com.amazonaws.ecs.container-name"], "web");
        assert_eq!(labels["com.amazonaws.ecs.task-definition-family"], "shop");
        assert_eq!(labels["com.amazonaws.ecs.task-definition-version"], "1");
        assert_eq!(
            labels["maintainer"], "me",
            "the container's own labels stay"
        );
        let arn = value["ContainerARN"].as_str().unwrap();
        let task_id = task_arn.rsplit('/').next().unwrap();
        assert!(
            arn.contains(&format!(":container/default/{task_id}/")),
            "{arn}"
        );
        assert_eq!(
            value["Networks"],
            json!([{
                "NetworkMode": "bridge",
                "IPv4Addresses": ["169.254.0.5"],
                "AttachmentIndex": 0,
                "MACAddress": "02:42:a9:fe:00:05",
                "IPv4SubnetCIDRBlock": "169.254.0.0/16",
                "PrivateDNSName": "ip-169-254-0-5.us-west-2.compute.internal",
                "SubnetGatewayIpv4Address": "169.254.0.1/16"
            }])
        );
    }

    #[test]
    fn stopped_containers_say_so_and_unset_times_are_left_out() {
        let identity = identity();
        let mut container = snapshot("job", None);
        container.state = "exited".into();
        container.exit_code = Some(3);
        container.finished_at = Some("2020-10-02T00:16:00.5Z".into());
        container.limits = ResourceLimitsForTest::cpus(1.5);
        let value: Value = serde_json::from_str(&container_json(&identity, &container)).unwrap();
        assert_eq!(value["DesiredStatus"], "STOPPED");
        assert_eq!(value["KnownStatus"], "STOPPED");
        assert_eq!(value["ExitCode"], 3);
        assert_eq!(value["FinishedAt"], "2020-10-02T00:16:00.5Z");
        assert_eq!(value["Limits"], json!({"CPU": 1536, "Memory": 0}));

        container.state = "created".into();
        container.started_at = Some("0001-01-01T00:00:00Z".into());
        let value: Value = serde_json::from_str(&container_json(&identity, &container)).unwrap();
        assert_eq!(value["KnownStatus"], "CREATED");
        assert!(value.get("StartedAt").is_none());
        assert!(value.get("ExitCode").is_none());
    }

    #[test]
    fn ipv6_addresses_join_the_network_entry() {
        let mut container = snapshot("v6", None);
        let network = &mut container.networks[0];
        network.ipv6 = Some("fd00:ec2::1:5".parse().unwrap());
        network.ipv6_prefix_len = 64;
        network.ipv6_gateway = Some("fd00:ec2::1".parse().unwrap());
        let text = container_json(&identity(), &container);
        let value: Value = serde_json::from_str(&text).unwrap();
        let entry = &value["Networks"][0];
        assert_eq!(entry["IPv6Addresses"], json!(["fd00:ec2::1:5"]));
        assert_eq!(entry["IPv6SubnetCIDRBlock"], "fd00:ec2::/64");
        assert_eq!(entry["SubnetGatewayIpv6Address"], "fd00:ec2::1/64");
        let at = |key: &str| text.find(&format!("\"{key}\":")).unwrap();
        assert!(
            at("IPv4Addresses") < at("IPv6Addresses")
                && at("IPv6Addresses") < at("AttachmentIndex")
        );
        assert!(at("IPv4SubnetCIDRBlock") < at("IPv6SubnetCIDRBlock"));
        assert!(at("SubnetGatewayIpv4Address") < at("SubnetGatewayIpv6Address"));
    }

    #[test]
    fn configured_log_settings_replace_the_containers_own() {
        let mut identity = identity();
        identity.ecs = Some(crate::config::EcsTaskSettings {
            log_driver: Some("awslogs".into()),
            log_options: [("awslogs-group".to_string(), "/ecs/shop".to_string())].into(),
            ..Default::default()
        });
        let value: Value =
            serde_json::from_str(&container_json(&identity, &snapshot("a", None))).unwrap();
        assert_eq!(value["LogDriver"], "awslogs");
        assert_eq!(value["LogOptions"], json!({"awslogs-group": "/ecs/shop"}));
    }

    #[test]
    fn a_stream_prefix_is_served_with_the_stream_the_agent_resolves() {
        let mut identity = identity();
        identity.ecs = Some(crate::config::EcsTaskSettings {
            log_driver: Some("awslogs".into()),
            log_options: [
                ("awslogs-group".to_string(), "/ecs/shop".to_string()),
                ("awslogs-stream-prefix".to_string(), "web".to_string()),
            ]
            .into(),
            ..Default::default()
        });
        let value: Value =
            serde_json::from_str(&container_json(&identity, &snapshot("a", None))).unwrap();
        let name = value["Name"].as_str().unwrap();
        let task_arn = value["Labels"]["com.amazonaws.ecs.task-arn"]
            .as_str()
            .unwrap();
        let task_id = task_arn.rsplit('/').next().unwrap();
        assert_eq!(
            value["LogOptions"]["awslogs-stream"],
            format!("web/{name}/{task_id}")
        );
        assert_eq!(value["LogOptions"]["awslogs-stream-prefix"], "web");
        // A stream set by hand stays; another driver gets nothing added.
        if let Some(settings) = identity.ecs.as_mut() {
            settings
                .log_options
                .insert("awslogs-stream".into(), "mine".into());
        }
        let value: Value =
            serde_json::from_str(&container_json(&identity, &snapshot("a", None))).unwrap();
        assert_eq!(value["LogOptions"]["awslogs-stream"], "mine");
        if let Some(settings) = identity.ecs.as_mut() {
            settings.log_driver = Some("json-file".into());
            settings.log_options.remove("awslogs-stream");
        }
        let value: Value =
            serde_json::from_str(&container_json(&identity, &snapshot("a", None))).unwrap();
        assert!(value["LogOptions"].get("awslogs-stream").is_none());
    }

    struct ResourceLimitsForTest;

    impl ResourceLimitsForTest {
        fn cpus(cpus: f64) -> super::super::ResourceLimits {
            super::super::ResourceLimits {
                cpu_shares: 0,
                nano_cpus: (cpus * 1e9) as i64,
                memory_bytes: 0,
            }
        }
    }
}
