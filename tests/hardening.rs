//! Hardening: drainit under bad conditions and bad input, with real
//! processes. Each test prints its figures (run with `--nocapture` to see
//! them; RELIABILITY.md records them).
//!
//! 1. signal storm      2. orphan storms      3. escaping descendants
//! 4. endpoint abuse    5. ready-file safety
//!
//! The helper processes are small python3 scripts: python blocks every
//! signal before it does anything and reads them with `sigwaitinfo`, so
//! each queued real-time signal is counted once and nothing is lost to a
//! default action. `DRAINIT_ORPHAN_SECS` scales the continuous orphan storm
//! (10 s here, 60 s in `make soak`).

// The lints of src/ that fit a test (unwrap, expect, panic and indexing
// are how a test fails): every unsafe block says why it is sound.
#![deny(clippy::undocumented_unsafe_blocks)]

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;

/// The helper child. Modes:
/// - `count OUT`: counts every signal; on TERM notes the arrival time,
///   keeps counting until 1 s of silence, writes `OUT` and exits 0.
/// - `stamp OUT`: writes `SIGNO MONOTONIC_NS` per signal to `OUT`; exits 0 on TERM.
/// - `burst N MARK`: a middle process forks N children that exit at once and
///   exits itself, so N zombies are re-parented to drainit in one go; then
///   writes MARK and waits for TERM.
/// - `flood SECS MARK`: two workers double-fork orphans at full speed for SECS.
/// - `escape DIR KINDS`: starts descendants that leave the process group
///   (setsid, setpgid), double-fork away, or hop pids (fork, parent exits)
///   forever; each notes the TERM it gets in DIR and ignores it.
const CHILD_PY: &str = r#"
import os, signal, sys, time
ALL = signal.valid_signals() - {signal.SIGKILL, signal.SIGSTOP}
signal.pthread_sigmask(signal.SIG_BLOCK, ALL)
mode = sys.argv[1]

def mark(path, text=""):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)

def wait_term():
    while signal.sigwaitinfo(ALL).si_signo != signal.SIGTERM:
        pass

if mode == "count":
    out = sys.argv[2]
    counts, term_ns = {}, 0
    mark(out + ".ready")
    while True:
        n = signal.sigwaitinfo(ALL).si_signo
        counts[n] = counts.get(n, 0) + 1
        if n == signal.SIGTERM:
            term_ns = time.monotonic_ns()
            break
    while True:
        info = signal.sigtimedwait(ALL, 1.0)
        if info is None:
            break
        counts[info.si_signo] = counts.get(info.si_signo, 0) + 1
    mark(out, "%d\n" % term_ns + "".join("%d %d\n" % kv for kv in sorted(counts.items())))
    sys.exit(0)

if mode == "stamp":
    f = open(sys.argv[2] + ".tmp", "w", buffering=1)
    os.rename(sys.argv[2] + ".tmp", sys.argv[2])
    while True:
        n = signal.sigwaitinfo(ALL).si_signo
        f.write("%d %d\n" % (n, time.monotonic_ns()))
        if n == signal.SIGTERM:
            sys.exit(0)

if mode == "burst":
    n, m = int(sys.argv[2]), sys.argv[3]
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        for _ in range(n):
            if os.fork() == 0:
                os._exit(0)
        os._exit(0)
    os.waitpid(pid, 0)
    mark(m, "%.3f\n" % (time.monotonic() - t0))
    wait_term()
    sys.exit(0)

if mode == "flood":
    secs, m = float(sys.argv[2]), sys.argv[3]
    end = time.monotonic() + secs
    workers = []
    for i in range(2):
        w = os.fork()
        if w == 0:
            made = 0
            while time.monotonic() < end:
                p = os.fork()
                if p == 0:
                    if os.fork() == 0:
                        os._exit(0)
                    os._exit(0)
                os.waitpid(p, 0)
                made += 1
            mark("%s.%d" % (m, i), str(made))
            os._exit(0)
        workers.append(w)
    for w in workers:
        os.waitpid(w, 0)
    made = sum(int(open("%s.%d" % (m, i)).read()) for i in range(2))
    mark(m, "%d\n" % made)
    wait_term()
    sys.exit(0)

if mode == "escape":
    d, kinds = sys.argv[2], sys.argv[3].split(",")
    for kind in kinds:
        pid = os.fork()
        if pid != 0:
            if kind == "double":
                os.waitpid(pid, 0)
            continue
        if kind == "setsid":
            os.setsid()
        elif kind == "setpgid":
            os.setpgid(0, 0)
        elif kind == "double":
            if os.fork() != 0:
                os._exit(0)
        elif kind == "hopper":
            os.setsid()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, ALL)
        signal.signal(signal.SIGTERM, lambda *a, k=kind: mark(os.path.join(d, k + ".term")))
        if kind != "hopper":
            # Read at once with sigwaitinfo, not by a handler between two
            # bytecodes; the handler stays so /proc shows TERM caught.
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        mark(os.path.join(d, kind + ".pid"), str(os.getpid()))
        if kind == "hopper":
            while True:
                if os.fork() != 0:
                    os._exit(0)
        while True:
            signal.sigwaitinfo({signal.SIGTERM})
            mark(os.path.join(d, kind + ".term"))
    mark(os.path.join(d, "ready"))
    signal.pthread_sigmask(signal.SIG_UNBLOCK, ALL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    while True:
        time.sleep(1)
"#;

fn python() -> Option<String> {
    for p in ["/usr/bin/python3", "/usr/local/bin/python3"] {
        if Path::new(p).exists() {
            return Some(p.to_string());
        }
    }
    let found = std::process::Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    if found.is_none() {
        skip("python3 is missing: the hardening helpers are python scripts");
    }
    found
}

/// drainit ARGS -- python3 -c CHILD_PY CHILD_ARGS.
fn helper_args(py: &str, drainit_args: &[&str], child_args: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = drainit_args.iter().map(|s| s.to_string()).collect();
    v.extend(["--", py, "-c", CHILD_PY].map(String::from));
    v.extend(child_args.iter().map(|s| s.to_string()));
    v
}

fn start(pid1: bool, args: &[String]) -> Running {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    if pid1 {
        Running::pid1(&a)
    } else {
        Running::plain(&a)
    }
}

fn mono_ns() -> u64 {
    common::mono_ns() as u64
}

fn rss_kb(pid: i32) -> u64 {
    status_field(pid, "VmRSS").unwrap_or(0)
}

fn fd_count(pid: i32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

fn alive(pid: i32) -> bool {
    drainit::procfs::stat(pid)
        .ok()
        .flatten()
        .is_some_and(|s| s.state != 'Z')
}

/// Zombies among `pid`'s children: exited, not yet reaped.
fn zombies_of(pid: i32) -> usize {
    children(pid).into_iter().filter(|&c| !alive(c)).count()
}

fn wait_file(path: &Path, limit: Duration) -> String {
    wait_for(limit, || std::fs::read_to_string(path).ok())
        .unwrap_or_else(|| panic!("{} did not appear within {limit:?}", path.display()))
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn metric(addr: &str, name: &str) -> Option<f64> {
    let (_, body) = http_get(addr, "/metrics").ok()?;
    body.lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

/// Serialises the CPU-heavy tests of this file: two tests run at once on
/// 2 cores, and a 20,000-process burst next to the endpoint flood would
/// measure the test machine's scheduler, not drainit. An flock, since each
/// test runs in a process of its own (nextest); .config/nextest.toml also
/// runs these tests with no other integration test beside them.
fn heavy() -> std::fs::File {
    use std::os::fd::AsRawFd;
    let path = std::env::temp_dir().join("drainit-it-heavy.lock");
    let lock = std::fs::File::create(&path).unwrap();
    // SAFETY: flock on a descriptor this function owns; released when the
    // returned file is dropped.
    let rc = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
    assert_eq!(rc, 0, "flock {}", path.display());
    lock
}

fn orphan_secs() -> f64 {
    std::env::var("DRAINIT_ORPHAN_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10.0)
}

// ---------------------------------------------------------------- 1. storm

#[test]
fn signal_storm_keeps_drainit_small_and_the_drain_prompt() {
    let _heavy = heavy();
    let Some(py) = python() else { return };
    let pid1 = !need_pidns();
    let dir = tempdir("storm");
    let out = dir.join("counts");
    let o = out.to_str().unwrap();
    let mut d = start(pid1, &helper_args(&py, &[], &["count", o]));
    wait_file(&dir.join("counts.ready"), Duration::from_secs(10));
    // The baseline is taken once drainit has trimmed its start-up pages
    // (100 ms after start): RSS growth is what the storm adds after that.
    settle_after_start_up(&d);
    let rss_before = rss_kb(d.pid);

    let rt = libc::SIGRTMIN();
    let kinds = [
        libc::SIGHUP,
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGWINCH,
        rt,
        rt + 1,
        libc::SIGRTMAX(),
    ];
    const TOTAL: usize = 100_000;
    let pid = d.pid;
    let started = Instant::now();
    let (sent, eagain) = std::thread::spawn(move || {
        let mut sent: BTreeMap<i32, u64> = BTreeMap::new();
        let mut eagain = 0u64;
        for i in 0..TOTAL {
            let sig = kinds[i % kinds.len()];
            if sig >= libc::SIGRTMIN() {
                // sigqueue honours RLIMIT_SIGPENDING: retry while the queue is full.
                loop {
                    let v = libc::sigval {
                        sival_ptr: std::ptr::null_mut(),
                    };
                    // SAFETY: sigqueue copies the sigval; no memory effects.
                    if unsafe { libc::sigqueue(pid, sig, v) } == 0 {
                        break;
                    }
                    let e = std::io::Error::last_os_error();
                    assert_eq!(e.raw_os_error(), Some(libc::EAGAIN), "sigqueue: {e}");
                    eagain += 1;
                    std::thread::yield_now();
                }
            } else {
                // SAFETY: kill has no memory effects.
                assert_eq!(unsafe { libc::kill(pid, sig) }, 0);
            }
            *sent.entry(sig).or_default() += 1;
        }
        (sent, eagain)
    })
    .join()
    .unwrap();
    let storm = started.elapsed();
    let term_sent = mono_ns();
    d.signal(libc::SIGTERM);
    let rss_after = rss_kb(d.pid);
    let hwm = status_field(d.pid, "VmHWM").unwrap_or(0);
    let code = d.code(Duration::from_secs(60));
    assert_eq!(code, 0, "the child exits 0 once the storm is counted");

    let report = std::fs::read_to_string(&out).expect("child wrote its counts");
    let mut lines = report.lines();
    let term_ns: u64 = lines.next().unwrap().parse().unwrap();
    let got: BTreeMap<i32, u64> = lines
        .map(|l| {
            let (s, n) = l.split_once(' ').unwrap();
            (s.parse().unwrap(), n.parse().unwrap())
        })
        .collect();
    let term_ms = term_ns.saturating_sub(term_sent) as f64 / 1e6;
    let growth = (rss_after as f64 - rss_before as f64) / rss_before as f64 * 100.0;
    eprintln!(
        "FIGURES storm: pid1={pid1} {TOTAL} signals in {:.2}s ({eagain} EAGAIN retries), \
         RSS {rss_before} -> {rss_after} KiB ({growth:+.1}%), VmHWM {hwm} KiB, \
         TERM reached the child {term_ms:.2} ms after it was sent; sent {sent:?} child got {got:?}",
        storm.as_secs_f64()
    );
    for (&sig, &n) in &sent {
        let g = got.get(&sig).copied().unwrap_or(0);
        if sig >= rt {
            assert_eq!(g, n, "real-time signal {sig} is queued: every one arrives");
        } else {
            assert!(g >= 1 && g <= n, "signal {sig}: sent {n}, child got {g}");
        }
    }
    // Bounded, not a leak: each forwarded signal reads a /proc snapshot for
    // the forwarding rule, and the allocator keeps a few hundred KiB of it.
    assert!(
        growth < 30.0,
        "RSS grew {growth:.1}% ({rss_before} -> {rss_after} KiB)"
    );
    // How fast TERM got through after the storm is a figure (make soak
    // holds it to its limit); here it must have arrived at all.
    figure("hardening.storm_term_ms", term_ms);
    assert!(
        got.get(&libc::SIGTERM).is_some_and(|&n| n >= 1),
        "TERM after the storm never reached the child"
    );
}

/// Waits until drainit's one planned start-up wakeup (the trim, 100 ms
/// after start) is behind it, so figures taken next are steady state.
fn settle_after_start_up(d: &Running) {
    let trim = Duration::from_millis(300);
    if let Some(left) = trim.checked_sub(d.started.elapsed()) {
        std::thread::sleep(left);
    }
}

// --------------------------------------------------------------- 2. orphans

/// Samples the zombies of `pid` every 100 ms until `done` appears and no
/// zombie is left; returns the samples and how long the last zombies took
/// to go after `done` appeared.
fn sample_zombies(pid: i32, done: &Path, limit: Duration) -> (Vec<usize>, Duration) {
    let mut samples = Vec::new();
    let deadline = Instant::now() + limit;
    let mut done_at = None;
    loop {
        let finished = done.exists();
        let z = zombies_of(pid);
        samples.push(z);
        if finished {
            let at = *done_at.get_or_insert_with(Instant::now);
            if z == 0 {
                return (samples, at.elapsed());
            }
        }
        assert!(
            Instant::now() < deadline,
            "not finished or zombies left: {z}"
        );
        std::thread::sleep(Duration::from_millis(100)); // the sampling period
    }
}

#[test]
fn orphan_burst_of_20000_is_reaped() {
    let _heavy = heavy();
    let Some(py) = python() else { return };
    let pid1 = !need_pidns();
    let dir = tempdir("burst");
    let mark = dir.join("made");
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut d = start(
        pid1,
        &helper_args(
            &py,
            &["--http", &addr],
            &["burst", "20000", mark.to_str().unwrap()],
        ),
    );
    let (samples, cleared) = sample_zombies(d.pid, &mark, Duration::from_secs(120));
    let made: f64 = std::fs::read_to_string(&mark)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let reaped = metric(&addr, "drainit_processes_reaped_total").unwrap_or(0.0);
    let rss = rss_kb(d.pid);
    d.signal(libc::SIGTERM);
    let code = d.code(Duration::from_secs(10));
    eprintln!(
        "FIGURES orphan burst: pid1={pid1} 20000 orphans made in {made:.2}s, zombies sampled \
         every 100ms max {} (n={}), 0 zombies {:.0} ms after the maker exited, reaped_total {reaped}, \
         RSS {rss} KiB",
        samples.iter().max().unwrap_or(&0),
        samples.len(),
        cleared.as_secs_f64() * 1e3
    );
    assert!(reaped >= 20_000.0, "reaped_total {reaped}");
    assert_eq!(code, 0);
}

#[test]
fn continuous_orphan_storm_keeps_zombies_bounded() {
    let _heavy = heavy();
    let Some(py) = python() else { return };
    let pid1 = !need_pidns();
    let secs = orphan_secs();
    let dir = tempdir("flood");
    let mark = dir.join("made");
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let rss0 = Arc::new(AtomicUsize::new(0));
    let mut d = start(
        pid1,
        &helper_args(
            &py,
            &["--http", &addr],
            &["flood", &secs.to_string(), mark.to_str().unwrap()],
        ),
    );
    wait_for(Duration::from_secs(10), || {
        (!children(d.pid).is_empty()).then_some(())
    })
    .expect("the flood never started");
    settle_after_start_up(&d);
    rss0.store(rss_kb(d.pid) as usize, Ordering::Relaxed);
    let fds0 = fd_count(d.pid);
    let (samples, cleared) = sample_zombies(d.pid, &mark, Duration::from_secs_f64(secs + 60.0));
    let made: u64 = std::fs::read_to_string(&mark)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let reaped = metric(&addr, "drainit_processes_reaped_total").unwrap_or(0.0);
    // The /metrics connection closes on the endpoint's thread: let it go.
    let fds1 = wait_for(Duration::from_secs(1), || {
        Some(fd_count(d.pid)).filter(|&n| n <= fds0)
    })
    .unwrap_or_else(|| fd_count(d.pid));
    let rss1 = rss_kb(d.pid);
    d.signal(libc::SIGTERM);
    let code = d.code(Duration::from_secs(10));
    let max = samples.iter().copied().max().unwrap_or(0);
    let mean = samples.iter().sum::<usize>() as f64 / samples.len().max(1) as f64;
    eprintln!(
        "FIGURES orphan flood: pid1={pid1} {secs}s, >= {made} orphans ({reaped} reaped), zombies \
         sampled every 100ms: n={} max {max} mean {mean:.1}, 0 zombies {:.0} ms after the end, \
         RSS {} -> {rss1} KiB, fds {fds0} -> {fds1}",
        samples.len(),
        cleared.as_secs_f64() * 1e3,
        rss0.load(Ordering::Relaxed)
    );
    assert!(
        max < 200,
        "zombies piled up: max {max} in {} samples",
        samples.len()
    );
    assert!(reaped >= made as f64, "reaped {reaped} < made {made}");
    assert_eq!(fds0, fds1, "no descriptor leak");
    assert_eq!(code, 0);
}

// ---------------------------------------------------------------- 3. escape

struct Escape {
    code: i32,
    /// From the TERM sent to drainit to drainit's exit.
    took: Duration,
    pids: BTreeMap<String, i32>,
    termed: Vec<String>,
    log: Vec<LogEvent>,
}

fn escape(pid1: bool, mode: &[&str], kinds: &str, grace: &str) -> Option<Escape> {
    let py = python()?;
    let dir = tempdir("escape");
    let mut args = vec!["--log-format", "json", "--grace", grace];
    args.extend_from_slice(mode);
    let a = helper_args(&py, &args, &["escape", dir.to_str().unwrap(), kinds]);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let mut d = if pid1 {
        Running::pid1(&a)
    } else {
        Running::plain_captured(&a)
    };
    wait_file(&dir.join("ready"), Duration::from_secs(10));
    let mut pids = BTreeMap::new();
    for k in kinds.split(',') {
        let text = wait_file(&dir.join(format!("{k}.pid")), Duration::from_secs(10));
        pids.insert(k.to_string(), text.trim().parse().unwrap());
    }
    let t = Instant::now();
    d.signal(libc::SIGTERM);
    let Some(status) = d.wait(Duration::from_secs(10)) else {
        sweep_and_kill(&mut d);
        panic!("drainit still runs 10 s after TERM (grace {grace})");
    };
    let code = status.code().unwrap_or(-1);
    let took = t.elapsed();
    let termed = kinds
        .split(',')
        .filter(|k| dir.join(format!("{k}.term")).exists())
        .map(String::from)
        .collect();
    Some(Escape {
        code,
        took,
        pids,
        termed,
        log: events(&d.stderr()),
    })
}

/// Cleans up after a drainit that failed to: SIGKILLs its children until
/// none is left (they stay its children while it lives, pid hoppers
/// included), then drainit itself. Killing drainit first would hand a pid
/// hopper to the host's init, where it would hop forever.
fn sweep_and_kill(d: &mut Running) {
    for _ in 0..1_000_000 {
        let c = children(d.pid);
        if c.is_empty() {
            break;
        }
        for p in c {
            // SAFETY: kill has no memory effects; `p` is drainit's child,
            // unreaped while drainit lives.
            unsafe { libc::kill(p, libc::SIGKILL) };
        }
    }
    d.kill();
}

fn check_escape(pid1: bool, mode: &[&str]) {
    let kinds = "setsid,setpgid,double";
    let Some(e) = escape(pid1, mode, kinds, "1s") else {
        return;
    };
    eprintln!(
        "FIGURES escape: pid1={pid1} mode={mode:?} exit {} after {:.0} ms (grace 1s), TERM seen by {:?}",
        e.code,
        e.took.as_secs_f64() * 1e3,
        e.termed
    );
    assert_eq!(e.termed, kinds.split(',').collect::<Vec<_>>());
    assert_eq!(e.code, 128 + libc::SIGTERM, "the child died of TERM");
    figure("hardening.escape_exit_s", e.took.as_secs_f64());
    assert_grace_kill(&e.log, 1.0);
    if !pid1 {
        let left: Vec<_> = e.pids.iter().filter(|(_, &p)| alive(p)).collect();
        assert!(left.is_empty(), "outlived drainit: {left:?}");
    }
}

#[test]
fn escaping_descendants_get_term_then_sigkill_as_pid1() {
    if need_pidns() {
        return;
    }
    let _heavy = heavy();
    check_escape(true, &[]);
    check_escape(true, &["-g"]);
}

#[test]
fn escaping_descendants_do_not_outlive_a_subreaper() {
    let _heavy = heavy();
    check_escape(false, &[]);
    check_escape(false, &["-g"]);
}

/// A python descendant that hops pids (fork, parent exits) and ignores TERM.
#[test]
fn a_pid_hopping_descendant_is_killed_too() {
    let _heavy = heavy();
    for pid1 in [false, true] {
        if pid1 && !pid_namespaces() {
            continue;
        }
        let Some(e) = escape(pid1, &[], "hopper", "500ms") else {
            return;
        };
        eprintln!(
            "FIGURES hopper: pid1={pid1} exit {} after {:.0} ms (grace 500ms)",
            e.code,
            e.took.as_secs_f64() * 1e3
        );
        assert_eq!(e.code, 128 + libc::SIGTERM);
        figure("hardening.hopper_exit_s", e.took.as_secs_f64());
        assert_grace_kill(&e.log, 0.5);
    }
}

/// The leftovers were SIGKILLed at the grace deadline, not before, and
/// drainit exited after that.
fn assert_grace_kill(log: &[LogEvent], grace: f64) {
    assert_order(
        log,
        &[
            "draining",
            "forwarded",
            "grace_reached",
            "killed",
            "exiting",
        ],
    );
    let fwd = must(log, "forwarded").num("after_s");
    let kill = must(log, "grace_reached").num("after_s");
    // 1e-6: the figures are f64 renderings of exact durations.
    assert!(
        kill + 1e-6 >= fwd + grace,
        "SIGKILL at {kill}s, TERM at {fwd}s"
    );
    assert!(must(log, "killed").num("count") >= 1.0);
}

// --------------------------------------------------------------- 4. endpoint

/// Lowers the calling thread's priority (nice 10): the load generator runs
/// on the same 2 cores as drainit and must not be what delays forwarding.
fn background() {
    // SAFETY: setpriority and gettid take and return integers only.
    unsafe { libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 10) };
}

/// Sends raw bytes and reads the answer until EOF (or 3 s).
fn raw(addr: &str, bytes: &[u8]) -> String {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(3)));
    let _ = s.write_all(bytes);
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

fn status_of(resp: &str) -> u16 {
    resp.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// One answer each from abusers that come once: HTTP/1.0, a pipelined
/// keep-alive pair, garbage, a 1 MB header. Returns that request.
fn single_shot_abusers(addr: &str) -> Vec<u8> {
    let http10 = raw(addr, b"GET /ready HTTP/1.0\r\n\r\n");
    assert_eq!(status_of(&http10), 200, "HTTP/1.0: {http10:?}");
    let keep = raw(
        addr,
        b"GET /ready HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\nGET /live HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    assert_eq!(status_of(&keep), 200, "keep-alive: {keep:?}");
    assert_eq!(
        keep.matches("HTTP/1.1 ").count(),
        1,
        "one answer, then close"
    );
    let garbage = raw(addr, &[0xff, 0x00, 0x13, b'\r', b'\n', 0x80].repeat(500));
    assert!(
        garbage.is_empty() || status_of(&garbage) == 400,
        "garbage: {garbage:?}"
    );
    let mut big = b"GET /ready HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
    big.extend(vec![b'a'; 1 << 20]);
    big.extend(b"\r\n\r\n");
    let huge = raw(addr, &big);
    assert!(
        huge.is_empty() || status_of(&huge) == 431,
        "1 MB header: {:?}",
        &huge[..huge.len().min(200)]
    );
    big
}

/// The flood: 1,000 idle connections held open, slow-header trickles, and
/// loops of garbage, 1 MB headers, HTTP/1.0 and keep-alive clients, while
/// drainit's RSS and descriptors are sampled.
struct Flood {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
    idle: Vec<TcpStream>,
    idle_connect: Duration,
    abuse_done: Arc<AtomicUsize>,
    trickle_lasted: Arc<std::sync::Mutex<Vec<Duration>>>,
    max_rss: Arc<AtomicUsize>,
    max_fds: Arc<AtomicUsize>,
}

/// What the flood left: how many idle connections drainit closed, and how
/// long the trickles lasted.
struct FloodEnd {
    idle_closed: usize,
    trickles: Vec<Duration>,
}

impl Flood {
    fn start(addr: &str, pid: i32, big: &[u8]) -> Flood {
        let stop = Arc::new(AtomicBool::new(false));
        let mut idle = Vec::new();
        let t_idle = Instant::now();
        for _ in 0..1000 {
            if let Ok(s) = TcpStream::connect(addr) {
                idle.push(s);
            }
        }
        let mut f = Flood {
            stop,
            threads: Vec::new(),
            idle,
            idle_connect: t_idle.elapsed(),
            abuse_done: Arc::new(AtomicUsize::new(0)),
            trickle_lasted: Arc::new(std::sync::Mutex::new(Vec::new())),
            max_rss: Arc::new(AtomicUsize::new(0)),
            max_fds: Arc::new(AtomicUsize::new(0)),
        };
        for _ in 0..4 {
            f.trickle(addr);
        }
        let payloads: Vec<Vec<u8>> = vec![
            [0xde, 0xad, 0xbe, 0xef, b'\n'].repeat(200),
            big.to_vec(),
            b"GET /ready HTTP/1.0\r\n\r\n".to_vec(),
            b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n".to_vec(),
            b"POST /ready HTTP/1.1\r\nContent-Length: 99999999\r\n\r\nxx".to_vec(),
        ];
        for p in payloads {
            let (addr, stop, n) = (addr.to_string(), f.stop.clone(), f.abuse_done.clone());
            f.threads.push(std::thread::spawn(move || {
                background();
                while !stop.load(Ordering::Relaxed) {
                    raw(&addr, &p);
                    n.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        let (stop, r, fd) = (f.stop.clone(), f.max_rss.clone(), f.max_fds.clone());
        f.threads.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                r.fetch_max(rss_kb(pid) as usize, Ordering::Relaxed);
                fd.fetch_max(fd_count(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20)); // the sampling period
            }
        }));
        f
    }

    /// A client sending a header a byte at a time, again and again.
    fn trickle(&mut self, addr: &str) {
        let (addr, stop, lasted) = (
            addr.to_string(),
            self.stop.clone(),
            self.trickle_lasted.clone(),
        );
        self.threads.push(std::thread::spawn(move || {
            background();
            while !stop.load(Ordering::Relaxed) {
                let Ok(mut s) = TcpStream::connect(&addr) else {
                    continue;
                };
                let t = Instant::now();
                for b in b"GET /ready HTTP/1.1\r\nX-Slow: "
                    .iter()
                    .chain([b'a'; 400].iter())
                {
                    if stop.load(Ordering::Relaxed) || s.write_all(&[*b]).is_err() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(50)); // a trickle's pace
                }
                lasted.lock().unwrap().push(t.elapsed());
            }
        }));
    }

    fn end(mut self) -> FloodEnd {
        self.stop.store(true, Ordering::Relaxed);
        let trickles = self.trickle_lasted.lock().unwrap().clone();
        for t in self.threads.drain(..) {
            t.join().unwrap();
        }
        let idle_closed = self
            .idle
            .iter_mut()
            .filter(|s| {
                let _ = s.set_read_timeout(Some(Duration::from_millis(1)));
                matches!((&**s).read(&mut [0u8; 1]), Ok(0))
            })
            .count();
        FloodEnd {
            idle_closed,
            trickles,
        }
    }
}

/// Probes (GET /ready every 100 ms) and signal forwarding (SIGUSR1 to
/// drainit, stamped by the child), measured for 8 s and 1,000 signals at
/// least: (probe times in ms, probe failures, forwarding latencies in us).
fn probe_and_forward(d: &Running, addr: &str, stamps: &Path) -> (Vec<f64>, Vec<String>, Vec<u64>) {
    let mut probe_ms = Vec::new();
    let mut probe_fail = Vec::new();
    let mut lat_us = Vec::new();
    let mut reader = std::fs::File::open(stamps).unwrap();
    let mut pending = String::new();
    let window = Instant::now();
    let mut next_probe = Instant::now();
    while window.elapsed() < Duration::from_secs(8) || lat_us.len() < 1000 {
        if Instant::now() >= next_probe {
            next_probe += Duration::from_millis(100);
            let t = Instant::now();
            let r = http_get(addr, "/ready");
            let ms = t.elapsed().as_secs_f64() * 1e3;
            match r {
                Ok((200, _)) => probe_ms.push(ms),
                other => probe_fail.push(format!("{other:?} after {ms:.1} ms")),
            }
        }
        let sent = mono_ns();
        d.signal(libc::SIGUSR1);
        let got = loop {
            assert!(
                mono_ns() - sent < 5_000_000_000,
                "SIGUSR1 was not forwarded within 5 s"
            );
            if let Some((line, rest)) = pending.split_once('\n') {
                let line = line.to_string();
                pending = rest.to_string();
                break line;
            }
            let mut buf = [0u8; 4096];
            let n = reader.read(&mut buf).unwrap();
            pending.push_str(std::str::from_utf8(&buf[..n]).unwrap());
            if n == 0 {
                std::thread::sleep(Duration::from_micros(50)); // poll the stamps file
            }
        };
        let at: u64 = got.split(' ').nth(1).unwrap().parse().unwrap();
        lat_us.push(at.saturating_sub(sent) / 1000);
        std::thread::sleep(Duration::from_millis(2)); // the signals' pace
    }
    (probe_ms, probe_fail, lat_us)
}

/// The slow client alone (a byte every 50 ms, the scenario's pace): how
/// long it lasted, and whether drainit cut it before its 430 bytes (21 s).
fn lone_slow_client(addr: &str) -> (Duration, bool) {
    let mut s = TcpStream::connect(addr).unwrap();
    let t = Instant::now();
    for b in b"GET /ready HTTP/1.1\r\nX-Slow: "
        .iter()
        .chain([b'a'; 400].iter())
    {
        if s.write_all(&[*b]).is_err() {
            return (t.elapsed(), true);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (t.elapsed(), false)
}

#[test]
fn endpoint_abuse_leaves_probes_and_forwarding_fast() {
    let _heavy = heavy();
    let Some(py) = python() else { return };
    let dir = tempdir("abuse");
    let stamps = dir.join("stamps");
    let addr = format!("127.0.0.1:{}", free_port());
    let mut d = start(
        false,
        &helper_args(
            &py,
            &["--ready-on", "start", "--http", &addr],
            &["stamp", stamps.to_str().unwrap()],
        ),
    );
    wait_file(&stamps, Duration::from_secs(10));
    wait_for(Duration::from_secs(5), || {
        http_get(&addr, "/ready").ok().filter(|r| r.0 == 200)
    })
    .expect("ready");
    let (rss0, fds0) = (rss_kb(d.pid), fd_count(d.pid));

    let big = single_shot_abusers(&addr);
    let flood = Flood::start(&addr, d.pid, &big);
    let (idle_connect, abuse_done) = (flood.idle_connect, flood.abuse_done.clone());
    let (max_rss, max_fds) = (flood.max_rss.clone(), flood.max_fds.clone());
    let (mut probe_ms, probe_fail, mut lat_us) = probe_and_forward(&d, &addr, &stamps);
    let FloodEnd {
        idle_closed,
        trickles: trickle_open_while_flooded,
    } = flood.end();
    // drainit closes its side of the dropped connections as it sees them go.
    let fds1 = wait_for(Duration::from_secs(10), || {
        Some(fd_count(d.pid)).filter(|&n| n <= fds0 + 1)
    })
    .unwrap_or_else(|| fd_count(d.pid));
    let rss1 = rss_kb(d.pid);
    let (slow, cut) = lone_slow_client(&addr);
    d.signal(libc::SIGTERM);
    assert_eq!(d.code(Duration::from_secs(10)), 0);

    lat_us.sort_unstable();
    probe_ms.sort_by(f64::total_cmp);
    let p99 = percentile(&lat_us, 0.99);
    let probe_max = probe_ms.last().copied().unwrap_or(f64::NAN);
    eprintln!(
        "FIGURES abuse: 1000 idle connections connected in {:.0} ms ({idle_closed} closed by drainit), \
         {} abuse requests, trickles lasted max {:?}; GET /ready n={} max {probe_max:.1} ms, \
         failures {probe_fail:?}; forwarding n={} p50 {} us p99 {p99} us max {} us; \
         fds {fds0} -> max {} -> {fds1}; RSS {rss0} -> max {} -> {rss1} KiB; lone slow client cut after {:.1} s",
        idle_connect.as_secs_f64() * 1e3,
        abuse_done.load(Ordering::Relaxed),
        trickle_open_while_flooded.iter().max(),
        probe_ms.len(),
        lat_us.len(),
        percentile(&lat_us, 0.5),
        lat_us.last().unwrap(),
        max_fds.load(Ordering::Relaxed),
        max_rss.load(Ordering::Relaxed),
        slow.as_secs_f64()
    );
    figure("hardening.abuse_probe_max_ms", probe_max);
    figure("hardening.abuse_forward_p99_us", p99 as f64);
    figure("hardening.abuse_slow_client_cut_s", slow.as_secs_f64());
    assert!(probe_fail.is_empty(), "GET /ready failed: {probe_fail:?}");
    assert!(!lat_us.is_empty(), "no SIGUSR1 forwarded during the flood");
    let bound = fds0 + readiness_max_connections() + 4;
    assert!(
        max_fds.load(Ordering::Relaxed) <= bound,
        "connection bound: {} fds > {bound}",
        max_fds.load(Ordering::Relaxed)
    );
    assert!(
        max_rss.load(Ordering::Relaxed) < rss0 as usize + 16 * 1024,
        "memory bounded"
    );
    assert!(fds1 <= fds0 + 1, "connections released: {fds0} -> {fds1}");
    assert!(cut, "the slow header was never cut ({slow:?})");
}

/// `MAX_CONNECTIONS` of src/io/readiness/http.rs.
fn readiness_max_connections() -> usize {
    64
}

// ------------------------------------------------------------ 5. ready file

fn exists_any(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok()
}

fn leftovers(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().is_some_and(|n| n != "victim"))
        .collect()
}

#[test]
fn ready_file_is_never_written_through_a_symlink() {
    let dir = tempdir("rf-link");
    let victim = dir.join("victim");
    std::fs::write(&victim, "precious").unwrap();
    let ready = dir.join("ready");
    std::os::unix::fs::symlink(&victim, &ready).unwrap();
    std::os::unix::fs::symlink(&victim, dir.join(".ready.drainit-tmp")).unwrap();
    let mut d = Running::plain(&[
        "--ready-on",
        "start",
        "--ready-file",
        ready.to_str().unwrap(),
        "--",
        "sleep",
        "30",
    ]);
    wait_for(Duration::from_secs(5), || {
        std::fs::symlink_metadata(&ready)
            .ok()
            .filter(|m| m.file_type().is_file())
    })
    .expect("ready file replaced the symlink");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    d.signal(libc::SIGTERM);
    assert_eq!(d.code(Duration::from_secs(5)), 128 + libc::SIGTERM);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
}

#[test]
fn a_stale_ready_file_is_gone_before_the_app_is_ready() {
    let dir = tempdir("rf-stale");
    let ready = dir.join("ready");
    std::fs::write(&ready, "ready\n").unwrap();
    // The gate points at a closed port until the test opens it.
    let port = free_port();
    let gate = format!("127.0.0.1:{port}");
    let mut d = Running::plain(&[
        "--ready-file",
        ready.to_str().unwrap(),
        "--ready-tcp",
        &gate,
        "--",
        "sh",
        "-c",
        &format!(
            "test -e {r} && echo STALE >{d}/seen; touch {d}/started; exec sleep 30",
            r = ready.display(),
            d = dir.display()
        ),
    ]);
    wait_file(&dir.join("started"), Duration::from_secs(10));
    let _ = std::fs::remove_file(dir.join("started"));
    assert!(!exists_any(&ready), "stale file removed, not ready yet");
    assert!(!dir.join("seen").exists(), "the child saw the stale file");
    let listener = std::net::TcpListener::bind(&gate).unwrap();
    wait_for(Duration::from_secs(10), || ready.exists().then_some(()))
        .expect("ready once the gate passes");
    drop(listener);
    d.signal(libc::SIGTERM);
    d.code(Duration::from_secs(5));
    assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
}

#[test]
fn no_ready_file_after_any_exit_path() {
    let dir = tempdir("rf-exit");
    let ready = dir.join("ready");
    let r = ready.to_str().unwrap();
    let trapped = dir.join("trapped");
    let trap_then_wait = format!(
        "trap '' TERM; touch {}; sleep 30 & wait; wait",
        trapped.display()
    );
    let cases: [(&str, Vec<&str>, Option<i32>, i32); 4] = [
        ("normal exit", vec!["sh", "-c", "sleep 0.3"], None, 0),
        (
            "grace kill",
            vec!["sh", "-c", &trap_then_wait],
            Some(libc::SIGTERM),
            137,
        ),
        ("command not found", vec!["/nonexistent/app"], None, 127),
        ("not executable", vec![dir.to_str().unwrap()], None, 126),
    ];
    for (what, cmd, sig, want) in cases {
        std::fs::write(&ready, "stale\n").unwrap();
        let mut args = vec![
            "--ready-on",
            "start",
            "--ready-file",
            r,
            "--grace",
            "300ms",
            "--",
        ];
        args.extend(cmd);
        let mut d = Running::plain(&args);
        if let Some(sig) = sig {
            // drainit writes "ready\n"; the stale file says "stale\n".
            wait_for(Duration::from_secs(5), || {
                std::fs::read_to_string(&ready)
                    .ok()
                    .filter(|t| t == "ready\n")
            })
            .expect("ready");
            wait_file(&trapped, Duration::from_secs(10));
            let _ = std::fs::remove_file(&trapped);
            d.signal(sig);
        }
        let code = d.code(Duration::from_secs(10));
        eprintln!(
            "FIGURES ready file: {what}: exit {code}, file left: {}",
            exists_any(&ready)
        );
        assert_eq!(code, want, "{what}");
        assert!(leftovers(&dir).is_empty(), "{what}: {:?}", leftovers(&dir));
    }
    // A taken --http port fails after the ready file was prepared.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    std::fs::write(&ready, "stale\n").unwrap();
    let mut d = Running::plain(&["--ready-file", r, "--http", &addr, "--", "true"]);
    let code = d.code(Duration::from_secs(10));
    assert_eq!(code, 2, "usage error for a taken port");
    assert!(
        leftovers(&dir).is_empty(),
        "taken port: {:?}",
        leftovers(&dir)
    );
}

#[test]
fn a_relative_ready_file_stays_in_the_working_directory() {
    let dir = tempdir("rf-rel");
    let child = std::process::Command::new(drainit())
        .args([
            "--ready-on",
            "start",
            "--ready-file",
            "ready",
            "--",
            "sleep",
            "30",
        ])
        .current_dir(&dir)
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let mut d = Running {
        child,
        pid,
        started: Instant::now(),
    };
    let found = wait_for(Duration::from_secs(5), || {
        dir.join("ready").exists().then_some(())
    });
    d.signal(libc::SIGTERM);
    d.code(Duration::from_secs(5));
    assert!(
        found.is_some(),
        "ready file not created in {}",
        dir.display()
    );
    assert!(!dir.join("ready").exists(), "removed at exit");
}

/// Four C processes that hop pids at full speed (fork, parent exits) and
/// ignore TERM. As a subreaper drainit must still SIGKILL them all and exit.
/// (Found by this test: a fixed number of sweeps let a hopper that forked
/// between a scan and its kill survive; drainit now kills the hoppers'
/// process groups and sweeps again on every reap while killing.)
#[test]
fn fast_pid_hoppers_are_killed_by_a_subreaper() {
    let _heavy = heavy();
    let dir = tempdir("chop");
    let src = dir.join("hop.c");
    std::fs::write(
        &src,
        "#include <unistd.h>\n#include <signal.h>\n\
         int main(void) {\n\
           for (int i = 0; i < 4; i++) if (fork() == 0) {\n\
             setsid(); signal(SIGTERM, SIG_IGN);\n\
             for (;;) { pid_t p = fork(); if (p > 0) _exit(0); if (p < 0) usleep(100); }\n\
           }\n\
           pause(); return 0;\n\
         }\n",
    )
    .unwrap();
    let bin = dir.join("hop");
    let built = std::process::Command::new("cc")
        .args(["-O2", "-o"])
        .arg(&bin)
        .arg(&src)
        .status();
    if !built.is_ok_and(|s| s.success()) {
        skip("cc is missing: cannot build the pid-hopping helper");
        return;
    }
    for round in 0..10 {
        let mut d = Running::plain(&["--grace", "300ms", "--", bin.to_str().unwrap()]);
        // All four hoppers are running (they hop, so count them by their
        // sessions: each setsid'd hopper keeps its session id).
        let hopping = wait_for(Duration::from_secs(10), || {
            (hopper_sessions(d.pid) >= 4).then_some(())
        });
        if hopping.is_none() {
            sweep_and_kill(&mut d);
            panic!("round {round}: the hoppers never started");
        }
        d.signal(libc::SIGTERM);
        let exited = d.wait(Duration::from_secs(5));
        if exited.is_none() {
            sweep_and_kill(&mut d);
            panic!("round {round}: drainit still waiting 4.7 s after the grace deadline");
        }
    }
}

/// How many sessions among drainit's descendants have lost their leader:
/// each is a hopper that has hopped at least once (it called setsid, then
/// the leader forked and exited).
fn hopper_sessions(pid: i32) -> usize {
    let session = |p: i32| {
        std::fs::read_to_string(format!("/proc/{p}/stat"))
            .ok()
            .and_then(|s| {
                let (_, rest) = s.rsplit_once(')')?;
                rest.split_whitespace().nth(3)?.parse::<i32>().ok()
            })
    };
    let mut ids: Vec<i32> = descendants(pid)
        .into_iter()
        .filter_map(session)
        .filter(|&s| !alive(s))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids.len()
}
