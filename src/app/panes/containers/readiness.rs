//! The containers pane's IMDSv2 readiness view: a row per caller seen since the dashboard
//! opened, callers that asked without a token (IMDSv1) first and marked `!`; under the
//! table, the selected caller's v1 paths and the programs it called with.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

use crate::app::theme::{self, dim};
use crate::app::widgets::{cursor, window};
use crate::broker::readiness::{CallerReport, Report, Tally};
use crate::broker::ExchangeRecord;

/// The fewest rows the detail of the selected caller gets (with its border).
const DETAIL_ROWS: u16 = 6;

/// Every exchange's readiness facts, and the row under the cursor.
#[derive(Debug, Default)]
pub struct ReadinessView {
    tally: Tally,
    row: usize,
}

impl ReadinessView {
    pub fn note(&mut self, record: &ExchangeRecord) {
        self.tally.note_record(record);
    }

    pub fn up(&mut self) {
        self.row = self.row.saturating_sub(1);
    }

    pub fn down(&mut self) {
        self.row = (self.row + 1).min(self.tally.len().saturating_sub(1));
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect) {
        let report = self.tally.report();
        let block = Block::bordered()
            .title(Span::styled(title(&report), theme::bold()))
            .border_style(theme::border(true));
        if report.callers.is_empty() {
            frame.render_widget(
                Paragraph::new(
                    "No caller has asked IMDS yet. Callers that ask without a token (IMDSv1) \
                     are listed first, marked !; `imds-spoof report` prints the same table.",
                )
                .style(dim())
                .wrap(Wrap { trim: true })
                .block(block),
                area,
            );
            return;
        }
        let selected = self.row.min(report.callers.len() - 1);
        // The table as tall as its rows (header and borders too), the detail the rest.
        let wanted = u16::try_from(report.callers.len() + 3).unwrap_or(u16::MAX);
        let table_rows = wanted.min(area.height.saturating_sub(DETAIL_ROWS)).max(4);
        let [table_area, detail_area] =
            Layout::vertical([Constraint::Length(table_rows), Constraint::Min(0)]).areas(area);
        draw_table(frame, table_area, &report, selected, block);
        draw_detail(frame, detail_area, &report.callers[selected]);
    }
}

fn title(report: &Report) -> String {
    let missed = if report.missed > 0 {
        format!(", {} not counted", report.missed)
    } else {
        String::new()
    };
    format!(
        " IMDSv2 readiness: {} of {} callers used IMDSv1{missed} ",
        report.v1_callers,
        report.callers.len()
    )
}

fn draw_table(frame: &mut Frame, area: Rect, report: &Report, selected: usize, block: Block) {
    let rows_available = usize::from(area.height.saturating_sub(3));
    let rows: Vec<Row> = window(selected, report.callers.len(), rows_available)
        .map(|index| {
            let caller = &report.callers[index];
            let (marker, style) = cursor(index == selected, true);
            let flag = if caller.flagged() { "!" } else { " " };
            let program = caller
                .agents
                .first()
                .map(|agent| agent.label())
                .unwrap_or_default();
            let row = Row::new(vec![
                Line::from(format!("{marker}{flag} {}", caller.caller)),
                Line::from(caller.counts.v1_requests.to_string()),
                Line::from(caller.counts.v2_requests.to_string()),
                Line::from(clock(caller.v1_last_seen.as_deref())),
                Line::from(program),
            ]);
            if caller.flagged() && index != selected {
                row.style(theme::warning())
            } else {
                row.style(style)
            }
        })
        .collect();
    let wide = area.width >= 120;
    let table = Table::new(
        rows,
        [
            Constraint::Fill(2),
            Constraint::Length(6),
            Constraint::Length(6),
            Constraint::Length(8),
            Constraint::Length(if wide { 40 } else { 20 }),
        ],
    )
    .header(Row::new(vec!["caller", "v1", "v2", "last v1", "program"]).style(theme::header()))
    .block(block);
    frame.render_widget(table, area);
}

fn draw_detail(frame: &mut Frame, area: Rect, caller: &CallerReport) {
    let mut lines = Vec::new();
    // A label, then one value per line under each other.
    let mut labelled = |label: &'static str, values: Vec<String>| {
        for (index, value) in values.into_iter().enumerate() {
            let label = if index == 0 { label } else { "" };
            lines.push(Line::from(vec![
                Span::styled(format!("{label:<10}"), dim()),
                Span::raw(value),
            ]));
        }
    };
    let mut paths: Vec<String> = caller
        .v1_paths
        .iter()
        .map(|path| format!("{} ({})", path.path, path.requests))
        .collect();
    if caller.v1_paths_unlisted > 0 {
        paths.push(format!(
            "and {} requests to other paths",
            caller.v1_paths_unlisted
        ));
    }
    if paths.is_empty() {
        paths.push("none: every request carried a token".to_string());
    }
    labelled("v1 paths", paths);
    labelled(
        "programs",
        caller
            .agents
            .iter()
            .map(|agent| {
                format!(
                    "{}: v1 {}, v2 {}, token {}",
                    agent.label(),
                    agent.counts.v1_requests,
                    agent.counts.v2_requests,
                    agent.counts.token_requests
                )
            })
            .collect(),
    );
    labelled(
        "seen",
        vec![format!(
            "{} to {} (UTC)",
            clock(Some(&caller.first_seen)),
            clock(Some(&caller.last_seen))
        )],
    );
    let block = Block::bordered()
        .title(Span::styled(
            format!(" {} ", caller.caller),
            Style::new().add_modifier(Modifier::BOLD),
        ))
        .border_style(dim());
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// `HH:MM:SS` of a record time (UTC), `-` for none.
fn clock(time: Option<&str>) -> String {
    match time {
        Some(time) => time.get(11..19).unwrap_or(time).to_string(),
        None => "-".to_string(),
    }
}
