//! What can stop the dashboard.

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("the terminal cannot be used for the dashboard: {0} (use `imds-spoof up` without a terminal)")]
    Terminal(#[source] std::io::Error),
}
