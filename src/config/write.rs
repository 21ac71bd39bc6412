//! The one way imds-spoof writes a file that must never be half-written or briefly
//! readable by others: the configuration and the signing key.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::ConfigError;

/// Writes `contents` to `path` atomically with `mode`: a temporary file in the same
/// directory gets the mode before any byte is written, is synced, renamed over the target,
/// and the directory is synced so the rename survives a crash. A symlinked `path` keeps
/// its link: the file it points to is replaced. Only a regular file is ever replaced (a
/// device, FIFO, socket or directory at `path` is refused, as is a missing directory):
/// see [`check_target`].
pub fn write_file_atomically(path: &Path, contents: &[u8], mode: u32) -> std::io::Result<()> {
    let target = check_target(path)?;
    write_resolved(&target, contents, mode)
}

/// As [`write_file_atomically`], but makes the missing directories first: only for files
/// of imds-spoof's own directory (the configuration written on first run).
pub fn write_file_atomically_making_dirs(
    path: &Path,
    contents: &[u8],
    mode: u32,
) -> std::io::Result<()> {
    let target = resolve_links(path)?;
    std::fs::create_dir_all(parent_of(&target))?;
    check_resolved(&target)?;
    write_resolved(&target, contents, mode)
}

fn write_resolved(target: &Path, contents: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = parent_of(target);
    let prefix = format!(
        ".{}.",
        target
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(mode));
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut temp = builder.tempfile_in(dir)?;
    temp.write_all(contents)?;
    temp.as_file().sync_all()?;
    temp.persist(target).map_err(|err| err.error)?;
    sync_dir(dir)
}

fn parent_of(target: &Path) -> &Path {
    target
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."))
}

/// Where a write to `path` would land (symlinks followed), when that is a place imds-spoof
/// may write: nothing yet, or a regular file, in a directory that exists. Renaming over a
/// device node would leave a plain file where `/dev/full` was for every process on the
/// machine; a FIFO would become a file (or block a plain open); a directory made for a
/// mistyped path hides the typo. All of them are refused with the reason, nothing changed.
pub fn check_target(path: &Path) -> std::io::Result<PathBuf> {
    let target = resolve_links(path)?;
    check_resolved(&target)?;
    Ok(target)
}

/// [`check_target`] for a path whose links are already followed.
fn check_resolved(target: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(target) {
        Ok(meta) if meta.file_type().is_file() => {}
        Ok(meta) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "{} is {}, not a regular file: refusing to replace it",
                    target.display(),
                    kind_of(&meta.file_type())
                ),
            ))
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(err),
    }
    let dir = parent_of(target);
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{} is not a directory", dir.display()),
        )),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!(
                "directory {} does not exist (create it first)",
                dir.display()
            ),
        )),
        Err(err) => Err(err),
    }
}

fn kind_of(file_type: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
        if file_type.is_fifo() {
            return "a FIFO";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// Writes the configuration text (owner-only: it may hold secret keys).
pub fn write_atomically(path: &Path, text: &str) -> Result<(), ConfigError> {
    write_file_atomically(path, text.as_bytes(), 0o600).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes the first configuration, making its directory (the default one may not exist).
pub fn create_atomically(path: &Path, text: &str) -> Result<(), ConfigError> {
    write_file_atomically_making_dirs(path, text.as_bytes(), 0o600).map_err(|source| {
        ConfigError::Io {
            path: path.to_path_buf(),
            source,
        }
    })
}

/// The file a chain of symlinks ends at (the path itself when it is not a link or does not
/// exist yet). Relative link targets are taken from the link's own directory.
fn resolve_links(path: &Path) -> std::io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    // A loop of links ends in an error rather than spinning: 40 is the kernel's own limit.
    for _ in 0..40 {
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let next = std::fs::read_link(&current)?;
                current = match current.parent() {
                    Some(parent) if next.is_relative() => parent.join(next),
                    _ => next,
                };
            }
            Ok(_) => return Ok(current),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(current),
            Err(err) => return Err(err),
        }
    }
    Err(std::io::Error::other(format!(
        "{}: too many levels of symbolic links",
        path.display()
    )))
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn writes_owner_only_and_replaces() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("config.toml");
        create_atomically(&path, "a = 1\n").unwrap();
        write_atomically(&path, "a = 2\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a = 2\n");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let leftovers = std::fs::read_dir(path.parent().unwrap()).unwrap().count();
        assert_eq!(leftovers, 1);
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_file_stays_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("dotfiles").join("config.toml");
        std::fs::create_dir_all(real.parent().unwrap()).unwrap();
        std::fs::write(&real, "a = 1\n").unwrap();
        let link = dir.path().join("config.toml");
        std::os::unix::fs::symlink("dotfiles/config.toml", &link).unwrap();
        write_atomically(&link, "a = 2\n").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "a = 2\n");
    }

    #[cfg(unix)]
    #[test]
    fn the_mode_is_set_before_the_contents_arrive() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cert.pem");
        write_file_atomically(&path, b"public", 0o644).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
    }

    #[cfg(unix)]
    #[test]
    fn devices_fifos_directories_and_missing_directories_are_refused_unchanged() {
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.map(|status| status.success()).unwrap_or(false) {
            let err = write_file_atomically(&fifo, b"x", 0o600).unwrap_err();
            assert!(err.to_string().contains("is a FIFO"), "{err}");
            assert!(std::fs::symlink_metadata(&fifo)
                .unwrap()
                .file_type()
                .is_fifo());
        }
        let err = write_file_atomically(Path::new("/dev/null"), b"x", 0o600).unwrap_err();
        assert!(err.to_string().contains("character device"), "{err}");
        assert!(std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device());
        // A link to a device is followed and refused too.
        let link = dir.path().join("null-link");
        std::os::unix::fs::symlink("/dev/null", &link).unwrap();
        assert!(write_file_atomically(&link, b"x", 0o600).is_err());
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());

        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        let err = write_file_atomically(&sub, b"x", 0o600).unwrap_err();
        assert!(err.to_string().contains("a directory"), "{err}");

        let missing = dir.path().join("missing").join("dir").join("tok");
        let err = write_file_atomically(&missing, b"x", 0o600).unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
        assert!(!dir.path().join("missing").exists());
        // Only the fifo, the link and sub: no temporary files left behind.
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            3 - usize::from(!fifo.exists())
        );
    }
}
