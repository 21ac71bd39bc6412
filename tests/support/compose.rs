//! The README's compose example (an "ECS task" playing worker by its label and an "EKS
//! pod" with a token file), made runnable with the offline client image: only `image:
//! my-app` becomes the client image with a command that fetches the credentials the way
//! the SDK would, the client image's host mounts and our test label are added. Run by
//! docker-compose (tests/docker_doors.rs) and podman-compose (tests/podman.rs).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::docker::{imds_spoof, TEST_LABEL};
use super::{describe, repo, Expected};

/// The example written into a project directory, ready for a compose tool.
pub struct ReadmeExample {
    pub project: PathBuf,
    pub compose: String,
}

impl ReadmeExample {
    /// Writes `docker-compose.yml` and the pod's token (as the README says, beside the
    /// compose file) into DIR/compose-example. `env` is passed to `imds-spoof token`.
    pub fn write(
        config: &Path,
        dir: &Path,
        mounts: &[String],
        client_image: &str,
        env: &[(&str, &str)],
    ) -> ReadmeExample {
        let readme = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
        let example = readme
            .split("```yaml\n")
            .map(|block| block.split("```").next().unwrap_or_default())
            .find(|block| block.contains("  task:") && block.contains("  pod:"))
            .expect("the README has the compose example with task and pod");
        let project = dir.join("compose-example");
        std::fs::create_dir_all(&project).expect("project directory");
        let token = project.join("pod-token");
        let made = imds_spoof(
            config,
            &[
                "token",
                "--identity",
                "worker",
                "--out",
                &token.to_string_lossy(),
            ],
            env,
        );
        assert!(made.status.success(), "{}", describe(&made));
        let compose = runnable(example, mounts, client_image);
        std::fs::write(project.join("docker-compose.yml"), &compose).expect("compose file");
        ReadmeExample { project, compose }
    }

    /// `TOOL up`, the logs of both services, `TOOL down`; asserts both got worker's keys.
    pub fn run_and_check(&self, tool: &Path) {
        let run = |args: &[&str]| -> Output {
            Command::new(tool)
                .args(["--project-name", "imds-spoof-test-readme"])
                .args(args)
                .current_dir(&self.project)
                .output()
                .expect("run the compose tool")
        };
        let up = run(&["up", "--no-color"]);
        let task = run(&["logs", "--no-color", "task"]);
        let pod = run(&["logs", "--no-color", "pod"]);
        run(&["down", "--remove-orphans"]);
        assert!(up.status.success(), "{}\n{}", describe(&up), self.compose);
        let worker_key = Expected::sample_identity(1).access_key;
        for (what, logs) in [("task", &task), ("pod", &pod)] {
            let logs = String::from_utf8_lossy(&logs.stdout);
            assert!(
                logs.contains(&worker_key),
                "the README's {what} got no worker keys:\n{logs}\n{}",
                self.compose
            );
        }
    }
}

/// The example with `image: my-app` replaced by the client image and a command that
/// fetches what the service's SDK would, plus our label and the client's host mounts.
fn runnable(example: &str, mounts: &[String], client_image: &str) -> String {
    let fetch_task =
        "curl -s --max-time 5 http://169.254.170.2$$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI";
    let fetch_pod = "curl -s --max-time 5 -H \"Authorization: $$(cat $$AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE)\" $$AWS_CONTAINER_CREDENTIALS_FULL_URI";
    let host_mounts: String = mounts
        .iter()
        .filter_map(|mount| mount.strip_prefix("--volume="))
        .map(|mount| format!("      - {mount}\n"))
        .collect();
    let (key, value) = TEST_LABEL.split_once('=').expect("label key=value");
    rewrite_services(example, |service, lines| {
        let fetch = match service {
            "task" => fetch_task,
            "pod" => fetch_pod,
            other => panic!("unexpected service {other} in the README's example"),
        };
        let mut out = Vec::new();
        for line in lines {
            if line.trim() == "image: my-app" {
                out.push(format!("    image: {client_image}"));
                out.push(format!("    command: [\"sh\", \"-c\", {fetch:?}]"));
                continue;
            }
            out.push(line.to_string());
            // YAML maps are unordered: our additions go right under the example's keys.
            if line.trim() == "labels:" {
                out.push(format!("      {key}: \"{value}\""));
            }
            if line.trim() == "volumes:" {
                out.extend(host_mounts.lines().map(str::to_string));
            }
        }
        if !lines.iter().any(|line| line.trim() == "labels:") {
            out.push("    labels:".into());
            out.push(format!("      {key}: \"{value}\""));
        }
        if !lines.iter().any(|line| line.trim() == "volumes:") {
            out.push("    volumes:".into());
            out.extend(host_mounts.lines().map(str::to_string));
        }
        out
    })
}

/// The compose text with each service's lines (after its `  name:` line) given to `edit`.
fn rewrite_services(example: &str, edit: impl Fn(&str, &[&str]) -> Vec<String>) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut current: Option<(String, Vec<&str>)> = None;
    let mut in_services = false;
    let flush = |current: &mut Option<(String, Vec<&str>)>, out: &mut Vec<String>| {
        if let Some((name, lines)) = current.take() {
            out.extend(edit(&name, &lines));
        }
    };
    for line in example.lines() {
        let top_level = !line.starts_with(' ') && !line.is_empty();
        let service_header = line.starts_with("  ") && !line.starts_with("   ");
        if top_level {
            flush(&mut current, &mut out);
            in_services = line.starts_with("services:");
            out.push(line.to_string());
        } else if in_services && service_header && line.trim_end().contains(':') {
            flush(&mut current, &mut out);
            let name = line
                .trim()
                .split(':')
                .next()
                .unwrap_or_default()
                .to_string();
            out.push(line.to_string());
            current = Some((name, Vec::new()));
        } else if let Some((_, lines)) = current.as_mut() {
            lines.push(line);
        } else {
            out.push(line.to_string());
        }
    }
    flush(&mut current, &mut out);
    out.join("\n") + "\n"
}
