//! The document edits keep the file the user wrote: comments, order, other entries.

use std::path::Path;

use toml_edit::DocumentMut;

use super::*;
use crate::config::{parse, FaultKind, SAMPLE_CONFIG};

fn sample() -> (DocumentMut, Config) {
    let config = parse(Path::new("sample"), SAMPLE_CONFIG).unwrap();
    (SAMPLE_CONFIG.parse().unwrap(), config)
}

fn reparse(doc: &DocumentMut) -> Config {
    parse(Path::new("edited"), &doc.to_string()).unwrap_or_else(|err| panic!("{err}\n{doc}"))
}

#[test]
fn changing_a_field_touches_only_that_line() {
    let (mut doc, config) = sample();
    let old = config.identities[0].clone();
    let mut new = old.clone();
    new.instance_id = "i-0aaaaaaaaaaaaaaa1".into();
    sync_identity(&mut doc, &old, &new).unwrap();
    let text = doc.to_string();
    let changed: Vec<(&str, &str)> = SAMPLE_CONFIG
        .lines()
        .zip(text.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(
        changed,
        vec![(
            "instance_id = \"i-0123456789abcdef0\"",
            "instance_id = \"i-0aaaaaaaaaaaaaaa1\""
        )]
    );
    assert_eq!(reparse(&doc).identities[0], new);
}

#[test]
fn renaming_the_active_identity_moves_active_identity() {
    let (mut doc, config) = sample();
    let old = config.identities[0].clone();
    let mut new = old.clone();
    new.name = "primary".into();
    sync_identity(&mut doc, &old, &new).unwrap();
    assert_eq!(reparse(&doc).active_identity, "primary");
}

#[test]
fn new_and_copied_identities_are_whole_blocks_at_the_end() {
    let (mut doc, config) = sample();
    let mut copy = config.identities[0].clone();
    copy.name = "copy".into();
    copy.instance_id = "i-0bbbbbbbbbbbbbbb2".into();
    duplicate_identity(&mut doc, &config.identities[0], &copy).unwrap();
    let mut fresh = config.identities[1].clone();
    fresh.name = "fresh".into();
    add_identity(&mut doc, &fresh).unwrap();
    let edited = reparse(&doc);
    assert_eq!(edited.identities.len(), 4);
    assert_eq!(edited.identities[2], copy, "the copy keeps tags and role");
    assert_eq!(edited.identities[3], fresh);
    let text = doc.to_string();
    assert!(
        text.starts_with(SAMPLE_CONFIG.trim_end()),
        "earlier text unchanged:\n{text}"
    );
    // The copy carries the comments of the role it was copied from.
    assert_eq!(text.matches("# source = \"profile\" resolves").count(), 2);
}

#[test]
fn deleting_an_identity_removes_its_tables() {
    let (mut doc, _) = sample();
    delete_identity(&mut doc, "worker").unwrap();
    let edited = reparse(&doc);
    assert_eq!(edited.identities.len(), 1);
    assert!(!doc.to_string().contains("ASIAIMDSSPOOFWORKER1"));
    assert!(delete_identity(&mut doc, "nobody").is_err());
}

#[test]
fn events_and_roles_are_added_inside_their_identity() {
    let (mut doc, config) = sample();
    let old = config.identities[1].clone();
    let mut new = old.clone();
    new.events.spot_action = Some("terminate".into());
    new.events.spot_time = Some("2026-11-24T12:02:00Z".into());
    new.events.lifecycle_state = Some("InService".into());
    sync_identity(&mut doc, &old, &new).unwrap();
    assert_eq!(reparse(&doc).identities[1], new);
    let mut cleared = new.clone();
    cleared.events = Default::default();
    sync_identity(&mut doc, &new, &cleared).unwrap();
    assert_eq!(reparse(&doc).identities[1], cleared);
}

#[test]
fn faults_are_appended_changed_and_removed() {
    let (mut doc, config) = sample();
    let latency = Fault {
        door: None,
        path_prefix: String::new(),
        probability: 1.0,
        kind: FaultKind::Latency { ms: 300 },
    };
    let errors = Fault {
        door: None,
        path_prefix: String::new(),
        probability: 0.25,
        kind: FaultKind::Status { status: 503 },
    };
    let one = vec![latency.clone()];
    sync_faults(&mut doc, &config.faults, &one).unwrap();
    assert_eq!(reparse(&doc).faults, one);
    let two = vec![latency.clone(), errors.clone()];
    sync_faults(&mut doc, &one, &two).unwrap();
    assert_eq!(reparse(&doc).faults, two);
    let mut changed = two.clone();
    changed[0].kind = FaultKind::Latency { ms: 900 };
    sync_faults(&mut doc, &two, &changed).unwrap();
    assert_eq!(reparse(&doc).faults, changed);
    sync_faults(&mut doc, &changed, &changed[1..]).unwrap();
    assert_eq!(reparse(&doc).faults, vec![errors.clone()]);
    sync_faults(&mut doc, &[errors], &[]).unwrap();
    assert!(reparse(&doc).faults.is_empty());
    assert!(doc.to_string().contains("# Faults injected into answers"));
}

#[test]
fn a_missing_section_is_created() {
    let mut doc: DocumentMut = "active_identity = \"a\"\n\n[[identity]]\nname = \"a\"\n"
        .parse()
        .unwrap();
    let old = crate::config::ImdsSettings::default();
    let mut new = old.clone();
    new.hop_limit = 1;
    sync_section(&mut doc, "imds", &old, &new).unwrap();
    let value: toml::Table = doc.to_string().parse().unwrap();
    assert_eq!(value["imds"]["hop_limit"].as_integer(), Some(1));
    assert_eq!(value["identity"][0]["name"].as_str(), Some("a"));
}
