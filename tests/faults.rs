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
    let bin = common::static_dir().join("drainit");
    if !bin.exists() {
        common::skip("target/static/drainit is missing: run `make static`");
        return;
    }
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
