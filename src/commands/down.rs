//! `imds-spoof down`: removes the proxy and network of any run, found by label.
//! Refuses (changing nothing) while application containers are attached, unless --force.

use crate::cli::{DownArgs, GlobalArgs};
use crate::docker::{self, DockerError, ManagedContainer};

pub async fn run(global: &GlobalArgs, args: &DownArgs) -> anyhow::Result<()> {
    // Only for `[engine] socket`: a broken or missing configuration must not stop a clean-up.
    let _ = super::open_store(global);
    // A run `up --detach` started stops as on Ctrl-C: it removes its own proxies.
    if let Some(pid) = super::detach::stop_detached().await {
        println!("stopped the background run (pid {pid})");
    }
    let engine = docker::connect().await?;
    let managed = docker::list_managed(&engine).await?;

    // Look at every network before touching anything: a refusal leaves all as it was.
    if !args.force {
        for name in &managed.networks {
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

    let mut removed = 0;
    for container in &managed.containers {
        // Looked at before the removal: the owning process exits as soon as its proxy goes.
        let live_owner = live_local_owner(container);
        docker::remove_proxy(&engine, &container.id).await?;
        removed += 1;
        let run = container.run_id.as_deref().unwrap_or("?");
        println!("removed container {} (run {run})", container.name);
        if let Some(pid) = live_owner {
            println!("  note: its imds-spoof process (pid {pid}) was still running; it stops with an error");
        }
    }
    for name in &managed.networks {
        let disconnected = docker::remove_network(&engine, name, args.force).await?;
        removed += 1;
        for container in &disconnected {
            println!("disconnected {container} from {name}");
        }
        println!("removed network {name}");
    }
    // Socket directories of runs that were killed (nothing accepts on their socket): a
    // cleanly ended run removes its own.
    for dir in crate::session::clear_stale_socket_dirs() {
        removed += 1;
        println!("removed {} (left by a run that was killed)", dir.display());
    }
    if removed == 0 {
        println!("nothing to remove: no imds-spoof containers or networks");
    }
    Ok(())
}

/// The pid of the process that served through this proxy, if it still runs on this host.
fn live_local_owner(container: &ManagedContainer) -> Option<u32> {
    container
        .owner
        .as_ref()
        .filter(|process| process.host == docker::host::hostname() && process.alive())
        .map(|process| process.pid)
}
