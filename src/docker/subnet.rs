//! Subnets in CIDR form, IPv4 (the network's main pool) and IPv6 (its optional second one).

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// An IPv4 subnet in CIDR form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    pub base: Ipv4Addr,
    pub prefix: u8,
}

impl Subnet {
    pub fn parse(text: &str) -> Result<Subnet, String> {
        let (addr, prefix) = split_cidr(text, 32)?;
        let addr: Ipv4Addr = addr
            .parse()
            .map_err(|_| format!("{addr:?} in {text:?} is not an IPv4 address"))?;
        let subnet = Subnet {
            base: Ipv4Addr::from(u32::from(addr) & mask4(prefix)),
            prefix,
        };
        if subnet.base != addr {
            return Err(format!(
                "{text:?} has host bits set (did you mean {subnet}?)"
            ));
        }
        Ok(subnet)
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & mask4(self.prefix) == u32::from(self.base)
    }

    /// Two subnets overlap when one contains the other's base (CIDR blocks nest or are disjoint).
    pub fn overlaps(&self, other: &Subnet) -> bool {
        self.contains(other.base) || other.contains(self.base)
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.base, self.prefix)
    }
}

/// An IPv6 subnet in CIDR form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet6 {
    pub base: Ipv6Addr,
    pub prefix: u8,
}

impl Subnet6 {
    pub fn parse(text: &str) -> Result<Subnet6, String> {
        let (addr, prefix) = split_cidr(text, 128)?;
        let addr: Ipv6Addr = addr
            .parse()
            .map_err(|_| format!("{addr:?} in {text:?} is not an IPv6 address"))?;
        let subnet = Subnet6 {
            base: Ipv6Addr::from(u128::from(addr) & mask6(prefix)),
            prefix,
        };
        if subnet.base != addr {
            return Err(format!(
                "{text:?} has host bits set (did you mean {subnet}?)"
            ));
        }
        Ok(subnet)
    }

    pub fn contains(&self, ip: Ipv6Addr) -> bool {
        u128::from(ip) & mask6(self.prefix) == u128::from(self.base)
    }

    pub fn overlaps(&self, other: &Subnet6) -> bool {
        self.contains(other.base) || other.contains(self.base)
    }
}

impl fmt::Display for Subnet6 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.base, self.prefix)
    }
}

/// "ADDRESS/PREFIX" split, the prefix checked against the family's width.
fn split_cidr(text: &str, width: u8) -> Result<(&str, u8), String> {
    let (addr, prefix) = text
        .trim()
        .split_once('/')
        .ok_or_else(|| format!("{text:?} is not in ADDRESS/PREFIX form"))?;
    let prefix: u8 = prefix
        .parse()
        .ok()
        .filter(|p| *p <= width)
        .ok_or_else(|| format!("{prefix:?} in {text:?} is not a prefix length (0-{width})"))?;
    Ok((addr, prefix))
}

fn mask4(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn mask6(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_parse_and_overlap() {
        let ours = Subnet::parse("169.254.0.0/16").unwrap();
        assert!(ours.contains(Ipv4Addr::new(169, 254, 169, 254)));
        assert!(!ours.contains(Ipv4Addr::new(169, 253, 0, 1)));
        let small = Subnet::parse("169.254.169.0/24").unwrap();
        assert!(ours.overlaps(&small) && small.overlaps(&ours));
        let other = Subnet::parse("172.17.0.0/16").unwrap();
        assert!(!ours.overlaps(&other));
        assert!(Subnet::parse("169.254.0.1/16").is_err());
        assert!(Subnet::parse("169.254.0.0/33").is_err());
        assert!(Subnet::parse("169.254.0.0").is_err());
        assert_eq!(Subnet::parse("0.0.0.0/0").unwrap().prefix, 0);
        assert!(Subnet::parse("169.254.169.254/32")
            .unwrap()
            .contains(Ipv4Addr::new(169, 254, 169, 254)));
    }

    #[test]
    fn ipv6_subnets_parse_and_overlap() {
        let ours = Subnet6::parse("fd00:ec2::/64").unwrap();
        assert!(ours.contains("fd00:ec2::254".parse().unwrap()));
        assert!(ours.contains("fd00:ec2::1:7".parse().unwrap()));
        // The ULA this very machine's eth0 may use: a different /64.
        assert!(!ours.contains("fd00::2".parse().unwrap()));
        let wide = Subnet6::parse("fd00::/8").unwrap();
        assert!(ours.overlaps(&wide) && wide.overlaps(&ours));
        assert!(!ours.overlaps(&Subnet6::parse("fd00::/64").unwrap()));
        assert!(Subnet6::parse("fd00:ec2::1/64").is_err());
        assert!(Subnet6::parse("fd00:ec2::/129").is_err());
        assert!(Subnet6::parse("169.254.0.0/16").is_err());
        assert_eq!(Subnet6::parse("::/0").unwrap().prefix, 0);
        let range = Subnet6::parse("fd00:ec2::1:0/112").unwrap();
        assert!(!range.contains("fd00:ec2::254".parse().unwrap()));
        assert!(!range.contains("fd00:ec2::23".parse().unwrap()));
        assert!(!range.contains("fd00:ec2::1".parse().unwrap()));
    }
}
