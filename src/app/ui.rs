//! Drawing the whole screen from the state: status bar, tabs, the focused pane,
//! footer, and the help over everything when it is open.

use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::action::Tab;
use super::layout::{areas, tab_label};
use super::panes::{self, Pane};
use super::state::App;
use super::theme;

/// The smallest screen the layout supports: all seven tabs, a table with a readable
/// path, and the status bar's four rows.
pub const MIN_SIZE: (u16, u16) = (80, 20);

/// Draws the whole screen.
pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
        draw_too_small(frame, area);
        return;
    }
    let areas = areas(area);
    let shared = &app.shared;
    panes::status::draw(frame, areas.status, shared);
    draw_tabs(frame, areas.tabs, shared.tab);
    app.pane().draw(frame, areas.body, shared);
    panes::footer::draw(
        frame,
        areas.footer,
        shared,
        &app.contexts(),
        &|action, label| app.hint(action, label),
    );
    if let Some(error) = shared.input.as_ref().and_then(|input| input.error.as_ref()) {
        // Inside the pane, on its last row above the border: readable at 80 columns,
        // and the frame stays whole.
        let row = Rect::new(
            areas.body.x + 1,
            areas.body.bottom().saturating_sub(2),
            areas.body.width.saturating_sub(2),
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
    if app.help.is_open() {
        app.help.draw(frame, frame.area(), shared);
    }
    if shared.monochrome {
        theme::strip_colours(frame.buffer_mut());
    }
}

/// Says so instead of drawing values cut where nobody can tell.
fn draw_too_small(frame: &mut Frame, area: Rect) {
    let lines = vec![
        Line::from(Span::styled("terminal too small", theme::bold())),
        Line::from(format!(
            "need {}×{}, have {}×{}",
            MIN_SIZE.0, MIN_SIZE.1, area.width, area.height
        )),
        Line::from(Span::styled("q quits", theme::dim())),
    ];
    let top = area.height.saturating_sub(3) / 2;
    let rect = Rect::new(area.x, area.y + top, area.width, area.height.min(3));
    frame.render_widget(
        Paragraph::new(lines)
            .alignment(ratatui::layout::Alignment::Center)
            .wrap(ratatui::widgets::Wrap { trim: true }),
        rect,
    );
}

fn draw_tabs(frame: &mut Frame, area: Rect, current: Tab) {
    let spans: Vec<Span> = Tab::ALL
        .iter()
        .map(|tab| {
            let style = if *tab == current {
                Style::new()
                    .fg(Color::Black)
                    .bg(Color::Cyan)
                    .add_modifier(Modifier::BOLD)
            } else {
                Style::new().fg(Color::Gray)
            };
            Span::styled(tab_label(*tab, area.width, *tab == current), style)
        })
        .collect();
    frame.render_widget(
        Paragraph::new(Line::from(spans)).style(Style::new().bg(Color::Black)),
        area,
    );
}
