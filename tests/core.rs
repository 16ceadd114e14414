//! Core behaviour with real processes: drainit as PID 1 of a fresh PID
//! namespace (or as a subreaper), real signals, real exit statuses.

// The lints of src/ that fit a test (unwrap, expect, panic and indexing
// are how a test fails): every unsafe block says why it is sound.
#![deny(clippy::undocumented_unsafe_blocks)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use drainit::supervisor::route::Sleep;

const SIGLOG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/siglog.py");
/// A generous limit for conditions and exits (the machine may be loaded).
const LONG: Duration = Duration::from_secs(60);

fn run_pid1(args: &[&str]) -> i32 {
    let mut r = Running::pid1(args);
    r.code(LONG)
}

#[test]
fn exit_status_table_as_pid1() {
    if need_pidns() {
        return;
    }
    let dir = tempdir("exit");
    let not_exec = dir.join("not-exec");
    std::fs::write(&not_exec, "#!/bin/sh\n").unwrap();
    let not_exec = not_exec.to_str().unwrap();
    let cases: &[(&[&str], i32)] = &[
        (&["true"], 0),
        (&["false"], 1),
        (&["sh", "-c", "exit 3"], 3),
        (&["sh", "-c", "exit 255"], 255),
        (&["sh", "-c", "kill -TERM $$"], 143),
        (&["sh", "-c", "kill -KILL $$"], 137),
        (&["sh", "-c", "kill -HUP $$"], 129),
        (&["no-such-command-xyz"], 127),
        (&[not_exec], 126),
        (&["/etc"], 126),
        (&["--grace", "nonsense", "true"], 2),
        (&["-e", "143", "sh", "-c", "exit 143"], 0),
        (&["-e", "143", "sh", "-c", "kill -TERM $$"], 0),
        (&["-e", "143", "sh", "-c", "exit 3"], 3),
    ];
    for (args, want) in cases {
        assert_eq!(run_pid1(args), *want, "drainit {args:?}");
    }
}

#[test]
fn errors_are_one_line_naming_the_input() {
    let cases: &[(&[&str], i32, &str)] = &[
        (&["no-such-command-xyz"], 127, "no-such-command-xyz"),
        (&["/etc"], 126, "/etc"),
        (&["--drain-delay", "4x", "true"], 2, "4x"),
        (&["--drain-signal", "NOPE", "true"], 2, "NOPE"),
        (&["--ready-url", "ftp://x/", "true"], 2, "ftp://x/"),
        (&["--wat", "true"], 2, "--wat"),
    ];
    for (args, code, needle) in cases {
        let out = Command::new(drainit()).args(*args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(*code), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn the_childs_output_is_untouched() {
    let out = Command::new(drainit())
        .args(["sh", "-c", "printf 'out\\n'; printf 'err\\n' >&2"])
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"out\n");
    assert_eq!(out.stderr, b"err\n");
}

/// A signal logger started under drainit: waits for its "ready" line.
struct Logger {
    run: Running,
    out: PathBuf,
    grand: PathBuf,
}

impl Logger {
    fn start(mode: &[&str], pid1: bool) -> Logger {
        let dir = tempdir("siglog");
        let out = dir.join("child");
        let grand = dir.join("grandchild");
        let mut args: Vec<&str> = mode.to_vec();
        args.extend([
            "python3",
            SIGLOG,
            out.to_str().unwrap(),
            "--grandchild",
            grand.to_str().unwrap(),
        ]);
        let run = if pid1 {
            Running::pid1(&args)
        } else {
            Running::plain(&args)
        };
        let l = Logger { run, out, grand };
        for f in [&l.out, &l.grand] {
            wait_for(LONG, || read(f).contains("ready").then_some(()))
                .unwrap_or_else(|| panic!("{} never became ready", f.display()));
        }
        l
    }
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

fn received(p: &Path) -> Vec<i32> {
    read(p).lines().filter_map(|l| l.parse().ok()).collect()
}

fn wait_received(p: &Path, sig: i32) -> bool {
    wait_for(LONG, || received(p).contains(&sig).then_some(())).is_some()
}

/// Every catchable signal but CHLD (and TERM, which drains) plus a few
/// real-time ones.
fn forwardable() -> Vec<i32> {
    let mut v: Vec<i32> = (1..=31)
        .filter(|s| ![libc::SIGKILL, libc::SIGSTOP, libc::SIGCHLD, libc::SIGTERM].contains(s))
        .collect();
    v.extend([35, 36, 40, 50]);
    v
}

/// The grandchild under `init`: its child's child.
fn grandchild(init: i32) -> i32 {
    wait_for(LONG, || first_child(first_child(init)?))
        .unwrap_or_else(|| panic!("no grandchild under {init}"))
}

/// Sends siglog.py at `pid` (logging to `log`) the barrier signal and waits
/// until it has logged it, and so every signal pending on it before.
fn barrier(log: &Path, pid: i32) {
    // SAFETY: kill has no memory effects.
    unsafe { libc::kill(pid, BARRIER_SIGNAL) };
    assert!(
        wait_received(log, BARRIER_SIGNAL),
        "{pid} never logged the barrier signal"
    );
}

fn check_forwarding(mode: &[&str], grandchild_gets_them: bool) {
    let mut l = Logger::start(mode, true);
    for sig in forwardable() {
        l.run.signal(sig);
        assert!(
            wait_received(&l.out, sig),
            "mode {mode:?}: child never got signal {sig}"
        );
        // The next signal waits for the grandchild too: the kernel discards
        // a pending CONT when a stop signal (TSTP, TTIN, TTOU) is sent, and
        // the other way round, so a grandchild still behind would lose one.
        if grandchild_gets_them {
            assert!(
                wait_received(&l.grand, sig),
                "mode {mode:?}: grandchild missed {sig}"
            );
        }
    }
    if !grandchild_gets_them {
        // A signal wrongly sent to the group reached the grandchild at the
        // moment it reached the child: it is pending there by now, and
        // logged before the barrier.
        barrier(&l.grand, grandchild(l.run.pid));
        assert_eq!(
            received(&l.grand),
            vec![BARRIER_SIGNAL],
            "mode {mode:?}: grandchild got signals"
        );
    }
    l.run.signal(libc::SIGTERM);
    assert_eq!(l.run.code(LONG), 0);
    assert!(received(&l.out).contains(&libc::SIGTERM));
}

#[test]
fn every_signal_reaches_the_child_in_cascade_mode() {
    if need_pidns() {
        return;
    }
    check_forwarding(&[], false);
}

#[test]
fn every_signal_reaches_the_group_in_group_mode() {
    if need_pidns() {
        return;
    }
    check_forwarding(&["-g"], true);
}

#[test]
fn every_signal_reaches_only_the_child_in_single_child_mode() {
    if need_pidns() {
        return;
    }
    check_forwarding(&["-c"], false);
}

#[test]
fn cascade_gives_the_stop_signal_to_the_app_behind_a_waiting_shell() {
    if need_pidns() {
        return;
    }
    // The child (a shell) waits for the logger: the rule passes over it,
    // the logger gets TERM and exits 0, and the shell passes that on.
    let dir = tempdir("cascade");
    let out = dir.join("grand");
    let script = format!("python3 {SIGLOG} {} & wait", out.display());
    let mut r = Running::pid1(&["sh", "-c", &script]);
    wait_for(LONG, || read(&out).contains("ready").then_some(())).unwrap();
    settle_shells(r.pid, LONG);
    r.signal(libc::SIGTERM);
    assert_eq!(
        r.code(LONG),
        0,
        "the shell survived and passed on the app's 0"
    );
    assert_eq!(
        received(&out),
        vec![libc::SIGTERM],
        "the app got the stop signal, once"
    );
}

#[test]
fn rewrites_and_drops() {
    if need_pidns() {
        return;
    }
    let mut l = Logger::start(
        &[
            "-r",
            "USR1:USR2",
            "-r",
            "HUP:0",
            "--rewrite",
            "WINCH:RTMIN+2",
        ],
        true,
    );
    l.run.signal(libc::SIGHUP);
    l.run.signal(libc::SIGUSR1);
    assert!(wait_received(&l.out, libc::SIGUSR2));
    l.run.signal(libc::SIGWINCH);
    assert!(wait_received(&l.out, libc::SIGRTMIN() + 2));
    l.run.signal(libc::SIGQUIT);
    assert!(wait_received(&l.out, libc::SIGQUIT));
    let got = received(&l.out);
    assert!(!got.contains(&libc::SIGHUP), "HUP was dropped: {got:?}");
    assert!(!got.contains(&libc::SIGUSR1), "USR1 was rewritten: {got:?}");
    l.run.signal(libc::SIGTERM);
    assert_eq!(l.run.code(LONG), 0);
}

fn zombies_under(pid: i32) -> usize {
    descendants(pid)
        .into_iter()
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|s| {
                    s.rsplit_once(')')
                        .map(|(_, r)| r.trim_start().starts_with('Z'))
                })
                .unwrap_or(false)
        })
        .count()
}

#[test]
fn orphan_storm_leaves_no_zombies() {
    if need_pidns() {
        return;
    }
    let dir = tempdir("orphans");
    let done = dir.join("done");
    // 50 parents fork 100 children each and exit at once: 5,000 orphans
    // (most already zombies) land on PID 1 in bursts.
    let py = format!(
        "import os,time\nfor i in range(50):\n  p=os.fork()\n  if p==0:\n    for j in range(100):\n      if os.fork()==0:\n        os._exit(0)\n    os._exit(0)\n  os.waitpid(p,0)\nopen('{}','w').write('done')\nwhile True: time.sleep(3600)\n",
        done.display()
    );
    let mut r = Running::pid1(&["python3", "-c", &py]);
    wait_for(Duration::from_secs(180), || done.exists().then_some(()))
        .expect("storm never finished");
    let clean = wait_for(LONG, || (zombies_under(r.pid) == 0).then_some(()));
    assert!(clean.is_some(), "{} zombies left", zombies_under(r.pid));
    r.signal(libc::SIGTERM);
    assert_eq!(r.code(LONG), 143);
}

/// `sh -c 'app; echo done'` where app traps TERM and, in its trap, works
/// until the test releases it, then writes a marker. Returns whether the
/// marker exists after the init exits.
///
/// The test releases the app only while the init still runs and the
/// wrapper shell is alive and waiting for the app, never signalled: an
/// init that stops the tree before the app's work is done (tini -g kills
/// the wrapper and exits with it, and the kernel kills the rest) never
/// sees the marker, however slow or fast the machine.
fn shell_wrapper_marker(init: &[&str]) -> bool {
    let dir = tempdir("wrapper");
    let (marker, started) = (dir.join("marker"), dir.join("started"));
    let (got, release) = (dir.join("got-term"), dir.join("release"));
    let app = format!(
        "trap 'touch {g}; while [ ! -e {r} ]; do sleep 0.01; done; echo finished > {m}; exit 0' TERM; \
         touch {s}; while :; do sleep 0.05; done",
        g = got.display(),
        r = release.display(),
        m = marker.display(),
        s = started.display()
    );
    let wrapper = format!("sh -c \"{app}\"; echo done");
    let mut args: Vec<&str> = init.to_vec();
    args.extend(["sh", "-c", &wrapper]);
    let child = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "--kill-child"])
        .args(&args)
        .spawn()
        .unwrap();
    let mut r = Running {
        pid: wait_for(LONG, || first_child(child.id() as i32)).unwrap(),
        child,
        started: Instant::now(),
    };
    wait_for(LONG, || started.exists().then_some(())).expect("app never started");
    settle_shells(r.pid, LONG);
    let shell = first_child(r.pid).expect("the wrapper shell");
    r.signal(libc::SIGTERM);
    // Either the init exits (before the app's trap, or during it), or the
    // app's trap runs and its wrapper is seen waiting after that: a shell
    // with a fatal signal pending never sleeps in wait4 again.
    let init_exited = wait_for(LONG, || {
        if r.child.try_wait().unwrap().is_some() {
            return Some(true);
        }
        // Asleep in wait4 or sigsuspend as read from wchan, not guessed.
        let waiting = drainit::proctree::read(shell)
            .is_some_and(|p| p.state == 'S' && matches!(p.sleep, Sleep::Children | Sleep::Signal));
        (got.exists() && waiting).then_some(false)
    })
    .expect("the init neither exited nor let the app's trap run");
    if !init_exited {
        std::fs::write(&release, "").unwrap();
    }
    r.wait(LONG).expect("init did not exit");
    marker.exists()
}

#[test]
fn shell_wrapped_app_finishes_under_drainit_but_not_tini() {
    if need_pidns() {
        return;
    }
    assert!(
        shell_wrapper_marker(&[drainit()]),
        "drainit: the app behind the shell was cut off"
    );
    if !Path::new("/usr/bin/tini").exists() {
        skip("/usr/bin/tini is not installed (make deps)");
        return;
    }
    assert!(
        !shell_wrapper_marker(&["/usr/bin/tini", "-g", "--"]),
        "tini -g was expected to lose the app's marker (tini #180)"
    );
}

#[test]
fn no_signal_is_lost_at_start_up_in_500_runs() {
    let mut lost = 0;
    for _ in 0..500 {
        let mut r = Running::plain(&["sleep", "30"]);
        // As early as drainit can hold a signal: the moment it has blocked them.
        wait_for(LONG, || signals_blocked(r.pid).then_some(()))
            .expect("drainit never blocked signals");
        r.signal(libc::SIGTERM);
        match r.wait(LONG) {
            Some(s) if s.code() == Some(143) => {}
            _ => {
                lost += 1;
                r.kill();
            }
        }
    }
    assert_eq!(lost, 0, "signals lost at start-up");
}

#[test]
fn a_child_ignoring_term_is_killed_after_the_grace() {
    if need_pidns() {
        return;
    }
    let dir = tempdir("grace");
    let trapped = dir.join("trapped");
    let script = format!("trap '' TERM; touch {}; sleep 30", trapped.display());
    let mut r = Running::pid1(&["--log-format", "json", "--grace", "1s", "sh", "-c", &script]);
    wait_for(LONG, || trapped.exists().then_some(())).expect("the shell never set its trap");
    let t = Instant::now();
    r.signal(libc::SIGTERM);
    assert_eq!(r.code(LONG), 137);
    figure("core.grace_kill_exit_s", t.elapsed().as_secs_f64());
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
    assert!(
        kill + 1e-6 >= fwd + 1.0, // 1e-6: the figures are f64
        "SIGKILL at {kill}s, the stop signal at {fwd}s"
    );
    assert_eq!(must(&log, "exiting").num("code"), 137.0);
}

#[test]
fn leftovers_are_killed_after_the_default_five_seconds() {
    if need_pidns() {
        return;
    }
    // The child exits once its background job ignores TERM, leaving it behind.
    let dir = tempdir("leftover");
    let trapped = dir.join("trapped");
    let script = format!(
        "(trap '' TERM; touch {t}; sleep 60) & while [ ! -e {t} ]; do sleep 0.01; done; exit 7",
        t = trapped.display()
    );
    // -vv: the child's exit without a drain is a debug line.
    let mut r = Running::pid1(&["-vv", "--log-format", "json", "sh", "-c", &script]);
    assert_eq!(
        r.code(LONG),
        7,
        "the main child's status, not the leftover's"
    );
    let log = events(&r.stderr());
    assert_order(
        &log,
        &["child_exited", "grace_reached", "killed", "exiting"],
    );
    let exited = must(&log, "child_exited");
    assert_eq!(exited.num("status"), 7.0);
    assert!(
        must(&log, "killed").num("count") >= 1.0,
        "no leftover at the deadline"
    );
    // The grace runs from the child's exit, a moment before its line is
    // written: 50 ms covers that moment, not a 5 s deadline met early.
    let waited = must(&log, "grace_reached").time_s() - exited.time_s();
    figure("core.leftover_grace_s", waited);
    assert!(
        waited >= 4.95,
        "SIGKILL {waited:.3}s after the child's exit"
    );
    assert_eq!(must(&log, "exiting").num("code"), 7.0);
}

fn ctx_switches(pid: i32) -> u64 {
    let mut total = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
    {
        let s = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
        for l in s.lines() {
            if l.starts_with("voluntary_ctxt_switches")
                || l.starts_with("nonvoluntary_ctxt_switches")
            {
                total += l.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap();
            }
        }
    }
    total
}

/// drainit asleep with nothing scheduled: in wait4, or in epoll_wait or
/// epoll_pwait with no timeout (/proc/PID/syscall: the call and its
/// arguments); a pending timer, such as the start-up trim's, shows as a
/// finite timeout.
#[cfg(target_arch = "x86_64")]
fn asleep_with_no_timer(r: &Running) -> bool {
    let call = std::fs::read_to_string(format!("/proc/{}/syscall", r.pid)).unwrap_or_default();
    let f: Vec<&str> = call.split_whitespace().collect();
    let no_timeout =
        |arg: Option<&&str>| arg.is_some_and(|a| matches!(*a, "0xffffffffffffffff" | "0xffffffff"));
    match f.first().copied() {
        Some("61") => true,                          // wait4
        Some("232" | "281") => no_timeout(f.get(4)), // epoll_wait, epoll_pwait
        Some("441") => f.get(4) == Some(&"0x0"),     // epoll_pwait2: no timespec
        _ => false,
    }
}

/// Elsewhere the syscall numbers differ: the trim's 100 ms, with margin.
#[cfg(not(target_arch = "x86_64"))]
fn asleep_with_no_timer(r: &Running) -> bool {
    r.started.elapsed() >= Duration::from_millis(300)
}

#[test]
fn idle_drainit_never_wakes_up() {
    let dir = tempdir("idle");
    let ready = dir.join("ready");
    let configs: [Vec<String>; 2] = [
        vec!["sleep".into(), "30".into()],
        vec![
            "--ready-on".into(),
            "start".into(),
            "--drain-delay".into(),
            "10s".into(),
            "--grace".into(),
            "5s".into(),
            "--ready-file".into(),
            ready.to_string_lossy().into_owned(),
            "sleep".into(),
            "30".into(),
        ],
    ];
    // Both configurations watched at once: the 5 s window is the scenario.
    let watch = |args: Vec<String>, ready: Option<PathBuf>| {
        std::thread::spawn(move || {
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            let mut r = Running::plain(&a);
            wait_for(LONG, || {
                (signals_blocked(r.pid)
                    && !children(r.pid).is_empty()
                    && ready.as_ref().is_none_or(|f| f.exists()))
                .then_some(())
            })
            .expect("drainit never settled");
            // drainit trims its start-up pages 100 ms after start (one
            // planned wakeup); the idle window begins once it sleeps with
            // no timer left.
            wait_for(LONG, || asleep_with_no_timer(&r).then_some(()))
                .expect("drainit never went to sleep without a timer");
            let threads = std::fs::read_dir(format!("/proc/{}/task", r.pid))
                .unwrap()
                .count();
            let before = ctx_switches(r.pid);
            std::thread::sleep(Duration::from_secs(5));
            let after = ctx_switches(r.pid);
            r.kill();
            (args, threads, after - before)
        })
    };
    let handles = [
        watch(configs[0].clone(), None),
        watch(configs[1].clone(), Some(ready.clone())),
    ];
    for h in handles {
        let (args, threads, wakeups) = h.join().unwrap();
        assert_eq!(threads, 1, "{args:?}: drainit runs a single thread");
        assert_eq!(wakeups, 0, "{args:?}: wakeups while idle");
    }
}

/// A directory holding `tini` and `dumb-init` symlinks to drainit.
fn compat_dir() -> PathBuf {
    let dir = tempdir("compat");
    for name in ["tini", "dumb-init", "docker-init"] {
        std::os::unix::fs::symlink(drainit(), dir.join(name)).unwrap();
    }
    dir
}

fn compat(dir: &Path, name: &str, args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let out = Command::new(dir.join(name))
        .args(args)
        .envs(env.iter().copied())
        .env_remove("TINI_KILL_PROCESS_GROUP")
        .env_remove("DUMB_INIT_SETSID")
        .output()
        .unwrap();
    // What it logs: tini's info and debug lines go to stdout, as tini's do.
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn tini_compat_flags_env_and_exit_codes() {
    let d = compat_dir();
    assert_eq!(
        compat(
            &d,
            "tini",
            &["-e", "143", "--", "sh", "-c", "exit 143"],
            &[]
        )
        .0,
        0
    );
    assert_eq!(
        compat(
            &d,
            "tini",
            &["-s", "-w", "-vvv", "-p", "SIGKILL", "--", "true"],
            &[]
        )
        .0,
        0
    );
    assert_eq!(
        compat(&d, "tini", &["--", "no-such-command-xyz"], &[]).0,
        127
    );
    assert_eq!(compat(&d, "tini", &["--", "/etc"], &[]).0, 126);
    assert_eq!(
        compat(&d, "tini", &["-x", "true"], &[]).0,
        1,
        "tini usage errors exit 1"
    );
    assert_eq!(compat(&d, "tini", &[], &[]).0, 1);
    assert_eq!(
        compat(&d, "docker-init", &["--", "sh", "-c", "exit 5"], &[]).0,
        5
    );
    let (_, quiet) = compat(&d, "tini", &["--", "true"], &[("TINI_VERBOSITY", "1")]);
    let (_, loud) = compat(&d, "tini", &["--", "true"], &[("TINI_VERBOSITY", "3")]);
    assert!(quiet.is_empty(), "{quiet}");
    assert!(!loud.is_empty(), "TINI_VERBOSITY=3 logs");
}

#[test]
fn tini_compat_process_group_from_flag_and_env() {
    if need_pidns() {
        return;
    }
    let d = compat_dir();
    let tini = d.join("tini");
    let tini = tini.to_str().unwrap();
    for (args, env) in [
        (vec!["-g", "--"], vec![]),
        (vec!["--"], vec![("TINI_KILL_PROCESS_GROUP", "1")]),
    ] {
        let mut a = vec![tini];
        a.extend(args);
        let dir = tempdir("tinig");
        let (out, grand) = (dir.join("c"), dir.join("g"));
        a.extend([
            "python3",
            SIGLOG,
            out.to_str().unwrap(),
            "--grandchild",
            grand.to_str().unwrap(),
        ]);
        let mut r = Running::plain_env(&a, &env);
        wait_for(LONG, || read(&grand).contains("ready").then_some(())).unwrap();
        r.signal(libc::SIGUSR1);
        assert!(
            wait_received(&grand, libc::SIGUSR1),
            "group mode reaches the grandchild"
        );
        r.signal(libc::SIGTERM);
        assert_eq!(r.code(LONG), 0);
    }
}

#[test]
fn dumb_init_compat_flags_env_and_exit_codes() {
    let d = compat_dir();
    assert_eq!(compat(&d, "dumb-init", &["no-such-command-xyz"], &[]).0, 2);
    assert_eq!(compat(&d, "dumb-init", &["/etc"], &[]).0, 2);
    assert_eq!(compat(&d, "dumb-init", &["--bogus", "true"], &[]).0, 1);
    assert_eq!(compat(&d, "dumb-init", &["sh", "-c", "exit 4"], &[]).0, 4);
    let (_, debug) = compat(&d, "dumb-init", &["true"], &[("DUMB_INIT_DEBUG", "1")]);
    assert!(!debug.is_empty(), "DUMB_INIT_DEBUG logs");
    let dir = tempdir("dumb");
    for (args, env, grand_gets) in [
        (vec![], None, true),
        (vec!["-c"], None, false),
        (vec![], Some("0"), false),
        (vec!["-r", "10:12"], None, true),
    ] {
        let (out, grand) = (
            dir.join(format!("c{args:?}{env:?}")),
            dir.join(format!("g{args:?}{env:?}")),
        );
        let mut cmd = Command::new(d.join("dumb-init"));
        cmd.args(&args).args([
            "python3",
            SIGLOG,
            out.to_str().unwrap(),
            "--grandchild",
            grand.to_str().unwrap(),
        ]);
        if let Some(v) = env {
            cmd.env("DUMB_INIT_SETSID", v);
        }
        let mut child = cmd.spawn().unwrap();
        wait_for(LONG, || read(&grand).contains("ready").then_some(())).unwrap();
        // SAFETY: kill has no memory effects; dumb-init is unreaped.
        unsafe { libc::kill(child.id() as i32, libc::SIGUSR1) };
        let want = if args.contains(&"-r") {
            libc::SIGUSR2
        } else {
            libc::SIGUSR1
        };
        assert!(
            wait_received(&out, want),
            "{args:?} {env:?}: child got {want}"
        );
        // Sent to the grandchild at the same moment as the child's, or not
        // at all: pending there by now, and logged before the barrier.
        barrier(&grand, grandchild(child.id() as i32));
        assert_eq!(
            received(&grand).contains(&want),
            grand_gets,
            "{args:?} {env:?}: grandchild"
        );
        // SAFETY: kill has no memory effects; dumb-init is unreaped.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        assert!(wait_for(LONG, || child.try_wait().unwrap()).is_some());
        // dumb-init leaves the grandchild behind in -c mode and when not
        // PID 1: gone before the next case (it would hold the test's
        // output pipes open).
        let needle = grand.to_str().unwrap().as_bytes().to_vec();
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if cmd.windows(needle.len()).any(|w| w == needle.as_slice()) {
                // SAFETY: kill has no memory effects; the pid was this
                // test's grandchild a moment ago (its unique path).
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
}

#[test]
fn drainit_leaves_the_working_directory() {
    let dir = tempdir("cwd");
    let mut r = Running::plain_in(&dir, &["sleep", "30"]);
    let cwd = wait_for(LONG, || {
        std::fs::read_link(format!("/proc/{}/cwd", r.pid))
            .ok()
            .filter(|c| c == Path::new("/"))
    });
    let now = std::fs::read_link(format!("/proc/{}/cwd", r.pid));
    assert!(cwd.is_some(), "drainit stays in {now:?}");
    r.kill();
}

/// drainit started with stdin and stderr closed (`0<&- 2>&-`): what std's
/// start-up did before `main`, src/os/startup.rs does now: /dev/null on each,
/// so neither drainit's own descriptors nor the child's 0 and 2 are taken
/// by something else.
#[test]
fn closed_standard_descriptors_become_dev_null() {
    let dir = tempdir("fds");
    let out = dir.join("fds");
    let script = format!(
        "for f in 0 1 2; do echo \"$f $(readlink /proc/self/fd/$f)\"; done > {}",
        out.display()
    );
    let status = Command::new("sh")
        .args([
            "-c",
            "exec \"$0\" -- sh -c \"$1\" 0<&- 2>&-",
            drainit(),
            &script,
        ])
        .status()
        .unwrap();
    assert!(status.success(), "{status:?}");
    let fds = read(&out);
    assert!(fds.contains("0 /dev/null"), "{fds}");
    assert!(fds.contains("2 /dev/null"), "{fds}");
    assert!(
        !fds.contains("1 /dev/null"),
        "stdout was open and stays as given: {fds}"
    );
}

/// Runs drainit on a new pseudo-terminal (as `docker run -it` does) through
/// python's pty module: the child must own the terminal's foreground, so
/// Ctrl-C from the terminal reaches it.
#[test]
fn the_child_takes_the_terminal_and_gets_ctrl_c() {
    let script = r#"
import os, pty, sys, time
drainit = sys.argv[1]
child = "trap 'echo GOT-INT; exit 0' INT; awk '{print ($5==$8) ? \"FOREGROUND\" : \"BACKGROUND\"}' /proc/$$/stat; while :; do sleep 0.05; done"
pid, fd = pty.fork()
if pid == 0:
    os.execv(drainit, [drainit, "sh", "-c", child])
out = b""
deadline = time.time() + 60  # a hang limit: the machine may be loaded
sent = False
while time.time() < deadline:
    try:
        chunk = os.read(fd, 1024)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
    if b"GROUND" in out and not sent:
        os.write(fd, b"\x03")
        sent = True
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
sys.stdout.write("\nEXIT=%d\n" % os.waitstatus_to_exitcode(status))
"#;
    let out = Command::new("python3")
        .args(["-c", script, drainit()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("FOREGROUND"),
        "the child is not the terminal's foreground group:\n{text}"
    );
    assert!(
        text.contains("GOT-INT"),
        "Ctrl-C never reached the child:\n{text}"
    );
    assert!(text.contains("EXIT=0"), "{text}");
}

#[test]
fn pdeathsig_stops_drainit_when_its_parent_dies() {
    let dir = tempdir("pdeath");
    let pidfile = dir.join("pid");
    // A parent that starts drainit -p TERM and is then SIGKILLed.
    let parent = Command::new("sh")
        .args([
            "-c",
            &format!(
                "{} -p TERM -- sleep 60 & echo $! > {}; wait",
                drainit(),
                pidfile.display()
            ),
        ])
        .spawn()
        .unwrap();
    let pid: i32 = wait_for(LONG, || read(&pidfile).trim().parse().ok()).unwrap();
    // Its parent waits for it: drainit is there to open a pidfd on.
    let drainit = Pidfd::open(pid).expect("drainit exited at once");
    wait_for(LONG, || signals_blocked(pid).then_some(())).unwrap();
    // SAFETY: kill has no memory effects; the parent is unreaped.
    unsafe { libc::kill(parent.id() as i32, libc::SIGKILL) };
    let mut parent = parent;
    parent.wait().unwrap();
    let gone = wait_for(LONG, || drainit.exited().then_some(()));
    assert!(
        gone.is_some(),
        "drainit outlived its parent despite -p TERM"
    );
}

#[test]
fn environment_variables_configure_and_flags_win() {
    // DRAINIT_GRACE alone: a child ignoring TERM is killed after 300 ms.
    let dir = tempdir("env");
    let trapped = dir.join("trapped");
    let mut cmd = Command::new(drainit());
    cmd.args([
        "sh",
        "-c",
        &format!("trap '' TERM; touch {}; sleep 30", trapped.display()),
    ])
    .env("DRAINIT_GRACE", "300ms")
    .env("DRAINIT_LOG_FORMAT", "json")
    .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    wait_for(LONG, || trapped.exists().then_some(())).expect("the shell never set its trap");
    // SAFETY: kill has no memory effects; drainit is unreaped.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(137));
    let log = events(&String::from_utf8_lossy(&out.stderr));
    assert_eq!(must(&log, "draining").num("grace_s"), 0.3);
    let kill = must(&log, "grace_reached").num("after_s");
    figure("core.env_grace_kill_s", kill);
    assert!(kill >= 0.3, "SIGKILL after {kill}s");
    // The flag wins over the variable, and lists split on commas.
    let out = Command::new(drainit())
        .args(["--remap-exit", "7", "sh", "-c", "exit 3"])
        .env("DRAINIT_REMAP_EXIT", "3")
        .status()
        .unwrap();
    assert_eq!(out.code(), Some(3), "the flag replaces the variable");
    let out = Command::new(drainit())
        .args(["sh", "-c", "exit 4"])
        .env("DRAINIT_REMAP_EXIT", "3,4")
        .status()
        .unwrap();
    assert_eq!(out.code(), Some(0));
    // A bad value in a variable is a usage error naming the variable's value.
    let out = Command::new(drainit())
        .args(["true"])
        .env("DRAINIT_DRAIN_DELAY", "soon")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("soon"));
}
