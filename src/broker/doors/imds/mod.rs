//! The IMDS door (169.254.169.254, [fd00:ec2::254]): EC2's instance metadata service with
//! its session tokens, the extended credentials paths' rule and its own faults, over the
//! pipeline every door shares (`broker/pipeline.rs`).

mod extended;
mod extended_paths;
mod faults;
mod provider_answer;
mod steps;
mod token;
mod token_path;
mod tokens;

pub(in crate::broker) use steps::decide;
pub use tokens::TokenStore;
