//! The broker's caller directory for this run: which addresses can be containers at all,
//! and for those, what the Docker layer's book says.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};

use super::Parts;
use crate::broker::{CallerDirectory, CallerInfo};
use crate::config::ContainerFacts;
use crate::docker::{CallerBook, Holder, Lookup, NetworkPlan};

/// Addresses on our network that belong to no application container.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Scope {
    plan: NetworkPlan,
}

/// What a caller's address alone says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Inside a subnet of ours: ask the book.
    MayBeContainer,
    /// Loopback, the host through a gateway, anything off our network.
    NotAContainer,
    /// An IPv6 address the proxy hears on our bridge that is not from our subnet: the
    /// link-local one every container also has (it can pick it as its source without any
    /// privilege) or one it made up. The engine names no container by it, and answering it
    /// as "not a container" would let a container shed its own identity.
    OffSubnetIpv6,
}

impl Scope {
    /// Only an address inside our subnets, other than the gateways (the host) and the
    /// proxy, can be an application container.
    fn place(&self, ip: IpAddr) -> Place {
        let plan = &self.plan;
        match ip {
            IpAddr::V4(v4) => {
                if plan.subnet.contains(v4) && v4 != plan.gateway && v4 != plan.proxy_ip {
                    Place::MayBeContainer
                } else {
                    Place::NotAContainer
                }
            }
            IpAddr::V6(v6) => {
                let Some(ipv6) = &plan.ipv6 else {
                    // No IPv6 on the network: only this host (::1 to `serve`) calls over it.
                    return Place::NotAContainer;
                };
                if v6.is_loopback() || v6 == ipv6.gateway || v6 == ipv6.proxy_ip {
                    Place::NotAContainer
                } else if ipv6.subnet.contains(v6) {
                    Place::MayBeContainer
                } else {
                    Place::OffSubnetIpv6
                }
            }
        }
    }
}

pub(crate) struct Directory {
    book: Arc<CallerBook>,
    scope: RwLock<Option<Scope>>,
    parts: Parts,
    /// The last unresolved reason told to the user, so a flood says it once.
    last_warning: Mutex<Option<String>>,
}

impl Directory {
    pub fn new(book: Arc<CallerBook>, parts: Parts) -> Arc<Directory> {
        Arc::new(Directory {
            book,
            scope: RwLock::new(None),
            parts,
            last_warning: Mutex::new(None),
        })
    }

    /// Callers are looked up on this network from now on.
    pub fn set_network(&self, plan: Option<NetworkPlan>) {
        *self.scope.write().unwrap_or_else(|p| p.into_inner()) = plan.map(|plan| Scope { plan });
    }

    fn place(&self, ip: IpAddr) -> Place {
        self.scope
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map_or(Place::NotAContainer, |scope| scope.place(ip))
    }

    fn warn_once(&self, ip: IpAddr, reason: &str) {
        let mut last = self.last_warning.lock().unwrap_or_else(|p| p.into_inner());
        if last.as_deref() != Some(reason) {
            *last = Some(reason.to_string());
            self.parts.warn_unresolved(format!(
                "caller {ip} on the network cannot be named ({reason}): answered as [containers] unresolved says"
            ));
        }
    }
}

fn container(holder: &Holder) -> CallerInfo {
    CallerInfo::Container {
        name: holder.name.clone(),
        facts: ContainerFacts {
            name: Some(holder.name.clone()),
            compose_service: holder.compose_service.clone(),
            identity_label: holder.identity_label.clone(),
        },
    }
}

impl CallerDirectory for Directory {
    fn resolve(&self, ip: IpAddr) -> Pin<Box<dyn Future<Output = CallerInfo> + Send + '_>> {
        match self.place(ip) {
            Place::MayBeContainer => {}
            // Loopback, the host through the gateway, anything off our network: no lookup.
            Place::NotAContainer => return Box::pin(std::future::ready(CallerInfo::NotAContainer)),
            Place::OffSubnetIpv6 => {
                return Box::pin(std::future::ready(CallerInfo::Unresolved {
                    reason: "an IPv6 address outside the network's subnet (link-local?): no container is known by it".to_string(),
                }))
            }
        }
        if let Some(holder) = self.book.known(ip) {
            return Box::pin(std::future::ready(container(&holder)));
        }
        Box::pin(async move {
            match self.book.resolve(ip).await {
                Lookup::Container(holder) => container(&holder),
                Lookup::Nobody => CallerInfo::Unresolved {
                    reason: "no container holds this address".to_string(),
                },
                Lookup::Unreachable(reason) => {
                    self.warn_once(ip, &reason);
                    CallerInfo::Unresolved { reason }
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(ipv6: bool) -> Scope {
        let settings = crate::config::NetworkSettings {
            ipv6,
            ..Default::default()
        };
        Scope {
            plan: NetworkPlan::from_settings(&settings).unwrap(),
        }
    }

    #[test]
    fn only_addresses_inside_the_subnet_can_be_containers() {
        for ipv6 in [false, true] {
            let scope = scope(ipv6);
            for (ip, expected) in [
                ("169.254.0.2", Place::MayBeContainer),
                ("169.254.200.7", Place::MayBeContainer),
                ("169.254.0.1", Place::NotAContainer),
                ("169.254.169.254", Place::NotAContainer),
                ("127.0.0.1", Place::NotAContainer),
                ("10.0.0.5", Place::NotAContainer),
                ("::1", Place::NotAContainer),
            ] {
                let ip: IpAddr = ip.parse().unwrap();
                assert_eq!(scope.place(ip), expected, "{ip} (ipv6 {ipv6})");
            }
        }
    }

    #[test]
    fn ipv6_callers_are_containers_only_inside_the_ipv6_subnet() {
        let dual = scope(true);
        for (ip, expected) in [
            ("fd00:ec2::1:0", Place::MayBeContainer),
            ("fd00:ec2::1:2", Place::MayBeContainer),
            ("fd00:ec2::1", Place::NotAContainer),
            ("fd00:ec2::254", Place::NotAContainer),
            ("fe80::42:a9ff:fefe:2", Place::OffSubnetIpv6),
            ("fd00::2", Place::OffSubnetIpv6),
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(dual.place(ip), expected, "{ip}");
        }
        // Without IPv6 on the network, no IPv6 caller comes through the proxy.
        let v4_only = scope(false);
        let ip: IpAddr = "fd00:ec2::1:2".parse().unwrap();
        assert_eq!(v4_only.place(ip), Place::NotAContainer);
    }
}
