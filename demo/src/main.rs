//! drainit-demo: a tiny HTTP server with configurable SIGTERM behaviour, used
//! by drainit's tests, Docker tests, benchmarks and demos.

use std::io::Write;
use std::sync::OnceLock;
use std::time::Instant;

/// Logs one line to stderr: `drainit-demo: <message> [+<ms>ms]`.
///
/// The message comes right after the prefix so that tests can match stable
/// text such as `drainit-demo: got SIGHUP`; the timestamp goes last.
macro_rules! log {
    ($($arg:tt)*) => { $crate::log_line(format_args!($($arg)*)) };
}

mod cli;
mod server;
mod signals;

static START: OnceLock<Instant> = OnceLock::new();

fn log_line(msg: std::fmt::Arguments) {
    let ms = START.get_or_init(Instant::now).elapsed().as_millis();
    // Ignore write errors: a closed stderr must not take the server down
    // (eprintln! would panic, and panics abort in release builds).
    let _ = writeln!(std::io::stderr().lock(), "drainit-demo: {msg} [+{ms}ms]");
}

fn main() {
    START.get_or_init(Instant::now);
    let cfg = match cli::parse(std::env::args().skip(1), |k| std::env::var(k).ok()) {
        Ok(cli::Command::Run(cfg)) => cfg,
        Ok(cli::Command::Help) => {
            print!("{}", cli::USAGE);
            return;
        }
        Err(msg) => {
            log!("error: {msg}");
            std::process::exit(2);
        }
    };
    // One thread is plenty for a test server and keeps its footprint (and
    // the process tree drainit sees) small.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .expect("failed to start the tokio runtime");
    let code = runtime.block_on(server::run(cfg));
    log!("exiting {code}");
    std::process::exit(code);
}
