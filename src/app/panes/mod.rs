//! One module per pane. The panes behind the tabs (and the help) are components with
//! one small interface, [`Pane`]: each owns its cursors and scroll, reads and changes
//! only [`Shared`] besides, and never reaches into another pane. The status bar and
//! the footer only draw.

use ratatui::layout::Rect;
use ratatui::Frame;

use super::action::Action;
use super::form::InputTarget;
use super::keymap::Context;
use super::shared::Shared;
pub use super::widgets::{row_at, select, Clicked};

pub mod containers;
pub mod credentials;
pub mod events;
pub mod footer;
pub mod help;
pub mod identity;
pub mod logs;
pub mod requests;
pub mod settings;
pub mod status;

/// A typed value applied, or why it was refused (the input stays open with the reason).
pub type Submitted = Result<(), String>;

pub trait Pane {
    /// Draws the pane into `area`; only reads.
    fn draw(&self, frame: &mut Frame, area: Rect, shared: &Shared);

    /// Applies an action the keymap found for one of this pane's contexts.
    fn update(&mut self, action: Action, shared: &mut Shared);

    /// The keymap contexts while this pane has the focus, most specific first
    /// (Global comes after them). The footer shows their keys.
    fn contexts(&self) -> Vec<Context>;

    /// A left click at (`x`, `y`) on the screen, in the pane drawn in `area`: selects
    /// the row under it.
    fn click(&mut self, _x: u16, _y: u16, _area: Rect, _shared: &mut Shared) -> Clicked {
        Clicked::Nothing
    }

    /// Whether a key of this pane does something in the current state (its footer hint
    /// is shown only then).
    fn hint_applies(&self, _action: Action, _shared: &Shared) -> bool {
        true
    }

    /// The text of an input this pane opened changed: says what is wrong with it so far
    /// (drawn under the pane as the user types). The request filter applies it here.
    fn typed(&mut self, _target: &InputTarget, _text: &str, _shared: &Shared) -> Submitted {
        Ok(())
    }

    /// Enter in an input this pane opened: applies the value, or says why not.
    fn submit(&mut self, _target: &InputTarget, _text: &str, _shared: &mut Shared) -> Submitted {
        Err("this pane takes no typed values".into())
    }
}
