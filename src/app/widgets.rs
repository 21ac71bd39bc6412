//! Small widgets several panes draw: the identity list, the secrets badge, the
//! focus marker, and the geometry helpers behind scrolling lists and pop-ups.

use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, List, ListItem};
use ratatui::Frame;

use crate::config::Config;

use super::theme;

/// The configured identities, `shown` selected, the active one marked with a dot.
pub fn identity_list(frame: &mut Frame, area: Rect, config: &Config, shown: usize) {
    let items: Vec<ListItem> = config
        .identities
        .iter()
        .enumerate()
        .map(|(index, identity)| {
            let active = identity.name == config.active_identity;
            let dot = if active { "● " } else { "  " };
            let mut style = if active { theme::good() } else { Style::new() };
            if index == shown {
                style = style.patch(theme::selected_style());
            }
            ListItem::new(Line::from(format!("{dot}{}", identity.name))).style(style)
        })
        .collect();
    frame.render_widget(
        List::new(items).block(
            Block::bordered()
                .title(" Identities ")
                .border_style(theme::dim()),
        ),
        area,
    );
}

/// Says whether secrets are on screen, in the title of a block that shows them.
pub fn secrets_badge(reveal: bool) -> Span<'static> {
    if reveal {
        Span::styled(
            " SECRETS SHOWN (v masks) ",
            Style::new().fg(Color::Black).bg(Color::Red),
        )
    } else {
        Span::styled(" secrets masked (v reveals) ", theme::dim())
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_follows_the_selection() {
        assert_eq!(window(0, 10, 4), 0..4);
        assert_eq!(window(6, 10, 4), 3..7);
        assert_eq!(window(2, 3, 10), 0..3);
    }
}
