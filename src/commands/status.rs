//! `imds-spoof status`.

use crate::cli::GlobalArgs;

pub async fn run(_global: &GlobalArgs) -> anyhow::Result<()> {
    anyhow::bail!("`imds-spoof status` is not available in this build yet")
}
