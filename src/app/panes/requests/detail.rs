//! The selected exchange in full: request and response headers, the body (JSON
//! pretty-printed), the provider's error, the fault applied, the latency.
//! Secrets are masked unless the user reveals them.

use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;

use crate::app::{format, json, theme, widgets};
use crate::broker::{ExchangeRecord, HeaderList};

/// The detail of `record`, scrolled down `scroll` lines.
pub fn draw(
    frame: &mut Frame,
    area: Rect,
    record: Option<&ExchangeRecord>,
    reveal: bool,
    (focused, scroll): (bool, u16),
) {
    let block = Block::bordered()
        .title(Line::from(vec![
            Span::styled(" Detail ", theme::bold()),
            widgets::secrets_badge(reveal),
        ]))
        .border_style(theme::border(focused));
    let Some(record) = record else {
        frame.render_widget(
            Paragraph::new("Select a request to see its headers and body.")
                .style(theme::dim())
                .block(block),
            area,
        );
        return;
    };
    frame.render_widget(
        Paragraph::new(lines(record, reveal))
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        area,
    );
}

fn heading(text: &str) -> Line<'static> {
    Line::from(Span::styled(
        text.to_string(),
        Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
    ))
}

/// The detail's text for one exchange.
pub fn lines(record: &ExchangeRecord, reveal: bool) -> Vec<Line<'static>> {
    let shown = if reveal {
        record.clone()
    } else {
        record.masked()
    };
    let mut lines = vec![Line::from(Span::styled(
        shown.path.clone(),
        Style::new().add_modifier(Modifier::BOLD),
    ))];
    let status = if shown.status == 0 {
        "no answer".to_string()
    } else {
        let reason = axum::http::StatusCode::from_u16(shown.status)
            .ok()
            .and_then(|status| status.canonical_reason())
            .unwrap_or("");
        format!("{} {reason}", shown.status)
    };
    let caller = match (&shown.caller_container, shown.caller_ip) {
        (Some(name), Some(ip)) => format!("{name} ({ip})"),
        (None, Some(ip)) => format!("{ip} (container unknown)"),
        (Some(name), None) => name.clone(),
        (None, None) => "unknown".to_string(),
    };
    lines.push(Line::from(vec![
        Span::raw(format!("{} {} · ", shown.method, shown.protocol())),
        Span::styled(
            status,
            theme::status_style(shown.status).add_modifier(Modifier::BOLD),
        ),
        Span::raw(format!(
            " · {} · {}",
            format::latency(shown.latency_us),
            shown.time.replace('T', " ")
        )),
    ]));
    lines.push(Line::from(format!(
        "caller {caller} · identity {}",
        format::identity_with_origin(&shown.identity, shown.identity_origin)
    )));
    if let Some(fault) = &shown.fault {
        lines.push(Line::from(Span::styled(
            format!("injected fault: {fault}"),
            Style::new().fg(Color::Magenta),
        )));
    }
    if let Some(error) = &shown.provider_error {
        lines.push(Line::from(Span::styled(
            format!("provider error: {error}"),
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        )));
    }
    lines.push(Line::default());
    lines.push(heading("Request headers"));
    push_headers(&mut lines, &shown.request_headers);
    lines.push(heading("Response headers"));
    push_headers(&mut lines, &shown.response_headers);
    let body_title = if shown.body_truncated {
        "Body (truncated)"
    } else {
        "Body"
    };
    lines.push(heading(body_title));
    if shown.response_body.is_empty() {
        lines.push(Line::from(Span::styled("  (empty)", theme::dim())));
    } else {
        let body = json::pretty(&shown.response_body).unwrap_or(shown.response_body.to_string());
        lines.extend(body.lines().map(|line| Line::from(format!("  {line}"))));
    }
    lines
}

fn push_headers(lines: &mut Vec<Line<'static>>, headers: &HeaderList) {
    if headers.is_empty() {
        lines.push(Line::from(Span::styled("  (none)", theme::dim())));
    }
    for (name, value) in headers.iter() {
        lines.push(Line::from(vec![
            Span::styled(format!("  {name}: "), theme::dim()),
            Span::raw(value.to_string()),
        ]));
    }
}
