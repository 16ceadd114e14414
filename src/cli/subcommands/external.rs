//! External subcommands, the way git runs them: `drainit drill ARGS` execs
//! `drainit-drill ARGS`, found beside the drainit binary or on PATH. The
//! drill is its own binary so that nothing it links (a Docker client, a
//! load generator) ever reaches PID 1.

use std::ffi::{OsStr, OsString};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use crate::core::options::Flavor;

/// The exit status when the subcommand's binary is not installed (a
/// shell's "command not found").
pub const NOT_INSTALLED: i32 = 127;

/// The subcommands that live in their own binary, `drainit-NAME`.
const EXTERNAL: [&str; 1] = ["drill"];

/// Execs the external subcommand `argv` names, if it names one; returns
/// when it does not. A subcommand that is not installed ends drainit with
/// one line and [`NOT_INSTALLED`]. Called before anything else runs (no
/// thread, no blocked signal yet), so the subcommand starts as clean as a
/// process run from a shell.
pub fn dispatch(argv: &[OsString]) {
    let Some(name) = external_name(argv) else {
        return;
    };
    let program = format!("drainit-{name}");
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf));
    let Some(path) = find(
        &program,
        beside.as_deref(),
        std::env::var_os("PATH").as_deref(),
    ) else {
        crate::app::fail(
            NOT_INSTALLED,
            &format!(
                "drainit {name}: {program} is not installed (looked beside drainit and on PATH): \
                 install it from the release files, or build it with `cargo build --release -p {program}`"
            ),
        );
    };
    let err = std::process::Command::new(&path)
        .args(argv.iter().skip(2))
        .exec();
    crate::app::fail(
        NOT_INSTALLED,
        &format!("drainit {name}: cannot run {}: {err}", path.display()),
    );
}

/// `drill` when drainit runs under its own name with `drill` first.
fn external_name(argv: &[OsString]) -> Option<&'static str> {
    let flavor = Flavor::from_argv0(argv.first()?);
    if flavor != Flavor::Drainit {
        return None;
    }
    let first = argv.get(1)?.to_str()?;
    EXTERNAL.iter().copied().find(|n| *n == first)
}

/// The program beside drainit, else the first executable on PATH.
fn find(program: &str, beside: Option<&Path>, path: Option<&OsStr>) -> Option<PathBuf> {
    let candidates = beside.map(|dir| dir.join(program)).into_iter().chain(
        path.into_iter()
            .flat_map(|p| std::env::split_paths(p).map(|d| d.join(program))),
    );
    candidates.into_iter().find(|c| is_executable(c))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    #[test]
    fn only_drainit_dispatches_drill() {
        assert_eq!(
            external_name(&argv(&["drainit", "drill", "img"])),
            Some("drill")
        );
        assert_eq!(
            external_name(&argv(&["/usr/bin/drainit", "drill"])),
            Some("drill")
        );
        // tini and dumb-init run a program named drill.
        assert_eq!(external_name(&argv(&["tini", "drill"])), None);
        assert_eq!(external_name(&argv(&["dumb-init", "drill"])), None);
        assert_eq!(external_name(&argv(&["drainit", "--", "drill"])), None);
        assert_eq!(external_name(&argv(&["drainit", "explain"])), None);
        assert_eq!(external_name(&argv(&["drainit"])), None);
    }

    #[test]
    fn finds_beside_then_on_path() {
        let dir = std::env::temp_dir().join(format!("drainit-external-{}", std::process::id()));
        let (a, b) = (dir.join("a"), dir.join("b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        let make = |p: &Path, mode: u32| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::write(p, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
        };
        make(&a.join("drainit-drill"), 0o644);
        make(&b.join("drainit-drill"), 0o755);
        let path = std::env::join_paths([&a, &b]).unwrap();
        // Not executable beside: PATH's executable one.
        assert_eq!(
            find("drainit-drill", Some(&a), Some(&path)),
            Some(b.join("drainit-drill"))
        );
        make(&a.join("drainit-drill"), 0o755);
        assert_eq!(
            find("drainit-drill", Some(&a), Some(&path)),
            Some(a.join("drainit-drill"))
        );
        assert_eq!(find("drainit-nothing", Some(&a), Some(&path)), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
