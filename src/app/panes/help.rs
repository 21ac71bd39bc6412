//! The `?` screen: every key, generated from the keymap.

use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui::Frame;

use crate::app::action::Action;
use crate::app::format::ORIGIN_LEGEND;
use crate::app::keymap::{keys_label, Context, BINDINGS};
use crate::app::shared::Shared;
use crate::app::widgets::centered;

use super::Pane;

/// The help screen's own state: open or not, and how far it is scrolled.
#[derive(Debug, Default)]
pub struct HelpPane {
    /// Lines scrolled past, while the help is open.
    scroll: Option<u16>,
    /// The contexts of the pane it was opened over: their keys come first.
    first: Vec<Context>,
}

impl HelpPane {
    pub fn is_open(&self) -> bool {
        self.scroll.is_some()
    }

    /// Opens at the keys of `contexts` (the focused pane's), then everything else.
    pub fn open(&mut self, contexts: Vec<Context>) {
        self.scroll = Some(0);
        self.first = contexts;
    }

    fn lines(&self) -> Vec<Line<'static>> {
        lines(&self.first)
    }
}

/// The help text, one line per binding under a heading per context: the contexts in
/// `first` come first, then the others in their usual order.
pub fn lines(first: &[Context]) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let rest = Context::HELP_ORDER
        .into_iter()
        .filter(|context| !first.contains(context));
    let order: Vec<Context> = first.iter().copied().chain(rest).collect();
    for context in order {
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
        if context == Context::Requests {
            lines.push(Line::from(vec![
                Span::styled(
                    format!("  {:<18}", "worker·R ·L ·A"),
                    Style::new().fg(Color::Yellow),
                ),
                Span::raw(ORIGIN_LEGEND),
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

impl Pane for HelpPane {
    fn draw(&self, frame: &mut Frame, area: Rect, _shared: &Shared) {
        let popup = centered(area, 96, area.height.saturating_sub(2));
        frame.render_widget(Clear, popup);
        let block = Block::bordered()
            .title(Span::styled(
                " Keys (? or Esc closes) ",
                Style::new().add_modifier(Modifier::BOLD),
            ))
            .border_style(Style::new().fg(Color::Yellow));
        frame.render_widget(
            Paragraph::new(self.lines())
                .block(block)
                .scroll((self.scroll.unwrap_or(0), 0))
                .style(Style::new().bg(Color::Black)),
            popup,
        );
    }

    fn update(&mut self, action: Action, shared: &mut Shared) {
        let total = self.lines().len() as u16;
        let page = shared.size.1.saturating_sub(4).max(1);
        let max = total.saturating_sub(page);
        let scroll = self.scroll.unwrap_or(0);
        let next = match action {
            Action::Up => scroll.saturating_sub(1),
            Action::Down => (scroll + 1).min(max),
            Action::PageUp => scroll.saturating_sub(page),
            Action::PageDown => (scroll + page).min(max),
            Action::ToggleHelp => {
                self.scroll = None;
                return;
            }
            _ => scroll,
        };
        self.scroll = Some(next);
    }

    fn contexts(&self) -> Vec<Context> {
        vec![Context::Help]
    }
}
