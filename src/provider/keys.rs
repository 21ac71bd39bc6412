//! What is fetched and cached for an identity: a command, a profile, or one caller's
//! assumed-role session with the base it is assumed with.

use std::time::Duration;

use crate::config::{AssumeBase, AssumeRole, Config, CredentialSource};

use super::assume::SessionKey;

/// What is fetched, cached and kept fresh for an identity: identities with the same
/// command line, or the same profile, share its credentials.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum FetchKey {
    /// `source = "command"`: a `credential_process` command line and its timeout.
    Command { command: String, timeout: Duration },
    /// `source = "profile"`: the profile as the AWS SDK resolves it.
    Profile(String),
    /// `source = "assume-role"`: one caller's STS session, assumed with `base`.
    AssumeRole {
        session: Box<SessionKey>,
        base: Box<BaseKey>,
    },
}

/// The credentials an assumed role is assumed with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum BaseKey {
    /// A profile's or a command's, from the same cache.
    Fetched(FetchKey),
    /// Static keys of another identity.
    Static {
        access_key_id: String,
        secret_access_key: String,
        session_token: Option<String>,
    },
}

impl BaseKey {
    /// The base `settings` name, in `config`; None when it names no usable source (an
    /// identity without a role, or one that assumes a role itself).
    pub(super) fn of(settings: &AssumeRole, config: &Config) -> Option<BaseKey> {
        match &settings.base {
            AssumeBase::FromProfile(profile) => {
                Some(BaseKey::Fetched(FetchKey::Profile(profile.clone())))
            }
            AssumeBase::FromIdentity(name) => match &config.identity(name)?.role.as_ref()?.source {
                CredentialSource::Static {
                    access_key_id,
                    secret_access_key,
                    session_token,
                    ..
                } => Some(BaseKey::Static {
                    access_key_id: access_key_id.clone(),
                    secret_access_key: secret_access_key.clone(),
                    session_token: session_token.clone(),
                }),
                CredentialSource::AssumeRole(_) => None,
                source => FetchKey::of(source).map(BaseKey::Fetched),
            },
        }
    }
}

impl FetchKey {
    /// The key of a role's source, if it is fetched (static keys are not).
    pub(super) fn of(source: &CredentialSource) -> Option<FetchKey> {
        match source {
            CredentialSource::Static { .. } => None,
            CredentialSource::Command {
                command,
                timeout_ms,
            } => Some(FetchKey::command(command, *timeout_ms)),
            CredentialSource::Profile { profile } => Some(FetchKey::Profile(profile.clone())),
            // One key per caller: made when a caller asks (`resolve_for`).
            CredentialSource::AssumeRole(_) => None,
        }
    }

    pub(super) fn command(command: &str, timeout_ms: u64) -> FetchKey {
        FetchKey::Command {
            command: command.to_string(),
            timeout: Duration::from_millis(timeout_ms),
        }
    }
}
