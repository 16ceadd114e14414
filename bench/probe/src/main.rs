//! Measurement helper for `bench/run.sh`. libc only, so the probe itself
//! adds as little noise as possible to what it measures.
//!
//! Modes:
//!
//! * `latency N INIT [INIT_ARGS...]` — spawns `INIT INIT_ARGS... <self> child FD`,
//!   then N times: take CLOCK_MONOTONIC, send SIGUSR1 to the init, read the
//!   CLOCK_MONOTONIC taken by the child's signal handler from a pipe.
//!   Prints `p50_us=.. p99_us=.. max_us=.. lost=..`.
//! * `child FD` — the other end: a SIGUSR1 handler writes its timestamp to FD.
//! * `orphans N` — run as the init's child in a fresh PID namespace: hands N
//!   zombies to PID 1 at once and measures how long PID 1 takes to reap them.
//!   Prints `reap_ms=.. zombies_left=.. forked=..`.

use std::io::Read;
use std::os::fd::RawFd;
use std::process::{exit, Command};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("latency") if args.len() >= 4 => latency(parse(&args[2]), &args[3..]),
        Some("child") if args.len() == 3 => child(parse(&args[2])),
        Some("orphans") if args.len() == 3 => orphans(parse(&args[2])),
        _ => {
            eprintln!("usage: drainit-bench-probe latency N INIT [ARGS...] | child FD | orphans N");
            exit(2);
        }
    }
}

fn parse<T: std::str::FromStr>(s: &str) -> T {
    s.parse()
        .unwrap_or_else(|_| die(&format!("bad number: {s}")))
}

fn die(msg: &str) -> ! {
    eprintln!("drainit-bench-probe: {msg}");
    exit(1)
}

fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid pointer to a timespec; clock_gettime is async-signal-safe.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn check(rc: libc::c_int, what: &str) -> libc::c_int {
    if rc < 0 {
        die(&format!("{what}: {}", std::io::Error::last_os_error()));
    }
    rc
}

/// Waits until `fd` is readable; false on timeout.
fn readable(fd: RawFd, timeout_ms: i32) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    loop {
        // SAFETY: one valid pollfd.
        let rc = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
        if rc < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        return rc > 0;
    }
}

fn read_exact(fd: RawFd, buf: &mut [u8]) -> bool {
    let mut done = 0;
    while done < buf.len() {
        // SAFETY: writes into the unfilled tail of `buf`.
        let n = unsafe { libc::read(fd, buf[done..].as_mut_ptr().cast(), buf.len() - done) };
        if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        if n <= 0 {
            return false;
        }
        done += n as usize;
    }
    true
}

// ---------------------------------------------------------------- latency

/// The fd the handler writes to; set once before the handler is installed.
static ACK_FD: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_usr1(_: libc::c_int) {
    let t = monotonic_ns().to_ne_bytes();
    let fd = ACK_FD.load(Ordering::Relaxed);
    // SAFETY: write(2) is async-signal-safe.
    unsafe { libc::write(fd, t.as_ptr().cast(), t.len()) };
}

fn child(fd: RawFd) -> ! {
    ACK_FD.store(fd, Ordering::Relaxed);
    // SAFETY: single-threaded; plain sigaction setup.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_usr1 as extern "C" fn(libc::c_int) as usize;
        sa.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut sa.sa_mask);
        check(
            libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut()),
            "sigaction",
        );
        // An init may hand us a blocked mask; make sure USR1 gets through.
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGUSR1);
        libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        // Ready: a single zero byte (timestamps are 8 bytes).
        let ready = [0u8];
        check(libc::write(fd, ready.as_ptr().cast(), 1) as i32, "write");
        loop {
            libc::pause();
        }
    }
}

fn latency(n: usize, init: &[String]) -> ! {
    let mut fds = [0; 2];
    // SAFETY: valid array of two fds.
    check(unsafe { libc::pipe(fds.as_mut_ptr()) }, "pipe");
    let (rfd, wfd) = (fds[0], fds[1]);
    // The read end stays here; the write end is inherited by init and child.
    // SAFETY: rfd is ours.
    unsafe { libc::fcntl(rfd, libc::F_SETFD, libc::FD_CLOEXEC) };
    let me = std::env::current_exe().unwrap_or_else(|e| die(&format!("current_exe: {e}")));
    let mut cmd = Command::new(&init[0]);
    cmd.args(&init[1..])
        .arg(me)
        .arg("child")
        .arg(wfd.to_string());
    let mut proc = cmd
        .spawn()
        .unwrap_or_else(|e| die(&format!("spawn {}: {e}", init[0])));
    // SAFETY: closing our copy of the write end.
    unsafe { libc::close(wfd) };
    let pid = proc.id() as libc::pid_t;

    let mut ready = [0u8; 1];
    if !readable(rfd, 10_000) || !read_exact(rfd, &mut ready) {
        let _ = proc.kill();
        die("child never became ready");
    }

    let warmup = 20;
    let mut samples = Vec::with_capacity(n);
    let mut lost = 0;
    let mut buf = [0u8; 8];
    for i in 0..warmup + n {
        let t0 = monotonic_ns();
        // SAFETY: plain kill(2).
        check(unsafe { libc::kill(pid, libc::SIGUSR1) }, "kill");
        if !readable(rfd, 2_000) {
            lost += 1;
            if lost > 5 {
                break;
            }
            continue;
        }
        if !read_exact(rfd, &mut buf) {
            die("pipe closed: init or child died");
        }
        let t1 = u64::from_ne_bytes(buf);
        if i >= warmup {
            samples.push(t1.saturating_sub(t0));
        }
    }
    stop(&mut proc);
    if samples.is_empty() {
        die(&format!("no signal reached the child (lost {lost})"));
    }
    samples.sort_unstable();
    let pct = |p: f64| {
        let idx = ((samples.len() as f64 * p).ceil() as usize).clamp(1, samples.len()) - 1;
        samples[idx] as f64 / 1000.0
    };
    println!(
        "p50_us={:.1} p99_us={:.1} max_us={:.1} lost={} n={}",
        pct(0.50),
        pct(0.99),
        *samples.last().unwrap() as f64 / 1000.0,
        lost,
        samples.len()
    );
    exit(0)
}

/// SIGTERM the init (it forwards to the child), SIGKILL after 5 s.
fn stop(proc: &mut std::process::Child) {
    let pid = proc.id() as libc::pid_t;
    // SAFETY: plain kill(2).
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = proc.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = proc.kill();
    let _ = proc.wait();
}

// ---------------------------------------------------------------- orphans

/// Forks a spawner that forks `n` children which exit at once (zombies of the
/// spawner). When they are all dead the spawner exits: the kernel re-parents
/// all n zombies to PID 1 in one go. We then poll PID 1's children list until
/// only we are left.
fn orphans(n: usize) -> ! {
    // SAFETY: getpid has no preconditions.
    let me = unsafe { libc::getpid() };
    if me != 2 {
        eprintln!("drainit-bench-probe: warning: pid {me}, expected 2 (init's child in a new PID namespace)");
    }
    let mut t0_pipe = [0; 2];
    // SAFETY: valid array of two fds.
    check(unsafe { libc::pipe(t0_pipe.as_mut_ptr()) }, "pipe");
    let started = Instant::now();
    // SAFETY: single-threaded process; the child only calls async-signal-safe
    // functions and _exits.
    let spawner = check(unsafe { libc::fork() }, "fork");
    if spawner == 0 {
        spawn_zombies_and_exit(n, t0_pipe[1]);
    }
    // SAFETY: our copy of the write end.
    unsafe { libc::close(t0_pipe[1]) };
    let mut buf = [0u8; 16];
    if !read_exact(t0_pipe[0], &mut buf) {
        die("spawner died before handing over its zombies");
    }
    let t0 = u64::from_ne_bytes(buf[..8].try_into().unwrap());
    let forked = u64::from_ne_bytes(buf[8..].try_into().unwrap());
    let fork_ms = started.elapsed().as_secs_f64() * 1000.0;
    let mut status = 0;
    // SAFETY: reaping our own direct child.
    unsafe { libc::waitpid(spawner, &mut status, 0) };
    // The spawner's exit re-parents every zombie before it can be waited for:
    // this is the kernel's share of the measured time, the same for all inits.
    let handover_ms = monotonic_ns().saturating_sub(t0) as f64 / 1e6;

    let deadline = Instant::now() + Duration::from_secs(60);
    let done = loop {
        if !init_has_other_children(me) {
            break monotonic_ns();
        }
        if Instant::now() > deadline {
            break 0;
        }
        std::thread::sleep(Duration::from_micros(200));
    };
    let reap_ms = if done == 0 {
        "timeout".to_string()
    } else {
        format!("{:.2}", done.saturating_sub(t0) as f64 / 1e6)
    };
    // Give a slow reaper (tini's 1 s loop) no excuse: count after a pause.
    std::thread::sleep(Duration::from_millis(100));
    println!(
        "reap_ms={reap_ms} zombies_left={} forked={forked} handover_ms={handover_ms:.2} fork_ms={fork_ms:.0}",
        count_zombies()
    );
    exit(0)
}

fn spawn_zombies_and_exit(n: usize, t0_fd: RawFd) -> ! {
    let mut fds = [0; 2];
    // SAFETY: valid array of two fds.
    check(unsafe { libc::pipe(fds.as_mut_ptr()) }, "pipe");
    let mut forked: u64 = 0;
    for _ in 0..n {
        // SAFETY: the child immediately _exits, closing its pipe copy.
        match unsafe { libc::fork() } {
            0 => unsafe { libc::_exit(0) },
            -1 => {
                eprintln!(
                    "drainit-bench-probe: fork failed after {forked}: {}",
                    std::io::Error::last_os_error()
                );
                break;
            }
            _ => forked += 1,
        }
    }
    // EOF on the pipe once every child has closed its write end, i.e. exited.
    // SAFETY: our copy of the write end.
    unsafe { libc::close(fds[1]) };
    let mut b = [0u8; 1];
    // SAFETY: blocking read into a one-byte buffer.
    while unsafe { libc::read(fds[0], b.as_mut_ptr().cast(), 1) } > 0 {}
    // exit_files() precedes exit_notify(): let the last ones become zombies.
    std::thread::sleep(Duration::from_millis(50));
    let mut msg = [0u8; 16];
    let t0 = monotonic_ns();
    msg[..8].copy_from_slice(&t0.to_ne_bytes());
    msg[8..].copy_from_slice(&forked.to_ne_bytes());
    // SAFETY: write(2) of a 16-byte buffer (atomic on a pipe).
    unsafe {
        libc::write(t0_fd, msg.as_ptr().cast(), msg.len());
        libc::_exit(0)
    }
}

/// True while PID 1 still has a child other than `me`. Reads only the start
/// of each /proc/1/task/*/children: the seq_file stops early, so this stays
/// cheap with 20,000 entries and disturbs the reaper little.
fn init_has_other_children(me: libc::pid_t) -> bool {
    let Ok(tasks) = std::fs::read_dir("/proc/1/task") else {
        die("cannot read /proc/1/task (is /proc mounted for this namespace?)");
    };
    for task in tasks.flatten() {
        let path = task.path().join("children");
        let Ok(mut f) = std::fs::File::open(&path) else {
            continue;
        };
        let mut buf = [0u8; 128];
        let n = f.read(&mut buf).unwrap_or(0);
        let text = String::from_utf8_lossy(&buf[..n]);
        let mut words = text.split_whitespace().peekable();
        let complete = n < buf.len();
        while let Some(w) = words.next() {
            // A truncated last word is still a pid other than ours.
            if words.peek().is_none() && !complete {
                return true;
            }
            if w.parse::<libc::pid_t>() != Ok(me) {
                return true;
            }
        }
    }
    false
}

fn count_zombies() -> usize {
    let mut zombies = 0;
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let name = e.file_name();
            let Some(name) = name.to_str() else { continue };
            if !name.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{name}/stat")) else {
                continue;
            };
            // State follows the last ')' (comm may contain spaces or parens).
            if let Some(i) = stat.rfind(')') {
                if stat[i + 1..].trim_start().starts_with('Z') {
                    zombies += 1;
                }
            }
        }
    }
    zombies
}
