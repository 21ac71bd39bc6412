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
}
