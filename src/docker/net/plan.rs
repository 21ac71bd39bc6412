//! The network the configuration asks for, checked for consistency: subnet, gateway, the
//! proxy's address, the containers' range kept clear of the doors, and its address pools.

use std::net::{IpAddr, Ipv4Addr};

use bollard::models::IpamConfig;

use super::ipv6::Ipv6Plan;
use crate::config::NetworkSettings;
use crate::docker::subnet::Subnet;
use crate::docker::DockerError;

/// The block of the ECS and EKS agents' addresses (169.254.170.2, .23): kept from
/// application containers whether or not the doors are on, so one can be switched on later.
pub(super) const DOOR_BLOCK: &str = "169.254.170.0/24";

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

/// The address pools of the network: IPv4, and IPv6 with its container range.
pub(super) fn ipam_pools(plan: &NetworkPlan) -> Vec<IpamConfig> {
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
pub(super) fn plan_subnets(plan: &NetworkPlan) -> String {
    match &plan.ipv6 {
        Some(ipv6) => format!("{} and {}", plan.subnet, ipv6.subnet),
        None => plan.subnet.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::net::ipv6::EKS_IPV6;
    use std::net::Ipv6Addr;

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
}
