//! One module per pane, each with the same small interface: `draw` reads the state;
//! panes that take keys have `update`, called with the focused pane's actions.

pub mod containers;
pub mod credentials;
pub mod detail;
pub mod events;
pub mod footer;
pub mod help;
pub mod identity;
pub mod logs;
pub mod requests;
pub mod settings;
pub mod status;
