//! The bottom line: the value being typed, a question, a message, or the keys of the
//! focused pane.

use ratatui::layout::{Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::app::action::Action;
use crate::app::keymap::{footer_entries, Context};
use crate::app::shared::Shared;
use crate::app::theme;

/// The footer; `contexts` are the keymap contexts in force, most specific first. `hint`
/// says what a key's label is in the current state (None: the key does nothing now).
pub fn draw(
    frame: &mut Frame,
    area: Rect,
    shared: &Shared,
    contexts: &[Context],
    hint: &dyn Fn(Action, &'static str) -> Option<&'static str>,
) {
    let key_style = theme::key();
    if let Some(input) = &shared.input {
        let prompt = format!("{}: ", input.prompt);
        let text: String = if input.secret {
            "*".repeat(input.text().chars().count())
        } else {
            input.text().to_string()
        };
        // Keep the cursor on screen: show the end of a long value.
        let room = usize::from(area.width).saturating_sub(prompt.chars().count() + 1);
        let skip = input.cursor().saturating_sub(room);
        let visible: String = text.chars().skip(skip).take(room).collect();
        let mut spans = vec![
            Span::styled(
                prompt.clone(),
                Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            ),
            Span::raw(visible),
        ];
        spans.push(Span::styled(
            "  Enter save · Esc cancel",
            Style::new().fg(Color::DarkGray),
        ));
        frame.render_widget(Paragraph::new(Line::from(spans)), area);
        let x = area.x + (prompt.chars().count() + input.cursor() - skip) as u16;
        frame.set_cursor_position(Position::new(x.min(area.right().saturating_sub(1)), area.y));
        return;
    }
    if let Some(confirm) = &shared.confirm {
        let line = Line::from(vec![
            Span::styled(
                format!("{} ", confirm.question()),
                Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            ),
            Span::styled(" y ", key_style),
            Span::raw(" yes  "),
            Span::styled(" n ", key_style),
            Span::raw(" no"),
        ]);
        frame.render_widget(Paragraph::new(line), area);
        return;
    }
    if shared.stopping {
        frame.render_widget(
            Paragraph::new("Stopping: broker down, removing the proxy…")
                .style(Style::new().fg(Color::Yellow)),
            area,
        );
        return;
    }
    if let Some(message) = &shared.message {
        let style = if message.is_error {
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
        } else {
            Style::new().fg(Color::Green)
        };
        frame.render_widget(Paragraph::new(message.text.clone()).style(style), area);
        return;
    }
    let entries: Vec<_> = contexts
        .iter()
        .flat_map(|context| footer_entries(*context))
        .collect();
    let mut spans = Vec::new();
    for (key, label, action) in entries {
        let Some(label) = hint(action, label) else {
            continue;
        };
        spans.push(Span::styled(format!(" {key} "), key_style));
        spans.push(Span::raw(format!(" {label} ")));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
