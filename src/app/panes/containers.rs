//! Containers on this Docker engine: which are on our network, attach or detach one.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

use crate::app::action::{Action, ContainerRow, Effect, Part, PartState};
use crate::app::keymap::Context;
use crate::app::shared::Shared;
use crate::app::theme::{self, dim};
use crate::app::widgets::window;

use super::Pane;

/// The containers pane's own state: the engine's containers as last listed, the cursor.
#[derive(Debug, Default)]
pub struct ContainersPane {
    /// None until the session first lists them.
    rows: Option<Vec<ContainerRow>>,
    row: usize,
}

impl ContainersPane {
    /// A new list from the session; the cursor stays inside it.
    pub fn set_rows(&mut self, rows: Vec<ContainerRow>) {
        self.row = self.row.min(rows.len().saturating_sub(1));
        self.rows = Some(rows);
    }
}

impl Pane for ContainersPane {
    fn draw(&self, frame: &mut Frame, area: Rect, shared: &Shared) {
        let block = Block::bordered()
            .title(Span::styled(
                " Containers ",
                Style::new().add_modifier(Modifier::BOLD),
            ))
            .border_style(theme::border(true));
        let containers = match &self.rows {
            Some(containers) if !containers.is_empty() => containers,
            other => {
                let text = match (shared.part(Part::Network), other) {
                (PartState::Unavailable(reason), _) => format!("Docker is not available: {reason}"),
                (_, None) => "Asking Docker for containers… (r refreshes)".to_string(),
                _ => "No containers. Start one with --network imds-spoof, or start it and attach it here."
                    .to_string(),
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
        let rows_available = usize::from(area.height.saturating_sub(3));
        let selected = self.row.min(containers.len() - 1);
        let rows: Vec<Row> = window(selected, containers.len(), rows_available)
            .map(|index| {
                let container = &containers[index];
                let (network, style) = match container.ip_on_network {
                    Some(ip) => (format!("attached {ip}"), Style::new().fg(Color::Green)),
                    None => ("-".to_string(), dim()),
                };
                let state = if container.running {
                    "running"
                } else {
                    "stopped"
                };
                let row = Row::new(vec![
                    Line::from(container.name.clone()),
                    Line::from(container.image.clone()),
                    Line::from(state),
                    Line::from(Span::styled(network, style)),
                    Line::from(
                        container
                            .identity_label
                            .clone()
                            .unwrap_or_else(|| "-".into()),
                    ),
                ]);
                if index == selected {
                    row.style(theme::selected_style())
                } else {
                    row
                }
            })
            .collect();
        let table = Table::new(
            rows,
            [
                Constraint::Fill(2),
                Constraint::Fill(2),
                Constraint::Length(7),
                Constraint::Length(24),
                Constraint::Fill(1),
            ],
        )
        .header(
            Row::new(vec![
                "name",
                "image",
                "state",
                "our network",
                "identity label",
            ])
            .style(theme::header()),
        )
        .block(block);
        frame.render_widget(table, area);
    }

    fn update(&mut self, action: Action, shared: &mut Shared) {
        let count = self.rows.as_ref().map_or(0, Vec::len);
        match action {
            Action::Up => self.row = self.row.saturating_sub(1),
            Action::Down => self.row = (self.row + 1).min(count.saturating_sub(1)),
            Action::RefreshContainers => shared.effects.push(Effect::RefreshContainers),
            Action::Activate => {
                let Some(container) = self
                    .rows
                    .as_ref()
                    .and_then(|containers| containers.get(self.row))
                    .cloned()
                else {
                    return;
                };
                let (id, name) = (container.id.clone(), container.name.clone());
                if container.ip_on_network.is_some() {
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

    fn contexts(&self) -> Vec<Context> {
        vec![Context::Containers]
    }
}
