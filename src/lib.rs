//! imds-spoof: a faithful local AWS EC2 Instance Metadata Service for Docker containers.
//!
//! Layers, highest first: a module may import only modules listed after it
//! (`tests/layers.rs` checks this):
//!
//! commands, cli, app, session, docker, broker, provider, imds, config, memo, digits

pub mod app;
pub mod broker;
pub mod cli;
pub mod commands;
pub mod config;
pub mod digits;
// Only the session and the commands drive the engine; nothing outside the crate does.
mod docker;
pub mod imds;
pub mod memo;
pub mod provider;
pub mod session;
