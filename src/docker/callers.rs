//! Who is calling: caller IP -> container name and identity label, kept fresh from the
//! engine's events stream. A caller we cannot place stays unresolved rather than guessed.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use bollard::models::EventMessageTypeEnum;
use bollard::query_parameters::EventsOptionsBuilder;
use futures_util::StreamExt;
use tokio::sync::{mpsc, watch, Notify};

use super::{list_containers, ContainerInfo, Engine};
use crate::broker::{CallerDirectory, CallerInfo};

/// How long a request from an unknown address waits for the directory to catch up.
/// SDKs give IMDS about a second; a container that just started is usually known well
/// within this.
const MISS_WAIT: Duration = Duration::from_millis(250);
/// An address that stayed unknown after a refresh is not waited for again for this long
/// (the host itself, through the bridge, is never a container).
const NEGATIVE_TTL: Duration = Duration::from_secs(2);
/// Pause before reconnecting to the events stream.
const EVENTS_RETRY: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    id: String,
    name: String,
    identity: Option<String>,
}

/// The address book, shared between the broker (lookups) and the Docker follower (updates).
pub struct CallerCache {
    entries: RwLock<HashMap<Ipv4Addr, Entry>>,
    /// Bumped after every refresh, so a waiting lookup knows when to look again.
    generation: watch::Sender<u64>,
    wanted: Notify,
    misses: Mutex<HashMap<IpAddr, Instant>>,
}

impl CallerCache {
    pub fn new() -> Arc<CallerCache> {
        Arc::new(CallerCache {
            entries: RwLock::new(HashMap::new()),
            generation: watch::channel(0).0,
            wanted: Notify::new(),
            misses: Mutex::new(HashMap::new()),
        })
    }

    /// Replaces the book with the containers attached to our network.
    pub fn replace(&self, attached: &[ContainerInfo]) {
        let fresh: HashMap<Ipv4Addr, Entry> = attached
            .iter()
            .filter_map(|c| {
                let entry = Entry {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    identity: c.identity_label.clone(),
                };
                Some((c.ip_on_network?, entry))
            })
            .collect();
        *self.entries.write().unwrap_or_else(|p| p.into_inner()) = fresh;
        self.misses
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        self.generation.send_modify(|generation| *generation += 1);
    }

    /// Drops a container at once (it died or left): its address may be reused by the next
    /// container before the refresh, and must not be credited to the old one.
    pub fn forget_container(&self, id: &str) {
        self.entries
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, entry| entry.id != id);
    }

    pub fn clear(&self) {
        self.entries
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// Asks the follower for a refresh (coalesced).
    pub fn request_refresh(&self) {
        self.wanted.notify_one();
    }

    fn get(&self, ip: IpAddr) -> Option<CallerInfo> {
        let IpAddr::V4(v4) = ip else {
            return None;
        };
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        entries.get(&v4).map(|entry| CallerInfo {
            container: Some(entry.name.clone()),
            identity: entry.identity.clone(),
        })
    }

    fn recently_missed(&self, ip: IpAddr) -> bool {
        let misses = self.misses.lock().unwrap_or_else(|p| p.into_inner());
        misses
            .get(&ip)
            .is_some_and(|when| when.elapsed() < NEGATIVE_TTL)
    }

    async fn resolve_waiting(&self, ip: IpAddr) -> CallerInfo {
        if let Some(info) = self.get(ip) {
            return info;
        }
        if self.recently_missed(ip) {
            return CallerInfo::default();
        }
        let mut generation = self.generation.subscribe();
        generation.mark_unchanged();
        self.request_refresh();
        let _ = tokio::time::timeout(MISS_WAIT, generation.changed()).await;
        if let Some(info) = self.get(ip) {
            return info;
        }
        self.misses
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(ip, Instant::now());
        CallerInfo::default()
    }
}

impl CallerDirectory for CallerCache {
    fn lookup(&self, ip: IpAddr) -> CallerInfo {
        self.get(ip).unwrap_or_else(|| {
            self.request_refresh();
            CallerInfo::default()
        })
    }

    fn resolve(&self, ip: IpAddr) -> Pin<Box<dyn Future<Output = CallerInfo> + Send + '_>> {
        Box::pin(self.resolve_waiting(ip))
    }
}

/// A container or network event that concerns the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerEvent {
    /// start, die, destroy, connect, disconnect, rename.
    pub action: String,
    pub container_id: Option<String>,
    /// For network events: the network's name.
    pub network: Option<String>,
    pub exit_code: Option<String>,
}

/// Keeps `cache` in step with the engine until aborted: refreshes on request and on every
/// container/network event, and forwards the events to `sink`.
pub fn follow(
    engine: Engine,
    network: String,
    cache: Arc<CallerCache>,
    sink: mpsc::UnboundedSender<DockerEvent>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let refresher = refresh_loop(engine.clone(), network.clone(), cache.clone());
        let events = events_loop(engine, network, cache, sink);
        tokio::join!(refresher, events);
    })
}

async fn refresh_loop(engine: Engine, network: String, cache: Arc<CallerCache>) {
    loop {
        cache.wanted.notified().await;
        match list_containers(&engine, &network, true).await {
            Ok(attached) => cache.replace(&attached),
            Err(err) => {
                tracing::debug!("caller directory refresh failed: {err}");
                tokio::time::sleep(EVENTS_RETRY).await;
            }
        }
    }
}

async fn events_loop(
    engine: Engine,
    network: String,
    cache: Arc<CallerCache>,
    sink: mpsc::UnboundedSender<DockerEvent>,
) {
    let filters = HashMap::from([
        ("type", vec!["container", "network"]),
        (
            "event",
            vec!["start", "die", "destroy", "connect", "disconnect", "rename"],
        ),
    ]);
    loop {
        let options = EventsOptionsBuilder::default().filters(&filters).build();
        let mut stream = engine.docker.events(Some(options));
        // Whatever happened while we were not subscribed.
        cache.request_refresh();
        while let Some(item) = stream.next().await {
            let message = match item {
                Ok(message) => message,
                Err(err) => {
                    tracing::debug!("Docker events stream ended: {err}");
                    break;
                }
            };
            let attributes = message
                .actor
                .as_ref()
                .and_then(|actor| actor.attributes.clone())
                .unwrap_or_default();
            let action = message.action.clone().unwrap_or_default();
            let event = match message.typ {
                Some(EventMessageTypeEnum::NETWORK) => {
                    let name = attributes.get("name").cloned();
                    if name.as_deref() != Some(network.as_str()) {
                        continue;
                    }
                    DockerEvent {
                        action,
                        container_id: attributes.get("container").cloned(),
                        network: name,
                        exit_code: None,
                    }
                }
                Some(EventMessageTypeEnum::CONTAINER) => DockerEvent {
                    action,
                    container_id: message.actor.and_then(|actor| actor.id),
                    network: None,
                    exit_code: attributes.get("exitCode").cloned(),
                },
                _ => continue,
            };
            if matches!(event.action.as_str(), "die" | "destroy" | "disconnect") {
                if let Some(id) = &event.container_id {
                    cache.forget_container(id);
                }
            }
            cache.request_refresh();
            if sink.send(event).is_err() {
                return;
            }
        }
        tokio::time::sleep(EVENTS_RETRY).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(id: &str, ip: [u8; 4], identity: Option<&str>) -> ContainerInfo {
        ContainerInfo {
            id: id.into(),
            name: format!("name-{id}"),
            image: "img".into(),
            running: true,
            ip_on_network: Some(Ipv4Addr::from(ip)),
            identity_label: identity.map(Into::into),
        }
    }

    #[tokio::test]
    async fn lookups_hit_miss_and_forget() {
        let cache = CallerCache::new();
        cache.replace(&[container("a", [169, 254, 0, 2], Some("prod"))]);
        let hit = cache.lookup("169.254.0.2".parse().unwrap());
        assert_eq!(hit.container.as_deref(), Some("name-a"));
        assert_eq!(hit.identity.as_deref(), Some("prod"));
        // Nobody refreshes here: a miss waits MISS_WAIT then stays unresolved.
        let started = Instant::now();
        let miss = cache.resolve("169.254.0.9".parse().unwrap()).await;
        assert_eq!(miss, CallerInfo::default());
        assert!(started.elapsed() >= MISS_WAIT);
        // ...and is not waited for again right away.
        let started = Instant::now();
        let _ = cache.resolve("169.254.0.9".parse().unwrap()).await;
        assert!(started.elapsed() < MISS_WAIT);
        cache.forget_container("a");
        assert_eq!(
            cache.lookup("169.254.0.2".parse().unwrap()),
            CallerInfo::default()
        );
    }

    #[tokio::test]
    async fn a_refresh_during_the_wait_resolves_the_caller() {
        let cache = CallerCache::new();
        let refresher = cache.clone();
        tokio::spawn(async move {
            refresher.wanted.notified().await;
            refresher.replace(&[container("b", [169, 254, 0, 3], None)]);
        });
        let info = cache.resolve("169.254.0.3".parse().unwrap()).await;
        assert_eq!(info.container.as_deref(), Some("name-b"));
    }
}
