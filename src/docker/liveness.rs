//! A cheap, local proof that a container still holds an address: its main process is
//! the one seen when it was learnt (same pid, same start time), and that process's
//! network namespace has the address as its own. Read from /proc, without asking the
//! engine; only for engines on this machine's kernel. Anything that cannot be read says
//! "cannot tell", and the caller asks the engine instead.

use std::net::IpAddr;
use std::path::PathBuf;

/// A container's main process as it was when the container was learnt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessMark {
    pid: u32,
    /// Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot.
    /// A pid reused by another process has another start time.
    start: u64,
}

impl ProcessMark {
    /// The mark of process `pid` now, if /proc shows it.
    pub fn of(pid: i64) -> Option<ProcessMark> {
        let pid = u32::try_from(pid).ok().filter(|pid| *pid > 0)?;
        Some(ProcessMark {
            pid,
            start: start_time(pid)?,
        })
    }

    /// True when the same process still runs and its network namespace has `ip` as a
    /// local address; None when /proc cannot say (then ask the engine).
    pub fn still_holds(&self, ip: IpAddr) -> Option<bool> {
        if start_time(self.pid)? != self.start {
            return Some(false);
        }
        let net = PathBuf::from(format!("/proc/{}/net", self.pid));
        let holds = match ip {
            IpAddr::V4(ip) => {
                has_local_v4(&std::fs::read_to_string(net.join("fib_trie")).ok()?, ip)
            }
            IpAddr::V6(ip) => has_v6(&std::fs::read_to_string(net.join("if_inet6")).ok()?, ip),
        };
        // The process may have ended between the two reads: its pid's namespace is then
        // another's.
        (start_time(self.pid)? == self.start).then_some(holds)
    }
}

fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19)?.parse().ok()
}

/// /proc/PID/net/fib_trie lists each address of the namespace as `|-- A.B.C.D` followed
/// by its routes; the namespace's own addresses carry `/32 host LOCAL`.
fn has_local_v4(fib_trie: &str, ip: std::net::Ipv4Addr) -> bool {
    let wanted = ip.to_string();
    let mut current = "";
    for line in fib_trie.lines() {
        let line = line.trim_start();
        if let Some(address) = line.strip_prefix("|-- ") {
            current = address.trim();
        } else if line.starts_with("/32 host LOCAL") && current == wanted {
            return true;
        }
    }
    false
}

/// /proc/PID/net/if_inet6: one address a line, 32 hex digits first.
fn has_v6(if_inet6: &str, ip: std::net::Ipv6Addr) -> bool {
    let wanted: String = ip
        .octets()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    if_inet6
        .lines()
        .any(|line| line.split_whitespace().next() == Some(wanted.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIB_TRIE: &str = "Main:
  +-- 0.0.0.0/1 2 0 2
     +-- 0.0.0.0/4 2 0 2
        |-- 0.0.0.0
           /0 universe UNICAST
        +-- 169.254.0.0/16 2 0 2
              |-- 169.254.0.0
                 /16 link UNICAST
              |-- 169.254.0.50
                 /32 host LOCAL
           |-- 169.254.255.255
              /32 link BROADCAST
";

    #[test]
    fn only_the_namespaces_own_addresses_count() {
        assert!(has_local_v4(FIB_TRIE, "169.254.0.50".parse().unwrap()));
        assert!(!has_local_v4(FIB_TRIE, "169.254.0.0".parse().unwrap()));
        assert!(!has_local_v4(FIB_TRIE, "169.254.255.255".parse().unwrap()));
        assert!(!has_local_v4(FIB_TRIE, "169.254.0.5".parse().unwrap()));
    }

    #[test]
    fn ipv6_addresses_are_read_as_hex() {
        let if_inet6 = "fd000ec2000000000000000000000005 02 40 00 00     eth0\n\
                        00000000000000000000000000000001 01 80 10 80       lo\n";
        assert!(has_v6(if_inet6, "fd00:ec2::5".parse().unwrap()));
        assert!(!has_v6(if_inet6, "fd00:ec2::6".parse().unwrap()));
    }

    #[test]
    fn this_process_is_marked_and_a_gone_one_is_not() {
        let mark = ProcessMark::of(i64::from(std::process::id())).expect("our own mark");
        // Our own namespace holds loopback as a local address.
        assert_eq!(mark.still_holds("127.0.0.1".parse().unwrap()), Some(true));
        assert_eq!(
            mark.still_holds("169.254.77.77".parse().unwrap()),
            Some(false)
        );
        let reused = ProcessMark {
            start: mark.start + 1,
            ..mark
        };
        assert_eq!(
            reused.still_holds("127.0.0.1".parse().unwrap()),
            Some(false)
        );
        assert_eq!(ProcessMark::of(0), None);
        assert_eq!(ProcessMark::of(-1), None);
    }
}
