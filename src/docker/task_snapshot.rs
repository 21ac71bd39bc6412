//! What ECS task metadata needs of containers, read from Docker inspect: one container,
//! and the containers of its task (its compose project, or itself alone).

use std::collections::BTreeMap;

use bollard::models::{ContainerInspectResponse, EndpointSettings};
use bollard::query_parameters::InspectContainerOptions;

use super::{api, status_of, DockerError, Engine};
use crate::imds::task_metadata::{
    ContainerSnapshot, NetworkAttachment, ResourceLimits, TaskKey, COMPOSE_PROJECT_LABEL,
};

/// One container by id or name.
pub async fn container_snapshot(
    engine: &Engine,
    container: &str,
) -> Result<ContainerSnapshot, DockerError> {
    match engine
        .docker
        .inspect_container(container, None::<InspectContainerOptions>)
        .await
    {
        Ok(inspect) => Ok(snapshot_of(inspect)),
        Err(err) if status_of(&err) == Some(404) => {
            Err(DockerError::NoSuchContainer(container.to_string()))
        }
        Err(err) => Err(api(format!("inspecting container {container}"))(err)),
    }
}

/// Every container of `member`'s task, `member` included (as given, not read again): its
/// compose project's containers from the same directory that are attached to `network`
/// (see [`ContainerSnapshot::is_task_mate`]). A container that disappears between
/// listing and inspecting is left out.
pub async fn task_snapshots(
    engine: &Engine,
    member: &ContainerSnapshot,
    network: &str,
) -> Result<Vec<ContainerSnapshot>, DockerError> {
    let TaskKey::Compose { project, .. } = member.task_key() else {
        return Ok(vec![member.clone()]);
    };
    let label = format!("{COMPOSE_PROJECT_LABEL}={project}");
    let listed = super::containers::labelled(
        engine,
        &label,
        format!("listing the containers of compose project {project}"),
    )
    .await?;
    let mut snapshots = vec![member.clone()];
    for id in listed.into_iter().filter_map(|summary| summary.id) {
        if id == member.id {
            continue;
        }
        match container_snapshot(engine, &id).await {
            Ok(snapshot) if member.is_task_mate(&snapshot, network) => snapshots.push(snapshot),
            Ok(_) => {}
            Err(DockerError::NoSuchContainer(_)) => {}
            Err(err) => return Err(err),
        }
    }
    Ok(snapshots)
}

fn snapshot_of(inspect: ContainerInspectResponse) -> ContainerSnapshot {
    let config = inspect.config.unwrap_or_default();
    let state = inspect.state.unwrap_or_default();
    let host = inspect.host_config.unwrap_or_default();
    let log = host.log_config.unwrap_or_default();
    let status = state
        .status
        .map(|status| status.to_string())
        .unwrap_or_default();
    let stopped = matches!(status.as_str(), "exited" | "dead");
    let mut networks: Vec<NetworkAttachment> = inspect
        .network_settings
        .and_then(|settings| settings.networks)
        .unwrap_or_default()
        .into_iter()
        .map(|(name, endpoint)| attachment(name, endpoint))
        .collect();
    networks.sort_by(|a, b| a.network.cmp(&b.network));
    ContainerSnapshot {
        id: inspect.id.unwrap_or_default(),
        name: inspect
            .name
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_string(),
        image: config.image.unwrap_or_default(),
        image_id: inspect.image.unwrap_or_default(),
        labels: config.labels.unwrap_or_default().into_iter().collect(),
        created_at: time_text(inspect.created).unwrap_or_default(),
        started_at: time_text(state.started_at),
        finished_at: time_text(state.finished_at).filter(|_| stopped),
        exit_code: state.exit_code.filter(|_| stopped),
        state: status,
        limits: ResourceLimits {
            cpu_shares: host.cpu_shares.unwrap_or_default(),
            nano_cpus: host.nano_cpus.unwrap_or_default(),
            memory_bytes: host.memory.unwrap_or_default(),
        },
        log_driver: log.typ.unwrap_or_default(),
        log_options: log
            .config
            .unwrap_or_default()
            .into_iter()
            .collect::<BTreeMap<_, _>>(),
        network_mode: host.network_mode.unwrap_or_default(),
        networks,
    }
}

fn attachment(network: String, endpoint: EndpointSettings) -> NetworkAttachment {
    let ipv4 = endpoint
        .ip_address
        .as_deref()
        .and_then(|ip| ip.parse().ok());
    NetworkAttachment {
        network,
        ipv4,
        prefix_len: endpoint
            .ip_prefix_len
            .and_then(|len| u8::try_from(len).ok())
            .unwrap_or_default(),
        gateway: endpoint.gateway.as_deref().and_then(|ip| ip.parse().ok()),
        mac: endpoint.mac_address.unwrap_or_default(),
        ipv6: endpoint
            .global_ipv6_address
            .as_deref()
            .and_then(|ip| ip.parse().ok()),
        ipv6_prefix_len: endpoint
            .global_ipv6_prefix_len
            .and_then(|len| u8::try_from(len).ok())
            .unwrap_or_default(),
        ipv6_gateway: endpoint
            .ipv6_gateway
            .as_deref()
            .and_then(|ip| ip.parse().ok()),
    }
}

/// Docker's times as text; empty and the zero time mean "never".
fn time_text(value: Option<String>) -> Option<String> {
    value.filter(|text| !text.is_empty() && !text.starts_with("0001-01-01"))
}
