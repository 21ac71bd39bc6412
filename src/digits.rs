//! Numbers and addresses written straight into text, on paths that run for every request
//! (record timestamps, request lines, the readiness tally), where `format!` and `Display`
//! cost more than the rest of the work. One writer each, tested against `Display`.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};

/// Appends `value` in decimal.
pub fn push_decimal(out: &mut String, value: impl itoa::Integer) {
    out.push_str(itoa::Buffer::new().format(value));
}

/// Appends `value` in decimal with leading zeros to `width` digits (more if it needs them).
pub fn push_padded(out: &mut String, value: u32, width: usize) {
    let mut buffer = itoa::Buffer::new();
    let digits = buffer.format(value);
    for _ in digits.len()..width {
        out.push('0');
    }
    out.push_str(digits);
}

/// Appends `ip` as `Display` writes it.
pub fn push_ip(out: &mut String, ip: IpAddr) {
    out.push_str(IpText::new(ip).as_str());
}

/// An address as text on the stack: looked up by text without allocating a key.
pub struct IpText {
    bytes: [u8; IpText::CAPACITY],
    len: usize,
}

impl IpText {
    /// The longest address text (an IPv6 address with an embedded IPv4 one) fits.
    const CAPACITY: usize = 48;

    pub fn new(ip: IpAddr) -> IpText {
        let mut text = IpText {
            bytes: [0; IpText::CAPACITY],
            len: 0,
        };
        match ip {
            IpAddr::V4(ip) => text.write_v4(ip),
            IpAddr::V6(ip) => {
                let mut cursor = std::io::Cursor::new(&mut text.bytes[..]);
                // Never fails: no IPv6 address is longer than the buffer.
                if write!(cursor, "{ip}").is_ok() {
                    text.len = usize::try_from(cursor.position()).unwrap_or(0);
                }
            }
        }
        text
    }

    /// The one IPv4 writer: octets in decimal, dot separated.
    fn write_v4(&mut self, ip: Ipv4Addr) {
        for (n, octet) in ip.octets().into_iter().enumerate() {
            if n > 0 {
                self.bytes[self.len] = b'.';
                self.len += 1;
            }
            let mut buffer = itoa::Buffer::new();
            let digits = buffer.format(octet).as_bytes();
            self.bytes[self.len..self.len + digits.len()].copy_from_slice(digits);
            self.len += digits.len();
        }
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII digits, dots, colons and hex letters were written.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_as_display_writes_them() {
        for value in [0, 7, 10, 200, 65_535, u64::MAX] {
            let mut out = String::new();
            push_decimal(&mut out, value);
            assert_eq!(out, value.to_string());
        }
        for (value, width, expected) in [
            (7, 2, "07"),
            (2026, 4, "2026"),
            (5, 3, "005"),
            (123, 2, "123"),
        ] {
            let mut out = String::new();
            push_padded(&mut out, value, width);
            assert_eq!(out, expected);
        }
    }

    #[test]
    fn addresses_are_written_as_display_writes_them() {
        for ip in [
            "0.0.0.0",
            "10.0.0.9",
            "169.254.0.12",
            "172.30.100.25",
            "255.255.255.255",
            "fd00:ec2::254",
            "::ffff:255.255.255.255",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(IpText::new(ip).as_str(), ip.to_string());
            let mut out = String::from("at ");
            push_ip(&mut out, ip);
            assert_eq!(out, format!("at {ip}"));
        }
    }
}
