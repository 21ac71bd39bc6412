//! `imds-spoof up`: network, broker and proxy without the dashboard, in the foreground.
//! A line per request on stderr (JSON with --json), a ready line on stdout; Ctrl-C or
//! SIGTERM removes the proxy (the network stays for compose files that name it).

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::oneshot;

use crate::broker::LineFormat;
use crate::cli::{GlobalArgs, UpArgs};
use crate::docker::{self, DockerError};
use crate::session::{Part, PartState, Session, SessionError, SessionEvent, SessionOptions};

pub async fn run(global: &GlobalArgs, args: &UpArgs) -> anyhow::Result<()> {
    let store = super::open_store(global)?;
    let config = store.current();
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    let ready = Arc::new(AtomicBool::new(false));
    let (fatal_sender, fatal) = oneshot::channel();
    let reporter = tokio::spawn(report(receiver, ready.clone(), fatal_sender));
    let options = SessionOptions {
        proxy_image: args.proxy_image.clone(),
        request_lines: Some(if args.json {
            LineFormat::Json
        } else {
            LineFormat::Text
        }),
        log_requests: args.log_requests.clone(),
        start_docker: true,
    };
    let started = Instant::now();
    let mut session = tokio::select! {
        result = Session::start_strict(store.clone(), options, sender) => result?,
        _ = crate::session::stop_requested() => {
            // Interrupted half-way: the start future is gone, so clear what it created.
            remove_own_proxy().await;
            tracing::info!("interrupted while starting");
            return Ok(());
        }
    };
    ready.store(true, Ordering::SeqCst);
    print_ready(&session, &config, args.json, started.elapsed());

    let failure = serve_until_stopped(&mut session, &store, fatal).await;
    tracing::info!("stopping: removing the proxy containers");
    session.shutdown().await;
    reporter.abort();
    match failure {
        None => Ok(()),
        Some(reason) => Err(SessionError::Docker(DockerError::ProxyGone(reason)).into()),
    }
}

/// Runs until a stop signal (None) or the first failure after the start (its reason);
/// meanwhile `[doors]` edits of the file start or remove those proxies.
async fn serve_until_stopped(
    session: &mut Session,
    store: &crate::config::ConfigStore,
    mut fatal: oneshot::Receiver<String>,
) -> Option<String> {
    let mut config_changes = store.subscribe();
    let mut doors = store.current().doors.clone();
    let stop = crate::session::stop_requested();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => return None,
            reason = &mut fatal => return reason.ok(),
            Ok(()) = config_changes.changed() => {
                let now = config_changes.borrow_and_update().doors.clone();
                if now != doors {
                    doors = now;
                    session.apply_doors().await;
                }
            }
        }
    }
}

fn print_ready(session: &Session, config: &crate::config::Config, json: bool, took: Duration) {
    // "unix:/run/user/1000/imds-spoof/run-…/broker.sock" (local Linux engine) or
    // "127.0.0.1:1338" (Docker Desktop).
    let broker = session
        .broker_endpoint()
        .map(|endpoint| endpoint.to_string())
        .unwrap_or_default();
    let imds = format!("http://{}", config.network.proxy_ip);
    // The IPv6 endpoint's address is fixed (SDKs know only that one).
    let imds_ipv6 = config
        .network
        .ipv6
        .then(|| format!("http://[{}]", docker::IMDS_IPV6));
    let doors = session.doors();
    let line = if json {
        let mut ready = serde_json::json!({
            "event": "ready",
            "imds": imds,
            "broker": broker,
            "network": config.network.name,
            "proxy": docker::PROXY_NAME,
            "run": session.run_id(),
            "identity": config.active_identity,
            "startup_ms": took.as_millis() as u64,
        });
        if let Some(imds_ipv6) = &imds_ipv6 {
            ready["imds_ipv6"] = serde_json::Value::from(imds_ipv6.as_str());
        }
        // "doors": {"ecs": {"container": "imds-spoof-ecs", "urls": ["http://169.254.170.2"]}, …}
        let mut by_door = serde_json::Map::new();
        for door in &doors {
            by_door.insert(
                door.door.as_str().to_string(),
                serde_json::json!({ "container": door.name, "urls": door.urls() }),
            );
        }
        ready["doors"] = serde_json::Value::Object(by_door);
        ready.to_string()
    } else {
        let imds = match &imds_ipv6 {
            Some(imds_ipv6) => format!("{imds} and {imds_ipv6}"),
            None => imds,
        };
        let doors: String = doors
            .iter()
            .map(|door| {
                format!(
                    ", {} {}",
                    door.door.as_str().to_uppercase(),
                    door.urls().join(" and ")
                )
            })
            .collect();
        format!(
            "imds-spoof up: {imds}{doors} for containers on network {} (broker {broker}, run {}, identity {}, ready in {} ms); Ctrl-C stops",
            config.network.name,
            session.run_id(),
            config.active_identity,
            took.as_millis()
        )
    };
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

/// Logs pull progress and reports the first failure after the start as fatal.
async fn report(
    mut events: UnboundedReceiver<SessionEvent>,
    ready: Arc<AtomicBool>,
    fatal: oneshot::Sender<String>,
) {
    let mut fatal = Some(fatal);
    let mut last_pull = Instant::now() - Duration::from_secs(10);
    while let Some(event) = events.recv().await {
        match event {
            SessionEvent::Pull {
                image,
                current,
                total,
            } if last_pull.elapsed() >= Duration::from_secs(1) => {
                last_pull = Instant::now();
                if total > 0 {
                    tracing::info!(
                        "pulling {image}: {:.1} of {:.1} MB",
                        current as f64 / 1e6,
                        total as f64 / 1e6
                    );
                } else {
                    tracing::info!("pulling {image}");
                }
            }
            SessionEvent::Part(part, PartState::Failed(reason))
                if ready.load(Ordering::SeqCst) && part != Part::Broker =>
            {
                if let Some(fatal) = fatal.take() {
                    let _ = fatal.send(reason);
                }
            }
            _ => {}
        }
    }
}

/// The proxy containers this process created, if the start was interrupted before it
/// finished.
async fn remove_own_proxy() {
    let Ok(engine) = docker::connect().await else {
        return;
    };
    let me = docker::host::ProcessMark::current();
    for name in docker::PROXY_NAMES {
        if let Ok(Some(found)) = docker::find_proxy(&engine, name).await {
            if found.process.as_ref() == Some(&me) {
                let _ = docker::remove_proxy(&engine, &found.id).await;
            }
        }
    }
}
