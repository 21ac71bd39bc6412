//! Saving what the identity pane asks for: the active identity, field values, new,
//! copied and deleted identities.

use crate::app::edits;
use crate::app::fields;
use crate::app::shared::Shared;
use crate::config::Identity;
use crate::imds::ids;

/// Makes `name` the identity that answers callers without a label, from the next request on.
pub fn make_active(shared: &mut Shared, name: &str) {
    let name = name.to_string();
    match edits::save(&shared.store, |doc| {
        edits::set_active(doc, &name);
        Ok(())
    }) {
        Ok(config) if config.active_identity == name => {
            shared.inform(format!("{name} answers from the next request on"));
        }
        Ok(config) => shared.complain(format!(
            "saved, but --identity {} overrides active_identity while this run lasts",
            config.active_identity
        )),
        Err(err) => shared.complain(err),
    }
}

pub fn unused_name(shared: &Shared, base: &str) -> String {
    let config = shared.config();
    if config.identity(base).is_none() {
        return base.to_string();
    }
    (2..)
        .map(|n| format!("{base}-{n}"))
        .find(|name| config.identity(name).is_none())
        .unwrap_or_else(|| base.to_string())
}

pub fn check_new_name(shared: &Shared, name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the name is empty".into());
    }
    if shared.config().identity(name).is_some() {
        return Err(format!("an identity named {name:?} exists already"));
    }
    Ok(())
}

/// The identity `name` with `key` set from `text`, and notes on what else changed; or
/// why the value is refused.
fn changed_field(
    shared: &Shared,
    name: &str,
    key: &str,
    text: &str,
) -> Result<(Identity, Identity, Vec<String>), String> {
    let config = shared.config();
    let old = config
        .identity(name)
        .ok_or_else(|| format!("identity {name:?} no longer exists"))?
        .clone();
    let (new, notes) = fields::with_field(&old, key, text)?;
    if key == "name" && new.name != old.name {
        check_new_name(shared, &new.name)?;
    }
    Ok((old, new, notes))
}

/// What is wrong with `text` as the value of `key`, checked as it is typed.
pub fn check_field(shared: &Shared, name: &str, key: &str, text: &str) -> Result<(), String> {
    changed_field(shared, name, key, text).map(|_| ())
}

/// Enter on an identity field: check the value, save it, put it in force.
pub fn submit_field(shared: &mut Shared, name: &str, key: &str, text: &str) -> Result<(), String> {
    let (old, new, notes) = changed_field(shared, name, key, text)?;
    edits::save(&shared.store, |doc| edits::sync_identity(doc, &old, &new))?;
    let mut message = format!("{key} of {} saved", new.name);
    for note in notes {
        message.push_str("; ");
        message.push_str(&note);
    }
    shared.inform(message);
    Ok(())
}

pub fn submit_duplicate(shared: &mut Shared, from: &str, name: &str) -> Result<(), String> {
    let name = name.trim();
    check_new_name(shared, name)?;
    let config = shared.config();
    let source = config
        .identity(from)
        .ok_or_else(|| format!("identity {from:?} no longer exists"))?
        .clone();
    let mut copy = source.clone();
    copy.name = name.to_string();
    copy.instance_id = ids::instance_id();
    edits::save(&shared.store, |doc| {
        edits::duplicate_identity(doc, &source, &copy)
    })?;
    shared.identity_index = config.identities.len();
    shared.inform(format!(
        "{from} copied to {name} with instance id {}",
        copy.instance_id
    ));
    Ok(())
}

/// A new instance in the template's account and zone, with ids of its own.
pub fn fresh_identity(name: &str, template: &Identity) -> Identity {
    let mut identity = template.clone();
    identity.name = name.to_string();
    identity.instance_id = ids::instance_id();
    identity.local_ipv4 = ids::private_ipv4();
    identity.local_hostname = String::new();
    identity.public_ipv4 = None;
    identity.public_hostname = String::new();
    identity.mac = ids::mac_address();
    identity.interface_id = ids::network_interface_id();
    identity.reservation_id = ids::reservation_id();
    identity.tags = [("Name".to_string(), name.to_string())]
        .into_iter()
        .collect();
    identity.user_data = None;
    identity.events = Default::default();
    identity
}
