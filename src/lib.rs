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

// The layers, top to bottom: the command line and the run (`cli`, `app`,
// `runtime`, `logging`), the adapters (`io`, `os`), the pure core. Nothing
// below imports from above.
pub mod app;
pub mod cli;
pub mod core;
pub mod io;
pub mod logging;
pub mod os;
pub mod runtime;

// Every module also by its own name (`crate::supervisor`,
// `drainit::procfs`): the paths the code and the tests use.
pub use self::cli::{compat, subcommands, version};
pub use self::core::{duration, options, signal, supervisor, timeline};
pub use self::io::{client, metrics, readiness, traffic};
pub use self::os::{alloc, process, procfs, proctree, signals, startup, tree, watch};
