//! The one support module of every integration test crate (`mod support;`), split by job:
//!
//! - [`need`]: preconditions (Docker, the Python clients, tmux, curl, openssl, the offline
//!   images): skip with a visible reason, or fail when the environment requires them;
//! - [`sample`]: the shipped sample configuration, read once through the library's loader,
//!   and the expected values every test compares against;
//! - [`server`]: the real binary's `serve` as a child process;
//! - [`broker`]: the real router in-process (`oneshot`), for the conformance suite;
//! - [`docker`]: the engine lock, labelled objects and their cleanup, `up`, client containers;
//! - [`http`], [`clients`], [`aws`]: a raw HTTP client, the Python IMDS clients, aws-config;
//! - [`wait`]: waiting on a condition with a deadline, and a clock tests move by hand.

// Each test crate uses a different subset of these helpers.
#![allow(dead_code, unused_imports)]

pub mod aws;
pub mod broker;
pub mod clients;
pub mod compose;
pub mod docker;
pub mod http;
pub mod leg;
pub mod moto;
pub mod need;
pub mod sample;
pub mod server;
pub mod wait;

use std::io::Read;
use std::path::{Path, PathBuf};

// The conformance suite reaches its harness as `crate::support::*`.
pub use broker::{
    fault, loopback, request, wire, Answer, Imds, KnownCallers, RequestBuilder, CREDENTIALS_PATH,
    LISTEN, META, NO_ANSWER_WAIT, PEER, ROLE, SIGNER, TOKEN_PATH,
};
pub use need::{require, require_all, Need};
pub use sample::{identity, sample, sample_config, set_role_source, Expected};
pub use server::{serve_sample, ServeOptions, Server, BIN};
pub use wait::{wait_for, wait_for_records, wait_until, wait_until_async, ManualClock};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A temporary directory that disappears with the test.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("imds-spoof-test-")
        .tempdir()
        .expect("create a temporary directory")
}

/// Writes `doc` as `NAME` in `dir` and returns its path.
pub fn write_config(dir: &Path, name: &str, doc: &toml_edit::DocumentMut) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, doc.to_string()).expect("write the test configuration");
    path
}

/// Writes an executable shell script.
pub fn write_script(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).expect("write script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// A file's text, lossily decoded; empty when it cannot be read.
pub fn read_lossy(path: &Path) -> String {
    let mut bytes = Vec::new();
    if let Ok(mut file) = std::fs::File::open(path) {
        let _ = file.read_to_end(&mut bytes);
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// stdout and stderr of a finished command, with its exit status, for assertion messages.
pub fn describe(output: &std::process::Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
