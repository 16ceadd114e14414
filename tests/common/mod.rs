//! Shared helpers for the integration tests: real processes, real signals,
//! drainit as PID 1 of a fresh PID namespace.
#![allow(dead_code)]

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub fn drainit() -> &'static str {
    env!("CARGO_BIN_EXE_drainit")
}

/// Skips a test with a reason, or fails it when CI demands everything run.
/// Returns true when the caller should return early.
pub fn skip(reason: &str) -> bool {
    if std::env::var("DRAINIT_REQUIRE_ALL").is_ok_and(|v| v == "1") {
        panic!("required test cannot run: {reason}");
    }
    eprintln!("SKIPPED: {reason}");
    true
}

/// Whether `unshare --pid --fork --mount-proc` works here (root needed).
pub fn pid_namespaces() -> bool {
    Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "true"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Skips unless PID namespaces are available.
pub fn need_pidns() -> bool {
    !pid_namespaces() && skip("unshare --pid --fork --mount-proc is not permitted (run as root)")
}

pub fn static_dir() -> PathBuf {
    std::env::var_os("DRAINIT_STATIC_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/static"))
}

/// The demo app, built by `make static`; None (after skip) when missing.
pub fn demo_app() -> Option<PathBuf> {
    let p = static_dir().join("drainit-demo");
    if p.exists() {
        Some(p)
    } else {
        skip(&format!("{} is missing: run `make static`", p.display()));
        None
    }
}

pub fn tempdir(tag: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let d = std::env::temp_dir().join(format!("drainit-it-{tag}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A running drainit, either plain or as PID 1 of a new PID namespace.
pub struct Running {
    pub child: Child,
    /// The host pid of drainit itself (not of `unshare`).
    pub pid: i32,
    pub started: Instant,
}

impl Running {
    /// drainit ARGS, not PID 1 (it registers as subreaper).
    pub fn plain(args: &[&str]) -> Running {
        let mut cmd = Command::new(drainit());
        cmd.args(args).stdin(Stdio::null());
        let child = cmd.spawn().expect("spawn drainit");
        let pid = child.id() as i32;
        Running {
            child,
            pid,
            started: Instant::now(),
        }
    }

    /// Same, with stdout and stderr captured.
    pub fn plain_captured(args: &[&str]) -> Running {
        let child = Command::new(drainit())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn drainit");
        let pid = child.id() as i32;
        Running {
            child,
            pid,
            started: Instant::now(),
        }
    }

    /// drainit ARGS as PID 1 in a fresh PID namespace, stderr captured.
    pub fn pid1(args: &[&str]) -> Running {
        let child = Command::new("unshare")
            .args(["--pid", "--fork", "--mount-proc", "--kill-child", drainit()])
            .args(args)
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn unshare");
        let unshare = child.id() as i32;
        let mut child = child;
        // drainit may exit at once (a usage error): then there is no pid.
        let pid = wait_for(Duration::from_secs(5), || {
            first_child(unshare).or_else(|| child.try_wait().ok().flatten().map(|_| -1))
        })
        .expect("drainit did not start under unshare");
        Running {
            child,
            pid,
            started: Instant::now(),
        }
    }

    pub fn signal(&self, sig: i32) {
        unsafe { libc::kill(self.pid, sig) };
    }

    /// Waits up to `limit` for drainit (or unshare) to exit.
    pub fn wait(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return Some(s);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The exit code, failing the test on a timeout.
    pub fn code(&mut self, limit: Duration) -> i32 {
        match self.wait(limit) {
            Some(s) => s.code().unwrap_or_else(|| {
                128 + std::os::unix::process::ExitStatusExt::signal(&s).unwrap_or(0)
            }),
            None => {
                self.kill();
                panic!("drainit did not exit within {limit:?}");
            }
        }
    }

    pub fn stderr(&mut self) -> String {
        let mut s = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut s);
        }
        s
    }

    pub fn stdout(&mut self) -> String {
        let mut s = String::new();
        if let Some(mut e) = self.child.stdout.take() {
            let _ = e.read_to_string(&mut s);
        }
        s
    }

    pub fn kill(&mut self) {
        unsafe { libc::kill(self.pid, libc::SIGKILL) };
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Live descendants of drainit, from /proc.
    pub fn descendants(&self) -> Vec<i32> {
        descendants(self.pid)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            self.kill();
        }
    }
}

/// Polls `f` every 5 ms until it returns Some or `limit` passes.
pub fn wait_for<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

pub fn first_child(pid: i32) -> Option<i32> {
    children(pid).into_iter().next()
}

pub fn children(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for t in tasks.flatten() {
        let p = t.path().join("children");
        if let Ok(s) = std::fs::read_to_string(p) {
            out.extend(s.split_whitespace().filter_map(|x| x.parse::<i32>().ok()));
        }
    }
    out
}

pub fn descendants(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let mut stack = vec![pid];
    while let Some(p) = stack.pop() {
        for c in children(p) {
            out.push(c);
            stack.push(c);
        }
    }
    out
}

/// A field of /proc/PID/status, e.g. "voluntary_ctxt_switches".
pub fn status_field(pid: i32, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with(&format!("{field}:")))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Whether drainit has blocked its signals yet (SigBlk non-zero).
pub fn signals_blocked(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("SigBlk:")).map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .unwrap_or("0")
                    .trim_start_matches('0')
                    .to_string()
            })
        })
        .is_some_and(|mask| !mask.is_empty())
}

/// A minimal HTTP/1.1 GET over a real TCP socket: (status, body).
pub fn http_get(addr: &str, path: &str) -> std::io::Result<(u16, String)> {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut buf = String::new();
    s.read_to_string(&mut buf)?;
    let status = buf
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = buf
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// A free TCP port on loopback (bound then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn ms(d: Duration) -> u128 {
    d.as_millis()
}

/// CLOCK_MONOTONIC in nanoseconds: the clock python's time.monotonic_ns()
/// and the test children use, so stamps compare across processes.
pub fn mono_ns() -> i128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as i128 * 1_000_000_000 + ts.tv_nsec as i128
}
