//! Reading a small file out of a container (running or not) through the engine's archive
//! API, the way `docker cp` does: no process is started in the container.

use futures_util::StreamExt;
use std::io::Read;

use bollard::query_parameters::DownloadFromContainerOptionsBuilder;

use super::{api, status_of, DockerError, Engine};

/// What is at a path inside a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerFile {
    /// A regular file (symlinks followed) and its first bytes.
    File { contents: Vec<u8>, truncated: bool },
    /// Nothing there.
    Missing,
    /// Something that is not a regular file (a directory, a device).
    NotAFile,
}

/// Symlinks followed at most (projected Kubernetes tokens are two deep).
const MAX_LINKS: usize = 8;

/// Reads at most `limit` bytes of the file at `path` in `container`, following symlinks
/// (the archive API hands over a link itself, not its target).
pub async fn read_container_file(
    engine: &Engine,
    container: &str,
    path: &str,
    limit: usize,
) -> Result<ContainerFile, DockerError> {
    let mut path = path.to_string();
    for _ in 0..MAX_LINKS {
        match read_entry(engine, container, &path, limit).await? {
            Entry::Link(target) => path = resolve_link(&path, &target),
            Entry::Found(file) => return Ok(file),
        }
    }
    Ok(ContainerFile::NotAFile)
}

/// Where a symlink at `path` points, as an absolute path.
fn resolve_link(path: &str, target: &str) -> String {
    if target.starts_with('/') {
        return target.to_string();
    }
    let dir = path.rsplit_once('/').map_or("", |(dir, _)| dir);
    format!("{dir}/{target}")
}

enum Entry {
    Found(ContainerFile),
    Link(String),
}

async fn read_entry(
    engine: &Engine,
    container: &str,
    path: &str,
    limit: usize,
) -> Result<Entry, DockerError> {
    let options = DownloadFromContainerOptionsBuilder::default()
        .path(path)
        .build();
    let mut stream = engine
        .docker
        .download_from_container(container, Some(options));
    // The archive of one small file: its header, the contents and padding. Reading stops a
    // little past the limit so a huge file is not fetched whole.
    let mut archive = Vec::new();
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(bytes) => archive.extend_from_slice(&bytes),
            Err(err) if status_of(&err) == Some(404) && archive.is_empty() => {
                return Ok(Entry::Found(ContainerFile::Missing))
            }
            Err(err) => return Err(api(format!("reading {path} in container {container}"))(err)),
        }
        if archive.len() > limit + 64 * 1024 {
            break;
        }
    }
    first_entry(&archive, limit).map_err(|err| DockerError::ReadFile {
        container: container.to_string(),
        path: path.to_string(),
        reason: err.to_string(),
    })
}

/// The first entry of a tar archive, cut to `limit` bytes.
fn first_entry(archive: &[u8], limit: usize) -> std::io::Result<Entry> {
    let mut reader = tar::Archive::new(archive);
    let mut entries = reader.entries()?;
    let Some(entry) = entries.next() else {
        return Ok(Entry::Found(ContainerFile::Missing));
    };
    let entry = entry?;
    let kind = entry.header().entry_type();
    if kind == tar::EntryType::Symlink {
        let target = entry.link_name()?.unwrap_or_default();
        return Ok(Entry::Link(target.to_string_lossy().into_owned()));
    }
    if kind != tar::EntryType::Regular {
        return Ok(Entry::Found(ContainerFile::NotAFile));
    }
    let size = entry.header().size()?;
    let mut contents = Vec::new();
    // A cut-off archive ends early: what arrived is enough to look at.
    let _ = entry.take(limit as u64).read_to_end(&mut contents);
    Ok(Entry::Found(ContainerFile::File {
        truncated: size > limit as u64,
        contents,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(name: &str, contents: &[u8], kind: tar::EntryType) -> Vec<u8> {
        let mut header = tar::Header::new_ustar();
        header.set_size(contents.len() as u64);
        header.set_entry_type(kind);
        header.set_mode(0o600);
        let mut builder = tar::Builder::new(Vec::new());
        builder
            .append_data(&mut header, name, contents)
            .expect("append");
        builder.into_inner().expect("finish")
    }

    fn found(archive: &[u8], limit: usize) -> ContainerFile {
        match first_entry(archive, limit).unwrap() {
            Entry::Found(file) => file,
            Entry::Link(target) => panic!("a link to {target}"),
        }
    }

    #[test]
    fn the_first_entry_is_read_up_to_the_limit() {
        let file = archive("token", b"abc\n", tar::EntryType::Regular);
        assert_eq!(
            found(&file, 100),
            ContainerFile::File {
                contents: b"abc\n".to_vec(),
                truncated: false
            }
        );
        assert_eq!(
            found(&file, 2),
            ContainerFile::File {
                contents: b"ab".to_vec(),
                truncated: true
            }
        );
        let dir = archive("tokens", b"", tar::EntryType::Directory);
        assert_eq!(found(&dir, 100), ContainerFile::NotAFile);
        assert_eq!(found(&[], 100), ContainerFile::Missing);
    }

    #[test]
    fn links_resolve_against_their_directory() {
        assert_eq!(
            resolve_link("/var/run/t/token", "..data/token"),
            "/var/run/t/..data/token"
        );
        assert_eq!(resolve_link("/var/run/t/token", "/etc/token"), "/etc/token");
    }
}
