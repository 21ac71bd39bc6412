//! The order of the checks: engine and settings first, then what needs the engine, then
//! the one container asked about, then the certificates.

use super::report::{Level, Report};
use crate::cli::{DoctorArgs, GlobalArgs};
use crate::config::Config;
use crate::docker::{self, Engine, NetworkPlan};

use super::broker::{check_broker, check_doors};
use super::certificates::check_certificates;
use super::containers::container_checks;
use super::credentials::check_credentials;
use super::network::{check_ec2_host, check_ipv6, check_subnet};
use super::proxy::{check_image, check_proxy};

pub async fn run(global: &GlobalArgs, args: &DoctorArgs) -> anyhow::Result<()> {
    let store = crate::commands::open_store(global)?;
    let config = store.current();
    let mut report = Report { failures: 0 };

    let engine = match docker::connect().await {
        Ok(engine) => {
            report.line(
                Level::Ok,
                "engine",
                format!(
                    "{}{}",
                    engine.whereabouts(),
                    if engine.desktop {
                        ": Docker Desktop, the broker listens on loopback behind host.docker.internal"
                    } else {
                        ""
                    }
                ),
            );
            Some(engine)
        }
        Err(err) => {
            report.line(Level::Fail, "engine", err.to_string());
            None
        }
    };
    let plan = match NetworkPlan::from_settings(&config.network) {
        Ok(plan) => Some(plan),
        Err(err) => {
            report.line(Level::Fail, "settings", err.to_string());
            None
        }
    };
    if let (Some(engine), Some(plan)) = (&engine, &plan) {
        docker_checks(engine, plan, &config, &mut report).await;
        if let Some(name) = &args.container {
            container_checks(engine, plan, &config, name, &mut report).await;
        }
    } else if args.container.is_some() {
        report.line(Level::Warn, "container", "not checked: no engine");
    }
    check_credentials(&config, &mut report).await;
    check_certificates(&store, &config, &mut report);
    if report.failures > 0 {
        anyhow::bail!("{} check(s) failed", report.failures);
    }
    Ok(())
}

async fn docker_checks(engine: &Engine, plan: &NetworkPlan, config: &Config, report: &mut Report) {
    let ours = check_subnet(engine, plan, report).await;
    check_ec2_host(plan, ours.as_ref(), report);
    if plan.ipv6.is_some() {
        check_ipv6(engine, ours.as_ref(), report).await;
    }
    check_image(engine, &config.proxy.image, report).await;
    let Some(proxy) = check_proxy(engine, plan, config, report).await else {
        return;
    };
    let running = proxy.as_ref().is_some_and(|found| found.running);
    if running && !engine.desktop {
        check_broker(plan, config, proxy.as_ref(), report).await;
    }
    check_doors(engine, plan, config, running && !engine.desktop, report).await;
}
