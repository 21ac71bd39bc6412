//! Settings: the instance's metadata options, the ECS and EKS doors, and the injected
//! faults that stand for latency, error rate and throttling (`[[fault]]` entries for every
//! path, of every door or of the one chosen in the "faults below act on" row).

mod values;

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use crate::app::action::Action;
use crate::app::form::{Input, InputTarget, SettingRow};
use crate::app::format::{fault_name, percent};
use crate::app::keymap::Context;
use crate::app::shared::Shared;
use crate::app::theme::{self, dim};
use crate::app::widgets::cursor;
use crate::config::{DisabledBehaviour, Door, FaultKind, TokenMode};

use super::{row_at, select, Clicked, Pane, Submitted};
use values::{door_choice, managed, number, save_doors, save_imds, set_fault, value, FaultTarget};

/// The settings pane's own state.
#[derive(Debug)]
pub struct SettingsPane {
    row: usize,
    /// Status used when the error rate is switched on.
    error_status: u16,
    /// The door the fault rows act on; None: every door.
    fault_door: Option<Door>,
}

impl Default for SettingsPane {
    fn default() -> SettingsPane {
        SettingsPane {
            row: 0,
            error_status: 500,
            fault_door: None,
        }
    }
}

const ERROR_STATUSES: [u16; 4] = [500, 502, 503, 504];

impl SettingsPane {
    fn target(&self) -> FaultTarget {
        FaultTarget {
            error_status: self.error_status,
            door: self.fault_door,
        }
    }

    fn toggle(&mut self, shared: &mut Shared, row: SettingRow) {
        match row {
            SettingRow::EcsDoor | SettingRow::EksDoor => {
                let result = save_doors(shared, |doors| match row {
                    SettingRow::EcsDoor => doors.ecs = !doors.ecs,
                    _ => doors.eks = !doors.eks,
                });
                return self.report(shared, row, result);
            }
            SettingRow::FaultDoor => {
                // Every door, then each one: the rows below show that door's faults.
                self.fault_door = match self.fault_door {
                    None => Some(Door::Imds),
                    Some(Door::Imds) => Some(Door::Ecs),
                    Some(Door::Ecs) => Some(Door::Eks),
                    Some(Door::Eks) => None,
                };
                shared.inform(format!(
                    "the fault rows now act on {}",
                    door_choice(self.fault_door)
                ));
                return;
            }
            _ => {}
        }
        let result = save_imds(shared, |imds| match row {
            SettingRow::Enabled => imds.enabled = !imds.enabled,
            SettingRow::DisabledBehaviour => {
                imds.disabled_behaviour = match imds.disabled_behaviour {
                    DisabledBehaviour::NoAnswer => DisabledBehaviour::Forbidden,
                    DisabledBehaviour::Forbidden => DisabledBehaviour::NoAnswer,
                }
            }
            SettingRow::Tokens => {
                imds.tokens = match imds.tokens {
                    TokenMode::Optional => TokenMode::Required,
                    TokenMode::Required => TokenMode::Optional,
                }
            }
            SettingRow::TagsInMetadata => imds.tags_in_metadata = !imds.tags_in_metadata,
            _ => {}
        });
        self.report(shared, row, result);
    }

    fn report(&self, shared: &mut Shared, row: SettingRow, result: Result<(), String>) {
        match result {
            Ok(()) => {
                let config = shared.config();
                let (text, _) = value(self.target(), &config, row);
                let when = match row {
                    SettingRow::EcsDoor | SettingRow::EksDoor => "its proxy follows in a moment",
                    _ => "from the next request on",
                };
                shared.inform(format!("{}: {text} ({when})", row.label()));
            }
            Err(err) => shared.complain(err),
        }
    }

    fn step(&mut self, shared: &mut Shared, row: SettingRow, direction: i64) {
        let config = shared.config();
        let Some(current) = number(self.target(), &config, row) else {
            self.toggle(shared, row);
            return;
        };
        let next = match row {
            SettingRow::ErrorStatus => {
                let index = ERROR_STATUSES
                    .iter()
                    .position(|s| u64::from(*s) == current)
                    .unwrap_or(0) as i64;
                let len = ERROR_STATUSES.len() as i64;
                u64::from(ERROR_STATUSES[(index + direction).rem_euclid(len) as usize])
            }
            _ => {
                let size: i64 = match row {
                    SettingRow::HopLimit => 1,
                    SettingRow::MaxTokenTtl => 3_600,
                    SettingRow::Latency => 100,
                    _ => 5,
                };
                (current as i64 + direction * size).max(0) as u64
            }
        };
        let result = self.set_number(shared, row, next);
        self.report(shared, row, result);
    }

    fn set_number(
        &mut self,
        shared: &mut Shared,
        row: SettingRow,
        value: u64,
    ) -> Result<(), String> {
        match row {
            SettingRow::HopLimit => {
                let hops = u8::try_from(value).ok().filter(|v| (1..=64).contains(v));
                let hops = hops.ok_or("hop limit: from 1 to 64")?;
                save_imds(shared, |imds| imds.hop_limit = hops)
            }
            SettingRow::MaxTokenTtl => {
                let ttl = u32::try_from(value)
                    .ok()
                    .filter(|v| (1..=21_600).contains(v));
                let ttl = ttl.ok_or("max token TTL: from 1 to 21600 seconds")?;
                save_imds(shared, |imds| imds.max_token_ttl = ttl)
            }
            SettingRow::Latency => set_fault(
                shared,
                row,
                self.fault_door,
                (value > 0).then_some(FaultKind::Latency { ms: value }),
                1.0,
            ),
            SettingRow::ErrorRate | SettingRow::Throttling => {
                if value > 100 {
                    return Err(format!("{}: a percentage from 0 to 100", row.label()));
                }
                let status = match row {
                    SettingRow::Throttling => 429,
                    _ => self.current_error_status(shared),
                };
                let kind = (value > 0).then_some(FaultKind::Status { status });
                set_fault(shared, row, self.fault_door, kind, value as f64 / 100.0)
            }
            SettingRow::ErrorStatus => {
                let status = u16::try_from(value)
                    .ok()
                    .filter(|s| (400..=599).contains(s) && *s != 429)
                    .ok_or("error status: 400 to 599 (429 is the throttling row)")?;
                self.error_status = status;
                let config = shared.config();
                match managed(&config.faults, row, self.fault_door) {
                    Some(index) => {
                        let probability = config.faults[index].probability;
                        let kind = Some(FaultKind::Status { status });
                        set_fault(shared, row, self.fault_door, kind, probability)
                    }
                    None => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }

    fn current_error_status(&self, shared: &Shared) -> u16 {
        let config = shared.config();
        match managed(&config.faults, SettingRow::ErrorRate, self.fault_door)
            .map(|index| &config.faults[index].kind)
        {
            Some(FaultKind::Status { status }) => *status,
            _ => self.error_status,
        }
    }
}

impl Pane for SettingsPane {
    fn draw(&self, frame: &mut Frame, area: Rect, shared: &Shared) {
        let config = shared.config();
        let mut lines = Vec::new();
        let saved = shared.store.path().map_or_else(
            || "Not saved: this configuration has no file.".to_string(),
            |path| format!("Saved to {}", path.display()),
        );
        for (index, row) in SettingRow::ALL.iter().enumerate() {
            let (text, style) = value(self.target(), &config, *row);
            let (marker, selection) = cursor(index == self.row, true);
            lines.push(
                Line::from(vec![
                    Span::raw(marker),
                    Span::styled(format!("{:<23}", row.label()), dim()),
                    Span::styled(text, style),
                ])
                .style(selection),
            );
        }
        let others: Vec<String> = config
            .faults
            .iter()
            .enumerate()
            .filter(|(index, _)| {
                ![
                    SettingRow::Latency,
                    SettingRow::ErrorRate,
                    SettingRow::Throttling,
                ]
                .iter()
                .any(|row| managed(&config.faults, *row, self.fault_door) == Some(*index))
            })
            .map(|(_, fault)| {
                let door = fault
                    .door
                    .map(|door| format!(" at {}", door.as_str().to_uppercase()))
                    .unwrap_or_default();
                format!(
                    "{} on {}{door} ({}%)",
                    fault_name(&fault.kind),
                    if fault.path_prefix.is_empty() {
                        "every path"
                    } else {
                        &fault.path_prefix
                    },
                    percent(fault.probability)
                )
            })
            .collect();
        // The gap goes first when the pane is short (80x24 holds every row without it).
        let needed = lines.len() + others.len() + usize::from(!others.is_empty()) + 2;
        if needed <= usize::from(area.height.saturating_sub(2)) {
            lines.push(Line::default());
        }
        if !others.is_empty() {
            lines.push(Line::from(Span::styled(
                "Other faults from the file:",
                Style::new().add_modifier(Modifier::BOLD),
            )));
            lines.extend(
                others
                    .into_iter()
                    .map(|text| Line::from(format!("  {text}"))),
            );
        }
        lines.push(Line::from(Span::styled(saved, dim())));
        frame.render_widget(
            Paragraph::new(lines).block(
                Block::bordered()
                    .title(Span::styled(
                        " Settings ",
                        Style::new().add_modifier(Modifier::BOLD),
                    ))
                    .border_style(theme::border(true)),
            ),
            area,
        );
    }

    fn click(&mut self, _x: u16, y: u16, area: Rect, _shared: &mut Shared) -> Clicked {
        match row_at(y, area.y + 1, 0, SettingRow::ALL.len()) {
            Some(index) => select(&mut self.row, index),
            None => Clicked::Nothing,
        }
    }

    fn update(&mut self, action: Action, shared: &mut Shared) {
        let row = SettingRow::ALL[self.row.min(SettingRow::ALL.len() - 1)];
        match action {
            Action::Up => self.row = self.row.saturating_sub(1),
            Action::Down => self.row = (self.row + 1).min(SettingRow::ALL.len() - 1),
            Action::Top => self.row = 0,
            Action::Bottom => self.row = SettingRow::ALL.len() - 1,
            Action::Activate if row.is_numeric() => {
                let config = shared.config();
                let current = number(self.target(), &config, row).unwrap_or(0).to_string();
                shared.input = Some(Input::new(InputTarget::Setting(row), row.label(), current));
            }
            Action::Activate => self.toggle(shared, row),
            Action::Increase => self.step(shared, row, 1),
            Action::Decrease => self.step(shared, row, -1),
            _ => {}
        }
    }

    fn contexts(&self) -> Vec<Context> {
        vec![Context::Settings]
    }

    /// Enter in a setting's input.
    fn typed(&mut self, target: &InputTarget, text: &str, _shared: &Shared) -> Submitted {
        if let InputTarget::Setting(row) = target {
            if !text.trim().is_empty() && text.trim().parse::<u64>().is_err() {
                return Err(format!("{}: {text:?} is not a whole number", row.label()));
            }
        }
        Ok(())
    }

    fn submit(&mut self, target: &InputTarget, text: &str, shared: &mut Shared) -> Submitted {
        let InputTarget::Setting(row) = *target else {
            return Err("not a setting".into());
        };
        let value: u64 = text
            .trim()
            .parse()
            .map_err(|_| format!("{}: {text:?} is not a whole number", row.label()))?;
        self.set_number(shared, row, value)?;
        self.report(shared, row, Ok(()));
        Ok(())
    }
}
