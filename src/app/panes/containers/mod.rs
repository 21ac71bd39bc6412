//! Containers on this Docker engine: which are on our network, which identity each
//! plays and why; attach or detach one, choose the identity it plays. `V` switches to
//! the IMDSv2 readiness of every caller (`readiness`).

mod picker;
mod readiness;
mod view;

use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

use crate::app::action::{Action, ContainerRow, Effect, Part, PartState};
use crate::app::format::identity_with_origin;
use crate::app::keymap::Context;
use crate::app::shared::{Confirm, Shared};
use crate::app::theme::{self, dim};
use crate::app::widgets::{cursor, window};
use std::sync::Arc;

use crate::broker::ExchangeRecord;

use super::{row_at, select, Clicked, Pane};
use picker::Picker;
use readiness::ReadinessView;

/// The containers pane's own state: the engine's containers as last listed, the cursor,
/// the identity picker while it is open.
#[derive(Debug, Default)]
pub struct ContainersPane {
    /// Why the engine could not be asked, when it could not.
    unavailable: Option<String>,
    row: usize,
    picker: Option<Picker>,
    readiness: ReadinessView,
    /// The readiness view is shown instead of the containers.
    showing_readiness: bool,
    /// What each container has asked, for the container view.
    activity: view::ActivityBook,
    /// The container whose view is open (by name: it survives a new list).
    viewing: Option<String>,
}

impl ContainersPane {
    /// A new list from the session (kept in [`Shared`]): the cursor stays inside it, and
    /// the view of a container that is gone closes.
    pub fn list_changed(&mut self, rows: &[ContainerRow]) {
        self.row = self.row.min(rows.len().saturating_sub(1));
        self.unavailable = None;
        if let Some(name) = &self.viewing {
            if !rows.iter().any(|row| &row.name == name) {
                self.viewing = None;
            }
        }
    }

    /// The engine could not be asked for its containers.
    pub fn set_unavailable(&mut self, why: String) {
        self.unavailable = Some(why);
    }

    /// Every exchange counts towards readiness, whichever view is shown.
    pub fn note_exchange(&mut self, record: &Arc<ExchangeRecord>) {
        self.readiness.note(record);
        self.activity.note(record);
    }

    /// The container whose view is open, while it is still listed.
    fn viewed<'a>(&self, shared: &'a Shared) -> Option<&'a ContainerRow> {
        let name = self.viewing.as_ref()?;
        shared
            .containers
            .as_ref()?
            .iter()
            .find(|row| &row.name == name)
    }

    fn update_readiness(&mut self, action: Action) {
        match action {
            Action::Up => self.readiness.up(),
            Action::Down => self.readiness.down(),
            Action::ToggleReadiness | Action::Back => self.showing_readiness = false,
            _ => {}
        }
    }

    /// The container keys act on: the one whose view is open, else the one under the
    /// cursor.
    fn selected<'a>(&self, shared: &'a Shared) -> Option<&'a ContainerRow> {
        self.viewed(shared)
            .or_else(|| shared.containers.as_ref()?.get(self.row))
    }

    fn update_picker(&mut self, action: Action, shared: &mut Shared) {
        let Some(picker) = self.picker.as_mut() else {
            return;
        };
        picker.clamp(&shared.config());
        match action {
            Action::Up => picker.up(),
            Action::Down => picker.down(&shared.config()),
            // A refused choice keeps the picker open; the footer says why.
            Action::Activate if picker.choose(shared) => self.picker = None,
            Action::Back => self.picker = None,
            _ => {}
        }
    }
}

impl Pane for ContainersPane {
    fn draw(&self, frame: &mut Frame, area: Rect, shared: &Shared) {
        if self.showing_readiness {
            self.readiness.draw(frame, area);
            return;
        }
        if let Some(container) = self.viewed(shared) {
            view::draw(
                frame,
                area,
                shared,
                container,
                self.activity.get(&container.name),
            );
            if let Some(picker) = &self.picker {
                picker.draw(frame, area, &shared.config());
            }
            return;
        }
        let block = Block::bordered()
            .title(Span::styled(
                " Containers ",
                Style::new().add_modifier(Modifier::BOLD),
            ))
            .border_style(theme::border(true));
        let containers = match &shared.containers {
            Some(containers) if !containers.is_empty() => containers,
            other => {
                let network = shared.config().network.name.clone();
                let text = match (shared.part(Part::Network), other, &self.unavailable) {
                    (PartState::Unavailable(reason), _, _) => {
                        format!("Docker is not available: {reason}")
                    }
                    (_, None, Some(why)) => {
                        format!("The engine could not be asked for its containers: {why}\n\nr asks again.")
                    }
                    (_, None, None) => "Asking Docker for containers… (r asks again)".to_string(),
                    _ => format!(
                        "No containers. Start one with --network {network}, or start it and attach it here (a)."
                    ),
                };
                frame.render_widget(
                    Paragraph::new(text)
                        .style(dim())
                        .wrap(Wrap { trim: true })
                        .block(block),
                    area,
                );
                return;
            }
        };
        let config = shared.config();
        let rows_available = usize::from(area.height.saturating_sub(3));
        let selected = self.row.min(containers.len() - 1);
        let rows: Vec<Row> = window(selected, containers.len(), rows_available)
            .map(|index| {
                let container = &containers[index];
                let (network, network_style) = match container.ip_on_network {
                    Some(ip) => (ip.to_string(), Style::new().fg(Color::Green)),
                    None => ("-".to_string(), dim()),
                };
                let state = if container.running {
                    "running"
                } else {
                    "stopped"
                };
                // The selection is marked while the picker does not have the keys.
                let (marker, style) = cursor(index == selected, self.picker.is_none());
                let row = Row::new(vec![
                    Line::from(format!("{marker}{}", container.name)),
                    Line::from(container.image.clone()),
                    Line::from(state),
                    Line::from(Span::styled(network, network_style)),
                    {
                        let facts = container.facts();
                        let (identity, origin) = config.identity_for(&facts);
                        let shown = identity_with_origin(identity, origin);
                        match config.passed_over(&facts) {
                            // Said on the row: the label or rule is not what answers.
                            Some((from, name)) => Line::from(vec![
                                Span::raw(shown),
                                Span::styled(
                                    format!(" ⚠ {} {name:?} unknown", from.as_str()),
                                    theme::bad(),
                                ),
                            ]),
                            None => Line::from(shown),
                        }
                    },
                ]);
                row.style(style)
            })
            .collect();
        let table = Table::new(
            rows,
            [
                Constraint::Fill(2),
                Constraint::Fill(2),
                Constraint::Length(7),
                Constraint::Length(15),
                Constraint::Length(if area.width >= 120 { 28 } else { 18 }),
            ],
        )
        .header(
            Row::new(vec![
                "name",
                "image",
                "state",
                "on our network",
                "identity (origin)",
            ])
            .style(theme::header()),
        )
        .block(block);
        frame.render_widget(table, area);
        if let Some(picker) = &self.picker {
            picker.draw(frame, area, &config);
        }
    }

    fn update(&mut self, action: Action, shared: &mut Shared) {
        if self.picker.is_some() {
            self.update_picker(action, shared);
            return;
        }
        if self.showing_readiness {
            self.update_readiness(action);
            return;
        }
        if self.viewing.is_some() && matches!(action, Action::Back | Action::ToggleDetail) {
            self.viewing = None;
            return;
        }
        let count = shared.containers.as_ref().map_or(0, Vec::len);
        match action {
            Action::ToggleDetail => match self.selected(shared).map(|c| c.name.clone()) {
                Some(name) => self.viewing = Some(name),
                None => shared.complain("no container selected"),
            },
            Action::Up if self.viewing.is_some() => {}
            Action::Down if self.viewing.is_some() => {}
            Action::Up => self.row = self.row.saturating_sub(1),
            Action::Down => self.row = (self.row + 1).min(count.saturating_sub(1)),
            Action::Refresh => shared.effects.push(Effect::RefreshContainers),
            Action::ToggleReadiness => self.showing_readiness = true,
            Action::PickIdentity => match self.selected(shared).map(ContainerRow::facts) {
                Some(facts) => {
                    self.picker = Some(Picker::new(facts, &shared.config()));
                }
                None => shared.complain("no container selected to choose an identity for"),
            },
            Action::Activate => {
                let Some(container) = self.selected(shared).cloned() else {
                    return;
                };
                let (id, name) = (container.id.clone(), container.name.clone());
                if container.ip_on_network.is_some() && container.running {
                    shared.confirm = Some(Confirm::DetachContainer { id, name });
                } else if container.ip_on_network.is_some() {
                    shared.inform(format!("detaching {name}…"));
                    shared.effects.push(Effect::Detach { id, name });
                } else {
                    shared.inform(format!("attaching {name}…"));
                    shared.effects.push(Effect::Attach { id, name });
                }
            }
            _ => {}
        }
    }

    fn click(&mut self, _x: u16, y: u16, area: Rect, shared: &mut Shared) -> Clicked {
        if self.picker.is_some() || self.showing_readiness {
            return Clicked::Nothing;
        }
        let count = shared.containers.as_ref().map_or(0, Vec::len);
        let rows_available = usize::from(area.height.saturating_sub(3));
        let offset = window(self.row, count, rows_available).start;
        if y >= area.bottom().saturating_sub(1) {
            return Clicked::Nothing;
        }
        match row_at(y, area.y + 2, offset, count) {
            Some(index) => select(&mut self.row, index),
            None => Clicked::Nothing,
        }
    }

    fn hint_applies(&self, action: Action, shared: &Shared) -> bool {
        match action {
            Action::Activate | Action::PickIdentity => self.selected(shared).is_some(),
            _ => true,
        }
    }

    fn contexts(&self) -> Vec<Context> {
        if self.picker.is_some() {
            vec![Context::IdentityPicker]
        } else if self.showing_readiness {
            vec![Context::Readiness]
        } else if self.viewing.is_some() {
            vec![Context::ContainerView]
        } else {
            vec![Context::Containers]
        }
    }
}
