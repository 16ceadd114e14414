//! Syscall fault injection (issue 11): a sample of the matrix of
//! tests/faults/matrix.py, one test per phase. `make faults` runs all of it
//! and prints the table (scripts/faults.sh).
//!
//! Each case runs the static drainit (target/static/drainit, what
//! containers run) around a real app that logs the signals it receives,
//! with Debian's strace failing one syscall with one errno from one phase
//! on (`-e inject=SYSCALL:error=ERRNO:when=1` or `when=1+`). It asserts: no
//! crash, no hang, the app gets its stop signal (not before the drain
//! delay), the exit code is the app's, and a failure that drainit did not
//! absorb is named by one line of its. Failures print the strace line,
//! drainit's last log lines and a one-command reproduction. The sample
//! leaves out what drainit's code cannot handle (matrix.py `NOT_SAMPLED`:
//! std's start-up before main, allocation failures, close); the full run
//! keeps them.

// The lints of src/ that fit a test (unwrap, expect, panic and indexing
// are how a test fails): every unsafe block says why it is sound.
#![deny(clippy::undocumented_unsafe_blocks)]

mod common;

use std::path::PathBuf;
use std::process::Command;

/// Cases per phase in `make test`; FAULTS_SAMPLE overrides.
const PER_PHASE: usize = 6;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// True when the test must return early.
fn need_tools() -> bool {
    if !Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return common::skip("strace is not installed (make deps)");
    }
    if !common::static_dir().join("drainit").exists() {
        return common::skip("target/static/drainit is missing: run `make static`");
    }
    common::need_pidns()
}

/// target/static/drainit, or None after saying why the test skips.
fn static_drainit() -> Option<PathBuf> {
    let bin = common::static_dir().join("drainit");
    if bin.exists() {
        Some(bin)
    } else {
        common::skip("target/static/drainit is missing: run `make static`");
        None
    }
}

fn run_phase(phase: &str) {
    if need_tools() {
        return;
    }
    let per = std::env::var("FAULTS_SAMPLE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(PER_PHASE);
    let out = Command::new("python3")
        .arg(repo().join("tests/faults/matrix.py"))
        .args(["run", "--phase", phase, "-j", "1", "--sample"])
        .arg(per.to_string())
        .env("DRAINIT_BIN", common::static_dir().join("drainit"))
        .output()
        .expect("run tests/faults/matrix.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains(" cases, "),
        "the matrix did not run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "fault injection in the {phase} phase: failed cases above"
    );
}

#[test]
fn the_matrix_has_hundreds_of_cases_from_the_recording() {
    let out = Command::new("python3")
        .arg(repo().join("tests/faults/matrix.py"))
        .arg("list")
        .output()
        .expect("run tests/faults/matrix.py");
    assert!(out.status.success());
    let cases = String::from_utf8_lossy(&out.stdout).lines().count();
    assert!(cases >= 300, "only {cases} cases");
    for phase in ["startup", "idle", "drain", "stopping", "exit", "killing"] {
        let n = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.split('/').nth(1) == Some(phase))
            .count();
        assert!(n > 0, "no case in the {phase} phase");
    }
}

#[test]
fn faults_at_start_up() {
    run_phase("startup");
}

#[test]
fn faults_while_idle() {
    run_phase("idle");
}

#[test]
fn faults_during_the_drain_delay() {
    run_phase("drain");
}

#[test]
fn faults_while_stopping() {
    run_phase("stopping");
}

#[test]
fn faults_at_exit() {
    run_phase("exit");
}

#[test]
fn faults_while_killing() {
    run_phase("killing");
}

/// Real stderr failures, no injection: stderr on /dev/full (ENOSPC), a
/// pipe whose reader is gone (EPIPE), a full non-blocking pipe (EAGAIN, as
/// a log collector that stopped reading leaves it). drainit's log lines
/// fail; the drain does not: the app gets SIGTERM after the delay, and its
/// exit code is drainit's.
#[test]
fn a_failing_stderr_never_stops_the_drain() {
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let Some(bin) = static_drainit() else {
        return;
    };
    let pipe = || {
        let mut fds = [0; 2];
        // SAFETY: pipe2 writes two descriptors into `fds`.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        // SAFETY: both descriptors were just created and are owned here only.
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
    };
    let kinds = [
        "/dev/full",
        "a pipe with no reader",
        "a full non-blocking pipe",
    ];
    for kind in kinds {
        let dir = common::tempdir("stderr-fails");
        let marker = dir.join("term");
        let ready = dir.join("ready");
        let mut keep = None;
        let stderr: Stdio = match kind {
            "/dev/full" => std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .unwrap()
                .into(),
            "a pipe with no reader" => {
                let (r, w) = pipe();
                drop(r);
                w.into()
            }
            _ => {
                let (r, w) = pipe();
                let raw = std::os::fd::AsRawFd::as_raw_fd(&w);
                // SAFETY: fcntl on a descriptor owned here.
                unsafe { libc::fcntl(raw, libc::F_SETFL, libc::O_NONBLOCK) };
                let chunk = [b'x'; 4096];
                // SAFETY: writes from a live buffer to an owned descriptor.
                while unsafe { libc::write(raw, chunk.as_ptr().cast(), chunk.len()) } > 0 {}
                keep = Some(r);
                w.into()
            }
        };
        let script = format!(
            "trap 'echo $(date +%s%N) > {m}; exit 7' TERM; touch {r}; while :; do sleep 0.05; done",
            m = marker.display(),
            r = ready.display()
        );
        let mut child = Command::new(&bin)
            .args([
                "--drain-delay",
                "300ms",
                "--grace",
                "5s",
                "--",
                "sh",
                "-c",
                &script,
            ])
            .stderr(stderr)
            .spawn()
            .unwrap();
        assert!(
            common::wait_for(Duration::from_secs(10), || ready.exists().then_some(())).is_some(),
            "{kind}: the app never started"
        );
        let sent = Instant::now();
        // SAFETY: a signal to the child this test started.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let status = common::wait_for(Duration::from_secs(10), || child.try_wait().ok().flatten());
        let Some(status) = status else {
            let _ = child.kill();
            panic!("{kind}: drainit did not exit within 10 s of SIGTERM");
        };
        assert_eq!(status.code(), Some(7), "{kind}: {status:?}");
        assert!(marker.exists(), "{kind}: the app never got SIGTERM");
        assert!(
            sent.elapsed() >= Duration::from_millis(300),
            "{kind}: the stop signal came before the drain delay"
        );
        drop(keep);
        eprintln!("stderr on {kind}: drained, exit 7 (the app's)");
    }
}

/// A real limit, no injection: once drainit and the app run, drainit's
/// address space is capped at its current size (`prlimit(RLIMIT_AS)` from
/// outside, as strict overcommit or a `ulimit -v` leaves it), so every new
/// `mmap` and `brk` fails for ever. drainit logs one line and goes on from
/// its reserve (src/os/alloc.rs) through HUPs, orphans, the `--http` endpoint
/// being probed and a whole drain: the app gets SIGTERM after the delay
/// and its exit code is drainit's. Before the reserve this aborted PID 1.
#[test]
fn an_address_space_limit_never_stops_the_drain() {
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let Some(bin) = static_drainit() else {
        return;
    };
    if common::need_pidns() {
        return;
    }
    for pid1 in [false, true] {
        let dir = common::tempdir("rlimit-as");
        let marker = dir.join("term");
        let ready = dir.join("ready");
        let port = common::free_port();
        let addr = format!("127.0.0.1:{port}");
        // An orphan every round: drainit reaps it (as PID 1) or adopts it
        // (as subreaper), allocating as it does.
        let script = format!(
            "trap 'echo $(date +%s%N) > {m}; exit 7' TERM; trap '' HUP; touch {r}; \
             while :; do (sleep 0.01 &) ; sleep 0.02; done",
            m = marker.display(),
            r = ready.display()
        );
        let mut cmd = if pid1 {
            let mut c = Command::new("unshare");
            c.args(["--pid", "--fork", "--mount-proc", "--kill-child"])
                .arg(&bin);
            c
        } else {
            Command::new(&bin)
        };
        let mut child = cmd
            .args([
                "--log-format",
                "json",
                "--drain-delay",
                "300ms",
                "--grace",
                "5s",
                "--http",
                &addr,
                "--",
                "sh",
                "-c",
                &script,
            ])
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let top = child.id() as i32;
        assert!(
            common::wait_for(Duration::from_secs(10), || ready.exists().then_some(())).is_some(),
            "pid1={pid1}: the app never started"
        );
        let drainit = if pid1 {
            common::wait_for(Duration::from_secs(5), || common::first_child(top)).unwrap()
        } else {
            top
        };
        assert!(
            common::wait_for(Duration::from_secs(5), || common::http_get(&addr, "/ready")
                .ok()
                .map(|_| ()))
            .is_some(),
            "pid1={pid1}: the endpoint never answered"
        );
        let size_kb = common::status_field(drainit, "VmSize").unwrap();
        let limit = libc::rlimit {
            rlim_cur: size_kb * 1024,
            rlim_max: size_kb * 1024,
        };
        // SAFETY: prlimit with a valid pid and a live rlimit; the old
        // value is not asked for.
        let rc = unsafe { libc::prlimit(drainit, libc::RLIMIT_AS, &limit, std::ptr::null_mut()) };
        assert_eq!(rc, 0, "prlimit: {}", std::io::Error::last_os_error());
        // drainit's log, read as it comes: the limit has bitten once the
        // reserve's line is there.
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                let _ = tx.send(line);
            }
        });
        let mut log = String::new();
        let mut bitten = false;
        let (mut answered, mut rounds) = (0, 0);
        // At least 40 rounds of HUP and /metrics; more until the limit
        // bites (a request served from memory the heap already had maps
        // nothing new), at most 2,000.
        while rounds < 40 || (!bitten && rounds < 2000) {
            rounds += 1;
            // SAFETY: a signal to drainit, which this test started.
            unsafe { libc::kill(drainit, libc::SIGHUP) };
            if common::http_get(&addr, "/metrics").is_ok_and(|(code, _)| code == 200) {
                answered += 1;
            }
            for line in rx.try_iter() {
                bitten |= line.contains("reserve");
                log.push_str(&line);
                log.push('\n');
            }
        }
        let sent = Instant::now();
        // SAFETY: as above.
        unsafe { libc::kill(drainit, libc::SIGTERM) };
        let status = common::wait_for(Duration::from_secs(10), || child.try_wait().ok().flatten());
        let Some(status) = status else {
            let _ = child.kill();
            panic!("pid1={pid1}: drainit did not exit within 10 s of SIGTERM");
        };
        reader.join().unwrap();
        for line in rx.try_iter() {
            log.push_str(&line);
            log.push('\n');
        }
        let events: Vec<_> = log.lines().filter_map(common::LogEvent::parse).collect();
        let reserve: Vec<_> = events
            .iter()
            .filter(|e| e.message().contains("reserve"))
            .collect();
        assert_eq!(status.code(), Some(7), "pid1={pid1}: {status:?}\n{log}");
        assert!(
            marker.exists(),
            "pid1={pid1}: the app never got SIGTERM\n{log}"
        );
        assert!(
            sent.elapsed() >= Duration::from_millis(300),
            "pid1={pid1}: the stop signal came before the drain delay"
        );
        assert_eq!(
            reserve.len(),
            1,
            "pid1={pid1}: one line for the refused memory (the limit must bite; {rounds} rounds)\n{log}"
        );
        assert_eq!(reserve[0].level, "WARN", "{log}");
        let warnings: Vec<_> = events.iter().filter(|e| e.level != "INFO").collect();
        assert_eq!(
            warnings.len(),
            1,
            "pid1={pid1}: nothing else fails (/proc is read)\n{log}"
        );
        eprintln!(
            "pid1={pid1}: RLIMIT_AS at {size_kb} kB: {answered}/{rounds} /metrics answered, drained, exit 7"
        );
    }
}
