//! The command line where it writes files or takes names: `token --out` writes only a
//! regular file in a directory that exists (never a device, a FIFO or a made-up
//! directory), and `assign` says its arguments in the order it takes them and refuses a
//! container name Docker would refuse. No engine needed: these run the real binary.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_imds-spoof");

fn run(config: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("IMDS_SPOOF_CONFIG")
        .output()
        .expect("run imds-spoof")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn token_out(config: &Path, out: &Path) -> Output {
    let out = out.to_str().expect("utf-8 path");
    run(config, &["token", "--identity", "worker", "--out", out])
}

#[test]
fn token_out_refuses_a_fifo_and_a_missing_directory_and_leaves_them_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");

    let fifo = dir.path().join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let refused = token_out(&config, &fifo);
    assert!(!refused.status.success(), "a FIFO was replaced");
    assert!(
        stderr(&refused).contains("is a FIFO"),
        "{}",
        stderr(&refused)
    );
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());

    let missing = dir.path().join("missing").join("dir").join("tok");
    let refused = token_out(&config, &missing);
    assert!(!refused.status.success(), "a missing directory was made");
    assert!(
        stderr(&refused).contains("does not exist"),
        "{}",
        stderr(&refused)
    );
    assert!(!dir.path().join("missing").exists());

    // A directory in the way, and a link to a FIFO, are refused the same way.
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    assert!(!token_out(&config, &sub).status.success());
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&fifo, &link).unwrap();
    assert!(!token_out(&config, &link).status.success());
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());

    // A regular file, and a new one in a directory that exists, are written.
    let token = dir.path().join("token");
    std::fs::write(&token, "old").unwrap();
    let written = token_out(&config, &token);
    assert!(written.status.success(), "{}", stderr(&written));
    assert_ne!(std::fs::read(&token).unwrap(), b"old");
}

/// `/dev/full` and `/dev/null` are character devices for every process on the machine:
/// replacing one with a file (what a rename does, as root) breaks them until reboot.
#[test]
fn token_out_refuses_a_device_node() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    for device in ["/dev/full", "/dev/null"] {
        let refused = token_out(&config, Path::new(device));
        assert!(!refused.status.success(), "{device} was written");
        assert!(
            stderr(&refused).contains("character device"),
            "{device}: {}",
            stderr(&refused)
        );
        let kind = std::fs::symlink_metadata(device).unwrap().file_type();
        assert!(kind.is_char_device(), "{device} is no longer a device");
    }
}

#[test]
fn assign_usage_names_the_container_first() {
    let dir = tempfile::tempdir().unwrap();
    let help = run(&dir.path().join("config.toml"), &["assign", "--help"]);
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(
        text.contains("Usage: imds-spoof assign [OPTIONS] <CONTAINER> <IDENTITY>"),
        "{text}"
    );
    assert!(
        text.contains("imds-spoof assign [OPTIONS] <CONTAINER> --clear"),
        "{text}"
    );
}

#[test]
fn assign_refuses_names_docker_would_refuse_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let long = "a".repeat(5000);
    for name in ["", "app\nx", "/app", "-app", long.as_str()] {
        let refused = run(&config, &["assign", "--", name, "worker"]);
        assert!(!refused.status.success(), "{name:?} accepted");
        assert!(
            stderr(&refused).contains("container name"),
            "{name:?}: {}",
            stderr(&refused)
        );
    }
    assert!(!config.exists(), "a refused assign wrote the configuration");

    let done = run(&config, &["assign", "app-1", "worker"]);
    assert!(done.status.success(), "{}", stderr(&done));
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("name = \"app-1\""), "{text}");
}

#[test]
fn token_help_says_what_identity_means_for_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let help = run(&dir.path().join("config.toml"), &["token", "--help"]);
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.contains("Usage: imds-spoof token [OPTIONS]"), "{text}");
    assert!(text.contains("with `token`, whose token it is"), "{text}");
}

/// `--version` names the version, the commit and the build date; completions and the man
/// page come from the same command definition, every subcommand included.
#[test]
fn version_completions_and_man_page_come_from_the_binary() {
    let version = Command::new(BIN).arg("--version").output().expect("run");
    let text = String::from_utf8_lossy(&version.stdout).into_owned();
    let words: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(words.first(), Some(&"imds-spoof"), "{text}");
    assert_eq!(words.get(1), Some(&env!("CARGO_PKG_VERSION")), "{text}");
    let commit = words.get(2).map(|word| word.trim_start_matches('('));
    assert!(
        commit.is_some_and(|commit| commit == "unknown"
            || (commit.len() == 12 && commit.bytes().all(|b| b.is_ascii_hexdigit()))),
        "{text}"
    );
    let date = words.get(3).map(|word| word.trim_end_matches(')'));
    assert!(
        date.is_some_and(|date| date.len() == 10 && date.as_bytes()[4] == b'-'),
        "{text}"
    );

    for (shell, marker) in [
        ("bash", "complete -F _imds__spoof"),
        ("zsh", "#compdef imds-spoof"),
        ("fish", "complete -c imds-spoof"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = Command::new(BIN)
            .args(["completions", shell])
            .output()
            .expect("run");
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(script.contains(marker), "{shell} script lacks {marker}");
        for subcommand in ["serve", "up", "down", "doctor", "mfa", "completions", "man"] {
            assert!(
                script.contains(subcommand),
                "{shell} script lacks {subcommand}"
            );
        }
    }
    // The bash script is one bash accepts.
    let script = Command::new(BIN)
        .args(["completions", "bash"])
        .output()
        .expect("run");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("imds-spoof.bash");
    std::fs::write(&path, &script.stdout).expect("write script");
    let checked = Command::new("bash")
        .arg("-n")
        .arg(&path)
        .output()
        .expect("run bash -n");
    assert!(checked.status.success(), "bash -n: {}", stderr(&checked));
    let bad = Command::new(BIN)
        .args(["completions", "tcsh"])
        .output()
        .expect("run");
    assert!(!bad.status.success(), "an unknown shell is refused");

    let man = Command::new(BIN).arg("man").output().expect("run");
    assert!(man.status.success(), "{}", stderr(&man));
    let page = String::from_utf8_lossy(&man.stdout);
    assert!(
        page.starts_with(".ie") || page.contains(".TH imds-spoof"),
        "{page}"
    );
    for subcommand in ["serve", "doctor", "mfa"] {
        assert!(page.contains(subcommand), "the man page lacks {subcommand}");
    }
}
