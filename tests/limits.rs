//! drainit as PID 1 of Docker containers at real resource limits (issue 11):
//! a pid budget used up at SIGTERM, the smallest `ulimit -n`, `--memory 6m`,
//! a read-only root and a full tmpfs for the ready file.
//!
//! The image (`faults-limits:latest`) is built here FROM scratch out of
//! target/static/drainit, target/static/drainit-demo and Debian's static
//! busybox (`make static` builds the binaries). Containers are named
//! `faults-limits-*` and removed by a Drop guard.

// The lints of src/ that fit a test (unwrap, expect, panic and indexing
// are how a test fails): every unsafe block says why it is sound.
#![deny(clippy::undocumented_unsafe_blocks)]

mod common;

use std::time::Duration;

use common::docker::{busybox, docker, need, Harness};

const IMAGE: &str = "faults-limits:latest";

/// The suite's containers: `faults-limits-TESTPID-TAG-N`.
const DOCKER: Harness = Harness {
    prefix: "faults-limits",
};

fn build_image() -> Result<(), String> {
    let ctx = common::tempdir("limits-image");
    let root = ctx.join("root");
    std::fs::create_dir_all(root.join("bin")).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(root.join("tmp")).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(root.join("run")).map_err(|e| e.to_string())?;
    for bin in ["drainit", "drainit-demo"] {
        std::fs::copy(common::static_dir().join(bin), root.join(bin)).map_err(|e| e.to_string())?;
    }
    let busybox = busybox()?;
    std::fs::copy(&busybox, root.join("bin/busybox")).map_err(|e| e.to_string())?;
    for applet in [
        "sh", "sleep", "cat", "echo", "kill", "dd", "nc", "ls", "true", "wget", "seq",
    ] {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(applet))
            .map_err(|e| e.to_string())?;
    }
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM scratch\nCOPY root/ /\nENV PATH=/bin\n",
    )
    .map_err(|e| e.to_string())?;
    let out = docker(&["build", "-q", "-t", IMAGE, ctx.to_str().unwrap()]);
    let _ = std::fs::remove_dir_all(&ctx);
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// True when the test must return early (no Docker, no static binaries).
fn need_docker() -> bool {
    need(IMAGE, build_image)
}

/// A shell app that uses its whole pid budget, then waits for SIGTERM with
/// builtins only (no fork is left): a fork loop in a subshell runs until
/// fork fails (busybox's subshell then exits and frees its own pid, which
/// one more sleeper takes); the sleepers stay as the processes drainit must
/// drain. The cgroup's counters (v2, else v1) are read with the `read` builtin.
const PID_HOG: &str = "sleep 100000 & s=$!; \
     (while :; do sleep 100000 & done) 2>/dev/null; \
     sleep 100000 & \
     f=/sys/fs/cgroup; [ -e $f/pids.current ] || f=/sys/fs/cgroup/pids; \
     read cur < $f/pids.current; read max < $f/pids.max; \
     echo pid budget full: $cur of $max; \
     trap 'echo app got TERM; kill $s; exit 0' TERM; \
     wait $s; echo app woke without TERM; exit 3";

/// drainit OPTS with the pid budget full at SIGTERM: the app must get its
/// TERM, the container exit with the app's 0, and drainit must not die.
fn drain_with_pids_full(tag: &str, opts: &[&str]) {
    if need_docker() {
        return;
    }
    let mut args = vec![
        "--pids-limit",
        "64",
        "--user",
        "10001",
        "--read-only",
        "--cap-drop",
        "ALL",
        IMAGE,
        "/drainit",
    ];
    args.extend_from_slice(opts);
    args.extend_from_slice(&["--", "/bin/sh", "-c", PID_HOG]);
    let c = DOCKER.start(tag, &args);
    c.wait_log("pid budget full", Duration::from_secs(60));
    let line = c
        .logs()
        .lines()
        .find(|l| l.starts_with("pid budget full"))
        .map(str::to_string)
        .unwrap_or_default();
    let words: Vec<&str> = line.split_whitespace().collect();
    assert!(
        words.len() == 6 && words[3] == words[5],
        "the pid budget is not full: {line}"
    );
    // drainit as PID 1 is running with the budget used up.
    assert_eq!(c.inspect("{{.State.Running}}"), "true", "{}", c.logs());
    c.kill("TERM");
    let code = c.wait_exit(Duration::from_secs(60));
    let logs = c.logs();
    eprintln!("{logs}");
    assert!(
        !logs.contains("panicked"),
        "drainit panicked (container exit {code}):\n{logs}"
    );
    assert!(
        logs.contains("app got TERM"),
        "the app never got its stop signal (exit {code}):\n{logs}"
    );
    assert_eq!(code, 0, "exit code (the app's is 0):\n{logs}");
    assert!(logs.contains("forwarded SIGTERM"), "{logs}");
}

#[test]
fn pids_full_at_sigterm_with_a_host_name_drain_hook() {
    // The crash: tokio's blocking pool could not spawn a thread for
    // the host-name lookup; PID 1 panicked and died of SIGSEGV (exit 139).
    drain_with_pids_full(
        "hook",
        &[
            "--drain-url",
            "http://localhost:9/drain",
            "--drain-delay",
            "1s",
        ],
    );
}

#[test]
fn pids_full_at_sigterm_with_a_host_name_readiness_gate() {
    drain_with_pids_full(
        "gate",
        &[
            "--ready-url",
            "http://localhost:9/ready",
            "--ready-interval",
            "200ms",
            "--drain-url",
            "http://localhost:9/drain",
            "--drain-delay",
            "1s",
        ],
    );
}

#[test]
fn pids_full_at_sigterm_with_the_http_endpoint() {
    drain_with_pids_full("http", &["--http", "0.0.0.0:8081", "--drain-delay", "1s"]);
}

#[test]
fn pids_full_at_sigterm_with_the_adaptive_drain() {
    drain_with_pids_full("quiet", &["--drain-quiet", "200ms", "--drain-delay", "2s"]);
}

const FULL_OPTS: &str = "--http 0.0.0.0:8081 --ready-file /tmp/ready --drain-delay 200ms";

/// drainit's own smallest `ulimit -n` for OPTS, found inside one container
/// (`ulimit -n N; exec /drainit OPTS -- sh -c 'exit 7'` for N = 3..32):
/// the container runtime needs more descriptors than drainit, so
/// `--ulimit` alone cannot go low enough. Below the minimum drainit must
/// fail with one line of its and a set-up code (1 or 2): the command
/// exists, so 126/127 would blame it wrongly; never a death by signal.
/// Returns the minimum and what went wrong below it.
fn nofile_minimum(opts: &str) -> (u32, Vec<String>) {
    let script = format!(
        "for n in $(seq 3 32); do echo \"n=$n\" >&2; \
         (ulimit -n $n; exec /drainit {opts} -- /bin/sh -c 'exit 7'); echo \"n=$n exit $?\" >&2; done"
    );
    let (code, logs) = DOCKER.run_detached(
        "nofile-scan",
        &[IMAGE, "/bin/sh", "-c", &script],
        Duration::from_secs(60),
    );
    assert_eq!(code, 0, "{logs}");
    let mut minimum = None;
    let mut problems = Vec::new();
    let mut lines_since = Vec::new();
    for line in logs.lines() {
        let Some(rest) = line.strip_prefix("n=") else {
            lines_since.push(line);
            continue;
        };
        let Some((n, code)) = rest.split_once(" exit ") else {
            lines_since.clear();
            continue;
        };
        let (n, code): (u32, i32) = (n.parse().unwrap(), code.parse().unwrap());
        eprintln!("ulimit -n {n}: drainit {opts}: exit {code} {lines_since:?}");
        if code == 7 {
            minimum.get_or_insert(n);
        } else if minimum.is_none() {
            if code != 1 && code != 2 {
                problems.push(format!(
                    "ulimit -n {n}: drainit {opts} exit {code}, want a set-up code (1 or 2): {lines_since:?}"
                ));
            }
            if !(lines_since.len() == 1 && lines_since[0].starts_with("drainit")) {
                problems.push(format!(
                    "ulimit -n {n}: drainit {opts}: one line of drainit's, got {lines_since:?}"
                ));
            }
        }
        lines_since.clear();
    }
    let minimum =
        minimum.unwrap_or_else(|| panic!("drainit {opts} never ran the app up to 32 descriptors"));
    (minimum, problems)
}

#[test]
fn nofile_at_its_minimum() {
    if need_docker() {
        return;
    }
    let (plain, mut problems) = nofile_minimum("");
    eprintln!("FIGURES ulimit -n minimum, no options: {plain}");
    let (full, more) = nofile_minimum(FULL_OPTS);
    problems.extend(more);
    eprintln!("FIGURES ulimit -n minimum, {FULL_OPTS}: {full}");
    // With the Docker flag, at the smallest limit the runtime accepts and
    // drainit needs: a whole drain works.
    let runtime_min = (3..=64)
        .find(|n| {
            let limit = format!("nofile={n}:{n}");
            let c = DOCKER.reserve("nofile-rt");
            let args = [
                "run",
                "-d",
                "--name",
                &c.name,
                "--ulimit",
                &limit,
                IMAGE,
                "/bin/true",
            ];
            docker(&args).status.success()
        })
        .unwrap();
    eprintln!("FIGURES smallest --ulimit nofile the container runtime starts with: {runtime_min}");
    let n = runtime_min.max(full);
    let limit = format!("nofile={n}:{n}");
    let mut args = vec!["--ulimit", &limit, IMAGE, "/drainit"];
    args.extend(FULL_OPTS.split(' '));
    args.extend_from_slice(&[
        "--",
        "/bin/sh",
        "-c",
        "trap 'echo app got TERM; exit 0' TERM; echo app up; sleep 100000 & wait $!",
    ]);
    let c = DOCKER.start("nofile-drain", &args);
    c.wait_log("app up", Duration::from_secs(30));
    c.kill("TERM");
    let code = c.wait_exit(Duration::from_secs(60));
    let logs = c.logs();
    assert!(logs.contains("app got TERM"), "--ulimit {limit}: {logs}");
    assert_eq!(code, 0, "--ulimit {limit}: {logs}");
    assert!(
        problems.is_empty(),
        "below the minimum:\n{}",
        problems.join("\n")
    );
}

#[test]
fn six_megabytes_of_memory() {
    if need_docker() {
        return;
    }
    let c = DOCKER.start(
        "memory",
        &[
            "--memory",
            "6m",
            "--memory-swap",
            "6m",
            IMAGE,
            "/drainit",
            "--http",
            "0.0.0.0:8081",
            "--drain-delay",
            "500ms",
            "--drain-quiet",
            "100ms",
            "--",
            "/bin/sh",
            "-c",
            "trap 'echo app got TERM; exit 0' TERM; echo app up; sleep 100000 & wait $!",
        ],
    );
    c.wait_log("app up", Duration::from_secs(30));
    c.kill("TERM");
    let code = c.wait_exit(Duration::from_secs(60));
    let logs = c.logs();
    assert_eq!(c.inspect("{{.State.OOMKilled}}"), "false", "{logs}");
    assert!(logs.contains("app got TERM"), "{logs}");
    assert_eq!(code, 0, "{logs}");
}

#[test]
fn read_only_root() {
    if need_docker() {
        return;
    }
    // A ready file on the read-only root: refused before the app starts,
    // with one line naming the file, exit 2 (documented).
    let (code, logs) = DOCKER.run_detached(
        "ro-refused",
        &[
            "--read-only",
            IMAGE,
            "/drainit",
            "--ready-file",
            "/ready",
            "--",
            "/bin/sh",
            "-c",
            "echo app started; exit 7",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(code, 2, "{logs}");
    assert!(!logs.contains("app started"), "{logs}");
    let errors: Vec<&str> = logs.lines().filter(|l| l.contains("drainit")).collect();
    assert_eq!(errors.len(), 1, "one line of drainit's: {logs}");
    assert!(
        errors[0].contains("/ready"),
        "the line names the file: {logs}"
    );
    // Everything else works on a read-only root with a tmpfs for the file.
    let c = DOCKER.start(
        "ro-drain",
        &[
            "--read-only",
            "--tmpfs",
            "/run",
            IMAGE,
            "/drainit",
            "--ready-file",
            "/run/ready",
            "--http",
            "0.0.0.0:8081",
            "--drain-delay",
            "200ms",
            "--",
            "/bin/sh",
            "-c",
            "trap 'echo app got TERM; exit 0' TERM; echo app up; sleep 100000 & wait $!",
        ],
    );
    c.wait_log("app up", Duration::from_secs(30));
    c.kill("TERM");
    let code = c.wait_exit(Duration::from_secs(60));
    let logs = c.logs();
    assert!(logs.contains("app got TERM"), "{logs}");
    assert_eq!(code, 0, "{logs}");
}

#[test]
fn full_tmpfs_for_the_ready_file() {
    if need_docker() {
        return;
    }
    // The app fills /run (4 KiB) first, then opens the gate's port: the
    // ready file cannot be written when readiness turns on. drainit must
    // say so in one line, keep supervising, and drain normally.
    let app = "cat /dev/zero > /run/fill 2>/dev/null; echo tmpfs full; \
               exec /drainit-demo --listen 127.0.0.1:8080";
    let c = DOCKER.start(
        "tmpfs",
        &[
            "--read-only",
            "--tmpfs",
            "/run:size=4k",
            IMAGE,
            "/drainit",
            "--ready-file",
            "/run/ready",
            "--ready-tcp",
            "127.0.0.1:8080",
            "--ready-interval",
            "100ms",
            "--drain-delay",
            "200ms",
            "--",
            "/bin/sh",
            "-c",
            app,
        ],
    );
    c.wait_log("tmpfs full", Duration::from_secs(30));
    c.wait_log("readiness gate passed", Duration::from_secs(30));
    c.wait_log("ready file", Duration::from_secs(30));
    let before = c.logs();
    assert!(
        before
            .lines()
            .any(|l| l.contains("ready file") && l.contains("No space left on device")),
        "no line naming the ready file and ENOSPC:\n{before}"
    );
    assert_eq!(c.inspect("{{.State.Running}}"), "true", "{before}");
    c.kill("TERM");
    let code = c.wait_exit(Duration::from_secs(60));
    let logs = c.logs();
    assert!(
        logs.contains("got SIGTERM"),
        "the app never got TERM:\n{logs}"
    );
    assert!(!logs.contains("panicked"), "{logs}");
    // The demo app exits 0 after a graceful drain.
    assert_eq!(code, 0, "{logs}");
}
