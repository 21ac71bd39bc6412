//! The log pane: what the process logs through tracing, captured by tui-logger
//! (nothing may print to the terminal while the dashboard owns it).

use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Span;
use ratatui::widgets::Block;
use ratatui::Frame;
use tui_logger::{TuiLoggerLevelOutput, TuiLoggerWidget, TuiWidgetEvent, TuiWidgetState};

use crate::app::action::Action;
use crate::app::keymap::Context;
use crate::app::shared::Shared;
use crate::app::theme;

use super::Pane;

/// The log pane's own state: tui-logger's scroll position and level filter.
pub struct LogsPane {
    state: TuiWidgetState,
}

impl Default for LogsPane {
    fn default() -> LogsPane {
        LogsPane {
            state: TuiWidgetState::new().set_default_display_level(tui_logger::LevelFilter::Info),
        }
    }
}

impl Pane for LogsPane {
    fn draw(&self, frame: &mut Frame, area: Rect, _shared: &Shared) {
        let widget = TuiLoggerWidget::default()
            .block(
                Block::bordered()
                    .title(Span::styled(
                        " Logs ",
                        Style::new().add_modifier(Modifier::BOLD),
                    ))
                    .border_style(theme::border(true)),
            )
            .output_separator(' ')
            .output_timestamp(Some("%H:%M:%S".to_string()))
            .output_level(Some(TuiLoggerLevelOutput::Abbreviated))
            .output_target(false)
            .output_file(false)
            .output_line(false)
            .style_error(Style::new().fg(Color::Red))
            .style_warn(Style::new().fg(Color::Yellow))
            .style_info(Style::new())
            .style_debug(Style::new().fg(Color::DarkGray))
            .state(&self.state);
        frame.render_widget(widget, area);
    }

    fn update(&mut self, action: Action, _shared: &mut Shared) {
        let event = match action {
            Action::PageUp => TuiWidgetEvent::PrevPageKey,
            Action::PageDown => TuiWidgetEvent::NextPageKey,
            Action::Top => TuiWidgetEvent::EscapeKey,
            _ => return,
        };
        self.state.transition(event);
    }

    fn contexts(&self) -> Vec<Context> {
        vec![Context::Logs]
    }
}
