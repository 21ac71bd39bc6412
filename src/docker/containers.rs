//! Application containers as the dashboard and the caller directory see them.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use bollard::models::ContainerSummary;
use bollard::query_parameters::ListContainersOptionsBuilder;

use super::{api, is_managed, DockerError, Engine, LABEL_IDENTITY};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerInfo {
    pub id: String,
    pub name: String,
    pub image: String,
    pub running: bool,
    /// Address on our network when attached.
    pub ip_on_network: Option<Ipv4Addr>,
    /// The `imds-spoof.identity` label.
    pub identity_label: Option<String>,
}

/// Every container (running or not) except our own, newest first; `network` gives the
/// addresses on our network. `only_attached` limits the list to running containers on it.
pub async fn list_containers(
    engine: &Engine,
    network: &str,
    only_attached: bool,
) -> Result<Vec<ContainerInfo>, DockerError> {
    let filters = HashMap::from([("network", vec![network])]);
    let mut builder = ListContainersOptionsBuilder::default();
    builder = if only_attached {
        builder.filters(&filters)
    } else {
        builder.all(true)
    };
    let containers = engine
        .docker
        .list_containers(Some(builder.build()))
        .await
        .map_err(api("listing containers"))?;
    Ok(containers
        .into_iter()
        .filter(|summary| !is_managed(summary.labels.as_ref()))
        .map(|summary| info(summary, network))
        .collect())
}

fn info(summary: ContainerSummary, network: &str) -> ContainerInfo {
    let id = summary.id.unwrap_or_default();
    let name = summary
        .names
        .and_then(|names| names.into_iter().next())
        .map(|name| name.trim_start_matches('/').to_string())
        .unwrap_or_else(|| id.chars().take(12).collect());
    let running = summary
        .state
        .is_some_and(|state| state.to_string() == "running");
    let ip_on_network = summary
        .network_settings
        .and_then(|settings| settings.networks)
        .and_then(|mut networks| networks.remove(network))
        .and_then(|endpoint| endpoint.ip_address)
        .and_then(|ip| ip.parse().ok())
        .filter(|_| running);
    ContainerInfo {
        id,
        name,
        image: summary.image.unwrap_or_default(),
        running,
        ip_on_network,
        identity_label: summary
            .labels
            .and_then(|mut labels| labels.remove(LABEL_IDENTITY)),
    }
}
