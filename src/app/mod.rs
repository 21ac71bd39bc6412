//! The dashboard: state, actions, one module per pane, a keymap. It talks to the
//! broker through its recorder and config store, and to Docker through the session
//! task (`runtime`), by messages only: drawing never waits for Docker.

mod action;
mod edits;
mod error;
mod event_loop;
mod exchanges;
mod fields;
mod filter;
mod form;
mod format;
mod identity_list;
mod json;
mod keymap;
mod layout;
pub mod panes;
mod reproduce;
mod roles;
mod runtime;
mod shared;
mod state;
mod terminal;
mod theme;
mod ui;
mod update;
mod widgets;

pub use action::{Action, ContainerRow, Effect, Part, PartState, SessionUpdate, Tab};
pub use error::AppError;
pub use event_loop::run;
pub use exchanges::ExchangeList;
pub use filter::Filter;
pub use form::SettingRow;
pub use keymap::{action_for, Context, BINDINGS};
pub use runtime::RunOptions;
pub use shared::{Message, Shared};
pub use state::{App, Event};
pub use ui::draw;
