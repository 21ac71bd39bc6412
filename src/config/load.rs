//! Reading and checking the configuration file, with errors that say where.

use std::path::{Path, PathBuf};

use super::model::{Config, CredentialSource, Identity};
use super::ConfigError;

/// Parses and validates configuration text; `path` only names the file in errors.
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    let config: Config = toml::from_str(text).map_err(|err| {
        let (line, column) = err
            .span()
            .map(|span| line_and_column(text, span.start))
            .unwrap_or((0, 0));
        ConfigError::Syntax {
            path: path.to_path_buf(),
            line,
            column,
            message: err.message().to_string(),
        }
    })?;
    validate(&config).map_err(|message| match locate(text, &message) {
        Some(line) => ConfigError::InvalidAt {
            path: path.to_path_buf(),
            line,
            message,
        },
        None => ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        },
    })?;
    Ok(config)
}

/// The 1-based line a validation message is about. Messages start with the table they
/// concern (`[imds] hop_limit = ...`, `[[identity]] #2 (dev): mac ...`), which is enough
/// to find the line in the text without a span-keeping parser.
fn locate(text: &str, message: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let header_lines = |header: &str| -> Vec<usize> {
        lines
            .iter()
            .enumerate()
            .filter(|(_, line)| line.trim() == header)
            .map(|(index, _)| index)
            .collect()
    };
    let key_line = |from: usize, key: &str| -> Option<usize> {
        lines
            .iter()
            .enumerate()
            .skip(from)
            .take_while(|(index, line)| *index == from || !line.trim_start().starts_with("[["))
            .find(|(_, line)| {
                line.trim_start()
                    .strip_prefix(key)
                    .is_some_and(|rest| rest.trim_start().starts_with('='))
            })
            .map(|(index, _)| index)
    };
    let numbered = |prefix: &str, header: &str| -> Option<(usize, &str)> {
        let rest = message.strip_prefix(prefix)?;
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let index: usize = digits.parse().ok()?;
        let start = *header_lines(header).get(index.checked_sub(1)?)?;
        Some((start, rest))
    };
    let found = if let Some((start, rest)) = numbered("[[identity]] #", "[[identity]]") {
        let field = rest
            .split_once(": ")
            .and_then(|(_, detail)| detail.split_whitespace().next())
            .unwrap_or("");
        key_line(start, field).or(Some(start))
    } else if let Some((start, _)) = numbered("[[fault]] #", "[[fault]]") {
        Some(start)
    } else if let Some((start, rest)) = numbered("[[container]] #", "[[container]]") {
        let field = rest
            .split_once(": ")
            .and_then(|(_, detail)| detail.split_whitespace().next())
            .unwrap_or("");
        key_line(start, field).or(Some(start))
    } else if let Some((start, rest)) = numbered("[[service_account]] #", "[[service_account]]") {
        let field = rest
            .split_once(": ")
            .and_then(|(_, detail)| detail.split_whitespace().next())
            .unwrap_or("");
        key_line(start, field).or(Some(start))
    } else if let Some(rest) = message.strip_prefix("[imds] ") {
        let key = rest.split_whitespace().next().unwrap_or("");
        let start = *header_lines("[imds]").first()?;
        key_line(start, key).or(Some(start))
    } else if message.starts_with("active_identity") {
        key_line(0, "active_identity")
    } else {
        None
    };
    found.map(|index| index + 1)
}

/// Reads the file at `path`, creating it from the commented sample when it does not exist.
pub fn load_or_create(path: &Path) -> Result<Config, ConfigError> {
    if !path.exists() {
        super::write::create_atomically(path, super::sample::SAMPLE_CONFIG)?;
        tracing::info!(path = %path.display(), "wrote a sample configuration");
    }
    load(path)
}

/// Reads and validates the file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, &text)
}

/// `$XDG_CONFIG_HOME/imds-spoof/config.toml`, or `~/.config/imds-spoof/config.toml`.
pub fn default_path() -> PathBuf {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("imds-spoof").join("config.toml")
}

/// 1-based line and column of a byte offset.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.chars().rev().take_while(|c| *c != '\n').count() + 1;
    (line, column)
}

/// Checks what serde cannot: references between sections and the shape of EC2 values.
pub fn validate(config: &Config) -> Result<(), String> {
    let imds = &config.imds;
    if !(1..=64).contains(&imds.hop_limit) {
        return Err(format!(
            "[imds] hop_limit = {}: must be between 1 and 64",
            imds.hop_limit
        ));
    }
    if !(1..=21_600).contains(&imds.max_token_ttl) {
        return Err(format!(
            "[imds] max_token_ttl = {}: must be between 1 and 21600",
            imds.max_token_ttl
        ));
    }
    let listen = config.broker.desktop_listen;
    if listen.is_unspecified() || listen.is_multicast() {
        return Err(format!(
            "[broker] desktop_listen = \"{listen}\": must be one address of this machine \
             (loopback, or the engine's host-gateway address), not every address"
        ));
    }
    for (index, identity) in config.identities.iter().enumerate() {
        validate_identity(identity).map_err(|message| {
            format!("[[identity]] #{} ({}): {message}", index + 1, identity.name)
        })?;
        if config.identities[..index]
            .iter()
            .any(|other| other.name == identity.name)
        {
            return Err(format!(
                "[[identity]] #{}: the name {:?} is used twice",
                index + 1,
                identity.name
            ));
        }
    }
    if config.active().is_none() {
        let names: Vec<&str> = config.identities.iter().map(|i| i.name.as_str()).collect();
        return Err(format!(
            "active_identity = {:?} names no [[identity]] (defined: {})",
            config.active_identity,
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        ));
    }
    validate_container_rules(config)?;
    validate_service_accounts(config)?;
    validate_assume_bases(config)?;
    for (index, fault) in config.faults.iter().enumerate() {
        if let super::model::FaultKind::Status { status } = fault.kind {
            if !(100..=599).contains(&status) {
                return Err(format!(
                    "[[fault]] #{}: status {status} is not an HTTP status",
                    index + 1
                ));
            }
        }
    }
    Ok(())
}

/// `from_identity` names an identity whose role has credentials of its own (static,
/// profile or command): not itself, and not another assumed role.
fn validate_assume_bases(config: &Config) -> Result<(), String> {
    for identity in &config.identities {
        let Some(CredentialSource::AssumeRole(settings)) =
            identity.role.as_ref().map(|r| &r.source)
        else {
            continue;
        };
        let super::model::AssumeBase::FromIdentity(base) = &settings.base else {
            continue;
        };
        let usable = config
            .identity(base)
            .and_then(|other| other.role.as_ref())
            .is_some_and(|role| !matches!(role.source, CredentialSource::AssumeRole(_)));
        if !usable {
            return Err(format!(
                "[[identity]] {}: from_identity = {base:?} must name an identity whose role has static, profile or command credentials",
                identity.name
            ));
        }
    }
    Ok(())
}

/// Each `[[container]]` names a container one way and an identity that exists.
fn validate_container_rules(config: &Config) -> Result<(), String> {
    for (index, rule) in config.container_rules.iter().enumerate() {
        let number = index + 1;
        match (&rule.name, &rule.compose_service) {
            (Some(_), Some(_)) => {
                return Err(format!(
                    "[[container]] #{number}: name and compose_service both set: a rule matches one way"
                ))
            }
            (None, None) => {
                return Err(format!(
                    "[[container]] #{number}: identity needs a name or a compose_service to match"
                ))
            }
            _ => {}
        }
        if let Some(name) = &rule.name {
            check_container_name(name)
                .map_err(|problem| format!("[[container]] #{number}: name {problem}"))?;
        }
        if let Some(service) = &rule.compose_service {
            check_compose_service(service)
                .map_err(|problem| format!("[[container]] #{number}: compose_service {problem}"))?;
        }
        // Two rules for one container would leave "which identity?" to the file's order.
        let earlier = config.container_rules[..index].iter().position(|other| {
            (rule.name.is_some() && other.name == rule.name)
                || (rule.compose_service.is_some() && other.compose_service == rule.compose_service)
        });
        if let Some(earlier) = earlier {
            let (key, value) = match (&rule.name, &rule.compose_service) {
                (Some(name), _) => ("name", name),
                (None, Some(service)) => ("compose_service", service),
                (None, None) => unreachable!("checked above"),
            };
            return Err(format!(
                "[[container]] #{number}: {key} {value:?} has a rule already ([[container]] #{}): keep one",
                earlier + 1
            ));
        }
        if config.identity(&rule.identity).is_none() {
            return Err(format!(
                "[[container]] #{number}: identity {:?} names no [[identity]]",
                rule.identity
            ));
        }
    }
    Ok(())
}

/// A name Docker would give a container: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`, and not absurdly
/// long. The message starts with the name itself.
pub fn check_container_name(name: &str) -> Result<(), String> {
    const LONGEST: usize = 253;
    let mut bytes = name.bytes();
    let shaped = bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if !shaped {
        return Err(format!(
            "{:?} is not a container name Docker allows ([a-zA-Z0-9][a-zA-Z0-9_.-]*)",
            shown(name)
        ));
    }
    if name.len() > LONGEST {
        return Err(format!(
            "{:?} is {} characters long: too long for a container name (at most {LONGEST})",
            shown(name),
            name.len()
        ));
    }
    Ok(())
}

/// A compose service name: letters, digits, `.`, `_` and `-`, as compose allows.
fn check_compose_service(service: &str) -> Result<(), String> {
    let shaped = !service.is_empty()
        && service.len() <= 253
        && service
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if shaped {
        Ok(())
    } else {
        Err(format!(
            "{:?} is not a compose service name ([a-zA-Z0-9._-]+)",
            shown(service)
        ))
    }
}

/// A value cut for a message: a 5,000-character name is not repeated whole.
fn shown(value: &str) -> String {
    if value.chars().count() > 64 {
        value.chars().take(63).chain(['…']).collect()
    } else {
        value.to_string()
    }
}

/// Each `[[service_account]]` names one `namespace/name` once, outside the namespace
/// reserved for identities, and an identity that exists.
fn validate_service_accounts(config: &Config) -> Result<(), String> {
    use super::model::IDENTITY_NAMESPACE;
    for (index, rule) in config.service_accounts.iter().enumerate() {
        let number = index + 1;
        let parts = rule.name.split_once('/');
        let well_formed = parts.is_some_and(|(namespace, name)| {
            let ok = |part: &str| !part.is_empty() && !part.contains(['/', ':']);
            ok(namespace) && ok(name)
        });
        if !well_formed {
            return Err(format!(
                "[[service_account]] #{number}: name {:?} must be namespace/name",
                rule.name
            ));
        }
        if parts.is_some_and(|(namespace, _)| namespace == IDENTITY_NAMESPACE) {
            return Err(format!(
                "[[service_account]] #{number}: name {:?} is in the namespace {IDENTITY_NAMESPACE:?}, whose accounts are the identities themselves (imds-spoof token --identity)",
                rule.name
            ));
        }
        if config.service_accounts[..index]
            .iter()
            .any(|other| other.name == rule.name)
        {
            return Err(format!(
                "[[service_account]] #{number}: name {:?} is mapped twice",
                rule.name
            ));
        }
        if config.identity(&rule.identity).is_none() {
            return Err(format!(
                "[[service_account]] #{number}: identity {:?} names no [[identity]]",
                rule.identity
            ));
        }
    }
    Ok(())
}

/// Checks one identity's fields against the shapes EC2 uses.
pub fn validate_identity(identity: &Identity) -> Result<(), String> {
    if identity.name.trim().is_empty() {
        return Err("name is empty".to_string());
    }
    check_instance_id(&identity.instance_id)?;
    check_prefixed_hex("ami_id", &identity.ami_id, "ami-")?;
    if identity.account_id.len() != 12 || !identity.account_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "account_id {:?}: must be 12 digits",
            identity.account_id
        ));
    }
    check_zone(&identity.region, &identity.availability_zone)?;
    check_mac(&identity.mac)?;
    if let Some(role) = &identity.role {
        check_role(role)?;
    }
    for (field, value) in [
        ("spot_time", &identity.events.spot_time),
        (
            "rebalance_notice_time",
            &identity.events.rebalance_notice_time,
        ),
    ] {
        if let Some(value) = value {
            check_timestamp(field, value)?;
        }
    }
    if identity.events.spot_action.is_some() != identity.events.spot_time.is_some() {
        return Err("events: spot_action and spot_time go together".to_string());
    }
    if let Some(ecs) = &identity.ecs {
        ecs.check()?;
    }
    Ok(())
}

/// `i-` followed by 8 or 17 lowercase hex digits.
pub fn check_instance_id(value: &str) -> Result<(), String> {
    check_prefixed_hex("instance_id", value, "i-")
}

fn check_prefixed_hex(field: &str, value: &str, prefix: &str) -> Result<(), String> {
    let ok = value.strip_prefix(prefix).is_some_and(|hex| {
        (hex.len() == 8 || hex.len() == 17)
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{field} {value:?}: must be {prefix} followed by 8 or 17 lowercase hex digits"
        ))
    }
}

/// An availability zone is its region plus one letter (or a local-zone suffix).
pub fn check_zone(region: &str, zone: &str) -> Result<(), String> {
    let region_ok = region.split('-').count() >= 3
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !region_ok {
        return Err(format!(
            "region {region:?}: not a region name like us-east-1"
        ));
    }
    match zone.strip_prefix(region) {
        Some(suffix)
            if !suffix.is_empty()
                && suffix
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') =>
        {
            Ok(())
        }
        _ => Err(format!(
            "availability_zone {zone:?}: must be in region {region} (like {region}a)"
        )),
    }
}

fn check_mac(mac: &str) -> Result<(), String> {
    let parts: Vec<&str> = mac.split(':').collect();
    let ok = parts.len() == 6
        && parts
            .iter()
            .all(|part| part.len() == 2 && part.bytes().all(|b| b.is_ascii_hexdigit()));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "mac {mac:?}: must be six hex pairs like 0e:49:61:0f:c3:11"
        ))
    }
}

fn check_role(role: &super::model::Role) -> Result<(), String> {
    if role.name.is_empty() || role.name.contains('/') {
        return Err(format!(
            "role name {:?}: must be a non-empty name without '/'",
            role.name
        ));
    }
    match &role.source {
        CredentialSource::Static {
            access_key_id,
            secret_access_key,
            expiration,
            ..
        } => {
            if access_key_id.is_empty() || secret_access_key.is_empty() {
                return Err(
                    "role: static source needs access_key_id and secret_access_key".to_string(),
                );
            }
            if let Some(expiration) = expiration {
                check_timestamp("role expiration", expiration)?;
            }
        }
        CredentialSource::Profile { profile } if profile.is_empty() => {
            return Err("role: profile source needs a profile name".to_string());
        }
        CredentialSource::Command { command, .. } if command.trim().is_empty() => {
            return Err("role: command source needs a command".to_string());
        }
        CredentialSource::AssumeRole(settings) => check_assume_role(settings)?,
        _ => {}
    }
    Ok(())
}

/// `arn:PARTITION:iam::ACCOUNT:role/PATH/NAME`.
pub fn check_role_arn(value: &str) -> Result<(), String> {
    let bad = || format!("role_arn {value:?}: expected arn:aws:iam::123456789012:role/NAME");
    let mut parts = value.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("iam"), Some(""), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(bad());
    };
    let named = resource
        .strip_prefix("role/")
        .is_some_and(|name| !name.is_empty() && !name.ends_with('/'));
    if partition.is_empty()
        || account.len() != 12
        || !account.bytes().all(|b| b.is_ascii_digit())
        || !named
    {
        return Err(bad());
    }
    Ok(())
}

/// An assume-role source STS would accept: its ARN, a duration STS allows, a session
/// name template with only known placeholders, and a base that names something.
fn check_assume_role(settings: &super::model::AssumeRole) -> Result<(), String> {
    check_role_arn(&settings.role_arn)?;
    if !(900..=43_200).contains(&settings.duration) {
        return Err(format!(
            "role: duration = {}: STS allows 900 (15 minutes) to 43200 (12 hours) seconds",
            settings.duration
        ));
    }
    let mut rest = settings.session_name.as_str();
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').map(|at| open + at);
        let Some(close) = close else {
            return Err(format!(
                "role: session_name {:?} has an unclosed {{",
                settings.session_name
            ));
        };
        let placeholder = &rest[open + 1..close];
        if !["container", "identity", "instance_id"].contains(&placeholder) {
            return Err(format!(
                "role: session_name {:?}: {{{placeholder}}} is not one of {{container}}, {{identity}}, {{instance_id}}",
                settings.session_name
            ));
        }
        rest = &rest[close + 1..];
    }
    if !(900..=129_600).contains(&settings.mfa_duration) {
        return Err(format!(
            "role: mfa_duration = {}: STS allows 900 (15 minutes) to 129600 (36 hours) seconds",
            settings.mfa_duration
        ));
    }
    if settings
        .mfa_serial
        .as_deref()
        .is_some_and(|serial| serial.trim().is_empty() || serial.contains(char::is_whitespace))
    {
        return Err(
            "role: mfa_serial is empty or has spaces: the MFA device's ARN or serial number"
                .to_string(),
        );
    }
    let base = match &settings.base {
        super::model::AssumeBase::FromProfile(name) => ("from_profile", name),
        super::model::AssumeBase::FromIdentity(name) => ("from_identity", name),
    };
    if base.1.trim().is_empty() {
        return Err(format!("role: {} is empty", base.0));
    }
    Ok(())
}

/// `YYYY-MM-DDTHH:MM:SSZ`, the only timestamp form IMDS serves.
pub fn check_timestamp(field: &str, value: &str) -> Result<(), String> {
    super::time::parse_timestamp(value)
        .map(|_| ())
        .ok_or_else(|| format!("{field} {value:?}: must look like 2026-11-24T12:00:00Z"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_name_line_and_column() {
        let text = "active_identity = \"default\"\n[imds]\ntokens = \"sometimes\"\n";
        let err = parse(Path::new("/x/config.toml"), text).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("/x/config.toml:3:"), "{message}");
        assert!(message.contains("sometimes"), "{message}");
    }

    /// The sample with the default identity's role replaced by `role` (TOML lines).
    fn with_role(role: &str) -> Result<Config, String> {
        let sample = super::super::sample::SAMPLE_CONFIG;
        let start = sample.find("[identity.role]").expect("a role table");
        let end = start + sample[start..].find("\n\n").expect("the table ends");
        let text = format!(
            "{}[identity.role]\n{role}{}",
            &sample[..start],
            &sample[end..]
        );
        parse(Path::new("config.toml"), &text).map_err(|err| err.to_string())
    }

    #[test]
    fn assume_role_sources_are_checked_before_any_sts_call() {
        let base = "name = \"r\"\nsource = \"assume-role\"\nrole_arn = \"arn:aws:iam::123456789012:role/app\"\n";
        let ok = with_role(&format!("{base}from_identity = \"worker\"\n")).expect("valid");
        let Some(CredentialSource::AssumeRole(settings)) = ok
            .active()
            .and_then(|identity| identity.role.as_ref())
            .map(|role| &role.source)
        else {
            panic!("an assume-role source");
        };
        assert_eq!(settings.session_name, "{container}");
        assert_eq!(settings.duration, 3600);
        for (extra, expected) in [
            ("", "needs `from_profile` or `from_identity`"),
            (
                "from_profile = \"a\"\nfrom_identity = \"worker\"\n",
                "not both",
            ),
            (
                "from_identity = \"worker\"\nduration = 60\n",
                "900 (15 minutes) to 43200",
            ),
            (
                "from_identity = \"worker\"\nsession_name = \"{pod}\"\n",
                "{pod} is not one of",
            ),
            (
                "from_identity = \"nobody\"\n",
                "must name an identity whose role has static",
            ),
            (
                "from_identity = \"default\"\n",
                "must name an identity whose role has static",
            ),
            (
                "from_identity = \"worker\"\nmfa_duration = 5\n",
                "900 (15 minutes) to 129600",
            ),
            (
                "from_identity = \"worker\"\ncommand = \"x\"\n",
                "`command` is not a setting of source = \"assume-role\"",
            ),
        ] {
            let err = with_role(&format!("{base}{extra}")).expect_err(extra);
            assert!(err.contains(expected), "{extra:?}: {err}");
        }
    }

    #[test]
    fn role_arns_are_iam_roles_of_an_account() {
        assert!(check_role_arn("arn:aws:iam::123456789012:role/app").is_ok());
        assert!(check_role_arn("arn:aws-cn:iam::123456789012:role/path/app").is_ok());
        for bad in [
            "arn:aws:iam::123456789012:user/app",
            "arn:aws:iam::12345:role/app",
            "arn:aws:sts::123456789012:role/app",
            "arn:aws:iam::123456789012:role/",
            "app",
        ] {
            assert!(check_role_arn(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sample_config_is_valid() {
        let config = parse(Path::new("sample"), super::super::sample::SAMPLE_CONFIG).unwrap();
        assert!(config.active().is_some());
        assert!(config.identities.len() >= 2);
    }

    #[test]
    fn validation_errors_name_the_line() {
        let sample = super::super::sample::SAMPLE_CONFIG;
        let text = sample.replacen("mac = \"0a:1b:2c:3d:4e:5f\"", "mac = \"nope\"", 1);
        let expected = text.lines().position(|l| l == "mac = \"nope\"").unwrap() + 1;
        let err = parse(Path::new("c.toml"), &text).unwrap_err().to_string();
        assert!(err.starts_with(&format!("c.toml:{expected}: ")), "{err}");

        let text = sample.replacen("hop_limit = 2", "hop_limit = 0", 1);
        let expected = text.lines().position(|l| l == "hop_limit = 0").unwrap() + 1;
        let err = parse(Path::new("c.toml"), &text).unwrap_err().to_string();
        assert!(err.starts_with(&format!("c.toml:{expected}: ")), "{err}");
    }

    #[test]
    fn the_broker_arrangement_is_auto_unless_chosen_and_never_listens_everywhere() {
        let sample = super::super::sample::SAMPLE_CONFIG;
        let config = parse(Path::new("c.toml"), sample).unwrap();
        assert_eq!(config.broker.arrangement, super::super::Arrangement::Auto);
        let desktop = sample.replacen(
            "allow_host = false",
            "allow_host = false\narrangement = \"desktop\"\ndesktop_listen = \"172.17.0.1\"",
            1,
        );
        let config = parse(Path::new("c.toml"), &desktop).unwrap();
        assert_eq!(
            config.broker.arrangement,
            super::super::Arrangement::Desktop
        );
        assert_eq!(config.broker.desktop_listen.to_string(), "172.17.0.1");
        let everywhere = desktop.replacen("172.17.0.1", "0.0.0.0", 1);
        let err = parse(Path::new("c.toml"), &everywhere)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not every address"), "{err}");
        let unknown = desktop.replacen("arrangement = \"desktop\"", "arrangement = \"vm\"", 1);
        assert!(parse(Path::new("c.toml"), &unknown).is_err());
    }

    #[test]
    fn doors_are_on_by_default_and_their_tables_refuse_unknown_keys() {
        let sample = super::super::sample::SAMPLE_CONFIG;
        let config = parse(Path::new("c.toml"), sample).unwrap();
        assert!(config.doors.ecs && config.doors.eks);
        let without = sample.replacen("[doors]\n", "[unused_doors_comment]\n", 1);
        assert!(
            parse(Path::new("c.toml"), &without).is_err(),
            "unknown table"
        );
        let text = sample.replacen("eks = true", "eks = true\necs_port = 80", 1);
        let expected = text.lines().position(|l| l == "ecs_port = 80").unwrap() + 1;
        let err = parse(Path::new("c.toml"), &text).unwrap_err().to_string();
        assert!(err.starts_with(&format!("c.toml:{expected}:")), "{err}");
        assert!(err.contains("ecs_port"), "{err}");

        let fault = "[[fault]]\ndoor = \"ecs\"\nkind = \"hang\"\n";
        let config = parse(Path::new("c.toml"), &format!("{sample}\n{fault}")).unwrap();
        assert_eq!(config.faults[0].door, Some(crate::config::Door::Ecs));
        let bad = format!("{sample}\n[[fault]]\ndoor = \"ecs2\"\nkind = \"hang\"\n");
        let err = parse(Path::new("c.toml"), &bad).unwrap_err().to_string();
        assert!(err.contains("ecs2") || err.contains("variant"), "{err}");
    }

    #[test]
    fn zone_must_belong_to_region() {
        assert!(check_zone("us-east-1", "us-east-1a").is_ok());
        assert!(check_zone("us-east-1", "eu-west-1a").is_err());
        assert!(check_zone("us-east-1", "us-east-1").is_err());
    }

    #[test]
    fn instance_ids_are_checked() {
        assert!(check_instance_id("i-0123456789abcdef0").is_ok());
        assert!(check_instance_id("i-12345678").is_ok());
        assert!(check_instance_id("i-0123456789ABCDEF0").is_err());
        assert!(check_instance_id("x-0123456789abcdef0").is_err());
    }

    #[test]
    fn unknown_active_identity_is_reported() {
        let text = super::super::sample::SAMPLE_CONFIG.replacen(
            "active_identity = \"default\"",
            "active_identity = \"nobody\"",
            1,
        );
        let err = parse(Path::new("c.toml"), &text).unwrap_err().to_string();
        assert!(err.contains("nobody"), "{err}");
    }
}

#[cfg(test)]
mod unknown_keys {
    use super::*;

    /// The sample with `extra` appended, and the 1-based line of `needle` in the result.
    fn with_appended(extra: &str, needle: &str) -> (String, usize) {
        let text = format!("{}{extra}", super::super::sample::SAMPLE_CONFIG);
        let line = text
            .lines()
            .position(|line| line.trim() == needle)
            .expect("needle in text")
            + 1;
        (text, line)
    }

    #[test]
    fn misspelt_fault_keys_name_their_line() {
        for (key_line, word) in [
            ("path = \"/latest/meta-data/iam/\"", "path"),
            ("probabilty = 0.01", "probabilty"),
        ] {
            let extra = format!("\n[[fault]]\nkind = \"status\"\nstatus = 500\n{key_line}\n");
            let (text, line) = with_appended(&extra, key_line);
            let err = parse(Path::new("c.toml"), &text).unwrap_err().to_string();
            assert!(err.starts_with(&format!("c.toml:{line}:")), "{err}");
            assert!(err.contains(word), "{err}");
        }
    }

    #[test]
    fn the_sample_ecs_table_parses_when_uncommented_and_errors_name_their_line() {
        let sample = super::super::sample::SAMPLE_CONFIG;
        let start = sample.find("# [identity.ecs]").unwrap();
        let end = sample[start..].find("\n\n").unwrap() + start;
        let uncommented: String = sample[start..end]
            .lines()
            .map(|line| line.trim_start_matches("# "))
            .collect::<Vec<_>>()
            .join("\n");
        let text = sample.replacen(&sample[start..end], &uncommented, 1);
        let config = parse(Path::new("c.toml"), &text).unwrap();
        let ecs = config.identity("default").unwrap().ecs_task();
        assert_eq!(ecs.family.as_deref(), Some("billing"));
        assert_eq!(
            ecs.log_options.get("awslogs-group").unwrap(),
            "/ecs/billing"
        );
        assert_eq!(ecs.launch_type().as_str(), "EC2");
        assert!(config.identity("worker").unwrap().ecs.is_none());

        for (extra, needle, word) in [
            (
                "\n[identity.ecs]\nclustr = \"x\"\n",
                "clustr = \"x\"",
                "clustr",
            ),
            (
                "\n[identity.ecs]\nrevision = 0\n",
                "revision = 0",
                "revision",
            ),
            (
                "\n[identity.ecs]\nlaunch_type = \"LAMBDA\"\n",
                "launch_type = \"LAMBDA\"",
                "LAMBDA",
            ),
            (
                "\n[identity.ecs]\ntask_arn = \"task-1\"\n",
                "task_arn = \"task-1\"",
                "task_arn",
            ),
        ] {
            let (text, line) = with_appended(extra, needle);
            let err = parse(Path::new("c.toml"), &text).unwrap_err().to_string();
            assert!(err.starts_with(&format!("c.toml:{line}:")), "{err}");
            assert!(err.contains(word), "{err}");
        }
    }

    #[test]
    fn fault_keys_of_another_kind_are_refused() {
        let extra = "\n[[fault]]\nkind = \"hang\"\nms = 5\n";
        let (text, _) = with_appended(extra, "ms = 5");
        let err = parse(Path::new("c.toml"), &text).unwrap_err().to_string();
        assert!(
            err.contains("`ms` is not a setting of a hang fault"),
            "{err}"
        );
    }

    #[test]
    fn misspelt_keys_in_every_table_name_their_line() {
        let sample = super::super::sample::SAMPLE_CONFIG;
        for (anchor, typo) in [
            ("tokens = \"optional\"", "tokenz = \"optional\""),
            ("subnet = \"169.254.0.0/16\"", "subnett = \"x\""),
            (
                "image = \"docker.io/library/nginx:1.27.5-alpine\"",
                "imag = \"x\"",
            ),
            ("port = 1338", "prot = 1338"),
            ("instance_type = \"m5.large\"", "instance_typ = \"x\""),
            ("Name = \"imds-spoof-dev\"", "Owner = \"tags take any key\""),
            ("source = \"static\"", "sesion_token = \"x\""),
        ] {
            let anchor = format!("\n{anchor}\n");
            let text = sample.replacen(&anchor, &format!("{anchor}{typo}\n"), 1);
            let result = parse(Path::new("c.toml"), &text);
            if typo.starts_with("Owner") {
                assert!(result.is_ok(), "tags are free-form: {result:?}");
                continue;
            }
            let line = text.lines().position(|line| line == typo).unwrap() + 1;
            let err = result.unwrap_err().to_string();
            assert!(err.starts_with(&format!("c.toml:{line}:")), "{typo}: {err}");
        }
        let text = format!("{sample}\n[provider]\ncommand = [\"p\"]\ntimeout = 5\n");
        let line = text.lines().position(|line| line == "timeout = 5").unwrap() + 1;
        let err = parse(Path::new("c.toml"), &text).unwrap_err().to_string();
        assert!(err.starts_with(&format!("c.toml:{line}:")), "{err}");
    }

    #[test]
    fn the_ipv6_switch_is_a_boolean_and_has_no_subnet_key() {
        let sample = super::super::sample::SAMPLE_CONFIG;
        let config = parse(Path::new("c.toml"), sample).unwrap();
        assert!(!config.network.ipv6, "IPv6 is off by default");
        let on = sample.replacen("\nipv6 = false\n", "\nipv6 = true\n", 1);
        assert!(parse(Path::new("c.toml"), &on).unwrap().network.ipv6);
        // The IPv6 subnet is fixed (SDKs know only fd00:ec2::254): no key to set it.
        for bad in ["ipv6 = \"yes\"", "ipv6_subnet = \"fd00:ec2::/64\""] {
            let text = sample.replacen("\nipv6 = false\n", &format!("\n{bad}\n"), 1);
            let line = text.lines().position(|line| line == bad).unwrap() + 1;
            let err = parse(Path::new("c.toml"), &text).unwrap_err().to_string();
            assert!(err.starts_with(&format!("c.toml:{line}:")), "{bad}: {err}");
        }
    }

    #[test]
    fn service_account_tables_are_checked_with_their_line() {
        let ok = "\n[[service_account]]\nname = \"payments/api\"\nidentity = \"worker\"\n";
        let text = format!("{}{ok}", super::super::sample::SAMPLE_CONFIG);
        let config = parse(Path::new("c.toml"), &text).unwrap();
        assert_eq!(
            config.identity_for_service_account("payments", "api"),
            Some("worker")
        );
        assert_eq!(
            config.identity_for_service_account("imds-spoof", "default"),
            Some("default")
        );
        assert_eq!(config.identity_for_service_account("payments", "web"), None);
        for (table, needle, words) in [
            (
                "\n[[service_account]]\nname = \"payments/api\"\nidentiy = \"worker\"\n",
                "identiy = \"worker\"",
                "identiy",
            ),
            (
                "\n[[service_account]]\nname = \"api\"\nidentity = \"worker\"\n",
                "name = \"api\"",
                "namespace/name",
            ),
            (
                "\n[[service_account]]\nname = \"payments/api\"\nidentity = \"ghost\"\n",
                "identity = \"ghost\"",
                "names no [[identity]]",
            ),
            (
                "\n[[service_account]]\nname = \"imds-spoof/x\"\nidentity = \"worker\"\n",
                "name = \"imds-spoof/x\"",
                "namespace",
            ),
        ] {
            let (text, line) = with_appended(table, needle);
            let err = parse(Path::new("c.toml"), &text).unwrap_err().to_string();
            assert!(err.starts_with(&format!("c.toml:{line}:")), "{err}");
            assert!(err.contains(words), "{err}");
        }
    }

    #[test]
    fn contradictory_or_impossible_container_rules_are_refused_with_their_line() {
        let ok = "\n[[container]]\nname = \"app-1\"\nidentity = \"worker\"\n";
        let text = format!("{}{ok}", super::super::sample::SAMPLE_CONFIG);
        parse(Path::new("c.toml"), &text).unwrap();
        let long = "a".repeat(5000);
        let long_rule = format!("name = \"{long}\"");
        for (table, needle, words) in [
            (
                "\n[[container]]\nname = \"app\"\nidentity = \"worker\"\n\n[[container]]\nname = \"app\"\nidentity = \"default\"\n",
                "identity = \"default\"",
                "has a rule already",
            ),
            (
                "\n[[container]]\ncompose_service = \"api\"\nidentity = \"worker\"\n\n[[container]]\ncompose_service = \"api\"\nidentity = \"worker\"\n",
                "identity = \"worker\"",
                "has a rule already",
            ),
            (
                "\n[[container]]\nname = \"\"\nidentity = \"worker\"\n",
                "name = \"\"",
                "not a container name",
            ),
            (
                "\n[[container]]\nname = \"app\\nx\"\nidentity = \"worker\"\n",
                "name = \"app\\nx\"",
                "not a container name",
            ),
            (
                "\n[[container]]\nname = \"/app\"\nidentity = \"worker\"\n",
                "name = \"/app\"",
                "not a container name",
            ),
            (
                "\n[[container]]\ncompose_service = \"a b\"\nidentity = \"worker\"\n",
                "compose_service = \"a b\"",
                "not a compose service name",
            ),
        ] {
            let (text, line) = if words == "has a rule already" {
                // The second table's name line.
                let text = format!("{}{table}", super::super::sample::SAMPLE_CONFIG);
                let second = text
                    .lines()
                    .collect::<Vec<_>>()
                    .iter()
                    .rposition(|line| {
                        line.starts_with("name =") || line.starts_with("compose_service =")
                    })
                    .unwrap()
                    + 1;
                (text, second)
            } else {
                with_appended(table, needle)
            };
            let err = parse(Path::new("c.toml"), &text).unwrap_err().to_string();
            assert!(err.starts_with(&format!("c.toml:{line}:")), "{err}");
            assert!(err.contains(words), "{err}");
        }
        let table = format!("\n[[container]]\n{long_rule}\nidentity = \"worker\"\n");
        let (text, line) = with_appended(&table, &long_rule);
        let err = parse(Path::new("c.toml"), &text).unwrap_err().to_string();
        assert!(err.starts_with(&format!("c.toml:{line}:")), "{err}");
        assert!(err.len() < 400, "a long name is not repeated whole: {err}");
    }

    #[test]
    fn role_keys_of_another_source_are_refused() {
        let text = super::super::sample::SAMPLE_CONFIG.replacen(
            "\nsource = \"static\"\n",
            "\nsource = \"static\"\nprofile = \"dev\"\n",
            1,
        );
        let err = parse(Path::new("c.toml"), &text).unwrap_err().to_string();
        assert!(
            err.contains("`profile` is not a setting of source = \"static\""),
            "{err}"
        );
    }
}
