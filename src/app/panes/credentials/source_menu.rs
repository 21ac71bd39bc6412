//! The source menu: where the shown identity's role credentials come from, chosen from
//! the four sources instead of cycled through them.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::ListItem;
use ratatui::Frame;

use crate::app::theme;
use crate::app::widgets::{cursor, popup_list};
use crate::config::SOURCE_NAMES;

/// What each source does, beside its name in the menu.
fn description(name: &str) -> &'static str {
    match name {
        "static" => "keys written in the file (fake ones to start)",
        "profile" => "a profile of ~/.aws, resolved as the CLI does",
        "command" => "a credential_process-style command",
        "assume-role" => "an STS session per container",
        _ => "",
    }
}

/// The open menu, its cursor on a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceMenu {
    row: usize,
}

impl SourceMenu {
    /// A menu with its cursor on the source in use.
    pub fn new(current: &str) -> SourceMenu {
        let row = SOURCE_NAMES
            .iter()
            .position(|name| *name == current)
            .unwrap_or(0);
        SourceMenu { row }
    }

    pub fn up(&mut self) {
        self.row = self.row.saturating_sub(1);
    }

    pub fn down(&mut self) {
        self.row = (self.row + 1).min(SOURCE_NAMES.len() - 1);
    }

    pub fn chosen(&self) -> &'static str {
        SOURCE_NAMES[self.row.min(SOURCE_NAMES.len() - 1)]
    }

    /// Draws the menu over the middle of `area`; `current` is marked as in use.
    pub fn draw(&self, frame: &mut Frame, area: Rect, identity: &str, current: &str) {
        let items: Vec<ListItem> = SOURCE_NAMES
            .iter()
            .enumerate()
            .map(|(index, name)| {
                let (marker, style) = cursor(index == self.row, true);
                let mut spans = vec![
                    Span::raw(marker),
                    Span::raw(format!("{name:<12}")),
                    Span::styled(description(name), theme::dim()),
                ];
                if *name == current {
                    spans.push(Span::styled("  ← now", theme::dim()));
                }
                ListItem::new(Line::from(spans)).style(style)
            })
            .collect();
        let title = format!(" Credentials source of {identity} ");
        popup_list(frame, area, title, items, 76);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_menu_opens_on_the_source_in_use_and_stays_inside() {
        let mut menu = SourceMenu::new("command");
        assert_eq!(menu.chosen(), "command");
        menu.down();
        menu.down();
        assert_eq!(menu.chosen(), "assume-role");
        for _ in 0..9 {
            menu.up();
        }
        assert_eq!(menu.chosen(), "static");
    }
}
