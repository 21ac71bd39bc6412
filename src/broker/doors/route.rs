//! Which door a request came through: behind the proxy, the address the caller connected
//! to, which the proxy names in [`DOOR_HEADER`] (trusted only with the proxy's secret, like
//! the caller header: every door admits a proxied request by that secret); on `serve`'s
//! loopback, where every door shares one address, the path (`/v1/credentials` EKS,
//! `/v2/credentials…` and `/v4…` ECS). IMDS paths all start with a version, so none is
//! taken.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use axum::http::HeaderMap;

use super::task_metadata;
use crate::broker::access::{AccessPolicy, DOOR_HEADER};
use crate::broker::exchange::Exchange;
use crate::broker::outcome::Outcome;
use crate::config::{Config, Door};

use super::replies;

/// The ECS agent's address (task credentials and task metadata).
pub const ECS_ADDRESS: Ipv4Addr = Ipv4Addr::new(169, 254, 170, 2);
/// The EKS Pod Identity agent's addresses.
pub const EKS_ADDRESS: Ipv4Addr = Ipv4Addr::new(169, 254, 170, 23);
pub const EKS_ADDRESS_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23);

/// The path EKS Pod Identity answers on.
pub const EKS_PATH: &str = "/v1/credentials";
/// The prefix of ECS task credentials paths.
pub const ECS_CREDENTIALS_PATH: &str = "/v2/credentials";

/// The door at `ip`, an address the caller connected to.
fn door_at(ip: IpAddr) -> Door {
    match ip {
        IpAddr::V4(ip) if ip == ECS_ADDRESS => Door::Ecs,
        IpAddr::V4(ip) if ip == EKS_ADDRESS => Door::Eks,
        IpAddr::V6(ip) if ip == EKS_ADDRESS_V6 => Door::Eks,
        _ => Door::Imds,
    }
}

/// The door a loopback request's path belongs to.
fn door_of_path(path: &str) -> Door {
    if path == EKS_PATH {
        Door::Eks
    } else if path
        .strip_prefix(ECS_CREDENTIALS_PATH)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        || task_metadata::is_task_metadata_path(path)
    {
        Door::Ecs
    } else {
        Door::Imds
    }
}

/// Which door a request came through (module documentation). A proxied request without
/// the header (a proxy from before the doors) is IMDS's.
pub fn door_of(policy: &AccessPolicy, headers: &HeaderMap, path: &str) -> Door {
    match policy {
        AccessPolicy::Proxy { .. } => headers
            .get(DOOR_HEADER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| {
                value
                    .trim()
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<IpAddr>()
                    .ok()
            })
            .map_or(Door::Imds, door_at),
        AccessPolicy::Loopback { .. } => door_of_path(path),
    }
}

/// A door switched off in `[doors]` has no proxy container at its address; a request that
/// still reaches it (on `serve`'s loopback, or racing the container's removal) finds no
/// such path, as on a host without that agent: Go's 404, the reason in the record.
pub(crate) fn switched_off(config: &Config, exchange: &mut Exchange) -> Option<Outcome> {
    let on = match exchange.door {
        Door::Imds => true,
        Door::Ecs => config.doors.ecs,
        Door::Eks => config.doors.eks,
    };
    if on {
        return None;
    }
    let name = exchange.door.as_str();
    exchange.provider_error = Some(format!(
        "the {} door is off ([doors] {name} = false)",
        name.to_uppercase()
    ));
    Some(Outcome::Answer(replies::go_not_found()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn proxied(value: Option<&str>) -> Door {
        let policy = AccessPolicy::Proxy {
            proxy_ip: None,
            secret: "s".into(),
            host_ips: Vec::new(),
        };
        let mut headers = HeaderMap::new();
        if let Some(value) = value {
            headers.insert(DOOR_HEADER, HeaderValue::from_str(value).unwrap());
        }
        door_of(&policy, &headers, "/v1/credentials")
    }

    #[test]
    fn the_proxy_names_the_door_by_address() {
        assert_eq!(proxied(Some("169.254.170.2")), Door::Ecs);
        assert_eq!(proxied(Some("169.254.170.23")), Door::Eks);
        assert_eq!(proxied(Some("fd00:ec2::23")), Door::Eks);
        assert_eq!(proxied(Some("[fd00:ec2::23]")), Door::Eks);
        assert_eq!(proxied(Some("169.254.169.254")), Door::Imds);
        // Today's proxy sends no header: everything is IMDS, whatever the path.
        assert_eq!(proxied(None), Door::Imds);
        assert_eq!(proxied(Some("garbage")), Door::Imds);
    }

    #[test]
    fn loopback_goes_by_path_and_ignores_the_header() {
        let policy = AccessPolicy::Loopback {
            listen: "127.0.0.1:1338".parse().unwrap(),
        };
        let mut headers = HeaderMap::new();
        headers.insert(DOOR_HEADER, HeaderValue::from_static("169.254.170.23"));
        let door = |path| door_of(&policy, &headers, path);
        assert_eq!(door("/v1/credentials"), Door::Eks);
        assert_eq!(door("/v1/credentials/"), Door::Imds);
        assert_eq!(door("/v2/credentials"), Door::Ecs);
        assert_eq!(door("/v2/credentials/worker"), Door::Ecs);
        assert_eq!(door("/v2/credentialsx"), Door::Imds);
        assert_eq!(door("/v4/self/task"), Door::Ecs);
        assert_eq!(door("/v4"), Door::Ecs);
        assert_eq!(door("/v40"), Door::Imds);
        assert_eq!(door("/latest/meta-data/"), Door::Imds);
    }
}
