//! The live request table and the selected exchange's detail: newest first, coloured
//! by status, filterable, pausable. The pane owns the list, its selection and the
//! detail's focus and scroll.

mod detail;
mod table;

use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::Frame;

use crate::app::action::Action;
use crate::app::exchanges::ExchangeList;
use crate::app::filter::Filter;
use crate::app::form::{Input, InputTarget};
use crate::app::keymap::Context;
use crate::app::layout::{areas, screen, WIDE};
use crate::app::reproduce;
use crate::app::shared::Shared;

use super::{row_at, Clicked, Pane, Submitted};

pub struct RequestsPane {
    pub(crate) exchanges: ExchangeList,
    /// Keys go to the detail (scrolling) instead of the table.
    detail_focused: bool,
    detail_scroll: u16,
}

/// The table's and the detail's areas: side by side when wide, stacked when narrow
/// (where a focused detail takes the whole body).
fn split(body: Rect, detail_focused: bool) -> (Option<Rect>, Option<Rect>) {
    if body.width >= WIDE {
        let [table, detail] =
            Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)])
                .areas(body);
        (Some(table), Some(detail))
    } else if detail_focused {
        (None, Some(body))
    } else {
        let [table, detail] =
            Layout::vertical([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(body);
        (Some(table), Some(detail))
    }
}

impl RequestsPane {
    pub fn new(exchanges: ExchangeList) -> RequestsPane {
        RequestsPane {
            exchanges,
            detail_focused: false,
            detail_scroll: 0,
        }
    }

    fn split(&self, size: (u16, u16)) -> (Option<Rect>, Option<Rect>) {
        split(areas(screen(size)).body, self.detail_focused)
    }

    /// Request rows the table shows at this screen size.
    fn table_rows(&self, size: (u16, u16)) -> usize {
        self.split(size).0.map_or(1, |table| {
            usize::from(table.height.saturating_sub(3)).max(1)
        })
    }

    /// Lines the detail shows at this screen size.
    fn detail_rows(&self, size: (u16, u16)) -> u16 {
        self.split(size)
            .1
            .map_or(1, |detail| detail.height.saturating_sub(2).max(1))
    }

    /// The screen changed size: keep the selection in view.
    pub fn resized(&mut self, shared: &Shared) {
        let rows = self.table_rows(shared.size);
        self.exchanges.scroll_into_view(rows);
    }

    fn update_table(&mut self, action: Action, shared: &mut Shared) {
        let rows = self.table_rows(shared.size);
        let page = rows as isize;
        let before = self.exchanges.selected_record().map(|record| record.id);
        match action {
            Action::Up => self.exchanges.move_selection(-1, rows),
            Action::Down => self.exchanges.move_selection(1, rows),
            Action::PageUp => self.exchanges.move_selection(-page, rows),
            Action::PageDown => self.exchanges.move_selection(page, rows),
            Action::Top => self.exchanges.select_row(0, rows),
            Action::Bottom => self.exchanges.select_row(usize::MAX, rows),
            Action::ToggleDetail => {
                self.detail_focused = true;
                self.detail_scroll = 0;
            }
            Action::StartFilter => {
                let current = self.exchanges.filter().text().to_string();
                shared.input = Some(Input::new(InputTarget::Filter, "filter", current));
            }
            Action::Back if !self.exchanges.filter().is_empty() => {
                self.exchanges.set_filter(Filter::default());
            }
            Action::TogglePause => self.exchanges.toggle_pause(),
            Action::CopyCommand => self.copy_command(shared),
            Action::ClearExchanges => {
                self.exchanges.clear();
                shared.inform("list cleared");
            }
            _ => {}
        }
        if self.exchanges.selected_record().map(|record| record.id) != before {
            self.detail_scroll = 0;
        }
    }

    /// `y`: the selected request's command, or with none the line that makes one.
    fn copy_command(&self, shared: &mut Shared) {
        match self.exchanges.selected_record() {
            Some(record) => match reproduce::command(record, shared.broker_addr) {
                Ok(command) => shared.copy("the command", command),
                Err(why) => shared.complain(why),
            },
            None => {
                let line = table::first_request_line(&shared.config().network.name);
                shared.copy("the docker run line", line);
            }
        }
    }

    fn update_detail(&mut self, action: Action, shared: &mut Shared) {
        let page = self.detail_rows(shared.size);
        let max = self
            .exchanges
            .selected_record()
            .map_or(0, |record| {
                detail::lines(record, shared.reveal).len() as u16
            })
            .saturating_sub(1);
        let scroll = self.detail_scroll;
        self.detail_scroll = match action {
            Action::Up => scroll.saturating_sub(1),
            Action::Down => (scroll + 1).min(max),
            Action::PageUp => scroll.saturating_sub(page),
            Action::PageDown => (scroll + page).min(max),
            Action::ToggleDetail | Action::Back => {
                self.detail_focused = false;
                0
            }
            Action::Top => 0,
            Action::CopyCommand => {
                self.copy_command(shared);
                scroll
            }
            _ => scroll,
        };
    }
}

impl Pane for RequestsPane {
    fn draw(&self, frame: &mut Frame, area: Rect, shared: &Shared) {
        let (table, detail_area) = split(area, self.detail_focused);
        if let Some(table) = table {
            table::draw(frame, table, &self.exchanges, shared, !self.detail_focused);
        }
        if let Some(detail_area) = detail_area {
            detail::draw(
                frame,
                detail_area,
                self.exchanges.selected_record().map(|record| &**record),
                shared.reveal,
                (self.detail_focused, self.detail_scroll),
            );
        }
    }

    fn click(&mut self, x: u16, y: u16, area: Rect, shared: &mut Shared) -> Clicked {
        let (table, detail) = split(area, self.detail_focused);
        if detail.is_some_and(|detail| detail.contains(Position::new(x, y))) {
            self.detail_focused = true;
            return Clicked::Selected;
        }
        let Some(table) = table.filter(|table| table.contains(Position::new(x, y))) else {
            return Clicked::Nothing;
        };
        self.detail_focused = false;
        let rows = self.table_rows(shared.size);
        let Some(index) = row_at(
            y,
            table.y + 2,
            self.exchanges.visible_offset(rows),
            self.exchanges.match_count(),
        ) else {
            return Clicked::Nothing;
        };
        if y >= table.bottom().saturating_sub(1) {
            return Clicked::Nothing;
        }
        if index == self.exchanges.selected_row() {
            return Clicked::Again;
        }
        self.exchanges.select_row(index, rows);
        self.detail_scroll = 0;
        Clicked::Selected
    }

    fn update(&mut self, action: Action, shared: &mut Shared) {
        if self.detail_focused {
            self.update_detail(action, shared);
        } else {
            self.update_table(action, shared);
        }
    }

    fn contexts(&self) -> Vec<Context> {
        if self.detail_focused {
            vec![Context::Detail]
        } else {
            vec![Context::Requests]
        }
    }

    fn hint_applies(&self, action: Action, _shared: &Shared) -> bool {
        // Esc in the table clears the filter: offered while there is one.
        !(action == Action::Back && !self.detail_focused && self.exchanges.filter().is_empty())
    }

    fn typed(&mut self, _target: &InputTarget, text: &str, _shared: &Shared) -> Submitted {
        let filter = Filter::parse(text)?;
        self.exchanges.set_filter(filter);
        Ok(())
    }

    fn submit(
        &mut self,
        _target: &InputTarget,
        text: &str,
        _shared: &mut Shared,
    ) -> Result<(), String> {
        let filter = Filter::parse(text)?;
        self.exchanges.set_filter(filter);
        Ok(())
    }
}
