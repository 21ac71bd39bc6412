//! The proxy-leg attack (docs/architecture.md; issue 9, hole 2), on any engine this
//! machine has: a container with raw sockets tells the proxy that the gateway's address
//! is at its own MAC (ARP spoofing) and captures every frame that reaches it
//! (tests/clients/arp_sniff.py), while another container keeps asking IMDS through the
//! proxy. Run by tests/docker_leg.rs (Docker, rootful Podman) and tests/podman.rs
//! (rootless Podman).

use std::path::Path;
use std::time::Duration;

use super::docker::*;
use super::wait::wait_for;
use super::{describe as text, Expected};

const GATEWAY: &str = "169.254.0.1";
const PROXY: &str = "169.254.169.254";
const ATTACKER: &str = "imds-spoof-test-arp-attacker";
const VICTIM: &str = "imds-spoof-test-arp-victim";
/// How long the attacker poisons and listens.
const ATTACK_SECONDS: u32 = 8;

/// The attack, with `up` running on `cli`'s engine: a victim keeps asking IMDS while the
/// attacker poisons the proxy's neighbour table and captures what reaches it, into
/// CAPTURE_DIR (which the engine's containers may write). `mounts` are the client
/// image's; the attacker is given NET_RAW, which Podman's defaults leave out.
pub fn attack_the_leg(cli: Cli, mounts: &[String], capture_dir: &Path) {
    let secret = run_secret(cli);
    let proxy_pid = proxy_pid(cli);

    // The victim asks IMDS every 0.2 s for the whole attack (and a little before and after):
    // with a TCP leg, nginx's keep-alive connection to the broker is open when the poisoning
    // starts, and its next request goes to the attacker.
    let victim_loop = format!(
        "for i in $(seq 1 {}); do curl -s -m 2 -o /dev/null -w '%{{http_code}}\\n' http://{PROXY}/latest/meta-data/instance-id; sleep 0.2; done",
        (ATTACK_SECONDS + 4) * 5
    );
    let victim = start_on_network(cli, VICTIM, &[], mounts, &["bash", "-c", &victim_loop]);
    // The attack starts once the victim has been answered (the proxy's leg is in use).
    let answered = wait_for(Duration::from_secs(30), || {
        let logs = cli.run(&["logs", &victim]);
        let codes = String::from_utf8_lossy(&logs.stdout).into_owned();
        codes.lines().next().map(str::to_string)
    });
    assert!(answered.is_some(), "the victim was never answered");

    let out_volume = format!("--volume={}:/out", capture_dir.display());
    let attack_seconds = ATTACK_SECONDS.to_string();
    let attacker = start_on_network(
        cli,
        ATTACKER,
        &[&out_volume, "--cap-add=NET_RAW"],
        mounts,
        &[
            "python3",
            "/clients/arp_sniff.py",
            GATEWAY,
            PROXY,
            &attack_seconds,
            "/out/capture.bin",
        ],
    );
    let attacker_mac = container_mac(cli, &attacker);

    // The attack takes: the proxy's kernel believes the gateway is at the attacker's MAC.
    let poisoned = wait_for(Duration::from_secs(ATTACK_SECONDS.into()), || {
        let arp = std::fs::read_to_string(format!("/proc/{proxy_pid}/net/arp")).ok()?;
        (neighbour_mac(&arp, GATEWAY).as_deref() == Some(attacker_mac.as_str())).then_some(arp)
    });
    assert!(
        poisoned.is_some(),
        "the ARP spoofing never took (the proxy's neighbour table: {:?}); the test proves nothing",
        std::fs::read_to_string(format!("/proc/{proxy_pid}/net/arp"))
    );
    // And while it holds, the proxy has no TCP connection of its own to the gateway.
    let tcp = std::fs::read_to_string(format!("/proc/{proxy_pid}/net/tcp")).expect("proxy tcp");
    let to_gateway = connections_to(&tcp, GATEWAY);

    let waited = cli.run(&["wait", &attacker]);
    assert!(waited.status.success(), "{}", text(&waited));
    let report = cli.run(&["logs", &attacker]);
    let report_text = text(&report);
    assert_eq!(
        String::from_utf8_lossy(&waited.stdout).trim(),
        "0",
        "attacker failed: {report_text}"
    );
    let captured = std::fs::read(capture_dir.join("capture.bin")).expect("capture file");
    let capture_text = String::from_utf8_lossy(&captured).to_ascii_lowercase();
    eprintln!(
        "attacker: {}; proxy TCP connections to the gateway: {to_gateway}",
        String::from_utf8_lossy(&report.stdout).trim()
    );

    assert!(
        !contains(&captured, secret.as_bytes()),
        "the attacker captured the run's secret: {report_text}"
    );
    assert!(
        !capture_text.contains("x-imds-spoof"),
        "the attacker captured the proxy's headers: {report_text}"
    );
    assert_eq!(
        to_gateway, 0,
        "the proxy has TCP connections to the gateway:\n{tcp}"
    );

    // The victim was served all along: the attack cost it nothing.
    let waited = cli.run(&["wait", &victim]);
    assert!(waited.status.success(), "{}", text(&waited));
    let codes = cli.run(&["logs", &victim]);
    let codes = String::from_utf8_lossy(&codes.stdout).to_string();
    assert!(
        !codes.is_empty() && codes.lines().all(|code| code == "200"),
        "victim's answers: {codes}"
    );
    let out = run_client_in(
        cli,
        "imds-spoof-test-arp-after",
        &[],
        mounts,
        &CURL_INSTANCE_ID,
    );
    assert_stdout(&out, &Expected::sample_identity(0).instance_id);
    for name in [VICTIM, ATTACKER] {
        cli.run(&["rm", "-f", name]);
    }
}

/// `run -d` of the client image on the imds-spoof network (default capabilities, with
/// `extra`), with tests/clients at /clients; returns the container id.
fn start_on_network(
    cli: Cli,
    name: &str,
    extra: &[&str],
    mounts: &[String],
    cmd: &[&str],
) -> String {
    let mut run_args = vec!["--network", "imds-spoof"];
    run_args.extend(extra);
    start_client_in(cli, name, &run_args, mounts, cmd)
}

/// The run's secret, from the nginx.conf in the proxy (`docker cp` streams a tar archive;
/// the secret is the quoted value after the header name).
fn run_secret(cli: Cli) -> String {
    let out = cli.run(&["cp", "imds-spoof-proxy:/etc/nginx/nginx.conf", "-"]);
    assert!(out.status.success(), "{}", text(&out));
    let conf = String::from_utf8_lossy(&out.stdout);
    let after = conf
        .split("X-Imds-Spoof-Secret \"")
        .nth(1)
        .expect("secret header in nginx.conf");
    let secret = after.split('"').next().expect("quoted secret").to_string();
    assert!(secret.len() >= 32, "secret {secret:?}");
    secret
}

/// The proxy's main process on this host: /proc/PID/net/* is its network namespace.
fn proxy_pid(cli: Cli) -> u32 {
    let out = cli.run(&["inspect", "-f", "{{.State.Pid}}", "imds-spoof-proxy"]);
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("proxy pid")
}

fn container_mac(cli: Cli, id: &str) -> String {
    let out = cli.run(&[
        "inspect",
        "-f",
        "{{range .NetworkSettings.Networks}}{{.MacAddress}}{{end}}",
        id,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_lowercase()
}

/// The MAC /proc/net/arp holds for `ip`.
fn neighbour_mac(arp: &str, ip: &str) -> Option<String> {
    arp.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        (fields.first() == Some(&ip)).then(|| fields.get(3).map(|mac| mac.to_lowercase()))?
    })
}

/// How many /proc/net/tcp entries are connections the proxy opened to `ip`: the remote end is
/// `ip`, the local end is not the proxy's port 80 (the host's health probe comes in from the
/// gateway to port 80; that is the client side, not the leg). Addresses are little-endian hex.
fn connections_to(tcp: &str, ip: &str) -> usize {
    let ip: std::net::Ipv4Addr = ip.parse().expect("ip");
    let hex: String = ip
        .octets()
        .iter()
        .rev()
        .map(|b| format!("{b:02X}"))
        .collect();
    tcp.lines()
        .skip(1)
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local_port = fields.get(1).and_then(|local| local.split(':').nth(1));
            let remote_ip = fields.get(2).and_then(|remote| remote.split(':').next());
            remote_ip == Some(hex.as_str()) && local_port != Some("0050")
        })
        .count()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty()
        && haystack
            .windows(needle.len())
            .any(|window| window == needle)
}
