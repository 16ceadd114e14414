//! What the steady state allocates, counted by drainit's own allocator
//! (`alloc::allocations()`) from the first signal to exit and logged at
//! debug level by the runtime (`DRAINIT_LOG=warn,drainit::runtime=debug`
//! shows that one line and nothing else that would allocate).
//!
//! The same run with 1 and with 40 forwarded signals, each waited for at
//! the app: the difference is what one forwarded signal (its reading, the
//! forward, the child's SIGCHLD-free wakeups) costs. Where no /proc
//! snapshot is needed (`-c`, `-g`, tini's names) it must be nothing.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{figure, tempdir, wait_for};

/// A child that blocks WINCH and TERM, logs each WINCH and exits 0 on TERM.
const APP: &str = "import os, signal, sys
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
        sys.exit(0)
    n += 1
    put(f'winch {n}')
";

/// Allocations from the first signal to exit, with `forwards` WINCHes.
fn allocations(mode: &[&str], wrapped: bool, forwards: usize) -> u64 {
    let dir = tempdir("alloc");
    let log = dir.join("log");
    let log_s = log.to_string_lossy().into_owned();
    let mut argv: Vec<String> = mode.iter().map(|s| s.to_string()).collect();
    argv.push("--".into());
    if wrapped {
        argv.extend(["sh", "-c", "python3 -c \"$0\" \"$1\"; exit $?"].map(String::from));
    } else {
        argv.extend(["python3", "-c"].map(String::from));
    }
    argv.push(APP.into());
    argv.push(log_s);
    let child = Command::new(common::drainit())
        .args(&argv)
        .env("DRAINIT_LOG", "warn,drainit::runtime=debug")
        .stdin(Stdio::null())
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
    if wrapped {
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
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
    stderr
        .lines()
        .find_map(|l| {
            l.split("allocations from the first signal to exit: ")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no allocation count in:\n{stderr}"))
}

#[test]
fn forwarding_a_signal_allocates_nothing_where_no_snapshot_is_read() {
    for mode in [&["-c"][..], &["-g"][..]] {
        let one = allocations(mode, false, 1);
        let many = allocations(mode, false, 40);
        eprintln!("allocations {mode:?}: 1 signal {one}, 40 signals {many}");
        assert_eq!(
            many,
            one,
            "{mode:?}: 39 more forwarded signals allocated {} times",
            many.saturating_sub(one)
        );
    }
}

/// Cascade routing reads a /proc snapshot per signal: a figure, not a
/// target yet.
#[test]
fn a_routed_signal_costs_a_counted_number_of_allocations() {
    let one = allocations(&[], true, 1);
    let many = allocations(&[], true, 40);
    let per = many.saturating_sub(one) as f64 / 39.0;
    figure("alloc.per_routed_signal", per);
    assert!(many >= one, "{one} then {many}");
}
