//! A role's credential source as the credentials editor sees it: its rows, their
//! values as text, a row changed from text, the next source, fresh fake keys.

use crate::config::{
    check_role_arn, check_timestamp, AssumeBase, AssumeRole, CredentialSource, Role,
    DEFAULT_ASSUME_DURATION, DEFAULT_MFA_DURATION, DEFAULT_SESSION_NAME,
};
use crate::imds::ids;

use super::form::CredentialField;

const DEFAULT_PROFILE: &str = "default";
const DEFAULT_COMMAND: &str = "aws configure export-credentials --profile default --format process";
const DEFAULT_COMMAND_TIMEOUT_MS: u64 = 5_000;
/// A role ARN of the documentation's example account, to be edited.
const EXAMPLE_ROLE_ARN: &str = "arn:aws:iam::123456789012:role/imds-spoof-example";

/// The rows the role's source has.
pub fn rows(role: Option<&Role>) -> Vec<CredentialField> {
    use CredentialField as F;
    match role.map(|role| &role.source) {
        None => vec![F::RoleName],
        Some(CredentialSource::Static { .. }) => vec![
            F::RoleName,
            F::Source,
            F::AccessKeyId,
            F::SecretAccessKey,
            F::SessionToken,
            F::Expiration,
        ],
        Some(CredentialSource::Profile { .. }) => vec![F::RoleName, F::Source, F::Profile],
        Some(CredentialSource::Command { .. }) => {
            vec![F::RoleName, F::Source, F::Command, F::CommandTimeout]
        }
        Some(CredentialSource::AssumeRole(_)) => vec![
            F::RoleName,
            F::Source,
            F::RoleArn,
            F::AssumeBase,
            F::SessionName,
        ],
    }
}

/// The field's value as stored (secrets in clear).
pub fn raw_value(role: &Role, field: CredentialField) -> String {
    use CredentialField as F;
    match (&role.source, field) {
        (_, F::RoleName) => role.name.clone(),
        (source, F::Source) => source_name(source).to_string(),
        (CredentialSource::Static { access_key_id, .. }, F::AccessKeyId) => access_key_id.clone(),
        (
            CredentialSource::Static {
                secret_access_key, ..
            },
            F::SecretAccessKey,
        ) => secret_access_key.clone(),
        (CredentialSource::Static { session_token, .. }, F::SessionToken) => {
            session_token.clone().unwrap_or_default()
        }
        (CredentialSource::Static { expiration, .. }, F::Expiration) => {
            expiration.clone().unwrap_or_default()
        }
        (CredentialSource::Profile { profile }, F::Profile) => profile.clone(),
        (CredentialSource::Command { command, .. }, F::Command) => command.clone(),
        (CredentialSource::Command { timeout_ms, .. }, F::CommandTimeout) => timeout_ms.to_string(),
        (CredentialSource::AssumeRole(settings), F::RoleArn) => settings.role_arn.clone(),
        (CredentialSource::AssumeRole(settings), F::AssumeBase) => match &settings.base {
            AssumeBase::FromProfile(profile) => format!("profile {profile}"),
            AssumeBase::FromIdentity(identity) => format!("identity {identity}"),
        },
        (CredentialSource::AssumeRole(settings), F::SessionName) => settings.session_name.clone(),
        _ => String::new(),
    }
}

pub fn source_name(source: &CredentialSource) -> &'static str {
    match source {
        CredentialSource::Static { .. } => "static",
        CredentialSource::Profile { .. } => "profile",
        CredentialSource::Command { .. } => "command",
        CredentialSource::AssumeRole(_) => "assume-role",
    }
}

pub fn with_field(role: &Role, field: CredentialField, text: &str) -> Result<Role, String> {
    use CredentialField as F;
    let mut role = role.clone();
    let optional = |text: &str| (!text.is_empty()).then(|| text.to_string());
    match (&mut role.source, field) {
        (_, F::RoleName) => role.name = text.to_string(),
        (CredentialSource::Static { access_key_id, .. }, F::AccessKeyId) => {
            *access_key_id = text.to_string()
        }
        (
            CredentialSource::Static {
                secret_access_key, ..
            },
            F::SecretAccessKey,
        ) => {
            *secret_access_key = text.to_string();
        }
        (CredentialSource::Static { session_token, .. }, F::SessionToken) => {
            *session_token = optional(text)
        }
        (CredentialSource::Static { expiration, .. }, F::Expiration) => {
            if !text.is_empty() {
                check_timestamp("expiration", text)?;
            }
            *expiration = optional(text);
        }
        (CredentialSource::Profile { profile }, F::Profile) => *profile = text.to_string(),
        (CredentialSource::Command { command, .. }, F::Command) => *command = text.to_string(),
        (CredentialSource::AssumeRole(settings), F::RoleArn) => {
            check_role_arn(text)?;
            settings.role_arn = text.to_string();
        }
        (CredentialSource::AssumeRole(settings), F::SessionName) => {
            settings.session_name = text.to_string()
        }
        (CredentialSource::Command { timeout_ms, .. }, F::CommandTimeout) => {
            *timeout_ms = text
                .parse()
                .ok()
                .filter(|ms| *ms > 0)
                .ok_or_else(|| format!("timeout {text:?}: a number of milliseconds"))?;
        }
        _ => return Err(format!("{} does not apply to this source", field.label())),
    }
    Ok(role)
}

/// Keys shaped like STS temporary credentials, which nothing will accept.
pub fn fake_static_keys() -> CredentialSource {
    CredentialSource::Static {
        access_key_id: ids::temporary_access_key_id(),
        secret_access_key: ids::secret_access_key(),
        session_token: Some(ids::session_token()),
        expiration: None,
    }
}

/// The fields a role gets when it first switches to the source `name` (nothing of it
/// kept from before): fake keys, the default profile, the CLI's export command, or an
/// example role assumed with the default profile.
pub fn source_defaults(name: &str) -> toml::Table {
    let source = match name {
        "profile" => CredentialSource::Profile {
            profile: DEFAULT_PROFILE.to_string(),
        },
        "command" => CredentialSource::Command {
            command: DEFAULT_COMMAND.to_string(),
            timeout_ms: DEFAULT_COMMAND_TIMEOUT_MS,
        },
        "assume-role" => CredentialSource::AssumeRole(AssumeRole {
            role_arn: EXAMPLE_ROLE_ARN.to_string(),
            base: AssumeBase::FromProfile(DEFAULT_PROFILE.to_string()),
            session_name: DEFAULT_SESSION_NAME.to_string(),
            external_id: None,
            duration: DEFAULT_ASSUME_DURATION,
            policy: None,
            session_tags: Default::default(),
            mfa_serial: None,
            mfa_duration: DEFAULT_MFA_DURATION,
        }),
        _ => fake_static_keys(),
    };
    let role = Role {
        name: String::new(),
        source,
    };
    let mut table = toml::Table::try_from(&role).unwrap_or_default();
    table.remove("name");
    table.remove("source");
    table
}
