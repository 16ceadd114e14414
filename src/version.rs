//! drainit's version line: the crate version and, when the build knows it,
//! the git commit (tini prints `tini version 0.19.0 - git.de40ad0`, and
//! Docker's `docker info` parses that shape).

/// The crate version, e.g. `0.1.0`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The short git commit the binary was built from, when the build set
/// `DRAINIT_GIT_COMMIT`.
pub fn commit() -> Option<&'static str> {
    option_env!("DRAINIT_GIT_COMMIT").filter(|c| !c.is_empty())
}
