//! `imds-spoof status`: network, proxy and broker as the engine and the wire see them.
//! Exits 0 only when all three are up.

use std::time::Duration;

use crate::cli::GlobalArgs;
use crate::docker::{self, LABEL_RUN};

pub async fn run(global: &GlobalArgs) -> anyhow::Result<()> {
    let store = super::open_store(global)?;
    let config = store.current();
    let settings = &config.network;
    let engine = docker::connect().await?;
    let mut all_up = true;

    match docker::find_network(&engine, &settings.name).await? {
        Some(network) => {
            let subnets: Vec<String> = network
                .ipam
                .and_then(|ipam| ipam.config)
                .unwrap_or_default()
                .into_iter()
                .map(|c| {
                    format!(
                        "{} gateway {}",
                        c.subnet.unwrap_or_default(),
                        c.gateway.unwrap_or_default()
                    )
                })
                .collect();
            let labels = network.labels.unwrap_or_default();
            let owner = if docker::is_managed(Some(&labels)) {
                format!(
                    "created by run {}",
                    labels.get(LABEL_RUN).map(String::as_str).unwrap_or("?")
                )
            } else {
                "NOT created by imds-spoof".to_string()
            };
            println!(
                "network  {}: present, {} ({owner})",
                settings.name,
                subnets.join(", ")
            );
        }
        None => {
            all_up = false;
            println!("network  {}: absent", settings.name);
        }
    }

    let proxy = docker::find_proxy(&engine).await?;
    let proxy_running = proxy.as_ref().is_some_and(|p| p.running);
    match proxy {
        Some(proxy) => {
            let process = proxy
                .process
                .as_ref()
                .map(|p| {
                    let state = if p.alive() { "running" } else { "gone" };
                    format!(", served by pid {} on {} ({state})", p.pid, p.host)
                })
                .unwrap_or_default();
            let state = if proxy.running { "running" } else { "stopped" };
            all_up &= proxy.running;
            println!(
                "proxy    {}: {state} at {}, image {}, run {}{process}",
                docker::PROXY_NAME,
                settings.proxy_ip,
                proxy.image,
                proxy.run_id.as_deref().unwrap_or("?"),
            );
        }
        None => {
            all_up = false;
            println!("proxy    {}: absent", docker::PROXY_NAME);
        }
    }

    let broker_at = format!("{}:{}", settings.gateway, config.broker.port);
    let probe = if proxy_running {
        docker::probe_imds(settings.proxy_ip, Duration::from_secs(2)).await
    } else {
        Err(docker::ProbeError::Silent)
    };
    match probe {
        Err(_) if !proxy_running => {
            all_up = false;
            println!("broker   {broker_at}: not checked (no proxy in front of it)");
        }
        Ok(probe) if probe.from_broker => println!(
            "broker   {broker_at}: answering through the proxy (GET /latest/meta-data/ -> {} in {:.1} ms)",
            probe.status,
            probe.elapsed.as_secs_f64() * 1000.0
        ),
        Ok(probe) => {
            all_up = false;
            println!(
                "broker   {broker_at}: not answering (nginx itself answered {})",
                probe.status
            );
        }
        Err(err) => {
            all_up = false;
            println!("broker   {broker_at}: not reachable through the proxy ({err})");
        }
    }

    let attached = docker::list_containers(&engine, &settings.name, true).await?;
    if attached.is_empty() {
        println!("attached containers: none");
    } else {
        println!("attached containers:");
        for container in attached {
            let ip = container
                .ip_on_network
                .map(|ip| ip.to_string())
                .unwrap_or_default();
            let identity = container
                .identity_label
                .unwrap_or_else(|| format!("{} (default)", config.active_identity));
            println!("  {:<30} {ip:<16} identity {identity}", container.name);
        }
    }
    if all_up {
        Ok(())
    } else {
        anyhow::bail!("not everything is up: `imds-spoof up` (or the dashboard) starts it")
    }
}
