//! The drain sequence with real processes and a real HTTP client (curl):
//! readiness flip, drain delay, grace deadline, cut-short, endpoints,
//! readiness gate, `check`, `explain`, and bad input.

// The lints of src/ that fit a test (unwrap, expect, panic and indexing
// are how a test fails): every unsafe block says why it is sound.
#![deny(clippy::undocumented_unsafe_blocks)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;

const SIGLOG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/siglog.py");
const LONG: Duration = Duration::from_secs(30);
/// How long a condition may take to come true on a loaded machine.
const LIMIT: Duration = Duration::from_secs(30);

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

/// `(signal, monotonic ns)` lines written by `siglog.py --stamp`.
fn stamps(p: &Path) -> Vec<(i32, i128)> {
    read(p)
        .lines()
        .filter_map(|l| {
            let (s, t) = l.split_once(' ')?;
            Some((s.parse().ok()?, t.parse().ok()?))
        })
        .collect()
}

/// drainit --log-format json OPTS -- siglog.py, waiting until the logger runs.
fn start_logger(opts: &[&str], exit_on: i32) -> (Running, PathBuf) {
    let dir = tempdir("drain");
    let out = dir.join("signals");
    let exit_on = exit_on.to_string();
    // The signal logger listens on nothing: a worker, ready as it runs.
    let mut args: Vec<&str> = vec!["--log-format", "json", "--ready-on", "start"];
    args.extend_from_slice(opts);
    args.extend([
        "--",
        "python3",
        SIGLOG,
        out.to_str().unwrap(),
        "--stamp",
        "--exit-on",
        &exit_on,
    ]);
    let run = Running::plain_captured(&args);
    wait_for(LIMIT, || read(&out).contains("ready").then_some(())).expect("logger never started");
    (run, out)
}

/// Waits until drainit has started draining: its ready file is gone.
fn wait_draining(ready: &Path) {
    wait_for(LIMIT, || (!ready.exists()).then_some(())).expect("the drain never started");
}

/// A fresh ready-file path (drainit creates it, and removes it on the drain).
fn ready_path(tag: &str) -> PathBuf {
    tempdir(tag).join("ready")
}

#[test]
fn ready_file_goes_at_once_and_the_stop_signal_comes_at_the_delay() {
    let ready = ready_path("rf");
    let (mut r, out) = start_logger(
        &[
            "--ready-file",
            ready.to_str().unwrap(),
            "--drain-delay",
            "1500ms",
            "--grace",
            "5s",
        ],
        libc::SIGTERM,
    );
    wait_for(LIMIT, || ready.exists().then_some(())).expect("never ready");
    let sent = mono_ns();
    r.signal(libc::SIGTERM);
    wait_draining(&ready);
    figure("drain.ready_file_gone_ms", (mono_ns() - sent) as f64 / 1e6);
    assert_eq!(r.code(LONG), 0);
    let (sig, at) = stamps(&out)[0];
    assert_eq!(sig, libc::SIGTERM);
    // The child's own clock: never before the delay (drainit got TERM after `sent`).
    let child_ms = (at - sent) as f64 / 1e6;
    figure("drain.stop_signal_late_ms", child_ms - 1500.0);
    assert!(
        child_ms >= 1500.0,
        "stop signal {child_ms:.1} ms after TERM"
    );
    assert!(!ready.exists());
    let log = events(&r.stderr());
    assert_order(
        &log,
        &[
            "draining",
            "readiness_off",
            "forwarded",
            "child_exited",
            "exiting",
        ],
    );
    let draining = must(&log, "draining");
    assert_eq!(draining.text("signal"), "SIGTERM");
    assert_eq!(draining.num("delay_s"), 1.5);
    assert_eq!(draining.num("grace_s"), 5.0);
    let fwd = must(&log, "forwarded");
    assert_eq!((fwd.text("signal"), fwd.text("to")), ("SIGTERM", "child"));
    assert!(fwd.num("after_s") >= 1.5, "{}", fwd.line);
    assert!(fwd.num("after_s") < 5.0, "{}", fwd.line);
    assert_eq!(must(&log, "child_exited").num("status"), 0.0);
    assert_eq!(must(&log, "exiting").num("code"), 0.0);
}

#[test]
fn a_child_that_ignores_the_signal_is_killed_at_delay_plus_grace() {
    let (mut r, out) = start_logger(&["--drain-delay", "1s", "--grace", "1s"], 0);
    let sent = mono_ns();
    r.signal(libc::SIGTERM);
    let status = r.wait(LONG).expect("drainit never exited");
    figure(
        "drain.kill_exit_after_term_ms",
        (mono_ns() - sent) as f64 / 1e6,
    );
    assert_eq!(status.code(), Some(137));
    let child_ms = (stamps(&out)[0].1 - sent) as f64 / 1e6;
    assert!(
        child_ms >= 1000.0,
        "stop signal {child_ms:.1} ms after TERM"
    );
    let log = events(&r.stderr());
    assert_order(
        &log,
        &[
            "draining",
            "forwarded",
            "grace_reached",
            "killed",
            "exiting",
        ],
    );
    let fwd = must(&log, "forwarded").num("after_s");
    let kill = must(&log, "grace_reached").num("after_s");
    figure("drain.kill_late_s", kill - 2.0);
    assert!(fwd >= 1.0, "forwarded after {fwd}s");
    // The grace runs from the stop signal: the kill comes at delay + grace.
    // 1e-6: the figures are f64 renderings of exact durations.
    assert!(
        kill + 1e-6 >= fwd + 1.0,
        "SIGKILL at {kill}s, forwarded at {fwd}s"
    );
    assert!(must(&log, "killed").num("count") >= 1.0);
    assert_eq!(must(&log, "exiting").num("code"), 137.0);
}

#[test]
fn a_second_drain_signal_or_sigint_cuts_the_delay_short() {
    for (second, name) in [(libc::SIGTERM, "SIGTERM"), (libc::SIGINT, "SIGINT")] {
        let ready = ready_path("cut");
        let (mut r, out) = start_logger(
            &[
                "--ready-file",
                ready.to_str().unwrap(),
                "--drain-delay",
                "30s",
                "--grace",
                "5s",
            ],
            libc::SIGTERM,
        );
        wait_for(LIMIT, || ready.exists().then_some(())).expect("never ready");
        r.signal(libc::SIGTERM);
        wait_draining(&ready);
        let cut = mono_ns();
        r.signal(second);
        assert_eq!(r.code(LONG), 0, "second signal {second}");
        let (sig, at) = stamps(&out)[0];
        assert_eq!(
            sig,
            libc::SIGTERM,
            "the stop signal is forwarded, not the second one"
        );
        figure("drain.cut_short_ms", (at - cut) as f64 / 1e6);
        let log = events(&r.stderr());
        assert_order(&log, &["draining", "cut_short", "forwarded", "exiting"]);
        let c = must(&log, "cut_short");
        assert_eq!(c.text("signal"), name);
        let fwd = must(&log, "forwarded");
        assert_eq!(fwd.text("signal"), "SIGTERM");
        assert!(
            fwd.num("after_s") >= c.num("after_s") && fwd.num("after_s") < 30.0,
            "{}",
            fwd.line
        );
    }
}

#[test]
fn other_signals_pass_during_the_delay() {
    let ready = ready_path("pass");
    let (mut r, out) = start_logger(
        &[
            "--ready-file",
            ready.to_str().unwrap(),
            "--drain-delay",
            "30s",
        ],
        libc::SIGTERM,
    );
    wait_for(LIMIT, || ready.exists().then_some(())).expect("never ready");
    r.signal(libc::SIGTERM);
    wait_draining(&ready);
    for sig in [libc::SIGHUP, libc::SIGUSR1, libc::SIGWINCH] {
        r.signal(sig);
        wait_for(LIMIT, || {
            stamps(&out).iter().any(|s| s.0 == sig).then_some(())
        })
        .unwrap_or_else(|| panic!("signal {sig} held back during the delay"));
    }
    assert!(
        !stamps(&out).iter().any(|s| s.0 == libc::SIGTERM),
        "TERM came early"
    );
    r.signal(libc::SIGINT);
    assert_eq!(r.code(LONG), 0);
}

#[test]
fn the_child_exiting_during_the_delay_ends_the_wait() {
    let ready = ready_path("exit-early");
    let dir = ready.parent().unwrap().to_path_buf();
    let (started, go) = (dir.join("started"), dir.join("go"));
    // The child exits 4 once the test says so, during the 30 s delay.
    let script = format!(
        "touch {s}; while [ ! -e {g} ]; do sleep 0.01; done; exit 4",
        s = started.display(),
        g = go.display()
    );
    let mut r = Running::plain_captured(&[
        "--log-format",
        "json",
        "--ready-on",
        "start",
        "--ready-file",
        ready.to_str().unwrap(),
        "--drain-delay",
        "30s",
        "--",
        "sh",
        "-c",
        &script,
    ]);
    wait_for(LIMIT, || (started.exists() && ready.exists()).then_some(()))
        .expect("child never started");
    r.signal(libc::SIGTERM);
    wait_draining(&ready);
    std::fs::write(&go, "").unwrap();
    assert_eq!(r.code(LONG), 4);
    let log = events(&r.stderr());
    assert_order(&log, &["draining", "child_exited", "exiting"]);
    let exited = must(&log, "child_exited");
    assert_eq!(exited.num("status"), 4.0);
    assert!(exited.num("after_s") < 30.0, "{}", exited.line);
    assert!(
        event(&log, "forwarded").is_none(),
        "nothing to forward to a child that is gone"
    );
    assert_eq!(must(&log, "exiting").num("code"), 4.0);
}

#[test]
fn a_custom_drain_signal_and_a_rewrite() {
    // nginx style: QUIT drains, and TERM is forwarded as QUIT.
    let (mut r, out) = start_logger(
        &[
            "--drain-signal",
            "QUIT",
            "-r",
            "TERM:QUIT",
            "--drain-delay",
            "300ms",
        ],
        libc::SIGQUIT,
    );
    r.signal(libc::SIGTERM);
    wait_for(LIMIT, || (!stamps(&out).is_empty()).then_some(())).unwrap();
    assert_eq!(
        stamps(&out)[0].0,
        libc::SIGQUIT,
        "TERM is not a drain signal here: forwarded at once as QUIT"
    );
    assert_eq!(r.code(LONG), 0);
}

fn curl(url: &str) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-s", "-m", "3", "-w", "\n%{http_code}", url])
        .output()
        .expect("curl is installed by make deps");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

fn curl_post(url: &str) {
    let _ = Command::new("curl")
        .args(["-s", "-m", "3", "-X", "POST", url])
        .output();
}

fn wait_status(url: &str, want: u16) -> bool {
    wait_for(LIMIT, || (curl(url).0 == want).then_some(())).is_some()
}

#[test]
fn ready_live_and_metrics_across_the_phases() {
    let port = free_port();
    let http = format!("127.0.0.1:{port}");
    let base = format!("http://{http}");
    let (mut r, out) = start_logger(
        &["--http", &http, "--drain-delay", "2s", "--grace", "20s"],
        libc::SIGTERM,
    );
    assert!(wait_status(&format!("{base}/ready"), 200));
    assert_eq!(curl(&format!("{base}/live")).0, 200);
    r.signal(libc::SIGHUP);
    wait_for(LIMIT, || {
        stamps(&out)
            .iter()
            .any(|s| s.0 == libc::SIGHUP)
            .then_some(())
    })
    .expect("HUP never reached the child");
    r.signal(libc::SIGTERM);
    assert!(wait_status(&format!("{base}/ready"), 503), "never unready");
    let (code, body) = curl(&format!("{base}/ready"));
    assert_eq!((code, body.trim()), (503, "not ready: draining"));
    assert_eq!(
        curl(&format!("{base}/live")).0,
        200,
        "/live is unaffected by draining"
    );
    let (code, metrics) = curl(&format!("{base}/metrics"));
    assert_eq!(code, 200);
    for want in [
        "drainit_ready 0",
        "drainit_live 1",
        "drainit_phase{phase=\"draining\"} 1",
        "drainit_signals_received_total{signal=\"SIGHUP\"} 1",
        "drainit_signals_received_total{signal=\"SIGTERM\"} 1",
        "drainit_signals_forwarded_total{signal=\"SIGHUP\"} 1",
    ] {
        assert!(metrics.contains(want), "missing {want}:\n{metrics}");
    }
    assert_eq!(curl(&format!("{base}/nope")).0, 404);
    assert_eq!(r.code(LONG), 0);
}

#[test]
fn the_readiness_gate_follows_the_app() {
    let Some(demo) = demo_app() else { return };
    let (app_port, port) = (free_port(), free_port());
    let http = format!("127.0.0.1:{port}");
    let ready = format!("http://{http}/ready");
    let app = format!("http://127.0.0.1:{app_port}");
    let dir = tempdir("gate");
    let (ready_file, go) = (dir.join("ready"), dir.join("go"));
    // The app starts once the test says so (then exec: drainit's child is
    // the app itself), and answers 503 for its first 1.5 s.
    let start = format!(
        "while [ ! -e {} ]; do sleep 0.01; done; exec \"$@\"",
        go.display()
    );
    let mut r = Running::plain_captured(&[
        "--http",
        &http,
        "--ready-url",
        &format!("{app}/health"),
        "--ready-interval",
        "200ms",
        "--ready-file",
        ready_file.to_str().unwrap(),
        "--drain-delay",
        "1s",
        "--drain-url",
        &format!("{app}/fail-health"),
        "--",
        "sh",
        "-c",
        &start,
        "sh",
        demo.to_str().unwrap(),
        "--listen",
        &format!("127.0.0.1:{app_port}"),
        "--ready-after",
        "1500ms",
    ]);
    // The endpoint answers before the app does.
    let first = wait_for(LIMIT, || Some(curl(&ready).0).filter(|&c| c != 0));
    assert_eq!(first, Some(503), "not ready before the app answers");
    assert!(!ready_file.exists());
    std::fs::write(&go, "").unwrap();
    assert!(wait_status(&ready, 200), "ready once the app answers");
    assert!(ready_file.exists());
    curl_post(&format!("{app}/fail-health"));
    assert!(
        wait_status(&ready, 503),
        "unready again when the app stops answering"
    );
    assert!(!ready_file.exists());
    curl_post(&format!("{app}/pass-health"));
    assert!(wait_status(&ready, 200));
    // The drain hook POSTs /fail-health on the app during the delay.
    r.signal(libc::SIGTERM);
    assert!(
        wait_status(&format!("{app}/health"), 503),
        "drain hook never reached the app"
    );
    assert_eq!(r.code(LONG), 0);
    assert!(!ready_file.exists());
}

#[test]
fn the_tcp_gate() {
    let port = free_port();
    let (app_port, http) = (free_port(), format!("127.0.0.1:{port}"));
    // The app listens once the test says so, then waits for its signal.
    let go = tempdir("tcp-gate").join("go");
    let app = format!(
        "import os,socket,time\n\
         while not os.path.exists({go:?}): time.sleep(0.01)\n\
         s=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n\
         s.bind(('127.0.0.1',{app_port}))\ns.listen()\n\
         while True: time.sleep(3600)"
    );
    let mut r = Running::plain(&[
        "--http",
        &http,
        "--ready-tcp",
        &format!("127.0.0.1:{app_port}"),
        "--ready-interval",
        "100ms",
        "--",
        "python3",
        "-c",
        &app,
    ]);
    // The endpoint answers before the app's listener exists.
    let first = wait_for(LIMIT, || {
        Some(curl(&format!("http://{http}/ready")).0).filter(|&c| c != 0)
    });
    assert_eq!(first, Some(503), "not ready before the app listens");
    std::fs::write(&go, "").unwrap();
    assert!(wait_status(&format!("http://{http}/ready"), 200));
    r.signal(libc::SIGTERM);
    assert_eq!(r.code(LONG), 143);
}

fn drainit_cmd(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(drainit()).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn check_from_a_file_and_from_http() {
    let dir = tempdir("check");
    let f = dir.join("ready");
    let fs = f.to_str().unwrap();
    assert_eq!(drainit_cmd(&["check", "--ready-file", fs]).0, 1);
    std::fs::write(&f, "ready\n").unwrap();
    assert_eq!(drainit_cmd(&["check", "--ready-file", fs]).0, 0);
    let port = free_port();
    let http = format!("0.0.0.0:{port}");
    assert_eq!(
        drainit_cmd(&["check", "--http", &http]).0,
        1,
        "nothing listens"
    );
    let (mut r, _) = start_logger(&["--http", &http, "--drain-delay", "5s"], libc::SIGTERM);
    wait_for(LIMIT, || {
        (drainit_cmd(&["check", "--http", &http]).0 == 0).then_some(())
    })
    .expect("check never passed");
    let via_env = Command::new(drainit())
        .arg("check")
        .env("DRAINIT_HTTP", &http)
        .status()
        .unwrap();
    assert_eq!(via_env.code(), Some(0));
    r.signal(libc::SIGTERM);
    let url = format!("http://127.0.0.1:{port}/ready");
    let (code, _, err) = wait_for(LIMIT, || {
        Some(drainit_cmd(&["check", "--url", &url])).filter(|c| c.0 != 0)
    })
    .expect("check still passes while draining");
    assert_eq!(code, 1);
    assert!(err.contains("503"), "{err}");
    r.signal(libc::SIGINT);
    assert_eq!(r.code(LONG), 0);
    let (code, _, err) = drainit_cmd(&["check"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--ready-file"));
}

#[test]
fn a_program_named_check_still_runs() {
    let dir = tempdir("checkprog");
    let prog = dir.join("check");
    std::fs::write(&prog, "#!/bin/sh\nexit 9\n").unwrap();
    std::fs::set_permissions(&prog, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", dir.display(), std::env::var("PATH").unwrap());
    let out = Command::new(drainit())
        .args(["--", "check"])
        .env("PATH", path)
        .status()
        .unwrap();
    assert_eq!(out.code(), Some(9));
}

#[test]
fn explain_prints_the_timeline_and_rejects_what_cannot_fit() {
    let (code, out, err) = drainit_cmd(&[
        "explain",
        "--drain-delay",
        "40s",
        "--grace",
        "8s",
        "--http",
        "0.0.0.0:8081",
        "--termination-grace-period",
        "50s",
        "--lb-idle-timeout",
        "60s",
    ]);
    assert_eq!(code, 0, "{err}");
    for want in [
        "t=0",
        "t=40.0s",
        "t=48.0s",
        "t=50.0s",
        "terminationGracePeriodSeconds: 50",
        "path: /ready",
    ] {
        assert!(out.contains(want), "missing {want}:\n{out}");
    }
    let (code, _, err) = drainit_cmd(&[
        "explain",
        "--drain-delay",
        "40s",
        "--grace",
        "20s",
        "--termination-grace-period",
        "30s",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("does not fit") && err.contains("62s"), "{err}");
    // A platform grace above the balancer's idle timeout fits; a
    // deregistration delay shorter than delay + grace does not.
    let (code, _, err) = drainit_cmd(&[
        "explain",
        "--termination-grace-period",
        "90s",
        "--lb-idle-timeout",
        "60s",
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = drainit_cmd(&[
        "explain",
        "--lb",
        "alb",
        "--drain-delay",
        "40s",
        "--grace",
        "20s",
        "--deregistration-delay",
        "30s",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("deregistration delay"), "{err}");
    let (code, _, err) = drainit_cmd(&["explain", "--termination-grace-period", "soon"]);
    assert_eq!(code, 2);
    assert!(err.contains("soon"), "{err}");
}

#[test]
fn bad_input_stops_drainit_before_the_child_starts() {
    let dir = tempdir("bad");
    let marker = dir.join("child-ran");
    let touch = format!("touch {}", marker.display());
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_addr = taken.local_addr().unwrap().to_string();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--ready-file", "/nonexistent-dir/ready"],
            "/nonexistent-dir",
        ),
        (
            vec!["--ready-file", "/proc/drainit-ready"],
            "/proc/drainit-ready",
        ),
        (vec!["--http", &taken_addr], &taken_addr),
        (vec!["--ready-url", "http//oops"], "http//oops"),
        (vec!["--drain-url", "localhost:80"], "localhost:80"),
        (vec!["--drain-delay", "forty"], "forty"),
        (vec!["--grace=-1s"], "-1s"),
        (vec!["--drain-signal", "SIGNOPE"], "SIGNOPE"),
        (vec!["--ready-tcp", "nohost"], "nohost"),
    ];
    for (mut args, needle) in cases {
        args.extend(["--", "sh", "-c", &touch]);
        let (code, _, err) = drainit_cmd(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!marker.exists(), "{args:?}: the child ran");
    }
}

#[test]
fn json_logs_and_the_log_filter() {
    let out = Command::new(drainit())
        .args(["--log-format", "json", "--", "sh", "-c", "kill -TERM $$"])
        .env("DRAINIT_LOG", "debug")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.lines().count() >= 1 && err.lines().all(|l| l.starts_with('{')),
        "{err}"
    );
    let log = events(&err);
    assert_eq!(log.len(), err.lines().count(), "every line parses");
    assert!(log
        .iter()
        .all(|e| !e.timestamp.is_empty() && !e.level.is_empty()));
    // Not draining: the child's end and the exit are debug lines.
    assert_order(&log, &["child_exited", "exiting"]);
    assert_eq!(must(&log, "child_exited").num("status"), 143.0);
    assert_eq!(must(&log, "exiting").num("code"), 143.0);
    // The same run by the environment variable, at the default level: quiet.
    let out = Command::new(drainit())
        .args(["--", "sh", "-c", "kill -TERM $$"])
        .env("DRAINIT_LOG_FORMAT", "json")
        .env_remove("DRAINIT_LOG")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(143));
    assert!(
        out.stderr.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(drainit())
        .args(["true"])
        .env("DRAINIT_LOG", "no=such=filter")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// The text rendering of a drain timeline, as the README shows it:
/// `[drainit +S.SSSs]  INFO ...`, one line per phase. The other tests read
/// the JSON log; this one keeps the wording covered.
#[test]
fn the_text_timeline_reads_as_the_readme_shows() {
    let ready = ready_path("text");
    let trapped = ready.with_file_name("trapped");
    let script = format!(
        "trap 'exit 0' TERM; touch {}; while :; do sleep 0.05; done",
        trapped.display()
    );
    let mut r = Running::plain_captured(&[
        "--ready-on",
        "start",
        "--ready-file",
        ready.to_str().unwrap(),
        "--drain-delay",
        "300ms",
        "--grace",
        "10s",
        "--",
        "sh",
        "-c",
        &script,
    ]);
    wait_for(LIMIT, || (ready.exists() && trapped.exists()).then_some(())).expect("never ready");
    r.signal(libc::SIGTERM);
    assert_eq!(r.code(LONG), 0);
    let log = r.stderr();
    let lines: Vec<&str> = log.lines().collect();
    let want = [
        "INFO ready after ",
        "INFO received SIGTERM: draining (delay 300ms, grace 10.0s)",
        "INFO readiness off",
        "INFO forwarded SIGTERM to the child after ",
        "INFO child exited with 0 after ",
        "INFO exiting with 0",
    ];
    assert_eq!(lines.len(), want.len(), "{log}");
    for (line, want) in lines.iter().zip(want) {
        let rest = line
            .strip_prefix("[drainit +")
            .and_then(|l| l.split_once("s]  "))
            .unwrap_or_else(|| panic!("no [drainit +S.SSSs] prefix: {line}"));
        assert!(rest.0.parse::<f64>().is_ok(), "{line}");
        assert!(
            format!(" {}", rest.1).starts_with(&format!(" {want}")),
            "{line:?} is not {want:?}"
        );
    }
}
