//! Where each pane goes, and drawing the whole screen from the state.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::action::Tab;
use super::panes;
use super::state::App;

/// Rows of the status bar.
pub const STATUS_ROWS: u16 = 4;
/// From this width on, the request table and its detail sit side by side.
pub const WIDE: u16 = 120;

pub struct Areas {
    pub status: Rect,
    pub tabs: Rect,
    pub body: Rect,
    pub footer: Rect,
}

pub fn areas(area: Rect) -> Areas {
    let [status, tabs, body, footer] = Layout::vertical([
        Constraint::Length(STATUS_ROWS),
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area);
    Areas {
        status,
        tabs,
        body,
        footer,
    }
}

impl App {
    pub(crate) fn screen(&self) -> Rect {
        Rect::new(0, 0, self.size.0, self.size.1)
    }

    /// Request rows the table shows at the current size.
    pub(crate) fn table_rows(&self) -> usize {
        let body = areas(self.screen()).body;
        panes::requests::split(body, self.detail_focused)
            .0
            .map_or(1, |table| {
                usize::from(table.height.saturating_sub(3)).max(1)
            })
    }

    /// Lines the detail pane shows at the current size.
    pub(crate) fn detail_rows(&self) -> u16 {
        let body = areas(self.screen()).body;
        panes::requests::split(body, self.detail_focused)
            .1
            .map_or(1, |detail| detail.height.saturating_sub(2).max(1))
    }

    /// The tab under a click on the tab bar.
    pub(crate) fn tab_at(&self, column: u16) -> Option<Tab> {
        let mut x = 0u16;
        for tab in Tab::ALL {
            let width = tab_label(tab, self.size.0).chars().count() as u16;
            if column >= x && column < x + width {
                return Some(tab);
            }
            x += width;
        }
        None
    }
}

/// A tab's label; narrow screens get a tighter one so all seven fit in 80 columns.
fn tab_label(tab: Tab, width: u16) -> String {
    if width < 90 {
        format!("{} {} ", tab.index() + 1, tab.title())
    } else {
        format!(" {} {} ", tab.index() + 1, tab.title())
    }
}

/// Draws the whole screen.
pub fn draw(frame: &mut Frame, app: &App) {
    let areas = areas(frame.area());
    panes::status::draw(frame, areas.status, app);
    draw_tabs(frame, areas.tabs, app);
    match app.tab {
        Tab::Requests => panes::requests::draw(frame, areas.body, app),
        Tab::Identity => panes::identity::draw(frame, areas.body, app),
        Tab::Credentials => panes::credentials::draw(frame, areas.body, app),
        Tab::Settings => panes::settings::draw(frame, areas.body, app),
        Tab::Events => panes::events::draw(frame, areas.body, app),
        Tab::Containers => panes::containers::draw(frame, areas.body, app),
        Tab::Logs => panes::logs::draw(frame, areas.body, app),
    }
    panes::footer::draw(frame, areas.footer, app);
    if let Some(error) = app.input().and_then(|input| input.error.as_ref()) {
        // Over the pane's bottom row: the reason must be readable even at 80 columns.
        let row = Rect::new(
            areas.body.x,
            areas.body.bottom().saturating_sub(1),
            areas.body.width,
            1,
        );
        frame.render_widget(
            Paragraph::new(format!("✗ {error}")).style(
                Style::new()
                    .fg(Color::White)
                    .bg(Color::Red)
                    .add_modifier(Modifier::BOLD),
            ),
            row,
        );
    }
    if app.help_scroll.is_some() {
        panes::help::draw(frame, frame.area(), app);
    }
}

fn draw_tabs(frame: &mut Frame, area: Rect, app: &App) {
    let spans: Vec<Span> = Tab::ALL
        .iter()
        .map(|tab| {
            let style = if *tab == app.tab {
                Style::new()
                    .fg(Color::Black)
                    .bg(Color::Cyan)
                    .add_modifier(Modifier::BOLD)
            } else {
                Style::new().fg(Color::Gray)
            };
            Span::styled(tab_label(*tab, area.width), style)
        })
        .collect();
    frame.render_widget(
        Paragraph::new(Line::from(spans)).style(Style::new().bg(Color::Black)),
        area,
    );
}

/// Style for an HTTP status: green success, yellow client error, red server error,
/// magenta for no answer at all.
pub fn status_style(status: u16) -> Style {
    match status {
        0 => Style::new().fg(Color::Magenta),
        200..=299 => Style::new().fg(Color::Green),
        300..=399 => Style::new().fg(Color::Cyan),
        400..=499 => Style::new().fg(Color::Yellow),
        _ => Style::new().fg(Color::Red),
    }
}

/// The style of a selected row in the focused list.
pub fn selected_style() -> Style {
    Style::new().add_modifier(Modifier::REVERSED)
}

pub fn dim() -> Style {
    Style::new().fg(Color::DarkGray)
}

/// A rectangle of at most `width` x `height` centred in `area`.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    )
}

/// Rows `offset..` that keep `selected` visible in `rows` rows.
pub fn window(selected: usize, count: usize, rows: usize) -> std::ops::Range<usize> {
    let rows = rows.max(1);
    let start = if selected >= rows {
        selected + 1 - rows
    } else {
        0
    };
    start..count.min(start + rows)
}
