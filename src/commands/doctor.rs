//! `imds-spoof doctor`.

use crate::cli::{DoctorArgs, GlobalArgs};

pub async fn run(_global: &GlobalArgs, _args: &DoctorArgs) -> anyhow::Result<()> {
    anyhow::bail!("`imds-spoof doctor` is not available in this build yet")
}
