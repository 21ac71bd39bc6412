//! The `?` screen: every key, generated from the keymap.

use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui::Frame;

use super::super::action::Action;
use super::super::keymap::{keys_label, Context, BINDINGS};
use super::super::state::App;
use super::super::ui::centered;

/// The help text, one line per binding under a heading per context.
pub fn lines() -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for context in Context::HELP_ORDER {
        let bindings: Vec<_> = BINDINGS
            .iter()
            .filter(|binding| binding.context == context)
            .collect();
        if bindings.is_empty() {
            continue;
        }
        if !lines.is_empty() {
            lines.push(Line::default());
        }
        lines.push(Line::from(Span::styled(
            context.title(),
            Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
        )));
        for binding in bindings {
            lines.push(Line::from(vec![
                Span::styled(
                    format!("  {:<18}", keys_label(binding)),
                    Style::new().fg(Color::Yellow),
                ),
                Span::raw(binding.help),
            ]));
        }
        if context == Context::Input {
            lines.push(Line::from(vec![
                Span::styled(
                    format!("  {:<18}", "other keys"),
                    Style::new().fg(Color::Yellow),
                ),
                Span::raw("Type into the value"),
            ]));
        }
    }
    lines
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let popup = centered(area, 96, area.height.saturating_sub(2));
    frame.render_widget(Clear, popup);
    let block = Block::bordered()
        .title(Span::styled(
            " Keys (? or Esc closes) ",
            Style::new().add_modifier(Modifier::BOLD),
        ))
        .border_style(Style::new().fg(Color::Yellow));
    frame.render_widget(
        Paragraph::new(lines())
            .block(block)
            .scroll((app.help_scroll.unwrap_or(0), 0))
            .style(Style::new().bg(Color::Black)),
        popup,
    );
}

pub fn update(app: &mut App, action: Action) {
    let total = lines().len() as u16;
    let page = app.size.1.saturating_sub(4).max(1);
    let max = total.saturating_sub(page);
    let scroll = app.help_scroll.unwrap_or(0);
    let next = match action {
        Action::Up => scroll.saturating_sub(1),
        Action::Down => (scroll + 1).min(max),
        Action::PageUp => scroll.saturating_sub(page),
        Action::PageDown => (scroll + page).min(max),
        Action::ToggleHelp => {
            app.help_scroll = None;
            return;
        }
        _ => scroll,
    };
    app.help_scroll = Some(next);
}
