//! The run: set up logging, the ready file, the endpoint and the runtime,
//! spawn the child, drive the supervisor until it says exit.

use std::sync::Arc;
use std::time::Duration;

use crate::core::options::{Flavor, Options};
use crate::core::supervisor::{ChildExit, Config, ListenGate, Mode, Quiet};
use crate::core::timeline::Line;
use crate::io::client::{Hook, Probe};
use crate::io::metrics::Shared;
use crate::io::readiness::file::ReadyFile;
use crate::logging::Emit as _;
use crate::{io::readiness, io::traffic, logging, os::process, os::signals, runtime};

/// Prints one line on stderr and exits with `code`.
pub fn fail(code: i32, message: &str) -> ! {
    logging::flush_stdout();
    logging::stderr_line(message);
    std::process::exit(code);
}

/// The gate, the hook and the traffic watcher, all made before the drain
/// can start (nothing is created at drain time). The supervisor's gate
/// interval, quiet rule and hook come from these (`runtime::Runtime::new`).
fn runtime_parts(o: &Options) -> Result<runtime::Parts, String> {
    let d = &o.drain;
    let timeout = d
        .ready_interval
        .clamp(Duration::from_millis(100), Duration::from_secs(2));
    Ok(runtime::Parts {
        ready_file: None,
        hook: d.drain_url.as_deref().map(Hook::prepare).transpose()?,
        gate: d
            .gate()
            .map(|g| Probe::prepare(&g, timeout))
            .transpose()?
            .map(|probe| runtime::Gate {
                probe,
                every: d.ready_interval,
            }),
        traffic: d.drain_quiet.map(|period| runtime::Traffic {
            watcher: traffic::TrafficWatcher::new(d.drain_ports.clone()),
            quiet: Quiet {
                period,
                min: d.drain_min.unwrap_or(period),
            },
        }),
    })
}

/// Everything of the supervisor's configuration but what the runtime's
/// parts decide (the gate's interval, the quiet rule, the hook).
fn supervisor_config(o: &Options, ignore_once: Vec<i32>) -> Config {
    let d = &o.drain;
    Config {
        mode: o.mode,
        drain_signals: d.drain_signals(),
        drain_delay: d.drain_delay.unwrap_or_default(),
        grace: d.grace,
        rewrites: o.rewrites.clone(),
        remap_exit: o.remap_exit.clone(),
        listen_gate: d.waits_for_accept().then(|| ListenGate {
            every: readiness::listen::EVERY,
            worker_after: d.worker_after.unwrap_or(readiness::listen::WORKER_AFTER),
        }),
        announce_ready: d.readiness_read(),
        pid1: std::process::id() == 1,
        root: std::process::id() as i32,
        route_live: o.flavor == Flavor::Drainit,
        suspend_on_tty_signals: o.flavor == Flavor::DumbInit,
        on_child_exit: match (o.flavor, o.mode) {
            (Flavor::DumbInit, Mode::SingleChild) => ChildExit::TermChild,
            (Flavor::DumbInit, _) => ChildExit::TermGroup,
            _ => ChildExit::Drain,
        },
        reap_after_signal: o.flavor == Flavor::Tini,
        warn_on_reap: o.warn_on_reap,
        ignore_once,
        ..Config::default()
    }
}

/// The run: start-up, then the loop until the supervisor says exit. Its
/// frames stay on the stack for the whole run, so they are kept small:
/// start-up happens in calls of its own, and the loop's state is on the
/// heap (docs/benchmarks.md, figure 3b).
pub fn run(o: Box<Options>, original_mask: nix::sys::signal::SigSet, first_ppid: i32) -> i32 {
    let start = prepare(&o, first_ppid);
    let mut builder = tokio::runtime::Builder::new_current_thread();
    // drainit watches a handful of descriptors: a small event buffer.
    builder.enable_io().max_io_events_per_tick(64);
    if needs_timers(&o) {
        builder.enable_time();
    }
    let rt = builder
        .build()
        .unwrap_or_else(|e| fail(1, &format!("drainit: cannot start the runtime: {e}")));
    // The signalfd, the endpoint and the child, inside the runtime's
    // context (they register with it), before the loop runs.
    let runtime = {
        let _context = rt.enter();
        launch(o, start, original_mask)
    };
    let code = match runtime {
        Ok(runtime) => rt.block_on(Box::pin(runtime.run())),
        Err(code) => code,
    };
    // Everything is cleaned up (ready file, children): exit now. The kernel
    // tears the runtime and the heap down faster than their destructors
    // would, one munmap at a time. drainit never writes to stdout here, and
    // its logs on stderr are unbuffered.
    logging::flush_stdout();
    // SAFETY: _exit ends the process; nothing runs after it that could see
    // half-torn state.
    unsafe { libc::_exit(code) }
}

/// Whether a part of the loop uses tokio's timers: the gate's and the
/// hook's timeouts, the automatic gate's connect timeout. The
/// supervisor's own deadlines need none (a timerfd, src/os/alarm.rs), and
/// without them the runtime has no timer wheel (6 kB of heap).
fn needs_timers(o: &Options) -> bool {
    let d = &o.drain;
    d.gate().is_some() || d.drain_url.is_some() || d.waits_for_accept()
}

/// What start-up made before the runtime exists.
struct Start {
    tty: bool,
    hand_off: bool,
    ignore_once: Vec<i32>,
    reset_to_default: Vec<i32>,
    ready_file: Option<ReadyFile>,
    http: Option<std::net::TcpListener>,
}

/// Logging, the process's own settings, the terminal, and everything that
/// can fail on bad input, before the child starts.
#[inline(never)]
fn prepare(o: &Options, first_ppid: i32) -> Start {
    let usage = o.flavor.usage_code();
    let d = &o.drain;
    let draining = d.drain_delay.is_some()
        || d.grace.is_some()
        || d.drain_quiet.is_some()
        || d.drain_url.is_some()
        || d.ready_file.is_some()
        || d.http.is_some()
        || d.gate().is_some();
    if let Err(e) = logging::init(o.verbosity, o.flavor, o.log_format, draining) {
        fail(usage, &format!("drainit: {e}"));
    }
    readiness::file::install_panic_cleanup();
    if let Some(sig) = o.pdeathsig {
        if let Err(e) = process::set_pdeathsig(sig, first_ppid) {
            tracing::warn!("cannot set the parent-death signal: {e}");
        }
    }
    // Under tini's name also as PID 1, where tini -s registers too.
    if std::process::id() != 1 || o.flavor == Flavor::Tini {
        match process::become_subreaper() {
            Ok(()) => Line::Subreaper.emit(),
            Err(e) => tracing::warn!(
                "cannot register as child subreaper ({e}): orphans will not be reaped"
            ),
        }
    }
    let tty = process::stdin_is_tty();
    // dumb-init's setsid mode gives up the terminal before the fork so that
    // the child's session can take it; a session leader gets SIGHUP and
    // SIGCONT for that, which are not the child's to receive.
    let hand_off = o.flavor == Flavor::DumbInit && o.mode == Mode::Group;
    let mut ignore_once = Vec::new();
    if hand_off {
        let result = process::detach_tty();
        if result == Ok(true) {
            ignore_once = vec![libc::SIGHUP, libc::SIGCONT];
        }
        Line::TtyDetached { result }.emit();
    }
    let reset_to_default = process::ignore_tty_signals(tty);
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
    Start {
        tty,
        hand_off,
        ignore_once,
        reset_to_default,
        ready_file,
        http,
    }
}

/// The signalfd, the endpoint, the runtime's parts and the child; the
/// runtime that drives them, or the exit code when the child could not be
/// started. Runs in the tokio runtime's context.
#[inline(never)]
fn launch(
    o: Box<Options>,
    start: Start,
    original_mask: nix::sys::signal::SigSet,
) -> Result<runtime::Runtime, i32> {
    let usage = o.flavor.usage_code();
    let signals = signals::SignalStream::new(o.flavor.ignored_faults())
        .unwrap_or_else(|e| fail(1, &format!("drainit: cannot open a signalfd: {e}")));
    let alarm = crate::os::alarm::Alarm::new()
        .unwrap_or_else(|e| fail(1, &format!("drainit: cannot create a timerfd: {e}")));
    let shared = Arc::new(Shared::new());
    if let Some(listener) = start.http {
        if let Err(e) = readiness::http::serve(listener, shared.clone()) {
            fail(usage, &format!("drainit: --http: {e}"));
        }
    }
    let parts = runtime_parts(&o).unwrap_or_else(|e| fail(usage, &format!("drainit: {e}")));
    let spawn_cfg = process::SpawnConfig {
        flavor: o.flavor,
        argv: o.command.clone(),
        new_session: o.mode == Mode::Group,
        original_mask,
        reset_to_default: start.reset_to_default,
        tty: start.tty,
        take_terminal: start.hand_off,
    };
    let spawned = match process::spawn(&spawn_cfg) {
        Ok(spawned) => spawned,
        Err(e) => {
            logging::stderr_line(&format!("drainit: {}", e.message));
            return Err(o.flavor.spawn_code(e.code));
        }
    };
    let child = spawned.pid;
    Line::Spawned {
        argv: o
            .command
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
        pid: child,
        stdin_tty: start.tty,
        exec_failed: spawned.exec_error.is_some(),
    }
    .emit();
    if let Some(errno) = spawned.tty_attach {
        Line::TtyAttached { errno }.emit();
    }
    if let Some(errno) = spawned.exec_error {
        Line::ExecFailed {
            program: o
                .command
                .first()
                .map(|a| a.to_string_lossy().into_owned())
                .unwrap_or_default(),
            errno,
            pid: child,
        }
        .emit();
    }
    // Pin no mount point of the container.
    let _ = std::env::set_current_dir("/");
    Ok(runtime::Runtime::new(
        supervisor_config(&o, start.ignore_once),
        signals,
        alarm,
        child,
        shared,
        runtime::Parts {
            ready_file: start.ready_file,
            ..parts
        },
    ))
}
