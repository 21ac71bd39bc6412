//! Application containers as the dashboard and the caller directory see them.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use bollard::models::ContainerSummary;
use bollard::query_parameters::{
    InspectContainerOptions, ListContainersOptionsBuilder, ListNetworksOptionsBuilder,
};

use super::callers::LABEL_COMPOSE_SERVICE;
use super::host::ProcessMark;
use super::{
    api, is_managed, status_of, DockerError, Engine, LABEL_HOST, LABEL_IDENTITY, LABEL_MANAGED,
    LABEL_PID, LABEL_RUN,
};

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
    /// The `com.docker.compose.service` label: what compose-service rules match.
    pub compose_service: Option<String>,
}

impl ContainerInfo {
    /// What choosing the container's identity looks at: its name, compose service, label.
    pub fn facts(&self) -> crate::config::ContainerFacts {
        crate::config::ContainerFacts {
            name: Some(self.name.clone()),
            compose_service: self.compose_service.clone(),
            identity_label: self.identity_label.clone(),
        }
    }
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
    let name = first_name(summary.names).unwrap_or_else(|| id.chars().take(12).collect());
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
    let mut labels = summary.labels.unwrap_or_default();
    ContainerInfo {
        id,
        name,
        image: summary.image.unwrap_or_default(),
        running,
        ip_on_network,
        identity_label: labels.remove(LABEL_IDENTITY),
        compose_service: labels.remove(LABEL_COMPOSE_SERVICE),
    }
}

/// A container of ours (the proxy of some run), as `down` needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedContainer {
    pub id: String,
    pub name: String,
    pub run_id: Option<String>,
    /// The imds-spoof process that served through it, when its labels say.
    pub owner: Option<ProcessMark>,
}

/// Everything carrying our label: containers (running or not) and network names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManagedObjects {
    pub containers: Vec<ManagedContainer>,
    pub networks: Vec<String>,
}

/// Every container (running or not) carrying `label` (`key=value`); `what` names the
/// listing in an error.
pub(super) async fn labelled(
    engine: &Engine,
    label: &str,
    what: impl Into<String>,
) -> Result<Vec<ContainerSummary>, DockerError> {
    let filters = HashMap::from([("label", vec![label])]);
    engine
        .docker
        .list_containers(Some(
            ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await
        .map_err(api(what))
}

/// Lists what any run of ours created, found by label.
pub async fn list_managed(engine: &Engine) -> Result<ManagedObjects, DockerError> {
    let managed = format!("{LABEL_MANAGED}=true");
    let filters = HashMap::from([("label", vec![managed.as_str()])]);
    let networks = engine
        .docker
        .list_networks(Some(
            ListNetworksOptionsBuilder::default()
                .filters(&filters)
                .build(),
        ))
        .await
        .map_err(api("listing networks"))?;
    let containers = labelled(engine, &managed, "listing containers").await?;
    Ok(ManagedObjects {
        networks: networks.into_iter().filter_map(|n| n.name).collect(),
        containers: containers
            .into_iter()
            .map(|summary| {
                let id = summary.id.unwrap_or_default();
                let labels = summary.labels.unwrap_or_default();
                let host = labels.get(LABEL_HOST).cloned().unwrap_or_default();
                ManagedContainer {
                    name: first_name(summary.names).unwrap_or_else(|| id.clone()),
                    run_id: labels.get(LABEL_RUN).cloned(),
                    owner: labels
                        .get(LABEL_PID)
                        .and_then(|pid| ProcessMark::parse_label(pid, &host)),
                    id,
                }
            })
            .collect(),
    })
}

/// One container as `doctor --container` examines it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerDetails {
    pub name: String,
    /// Network name -> the container's IPv4 address on it.
    pub addresses: HashMap<String, String>,
    /// Its environment, as NAME, VALUE pairs.
    pub env: Vec<(String, String)>,
    pub labels: HashMap<String, String>,
}

/// Inspects a container by name or id.
pub async fn inspect_container(
    engine: &Engine,
    name: &str,
) -> Result<ContainerDetails, DockerError> {
    let inspect = match engine
        .docker
        .inspect_container(name, None::<InspectContainerOptions>)
        .await
    {
        Ok(inspect) => inspect,
        Err(err) if status_of(&err) == Some(404) => {
            return Err(DockerError::NoSuchContainer(name.to_string()))
        }
        Err(err) => return Err(api(format!("inspecting container {name}"))(err)),
    };
    let addresses = inspect
        .network_settings
        .and_then(|settings| settings.networks)
        .unwrap_or_default()
        .into_iter()
        .map(|(network, endpoint)| (network, endpoint.ip_address.unwrap_or_default()))
        .collect();
    let config = inspect.config.unwrap_or_default();
    Ok(ContainerDetails {
        name: inspect
            .name
            .map(|name| name.trim_start_matches('/').to_string())
            .unwrap_or_else(|| name.to_string()),
        addresses,
        env: config
            .env
            .unwrap_or_default()
            .into_iter()
            .filter_map(|pair| {
                pair.split_once('=')
                    .map(|(key, value)| (key.to_string(), value.to_string()))
            })
            .collect(),
        labels: config.labels.unwrap_or_default(),
    })
}

/// The engine lists names with a leading slash.
fn first_name(names: Option<Vec<String>>) -> Option<String> {
    names
        .and_then(|names| names.into_iter().next())
        .map(|name| name.trim_start_matches('/').to_string())
}
