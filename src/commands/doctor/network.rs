//! The network: our subnet free or ours, the EC2-host case, IPv6.

use std::net::Ipv4Addr;

use super::report::{Level, Report};
use crate::docker::{self, host, Engine, NetworkPlan, NetworkState};

/// The subnet: ours, free, or taken by another network.
pub(super) async fn check_subnet(
    engine: &Engine,
    plan: &NetworkPlan,
    report: &mut Report,
) -> Option<NetworkState> {
    match docker::check_network(engine, plan).await {
        Ok(Some(network)) => {
            report.line(
                Level::Ok,
                "network",
                format!("{} exists with {} (ours)", network.name, subnets(plan)),
            );
            Some(network)
        }
        Ok(None) => {
            report.line(
                Level::Ok,
                "network",
                format!(
                    "{} is free; `imds-spoof up` creates {}",
                    subnets(plan),
                    plan.name
                ),
            );
            None
        }
        Err(err) => {
            report.line(Level::Fail, "network", err.to_string());
            None
        }
    }
}

/// "169.254.0.0/16", or "169.254.0.0/16 and fd00:ec2::/64" with IPv6.
pub(super) fn subnets(plan: &NetworkPlan) -> String {
    match &plan.ipv6 {
        Some(ipv6) => format!("{} and {}", plan.subnet, ipv6.subnet),
        None => plan.subnet.to_string(),
    }
}

/// `[network] ipv6 = true`: can the engine make the IPv6 network? Ours existing says yes;
/// otherwise a throwaway labelled network is made and removed to find out.
pub(super) async fn check_ipv6(engine: &Engine, ours: Option<&NetworkState>, report: &mut Report) {
    let endpoint = format!("http://[{}]", docker::IMDS_IPV6);
    if let Some(network) = ours {
        report.line(
            Level::Ok,
            "ipv6",
            format!("{} has IPv6; IMDS at {endpoint}", network.name),
        );
        return;
    }
    let check_id = format!("doctor-{}", std::process::id());
    match docker::try_ipv6_network(engine, &check_id).await {
        Ok(()) => report.line(
            Level::Ok,
            "ipv6",
            format!("the engine makes IPv6 networks (a test network was created and removed); `up` adds {endpoint}"),
        ),
        Err(err) => report.line(Level::Fail, "ipv6", err.to_string()),
    }
    if let Some(warning) = host::imds_ipv6_capture_warning(host::ec2_evidence().as_deref()) {
        report.line(Level::Warn, "ec2 host", warning);
    }
}

/// An EC2 host whose route to the real IMDS the bridge captures (or would).
pub(super) fn check_ec2_host(plan: &NetworkPlan, ours: Option<&NetworkState>, report: &mut Report) {
    let bridge = ours.map(|n| format!("br-{}", n.id.chars().take(12).collect::<String>()));
    let evidence = host::ec2_evidence();
    let route = host::route_to(Ipv4Addr::new(169, 254, 169, 254));
    match host::imds_capture_warning(
        evidence.as_deref(),
        route.as_ref(),
        &plan.subnet.to_string(),
        plan.subnet.prefix,
        bridge.as_deref(),
    ) {
        Some(warning) => report.line(Level::Warn, "ec2 host", warning),
        None => match evidence {
            Some(evidence) => report.line(
                Level::Ok,
                "ec2 host",
                format!("EC2 instance ({evidence}); its route to the real IMDS is specific enough"),
            ),
            None => report.line(Level::Ok, "ec2 host", "not an EC2 instance"),
        },
    }
}
