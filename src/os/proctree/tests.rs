//! The reader against real processes: shells, Python apps with handlers,
//! threads, zombies, and a tree that churns while it is read.

use super::*;
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TERM: i32 = libc::SIGTERM;

/// Polls `f` every 5 ms for up to 20 s.
fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

struct Kid(Child);

impl Kid {
    fn spawn(argv: &[&str]) -> Kid {
        let child = Command::new(argv[0])
            .args(&argv[1..])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {argv:?}: {e}"));
        Kid(child)
    }

    fn pid(&self) -> i32 {
        self.0.id() as i32
    }

    /// Reads stdout lines until one equals `line`.
    fn expect_line(&mut self, line: &str) {
        let out = self.0.stdout.take().expect("stdout piped");
        let mut reader = BufReader::new(out);
        let mut got = String::new();
        loop {
            got.clear();
            let n = reader.read_line(&mut got).expect("read child stdout");
            assert!(n > 0, "child closed stdout before printing {line:?}");
            if got.trim() == line {
                break;
            }
        }
        self.0.stdout = Some(reader.into_inner());
    }
}

impl Drop for Kid {
    fn drop(&mut self) {
        let pid = self.pid();
        for d in snapshot(pid).procs().map(|p| p.pid) {
            let _ = nix::sys::signal::kill(Pid::from_raw(d), Signal::SIGKILL);
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A Python app: `setup` runs, then it prints "ready" and sleeps.
fn python(setup: &str) -> Kid {
    let code = format!("import os, signal, sys, threading, time\n{setup}\nprint('ready', flush=True)\nwhile True: time.sleep(1)\n");
    let mut k = Kid::spawn(&["python3", "-c", &code]);
    k.expect_line("ready");
    k
}

#[test]
fn reads_masks_identity_and_sleep_of_a_python_app() {
    let k = python("signal.signal(signal.SIGTERM, lambda *a: None)\nsignal.signal(signal.SIGHUP, signal.SIG_IGN)\nsignal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR2])");
    let p = read(k.pid()).expect("the app is readable");
    assert_eq!(p.pid, k.pid());
    assert_eq!(p.ppid, std::process::id() as i32);
    assert_eq!(p.comm, "python3");
    assert!(p.catches(TERM) && !p.catches(libc::SIGQUIT), "{p:?}");
    assert!(p.ignores(libc::SIGHUP), "{p:?}");
    assert!(p.blocks(libc::SIGUSR2), "{p:?}");
    assert!(!p.waiting(), "asleep in time.sleep, not waiting: {p:?}");
    let pid = Some(Pid::from_raw(k.pid()));
    assert_eq!(
        Some(p.pgid),
        nix::unistd::getpgid(pid).ok().map(Pid::as_raw)
    );
    assert_eq!(Some(p.sid), nix::unistd::getsid(pid).ok().map(Pid::as_raw));
    assert!(p.start_ticks > 0);
    assert_eq!(read(k.pid()).map(|p| p.start_ticks), Some(p.start_ticks));
}

#[test]
fn the_cheap_read_for_one_signal_agrees_with_the_full_read() {
    let rt = libc::SIGRTMIN() + 2;
    let k = python(&format!("signal.signal(signal.SIGTERM, lambda *a: None)\nsignal.signal({rt}, lambda *a: None)\nsignal.signal(signal.SIGHUP, signal.SIG_IGN)\nsignal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR2])"));
    let full = read(k.pid()).expect("readable");
    assert!(full.catches(rt), "{full:?}");
    let low = 0x7fff_ffff;
    for sig in [TERM, libc::SIGHUP, libc::SIGUSR2, libc::SIGINT] {
        let t = for_signal(&[k.pid()], sig);
        let p = t.get(k.pid()).expect("readable");
        assert_eq!(
            (p.caught, p.ignored, p.blocked),
            (full.caught & low, full.ignored & low, full.blocked & low),
            "{}",
            crate::os::signals::name(sig)
        );
        // The state is not compared: the app may be running at one read
        // and asleep at the other (seen under qemu in CI).
        assert_eq!(
            (p.pid, p.ppid, p.start_ticks),
            (full.pid, full.ppid, full.start_ticks)
        );
        assert!(matches!(p.state, 'S' | 'R'), "{p:?}");
    }
    // Real-time signals are above the stat masks: read from status.
    let t = for_signal(&[k.pid()], rt);
    assert!(t.get(k.pid()).is_some_and(|p| p.catches(rt)));
    // The app handles TERM: whether it waits is not read.
    assert_eq!(
        for_signal(&[k.pid()], TERM).get(k.pid()).map(|p| p.sleep),
        Some(Sleep::Unread)
    );
}

#[test]
fn a_signal_blocked_in_one_thread_only_is_not_blocked() {
    // The main thread blocks USR1 after starting a thread that does not.
    let k = python("threading.Thread(target=lambda: time.sleep(1000), daemon=True).start()\nsignal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])");
    let p = read(k.pid()).expect("readable");
    assert!(!p.blocks(libc::SIGUSR1), "{p:?}");
    let t = for_signal(&[k.pid()], libc::SIGUSR1);
    assert!(t.get(k.pid()).is_some_and(|p| !p.blocks(libc::SIGUSR1)));
    // Blocked before the thread starts: every thread blocks it.
    let k = python("signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])\nthreading.Thread(target=lambda: time.sleep(1000), daemon=True).start()");
    let p = read(k.pid()).expect("readable");
    assert!(p.blocks(libc::SIGUSR1), "{p:?}");
    let t = for_signal(&[k.pid()], libc::SIGUSR1);
    assert!(t.get(k.pid()).is_some_and(|p| p.blocks(libc::SIGUSR1)));
}

/// Waits until `pid` has `n` live children and is asleep in `sleep`.
fn settled(pid: i32, n: usize, sleep: Sleep) -> Tree {
    wait_for("the shell to wait for its children", || {
        let t = snapshot(pid);
        // Each child has exec'd its command (a fork not yet exec'd still
        // bears the shell's name).
        let parent = t.get(pid).map(|p| p.comm.clone());
        let ok = t.get(pid).is_some_and(|p| p.sleep == sleep)
            && t.live_children(pid).count() == n
            && t.live_children(pid)
                .all(|c| Some(&c.comm) != parent.as_ref());
        ok.then_some(t)
    })
}

#[test]
fn a_shell_running_a_command_waits_for_children() {
    let k = Kid::spawn(&["sh", "-c", "sleep 1000; echo done"]);
    let t = settled(k.pid(), 1, Sleep::Children);
    let sh = t.get(k.pid()).expect("sh");
    assert!(
        sh.catches(libc::SIGINT) && sh.catches(libc::SIGCHLD),
        "{sh:?}"
    );
    let sleep = t.live_children(k.pid()).next().expect("sleep");
    assert_eq!(sleep.comm, "sleep");
    assert!(!sleep.waiting(), "{sleep:?}");
    assert_eq!(route::recipients(&t, k.pid(), TERM), vec![sleep.pid]);
}

#[test]
fn the_wait_builtin_waits_in_sigsuspend_or_wait4() {
    let k = Kid::spawn(&["sh", "-c", "sleep 1000 & sleep 1001 & wait"]);
    let t = settled(k.pid(), 2, Sleep::Signal);
    assert_eq!(route::recipients(&t, k.pid(), TERM).len(), 2);
    if Command::new("bash").arg("-c").arg("true").status().is_ok() {
        let k = Kid::spawn(&["bash", "-c", "sleep 1000 & sleep 1001 & wait"]);
        settled(k.pid(), 2, Sleep::Children);
    }
}

#[test]
fn zombies_are_read_as_not_live() {
    // The parent never reaps its child.
    let k = python("pid = os.fork()\nif pid == 0: os._exit(3)\nwhile open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()[0] != 'Z': time.sleep(0.01)");
    let t = snapshot(k.pid());
    let z = t
        .procs()
        .find(|p| p.ppid == k.pid())
        .expect("the zombie is listed");
    assert_eq!(z.state, 'Z');
    assert!(!z.live());
    assert_eq!(t.live_children(k.pid()).count(), 0);
}

#[test]
fn for_signal_reads_only_what_the_rule_needs_and_routes_the_same() {
    // sh -> master (TERM handler) -> two workers.
    let master = "import os, signal, time\nsignal.signal(signal.SIGTERM, lambda *a: None)\nfor _ in range(2):\n    if os.fork() == 0:\n        time.sleep(1000)\nprint('ready', flush=True)\ntime.sleep(1000)";
    let script = format!("python3 -c \"{master}\"; echo done");
    let mut k = Kid::spawn(&["sh", "-c", &script]);
    k.expect_line("ready");
    let full = settled(k.pid(), 1, Sleep::Children);
    assert_eq!(full.len(), 4, "sh, master, two workers");
    let small = for_signal(&[k.pid()], TERM);
    assert_eq!(small.len(), 2, "sh and the master, not the workers");
    let r = route::route(&full, k.pid(), TERM);
    assert_eq!(route::route(&small, k.pid(), TERM), r);
    assert_eq!(route(k.pid(), TERM), r);
    let m = full.live_children(k.pid()).next().expect("master").pid;
    assert_eq!(r.recipients(), vec![m]);
}

#[test]
fn the_scan_fallback_sees_the_same_children() {
    let k = Kid::spawn(&["sh", "-c", "sleep 1000 & sleep 1001 & wait"]);
    settled(k.pid(), 2, Sleep::Signal);
    let mut by_scan = Children::by_scan().of(k.pid(), 1).unwrap();
    by_scan.sort_unstable();
    let mut from_files = Children::new().of(k.pid(), 1).unwrap();
    from_files.sort_unstable();
    assert_eq!(from_files, by_scan);
    assert_eq!(by_scan.len(), 2);
}

#[test]
fn gone_processes_are_left_out_and_nothing_panics() {
    assert_eq!(read(i32::MAX), None);
    assert!(for_signal(&[i32::MAX], TERM).is_empty());
    assert_eq!(route(i32::MAX, TERM).recipients(), vec![i32::MAX]);
    // A shell that starts and reaps short-lived processes as fast as it can:
    // the reader keeps reading while they vanish under it.
    let k = Kid::spawn(&[
        "sh",
        "-c",
        "i=0; while [ $i -lt 3000 ]; do true & true & wait; i=$((i+1)); done; sleep 1000",
    ]);
    let mut reads = 0;
    let mut seen_children = false;
    while reads < 2000 {
        let t = for_signal(&[k.pid()], TERM);
        seen_children |= t.len() > 1;
        let _ = route::route(&t, k.pid(), TERM);
        let _ = snapshot(k.pid());
        reads += 1;
    }
    assert!(seen_children, "the churn was visible to the reader");
}

#[test]
fn parse_wchan_names() {
    assert_eq!(parse_wchan('S', "do_wait"), Sleep::Children);
    assert_eq!(parse_wchan('S', "do_wait.part.0"), Sleep::Children);
    assert_eq!(parse_wchan('S', "kernel_wait4"), Sleep::Children);
    assert_eq!(parse_wchan('S', "sigsuspend.isra.0"), Sleep::Signal);
    assert_eq!(parse_wchan('S', "__x64_sys_pause"), Sleep::Signal);
    assert_eq!(parse_wchan('S', "__arm64_sys_rt_sigsuspend"), Sleep::Signal);
    assert_eq!(parse_wchan('S', "hrtimer_nanosleep"), Sleep::Other);
    assert_eq!(parse_wchan('S', "0"), Sleep::Unknown);
    assert_eq!(parse_wchan('S', ""), Sleep::Unknown);
    assert_eq!(parse_wchan('R', "0"), Sleep::Other);
    assert_eq!(parse_wchan('T', "do_signal_stop"), Sleep::Other);
}

#[test]
fn pause_is_waiting_for_a_signal() {
    let k = python("signal.signal(signal.SIGCHLD, lambda *a: None)\nif os.fork() == 0:\n    time.sleep(1000)\nprint('ready', flush=True)\nsignal.pause()");
    let t = wait_for("the app to pause", || {
        let t = snapshot(k.pid());
        (t.get(k.pid())?.sleep == Sleep::Signal).then_some(t)
    });
    assert_eq!(t.live_children(k.pid()).count(), 1);
}

/// Not a timing assertion: prints what one routing read costs.
#[test]
fn cost_of_one_routing_read() {
    let k = Kid::spawn(&["sh", "-c", "sleep 1000; echo done"]);
    settled(k.pid(), 1, Sleep::Children);
    let n = 500;
    let started = Instant::now();
    for _ in 0..n {
        let _ = route(k.pid(), TERM);
    }
    let each = started.elapsed() / n;
    let path = format!("/proc/{}/stat", k.pid());
    let started = Instant::now();
    for _ in 0..n {
        let _ = fs::read_to_string(&path);
    }
    let one = started.elapsed() / n;
    eprintln!("one route (sh -> sleep, 5 files): {each:?}; one read of /proc/PID/stat: {one:?}");
}

/// Drops CAP_SYS_PTRACE from the calling thread's effective set (root in a
/// Docker container has none), so /proc/PID/wchan of another user's process
/// reads "0".
fn drop_ptrace_in_this_thread() -> bool {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    let mut h = Header {
        version: 0x2008_0522,
        pid: 0,
    };
    let mut d = [Data::default(); 2];
    // SAFETY: header and two data structs, as capget(2) wants for version 3.
    if unsafe { libc::syscall(libc::SYS_capget, &mut h, d.as_mut_ptr()) } != 0 {
        return false;
    }
    d[0].effective &= !(1 << 19);
    // SAFETY: as above; capset changes only this thread's credentials.
    unsafe { libc::syscall(libc::SYS_capset, &mut h, d.as_ptr()) == 0 }
}

#[test]
fn another_users_wrapper_is_read_as_unknown_and_still_a_wrapper() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        let reason = "needs root to start a process as another user";
        assert!(
            std::env::var("DRAINIT_REQUIRE_ALL").as_deref() != Ok("1"),
            "required test cannot run: {reason}"
        );
        eprintln!("SKIPPED: {reason}");
        return;
    }
    let k = Kid::spawn(&[
        "setpriv",
        "--reuid",
        "65534",
        "--regid",
        "65534",
        "--clear-groups",
        "sh",
        "-c",
        "sleep 1000; echo done",
    ]);
    let full = settled(k.pid(), 1, Sleep::Children);
    let sleep = full.live_children(k.pid()).next().expect("sleep").pid;
    let pid = k.pid();
    let seen = std::thread::spawn(move || {
        assert!(drop_ptrace_in_this_thread(), "capset");
        (read(pid), route(pid, TERM))
    })
    .join()
    .expect("reader thread");
    let (sh, r) = seen;
    let sh = sh.expect("the masks stay readable");
    assert_eq!(sh.sleep, Sleep::Unknown, "{sh:?}");
    assert!(sh.waiting(), "a shell catches SIGCHLD: {sh:?}");
    assert_eq!(r.recipients(), vec![sleep], "{r}");
}

/// A tree bigger than the reader's reserve: the first snapshot grows the
/// buffers once, the next one reads into the same memory, and both hold
/// what a fresh snapshot holds.
#[test]
fn a_tree_bigger_than_the_reserve_grows_once_and_reads_the_same() {
    let n = RESERVED_PROCS + 8;
    let script = format!("for i in $(seq {n}); do sleep 30 & done; echo ready; wait");
    let mut k = Kid::spawn(&["sh", "-c", &script]);
    k.expect_line("ready");
    let mut reader = Reader::new();
    let mut tree = Tree::with_capacity(RESERVED_PROCS);
    let want = n + 1;
    wait_for("every sleep to exec", || {
        reader.snapshot(k.pid(), &mut tree);
        let sleeps = tree.procs().filter(|p| p.comm == "sleep").count();
        (sleeps == n).then_some(())
    });
    assert_eq!(tree.len(), want, "the shell and its sleeps");
    let grown = tree.capacity();
    assert!(grown >= want, "grown to hold them: {grown}");
    reader.snapshot(k.pid(), &mut tree);
    assert_eq!(tree.capacity(), grown, "no second growth");
    let fresh = snapshot(k.pid());
    let pids = |t: &Tree| t.procs().map(|p| (p.pid, p.ppid)).collect::<Vec<_>>();
    assert_eq!(pids(&tree), pids(&fresh));
    assert_eq!(
        tree.live_children(k.pid()).count(),
        n,
        "every sleep is the shell's child"
    );
}
