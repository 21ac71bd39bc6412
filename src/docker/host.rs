//! Facts about this machine: is a process still alive (leftovers of dead runs), is this host
//! an EC2 instance whose own route to the real IMDS our /16 bridge would capture.

use std::net::Ipv4Addr;
use std::path::Path;

/// This process, as written into the proxy's labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessMark {
    pub pid: u32,
    /// Start time in clock ticks since boot (/proc/PID/stat field 22): a reused pid has
    /// another start time, so a dead run's pid cannot pass for a live one.
    pub start: Option<u64>,
    pub host: String,
}

impl ProcessMark {
    pub fn current() -> ProcessMark {
        let pid = std::process::id();
        ProcessMark {
            pid,
            start: process_start(pid),
            host: hostname(),
        }
    }

    /// `PID` or `PID:START` (the label value).
    pub fn label(&self) -> String {
        match self.start {
            Some(start) => format!("{}:{start}", self.pid),
            None => self.pid.to_string(),
        }
    }

    pub fn parse_label(value: &str, host: &str) -> Option<ProcessMark> {
        let (pid, start) = match value.split_once(':') {
            Some((pid, start)) => (pid, start.parse().ok()),
            None => (value, None),
        };
        Some(ProcessMark {
            pid: pid.trim().parse().ok()?,
            start,
            host: host.to_string(),
        })
    }

    /// Is that process still running? Only answerable on its own host; elsewhere we
    /// assume it is (refusing is safer than breaking someone's run).
    pub fn alive(&self) -> bool {
        if self.host != hostname() {
            return true;
        }
        match (process_start(self.pid), self.start) {
            (None, _) => false,
            (Some(now), Some(then)) => now == then,
            (Some(_), None) => true,
        }
    }
}

fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // A killed process whose parent has not reaped it yet is a zombie: dead all the same.
    if matches!(fields.next(), Some("Z") | Some("X") | None) {
        return None;
    }
    fields.nth(18)?.parse().ok()
}

pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_string())
        .ok()
        .filter(|name| !name.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".to_string())
}

/// Why we think this host is an EC2 instance, if we do.
pub fn ec2_evidence() -> Option<String> {
    ec2_evidence_in(Path::new("/sys"))
}

fn ec2_evidence_in(sys: &Path) -> Option<String> {
    let read = |path: &str| {
        std::fs::read_to_string(sys.join(path))
            .map(|text| text.trim().to_string())
            .unwrap_or_default()
    };
    let asset = read("class/dmi/id/board_asset_tag");
    if asset.starts_with("i-") {
        return Some(format!("board asset tag {asset}"));
    }
    let vendor = read("class/dmi/id/sys_vendor");
    if vendor == "Amazon EC2" {
        return Some("system vendor \"Amazon EC2\"".to_string());
    }
    // Xen-based instance types expose no DMI vendor but a hypervisor uuid starting "ec2".
    let uuid = read("hypervisor/uuid");
    if uuid.to_ascii_lowercase().starts_with("ec2") {
        return Some(format!("hypervisor uuid {uuid}"));
    }
    None
}

/// The route this host uses to reach an address (longest prefix in the main table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub iface: String,
    pub prefix: u8,
    pub gateway: Option<Ipv4Addr>,
}

pub fn route_to(target: Ipv4Addr) -> Option<Route> {
    let table = std::fs::read_to_string("/proc/net/route").ok()?;
    route_in(&table, target)
}

/// Parses /proc/net/route (addresses are little-endian hex) and picks the longest match.
fn route_in(table: &str, target: Ipv4Addr) -> Option<Route> {
    // The kernel prints each address as the native-endian u32 of its network-order bytes.
    let hex = |field: &str| {
        u32::from_str_radix(field, 16)
            .ok()
            .map(|raw| u32::from_be_bytes(raw.to_ne_bytes()))
    };
    let target = u32::from(target);
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 8 {
                return None;
            }
            let dest = hex(fields[1])?;
            let gateway = hex(fields[2])?;
            let mask = hex(fields[7])?;
            let flags = u32::from_str_radix(fields[3], 16).ok()?;
            // RTF_UP
            if flags & 1 == 0 || target & mask != dest {
                return None;
            }
            Some(Route {
                iface: fields[0].to_string(),
                prefix: u8::try_from(mask.count_ones()).ok()?,
                gateway: (gateway != 0).then(|| Ipv4Addr::from(gateway)),
            })
        })
        .max_by_key(|route| route.prefix)
}

/// On an EC2 host, a bridge on `subnet` (prefix `prefix`) wins over any shorter route to the
/// real IMDS and cuts the host off from it. The warning, with the fix, when that would happen.
pub fn imds_capture_warning(
    evidence: Option<&str>,
    route: Option<&Route>,
    subnet: &str,
    prefix: u8,
    own_bridge: Option<&str>,
) -> Option<String> {
    let evidence = evidence?;
    let route = route?;
    if own_bridge.is_some_and(|bridge| bridge == route.iface) {
        return Some(format!(
            "this host is an EC2 instance ({evidence}) and its route to the real IMDS (169.254.169.254) already goes into the imds-spoof bridge {}: software on this host that uses instance metadata now reaches imds-spoof, not EC2. Restore it with `sudo ip route add 169.254.169.254/32{} dev <your primary interface>`",
            route.iface,
            route.gateway.map(|g| format!(" via {g}")).unwrap_or_default()
        ));
    }
    if route.prefix >= prefix {
        return None;
    }
    let via = route
        .gateway
        .map(|gateway| format!(" via {gateway}"))
        .unwrap_or_default();
    Some(format!(
        "this host is an EC2 instance ({evidence}) and reaches the real IMDS through {}{via} (a /{} route); a Docker bridge on {subnet} would capture that traffic and cut this host off from its own instance metadata. Pin the real route first: `sudo ip route add 169.254.169.254/32{via} dev {}` (containers on the imds-spoof network are not affected by it)",
        route.iface, route.prefix, route.iface
    ))
}

/// On an EC2 host, the IPv6 bridge's fd00:ec2::/64 route is more specific than the default
/// route the host's own requests to fd00:ec2::254 take (Nitro, `HttpProtocolIpv6` enabled),
/// so it would capture them. Not read from the routing table: the /64 wins over any route
/// but a longer one the user pinned, which is the fix.
pub fn imds_ipv6_capture_warning(evidence: Option<&str>) -> Option<String> {
    let evidence = evidence?;
    Some(format!(
        "this host is an EC2 instance ({evidence}): with [network] ipv6 = true the bridge's route to fd00:ec2::/64 takes this host's own requests to the real IPv6 IMDS (fd00:ec2::254), if it uses that endpoint. Pin the real route first: `sudo ip -6 route add fd00:ec2::254/128 via <IPv6 default gateway> dev <primary interface>` (`ip -6 route show default` names both)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str =
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
eth0\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
eth0\t0000000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
br-x\t0000FEA9\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n";

    #[test]
    fn routes_pick_the_longest_prefix() {
        let imds = Ipv4Addr::new(169, 254, 169, 254);
        let route = route_in(TABLE, imds).unwrap();
        assert_eq!(route.iface, "br-x");
        assert_eq!(route.prefix, 16);
        let default_only: String = TABLE.lines().take(3).collect::<Vec<_>>().join("\n");
        let route = route_in(&default_only, imds).unwrap();
        assert_eq!(route.iface, "eth0");
        assert_eq!(route.prefix, 0);
        assert_eq!(route.gateway, Some(Ipv4Addr::new(10, 0, 0, 1)));
    }

    #[test]
    fn capture_is_reported_only_on_ec2_with_a_wider_route() {
        let default = Route {
            iface: "eth0".into(),
            prefix: 0,
            gateway: Some(Ipv4Addr::new(10, 0, 0, 1)),
        };
        let pinned = Route {
            prefix: 32,
            ..default.clone()
        };
        assert!(imds_capture_warning(None, Some(&default), "169.254.0.0/16", 16, None).is_none());
        let warning =
            imds_capture_warning(Some("vendor"), Some(&default), "169.254.0.0/16", 16, None)
                .unwrap();
        assert!(warning.contains("ip route add 169.254.169.254/32 via 10.0.0.1 dev eth0"));
        assert!(imds_capture_warning(Some("vendor"), Some(&pinned), "x", 16, None).is_none());
        let bridge = Route {
            iface: "br-1".into(),
            prefix: 16,
            gateway: None,
        };
        assert!(
            imds_capture_warning(Some("vendor"), Some(&bridge), "x", 16, Some("br-1"))
                .unwrap()
                .contains("already goes into")
        );
    }

    #[test]
    fn ec2_evidence_reads_dmi() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(ec2_evidence_in(dir.path()), None);
        std::fs::create_dir_all(dir.path().join("class/dmi/id")).unwrap();
        std::fs::write(dir.path().join("class/dmi/id/sys_vendor"), "Amazon EC2\n").unwrap();
        assert!(ec2_evidence_in(dir.path()).unwrap().contains("Amazon EC2"));
    }

    #[test]
    fn this_process_is_alive_and_a_dead_pid_is_not() {
        let me = ProcessMark::current();
        assert!(me.alive());
        let parsed = ProcessMark::parse_label(&me.label(), &me.host).unwrap();
        assert_eq!(parsed, me);
        let reused = ProcessMark {
            start: me.start.map(|s| s + 1),
            ..me.clone()
        };
        assert!(!reused.alive() || me.start.is_none());
        let gone = ProcessMark {
            pid: u32::MAX - 1,
            ..me
        };
        assert!(!gone.alive());
    }
}
