//! Who is calling: the container that holds an address on our network *now*.
//!
//! The book is filled from what the engine says is connected to our network (network
//! inspect, then the container's labels), kept in step by the events stream, and asked
//! directly on a miss: a container is connected before its process runs, so its first
//! request finds it even when the `connect` event is still on its way. An address is
//! dropped the moment its container disconnects or dies, so a reused address is never
//! credited to the container that left it. A miss is remembered only until the next
//! container connects. Podman's events can come after the next container at the same
//! address already asks, so there every address the book knows is confirmed with the
//! engine before it is answered (docs/podman.md).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bollard::models::{EventMessage, EventMessageTypeEnum};
use bollard::query_parameters::{EventsOptionsBuilder, InspectContainerOptions};
use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::liveness::ProcessMark;
use super::{api, net, DockerError, Engine, LABEL_IDENTITY};

/// The label compose puts on every container of a service.
pub const LABEL_COMPOSE_SERVICE: &str = "com.docker.compose.service";
/// Pause before reconnecting to the events stream.
const EVENTS_RETRY: Duration = Duration::from_secs(1);
/// Misses remembered at most; beyond this the memory is simply cleared (an address
/// flood must not grow it).
const MAX_MISSES: usize = 4096;

/// A container on our network, as far as choosing its identity goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub id: String,
    pub name: String,
    /// The `com.docker.compose.service` label.
    pub compose_service: Option<String>,
    /// The `imds-spoof.identity` label.
    pub identity_label: Option<String>,
    /// Its main process, when the engine runs on this machine: a cheap proof that it
    /// still holds its address.
    pub process: Option<ProcessMark>,
}

/// What the book says of an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Container(Arc<Holder>),
    /// The engine says no container holds it.
    Nobody,
    /// The engine could not be asked (why).
    Unreachable(String),
}

/// Where the book asks on a miss: the engine and our network's name.
#[derive(Clone)]
struct Source {
    engine: Engine,
    network: String,
    /// The engine runs on this machine's kernel: its containers' processes are in /proc
    /// (read once, not at every inspect).
    local: bool,
}

/// The address book, shared between the broker (lookups) and the follower (updates).
#[derive(Default)]
pub struct CallerBook {
    entries: RwLock<HashMap<IpAddr, Arc<Holder>>>,
    /// Bumped whenever a container connects or the book is rebuilt: a miss recorded under
    /// an older value says nothing any more.
    epoch: AtomicU64,
    misses: Mutex<HashMap<IpAddr, u64>>,
    source: RwLock<Option<Source>>,
    /// The events stream is running: without it the book cannot learn of departures, so
    /// it keeps nothing and asks the engine every time.
    following: AtomicBool,
    /// Every hit is confirmed with the engine before it is believed: set for engines whose
    /// events can arrive after the next container at the same address already asks
    /// (Podman reads its events back from a file).
    confirm_hits: AtomicBool,
    /// Bumped (under the entries' lock) whenever a container departs: what an engine call
    /// said before a departure may be stale, and is not written into the book.
    departures: AtomicU64,
    /// One engine lookup at a time: concurrent misses wait for it and then read the book.
    asking: tokio::sync::Mutex<()>,
    /// Containers as they join the network (and those already on it when the book is
    /// built), for whoever prepares something for a caller before it asks.
    arrivals: std::sync::OnceLock<tokio::sync::broadcast::Sender<Arc<Holder>>>,
}

impl CallerBook {
    pub fn new() -> Arc<CallerBook> {
        Arc::new(CallerBook::default())
    }

    /// The hot path: the holder of `ip` when the book knows it and may answer alone.
    /// Never waits on the engine; `None` when every hit must be confirmed with it.
    pub fn known(&self, ip: IpAddr) -> Option<Arc<Holder>> {
        if self.confirm_hits.load(Ordering::SeqCst) {
            return None;
        }
        self.entry(ip)
    }

    fn entry(&self, ip: IpAddr) -> Option<Arc<Holder>> {
        self.entries
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&ip)
            .cloned()
    }

    /// The holder of `ip`, asking the engine when the book does not know it.
    pub async fn resolve(&self, ip: IpAddr) -> Lookup {
        if let Some(holder) = self.known(ip) {
            return Lookup::Container(holder);
        }
        let source = self
            .source
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let Some(source) = source else {
            return Lookup::Unreachable("the imds-spoof network is not up".to_string());
        };
        if let Some(holder) = self.entry(ip) {
            // Only reached when hits are confirmed: is it still there, at this address?
            // /proc says so cheaply when it can; otherwise the engine is asked, by each
            // request for itself (an answer read before a request came in says nothing of
            // its sender), side by side.
            let process = holder.process.as_ref();
            if process.and_then(|process| process.still_holds(ip)) == Some(true) {
                return Lookup::Container(holder);
            }
            match inspect_holder(&source, &holder.id).await {
                Ok(Some((addresses, _))) if addresses.contains(&ip) => {
                    return Lookup::Container(holder)
                }
                Ok(_) => self.depart(&holder.id),
                Err(err) => return Lookup::Unreachable(err.to_string()),
            }
        }
        let _turn = self.asking.lock().await;
        // Someone else's lookup may have answered while we waited for our turn.
        if let Some(holder) = self.known(ip) {
            return Lookup::Container(holder);
        }
        let epoch = self.epoch.load(Ordering::SeqCst);
        if self.missed_since(ip, epoch) {
            return Lookup::Nobody;
        }
        let seen = self.departures.load(Ordering::SeqCst);
        match holder_of(&source, ip).await {
            Ok(Some(holder)) => {
                let holder = Arc::new(holder);
                if self.following.load(Ordering::SeqCst) {
                    // Not kept when a departure came in meanwhile; the answer stands.
                    self.place(&holder, &[ip], seen);
                }
                Lookup::Container(holder)
            }
            Ok(None) => {
                self.remember_miss(ip, epoch);
                Lookup::Nobody
            }
            Err(err) => Lookup::Unreachable(err.to_string()),
        }
    }

    /// Forgets everything (the network went away, or we stop following it).
    pub fn clear(&self) {
        self.entries
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// Stops asking the engine (the session stopped the network).
    pub fn detach(&self) {
        *self.source.write().unwrap_or_else(|p| p.into_inner()) = None;
        self.following.store(false, Ordering::SeqCst);
        self.clear();
    }

    /// Containers from now on, as they join the network.
    pub fn arrivals(&self) -> tokio::sync::broadcast::Receiver<Arc<Holder>> {
        self.arrivals_sender().subscribe()
    }

    fn arrivals_sender(&self) -> &tokio::sync::broadcast::Sender<Arc<Holder>> {
        // A slow listener loses the oldest arrivals, never slows the book.
        self.arrivals
            .get_or_init(|| tokio::sync::broadcast::channel(256).0)
    }

    fn announce(&self, holder: &Arc<Holder>) {
        // Nobody listening is fine.
        let _ = self.arrivals_sender().send(holder.clone());
    }

    /// A container left (died, was removed, disconnected): forgotten, and any engine
    /// answer read before now is not written into the book.
    fn depart(&self, id: &str) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        entries.retain(|_, holder| holder.id != id);
        self.departures.fetch_add(1, Ordering::SeqCst);
    }

    /// Puts `holder` at `addresses` (in place of what it held) unless a container departed
    /// since `seen` was read; false when it did not.
    fn place(&self, holder: &Arc<Holder>, addresses: &[IpAddr], seen: u64) -> bool {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if self.departures.load(Ordering::SeqCst) != seen {
            return false;
        }
        entries.retain(|_, known| known.id != holder.id);
        for ip in addresses {
            entries.insert(*ip, holder.clone());
        }
        true
    }

    /// A container connected: misses recorded before now may be its address.
    fn connected(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }

    fn missed_since(&self, ip: IpAddr, epoch: u64) -> bool {
        self.misses
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&ip)
            .is_some_and(|missed| *missed == epoch)
    }

    fn remember_miss(&self, ip: IpAddr, epoch: u64) {
        let mut misses = self.misses.lock().unwrap_or_else(|p| p.into_inner());
        if misses.len() >= MAX_MISSES {
            misses.clear();
        }
        misses.insert(ip, epoch);
    }

    /// Replaces the book with what the engine says is connected now.
    async fn rebuild(&self, source: &Source) -> Result<(), DockerError> {
        let attached: Vec<(IpAddr, Arc<Holder>)> = attached_holders(source)
            .await?
            .into_iter()
            .map(|(ip, holder)| (ip, Arc::new(holder)))
            .collect();
        {
            let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
            *entries = attached.iter().cloned().collect();
        }
        self.epoch.fetch_add(1, Ordering::SeqCst);
        let mut told = std::collections::HashSet::new();
        for (_, holder) in &attached {
            if told.insert(holder.id.clone()) {
                self.announce(holder);
            }
        }
        Ok(())
    }

    /// Learns one container that just connected (or was renamed).
    async fn learn(&self, source: &Source, id: &str) {
        // A departure while the engine was asked (this container's, or one whose address
        // it reports) makes its answer stale: asked again, a few times at most.
        for _ in 0..3 {
            let seen = self.departures.load(Ordering::SeqCst);
            match inspect_holder(source, id).await {
                Ok(Some((addresses, holder))) => {
                    let holder = Arc::new(holder);
                    if self.place(&holder, &addresses, seen) {
                        self.announce(&holder);
                        return;
                    }
                }
                Ok(None) => return,
                Err(err) => {
                    tracing::debug!("caller book: cannot inspect {id}: {err}");
                    return;
                }
            }
        }
    }
}

/// Every container on the network with its addresses there.
async fn attached_holders(source: &Source) -> Result<Vec<(IpAddr, Holder)>, DockerError> {
    let Some(network) = net::inspect_network(&source.engine, &source.network).await? else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    for id in network.containers.unwrap_or_default().into_keys() {
        if let Some((addresses, holder)) = inspect_holder(source, &id).await? {
            found.extend(addresses.into_iter().map(|ip| (ip, holder.clone())));
        }
    }
    Ok(found)
}

/// The container that holds `ip` on the network right now, by the engine's word.
async fn holder_of(source: &Source, ip: IpAddr) -> Result<Option<Holder>, DockerError> {
    let Some(network) = net::inspect_network(&source.engine, &source.network).await? else {
        return Ok(None);
    };
    // Containers sharing another's network (a pod's) may be listed at the same address:
    // the one that owns the namespace is the holder.
    let candidates: Vec<String> = network
        .containers
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, endpoint)| {
            [&endpoint.ipv4_address, &endpoint.ipv6_address]
                .into_iter()
                .flatten()
                .any(|address| address_of(address) == Some(ip))
        })
        .map(|(id, _)| id)
        .collect();
    for id in candidates {
        if let Some((addresses, holder)) = inspect_holder(source, &id).await? {
            if addresses.contains(&ip) {
                return Ok(Some(holder));
            }
        }
    }
    Ok(None)
}

/// A container's addresses on our network and what names it; None when it is not on it,
/// is ours (the proxy is never a caller), or shares another container's network (a
/// Podman pod's member, `--network container:…`): the namespace's owner holds its
/// addresses, as Docker reports them.
async fn inspect_holder(
    source: &Source,
    id: &str,
) -> Result<Option<(Vec<IpAddr>, Holder)>, DockerError> {
    let inspect = match source
        .engine
        .docker
        .inspect_container(id, None::<InspectContainerOptions>)
        .await
    {
        Ok(inspect) => inspect,
        Err(err) if super::status_of(&err) == Some(404) => return Ok(None),
        Err(err) => return Err(api(format!("inspecting container {id}"))(err)),
    };
    let labels = inspect
        .config
        .and_then(|config| config.labels)
        .unwrap_or_default();
    if super::is_managed(Some(&labels)) {
        return Ok(None);
    }
    let shared = inspect
        .host_config
        .as_ref()
        .and_then(|config| config.network_mode.as_deref())
        .and_then(|mode| mode.strip_prefix("container:"));
    if let Some(owner) = shared {
        if let Some(identity) = labels.get(LABEL_IDENTITY) {
            let name = inspect
                .name
                .as_deref()
                .unwrap_or(id)
                .trim_start_matches('/');
            let owner: String = owner.chars().take(12).collect();
            tracing::warn!(
                "container {name} is labelled {LABEL_IDENTITY}={identity} but shares the network of container {owner} (a pod's, or --network container:): requests from that address are {owner}'s, so its label chooses; label the pod (podman pod create --label {LABEL_IDENTITY}={identity}) or that container"
            );
        }
        return Ok(None);
    }
    // A stopped container holds no address, whatever its settings still say.
    if inspect.state.as_ref().and_then(|state| state.running) == Some(false) {
        return Ok(None);
    }
    let process = match source.local {
        true => inspect
            .state
            .as_ref()
            .and_then(|state| state.pid)
            .and_then(ProcessMark::of),
        false => None,
    };
    let Some(endpoint) = inspect
        .network_settings
        .and_then(|settings| settings.networks)
        .and_then(|mut networks| networks.remove(&source.network))
    else {
        return Ok(None);
    };
    let addresses: Vec<IpAddr> = [endpoint.ip_address, endpoint.global_ipv6_address]
        .into_iter()
        .flatten()
        .filter_map(|address| address_of(&address))
        .collect();
    let holder = Holder {
        id: inspect.id.unwrap_or_else(|| id.to_string()),
        name: inspect
            .name
            .map(|name| name.trim_start_matches('/').to_string())
            .unwrap_or_else(|| id.chars().take(12).collect()),
        compose_service: labels.get(LABEL_COMPOSE_SERVICE).cloned(),
        identity_label: labels.get(LABEL_IDENTITY).cloned(),
        process,
    };
    Ok(Some((addresses, holder)))
}

/// "169.254.0.2/16" or "169.254.0.2" as an address.
fn address_of(text: &str) -> Option<IpAddr> {
    text.split('/').next()?.parse().ok()
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

/// Keeps `book` in step with the engine until aborted, and forwards the events to `sink`.
pub fn follow(
    engine: Engine,
    network: String,
    book: Arc<CallerBook>,
    sink: mpsc::UnboundedSender<DockerEvent>,
) -> tokio::task::JoinHandle<()> {
    book.confirm_hits
        .store(engine.is_podman(), Ordering::SeqCst);
    let source = Source {
        local: engine.is_local(),
        engine,
        network,
    };
    *book.source.write().unwrap_or_else(|p| p.into_inner()) = Some(source.clone());
    tokio::spawn(async move {
        loop {
            follow_once(&source, &book, &sink).await;
            book.following.store(false, Ordering::SeqCst);
            book.clear();
            if sink.is_closed() {
                return;
            }
            tokio::time::sleep(EVENTS_RETRY).await;
        }
    })
}

/// The actions the session follows, as [`event_from`] names them.
const FOLLOWED: [&str; 6] = ["start", "die", "destroy", "connect", "disconnect", "rename"];

/// One subscription to the events stream, until it breaks.
async fn follow_once(
    source: &Source,
    book: &Arc<CallerBook>,
    sink: &mpsc::UnboundedSender<DockerEvent>,
) {
    // Filtered by type only: Podman 4 drops `die` events from an `event` filter, so the
    // actions are chosen here (event_from).
    let filters = HashMap::from([("type", vec!["container", "network"])]);
    let options = EventsOptionsBuilder::default().filters(&filters).build();
    let mut stream = source.engine.docker.events(Some(options));
    // Subscribed first, then read the present: nothing can fall between the two.
    if let Err(err) = book.rebuild(source).await {
        tracing::debug!("caller book: cannot read the network: {err}");
        return;
    }
    book.following.store(true, Ordering::SeqCst);
    while let Some(item) = stream.next().await {
        let message = match item {
            Ok(message) => message,
            Err(err) => {
                tracing::warn!("Docker events stream ended: {err}");
                return;
            }
        };
        let Some(event) = event_from(message, &source.network) else {
            continue;
        };
        apply(source, book, &event);
        if sink.send(event).is_err() {
            return;
        }
    }
}

/// The event as the session reads it, from Docker's or Podman's shape of it; `None` for
/// what the session does not follow.
///
/// - Podman says `remove` where Docker says `destroy`.
/// - Docker's network events name the network (`name`) and the container (`container`).
///   Podman 4's name neither: the actor is the container, `name` its name. Such a
///   connect or disconnect is taken as ours, since the network cannot be told: a
///   disconnect then only forgets the container, and a connect has it inspected.
fn event_from(message: EventMessage, network: &str) -> Option<DockerEvent> {
    let mut attributes = message
        .actor
        .as_ref()
        .and_then(|actor| actor.attributes.clone())
        .unwrap_or_default();
    let action = match message.action.as_deref()? {
        "remove" => "destroy",
        action => action,
    };
    if !FOLLOWED.contains(&action) {
        return None;
    }
    let actor_id = message.actor.and_then(|actor| actor.id);
    let event = match message.typ? {
        EventMessageTypeEnum::NETWORK => {
            let container = attributes.remove("container");
            let podman_shape = container.is_none() && matches!(action, "connect" | "disconnect");
            let (container_id, name) = match podman_shape {
                true => (Some(actor_id?), network.to_string()),
                false => (container, attributes.remove("name")?),
            };
            if name != network {
                return None;
            }
            DockerEvent {
                action: action.to_string(),
                container_id,
                network: Some(name),
                exit_code: None,
            }
        }
        EventMessageTypeEnum::CONTAINER => DockerEvent {
            action: action.to_string(),
            container_id: actor_id,
            network: None,
            exit_code: attributes.remove("exitCode"),
        },
        _ => return None,
    };
    Some(event)
}

/// What an event changes in the book. Departures apply before the next event is read;
/// arrivals are learnt in the background (a first request asks the engine itself).
fn apply(source: &Source, book: &Arc<CallerBook>, event: &DockerEvent) {
    let Some(id) = event.container_id.clone() else {
        if event.action == "destroy" && event.network.is_some() {
            book.clear();
        }
        return;
    };
    match (event.action.as_str(), event.network.is_some()) {
        ("disconnect", true) | ("die" | "destroy", false) => book.depart(&id),
        // A start as an arrival too: Podman 4 sends no connect for `run --network`.
        ("connect", true) | ("rename" | "start", false) => {
            book.connected();
            let (book, source) = (book.clone(), source.clone());
            tokio::spawn(async move { book.learn(&source, &id).await });
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An event message as the engine's stream gives it.
    fn message(
        typ: EventMessageTypeEnum,
        action: &str,
        id: &str,
        attributes: &[(&str, &str)],
    ) -> EventMessage {
        EventMessage {
            typ: Some(typ),
            action: Some(action.into()),
            actor: Some(bollard::models::EventActor {
                id: Some(id.into()),
                attributes: Some(
                    attributes
                        .iter()
                        .map(|(key, value)| (key.to_string(), value.to_string()))
                        .collect(),
                ),
            }),
            ..Default::default()
        }
    }

    fn event(action: &str, container: Option<&str>, network: Option<&str>) -> DockerEvent {
        DockerEvent {
            action: action.into(),
            container_id: container.map(str::to_string),
            network: network.map(str::to_string),
            exit_code: None,
        }
    }

    #[test]
    fn docker_network_events_name_the_network_and_the_container() {
        let connect = message(
            EventMessageTypeEnum::NETWORK,
            "connect",
            "net-id",
            &[
                ("container", "c1"),
                ("name", "imds-spoof"),
                ("type", "bridge"),
            ],
        );
        assert_eq!(
            event_from(connect, "imds-spoof"),
            Some(event("connect", Some("c1"), Some("imds-spoof")))
        );
        let elsewhere = message(
            EventMessageTypeEnum::NETWORK,
            "disconnect",
            "net-id",
            &[("container", "c1"), ("name", "bridge")],
        );
        assert_eq!(event_from(elsewhere, "imds-spoof"), None);
        let removed = message(
            EventMessageTypeEnum::NETWORK,
            "destroy",
            "net-id",
            &[("name", "imds-spoof")],
        );
        assert_eq!(
            event_from(removed, "imds-spoof"),
            Some(event("destroy", None, Some("imds-spoof")))
        );
    }

    #[test]
    fn podman_events_are_read_as_docker_would_say_them() {
        // Podman 4: the actor is the container, `name` is the container's name, no network.
        let disconnect = message(
            EventMessageTypeEnum::NETWORK,
            "disconnect",
            "c1",
            &[("name", "app"), ("containerExitCode", "0")],
        );
        assert_eq!(
            event_from(disconnect, "imds-spoof"),
            Some(event("disconnect", Some("c1"), Some("imds-spoof")))
        );
        let remove = message(
            EventMessageTypeEnum::CONTAINER,
            "remove",
            "c1",
            &[("name", "app")],
        );
        assert_eq!(
            event_from(remove, "imds-spoof"),
            Some(event("destroy", Some("c1"), None))
        );
        let die = message(
            EventMessageTypeEnum::CONTAINER,
            "die",
            "c1",
            &[("exitCode", "137"), ("containerExitCode", "137")],
        );
        let mut died = event("die", Some("c1"), None);
        died.exit_code = Some("137".into());
        assert_eq!(event_from(die, "imds-spoof"), Some(died));
        for unfollowed in ["create", "init", "attach", "stop", "exec_create"] {
            let other = message(EventMessageTypeEnum::CONTAINER, unfollowed, "c1", &[]);
            assert_eq!(event_from(other, "imds-spoof"), None, "{unfollowed}");
        }
    }

    fn holder(id: &str) -> Arc<Holder> {
        Arc::new(Holder {
            id: id.into(),
            name: format!("name-{id}"),
            compose_service: None,
            identity_label: Some("worker".into()),
            process: None,
        })
    }

    #[tokio::test]
    async fn known_addresses_answer_and_departures_are_forgotten() {
        let book = CallerBook::new();
        let ip: IpAddr = "169.254.0.2".parse().unwrap();
        let seen = book.departures.load(Ordering::SeqCst);
        assert!(book.place(&holder("a"), &[ip], seen));
        assert_eq!(book.known(ip).unwrap().name, "name-a");
        assert_eq!(book.resolve(ip).await, Lookup::Container(holder("a")));
        book.depart("a");
        assert!(book.known(ip).is_none());
    }

    #[test]
    fn an_answer_read_before_a_departure_is_not_kept() {
        let book = CallerBook::new();
        let ip: IpAddr = "169.254.0.2".parse().unwrap();
        // The engine is asked about "a"; meanwhile "a" dies (its event is handled).
        let seen = book.departures.load(Ordering::SeqCst);
        book.depart("a");
        assert!(
            !book.place(&holder("a"), &[ip], seen),
            "a stale answer was kept"
        );
        assert!(book.known(ip).is_none());
    }

    #[test]
    fn hits_are_not_answered_alone_when_they_must_be_confirmed() {
        let book = CallerBook::new();
        let ip: IpAddr = "169.254.0.2".parse().unwrap();
        assert!(book.place(&holder("a"), &[ip], 0));
        book.confirm_hits.store(true, Ordering::SeqCst);
        assert!(
            book.known(ip).is_none(),
            "the hot path answered without the engine"
        );
    }

    #[tokio::test]
    async fn without_an_engine_a_miss_is_unreachable_not_nobody() {
        let book = CallerBook::new();
        let lookup = book.resolve("169.254.0.9".parse().unwrap()).await;
        assert!(matches!(lookup, Lookup::Unreachable(_)), "{lookup:?}");
    }

    #[test]
    fn a_miss_lasts_only_until_the_next_connect() {
        let book = CallerBook::new();
        let ip: IpAddr = "169.254.0.9".parse().unwrap();
        let epoch = book.epoch.load(Ordering::SeqCst);
        book.remember_miss(ip, epoch);
        assert!(book.missed_since(ip, book.epoch.load(Ordering::SeqCst)));
        book.connected();
        assert!(!book.missed_since(ip, book.epoch.load(Ordering::SeqCst)));
    }

    #[test]
    fn addresses_parse_with_or_without_a_prefix() {
        assert_eq!(address_of("169.254.0.2/16"), "169.254.0.2".parse().ok());
        assert_eq!(address_of("fd00:ec2::5/64"), "fd00:ec2::5".parse().ok());
        assert_eq!(address_of(""), None);
    }
}
