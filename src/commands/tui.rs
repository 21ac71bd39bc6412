//! `imds-spoof` without a subcommand: the dashboard.

use crate::cli::GlobalArgs;

pub async fn run(_global: &GlobalArgs) -> anyhow::Result<()> {
    anyhow::bail!("the dashboard is not available in this build yet; use `imds-spoof serve`")
}
