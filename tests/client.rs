//! The HTTP/TCP client with real processes and a real local HTTP server:
//! the drain hook and the readiness gate by host name, and the hook when
//! drainit can create no thread and no process at drain time (a pids
//! cgroup full to the last task, and the same in Docker with
//! `--pids-limit`: the reproduction from issue 11).

// The lints of src/ that fit a test (unwrap, expect, panic and indexing
// are how a test fails): every unsafe block says why it is sound.
#![deny(clippy::undocumented_unsafe_blocks)]

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;

const LONG: Duration = Duration::from_secs(30);

/// The app: on SIGTERM it tries to fork (and writes what happened to
/// DIR/fork), waits for DIR/hooked when told to, then exits 7. It forks
/// nothing otherwise, so it lives within a full pids budget. TERM is
/// blocked and read with sigwaitinfo, so the app acts on it at once (the
/// handler, which never runs, makes /proc show TERM caught).
const APP: &str = r#"
import os, signal, sys, time
d, wait = sys.argv[1], sys.argv[2] == "wait"
def term():
    try:
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        r = "forked"
    except OSError as e:
        r = "fork failed: errno %d" % e.errno
    open(d + "/fork", "w").write(r)
    while wait and not os.path.exists(d + "/hooked"):
        time.sleep(0.01)
    os._exit(7)
signal.signal(signal.SIGTERM, lambda *_: None)
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
open(d + "/started", "w").close()
signal.sigwaitinfo({signal.SIGTERM})
term()
"#;

fn app(dir: &Path, wait_for_hook: bool) -> Vec<String> {
    vec![
        "python3".into(),
        "-c".into(),
        APP.into(),
        dir.display().to_string(),
        if wait_for_hook { "wait" } else { "nowait" }.into(),
    ]
}

fn exists(p: PathBuf) -> Option<()> {
    p.exists().then_some(())
}

/// A real HTTP/1.1 server on 127.0.0.1: answers every request with
/// `status`, records each request head, and touches DIR/hooked when a
/// POST arrives.
struct Server {
    port: u16,
    status: Arc<AtomicU16>,
    heads: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(dir: &Path, status: u16) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = Server {
            port,
            status: Arc::new(AtomicU16::new(status)),
            heads: Arc::default(),
        };
        let (status, heads, marker) = (
            server.status.clone(),
            server.heads.clone(),
            dir.join("hooked"),
        );
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let head = read_head(&mut conn);
                let code = status.load(Ordering::SeqCst);
                let _ = write!(
                    conn,
                    "HTTP/1.1 {code} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
                if head.starts_with("POST ") {
                    std::fs::write(&marker, &head).unwrap();
                }
                heads.lock().unwrap().push(head);
            }
        });
        server
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

fn read_head(conn: &mut std::net::TcpStream) -> String {
    let _ = conn.set_read_timeout(Some(LONG));
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") && conn.read(&mut byte).is_ok_and(|n| n == 1) {
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

fn args<'a>(opts: &'a [String], app: &'a [String]) -> Vec<&'a str> {
    let mut v: Vec<&str> = opts.iter().map(String::as_str).collect();
    v.push("--");
    v.extend(app.iter().map(String::as_str));
    v
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Asserts drainit exited with the app's 7 and logged no crash.
fn assert_clean_exit(run: &mut Running) -> String {
    let code = run.code(LONG);
    let stderr = run.stderr();
    assert_eq!(code, 7, "exit code is not the app's; stderr:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn drain_hook_by_host_name_reaches_the_server() {
    let dir = tempdir("client-hook");
    let server = Server::start(&dir, 200);
    let url = format!("http://localhost:{}/drain?from=test", server.port);
    let opts = strings(&["-v", "--drain-url", &url]);
    let app = app(&dir, true);
    let mut run = Running::plain_captured(&args(&opts, &app));
    wait_for(LONG, || exists(dir.join("started"))).expect("app never started");
    run.signal(libc::SIGTERM);
    let stderr = assert_clean_exit(&mut run);
    let heads = server.heads();
    let post = heads
        .iter()
        .find(|h| h.starts_with("POST "))
        .expect("no POST");
    assert!(
        post.starts_with("POST /drain?from=test HTTP/1.1\r\n"),
        "{post}"
    );
    let host = format!("host: localhost:{}\r\n", server.port);
    assert!(post.to_ascii_lowercase().contains(&host), "{post}");
    assert!(
        stderr.contains(&format!("drain hook {url}: 200")),
        "{stderr}"
    );
}

#[test]
fn drain_hook_to_a_name_that_does_not_resolve_is_one_warning() {
    let dir = tempdir("client-noname");
    let opts = strings(&["--drain-url", "http://drainit-test.invalid/drain"]);
    let app = app(&dir, false);
    let mut run = Running::plain_captured(&args(&opts, &app));
    wait_for(LONG, || exists(dir.join("started"))).expect("app never started");
    run.signal(libc::SIGTERM);
    let stderr = assert_clean_exit(&mut run);
    let lines = stderr
        .lines()
        .filter(|l| l.contains("cannot resolve drainit-test.invalid"))
        .collect::<Vec<_>>();
    // One warning from the resolver at start-up, then at most the hook's
    // own failure: the hook is never waited on, so when the app exits at
    // once drainit may be gone before the hook's lookup gives up.
    assert!((1..=2).contains(&lines.len()), "{stderr}");
    assert!(
        lines[0].contains("WARN") && lines[0].contains("retrying"),
        "{stderr}"
    );
    assert!(
        lines.iter().skip(1).all(|l| l.contains("drain hook")),
        "{stderr}"
    );
}

#[test]
fn readiness_gate_by_host_name_follows_the_server() {
    let dir = tempdir("client-gate");
    let server = Server::start(&dir, 503);
    let ready = dir.join("ready");
    let url = format!("http://localhost:{}/ready", server.port);
    let opts = strings(&[
        "--ready-url",
        &url,
        "--ready-interval",
        "50ms",
        "--ready-file",
        ready.to_str().unwrap(),
    ]);
    let app = app(&dir, false);
    let mut run = Running::plain_captured(&args(&opts, &app));
    wait_for(LONG, || exists(dir.join("started"))).expect("app never started");
    // Failing checks keep it not ready: several seen, no ready file.
    wait_for(LONG, || (server.heads().len() >= 3).then_some(())).expect("gate never checked");
    assert!(!ready.exists(), "ready while the gate fails");
    let head = &server.heads()[0];
    assert!(head.starts_with("GET /ready HTTP/1.1\r\n"), "{head}");
    let host = format!("host: localhost:{}\r\n", server.port);
    assert!(head.to_ascii_lowercase().contains(&host), "{head}");
    server.status.store(200, Ordering::SeqCst);
    wait_for(LONG, || exists(ready.clone())).expect("never ready once the gate passed");
    run.signal(libc::SIGTERM);
    assert_clean_exit(&mut run);
}

#[test]
fn tcp_gate_by_host_name_passes() {
    let dir = tempdir("client-tcp");
    let server = Server::start(&dir, 200);
    let ready = dir.join("ready");
    let opts = strings(&[
        "--ready-tcp",
        &format!("localhost:{}", server.port),
        "--ready-interval",
        "50ms",
        "--ready-file",
        ready.to_str().unwrap(),
    ]);
    let app = app(&dir, false);
    let mut run = Running::plain_captured(&args(&opts, &app));
    wait_for(LONG, || exists(dir.join("started"))).expect("app never started");
    wait_for(LONG, || exists(ready.clone())).expect("never ready with the TCP gate");
    run.signal(libc::SIGTERM);
    assert_clean_exit(&mut run);
}

/// A pids cgroup of its own (v2, or v1's pids hierarchy), removed on drop.
struct PidsCgroup {
    dir: PathBuf,
}

impl PidsCgroup {
    fn create(tag: &str) -> Option<PidsCgroup> {
        let name = format!("drainit-client-{tag}-{}", std::process::id());
        let v2 = Path::new("/sys/fs/cgroup");
        let root = if v2.join("cgroup.controllers").exists() {
            // v2: pids must be enabled for the root's children.
            let _ = std::fs::write(v2.join("cgroup.subtree_control"), "+pids");
            v2.to_path_buf()
        } else {
            v2.join("pids")
        };
        let dir = root.join(name);
        std::fs::create_dir(&dir).ok()?;
        let cg = PidsCgroup { dir };
        cg.dir.join("pids.max").exists().then_some(cg)
    }

    fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.dir.join(file)).unwrap_or_default()
    }

    fn current(&self) -> u64 {
        self.read("pids.current").trim().parse().unwrap()
    }
}

impl Drop for PidsCgroup {
    fn drop(&mut self) {
        let _ = std::fs::write(self.dir.join("pids.max"), "max");
        let procs = self.read("cgroup.procs");
        for pid in procs
            .split_whitespace()
            .filter_map(|p| p.parse::<i32>().ok())
        {
            // SAFETY: kill has no memory effects. The pids are members of
            // this test's own cgroup, listed just now.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        let _ = wait_for(LONG, || std::fs::remove_dir(&self.dir).ok());
    }
}

/// drainit, or another build of it to compare against (e.g. one from
/// before this test existed: DRAINIT_CLIENT_TEST_BIN=/path/to/drainit).
fn drainit_under_test() -> String {
    std::env::var("DRAINIT_CLIENT_TEST_BIN").unwrap_or_else(|_| drainit().to_string())
}

#[test]
fn drain_hook_by_host_name_arrives_when_no_thread_can_be_created() {
    let Some(cg) = PidsCgroup::create("full") else {
        skip("cannot create a pids cgroup (run as root with the pids controller)");
        return;
    };
    let dir = tempdir("client-full");
    let server = Server::start(&dir, 200);
    let url = format!("http://localhost:{}/drain", server.port);
    // Join the cgroup first, then become drainit: all it starts is inside.
    let procs = cg.dir.join("cgroup.procs");
    let script = format!("echo $$ > {} && exec \"$@\"", procs.display());
    let bin = drainit_under_test();
    let mut cmd = Command::new("sh");
    cmd.args(["-c", &script, "sh", &bin, "-v", "--drain-url", &url, "--"])
        .args(app(&dir, true))
        .stdin(Stdio::null())
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    let mut run = Running {
        pid: child.id() as i32,
        child,
        started: std::time::Instant::now(),
    };
    wait_for(LONG, || exists(dir.join("started"))).expect("app never started");
    // drainit's tasks (its threads) and the app's: no room for one more.
    let used = cg.current();
    std::fs::write(cg.dir.join("pids.max"), used.to_string()).unwrap();
    assert_eq!(cg.current(), used);
    run.signal(libc::SIGTERM);
    let stderr = assert_clean_exit(&mut run);
    // The limit was real: the app could not fork at drain time either.
    let fork = std::fs::read_to_string(dir.join("fork")).unwrap_or_default();
    assert!(fork.starts_with("fork failed"), "app forked: {fork:?}");
    let heads = server.heads();
    assert!(
        heads.iter().any(|h| h.starts_with("POST /drain HTTP/1.1")),
        "no hook arrived: {heads:?}\n{stderr}"
    );
    assert!(
        stderr.contains(&format!("drain hook {url}: 200")),
        "{stderr}"
    );
}

#[test]
fn check_url_by_host_name() {
    let dir = tempdir("client-check");
    let server = Server::start(&dir, 503);
    let url = format!("http://localhost:{}/ready", server.port);
    let check = || {
        let out = Command::new(drainit())
            .args(["check", "--url", &url])
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stderr) = check();
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("answered 503"), "{stderr}");
    server.status.store(200, Ordering::SeqCst);
    let (code, stderr) = check();
    assert_eq!(code, Some(0), "{stderr}");
    let heads = server.heads();
    assert!(
        heads.iter().all(|h| h.starts_with("GET /ready HTTP/1.1")),
        "{heads:?}"
    );
}

/// The app for the Docker test: busybox sh, fork-free once started. It
/// listens for the hook with nc (its stdin a pipe that stays open: at
/// end of input busybox nc closes the connection), fills the pids budget with sleeps (a
/// subshell forks until it cannot and dies; its slot is taken by one more),
/// and on SIGTERM waits (builtins only) until the hook's request arrived.
const DOCKER_APP: &str = r#"
sleep 1000 | nc -l -p 8080 > /tmp/hook &
( while :; do sleep 1000 & done ) 2>/dev/null
sleep 1000 &
trap 'until read l < /tmp/hook && [ "${l#POST /drain}" != "$l" ]; do :; done; echo "app: hook seen, exiting"; exit 7' TERM
echo "app: pids budget full"
while :; do wait; done
"#;

fn docker(args: &[&str]) -> std::process::Output {
    Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run docker")
}

/// Removes the container and the image even when the test fails.
struct DockerGuard(String, String);

impl Drop for DockerGuard {
    fn drop(&mut self) {
        let _ = docker(&["rm", "-f", &self.0]);
        let _ = docker(&["rmi", "-f", &self.1]);
    }
}

/// A FROM scratch image: the static drainit and busybox.
fn scratch_image(tag: &str) -> Result<(), String> {
    let bin = static_dir().join("drainit");
    if !bin.exists() {
        return Err(format!("{} is missing: run `make static`", bin.display()));
    }
    let busybox = Path::new("/bin/busybox");
    let ctx = tempdir("client-image");
    let root = ctx.join("root");
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::create_dir_all(root.join("tmp")).unwrap();
    std::fs::copy(&bin, root.join("drainit")).unwrap();
    std::fs::copy(busybox, root.join("bin/busybox")).map_err(|e| format!("busybox: {e}"))?;
    for applet in ["sh", "sleep", "nc"] {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).unwrap();
    }
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM scratch\nCOPY root/ /\nENV PATH=/bin\n",
    )
    .unwrap();
    let out = docker(&["build", "-q", "-t", tag, ctx.to_str().unwrap()]);
    out.status
        .success()
        .then_some(())
        .ok_or_else(|| String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The reproduction from issue 11: `docker run --pids-limit 64` with the
/// app's pid budget used up, `--drain-url` by host name, SIGTERM.
#[test]
fn docker_pids_limit_full_at_sigterm_with_a_host_name_hook() {
    let engine = Command::new("docker")
        .arg("info")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !engine {
        skip("no Docker engine answers");
        return;
    }
    let tag = format!("client-drainit-pids-{}:latest", std::process::id());
    let name = format!("client-drainit-pids-{}", std::process::id());
    let _guard = DockerGuard(name.clone(), tag.clone());
    if let Err(e) = scratch_image(&tag) {
        skip(&format!("cannot build the test image: {e}"));
        return;
    }
    let run = docker(&[
        "run",
        "-d",
        "--name",
        &name,
        "--pids-limit",
        "64",
        "--user",
        "10001",
        "--read-only",
        "--tmpfs",
        "/tmp:uid=10001",
        "--cap-drop",
        "ALL",
        &tag,
        "/drainit",
        "-v",
        "--drain-url",
        "http://localhost:8080/drain",
        "--drain-delay",
        "1s",
        "--",
        "sh",
        "-c",
        DOCKER_APP,
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let logs = || {
        let out = docker(&["logs", &name]);
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    };
    wait_for(LONG, || logs().contains("pids budget full").then_some(()))
        .unwrap_or_else(|| panic!("app never started:\n{}", logs()));
    let id = String::from_utf8_lossy(&docker(&["inspect", "-f", "{{.Id}}", &name]).stdout)
        .trim()
        .to_string();
    for pids in [
        format!("/sys/fs/cgroup/pids/docker/{id}/pids.current"),
        format!("/sys/fs/cgroup/system.slice/docker-{id}.scope/pids.current"),
    ] {
        if let Ok(n) = std::fs::read_to_string(&pids) {
            assert_eq!(n.trim(), "64", "the pids budget is not full");
        }
    }
    assert!(docker(&["kill", "-s", "TERM", &name]).status.success());
    let code = wait_for(LONG, || {
        let out = docker(&[
            "inspect",
            "-f",
            "{{.State.Running}} {{.State.ExitCode}}",
            &name,
        ]);
        let state = String::from_utf8_lossy(&out.stdout).trim().to_string();
        state.strip_prefix("false ").map(str::to_string)
    })
    .unwrap_or_else(|| panic!("container never exited:\n{}", logs()));
    let logs = logs();
    assert_eq!(code, "7", "exit code is not the app's:\n{logs}");
    assert!(logs.contains("app: hook seen, exiting"), "{logs}");
    assert!(!logs.contains("panicked"), "{logs}");
}
