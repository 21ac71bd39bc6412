//! Changing the configuration file while keeping the user's comments and layout.

use std::path::Path;

use toml_edit::DocumentMut;

use super::{load, write, Config, ConfigError};

#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{}: {message}", path.display())]
    Edit {
        path: std::path::PathBuf,
        message: String,
    },
}

/// Applies `change` to the file's document, checks that the result is a valid
/// configuration, and only then replaces the file (atomically, mode 0600).
/// On any error the file is left as it was.
pub fn edit_file(
    path: &Path,
    change: impl FnOnce(&mut DocumentMut) -> Result<(), String>,
) -> Result<Config, EditError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut document: DocumentMut =
        text.parse()
            .map_err(|err: toml_edit::TomlError| EditError::Edit {
                path: path.to_path_buf(),
                message: err.to_string(),
            })?;
    change(&mut document).map_err(|message| EditError::Edit {
        path: path.to_path_buf(),
        message,
    })?;
    let new_text = document.to_string();
    let config = load::parse(path, &new_text)?;
    write::write_atomically(path, &new_text)?;
    Ok(config)
}

/// The `[[identity]]` table with this name.
pub fn identity_table<'a>(
    document: &'a mut DocumentMut,
    name: &str,
) -> Result<&'a mut toml_edit::Table, String> {
    document
        .get_mut("identity")
        .and_then(|item| item.as_array_of_tables_mut())
        .and_then(|tables| {
            tables
                .iter_mut()
                .find(|table| table.get("name").and_then(|v| v.as_str()) == Some(name))
        })
        .ok_or_else(|| format!("no [[identity]] named {name:?}"))
}

/// Makes the container named `container` play `identity` (a `[[container]]` rule by name),
/// or with `None` removes that rule so its label or the active identity applies again.
/// Other rules, and every comment, stay as they are.
pub fn set_container_rule(
    document: &mut DocumentMut,
    container: &str,
    identity: Option<&str>,
) -> Result<(), String> {
    let rules = document
        .entry("container")
        .or_insert_with(|| toml_edit::Item::ArrayOfTables(toml_edit::ArrayOfTables::new()))
        .as_array_of_tables_mut()
        .ok_or("`container` in the configuration is not a list of [[container]] tables")?;
    let position = rules
        .iter()
        .position(|table| table.get("name").and_then(|v| v.as_str()) == Some(container));
    match (identity, position) {
        (Some(identity), Some(index)) => {
            if let Some(table) = rules.get_mut(index) {
                table["identity"] = toml_edit::value(identity);
            }
        }
        (Some(identity), None) => {
            let mut table = toml_edit::Table::new();
            table["name"] = toml_edit::value(container);
            table["identity"] = toml_edit::value(identity);
            rules.push(table);
        }
        (None, Some(index)) => {
            rules.remove(index);
        }
        (None, None) => {}
    }
    if rules.is_empty() {
        document.remove("container");
    }
    Ok(())
}

/// Makes the role of identity `name` take its credentials from `source`. The fields of
/// the source it leaves move to the role's `kept` table, and the new source's fields come
/// back from there when they were kept before (from `defaults` otherwise): a switch never
/// throws hand-set keys away.
pub fn switch_source(
    document: &mut DocumentMut,
    name: &str,
    source: &str,
    defaults: &toml::Table,
) -> Result<(), String> {
    if !super::SOURCE_NAMES.contains(&source) {
        return Err(format!("{source:?} is not a credential source"));
    }
    let role = identity_table(document, name)?
        .get_mut("role")
        .and_then(|item| item.as_table_like_mut())
        .ok_or_else(|| format!("identity {name:?} has no role"))?;
    let leaving = role
        .get("source")
        .and_then(|item| item.as_str())
        .unwrap_or_default()
        .to_string();
    let mut kept: Vec<(String, toml_edit::Item)> = role
        .remove("kept")
        .and_then(|item| match item {
            toml_edit::Item::Table(table) => Some(table.into_iter().collect()),
            toml_edit::Item::Value(toml_edit::Value::InlineTable(table)) => Some(
                table
                    .into_iter()
                    .map(|(key, value)| (key, toml_edit::Item::Value(value)))
                    .collect(),
            ),
            _ => None,
        })
        .unwrap_or_default();
    if leaving != source {
        for key in super::source_keys(&leaving) {
            if let Some(item) = role.remove(key) {
                kept.retain(|(old, _)| old != key);
                kept.push(((*key).to_string(), item));
            }
        }
    }
    for key in super::source_keys(source) {
        if role.contains_key(key) {
            continue;
        }
        if let Some(index) = kept.iter().position(|(old, _)| old == key) {
            let (_, mut item) = kept.remove(index);
            if let Some(value) = item.as_value_mut() {
                value.decor_mut().clear();
            }
            role.insert(key, item);
        } else if let Some(value) = defaults.get(*key) {
            role.insert(key, toml_edit::Item::Value(plain_value(value)?));
        }
    }
    // In place: the comments above `source` stay with it.
    match role.get_mut("source") {
        Some(item) => *item = toml_edit::value(source),
        None => {
            role.insert("source", toml_edit::value(source));
        }
    }
    if !kept.is_empty() {
        let mut table = toml_edit::InlineTable::new();
        for (key, item) in kept {
            if let toml_edit::Item::Value(mut value) = item {
                value.decor_mut().clear();
                table.insert(&key, value);
            }
        }
        table.fmt();
        role.insert("kept", toml_edit::Item::Value(table.into()));
    }
    Ok(())
}

/// A default value as toml_edit writes it (strings and numbers are all defaults use).
fn plain_value(value: &toml::Value) -> Result<toml_edit::Value, String> {
    match value {
        toml::Value::String(text) => Ok(text.as_str().into()),
        toml::Value::Integer(number) => Ok((*number).into()),
        toml::Value::Boolean(flag) => Ok((*flag).into()),
        other => Err(format!(
            "a default of type {} cannot be written",
            other.type_str()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_keep_comments_and_refuse_invalid_results() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        write::write_atomically(&path, super::super::SAMPLE_CONFIG).unwrap();

        let config = edit_file(&path, |doc| {
            identity_table(doc, "default")?["instance_id"] =
                toml_edit::value("i-0aaaaaaaaaaaaaaa1");
            Ok(())
        })
        .unwrap();
        assert_eq!(config.active().unwrap().instance_id, "i-0aaaaaaaaaaaaaaa1");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("# HttpPutResponseHopLimit."));
        assert!(text.contains("instance_id = \"i-0aaaaaaaaaaaaaaa1\""));

        let refused = edit_file(&path, |doc| {
            identity_table(doc, "default")?["instance_id"] = toml_edit::value("not-an-id");
            Ok(())
        });
        assert!(refused.is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    }

    #[test]
    fn switching_sources_keeps_the_fields_of_each() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        write::write_atomically(&path, super::super::SAMPLE_CONFIG).unwrap();
        let profile = toml::Table::from_iter([("profile".to_string(), "dev".into())]);
        let config = edit_file(&path, |doc| {
            switch_source(doc, "default", "profile", &profile)
        })
        .unwrap();
        let role = config.active().unwrap().role.clone().unwrap();
        assert_eq!(
            role.source,
            super::super::CredentialSource::Profile {
                profile: "dev".into()
            }
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            "{text}"
        );
        assert!(text.contains("# source = \"static\" serves these keys"));

        // Back to static: the hand-set keys come back, not the defaults.
        let fake = toml::Table::from_iter([
            ("access_key_id".to_string(), "ASIAFAKE".into()),
            ("secret_access_key".to_string(), "fake".into()),
        ]);
        let config =
            edit_file(&path, |doc| switch_source(doc, "default", "static", &fake)).unwrap();
        let role = config.active().unwrap().role.clone().unwrap();
        let super::super::CredentialSource::Static {
            access_key_id,
            secret_access_key,
            ..
        } = role.source
        else {
            panic!("not static: {role:?}");
        };
        assert_eq!(access_key_id, "ASIAIMDSSPOOFEXAMPLE");
        assert_eq!(
            secret_access_key,
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        );
        // ... and the profile waits in `kept` for the next switch.
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("kept = { profile = \"dev\" }"), "{text}");
        let refused = edit_file(&path, |doc| switch_source(doc, "default", "ftp", &fake));
        assert!(refused.is_err());
    }

    #[test]
    fn container_rules_are_set_replaced_and_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        write::write_atomically(&path, super::super::SAMPLE_CONFIG).unwrap();
        let worker = super::super::SAMPLE_CONFIG.contains("name = \"worker\"");
        let identity = if worker { "worker" } else { "default" };

        let config = edit_file(&path, |doc| {
            set_container_rule(doc, "app-1", Some(identity))
        })
        .unwrap();
        assert_eq!(config.rule_for_name("app-1").unwrap().identity, identity);
        let config = edit_file(&path, |doc| {
            set_container_rule(doc, "app-1", Some("default"))
        })
        .unwrap();
        assert_eq!(config.container_rules.len(), 1, "replaced, not added");
        assert_eq!(config.rule_for_name("app-1").unwrap().identity, "default");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("# HttpPutResponseHopLimit."), "comments kept");

        let config = edit_file(&path, |doc| set_container_rule(doc, "app-1", None)).unwrap();
        assert!(config.container_rules.is_empty());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.lines().any(|line| line.trim() == "[[container]]"),
            "{text}"
        );

        let refused = edit_file(&path, |doc| {
            set_container_rule(doc, "app-1", Some("nobody"))
        });
        let err = refused.unwrap_err().to_string();
        assert!(
            err.contains("names no [[identity]]") && err.contains(":"),
            "{err}"
        );
    }

    #[test]
    fn a_rule_by_name_wins_over_one_by_compose_service() {
        let text = format!(
            "{}\n[[container]]\ncompose_service = \"billing\"\nidentity = \"worker\"\n\n[[container]]\nname = \"billing-1\"\nidentity = \"default\"\n",
            super::super::SAMPLE_CONFIG
        );
        let config = super::super::parse(Path::new("c.toml"), &text).unwrap();
        let facts = |name: &str| super::super::ContainerFacts {
            name: Some(name.to_string()),
            compose_service: Some("billing".to_string()),
            identity_label: None,
        };
        let origin = super::super::IdentityOrigin::Rule;
        assert_eq!(
            config.identity_for(&facts("billing-1")),
            ("default", origin)
        );
        assert_eq!(config.identity_for(&facts("billing-2")), ("worker", origin));
    }
}
