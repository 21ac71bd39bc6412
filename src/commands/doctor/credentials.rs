//! Each identity's fetched credentials (profile, command, assume-role), resolved once as
//! the broker would: an expired SSO login, a broken chain or an unreachable STS shows
//! here with what to do, before any container asks.

use super::report::{Level, Report};
use crate::config::{Config, CredentialSource};
use crate::provider::{CredentialResolver, SessionCaller};

pub(super) async fn check_credentials(config: &Config, report: &mut Report) {
    let resolver = CredentialResolver::default();
    for identity in &config.identities {
        let Some(role) = &identity.role else {
            continue;
        };
        let what = match &role.source {
            CredentialSource::Static { .. } => continue,
            CredentialSource::Profile { profile } => format!("profile {profile}"),
            CredentialSource::Command { .. } => "command".to_string(),
            CredentialSource::AssumeRole(settings) => format!("assume-role {}", settings.role_arn),
        };
        // As a host caller: the session `serve` would get (containers get their own).
        let caller = SessionCaller {
            container: None,
            identity: &identity.name,
            instance_id: &identity.instance_id,
        };
        match resolver.resolve_for(role, &caller, config).await {
            Ok(resolved) => report.line(
                Level::Ok,
                "credentials",
                format!(
                    "{}: {what} gives {} (expires {})",
                    identity.name,
                    masked_key_id(&resolved.credentials.access_key_id),
                    crate::imds::time::format_timestamp(resolved.credentials.expiration)
                ),
            ),
            Err(err) => report.line(
                Level::Fail,
                "credentials",
                format!("{}: {what}: {err}", identity.name),
            ),
        }
    }
}

/// `ASIA…WXYZ`: enough to tell keys apart, not enough to use.
fn masked_key_id(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 8 {
        return "…".to_string();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids_are_shown_by_their_ends() {
        assert_eq!(masked_key_id("ASIAIMDSSPOOFEXAMPLE"), "ASIA…MPLE");
        assert_eq!(masked_key_id("short"), "…");
    }
}
