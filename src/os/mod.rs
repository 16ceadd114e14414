//! The OS adapters: spawning and reaping the child, the signal mask and
//! signalfd, /proc (one reader: `procfs`, the snapshot the rule reads:
//! `proctree`), sending and SIGKILL sweeps (`tree`), pidfd watches, the
//! allocator that survives refused memory, and what runs before `main`.
//! They turn syscalls into values; the core decides what to do with them.

pub mod alarm;
pub mod alloc;
pub mod process;
pub mod procfs;
pub mod proctree;
pub mod signals;
pub mod stack;
pub mod startup;
pub mod tree;
pub mod watch;
