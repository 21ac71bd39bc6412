//! Bringing the parts up and down, in the order they depend on each other:
//! engine -> network -> (no live other run) -> broker (unix socket) -> image -> proxy.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;

use super::probe::{ProbeTarget, PROBE_PATH};
use super::{
    monitor, BrokerMode, Part, PartState, Parts, ReportSocket, RunIdentity, Session, SessionError,
    SessionEvent, SessionOptions,
};
use crate::broker::{BrokerError, Recorder};
use crate::config::{Config, ConfigStore, FaultKind};
use crate::docker::{
    self, host, BrokerRoute, CallerBook, DockerError, NetworkPlan, ProxyLeftover, ProxySpec,
};

/// How long the proxy has to answer through to the broker after it starts.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(15);

impl Session {
    pub(super) fn new(
        store: ConfigStore,
        mut options: SessionOptions,
        events: UnboundedSender<SessionEvent>,
    ) -> Session {
        let parts = Parts {
            states: Arc::default(),
            events,
        };
        let config = store.current();
        let built = crate::provider::build_provider(&store);
        for warning in built.warnings {
            parts.notice(warning);
        }
        let mut recorder = Recorder::new(config.broker.record_capacity);
        let mut log_error = None;
        if let Some(path) = options.log_requests.take() {
            match Recorder::new(config.broker.record_capacity).with_log_file(&path) {
                Ok(with_file) => recorder = with_file,
                Err(source) => {
                    let err = BrokerError::RequestLog { path, source };
                    parts.notice(format!("requests are not logged to a file: {err}"));
                    log_error = Some(err);
                }
            }
        }
        let watcher = store.spawn_watcher();
        let recorder = Arc::new(recorder);
        // `up`'s request lines follow the recorder, not a broker: they outlive restarts.
        if let Some(format) = options.request_lines {
            crate::broker::spawn_request_lines(&recorder, format);
        }
        let report_socket = match ReportSocket::start(&recorder) {
            Ok(socket) => Some(socket),
            Err(err) => {
                parts.notice(format!("`imds-spoof report` cannot ask this run: {err}"));
                None
            }
        };
        let callers = CallerBook::new();
        let directory = super::callers::Directory::new(callers.clone(), parts.clone());
        Session {
            store,
            options,
            parts,
            run: RunIdentity::new(),
            recorder,
            provider: built.provider,
            builtin: built.builtin,
            directory,
            callers,
            engine: None,
            plan: None,
            broker: None,
            socket_dir: None,
            proxy_id: Arc::new(Mutex::new(None)),
            stopping_proxy: Arc::default(),
            tasks: vec![watcher],
            monitor: None,
            log_error,
            report_socket,
        }
    }

    /// Engine, network, broker behind the proxy, proxy: the whole chain.
    pub(super) async fn bring_up(&mut self) -> Result<(), SessionError> {
        self.bring_network().await?;
        self.refuse_live_other_run().await?;
        self.bring_proxy_broker().await?;
        self.bring_proxy().await
    }

    async fn ensure_engine(&mut self) -> Result<docker::Engine, SessionError> {
        if let Some(engine) = &self.engine {
            return Ok(engine.clone());
        }
        self.parts.set(
            Part::Network,
            PartState::Starting("connecting to Docker".to_string()),
        );
        match docker::connect().await {
            Ok(engine) => {
                tracing::info!(
                    "Docker engine {} ({}) at {}",
                    engine.server_version,
                    engine.operating_system,
                    engine.host
                );
                self.engine = Some(engine.clone());
                Ok(engine)
            }
            Err(err) => {
                let why = err.to_string();
                self.parts
                    .set(Part::Network, PartState::Unavailable(why.clone()));
                self.parts.set(Part::Proxy, PartState::Unavailable(why));
                Err(err.into())
            }
        }
    }

    pub(super) async fn bring_network(&mut self) -> Result<(), SessionError> {
        let engine = self.ensure_engine().await?;
        let result = async {
            let plan = NetworkPlan::from_settings(&self.store.current().network)?;
            if docker::find_network(&engine, &plan.name).await?.is_none() {
                self.warn_if_imds_capture(&plan);
            }
            self.parts.set(
                Part::Network,
                PartState::Starting(format!("creating network {}", plan.name)),
            );
            let state = docker::ensure_network(&engine, &plan, &self.run.id).await?;
            Ok::<_, DockerError>((plan, state))
        }
        .await;
        match result {
            Ok((plan, state)) => {
                let how = if state.created { "created" } else { "reused" };
                let ipv6 = plan
                    .ipv6
                    .as_ref()
                    .map(|ipv6| format!(", {}", ipv6.describe()))
                    .unwrap_or_default();
                self.parts.set(
                    Part::Network,
                    PartState::Up(format!(
                        "{} {} gateway {}{ipv6} ({how})",
                        plan.name, plan.subnet, plan.gateway
                    )),
                );
                self.directory.set_network(Some(plan.clone()));
                self.plan = Some(plan);
                self.start_monitor(&engine);
                Ok(())
            }
            Err(err) => {
                self.parts
                    .set(Part::Network, PartState::Failed(err.to_string()));
                Err(err.into())
            }
        }
    }

    /// On an EC2 host the bridge can cut the host off from its own IMDS: say so first.
    fn warn_if_imds_capture(&self, plan: &NetworkPlan) {
        let evidence = host::ec2_evidence();
        let route = host::route_to(Ipv4Addr::new(169, 254, 169, 254));
        let subnet = plan.subnet.to_string();
        if let Some(warning) = host::imds_capture_warning(
            evidence.as_deref(),
            route.as_ref(),
            &subnet,
            plan.subnet.prefix,
            None,
        ) {
            self.parts.notice(warning);
        }
        if plan.ipv6.is_some() {
            if let Some(warning) = host::imds_ipv6_capture_warning(evidence.as_deref()) {
                self.parts.notice(warning);
            }
        }
    }

    fn start_monitor(&mut self, engine: &docker::Engine) {
        if self
            .monitor
            .as_ref()
            .is_some_and(|task| !task.is_finished())
        {
            return;
        }
        let Some(plan) = &self.plan else {
            return;
        };
        self.monitor = Some(monitor::spawn(
            engine.clone(),
            plan.name.clone(),
            self.callers.clone(),
            self.parts.clone(),
            self.proxy_id.clone(),
            self.stopping_proxy.clone(),
        ));
    }

    /// A proxy of another run: clear it when its process is gone, refuse when it is alive.
    async fn refuse_live_other_run(&mut self) -> Result<(), SessionError> {
        let engine = self.ensure_engine().await?;
        let result = async {
            let Some(found) = docker::find_proxy(&engine).await? else {
                return Ok(());
            };
            match leftover_verdict(&found, &self.run.id, &host::hostname()) {
                Leftover::Ours => Ok(()),
                Leftover::Refuse(err) => Err(err),
                Leftover::Clear { run, pid } => {
                    self.parts.notice(format!(
                        "removing the proxy left by run {run} (its process {pid} is gone)"
                    ));
                    docker::remove_proxy(&engine, &found.id).await
                }
            }
        }
        .await;
        result.map_err(|err| {
            self.parts
                .set(Part::Proxy, PartState::Failed(err.to_string()));
            err.into()
        })
    }

    async fn bring_proxy(&mut self) -> Result<(), SessionError> {
        let (Some(engine), Some(plan)) = (self.engine.clone(), self.plan.clone()) else {
            return Err(SessionError::Other("the network is not up".to_string()));
        };
        let Some((_, BrokerMode::Proxy { route })) = &self.broker else {
            return Err(SessionError::Other("the broker is not up".to_string()));
        };
        let route = route.clone();
        let running = self
            .proxy_id
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(id) = running {
            self.stopping_proxy.store(true, Ordering::SeqCst);
            let _ = docker::remove_proxy(&engine, &id).await;
        }
        let config = self.store.current();
        let image = self
            .options
            .proxy_image
            .clone()
            .unwrap_or_else(|| config.proxy.image.clone());
        let result = self.pull_and_start(&engine, &plan, route, &image).await;
        match result {
            Ok((id, detail)) => {
                *self.proxy_id.lock().unwrap_or_else(|p| p.into_inner()) = Some(id);
                self.stopping_proxy.store(false, Ordering::SeqCst);
                let at = match &plan.ipv6 {
                    Some(ipv6) => format!("{} and [{}]", plan.proxy_ip, ipv6.proxy_ip),
                    None => plan.proxy_ip.to_string(),
                };
                self.parts
                    .set(Part::Proxy, PartState::Up(format!("{at} ({detail})")));
                monitor::emit_containers(&engine, &plan.name, &self.parts).await;
                Ok(())
            }
            Err(err) => {
                self.parts
                    .set(Part::Proxy, PartState::Failed(err.to_string()));
                Err(err.into())
            }
        }
    }

    async fn pull_and_start(
        &self,
        engine: &docker::Engine,
        plan: &NetworkPlan,
        route: BrokerRoute,
        image: &str,
    ) -> Result<(String, String), DockerError> {
        if !docker::image_present(engine, image).await? {
            self.parts
                .set(Part::Proxy, PartState::Starting(format!("pulling {image}")));
            let parts = self.parts.clone();
            let name = image.to_string();
            let mut report = move |progress: docker::PullProgress| {
                parts.send(SessionEvent::Pull {
                    image: name.clone(),
                    current: progress.current,
                    total: progress.total,
                });
            };
            docker::ensure_image(engine, image, &mut report).await?;
        }
        self.parts.set(
            Part::Proxy,
            PartState::Starting(format!(
                "starting {} at {}",
                docker::PROXY_NAME,
                plan.proxy_ip
            )),
        );
        let reachable_from_host = route.reachable_from_host();
        let spec = ProxySpec {
            image: image.to_string(),
            network: plan.name.clone(),
            proxy_ip: plan.proxy_ip,
            proxy_ip_v6: plan.ipv6.as_ref().map(|ipv6| ipv6.proxy_ip),
            route,
            secret: self.run.secret.clone(),
            labels: docker::RunLabels {
                run_id: self.run.id.clone(),
                process: self.run.process.clone(),
            },
        };
        let id = docker::start_proxy(engine, &spec).await?;
        let expect_silence = probe_may_go_unanswered(&self.store.current());
        match super::probe::wait_healthy(
            engine,
            &id,
            &probe_targets(plan),
            reachable_from_host,
            expect_silence,
            HEALTH_TIMEOUT,
        )
        .await
        {
            Ok(detail) => Ok((id, detail)),
            Err(err) => {
                let _ = docker::remove_proxy(engine, &id).await;
                Err(err)
            }
        }
    }

    pub(super) async fn stop_proxy(&mut self) {
        let id = self
            .proxy_id
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let (Some(id), Some(engine)) = (id, &self.engine) else {
            return;
        };
        self.stopping_proxy.store(true, Ordering::SeqCst);
        match docker::remove_proxy(engine, &id).await {
            Ok(()) => self.parts.set(Part::Proxy, PartState::Stopped),
            Err(err) => self.parts.set(
                Part::Proxy,
                PartState::Failed(format!("could not remove the proxy: {err}")),
            ),
        }
    }

    pub(super) async fn stop_network(&mut self) {
        self.stop_proxy().await;
        let (Some(engine), Some(plan)) = (self.engine.clone(), self.plan.clone()) else {
            return;
        };
        match docker::remove_network(&engine, &plan.name, false).await {
            Ok(_) => {
                self.parts.set(Part::Network, PartState::Stopped);
                self.plan = None;
                self.callers.detach();
                self.directory.set_network(None);
                if let Some(monitor) = self.monitor.take() {
                    monitor.abort();
                }
                // No network, no proxy in front of the broker: serve this host instead.
                if matches!(self.broker, Some((_, BrokerMode::Proxy { .. }))) {
                    self.start_loopback_broker().await;
                }
            }
            Err(err) => self
                .parts
                .set(Part::Network, PartState::Failed(err.to_string())),
        }
    }

    pub(super) async fn connect_container(&self, id: &str, attach: bool) -> Result<(), String> {
        let (Some(engine), Some(plan)) = (&self.engine, &self.plan) else {
            return Err("the imds-spoof network is not up".to_string());
        };
        let result = if attach {
            docker::connect_container(engine, &plan.name, id).await
        } else {
            docker::disconnect_container(engine, &plan.name, id).await
        };
        let verb = if attach { "attach" } else { "detach" };
        result.map_err(|err| format!("cannot {verb} {id}: {err}"))?;
        monitor::emit_containers(engine, &plan.name, &self.parts).await;
        Ok(())
    }
}

/// What to do about a proxy container found at start.
#[derive(Debug)]
enum Leftover {
    /// This run's own proxy (a restart of the proxy part).
    Ours,
    /// A dead run's: remove it and go on.
    Clear { run: String, pid: String },
    /// Someone else's, or a live run's: stop here.
    Refuse(DockerError),
}

fn leftover_verdict(found: &ProxyLeftover, run_id: &str, this_host: &str) -> Leftover {
    if !found.managed {
        return Leftover::Refuse(DockerError::ProxyNameTaken {
            name: docker::PROXY_NAME.to_string(),
        });
    }
    let run = found.run_id.clone().unwrap_or_else(|| "?".to_string());
    if run == run_id {
        return Leftover::Ours;
    }
    let pid = found
        .process
        .as_ref()
        .map_or_else(|| "?".to_string(), |p| p.pid.to_string());
    if found.orphaned() {
        return Leftover::Clear { run, pid };
    }
    Leftover::Refuse(DockerError::OtherRun {
        pid,
        host: found
            .process
            .as_ref()
            .filter(|p| p.host != this_host)
            .map(|p| format!(" on {}", p.host))
            .unwrap_or_default(),
        run,
        name: docker::PROXY_NAME.to_string(),
    })
}

/// The proxy's addresses to probe: IPv4, and IPv6 from the host's gateway address there
/// (so the broker knows the probe as the host's, whatever else the host has on the bridge).
fn probe_targets(plan: &NetworkPlan) -> Vec<ProbeTarget> {
    let mut targets = vec![ProbeTarget {
        ip: IpAddr::V4(plan.proxy_ip),
        source: None,
    }];
    targets.extend(plan.ipv6.as_ref().map(|ipv6| ProbeTarget {
        ip: IpAddr::V6(ipv6.proxy_ip),
        source: Some(IpAddr::V6(ipv6.gateway)),
    }));
    targets
}

/// The configuration makes the broker hold the readiness probe's answer back (IMDS off,
/// or a hang, drop or latency fault on the probed path): silence then means healthy.
fn probe_may_go_unanswered(config: &Config) -> bool {
    !config.imds.enabled
        || config.faults.iter().any(|fault| {
            fault.matches(PROBE_PATH)
                && matches!(
                    fault.kind,
                    FaultKind::Hang | FaultKind::Drop | FaultKind::Latency { .. }
                )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::host::ProcessMark;

    fn leftover(managed: bool, run: &str, process: Option<ProcessMark>) -> ProxyLeftover {
        ProxyLeftover {
            id: "c0ffee".into(),
            managed,
            run_id: Some(run.into()),
            process,
            running: true,
            image: "nginx".into(),
            broker_socket: None,
        }
    }

    #[test]
    fn a_foreign_container_with_our_name_is_refused() {
        let verdict = leftover_verdict(&leftover(false, "r1", None), "r1", "here");
        assert!(matches!(
            verdict,
            Leftover::Refuse(DockerError::ProxyNameTaken { .. })
        ));
    }

    #[test]
    fn our_own_proxy_is_kept_and_a_dead_runs_is_cleared() {
        assert!(matches!(
            leftover_verdict(&leftover(true, "r1", None), "r1", "here"),
            Leftover::Ours
        ));
        // A pid beyond the kernel's limit on this very host: certainly gone.
        let here = host::hostname();
        let dead = ProcessMark::parse_label("999999999:1", &here);
        match leftover_verdict(&leftover(true, "old", dead), "r1", &here) {
            Leftover::Clear { run, pid } => {
                assert_eq!((run.as_str(), pid.as_str()), ("old", "999999999"))
            }
            other => panic!("expected Clear, got {other:?}"),
        }
    }

    #[test]
    fn a_live_run_is_refused_and_named() {
        let me = ProcessMark::current();
        match leftover_verdict(&leftover(true, "other", Some(me.clone())), "r1", &me.host) {
            Leftover::Refuse(err @ DockerError::OtherRun { .. }) => {
                let text = err.to_string();
                assert!(
                    text.contains(&me.pid.to_string()) && text.contains("run other"),
                    "{text}"
                );
                assert!(!text.contains(" on "), "same host is not named: {text}");
            }
            other => panic!("expected OtherRun, got {other:?}"),
        }
    }

    #[test]
    fn silence_is_healthy_only_when_the_config_asks_for_it() {
        let mut config = crate::config::parse(
            std::path::Path::new("sample.toml"),
            crate::config::SAMPLE_CONFIG,
        )
        .unwrap();
        assert!(!probe_may_go_unanswered(&config));
        config.imds.enabled = false;
        assert!(probe_may_go_unanswered(&config));
        config.imds.enabled = true;
        config.faults.push(crate::config::Fault {
            path_prefix: "/latest/".into(),
            probability: 1.0,
            kind: FaultKind::Hang,
        });
        assert!(probe_may_go_unanswered(&config));
    }
}
