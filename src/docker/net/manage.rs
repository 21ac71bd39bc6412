//! Making, finding, joining, leaving and removing the network.

use std::collections::HashMap;

use bollard::models::{
    Ipam, NetworkConnectRequest, NetworkCreateRequest, NetworkDisconnectRequest, NetworkInspect,
};
use bollard::query_parameters::{InspectNetworkOptions, ListContainersOptionsBuilder};

use super::check::{check_network, subnet_remedy, NetworkState};
use super::plan::{ipam_pools, plan_subnets, NetworkPlan};
use crate::docker::{
    api, is_managed, run_labels, status_of, DockerError, Engine, LABEL_IP_RANGES, LABEL_PART,
    LABEL_RUN,
};

/// Finds our network or creates it; explains any conflict with another network.
pub async fn ensure_network(
    engine: &Engine,
    plan: &NetworkPlan,
    run_id: &str,
) -> Result<NetworkState, DockerError> {
    // Two tries: a concurrent run may create the network between our look and our create.
    for _ in 0..2 {
        if let Some(existing) = check_network(engine, plan).await? {
            return Ok(existing);
        }
        let mut labels = run_labels(run_id);
        labels.insert(LABEL_PART.to_string(), "network".to_string());
        let ranges: Vec<String> = ipam_pools(plan)
            .into_iter()
            .filter_map(|pool| pool.ip_range)
            .collect();
        labels.insert(LABEL_IP_RANGES.to_string(), ranges.join(","));
        let request = NetworkCreateRequest {
            name: plan.name.clone(),
            driver: Some("bridge".to_string()),
            ipam: Some(Ipam {
                driver: Some("default".to_string()),
                config: Some(ipam_pools(plan)),
                options: None,
            }),
            enable_ipv6: plan.ipv6.is_some().then_some(true),
            labels: Some(labels),
            ..Default::default()
        };
        match engine.docker.create_network(request).await {
            Ok(created) => {
                return Ok(NetworkState {
                    id: created.id,
                    name: plan.name.clone(),
                    created: true,
                })
            }
            Err(err) if status_of(&err) == Some(409) => continue,
            Err(err) if err.to_string().contains("overlaps") => {
                return Err(DockerError::SubnetTaken {
                    subnet: plan_subnets(plan),
                    network: "(one the engine did not list)".to_string(),
                    their_subnet: err.to_string(),
                    remedy: subnet_remedy(plan, None),
                })
            }
            // Most likely about IPv6: the same request without it is what every run
            // without IPv6 makes. The engine's own reason is in the message either way.
            Err(err) if plan.ipv6.is_some() => {
                return Err(DockerError::Ipv6Unsupported {
                    network: plan.name.clone(),
                    reason: err.to_string(),
                })
            }
            Err(err) => return Err(api(format!("creating network {}", plan.name))(err)),
        }
    }
    Err(DockerError::NetworkNameTaken {
        name: plan.name.clone(),
        why: "and keeps changing while we look".to_string(),
    })
}

/// A network as `status` shows it: plain data, no engine types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkSummary {
    pub id: String,
    pub name: String,
    /// "SUBNET gateway GATEWAY" for each address pool.
    pub pools: Vec<String>,
    /// Created by imds-spoof (it carries our label).
    pub managed: bool,
    /// The run that created it, when ours.
    pub run_id: Option<String>,
}

/// The network called `name`, if it exists.
pub async fn find_network(
    engine: &Engine,
    name: &str,
) -> Result<Option<NetworkSummary>, DockerError> {
    let Some(network) = inspect_network(engine, name).await? else {
        return Ok(None);
    };
    let pools = network
        .ipam
        .and_then(|ipam| ipam.config)
        .unwrap_or_default()
        .into_iter()
        .map(|pool| {
            format!(
                "{} gateway {}",
                pool.subnet.unwrap_or_default(),
                pool.gateway.unwrap_or_default()
            )
        })
        .collect();
    let labels = network.labels.unwrap_or_default();
    Ok(Some(NetworkSummary {
        id: network.id.unwrap_or_default(),
        name: network.name.unwrap_or_else(|| name.to_string()),
        pools,
        managed: is_managed(Some(&labels)),
        run_id: labels.get(LABEL_RUN).cloned(),
    }))
}

/// The engine's whole view of a network, for this module's own lookups.
pub(in crate::docker) async fn inspect_network(
    engine: &Engine,
    name: &str,
) -> Result<Option<NetworkInspect>, DockerError> {
    match engine
        .docker
        .inspect_network(name, None::<InspectNetworkOptions>)
        .await
    {
        Ok(network) => Ok(Some(network)),
        Err(err) if status_of(&err) == Some(404) => Ok(None),
        Err(err) => Err(api(format!("inspecting network {name}"))(err)),
    }
}

/// Connects a container to the network (attach in the dashboard).
pub async fn connect_container(
    engine: &Engine,
    network: &str,
    id: &str,
) -> Result<(), DockerError> {
    let request = NetworkConnectRequest {
        container: id.to_string(),
        endpoint_config: None,
    };
    engine
        .docker
        .connect_network(network, request)
        .await
        .map_err(api(format!("attaching {id} to {network}")))
}

/// Disconnects a container from the network, letting it finish what it is doing.
pub async fn disconnect_container(
    engine: &Engine,
    network: &str,
    id: &str,
) -> Result<(), DockerError> {
    let request = NetworkDisconnectRequest {
        container: id.to_string(),
        force: Some(false),
    };
    engine
        .docker
        .disconnect_network(network, request)
        .await
        .map_err(api(format!("detaching {id} from {network}")))
}

/// Running containers on the network that are not ours (the proxy is), as (id, name).
pub async fn attached_app_containers(
    engine: &Engine,
    network: &str,
) -> Result<Vec<(String, String)>, DockerError> {
    let filters = HashMap::from([("network", vec![network])]);
    let options = ListContainersOptionsBuilder::default()
        .filters(&filters)
        .build();
    let containers = engine
        .docker
        .list_containers(Some(options))
        .await
        .map_err(api(format!("listing containers on {network}")))?;
    Ok(containers
        .into_iter()
        .filter(|c| !is_managed(c.labels.as_ref()))
        .map(|c| {
            let id = c.id.unwrap_or_default();
            let name = c
                .names
                .and_then(|names| names.into_iter().next())
                .map(|name| name.trim_start_matches('/').to_string())
                .unwrap_or_else(|| id.chars().take(12).collect());
            (id, name)
        })
        .collect())
}

/// Removes the network; with app containers attached it refuses unless `force`, which
/// disconnects them first. Returns the names it disconnected. A missing network is fine.
pub async fn remove_network(
    engine: &Engine,
    network: &str,
    force: bool,
) -> Result<Vec<String>, DockerError> {
    let attached = attached_app_containers(engine, network).await?;
    if !attached.is_empty() && !force {
        return Err(DockerError::ContainersAttached {
            network: network.to_string(),
            names: attached.into_iter().map(|(_, name)| name).collect(),
        });
    }
    let mut disconnected = Vec::new();
    for (id, name) in attached {
        let request = NetworkDisconnectRequest {
            container: id,
            force: Some(true),
        };
        match engine.docker.disconnect_network(network, request).await {
            Ok(()) => disconnected.push(name),
            Err(err) if status_of(&err) == Some(404) => {}
            Err(err) => return Err(api(format!("disconnecting {name} from {network}"))(err)),
        }
    }
    match engine.docker.remove_network(network).await {
        Ok(()) => Ok(disconnected),
        Err(err) if status_of(&err) == Some(404) => Ok(disconnected),
        Err(err) => Err(api(format!("removing network {network}"))(err)),
    }
}
