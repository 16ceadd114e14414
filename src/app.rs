//! The run: set up logging, the ready file, the endpoint and the runtime,
//! spawn the child, drive the supervisor until it says exit.

use std::sync::Arc;

use crate::cli::Options;
use crate::readiness::file::ReadyFile;
use crate::readiness::Shared;
use crate::supervisor::{Config, Mode, Quiet, Supervisor};
use crate::{client, logging, memory, process, readiness, runtime, signals, traffic};

/// Prints one line on stderr and exits with `code`.
pub fn fail(code: i32, message: &str) -> ! {
    eprintln!("{message}");
    std::process::exit(code);
}

fn supervisor_config(o: &Options) -> Config {
    let d = &o.drain;
    Config {
        mode: o.mode,
        drain_signals: d.drain_signals(),
        drain_delay: d.drain_delay.unwrap_or_default(),
        grace: d.grace,
        rewrites: o.rewrites.clone(),
        remap_exit: o.remap_exit.clone(),
        gated: d.gate().is_some(),
        quiet: d.drain_quiet.map(|period| Quiet {
            period,
            min: d.drain_min.unwrap_or(period),
        }),
        ..Config::default()
    }
}

pub fn run(o: Options, original_mask: nix::sys::signal::SigSet, first_ppid: i32) -> i32 {
    let usage = o.flavor.usage_code();
    if let Err(e) = logging::init(o.verbosity, o.flavor, o.log_format) {
        fail(usage, &format!("drainit: {e}"));
    }
    readiness::file::install_panic_cleanup();
    if let Some(sig) = o.pdeathsig {
        if let Err(e) = process::set_pdeathsig(sig, first_ppid) {
            tracing::warn!("cannot set the parent-death signal: {e}");
        }
    }
    if std::process::id() != 1 {
        if let Err(e) = process::become_subreaper() {
            tracing::warn!("cannot register as child subreaper ({e}): orphans will not be reaped");
        }
    }
    let tty = process::stdin_is_tty();
    let reset_to_default = process::ignore_tty_signals(tty);
    signals::install_fault_forwarding();
    // Everything that can fail on bad input fails here, before the child starts.
    let ready_file = o
        .drain
        .ready_file
        .as_deref()
        .map(ReadyFile::prepare)
        .transpose()
        .unwrap_or_else(|e| fail(usage, &format!("drainit: {e}")));
    let http = o
        .drain
        .http
        .map(readiness::http::bind)
        .transpose()
        .unwrap_or_else(|e| fail(usage, &format!("drainit: {e}")));

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        // drainit watches a handful of descriptors: a small event buffer.
        .max_io_events_per_tick(64)
        .build()
        .unwrap_or_else(|e| fail(1, &format!("drainit: cannot start the runtime: {e}")));
    let code = rt.block_on(async move {
        let signals = signals::SignalStream::new()
            .unwrap_or_else(|e| fail(1, &format!("drainit: cannot open a signalfd: {e}")));
        let shared = Arc::new(Shared::new());
        if let Some(listener) = http {
            if let Err(e) = readiness::http::serve(listener, shared.clone()) {
                fail(usage, &format!("drainit: --http: {e}"));
            }
        }
        // Before the child runs: host names get their resolver thread now.
        let gate_timeout = o.drain.ready_interval.clamp(
            std::time::Duration::from_millis(100),
            std::time::Duration::from_secs(2),
        );
        let probe = o
            .drain
            .gate()
            .map(|gate| client::Probe::prepare(&gate, gate_timeout))
            .transpose()
            .unwrap_or_else(|e| fail(1, &format!("drainit: readiness gate: {e}")));
        let hook = o
            .drain
            .drain_url
            .as_deref()
            .map(client::Hook::prepare)
            .transpose()
            .unwrap_or_else(|e| fail(1, &format!("drainit: --drain-url: {e}")));
        let spawn_cfg = process::SpawnConfig {
            argv: o.command.clone(),
            new_session: o.mode == Mode::Group,
            original_mask,
            reset_to_default,
            tty,
        };
        let child = match process::spawn(&spawn_cfg) {
            Ok(pid) => pid,
            Err(e) => {
                eprintln!("drainit: {}", e.message);
                return o.flavor.spawn_code(e.code);
            }
        };
        tracing::debug!("started {:?} as pid {child}", o.command);
        signals::set_fault_target(if o.mode == Mode::Group { -child } else { child });
        // Pin no mount point of the container.
        let _ = std::env::set_current_dir("/");
        let probes = probe.map(|probe| {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            client::spawn_gate(probe, o.drain.ready_interval, tx);
            rx
        });
        let traffic = o
            .drain
            .drain_quiet
            .map(|_| traffic::TrafficWatcher::new(o.drain.drain_ports.clone()));
        runtime::Runtime {
            sup: Supervisor::new(supervisor_config(&o)),
            signals,
            child,
            shared,
            ready_file,
            probes,
            hook,
            traffic,
            warn_on_reap: o.warn_on_reap,
            no_children: false,
            trim_at: Some(std::time::Instant::now() + memory::TRIM_AFTER),
        }
        .run()
        .await
    });
    // Everything is cleaned up (ready file, children): exit now. The kernel
    // tears the runtime and the heap down faster than their destructors
    // would, one munmap at a time. drainit never writes to stdout here, and
    // its logs on stderr are unbuffered.
    unsafe { libc::_exit(code) }
}
