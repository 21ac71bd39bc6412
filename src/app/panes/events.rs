//! Instance events on the active identity: spot interruption, rebalance
//! recommendation, scheduled maintenance, Auto Scaling target lifecycle state.

use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;
use time::macros::format_description;
use time::OffsetDateTime;

use crate::config::{Events, Identity, MaintenanceEvent};
use crate::imds::ids;
use crate::imds::time::format_timestamp;

use crate::app::action::Action;
use crate::app::edits;
use crate::app::keymap::Context;
use crate::app::shared::Shared;
use crate::app::theme::{self, dim};
use crate::app::widgets::cursor;

use super::{row_at, select, Clicked, Pane};

/// The events pane's own state: the row under the cursor.
#[derive(Debug, Default)]
pub struct EventsPane {
    row: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventRow {
    Spot,
    Rebalance,
    Maintenance,
    Lifecycle,
}

pub const ROWS: [EventRow; 4] = [
    EventRow::Spot,
    EventRow::Rebalance,
    EventRow::Maintenance,
    EventRow::Lifecycle,
];

const SPOT_ACTIONS: [&str; 3] = ["terminate", "stop", "hibernate"];
/// EC2 gives a spot instance two minutes' notice.
const SPOT_NOTICE: time::Duration = time::Duration::minutes(2);
/// Target lifecycle states Auto Scaling reports, in the order Enter cycles them.
const LIFECYCLE_STATES: [&str; 8] = [
    "InService",
    "Standby",
    "Detached",
    "Terminated",
    "Warmed:Stopped",
    "Warmed:Running",
    "Warmed:Hibernated",
    "Warmed:Terminated",
];

impl EventRow {
    fn label(self) -> &'static str {
        match self {
            EventRow::Spot => "spot interruption",
            EventRow::Rebalance => "rebalance recommendation",
            EventRow::Maintenance => "scheduled maintenance",
            EventRow::Lifecycle => "ASG lifecycle state",
        }
    }

    fn path(self) -> &'static str {
        match self {
            EventRow::Spot => "meta-data/spot/instance-action",
            EventRow::Rebalance => "meta-data/events/recommendations/rebalance",
            EventRow::Maintenance => "meta-data/events/maintenance/scheduled",
            EventRow::Lifecycle => "meta-data/autoscaling/target-lifecycle-state",
        }
    }
}

fn state(events: &Events, row: EventRow) -> Option<String> {
    match row {
        EventRow::Spot => events
            .spot_action
            .as_ref()
            .map(|action| format!("{action} at {}", events.spot_time.as_deref().unwrap_or("?"))),
        EventRow::Rebalance => events
            .rebalance_notice_time
            .as_ref()
            .map(|at| format!("noticed at {at}")),
        EventRow::Maintenance => (!events.maintenance.is_empty()).then(|| {
            let first = &events.maintenance[0];
            format!(
                "{} scheduled ({} from {})",
                events.maintenance.len(),
                first.code,
                first.not_before
            )
        }),
        EventRow::Lifecycle => events.lifecycle_state.clone(),
    }
}

fn draw_events(row_index: usize, frame: &mut Frame, area: Rect, shared: &Shared) {
    let config = shared.config();
    let Some(identity) = config.active() else {
        frame.render_widget(
            Paragraph::new("No active identity.").block(Block::bordered()),
            area,
        );
        return;
    };
    let mut lines = Vec::new();
    for (index, row) in ROWS.iter().enumerate() {
        let (text, style) = match state(&identity.events, *row) {
            Some(text) => (
                text,
                Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            ),
            None => ("none (404)".to_string(), dim()),
        };
        let (marker, selection) = cursor(index == row_index, true);
        lines.push(
            Line::from(vec![
                Span::raw(marker),
                Span::styled(format!("{:<26}", row.label()), dim()),
                Span::styled(text, style),
            ])
            .style(selection),
        );
    }
    let row = ROWS[row_index.min(ROWS.len() - 1)];
    lines.push(Line::default());
    lines.push(Line::from(Span::styled(
        format!("served at /latest/{}", row.path()),
        dim(),
    )));
    lines.push(Line::from(Span::styled(
        "Enter triggers (again: next action or state); d clears. Applies to the next request.",
        dim(),
    )));
    let title = Line::from(vec![
        Span::styled(" Events ", Style::new().add_modifier(Modifier::BOLD)),
        Span::raw(format!("of {} ({}) ", identity.name, identity.instance_id)),
    ]);
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::bordered()
                .title(title)
                .border_style(theme::border(true)),
        ),
        area,
    );
}

impl Pane for EventsPane {
    fn draw(&self, frame: &mut Frame, area: Rect, shared: &Shared) {
        draw_events(self.row, frame, area, shared);
    }

    fn click(&mut self, _x: u16, y: u16, area: Rect, _shared: &mut Shared) -> Clicked {
        match row_at(y, area.y + 1, 0, ROWS.len()) {
            Some(index) => select(&mut self.row, index),
            None => Clicked::Nothing,
        }
    }

    fn update(&mut self, action: Action, shared: &mut Shared) {
        let row = ROWS[self.row.min(ROWS.len() - 1)];
        match action {
            Action::Up => self.row = self.row.saturating_sub(1),
            Action::Down => self.row = (self.row + 1).min(ROWS.len() - 1),
            Action::Activate => change(shared, row, true),
            Action::ClearEvent => change(shared, row, false),
            _ => {}
        }
    }

    fn contexts(&self) -> Vec<Context> {
        vec![Context::Events]
    }
}

/// Triggers (or advances) or clears one event on the active identity and saves it.
fn change(shared: &mut Shared, row: EventRow, trigger: bool) {
    let config = shared.config();
    let Some(old) = config.active().cloned() else {
        shared.complain("no active identity");
        return;
    };
    let mut new = old.clone();
    let events = &mut new.events;
    if trigger {
        apply_trigger(events, row, shared.now);
    } else {
        clear(events, row);
    }
    if new == old {
        shared.inform(format!("{}: nothing to clear", row.label()));
        return;
    }
    match save(shared, &old, &new) {
        Ok(()) => {
            let text = state(&new.events, row).unwrap_or_else(|| "cleared".to_string());
            shared.inform(format!("{}: {text}", row.label()));
        }
        Err(err) => shared.complain(err),
    }
}

fn save(shared: &Shared, old: &Identity, new: &Identity) -> Result<(), String> {
    crate::config::validate_identity(new)?;
    edits::save(&shared.store, |doc| edits::sync_identity(doc, old, new))?;
    Ok(())
}

fn apply_trigger(events: &mut Events, row: EventRow, now: OffsetDateTime) {
    match row {
        EventRow::Spot => {
            let next = match events.spot_action.as_deref() {
                None => SPOT_ACTIONS[0],
                Some(current) => {
                    let index = SPOT_ACTIONS.iter().position(|a| *a == current).unwrap_or(0);
                    SPOT_ACTIONS[(index + 1) % SPOT_ACTIONS.len()]
                }
            };
            events.spot_action = Some(next.to_string());
            if events.spot_time.is_none() {
                events.spot_time = Some(format_timestamp(now + SPOT_NOTICE));
            }
        }
        EventRow::Rebalance => events.rebalance_notice_time = Some(format_timestamp(now)),
        EventRow::Maintenance => events.maintenance.push(maintenance_event(now)),
        EventRow::Lifecycle => {
            let next = match events.lifecycle_state.as_deref() {
                None => LIFECYCLE_STATES[0],
                Some(current) => {
                    let index = LIFECYCLE_STATES.iter().position(|s| *s == current);
                    index.map_or(LIFECYCLE_STATES[0], |i| {
                        LIFECYCLE_STATES[(i + 1) % LIFECYCLE_STATES.len()]
                    })
                }
            };
            events.lifecycle_state = Some(next.to_string());
        }
    }
}

fn clear(events: &mut Events, row: EventRow) {
    match row {
        EventRow::Spot => {
            events.spot_action = None;
            events.spot_time = None;
        }
        EventRow::Rebalance => events.rebalance_notice_time = None,
        EventRow::Maintenance => events.maintenance.clear(),
        EventRow::Lifecycle => events.lifecycle_state = None,
    }
}

/// A system reboot a day from now, in the time format EC2 uses for scheduled events.
fn maintenance_event(now: OffsetDateTime) -> MaintenanceEvent {
    let format =
        format_description!("[day] [month repr:short] [year] [hour]:[minute]:[second] GMT");
    let at = |offset: time::Duration| {
        (now + offset)
            .to_offset(time::UtcOffset::UTC)
            .format(format)
            .unwrap_or_default()
    };
    MaintenanceEvent {
        code: "system-reboot".to_string(),
        description: "scheduled reboot".to_string(),
        event_id: ids::instance_event_id(),
        not_before: at(time::Duration::days(1)),
        not_after: at(time::Duration::days(1) + time::Duration::hours(2)),
        not_before_deadline: None,
        state: "active".to_string(),
    }
}
