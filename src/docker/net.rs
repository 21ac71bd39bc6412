//! The `imds-spoof` bridge network: validated settings, reuse of ours, conflicts with others.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bollard::models::{
    Ipam, IpamConfig, NetworkConnectRequest, NetworkCreateRequest, NetworkDisconnectRequest,
    NetworkInspect,
};
use bollard::query_parameters::{InspectNetworkOptions, ListContainersOptionsBuilder};

use super::subnet::{Subnet, Subnet6};
use super::{api, is_managed, run_labels, status_of, DockerError, Engine, LABEL_PART, LABEL_RUN};
use crate::config::NetworkSettings;

/// IMDS's IPv6 address, which SDKs in IPv6 endpoint mode call (docs/protocol.md §9).
pub const IMDS_IPV6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254);
/// The EKS Pod Identity agent's IPv6 address: kept free for that endpoint.
pub const EKS_IPV6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23);
/// The IPv6 subnet: fixed, because SDKs know only fd00:ec2::254 and the subnet must hold it.
const IPV6_SUBNET: &str = "fd00:ec2::/64";
/// Where Docker picks containers' IPv6 addresses: outside it lie the gateway (::1),
/// fd00:ec2::23 and fd00:ec2::254, so no container is ever handed one of those.
const IPV6_CONTAINER_RANGE: &str = "fd00:ec2::1:0/112";
const IPV6_GATEWAY: Ipv6Addr = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 1);

/// The block of the ECS and EKS agents' addresses (169.254.170.2, .23): kept from
/// application containers whether or not the doors are on, so one can be switched on later.
const DOOR_BLOCK: &str = "169.254.170.0/24";

/// The network's IPv6 side (`[network] ipv6 = true`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv6Plan {
    pub subnet: Subnet6,
    /// The host's address on the bridge.
    pub gateway: Ipv6Addr,
    /// The proxy's second address: IMDS's.
    pub proxy_ip: Ipv6Addr,
    /// Docker's `ip-range` for containers.
    pub containers: Subnet6,
}

impl Ipv6Plan {
    fn fixed() -> Result<Ipv6Plan, String> {
        let plan = Ipv6Plan {
            subnet: Subnet6::parse(IPV6_SUBNET)?,
            gateway: IPV6_GATEWAY,
            proxy_ip: IMDS_IPV6,
            containers: Subnet6::parse(IPV6_CONTAINER_RANGE)?,
        };
        let reserved = [plan.gateway, plan.proxy_ip, EKS_IPV6];
        if reserved.iter().any(|ip| plan.containers.contains(*ip)) {
            return Err(format!(
                "{} would give containers a reserved address",
                plan.containers
            ));
        }
        Ok(plan)
    }

    /// "fd00:ec2::/64 gateway fd00:ec2::1", as pools are shown.
    pub fn describe(&self) -> String {
        format!("{} gateway {}", self.subnet, self.gateway)
    }
}

/// The network the configuration asks for, checked for consistency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkPlan {
    pub name: String,
    pub subnet: Subnet,
    pub gateway: Ipv4Addr,
    pub proxy_ip: Ipv4Addr,
    /// Docker's `ip-range` for containers: the largest block of the subnet that holds
    /// neither the IMDS address nor the doors' block, so no container is handed one.
    pub containers: Subnet,
    /// The IPv6 endpoint, when the configuration asks for it.
    pub ipv6: Option<Ipv6Plan>,
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
        let ipv6 = match settings.ipv6 {
            true => Some(Ipv6Plan::fixed().map_err(bad)?),
            false => None,
        };
        let containers = container_range(subnet, settings.proxy_ip).map_err(bad)?;
        Ok(NetworkPlan {
            name: settings.name.clone(),
            subnet,
            gateway: settings.gateway,
            proxy_ip: settings.proxy_ip,
            containers,
            ipv6,
        })
    }

    /// Does the network hold this address (a door's)?
    pub fn holds(&self, ip: IpAddr) -> bool {
        match (ip, &self.ipv6) {
            (IpAddr::V4(ip), _) => self.subnet.contains(ip),
            (IpAddr::V6(ip), Some(ipv6)) => ipv6.subnet.contains(ip),
            (IpAddr::V6(_), None) => false,
        }
    }
}

/// The first largest aligned block of `subnet` that holds neither `proxy_ip` nor any
/// address of the doors' block: where Docker picks application containers' addresses.
fn container_range(subnet: Subnet, proxy_ip: Ipv4Addr) -> Result<Subnet, String> {
    let doors = Subnet::parse(DOOR_BLOCK)?;
    for prefix in subnet.prefix + 1..=30 {
        let size = 1u32 << (32 - u32::from(prefix));
        let count = 1u32 << u32::from(prefix - subnet.prefix);
        for index in 0..count {
            let block = Subnet {
                base: Ipv4Addr::from(u32::from(subnet.base) + index * size),
                prefix,
            };
            if !block.contains(proxy_ip) && !block.overlaps(&doors) {
                return Ok(block);
            }
        }
    }
    Err(format!(
        "subnet {subnet} leaves no room for containers beside {proxy_ip} and {doors}"
    ))
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

/// The address pools of the network: IPv4, and IPv6 with its container range.
fn ipam_pools(plan: &NetworkPlan) -> Vec<IpamConfig> {
    let mut pools = vec![IpamConfig {
        subnet: Some(plan.subnet.to_string()),
        gateway: Some(plan.gateway.to_string()),
        ip_range: Some(plan.containers.to_string()),
        ..Default::default()
    }];
    if let Some(ipv6) = &plan.ipv6 {
        pools.push(IpamConfig {
            subnet: Some(ipv6.subnet.to_string()),
            gateway: Some(ipv6.gateway.to_string()),
            ip_range: Some(ipv6.containers.to_string()),
            ..Default::default()
        });
    }
    pools
}

/// "169.254.0.0/16" or "169.254.0.0/16 and fd00:ec2::/64".
fn plan_subnets(plan: &NetworkPlan) -> String {
    match &plan.ipv6 {
        Some(ipv6) => format!("{} and {}", plan.subnet, ipv6.subnet),
        None => plan.subnet.to_string(),
    }
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
        let pools = Pools::of(network.ipam.as_ref());
        if name == plan.name {
            if !is_managed(network.labels.as_ref()) {
                return Err(DockerError::NetworkNameTaken {
                    name,
                    why: "and was not created by imds-spoof".to_string(),
                });
            }
            if !pools.fit(plan) {
                return Err(DockerError::NetworkNameTaken {
                    name,
                    why: format!(
                        "with {} (an earlier configuration; this one wants {}); `imds-spoof down` removes it",
                        pools.describe(),
                        Pools::describe_plan(plan)
                    ),
                });
            }
            if !pools.reserve(plan) {
                return Err(DockerError::NetworkNameTaken {
                    name,
                    why: format!(
                        "without the address range that keeps {} and {DOOR_BLOCK} from application containers (made by an older imds-spoof: its containers take addresses from {}, this one from {}); `imds-spoof down` removes it and the next start makes it anew",
                        plan.proxy_ip,
                        describe_ranges(&pools.ranges),
                        plan.containers
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
        if let Some(theirs) = pools.v4.iter().find(|(s, _)| s.overlaps(&plan.subnet)) {
            return Err(DockerError::SubnetTaken {
                subnet: plan.subnet.to_string(),
                remedy: subnet_remedy(plan, Some((&name, &theirs.0))),
                network: name,
                their_subnet: theirs.0.to_string(),
            });
        }
        let Some(ipv6) = &plan.ipv6 else {
            continue;
        };
        if let Some((theirs, _)) = pools.v6.iter().find(|(s, _)| s.overlaps(&ipv6.subnet)) {
            return Err(DockerError::SubnetTaken {
                subnet: ipv6.subnet.to_string(),
                remedy: ipv6_remedy(ipv6, &name, theirs),
                network: name,
                their_subnet: theirs.to_string(),
            });
        }
    }
    Ok(ours)
}

/// A network's address pools by family, each with its gateway, and the containers'
/// ranges (`ip-range`, as written).
struct Pools {
    v4: Vec<(Subnet, Option<Ipv4Addr>)>,
    v6: Vec<(Subnet6, Option<Ipv6Addr>)>,
    ranges: Vec<String>,
}

impl Pools {
    fn of(ipam: Option<&Ipam>) -> Pools {
        let mut pools = Pools {
            v4: Vec::new(),
            v6: Vec::new(),
            ranges: Vec::new(),
        };
        let configs = ipam.and_then(|ipam| ipam.config.as_ref());
        for config in configs.into_iter().flatten() {
            let Some(subnet) = config.subnet.as_deref() else {
                continue;
            };
            let gateway = config.gateway.as_deref();
            pools
                .ranges
                .extend(config.ip_range.clone().filter(|range| !range.is_empty()));
            if let Ok(subnet) = Subnet::parse(subnet) {
                pools
                    .v4
                    .push((subnet, gateway.and_then(|g| g.parse().ok())));
            } else if let Ok(subnet) = Subnet6::parse(subnet) {
                pools
                    .v6
                    .push((subnet, gateway.and_then(|g| g.parse().ok())));
            }
        }
        pools
    }

    /// Exactly the pools the plan makes: a network made with IPv6 is not reused without
    /// it, nor one without IPv6 when it is wanted.
    fn fit(&self, plan: &NetworkPlan) -> bool {
        let v4 = self.v4 == [(plan.subnet, Some(plan.gateway))];
        let v6 = match &plan.ipv6 {
            Some(ipv6) => self.v6 == [(ipv6.subnet, Some(ipv6.gateway))],
            None => self.v6.is_empty(),
        };
        v4 && v6
    }

    /// The containers' ranges are the plan's: a network made before the door addresses
    /// were reserved lets Docker hand them to application containers.
    fn reserve(&self, plan: &NetworkPlan) -> bool {
        let mut wanted = vec![plan.containers.to_string()];
        wanted.extend(plan.ipv6.as_ref().map(|ipv6| ipv6.containers.to_string()));
        let mut ranges = self.ranges.clone();
        ranges.sort();
        wanted.sort();
        ranges == wanted
    }

    fn describe(&self) -> String {
        let v4 = self.v4.iter().map(|(s, g)| describe_pool(s, g.as_ref()));
        let v6 = self.v6.iter().map(|(s, g)| describe_pool(s, g.as_ref()));
        let all: Vec<String> = v4.chain(v6).collect();
        if all.is_empty() {
            "no subnet".to_string()
        } else {
            format!("subnet {}", all.join(", "))
        }
    }

    fn describe_plan(plan: &NetworkPlan) -> String {
        let v4 = format!("{} gateway {}", plan.subnet, plan.gateway);
        match &plan.ipv6 {
            Some(ipv6) => format!("{v4}, {}", ipv6.describe()),
            None => format!("{v4} without IPv6"),
        }
    }
}

fn describe_ranges(ranges: &[String]) -> String {
    if ranges.is_empty() {
        "the whole subnet".to_string()
    } else {
        ranges.join(" and ")
    }
}

fn describe_pool(
    subnet: &impl std::fmt::Display,
    gateway: Option<&impl std::fmt::Display>,
) -> String {
    match gateway {
        Some(gateway) => format!("{subnet} gateway {gateway}"),
        None => subnet.to_string(),
    }
}

/// Another network's IPv6 subnet overlaps ours: ours is fixed (SDKs know only
/// fd00:ec2::254), so the other one has to go, or IPv6 has to stay off.
fn ipv6_remedy(ipv6: &Ipv6Plan, name: &str, theirs: &Subnet6) -> String {
    let holds = if theirs.contains(ipv6.proxy_ip) {
        format!("it holds {}, which only one network can: ", ipv6.proxy_ip)
    } else {
        String::new()
    };
    format!(
        "{holds}remove it (`docker network rm {name}`, after stopping the containers using it), or set [network] ipv6 = false"
    )
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
            "{remove}, or give imds-spoof a smaller subnet that contains {} and {DOOR_BLOCK} (the ECS and EKS doors) and avoids it, e.g. [network] subnet = \"169.254.168.0/22\", gateway = \"169.254.168.1\" in the configuration",
            plan.proxy_ip
        ),
    }
}

/// Can the engine make an IPv6 network at all? Creates a small labelled one with a random
/// unique-local /64 (and an IPv4 pool of the engine's choosing, internal: no routes out)
/// and removes it again. For `doctor`, before our own network exists.
pub async fn try_ipv6_network(engine: &Engine, run_id: &str) -> Result<(), DockerError> {
    let name = format!("imds-spoof-ipv6-check-{run_id}");
    let subnet = random_ula_subnet();
    let mut labels = run_labels(run_id);
    labels.insert(LABEL_PART.to_string(), "ipv6-check".to_string());
    let request = NetworkCreateRequest {
        name: name.clone(),
        driver: Some("bridge".to_string()),
        internal: Some(true),
        enable_ipv6: Some(true),
        ipam: Some(Ipam {
            driver: Some("default".to_string()),
            config: Some(vec![IpamConfig {
                subnet: Some(subnet.to_string()),
                ..Default::default()
            }]),
            options: None,
        }),
        labels: Some(labels),
        ..Default::default()
    };
    let created = engine.docker.create_network(request).await.map_err(|err| {
        DockerError::Ipv6Unsupported {
            network: name.clone(),
            reason: err.to_string(),
        }
    })?;
    engine
        .docker
        .remove_network(&created.id)
        .await
        .map_err(api(format!("removing the check network {name}")))
}

/// fdXX:XXXX:XXXX:XXXX::/64 with random bits: collides with no one's network in practice.
fn random_ula_subnet() -> Subnet6 {
    let bits: u64 = rand::random();
    let high = (0xfd_u64 << 56) | (bits >> 8);
    Subnet6 {
        base: Ipv6Addr::from(u128::from(high) << 64),
        prefix: 64,
    }
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

    #[test]
    fn ipv6_is_off_by_default_and_reserves_its_addresses_when_on() {
        let mut settings = NetworkSettings::default();
        let plan = NetworkPlan::from_settings(&settings).unwrap();
        assert_eq!(plan.ipv6, None);
        assert_eq!(ipam_pools(&plan).len(), 1, "no IPv6 pool unless asked");
        settings.ipv6 = true;
        let plan = NetworkPlan::from_settings(&settings).unwrap();
        let ipv6 = plan.ipv6.clone().unwrap();
        assert_eq!(ipv6.proxy_ip, "fd00:ec2::254".parse::<Ipv6Addr>().unwrap());
        for reserved in [ipv6.gateway, ipv6.proxy_ip, EKS_IPV6] {
            assert!(ipv6.subnet.contains(reserved), "{reserved}");
            assert!(!ipv6.containers.contains(reserved), "{reserved}");
        }
        let pools = ipam_pools(&plan);
        assert_eq!(pools[1].subnet.as_deref(), Some("fd00:ec2::/64"));
        assert_eq!(pools[1].gateway.as_deref(), Some("fd00:ec2::1"));
        assert_eq!(pools[1].ip_range.as_deref(), Some("fd00:ec2::1:0/112"));
    }

    #[test]
    fn the_check_network_uses_a_unique_local_64() {
        let subnet = random_ula_subnet();
        assert_eq!(subnet.prefix, 64);
        assert_eq!(subnet.base.segments()[0] >> 8, 0xfd, "{subnet}");
        assert_eq!(Subnet6::parse(&subnet.to_string()), Ok(subnet));
    }

    #[test]
    fn a_network_is_reused_only_with_the_same_families() {
        let mut settings = NetworkSettings::default();
        let v4_only = NetworkPlan::from_settings(&settings).unwrap();
        settings.ipv6 = true;
        let dual = NetworkPlan::from_settings(&settings).unwrap();
        let ipam = |plan: &NetworkPlan| Ipam {
            config: Some(ipam_pools(plan)),
            ..Default::default()
        };
        let made_v4 = Pools::of(Some(&ipam(&v4_only)));
        let made_dual = Pools::of(Some(&ipam(&dual)));
        assert!(made_v4.fit(&v4_only) && made_dual.fit(&dual));
        assert!(!made_v4.fit(&dual), "IPv6 wanted, network has none");
        assert!(!made_dual.fit(&v4_only), "IPv6 off, network has it");
        assert_eq!(
            made_dual.describe(),
            "subnet 169.254.0.0/16 gateway 169.254.0.1, fd00:ec2::/64 gateway fd00:ec2::1"
        );
    }
}
