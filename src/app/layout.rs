//! Where things go on the screen: the bands of the whole screen, the tab labels,
//! the list-and-form split of the identity panes.

use ratatui::layout::{Constraint, Layout, Rect};

use super::action::Tab;

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

/// The whole terminal of this size.
pub fn screen((width, height): (u16, u16)) -> Rect {
    Rect::new(0, 0, width, height)
}

/// A tab's label; narrow screens get a tighter one so all seven fit in 80 columns. The
/// current tab is marked `▶`, readable without colour.
pub fn tab_label(tab: Tab, width: u16, current: bool) -> String {
    let marker = if current { "▶" } else { " " };
    if width < 90 && !current {
        format!("{} {} ", tab.index() + 1, tab.title())
    } else {
        format!("{marker}{} {} ", tab.index() + 1, tab.title())
    }
}

/// The tab whose label covers `column` of a tab bar `width` columns wide.
pub fn tab_at(column: u16, width: u16, current: Tab) -> Option<Tab> {
    let mut x = 0u16;
    for tab in Tab::ALL {
        let label = tab_label(tab, width, tab == current).chars().count() as u16;
        if column >= x && column < x + label {
            return Some(tab);
        }
        x += label;
    }
    None
}

/// The identity list on the left, the pane's form on the right.
pub fn list_and_form(area: Rect) -> [Rect; 2] {
    let list_width = if area.width >= WIDE { 28 } else { 18 };
    Layout::horizontal([Constraint::Length(list_width), Constraint::Min(20)]).areas(area)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clicks_find_the_tab_under_them() {
        let current = Tab::Requests;
        assert_eq!(tab_at(0, 80, current), Some(Tab::Requests));
        let second = tab_label(Tab::Requests, 80, true).chars().count() as u16;
        assert_eq!(tab_at(second, 80, current), Some(Tab::Identity));
        assert_eq!(tab_at(79, 80, current), None);
        // All seven fit in 80 columns whichever is current.
        for current in Tab::ALL {
            let total: usize = Tab::ALL
                .iter()
                .map(|tab| tab_label(*tab, 80, *tab == current).chars().count())
                .sum();
            assert!(total <= 80, "{total}");
        }
    }
}
