//! The `imds-spoof` bridge network: validated settings, reuse of ours, conflicts with others.

use std::collections::HashMap;
use std::fmt;
use std::net::Ipv4Addr;

use bollard::models::{
    Ipam, IpamConfig, NetworkConnectRequest, NetworkCreateRequest, NetworkDisconnectRequest,
    NetworkInspect,
};
use bollard::query_parameters::{InspectNetworkOptions, ListContainersOptionsBuilder};

use super::{api, is_managed, run_labels, status_of, DockerError, Engine, LABEL_PART, LABEL_RUN};
use crate::config::NetworkSettings;

/// An IPv4 subnet in CIDR form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    pub base: Ipv4Addr,
    pub prefix: u8,
}

impl Subnet {
    pub fn parse(text: &str) -> Result<Subnet, String> {
        let (addr, prefix) = text
            .trim()
            .split_once('/')
            .ok_or_else(|| format!("{text:?} is not in ADDRESS/PREFIX form"))?;
        let addr: Ipv4Addr = addr
            .parse()
            .map_err(|_| format!("{addr:?} in {text:?} is not an IPv4 address"))?;
        let prefix: u8 = prefix
            .parse()
            .ok()
            .filter(|p| *p <= 32)
            .ok_or_else(|| format!("{prefix:?} in {text:?} is not a prefix length (0-32)"))?;
        let subnet = Subnet {
            base: Ipv4Addr::from(u32::from(addr) & mask(prefix)),
            prefix,
        };
        if subnet.base != addr {
            return Err(format!(
                "{text:?} has host bits set (did you mean {subnet}?)"
            ));
        }
        Ok(subnet)
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & mask(self.prefix) == u32::from(self.base)
    }

    /// Two subnets overlap when one contains the other's base (CIDR blocks nest or are disjoint).
    pub fn overlaps(&self, other: &Subnet) -> bool {
        self.contains(other.base) || other.contains(self.base)
    }
}

fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix))
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.base, self.prefix)
    }
}

/// The network the configuration asks for, checked for consistency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkPlan {
    pub name: String,
    pub subnet: Subnet,
    pub gateway: Ipv4Addr,
    pub proxy_ip: Ipv4Addr,
}

impl NetworkPlan {
    pub fn from_settings(settings: &NetworkSettings) -> Result<NetworkPlan, DockerError> {
        let bad = DockerError::BadNetworkSettings;
        if settings.name.trim().is_empty() {
            return Err(bad("[network] name is empty".to_string()));
        }
        let subnet = Subnet::parse(&settings.subnet).map_err(|e| bad(format!("subnet: {e}")))?;
        if subnet.prefix > 30 {
            return Err(bad(format!(
                "subnet {subnet} is too small for a gateway and the proxy"
            )));
        }
        for (what, ip) in [
            ("gateway", settings.gateway),
            ("proxy_ip", settings.proxy_ip),
        ] {
            if !subnet.contains(ip) {
                return Err(bad(format!("{what} {ip} is not in subnet {subnet}")));
            }
        }
        if settings.gateway == settings.proxy_ip {
            return Err(bad(format!(
                "gateway and proxy_ip are both {}",
                settings.gateway
            )));
        }
        Ok(NetworkPlan {
            name: settings.name.clone(),
            subnet,
            gateway: settings.gateway,
            proxy_ip: settings.proxy_ip,
        })
    }
}

/// Our network as found or made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkState {
    pub id: String,
    pub name: String,
    /// True when this call created it.
    pub created: bool,
}

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
        let request = NetworkCreateRequest {
            name: plan.name.clone(),
            driver: Some("bridge".to_string()),
            ipam: Some(Ipam {
                driver: Some("default".to_string()),
                config: Some(vec![IpamConfig {
                    subnet: Some(plan.subnet.to_string()),
                    gateway: Some(plan.gateway.to_string()),
                    ..Default::default()
                }]),
                options: None,
            }),
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
                    subnet: plan.subnet.to_string(),
                    network: "(one the engine did not list)".to_string(),
                    their_subnet: err.to_string(),
                    remedy: subnet_remedy(plan, None),
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

/// Our usable network if it exists; a conflict if something else is in the way.
/// Changes nothing (`doctor` uses it).
pub async fn check_network(
    engine: &Engine,
    plan: &NetworkPlan,
) -> Result<Option<NetworkState>, DockerError> {
    let networks = engine
        .docker
        .list_networks(None)
        .await
        .map_err(api("listing networks"))?;
    let mut ours = None;
    for network in &networks {
        let name = network.name.clone().unwrap_or_default();
        let subnets = ipv4_subnets(network.ipam.as_ref());
        if name == plan.name {
            let gateway_ok = gateways(network.ipam.as_ref()).contains(&plan.gateway);
            if !is_managed(network.labels.as_ref()) {
                return Err(DockerError::NetworkNameTaken {
                    name,
                    why: "and was not created by imds-spoof".to_string(),
                });
            }
            if subnets != [plan.subnet] || !gateway_ok {
                let found: Vec<String> = subnets.iter().map(ToString::to_string).collect();
                return Err(DockerError::NetworkNameTaken {
                    name,
                    why: format!(
                        "with subnet {} (an earlier configuration; this one wants {} gateway {}); `imds-spoof down` removes it",
                        found.join(", "),
                        plan.subnet,
                        plan.gateway
                    ),
                });
            }
            ours = Some(NetworkState {
                id: network.id.clone().unwrap_or_default(),
                name,
                created: false,
            });
            continue;
        }
        if let Some(theirs) = subnets.iter().find(|s| s.overlaps(&plan.subnet)) {
            return Err(DockerError::SubnetTaken {
                subnet: plan.subnet.to_string(),
                remedy: subnet_remedy(plan, Some((&name, theirs))),
                network: name,
                their_subnet: theirs.to_string(),
            });
        }
    }
    Ok(ours)
}

/// What to do about an overlap: only one network can hold the IMDS address, so when the
/// other one contains it, it has to go; otherwise a smaller subnet of ours can sit beside it.
fn subnet_remedy(plan: &NetworkPlan, other: Option<(&str, &Subnet)>) -> String {
    let remove = match other {
        Some((name, _)) => format!(
            "remove it (`docker network rm {name}`, after stopping the containers using it)"
        ),
        None => "remove the overlapping network (`docker network ls`, `docker network inspect`)"
            .to_string(),
    };
    match other {
        Some((_, theirs)) if theirs.contains(plan.proxy_ip) => format!(
            "it holds {}, which only one network can: {remove}",
            plan.proxy_ip
        ),
        _ => format!(
            "{remove}, or give imds-spoof a smaller subnet that contains {} and avoids it, e.g. [network] subnet = \"169.254.169.0/24\", gateway = \"169.254.169.1\" in the configuration",
            plan.proxy_ip
        ),
    }
}

fn ipv4_subnets(ipam: Option<&Ipam>) -> Vec<Subnet> {
    ipam.and_then(|ipam| ipam.config.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|config| config.subnet.as_deref())
        .filter_map(|subnet| Subnet::parse(subnet).ok())
        .collect()
}

fn gateways(ipam: Option<&Ipam>) -> Vec<Ipv4Addr> {
    ipam.and_then(|ipam| ipam.config.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|config| config.gateway.as_deref())
        .filter_map(|gateway| gateway.parse().ok())
        .collect()
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
pub(super) async fn inspect_network(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_parse_and_overlap() {
        let ours = Subnet::parse("169.254.0.0/16").unwrap();
        assert!(ours.contains(Ipv4Addr::new(169, 254, 169, 254)));
        assert!(!ours.contains(Ipv4Addr::new(169, 253, 0, 1)));
        let small = Subnet::parse("169.254.169.0/24").unwrap();
        assert!(ours.overlaps(&small) && small.overlaps(&ours));
        let other = Subnet::parse("172.17.0.0/16").unwrap();
        assert!(!ours.overlaps(&other));
        assert!(Subnet::parse("169.254.0.1/16").is_err());
        assert!(Subnet::parse("169.254.0.0/33").is_err());
        assert!(Subnet::parse("169.254.0.0").is_err());
        assert_eq!(Subnet::parse("0.0.0.0/0").unwrap().prefix, 0);
    }

    #[test]
    fn plan_checks_addresses() {
        let mut settings = NetworkSettings::default();
        assert!(NetworkPlan::from_settings(&settings).is_ok());
        settings.subnet = "169.254.169.0/24".into();
        let err = NetworkPlan::from_settings(&settings).unwrap_err();
        assert!(err.to_string().contains("gateway 169.254.0.1"), "{err}");
        settings.gateway = Ipv4Addr::new(169, 254, 169, 1);
        assert!(NetworkPlan::from_settings(&settings).is_ok());
        settings.proxy_ip = settings.gateway;
        assert!(NetworkPlan::from_settings(&settings).is_err());
    }
}
