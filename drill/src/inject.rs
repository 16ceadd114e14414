//! Finding the static drainit binary the drill puts in front of an image,
//! and the container command that does it.

use std::path::{Path, PathBuf};

use crate::docker::ImageInfo;

/// Where drainit sits inside the container (bind-mounted read-only).
pub const MOUNTED: &str = "/.drainit/drainit";

/// `--drainit PATH`, else a static `drainit` beside this binary, in
/// `../static/` (the layout `make static` gives), or on PATH. A dynamic
/// build cannot run in an image without its C library: it is passed over
/// and named in the error.
pub fn find(given: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(path) = given {
        return match is_static(path) {
            // A bind mount needs an absolute path.
            Ok(true) => std::fs::canonicalize(path)
                .map_err(|e| format!("--drainit {}: {e}", path.display())),
            Ok(false) => Err(format!(
                "--drainit {}: dynamically linked; give a static build (make static gives target/static/drainit)",
                path.display()
            )),
            Err(e) => Err(format!("--drainit {}: {e}", path.display())),
        };
    }
    let mut candidates = Vec::new();
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        candidates.push(dir.join("drainit"));
        candidates.push(dir.join("../static/drainit"));
    }
    if let Some(paths) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&paths).map(|d| d.join("drainit")));
    }
    let mut dynamic = Vec::new();
    for c in candidates {
        match is_static(&c) {
            Ok(true) => return Ok(std::fs::canonicalize(&c).unwrap_or(c)),
            Ok(false) => dynamic.push(c.display().to_string()),
            Err(_) => {}
        }
    }
    let passed = if dynamic.is_empty() {
        String::new()
    } else {
        format!(" ({} dynamically linked)", dynamic.join(", "))
    };
    Err(format!(
        "no static drainit found beside drainit-drill or on PATH{passed}: give --drainit PATH \
         (make static gives target/static/drainit)"
    ))
}

/// Any drainit binary (for `drainit explain`): `--drainit PATH`, beside
/// this binary, or on PATH.
pub fn find_any(given: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = given {
        return Some(p.to_path_buf());
    }
    let beside = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.join("drainit")));
    let on_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("drainit"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    beside.into_iter().chain(on_path).find(|c| c.is_file())
}

/// An ELF executable without a PT_INTERP program header (no dynamic loader).
pub fn is_static(path: &Path) -> Result<bool, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let field = |at: usize, len: usize| -> Option<u64> {
        let b = bytes.get(at..at + len)?;
        Some(
            b.iter()
                .rev()
                .fold(0u64, |acc, x| (acc << 8) | u64::from(*x)),
        )
    };
    if bytes.get(..4) != Some(b"\x7fELF".as_slice()) {
        return Err("not an ELF executable".into());
    }
    // 64-bit little-endian only (the release targets); others are trusted.
    if bytes.get(4) != Some(&2) || bytes.get(5) != Some(&1) {
        return Ok(true);
    }
    let bad = || "truncated ELF header".to_string();
    let phoff = field(0x20, 8).ok_or_else(bad)? as usize;
    let phentsize = field(0x36, 2).ok_or_else(bad)? as usize;
    let phnum = field(0x38, 2).ok_or_else(bad)? as usize;
    for i in 0..phnum {
        let p_type = field(phoff + i * phentsize, 4).ok_or_else(bad)?;
        if p_type == 3 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The entrypoint that runs the image's own entrypoint and cmd under
/// drainit with `flags`.
pub fn entrypoint(flags: &[String], image: &ImageInfo) -> Vec<String> {
    let mut words = vec![MOUNTED.to_string()];
    words.extend(flags.iter().cloned());
    words.push("--".into());
    words.extend(image.entrypoint.iter().cloned());
    words
}

/// `--with 'FLAGS'`: split on whitespace (no shell quoting in drainit's
/// flags).
pub fn split_flags(flags: &str) -> Vec<String> {
    flags.split_whitespace().map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_or_not() {
        // The test binary itself is dynamically linked on gnu targets.
        let me = std::env::current_exe().unwrap();
        let linked = std::process::Command::new("ldd").arg(&me).output();
        if let Ok(out) = linked {
            let dynamic = String::from_utf8_lossy(&out.stdout).contains("=>");
            assert_eq!(is_static(&me).unwrap(), !dynamic);
        }
        assert!(is_static(Path::new("/nonexistent")).is_err());
    }

    #[test]
    fn command_under_drainit() {
        let image = ImageInfo {
            entrypoint: vec!["/app.sh".into()],
            cmd: vec!["--listen".into(), "8080".into()],
            ..ImageInfo::default()
        };
        assert_eq!(
            entrypoint(&split_flags("--grace=5s  -r TERM:QUIT"), &image),
            [MOUNTED, "--grace=5s", "-r", "TERM:QUIT", "--", "/app.sh"]
        );
    }
}
