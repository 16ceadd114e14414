//! drainit's version line: the crate version and, when the build knows it,
//! the git commit (tini prints `tini version 0.19.0 - git.de40ad0`, and
//! Docker's `docker info` parses that shape: the commit is the word after
//! ` - git.`).
//!
//! The commit comes from `DRAINIT_GIT_COMMIT` at compile time, set by
//! `make static`/`make dist` (scripts/dist.sh). No build script: a plain
//! `cargo build` or `cargo install drainit` from crates.io has no git and
//! prints the version alone. rustc records the variable as an input, so
//! cargo rebuilds when it changes.

use std::sync::OnceLock;

/// The crate version, e.g. `0.1.0`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The short git commit the binary was built from, when the build set
/// `DRAINIT_GIT_COMMIT` (e.g. `de40ad0`, or `de40ad0-dirty`).
pub fn commit() -> Option<&'static str> {
    option_env!("DRAINIT_GIT_COMMIT").filter(|c| !c.is_empty())
}

/// `0.1.0 - git.de40ad0`, or `0.1.0` when the commit is unknown: what
/// `drainit --version` prints after `drainit `.
pub fn long() -> &'static str {
    static LINE: OnceLock<String> = OnceLock::new();
    LINE.get_or_init(|| line(VERSION, commit()))
}

fn line(version: &str, commit: Option<&str>) -> String {
    match commit {
        Some(c) => format!("{version} - git.{c}"),
        None => version.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_has_the_commit_in_tinis_shape() {
        assert_eq!(line("0.1.0", Some("de40ad0")), "0.1.0 - git.de40ad0");
        assert_eq!(line("0.1.0", None), "0.1.0");
    }

    #[test]
    fn long_matches_the_build() {
        assert!(long().starts_with(VERSION));
        assert_eq!(long().contains(" - git."), commit().is_some());
    }
}
