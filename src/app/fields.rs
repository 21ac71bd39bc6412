//! The identity fields the editor shows, and how each is read from and written to
//! the model as text. Values travel through `toml::Value` so one code path covers
//! every field, and what is written to the file is exactly what the model serializes.

use std::net::Ipv4Addr;

use crate::config::{check_zone, validate_identity, Identity};

/// How a field is typed in the editor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    Ip,
    /// Comma-separated strings.
    List,
    /// `Key=Value, Key2=Value2`.
    Tags,
    /// Multi-line text typed on one line with `\n` escapes.
    Escaped,
}

/// One editable field of an `[[identity]]`.
pub struct FieldSpec {
    /// The key in the TOML file.
    pub key: &'static str,
    pub kind: FieldKind,
    /// May be absent from the file (empty text removes the key).
    pub optional: bool,
}

const fn field(key: &'static str, kind: FieldKind, optional: bool) -> FieldSpec {
    FieldSpec {
        key,
        kind,
        optional,
    }
}

use FieldKind::{Escaped, Ip, List, Tags, Text};

/// Every instance field of `config::Identity`, in the order the editor lists them.
pub static IDENTITY_FIELDS: &[FieldSpec] = &[
    field("name", Text, false),
    field("instance_id", Text, false),
    field("instance_type", Text, false),
    field("ami_id", Text, false),
    field("account_id", Text, false),
    field("region", Text, false),
    field("availability_zone", Text, false),
    field("availability_zone_id", Text, true),
    field("instance_life_cycle", Text, true),
    field("architecture", Text, true),
    field("local_ipv4", Ip, false),
    field("local_hostname", Text, true),
    field("public_ipv4", Ip, true),
    field("public_hostname", Text, true),
    field("mac", Text, false),
    field("security_groups", List, true),
    field("security_group_ids", List, true),
    field("subnet_id", Text, true),
    field("subnet_cidr", Text, true),
    field("vpc_id", Text, true),
    field("vpc_cidr", Text, true),
    field("interface_id", Text, true),
    field("reservation_id", Text, true),
    field("key_name", Text, true),
    field("public_key", Text, true),
    field("user_data", Escaped, true),
    field("tags", Tags, true),
];

pub fn spec(key: &str) -> Option<&'static FieldSpec> {
    IDENTITY_FIELDS.iter().find(|spec| spec.key == key)
}

/// The identity as a TOML table (what the file would hold for it).
pub fn as_table(identity: &Identity) -> toml::Table {
    toml::Table::try_from(identity).unwrap_or_default()
}

/// The field's value as the editor shows and edits it.
pub fn display_value(identity: &Identity, key: &str) -> String {
    let table = as_table(identity);
    let Some(value) = table.get(key) else {
        return String::new();
    };
    let kind = spec(key).map_or(Text, |spec| spec.kind);
    match value {
        toml::Value::String(text) if kind == Escaped => escape(text),
        toml::Value::String(text) => text.clone(),
        toml::Value::Array(items) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map_or_else(|| item.to_string(), str::to_string)
            })
            .collect::<Vec<_>>()
            .join(", "),
        toml::Value::Table(entries) => entries
            .iter()
            .map(|(key, value)| {
                format!(
                    "{key}={}",
                    value
                        .as_str()
                        .map_or_else(|| value.to_string(), str::to_string)
                )
            })
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

/// The field's value parsed from editor text, or None when the key should be removed.
pub fn parse_value(key: &str, text: &str) -> Result<Option<toml::Value>, String> {
    let spec = spec(key).ok_or_else(|| format!("{key} is not an identity field"))?;
    let trimmed = text.trim();
    if trimmed.is_empty() && spec.optional {
        return Ok(None);
    }
    let value = match spec.kind {
        Text => toml::Value::String(trimmed.to_string()),
        Escaped => toml::Value::String(unescape(text)),
        Ip => {
            let ip: Ipv4Addr = trimmed
                .parse()
                .map_err(|_| format!("{key} {trimmed:?}: not an IPv4 address like 10.0.1.20"))?;
            toml::Value::String(ip.to_string())
        }
        List => toml::Value::Array(
            trimmed
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(|item| toml::Value::String(item.to_string()))
                .collect(),
        ),
        Tags => {
            let mut tags = toml::Table::new();
            for pair in trimmed.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let (name, value) = pair
                    .split_once('=')
                    .ok_or_else(|| format!("tag {pair:?}: write tags as Key=Value, Key2=Value2"))?;
                if name.trim().is_empty() {
                    return Err(format!("tag {pair:?}: the key is empty"));
                }
                tags.insert(
                    name.trim().to_string(),
                    toml::Value::String(value.trim().to_string()),
                );
            }
            toml::Value::Table(tags)
        }
    };
    Ok(Some(value))
}

/// The identity after setting `key` from editor text, checked as the config loader
/// checks it (instance id shape, zone in region, MAC, ...). A new region moves the zone
/// along (same letter), since zone and region can only be valid together.
pub fn with_field(
    identity: &Identity,
    key: &str,
    text: &str,
) -> Result<(Identity, Vec<String>), String> {
    let mut table = as_table(identity);
    let mut notes = Vec::new();
    match parse_value(key, text)? {
        Some(value) => {
            table.insert(key.to_string(), value);
        }
        None => {
            table.remove(key);
        }
    }
    if key == "region" {
        let region = table
            .get("region")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string();
        if check_zone(&region, &identity.availability_zone).is_err() {
            let letter = identity
                .availability_zone
                .strip_prefix(identity.region.as_str())
                .filter(|suffix| !suffix.is_empty())
                .unwrap_or("a");
            let zone = format!("{region}{letter}");
            notes.push(format!("availability zone moved to {zone}"));
            table.insert("availability_zone".into(), toml::Value::String(zone));
            if table.remove("availability_zone_id").is_some() {
                notes.push(
                    "availability zone id cleared (it names a zone of the old region)".into(),
                );
            }
        }
    }
    let updated: Identity = toml::Value::Table(table)
        .try_into()
        .map_err(|err: toml::de::Error| format!("{key}: {}", err.message()))?;
    validate_identity(&updated)?;
    Ok((updated, notes))
}

/// `\n`, `\t` and `\\` escapes for typing multi-line text on one line.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out
}

pub fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('\\') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SAMPLE_CONFIG;

    fn sample() -> Identity {
        crate::config::parse(std::path::Path::new("sample"), SAMPLE_CONFIG)
            .unwrap()
            .identities[0]
            .clone()
    }

    #[test]
    fn every_identity_key_is_a_field() {
        let table = as_table(&sample());
        for key in table.keys() {
            if key == "role" || key == "events" {
                continue;
            }
            assert!(spec(key).is_some(), "{key} missing from the editor");
        }
    }

    #[test]
    fn fields_round_trip_and_are_checked() {
        let identity = sample();
        let (changed, _) = with_field(&identity, "instance_id", "i-0aaaaaaaaaaaaaaa1").unwrap();
        assert_eq!(changed.instance_id, "i-0aaaaaaaaaaaaaaa1");
        assert!(with_field(&identity, "instance_id", "i-XYZ").is_err());
        assert!(with_field(&identity, "local_ipv4", "10.0.0.300").is_err());
        assert!(with_field(&identity, "availability_zone", "eu-west-1a").is_err());
        let (changed, notes) = with_field(&identity, "region", "eu-west-1").unwrap();
        assert_eq!(changed.availability_zone, "eu-west-1a");
        assert!(!notes.is_empty());
        let (changed, _) = with_field(&identity, "tags", "Name=x, Team = core").unwrap();
        assert_eq!(changed.tags.get("Team").map(String::as_str), Some("core"));
        let (changed, _) = with_field(&identity, "public_ipv4", "").unwrap();
        assert_eq!(changed.public_ipv4, None);
        let shown = display_value(&identity, "user_data");
        let (changed, _) = with_field(&identity, "user_data", &shown).unwrap();
        assert_eq!(changed.user_data, identity.user_data);
    }
}
