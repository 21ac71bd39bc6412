//! The live request table: newest first, coloured by status, filterable, pausable.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table};
use ratatui::Frame;

use crate::broker::ExchangeRecord;

use super::super::action::Action;
use super::super::filter::Filter;
use super::super::form::{Input, InputTarget};
use super::super::state::App;
use super::super::ui::{dim, selected_style, status_style, WIDE};
use super::detail;

/// The table's and the detail's areas: side by side when wide, stacked when narrow
/// (where a focused detail takes the whole body).
pub fn split(body: Rect, detail_focused: bool) -> (Option<Rect>, Option<Rect>) {
    if body.width >= WIDE {
        let [table, detail] =
            Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)])
                .areas(body);
        (Some(table), Some(detail))
    } else if detail_focused {
        (None, Some(body))
    } else {
        let [table, detail] =
            Layout::vertical([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(body);
        (Some(table), Some(detail))
    }
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let (table, detail_area) = split(area, app.detail_focused);
    if let Some(table) = table {
        draw_table(frame, table, app);
    }
    if let Some(detail_area) = detail_area {
        detail::draw(frame, detail_area, app);
    }
}

fn title(app: &App) -> Line<'static> {
    let list = app.exchanges();
    let mut spans = vec![Span::styled(
        format!(" Requests {} ", list.len()),
        Style::new().add_modifier(Modifier::BOLD),
    )];
    if !list.filter().is_empty() {
        spans.push(Span::styled(
            format!(
                "filter: {} ({} match) ",
                list.filter().text(),
                list.match_count()
            ),
            Style::new().fg(Color::Cyan),
        ));
    }
    if list.is_paused() {
        spans.push(Span::styled(
            format!("PAUSED +{} ", list.held_count()),
            Style::new().fg(Color::Black).bg(Color::Yellow),
        ));
    } else if !list.is_following() {
        spans.push(Span::styled("scrolled (g: newest) ", dim()));
    }
    Line::from(spans)
}

fn draw_table(frame: &mut Frame, area: Rect, app: &App) {
    let focused = !app.detail_focused;
    let block = Block::bordered()
        .title(title(app))
        .border_style(if focused {
            Style::new().fg(Color::Cyan)
        } else {
            dim()
        });
    let list = app.exchanges();
    if list.match_count() == 0 {
        let text = if !list.is_empty() {
            "No request matches the filter (Esc clears it).".to_string()
        } else {
            match app.broker_addr.filter(|addr| addr.ip().is_loopback()) {
                Some(addr) => format!(
                    "No requests yet. Programs on this machine reach the broker at \
                     http://{addr}/latest/meta-data/ (AWS_EC2_METADATA_SERVICE_ENDPOINT=http://{addr}/)."
                ),
                None => "No requests yet. Containers on the imds-spoof network reach \
                         http://169.254.169.254."
                    .to_string(),
            }
        };
        frame.render_widget(
            Paragraph::new(text)
                .style(dim())
                .wrap(ratatui::widgets::Wrap { trim: true })
                .block(block),
            area,
        );
        return;
    }
    let wide = area.width >= 100;
    let rows_available = usize::from(area.height.saturating_sub(3));
    let rows: Vec<Row> = list
        .visible(rows_available)
        .map(|(record, selected)| {
            let style = status_style(record.status);
            let style = if selected {
                style.patch(selected_style())
            } else {
                style
            };
            row(record, wide).style(style)
        })
        .collect();
    let mut widths = vec![
        Constraint::Length(12),
        Constraint::Length(3),
        Constraint::Length(4),
        Constraint::Length(5),
        Constraint::Length(7),
        Constraint::Length(if wide { 16 } else { 12 }),
    ];
    let mut header = vec!["time", "st", "meth", "ver", "latency", "caller"];
    if wide {
        widths.push(Constraint::Length(10));
        header.push("identity");
    }
    widths.push(Constraint::Min(10));
    header.push("path");
    let table = Table::new(rows, widths)
        .header(
            Row::new(header)
                .style(Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)),
        )
        .column_spacing(1)
        .block(block);
    frame.render_widget(table, area);
}

fn row(record: &ExchangeRecord, wide: bool) -> Row<'static> {
    let status = if record.status == 0 {
        "---".to_string()
    } else {
        record.status.to_string()
    };
    let caller = record
        .caller_container
        .clone()
        .or_else(|| record.caller_ip.map(|ip| ip.to_string()))
        .unwrap_or_else(|| "?".to_string());
    let mut cells = vec![
        Cell::from(clock(&record.time)),
        Cell::from(status),
        Cell::from(record.method.clone()),
        Cell::from(record.version.as_str()),
        Cell::from(latency(record.latency_us)),
        Cell::from(caller),
    ];
    if wide {
        cells.push(Cell::from(record.identity.clone()));
    }
    let mut path = Span::raw(record.path.clone());
    if record.provider_error.is_some() || record.fault.is_some() {
        path = path.style(Style::new().fg(Color::Red));
    }
    cells.push(Cell::from(path));
    Row::new(cells)
}

/// `HH:MM:SS.mmm` of a record's `YYYY-MM-DDTHH:MM:SS.mmmZ` time.
pub fn clock(time: &str) -> String {
    time.get(11..23).unwrap_or(time).to_string()
}

pub fn latency(micros: u64) -> String {
    if micros < 1_000 {
        format!("{micros}µs")
    } else if micros < 1_000_000 {
        format!("{:.1}ms", micros as f64 / 1_000.0)
    } else {
        format!("{:.2}s", micros as f64 / 1_000_000.0)
    }
}

pub fn update(app: &mut App, action: Action) {
    let rows = app.table_rows();
    let page = rows as isize;
    let before = app.exchanges.selected_record().map(|record| record.id);
    match action {
        Action::Up => app.exchanges.move_selection(-1, rows),
        Action::Down => app.exchanges.move_selection(1, rows),
        Action::PageUp => app.exchanges.move_selection(-page, rows),
        Action::PageDown => app.exchanges.move_selection(page, rows),
        Action::Top => app.exchanges.select_row(0, rows),
        Action::Bottom => app.exchanges.select_row(usize::MAX, rows),
        Action::ToggleDetail => {
            app.detail_focused = true;
            app.detail_scroll = 0;
        }
        Action::StartFilter => {
            let current = app.exchanges.filter().text().to_string();
            app.input = Some(Input::new(InputTarget::Filter, "filter", current));
        }
        Action::Back if !app.exchanges.filter().is_empty() => {
            app.exchanges.set_filter(Filter::default());
        }
        Action::TogglePause => app.exchanges.toggle_pause(),
        Action::ClearExchanges => {
            app.exchanges.clear();
            app.inform("list cleared");
        }
        _ => {}
    }
    if app.exchanges.selected_record().map(|record| record.id) != before {
        app.detail_scroll = 0;
    }
}

/// Enter in the filter input.
pub fn submit_filter(app: &mut App, text: &str) -> Result<(), String> {
    let filter = Filter::parse(text)?;
    app.exchanges.set_filter(filter);
    Ok(())
}

/// A click at `row` (screen) in the table selects that request.
pub fn click(app: &mut App, column: u16, row: u16, body: Rect) {
    let Some(table) = split(body, app.detail_focused).0 else {
        return;
    };
    let first_row = table.y + 2;
    if column < table.x
        || column >= table.x + table.width
        || row < first_row
        || row >= table.bottom() - 1
    {
        return;
    }
    let rows = app.table_rows();
    let index = app.exchanges.visible_offset(rows) + usize::from(row - first_row);
    app.exchanges.select_row(index, rows);
    app.detail_scroll = 0;
}
