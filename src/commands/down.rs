//! `imds-spoof down`: removes the proxy and network of any run, found by label.
//! Refuses (changing nothing) while application containers are attached, unless --force.

use std::collections::HashMap;

use bollard::query_parameters::{ListContainersOptionsBuilder, ListNetworksOptionsBuilder};

use crate::cli::{DownArgs, GlobalArgs};
use crate::docker::{self, host::ProcessMark, DockerError, LABEL_MANAGED, LABEL_PID, LABEL_RUN};

pub async fn run(_global: &GlobalArgs, args: &DownArgs) -> anyhow::Result<()> {
    let engine = docker::connect().await?;
    let managed = format!("{LABEL_MANAGED}=true");
    let filters = HashMap::from([("label", vec![managed.as_str()])]);

    let networks = engine
        .docker
        .list_networks(Some(
            ListNetworksOptionsBuilder::default()
                .filters(&filters)
                .build(),
        ))
        .await
        .map_err(docker::api("listing networks"))?;
    let network_names: Vec<String> = networks.into_iter().filter_map(|n| n.name).collect();

    // Look at every network before touching anything: a refusal leaves all as it was.
    if !args.force {
        for name in &network_names {
            let attached = docker::attached_app_containers(&engine, name).await?;
            if !attached.is_empty() {
                return Err(DockerError::ContainersAttached {
                    network: name.clone(),
                    names: attached.into_iter().map(|(_, name)| name).collect(),
                }
                .into());
            }
        }
    }

    let containers = engine
        .docker
        .list_containers(Some(
            ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await
        .map_err(docker::api("listing containers"))?;
    let mut removed = 0;
    for container in containers {
        let id = container.id.unwrap_or_default();
        let name = container
            .names
            .and_then(|names| names.into_iter().next())
            .map(|name| name.trim_start_matches('/').to_string())
            .unwrap_or_else(|| id.clone());
        let labels = container.labels.unwrap_or_default();
        // Looked at before the removal: the owning process exits as soon as its proxy goes.
        let host = labels.get(docker::LABEL_HOST).cloned().unwrap_or_default();
        let live_owner = labels
            .get(LABEL_PID)
            .and_then(|pid| ProcessMark::parse_label(pid, &host))
            .filter(|process| process.host == docker::host::hostname() && process.alive());
        docker::remove_proxy(&engine, &id).await?;
        removed += 1;
        let run = labels.get(LABEL_RUN).map(String::as_str).unwrap_or("?");
        println!("removed container {name} (run {run})");
        if let Some(process) = live_owner {
            println!(
                "  note: its imds-spoof process (pid {}) was still running; it stops with an error",
                process.pid
            );
        }
    }
    for name in &network_names {
        let disconnected = docker::remove_network(&engine, name, args.force).await?;
        removed += 1;
        for container in &disconnected {
            println!("disconnected {container} from {name}");
        }
        println!("removed network {name}");
    }
    if removed == 0 {
        println!("nothing to remove: no imds-spoof containers or networks");
    }
    Ok(())
}
