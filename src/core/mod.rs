//! The pure core: the supervisor state machine (`handle(event, now)`,
//! `poll_action()`, one timer table), the forwarding rule over a tree
//! snapshot and the hold that keeps the stop signal in force, the
//! timeline's typed lines, the option types with their parsers (signals,
//! durations, URLs). No syscalls, no globals, no
//! clock of its own: every timeline is a unit test with a fake clock.
//! Nothing here imports from `os`, `io`, `cli` or the runtime.

pub mod duration;
pub mod options;
pub mod signal;
pub mod supervisor;
pub mod timeline;
pub mod url;
