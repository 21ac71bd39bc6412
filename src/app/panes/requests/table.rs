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

/// A container that makes a first request on `network`.
pub(super) fn first_request_line(network: &str) -> String {
    format!(
        "docker run --rm --network {network} curlimages/curl -s http://169.254.169.254/latest/meta-data/instance-id"
    )
}

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
                None => {
                    let network = shared.config().network.name.clone();
                    format!(
                        "No requests yet. A container on the {network} network reaches \
                         http://169.254.169.254 (y copies this line):\n\n  {}\n\n\
                         In compose, join the network as an external one:\n\n  \
                         services:\n    app:\n      networks: [{network}]\n  \
                         networks:\n    {network}:\n      external: true",
                        first_request_line(&network)
                    )
                }
            }
        };
        frame.render_widget(
            Paragraph::new(text)
                .style(theme::dim())
                .wrap(ratatui::widgets::Wrap { trim: false })
                .block(block),
            area,
        );
        return;
    }
    let rows_available = usize::from(area.height.saturating_sub(3));
    let visible: Vec<_> = list.visible(rows_available).collect();
    let config = shared.config();
    // A caller whose label or rule names no identity is marked on its row.
    let unknown = |record: &ExchangeRecord| {
        let name = record.caller_container.as_deref()?;
        let container = shared
            .containers
            .iter()
            .flatten()
            .find(|c| c.name == name)?;
        config.passed_over(&container.facts())
    };
    let identity_text = |record: &ExchangeRecord, full: bool| {
        let mut text = format::identity_fitted(&record.identity, record.identity_origin, 20, full);
        if unknown(record).is_some() {
            text.push('⚠');
        }
        text
    };
    let widest = |full: bool| {
        visible
            .iter()
            .map(|(record, _)| identity_text(record, full).chars().count())
            .max()
            .unwrap_or(0)
            .max("identity".len()) as u16
    };
    let caller_widest = visible
        .iter()
        .map(|(record, _)| caller(record).chars().count())
        .max()
        .unwrap_or(0)
        .max("caller".len()) as u16;
    let path_widest = visible
        .iter()
        .map(|(record, _)| record.path.chars().count())
        .max()
        .unwrap_or(0) as u16;
    let plan = Columns::plan(
        area.width.saturating_sub(2),
        (caller_widest, path_widest),
        (widest(true), widest(false)),
    );
    let rows: Vec<Row> = visible
        .iter()
        .map(|(record, selected)| {
            let style = theme::status_style(record.status);
            let style = if *selected {
                style.patch(theme::selected_style())
            } else {
                style
            };
            let identity = identity_text(record, plan.identity_full);
            row(record, identity, &plan, *selected).style(style)
        })
        .collect();
    let table = Table::new(rows, plan.widths())
        .header(Row::new(plan.header()).style(theme::header()))
        .column_spacing(1)
        .block(block);
    frame.render_widget(table, area);
}

/// The shortest the path column gets before other columns give way.
const PATH_MIN: u16 = 30;

/// Which columns the table shows and how wide: the path takes what the others leave,
/// and they give way (time without milliseconds, no latency, no method, a shorter
/// caller, the short identity, no version) until the path has [`PATH_MIN`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Columns {
    time: u16,
    method: bool,
    version: bool,
    latency: bool,
    caller: u16,
    identity: u16,
    identity_full: bool,
    path: u16,
}

impl Columns {
    /// Columns for `width` (inside the border), the widest caller and path, and the
    /// identity's widest full and short forms. Short paths take nothing from the others.
    pub(super) fn plan(
        width: u16,
        (caller, path): (u16, u16),
        (full, short): (u16, u16),
    ) -> Columns {
        let wanted = PATH_MIN.min(path.max(4));
        let mut columns = Columns {
            time: 12,
            method: true,
            version: true,
            latency: true,
            caller: caller.min(24),
            identity: full,
            identity_full: true,
            path: 0,
        };
        let steps: [fn(&mut Columns, u16); 7] = [
            |c, _| c.time = 8,
            |c, _| c.latency = false,
            |c, _| c.method = false,
            |c, _| c.caller = c.caller.min(12),
            |c, short| {
                c.identity = short;
                c.identity_full = false;
            },
            |c, _| c.version = false,
            |c, _| c.caller = c.caller.min(8),
        ];
        let mut steps = steps.iter();
        loop {
            columns.path = width.saturating_sub(columns.fixed());
            if columns.path >= wanted {
                break;
            }
            match steps.next() {
                Some(step) => step(&mut columns, short),
                None => break,
            }
        }
        columns
    }

    /// Columns and spaces besides the path.
    fn fixed(&self) -> u16 {
        let mut used = 1 + 1 + self.time + 1 + 3 + 1 + self.caller + 1 + self.identity + 1;
        if self.method {
            used += 4 + 1;
        }
        if self.version {
            used += 5 + 1;
        }
        if self.latency {
            used += 7 + 1;
        }
        used
    }

    fn widths(&self) -> Vec<Constraint> {
        let mut widths = vec![
            Constraint::Length(1),
            Constraint::Length(self.time),
            Constraint::Length(3),
        ];
        if self.method {
            widths.push(Constraint::Length(4));
        }
        if self.version {
            widths.push(Constraint::Length(5));
        }
        if self.latency {
            widths.push(Constraint::Length(7));
        }
        widths.push(Constraint::Length(self.caller));
        widths.push(Constraint::Length(self.identity));
        widths.push(Constraint::Fill(1));
        widths
    }

    fn header(&self) -> Vec<&'static str> {
        let mut header = vec!["", "time", "st"];
        if self.method {
            header.push("meth");
        }
        if self.version {
            header.push("ver");
        }
        if self.latency {
            header.push("latency");
        }
        header.extend(["caller", "identity", "path"]);
        header
    }
}

fn caller(record: &ExchangeRecord) -> String {
    record
        .caller_container
        .clone()
        .or_else(|| record.caller_ip.map(|ip| ip.to_string()))
        .unwrap_or_else(|| "?".to_string())
}

fn row(record: &ExchangeRecord, identity: String, plan: &Columns, selected: bool) -> Row<'static> {
    let status = if record.status == 0 {
        "---".to_string()
    } else {
        record.status.to_string()
    };
    let mut time = format::clock(&record.time);
    time.truncate(usize::from(plan.time));
    // The selected row is marked without colour too.
    let marker = if selected { "▶" } else { " " };
    let mut cells = vec![Cell::from(marker), Cell::from(time), Cell::from(status)];
    if plan.method {
        cells.push(Cell::from(record.method.clone()));
    }
    if plan.version {
        cells.push(Cell::from(record.protocol()));
    }
    if plan.latency {
        cells.push(Cell::from(format::latency(record.latency_us)));
    }
    cells.push(Cell::from(format::cut_end(
        &caller(record),
        usize::from(plan.caller),
    )));
    cells.push(Cell::from(identity));
    let mut path = Span::raw(format::cut_middle(&record.path, usize::from(plan.path)));
    if record.provider_error.is_some() || record.fault.is_some() {
        path = path.style(theme::bad());
    }
    cells.push(Cell::from(path));
    Row::new(cells)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_gets_the_spare_columns_and_the_others_give_way_in_order() {
        // 220 columns: everything, the path wide.
        let wide = Columns::plan(125, (16, 62), (16, 9));
        assert!(wide.latency && wide.method && wide.version && wide.identity_full);
        assert_eq!(wide.time, 12);
        assert!(wide.path > 50, "{wide:?}");
        // 80 columns: time first, then latency, method, caller, identity.
        let narrow = Columns::plan(78, (16, 62), (16, 9));
        assert_eq!(narrow.time, 8);
        assert!(!narrow.latency && !narrow.method);
        assert!(!narrow.identity_full && narrow.version);
        assert!(narrow.path >= PATH_MIN, "{narrow:?}");
        assert_eq!(narrow.fixed() + narrow.path, 78);
        // Short paths leave every column in place.
        let short = Columns::plan(78, (11, 12), (16, 9));
        assert!(
            short.latency && short.method && short.identity_full,
            "{short:?}"
        );
    }
}
