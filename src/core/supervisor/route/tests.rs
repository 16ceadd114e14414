//! The routing rule on synthetic process trees: one table of cases, the
//! leftover and exit-status rules, and properties over random trees.

use super::*;
use proptest::prelude::*;
use proptest::test_runner::{Config as PtConfig, TestRunner};

const TERM: i32 = libc::SIGTERM;
const INT: i32 = libc::SIGINT;
const QUIT: i32 = libc::SIGQUIT;
const HUP: i32 = libc::SIGHUP;
const WINCH: i32 = libc::SIGWINCH;
const CONT: i32 = libc::SIGCONT;
const CHLD: i32 = libc::SIGCHLD;

fn mask(sigs: &[i32]) -> u64 {
    sigs.iter().fold(0, |m, &s| m | (1u64 << (s - 1)))
}

/// A process that is neither waiting nor handling anything.
fn proc_(pid: i32, ppid: i32, comm: &str) -> Proc {
    Proc {
        pid,
        ppid,
        pgid: pid,
        sid: 1,
        state: 'S',
        caught: 0,
        ignored: 0,
        blocked: 0,
        start_ticks: 1000 + pid as u64,
        comm: comm.into(),
        sleep: Sleep::Other,
    }
}

/// An app asleep in its own loop with handlers for `sigs`.
fn app(pid: i32, ppid: i32, sigs: &[i32]) -> Proc {
    Proc {
        caught: mask(sigs),
        ..proc_(pid, ppid, "app")
    }
}

/// dash running a command in the foreground: catches INT and CHLD, in wait4.
fn dash(pid: i32, ppid: i32) -> Proc {
    Proc {
        caught: mask(&[INT, CHLD]),
        sleep: Sleep::Children,
        ..proc_(pid, ppid, "sh")
    }
}

/// dash's or busybox's `wait` builtin: in sigsuspend.
fn dash_wait(pid: i32, ppid: i32) -> Proc {
    Proc {
        sleep: Sleep::Signal,
        ..dash(pid, ppid)
    }
}

/// bash waiting: catches INT and CHLD, blocks CHLD, ignores QUIT.
fn bash(pid: i32, ppid: i32) -> Proc {
    Proc {
        caught: mask(&[INT, CHLD]),
        blocked: mask(&[CHLD]),
        ignored: mask(&[QUIT]),
        sleep: Sleep::Children,
        ..proc_(pid, ppid, "bash")
    }
}

fn with(p: Proc, f: impl FnOnce(&mut Proc)) -> Proc {
    let mut p = p;
    f(&mut p);
    p
}

struct Case {
    name: &'static str,
    procs: Vec<Proc>,
    sig: i32,
    to: &'static [i32],
    passed: &'static [i32],
}

fn cases() -> Vec<Case> {
    let c = |name, procs, sig, to, passed| Case {
        name,
        procs,
        sig,
        to,
        passed,
    };
    vec![
        c(
            "exec'd app with a handler",
            vec![app(10, 1, &[TERM])],
            TERM,
            &[10],
            &[],
        ),
        c(
            "exec'd app without a handler",
            vec![app(10, 1, &[])],
            TERM,
            &[10],
            &[],
        ),
        c(
            "sh -c 'app; echo done'",
            vec![dash(10, 1), app(11, 10, &[TERM])],
            TERM,
            &[11],
            &[10],
        ),
        c(
            "start-up: the app has no handler yet (as exec'd: it dies)",
            vec![dash(10, 1), app(11, 10, &[])],
            TERM,
            &[11],
            &[10],
        ),
        c(
            "start-up: the shell has not forked the app yet",
            vec![with(dash(10, 1), |p| p.sleep = Sleep::Other)],
            TERM,
            &[10],
            &[],
        ),
        c(
            "start-up: the direct child before exec (drainit's mask)",
            vec![with(proc_(10, 1, "drainit"), |p| p.blocked = !0 >> 2)],
            TERM,
            &[10],
            &[],
        ),
        c(
            "sh -> bash -> app",
            vec![dash(10, 1), bash(11, 10), app(12, 11, &[TERM])],
            TERM,
            &[12],
            &[10, 11],
        ),
        c(
            "sh -c 'app1 & app2 & wait' (dash: sigsuspend)",
            vec![dash_wait(10, 1), app(11, 10, &[TERM]), app(12, 10, &[])],
            TERM,
            &[11, 12],
            &[10],
        ),
        c(
            "bash -c 'app1 & app2 & wait' (bash: wait4)",
            vec![bash(10, 1), app(11, 10, &[TERM]), app(12, 10, &[TERM])],
            TERM,
            &[11, 12],
            &[10],
        ),
        c(
            "pre-fork master behind a wrapper owns its workers",
            vec![
                dash(10, 1),
                app(11, 10, &[TERM, CHLD]),
                app(12, 11, &[]),
                app(13, 11, &[]),
            ],
            TERM,
            &[11],
            &[10],
        ),
        c(
            "an app without a handler forking helpers: the app, as exec'd",
            vec![
                dash(10, 1),
                app(11, 10, &[]),
                app(12, 11, &[]),
                app(13, 12, &[]),
            ],
            TERM,
            &[11],
            &[10],
        ),
        c(
            "a program waiting on a helper in the foreground is a wrapper",
            vec![
                with(app(10, 1, &[INT]), |p| p.sleep = Sleep::Children),
                app(11, 10, &[]),
            ],
            TERM,
            &[11],
            &[10],
        ),
        c(
            "a script with a trap owns its subtree",
            vec![
                with(dash_wait(10, 1), |p| p.caught |= mask(&[TERM])),
                app(11, 10, &[TERM]),
            ],
            TERM,
            &[10],
            &[],
        ),
        c(
            "a trap in an inner wrapper owns its subtree",
            vec![
                dash(10, 1),
                with(bash(11, 10), |p| p.caught |= mask(&[TERM])),
                app(12, 11, &[TERM]),
            ],
            TERM,
            &[11],
            &[10],
        ),
        c(
            "an app that ignores HUP gets it and ignores it, as exec'd",
            vec![
                dash(10, 1),
                with(app(11, 10, &[]), |p| p.ignored = mask(&[HUP])),
            ],
            HUP,
            &[11],
            &[10],
        ),
        c(
            "a wrapper that ignores HUP (nohup, trap '' HUP) is still a wrapper",
            vec![
                with(dash(10, 1), |p| p.ignored = mask(&[HUP])),
                app(11, 10, &[HUP]),
            ],
            HUP,
            &[11],
            &[10],
        ),
        c(
            "a wrapper whose child is a zombie is what runs now",
            vec![dash(10, 1), with(app(11, 10, &[TERM]), |p| p.state = 'Z')],
            TERM,
            &[10],
            &[],
        ),
        c(
            "a zombie child is skipped, the live one gets it",
            vec![
                dash_wait(10, 1),
                with(app(11, 10, &[TERM]), |p| p.state = 'Z'),
                app(12, 10, &[TERM]),
            ],
            TERM,
            &[12],
            &[10],
        ),
        c(
            "a stopped child without a handler gets it (pending until SIGCONT)",
            vec![dash(10, 1), with(app(11, 10, &[]), |p| p.state = 'T')],
            TERM,
            &[11],
            &[10],
        ),
        c(
            "a stopped child with a handler gets it (runs on SIGCONT)",
            vec![dash(10, 1), with(app(11, 10, &[TERM]), |p| p.state = 'T')],
            TERM,
            &[11],
            &[10],
        ),
        c(
            "WINCH (default ignore) behind dash reaches httpd",
            vec![
                dash(10, 1),
                app(11, 10, &[WINCH, TERM, HUP]),
                app(12, 11, &[]),
            ],
            WINCH,
            &[11],
            &[10],
        ),
        c(
            "URG (default ignore) reaches an app without a handler",
            vec![dash(10, 1), app(11, 10, &[])],
            libc::SIGURG,
            &[11],
            &[10],
        ),
        c(
            "QUIT (dash dies of it) reaches nginx",
            vec![dash(10, 1), app(11, 10, &[QUIT, TERM, HUP])],
            QUIT,
            &[11],
            &[10],
        ),
        c(
            "QUIT (bash ignores it) reaches nginx",
            vec![bash(10, 1), app(11, 10, &[QUIT])],
            QUIT,
            &[11],
            &[10],
        ),
        c(
            "HUP (reload) reaches the app, not the shell",
            vec![dash(10, 1), app(11, 10, &[HUP, TERM])],
            HUP,
            &[11],
            &[10],
        ),
        c(
            "USR1 (HAProxy soft-stop) reaches the app",
            vec![dash(10, 1), app(11, 10, &[libc::SIGUSR1])],
            libc::SIGUSR1,
            &[11],
            &[10],
        ),
        c(
            "real-time signal",
            vec![dash(10, 1), app(11, 10, &[libc::SIGRTMIN() + 2])],
            libc::SIGRTMIN() + 2,
            &[11],
            &[10],
        ),
        c(
            "INT: the waiting shell's INT handler is passed over",
            vec![dash(10, 1), app(11, 10, &[INT])],
            INT,
            &[11],
            &[10],
        ),
        c(
            "INT: an app with an INT handler (Python) owns its children",
            vec![bash(10, 1), app(11, 10, &[INT]), app(12, 11, &[])],
            INT,
            &[11],
            &[10],
        ),
        c(
            "INT: a shell not waiting (between commands) gets it",
            vec![with(dash(10, 1), |p| p.sleep = Sleep::Other)],
            INT,
            &[10],
            &[],
        ),
        c(
            "TSTP (default stop) stops the app, not the wrapper",
            vec![dash(10, 1), app(11, 10, &[])],
            libc::SIGTSTP,
            &[11],
            &[10],
        ),
        c(
            "CONT resumes a stopped app, not the running wrapper",
            vec![dash(10, 1), with(app(11, 10, &[]), |p| p.state = 'T')],
            CONT,
            &[11],
            &[10],
        ),
        c(
            "CONT resumes a stopped wrapper and what is below it",
            vec![
                with(dash(10, 1), |p| {
                    p.state = 'T';
                    p.sleep = Sleep::Other
                }),
                with(app(11, 10, &[]), |p| p.state = 'T'),
            ],
            CONT,
            &[10, 11],
            &[10],
        ),
        c(
            "a stopped wrapper is not waiting: it gets TERM itself",
            vec![
                with(dash(10, 1), |p| {
                    p.state = 'T';
                    p.sleep = Sleep::Other
                }),
                app(11, 10, &[TERM]),
            ],
            TERM,
            &[10],
            &[],
        ),
        c(
            "a forwarded SIGKILL (-r TERM:KILL) reaches the app, not the shell",
            vec![dash(10, 1), app(11, 10, &[TERM]), app(12, 11, &[])],
            libc::SIGKILL,
            &[11],
            &[10],
        ),
        c(
            "a forwarded SIGSTOP reaches the app, not the shell",
            vec![dash(10, 1), app(11, 10, &[TERM])],
            libc::SIGSTOP,
            &[11],
            &[10],
        ),
        c(
            "a nested init blocking every signal owns its subtree",
            vec![
                dash(10, 1),
                with(proc_(11, 10, "tini"), |p| {
                    p.blocked = mask(&[TERM, INT, CHLD])
                }),
                app(12, 11, &[TERM]),
            ],
            TERM,
            &[11],
            &[10],
        ),
        c(
            "wchan unreadable: a shell (catches SIGCHLD) is a wrapper",
            vec![
                with(dash(10, 1), |p| p.sleep = Sleep::Unknown),
                app(11, 10, &[TERM]),
            ],
            TERM,
            &[11],
            &[10],
        ),
        c(
            "wchan unreadable: an app not watching SIGCHLD gets it",
            vec![
                with(app(10, 1, &[]), |p| p.sleep = Sleep::Unknown),
                app(11, 10, &[]),
            ],
            TERM,
            &[10],
            &[],
        ),
        c(
            "sh -c 'app | tee log': every process the shell waits for",
            vec![dash(10, 1), app(11, 10, &[TERM]), proc_(12, 10, "tee")],
            TERM,
            &[11, 12],
            &[10],
        ),
        c(
            "the child is not in the snapshot: sent as addressed",
            vec![],
            TERM,
            &[10],
            &[],
        ),
    ]
}

#[test]
fn the_rule_on_synthetic_trees() {
    for case in cases() {
        let tree = Tree::from_procs(case.procs);
        let r = route(&tree, 10, case.sig);
        assert_eq!(r.recipients(), case.to, "{}: {r}", case.name);
        assert_eq!(r.passed_over(), case.passed, "{}: {r}", case.name);
        assert_eq!(recipients(&tree, 10, case.sig), case.to, "{}", case.name);
    }
}

#[test]
fn the_log_line_says_why() {
    let tree = Tree::from_procs([dash(10, 1), app(11, 10, &[TERM])]);
    assert_eq!(
        route(&tree, 10, TERM).to_string(),
        "SIGTERM: to 11 app (handler); passed over 10 sh (waiting)"
    );
    let tree = Tree::from_procs([dash(10, 1), app(11, 10, &[])]);
    assert_eq!(
        route(&tree, 10, INT).to_string(),
        "SIGINT: to 11 app (no handler, not waiting); passed over 10 sh (waiting, shell's INT handler)"
    );
    assert_eq!(
        route(&Tree::new(), 10, HUP).to_string(),
        "SIGHUP: to 10  (not in /proc)"
    );
}

fn drainit_with_orphans() -> Tree {
    Tree::from_procs([
        proc_(1, 0, "drainit"),
        app(5, 1, &[TERM, CHLD]),
        app(6, 5, &[]),
        app(7, 5, &[]),
        dash(8, 1),
        app(9, 8, &[TERM]),
        with(app(4, 1, &[]), |p| p.state = 'Z'),
    ])
}

#[test]
fn leftovers_are_routed_from_each_orphan() {
    let tree = drainit_with_orphans();
    let r = leftovers(&tree, 1, TERM, None);
    assert_eq!(r.recipients(), vec![5, 9], "{r}");
    assert_eq!(r.passed_over(), vec![8]);
}

#[test]
fn leftovers_that_already_have_the_stop_signal_are_not_sent_it_again() {
    let tree = drainit_with_orphans();
    let stop = route_from(&tree, &[5], TERM);
    let r = leftovers(&tree, 1, TERM, Some(&stop));
    assert_eq!(r.recipients(), vec![9], "{r}");
    assert_eq!(r.step(5).map(|s| s.role), Some(Role::AlreadySent));
    // Another signal, or the same pid started again, is sent.
    assert_eq!(
        leftovers(&tree, 1, HUP, Some(&stop)).recipients(),
        vec![5, 9]
    );
    let mut reused = stop.clone();
    reused.steps[0].start_ticks += 1;
    assert_eq!(
        leftovers(&tree, 1, TERM, Some(&reused)).recipients(),
        vec![5, 9]
    );
}

fn exited(c: i32) -> ChildStatus {
    ChildStatus::Exited(c)
}

fn killed(s: i32) -> ChildStatus {
    ChildStatus::Signaled(s)
}

#[test]
fn reported_status_cases() {
    let wrapped = Tree::from_procs([dash(10, 1), app(11, 10, &[WINCH, TERM])]);
    let stop = route(&wrapped, 10, WINCH);
    let nested = Tree::from_procs([dash(10, 1), bash(11, 10), app(12, 11, &[WINCH, TERM])]);
    let nested_stop = route(&nested, 10, WINCH);
    let two = Tree::from_procs([dash_wait(10, 1), app(11, 10, &[TERM]), app(12, 10, &[TERM])]);
    let two_stop = route(&two, 10, TERM);
    let alone = Tree::from_procs([with(dash(10, 1), |p| p.sleep = Sleep::Other)]);
    let alone_stop = route(&alone, 10, TERM);
    type Row<'a> = (
        &'a str,
        ChildStatus,
        Option<&'a Route>,
        Vec<(i32, ChildStatus)>,
        ChildStatus,
    );
    let rows: Vec<Row> = vec![
        (
            "no stop signal routed",
            killed(TERM),
            None,
            vec![(11, exited(0))],
            killed(TERM),
        ),
        (
            "the wrapper passed the app's 0 on",
            exited(0),
            Some(&stop),
            vec![],
            exited(0),
        ),
        (
            "the wrapper's own exit code stands",
            exited(3),
            Some(&stop),
            vec![(11, exited(0))],
            exited(3),
        ),
        (
            "httpd's killpg killed the wrapper",
            killed(TERM),
            Some(&stop),
            vec![(11, exited(0))],
            exited(0),
        ),
        (
            "killed wrapper, app failed",
            killed(TERM),
            Some(&stop),
            vec![(11, exited(1))],
            exited(1),
        ),
        (
            "killed wrapper, app then SIGKILLed",
            killed(TERM),
            Some(&stop),
            vec![(11, killed(libc::SIGKILL))],
            killed(libc::SIGKILL),
        ),
        (
            "wrapper SIGKILLed (OOM, deadline)",
            killed(libc::SIGKILL),
            Some(&stop),
            vec![(11, exited(0))],
            killed(libc::SIGKILL),
        ),
        (
            "killed wrapper, app not reaped by drainit",
            killed(TERM),
            Some(&stop),
            vec![],
            killed(TERM),
        ),
        (
            "the shell got the signal itself",
            killed(TERM),
            Some(&alone_stop),
            vec![],
            killed(TERM),
        ),
        (
            "sh killed, bash passes the app's code",
            killed(TERM),
            Some(&nested_stop),
            vec![(11, exited(4))],
            exited(4),
        ),
        (
            "sh and bash killed, app reaped",
            killed(TERM),
            Some(&nested_stop),
            vec![(11, killed(TERM)), (12, exited(0))],
            exited(0),
        ),
        (
            "two apps, both 0",
            killed(TERM),
            Some(&two_stop),
            vec![(12, exited(0)), (11, exited(0))],
            exited(0),
        ),
        (
            "two apps, one failed",
            killed(TERM),
            Some(&two_stop),
            vec![(11, exited(0)), (12, exited(2))],
            exited(2),
        ),
        (
            "a pid reaped twice: the last one",
            killed(TERM),
            Some(&stop),
            vec![(11, exited(9)), (11, exited(0))],
            exited(0),
        ),
    ];
    for (name, main, route, reaped, want) in rows {
        assert_eq!(reported_status(main, route, &reaped), want, "{name}");
    }
}

#[test]
fn default_actions() {
    assert_eq!(default_action(WINCH), DefaultAction::Ignore);
    assert_eq!(default_action(libc::SIGURG), DefaultAction::Ignore);
    assert_eq!(default_action(CONT), DefaultAction::Continue);
    assert_eq!(default_action(libc::SIGTSTP), DefaultAction::Stop);
    for s in [
        HUP,
        INT,
        QUIT,
        TERM,
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGRTMIN(),
    ] {
        assert_eq!(default_action(s), DefaultAction::Terminate, "{s}");
    }
}

#[test]
fn masks_are_bit_n_minus_one() {
    assert!(in_mask(0x4000, TERM));
    assert!(in_mask(0x2, INT));
    assert!(!in_mask(0x2, TERM));
    assert!(in_mask(1 << 63, 64));
    assert!(!in_mask(!0, 0));
    assert!(!in_mask(!0, 65));
}

// ------------------------------------------------------------ properties

const SIGS: &[i32] = &[
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGTERM,
    libc::SIGUSR1,
    libc::SIGWINCH,
    libc::SIGCONT,
    libc::SIGTSTP,
    libc::SIGKILL,
    libc::SIGCHLD,
];

fn any_proc() -> impl Strategy<Value = (char, u64, u64, u64, Sleep)> {
    // Masks over the signals above minus KILL/STOP, which the kernel never
    // reports as caught, ignored or blocked.
    let m = (0u64..1024).prop_map(|bits| {
        SIGS.iter()
            .enumerate()
            .filter(|&(i, &s)| bits & (1 << i) != 0 && s != libc::SIGKILL)
            .fold(0, |acc, (_, &s)| acc | (1u64 << (s - 1)))
    });
    let state = prop_oneof![Just('S'), Just('S'), Just('R'), Just('T'), Just('Z')];
    let sleep = prop_oneof![
        Just(Sleep::Children),
        Just(Sleep::Signal),
        Just(Sleep::Other),
        Just(Sleep::Unknown)
    ];
    (state, m.clone(), m.clone(), m, sleep)
}

/// Random trees: process i (pid 10 + i) has a parent among the earlier
/// ones; pid 10, the main child, is drainit's (pid 1).
fn any_tree() -> impl Strategy<Value = Tree> {
    prop::collection::vec((any_proc(), 0usize..100), 1..14).prop_map(|v| {
        let procs = v
            .into_iter()
            .enumerate()
            .map(|(i, ((state, c, g, b, sleep), parent))| {
                let pid = 10 + i as i32;
                let ppid = if i == 0 { 1 } else { 10 + (parent % i) as i32 };
                Proc {
                    state,
                    caught: c,
                    ignored: g,
                    blocked: b,
                    sleep,
                    ..proc_(pid, ppid, "p")
                }
            });
        Tree::from_procs(procs)
    })
}

fn runner() -> TestRunner {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(2000);
    TestRunner::new(PtConfig {
        cases,
        failure_persistence: None,
        ..PtConfig::default()
    })
}

/// What `crate::os::proctree` reads for one signal: the starting process and
/// the children of the processes `looks_below` names.
fn pruned(full: &Tree, start: i32, sig: i32) -> Tree {
    let mut out = Tree::new();
    let mut queue = vec![start];
    while let Some(pid) = queue.pop() {
        let Some(p) = full.get(pid) else { continue };
        out.insert(p.clone());
        if p.live() && looks_below(p, sig) {
            queue.extend(full.live_children(pid).map(|c| c.pid));
            // Zombie children are read too; they are skipped as not live.
            for z in full.procs().filter(|z| z.ppid == pid && !z.live()) {
                out.insert(z.clone());
            }
        }
    }
    out
}

#[test]
fn properties_of_the_rule() {
    let strategy = (any_tree(), prop::sample::select(SIGS));
    runner()
        .run(&strategy, |(tree, sig)| {
            let r = route(&tree, 10, sig);
            let mut pids: Vec<i32> = r.steps.iter().map(|s| s.pid).collect();
            pids.sort_unstable();
            pids.dedup();
            prop_assert_eq!(pids.len(), r.steps.len(), "each process once");
            prop_assert!(!r.recipients().is_empty(), "the signal goes somewhere");
            for s in &r.steps {
                let p = tree.get(s.pid);
                let from = r.step(s.from);
                // Steps hang off passed-over wrappers only, by ppid.
                if s.from == 0 {
                    prop_assert_eq!(s.pid, 10);
                } else {
                    prop_assert_eq!(p.map(|p| p.ppid), Some(s.from));
                    prop_assert!(matches!(from.map(|f| f.role), Some(Role::Passed(_))));
                    prop_assert!(p.is_some_and(|p| p.live()));
                }
                match s.role {
                    Role::Passed(_) => {
                        let p = p.expect("passed over processes are in the tree");
                        prop_assert!(looks_below(p, sig));
                        let kids: Vec<i32> = tree.live_children(s.pid).map(|c| c.pid).collect();
                        prop_assert!(!kids.is_empty());
                        for k in kids {
                            prop_assert!(r.step(k).is_some(), "every live child is routed");
                        }
                        // A handler stops the descent, except a waiting shell's INT.
                        if p.catches(sig) {
                            prop_assert!(sig == INT && p.waiting());
                        }
                    }
                    Role::Receives(Why::Handler) => {
                        prop_assert!(p.is_some_and(|p| p.catches(sig)))
                    }
                    Role::Receives(Why::NoChildren) => {
                        prop_assert_eq!(tree.live_children(s.pid).count(), 0)
                    }
                    Role::Receives(Why::Acts | Why::Ignores) => {
                        let leaf = |p: &Proc| {
                            !looks_below(p, sig) || tree.live_children(p.pid).count() == 0
                        };
                        prop_assert!(p.is_some_and(leaf));
                    }
                    _ => {}
                }
            }
            // SIGKILL can never be handled: the route ends at processes
            // that are not waiting for children, or that have none left.
            if sig == libc::SIGKILL {
                prop_assert!(r
                    .steps
                    .iter()
                    .all(|s| !matches!(s.role, Role::Receives(Why::Handler | Why::Blocked))));
            }
            // The reader's pruned snapshot routes the same way.
            let small = pruned(&tree, 10, sig);
            prop_assert_eq!(&route(&small, 10, sig), &r);
            // A main child that exited, or was SIGKILLed, reports itself.
            for main in [exited(0), exited(7), killed(libc::SIGKILL)] {
                prop_assert_eq!(reported_status(main, Some(&r), &[(11, exited(5))]), main);
            }
            Ok(())
        })
        .unwrap();
}
