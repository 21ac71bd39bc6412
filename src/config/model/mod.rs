//! The configuration as plain data: what the TOML file holds, with defaults, one file
//! per table.

mod config;
mod containers;
mod faults;
mod identity;
mod service_accounts;
mod settings;

pub use config::Config;
pub use containers::{
    ContainerFacts, ContainerRule, ContainerSettings, IdentityOrigin, UnresolvedPolicy,
};
pub use faults::*;
pub use identity::*;
pub use service_accounts::{ServiceAccountRule, IDENTITY_NAMESPACE};
pub use settings::*;
