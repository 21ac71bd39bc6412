//! IMDS conformance suite (docs/protocol.md §8), in-process: the real router and the real
//! built-in provider, driven with `tower::ServiceExt::oneshot`; a real socket
//! (`Broker::start` on 127.0.0.1:0) only where a case needs a connection (drop fault,
//! over-long request heads). Each test is named after its case number.
//!
//! Coverage of docs/protocol.md §10 here: 1–43 and 45–56. Cases 44 (botocore and aws-config agree) and 57
//! (token PUT refused: v1 fallback) need real clients and live in tests/real_clients.rs; the ECS
//! and EKS doors' 58–60 and 63–67 are in conformance/doors.rs, task metadata's routing (62) in
//! conformance/task_metadata.rs.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

#[path = "conformance/access.rs"]
mod access;
#[path = "conformance/answers.rs"]
mod answers;
#[path = "conformance/configuration.rs"]
mod configuration;
#[path = "conformance/documents.rs"]
mod documents;
#[path = "conformance/door_switches.rs"]
mod door_switches;
#[path = "conformance/doors.rs"]
mod doors;
#[path = "conformance/events.rs"]
mod events;
#[path = "conformance/faults.rs"]
mod faults;
#[path = "conformance/hardening.rs"]
mod hardening;
#[path = "conformance/ipv6.rs"]
mod ipv6;
#[path = "conformance/nginx_errors.rs"]
mod nginx_errors;
#[path = "conformance/providers.rs"]
mod providers;
#[path = "conformance/record.rs"]
mod record;
#[path = "conformance/signatures.rs"]
mod signatures;
#[path = "conformance/task_metadata.rs"]
mod task_metadata;
#[path = "conformance/tokens.rs"]
mod tokens;
#[path = "conformance/tree.rs"]
mod tree;
