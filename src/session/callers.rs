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

impl Scope {
    /// Only an address inside our subnet, other than the gateway (the host) and the
    /// proxy, can be an application container.
    fn may_be_container(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(v4) => {
                self.plan.subnet.contains(v4) && v4 != self.plan.gateway && v4 != self.plan.proxy_ip
            }
            // IPv6 networks are not made yet: nothing of ours answers there.
            IpAddr::V6(_) => false,
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

    fn may_be_container(&self, ip: IpAddr) -> bool {
        self.scope
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .is_some_and(|scope| scope.may_be_container(ip))
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
        // Loopback, the host through the gateway, anything off our network: no lookup.
        if !self.may_be_container(ip) {
            return Box::pin(std::future::ready(CallerInfo::NotAContainer));
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

    fn scope() -> Scope {
        let settings = crate::config::NetworkSettings::default();
        Scope {
            plan: NetworkPlan::from_settings(&settings).unwrap(),
        }
    }

    #[test]
    fn only_addresses_inside_the_subnet_can_be_containers() {
        let scope = scope();
        for (ip, expected) in [
            ("169.254.0.2", true),
            ("169.254.200.7", true),
            ("169.254.0.1", false),
            ("169.254.169.254", false),
            ("127.0.0.1", false),
            ("10.0.0.5", false),
            ("::1", false),
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(scope.may_be_container(ip), expected, "{ip}");
        }
    }
}
