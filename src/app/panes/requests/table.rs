//! The request table: one row per exchange, newest first, coloured by status.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table};
use ratatui::Frame;

use crate::broker::ExchangeRecord;

use crate::app::exchanges::ExchangeList;
use crate::app::format;
use crate::app::shared::Shared;
use crate::app::theme;

fn title(list: &ExchangeList) -> Line<'static> {
    let mut spans = vec![Span::styled(
        format!(" Requests {} ", list.len()),
        theme::bold(),
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
        spans.push(Span::styled("scrolled (g: newest) ", theme::dim()));
    }
    Line::from(spans)
}

pub fn draw(frame: &mut Frame, area: Rect, list: &ExchangeList, shared: &Shared, focused: bool) {
    let block = Block::bordered()
        .title(title(list))
        .border_style(theme::border(focused));
    if list.match_count() == 0 {
        let text = if !list.is_empty() {
            "No request matches the filter (Esc clears it).".to_string()
        } else {
            match shared.broker_addr.filter(|addr| addr.ip().is_loopback()) {
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
                .style(theme::dim())
                .wrap(ratatui::widgets::Wrap { trim: true })
                .block(block),
            area,
        );
        return;
    }
    let wide = area.width >= 100;
    // The identity in full where the path keeps room, else abbreviated (the help
    // explains the letters).
    let full = area.width >= 90;
    let most = if full { 20 } else { 10 };
    let rows_available = usize::from(area.height.saturating_sub(3));
    let visible: Vec<_> = list.visible(rows_available).collect();
    let identities: Vec<String> = visible
        .iter()
        .map(|(record, _)| {
            format::identity_fitted(&record.identity, record.identity_origin, most, full)
        })
        .collect();
    let identity_width = identities
        .iter()
        .map(|text| text.chars().count())
        .max()
        .unwrap_or(0)
        .max("identity".len());
    let rows: Vec<Row> = visible
        .iter()
        .zip(identities)
        .map(|((record, selected), identity)| {
            let style = theme::status_style(record.status);
            let style = if *selected {
                style.patch(theme::selected_style())
            } else {
                style
            };
            row(record, identity).style(style)
        })
        .collect();
    let widths = [
        Constraint::Length(12),
        Constraint::Length(3),
        Constraint::Length(4),
        Constraint::Length(5),
        Constraint::Length(7),
        Constraint::Length(if wide { 16 } else { 12 }),
        Constraint::Length(identity_width as u16),
        Constraint::Min(10),
    ];
    let header = [
        "time", "st", "meth", "ver", "latency", "caller", "identity", "path",
    ];
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(theme::header()))
        .column_spacing(1)
        .block(block);
    frame.render_widget(table, area);
}

fn row(record: &ExchangeRecord, identity: String) -> Row<'static> {
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
        Cell::from(format::clock(&record.time)),
        Cell::from(status),
        Cell::from(record.method.clone()),
        Cell::from(record.protocol()),
        Cell::from(format::latency(record.latency_us)),
        Cell::from(caller),
    ];
    cells.push(Cell::from(identity));
    let mut path = Span::raw(record.path.clone());
    if record.provider_error.is_some() || record.fault.is_some() {
        path = path.style(theme::bad());
    }
    cells.push(Cell::from(path));
    Row::new(cells)
}
