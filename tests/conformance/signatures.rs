//! The identity document's signatures, verified by the `openssl` binary against the
//! certificates imds-spoof writes beside its configuration file, with the commands of
//! docs/verify-identity.md: cases 43 and 55.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine;
use imds_spoof::config::ConfigStore;
use imds_spoof::imds::signing::{CERT_FILE_NAME, DSA_CERT_FILE_NAME, PUBLISHED_CERTIFICATES};
use imds_spoof::provider::build_provider;
use tempfile::TempDir;

use crate::support::{loopback, require, Imds, Need};

const BASE: &str = "/latest/dynamic/instance-identity/";

/// A broker as `serve` builds it from a configuration file in a fresh directory, so its
/// keys and certificates are written there like a user's.
struct Served {
    dir: TempDir,
    imds: Imds,
}

impl Served {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = ConfigStore::from_file(&dir.path().join("config.toml"), None)
            .expect("sample configuration");
        let built = build_provider(&store);
        assert!(built.warnings.is_empty(), "{:?}", built.warnings);
        assert!(
            built.builtin.is_some(),
            "the sample uses the built-in provider"
        );
        let imds = Imds::from_parts(store, built.provider, loopback(), |_| {});
        Self { dir, imds }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `contents` to a file in the directory and returns its path as text.
    fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> String {
        let path = self.path(name);
        std::fs::write(&path, contents).expect("write");
        path.display().to_string()
    }
}

fn openssl(args: &[&str]) -> Output {
    Command::new("openssl")
        .args(args)
        .output()
        .expect("run openssl")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn written_certificate(dir: &Path, name: &str) -> String {
    let path = dir.join(name);
    let pem = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("{} was not written: {err}", path.display()));
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
    path.display().to_string()
}

#[tokio::test]
async fn case_43_signature_verifies_with_the_written_certificate() {
    let test = "case_43_signature_verifies_with_the_written_certificate";
    if !require(Need::Openssl, test) {
        return;
    }
    let served = Served::start();
    let certificate = written_certificate(served.dir.path(), CERT_FILE_NAME);
    let document = served.imds.get(&format!("{BASE}document")).await.body;
    let document_file = served.write("document", &document);

    let signature = served.imds.text(&format!("{BASE}signature")).await;
    assert!(!signature.contains('\n'), "signature is one line");
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&signature)
        .expect("signature is base64");
    let signature_file = served.write("signature", raw);
    let key = openssl(&["x509", "-pubkey", "-noout", "-in", &certificate]);
    assert!(key.status.success(), "{}", stderr(&key));
    let key_file = served.write("key", &key.stdout);

    let verify = |document: &str| {
        openssl(&[
            "dgst",
            "-sha256",
            "-verify",
            &key_file,
            "-signature",
            &signature_file,
            document,
        ])
    };
    let output = verify(&document_file);
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("Verified OK"),
        "{}",
        stderr(&output)
    );
    // A changed document must not verify: the check above can fail.
    let tampered = served.write("tampered", [document.as_ref(), b" "].concat());
    assert!(
        !verify(&tampered).status.success(),
        "a tampered document verified"
    );
}

#[tokio::test]
async fn case_55_pkcs7_and_rsa2048_verify_without_content_and_yield_the_document() {
    let test = "case_55_pkcs7_and_rsa2048_verify_without_content_and_yield_the_document";
    if !require(Need::Openssl, test) {
        return;
    }
    let served = Served::start();
    for published in PUBLISHED_CERTIFICATES {
        written_certificate(served.dir.path(), published.file_name);
    }
    let document = served.imds.get(&format!("{BASE}document")).await.body;
    assert!(document.starts_with(b"{\n  \""), "the document leaf");

    // (endpoint, its certificate, the other one, what openssl must name in the blob)
    let blobs = [
        (
            "pkcs7",
            DSA_CERT_FILE_NAME,
            CERT_FILE_NAME,
            [":sha1", ":dsaWithSHA1"],
        ),
        (
            "rsa2048",
            CERT_FILE_NAME,
            DSA_CERT_FILE_NAME,
            [":sha256", ":sha256WithRSAEncryption"],
        ),
    ];
    for (endpoint, own, other, algorithms) in blobs {
        let body = served.imds.text(&format!("{BASE}{endpoint}")).await;
        assert!(
            !body.contains("-----"),
            "{endpoint} comes without PEM armour"
        );
        assert!(!body.ends_with('\n'), "{endpoint}: no trailing newline");
        assert!(body.lines().count() > 1, "{endpoint} is line-wrapped");
        assert!(
            body.lines().all(|line| line.len() <= 76),
            "{endpoint}: {body}"
        );
        // As docs/verify-identity.md says: add the armour the endpoint leaves out.
        let armoured = format!("-----BEGIN PKCS7-----\n{body}\n-----END PKCS7-----\n");
        let blob = served.write(endpoint, armoured);

        let parsed = openssl(&["asn1parse", "-in", &blob]);
        assert!(parsed.status.success(), "{endpoint}: {}", stderr(&parsed));
        let parsed = String::from_utf8_lossy(&parsed.stdout);
        for algorithm in algorithms {
            assert!(
                parsed.contains(algorithm),
                "{endpoint} lacks {algorithm}:\n{parsed}"
            );
        }

        let verify = |certificate: &str, trust: &[&str]| {
            let certificate = served.path(certificate).display().to_string();
            let mut args = vec!["smime", "-verify", "-in", &blob, "-inform", "PEM"];
            args.extend(["-certfile", &certificate]);
            args.extend(trust);
            openssl(&args)
        };
        // No `-content`: the document comes out of the blob itself.
        let output = verify(own, &["-noverify"]);
        assert!(output.status.success(), "{endpoint}: {}", stderr(&output));
        assert!(
            stderr(&output).contains("Verification successful"),
            "{endpoint}: {}",
            stderr(&output)
        );
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&document),
            "{endpoint}: the printed content is the document leaf"
        );
        // `openssl cms` reads the same blob the same way.
        let own_path = served.path(own).display().to_string();
        let cms = openssl(&[
            "cms",
            "-verify",
            "-binary",
            "-in",
            &blob,
            "-inform",
            "PEM",
            "-certfile",
            &own_path,
            "-noverify",
        ]);
        assert!(cms.status.success(), "{endpoint}: {}", stderr(&cms));
        assert_eq!(
            cms.stdout,
            document.as_ref(),
            "{endpoint}: cms prints the document"
        );
        // The certificate as trust anchor, checked at security level 2 (key sizes).
        let anchored = verify(own, &["-CAfile", &own_path, "-auth_level", "2"]);
        assert!(
            anchored.status.success(),
            "{endpoint}: {}",
            stderr(&anchored)
        );
        // The other key's certificate must not verify it: the checks above can fail.
        let foreign = verify(other, &["-noverify"]);
        assert!(
            !foreign.status.success(),
            "{endpoint} verified with {other}"
        );
    }
}
