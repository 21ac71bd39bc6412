//! The proxy containers of a run: IMDS's, and one per door that is on (ECS, EKS), all
//! from the same image, configuration and broker socket. Brought up together, side by side
//! (a failure removes what was started), checked at each address they answer on, removed
//! together; a door switched on or off while the run goes is started or removed alone.

use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::probe::{probe_path, ProbeTarget};
use super::running_proxies::{Proxies, RunningProxy};
use super::{monitor, BrokerMode, Part, PartState, Session, SessionError, SessionEvent};
use crate::config::Door;
use crate::config::{Config, FaultKind};
use crate::docker::{
    self, host, BrokerRoute, DockerError, NetworkPlan, ProxyEndpoint, ProxyLeftover, ProxySpec,
};

/// How long a proxy container has to answer through to the broker after it starts.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(15);

fn running(proxies: &Proxies) -> Vec<RunningProxy> {
    proxies.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

impl Session {
    /// Proxies of another run: clear those whose process is gone, refuse when one is alive.
    pub(super) async fn refuse_live_other_run(&mut self) -> Result<(), SessionError> {
        let engine = self.ensure_engine().await?;
        let result = async {
            for name in docker::PROXY_NAMES {
                let Some(found) = docker::find_proxy(&engine, name).await? else {
                    continue;
                };
                match leftover_verdict(&found, &self.run.id, &host::hostname()) {
                    Leftover::Ours => {}
                    Leftover::Refuse(err) => return Err(err),
                    Leftover::Clear { run, pid } => {
                        self.parts.notice(format!(
                            "removing {name} left by run {run} (its process {pid} is gone)"
                        ));
                        docker::remove_proxy(&engine, &found.id).await?;
                    }
                }
            }
            Ok(())
        }
        .await;
        result.map_err(|err| {
            self.parts
                .set(Part::Proxy, PartState::Failed(err.to_string()));
            err.into()
        })
    }

    /// Starts every proxy container the configuration asks for (replacing this run's).
    pub(super) async fn bring_proxy(&mut self) -> Result<(), SessionError> {
        let (Some(engine), Some(plan)) = (self.engine.clone(), self.plan.clone()) else {
            return Err(SessionError::Other("the network is not up".to_string()));
        };
        let Some((_, BrokerMode::Proxy { route })) = &self.broker else {
            return Err(SessionError::Other("the broker is not up".to_string()));
        };
        let route = route.clone();
        let old = std::mem::take(&mut *self.proxies.lock().unwrap_or_else(|p| p.into_inner()));
        if !old.is_empty() {
            self.stopping_proxy.store(true, Ordering::SeqCst);
            for proxy in old {
                let _ = docker::remove_proxy(&engine, &proxy.id).await;
            }
        }
        let config = self.store.current();
        let result = match docker::proxy_endpoints(&plan, &config.doors) {
            Ok(endpoints) => self.start_all(&engine, &plan, &route, &endpoints).await,
            Err(err) => Err(err),
        };
        match result {
            Ok(started) => {
                *self.proxies.lock().unwrap_or_else(|p| p.into_inner()) = started;
                self.stopping_proxy.store(false, Ordering::SeqCst);
                self.show_proxies_up();
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

    /// Starts the containers side by side (each waits on the engine and its own readiness
    /// probe, not on the others); any failure removes those that did start.
    async fn start_all(
        &self,
        engine: &docker::Engine,
        plan: &NetworkPlan,
        route: &BrokerRoute,
        endpoints: &[ProxyEndpoint],
    ) -> Result<Vec<RunningProxy>, DockerError> {
        let image = self.proxy_image();
        self.pull_if_missing(engine, &image).await?;
        let starts = endpoints
            .iter()
            .map(|endpoint| self.start_one(engine, plan, route, &image, endpoint));
        let results = futures_util::future::join_all(starts).await;
        let mut started = Vec::new();
        let mut first_error = None;
        for result in results {
            match result {
                Ok(proxy) => started.push(proxy),
                Err(err) => {
                    first_error.get_or_insert(err);
                }
            }
        }
        match first_error {
            None => Ok(started),
            Some(err) => {
                for proxy in started {
                    let _ = docker::remove_proxy(engine, &proxy.id).await;
                }
                Err(err)
            }
        }
    }

    fn proxy_image(&self) -> String {
        self.options
            .proxy_image
            .clone()
            .unwrap_or_else(|| self.store.current().proxy.image.clone())
    }

    async fn pull_if_missing(
        &self,
        engine: &docker::Engine,
        image: &str,
    ) -> Result<(), DockerError> {
        if docker::image_present(engine, image).await? {
            return Ok(());
        }
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
        docker::ensure_image(engine, image, &mut report)
            .await
            .map(|_| ())
    }

    /// One container, started and answering at each of its addresses.
    async fn start_one(
        &self,
        engine: &docker::Engine,
        plan: &NetworkPlan,
        route: &BrokerRoute,
        image: &str,
        endpoint: &ProxyEndpoint,
    ) -> Result<RunningProxy, DockerError> {
        self.parts.set(
            Part::Proxy,
            PartState::Starting(format!(
                "starting {} at {}",
                endpoint.name,
                endpoint.addresses()
            )),
        );
        let spec = ProxySpec {
            image: image.to_string(),
            network: plan.name.clone(),
            endpoint: endpoint.clone(),
            route: route.clone(),
            secret: self.run.secret.clone(),
            labels: docker::RunLabels {
                run_id: self.run.id.clone(),
                process: self.run.process.clone(),
            },
        };
        let id = docker::start_proxy(engine, &spec).await?;
        let targets = probe_targets(plan, endpoint, &self.store.current());
        let healthy = super::probe::wait_healthy(
            engine,
            &id,
            &targets,
            route.reachable_from_host() && engine.bridge_on_host(),
            HEALTH_TIMEOUT,
        )
        .await;
        match healthy {
            Ok(detail) => {
                tracing::info!("{} ready: {detail}", endpoint.name);
                Ok(RunningProxy {
                    endpoint: endpoint.clone(),
                    id,
                })
            }
            Err(err) => {
                let _ = docker::remove_proxy(engine, &id).await;
                Err(err)
            }
        }
    }

    /// The proxy part's detail: every door that answers, with its addresses.
    fn show_proxies_up(&self) {
        let doors: Vec<String> = running(&self.proxies)
            .iter()
            .map(|proxy| match proxy.endpoint.door {
                Door::Imds => format!("IMDS {}", proxy.endpoint.addresses()),
                door => format!(
                    "{} {}",
                    door.as_str().to_uppercase(),
                    proxy.endpoint.addresses()
                ),
            })
            .collect();
        self.parts
            .set(Part::Proxy, PartState::Up(doors.join(" · ")));
    }

    /// Starts or removes door containers so they match `[doors]` of the configuration in
    /// force (the dashboard's switches, an edit of the file). Only while the proxy is up.
    pub async fn apply_doors(&mut self) {
        let (Some(engine), Some(plan)) = (self.engine.clone(), self.plan.clone()) else {
            return;
        };
        let Some((_, BrokerMode::Proxy { route })) = &self.broker else {
            return;
        };
        let route = route.clone();
        let current = running(&self.proxies);
        if !current.iter().any(|p| p.endpoint.door == Door::Imds) {
            return;
        }
        let config = self.store.current();
        let mut changed = false;
        for (door, on) in [(Door::Ecs, config.doors.ecs), (Door::Eks, config.doors.eks)] {
            let found = current.iter().find(|p| p.endpoint.door == door);
            match (on, found) {
                (false, Some(proxy)) => {
                    // Out of the list first: the monitor does not report its removal.
                    self.proxies
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .retain(|p| p.id != proxy.id);
                    if let Err(err) = docker::remove_proxy(&engine, &proxy.id).await {
                        self.parts
                            .notice(format!("removing {}: {err}", proxy.endpoint.name));
                    }
                    changed = true;
                }
                (true, None) => {
                    let started = match docker::proxy_endpoints(&plan, &config.doors) {
                        Ok(endpoints) => match endpoints.iter().find(|e| e.door == door) {
                            Some(endpoint) => {
                                let image = self.proxy_image();
                                self.start_one(&engine, &plan, &route, &image, endpoint)
                                    .await
                            }
                            None => continue,
                        },
                        Err(err) => Err(err),
                    };
                    match started {
                        Ok(proxy) => self
                            .proxies
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push(proxy),
                        Err(err) => self.parts.notice(format!(
                            "the {} door stays off: {err}",
                            door.as_str().to_uppercase()
                        )),
                    }
                    changed = true;
                }
                _ => {}
            }
        }
        if changed {
            self.show_proxies_up();
            monitor::emit_containers(&engine, &plan.name, &self.parts).await;
        }
    }

    /// Removes every proxy container of this run.
    pub(super) async fn stop_proxy(&mut self) {
        let proxies = std::mem::take(&mut *self.proxies.lock().unwrap_or_else(|p| p.into_inner()));
        let Some(engine) = &self.engine else {
            return;
        };
        if proxies.is_empty() {
            return;
        }
        self.stopping_proxy.store(true, Ordering::SeqCst);
        let mut failures = Vec::new();
        for proxy in proxies {
            if let Err(err) = docker::remove_proxy(engine, &proxy.id).await {
                failures.push(format!("{}: {err}", proxy.endpoint.name));
            }
        }
        if failures.is_empty() {
            self.parts.set(Part::Proxy, PartState::Stopped);
        } else {
            self.parts.set(
                Part::Proxy,
                PartState::Failed(format!(
                    "could not remove the proxy: {}",
                    failures.join("; ")
                )),
            );
        }
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
            name: found.name.clone(),
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
        name: found.name.clone(),
    })
}

/// A container's addresses to probe: IPv4, and IPv6 from the host's gateway address there
/// (so the broker knows the probe as the host's, whatever else the host has on the bridge).
fn probe_targets(
    plan: &NetworkPlan,
    endpoint: &ProxyEndpoint,
    config: &Config,
) -> Vec<ProbeTarget> {
    let expect_silence = probe_may_go_unanswered(config, endpoint.door);
    let mut targets = vec![ProbeTarget {
        door: endpoint.door,
        ip: IpAddr::V4(endpoint.ipv4),
        source: None,
        expect_silence,
    }];
    let ipv6 = plan.ipv6.as_ref().zip(endpoint.ipv6);
    targets.extend(ipv6.map(|(ipv6, ip)| ProbeTarget {
        door: endpoint.door,
        ip: IpAddr::V6(ip),
        source: Some(IpAddr::V6(ipv6.gateway)),
        expect_silence,
    }));
    targets
}

/// The configuration makes the broker hold the door's readiness probe answer back (IMDS
/// off, or a hang, drop or latency fault on the probed path): silence then means healthy.
fn probe_may_go_unanswered(config: &Config, door: Door) -> bool {
    (door == Door::Imds && !config.imds.enabled)
        || config.faults.iter().any(|fault| {
            fault.applies(door, probe_path(door))
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
            name: "imds-spoof-ecs".into(),
            door: Some(Door::Ecs),
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
        match verdict {
            Leftover::Refuse(err @ DockerError::ProxyNameTaken { .. }) => {
                assert!(err.to_string().contains("imds-spoof-ecs"), "{err}")
            }
            other => panic!("expected ProxyNameTaken, got {other:?}"),
        }
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
                assert!(text.contains("imds-spoof-ecs"), "{text}");
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
        for door in [Door::Imds, Door::Ecs, Door::Eks] {
            assert!(!probe_may_go_unanswered(&config, door), "{door:?}");
        }
        config.imds.enabled = false;
        assert!(probe_may_go_unanswered(&config, Door::Imds));
        assert!(
            !probe_may_go_unanswered(&config, Door::Eks),
            "IMDS off only"
        );
        config.imds.enabled = true;
        config.faults.push(crate::config::Fault {
            door: None,
            path_prefix: "/latest/".into(),
            probability: 1.0,
            kind: FaultKind::Hang,
        });
        assert!(probe_may_go_unanswered(&config, Door::Imds));
        assert!(!probe_may_go_unanswered(&config, Door::Eks));
        config.faults[0].path_prefix = String::new();
        assert!(probe_may_go_unanswered(&config, Door::Eks));
    }

    #[test]
    fn each_address_of_a_door_is_probed() {
        let settings = crate::config::NetworkSettings {
            ipv6: true,
            ..Default::default()
        };
        let plan = NetworkPlan::from_settings(&settings).unwrap();
        let config = crate::config::parse(
            std::path::Path::new("sample.toml"),
            crate::config::SAMPLE_CONFIG,
        )
        .unwrap();
        let eks = docker::door_endpoint(&plan, Door::Eks);
        let targets = probe_targets(&plan, &eks, &config);
        let ips: Vec<String> = targets.iter().map(|t| t.ip.to_string()).collect();
        assert_eq!(ips, ["169.254.170.23", "fd00:ec2::23"]);
        assert!(targets.iter().all(|t| t.door == Door::Eks));
        let ecs = docker::door_endpoint(&plan, Door::Ecs);
        assert_eq!(probe_targets(&plan, &ecs, &config).len(), 1);
    }
}
