//! Listings, leaves and methods: cases 1–9, 25, 26, and what ec2-metadata asks for.

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use imds_spoof::imds::tree::API_VERSIONS;

use crate::support::{identity, request, Imds, CREDENTIALS_PATH, META, ROLE, TOKEN_PATH};

#[tokio::test]
async fn case_01_root_lists_latest_and_dated_versions() {
    let imds = Imds::new();
    let listing = imds.text("/").await;
    let versions: Vec<&str> = listing.split('\n').collect();
    assert_eq!(versions.last(), Some(&"latest"), "{listing}");
    for dated in ["1.0", "2007-01-19", "2021-07-15", "2022-09-24"] {
        assert!(versions.contains(&dated), "{dated} missing from {listing}");
    }
    assert!(versions.iter().all(|v| !v.ends_with('/')), "{listing}");
}

#[tokio::test]
async fn case_02_latest_lists_dynamic_meta_data_and_user_data_without_slashes() {
    let imds = Imds::new();
    // EC2 names the version-level entries without a trailing slash.
    for path in ["/latest", "/latest/"] {
        assert_eq!(
            imds.text(path).await,
            "dynamic\nmeta-data\nuser-data",
            "{path}"
        );
    }
    let without_user_data = Imds::with(|config| config.identities[0].user_data = None);
    assert_eq!(
        without_user_data.text("/latest").await,
        "dynamic\nmeta-data"
    );
}

#[tokio::test]
async fn case_03_meta_data_with_and_without_slash_list_the_same() {
    let imds = Imds::new();
    let with = imds.text("/latest/meta-data/").await;
    let without = imds.text("/latest/meta-data").await;
    assert_eq!(with, without);
    assert!(with.starts_with("ami-id\n"), "{with}");
}

#[tokio::test]
async fn case_04_listings_have_no_trailing_newline() {
    let imds = Imds::new();
    for path in [
        "/",
        "/latest",
        META,
        "/latest/meta-data/placement/",
        "/latest/dynamic/instance-identity/",
        "/latest/meta-data/iam/security-credentials/",
    ] {
        let listing = imds.text(path).await;
        assert!(!listing.is_empty(), "{path}");
        assert!(!listing.ends_with('\n'), "{path}: {listing:?}");
        assert!(!listing.contains("\n\n"), "{path}: {listing:?}");
    }
}

#[tokio::test]
async fn case_05_directories_end_in_slash_and_leaves_do_not() {
    let imds = Imds::new();
    let listing = imds.text(META).await;
    let entries: BTreeSet<&str> = listing.split('\n').collect();
    for dir in [
        "block-device-mapping/",
        "events/",
        "iam/",
        "identity-credentials/",
        "network/",
        "placement/",
        "public-keys/",
        "services/",
    ] {
        assert!(entries.contains(dir), "{dir} missing from {listing}");
    }
    for leaf in [
        "ami-id",
        "instance-id",
        "local-ipv4",
        "mac",
        "security-groups",
    ] {
        assert!(entries.contains(leaf), "{leaf} missing from {listing}");
    }
    // Each kind answers as it is listed: a listing below a slash, a value otherwise.
    assert_eq!(
        imds.text("/latest/meta-data/services/").await,
        "domain\npartition"
    );
    assert_eq!(
        imds.text("/latest/meta-data/services/domain").await,
        "amazonaws.com"
    );
    assert_eq!(
        imds.text("/latest/meta-data/iam/security-credentials/")
            .await,
        ROLE
    );
    assert_eq!(
        imds.text("/latest/meta-data/public-keys/").await,
        "0=dev-key"
    );
    assert_eq!(
        imds.text("/latest/meta-data/public-keys/0/").await,
        "openssh-key"
    );
    assert_eq!(
        imds.text("/latest/meta-data/network/interfaces/macs/")
            .await,
        "0e:49:61:0f:c3:11/"
    );
}

/// Walks every listing below `path` (a directory path ending in `/`), asserting that each
/// entry resolves; returns how many paths answered.
async fn walk(imds: &Imds, root: &str) -> usize {
    let mut pending = vec![root.to_string()];
    let mut visited = 0;
    while let Some(dir) = pending.pop() {
        let listing = imds.text(&dir).await;
        visited += 1;
        assert!(!listing.ends_with('\n'), "{dir}: trailing newline");
        // The same listing is reached without the trailing slash.
        assert_eq!(imds.text(dir.trim_end_matches('/')).await, listing, "{dir}");
        for entry in listing.split('\n') {
            assert!(!entry.is_empty(), "{dir}: empty entry in {listing:?}");
            if let Some(sub) = entry.strip_suffix('/') {
                pending.push(format!("{dir}{sub}/"));
            } else if let Some((index, _name)) = entry.split_once('=') {
                // `public-keys/` lists `0=name` for the directory `0/`.
                pending.push(format!("{dir}{index}/"));
            } else {
                let path = format!("{dir}{entry}");
                let answer = imds.get(&path).await;
                answer.assert_ok(&path);
                visited += 1;
            }
        }
    }
    visited
}

#[tokio::test]
async fn case_06_every_listed_entry_resolves() {
    // The sample, then everything switched on: tags, spot, rebalance, maintenance, ASG.
    let plain = Imds::new();
    let full = Imds::with(crate::events::trigger_everything);
    for imds in [&plain, &full] {
        let version_level = imds.text("/latest/").await;
        assert_eq!(version_level, "dynamic\nmeta-data\nuser-data");
        imds.get("/latest/user-data").await.assert_ok("user-data");
        let dynamic = walk(imds, "/latest/dynamic/").await;
        let meta = walk(imds, META).await;
        assert!(dynamic >= 6 && meta >= 60, "walked {dynamic} + {meta}");
    }
    let full_listing = full.text(META).await;
    for dir in ["autoscaling/", "spot/", "tags/"] {
        assert!(
            full_listing.contains(dir),
            "{dir} missing from {full_listing}"
        );
    }
}

#[tokio::test]
async fn case_07_dated_versions_equal_latest() {
    let imds = Imds::new();
    let latest_id = imds.text("/latest/meta-data/instance-id").await;
    let latest_listing = imds.text(META).await;
    for version in API_VERSIONS {
        assert_eq!(
            imds.text(&format!("/{version}/meta-data/instance-id"))
                .await,
            latest_id,
            "{version}"
        );
        assert_eq!(
            imds.text(&format!("/{version}/meta-data/")).await,
            latest_listing
        );
    }
    assert_eq!(
        imds.text("/2021-07-15/meta-data/instance-id").await,
        identity(0).instance_id.as_str()
    );
    let document = imds
        .text("/latest/dynamic/instance-identity/document")
        .await;
    assert_eq!(
        imds.text("/2021-07-15/dynamic/instance-identity/document")
            .await,
        document
    );
}

#[tokio::test]
async fn case_08_unknown_paths_are_404_html() {
    let imds = Imds::new();
    for path in [
        "/nonsense",
        "/1999-01-01/meta-data/",
        "/latest/meta-data/no-such-thing",
        "/latest/meta-data/instance-id/below-a-leaf",
        "/latest/meta-data/iam/security-credentials/some-other-role",
        "/latest/meta-data/kernel-id",
        "/latest/meta-data/tags/instance/Name",
        "/latest/dynamic/nothing",
        "/latest/api/",
    ] {
        imds.get(path)
            .await
            .assert_error(StatusCode::NOT_FOUND, path);
    }
}

#[tokio::test]
async fn case_09_server_header_on_every_answer() {
    // `Imds::send` asserts Server: EC2ws on every answer of the suite; this runs one of
    // each kind in one place.
    let imds = Imds::new();
    let token = imds.token(60).await;
    let answers = [
        imds.get("/").await,
        imds.get(CREDENTIALS_PATH).await,
        imds.get_v2("/latest/meta-data/ami-id", &token).await,
        imds.get_v2("/latest/meta-data/ami-id", "garbage").await,
        imds.get("/latest/nothing").await,
        imds.send(request(Method::GET, TOKEN_PATH).build()).await,
        imds.send(request(Method::PUT, TOKEN_PATH).build()).await,
        imds.send(request(Method::POST, META).build()).await,
        imds.send(request(Method::HEAD, META).build()).await,
    ];
    let statuses: Vec<u16> = answers.iter().map(|a| a.status.as_u16()).collect();
    assert_eq!(statuses, [200, 200, 200, 401, 404, 405, 400, 405, 200]);
    for answer in &answers {
        assert_eq!(answer.header("server"), Some("EC2ws"));
    }
}

#[tokio::test]
async fn case_25_post_and_delete_on_meta_data_are_405() {
    let imds = Imds::new();
    for method in [Method::POST, Method::DELETE, Method::PUT, Method::PATCH] {
        let answer = imds
            .send(request(method.clone(), "/latest/meta-data/instance-id").build())
            .await;
        answer.assert_error(StatusCode::METHOD_NOT_ALLOWED, method.as_str());
        assert_eq!(
            answer.header("allow"),
            Some("GET, HEAD, OPTIONS"),
            "{method}"
        );
    }
    // OPTIONS: an empty 200 naming the same methods (unverified, like the 405).
    let options = imds
        .send(request(Method::OPTIONS, "/latest/meta-data/instance-id").build())
        .await;
    options.assert_ok("OPTIONS on meta-data");
    assert!(options.body.is_empty());
    assert_eq!(options.header("allow"), Some("GET, HEAD, OPTIONS"));
}

#[tokio::test]
async fn case_26_head_answers_headers_only() {
    let imds = Imds::new();
    for path in ["/latest/meta-data/instance-id", META, "/latest/user-data"] {
        let full = imds.get(path).await;
        let head = imds.send(request(Method::HEAD, path).build()).await;
        assert_eq!(head.status, StatusCode::OK, "{path}");
        assert_eq!(head.header("content-type"), Some("text/plain"), "{path}");
        assert_eq!(
            head.header("content-length"),
            Some(full.body.len().to_string().as_str()),
            "{path}"
        );
        assert!(head.body.is_empty(), "{path}: HEAD carried a body");
    }
    let missing = imds
        .send(request(Method::HEAD, "/latest/meta-data/nothing").build())
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body.is_empty());
}

#[tokio::test]
async fn leaves_answer_with_a_trailing_slash_as_ec2_metadata_asks() {
    let imds = Imds::new();
    assert_eq!(
        imds.text("/latest/meta-data/placement/availability-zone/")
            .await,
        identity(0).availability_zone.as_str()
    );
    assert_eq!(
        imds.text("/latest/user-data/").await,
        "#!/bin/bash\necho hello from imds-spoof\n"
    );
    assert_eq!(
        imds.text("/latest/meta-data/instance-id/").await,
        identity(0).instance_id.as_str()
    );
}

#[tokio::test]
async fn interfaces_carry_what_ec2_metadata_reads() {
    let imds = Imds::new();
    let base = "/latest/meta-data/network/interfaces/macs/0e:49:61:0f:c3:11/";
    let listing = imds.text(base).await;
    let entries: BTreeSet<&str> = listing.split('\n').collect();
    let expected = [
        ("device-number", "0"),
        ("interface-id", identity(0).interface_id.as_str()),
        ("owner-id", identity(0).account_id.as_str()),
        ("local-hostname", "ip-172-31-0-10.ec2.internal"),
        ("local-ipv4s", "172.31.0.10"),
        ("mac", "0e:49:61:0f:c3:11"),
        ("network-card", "0"),
        ("public-ipv4s", "192.0.2.54"),
        ("security-groups", "default"),
        ("security-group-ids", "sg-0123456789abcdef0"),
        ("subnet-id", "subnet-0123456789abcdef0"),
        ("subnet-ipv4-cidr-block", "172.31.0.0/20"),
        ("vpc-id", "vpc-0123456789abcdef0"),
        ("vpc-ipv4-cidr-block", "172.31.0.0/16"),
        ("vpc-ipv4-cidr-blocks", "172.31.0.0/16"),
    ];
    for (name, value) in expected {
        assert!(entries.contains(name), "{name} not listed in {listing}");
        assert_eq!(imds.text(&format!("{base}{name}")).await, value, "{name}");
    }
    assert!(entries.contains("ipv4-associations/"), "{listing}");
    assert_eq!(
        imds.text(&format!("{base}ipv4-associations/")).await,
        "192.0.2.54"
    );
    assert_eq!(
        imds.text(&format!("{base}ipv4-associations/192.0.2.54"))
            .await,
        "172.31.0.10"
    );
}
