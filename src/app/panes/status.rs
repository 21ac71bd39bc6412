//! The status bar: each part's state (the proxy's with every door's address), the
//! identity answering, the IMDS mode and which doors are on.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{LineGauge, Paragraph};
use ratatui::Frame;

use crate::config::Config;

use crate::app::action::{Part, PartState};
use crate::app::format::{cut_end, cut_middle, fault_name, megabytes};
use crate::app::shared::Shared;
use crate::app::theme::{self, dim};

/// Columns of a part's row before its detail: name, symbol and word.
const DETAIL_COLUMN: usize = 9 + 14;

pub fn draw(frame: &mut Frame, area: Rect, shared: &Shared) {
    let rows = Layout::vertical([Constraint::Length(1); 4]).split(area);
    let room = usize::from(area.width).saturating_sub(DETAIL_COLUMN);
    // A failure too long for its row goes on in the row below the parts (the fix is at
    // its end), unless the configuration's own error needs that row.
    let overflowing = Part::ALL.into_iter().find(|part| {
        matches!(shared.part(*part), PartState::Failed(reason) if reason.chars().count() > room)
    });
    let continues = overflowing.filter(|_| shared.config_error().is_none());
    for part in Part::ALL {
        draw_part(
            frame,
            rows[part.index()],
            shared,
            part,
            continues == Some(part),
        );
    }
    if let Some(PartState::Failed(reason)) = continues.map(|part| shared.part(part)) {
        let rest: String = reason.chars().skip(room).collect();
        let width = usize::from(area.width).saturating_sub(DETAIL_COLUMN);
        let line = Line::from(vec![
            Span::raw(" ".repeat(DETAIL_COLUMN)),
            Span::styled(cut_middle(&rest, width), Style::new().fg(Color::Red)),
        ]);
        frame.render_widget(Paragraph::new(line), rows[3]);
        return;
    }
    let config = shared.config();
    let line = match shared.config_error() {
        Some(error) => {
            // The file name is enough here; the settings pane shows the whole path.
            let error = match shared.store.path() {
                Some(path) => {
                    let name = path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    error.replace(&path.display().to_string(), &name)
                }
                None => error,
            };
            Line::from(vec![
                Span::styled(
                    "config   ",
                    Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
                ),
                Span::styled(
                    format!("not applied, the last good one stays: {error}"),
                    Style::new().fg(Color::Red),
                ),
            ])
        }
        None => {
            let mut line = mode_line(&config, area.width >= 120);
            if shared.log_dropped > 0 {
                // The request log's writer fell behind: records were dropped, not queued.
                line.spans.push(Span::raw(" · "));
                line.spans.push(Span::styled(
                    format!("request log dropped {}", shared.log_dropped),
                    Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
                ));
            }
            line
        }
    };
    frame.render_widget(Paragraph::new(line), rows[3]);
}

/// Symbol, word and colour for a part's state.
fn looks(state: &PartState) -> (&'static str, &'static str, Color, &str) {
    match state {
        PartState::Stopped => ("○", "stopped", Color::Gray, ""),
        PartState::Starting(what) => ("◐", "starting", Color::Yellow, what),
        PartState::Up(detail) => ("●", "up", Color::Green, detail),
        PartState::Failed(reason) => ("✗", "failed", Color::Red, reason),
        PartState::Unavailable(reason) => ("–", "unavailable", Color::DarkGray, reason),
    }
}

/// One part's row; `continued`: its failure goes on in the row below the parts.
fn draw_part(frame: &mut Frame, area: Rect, shared: &Shared, part: Part, continued: bool) {
    let state = shared.part(part);
    let (symbol, word, color, detail) = looks(state);
    let room = usize::from(area.width).saturating_sub(DETAIL_COLUMN);
    let detail = if continued {
        detail.chars().take(room).collect()
    } else if matches!(state, PartState::Failed(_)) {
        // The start says what failed, the end how to fix it.
        cut_middle(detail, room)
    } else {
        cut_end(detail, room)
    };
    let mut spans = vec![
        Span::styled(
            format!("{:<9}", part.name()),
            Style::new().add_modifier(Modifier::BOLD),
        ),
        Span::styled(format!("{symbol} {word:<12}"), Style::new().fg(color)),
    ];
    let detail_style = match state {
        PartState::Failed(_) => Style::new().fg(Color::Red),
        PartState::Unavailable(_) => dim(),
        _ => Style::new(),
    };
    let pulling = (part == Part::Proxy)
        .then_some(shared.pull.as_ref())
        .flatten()
        .filter(|_| matches!(state, PartState::Starting(_)));
    let Some(pull) = pulling else {
        spans.push(Span::styled(detail, detail_style));
        frame.render_widget(Paragraph::new(Line::from(spans)), area);
        return;
    };
    // Pulling: the image name, then a progress bar over the rest of the row.
    spans.push(Span::raw(format!("pulling {} ", pull.image)));
    let used: u16 = spans.iter().map(|span| span.width() as u16).sum();
    let [text, bar] =
        Layout::horizontal([Constraint::Length(used), Constraint::Min(0)]).areas(area);
    frame.render_widget(Paragraph::new(Line::from(spans)), text);
    let ratio = if pull.total == 0 {
        0.0
    } else {
        (pull.current as f64 / pull.total as f64).clamp(0.0, 1.0)
    };
    let label = if pull.total == 0 {
        format!("{} so far", megabytes(pull.current))
    } else {
        format!(
            "{:>3.0}% {}/{}",
            ratio * 100.0,
            megabytes(pull.current),
            megabytes(pull.total)
        )
    };
    frame.render_widget(
        LineGauge::default()
            .ratio(ratio)
            .label(label)
            .filled_style(theme::warning())
            .unfilled_style(dim()),
        bar,
    );
}

/// `identity NAME i-… zone │ IMDS on · tokens optional · hop limit 2 · faults …`,
/// shorter when narrow.
fn mode_line(config: &Config, wide: bool) -> Line<'static> {
    let mut spans = Vec::new();
    if wide {
        spans.push(Span::styled(
            "identity ",
            Style::new().add_modifier(Modifier::BOLD),
        ));
    }
    match config.active() {
        Some(identity) => {
            spans.push(Span::styled(
                identity.name.clone(),
                Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            ));
            if wide {
                spans.push(Span::raw(format!(
                    " {} {} │ ",
                    identity.instance_id, identity.availability_zone
                )));
            } else {
                spans.push(Span::raw(format!(" {} │ ", identity.instance_id)));
            }
        }
        None => spans.push(Span::styled("none │ ", Style::new().fg(Color::Red))),
    }
    let imds = &config.imds;
    if imds.enabled {
        spans.push(Span::styled("IMDS on", theme::good()));
    } else {
        spans.push(Span::styled(
            "IMDS off",
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        ));
    }
    // A door beside IMDS that is off (its address does not answer); those that are on
    // show with their addresses on the proxy's row.
    for (name, on) in [("ECS", config.doors.ecs), ("EKS", config.doors.eks)] {
        if !on {
            spans.push(Span::raw(" · "));
            spans.push(Span::styled(format!("{name} off"), dim()));
        }
    }
    spans.push(Span::raw(" · tokens "));
    let tokens_style = match imds.tokens {
        crate::config::TokenMode::Required => theme::warning(),
        crate::config::TokenMode::Optional => Style::new(),
    };
    spans.push(Span::styled(imds.tokens.as_str(), tokens_style));
    let hop_style = if imds.hop_limit < 2 {
        theme::warning()
    } else {
        Style::new()
    };
    spans.push(Span::raw(if wide { " · hop limit " } else { " · hop " }));
    spans.push(Span::styled(imds.hop_limit.to_string(), hop_style));
    if !config.faults.is_empty() && !wide {
        spans.push(Span::raw(" · "));
        spans.push(Span::styled(
            format!("{} fault(s)", config.faults.len()),
            Style::new().fg(Color::Magenta),
        ));
    } else if !config.faults.is_empty() {
        let names: Vec<String> = config
            .faults
            .iter()
            .map(|fault| fault_name(&fault.kind))
            .collect();
        spans.push(Span::raw(" · "));
        spans.push(Span::styled(
            format!("faults: {}", names.join(", ")),
            Style::new().fg(Color::Magenta),
        ));
    }
    Line::from(spans)
}
