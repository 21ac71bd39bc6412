//! The certificates that sign identity documents.

use super::report::{Level, Report};
use crate::config::Config;

/// Where the identity certificates are (users verify signed documents against them).
/// Created with the keys at the first start of a broker; doctor only looks.
pub(super) fn check_certificates(
    store: &crate::config::ConfigStore,
    config: &Config,
    report: &mut Report,
) {
    if !config.provider.command.is_empty() {
        report.line(
            Level::Ok,
            "certificates",
            "none of ours: the provider command signs identity documents",
        );
        return;
    }
    let dir = crate::provider::signing_dir(store);
    let described = crate::provider::describe_certificates(&dir);
    let missing: Vec<&str> = crate::imds::signing::PUBLISHED_CERTIFICATES
        .iter()
        .map(|published| published.file_name)
        .filter(|name| !dir.join(name).is_file())
        .collect();
    if missing.is_empty() {
        report.line(Level::Ok, "certificates", described);
    } else {
        report.line(
            Level::Warn,
            "certificates",
            format!(
                "{} not written yet (the next start creates them): {described}",
                missing.join(" and ")
            ),
        );
    }
}
