//! The identity editor and switcher: every instance field of the shown identity;
//! add, duplicate, delete, and choose the identity that answers.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, List, ListItem, Paragraph};
use ratatui::Frame;

use crate::config::Identity;
use crate::imds::ids;

use super::super::action::Action;
use super::super::edits;
use super::super::fields::{self, IDENTITY_FIELDS};
use super::super::form::{Input, InputTarget};
use super::super::state::{App, Confirm};
use super::super::ui::{dim, selected_style, window};

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let list_width = if area.width >= 120 { 28 } else { 18 };
    let [list, fields_area] =
        Layout::horizontal([Constraint::Length(list_width), Constraint::Min(20)]).areas(area);
    draw_list(frame, list, app);
    draw_fields(frame, fields_area, app);
}

/// The identities, the shown one highlighted, the active one marked.
pub fn draw_list(frame: &mut Frame, area: Rect, app: &App) {
    let config = app.config();
    let shown = app.shown_identity().map(|identity| identity.name);
    let items: Vec<ListItem> = config
        .identities
        .iter()
        .map(|identity| {
            let active = identity.name == config.active_identity;
            let marker = if active { "● " } else { "  " };
            let mut style = if active {
                Style::new().fg(Color::Green)
            } else {
                Style::new()
            };
            if shown.as_deref() == Some(identity.name.as_str()) {
                style = style.patch(selected_style());
            }
            ListItem::new(Line::from(format!("{marker}{}", identity.name))).style(style)
        })
        .collect();
    frame.render_widget(
        List::new(items).block(Block::bordered().title(" Identities ").border_style(dim())),
        area,
    );
}

fn draw_fields(frame: &mut Frame, area: Rect, app: &App) {
    let config = app.config();
    let Some(identity) = app.shown_identity() else {
        frame.render_widget(
            Paragraph::new("No identity in the configuration. n adds one.")
                .block(Block::bordered().title(" Identity ")),
            area,
        );
        return;
    };
    let active = identity.name == config.active_identity;
    let title = Line::from(vec![
        Span::styled(
            format!(" Identity {} ", identity.name),
            Style::new().add_modifier(Modifier::BOLD),
        ),
        if active {
            Span::styled("answering now ", Style::new().fg(Color::Green))
        } else {
            Span::styled("not answering (a: use it) ", dim())
        },
    ]);
    let block = Block::bordered()
        .title(title)
        .border_style(Style::new().fg(Color::Cyan));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let rows = usize::from(inner.height);
    let label_width = 21;
    let editing = app.input.as_ref().and_then(|input| match &input.target {
        InputTarget::IdentityField { key, .. } => Some(*key),
        _ => None,
    });
    let lines: Vec<Line> = window(app.identity_field, IDENTITY_FIELDS.len(), rows)
        .map(|index| {
            let spec = &IDENTITY_FIELDS[index];
            let value = fields::display_value(&identity, spec.key);
            let (value, value_style) = if value.is_empty() {
                (derived(&identity, spec.key), dim())
            } else {
                (value, Style::new())
            };
            let selected = index == app.identity_field;
            let mut line = Line::from(vec![
                Span::styled(format!("{:<label_width$}", spec.key), dim()),
                Span::styled(value, value_style),
            ]);
            if selected {
                line = line.style(if editing == Some(spec.key) {
                    Style::new().fg(Color::Black).bg(Color::Yellow)
                } else {
                    selected_style()
                });
            }
            line
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

/// What an empty field means.
fn derived(identity: &Identity, key: &str) -> String {
    match key {
        "local_hostname" => format!("(derived) {}", identity.effective_local_hostname()),
        "public_hostname" => identity.effective_public_hostname().map_or_else(
            || "(none: no public IP)".to_string(),
            |name| format!("(derived) {name}"),
        ),
        "public_ipv4" => "(none)".to_string(),
        "user_data" => "(none: user-data answers 404)".to_string(),
        _ => "(empty)".to_string(),
    }
}

pub fn update(app: &mut App, action: Action) {
    let Some(identity) = app.shown_identity() else {
        if action == Action::NewIdentity {
            app.input = Some(Input::new(
                InputTarget::NewIdentity,
                "name of the new identity",
                "default",
            ));
        }
        return;
    };
    let count = app.config().identities.len();
    match action {
        Action::Up => app.identity_field = app.identity_field.saturating_sub(1),
        Action::Down => {
            app.identity_field = (app.identity_field + 1).min(IDENTITY_FIELDS.len() - 1)
        }
        Action::PageUp => app.identity_field = app.identity_field.saturating_sub(10),
        Action::PageDown => {
            app.identity_field = (app.identity_field + 10).min(IDENTITY_FIELDS.len() - 1)
        }
        Action::Top => app.identity_field = 0,
        Action::Bottom => app.identity_field = IDENTITY_FIELDS.len() - 1,
        Action::Left => app.identity_index = app.identity_index.min(count - 1).saturating_sub(1),
        Action::Right => app.identity_index = (app.identity_index + 1).min(count - 1),
        Action::Activate => {
            let spec = &IDENTITY_FIELDS[app.identity_field.min(IDENTITY_FIELDS.len() - 1)];
            let text = fields::display_value(&identity, spec.key);
            app.input = Some(Input::new(
                InputTarget::IdentityField {
                    identity: identity.name.clone(),
                    key: spec.key,
                },
                spec.key,
                text,
            ));
        }
        Action::MakeActive => make_active(app, &identity.name),
        Action::NewIdentity => {
            let name = unused_name(app, "identity");
            app.input = Some(Input::new(
                InputTarget::NewIdentity,
                "name of the new identity",
                name,
            ));
        }
        Action::DuplicateIdentity => {
            let name = unused_name(app, &format!("{}-copy", identity.name));
            app.input = Some(Input::new(
                InputTarget::DuplicateIdentity {
                    from: identity.name.clone(),
                },
                format!("name of the copy of {}", identity.name),
                name,
            ));
        }
        Action::DeleteIdentity => {
            if identity.name == app.config().active_identity {
                app.complain(format!(
                    "{} answers requests now; make another identity active (a) before deleting it",
                    identity.name
                ));
            } else {
                app.confirm = Some(Confirm::DeleteIdentity(identity.name));
            }
        }
        _ => {}
    }
}

/// Makes `name` the identity that answers callers without a label, from the next request on.
pub fn make_active(app: &mut App, name: &str) {
    let name = name.to_string();
    match edits::save(&app.store, |doc| {
        edits::set_active(doc, &name);
        Ok(())
    }) {
        Ok(config) if config.active_identity == name => {
            app.inform(format!("{name} answers from the next request on"));
        }
        Ok(config) => app.complain(format!(
            "saved, but --identity {} overrides active_identity while this run lasts",
            config.active_identity
        )),
        Err(err) => app.complain(err),
    }
}

fn unused_name(app: &App, base: &str) -> String {
    let config = app.config();
    if config.identity(base).is_none() {
        return base.to_string();
    }
    (2..)
        .map(|n| format!("{base}-{n}"))
        .find(|name| config.identity(name).is_none())
        .unwrap_or_else(|| base.to_string())
}

fn check_new_name(app: &App, name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the name is empty".into());
    }
    if app.config().identity(name).is_some() {
        return Err(format!("an identity named {name:?} exists already"));
    }
    Ok(())
}

/// Enter on an identity field: check the value, save it, put it in force.
pub fn submit_field(app: &mut App, name: &str, key: &str, text: &str) -> Result<(), String> {
    let config = app.config();
    let old = config
        .identity(name)
        .ok_or_else(|| format!("identity {name:?} no longer exists"))?
        .clone();
    let (new, notes) = fields::with_field(&old, key, text)?;
    if key == "name" && new.name != old.name {
        check_new_name(app, &new.name)?;
    }
    edits::save(&app.store, |doc| edits::sync_identity(doc, &old, &new))?;
    let mut message = format!("{key} of {} saved", new.name);
    for note in notes {
        message.push_str("; ");
        message.push_str(&note);
    }
    app.inform(message);
    Ok(())
}

pub fn submit_new(app: &mut App, name: &str) -> Result<(), String> {
    let name = name.trim();
    check_new_name(app, name)?;
    let config = app.config();
    let identity = match app.shown_identity() {
        Some(template) => fresh_identity(name, &template),
        None => {
            return Err("no identity to start from; write one in the configuration file".into())
        }
    };
    crate::config::validate_identity(&identity)?;
    edits::save(&app.store, |doc| edits::add_identity(doc, &identity))?;
    app.identity_index = config.identities.len();
    app.identity_field = 0;
    app.inform(format!("identity {name} added (a makes it answer)"));
    Ok(())
}

pub fn submit_duplicate(app: &mut App, from: &str, name: &str) -> Result<(), String> {
    let name = name.trim();
    check_new_name(app, name)?;
    let config = app.config();
    let source = config
        .identity(from)
        .ok_or_else(|| format!("identity {from:?} no longer exists"))?
        .clone();
    let mut copy = source.clone();
    copy.name = name.to_string();
    copy.instance_id = ids::instance_id();
    edits::save(&app.store, |doc| {
        edits::duplicate_identity(doc, &source, &copy)
    })?;
    app.identity_index = config.identities.len();
    app.inform(format!(
        "{from} copied to {name} with instance id {}",
        copy.instance_id
    ));
    Ok(())
}

pub fn delete(app: &mut App, name: &str) {
    match edits::save(&app.store, |doc| edits::delete_identity(doc, name)) {
        Ok(config) => {
            app.identity_index = app
                .identity_index
                .min(config.identities.len().saturating_sub(1));
            app.inform(format!("identity {name} deleted"));
        }
        Err(err) => app.complain(err),
    }
}

/// A new instance in the template's account and zone, with ids of its own.
fn fresh_identity(name: &str, template: &Identity) -> Identity {
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
