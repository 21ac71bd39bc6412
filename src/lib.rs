//! imds-spoof: a faithful local AWS EC2 Instance Metadata Service for Docker containers.

pub mod app;
pub mod broker;
pub mod cli;
pub mod commands;
pub mod config;
pub mod docker;
pub mod imds;
pub mod provider;
pub mod session;
