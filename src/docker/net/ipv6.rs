//! The network's IPv6 side: SDKs' fixed addresses (fd00:ec2::254, fd00:ec2::23) in a fixed
//! subnet, and `doctor`'s check that the engine can make an IPv6 network at all.

use std::net::Ipv6Addr;

use bollard::models::{Ipam, IpamConfig, NetworkCreateRequest};

use crate::docker::subnet::Subnet6;
use crate::docker::{api, run_labels, DockerError, Engine, LABEL_PART};

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
    pub(super) fn fixed() -> Result<Ipv6Plan, String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_check_network_uses_a_unique_local_64() {
        let subnet = random_ula_subnet();
        assert_eq!(subnet.prefix, 64);
        assert_eq!(subnet.base.segments()[0] >> 8, 0xfd, "{subnet}");
        assert_eq!(Subnet6::parse(&subnet.to_string()), Ok(subnet));
    }
}
