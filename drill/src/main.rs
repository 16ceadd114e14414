//! `drainit-drill` (`drainit drill`): stops an image's replicas under load
//! the way a platform does and counts the requests dropped, as built and
//! with drainit in front. See docs/drill.md.
//!
//! Layers: the pure core (platform.rs: the presets' stop plans; rollout.rs:
//! the schedule; tally.rs, verdict.rs, recommend.rs, report.rs, svg.rs)
//! is tested without Docker; docker.rs, balancer.rs, load.rs and run.rs are
//! the thin shell that does the I/O.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod app;
mod balancer;
mod classify;
mod cli;
mod docker;
mod duration;
mod during;
mod inject;
mod junit;
mod load;
mod platform;
mod progress;
mod recommend;
mod report;
mod rollout;
mod run;
mod svg;
mod tally;
mod timeline;
mod tls;
mod verdict;

use clap::Parser;

fn main() {
    let args = match cli::Args::try_parse() {
        Ok(a) => a,
        Err(e) => match e.kind() {
            clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                let _ = e.print();
                std::process::exit(cli::EXIT_CLEAN);
            }
            _ => {
                let text = e.to_string();
                let first = text.lines().next().unwrap_or("bad arguments");
                let first = first.strip_prefix("error: ").unwrap_or(first);
                eprintln!("drainit drill: {first} (see --help)");
                std::process::exit(cli::EXIT_SETUP);
            }
        },
    };
    if let Err(e) = cli::validate(&args) {
        eprintln!("drainit drill: {e}");
        std::process::exit(cli::EXIT_SETUP);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("drainit drill: cannot start the runtime: {e}");
            std::process::exit(cli::EXIT_SETUP);
        }
    };
    let code = runtime.block_on(app::main(args));
    // Requests still in flight or containers' log streams are not waited for.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    std::process::exit(code);
}
