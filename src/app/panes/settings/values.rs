//! What a settings row means in the configuration: its value in words and as a
//! number, the `[[fault]]` it stands for, and saving a change.

use ratatui::style::{Color, Style};

use crate::app::edits;
use crate::app::form::SettingRow;
use crate::app::format::percent;
use crate::app::shared::Shared;
use crate::app::theme::{self, dim};
use crate::config::{
    Config, DisabledBehaviour, Door, DoorSettings, Fault, FaultKind, ImdsSettings, TokenMode,
};

/// What the fault rows act on: the pane's choice of error status and door.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultTarget {
    /// Status used when the error rate is switched on.
    pub error_status: u16,
    /// One door (`door = "…"` in the `[[fault]]`), or None for every door.
    pub door: Option<Door>,
}

/// Faults the settings rows stand for: for every path of the chosen door (or of all),
/// identified by kind.
pub fn managed(faults: &[Fault], row: SettingRow, door: Option<Door>) -> Option<usize> {
    faults.iter().position(|fault| {
        let everywhere = fault.path_prefix.is_empty() || fault.path_prefix == "/";
        everywhere
            && fault.door == door
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
pub fn number(target: FaultTarget, config: &Config, row: SettingRow) -> Option<u64> {
    let error_status = target.error_status;
    let fault = managed(&config.faults, row, target.door).map(|index| &config.faults[index]);
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

/// "every door", "ECS only".
pub fn door_choice(door: Option<Door>) -> String {
    match door {
        None => "every door (IMDS, ECS, EKS)".to_string(),
        Some(door) => format!("{} only", door.as_str().to_uppercase()),
    }
}

pub fn value(target: FaultTarget, config: &Config, row: SettingRow) -> (String, Style) {
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
        SettingRow::EcsDoor | SettingRow::EksDoor => {
            let (on_now, at) = match row {
                SettingRow::EcsDoor => (config.doors.ecs, "http://169.254.170.2"),
                _ => (config.doors.eks, "http://169.254.170.23"),
            };
            if on_now {
                (format!("on at {at}"), on)
            } else {
                ("off (no container at its address)".into(), dim())
            }
        }
        SettingRow::FaultDoor => (door_choice(target.door), Style::new()),
        SettingRow::Latency | SettingRow::ErrorRate | SettingRow::Throttling => {
            match number(target, config, row).unwrap_or(0) {
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
            number(target, config, row).unwrap_or(0).to_string(),
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

/// Switches the doors (`[doors]`); the run starts or removes their proxy containers.
pub fn save_doors(
    shared: &mut Shared,
    change: impl FnOnce(&mut DoorSettings),
) -> Result<(), String> {
    let old = shared.config().doors.clone();
    let mut new = old.clone();
    change(&mut new);
    edits::save(&shared.store, |doc| {
        edits::sync_section(doc, "doors", &old, &new)
    })?;
    Ok(())
}

/// Puts the row's fault in force (None removes it) for the chosen door, keeping every
/// other fault.
pub fn set_fault(
    shared: &mut Shared,
    row: SettingRow,
    door: Option<Door>,
    kind: Option<FaultKind>,
    probability: f64,
) -> Result<(), String> {
    let config = shared.config();
    let old = config.faults.clone();
    let mut new = old.clone();
    let index = managed(&old, row, door);
    match (index, kind) {
        (Some(index), Some(kind)) => {
            new[index].kind = kind;
            new[index].probability = probability;
        }
        (Some(index), None) => {
            new.remove(index);
        }
        (None, Some(kind)) => new.push(Fault {
            door,
            path_prefix: String::new(),
            probability,
            kind,
        }),
        (None, None) => return Ok(()),
    }
    edits::save(&shared.store, |doc| edits::sync_faults(doc, &old, &new))?;
    Ok(())
}
