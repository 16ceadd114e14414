//! drainit: a PID-1 init for containers that reaps, forwards signals and
//! drains gracefully. This file is thin: block signals, parse, run, exit
//! with the code.

use std::io::Write;

use drainit::app::{self, fail};
use drainit::cli::{self, Invocation};
use drainit::{check, explain, signals};

fn main() {
    let first_ppid = unsafe { libc::getppid() };
    // First thing, before any thread exists: every signal from now on is
    // queued for the signalfd, none is lost before the child runs.
    let original_mask = match signals::block_all() {
        Ok(mask) => mask,
        Err(e) => fail(1, &format!("drainit: cannot block signals: {e}")),
    };
    // Rust ignores SIGPIPE at start-up; an ignored signal never reaches the
    // signalfd, and drainit forwards every catchable signal.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let code = match cli::parse(std::env::args_os().collect()) {
        Invocation::Run(opts) => app::run(*opts, original_mask, first_ppid),
        Invocation::Check(args) => check::run(*args),
        Invocation::Explain(args) => explain::run(*args),
        Invocation::Exit {
            message,
            code,
            to_stderr,
        } => {
            if to_stderr {
                eprintln!("{}", message.trim_end());
            } else {
                print!("{message}");
                let _ = std::io::stdout().flush();
            }
            code
        }
    };
    std::process::exit(code);
}


