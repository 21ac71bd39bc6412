//! `imds-spoof status`: network, proxy, doors and broker as the engine and the wire see
//! them. Exits 0 only when all are up (a door switched off in `[doors]` counts as fine).

use std::time::Duration;

use crate::cli::{GlobalArgs, StatusArgs};
use crate::config::Door;
use crate::config::{Config, NetworkSettings};
use crate::docker::{self, Engine, NetworkPlan, ProxyLeftover};
use crate::session::{probe_door, probe_imds};

pub async fn run(global: &GlobalArgs, args: &StatusArgs) -> anyhow::Result<()> {
    let store = super::open_store(global)?;
    let config = store.current();
    let mut out = Out::new(args.json);
    let background = super::detach::state_dir()
        .ok()
        .and_then(|dir| super::detach::running(&dir).map(|pid| (pid, dir.join("up.log"))));
    if let Some((pid, log)) = &background {
        out.say(
            "background",
            format!(
                "background: `up --detach` running as pid {pid} (log {})",
                log.display()
            ),
        );
    }
    let engine = docker::connect().await?;
    out.say("engine", format!("engine   {}", engine.whereabouts()));

    let network_up = show_network(&mut out, &engine, &config.network).await?;
    let proxy = docker::find_proxy(&engine, docker::PROXY_NAME).await?;
    let proxy_up = show_proxy(&mut out, proxy.as_ref(), &config.network);
    let doors_up = show_doors(&mut out, &engine, &config).await?;
    let broker_up = show_broker(&mut out, &config, proxy.as_ref(), proxy_up).await;
    show_attached(&mut out, &engine, &config).await?;

    let all_up = network_up && proxy_up && doors_up && broker_up;
    if args.json {
        let document = serde_json::json!({
            "up": all_up,
            "network_up": network_up,
            "proxy_up": proxy_up,
            "doors_up": doors_up,
            "broker_up": broker_up,
            "background": background.as_ref().map(|(pid, log)| serde_json::json!({
                "pid": pid,
                "log": log.display().to_string(),
            })),
            "lines": out.lines,
        });
        println!("{document}");
    }
    if all_up {
        Ok(())
    } else {
        anyhow::bail!("not everything is up: `imds-spoof up` (or the dashboard) starts it")
    }
}

/// Where the lines go: printed as they come, or gathered by part for `--json`.
struct Out {
    json: bool,
    lines: serde_json::Map<String, serde_json::Value>,
}

impl Out {
    fn new(json: bool) -> Out {
        Out {
            json,
            lines: serde_json::Map::new(),
        }
    }

    fn say(&mut self, part: &str, text: String) {
        if !self.json {
            println!("{text}");
            return;
        }
        let entry = self
            .lines
            .entry(part.to_string())
            .or_insert_with(|| serde_json::Value::Array(Vec::new()));
        if let serde_json::Value::Array(lines) = entry {
            lines.push(serde_json::Value::String(text.trim().to_string()));
        }
    }
}

async fn show_network(
    out: &mut Out,
    engine: &Engine,
    settings: &NetworkSettings,
) -> anyhow::Result<bool> {
    let Some(network) = docker::find_network(engine, &settings.name).await? else {
        out.say("network", format!("network  {}: absent", settings.name));
        return Ok(false);
    };
    let owner = if network.managed {
        format!(
            "created by run {}",
            network.run_id.as_deref().unwrap_or("?")
        )
    } else {
        "NOT created by imds-spoof".to_string()
    };
    out.say(
        "network",
        format!(
            "network  {}: present, {} ({owner})",
            settings.name,
            network.pools.join(", ")
        ),
    );
    Ok(true)
}

/// Prints the proxy's line; true when it is running.
fn show_proxy(out: &mut Out, proxy: Option<&ProxyLeftover>, settings: &NetworkSettings) -> bool {
    let Some(proxy) = proxy else {
        out.say("proxy", format!("proxy    {}: absent", docker::PROXY_NAME));
        return false;
    };
    let process = proxy
        .process
        .as_ref()
        .map(|p| {
            let state = if p.alive() { "running" } else { "gone" };
            format!(", served by pid {} on {} ({state})", p.pid, p.host)
        })
        .unwrap_or_default();
    let state = if proxy.running { "running" } else { "stopped" };
    let at = match settings.ipv6 {
        true => format!("{} and [{}]", settings.proxy_ip, docker::IMDS_IPV6),
        false => settings.proxy_ip.to_string(),
    };
    out.say(
        "proxy",
        format!(
            "proxy    {}: {state} at {at}, image {}, run {}{process}",
            docker::PROXY_NAME,
            proxy.image,
            proxy.run_id.as_deref().unwrap_or("?"),
        ),
    );
    proxy.running
}

/// A line per door beside IMDS: off, absent, or running and answering through its own
/// proxy container; true when every door that is on answers.
async fn show_doors(out: &mut Out, engine: &Engine, config: &Config) -> anyhow::Result<bool> {
    let plan = NetworkPlan::from_settings(&config.network).ok();
    let mut all_up = true;
    for (door, on) in [(Door::Ecs, config.doors.ecs), (Door::Eks, config.doors.eks)] {
        let label = door.as_str();
        let name = docker::proxy_name(door);
        if !on {
            out.say(label, format!("{label:<9}off ([doors] {label} = false)"));
            continue;
        }
        let Some(found) = docker::find_proxy(engine, name).await? else {
            out.say(label, format!("{label:<9}{name}: absent"));
            all_up = false;
            continue;
        };
        let Some(endpoint) = plan.as_ref().map(|plan| docker::door_endpoint(plan, door)) else {
            out.say(
                label,
                format!("{label:<9}{name}: the [network] settings are not usable"),
            );
            all_up = false;
            continue;
        };
        if !found.running {
            out.say(label, format!("{label:<9}{name}: stopped"));
            all_up = false;
            continue;
        }
        let probe = probe_door(door, endpoint.ipv4.into(), None, Duration::from_secs(2)).await;
        let answer = match probe {
            Ok(probe) if probe.from_broker => format!("answering ({})", probe.describe()),
            Ok(probe) => {
                all_up = false;
                format!("not answering (nginx itself answered {})", probe.status)
            }
            Err(err) => {
                all_up = false;
                format!("not reachable ({err})")
            }
        };
        out.say(
            label,
            format!(
                "{label:<9}{name}: running at {}, {answer}",
                endpoint.urls().join(" and ")
            ),
        );
    }
    Ok(all_up)
}

/// Asks the broker through the proxy; true when it answered itself.
async fn show_broker(
    out: &mut Out,
    config: &Config,
    proxy: Option<&ProxyLeftover>,
    proxy_running: bool,
) -> bool {
    let broker_at = broker_location(proxy, &config.broker);
    if !proxy_running {
        out.say(
            "broker",
            format!("broker   {broker_at}: not checked (no proxy in front of it)"),
        );
        return false;
    }
    match probe_imds(config.network.proxy_ip.into(), Duration::from_secs(2)).await {
        Ok(probe) if probe.from_broker => {
            out.say(
                "broker",
                format!(
                    "broker   {broker_at}: answering through the proxy ({})",
                    probe.describe()
                ),
            );
            true
        }
        Ok(probe) => {
            out.say(
                "broker",
                format!(
                    "broker   {broker_at}: not answering (nginx itself answered {})",
                    probe.status
                ),
            );
            false
        }
        Err(err) => {
            out.say(
                "broker",
                format!("broker   {broker_at}: not reachable through the proxy ({err})"),
            );
            false
        }
    }
}

/// Where the proxy reaches the broker: the unix socket mounted into it (local Linux
/// engine), else `[broker] desktop_listen` and port (the Desktop arrangement, behind
/// host.docker.internal).
pub(crate) fn broker_location(
    proxy: Option<&ProxyLeftover>,
    broker: &crate::config::BrokerSettings,
) -> String {
    match proxy.and_then(|proxy| proxy.broker_socket.as_ref()) {
        Some(socket) => format!("unix:{}", socket.display()),
        None => std::net::SocketAddr::new(broker.desktop_listen, broker.port).to_string(),
    }
}

async fn show_attached(out: &mut Out, engine: &Engine, config: &Config) -> anyhow::Result<()> {
    let attached = docker::list_containers(engine, &config.network.name, true).await?;
    if attached.is_empty() {
        out.say("attached", "attached containers: none".to_string());
        return Ok(());
    }
    out.say("attached", "attached containers:".to_string());
    for container in attached {
        let ip = container
            .ip_on_network
            .map(|ip| ip.to_string())
            .unwrap_or_default();
        let identity = container
            .identity_label
            .unwrap_or_else(|| format!("{} (default)", config.active_identity));
        out.say(
            "attached",
            format!("  {:<30} {ip:<16} identity {identity}", container.name),
        );
    }
    Ok(())
}
