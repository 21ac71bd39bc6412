//! Is our network there and usable, and is anything else in its way? Reuse needs the same
//! pools and families; an overlap is explained with what to do about it. Changes nothing.

use std::net::{Ipv4Addr, Ipv6Addr};

use bollard::models::Ipam;

use super::ipv6::Ipv6Plan;
use super::plan::{NetworkPlan, DOOR_BLOCK};
use crate::docker::subnet::{Subnet, Subnet6};
use crate::docker::{api, is_managed, DockerError, Engine, LABEL_IP_RANGES};

/// Our network as found or made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkState {
    pub id: String,
    pub name: String,
    /// True when this call created it.
    pub created: bool,
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
        let mut pools = Pools::of(network.ipam.as_ref());
        if pools.ranges.is_empty() && is_managed(network.labels.as_ref()) {
            // The engine left the ranges out of its answer (Podman 4): the ones we
            // created the network with, from its label.
            let labelled = network
                .labels
                .as_ref()
                .and_then(|labels| labels.get(LABEL_IP_RANGES));
            pools.ranges.extend(
                labelled
                    .into_iter()
                    .flat_map(|ranges| ranges.split(','))
                    .filter(|range| !range.is_empty())
                    .map(str::to_string),
            );
        }
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
pub(super) fn subnet_remedy(plan: &NetworkPlan, other: Option<(&str, &Subnet)>) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::NetworkSettings;
    use crate::docker::net::plan::ipam_pools;

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
