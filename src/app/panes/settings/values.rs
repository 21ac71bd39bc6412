//! What a settings row means in the configuration: its value in words and as a
//! number, the `[[fault]]` it stands for, and saving a change.

use ratatui::style::{Color, Style};

use crate::app::edits;
use crate::app::form::SettingRow;
use crate::app::format::percent;
use crate::app::shared::Shared;
use crate::app::theme::{self, dim};
use crate::config::{Config, DisabledBehaviour, Fault, FaultKind, ImdsSettings, TokenMode};

/// Faults the settings rows stand for: for every path, identified by kind.
pub fn managed(faults: &[Fault], row: SettingRow) -> Option<usize> {
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

/// The row's value as a number (for + and -), when it has one.
pub fn number(error_status: u16, config: &Config, row: SettingRow) -> Option<u64> {
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
            _ => u64::from(error_status),
        },
        _ => return None,
    })
}

pub fn value(error_status: u16, config: &Config, row: SettingRow) -> (String, Style) {
    let on = theme::good();
    let warn = theme::warning();
    let imds = &config.imds;
    match row {
        SettingRow::Enabled if imds.enabled => ("on".into(), on),
        SettingRow::Enabled => (
            match imds.disabled_behaviour {
                DisabledBehaviour::Forbidden => "off (every request answered 403)",
                DisabledBehaviour::NoAnswer => "off (no request is answered)",
            }
            .into(),
            Style::new().fg(Color::Red),
        ),
        SettingRow::DisabledBehaviour => match imds.disabled_behaviour {
            DisabledBehaviour::NoAnswer => ("no answer (callers time out)".into(), Style::new()),
            DisabledBehaviour::Forbidden => ("403 Forbidden (as EC2)".into(), Style::new()),
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
            match number(error_status, config, row).unwrap_or(0) {
                0 => ("off".into(), dim()),
                n if row == SettingRow::Latency => (format!("{n} ms on every answer"), warn),
                // IMDS never answers 429: throttled requests lose their connection.
                n if row == SettingRow::Throttling => {
                    (format!("{n}% of requests dropped (no 429)"), warn)
                }
                n => (format!("{n}% of requests"), warn),
            }
        }
        _ => (
            number(error_status, config, row).unwrap_or(0).to_string(),
            Style::new(),
        ),
    }
}

pub fn save_imds(
    shared: &mut Shared,
    change: impl FnOnce(&mut ImdsSettings),
) -> Result<(), String> {
    let old = shared.config().imds.clone();
    let mut new = old.clone();
    change(&mut new);
    edits::save(&shared.store, |doc| {
        edits::sync_section(doc, "imds", &old, &new)
    })?;
    Ok(())
}

/// Puts the row's fault in force (None removes it), keeping every other fault.
pub fn set_fault(
    shared: &mut Shared,
    row: SettingRow,
    kind: Option<FaultKind>,
    probability: f64,
) -> Result<(), String> {
    let config = shared.config();
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
    edits::save(&shared.store, |doc| edits::sync_faults(doc, &old, &new))?;
    Ok(())
}
