//! `imds-spoof doctor`: checks what usually goes wrong, one line each with ok/warn/fail and
//! what to do. Exits non-zero when any check fails.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::cli::{DoctorArgs, GlobalArgs};
use crate::config::Config;
use crate::config::Door;
use crate::docker::{self, host, Engine, NetworkPlan, NetworkState, ProxyLeftover, LABEL_IDENTITY};
use crate::session::{probe_door, probe_imds, probe_imds_from};

mod container_credentials;
mod report;

use report::{Level, Report};

/// Token files are a few hundred bytes; more than this is not a token.
const TOKEN_FILE_LIMIT: usize = 64 * 1024;

pub async fn run(global: &GlobalArgs, args: &DoctorArgs) -> anyhow::Result<()> {
    let store = super::open_store(global)?;
    let config = store.current();
    let mut report = Report { failures: 0 };

    let engine = match docker::connect().await {
        Ok(engine) => {
            report.line(
                Level::Ok,
                "engine",
                format!(
                    "Docker {} ({}) at {}{}",
                    engine.server_version,
                    engine.operating_system,
                    engine.host,
                    if engine.desktop {
                        ": Docker Desktop, the broker listens on loopback behind host.docker.internal"
                    } else {
                        ""
                    }
                ),
            );
            Some(engine)
        }
        Err(err) => {
            report.line(Level::Fail, "engine", err.to_string());
            None
        }
    };
    let plan = match NetworkPlan::from_settings(&config.network) {
        Ok(plan) => Some(plan),
        Err(err) => {
            report.line(Level::Fail, "settings", err.to_string());
            None
        }
    };
    if let (Some(engine), Some(plan)) = (&engine, &plan) {
        docker_checks(engine, plan, &config, &mut report).await;
        if let Some(name) = &args.container {
            container_checks(engine, plan, &config, name, &mut report).await;
        }
    } else if args.container.is_some() {
        report.line(Level::Warn, "container", "not checked: no engine");
    }
    check_certificates(&store, &config, &mut report);
    if report.failures > 0 {
        anyhow::bail!("{} check(s) failed", report.failures);
    }
    Ok(())
}

async fn docker_checks(engine: &Engine, plan: &NetworkPlan, config: &Config, report: &mut Report) {
    let ours = check_subnet(engine, plan, report).await;
    check_ec2_host(plan, ours.as_ref(), report);
    if plan.ipv6.is_some() {
        check_ipv6(engine, ours.as_ref(), report).await;
    }
    check_image(engine, &config.proxy.image, report).await;
    let Some(proxy) = check_proxy(engine, plan, config, report).await else {
        return;
    };
    let running = proxy.as_ref().is_some_and(|found| found.running);
    if running && !engine.desktop {
        check_broker(plan, config, proxy.as_ref(), report).await;
    }
    check_doors(engine, plan, config, running && !engine.desktop, report).await;
}

/// The subnet: ours, free, or taken by another network.
async fn check_subnet(
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
fn subnets(plan: &NetworkPlan) -> String {
    match &plan.ipv6 {
        Some(ipv6) => format!("{} and {}", plan.subnet, ipv6.subnet),
        None => plan.subnet.to_string(),
    }
}

/// `[network] ipv6 = true`: can the engine make the IPv6 network? Ours existing says yes;
/// otherwise a throwaway labelled network is made and removed to find out.
async fn check_ipv6(engine: &Engine, ours: Option<&NetworkState>, report: &mut Report) {
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
fn check_ec2_host(plan: &NetworkPlan, ours: Option<&NetworkState>, report: &mut Report) {
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

async fn check_image(engine: &Engine, image: &str, report: &mut Report) {
    match docker::image_present(engine, image).await {
        Ok(true) => report.line(Level::Ok, "image", format!("{image} is present")),
        Ok(false) => report.line(
            Level::Warn,
            "image",
            format!(
                "{image} is not present; `up` pulls it. Offline: `scripts/offline-images.sh` builds {} (use it with --proxy-image or [proxy] image)",
                docker::OFFLINE_PROXY_IMAGE
            ),
        ),
        Err(err) => report.line(Level::Fail, "image", err.to_string()),
    }
}

/// The proxy container; `Some(running)`, or None when the engine would not say.
async fn check_proxy(
    engine: &Engine,
    plan: &NetworkPlan,
    config: &Config,
    report: &mut Report,
) -> Option<Option<ProxyLeftover>> {
    let proxy = match docker::find_proxy(engine, docker::PROXY_NAME).await {
        Ok(proxy) => proxy,
        Err(err) => {
            report.line(Level::Fail, "proxy", err.to_string());
            return None;
        }
    };
    match &proxy {
        None => {
            report.line(
                Level::Warn,
                "proxy",
                "not running: start `imds-spoof up` or the dashboard",
            );
            check_port_free(config.broker.port, report).await;
        }
        Some(found) if !found.managed => report.line(
            Level::Fail,
            "proxy",
            format!(
                "a container named {} exists and is not ours: remove it",
                docker::PROXY_NAME
            ),
        ),
        Some(found) if found.orphaned() => report.line(
            Level::Warn,
            "proxy",
            "left by a run whose process is gone: `imds-spoof up` clears it, or `imds-spoof down`",
        ),
        Some(found) if !found.running => report.line(
            Level::Fail,
            "proxy",
            "exists but is stopped: `imds-spoof down`, then `up`",
        ),
        Some(found) => report.line(
            Level::Ok,
            "proxy",
            format!(
                "running at {} ({}), broker at {}",
                plan.proxy_ip,
                found.image,
                super::status::broker_location(Some(found), config.broker.port)
            ),
        ),
    }
    Some(proxy)
}

/// The broker behind the running proxy.
async fn check_broker(
    plan: &NetworkPlan,
    config: &Config,
    proxy: Option<&ProxyLeftover>,
    report: &mut Report,
) {
    let location = super::status::broker_location(proxy, config.broker.port);
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
async fn check_doors(
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
async fn check_port_free(port: u16, report: &mut Report) {
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

async fn container_checks(
    engine: &Engine,
    plan: &NetworkPlan,
    config: &Config,
    name: &str,
    report: &mut Report,
) {
    let container = match docker::inspect_container(engine, name).await {
        Ok(container) => container,
        Err(err) => {
            report.line(Level::Fail, "container", format!("{name}: {err}"));
            return;
        }
    };
    match container.addresses.get(&plan.name) {
        Some(ip) => report.line(
            Level::Ok,
            "attached",
            format!("{name} is on {} at {ip}", plan.name),
        ),
        None => report.line(
            Level::Fail,
            "attached",
            format!(
                "{name} is not on {0}: `docker network connect {0} {name}` (or `networks: [{0}]` as external in compose)",
                plan.name
            ),
        ),
    }
    for (level, text) in env_findings(&container.env, plan.proxy_ip, plan.ipv6.is_some()) {
        report.line(level, "environment", format!("{name}: {text}"));
    }
    let token_path = container
        .env
        .iter()
        .find(|(key, value)| key == container_credentials::TOKEN_FILE && !value.is_empty())
        .map(|(_, value)| value.clone());
    let token_file = match token_path {
        Some(path) => Some(
            docker::read_container_file(engine, name, &path, TOKEN_FILE_LIMIT)
                .await
                .map_err(|err| err.to_string()),
        ),
        None => None,
    };
    for (level, check, text) in container_credentials::findings(&container.env, token_file.as_ref())
    {
        report.line(level, check, format!("{name}: {text}"));
    }
    let (level, text) = identity_finding(config, name, container.labels.get(LABEL_IDENTITY));
    report.line(level, "identity", text);
}

/// Which identity the container's label asks for, and whether the configuration has it.
fn identity_finding(config: &Config, name: &str, label: Option<&String>) -> (Level, String) {
    match label {
        Some(label) if config.identity(label).is_none() => (
            Level::Warn,
            format!(
                "{name} asks for identity {label:?}, which the configuration lacks: it gets {}",
                config.active_identity
            ),
        ),
        Some(label) => (Level::Ok, format!("{name} uses identity {label}")),
        None => (
            Level::Ok,
            format!(
                "{name} uses the active identity {} (label {LABEL_IDENTITY}=NAME picks another)",
                config.active_identity
            ),
        ),
    }
}

/// What in a container's environment keeps SDKs from reaching IMDS; `ipv6`: the network
/// has the IPv6 endpoint.
fn env_findings(env: &[(String, String)], imds: Ipv4Addr, ipv6: bool) -> Vec<(Level, String)> {
    let get = |name: &str| {
        env.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    let mut findings = Vec::new();
    let proxy = ["HTTP_PROXY", "http_proxy"]
        .into_iter()
        .find_map(|key| get(key).filter(|v| !v.is_empty()).map(|v| (key, v)));
    if let Some((key, value)) = proxy {
        let no_proxy: Vec<&str> = ["NO_PROXY", "no_proxy"]
            .into_iter()
            .filter_map(get)
            .flat_map(|list| list.split(','))
            .map(str::trim)
            .collect();
        let ip = imds.to_string();
        if no_proxy.iter().any(|entry| *entry == ip || *entry == "*") {
            findings.push((Level::Ok, format!("{key} is set and NO_PROXY covers {ip}")));
        } else if no_proxy.iter().any(|entry| entry.contains('/')) {
            findings.push((Level::Warn, format!("{key}={value}; NO_PROXY covers {ip} only by a CIDR entry, which some clients (Python's urllib, used by botocore) ignore: add {ip} itself")));
        } else {
            findings.push((Level::Fail, format!("{key}={value} without NO_PROXY covering {ip}: IMDS requests go to that proxy. Add NO_PROXY={ip} (and no_proxy)")));
        }
    }
    if get("AWS_EC2_METADATA_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        findings.push((
            Level::Fail,
            "AWS_EC2_METADATA_DISABLED=true: SDKs never ask IMDS. Remove it".to_string(),
        ));
    }
    let ipv6_endpoint = format!("[{}]", docker::IMDS_IPV6);
    // SDKs compare the mode case-insensitively (JS v3 wants it exact: docs/protocol.md §9).
    let ipv6_mode = get("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE")
        .is_some_and(|mode| mode.eq_ignore_ascii_case("ipv6"))
        || get("AWS_IMDS_USE_IPV6").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let explicit = get("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    if ipv6_mode && !ipv6 && explicit.is_none() {
        findings.push((
            Level::Fail,
            format!("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6: SDKs call http://{ipv6_endpoint}, which this network does not have. Set [network] ipv6 = true (then restart `up`), or remove it"),
        ));
    }
    if let Some(endpoint) = explicit {
        let ours =
            endpoint.contains(&imds.to_string()) || (ipv6 && endpoint.contains(&ipv6_endpoint));
        if !ours {
            findings.push((
                Level::Warn,
                format!("AWS_EC2_METADATA_SERVICE_ENDPOINT={endpoint} points SDKs elsewhere"),
            ));
        }
    }
    if get("AWS_ACCESS_KEY_ID").is_some() || get("AWS_PROFILE").is_some() {
        findings.push((
            Level::Warn,
            "AWS_ACCESS_KEY_ID or AWS_PROFILE is set: SDKs use those before IMDS credentials"
                .to_string(),
        ));
    }
    let container_endpoint = [
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ]
    .into_iter()
    .any(|key| get(key).is_some_and(|v| !v.is_empty()));
    if findings.is_empty() && container_endpoint {
        findings.push((
            Level::Ok,
            "no proxy in the way; SDKs ask the container credentials endpoint (AWS_CONTAINER_CREDENTIALS_*, below) before IMDS".to_string(),
        ));
    } else if findings.is_empty() {
        findings.push((
            Level::Ok,
            "no proxy or AWS settings that bypass IMDS".to_string(),
        ));
    }
    findings
}

/// Where the identity certificates are (users verify signed documents against them).
/// Created with the keys at the first start of a broker; doctor only looks.
fn check_certificates(store: &crate::config::ConfigStore, config: &Config, report: &mut Report) {
    if !config.provider.command.is_empty() {
        report.line(
            Level::Ok,
            "certificates",
            "none of ours: the provider command signs identity documents",
        );
        return;
    }
    let dir = crate::provider::signing_dir(store);
    let described = crate::provider::describe_certificates(&dir);
    let missing: Vec<&str> = crate::imds::signing::PUBLISHED_CERTIFICATES
        .iter()
        .map(|published| published.file_name)
        .filter(|name| !dir.join(name).is_file())
        .collect();
    if missing.is_empty() {
        report.line(Level::Ok, "certificates", described);
    } else {
        report.line(
            Level::Warn,
            "certificates",
            format!(
                "{} not written yet (the next start creates them): {described}",
                missing.join(" and ")
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn proxy_without_no_proxy_fails() {
        let imds = Ipv4Addr::new(169, 254, 169, 254);
        let found = env_findings(&env(&[("HTTP_PROXY", "http://p:3128")]), imds, false);
        assert_eq!(found[0].0, Level::Fail);
        let found = env_findings(
            &env(&[
                ("http_proxy", "http://p:3128"),
                ("no_proxy", "localhost,169.254.169.254"),
            ]),
            imds,
            false,
        );
        assert_eq!(found[0].0, Level::Ok);
        let found = env_findings(
            &env(&[("http_proxy", "http://p"), ("NO_PROXY", "169.254.0.0/16")]),
            imds,
            false,
        );
        assert_eq!(found[0].0, Level::Warn);
        let found = env_findings(&env(&[("AWS_EC2_METADATA_DISABLED", "true")]), imds, false);
        assert_eq!(found[0].0, Level::Fail);
        let found = env_findings(&env(&[("PATH", "/usr/bin")]), imds, false);
        assert_eq!(
            found,
            vec![(
                Level::Ok,
                "no proxy or AWS settings that bypass IMDS".to_string()
            )]
        );
    }

    #[test]
    fn ipv6_endpoint_mode_needs_the_ipv6_network() {
        let imds = Ipv4Addr::new(169, 254, 169, 254);
        let mode = env(&[("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv6")]);
        let found = env_findings(&mode, imds, false);
        assert_eq!(found[0].0, Level::Fail, "{found:?}");
        assert!(found[0].1.contains("[network] ipv6 = true"), "{found:?}");
        assert_eq!(env_findings(&mode, imds, true)[0].0, Level::Ok);
        let legacy = env(&[("AWS_IMDS_USE_IPV6", "true")]);
        assert_eq!(env_findings(&legacy, imds, false)[0].0, Level::Fail);
        let endpoint = env(&[(
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            "http://[fd00:ec2::254]/",
        )]);
        assert_eq!(env_findings(&endpoint, imds, true)[0].0, Level::Ok);
        assert_eq!(env_findings(&endpoint, imds, false)[0].0, Level::Warn);
    }
}
