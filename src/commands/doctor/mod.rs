//! `imds-spoof doctor`: checks what usually goes wrong, one line each with ok/warn/fail and
//! what to do. Exits non-zero when any check fails. One file per family of checks.

mod broker;
mod certificates;
mod container_credentials;
mod containers;
mod credentials;
mod network;
mod proxy;
mod report;
mod run;
#[cfg(test)]
mod test_support;

pub use run::run;
