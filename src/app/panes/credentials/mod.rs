//! The credentials editor: the shown identity's role, where its keys come from, and
//! the two things developers test against: expiry and rotation.

mod changes;
mod source_menu;

use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;
use time::OffsetDateTime;

use crate::app::action::{Action, Effect};
use crate::app::form::{CredentialField, Input, InputTarget};
use crate::app::identity_list::{self, Focus};
use crate::app::keymap::Context;
use crate::app::roles::{raw_value, rows, source_name};
use crate::app::shared::Shared;
use crate::app::{format, theme, widgets};
use crate::broker::{mask, ExchangeRecord};
use crate::config::{CredentialSource, Identity, Role};
use crate::imds::time::{format_timestamp, parse_timestamp};
use crate::provider::{RefreshState, RefreshStates};

use super::{select, Clicked, Pane, Submitted};
use source_menu::SourceMenu;

/// The most recent provider failure on a credentials path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialsFailure {
    pub time: String,
    pub identity: String,
    pub error: String,
}

/// The credentials pane's own state: list or form focused, the row under the cursor,
/// the last failure seen.
#[derive(Debug, Default)]
pub struct CredentialsPane {
    focus: Focus,
    row: usize,
    last_failure: Option<CredentialsFailure>,
    /// The background refresher's view of command and profile credentials.
    refresh: RefreshStates,
    /// The source menu, while it is open.
    menu: Option<SourceMenu>,
}

/// How long until (or since) an expiration, in words.
fn expiry_words(expiration: &str, now: OffsetDateTime) -> (String, Style) {
    let Some(at) = parse_timestamp(expiration) else {
        return ("not a timestamp".into(), theme::bad());
    };
    let left = at - now;
    let minutes = left.whole_minutes();
    if left.is_negative() {
        (
            format!("EXPIRED {} ago", format::minutes_words(-minutes)),
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        )
    } else {
        let style = if minutes < 15 {
            Style::new().fg(Color::Yellow)
        } else {
            Style::new().fg(Color::Green)
        };
        (
            format!("expires in {}", format::minutes_words(minutes)),
            style,
        )
    }
}

impl CredentialsPane {
    /// New states; returns what newly needs the user (an expired SSO login, an MFA code),
    /// for the status bar: said once when it starts, not on every refresh.
    pub fn set_refresh(&mut self, states: RefreshStates) -> Vec<String> {
        let before = attention(&self.refresh);
        self.refresh = states;
        attention(&self.refresh)
            .into_iter()
            .filter(|item| !before.contains(item))
            .collect()
    }

    /// Lines on the identity's fetched credentials: fresh until when, being fetched, or
    /// failing and when it is tried again; for an assumed role, one line per session and
    /// the MFA code it waits for.
    fn refresh_lines(&self, identity: &str) -> Vec<Line<'static>> {
        match self.refresh.get(identity) {
            None => Vec::new(),
            Some(RefreshState::Sessions {
                sessions,
                mfa_needed,
            }) => {
                let mut lines = Vec::new();
                if let Some(serial) = mfa_needed {
                    lines.push(Line::from(Span::styled(
                        format!("MFA code needed for {serial}: press m to enter it"),
                        theme::bad(),
                    )));
                }
                if sessions.is_empty() {
                    lines.push(Line::from(Span::styled(
                        "sessions: none yet (a container gets one when it joins the network)",
                        theme::dim(),
                    )));
                }
                for (name, state) in sessions {
                    let (words, style) = state_words(state);
                    lines.push(Line::from(vec![
                        Span::styled(format!("session {name}: "), theme::dim()),
                        Span::styled(words, style),
                    ]));
                }
                lines
            }
            Some(state) => {
                let (words, style) = state_words(state);
                let separator = if matches!(state, RefreshState::Failed { .. }) {
                    " "
                } else {
                    ": "
                };
                vec![Line::from(Span::styled(
                    format!("refresh{separator}{words}"),
                    style,
                ))]
            }
        }
    }

    /// `s`, or Enter on the source row: the source menu.
    fn open_menu(&mut self, shared: &mut Shared, identity: &Identity) {
        match &identity.role {
            Some(role) => self.menu = Some(SourceMenu::new(source_name(&role.source))),
            None => shared.complain("no role yet: Enter on the role name adds one"),
        }
    }

    /// `m`: a prompt for the code the shown identity's assumed role waits for.
    fn ask_mfa(&self, shared: &mut Shared, identity: &str) {
        let Some(RefreshState::Sessions {
            mfa_needed: Some(serial),
            ..
        }) = self.refresh.get(identity)
        else {
            shared.complain(format!("{identity} waits for no MFA code"));
            return;
        };
        shared.input = Some(Input::new(
            InputTarget::MfaCode {
                serial: serial.clone(),
            },
            format!("MFA code for {serial}, for identity {identity}"),
            "",
        ));
    }

    pub fn note_exchange(&mut self, record: &ExchangeRecord) {
        if let Some(error) = &record.provider_error {
            if record.path.contains("/security-credentials/") {
                self.last_failure = Some(CredentialsFailure {
                    time: record.time.clone(),
                    identity: record.identity.clone(),
                    error: error.clone(),
                });
            }
        }
    }

    fn draw_form(&self, frame: &mut Frame, area: Rect, shared: &Shared) {
        let Some(identity) = shared.shown_identity() else {
            frame.render_widget(
                Paragraph::new("No identity.").block(Block::bordered()),
                area,
            );
            return;
        };
        let title = Line::from(vec![
            Span::styled(format!(" Credentials of {}", identity.name), theme::bold()),
            widgets::secrets_badge(shared.reveal),
        ]);
        let block = Block::bordered()
            .title(title)
            .border_style(theme::border(self.focus == Focus::Form));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let lines = self
            .body_lines(shared, &identity, usize::from(inner.width))
            .0;
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
    }

    /// The form's lines, and for each of its first lines the field it shows (a long value
    /// takes several), for clicks.
    fn body_lines(
        &self,
        shared: &Shared,
        identity: &Identity,
        width: usize,
    ) -> (Vec<Line<'static>>, Vec<usize>) {
        let mut fields_of_lines = Vec::new();
        let role = identity.role.as_ref();
        let rows = rows(role);
        let selected = self.row.min(rows.len() - 1);
        let mut lines = Vec::new();
        for (index, field) in rows.iter().enumerate() {
            let (value, style) = match role {
                None => ("(no role: Enter adds one)".to_string(), theme::dim()),
                Some(role) => shown_value(shared, role, *field),
            };
            let (marker, selection) = widgets::cursor(index == selected, self.focus == Focus::Form);
            // A long value (a revealed token) continues under itself, not at column 0.
            let indent = marker.chars().count() + 19;
            let mut pieces = chunks(&value, width.saturating_sub(indent).max(8)).into_iter();
            lines.push(
                Line::from(vec![
                    Span::raw(marker),
                    Span::styled(format!("{:<19}", field.label()), theme::dim()),
                    Span::styled(pieces.next().unwrap_or_default(), style),
                ])
                .style(selection),
            );
            fields_of_lines.push(index);
            for piece in pieces {
                fields_of_lines.push(index);
                lines.push(
                    Line::from(vec![
                        Span::raw(" ".repeat(indent)),
                        Span::styled(piece, style),
                    ])
                    .style(selection),
                );
            }
        }
        lines.push(Line::default());
        match role.map(|role| &role.source) {
            Some(CredentialSource::Static { .. }) => {
                lines.push(Line::from(Span::styled(
                    "E expires the keys now (SDKs must refresh); r refreshes to new fake keys; s chooses another source.",
                    theme::dim(),
                )));
            }
            Some(CredentialSource::Profile { .. }) => lines.push(Line::from(Span::styled(
                "Resolved as the AWS CLI resolves it (keys, process, role chains, SSO), in the background ahead of Expiration. r fetches again.",
                theme::dim(),
            ))),
            Some(CredentialSource::AssumeRole(_)) => lines.push(Line::from(Span::styled(
                "Each container gets its own STS session of this role, named after it; renewed in the background ahead of Expiration.",
                theme::dim(),
            ))),
            Some(CredentialSource::Command { .. }) => lines.push(Line::from(Span::styled(
                "The command runs in the background ahead of Expiration; requests never wait on it while keys are valid. r runs it again.",
                theme::dim(),
            ))),
            None => {}
        }
        lines.extend(self.refresh_lines(&identity.name));
        if let Some(failure) = self
            .last_failure
            .as_ref()
            .filter(|failure| failure.identity == identity.name)
        {
            lines.push(Line::default());
            lines.push(Line::from(Span::styled(
                format!(
                    "last failure ({}): {}",
                    format::clock(&failure.time),
                    failure.error
                ),
                theme::bad(),
            )));
        }
        (lines, fields_of_lines)
    }
}

impl Pane for CredentialsPane {
    fn click(&mut self, x: u16, y: u16, area: Rect, shared: &mut Shared) -> Clicked {
        if self.menu.is_some() {
            return Clicked::Nothing;
        }
        let was_form = self.focus == Focus::Form;
        let form = match identity_list::click(&mut self.focus, x, y, area, shared) {
            Ok(clicked) => return clicked,
            Err(form) => form,
        };
        let Some(identity) = shared.shown_identity() else {
            return Clicked::Nothing;
        };
        let width = usize::from(form.width.saturating_sub(2));
        let (_, fields) = self.body_lines(shared, &identity, width);
        let line = usize::from(y.saturating_sub(form.y + 1));
        match fields
            .get(line)
            .filter(|_| y > form.y && y + 1 < form.bottom())
        {
            Some(index) if was_form => select(&mut self.row, *index),
            Some(index) => {
                self.row = *index;
                Clicked::Selected
            }
            None => Clicked::Nothing,
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect, shared: &Shared) {
        let form = identity_list::draw_beside(frame, area, shared, self.focus);
        self.draw_form(frame, form, shared);
        if let (Some(menu), Some(identity)) = (&self.menu, shared.shown_identity()) {
            let current = identity
                .role
                .as_ref()
                .map_or("", |role| source_name(&role.source));
            menu.draw(frame, area, &identity.name, current);
        }
    }

    fn update(&mut self, action: Action, shared: &mut Shared) {
        let Some(identity) = shared.shown_identity() else {
            return;
        };
        if let Some(menu) = self.menu.as_mut() {
            match action {
                Action::Up => menu.up(),
                Action::Down => menu.down(),
                Action::Activate => {
                    let chosen = menu.chosen();
                    self.menu = None;
                    changes::choose_source(shared, &identity, chosen);
                }
                Action::Back => self.menu = None,
                _ => {}
            }
            return;
        }
        if self.focus.steer(action, shared) {
            return;
        }
        let rows = rows(identity.role.as_ref());
        match action {
            Action::Up => self.row = self.row.min(rows.len() - 1).saturating_sub(1),
            Action::Down => self.row = (self.row + 1).min(rows.len() - 1),
            Action::Activate => match rows[self.row.min(rows.len() - 1)] {
                CredentialField::Source => self.open_menu(shared, &identity),
                field => start_edit(shared, &identity, field),
            },
            Action::ChooseSource => self.open_menu(shared, &identity),
            Action::ExpireNow => changes::expire_now(shared, &identity),
            Action::Refresh => changes::rotate(shared, &identity),
            Action::EnterMfa => self.ask_mfa(shared, &identity.name),
            _ => {}
        }
    }

    fn contexts(&self) -> Vec<Context> {
        if self.menu.is_some() {
            return vec![Context::SourceMenu];
        }
        vec![
            self.focus.context(Context::CredentialsFields),
            Context::Credentials,
        ]
    }

    fn hint_applies(&self, action: Action, shared: &Shared) -> bool {
        let identity = shared.shown_identity();
        let source = identity
            .as_ref()
            .and_then(|identity| identity.role.as_ref())
            .map(|role| &role.source);
        match action {
            Action::ExpireNow => matches!(source, Some(CredentialSource::Static { .. })),
            Action::Refresh | Action::ChooseSource => source.is_some(),
            Action::EnterMfa => identity.is_some_and(|identity| {
                matches!(
                    self.refresh.get(&identity.name),
                    Some(RefreshState::Sessions {
                        mfa_needed: Some(_),
                        ..
                    })
                )
            }),
            _ => true,
        }
    }

    fn typed(&mut self, target: &InputTarget, text: &str, shared: &Shared) -> Submitted {
        match target {
            InputTarget::CredentialField { identity, field } => {
                changes::check_field(shared, identity, *field, text)
            }
            InputTarget::MfaCode { .. } if text.chars().any(|c| !c.is_ascii_digit()) => {
                Err("an MFA code is digits only".into())
            }
            _ => Ok(()),
        }
    }

    fn submit(&mut self, target: &InputTarget, text: &str, shared: &mut Shared) -> Submitted {
        match target {
            InputTarget::CredentialField { identity, field } => {
                changes::submit_field(shared, identity, *field, text)
            }
            InputTarget::MfaCode { serial } => {
                let code = crate::provider::check_mfa_code(text)?;
                shared.effects.push(Effect::SubmitMfa {
                    code: code.to_string(),
                    serial: serial.clone(),
                });
                shared.inform(format!("MFA code sent for {serial}"));
                Ok(())
            }
            _ => Err("not a credentials value".into()),
        }
    }
}

fn shown_value(shared: &Shared, role: &Role, field: CredentialField) -> (String, Style) {
    let value = raw_value(role, field);
    match field {
        CredentialField::SessionToken if value.is_empty() => ("(none)".into(), theme::dim()),
        _ if field.is_secret() && !shared.reveal => (mask(&value), Style::new().fg(Color::Yellow)),
        CredentialField::Expiration if value.is_empty() => {
            ("rolling, 6 h ahead".into(), Style::new().fg(Color::Green))
        }
        CredentialField::Expiration => {
            let (words, style) = expiry_words(&value, shared.now);
            (format!("{value}  {words}"), style)
        }
        _ => (value, Style::new()),
    }
}

/// `text` in pieces of at most `width` characters.
fn chunks(text: &str, width: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return vec![String::new()];
    }
    chars
        .chunks(width.max(1))
        .map(|piece| piece.iter().collect())
        .collect()
}

/// What in `states` only the user can fix, one line each.
fn attention(states: &RefreshStates) -> Vec<String> {
    let mut items = Vec::new();
    for (identity, state) in states {
        match state {
            RefreshState::Failed { reason, .. } if reason.contains("aws sso login") => {
                let from = reason.find("SSO login").unwrap_or(0);
                let text = reason[from..].split(" (").next().unwrap_or(&reason[from..]);
                items.push(format!("{identity}: {text}"));
            }
            RefreshState::Sessions {
                mfa_needed: Some(serial),
                ..
            } => items.push(format!(
                "{identity}: MFA code needed for {serial} (Credentials pane, m)"
            )),
            _ => {}
        }
    }
    items
}

/// Where fetched credentials stand, in words: fresh until when, being fetched, or failing
/// and when they are tried again.
fn state_words(state: &RefreshState) -> (String, Style) {
    // HH:MM:SS (UTC) of the IMDS timestamp form, as the rest of the dashboard shows times.
    let time = |at: &OffsetDateTime| {
        let stamp = format_timestamp(*at);
        stamp.get(11..19).unwrap_or(&stamp).to_string()
    };
    let serving = |until: &Option<OffsetDateTime>| match until {
        Some(until) => format!("; the previous keys serve until {}", time(until)),
        None => String::new(),
    };
    match state {
        RefreshState::Fetching { serving_until } => (
            format!("fetching now{}", serving(serving_until)),
            Style::new().fg(Color::Yellow),
        ),
        RefreshState::Fresh {
            expiration,
            refresh_at,
        } => (
            format!(
                "fresh until {}, fetched again at {}",
                time(expiration),
                time(refresh_at)
            ),
            Style::new().fg(Color::Green),
        ),
        RefreshState::Failed {
            reason,
            retry_at,
            serving_until,
            ..
        } => (
            format!(
                "FAILED: {reason}; next try {}{}",
                time(retry_at),
                serving(serving_until)
            ),
            theme::bad(),
        ),
        RefreshState::Sessions { sessions, .. } => {
            (format!("{} sessions", sessions.len()), theme::dim())
        }
    }
}

/// Enter on a row: an input for its value (a new role when there is none).
fn start_edit(shared: &mut Shared, identity: &Identity, field: CredentialField) {
    let Some(role) = &identity.role else {
        let target = InputTarget::CredentialField {
            identity: identity.name.clone(),
            field: CredentialField::RoleName,
        };
        shared.input = Some(Input::new(
            target,
            "name of the new role",
            format!("{}-role", identity.name),
        ));
        return;
    };
    let target = InputTarget::CredentialField {
        identity: identity.name.clone(),
        field,
    };
    let input = if field.is_secret() && !shared.reveal {
        // The stored secret is not put on screen; the user types a new one.
        Input::new(target, format!("new {}", field.label()), "").masked()
    } else {
        Input::new(target, field.label(), raw_value(role, field))
    };
    shared.input = Some(input);
}

#[cfg(test)]
mod attention_tests {
    use super::*;

    #[test]
    fn an_expired_sso_login_and_a_wanted_mfa_code_reach_the_status_bar_once() {
        let at = OffsetDateTime::UNIX_EPOCH;
        let mut states = RefreshStates::new();
        states.insert(
            "dev".into(),
            RefreshState::Failed {
                reason: "credentials from profile dev: SSO login for profile dev expired at 2026-12-07 14:02 UTC: run `aws sso login --profile dev` (the SSO token has expired)".into(),
                failed_at: at,
                retry_at: at,
                serving_until: None,
            },
        );
        states.insert(
            "admin".into(),
            RefreshState::Sessions {
                sessions: Vec::new(),
                mfa_needed: Some("arn:aws:iam::123456789012:mfa/me".into()),
            },
        );
        let mut pane = CredentialsPane::default();
        let told = pane.set_refresh(states.clone());
        assert_eq!(
            told,
            [
                "admin: MFA code needed for arn:aws:iam::123456789012:mfa/me (Credentials pane, m)",
                "dev: SSO login for profile dev expired at 2026-12-07 14:02 UTC: run `aws sso login --profile dev`",
            ]
        );
        assert!(pane.set_refresh(states).is_empty(), "said once");
    }
}
