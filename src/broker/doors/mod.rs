//! The container credential doors beside IMDS (docs/architecture.md, "Three doors", docs/doors.md): ECS task
//! credentials (169.254.170.2) and EKS Pod Identity (169.254.170.23, [fd00:ec2::23]).
//!
//! Which door a request came through: behind the proxy, the address the caller connected
//! to, which the proxy names in [`DOOR_HEADER`] (trusted only with the proxy's secret, like
//! the caller header: every door admits a proxied request by that secret); on `serve`'s
//! loopback, where every door shares one address, the path (`/v1/credentials` EKS,
//! `/v2/credentials…` and `/v4…` ECS). IMDS paths all start with a version, so none is
//! taken.

// As in the IMDS handler: a step's error is the answer that ends the exchange, moved once.
#![allow(clippy::result_large_err)]

mod credentials;
pub(super) mod ecs;
pub(super) mod eks;
mod faults;
pub(crate) mod keys;
pub mod pod_token;
mod replies;
pub mod task_metadata;
pub mod task_metadata_source;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use axum::http::HeaderMap;

use super::access::{self, AccessPolicy, Caller, Refusal};
use super::exchange::Exchange;
use crate::broker::outcome::Outcome;
use crate::config::Config;

pub use keys::{new_container_token, DoorKeys};
pub use pod_token::{PodTokenKey, ServiceAccount};
pub use task_metadata_source::{
    TaskMetadataError, TaskMetadataFuture, TaskMetadataRequest, TaskMetadataSource,
};

pub use crate::broker::access::DOOR_HEADER;
/// The ECS agent's address (task credentials and task metadata).
pub const ECS_ADDRESS: Ipv4Addr = Ipv4Addr::new(169, 254, 170, 2);
/// The EKS Pod Identity agent's addresses.
pub const EKS_ADDRESS: Ipv4Addr = Ipv4Addr::new(169, 254, 170, 23);
pub const EKS_ADDRESS_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23);

/// The path EKS Pod Identity answers on.
pub const EKS_PATH: &str = "/v1/credentials";
/// The prefix of ECS task credentials paths.
pub const ECS_CREDENTIALS_PATH: &str = "/v2/credentials";

use crate::config::Door;

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
fn switched_off(config: &Config, exchange: &mut Exchange) -> Option<Outcome> {
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

/// Admits a request whose Host its door has already checked by the door's own rule: the
/// rest of the access policy (the proxy's secret and caller header, the host-caller rule)
/// as for IMDS. The Host header is set aside for the check and put back.
fn admit_checked_host(
    policy: &AccessPolicy,
    config: &Config,
    exchange: &mut Exchange,
) -> Result<Caller, Refusal> {
    let host = exchange.headers.remove(axum::http::header::HOST);
    let admitted = access::admit(
        policy,
        exchange.peer,
        exchange.local,
        &exchange.headers,
        config.broker.allow_host,
    );
    if let Some(host) = host {
        exchange.headers.insert(axum::http::header::HOST, host);
    }
    admitted
}

/// `host` without its port and IPv6 brackets, as the EKS agent compares it.
fn bare_host(host: &str) -> &str {
    let without_port = if let Some(rest) = host.strip_prefix('[') {
        rest.split_once(']').map_or(host, |(inside, _)| inside)
    } else {
        match host.split_once(':') {
            // One colon: name:port. More: an IPv6 address without brackets.
            Some((name, port)) if !port.contains(':') => name,
            _ => host,
        }
    };
    without_port
}

/// The port of a Host header, if it names one.
fn host_port(host: &str) -> Option<u16> {
    let after = match host.strip_prefix('[') {
        Some(rest) => rest.split_once(']')?.1.strip_prefix(':')?,
        None => {
            let (_, port) = host.split_once(':')?;
            if port.contains(':') {
                return None;
            }
            port
        }
    };
    after.parse().ok()
}

/// Does `host` name `serve`'s own loopback address (`127.0.0.1:PORT`, `localhost:PORT`)?
fn names_loopback_listener(
    policy: &AccessPolicy,
    local: Option<std::net::SocketAddr>,
    host: &str,
) -> bool {
    let AccessPolicy::Loopback { listen } = policy else {
        return false;
    };
    let listen = match local {
        Some(local) if listen.port() == 0 => local,
        _ => *listen,
    };
    let name = bare_host(host);
    host_port(host) == Some(listen.port())
        && (name.eq_ignore_ascii_case("localhost")
            || name.parse::<IpAddr>().is_ok_and(|ip| ip == listen.ip()))
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

    #[test]
    fn hosts_lose_port_and_brackets_like_the_agent_strips_them() {
        assert_eq!(bare_host("169.254.170.23:80"), "169.254.170.23");
        assert_eq!(bare_host("[fd00:ec2::23]:80"), "fd00:ec2::23");
        assert_eq!(bare_host("[fd00:ec2::23]"), "fd00:ec2::23");
        assert_eq!(bare_host("fd00:ec2::23"), "fd00:ec2::23");
        assert_eq!(host_port("[fd00:ec2::23]:8080"), Some(8080));
        assert_eq!(host_port("localhost:1338"), Some(1338));
        assert_eq!(host_port("fd00:ec2::23"), None);
    }
}
