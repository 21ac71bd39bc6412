//! Watches the engine while the session runs: keeps the caller directory fresh, tells the
//! dashboard about containers, and notices when the proxy or network disappears under us.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use super::running_proxies::RunningProxy;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{stopping, Part, PartState, Parts, SessionEvent};
use crate::docker::{self, CallerBook, DockerEvent, Engine};

/// Events arriving in a burst (a compose project starting) produce one container list.
const DEBOUNCE: Duration = Duration::from_millis(150);

/// Aborts the task when dropped, so aborting the monitor also ends the follower it started.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub(super) fn spawn(
    engine: Engine,
    network: String,
    callers: Arc<CallerBook>,
    parts: Parts,
    proxies: Arc<Mutex<Vec<RunningProxy>>>,
    stopping_proxy: Arc<AtomicBool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let (sender, mut events) = mpsc::unbounded_channel();
        let _follower = AbortOnDrop(docker::follow(
            engine.clone(),
            network.clone(),
            callers,
            sender,
        ));
        while let Some(event) = events.recv().await {
            check_ours(&event, &network, &parts, &proxies, &stopping_proxy);
            // Let the burst settle, noting anything important in it.
            let settle = tokio::time::sleep(DEBOUNCE);
            tokio::pin!(settle);
            loop {
                tokio::select! {
                    _ = &mut settle => break,
                    more = events.recv() => match more {
                        Some(event) => check_ours(&event, &network, &parts, &proxies, &stopping_proxy),
                        None => return,
                    },
                }
            }
            emit_containers(&engine, &network, &parts).await;
        }
    })
}

/// Reports one of our proxy containers dying, or our network vanishing, when we did not do
/// it ourselves.
fn check_ours(
    event: &DockerEvent,
    network: &str,
    parts: &Parts,
    proxies: &Mutex<Vec<RunningProxy>>,
    stopping_proxy: &AtomicBool,
) {
    match event.action.as_str() {
        "die" | "destroy" if event.network.is_none() => {
            let mut current = proxies.lock().unwrap_or_else(|p| p.into_inner());
            let Some(index) = current
                .iter()
                .position(|proxy| Some(proxy.id.as_str()) == event.container_id.as_deref())
            else {
                return;
            };
            let gone = current.remove(index);
            if !stopping(stopping_proxy) {
                let code = event
                    .exit_code
                    .as_deref()
                    .map(|code| format!(" (exit code {code})"))
                    .unwrap_or_default();
                parts.set(
                    Part::Proxy,
                    PartState::Failed(format!(
                        "the proxy container {} stopped{code}: removed by `imds-spoof down` or another tool? Start it again (restart `imds-spoof up`)",
                        gone.endpoint.name
                    )),
                );
            }
        }
        "destroy" if event.network.as_deref() == Some(network) => {
            parts.set(
                Part::Network,
                PartState::Failed(format!(
                    "network {network} was removed (by `imds-spoof down` or `docker network rm`?)"
                )),
            );
        }
        _ => {}
    }
}

/// Emits every container the engine knows (but ours) with its address on our network.
pub(super) async fn emit_containers(engine: &Engine, network: &str, parts: &Parts) {
    match docker::list_containers(engine, network, false).await {
        Ok(list) => parts.send(SessionEvent::Containers(list)),
        Err(err) => tracing::debug!("container list unavailable: {err}"),
    }
}
