//! moto's server (PyPI `moto`, in the test venv) as the STS endpoint: a real server many
//! teams test against, started per test on a free loopback port and stopped with it.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::wait::wait_until;

pub struct Moto {
    child: Child,
    pub url: String,
}

impl Moto {
    /// Starts `python -m moto.server` and waits until it answers (up to 30 s).
    pub fn start(python: &Path) -> Moto {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        Moto::start_on(python, port)
    }

    /// On `port`: STS coming back where it was after an outage.
    pub fn start_on(python: &Path, port: u16) -> Moto {
        let child = Command::new(python)
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto's server");
        let moto = Moto {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let up = wait_until(Duration::from_secs(30), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        assert!(up, "moto's server did not start on port {port}");
        moto
    }

    pub fn port(&self) -> u16 {
        self.url
            .rsplit(':')
            .next()
            .and_then(|port| port.parse().ok())
            .unwrap_or(0)
    }

    /// Stops the server (an STS outage) and waits for it to be gone.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The role moto's sessions are assumed as in the tests.
pub const APP_ROLE_ARN: &str = "arn:aws:iam::123456789012:role/app";

/// Makes identity 0 of the sample `doc` assume [`APP_ROLE_ARN`] with identity 1's static
/// keys (`mfa_serial` too when given), STS at `sts`.
pub fn assume_app_role(doc: &mut toml_edit::DocumentMut, sts: &str, mfa_serial: Option<&str>) {
    let base = super::identity(1).name.clone();
    let role = super::sample::role(doc, 0);
    for key in [
        "access_key_id",
        "secret_access_key",
        "session_token",
        "expiration",
    ] {
        role.remove(key);
    }
    role["source"] = toml_edit::value("assume-role");
    role["role_arn"] = toml_edit::value(APP_ROLE_ARN);
    role["from_identity"] = toml_edit::value(base);
    if let Some(serial) = mfa_serial {
        role["mfa_serial"] = toml_edit::value(serial);
    }
    doc["aws"]["endpoint_url"] = toml_edit::value(sts);
}
