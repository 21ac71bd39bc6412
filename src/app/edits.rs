//! Turning a change of the model into the smallest edit of the TOML document, so the
//! user's comments, order and layout survive: only keys whose values changed are
//! touched, tables that exist are edited in place, new tables go after the old ones.

use std::sync::Arc;

use toml_edit::{DocumentMut, InlineTable, Item, TableLike};

use crate::config::{edit_file, identity_table, Config, ConfigStore, Fault, Identity};

use super::fields;

/// Applies `change` to the configuration file (checked, atomic, 0600, comments kept) and
/// puts the result in force at once, so the very next request sees it.
pub fn save(
    store: &ConfigStore,
    change: impl FnOnce(&mut DocumentMut) -> Result<(), String>,
) -> Result<Arc<Config>, String> {
    let path = store
        .path()
        .ok_or_else(|| "this configuration has no file to save to".to_string())?
        .to_path_buf();
    store
        .own_edit(|| edit_file(&path, change))
        .map_err(|err| err.to_string())?;
    Ok(store.current())
}

/// A TOML value as toml_edit writes it (tables inline).
fn to_edit_value(value: &toml::Value) -> toml_edit::Value {
    match value {
        toml::Value::String(text) => text.as_str().into(),
        toml::Value::Integer(number) => (*number).into(),
        toml::Value::Float(number) => (*number).into(),
        toml::Value::Boolean(flag) => (*flag).into(),
        toml::Value::Datetime(at) => at.to_string().into(),
        toml::Value::Array(items) => {
            let mut array = toml_edit::Array::new();
            for item in items {
                array.push(to_edit_value(item));
            }
            toml_edit::Value::Array(array)
        }
        toml::Value::Table(entries) => {
            let mut table = InlineTable::new();
            for (key, item) in entries {
                table.insert(key, to_edit_value(item));
            }
            toml_edit::Value::InlineTable(table)
        }
    }
}

fn is_empty(value: &toml::Value) -> bool {
    match value {
        toml::Value::String(text) => text.is_empty(),
        toml::Value::Array(items) => items.is_empty(),
        toml::Value::Table(entries) => entries.is_empty(),
        _ => false,
    }
}

/// Changes `target` from `old` to `new`, touching only keys whose values differ.
/// Empty values are removed rather than written (the model's defaults fill them in).
pub fn apply_diff(target: &mut dyn TableLike, old: &toml::Table, new: &toml::Table) {
    let mut keys: Vec<&String> = old.keys().collect();
    keys.extend(new.keys().filter(|key| !old.contains_key(*key)));
    for key in keys {
        let (before, after) = (old.get(key), new.get(key));
        if before == after {
            continue;
        }
        match after {
            None => {
                target.remove(key);
            }
            Some(value) if is_empty(value) => {
                target.remove(key);
            }
            Some(toml::Value::Table(new_table)) => {
                let empty = toml::Table::new();
                let old_table = before.and_then(|v| v.as_table()).unwrap_or(&empty);
                match target
                    .get_mut(key)
                    .and_then(|item| item.as_table_like_mut())
                {
                    Some(sub) => apply_diff(sub, old_table, new_table),
                    None => set(
                        target,
                        key,
                        to_edit_value(&toml::Value::Table(new_table.clone())),
                    ),
                }
            }
            Some(value) => set(target, key, to_edit_value(value)),
        }
    }
}

/// Sets a value, keeping the key (and its comment) when it exists.
fn set(target: &mut dyn TableLike, key: &str, value: toml_edit::Value) {
    match target.get_mut(key) {
        Some(item) => *item = Item::Value(value),
        None => {
            target.insert(key, Item::Value(value));
        }
    }
}

/// Rewrites an `[[identity]]` from `old` to `new` (fields, role, events); a rename
/// carries `active_identity` along.
pub fn sync_identity(doc: &mut DocumentMut, old: &Identity, new: &Identity) -> Result<(), String> {
    let table = identity_table(doc, &old.name)?;
    apply_diff(table, &fields::as_table(old), &fields::as_table(new));
    if old.name != new.name
        && doc.get("active_identity").and_then(|v| v.as_str()) == Some(&old.name)
    {
        doc["active_identity"] = toml_edit::value(new.name.as_str());
    }
    Ok(())
}

pub fn set_active(doc: &mut DocumentMut, name: &str) {
    doc["active_identity"] = toml_edit::value(name);
}

/// Rewrites a top-level section (`[imds]`, ...) from `old` to `new`.
pub fn sync_section<T: serde::Serialize>(
    doc: &mut DocumentMut,
    section: &str,
    old: &T,
    new: &T,
) -> Result<(), String> {
    let old = toml::Table::try_from(old).map_err(|err| err.to_string())?;
    let new = toml::Table::try_from(new).map_err(|err| err.to_string())?;
    if doc
        .get(section)
        .and_then(|item| item.as_table_like())
        .is_none()
    {
        doc[section] = Item::Table(toml_edit::Table::new());
    }
    let target = doc[section]
        .as_table_like_mut()
        .ok_or_else(|| format!("[{section}] is not a table"))?;
    apply_diff(target, &old, &new);
    Ok(())
}

/// The highest table position in the document, so new tables can go after everything.
fn last_position(table: &toml_edit::Table) -> isize {
    let mut last = table.position().unwrap_or(0);
    for (_, item) in table.iter() {
        match item {
            Item::Table(sub) => last = last.max(last_position(sub)),
            Item::ArrayOfTables(tables) => {
                for sub in tables.iter() {
                    last = last.max(last_position(sub));
                }
            }
            _ => {}
        }
    }
    last
}

/// Gives a table (and the tables inside it) positions from `next` on, in order, so a
/// copied or new table is written as one block instead of interleaving with others.
fn place(table: &mut toml_edit::Table, next: &mut isize) {
    table.set_position(*next);
    *next += 1;
    for (_, item) in table.iter_mut() {
        match item {
            Item::Table(sub) => place(sub, next),
            Item::ArrayOfTables(tables) => {
                for sub in tables.iter_mut() {
                    place(sub, next);
                }
            }
            _ => {}
        }
    }
}

fn push_identity_table(doc: &mut DocumentMut, mut table: toml_edit::Table) -> Result<(), String> {
    let mut next = last_position(doc.as_table()) + 1;
    place(&mut table, &mut next);
    table.decor_mut().set_prefix("\n");
    if doc.get("identity").is_none() {
        doc["identity"] = Item::ArrayOfTables(toml_edit::ArrayOfTables::new());
    }
    doc["identity"]
        .as_array_of_tables_mut()
        .ok_or_else(|| "identity is not an array of [[identity]] tables".to_string())?
        .push(table);
    Ok(())
}

/// Appends a new `[[identity]]` written from the model.
pub fn add_identity(doc: &mut DocumentMut, identity: &Identity) -> Result<(), String> {
    let text = toml::to_string(identity).map_err(|err| err.to_string())?;
    let parsed: DocumentMut = text
        .parse()
        .map_err(|err: toml_edit::TomlError| err.to_string())?;
    push_identity_table(doc, parsed.as_table().clone())
}

/// Appends a copy of the `[[identity]]` named `from` (comments included), changed to `new`.
pub fn duplicate_identity(
    doc: &mut DocumentMut,
    from: &Identity,
    new: &Identity,
) -> Result<(), String> {
    let mut table = identity_table(doc, &from.name)?.clone();
    apply_diff(&mut table, &fields::as_table(from), &fields::as_table(new));
    push_identity_table(doc, table)
}

pub fn delete_identity(doc: &mut DocumentMut, name: &str) -> Result<(), String> {
    let tables = doc
        .get_mut("identity")
        .and_then(|item| item.as_array_of_tables_mut())
        .ok_or_else(|| "no [[identity]] tables".to_string())?;
    let index = tables
        .iter()
        .position(|table| table.get("name").and_then(|v| v.as_str()) == Some(name))
        .ok_or_else(|| format!("no [[identity]] named {name:?}"))?;
    tables.remove(index);
    Ok(())
}

/// Rewrites the `[[fault]]` list from `old` to `new`, where `new` differs from `old` in
/// one entry at most: changed in place, removed, or appended.
pub fn sync_faults(doc: &mut DocumentMut, old: &[Fault], new: &[Fault]) -> Result<(), String> {
    let as_table = |fault: &Fault| toml::Table::try_from(fault).map_err(|err| err.to_string());
    if new.len() == old.len() + 1 && new[..old.len()] == *old {
        return append_fault(doc, &as_table(&new[old.len()])?);
    }
    if new.len() + 1 == old.len() {
        let removed = (0..old.len())
            .find(|&index| old[..index] == new[..index] && old[index + 1..] == new[index..])
            .ok_or_else(|| "faults changed in more than one place".to_string())?;
        match doc.get_mut("fault") {
            Some(Item::ArrayOfTables(tables)) => {
                tables.remove(removed);
            }
            Some(Item::Value(toml_edit::Value::Array(items))) => {
                items.remove(removed);
            }
            _ => return Err("[[fault]] entries not found in the file".into()),
        }
        if doc.get("fault").is_some_and(is_empty_list) {
            doc.remove("fault");
        }
        return Ok(());
    }
    if new.len() != old.len() {
        return Err("faults changed in more than one place".into());
    }
    for (index, (before, after)) in old.iter().zip(new).enumerate() {
        if before == after {
            continue;
        }
        let target: &mut dyn TableLike = match doc.get_mut("fault") {
            Some(Item::ArrayOfTables(tables)) => tables
                .get_mut(index)
                .map(|table| table as &mut dyn TableLike)
                .ok_or("[[fault]] entry missing")?,
            Some(Item::Value(toml_edit::Value::Array(items))) => items
                .get_mut(index)
                .and_then(|value| value.as_inline_table_mut())
                .map(|table| table as &mut dyn TableLike)
                .ok_or("fault entry missing")?,
            _ => return Err("[[fault]] entries not found in the file".into()),
        };
        apply_diff(target, &as_table(before)?, &as_table(after)?);
    }
    Ok(())
}

fn is_empty_list(item: &Item) -> bool {
    match item {
        Item::ArrayOfTables(tables) => tables.is_empty(),
        Item::Value(toml_edit::Value::Array(items)) => items.is_empty(),
        _ => false,
    }
}

fn append_fault(doc: &mut DocumentMut, fault: &toml::Table) -> Result<(), String> {
    match doc.get_mut("fault") {
        Some(Item::Value(toml_edit::Value::Array(items))) => {
            if let toml_edit::Value::InlineTable(table) =
                to_edit_value(&toml::Value::Table(fault.clone()))
            {
                items.push(table);
            }
            return Ok(());
        }
        Some(Item::ArrayOfTables(_)) | None => {}
        Some(_) => return Err("fault is neither [[fault]] tables nor a list".into()),
    }
    let mut table = toml_edit::Table::new();
    apply_diff(&mut table, &toml::Table::new(), fault);
    let mut next = last_position(doc.as_table()) + 1;
    // New entries go right after the existing ones, so the list stays together.
    if let Some(Item::ArrayOfTables(tables)) = doc.get("fault") {
        if let Some(last) = tables.iter().filter_map(|t| t.position()).max() {
            next = last;
        }
    }
    table.set_position(next);
    table.decor_mut().set_prefix("\n");
    if doc.get("fault").is_none() {
        doc["fault"] = Item::ArrayOfTables(toml_edit::ArrayOfTables::new());
    }
    if let Some(Item::ArrayOfTables(tables)) = doc.get_mut("fault") {
        tables.push(table);
    }
    Ok(())
}

#[cfg(test)]
#[path = "edits_tests.rs"]
mod tests;
