//! The proxy's three faces: IMDS, ECS and EKS each answer from an nginx container of their
//! own (the same image, configuration and broker socket), because a Docker endpoint holds
//! one IPv4 address per network. nginx names the address a caller connected to in the
//! door header, which it always overwrites, so a container cannot pick another door.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::net::{NetworkPlan, EKS_IPV6};
use super::{DockerError, PROXY_NAME};
use crate::broker::doors::{ECS_ADDRESS, EKS_ADDRESS};
use crate::config::Door;
use crate::config::DoorSettings;

/// The ECS door's container.
pub const ECS_PROXY_NAME: &str = "imds-spoof-ecs";
/// The EKS Pod Identity door's container.
pub const EKS_PROXY_NAME: &str = "imds-spoof-eks";
/// Every proxy container a run may create, IMDS's first.
pub const PROXY_NAMES: [&str; 3] = [PROXY_NAME, ECS_PROXY_NAME, EKS_PROXY_NAME];

/// One proxy container: the door it serves and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyEndpoint {
    pub door: Door,
    pub name: &'static str,
    pub ipv4: Ipv4Addr,
    /// With `[network] ipv6 = true`: fd00:ec2::254 for IMDS, fd00:ec2::23 for EKS (no SDK
    /// knows an IPv6 twin of the ECS address).
    pub ipv6: Option<Ipv6Addr>,
}

impl ProxyEndpoint {
    /// "169.254.170.23 and [fd00:ec2::23]".
    pub fn addresses(&self) -> String {
        match self.ipv6 {
            Some(ipv6) => format!("{} and [{ipv6}]", self.ipv4),
            None => self.ipv4.to_string(),
        }
    }

    /// The URLs SDKs are pointed at: "http://169.254.170.2".
    pub fn urls(&self) -> Vec<String> {
        let mut urls = vec![format!("http://{}", self.ipv4)];
        urls.extend(self.ipv6.map(|ip| format!("http://[{ip}]")));
        urls
    }
}

/// The container name of a door's proxy.
pub fn proxy_name(door: Door) -> &'static str {
    match door {
        Door::Imds => PROXY_NAME,
        Door::Ecs => ECS_PROXY_NAME,
        Door::Eks => EKS_PROXY_NAME,
    }
}

/// The door a proxy container serves, from its name.
pub fn door_of_name(name: &str) -> Option<Door> {
    [Door::Imds, Door::Ecs, Door::Eks]
        .into_iter()
        .find(|door| proxy_name(*door) == name)
}

/// Where a door answers on `plan`'s network, whether it is on or not.
pub fn door_endpoint(plan: &NetworkPlan, door: Door) -> ProxyEndpoint {
    let ipv6 = plan.ipv6.as_ref();
    let (ipv4, ipv6) = match door {
        Door::Imds => (plan.proxy_ip, ipv6.map(|ipv6| ipv6.proxy_ip)),
        Door::Ecs => (ECS_ADDRESS, None),
        Door::Eks => (EKS_ADDRESS, ipv6.map(|_| EKS_IPV6)),
    };
    ProxyEndpoint {
        door,
        name: proxy_name(door),
        ipv4,
        ipv6,
    }
}

/// The proxy containers the configuration asks for: IMDS always, each door when on. A
/// door whose address the subnet does not hold cannot be served: say what to change.
pub fn proxy_endpoints(
    plan: &NetworkPlan,
    doors: &DoorSettings,
) -> Result<Vec<ProxyEndpoint>, DockerError> {
    let mut endpoints = vec![door_endpoint(plan, Door::Imds)];
    for (door, on) in [(Door::Ecs, doors.ecs), (Door::Eks, doors.eks)] {
        if !on {
            continue;
        }
        let endpoint = door_endpoint(plan, door);
        if !plan.holds(IpAddr::V4(endpoint.ipv4)) {
            return Err(DockerError::BadNetworkSettings(format!(
                "the {} door answers at {}, which subnet {} does not hold: use a subnet that holds {} and 169.254.170.0/24 (the default 169.254.0.0/16, or 169.254.168.0/22 with gateway 169.254.168.1), or set [doors] {} = false",
                door.as_str().to_uppercase(),
                endpoint.ipv4,
                plan.subnet,
                plan.proxy_ip,
                door.as_str()
            )));
        }
        endpoints.push(endpoint);
    }
    Ok(endpoints)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::NetworkSettings;

    #[test]
    fn every_door_has_its_container_and_addresses() {
        let mut settings = NetworkSettings::default();
        let plan = NetworkPlan::from_settings(&settings).unwrap();
        let all = proxy_endpoints(&plan, &DoorSettings::default()).unwrap();
        let shown: Vec<(&str, String)> = all.iter().map(|e| (e.name, e.addresses())).collect();
        assert_eq!(
            shown,
            [
                ("imds-spoof-proxy", "169.254.169.254".to_string()),
                ("imds-spoof-ecs", "169.254.170.2".to_string()),
                ("imds-spoof-eks", "169.254.170.23".to_string()),
            ]
        );
        for endpoint in &all {
            assert!(!plan.containers.contains(endpoint.ipv4), "{endpoint:?}");
            assert_eq!(door_of_name(endpoint.name), Some(endpoint.door));
        }
        let off = DoorSettings {
            ecs: false,
            eks: true,
        };
        let some = proxy_endpoints(&plan, &off).unwrap();
        assert_eq!(some.len(), 2);
        assert_eq!(some[1].door, Door::Eks);

        settings.ipv6 = true;
        let plan = NetworkPlan::from_settings(&settings).unwrap();
        let all = proxy_endpoints(&plan, &DoorSettings::default()).unwrap();
        assert_eq!(all[0].addresses(), "169.254.169.254 and [fd00:ec2::254]");
        assert_eq!(all[1].addresses(), "169.254.170.2");
        assert_eq!(all[2].addresses(), "169.254.170.23 and [fd00:ec2::23]");
        assert_eq!(
            all[2].urls(),
            ["http://169.254.170.23", "http://[fd00:ec2::23]"]
        );
    }

    #[test]
    fn a_subnet_without_the_doors_block_needs_them_off() {
        let settings = NetworkSettings {
            subnet: "169.254.169.0/24".into(),
            gateway: Ipv4Addr::new(169, 254, 169, 1),
            ..NetworkSettings::default()
        };
        let plan = NetworkPlan::from_settings(&settings).unwrap();
        let err = proxy_endpoints(&plan, &DoorSettings::default()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("[doors] ecs = false"), "{text}");
        assert!(text.contains("169.254.168.0/22"), "{text}");
        let off = DoorSettings {
            ecs: false,
            eks: false,
        };
        assert_eq!(proxy_endpoints(&plan, &off).unwrap().len(), 1);
        // A /22 around both holds them all, and keeps them from containers.
        let settings = NetworkSettings {
            subnet: "169.254.168.0/22".into(),
            gateway: Ipv4Addr::new(169, 254, 168, 1),
            ..NetworkSettings::default()
        };
        let plan = NetworkPlan::from_settings(&settings).unwrap();
        assert_eq!(plan.containers.to_string(), "169.254.168.0/24");
        assert_eq!(
            proxy_endpoints(&plan, &DoorSettings::default())
                .unwrap()
                .len(),
            3
        );
    }
}
