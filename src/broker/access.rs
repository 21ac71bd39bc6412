//! Who may talk to the broker, and who the caller is.
//!
//! On loopback (`serve`) any local program may call, but the Host header must name us:
//! a web page using DNS rebinding would send its own host name. Behind the proxy only
//! the proxy may call, proving it with a per-run secret, and it names the caller in a
//! header that it always overwrites, so a container cannot pose as another.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use axum::http::HeaderMap;

use crate::config::ContainerFacts;

pub const CALLER_HEADER: &str = "x-imds-spoof-caller";
pub const SECRET_HEADER: &str = "x-imds-spoof-secret";
/// The header the proxy sets to the address the caller connected to (nginx `$server_addr`):
/// which door was asked. Trusted only with the secret, like the caller header.
pub const DOOR_HEADER: &str = "x-imds-spoof-door";
/// The address EC2 serves IMDS on; SDK requests carry it as Host.
pub const IMDS_ADDRESS: Ipv4Addr = Ipv4Addr::new(169, 254, 169, 254);
/// IMDS's IPv6 address (Nitro instances).
pub const IMDS_ADDRESS_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessPolicy {
    /// Callers on this machine; the Host header must be the listen address or IMDS's.
    Loopback { listen: SocketAddr },
    /// Only the proxy (from `proxy_ip` when known) carrying `secret`, for a Host that is
    /// IMDS's; a caller at one of `host_ips` (the host itself, through the network's IPv4
    /// or IPv6 gateway) only when the configuration allows the host.
    Proxy {
        proxy_ip: Option<IpAddr>,
        secret: String,
        host_ips: Vec<IpAddr>,
    },
}

/// Who a caller is, as far as choosing its identity goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallerInfo {
    /// Loopback, the host, anything that cannot be a container: the active identity.
    NotAContainer,
    /// The container holding the caller's address.
    Container { name: String, facts: ContainerFacts },
    /// On our network, but the engine cannot say who (why): `[containers] unresolved`.
    Unresolved { reason: String },
}

/// Maps caller addresses to containers (implemented by the session over Docker).
pub trait CallerDirectory: Send + Sync {
    /// Who holds `ip`; known callers answer at once, others may wait for the engine.
    fn resolve(
        &self,
        ip: IpAddr,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = CallerInfo> + Send + '_>>;
}

/// An admitted caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub ip: IpAddr,
    /// True when the request came through the proxy from a bridged container.
    pub via_proxy: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("Host header {0:?} is not this server (DNS rebinding?)")]
    ForeignHost(String),
    #[error("request from {0}, which is not the proxy")]
    NotFromProxy(IpAddr),
    #[error("request without the proxy's secret")]
    MissingSecret,
    #[error("proxy request without a valid caller header")]
    MissingCaller,
    #[error("Host header {0:?} is not an IMDS address (DNS rebinding?)")]
    NotImdsHost(String),
    #[error("the host itself ({0}) is not a caller unless [broker] allow_host = true")]
    HostCaller(IpAddr),
}

/// Admits a request from `peer` that reached `local` (None in-process).
pub fn admit(
    policy: &AccessPolicy,
    peer: SocketAddr,
    local: Option<SocketAddr>,
    headers: &HeaderMap,
    allow_host: bool,
) -> Result<Caller, Refusal> {
    match policy {
        AccessPolicy::Loopback { listen } => {
            // Listening on port 0, clients name the port actually bound.
            let listen = match local {
                Some(local) if listen.port() == 0 => local,
                _ => *listen,
            };
            if let Some(host) = headers.get(axum::http::header::HOST) {
                let host = host.to_str().unwrap_or("");
                if !host_names_us(host, listen) {
                    return Err(Refusal::ForeignHost(host.chars().take(100).collect()));
                }
            }
            Ok(Caller {
                ip: peer.ip(),
                via_proxy: false,
            })
        }
        AccessPolicy::Proxy {
            proxy_ip,
            secret,
            host_ips,
        } => {
            if proxy_ip.is_some_and(|proxy| proxy != peer.ip()) {
                return Err(Refusal::NotFromProxy(peer.ip()));
            }
            let presented = headers.get(SECRET_HEADER).map(|value| value.as_bytes());
            if !presented.is_some_and(|value| constant_time_eq(value, secret.as_bytes())) {
                return Err(Refusal::MissingSecret);
            }
            let ip = headers
                .get(CALLER_HEADER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().parse::<IpAddr>().ok())
                .ok_or(Refusal::MissingCaller)?;
            // A browser on the host reaches 169.254.169.254 through the bridge: its page
            // names its own host (rebinding), and the host is no container anyway.
            if let Some(host) = headers.get(axum::http::header::HOST) {
                let host = host.to_str().unwrap_or("");
                if !names_imds(host) {
                    return Err(Refusal::NotImdsHost(host.to_string()));
                }
            }
            if !allow_host && host_ips.contains(&ip) {
                return Err(Refusal::HostCaller(ip));
            }
            Ok(Caller {
                ip,
                via_proxy: true,
            })
        }
    }
}

/// Is `host` (from a Host header) the listen address, localhost on our port, or IMDS's address?
fn host_names_us(host: &str, listen: SocketAddr) -> bool {
    let (name, port) = split_host_port(host);
    let port_ok = |default: u16| port.unwrap_or(default) == listen.port();
    // Parsed rather than formatted: this runs on every request.
    let ip = name
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .ok();
    (ip == Some(listen.ip()) && port_ok(80))
        || (name.eq_ignore_ascii_case("localhost") && port_ok(80))
        || (ip == Some(IpAddr::V4(IMDS_ADDRESS))
            && (port.is_none() || port == Some(80) || port_ok(80)))
}

/// Is `host` one of the names SDKs and tools use for IMDS, on port 80?
fn names_imds(host: &str) -> bool {
    let (name, port) = split_host_port(host);
    if port.is_some_and(|port| port != 80) {
        return false;
    }
    let bare = name.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip == IpAddr::V4(IMDS_ADDRESS) || ip == IpAddr::V6(IMDS_ADDRESS_V6),
        Err(_) => {
            name.eq_ignore_ascii_case("instance-data")
                || name.eq_ignore_ascii_case("instance-data.ec2.internal")
        }
    }
}

/// `name[:port]` or `[v6]:port`. Byte searches: this runs on every request, and the
/// `char` pattern searchers cost more than the rest of admission.
fn split_host_port(host: &str) -> (&str, Option<u16>) {
    let bytes = host.as_bytes();
    let name_end = match bytes.iter().rposition(|&byte| byte == b']') {
        Some(bracket) => bracket + 1,
        None => match bytes.iter().rposition(|&byte| byte == b':') {
            Some(colon) => colon,
            None => return (host, None),
        },
    };
    let (name, rest) = host.split_at(name_end);
    (
        name,
        rest.strip_prefix(':').and_then(|port| port.parse().ok()),
    )
}

pub(super) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn loopback_checks_host() {
        let listen: SocketAddr = "127.0.0.1:1338".parse().unwrap();
        let policy = AccessPolicy::Loopback { listen };
        let peer: SocketAddr = "127.0.0.1:5555".parse().unwrap();
        for ok in ["127.0.0.1:1338", "localhost:1338", "169.254.169.254"] {
            assert!(
                admit(&policy, peer, None, &headers(&[("host", ok)]), false).is_ok(),
                "{ok}"
            );
        }
        for bad in ["evil.example:1338", "127.0.0.1:80", "127.0.0.1"] {
            assert!(
                admit(&policy, peer, None, &headers(&[("host", bad)]), false).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn host_and_port_are_split_as_written() {
        assert_eq!(split_host_port("127.0.0.1:1338"), ("127.0.0.1", Some(1338)));
        assert_eq!(
            split_host_port("169.254.169.254"),
            ("169.254.169.254", None)
        );
        assert_eq!(
            split_host_port("[fd00:ec2::254]:80"),
            ("[fd00:ec2::254]", Some(80))
        );
        assert_eq!(
            split_host_port("[fd00:ec2::254]"),
            ("[fd00:ec2::254]", None)
        );
        assert_eq!(split_host_port("localhost:x"), ("localhost", None));
        assert_eq!(split_host_port(""), ("", None));
    }

    #[test]
    fn loopback_on_port_zero_checks_the_bound_port() {
        let policy = AccessPolicy::Loopback {
            listen: "127.0.0.1:0".parse().unwrap(),
        };
        let peer: SocketAddr = "127.0.0.1:5555".parse().unwrap();
        let bound: SocketAddr = "127.0.0.1:40123".parse().unwrap();
        let host = |value| headers(&[("host", value)]);
        assert!(admit(&policy, peer, Some(bound), &host("127.0.0.1:40123"), false).is_ok());
        assert!(admit(&policy, peer, Some(bound), &host("127.0.0.1:40124"), false).is_err());
    }

    #[test]
    fn proxy_mode_needs_secret_and_proxy_address() {
        let policy = AccessPolicy::Proxy {
            proxy_ip: Some("169.254.169.254".parse().unwrap()),
            secret: "s3cret".into(),
            host_ips: vec!["169.254.0.1".parse().unwrap()],
        };
        let proxy: SocketAddr = "169.254.169.254:40000".parse().unwrap();
        let good = headers(&[(SECRET_HEADER, "s3cret"), (CALLER_HEADER, "169.254.0.7")]);
        let caller = admit(&policy, proxy, None, &good, false).unwrap();
        assert_eq!(caller.ip, "169.254.0.7".parse::<IpAddr>().unwrap());
        let other: SocketAddr = "169.254.0.9:40000".parse().unwrap();
        assert_eq!(
            admit(&policy, other, None, &good, false),
            Err(Refusal::NotFromProxy(other.ip()))
        );
        let forged = headers(&[(SECRET_HEADER, "guess"), (CALLER_HEADER, "169.254.0.7")]);
        assert_eq!(
            admit(&policy, proxy, None, &forged, false),
            Err(Refusal::MissingSecret)
        );
    }

    #[test]
    fn proxy_mode_refuses_foreign_hosts_and_the_host_itself() {
        let policy = AccessPolicy::Proxy {
            proxy_ip: None,
            secret: "s3cret".into(),
            host_ips: vec![
                "169.254.0.1".parse().unwrap(),
                "fd00:ec2::1".parse().unwrap(),
            ],
        };
        let proxy: SocketAddr = "169.254.169.254:40000".parse().unwrap();
        let from = |caller: &str, host: &str| {
            headers(&[
                (SECRET_HEADER, "s3cret"),
                (CALLER_HEADER, caller),
                ("host", host),
            ])
        };
        for host in [
            "169.254.169.254",
            "169.254.169.254:80",
            "[fd00:ec2::254]",
            "[fd00:ec2::254]:80",
            "instance-data",
            "instance-data.ec2.internal:80",
        ] {
            let admitted = admit(&policy, proxy, None, &from("169.254.0.7", host), false);
            assert!(admitted.is_ok(), "{host}: {admitted:?}");
        }
        for host in [
            "evil.com",
            "169.254.169.254:8080",
            "rebind.example:80",
            "127.0.0.1",
        ] {
            assert_eq!(
                admit(&policy, proxy, None, &from("169.254.0.7", host), false),
                Err(Refusal::NotImdsHost(host.to_string()))
            );
        }
        let host_call = from("169.254.0.1", "169.254.169.254");
        assert_eq!(
            admit(&policy, proxy, None, &host_call, false),
            Err(Refusal::HostCaller("169.254.0.1".parse().unwrap()))
        );
        assert!(admit(&policy, proxy, None, &host_call, true).is_ok());
        // The host over IPv6, through the network's IPv6 gateway.
        let host_call = from("fd00:ec2::1", "[fd00:ec2::254]");
        assert_eq!(
            admit(&policy, proxy, None, &host_call, false),
            Err(Refusal::HostCaller("fd00:ec2::1".parse().unwrap()))
        );
        assert!(admit(&policy, proxy, None, &host_call, true).is_ok());
        // A container over IPv6: nginx names it by its IPv6 address.
        let admitted = admit(
            &policy,
            proxy,
            None,
            &from("fd00:ec2::1:5", "[fd00:ec2::254]"),
            false,
        );
        assert_eq!(admitted.map(|c| c.ip), Ok("fd00:ec2::1:5".parse().unwrap()));
    }
}
