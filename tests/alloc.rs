//! What the steady state allocates, counted by drainit's own allocator
//! (`alloc::allocations()`) from the first signal to exit and logged at
//! debug level on its own target (`drainit::alloc`), beside the default
//! logs (the shutdown timeline at info): the lines a run prints are part
//! of what is counted.
//!
//! The same run with 1 and with 40 forwarded signals, each waited for at
//! the app: the difference is what one forwarded signal costs (its
//! reading, its /proc snapshot and route where one is read, the forward,
//! its log lines). It must be nothing in every mode: `-c`, `-g`, the
//! default cascade routing through a wrapper shell (`sh -c`), and under
//! tini's name. From the first signal to exit, what is left is a constant
//! named below, per mode.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{tempdir, wait_for};

/// A child that blocks WINCH and TERM, logs each WINCH and exits 0 on TERM
/// (200 ms later, as an app finishing its work).
const APP: &str = "import os, signal, sys, time
log = sys.argv[1]
sigs = {signal.SIGWINCH, signal.SIGTERM}
signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
n = 0
def put(s):
    with open(log, 'a') as f:
        f.write(s + '\\n')
put('ready')
while True:
    s = signal.sigwait(sigs)
    if s == signal.SIGTERM:
        time.sleep(0.2)
        sys.exit(0)
    n += 1
    put(f'winch {n}')
";

/// Nothing: the HTTP endpoint's counters per signal (`BySignal` in
/// src/io/metrics.rs) are arrays in place from start-up, so the first
/// signal received and forwarded allocate nothing either (they allocated
/// one BTreeMap node each before).
const FIRST_COUNTER: u64 = 0;

/// The stop signal, routed past a wrapper shell, starts the hold
/// (src/core/supervisor/hold.rs, `Hold::new`): the first nodes of its set
/// of processes seen and of its map of wrappers (2, a BTreeSet and a
/// BTreeMap), the list of pids to watch (1) and the buffer its looks go
/// through (1); the supervisor keeps the stop route for the exit status
/// (1, a copy of the route). The runtime then watches the two processes
/// the route reached, the shell and the app (src/os/watch.rs): tokio's
/// registration of each pidfd (2, an `Arc<ScheduledIo>` each, inside
/// tokio) and the watch list's first slot (1). The app takes a moment to
/// exit on TERM, so that both are still there to be watched.
const HOLD: u64 = 8;

#[derive(Clone, Copy, Debug)]
struct Mode {
    name: &'static str,
    /// Run as `tini` (a symlink: drainit takes tini's ways from argv[0]).
    tini: bool,
    args: &'static [&'static str],
    /// The app behind `sh -c`, so the default mode routes the signals.
    wrapped: bool,
    /// Allocations from the first signal to exit, whatever the count.
    expected: u64,
}

const MODES: [Mode; 6] = [
    Mode {
        name: "-c",
        tini: false,
        args: &["-c"],
        wrapped: false,
        expected: FIRST_COUNTER,
    },
    Mode {
        name: "-g",
        tini: false,
        args: &["-g"],
        wrapped: false,
        expected: FIRST_COUNTER,
    },
    Mode {
        name: "routed (sh -c app)",
        tini: false,
        args: &[],
        wrapped: true,
        expected: FIRST_COUNTER + HOLD,
    },
    Mode {
        name: "routed, drain",
        tini: false,
        args: &["--drain-delay", "50ms"],
        wrapped: true,
        expected: FIRST_COUNTER + HOLD,
    },
    Mode {
        name: "tini",
        tini: true,
        args: &[],
        wrapped: false,
        expected: FIRST_COUNTER,
    },
    Mode {
        name: "tini -g",
        tini: true,
        args: &["-g"],
        wrapped: false,
        expected: FIRST_COUNTER,
    },
];

/// Allocations from the first signal to exit, with `forwards` WINCHes.
fn allocations(mode: Mode, forwards: usize) -> u64 {
    let dir = tempdir("alloc");
    let log = dir.join("log");
    let log_s = log.to_string_lossy().into_owned();
    let mut argv: Vec<String> = mode.args.iter().map(|s| s.to_string()).collect();
    argv.push("--".into());
    if mode.wrapped {
        argv.extend(["sh", "-c", "python3 -c \"$0\" \"$1\"; exit $?"].map(String::from));
    } else {
        argv.extend(["python3", "-c"].map(String::from));
    }
    argv.push(APP.into());
    argv.push(log_s);
    let program = if mode.tini {
        let tini = dir.join("tini");
        std::os::unix::fs::symlink(common::drainit(), &tini).expect("symlink tini");
        tini
    } else {
        common::drainit().into()
    };
    let child = Command::new(program)
        .args(&argv)
        .env(
            "DRAINIT_LOG",
            "warn,drainit::timeline=info,drainit::alloc=debug",
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn drainit");
    let pid = child.id() as i32;
    let lines = |log: &std::path::Path| {
        std::fs::read_to_string(log)
            .unwrap_or_default()
            .lines()
            .count()
    };
    let limit = Duration::from_secs(30);
    wait_for(limit, || (lines(&log) >= 1).then_some(())).expect("the app never got ready");
    if mode.wrapped {
        common::settle_shells(pid, limit);
    }
    for n in 1..=forwards {
        // SAFETY (test): a signal to the drainit this test started.
        unsafe { libc::kill(pid, libc::SIGWINCH) };
        wait_for(limit, || (lines(&log) > n).then_some(())).expect("a WINCH never arrived");
    }
    // SAFETY (test): as above.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let out = child.wait_with_output().expect("drainit exits");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{}: {stderr}", mode.name);
    let _ = std::fs::remove_dir_all(&dir);
    stderr
        .lines()
        .find_map(|l| {
            l.split("allocations from the first signal to exit: ")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("{}: no allocation count in:\n{stderr}", mode.name))
}

/// The proof: after start-up, forwarding a signal allocates
/// nothing in any mode, and a whole run from the first signal to exit
/// (39 more signals, the stop, the drain, the reaping, the exit) costs
/// only the constants named above.
#[test]
fn the_steady_state_allocates_nothing() {
    for mode in MODES {
        let one = allocations(mode, 1);
        let many = allocations(mode, 40);
        eprintln!(
            "allocations {}: 1 signal {one}, 40 signals {many}",
            mode.name
        );
        assert_eq!(
            many,
            one,
            "{}: 39 more forwarded signals allocated {} times",
            mode.name,
            many.saturating_sub(one)
        );
        assert_eq!(
            one, mode.expected,
            "{}: from the first signal to exit",
            mode.name
        );
    }
}
