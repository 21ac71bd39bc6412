//! `imds-spoof up`.

use crate::cli::{GlobalArgs, UpArgs};

pub async fn run(_global: &GlobalArgs, _args: &UpArgs) -> anyhow::Result<()> {
    anyhow::bail!("`imds-spoof up` is not available in this build yet")
}
