//! The broker and the doors answering through the proxy, and the port `serve` wants.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use super::report::{Level, Report};
use crate::config::{Config, Door};
use crate::docker::{self, Engine, NetworkPlan, ProxyLeftover};
use crate::session::{probe_door, probe_imds, probe_imds_from};

/// The broker behind the running proxy.
pub(super) async fn check_broker(
    plan: &NetworkPlan,
    config: &Config,
    proxy: Option<&ProxyLeftover>,
    report: &mut Report,
) {
    let location = crate::commands::status::broker_location(proxy, &config.broker);
    if let Some(ipv6) = &plan.ipv6 {
        // From the host's gateway address, as the host's own requests go.
        let probe = probe_imds_from(
            IpAddr::V6(ipv6.proxy_ip),
            Some(IpAddr::V6(ipv6.gateway)),
            Duration::from_secs(2),
        )
        .await;
        match probe {
            Ok(probe) if probe.from_broker => report.line(
                Level::Ok,
                "broker ipv6",
                format!("answers through the proxy at [{}] ({})", ipv6.proxy_ip, probe.describe()),
            ),
            Ok(probe) => report.line(
                Level::Fail,
                "broker ipv6",
                format!("nginx answered {} itself at [{}]", probe.status, ipv6.proxy_ip),
            ),
            Err(err) => report.line(
                Level::Fail,
                "broker ipv6",
                format!("no answer through the proxy at [{}]: {err} (a proxy started before [network] ipv6 = true? restart `up`)", ipv6.proxy_ip),
            ),
        }
    }
    match probe_imds(IpAddr::V4(plan.proxy_ip), Duration::from_secs(2)).await {
        Ok(probe) if probe.from_broker => report.line(
            Level::Ok,
            "broker",
            format!("answers through the proxy ({})", probe.describe()),
        ),
        Ok(probe) => report.line(
            Level::Fail,
            "broker",
            format!(
                "nginx answered {} itself: it cannot reach the broker at {location}; is the imds-spoof process running (and, with a socket, is its directory on the engine's machine)?",
                probe.status
            ),
        ),
        Err(err) => report.line(Level::Fail, "broker", format!("no answer through the proxy: {err}")),
    }
}

/// The ECS and EKS doors: off, or where they answer (each its own proxy container, probed
/// when `probe` and the IMDS proxy runs); a subnet that cannot hold a door that is on fails.
pub(super) async fn check_doors(
    engine: &Engine,
    plan: &NetworkPlan,
    config: &Config,
    probe: bool,
    report: &mut Report,
) {
    if let Err(err) = docker::proxy_endpoints(plan, &config.doors) {
        report.line(Level::Fail, "doors", err.to_string());
        return;
    }
    for (door, on) in [(Door::Ecs, config.doors.ecs), (Door::Eks, config.doors.eks)] {
        let check = format!("{} door", door.as_str());
        if !on {
            report.line(
                Level::Ok,
                &check,
                format!("off ([doors] {} = false)", door.as_str()),
            );
            continue;
        }
        let endpoint = docker::door_endpoint(plan, door);
        let urls = endpoint.urls().join(" and ");
        if !probe {
            report.line(
                Level::Ok,
                &check,
                format!("on: {urls} once `imds-spoof up` runs"),
            );
            continue;
        }
        match docker::find_proxy(engine, endpoint.name).await {
            Ok(Some(found)) if found.running => {}
            Ok(_) => {
                report.line(
                    Level::Fail,
                    &check,
                    format!(
                        "{} is not running although [doors] {} = true: restart `imds-spoof up`",
                        endpoint.name,
                        door.as_str()
                    ),
                );
                continue;
            }
            Err(err) => {
                report.line(Level::Fail, &check, err.to_string());
                continue;
            }
        }
        match probe_door(
            door,
            IpAddr::V4(endpoint.ipv4),
            None,
            Duration::from_secs(2),
        )
        .await
        {
            Ok(probe) if probe.from_broker => report.line(
                Level::Ok,
                &check,
                format!(
                    "{urls} answers through {} ({})",
                    endpoint.name,
                    probe.describe()
                ),
            ),
            Ok(probe) => report.line(
                Level::Fail,
                &check,
                format!("nginx answered {} itself at {urls}", probe.status),
            ),
            Err(err) => report.line(Level::Fail, &check, format!("no answer at {urls}: {err}")),
        }
    }
}

/// With nothing of ours running, the broker port must be free on loopback, where the broker
/// listens for Docker Desktop, `serve` and the dashboard without Docker (behind the proxy on
/// a local Linux engine it uses a unix socket, no port).
pub(super) async fn check_port_free(port: u16, report: &mut Report) {
    let ip = Ipv4Addr::LOCALHOST;
    match tokio::net::TcpListener::bind(SocketAddr::from((ip, port))).await {
        Ok(_) => report.line(Level::Ok, "broker port", format!("{ip}:{port} is free")),
        Err(err) if err.kind() == std::io::ErrorKind::AddrInUse => report.line(
            Level::Fail,
            "broker port",
            format!(
                "{ip}:{port} is taken by another program (`ss -ltnp 'sport = :{port}'` names it): stop it or set [broker] port"
            ),
        ),
        Err(err) => report.line(Level::Warn, "broker port", format!("{ip}:{port}: {err}")),
    }
}
