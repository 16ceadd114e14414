//! The adaptive drain must not stall under a stream of events (issue 11).
//!
//! `drainit --drain-quiet 500ms --drain-delay 4s -- app`, SIGTERM, and then
//! events arriving faster than the traffic looks: a SIGHUP to drainit every
//! 30 ms, an app that leaves an orphan every ~5 ms (their SIGCHLDs), or a
//! readiness gate checked every 10 ms. No client connects, so the traffic is
//! quiet from the start and the stop signal is due at the quiet period
//! (0.5 s), not at the 4 s maximum.
//!
//! Read from drainit's JSON log (`--log-format json`): the timestamps of the
//! drain start and of the forward. Read from the app's own log
//! (tests/faults/child.py): when it got SIGTERM, on the same wall clock. Both
//! must say: forwarded after the quiet period and before half the maximum.
//! These are bounds of the rule under test, not timing limits: a stalled
//! drain forwards at the maximum, 4 s.

// The lints of src/ that fit a test (unwrap, expect, panic and indexing
// are how a test fails): every unsafe block says why it is sound.
#![deny(clippy::undocumented_unsafe_blocks)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{free_port, wait_for, Running};

const QUIET_MS: f64 = 500.0;
const MAX_MS: f64 = 4000.0;

fn child_py() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/faults/child.py")
}

/// One JSON line of drainit's: its UTC timestamp (ns since the epoch) and
/// the line, to search its fields in.
struct LogLine {
    at_ns: i128,
    text: String,
}

/// drainit's JSON lines (objects with a `"timestamp":"..."` member); any
/// other line on stderr is not drainit's JSON and is left out.
fn parse_json_log(stderr: &str) -> Vec<LogLine> {
    stderr
        .lines()
        .filter(|l| l.starts_with('{') && l.ends_with('}'))
        .filter_map(|l| {
            let (_, rest) = l.split_once("\"timestamp\":\"")?;
            let (ts, _) = rest.split_once('"')?;
            Some(LogLine {
                at_ns: rfc3339_ns(ts)?,
                text: l.to_string(),
            })
        })
        .collect()
}

/// `2026-11-23T05:47:56.123456Z` -> ns since the epoch (UTC, no leap seconds).
fn rfc3339_ns(ts: &str) -> Option<i128> {
    let (date, time) = ts.trim_end_matches('Z').split_once('T')?;
    let mut d = date.split('-').map(|x| x.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.split(':').map(|x| x.parse::<i64>().ok());
    let (h, min, s) = (t.next()??, t.next()??, t.next()??);
    let frac_ns: i128 = format!("{frac:0<9}")[..9].parse().ok()?;
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + min * 60 + s;
    Some(secs as i128 * 1_000_000_000 + frac_ns)
}

fn first<'a>(lines: &'a [LogLine], needle: &str) -> Option<&'a LogLine> {
    lines.iter().find(|l| l.text.contains(needle))
}

/// The app's log lines `sig SIGNO MONO REAL`: REAL of the first SIGTERM.
fn app_term_real_ns(log: &Path) -> Option<i128> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|w| w.len() >= 4 && w[0] == "sig" && w[1] == "15")
        .and_then(|w| w[3].parse().ok())
}

fn app_ready(log: &Path) -> bool {
    std::fs::read_to_string(log).is_ok_and(|t| t.lines().any(|l| l.starts_with("ready ")))
}

fn now_real_ns() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0)
}

/// A thread sending `sig` to `pid` every `every` until stopped. Through a
/// pidfd: the storm outlives drainit by up to a period, and drainit's pid,
/// once reaped, may be another test's process.
fn storm(pid: i32, sig: i32, every: Duration) -> (Arc<AtomicBool>, std::thread::JoinHandle<u64>) {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let target = common::Pidfd::open(pid).expect("drainit is running");
    let handle = std::thread::spawn(move || {
        let mut sent = 0;
        while !flag.load(Ordering::Relaxed) {
            if target.signal(sig) {
                sent += 1;
            }
            std::thread::sleep(every);
        }
        sent
    });
    (stop, handle)
}

/// A listener that accepts and drops every connection (the gate's target).
fn sink() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for c in l.incoming() {
            drop(c);
        }
    });
    port
}

struct Outcome {
    /// From drainit's JSON log: forward minus drain start.
    forwarded_after_ms: f64,
    /// From the app's log: its SIGTERM minus drainit's drain start.
    app_term_after_ms: f64,
    code: i32,
    stderr: String,
}

/// drainit (PID 1) with the adaptive drain around child.py listening on a
/// port; SIGTERM, with `hup_storm` HUPs every 30 ms during the drain.
fn drain(extra: &[&str], app_flags: &[&str], hup_storm: bool) -> Option<Outcome> {
    if common::need_pidns() {
        return None;
    }
    let dir = common::tempdir("stall");
    let log = dir.join("app.log");
    let port = free_port().to_string();
    let child = child_py();
    let mut args = vec![
        "--log-format",
        "json",
        "--drain-quiet",
        "500ms",
        "--drain-delay",
        "4s",
        "--grace",
        "10s",
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(&[
        "--",
        "python3",
        child.to_str().unwrap(),
        log.to_str().unwrap(),
        "exit",
        "--listen",
        &port,
    ]);
    args.extend_from_slice(app_flags);
    let mut run = Running::pid1(&args);
    assert!(
        wait_for(Duration::from_secs(20), || app_ready(&log).then_some(())).is_some(),
        "the app did not start: {}",
        run.stderr()
    );
    let term_sent = now_real_ns();
    run.signal(libc::SIGTERM);
    let hups = hup_storm.then(|| storm(run.pid, libc::SIGHUP, Duration::from_millis(30)));
    let code = run.code(Duration::from_secs(30));
    if let Some((stop, handle)) = hups {
        stop.store(true, Ordering::Relaxed);
        let sent = handle.join().unwrap();
        eprintln!("SIGHUPs sent during the drain: {sent}");
        assert!(sent >= 5, "the storm sent only {sent} SIGHUPs");
    }
    let stderr = run.stderr();
    eprintln!("{stderr}");
    let lines = parse_json_log(&stderr);
    let start = first(&lines, "received SIGTERM")
        .unwrap_or_else(|| panic!("no drain start in drainit's JSON log:\n{stderr}"));
    let fwd = first(&lines, "forwarded SIGTERM")
        .unwrap_or_else(|| panic!("no forward in drainit's JSON log:\n{stderr}"));
    assert!(start.at_ns >= term_sent - 1_000_000_000, "clock mismatch");
    let app_term = app_term_real_ns(&log).unwrap_or_else(|| {
        panic!(
            "the app never got SIGTERM: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        )
    });
    let _ = std::fs::remove_dir_all(&dir);
    Some(Outcome {
        forwarded_after_ms: (fwd.at_ns - start.at_ns) as f64 / 1e6,
        app_term_after_ms: (app_term - start.at_ns) as f64 / 1e6,
        code,
        stderr,
    })
}

fn assert_forwarded_at_the_quiet_period(o: &Outcome) {
    eprintln!(
        "forwarded after {:.0} ms (JSON log), the app got SIGTERM {:.0} ms after the drain start",
        o.forwarded_after_ms, o.app_term_after_ms
    );
    assert_eq!(o.code, 0, "exit code; log:\n{}", o.stderr);
    for (what, ms) in [
        ("drainit's forward", o.forwarded_after_ms),
        ("the app's SIGTERM", o.app_term_after_ms),
    ] {
        assert!(
            ms >= QUIET_MS,
            "{what} {ms:.0} ms after the drain start: before the {QUIET_MS} ms quiet period"
        );
        assert!(
            ms < MAX_MS / 2.0,
            "{what} {ms:.0} ms after the drain start: the drain stalled toward the {MAX_MS} ms \
             maximum (quiet period {QUIET_MS} ms)\n{}",
            o.stderr
        );
    }
}

#[test]
fn quiet_drain_forwards_at_the_quiet_period() {
    // The reference: no event stream at all.
    if let Some(o) = drain(&[], &[], false) {
        assert_forwarded_at_the_quiet_period(&o);
    }
}

#[test]
fn a_hup_storm_does_not_postpone_the_adaptive_drain() {
    if let Some(o) = drain(&[], &[], true) {
        assert_forwarded_at_the_quiet_period(&o);
    }
}

#[test]
fn orphans_sigchlds_do_not_postpone_the_adaptive_drain() {
    if let Some(o) = drain(&[], &["--fork-storm"], false) {
        assert_forwarded_at_the_quiet_period(&o);
    }
}

#[test]
fn a_fast_readiness_gate_does_not_postpone_the_adaptive_drain() {
    let gate = format!("127.0.0.1:{}", sink());
    let args = ["--ready-tcp", gate.as_str(), "--ready-interval", "10ms"];
    if let Some(o) = drain(&args, &[], false) {
        assert_forwarded_at_the_quiet_period(&o);
    }
}

#[test]
fn a_hup_storm_and_a_forking_app_together() {
    if let Some(o) = drain(&[], &["--fork-storm"], true) {
        assert_forwarded_at_the_quiet_period(&o);
    }
}
