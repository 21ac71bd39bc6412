//! Reading a profile from the host's AWS shared config and credentials files, honouring
//! AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE like the AWS CLI.

use std::collections::HashMap;
use std::path::PathBuf;

/// What a profile provides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileCredentials {
    Keys {
        access_key_id: String,
        secret_access_key: String,
        session_token: Option<String>,
    },
    /// The profile delegates to a `credential_process` command.
    Process(String),
}

/// Reads `profile` from the credentials file, then the config file.
pub fn read_profile(profile: &str) -> Result<ProfileCredentials, String> {
    let credentials_path = aws_file("AWS_SHARED_CREDENTIALS_FILE", "credentials");
    let config_path = aws_file("AWS_CONFIG_FILE", "config");
    let mut settings = HashMap::new();
    // Later inserts win: config first, then the credentials file, as the CLI ranks them.
    if let Some(section) = read_section(&config_path, &config_section_name(profile))? {
        settings.extend(section);
    }
    if let Some(section) = read_section(&credentials_path, profile)? {
        settings.extend(section);
    }
    if settings.is_empty() {
        return Err(format!(
            "profile {profile:?} is in neither {} nor {}",
            credentials_path.display(),
            config_path.display()
        ));
    }
    if let (Some(key), Some(secret)) = (
        settings.get("aws_access_key_id"),
        settings.get("aws_secret_access_key"),
    ) {
        return Ok(ProfileCredentials::Keys {
            access_key_id: key.clone(),
            secret_access_key: secret.clone(),
            session_token: settings.get("aws_session_token").cloned(),
        });
    }
    if let Some(process) = settings.get("credential_process") {
        return Ok(ProfileCredentials::Process(process.clone()));
    }
    Err(format!(
        "profile {profile:?} has neither keys nor credential_process; for SSO or role \
         profiles use source = \"command\" with \
         command = \"aws configure export-credentials --profile {profile} --format process\""
    ))
}

fn config_section_name(profile: &str) -> String {
    if profile == "default" {
        "default".to_string()
    } else {
        format!("profile {profile}")
    }
}

fn aws_file(variable: &str, name: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(variable).filter(|value| !value.is_empty()) {
        return PathBuf::from(path);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    home.join(".aws").join(name)
}

/// The keys of one `[section]` of an INI file; a missing file is no section.
fn read_section(path: &PathBuf, wanted: &str) -> Result<Option<HashMap<String, String>>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(format!("{}: {err}", path.display())),
    };
    Ok(parse_section(&text, wanted))
}

fn parse_section(text: &str, wanted: &str) -> Option<HashMap<String, String>> {
    let mut found = None;
    let mut in_wanted = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
        {
            in_wanted = name.trim() == wanted;
            if in_wanted {
                found.get_or_insert_with(HashMap::new);
            }
            continue;
        }
        if !in_wanted {
            continue;
        }
        if let (Some((key, value)), Some(section)) = (line.split_once('='), found.as_mut()) {
            section.insert(key.trim().to_lowercase(), value.trim().to_string());
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_named_section_only() {
        let text = "[default]\naws_access_key_id = A\n# c\n[profile dev]\naws_access_key_id=B\nAWS_SECRET_ACCESS_KEY = S\n";
        let section = parse_section(text, "profile dev").unwrap();
        assert_eq!(section["aws_access_key_id"], "B");
        assert_eq!(section["aws_secret_access_key"], "S");
        assert!(parse_section(text, "profile prod").is_none());
    }
}
