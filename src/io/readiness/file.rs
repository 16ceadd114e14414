//! The ready file: present while ready, written atomically (temp file and
//! rename), never through a symlink, removed on every exit path.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The path to remove if drainit dies of a panic.
static CLEANUP: OnceLock<PathBuf> = OnceLock::new();

pub struct ReadyFile {
    path: PathBuf,
    tmp: PathBuf,
}

impl ReadyFile {
    /// Checks the directory, removes a stale file left by a crashed run,
    /// and registers the path for removal on panic.
    pub fn prepare(path: &Path) -> Result<Self, String> {
        // Absolute now: drainit changes to / once the child runs, and a
        // relative path would then name a file in the root directory.
        let path = &std::path::absolute(path)
            .map_err(|e| format!("--ready-file '{}': {e}", path.display()))?;
        let name = path.file_name().ok_or_else(|| {
            format!(
                "--ready-file '{}' names no file: use e.g. /tmp/ready",
                path.display()
            )
        })?;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(".drainit-tmp");
        let file = Self {
            path: path.to_path_buf(),
            tmp: dir.join(tmp_name),
        };
        if path.is_dir() {
            return Err(format!(
                "--ready-file '{}' is a directory: name a file inside it",
                path.display()
            ));
        }
        file.remove();
        // Prove the directory is writable now, not when the drain starts.
        file.write_tmp().map_err(|e| {
            format!(
                "--ready-file '{}': cannot write in {} ({e}): create the directory or make it writable",
                path.display(),
                dir.display()
            )
        })?;
        let _ = std::fs::remove_file(&file.tmp);
        let _ = CLEANUP.set(file.path.clone());
        Ok(file)
    }

    fn write_tmp(&self) -> io::Result<()> {
        // unlink, not open: a stale temp file or symlink is replaced, never followed.
        match std::fs::remove_file(&self.tmp) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&self.tmp)?;
        f.write_all(b"ready\n")
    }

    pub fn set(&self, ready: bool) -> io::Result<()> {
        if ready {
            self.write_tmp()?;
            // rename replaces whatever is at the path, a symlink included,
            // without following it.
            std::fs::rename(&self.tmp, &self.path)
        } else {
            self.remove();
            Ok(())
        }
    }

    pub fn remove(&self) {
        let _ = std::fs::remove_file(&self.path);
        let _ = std::fs::remove_file(&self.tmp);
    }
}

/// Removes the ready file when drainit panics (the process then aborts).
pub fn install_panic_cleanup() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if let Some(path) = CLEANUP.get() {
            let _ = std::fs::remove_file(path);
        }
        default(info);
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("drainit-rf-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn creates_and_removes_atomically() {
        let d = tmpdir("basic");
        let p = d.join("ready");
        let rf = ReadyFile::prepare(&p).unwrap();
        assert!(!p.exists());
        rf.set(true).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "ready\n");
        rf.set(false).unwrap();
        assert!(!p.exists());
        assert_eq!(
            std::fs::read_dir(&d).unwrap().count(),
            0,
            "no temp file left"
        );
    }

    #[test]
    fn never_writes_through_a_symlink() {
        let d = tmpdir("link");
        let victim = d.join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let p = d.join("ready");
        std::os::unix::fs::symlink(&victim, &p).unwrap();
        let tmp_link = d.join(".ready.drainit-tmp");
        std::os::unix::fs::symlink(&victim, &tmp_link).unwrap();
        let rf = ReadyFile::prepare(&p).unwrap();
        rf.set(true).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert!(!std::fs::symlink_metadata(&p)
            .unwrap()
            .file_type()
            .is_symlink());
    }

    #[test]
    fn a_relative_path_is_made_absolute() {
        let rf = ReadyFile::prepare(Path::new("drainit-rel-ready")).unwrap();
        assert!(rf.path.is_absolute(), "{}", rf.path.display());
        assert_eq!(
            rf.path.parent(),
            Some(std::env::current_dir().unwrap().as_path())
        );
    }

    #[test]
    fn removes_a_stale_file_and_rejects_a_missing_directory() {
        let d = tmpdir("stale");
        let p = d.join("ready");
        std::fs::write(&p, "ready\n").unwrap();
        ReadyFile::prepare(&p).unwrap();
        assert!(!p.exists());
        let err = ReadyFile::prepare(&d.join("missing/ready")).err().unwrap();
        assert!(err.contains("missing"), "{err}");
    }
}
