//! drainit as PID 1 of real Docker containers.
//!
//! Images are built FROM scratch out of static binaries by
//! `docker/build.sh` (the engine here has no registry): `drainit-test:latest`
//! holds /drainit, /drainit-demo, busybox as /bin/sh, tini, dumb-init and
//! /app.sh, a wrapper shell that does NOT exec the demo app.
//!
//! Every test skips (or fails under DRAINIT_REQUIRE_ALL=1) when no Docker
//! engine answers or the static binaries are missing. Containers get unique
//! names and are removed by a Drop guard, even when a test panics.

// The lints of src/ that fit a test (unwrap, expect, panic and indexing
// are how a test fails): every unsafe block says why it is sound.
#![deny(clippy::undocumented_unsafe_blocks)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use common::docker::{docker, docker_ok, locked_build, need, Compose, Container, Harness};

const IMAGE: &str = "drainit-test:latest";

/// The suite's containers: `drainit-t-TESTPID-TAG-N`.
const DOCKER: Harness = Harness {
    prefix: "drainit-t",
};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Builds an image with `docker/build.sh MODE`.
fn build(mode: &str) -> Result<(), String> {
    let out = Command::new("bash")
        .arg(repo().join("docker/build.sh"))
        .arg(mode)
        .env("DRAINIT_STATIC_DIR", common::static_dir())
        .output()
        .map_err(|e| e.to_string())?;
    eprint!("{}", String::from_utf8_lossy(&out.stdout));
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// True when the test must return early: no Docker, no static binaries, or
/// the test image did not build (that last one fails the test).
fn need_docker() -> bool {
    need(IMAGE, || build("test"))
}

/// One HTTP/1.1 request over a real socket: Ok(status) or the I/O error
/// (reset, EOF) the client saw.
fn http(method: &str, addr: &str, path: &str) -> Result<u16, String> {
    let mut s = TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("write: {e}"))?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).map_err(|e| format!("read: {e}"))?;
    let text = String::from_utf8_lossy(&buf);
    text.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("no HTTP response ({} bytes)", buf.len()))
}

fn wait_http_ok(addr: &str, path: &str) {
    let limit = Duration::from_secs(15);
    if common::wait_for(limit, || (http("GET", addr, path) == Ok(200)).then_some(())).is_none() {
        panic!("GET {addr}{path} never answered 200");
    }
}

/// Starts a slow POST /work in the background.
fn in_flight(addr: &str) -> thread::JoinHandle<Result<u16, String>> {
    let addr = addr.to_string();
    thread::spawn(move || http("POST", &addr, "/work"))
}

/// Waits until a TCP connection to `port` is established inside the
/// container (seen from the host in its network namespace): the request
/// the test started has reached the app.
fn wait_established(c: &Container, port: u16) {
    let pid = c.host_pid();
    let local = format!(":{port:04X}");
    let established = || {
        ["tcp", "tcp6"].iter().any(|f| {
            std::fs::read_to_string(format!("/proc/{pid}/net/{f}"))
                .unwrap_or_default()
                .lines()
                .skip(1)
                .any(|l| {
                    let cols: Vec<&str> = l.split_whitespace().collect();
                    cols.len() > 3 && cols[1].ends_with(&local) && cols[3] == "01"
                })
        })
    };
    if common::wait_for(Duration::from_secs(15), || established().then_some(())).is_none() {
        panic!("no connection to port {port} established:\n{}", c.logs());
    }
}

/// drainit's JSON log lines among a container's logs.
fn timeline(logs: &str) -> Vec<common::LogEvent> {
    common::events(logs)
}

// --- the signal tests ----------------------------------------------------

/// `docker stop` reaches the app behind `sh` without exec; the in-flight
/// request completes and the app drains.
#[test]
fn docker_stop_drains_app_behind_shell_wrapper() {
    if need_docker() {
        return;
    }
    let c = DOCKER.start(
        "wrapper",
        &[
            "-p",
            "127.0.0.1::8080",
            "-e",
            "DRAINIT_LOG_FORMAT=json",
            IMAGE,
            "/drainit",
            "--",
            "/app.sh",
            "--work",
            "1500ms",
            "--marker",
            "/tmp/marker",
        ],
    );
    let addr = c.addr(8080);
    wait_http_ok(&addr, "/health");
    let request = in_flight(&addr);
    wait_established(&c, 8080);
    let took = c.stop(10);
    let logs = c.logs();
    assert_eq!(
        request.join().unwrap(),
        Ok(200),
        "in-flight request lost:\n{logs}"
    );
    common::figure("docker.wrapper_stop_s", took.as_secs_f64());
    // Not docker's SIGKILL after its 10 s: drainit ended the container.
    let log = timeline(&logs);
    common::assert_order(&log, &["draining", "forwarded", "child_exited", "exiting"]);
    assert!(common::event(&log, "killed").is_none(), "{logs}");
    // The forwarding rule passed over the waiting shell: the app got TERM,
    // the shell survived and ran its last command, and its status is 0.
    assert_eq!(c.exit_code(), 0, "{logs}");
    assert!(logs.contains("wrapper done"), "{logs}");
    assert_eq!(
        c.file("/tmp/marker").as_deref(),
        Some("drained 1 requests\n"),
        "{logs}"
    );
    assert!(logs.contains("drainit-demo: drained 1 requests"), "{logs}");
    eprintln!(
        "drainit: docker stop took {} ms; in-flight request: 200",
        common::ms(took)
    );
}

/// Docker's own init (`docker run --init`, tini) on the same wrapper: tini
/// signals the shell only and exits when it dies, so the kernel SIGKILLs the
/// app mid-request. Records what is lost.
#[test]
fn docker_run_init_loses_the_app_behind_shell_wrapper() {
    if need_docker() {
        return;
    }
    let c = DOCKER.start(
        "init",
        &[
            "--init",
            "-p",
            "127.0.0.1::8080",
            IMAGE,
            "/app.sh",
            "--work",
            "1500ms",
            "--marker",
            "/tmp/marker",
        ],
    );
    let addr = c.addr(8080);
    wait_http_ok(&addr, "/health");
    let request = in_flight(&addr);
    wait_established(&c, 8080);
    let took = c.stop(10);
    let logs = c.logs();
    let outcome = request.join().unwrap();
    let marker = c.file("/tmp/marker");
    eprintln!(
        "docker run --init: stop {} ms, exit {}, in-flight request {outcome:?}, \
         app drained: {}, app saw SIGTERM: {}",
        common::ms(took),
        c.exit_code(),
        marker.is_some(),
        logs.contains("got SIGTERM")
    );
    assert!(outcome.is_err(), "tini kept the request alive?\n{logs}");
    assert!(marker.is_none(), "the app drained under tini?\n{logs}");
    assert!(!logs.contains("got SIGTERM"), "{logs}");
}

/// `docker kill -s HUP/USR1/QUIT` reach the app; QUIT makes it drain.
#[test]
fn docker_kill_signals_reach_the_app() {
    if need_docker() {
        return;
    }
    let log = "/tmp/signals";
    let c = DOCKER.start(
        "kill",
        &[
            IMAGE,
            "/drainit",
            "--",
            "/drainit-demo",
            "--signal-log",
            log,
        ],
    );
    c.wait_log("listening on", Duration::from_secs(10));
    for sig in ["HUP", "USR1"] {
        c.kill(sig);
        let seen = common::wait_for(Duration::from_secs(5), || {
            c.file(log).filter(|s| s.contains(sig))
        });
        assert!(
            seen.is_some(),
            "SIG{sig} never reached the app:\n{}",
            c.logs()
        );
    }
    c.kill("QUIT");
    assert_eq!(c.wait_exit(Duration::from_secs(10)), 0, "{}", c.logs());
    let seen = c.file(log).unwrap_or_default();
    let names: Vec<_> = seen
        .split_whitespace()
        .map(|s| s.trim_start_matches("SIG"))
        .collect();
    assert_eq!(names, ["HUP", "USR1", "QUIT"], "{seen:?}");

    // Behind the wrapper shell, -g sends to the whole group: the app hears
    // USR2 even though the shell dies of it.
    let c = DOCKER.start(
        "kill-g",
        &[
            IMAGE,
            "/drainit",
            "-g",
            "--",
            "/app.sh",
            "--signal-log",
            log,
        ],
    );
    c.wait_log("listening on", Duration::from_secs(10));
    c.kill("USR2");
    let code = c.wait_exit(Duration::from_secs(10));
    let seen = c.file(log).unwrap_or_default();
    assert!(
        seen.contains("USR2"),
        "app missed USR2 ({seen:?}):\n{}",
        c.logs()
    );
    assert_eq!(code, 128 + libc::SIGUSR2, "{}", c.logs());
}

/// The core exit-code table, inside containers (run in parallel).
#[test]
fn exit_codes_match_the_core_table() {
    if need_docker() {
        return;
    }
    let cases: &[(&[&str], i32)] = &[
        (&["/drainit", "--", "sh", "-c", "exit 3"], 3),
        (&["/drainit", "-e", "3", "--", "sh", "-c", "exit 3"], 0),
        (&["/drainit", "--", "/nonexistent"], 127),
        (&["/drainit", "--", "/not-executable"], 126),
        (&["/drainit", "--", "sh", "-c", "kill -KILL $$"], 137),
        (&["/drainit", "--", "sh", "-c", "kill -TERM $$"], 143),
        // An unknown option is a usage error, not a command to run.
        (&["/drainit", "--no-such-option", "true"], 2),
        (&["/drainit"], 2),
    ];
    let handles: Vec<_> = cases
        .iter()
        .map(|(cmd, want)| {
            let mut args = vec![IMAGE.to_string()];
            args.extend(cmd.iter().map(|s| s.to_string()));
            let want = *want;
            thread::spawn(move || {
                let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                let (code, logs) = DOCKER.run("exit", &refs);
                (args[1..].join(" "), code, want, logs)
            })
        })
        .collect();
    let mut bad = Vec::new();
    for h in handles {
        let (cmd, code, want, logs) = h.join().unwrap();
        eprintln!("{cmd:50} -> {code}");
        if code != want {
            bad.push(format!("{cmd}: got {code}, want {want}\n{logs}"));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// Zombies among a container's processes, seen from the host's /proc.
fn zombies(pid1: i32) -> usize {
    let mut pids = common::descendants(pid1);
    pids.push(pid1);
    pids.iter()
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| rest.starts_with('Z')))
                .unwrap_or(false)
        })
        .count()
}

/// 300 orphans dying inside the container leave no zombie behind drainit;
/// a PID 1 that does not reap (the shell exec'd into `sleep`) keeps them.
#[test]
fn orphan_storm_leaves_no_zombies() {
    if need_docker() {
        return;
    }
    let storm = "i=0; while [ $i -lt 300 ]; do sh -c 'sleep 1 &'; i=$((i+1)); done; \
                 echo storm done; exec sleep 60";
    let with = DOCKER.start("storm", &[IMAGE, "/drainit", "--", "sh", "-c", storm]);
    let without = DOCKER.start("storm-sh", &[IMAGE, "sh", "-c", storm]);
    with.wait_log("storm done", Duration::from_secs(60));
    without.wait_log("storm done", Duration::from_secs(60));
    // Every orphan's `sleep 1` has ended: only drainit and `sleep 60` (or
    // `sleep 60` alone) are left alive.
    for (c, live) in [(&with, 2), (&without, 1)] {
        let pid1 = c.host_pid();
        let settled = common::wait_for(Duration::from_secs(60), || {
            (alive_in(pid1) == live).then_some(())
        });
        assert!(settled.is_some(), "{}: orphans still running", c.name);
    }
    let (z_with, z_without) = (zombies(with.host_pid()), zombies(without.host_pid()));
    eprintln!("zombies after the storm: drainit {z_with}, sh->sleep as PID 1 {z_without}");
    assert_eq!(z_with, 0, "drainit left zombies");
    assert!(
        z_without > 0,
        "baseline reaped everything: the storm proves nothing"
    );
    let took = with.stop(10);
    common::figure("docker.storm_stop_s", took.as_secs_f64());
    assert_eq!(
        with.exit_code(),
        143,
        "sleep 60 died of drainit's TERM, not of docker's SIGKILL"
    );
}

/// Live (not zombie) processes of a container: its PID 1 and descendants.
fn alive_in(pid1: i32) -> usize {
    let mut pids = common::descendants(pid1);
    pids.push(pid1);
    pids.len() - pids.iter().filter(|&&p| zombies_among(p)).count()
}

fn zombies_among(p: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{p}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| rest.starts_with('Z')))
        .unwrap_or(true)
}

/// `sh` as PID 1 has no SIGTERM handler: the kernel drops the signal and
/// `docker stop` waits out its timeout, then SIGKILLs (137). drainit stops
/// the same wrapper in well under a second.
#[test]
fn sh_as_pid1_eats_the_stop_timeout_drainit_does_not() {
    if need_docker() {
        return;
    }
    let sh = DOCKER.start("pid1-sh", &[IMAGE, "/app.sh"]);
    let di = DOCKER.start("pid1-drainit", &[IMAGE, "/drainit", "--", "/app.sh"]);
    sh.wait_log("listening on", Duration::from_secs(10));
    di.wait_log("listening on", Duration::from_secs(10));
    let sh_stop = {
        let name = sh.name.clone();
        thread::spawn(move || {
            let t = Instant::now();
            docker_ok(&["stop", "-t", "3", &name]);
            t.elapsed()
        })
    };
    let di_took = di.stop(3);
    let sh_took = sh_stop.join().unwrap();
    eprintln!(
        "docker stop -t 3: sh as PID 1 {} ms (exit {}), drainit {} ms (exit {})",
        common::ms(sh_took),
        sh.exit_code(),
        common::ms(di_took),
        di.exit_code()
    );
    common::figure("docker.sh_pid1_stop_s", sh_took.as_secs_f64());
    common::figure("docker.drainit_pid1_stop_s", di_took.as_secs_f64());
    // 137: docker waited out its timeout and SIGKILLed sh.
    assert_eq!(sh.exit_code(), 137);
    assert_ne!(di.exit_code(), 137, "{}", di.logs());
    assert!(di.logs().contains("drainit-demo: drained"), "{}", di.logs());
}

/// `docker stop -t 35` against `--drain-delay 5s --grace 20s`: readiness goes
/// off at once, the app keeps serving during the delay, then drains; the
/// timeline is in `docker logs`.
#[test]
fn drain_timeline_in_docker_logs() {
    if need_docker() {
        return;
    }
    let c = DOCKER.start(
        "timeline",
        &[
            "-p",
            "127.0.0.1::8080",
            "-p",
            "127.0.0.1::8081",
            "-e",
            "DRAINIT_LOG_FORMAT=json",
            IMAGE,
            "/drainit",
            "--drain-delay",
            "5s",
            "--grace",
            "20s",
            "--http",
            "0.0.0.0:8081",
            "--",
            "/app.sh",
            "--work",
            "300ms",
        ],
    );
    let (app, ready) = (c.addr(8080), c.addr(8081));
    wait_http_ok(&ready, "/ready");
    wait_http_ok(&app, "/health");
    let stopper = {
        let name = c.name.clone();
        thread::spawn(move || {
            let t = Instant::now();
            docker_ok(&["stop", "-t", "35", &name]);
            t.elapsed()
        })
    };
    let off = common::wait_for(Duration::from_secs(15), || {
        (http("GET", &ready, "/ready") == Ok(503)).then_some(())
    });
    assert!(off.is_some(), "/ready never went 503:\n{}", c.logs());
    // The app still serves during the delay: this request ends before the
    // stop signal goes out (checked against the log's clock below).
    assert_eq!(
        http("POST", &app, "/work"),
        Ok(200),
        "app stopped serving during the delay"
    );
    let served = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let took = stopper.join().unwrap();
    let logs = c.logs();
    eprintln!(
        "docker stop -t 35 took {} ms; logs:\n{logs}",
        common::ms(took)
    );
    common::figure("docker.timeline_stop_s", took.as_secs_f64());
    let log = timeline(&logs);
    common::assert_order(
        &log,
        &[
            "draining",
            "readiness_off",
            "forwarded",
            "child_exited",
            "exiting",
        ],
    );
    let draining = common::must(&log, "draining");
    assert_eq!(draining.text("signal"), "SIGTERM");
    assert_eq!(
        (draining.num("delay_s"), draining.num("grace_s")),
        (5.0, 20.0)
    );
    let fwd = common::must(&log, "forwarded");
    assert_eq!(fwd.text("signal"), "SIGTERM");
    let after = fwd.num("after_s");
    common::figure("docker.timeline_forwarded_after_s", after);
    common::figure(
        "docker.timeline_readiness_off_s",
        common::must(&log, "readiness_off").time_s() - draining.time_s(),
    );
    common::figure(
        "docker.timeline_exit_after_forward_s",
        common::must(&log, "exiting").time_s() - fwd.time_s(),
    );
    assert!((5.0..25.0).contains(&after), "forwarded after {after}s");
    assert!(
        served < fwd.time_s(),
        "the request ended after the stop signal"
    );
    assert!(common::event(&log, "killed").is_none(), "{logs}");
    // The app's "drained" line comes after drainit's forward line.
    let drained = logs.find("drainit-demo: drained").expect("app drained");
    assert!(drained > logs.find(&fwd.line).unwrap(), "{logs}");
}

// --- examples ------------------------------------------------------------

fn examples() -> PathBuf {
    repo().join("docker/examples")
}

/// docker/examples/Dockerfile.app builds with the demo as the app and the
/// result drains as its comments say.
#[test]
fn example_dockerfile_builds_and_drains() {
    if need_docker() {
        return;
    }
    let image = example_app_image();
    let c = DOCKER.start(
        "example",
        &[
            "-p",
            "127.0.0.1::8080",
            "-p",
            "127.0.0.1::8081",
            "-e",
            "DRAINIT_LOG_FORMAT=json",
            &image,
        ],
    );
    let ready = c.addr(8081);
    wait_http_ok(&ready, "/ready");
    wait_http_ok(&c.addr(8080), "/health");
    let took = c.stop(30);
    let logs = c.logs();
    common::figure("docker.example_stop_s", took.as_secs_f64());
    assert_example_drained(&logs);
    assert_eq!(c.exit_code(), 0, "{logs}");
}

/// The example's drain (delay 5 s, grace 20 s): SIGTERM forwarded after
/// the delay, before the grace, and no SIGKILL.
fn assert_example_drained(logs: &str) {
    let log = timeline(logs);
    common::assert_order(&log, &["draining", "forwarded", "exiting"]);
    let fwd = common::must(&log, "forwarded");
    assert_eq!(fwd.text("signal"), "SIGTERM");
    let after = fwd.num("after_s");
    assert!(
        (5.0..25.0).contains(&after),
        "forwarded after {after}s:\n{logs}"
    );
    assert!(common::event(&log, "killed").is_none(), "{logs}");
}

/// Builds docker/examples/Dockerfile.app once (the release image first).
fn example_app_image() -> String {
    static RELEASE: OnceLock<Result<(), String>> = OnceLock::new();
    static APP: OnceLock<Result<(), String>> = OnceLock::new();
    if let Err(e) = RELEASE.get_or_init(|| locked_build(|| build("release"))) {
        panic!("docker/build.sh release failed:\n{e}");
    }
    let image = "drainit-example-app:test";
    APP.get_or_init(|| {
        locked_build(|| {
            let ctx = common::tempdir("example-ctx");
            std::fs::copy(common::static_dir().join("drainit-demo"), ctx.join("app")).unwrap();
            let dockerfile = examples().join("Dockerfile.app");
            let out = docker(&[
                "build",
                "-q",
                "-t",
                image,
                "-f",
                dockerfile.to_str().unwrap(),
                ctx.to_str().unwrap(),
            ]);
            let _ = std::fs::remove_dir_all(&ctx);
            if out.status.success() {
                Ok(())
            } else {
                Err(String::from_utf8_lossy(&out.stderr).into_owned())
            }
        })
    })
    .clone()
    .unwrap_or_else(|e| panic!("building Dockerfile.app failed:\n{e}"));
    image.to_string()
}

/// Runs python3 on `script` with the file as argv[1]; stdout.
fn python(script: &str, file: &Path) -> String {
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(file)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "python3: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn has_pyyaml() -> bool {
    Command::new("python3")
        .args(["-c", "import yaml"])
        .status()
        .is_ok_and(|s| s.success())
}

/// `drainit explain` with the drain options of `command` (after /drainit,
/// before the app) and the platform grace: (exit code, output).
fn explain(command: &[String], platform_grace: &str) -> (i32, String) {
    let mut args = vec!["explain".to_string()];
    args.extend(command.iter().skip(1).cloned());
    let dashdash = args.iter().position(|a| a == "--").unwrap_or(args.len());
    args.insert(
        dashdash,
        format!("--termination-grace-period={platform_grace}"),
    );
    let out = Command::new(common::static_dir().join("drainit"))
        .args(&args)
        .output()
        .expect("drainit explain");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// docker/examples/compose.yaml parses, its stop_grace_period fits drainit's
/// delay + grace (per `drainit explain`), and `docker-compose up` / `stop`
/// drains.
#[test]
fn example_compose_parses_fits_and_runs() {
    if need_docker() {
        return;
    }
    let image = example_app_image();
    let project = DOCKER.unique("compose");
    let (app_port, ready_port) = (common::free_port(), common::free_port());
    // The example as it is, plus JSON logs for the assertions below.
    let dir = common::tempdir("compose-json");
    let json_logs = dir.join("json-logs.yaml");
    std::fs::write(
        &json_logs,
        "services:\n  app:\n    environment:\n      DRAINIT_LOG_FORMAT: json\n",
    )
    .unwrap();
    let Some(compose) = Compose::example(&project, &[json_logs], &image, app_port, ready_port)
    else {
        common::skip("neither `docker compose` nor docker-compose is installed");
        return;
    };
    let run = |args: &[&str]| compose.run(args);
    let config = run(&["config"]);
    let config_text = String::from_utf8_lossy(&config.stdout).to_string();
    assert!(
        config.status.success(),
        "{}",
        String::from_utf8_lossy(&config.stderr)
    );

    // stop_grace_period against drainit's own timeline.
    if has_pyyaml() {
        let dir = common::tempdir("compose");
        let resolved = dir.join("config.yaml");
        std::fs::write(&resolved, &config_text).unwrap();
        let fields = python(
            "import sys, yaml, json\n\
             s = yaml.safe_load(open(sys.argv[1]))['services']['app']\n\
             print(json.dumps([s['stop_grace_period'], s['entrypoint']]))",
            &resolved,
        );
        let _ = std::fs::remove_dir_all(dir);
        let (grace, entrypoint): (String, Vec<String>) = parse_json_pair(&fields);
        let (code, text) = explain(&entrypoint, &grace);
        assert_eq!(
            code, 0,
            "compose stop_grace_period {grace} does not fit:\n{text}"
        );
    } else {
        assert!(
            config_text.contains("stop_grace_period: 30s"),
            "{config_text}"
        );
    }

    let up = run(&["up", "-d"]);
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    let ready = format!("127.0.0.1:{ready_port}");
    wait_http_ok(&ready, "/ready");
    // The healthcheck runs `drainit check` inside the container.
    let container = String::from_utf8_lossy(&run(&["ps", "-q", "app"]).stdout)
        .trim()
        .to_string();
    let healthy = common::wait_for(Duration::from_secs(20), || {
        (docker_ok(&["inspect", "-f", "{{.State.Health.Status}}", &container]) == "healthy")
            .then_some(())
    });
    assert!(
        healthy.is_some(),
        "compose healthcheck (drainit check) never passed"
    );
    let t = Instant::now();
    let stop = run(&["stop"]);
    let took = t.elapsed();
    assert!(
        stop.status.success(),
        "{}",
        String::from_utf8_lossy(&stop.stderr)
    );
    let logs = String::from_utf8_lossy(&run(&["logs", "--no-color"]).stdout).to_string();
    // `app_1  | {...}`: the service prefix goes, the JSON line stays.
    let logs: String = logs
        .lines()
        .map(|l| l.split_once("| ").map_or(l, |(_, rest)| rest))
        .collect::<Vec<_>>()
        .join("\n");
    common::figure("docker.compose_stop_s", took.as_secs_f64());
    assert_example_drained(&logs);
}

fn which(bin: &str) -> Result<PathBuf, ()> {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(bin))
                .find(|p| p.is_file())
        })
        .ok_or(())
}

/// Parses `["a", ["b", "c"]]` as printed by json.dumps (no escapes needed
/// for these files).
fn parse_json_pair(s: &str) -> (String, Vec<String>) {
    let strings: Vec<String> = s
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    (strings[0].clone(), strings[1..].to_vec())
}

// The Kubernetes examples against `drainit explain`: tests/examples.rs.

// --- the rolling-restart proof, short version ----------------------------

/// `docker/e2e/run.sh short`: one replica cycle per entrypoint under load
/// behind HAProxy. Every drainit row with a drain delay fails 0 requests.
#[test]
fn rolling_restart_short() {
    if need_docker() {
        return;
    }
    for tool in ["haproxy", "hey", "python3"] {
        if which(tool).is_err() {
            common::skip(&format!("{tool} is not installed (make deps)"));
            return;
        }
    }
    let dir = common::tempdir("e2e");
    let json = dir.join("results.json");
    let out = Command::new("bash")
        .arg(repo().join("docker/e2e/run.sh"))
        .args(["short", "--json", json.to_str().unwrap()])
        .env("DRAINIT_STATIC_DIR", common::static_dir())
        .output()
        .expect("run.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "run.sh short failed");
    let results = std::fs::read_to_string(&json).unwrap();
    let _ = std::fs::remove_dir_all(dir);
    // Rows are one JSON object each: {"entrypoint": ..., "drain": true, ... "failed": N ...}
    let mut drain_rows = 0;
    let mut bad = Vec::new();
    for row in results.split('}').filter(|r| r.contains("\"entrypoint\"")) {
        let field = |k: &str| {
            let at = row.find(&format!("\"{k}\": ")).unwrap() + k.len() + 4;
            row[at..]
                .split([',', '\n'])
                .next()
                .unwrap()
                .trim()
                .trim_matches('"')
                .to_string()
        };
        if field("drain") == "true" {
            drain_rows += 1;
            if field("failed") != "0" {
                bad.push(format!(
                    "{} ({} LB, app {}): {} of {} requests failed",
                    field("entrypoint"),
                    field("lb"),
                    field("app"),
                    field("failed"),
                    field("requests")
                ));
            }
        }
    }
    assert!(drain_rows >= 2, "no drain rows in {results}");
    assert!(
        bad.is_empty(),
        "drain rows with failures:\n{}\n{stdout}",
        bad.join("\n")
    );
}
