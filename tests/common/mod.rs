//! Shared helpers for the integration tests: real processes, real signals,
//! drainit as PID 1 of a fresh PID namespace.
#![allow(dead_code)]

pub mod docker;

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The drainit binary cargo built for the tests; under nextest the one it
/// names (an archived run, `make test-stress`, extracts its own copy).
pub fn drainit() -> &'static str {
    static BIN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        std::env::var("NEXTEST_BIN_EXE_drainit")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_drainit").to_string())
    })
}

/// A pidfd: a handle on one process that never refers to another, even
/// once that process is reaped and its pid reused (pid_max is 32768 on a
/// default machine, and the suites start thousands of processes).
pub struct Pidfd(std::os::fd::OwnedFd);

impl Pidfd {
    /// None when `pid` is already gone.
    pub fn open(pid: i32) -> Option<Pidfd> {
        use std::os::fd::FromRawFd;
        // SAFETY: pidfd_open takes two integers and returns a new
        // descriptor or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        // SAFETY: `fd` is a fresh descriptor this function alone owns.
        (fd >= 0).then(|| Pidfd(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) }))
    }

    /// Sends `sig` to the process; false once it has exited and been
    /// reaped (never to another process that took its pid).
    pub fn signal(&self, sig: i32) -> bool {
        use std::os::fd::AsRawFd;
        // SAFETY: pidfd_send_signal with a descriptor this value owns, a
        // signal number, no siginfo and no flags.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.0.as_raw_fd(),
                sig,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        rc == 0
    }

    /// Whether the process has exited (a zombie or reaped).
    pub fn exited(&self) -> bool {
        use std::os::fd::AsRawFd;
        let mut p = libc::pollfd {
            fd: self.0.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, no timeout.
        unsafe { libc::poll(&mut p, 1, 0) == 1 }
    }
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

    /// drainit ARGS, not PID 1, with these environment variables set for
    /// it alone (never `std::env::set_var`: other tests spawn meanwhile).
    pub fn plain_env(args: &[&str], env: &[(&str, &str)]) -> Running {
        let child = Command::new(drainit())
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn drainit");
        let pid = child.id() as i32;
        Running {
            child,
            pid,
            started: Instant::now(),
        }
    }

    /// drainit ARGS started in the directory DIR, not PID 1.
    pub fn plain_in(dir: &std::path::Path, args: &[&str]) -> Running {
        let child = Command::new(drainit())
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn drainit");
        let pid = child.id() as i32;
        Running {
            child,
            pid,
            started: Instant::now(),
        }
    }

    /// drainit ARGS, not PID 1, with stdout and stderr captured.
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
        // A hang detector, not a timing limit: the machine may be loaded.
        let pid = wait_for(Duration::from_secs(30), || {
            first_child(unshare).or_else(|| child.try_wait().ok().flatten().map(|_| -1))
        })
        .expect("drainit did not start under unshare");
        Running {
            child,
            pid,
            started: Instant::now(),
        }
    }

    /// Sends `sig` to drainit. The test holds drainit (or its parent,
    /// `unshare`) unreaped while it runs, so the pid is still drainit's.
    /// (`pid` is -1 when drainit exited before it could be seen under
    /// unshare: kill(-1) would signal every process there is.)
    pub fn signal(&self, sig: i32) {
        assert!(self.pid > 0, "drainit is not running (pid {})", self.pid);
        // SAFETY: kill has no memory effects.
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

    /// SIGKILLs drainit and reaps it (or `unshare`, which then goes too).
    /// Under `unshare`, drainit is signalled by pid only while it is still
    /// unshare's child: once unshare has reaped it, its pid may already
    /// be another process's (pid_max is 32768 on a default machine).
    ///
    /// Not PID 1, drainit's processes would outlive it (re-parented to the
    /// machine's init, holding the test's output open): they are killed
    /// first, children before parents' deaths can re-parent them, while
    /// drainit (their subreaper) still holds them unreaped.
    pub fn kill(&mut self) {
        let own = self.pid == self.child.id() as i32;
        if own && self.child.try_wait().ok().flatten().is_none() {
            // SIGSTOP first: a stopped tree cannot fork or exit under the walk.
            let send = |sig| {
                for p in descendants(self.pid) {
                    // SAFETY: kill has no memory effects.
                    unsafe { libc::kill(p, sig) };
                }
            };
            send(libc::SIGSTOP);
            send(libc::SIGKILL);
        }
        if !own && children(self.child.id() as i32).contains(&self.pid) {
            // SAFETY: kill has no memory effects.
            unsafe { libc::kill(self.pid, libc::SIGKILL) };
        }
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

/// How child PID of this process ended, once it has, without reaping it
/// (waitid with WNOWAIT). Until it is reaped its pid, and the id of a
/// process group it leads, cannot be given to another process: signals
/// sent to either still reach what the test means.
pub fn exited_unreaped(pid: i32) -> Option<ExitStatus> {
    use std::os::unix::process::ExitStatusExt;
    // SAFETY: siginfo_t is plain old data, for which all zeroes is valid.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
    // SAFETY: `info` is a valid, writable siginfo_t for waitid to fill.
    let rc = unsafe { libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, flags) };
    assert_eq!(rc, 0, "waitid({pid}): {}", std::io::Error::last_os_error());
    // SAFETY: waitid filled `info` in (si_pid stays 0 when nothing ended).
    let (ended, status) = unsafe { (info.si_pid(), info.si_status()) };
    if ended == 0 {
        return None;
    }
    Some(match info.si_code {
        libc::CLD_EXITED => ExitStatus::from_raw(status << 8),
        libc::CLD_DUMPED => ExitStatus::from_raw(status | 0x80),
        _ => ExitStatus::from_raw(status),
    })
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

/// The direct children of `pid` (zombies too), through drainit's own /proc
/// reader (`drainit::procfs`), the one routing and the kill sweep use.
pub fn children(pid: i32) -> Vec<i32> {
    drainit::procfs::Children::new()
        .of(pid, 0)
        .unwrap_or_default()
}

/// Every descendant of `pid`, zombies included, parents before children:
/// drainit's own walk.
pub fn descendants(pid: i32) -> Vec<i32> {
    let mut kids = drainit::procfs::Children::new();
    let starts = kids.of(pid, 0).unwrap_or_default();
    let mut out = Vec::new();
    kids.walk(starts, |p| {
        out.push(p);
        Some(0)
    });
    out
}

/// Waits until every shell (sh, dash, bash, busybox) in the tree under
/// `root`, itself included, is waiting for its children: the moment the
/// routing rule passes over it. Before that, a shell that has just forked
/// its command is still running, and a signal routed then is its own.
pub fn settle_shells(root: i32, limit: Duration) {
    let shells = ["sh", "dash", "bash", "busybox"];
    wait_for(limit, || {
        let tree = drainit::proctree::snapshot(root);
        let settled = tree
            .procs()
            .filter(|p| p.live() && shells.contains(&p.comm.as_str()))
            .all(|p| p.waiting());
        settled.then_some(())
    })
    .expect("the shells never settled");
}

/// The lowest-priority signal there is, as a barrier: a process reading
/// its signals with sigwaitinfo (tests/fixtures/siglog.py) takes the
/// pending ones lowest number first, so once it has logged this one, it
/// has logged every signal that was pending on it when this was sent.
pub const BARRIER_SIGNAL: i32 = 64;

/// A field of /proc/PID/status, e.g. "voluntary_ctxt_switches".
pub fn status_field(pid: i32, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with(&format!("{field}:")))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Whether drainit has blocked its signals yet (SigBlk non-zero).
pub fn signals_blocked(pid: i32) -> bool {
    drainit::procfs::status(pid).is_some_and(|s| s.blocked != 0)
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

/// A free TCP port on loopback, for a server the test starts.
///
/// Not one the kernel hands out (bind to port 0): that is taken from the
/// ephemeral range, where any outgoing connection (curl's, a probe's)
/// can take it between the test releasing it and drainit binding it.
/// Ports below that range are only ever taken on purpose; each is
/// reserved by an flock on /tmp/drainit-it-ports/PORT held until this
/// process exits, so two tests running at once never get the same one.
pub fn free_port() -> u16 {
    use std::os::fd::AsRawFd;
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u32>().ok())
        .unwrap_or(32768);
    let (first, span) = (10_000, low.saturating_sub(10_000).max(1000));
    let dir = std::env::temp_dir().join("drainit-it-ports");
    std::fs::create_dir_all(&dir).unwrap();
    let seed = std::process::id() ^ (mono_ns() as u32);
    for _ in 0..1000 {
        let n = N.fetch_add(1, Ordering::Relaxed);
        let port = (first + seed.wrapping_add(n.wrapping_mul(7919)) % span) as u16;
        let lock = std::fs::File::create(dir.join(port.to_string())).unwrap();
        // SAFETY: flock on a descriptor this function owns.
        if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            continue;
        }
        let v4 = std::net::TcpListener::bind(("127.0.0.1", port)).is_ok();
        let v6 = std::net::TcpListener::bind(("::1", port)).map_or_else(
            |e| e.kind() == std::io::ErrorKind::AddrNotAvailable,
            |_| true,
        );
        if v4 && v6 {
            // Held until the process exits: the reservation.
            std::mem::forget(lock);
            return port;
        }
    }
    panic!("no free port below {low}");
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
    // SAFETY: `ts` is a valid timespec for clock_gettime to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as i128 * 1_000_000_000 + ts.tv_nsec as i128
}

// ------------------------------------------------------------ JSON log

/// A value of drainit's JSON log (`--log-format json`).
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    /// Parses one JSON document; Err says where it went wrong.
    pub fn parse(text: &str) -> Result<Json, String> {
        let mut p = JsonParser {
            s: text.as_bytes(),
            at: 0,
        };
        let v = p.value()?;
        p.space();
        if p.at != p.s.len() {
            return Err(format!("trailing text at byte {}", p.at));
        }
        Ok(v)
    }

    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(kv) => kv.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Json::Num(n) => Some(*n),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Json::Bool(b) => Some(*b),
            _ => None,
        }
    }
}

struct JsonParser<'a> {
    s: &'a [u8],
    at: usize,
}

impl JsonParser<'_> {
    fn space(&mut self) {
        while self.s.get(self.at).is_some_and(|c| c.is_ascii_whitespace()) {
            self.at += 1;
        }
    }

    fn err<T>(&self, what: &str) -> Result<T, String> {
        Err(format!("{what} at byte {}", self.at))
    }

    fn eat(&mut self, c: u8) -> Result<(), String> {
        self.space();
        if self.s.get(self.at) == Some(&c) {
            self.at += 1;
            Ok(())
        } else {
            self.err(&format!("expected '{}'", c as char))
        }
    }

    fn word(&mut self, w: &str, v: Json) -> Result<Json, String> {
        if self.s[self.at..].starts_with(w.as_bytes()) {
            self.at += w.len();
            Ok(v)
        } else {
            self.err("unknown word")
        }
    }

    fn value(&mut self) -> Result<Json, String> {
        self.space();
        match self.s.get(self.at) {
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => self.string().map(Json::Str),
            Some(b't') => self.word("true", Json::Bool(true)),
            Some(b'f') => self.word("false", Json::Bool(false)),
            Some(b'n') => self.word("null", Json::Null),
            Some(c) if *c == b'-' || c.is_ascii_digit() => self.number(),
            _ => self.err("expected a value"),
        }
    }

    fn object(&mut self) -> Result<Json, String> {
        self.eat(b'{')?;
        let mut kv = Vec::new();
        self.space();
        if self.s.get(self.at) == Some(&b'}') {
            self.at += 1;
            return Ok(Json::Obj(kv));
        }
        loop {
            self.space();
            let k = self.string()?;
            self.eat(b':')?;
            kv.push((k, self.value()?));
            self.space();
            match self.s.get(self.at) {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(Json::Obj(kv));
                }
                _ => return self.err("expected ',' or '}'"),
            }
        }
    }

    fn array(&mut self) -> Result<Json, String> {
        self.eat(b'[')?;
        let mut v = Vec::new();
        self.space();
        if self.s.get(self.at) == Some(&b']') {
            self.at += 1;
            return Ok(Json::Arr(v));
        }
        loop {
            v.push(self.value()?);
            self.space();
            match self.s.get(self.at) {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    return Ok(Json::Arr(v));
                }
                _ => return self.err("expected ',' or ']'"),
            }
        }
    }

    fn number(&mut self) -> Result<Json, String> {
        let start = self.at;
        while self
            .s
            .get(self.at)
            .is_some_and(|c| c.is_ascii_digit() || b"+-.eE".contains(c))
        {
            self.at += 1;
        }
        let text = std::str::from_utf8(&self.s[start..self.at]).unwrap_or("");
        text.parse()
            .map(Json::Num)
            .or_else(|_| self.err("bad number"))
    }

    fn string(&mut self) -> Result<String, String> {
        self.eat(b'"')?;
        let mut out = Vec::new();
        loop {
            let Some(&c) = self.s.get(self.at) else {
                return self.err("unterminated string");
            };
            self.at += 1;
            match c {
                b'"' => return String::from_utf8(out).or_else(|_| self.err("bad UTF-8")),
                b'\\' => {
                    let Some(&e) = self.s.get(self.at) else {
                        return self.err("unterminated escape");
                    };
                    self.at += 1;
                    let ch = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'u' => {
                            let hex = self
                                .s
                                .get(self.at..self.at + 4)
                                .and_then(|h| std::str::from_utf8(h).ok())
                                .and_then(|h| u32::from_str_radix(h, 16).ok());
                            self.at += 4;
                            hex.and_then(char::from_u32)
                                .map_or_else(|| self.err("bad \\u escape"), Ok)?
                        }
                        _ => return self.err("bad escape"),
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                c => out.push(c),
            }
        }
    }
}

/// One line of drainit's JSON log:
/// `{"timestamp":"...","level":"INFO","fields":{"message":"...","event":"forwarded",...}}`.
#[derive(Clone, Debug)]
pub struct LogEvent {
    pub timestamp: String,
    pub level: String,
    pub fields: Json,
    /// The line as logged, for failure messages.
    pub line: String,
}

impl LogEvent {
    /// Parses one log line; None for a line that is not JSON at all (the
    /// child's own output shares stderr). A line that starts like JSON but
    /// does not parse fails the test: drainit wrote a broken line.
    pub fn parse(line: &str) -> Option<LogEvent> {
        let line = line.trim();
        if !line.starts_with('{') {
            return None;
        }
        let v = Json::parse(line).unwrap_or_else(|e| panic!("bad JSON log line ({e}): {line}"));
        let text = |k: &str| {
            v.get(k)
                .and_then(Json::as_str)
                .unwrap_or_else(|| panic!("log line without \"{k}\": {line}"))
                .to_string()
        };
        Some(LogEvent {
            timestamp: text("timestamp"),
            level: text("level"),
            fields: v
                .get("fields")
                .cloned()
                .unwrap_or_else(|| panic!("log line without \"fields\": {line}")),
            line: line.to_string(),
        })
    }

    /// The `event` field of a timeline line ("" for other lines).
    pub fn name(&self) -> &str {
        self.str("event").unwrap_or("")
    }

    pub fn message(&self) -> &str {
        self.str("message").unwrap_or("")
    }

    pub fn field(&self, key: &str) -> Option<&Json> {
        self.fields.get(key)
    }

    pub fn str(&self, key: &str) -> Option<&str> {
        self.field(key).and_then(Json::as_str)
    }

    pub fn f64(&self, key: &str) -> Option<f64> {
        self.field(key).and_then(Json::as_f64)
    }

    pub fn i64(&self, key: &str) -> Option<i64> {
        self.f64(key).map(|n| n as i64)
    }

    pub fn bool(&self, key: &str) -> Option<bool> {
        self.field(key).and_then(Json::as_bool)
    }

    /// A field that must be there, for assertions: fails the test naming
    /// the line otherwise.
    pub fn num(&self, key: &str) -> f64 {
        self.f64(key)
            .unwrap_or_else(|| panic!("no number \"{key}\" in {}", self.line))
    }

    pub fn text(&self, key: &str) -> &str {
        self.str(key)
            .unwrap_or_else(|| panic!("no string \"{key}\" in {}", self.line))
    }

    /// The timestamp as seconds since the epoch (UTC, microseconds).
    pub fn time_s(&self) -> f64 {
        parse_rfc3339(&self.timestamp)
            .unwrap_or_else(|| panic!("bad timestamp {:?}", self.timestamp))
    }
}

/// `2026-11-23T05:47:56.123456Z` as seconds since the epoch.
fn parse_rfc3339(t: &str) -> Option<f64> {
    let (date, time) = t.strip_suffix('Z')?.split_once('T')?;
    let mut d = date.split('-').map(|x| x.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let mut hms = time.split(':');
    let (h, min): (i64, i64) = (hms.next()?.parse().ok()?, hms.next()?.parse().ok()?);
    let sec: f64 = hms.next()?.parse().ok()?;
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + h * 3600 + min * 60) as f64 + sec)
}

/// Every JSON line of a captured stderr, in order (other lines skipped).
pub fn events(stderr: &str) -> Vec<LogEvent> {
    stderr.lines().filter_map(LogEvent::parse).collect()
}

/// The first line with `event` NAME.
pub fn event<'a>(events: &'a [LogEvent], name: &str) -> Option<&'a LogEvent> {
    events.iter().find(|e| e.name() == name)
}

/// Every line with `event` NAME.
pub fn all_events<'a>(events: &'a [LogEvent], name: &str) -> Vec<&'a LogEvent> {
    events.iter().filter(|e| e.name() == name).collect()
}

/// The first line with `event` NAME, failing the test with the whole log
/// when there is none.
pub fn must<'a>(events: &'a [LogEvent], name: &str) -> &'a LogEvent {
    event(events, name).unwrap_or_else(|| {
        panic!(
            "no \"{name}\" event in the log:\n{}",
            events
                .iter()
                .map(|e| e.line.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        )
    })
}

/// The timeline's event names in order (lines without `event` left out).
pub fn event_names(events: &[LogEvent]) -> Vec<&str> {
    events
        .iter()
        .map(LogEvent::name)
        .filter(|n| !n.is_empty())
        .collect()
}

/// Fails unless `want` appear in this order among the timeline's events
/// (others may come between).
pub fn assert_order(events: &[LogEvent], want: &[&str]) {
    let names = event_names(events);
    let mut at = 0;
    for w in want {
        match names[at..].iter().position(|n| n == w) {
            Some(i) => at += i + 1,
            None => panic!("events {want:?} not in this order in {names:?}"),
        }
    }
}

/// A measured figure, for `make soak` to compare with its limits (see
/// scripts/soak.sh): `FIGURE NAME VALUE` on stderr. Tests print timings
/// here instead of asserting on them.
pub fn figure(name: &str, value: f64) {
    eprintln!("FIGURE {name} {value:.6}");
}

#[cfg(test)]
mod json_tests {
    use super::*;

    #[test]
    fn reads_a_timeline_line() {
        let e = LogEvent::parse(
            r#"{"timestamp":"2026-11-23T05:47:56.123456Z","level":"INFO","fields":{"message":"forwarded SIGTERM to the child after 1.5s","event":"forwarded","signal":"SIGTERM","to":"child","after_s":1.5,"passed":true,"q":"a\"\\\u0001"}}"#,
        )
        .unwrap();
        assert_eq!(e.name(), "forwarded");
        assert_eq!(e.str("signal"), Some("SIGTERM"));
        assert_eq!(e.f64("after_s"), Some(1.5));
        assert_eq!(e.bool("passed"), Some(true));
        assert_eq!(e.str("q"), Some("a\"\\\u{1}"));
        assert_eq!(e.level, "INFO");
        assert!((e.time_s() - 1_795_412_876.123456).abs() < 1e-6);
        assert!(LogEvent::parse("child output").is_none());
    }
}
