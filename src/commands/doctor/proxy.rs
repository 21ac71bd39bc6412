//! The proxy: its image present, its container running on our network.

use super::broker::check_port_free;
use super::report::{Level, Report};
use crate::config::Config;
use crate::docker::{self, Engine, NetworkPlan, ProxyLeftover};

pub(super) async fn check_image(engine: &Engine, image: &str, report: &mut Report) {
    match docker::image_present(engine, image).await {
        Ok(true) => report.line(Level::Ok, "image", format!("{image} is present")),
        Ok(false) => report.line(
            Level::Warn,
            "image",
            format!(
                "{image} is not present; `up` pulls it. Offline: `scripts/offline-images.sh` builds {} (use it with --proxy-image or [proxy] image)",
                docker::OFFLINE_PROXY_IMAGE
            ),
        ),
        Err(err) => report.line(Level::Fail, "image", err.to_string()),
    }
}

/// The proxy container; `Some(running)`, or None when the engine would not say.
pub(super) async fn check_proxy(
    engine: &Engine,
    plan: &NetworkPlan,
    config: &Config,
    report: &mut Report,
) -> Option<Option<ProxyLeftover>> {
    let proxy = match docker::find_proxy(engine, docker::PROXY_NAME).await {
        Ok(proxy) => proxy,
        Err(err) => {
            report.line(Level::Fail, "proxy", err.to_string());
            return None;
        }
    };
    match &proxy {
        None => {
            report.line(
                Level::Warn,
                "proxy",
                "not running: start `imds-spoof up` or the dashboard",
            );
            check_port_free(config.broker.port, report).await;
        }
        Some(found) if !found.managed => report.line(
            Level::Fail,
            "proxy",
            format!(
                "a container named {} exists and is not ours: remove it",
                docker::PROXY_NAME
            ),
        ),
        Some(found) if found.orphaned() => report.line(
            Level::Warn,
            "proxy",
            "left by a run whose process is gone: `imds-spoof up` clears it, or `imds-spoof down`",
        ),
        Some(found) if !found.running => report.line(
            Level::Fail,
            "proxy",
            "exists but is stopped: `imds-spoof down`, then `up`",
        ),
        Some(found) => report.line(
            Level::Ok,
            "proxy",
            format!(
                "running at {} ({}), broker at {}",
                plan.proxy_ip,
                found.image,
                crate::commands::status::broker_location(Some(found), &config.broker)
            ),
        ),
    }
    Some(proxy)
}
