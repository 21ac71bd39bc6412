//! Settings: the instance's metadata options and the injected faults that stand for
//! latency, error rate and throttling (`[[fault]]` entries for every path).

use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use crate::config::{Config, DisabledBehaviour, Fault, FaultKind, ImdsSettings, TokenMode};

use super::super::action::Action;
use super::super::edits;
use super::super::form::{Input, InputTarget, SettingRow};
use super::super::state::App;
use super::super::ui::{dim, selected_style};
use super::status::fault_name;

const ERROR_STATUSES: [u16; 4] = [500, 502, 503, 504];

/// Faults the settings rows stand for: for every path, identified by kind.
fn managed(faults: &[Fault], row: SettingRow) -> Option<usize> {
    faults.iter().position(|fault| {
        let everywhere = fault.path_prefix.is_empty() || fault.path_prefix == "/";
        everywhere
            && match (row, &fault.kind) {
                (SettingRow::Latency, FaultKind::Latency { .. }) => true,
                (SettingRow::ErrorRate | SettingRow::ErrorStatus, FaultKind::Status { status }) => {
                    *status != 429
                }
                (SettingRow::Throttling, FaultKind::Status { status }) => *status == 429,
                _ => false,
            }
    })
}

fn percent(probability: f64) -> u32 {
    (probability * 100.0).round().clamp(0.0, 100.0) as u32
}

/// The row's value as a number (for + and -), when it has one.
fn number(app: &App, config: &Config, row: SettingRow) -> Option<u64> {
    let fault = managed(&config.faults, row).map(|index| &config.faults[index]);
    Some(match row {
        SettingRow::HopLimit => u64::from(config.imds.hop_limit),
        SettingRow::MaxTokenTtl => u64::from(config.imds.max_token_ttl),
        SettingRow::Latency => match fault.map(|f| &f.kind) {
            Some(FaultKind::Latency { ms }) => *ms,
            _ => 0,
        },
        SettingRow::ErrorRate | SettingRow::Throttling => {
            fault.map_or(0, |f| u64::from(percent(f.probability)))
        }
        SettingRow::ErrorStatus => match fault.map(|f| &f.kind) {
            Some(FaultKind::Status { status }) => u64::from(*status),
            _ => u64::from(app.error_status),
        },
        _ => return None,
    })
}

fn value(app: &App, config: &Config, row: SettingRow) -> (String, Style) {
    let on = Style::new().fg(Color::Green);
    let warn = Style::new().fg(Color::Yellow);
    let imds = &config.imds;
    match row {
        SettingRow::Enabled if imds.enabled => ("on".into(), on),
        SettingRow::Enabled => (
            "off (the service does not answer)".into(),
            Style::new().fg(Color::Red),
        ),
        SettingRow::DisabledBehaviour => match imds.disabled_behaviour {
            DisabledBehaviour::NoAnswer => ("no answer (callers time out)".into(), Style::new()),
            DisabledBehaviour::Forbidden => ("403 Forbidden".into(), Style::new()),
        },
        SettingRow::Tokens => match imds.tokens {
            TokenMode::Optional => ("optional (IMDSv1 and IMDSv2)".into(), Style::new()),
            TokenMode::Required => ("required (IMDSv2 only)".into(), warn),
        },
        SettingRow::HopLimit if imds.hop_limit < 2 => (
            format!(
                "{} (token answers never reach bridged containers)",
                imds.hop_limit
            ),
            warn,
        ),
        SettingRow::TagsInMetadata if imds.tags_in_metadata => ("on".into(), on),
        SettingRow::TagsInMetadata => ("off".into(), Style::new()),
        SettingRow::Latency | SettingRow::ErrorRate | SettingRow::Throttling => {
            match number(app, config, row).unwrap_or(0) {
                0 => ("off".into(), dim()),
                n if row == SettingRow::Latency => (format!("{n} ms on every answer"), warn),
                n => (format!("{n}% of requests"), warn),
            }
        }
        _ => (
            number(app, config, row).unwrap_or(0).to_string(),
            Style::new(),
        ),
    }
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let config = app.config();
    let mut lines = Vec::new();
    let saved = app.store.path().map_or_else(
        || "Not saved: this configuration has no file.".to_string(),
        |path| format!("Saved to {}", path.display()),
    );
    for (index, row) in SettingRow::ALL.iter().enumerate() {
        let (text, style) = value(app, &config, *row);
        let mut line = Line::from(vec![
            Span::styled(format!("{:<23}", row.label()), dim()),
            Span::styled(text, style),
        ]);
        if index == app.setting_row {
            line = line.style(selected_style());
        }
        lines.push(line);
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
            .any(|row| managed(&config.faults, *row) == Some(*index))
        })
        .map(|(_, fault)| {
            format!(
                "{} on {} ({}%)",
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
    lines.push(Line::default());
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
                .border_style(Style::new().fg(Color::Cyan)),
        ),
        area,
    );
}

pub fn update(app: &mut App, action: Action) {
    let row = SettingRow::ALL[app.setting_row.min(SettingRow::ALL.len() - 1)];
    match action {
        Action::Up => app.setting_row = app.setting_row.saturating_sub(1),
        Action::Down => app.setting_row = (app.setting_row + 1).min(SettingRow::ALL.len() - 1),
        Action::Top => app.setting_row = 0,
        Action::Bottom => app.setting_row = SettingRow::ALL.len() - 1,
        Action::Activate if row.is_numeric() => {
            let config = app.config();
            let current = number(app, &config, row).unwrap_or(0).to_string();
            app.input = Some(Input::new(InputTarget::Setting(row), row.label(), current));
        }
        Action::Activate => toggle(app, row),
        Action::Increase => step(app, row, 1),
        Action::Decrease => step(app, row, -1),
        _ => {}
    }
}

fn save_imds(app: &mut App, change: impl FnOnce(&mut ImdsSettings)) -> Result<(), String> {
    let old = app.config().imds.clone();
    let mut new = old.clone();
    change(&mut new);
    edits::save(&app.store, |doc| {
        edits::sync_section(doc, "imds", &old, &new)
    })?;
    Ok(())
}

fn toggle(app: &mut App, row: SettingRow) {
    let result = save_imds(app, |imds| match row {
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
    report(app, row, result);
}

fn report(app: &mut App, row: SettingRow, result: Result<(), String>) {
    match result {
        Ok(()) => {
            let config = app.config();
            let (text, _) = value(app, &config, row);
            app.inform(format!(
                "{}: {text} (from the next request on)",
                row.label()
            ));
        }
        Err(err) => app.complain(err),
    }
}

fn step(app: &mut App, row: SettingRow, direction: i64) {
    let config = app.config();
    let Some(current) = number(app, &config, row) else {
        toggle(app, row);
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
    let result = set_number(app, row, next);
    report(app, row, result);
}

/// Enter in a setting's input.
pub fn submit(app: &mut App, row: SettingRow, text: &str) -> Result<(), String> {
    let value: u64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{}: {text:?} is not a whole number", row.label()))?;
    set_number(app, row, value)?;
    report(app, row, Ok(()));
    Ok(())
}

fn set_number(app: &mut App, row: SettingRow, value: u64) -> Result<(), String> {
    match row {
        SettingRow::HopLimit => {
            let hops = u8::try_from(value).ok().filter(|v| (1..=64).contains(v));
            let hops = hops.ok_or("hop limit: from 1 to 64")?;
            save_imds(app, |imds| imds.hop_limit = hops)
        }
        SettingRow::MaxTokenTtl => {
            let ttl = u32::try_from(value)
                .ok()
                .filter(|v| (1..=21_600).contains(v));
            let ttl = ttl.ok_or("max token TTL: from 1 to 21600 seconds")?;
            save_imds(app, |imds| imds.max_token_ttl = ttl)
        }
        SettingRow::Latency => set_fault(
            app,
            row,
            (value > 0).then_some(FaultKind::Latency { ms: value }),
            1.0,
        ),
        SettingRow::ErrorRate | SettingRow::Throttling => {
            if value > 100 {
                return Err(format!("{}: a percentage from 0 to 100", row.label()));
            }
            let status = match row {
                SettingRow::Throttling => 429,
                _ => current_error_status(app),
            };
            let kind = (value > 0).then_some(FaultKind::Status { status });
            set_fault(app, row, kind, value as f64 / 100.0)
        }
        SettingRow::ErrorStatus => {
            let status = u16::try_from(value)
                .ok()
                .filter(|s| (400..=599).contains(s) && *s != 429)
                .ok_or("error status: 400 to 599 (429 is the throttling row)")?;
            app.error_status = status;
            let config = app.config();
            match managed(&config.faults, row) {
                Some(index) => {
                    let probability = config.faults[index].probability;
                    set_fault(app, row, Some(FaultKind::Status { status }), probability)
                }
                None => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

fn current_error_status(app: &App) -> u16 {
    let config = app.config();
    match managed(&config.faults, SettingRow::ErrorRate).map(|index| &config.faults[index].kind) {
        Some(FaultKind::Status { status }) => *status,
        _ => app.error_status,
    }
}

/// Puts the row's fault in force (None removes it), keeping every other fault.
fn set_fault(
    app: &mut App,
    row: SettingRow,
    kind: Option<FaultKind>,
    probability: f64,
) -> Result<(), String> {
    let config = app.config();
    let old = config.faults.clone();
    let mut new = old.clone();
    let index = managed(&old, row);
    match (index, kind) {
        (Some(index), Some(kind)) => {
            new[index].kind = kind;
            new[index].probability = probability;
        }
        (Some(index), None) => {
            new.remove(index);
        }
        (None, Some(kind)) => new.push(Fault {
            path_prefix: String::new(),
            probability,
            kind,
        }),
        (None, None) => return Ok(()),
    }
    edits::save(&app.store, |doc| edits::sync_faults(doc, &old, &new))?;
    Ok(())
}
