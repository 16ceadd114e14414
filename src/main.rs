//! drainit: a PID-1 init for containers that reaps, forwards signals and
//! drains gracefully. This file is thin: block signals, parse, run, exit
//! with the code.
//!
//! `no_main`: the C library calls `main` below directly, without std's
//! start-up, whose failures (an alternate signal stack it cannot map) abort
//! before drainit's first line; src/os/startup.rs does what of it drainit
//! needs.

// The test harness brings its own main.
#![cfg_attr(not(test), no_main)]
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

use std::ffi::OsString;
use std::io::Write;

use drainit::app::{self, fail};
use drainit::cli::{self, Invocation};
use drainit::signals;
use drainit::subcommands::{check, explain};

/// A failed allocation is asked again before it can end PID 1 (src/os/alloc.rs).
#[global_allocator]
static ALLOCATOR: drainit::alloc::Retrying = drainit::alloc::Retrying;

/// The C entry point: reads the arguments, then runs drainit with them.
#[cfg(not(test))]
#[unsafe(no_mangle)]
extern "C" fn main(argc: libc::c_int, argv: *const *const libc::c_char) -> libc::c_int {
    // SAFETY: the C runtime passes `argc` valid NUL-terminated strings.
    let args = unsafe { drainit::startup::args(argc, argv) };
    drainit::startup::open_standard_fds();
    run(args)
}

#[cfg_attr(test, allow(dead_code))]
fn run(args: Vec<OsString>) -> ! {
    let first_ppid = std::os::unix::process::parent_id() as i32;
    // `drainit drill ...` execs drainit-drill (src/cli/subcommands/external.rs).
    drainit::subcommands::external::dispatch(&args);
    // Whose name drainit runs under, worked out once from argv[0] and
    // passed on as a value: to the signal mask here, to the parser.
    let flavor = cli::flavor(&args);
    // First thing, before any thread exists: every signal from now on is
    // queued for the signalfd, none is lost before the child runs.
    let original_mask = match signals::block_all(flavor.ignored_faults()) {
        Ok(mask) => mask,
        Err(e) => fail(1, &format!("drainit: cannot block signals: {e}")),
    };
    // std's start-up, when it runs (not here: no_main), ignores SIGPIPE; an
    // ignored signal never reaches the signalfd, and drainit forwards every
    // catchable signal.
    // SAFETY: SIG_DFL installs no handler, and no other thread exists yet.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let code = match parse(args, flavor) {
        Invocation::Run(opts) => app::run(opts, original_mask, first_ppid),
        other => other_command(other),
    };
    std::process::exit(code);
}

/// The command line, parsed in a frame of its own: clap's deep frames are
/// gone from the stack before the run starts (the run's frames stay for
/// its whole life).
#[inline(never)]
fn parse(args: Vec<OsString>, flavor: drainit::options::Flavor) -> Invocation {
    cli::parse(args, flavor)
}

/// Everything but a run: the subcommands and the messages that end it.
#[inline(never)]
fn other_command(invocation: Invocation) -> i32 {
    match invocation {
        Invocation::Run(_) => 2,
        Invocation::Check(args) => check::run(*args),
        Invocation::Explain(args) => explain::run(*args),
        Invocation::Exit {
            message,
            code,
            to_stderr,
        } => {
            if to_stderr {
                // As given: the anchors' usage texts end in a blank line.
                drainit::logging::stderr_line(&message);
            } else {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(message.as_bytes());
                let _ = out.flush();
            }
            code
        }
    }
}
