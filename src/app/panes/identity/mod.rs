//! The identity editor and switcher: the identity list beside every instance field of
//! the selected identity; add, duplicate, delete, and choose the identity that answers.

mod changes;

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use crate::app::action::Action;
use crate::app::edits;
use crate::app::fields::{self, IDENTITY_FIELDS};
use crate::app::form::{Input, InputTarget};
use crate::app::identity_list::{self, Focus};
use crate::app::keymap::Context;
use crate::app::shared::{Confirm, Shared};
use crate::app::{theme, widgets};
use crate::config::Identity;

use super::{row_at, select, Clicked, Pane, Submitted};

/// The identity pane's own state: list or fields focused, the field under the cursor.
#[derive(Debug, Default)]
pub struct IdentityPane {
    focus: Focus,
    field: usize,
}

impl IdentityPane {
    fn draw_fields(&self, frame: &mut Frame, area: Rect, shared: &Shared) {
        let config = shared.config();
        let Some(identity) = shared.shown_identity() else {
            frame.render_widget(
                Paragraph::new("No identity in the configuration. n adds one.")
                    .block(Block::bordered().title(" Identity ")),
                area,
            );
            return;
        };
        let active = identity.name == config.active_identity;
        let assigned = shared.assigned_containers(&identity.name);
        let by_rule = match assigned {
            0 => String::new(),
            1 => "1 container by label or rule".to_string(),
            n => format!("{n} containers by label or rule"),
        };
        let answers = match (active, by_rule.is_empty()) {
            (true, true) => Span::styled("answers unassigned containers ", theme::good()),
            (true, false) => Span::styled(
                format!("answers unassigned containers and {by_rule} "),
                theme::good(),
            ),
            (false, false) => Span::styled(format!("answers {by_rule} "), theme::good()),
            (false, true) => Span::styled("answers no container now (u: use it) ", theme::dim()),
        };
        let title = Line::from(vec![
            Span::styled(format!(" Identity {} ", identity.name), theme::bold()),
            answers,
        ]);
        let focused = self.focus == Focus::Form;
        let block = Block::bordered()
            .title(title)
            .border_style(theme::border(focused));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let rows = usize::from(inner.height);
        let label_width = 21;
        let editing = shared.input.as_ref().and_then(|input| match &input.target {
            InputTarget::IdentityField { key, .. } => Some(*key),
            _ => None,
        });
        let lines: Vec<Line> = widgets::window(self.field, IDENTITY_FIELDS.len(), rows)
            .map(|index| {
                let spec = &IDENTITY_FIELDS[index];
                let value = fields::display_value(&identity, spec.key);
                let (value, value_style) = if value.is_empty() {
                    (derived(&identity, spec.key), theme::dim())
                } else {
                    (value, Style::new())
                };
                let (marker, style) = widgets::cursor(index == self.field, focused);
                let style = if editing == Some(spec.key) {
                    theme::editing()
                } else {
                    style
                };
                Line::from(vec![
                    Span::raw(marker),
                    Span::styled(format!("{:<label_width$}", spec.key), theme::dim()),
                    Span::styled(value, value_style),
                ])
                .style(style)
            })
            .collect();
        frame.render_widget(Paragraph::new(lines), inner);
    }

    /// Enter on the new identity's name.
    fn submit_new(&mut self, shared: &mut Shared, name: &str) -> Result<(), String> {
        let name = name.trim();
        changes::check_new_name(shared, name)?;
        let config = shared.config();
        let identity = match shared.shown_identity() {
            Some(template) => changes::fresh_identity(name, &template),
            None => {
                return Err("no identity to start from; write one in the configuration file".into())
            }
        };
        crate::config::validate_identity(&identity)?;
        edits::save(&shared.store, |doc| edits::add_identity(doc, &identity))?;
        shared.identity_index = config.identities.len();
        self.field = 0;
        shared.inform(format!("identity {name} added (u makes it answer)"));
        Ok(())
    }

    /// The user confirmed deleting `name`.
    pub fn delete(&mut self, shared: &mut Shared, name: &str) {
        match edits::save(&shared.store, |doc| edits::delete_identity(doc, name)) {
            Ok(config) => {
                shared.identity_index = shared
                    .identity_index
                    .min(config.identities.len().saturating_sub(1));
                shared.inform(format!("identity {name} deleted"));
            }
            Err(err) => shared.complain(err),
        }
    }
}

impl Pane for IdentityPane {
    fn draw(&self, frame: &mut Frame, area: Rect, shared: &Shared) {
        let form = identity_list::draw_beside(frame, area, shared, self.focus);
        self.draw_fields(frame, form, shared);
    }

    fn click(&mut self, x: u16, y: u16, area: Rect, shared: &mut Shared) -> Clicked {
        let was_form = self.focus == Focus::Form;
        let form = match identity_list::click(&mut self.focus, x, y, area, shared) {
            Ok(clicked) => return clicked,
            Err(form) => form,
        };
        let rows = usize::from(form.height.saturating_sub(2));
        let offset = widgets::window(self.field, IDENTITY_FIELDS.len(), rows).start;
        match row_at(y, form.y + 1, offset, IDENTITY_FIELDS.len()).filter(|_| y + 1 < form.bottom())
        {
            Some(index) if was_form => select(&mut self.field, index),
            Some(index) => {
                self.field = index;
                Clicked::Selected
            }
            None => Clicked::Nothing,
        }
    }

    fn update(&mut self, action: Action, shared: &mut Shared) {
        let Some(identity) = shared.shown_identity() else {
            if action == Action::NewIdentity {
                shared.input = Some(Input::new(
                    InputTarget::NewIdentity,
                    "name of the new identity",
                    "default",
                ));
            }
            return;
        };
        if self.focus.steer(action, shared) {
            return;
        }
        match action {
            Action::Up => self.field = self.field.saturating_sub(1),
            Action::Down => self.field = (self.field + 1).min(IDENTITY_FIELDS.len() - 1),
            Action::PageUp => self.field = self.field.saturating_sub(10),
            Action::PageDown => self.field = (self.field + 10).min(IDENTITY_FIELDS.len() - 1),
            Action::Top => self.field = 0,
            Action::Bottom => self.field = IDENTITY_FIELDS.len() - 1,
            Action::Activate => {
                let spec = &IDENTITY_FIELDS[self.field.min(IDENTITY_FIELDS.len() - 1)];
                let text = fields::display_value(&identity, spec.key);
                shared.input = Some(Input::new(
                    InputTarget::IdentityField {
                        identity: identity.name.clone(),
                        key: spec.key,
                    },
                    spec.key,
                    text,
                ));
            }
            Action::MakeActive => changes::make_active(shared, &identity.name),
            Action::NewIdentity => {
                let name = changes::unused_name(shared, "identity");
                shared.input = Some(Input::new(
                    InputTarget::NewIdentity,
                    "name of the new identity",
                    name,
                ));
            }
            Action::DuplicateIdentity => {
                let name = changes::unused_name(shared, &format!("{}-copy", identity.name));
                shared.input = Some(Input::new(
                    InputTarget::DuplicateIdentity {
                        from: identity.name.clone(),
                    },
                    format!("name of the copy of {}", identity.name),
                    name,
                ));
            }
            Action::DeleteIdentity => {
                if identity.name == shared.config().active_identity {
                    shared.complain(format!(
                        "{} answers requests now; make another identity active (a) before deleting it",
                        identity.name
                    ));
                } else {
                    shared.confirm = Some(Confirm::DeleteIdentity(identity.name));
                }
            }
            _ => {}
        }
    }

    fn contexts(&self) -> Vec<Context> {
        vec![
            self.focus.context(Context::IdentityFields),
            Context::Identity,
        ]
    }

    fn typed(&mut self, target: &InputTarget, text: &str, shared: &Shared) -> Submitted {
        match target {
            InputTarget::IdentityField { identity, key } => {
                changes::check_field(shared, identity, key, text)
            }
            InputTarget::NewIdentity | InputTarget::DuplicateIdentity { .. } => {
                changes::check_new_name(shared, text.trim())
            }
            _ => Ok(()),
        }
    }

    fn submit(&mut self, target: &InputTarget, text: &str, shared: &mut Shared) -> Submitted {
        match target {
            InputTarget::IdentityField { identity, key } => {
                changes::submit_field(shared, identity, key, text)
            }
            InputTarget::NewIdentity => self.submit_new(shared, text),
            InputTarget::DuplicateIdentity { from } => {
                changes::submit_duplicate(shared, from, text)
            }
            _ => Err("not an identity value".into()),
        }
    }
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
