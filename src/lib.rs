//! drainit as a library: the modules of the init, used by the `drainit`
//! binary (src/main.rs) and by the tools that generate its man page and
//! shell completions from the same clap definitions.

// PID 1 never panics: no unwrap, expect, panic or panicking index outside
// tests, and every unsafe block says why it is sound.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::undocumented_unsafe_blocks
)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::undocumented_unsafe_blocks
    )
)]

pub mod alloc;
pub mod app;
pub mod cli;
pub mod client;
pub mod compat;
pub mod duration;
pub mod logging;
pub mod metrics;
pub mod options;
pub mod process;
pub mod procfs;
pub mod proctree;
pub mod readiness;
pub mod runtime;
pub mod signals;
pub mod startup;
pub mod subcommands;
pub mod supervisor;
pub mod timeline;
pub mod traffic;
pub mod tree;
pub mod version;
pub mod watch;
