//! Fresh EC2-shaped identifiers and fake credentials: the shapes SDKs and tools
//! expect, random so that new instances and rotated keys never collide with old ones.
//! None of them is valid at AWS.

use std::net::Ipv4Addr;

use rand::Rng;

/// Digits after the prefix of current (long) EC2 resource ids.
const ID_DIGITS: usize = 17;
/// Alphabet of access key ids after their four-letter prefix.
const KEY_ID_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const BASE64_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
/// Session tokens STS hands out start like this (base64 of their header).
const SESSION_TOKEN_PREFIX: &str = "IQoJb3JpZ2luX2Vj";

/// `prefix` and 17 random lowercase hex digits, the shape of current EC2 ids.
pub fn hex_id(prefix: &str) -> String {
    let mut rng = rand::rng();
    let digits: String = (0..ID_DIGITS)
        .map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16)]))
        .collect();
    format!("{prefix}{digits}")
}

/// `i-` and 17 hex digits.
pub fn instance_id() -> String {
    hex_id("i-")
}

/// `eni-` and 17 hex digits.
pub fn network_interface_id() -> String {
    hex_id("eni-")
}

/// `r-` and 17 hex digits.
pub fn reservation_id() -> String {
    hex_id("r-")
}

/// `instance-event-` and 17 hex digits, as scheduled events are named.
pub fn instance_event_id() -> String {
    hex_id("instance-event-")
}

/// A MAC address starting `0e:`, a locally administered unicast address as EC2 gives.
pub fn mac_address() -> String {
    let mut rng = rand::rng();
    let octets: Vec<String> = (0..5)
        .map(|_| format!("{:02x}", rng.random::<u8>()))
        .collect();
    format!("0e:{}", octets.join(":"))
}

/// An address in 10.0.0.0/16, clear of the addresses a VPC subnet reserves at its start and end.
pub fn private_ipv4() -> Ipv4Addr {
    let mut rng = rand::rng();
    Ipv4Addr::new(10, 0, rng.random_range(0..=255), rng.random_range(4..=250))
}

/// `ASIA` and 16 upper-case letters or digits: a temporary (STS) access key id.
pub fn temporary_access_key_id() -> String {
    format!("ASIA{}", random_text(16, KEY_ID_ALPHABET))
}

/// 40 base64 characters, the length of a secret access key.
pub fn secret_access_key() -> String {
    random_text(40, BASE64_ALPHABET)
}

/// A session token shaped like the ones STS returns.
pub fn session_token() -> String {
    format!(
        "{SESSION_TOKEN_PREFIX}{}",
        random_text(112, BASE64_ALPHABET)
    )
}

fn random_text(length: usize, alphabet: &[u8]) -> String {
    let mut rng = rand::rng();
    (0..length)
        .map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_lower_hex(text: &str) -> bool {
        text.chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    }

    fn assert_hex_id(id: &str, prefix: &str) {
        let digits = id
            .strip_prefix(prefix)
            .unwrap_or_else(|| panic!("{id} starts with {prefix}"));
        assert_eq!(digits.len(), 17, "{id}");
        assert!(is_lower_hex(digits), "{id}");
    }

    #[test]
    fn resource_ids_are_prefix_and_17_hex_digits() {
        assert_hex_id(&instance_id(), "i-");
        assert_hex_id(&network_interface_id(), "eni-");
        assert_hex_id(&reservation_id(), "r-");
        assert_hex_id(&instance_event_id(), "instance-event-");
    }

    #[test]
    fn instance_ids_pass_the_configuration_check() {
        let id = instance_id();
        assert_eq!(crate::config::check_instance_id(&id), Ok(()), "{id}");
    }

    #[test]
    fn fresh_ids_differ() {
        assert_ne!(instance_id(), instance_id());
        assert_ne!(secret_access_key(), secret_access_key());
    }

    #[test]
    fn mac_addresses_are_six_locally_administered_octets() {
        let mac = mac_address();
        let octets: Vec<&str> = mac.split(':').collect();
        assert_eq!(octets.len(), 6, "{mac}");
        assert_eq!(octets[0], "0e");
        assert!(
            octets.iter().all(|o| o.len() == 2 && is_lower_hex(o)),
            "{mac}"
        );
    }

    #[test]
    fn private_addresses_stay_in_the_vpc_range() {
        let [a, b, _, d] = private_ipv4().octets();
        assert_eq!((a, b), (10, 0));
        assert!((4..=250).contains(&d));
    }

    #[test]
    fn fake_keys_have_the_shapes_of_sts_credentials() {
        let key = temporary_access_key_id();
        assert_eq!(key.len(), 20, "{key}");
        assert!(key.starts_with("ASIA"));
        assert!(key.bytes().all(|b| KEY_ID_ALPHABET.contains(&b)));
        let secret = secret_access_key();
        assert_eq!(secret.len(), 40);
        assert!(secret.bytes().all(|b| BASE64_ALPHABET.contains(&b)));
        let token = session_token();
        assert!(token.starts_with(SESSION_TOKEN_PREFIX));
        assert_eq!(token.len(), SESSION_TOKEN_PREFIX.len() + 112);
    }
}
