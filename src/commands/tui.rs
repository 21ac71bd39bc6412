//! `imds-spoof` without a subcommand: the dashboard.

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::app::{self, RunOptions};
use crate::cli::GlobalArgs;

pub async fn run(global: &GlobalArgs) -> anyhow::Result<()> {
    // Loading first: a broken configuration is reported on the plain terminal.
    let store = super::open_store(global)?;
    init_logging();
    let options = RunOptions {
        start_docker: !global.no_start,
        proxy_image: None,
        log_requests: global.log_requests.clone(),
    };
    app::run(store, options).await?;
    Ok(())
}

/// Logs go to the dashboard's log pane: nothing may print to the terminal while the
/// dashboard draws on it. [`super::log_filter`] says what.
fn init_logging() {
    let filter = super::log_filter();
    let _ = tracing_subscriber::registry()
        .with(tracing_subscriber::EnvFilter::new(filter))
        .with(tui_logger::TuiTracingSubscriberLayer)
        .try_init();
    let _ = tui_logger::init_logger(tui_logger::LevelFilter::Trace);
    tui_logger::set_default_level(tui_logger::LevelFilter::Trace);
}
