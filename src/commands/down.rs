//! `imds-spoof down`.

use crate::cli::{DownArgs, GlobalArgs};

pub async fn run(_global: &GlobalArgs, _args: &DownArgs) -> anyhow::Result<()> {
    anyhow::bail!("`imds-spoof down` is not available in this build yet")
}
