//! Saving what the credentials pane asks for: a field, another source, an
//! expiration in the past, new keys.

use crate::app::action::Effect;
use crate::app::edits;
use crate::app::form::CredentialField;
use crate::app::roles::{fake_static_keys, source_defaults, source_name, with_field};
use crate::app::shared::Shared;
use crate::config::{switch_source, validate_identity, CredentialSource, Identity, Role};
use crate::imds::time::format_timestamp;

/// Saves the identity with `role` as its role.
fn save_role(shared: &mut Shared, identity: &Identity, role: Role) -> Result<(), String> {
    let mut updated = identity.clone();
    updated.role = Some(role);
    validate_identity(&updated)?;
    edits::save(&shared.store, |doc| {
        edits::sync_identity(doc, identity, &updated)
    })?;
    Ok(())
}

/// The identity `name` and its role with `field` set from `text`, or why not.
fn changed_role(
    shared: &Shared,
    name: &str,
    field: CredentialField,
    text: &str,
) -> Result<(Identity, Role), String> {
    let identity = shared
        .config()
        .identity(name)
        .cloned()
        .ok_or_else(|| format!("identity {name:?} no longer exists"))?;
    let text = text.trim();
    let role = match &identity.role {
        None => Role {
            name: text.to_string(),
            source: fake_static_keys(),
        },
        Some(role) => with_field(role, field, text)?,
    };
    let mut updated = identity.clone();
    updated.role = Some(role.clone());
    validate_identity(&updated)?;
    Ok((identity, role))
}

/// What is wrong with `text` as the value of `field`, checked as it is typed.
pub fn check_field(
    shared: &Shared,
    name: &str,
    field: CredentialField,
    text: &str,
) -> Result<(), String> {
    changed_role(shared, name, field, text).map(|_| ())
}

/// Enter on a credentials field.
pub fn submit_field(
    shared: &mut Shared,
    name: &str,
    field: CredentialField,
    text: &str,
) -> Result<(), String> {
    let (identity, role) = changed_role(shared, name, field, text)?;
    save_role(shared, &identity, role)?;
    shared.inform(format!("{} of {} saved", field.label(), identity.name));
    Ok(())
}

/// Makes the identity's role take its credentials from the source `name`; the fields of
/// the source it leaves are kept in the file for a switch back.
pub fn choose_source(shared: &mut Shared, identity: &Identity, name: &str) {
    let Some(role) = &identity.role else {
        shared.complain("no role yet: Enter on the role name adds one");
        return;
    };
    if source_name(&role.source) == name {
        shared.inform(format!(
            "credentials of {} already come from: {name}",
            identity.name
        ));
        return;
    }
    let defaults = source_defaults(name);
    match edits::save(&shared.store, |doc| {
        switch_source(doc, &identity.name, name, &defaults)
    }) {
        Ok(_) => {
            shared.effects.push(Effect::ForgetCachedCredentials);
            shared.inform(format!(
                "credentials of {} now come from: {name} (the {} fields are kept for a switch back)",
                identity.name,
                source_name(&role.source)
            ));
        }
        Err(err) => shared.complain(err),
    }
}

/// Pins the expiration a minute in the past, as a credential that lapsed.
pub fn expire_now(shared: &mut Shared, identity: &Identity) {
    let Some(role) = &identity.role else {
        shared.complain("no role: nothing to expire");
        return;
    };
    if !matches!(role.source, CredentialSource::Static { .. }) {
        shared.complain(format!(
            "expire now needs static keys; {} credentials carry the expiration their source gives \
             (a [[fault]] of kind expired-credentials works for any source)",
            source_name(&role.source)
        ));
        return;
    }
    let past = format_timestamp(shared.now - time::Duration::minutes(1));
    match with_field(role, CredentialField::Expiration, &past)
        .and_then(|role| save_role(shared, identity, role))
    {
        Ok(()) => shared.inform(format!(
            "credentials of {} expired at {past}",
            identity.name
        )),
        Err(err) => shared.complain(err),
    }
}

/// New fake keys for static sources (rolling expiration again); command sources run again.
pub fn rotate(shared: &mut Shared, identity: &Identity) {
    shared.effects.push(Effect::ForgetCachedCredentials);
    let Some(role) = &identity.role else {
        shared.complain("no role: nothing to rotate");
        return;
    };
    if !matches!(role.source, CredentialSource::Static { .. }) {
        shared.inform("cached credentials dropped: the next request asks the source again");
        return;
    }
    let source = fake_static_keys();
    let key = match &source {
        CredentialSource::Static { access_key_id, .. } => access_key_id.clone(),
        _ => String::new(),
    };
    let role = Role {
        name: role.name.clone(),
        source,
    };
    match save_role(shared, identity, role) {
        Ok(()) => shared.inform(format!("rotated: new access key {key}")),
        Err(err) => shared.complain(err),
    }
}
