//! The credentials editor: the shown identity's role, where its keys come from, and
//! the two things developers test against: expiry and rotation.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;
use time::OffsetDateTime;

use crate::broker::mask;
use crate::config::{validate_identity, CredentialSource, Identity, Role};
use crate::imds::time::{format_timestamp, parse_timestamp};

use super::super::action::{Action, Effect};
use super::super::edits;
use super::super::form::{CredentialField, Input, InputTarget};
use super::super::roles::{
    fake_static_keys, following_source, raw_value, rows, source_name, with_field,
};
use super::super::state::App;
use super::super::ui::{dim, selected_style};
use super::identity::draw_list;

/// How long until (or since) an expiration, in words.
fn expiry_words(expiration: &str, now: OffsetDateTime) -> (String, Style) {
    let Some(at) = parse_timestamp(expiration) else {
        return ("not a timestamp".into(), Style::new().fg(Color::Red));
    };
    let left = at - now;
    let minutes = left.whole_minutes();
    if left.is_negative() {
        (
            format!("EXPIRED {} ago", span_words(-minutes)),
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        )
    } else {
        let style = if minutes < 15 {
            Style::new().fg(Color::Yellow)
        } else {
            Style::new().fg(Color::Green)
        };
        (format!("expires in {}", span_words(minutes)), style)
    }
}

fn span_words(minutes: i64) -> String {
    if minutes < 60 {
        format!("{minutes} min")
    } else if minutes < 48 * 60 {
        format!("{}h {:02}m", minutes / 60, minutes % 60)
    } else {
        format!("{} days", minutes / (24 * 60))
    }
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let list_width = if area.width >= 120 { 28 } else { 18 };
    let [list, main] =
        Layout::horizontal([Constraint::Length(list_width), Constraint::Min(20)]).areas(area);
    draw_list(frame, list, app);
    let Some(identity) = app.shown_identity() else {
        frame.render_widget(
            Paragraph::new("No identity.").block(Block::bordered()),
            main,
        );
        return;
    };
    let title = Line::from(vec![
        Span::styled(
            format!(" Credentials of {} ", identity.name),
            Style::new().add_modifier(Modifier::BOLD),
        ),
        if app.reveal {
            Span::styled(
                " SECRETS SHOWN (v masks) ",
                Style::new().fg(Color::Black).bg(Color::Red),
            )
        } else {
            Span::styled("secrets masked (v reveals) ", dim())
        },
    ]);
    let block = Block::bordered()
        .title(title)
        .border_style(Style::new().fg(Color::Cyan));
    let inner = block.inner(main);
    frame.render_widget(block, main);
    let lines = body_lines(app, &identity);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

fn body_lines(app: &App, identity: &Identity) -> Vec<Line<'static>> {
    let role = identity.role.as_ref();
    let rows = rows(role);
    let selected = app.credential_row.min(rows.len() - 1);
    let mut lines = Vec::new();
    for (index, field) in rows.iter().enumerate() {
        let (value, style) = match role {
            None => ("(no role: Enter adds one)".to_string(), dim()),
            Some(role) => shown_value(app, role, *field),
        };
        let mut line = Line::from(vec![
            Span::styled(format!("{:<19}", field.label()), dim()),
            Span::styled(value, style),
        ]);
        if index == selected {
            line = line.style(selected_style());
        }
        lines.push(line);
    }
    lines.push(Line::default());
    match role.map(|role| &role.source) {
        Some(CredentialSource::Static { .. }) => {
            lines.push(Line::from(Span::styled(
                "e expires the keys now (SDKs must refresh); r rotates to new fake keys.",
                dim(),
            )));
        }
        Some(CredentialSource::Profile { .. }) => lines.push(Line::from(Span::styled(
            "Keys are read from ~/.aws/credentials and ~/.aws/config on each request.",
            dim(),
        ))),
        Some(CredentialSource::Command { .. }) => lines.push(Line::from(Span::styled(
            "The command's credential_process JSON is cached until shortly before it expires; r runs it again.",
            dim(),
        ))),
        None => {}
    }
    if let Some(failure) = app
        .credentials_failure
        .as_ref()
        .filter(|failure| failure.identity == identity.name)
    {
        lines.push(Line::default());
        lines.push(Line::from(Span::styled(
            format!(
                "last failure ({}): {}",
                super::requests::clock(&failure.time),
                failure.error
            ),
            Style::new().fg(Color::Red),
        )));
    }
    lines
}

fn shown_value(app: &App, role: &Role, field: CredentialField) -> (String, Style) {
    let value = raw_value(role, field);
    match field {
        CredentialField::SessionToken if value.is_empty() => ("(none)".into(), dim()),
        _ if field.is_secret() && !app.reveal => (mask(&value), Style::new().fg(Color::Yellow)),
        CredentialField::Expiration if value.is_empty() => {
            ("rolling, 6 h ahead".into(), Style::new().fg(Color::Green))
        }
        CredentialField::Expiration => {
            let (words, style) = expiry_words(&value, app.now);
            (format!("{value}  {words}"), style)
        }
        _ => (value, Style::new()),
    }
}

pub fn update(app: &mut App, action: Action) {
    let Some(identity) = app.shown_identity() else {
        return;
    };
    let rows = rows(identity.role.as_ref());
    let count = app.config().identities.len();
    match action {
        Action::Up => app.credential_row = app.credential_row.min(rows.len() - 1).saturating_sub(1),
        Action::Down => app.credential_row = (app.credential_row + 1).min(rows.len() - 1),
        Action::Left => app.identity_index = app.identity_index.min(count - 1).saturating_sub(1),
        Action::Right => app.identity_index = (app.identity_index + 1).min(count - 1),
        Action::Activate => {
            let field = rows[app.credential_row.min(rows.len() - 1)];
            start_edit(app, &identity, field);
        }
        Action::NextSource => next_source(app, &identity),
        Action::ExpireNow => expire_now(app, &identity),
        Action::Rotate => rotate(app, &identity),
        _ => {}
    }
}

fn start_edit(app: &mut App, identity: &Identity, field: CredentialField) {
    let Some(role) = &identity.role else {
        let target = InputTarget::CredentialField {
            identity: identity.name.clone(),
            field: CredentialField::RoleName,
        };
        app.input = Some(Input::new(
            target,
            "name of the new role",
            format!("{}-role", identity.name),
        ));
        return;
    };
    if field == CredentialField::Source {
        next_source(app, identity);
        return;
    }
    let target = InputTarget::CredentialField {
        identity: identity.name.clone(),
        field,
    };
    let input = if field.is_secret() && !app.reveal {
        // The stored secret is not put on screen; the user types a new one.
        Input::new(target, format!("new {}", field.label()), "").masked()
    } else {
        Input::new(target, field.label(), raw_value(role, field))
    };
    app.input = Some(input);
}

/// Saves the identity with `role` as its role.
fn save_role(app: &mut App, identity: &Identity, role: Role) -> Result<(), String> {
    let mut updated = identity.clone();
    updated.role = Some(role);
    validate_identity(&updated)?;
    edits::save(&app.store, |doc| {
        edits::sync_identity(doc, identity, &updated)
    })?;
    Ok(())
}

/// Enter on a credentials field.
pub fn submit_field(
    app: &mut App,
    name: &str,
    field: CredentialField,
    text: &str,
) -> Result<(), String> {
    let identity = app
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
    save_role(app, &identity, role)?;
    app.inform(format!("{} of {} saved", field.label(), identity.name));
    Ok(())
}

/// static → profile → command → static (with fresh fake keys).
fn next_source(app: &mut App, identity: &Identity) {
    let Some(role) = &identity.role else {
        app.complain("no role yet: Enter on the role name adds one");
        return;
    };
    let source = following_source(&role.source);
    let name = source_name(&source);
    let role = Role {
        name: role.name.clone(),
        source,
    };
    match save_role(app, identity, role) {
        Ok(()) => {
            app.effects.push(Effect::ForgetCachedCredentials);
            app.inform(format!(
                "credentials of {} now come from: {name}",
                identity.name
            ));
        }
        Err(err) => app.complain(err),
    }
}

/// Pins the expiration a minute in the past, as a credential that lapsed.
fn expire_now(app: &mut App, identity: &Identity) {
    let Some(role) = &identity.role else {
        app.complain("no role: nothing to expire");
        return;
    };
    if !matches!(role.source, CredentialSource::Static { .. }) {
        app.complain(format!(
            "expire now needs static keys; {} credentials carry the expiration their source gives \
             (a [[fault]] of kind expired-credentials works for any source)",
            source_name(&role.source)
        ));
        return;
    }
    let past = format_timestamp(app.now - time::Duration::minutes(1));
    match with_field(role, CredentialField::Expiration, &past)
        .and_then(|role| save_role(app, identity, role))
    {
        Ok(()) => app.inform(format!(
            "credentials of {} expired at {past}",
            identity.name
        )),
        Err(err) => app.complain(err),
    }
}

/// New fake keys for static sources (rolling expiration again); command sources run again.
fn rotate(app: &mut App, identity: &Identity) {
    app.effects.push(Effect::ForgetCachedCredentials);
    let Some(role) = &identity.role else {
        app.complain("no role: nothing to rotate");
        return;
    };
    if !matches!(role.source, CredentialSource::Static { .. }) {
        app.inform("cached credentials dropped: the next request asks the source again");
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
    match save_role(app, identity, role) {
        Ok(()) => app.inform(format!("rotated: new access key {key}")),
        Err(err) => app.complain(err),
    }
}
