//! Containers on this Docker engine: which are on our network, attach or detach one.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

use super::super::action::{Action, Effect, Part, PartState};
use super::super::state::App;
use super::super::ui::{dim, selected_style, window};

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let block = Block::bordered()
        .title(Span::styled(
            " Containers ",
            Style::new().add_modifier(Modifier::BOLD),
        ))
        .border_style(Style::new().fg(Color::Cyan));
    let containers = match &app.containers {
        Some(containers) if !containers.is_empty() => containers,
        other => {
            let text = match (app.part(Part::Network), other) {
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
    let selected = app.container_row.min(containers.len() - 1);
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
                row.style(selected_style())
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
        .style(Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)),
    )
    .block(block);
    frame.render_widget(table, area);
}

pub fn update(app: &mut App, action: Action) {
    let count = app.containers.as_ref().map_or(0, Vec::len);
    match action {
        Action::Up => app.container_row = app.container_row.saturating_sub(1),
        Action::Down => app.container_row = (app.container_row + 1).min(count.saturating_sub(1)),
        Action::RefreshContainers => app.effects.push(Effect::RefreshContainers),
        Action::Activate => {
            let Some(container) = app
                .containers
                .as_ref()
                .and_then(|containers| containers.get(app.container_row))
                .cloned()
            else {
                return;
            };
            let (id, name) = (container.id.clone(), container.name.clone());
            if container.ip_on_network.is_some() {
                app.inform(format!("detaching {name}…"));
                app.effects.push(Effect::Detach { id, name });
            } else {
                app.inform(format!("attaching {name}…"));
                app.effects.push(Effect::Attach { id, name });
            }
        }
        _ => {}
    }
}
