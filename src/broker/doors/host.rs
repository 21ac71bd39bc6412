//! The Host rules the ECS and EKS doors check before the shared access policy: the
//! header's name and port as the agents compare them, and `serve`'s own listener.

use std::net::IpAddr;

use crate::broker::access::{self, AccessPolicy, Caller, Refusal};
use crate::broker::exchange::Exchange;
use crate::config::Config;

/// Admits a request whose Host its door has already checked by the door's own rule: the
/// rest of the access policy (the proxy's secret and caller header, the host-caller rule)
/// as for IMDS. The Host header is set aside for the check and put back.
pub(super) fn admit_checked_host(
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
pub(super) fn bare_host(host: &str) -> &str {
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
pub(super) fn host_port(host: &str) -> Option<u16> {
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
pub(super) fn names_loopback_listener(
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
