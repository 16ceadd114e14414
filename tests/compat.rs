//! The differential harness: every scenario runs under the real tini,
//! tini-static and dumb-init (Debian's) and under drainit by the same name
//! (a symlink in a temp dir: drainit picks its mode from argv[0]), and
//! compares what is observable: the exit code, stdout and stderr (exact
//! after masking pids and timestamps), the signals each process of the
//! tree received in order, the processes' states after each step, which
//! processes are alive afterwards, and the child's SigBlk/SigIgn/SigCgt.
//!
//! A difference fails the test unless it is on the list of improvements
//! (`IMPROVEMENTS`, which must be the README's "What changes" list word for
//! word).
//!
//! The child is tests/compat/probe.c, built here with cc: small, so a
//! scenario starts in milliseconds. Scenarios are generated from tables.

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{need_pidns, skip, tempdir};

/// Forwarded by every init in every mode and never rewritten (dumb-init's
/// `-r` stops at 31): sent after each signal under test, its arrival says
/// the init has dealt with the signal before it (lower numbers dequeue
/// first, at the init and at the child).
const SENTINEL: i32 = 64;
/// How long any one condition may take before the scenario records a timeout.
const LIMIT: Duration = Duration::from_secs(15);

// ---------------------------------------------------------------- the list

/// The documented improvements: (id, the README's sentence). A difference
/// is accepted only when one of `improvement_applies` rules names it.
const IMPROVEMENTS: &[(&str, &str)] = &[
    (
        "startup",
        "Nothing is lost at start-up: a signal that arrives before the child runs is forwarded once it does (dumb-init can lose it).",
    ),
    (
        "drain",
        "When the child exits, the processes it leaves behind get the stop signal and time to finish, instead of being killed with the init (tini) or signalled while the init exits (dumb-init, whose SIGTERM to the child's process group drainit sends as it does, then waits for that group).",
    ),
    (
        "subreaper",
        "Not running as PID 1, drainit always registers as a child subreaper (tini needs -s, and warns without it).",
    ),
    (
        "faults",
        "SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP and SIGSYS sent with kill are forwarded like any other signal (tini dies of them, or as PID 1 never sees them).",
    ),
    (
        "version",
        "The version and licence lines name drainit, in the anchor's format (`tini version 0.1.0 - git.abc1234`, `dumb-init v0.1.0`).",
    ),
];

// ---------------------------------------------------------------- scenarios

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Anchor {
    Tini,
    TiniStatic,
    DumbInit,
}

impl Anchor {
    fn name(self) -> &'static str {
        match self {
            Anchor::Tini => "tini",
            Anchor::TiniStatic => "tini-static",
            Anchor::DumbInit => "dumb-init",
        }
    }
    fn real(self) -> String {
        format!("/usr/bin/{}", self.name())
    }
    fn is_tini(self) -> bool {
        self != Anchor::DumbInit
    }
}

#[derive(Clone, Debug)]
enum Child {
    /// The probe with these flags; `{dir}` is the scenario's directory.
    Probe(Vec<String>),
    /// Another command (not found, not executable, a shell line).
    Cmd(Vec<String>),
    /// No command at all.
    Nothing,
}

#[derive(Clone, Debug)]
enum Step {
    /// Send this signal to the init, then the sentinel; wait until settled.
    Signal(i32),
    /// Send this signal to the init before the child is ready.
    Early(i32),
}

#[derive(Clone, Debug)]
struct Scenario {
    name: String,
    anchor: Anchor,
    /// The init's options, before the command.
    args: Vec<String>,
    env: Vec<(String, String)>,
    pid1: bool,
    child: Child,
    /// Probe logs (names) that must say "ready" before the steps start.
    ready: Vec<String>,
    steps: Vec<Step>,
    /// Send SIGTERM at the end if the init still runs.
    term_at_end: bool,
    kill_at_end: bool,
    /// Run under the static (musl) drainit too.
    also_static: bool,
    /// SIGTERM ends the child (the sentinel is sent before it).
    term_ends: bool,
}

impl Scenario {
    fn new(name: impl Into<String>, anchor: Anchor) -> Self {
        Scenario {
            name: name.into(),
            anchor,
            args: Vec::new(),
            env: Vec::new(),
            pid1: false,
            child: Child::Probe(Vec::new()),
            ready: vec!["child".into()],
            steps: Vec::new(),
            term_at_end: true,
            kill_at_end: false,
            also_static: false,
            term_ends: true,
        }
    }
    fn args(mut self, a: &[&str]) -> Self {
        self.args = a.iter().map(|s| s.to_string()).collect();
        self
    }
    fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }
    fn pid1(mut self, yes: bool) -> Self {
        self.pid1 = yes;
        self
    }
    fn probe(mut self, flags: &[&str]) -> Self {
        self.child = Child::Probe(flags.iter().map(|s| s.to_string()).collect());
        // A child that ends by itself ends the init too: no SIGTERM to race it.
        if flags.contains(&"-x") || flags.contains(&"-k") {
            self.term_at_end = false;
        }
        self
    }
    fn cmd(mut self, c: &[&str]) -> Self {
        self.child = Child::Cmd(c.iter().map(|s| s.to_string()).collect());
        self.ready.clear();
        self.term_at_end = false;
        self
    }
    fn nothing(mut self) -> Self {
        self.child = Child::Nothing;
        self.ready.clear();
        self.term_at_end = false;
        self
    }
    fn ready(mut self, names: &[&str]) -> Self {
        self.ready = names.iter().map(|s| s.to_string()).collect();
        self
    }
    fn steps(mut self, s: Vec<Step>) -> Self {
        self.steps = s;
        self
    }
    /// End with SIGKILL to the init (its TERM is rewritten away).
    fn kill_at_end(mut self) -> Self {
        self.kill_at_end = true;
        self
    }
    fn statically(mut self) -> Self {
        self.also_static = true;
        self
    }
    fn mode_group(&self) -> bool {
        match self.anchor {
            Anchor::DumbInit => {
                !self.args.iter().any(|a| a == "-c")
                    && !self
                        .env
                        .iter()
                        .any(|(k, v)| k == "DUMB_INIT_SETSID" && v == "0")
            }
            _ => {
                self.args.iter().any(|a| a == "-g")
                    || self.env.iter().any(|(k, _)| k == "TINI_KILL_PROCESS_GROUP")
            }
        }
    }
    fn has_probe_flag(&self, flag: &str) -> bool {
        matches!(&self.child, Child::Probe(f) if f.iter().any(|a| a == flag))
    }
    fn has(&self, arg: &str) -> bool {
        self.args.iter().any(|a| a.starts_with(arg))
    }
}

/// Environment variables of a table row.
type Env = &'static [(&'static str, &'static str)];
/// (anchor, mode name, init options, environment).
type ModeRow = (Anchor, &'static str, &'static [&'static str], Env);
/// (what, init options, environment, probe flags).
type TiniRow = (
    &'static str,
    &'static [&'static str],
    Env,
    &'static [&'static str],
);
/// (what, init options, environment, steps).
type DumbInitRow = (&'static str, &'static [&'static str], Env, Vec<Step>);

/// Signals under test: 1-31 but KILL, STOP and CHLD, and real-time ones.
fn test_signals() -> Vec<i32> {
    (1..=31)
        .filter(|s| ![libc::SIGKILL, libc::SIGSTOP, libc::SIGCHLD].contains(s))
        .chain([34, 35, 42, 63])
        .collect()
}

fn scenarios() -> Vec<Scenario> {
    let mut all = Vec::new();
    let modes: &[ModeRow] = &[
        (Anchor::Tini, "default", &["-s"], &[]),
        (Anchor::Tini, "-g", &["-s", "-g"], &[]),
        (Anchor::TiniStatic, "default", &["-s"], &[]),
        (Anchor::DumbInit, "setsid", &[], &[]),
        (Anchor::DumbInit, "-c", &["-c"], &[]),
        (
            Anchor::DumbInit,
            "SETSID=0",
            &[],
            &[("DUMB_INIT_SETSID", "0")],
        ),
    ];
    // Every signal, every mode, as PID 1 and not.
    for &(anchor, mode, args, env) in modes {
        for pid1 in [false, true] {
            for sig in test_signals() {
                if anchor == Anchor::TiniStatic && pid1 {
                    continue;
                }
                if mode == "SETSID=0" && (pid1 || sig > 31) {
                    continue;
                }
                let mut s = Scenario::new(
                    format!("{} {mode} pid1={pid1} signal {sig}", anchor.name()),
                    anchor,
                )
                .args(args)
                .pid1(pid1)
                .steps(vec![Step::Signal(sig), Step::Signal(libc::SIGCONT)]);
                if anchor == Anchor::TiniStatic {
                    // Docker's docker-init is tini-static: the musl build too.
                    s = s.statically();
                }
                for (k, v) in env {
                    s = s.env(k, v);
                }
                all.push(s);
            }
        }
    }
    // A tree: a grandchild, signals to the group or the child only.
    for &(anchor, mode, args, _) in modes {
        if anchor == Anchor::TiniStatic {
            continue;
        }
        for pid1 in [false, true] {
            for sig in [libc::SIGHUP, libc::SIGUSR1, libc::SIGINT, libc::SIGTERM] {
                all.push(
                    Scenario::new(
                        format!("{} {mode} pid1={pid1} tree signal {sig}", anchor.name()),
                        anchor,
                    )
                    .args(args)
                    .pid1(pid1)
                    .probe(&["-G", "{dir}/grandchild.log"])
                    .ready(&["child", "grandchild"])
                    .steps(vec![Step::Signal(sig)]),
                );
            }
            // The grandchild in a session of its own (setsid'd daemon).
            all.push(
                Scenario::new(
                    format!("{} {mode} pid1={pid1} daemon", anchor.name()),
                    anchor,
                )
                .args(args)
                .pid1(pid1)
                .probe(&["-D", "{dir}/daemon.log"])
                .ready(&["child", "daemon"])
                .steps(vec![Step::Signal(libc::SIGHUP)]),
            );
        }
    }
    // Children that exit, die, leave orphans, stop themselves, setsid.
    let endings: &[(&str, &[&str], &[&str])] = &[
        ("exit 0", &["-x", "0"], &[]),
        ("exit 3", &["-x", "3"], &[]),
        ("killed by TERM", &["-k", "15"], &[]),
        ("killed by KILL", &["-k", "9"], &[]),
        ("killed by SEGV", &["-k", "11"], &[]),
        (
            "orphan",
            &["-G", "{dir}/orphan.log", "-x", "0"],
            &["child", "orphan"],
        ),
        (
            "orphan exit 5",
            &["-G", "{dir}/orphan.log", "-x", "5"],
            &["child", "orphan"],
        ),
        ("setsid then exit", &["-s", "-x", "4"], &[]),
        ("setsid", &["-s"], &[]),
        ("stops itself", &["-T"], &[]),
    ];
    for &(anchor, mode, args, env) in modes {
        for pid1 in [false, true] {
            for &(what, flags, ready) in endings {
                if anchor == Anchor::TiniStatic && pid1 {
                    continue;
                }
                let mut s = Scenario::new(
                    format!("{} {mode} pid1={pid1} child {what}", anchor.name()),
                    anchor,
                )
                .args(args)
                .pid1(pid1)
                .probe(flags);
                if !ready.is_empty() {
                    s = s.ready(ready);
                }
                if what == "stops itself" {
                    s = s.steps(vec![Step::Signal(libc::SIGCONT)]);
                }
                for (k, v) in env {
                    s = s.env(k, v);
                }
                all.push(s);
            }
        }
    }
    all.extend(runner_scenarios(modes));
    all.extend(command_line_scenarios());
    all.extend(mask_scenarios());
    all
}

/// A child that runs a program in the foreground and waits for it (a
/// Python `os.system`, a shell running a command), at one and two levels,
/// with the forwarded signal at its default action, ignored or handled:
/// the signal goes where the anchor sends it (the child, or its group),
/// whatever the waiting child would do with it. For the signals the
/// anchors' own test suites send.
fn runner_scenarios(modes: &[ModeRow]) -> Vec<Scenario> {
    let mut all = Vec::new();
    let signals = [
        libc::SIGHUP,
        libc::SIGINT,
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGTERM,
    ];
    for &(anchor, mode, args, env) in modes {
        for pid1 in [false, true] {
            if (anchor == Anchor::TiniStatic || mode == "SETSID=0") && pid1 {
                continue;
            }
            for disp in ["d", "i", "h"] {
                for levels in [1, 2] {
                    for sig in signals {
                        // To a whole group, a signal the runners die of
                        // races the probe below them, under the anchor as
                        // well: nothing stable to compare but TERM's
                        // (the sentinel goes first).
                        let group = Scenario::new("", anchor).args(args).mode_group()
                            && !env
                                .iter()
                                .any(|(k, v)| *k == "DUMB_INIT_SETSID" && *v == "0");
                        if group && disp == "d" && sig != libc::SIGTERM {
                            continue;
                        }
                        let mut flags = vec!["-F", disp, "{dir}/grandchild.log"];
                        let mut ready = vec!["child", "grandchild"];
                        if levels == 2 {
                            flags.extend(["-F", disp, "{dir}/great.log"]);
                            ready.push("great");
                        }
                        let mut s = Scenario::new(
                            format!(
                                "{} {mode} pid1={pid1} runner {disp} x{levels} signal {sig}",
                                anchor.name()
                            ),
                            anchor,
                        )
                        .args(args)
                        .pid1(pid1)
                        .probe(&flags)
                        .ready(&ready)
                        .steps(vec![Step::Signal(sig)]);
                        // A runner that survives TERM does not end the init
                        // (the harness ends it with SIGKILL) unless TERM
                        // reaches the whole group, whose last probe exits.
                        s.term_ends = disp == "d" || s.mode_group();
                        if !s.term_ends {
                            s = s.kill_at_end();
                        }
                        if anchor == Anchor::TiniStatic {
                            s = s.statically();
                        }
                        for (k, v) in env {
                            s = s.env(k, v);
                        }
                        all.push(s);
                    }
                }
            }
        }
    }
    all
}

/// Flags and variables with valid, empty and bad values; errors; usage.
fn command_line_scenarios() -> Vec<Scenario> {
    let mut all = Vec::new();
    let tini = Anchor::Tini;
    let di = Anchor::DumbInit;
    const EXIT3: &[&str] = &["-x", "3"];
    let usage: &[(&str, Anchor, &[&str])] = &[
        ("--version", tini, &["--version"]),
        ("--version with more", tini, &["--version", "x"]),
        ("-h", tini, &["-h"]),
        ("-l", tini, &["-l"]),
        ("bad option", tini, &["-x"]),
        ("long option", tini, &["--foo"]),
        ("-p missing", tini, &["-p"]),
        ("-e missing", tini, &["-e"]),
        ("-V", di, &["-V"]),
        ("--version", di, &["--version"]),
        ("-h", di, &["-h"]),
        ("--help", di, &["--help"]),
        ("bad option", di, &["-x"]),
        ("bad long option", di, &["--bogus"]),
        ("ambiguous long option", di, &["--ver"]),
        ("--help=x", di, &["--help=x"]),
        ("-r missing", di, &["-r"]),
    ];
    for &(what, anchor, args) in usage {
        all.push(
            Scenario::new(format!("{} {what}", anchor.name()), anchor)
                .args(args)
                .nothing(),
        );
        all.push(
            Scenario::new(
                format!("{} {what} (static)", anchor.name()),
                Anchor::TiniStatic,
            )
            .args(args)
            .nothing(),
        );
    }
    all.retain(|s| !(s.anchor == Anchor::TiniStatic && s.name.starts_with("dumb-init")));
    for anchor in [tini, Anchor::TiniStatic, di] {
        let n = anchor.name();
        all.push(Scenario::new(format!("{n} no program"), anchor).nothing());
        for pid1 in [false, true] {
            all.push(
                Scenario::new(format!("{n} pid1={pid1} not found"), anchor)
                    .pid1(pid1)
                    .cmd(&["/doesnotexist"]),
            );
            all.push(
                Scenario::new(format!("{n} pid1={pid1} not executable"), anchor)
                    .pid1(pid1)
                    .cmd(&["/etc/passwd"]),
            );
            all.push(
                Scenario::new(format!("{n} pid1={pid1} a directory"), anchor)
                    .pid1(pid1)
                    .cmd(&["/tmp"]),
            );
            all.push(
                Scenario::new(format!("{n} pid1={pid1} not found in PATH"), anchor)
                    .pid1(pid1)
                    .cmd(&["no-such-command-x"]),
            );
        }
    }
    // Verbose runs of commands that cannot run or write to stdout: tini's
    // child prints too (and stdio's buffers decide what is seen).
    for pid1 in [false, true] {
        for (what, c) in [
            ("not found", &["/doesnotexist"][..]),
            ("a directory", &["/tmp"]),
            ("stdout", &["sh", "-c", "echo hi"]),
        ] {
            for (anchor, args) in [
                (tini, &["-s", "-vvv", "--"][..]),
                (tini, &["-s", "-vv", "--"]),
                (Anchor::TiniStatic, &["-vvv", "--"]),
                (di, &["-v"]),
                (di, &["-c", "-v"]),
            ] {
                if anchor == Anchor::TiniStatic && pid1 {
                    continue;
                }
                all.push(
                    Scenario::new(
                        format!("{} pid1={pid1} {args:?} {what}", anchor.name()),
                        anchor,
                    )
                    .args(args)
                    .pid1(pid1)
                    .cmd(c),
                );
            }
        }
    }
    // tini's options and variables.
    let tini_cases: &[TiniRow] = &[
        ("-e 3", &["-s", "-e", "3"], &[], EXIT3),
        ("-e3", &["-s", "-e3"], &[], EXIT3),
        ("-e 4 (not the code)", &["-s", "-e", "4"], &[], EXIT3),
        ("-e 256", &["-s", "-e", "256"], &[], EXIT3),
        ("-e x", &["-s", "-e", "x"], &[], EXIT3),
        ("-e empty", &["-s", "-e", ""], &[], EXIT3),
        ("-p SIGKILL", &["-s", "-p", "SIGKILL"], &[], EXIT3),
        ("-p KILL", &["-s", "-p", "KILL"], &[], EXIT3),
        ("-p 9", &["-s", "-p", "9"], &[], EXIT3),
        ("-p empty", &["-s", "-p", ""], &[], EXIT3),
        ("-s", &["-s"], &[], EXIT3),
        ("no -s", &[], &[], EXIT3),
        ("TINI_SUBREAPER", &[], &[("TINI_SUBREAPER", "1")], EXIT3),
        (
            "TINI_SUBREAPER empty",
            &[],
            &[("TINI_SUBREAPER", "")],
            EXIT3,
        ),
        (
            "TINI_VERBOSITY=0",
            &["-s"],
            &[("TINI_VERBOSITY", "0")],
            EXIT3,
        ),
        (
            "TINI_VERBOSITY=0 no -s",
            &[],
            &[("TINI_VERBOSITY", "0")],
            EXIT3,
        ),
        (
            "TINI_VERBOSITY=1",
            &["-s"],
            &[("TINI_VERBOSITY", "1")],
            EXIT3,
        ),
        (
            "TINI_VERBOSITY=2",
            &["-s"],
            &[("TINI_VERBOSITY", "2")],
            EXIT3,
        ),
        (
            "TINI_VERBOSITY=3",
            &["-s"],
            &[("TINI_VERBOSITY", "3")],
            EXIT3,
        ),
        (
            "TINI_VERBOSITY=x",
            &["-s"],
            &[("TINI_VERBOSITY", "x")],
            EXIT3,
        ),
        (
            "TINI_VERBOSITY empty",
            &["-s"],
            &[("TINI_VERBOSITY", "")],
            EXIT3,
        ),
        ("-v", &["-s", "-v"], &[], EXIT3),
        ("-vv", &["-s", "-vv"], &[], EXIT3),
        ("-vvv", &["-s", "-vvv"], &[], EXIT3),
        (
            "-vvv TINI_VERBOSITY=1",
            &["-s", "-vvv"],
            &[("TINI_VERBOSITY", "1")],
            EXIT3,
        ),
        ("-w", &["-s", "-w"], &[], EXIT3),
        (
            "-w orphan",
            &["-s", "-w"],
            &[],
            &["-G", "{dir}/orphan.log", "-x", "0"],
        ),
        (
            "TINI_KILL_PROCESS_GROUP",
            &["-s"],
            &[("TINI_KILL_PROCESS_GROUP", "1")],
            EXIT3,
        ),
        (
            "TINI_KILL_PROCESS_GROUP empty",
            &["-s"],
            &[("TINI_KILL_PROCESS_GROUP", "")],
            EXIT3,
        ),
        ("options after the command", &[], &[], &["-x", "3"]),
        ("-- then options", &["-s", "--"], &[], &["-x", "3"]),
    ];
    for &(what, args, env, flags) in tini_cases {
        for anchor in [tini, Anchor::TiniStatic] {
            for pid1 in [false, true] {
                if anchor == Anchor::TiniStatic && pid1 {
                    continue;
                }
                let mut s = Scenario::new(format!("{} pid1={pid1} {what}", anchor.name()), anchor)
                    .args(args)
                    .pid1(pid1)
                    .probe(flags);
                if flags.contains(&"-G") {
                    s = s.ready(&["child", "orphan"]);
                }
                for (k, v) in env {
                    s = s.env(k, v);
                }
                all.push(s);
            }
        }
    }
    // A command whose own options follow it: tini permutes (glibc getopt).
    all.push(
        Scenario::new("tini options after the command, permuted", tini)
            .cmd(&["sh", "-c", "exit 7"]),
    );
    // dumb-init's options and variables.
    let di_cases: &[DumbInitRow] = &[
        ("-r 15:10", &["-r", "15:10"], &[], vec![Step::Signal(15)]),
        (
            "-r 15:0",
            &["-r", "15:0"],
            &[],
            vec![Step::Signal(15), Step::Signal(1)],
        ),
        ("-r 1:10", &["-r", "1:10"], &[], vec![Step::Signal(1)]),
        ("-r 31:10", &["-r", "31:10"], &[], vec![Step::Signal(31)]),
        ("-r 11:10", &["-r", "11:10"], &[], vec![Step::Signal(11)]),
        ("-r 6:0", &["-r", "6:0"], &[], vec![Step::Signal(6)]),
        (
            "--rewrite=1:12",
            &["--rewrite=1:12"],
            &[],
            vec![Step::Signal(1)],
        ),
        (
            "--rewrite 1:12",
            &["--rewrite", "1:12"],
            &[],
            vec![Step::Signal(1)],
        ),
        ("-r 1: 12x", &["-r", "1: 12x"], &[], vec![Step::Signal(1)]),
        ("-r 99:1", &["-r", "99:1"], &[], vec![]),
        ("-r 1:32", &["-r", "1:32"], &[], vec![]),
        ("-r TERM:QUIT", &["-r", "TERM:QUIT"], &[], vec![]),
        ("-r 15", &["-r", "15"], &[], vec![]),
        ("-r empty", &["-r", ""], &[], vec![]),
        (
            "-c -r 15:10",
            &["-c", "-r", "15:10"],
            &[],
            vec![Step::Signal(15)],
        ),
        ("-r 20:10", &["-r", "20:10"], &[], vec![Step::Signal(20)]),
        ("-r 20:0", &["-r", "20:0"], &[], vec![Step::Signal(20)]),
        ("-r 22:0", &["-r", "22:0"], &[], vec![Step::Signal(22)]),
        (
            "-c -r 20:19",
            &["-c", "-r", "20:19"],
            &[],
            vec![Step::Signal(20)],
        ),
        (
            "--single-child",
            &["--single-child"],
            &[],
            vec![Step::Signal(1)],
        ),
        ("--single", &["--single"], &[], vec![Step::Signal(1)]),
        (
            "DUMB_INIT_SETSID=1",
            &[],
            &[("DUMB_INIT_SETSID", "1")],
            vec![Step::Signal(1)],
        ),
        (
            "DUMB_INIT_SETSID empty",
            &[],
            &[("DUMB_INIT_SETSID", "")],
            vec![Step::Signal(1)],
        ),
        (
            "DUMB_INIT_SETSID=no",
            &[],
            &[("DUMB_INIT_SETSID", "no")],
            vec![Step::Signal(1)],
        ),
        (
            "DUMB_INIT_DEBUG=0",
            &[],
            &[("DUMB_INIT_DEBUG", "0")],
            vec![Step::Signal(1)],
        ),
        (
            "DUMB_INIT_DEBUG empty",
            &[],
            &[("DUMB_INIT_DEBUG", "")],
            vec![Step::Signal(1)],
        ),
        (
            "DUMB_INIT_DEBUG=yes",
            &[],
            &[("DUMB_INIT_DEBUG", "yes")],
            vec![Step::Signal(1)],
        ),
        (
            "DUMB_INIT_DEBUG=1",
            &[],
            &[("DUMB_INIT_DEBUG", "1")],
            vec![Step::Signal(1)],
        ),
        ("-v", &["-v"], &[], vec![Step::Signal(1)]),
        ("-c -v", &["-c", "-v"], &[], vec![Step::Signal(1)]),
        ("options after the command", &[], &[], vec![Step::Signal(1)]),
    ];
    for (what, args, env, steps) in di_cases {
        for pid1 in [false, true] {
            let mut s = Scenario::new(format!("dumb-init pid1={pid1} {what}"), di)
                .args(args)
                .pid1(pid1)
                .steps(steps.clone());
            if args.contains(&"15:10") {
                s = s.probe(&["-e", "10"]);
            }
            if args.contains(&"15:0") {
                s = s.kill_at_end();
            }
            if steps.is_empty() {
                s = s.nothing();
                s.child = Child::Cmd(vec!["true".into()]);
            }
            for (k, v) in *env {
                s = s.env(k, v);
            }
            all.push(s);
        }
    }
    // A signal right at start-up, before the child has set up.
    for (anchor, args) in [(tini, &["-s"][..]), (di, &[][..]), (di, &["-c"][..])] {
        for pid1 in [false, true] {
            all.push(
                Scenario::new(
                    format!("{} {args:?} pid1={pid1} HUP at start", anchor.name()),
                    anchor,
                )
                .args(args)
                .pid1(pid1)
                .steps(vec![Step::Early(libc::SIGHUP), Step::Signal(libc::SIGUSR1)]),
            );
        }
    }
    all
}

/// The child's mask and dispositions: what the init was started with.
fn mask_scenarios() -> Vec<Scenario> {
    let mut all = Vec::new();
    let starts: &[(&str, &str)] = &[
        ("plain", ""),
        ("SEGV INT USR1 PIPE ignored", "trap '' SEGV INT USR1 PIPE; "),
        (
            "every fault signal ignored",
            "trap '' SEGV BUS FPE ILL ABRT TRAP SYS; ",
        ),
        ("TTIN TTOU ignored", "trap '' TTIN TTOU; "),
        ("HUP QUIT TERM ignored", "trap '' HUP QUIT TERM; "),
    ];
    for (what, trap) in starts {
        for (anchor, mode, args) in [
            (Anchor::Tini, "default", &["-s"][..]),
            (Anchor::Tini, "-g", &["-s", "-g"][..]),
            (Anchor::TiniStatic, "default", &["-s"][..]),
            (Anchor::DumbInit, "setsid", &[][..]),
            (Anchor::DumbInit, "-c", &["-c"][..]),
        ] {
            for pid1 in [false, true] {
                let mut s = Scenario::new(
                    format!("{} {mode} pid1={pid1} mask, {what}", anchor.name()),
                    anchor,
                )
                .args(args)
                .pid1(pid1)
                .statically();
                if !trap.is_empty() {
                    s = s.env("COMPAT_TRAP", trap);
                }
                // A fault signal sent with kill while it is ignored.
                if what.contains("fault") {
                    s = s.steps(vec![
                        Step::Signal(libc::SIGSEGV),
                        Step::Signal(libc::SIGABRT),
                    ]);
                }
                all.push(s);
            }
        }
    }
    all
}

// ---------------------------------------------------------------- running

/// Everything observable about one run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Obs {
    code: String,
    stdout: String,
    stderr: String,
    /// Each probe's log, by name: its mask line, "ready", its signals.
    logs: BTreeMap<String, Vec<String>>,
    /// After each step: "init=run child=stopped ...".
    states: Vec<String>,
    /// Probes still alive once the init is gone.
    alive_after: Vec<String>,
    notes: Vec<String>,
}

struct Bins {
    probe: PathBuf,
    /// Directory with drainit (glibc) linked as tini, tini-static, dumb-init.
    glibc: PathBuf,
    /// The same for the static (musl) build, when it exists.
    musl: Option<PathBuf>,
}

fn build_probe(dir: &Path) -> PathBuf {
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/compat/probe.c");
    let out = dir.join("probe");
    let ok = Command::new("cc")
        .args(["-O2", "-o"])
        .arg(&out)
        .arg(src)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "cc {src} failed");
    out
}

fn link_names(dir: &Path, bin: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    for n in ["tini", "tini-static", "dumb-init"] {
        let _ = std::fs::remove_file(dir.join(n));
        std::os::unix::fs::symlink(bin, dir.join(n)).unwrap();
    }
    dir.to_path_buf()
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Host pids whose argv[0] is the probe, by log name; plus their state.
fn probes(probe: &Path, dir: &Path) -> BTreeMap<String, (i32, char)> {
    let mut found = BTreeMap::new();
    let probe = probe.to_string_lossy().into_owned();
    let dir = dir.to_string_lossy().into_owned();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for e in entries.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let mut parts = cmd.split(|&b| b == 0);
        let (Some(a0), Some(a1)) = (parts.next(), parts.next()) else {
            continue;
        };
        let (a0, a1) = (String::from_utf8_lossy(a0), String::from_utf8_lossy(a1));
        if a0 != probe || !a1.starts_with(&dir) {
            continue;
        }
        let name = Path::new(&*a1)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(st) = state(pid) {
            found.insert(name, (pid, st));
        }
    }
    found
}

fn state(pid: i32) -> Option<char> {
    drainit::procfs::stat(pid).ok().flatten().map(|s| s.state)
}

fn word(st: Option<char>) -> &'static str {
    match st {
        None | Some('X') => "gone",
        Some('Z') => "zombie",
        Some('T') | Some('t') => "stopped",
        _ => "run",
    }
}

fn read_log(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn count(log: &[String], sig: i32) -> usize {
    let s = sig.to_string();
    log.iter().filter(|l| **l == s).count()
}

fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    false
}

fn first_child(pid: i32) -> Option<i32> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Runs one scenario with the init found in `bin_dir` (or /usr/bin).
fn run(s: &Scenario, init: &str, probe: &Path, tag: &str) -> Obs {
    let dir = tempdir(&format!("compat-{tag}"));
    let log = |name: &str| dir.join(format!("{name}.log"));
    let mut argv: Vec<String> = vec![init.to_string()];
    argv.extend(s.args.iter().cloned());
    match &s.child {
        Child::Probe(flags) => {
            if !s.args.iter().any(|a| a == "--")
                && s.anchor.is_tini()
                && !s.name.contains("after the command")
            {
                argv.push("--".into());
            }
            argv.push(probe.to_string_lossy().into_owned());
            argv.push(log("child").to_string_lossy().into_owned());
            for f in flags {
                argv.push(f.replace("{dir}", &dir.to_string_lossy()));
            }
        }
        Child::Cmd(c) => argv.extend(c.iter().cloned()),
        Child::Nothing => {}
    }
    // The init runs from sh -c 'TRAP exec INIT ...' so that `trap ''` can
    // leave signals ignored when it starts, as a parent would.
    let trap = s
        .env
        .iter()
        .find(|(k, _)| k == "COMPAT_TRAP")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let line = format!(
        "{trap}exec {}",
        argv.iter()
            .map(|a| shell_quote(a))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut cmd = if s.pid1 {
        let mut c = Command::new("unshare");
        c.args([
            "--pid",
            "--fork",
            "--mount-proc",
            "--kill-child",
            "sh",
            "-c",
            &line,
        ]);
        c
    } else {
        let mut c = Command::new("sh");
        c.args(["-c", &line]);
        c
    };
    for (k, _) in std::env::vars() {
        if k.starts_with("TINI_") || k.starts_with("DUMB_INIT_") || k.starts_with("DRAINIT_") {
            cmd.env_remove(k);
        }
    }
    for (k, v) in &s.env {
        if k != "COMPAT_TRAP" {
            cmd.env(k, v);
        }
    }
    // std's spawn is glibc's posix_spawn, which leaves 32 and 33 ignored in
    // the child (and so in every init here): start from their defaults.
    // SAFETY (test): raw rt_sigaction between fork and exec.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            let dfl = [0 as libc::c_ulong; 4];
            for sig in [32, 33] {
                libc::syscall(
                    libc::SYS_rt_sigaction,
                    sig,
                    dfl.as_ptr(),
                    std::ptr::null_mut::<libc::c_void>(),
                    8usize,
                );
            }
            Ok(())
        });
    }
    let out = std::fs::File::create(dir.join("stdout")).unwrap();
    let err = std::fs::File::create(dir.join("stderr")).unwrap();
    cmd.stdin(Stdio::null()).stdout(out).stderr(err);
    let mut child = cmd.spawn().expect("spawn the init");
    let top = child.id() as i32;
    let mut obs = Obs::default();
    // The init's host pid: sh execs it; under unshare it is unshare's child.
    let init_pid = if s.pid1 {
        let mut pid = None;
        wait_until(LIMIT, || {
            pid = first_child(top);
            pid.is_some() || child.try_wait().ok().flatten().is_some()
        });
        pid.unwrap_or(-1)
    } else {
        top
    };
    let exited = |child: &mut std::process::Child| child.try_wait().ok().flatten().is_some();
    // sh has exec'd the init once argv[0] is the init's.
    wait_until(LIMIT, || {
        exited(&mut child)
            || std::fs::read(format!("/proc/{init_pid}/cmdline"))
                .is_ok_and(|c| c.split(|&b| b == 0).next() == Some(init.as_bytes()))
    });
    for step in &s.steps {
        if let Step::Early(sig) = step {
            // Right after the init has blocked it, before the child is set up.
            wait_until(LIMIT, || exited(&mut child) || blocks(init_pid, *sig));
            // SAFETY (test): a signal to the init we started.
            unsafe { libc::kill(init_pid, *sig) };
        }
    }
    let ready_ok = wait_until(LIMIT, || {
        exited(&mut child)
            || s.ready
                .iter()
                .all(|n| read_log(&log(n)).iter().any(|l| l == "ready"))
    });
    if !ready_ok {
        obs.notes.push("timeout: not ready".into());
    }
    // Probes fork only before they say ready: one scan finds them all.
    let known: BTreeMap<String, i32> = probes(probe, &dir)
        .into_iter()
        .map(|(name, (pid, _))| (name, pid))
        .collect();
    let any_stopped = || known.values().any(|&pid| word(state(pid)) == "stopped");
    let snapshot = |obs: &mut Obs, label: &str| {
        let mut line = format!("{label}: init={}", word(state(init_pid)));
        for (name, &pid) in &known {
            let _ = write!(line, " {name}={}", word(state(pid)));
        }
        obs.states.push(line);
    };
    let gone = |child: &mut std::process::Child| {
        exited(child) || matches!(word(state(init_pid)), "zombie" | "gone")
    };
    // Sentinels sent to the init, and whether each has reached the child
    // (logged, or pending at a stopped child).
    let sentinels = std::cell::Cell::new(0usize);
    let child_pid = known.get("child").copied();
    let held = || {
        child_pid.is_some_and(|pid| {
            word(state(pid)) == "stopped" && pending_signals(pid) & bit(SENTINEL) != 0
        })
    };
    let sentinels_arrived =
        || count(&read_log(&log("child")), SENTINEL) >= sentinels.get() || held();
    // No probe has a stop signal pending: each has stopped or logged it
    // (a SIGCONT sent after would discard it).
    let stops_settled = || {
        known.values().all(|&pid| {
            pending_signals(pid) & (bit(19) | bit(20) | bit(21) | bit(22)) == 0
                || matches!(word(state(pid)), "gone" | "zombie")
        })
    };
    for step in &s.steps {
        let Step::Signal(sig) = step else { continue };
        if gone(&mut child) {
            break;
        }
        // A signal that ends the child: the sentinel goes first, as the
        // child would not be there to log it after.
        let ends = *sig == libc::SIGTERM && s.term_ends && (!s.has("-r") || s.has("15:1"));
        let sentinel = || {
            let before = count(&read_log(&log("child")), SENTINEL);
            sentinels.set(sentinels.get() + 1);
            // SAFETY (test): a signal to the init we started.
            unsafe { libc::kill(init_pid, SENTINEL) };
            before
        };
        let before = if ends { sentinel() } else { 0 };
        if ends {
            wait_until(LIMIT, || count(&read_log(&log("child")), SENTINEL) > before);
        }
        let grown = read_log(&log("child")).len();
        // A stopped child holding an earlier sentinel says nothing new.
        let held_before = held();
        // SAFETY (test): a signal to the init we started.
        unsafe { libc::kill(init_pid, *sig) };
        if (libc::SIGTSTP..=libc::SIGTTOU).contains(sig) {
            // A stop passed on lands before the sentinel is sent (else the
            // child may take the sentinel in and stop before logging it).
            wait_until(Duration::from_secs(2), || {
                gone(&mut child)
                    || ((word(state(init_pid)) == "stopped"
                        || any_stopped()
                        || read_log(&log("child")).len() > grown)
                        && stops_settled())
            });
        }
        if !ends {
            sentinel();
        }
        // Settled: the sentinel reached the child, or the init stopped
        // itself (the sentinel waits at the init) and every stop signal it
        // passed on has landed.
        let settled = wait_until(LIMIT, || {
            gone(&mut child)
                || (!ends
                    && (count(&read_log(&log("child")), SENTINEL) >= sentinels.get()
                        || (!held_before && held()))
                    && stops_settled())
                || (word(state(init_pid)) == "stopped" && stops_settled())
        });
        if !settled {
            obs.notes.push(format!("timeout after signal {sig}"));
        }
        if gone(&mut child) {
            obs.states.push(format!("after {sig}: init exited"));
            break;
        }
        snapshot(&mut obs, &format!("after {sig}"));
    }
    // The end: SIGTERM (after a CONT for anything stopped) if still running.
    if !exited(&mut child) && s.term_at_end {
        if word(state(init_pid)) == "stopped" || any_stopped() {
            obs.notes.push("stopped at the end: sent SIGCONT".into());
            // The init first: what it passes on (the CONT, the sentinels
            // it held) lands before anything else is sent.
            // SAFETY (test): a signal to the init we started.
            unsafe { libc::kill(init_pid, libc::SIGCONT) };
            let short = Duration::from_secs(3);
            wait_until(short, || {
                gone(&mut child) || (word(state(init_pid)) != "stopped" && sentinels_arrived())
            });
            for &pid in known.values() {
                if word(state(pid)) == "stopped" {
                    // SAFETY (test): a signal to a probe we started.
                    unsafe { libc::kill(pid, libc::SIGCONT) };
                }
            }
            wait_until(short, || {
                gone(&mut child) || count(&read_log(&log("child")), SENTINEL) >= sentinels.get()
            });
        }
        let end = if s.kill_at_end {
            libc::SIGKILL
        } else {
            libc::SIGTERM
        };
        // SAFETY (test): a signal to the init we started.
        unsafe { libc::kill(init_pid, end) };
    }
    if !wait_until(LIMIT, || exited(&mut child)) {
        obs.notes
            .push("timeout: the init did not exit; SIGKILLed".into());
        unsafe { libc::kill(init_pid, libc::SIGKILL) };
        let _ = child.kill();
    }
    let status = child.wait().expect("wait");
    obs.code = match (
        status.code(),
        std::os::unix::process::ExitStatusExt::signal(&status),
    ) {
        (Some(c), _) => c.to_string(),
        (None, Some(sig)) => format!("killed by {sig}"),
        _ => "?".into(),
    };
    // What is left once the init is gone (processes it did not take along).
    // A zombie is on its way out (its new parent reaps it), and as PID 1
    // the init takes its namespace along: wait for that.
    wait_until(Duration::from_secs(2), || {
        known.values().all(|&pid| match word(state(pid)) {
            "zombie" => false,
            "gone" => true,
            _ => !s.pid1,
        })
    });
    for (name, &pid) in &known {
        if matches!(word(state(pid)), "run" | "stopped") {
            obs.alive_after.push(name.clone());
            // SAFETY (test): cleans up a probe we started.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "log") {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            obs.logs.insert(name, read_log(&p));
        }
    }
    let masked = |f: &str| {
        let text = std::fs::read_to_string(dir.join(f)).unwrap_or_default();
        mask(&text, &dir, probe, init)
    };
    obs.stdout = masked("stdout");
    obs.stderr = child_lines_after_spawn(&masked("stderr"));
    let _ = std::fs::remove_dir_all(&dir);
    obs
}

/// dumb-init's forked child prints its setsid lines while the parent prints
/// "Child spawned": two processes, no order between them. Both sides are
/// read with the child's lines right after the parent's.
fn child_lines_after_spawn(stderr: &str) -> String {
    let from_child = |l: &str| {
        l.starts_with("[dumb-init] Unable to attach to controlling tty")
            || l == "[dumb-init] setsid complete.\n"
            || (l.starts_with("[dumb-init] /")
                && (l.ends_with(": No such file or directory\n")
                    || l.ends_with(": Permission denied\n")))
    };
    let lines: Vec<&str> = stderr.split_inclusive('\n').collect();
    let Some(at) = lines
        .iter()
        .position(|l| l.starts_with("[dumb-init] Child spawned with PID"))
    else {
        return stderr.to_string();
    };
    let mut out: Vec<&str> = lines.iter().copied().filter(|l| !from_child(l)).collect();
    let at = out.iter().position(|l| *l == lines[at]).unwrap_or(0) + 1;
    let child: Vec<&str> = lines.iter().copied().filter(|l| from_child(l)).collect();
    out.splice(at..at, child);
    out.concat()
}

/// The signals pending at `pid` (SigPnd and ShdPnd).
fn pending_signals(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .filter_map(|l| {
            l.strip_prefix("SigPnd:")
                .or_else(|| l.strip_prefix("ShdPnd:"))
        })
        .filter_map(|v| u64::from_str_radix(v.trim(), 16).ok())
        .fold(0, |a, b| a | b)
}

fn bit(sig: i32) -> u64 {
    1 << (sig - 1)
}

/// Whether `pid` blocks `sig` (its SigBlk).
fn blocks(pid: i32, sig: i32) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigBlk:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .is_some_and(|m| m & (1 << (sig - 1)) != 0)
}

/// Masks what differs from run to run: pids, timestamps, paths (the
/// drainit links' directory reads as the anchors' /usr/bin).
fn mask(text: &str, dir: &Path, probe: &Path, init: &str) -> String {
    let bin_dir = Path::new(init)
        .parent()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let text = text
        .replace(&*dir.to_string_lossy(), "DIR")
        .replace(&*probe.to_string_lossy(), "PROBE")
        .replace(&bin_dir, "/usr/bin");
    let mut out = String::with_capacity(text.len());
    let keys = [
        "tini (",
        "PID ",
        "pid ",
        "pid: ",
        "pid: '",
        "pid '",
        "pid=",
        "[drainit +",
    ];
    let mut rest = text.as_str();
    'outer: while !rest.is_empty() {
        for k in keys {
            if let Some(after) = rest.strip_prefix(k) {
                let digits = after
                    .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                    .unwrap_or(after.len());
                if digits > 0 {
                    out.push_str(k);
                    out.push('N');
                    rest = &after[digits..];
                    continue 'outer;
                }
            }
        }
        let c = rest.chars().next().unwrap();
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

// ---------------------------------------------------------------- judging

/// The fields in which two observations differ.
fn diff(a: &Obs, b: &Obs) -> Vec<String> {
    let mut d = Vec::new();
    let mut field = |name: &str, x: String, y: String| {
        if x != y {
            d.push(format!("{name}:\n      anchor:  {x}\n      drainit: {y}"));
        }
    };
    field("exit", a.code.clone(), b.code.clone());
    field(
        "stdout",
        format!("{:?}", a.stdout),
        format!("{:?}", b.stdout),
    );
    field(
        "stderr",
        format!("{:?}", a.stderr),
        format!("{:?}", b.stderr),
    );
    let names: std::collections::BTreeSet<_> = a.logs.keys().chain(b.logs.keys()).collect();
    for n in names {
        field(
            &format!("log {n}"),
            format!("{:?}", a.logs.get(n)),
            format!("{:?}", b.logs.get(n)),
        );
    }
    field(
        "states",
        format!("{:?}", a.states),
        format!("{:?}", b.states),
    );
    field(
        "alive after",
        format!("{:?}", a.alive_after),
        format!("{:?}", b.alive_after),
    );
    field("notes", format!("{:?}", a.notes), format!("{:?}", b.notes));
    d
}

fn fields(d: &[String]) -> Vec<&str> {
    d.iter()
        .map(|l| l.split(':').next().unwrap_or(""))
        .collect()
}

fn only(d: &[String], allowed: &[&str]) -> bool {
    fields(d)
        .iter()
        .all(|f| allowed.iter().any(|a| f.starts_with(a)))
}

/// Which improvement explains the difference, if one does.
fn improvement(s: &Scenario, a: &Obs, b: &Obs, d: &[String]) -> Option<&'static str> {
    let grand = |f: &str| {
        f.starts_with("log orphan")
            || f.starts_with("log grandchild")
            || f.starts_with("log great")
            || f.starts_with("log daemon")
    };
    // The version and licence lines (alone or in a usage text).
    if only(d, &["stdout", "stderr"])
        && version_masked(&a.stdout) == version_masked(&b.stdout)
        && version_masked(&a.stderr) == version_masked(&b.stderr)
    {
        return Some("version");
    }
    // tini's "not PID 1 and not a subreaper" warning; orphans come to drainit.
    if s.anchor.is_tini()
        && !s.pid1
        && !s.has("-s")
        && !s.env.iter().any(|(k, _)| k == "TINI_SUBREAPER")
        && only(
            d,
            &["stdout", "stderr", "log orphan", "alive after", "states"],
        )
        && strip_subreaper_warning(&a.stderr) == b.stderr
        && a.stdout
            == b.stdout
                .split_inclusive('\n')
                .filter(|l| *l != "[TRACE tini (N)] Registered as child subreaper\n")
                .collect::<String>()
    {
        return Some("subreaper");
    }
    // The leftovers drain: when the child exits, what it left behind gets
    // SIGTERM (logged last) and exits with the tree, not killed or left.
    // A foreground runner left behind (it waits for its own child) is
    // passed over: its child gets the SIGTERM, and it exits with it; the
    // signals sent to drainit after the child's exit (the sentinel) reach
    // the leftovers too, where tini had exited.
    let others_drained = b.logs.iter().filter(|(n, _)| *n != "child").all(|(n, l)| {
        let al = a.logs.get(n.as_str()).cloned().unwrap_or_default();
        let runner = s.has_probe_flag("-F");
        l.starts_with(&al)
            && (l.last().is_some_and(|x| x == "15")
                || (runner && l[al.len()..].iter().all(|x| x == "15" || x == "64")))
    });
    // tini -w: drainit reaps the leftovers it drained, and warns as tini
    // does for each one it reaps.
    let reap_warnings_only = |f: &str| {
        f == "stderr"
            && s.has("-w")
            && b.stderr
                .split_inclusive('\n')
                .filter(|l| *l != "[WARN  tini (N)] Reaped zombie process with pid=N\n")
                .collect::<String>()
                == a.stderr
    };
    if s.ready.len() > 1
        && fields(d)
            .iter()
            .all(|f| grand(f) || *f == "alive after" || *f == "states" || reap_warnings_only(f))
        && b.alive_after.is_empty()
        && others_drained
        && s.anchor.is_tini()
    {
        return Some("drain");
    }
    // dumb-init's setsid mode: what it sends the child's group when the
    // child exits (SIGTERM) reaches the same processes, and they get the
    // time to handle it: each log is the anchor's, or the anchor's and
    // that SIGTERM (the anchor exits, as PID 1 taking them along, or the
    // run ends, before they get to it).
    // (Signals sent to drainit while it waits for that group, the
    // sentinel, reach it too, where dumb-init had exited.)
    let handled_the_term = b.logs.iter().filter(|(n, _)| *n != "child").all(|(n, l)| {
        let al = a.logs.get(n.as_str()).cloned().unwrap_or_default();
        let extra = l.get(al.len()..).unwrap_or_default();
        *l == al
            || (l.starts_with(&al)
                && l.last().is_some_and(|x| x == "15")
                && (extra.len() == 1 || s.has_probe_flag("-F"))
                && extra.iter().all(|x| x == "15" || x == "64"))
    });
    if s.anchor == Anchor::DumbInit
        && s.mode_group()
        && s.ready.len() > 1
        && fields(d)
            .iter()
            .all(|f| grand(f) || *f == "alive after" || *f == "states")
        && b.alive_after.iter().all(|n| a.alive_after.contains(n))
        && handled_the_term
    {
        return Some("drain");
    }
    // Fault-number signals sent with kill: tini dies of them or drops them.
    let fault = s
        .steps
        .iter()
        .any(|st| matches!(st, Step::Signal(n) if [4, 5, 6, 7, 8, 11, 31].contains(n)));
    if s.anchor.is_tini()
        && fault
        && b.code == "0"
        && b.logs.get("child").is_some_and(|l| {
            l.iter()
                .any(|x| ["4", "5", "6", "7", "8", "11", "31"].contains(&x.as_str()))
        })
    {
        return Some("faults");
    }
    // A signal before the child ran: kept (dumb-init may lose it).
    let early: Vec<String> = s
        .steps
        .iter()
        .filter_map(|st| match st {
            Step::Early(n) => Some(n.to_string()),
            _ => None,
        })
        .collect();
    // Whether the early signal finds the child before or after it set up
    // its own handling is a race under every init: drainit's child must
    // have it, in its log or as the signal it died of.
    let got_it = |e: &String| {
        b.logs.get("child").is_some_and(|l| l.contains(e))
            || b.code == (128 + e.parse::<i32>().unwrap_or(0)).to_string()
    };
    if !early.is_empty()
        && only(d, &["log child", "states", "exit", "notes"])
        && early.iter().all(got_it)
    {
        return Some("startup");
    }
    None
}

fn version_masked(text: &str) -> String {
    let mut t = text.replace("drainit is MIT licensed.\n", "LICENCE");
    if t.starts_with("The MIT License (MIT)") {
        t = "LICENCE".into();
    }
    let mut out = String::new();
    for line in t.split_inclusive('\n') {
        if let Some(at) = line.find("tini version ") {
            let end = line[at..].find([')', '\n']).map_or(line.len(), |e| at + e);
            out.push_str(&line[..at]);
            out.push_str("tini version V");
            out.push_str(&line[end..]);
        } else if line.starts_with("dumb-init v") {
            out.push_str("dumb-init vV\n");
        } else {
            out.push_str(line);
        }
    }
    out
}

fn strip_subreaper_warning(stderr: &str) -> String {
    let mut out = String::new();
    let mut skip = 0;
    for line in stderr.split_inclusive('\n') {
        // (PID 1 reads PID N once pids are masked.)
        if line.contains("Tini is not running as PID ")
            && line.contains("and isn't registered as a child subreaper")
        {
            skip = 3;
        }
        if skip > 0 {
            skip -= 1;
            continue;
        }
        out.push_str(line);
    }
    out
}

// ---------------------------------------------------------------- the test

fn readme_what_changes() -> Vec<String> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme
        .find("What changes:\n")
        .expect("README: 'What changes:' in the drop-in section");
    readme[start..]
        .lines()
        .skip(1)
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| l.starts_with("- ") || l.starts_with("  "))
        .fold(Vec::new(), |mut items, l| {
            if let Some(item) = l.strip_prefix("- ") {
                items.push(item.to_string());
            } else if let Some(last) = items.last_mut() {
                last.push(' ');
                last.push_str(l.trim());
            }
            items
        })
}

#[test]
fn the_readme_lists_exactly_the_improvements() {
    let want: Vec<String> = IMPROVEMENTS.iter().map(|(_, t)| t.to_string()).collect();
    assert_eq!(
        readme_what_changes(),
        want,
        "README's \"What changes\" must be IMPROVEMENTS word for word"
    );
}

#[derive(Default)]
struct Tally {
    scenarios: usize,
    identical: usize,
    improved: BTreeMap<&'static str, usize>,
    failures: Vec<String>,
}

#[test]
fn drainit_behaves_like_tini_and_dumb_init() {
    if need_pidns() {
        return;
    }
    for a in [Anchor::Tini, Anchor::TiniStatic, Anchor::DumbInit] {
        if !Path::new(&a.real()).exists() {
            skip(&format!("{} is missing: run `make deps`", a.real()));
            return;
        }
    }
    let work = tempdir("compat-bins");
    let bins = Arc::new(Bins {
        probe: build_probe(&work),
        glibc: link_names(&work.join("glibc"), Path::new(common::drainit())),
        musl: {
            let p = common::static_dir().join("drainit");
            p.exists().then(|| link_names(&work.join("musl"), &p))
        },
    });
    if bins.musl.is_none() {
        skip("target/static/drainit is missing (bash scripts/static.sh): the musl build is not compared");
    }
    let list = scenarios();
    let only_filter = std::env::var("COMPAT_ONLY").ok();
    let list: Vec<Scenario> = list
        .into_iter()
        .filter(|s| {
            only_filter
                .as_ref()
                .is_none_or(|f| s.name.contains(f.as_str()))
        })
        .collect();
    let queue = Arc::new(Mutex::new(list));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let threads: usize = std::env::var("COMPAT_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (queue, tally, bins) = (queue.clone(), tally.clone(), bins.clone());
            std::thread::spawn(move || loop {
                let Some(s) = queue.lock().unwrap().pop() else {
                    break;
                };
                judge(&s, &bins, &tally, t);
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let t = tally.lock().unwrap();
    let improved: usize = t.improved.values().sum();
    for f in &t.failures {
        eprintln!("DIFFERENT {f}");
    }
    eprintln!("compat: improvements: {:?}", t.improved);
    eprintln!(
        "compat: {} scenarios, {} identical, {} on the list of improvements, {} different",
        t.scenarios,
        t.identical,
        improved,
        t.failures.len()
    );
    assert!(
        t.failures.is_empty(),
        "{} scenarios differ from the anchor (see DIFFERENT above)",
        t.failures.len()
    );
}

fn judge(s: &Scenario, bins: &Bins, tally: &Mutex<Tally>, thread: usize) {
    let anchor = run(s, &s.anchor.real(), &bins.probe, &format!("a{thread}"));
    let mut sides = vec![("glibc", bins.glibc.join(s.anchor.name()))];
    if let (true, Some(m)) = (s.also_static, &bins.musl) {
        sides.push(("musl", m.join(s.anchor.name())));
    }
    for (build, bin) in sides {
        let ours = run(
            s,
            &bin.to_string_lossy(),
            &bins.probe,
            &format!("d{thread}"),
        );
        let mut d = diff(&anchor, &ours);
        let name = format!("{} [{build}]", s.name);
        // A difference that is not an improvement is run again, both
        // sides, twice: it fails only if it holds every time. Those that
        // vanish are printed as FLAKY with their first diff.
        if !d.is_empty() && improvement(s, &anchor, &ours, &d).is_none() {
            let first = d.join("\n    ");
            for attempt in 0..2 {
                let a = run(
                    s,
                    &s.anchor.real(),
                    &bins.probe,
                    &format!("a{thread}r{attempt}"),
                );
                let o = run(
                    s,
                    &bin.to_string_lossy(),
                    &bins.probe,
                    &format!("d{thread}r{attempt}"),
                );
                let again = diff(&a, &o);
                if again.is_empty() || improvement(s, &a, &o, &again).is_some() {
                    eprintln!("FLAKY {name} (identical on a re-run)\n    {first}");
                    d = again;
                    break;
                }
            }
        }
        let mut t = tally.lock().unwrap();
        t.scenarios += 1;
        if d.is_empty() {
            t.identical += 1;
            continue;
        }
        let text = format!("{name}\n    {}", d.join("\n    "));
        if let Some(id) = improvement(s, &anchor, &ours, &d) {
            *t.improved.entry(id).or_default() += 1;
        } else {
            t.failures.push(text);
        }
    }
}

/// Docker runs its init as `/sbin/docker-init -- CMD`: under the tini name
/// the DRAINIT_* variables still configure a drain (not differential: tini
/// has no drain).
#[test]
fn drain_variables_work_under_the_tini_name() {
    if need_pidns() {
        return;
    }
    let work = tempdir("compat-drain-env");
    let probe = build_probe(&work);
    let names = link_names(&work.join("bin"), Path::new(common::drainit()));
    let ready = work.join("ready");
    let log = work.join("child.log");
    let init = Command::new(names.join("tini"))
        .args(["--"])
        .arg(&probe)
        .arg(&log)
        .env("DRAINIT_DRAIN_DELAY", "3s")
        .env("DRAINIT_READY_FILE", &ready)
        // The probe listens on nothing: ready once it runs.
        .env("DRAINIT_READY_ON", "start")
        .env("DRAINIT_LOG", "info")
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(wait_until(LIMIT, || ready.exists()
        && read_log(&log).iter().any(|l| l == "ready")));
    // SAFETY (test): a signal to the init we started.
    unsafe { libc::kill(init.id() as i32, libc::SIGTERM) };
    assert!(
        wait_until(LIMIT, || !ready.exists()),
        "readiness off on SIGTERM"
    );
    let out = init.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("draining (delay 3.0s"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(read_log(&log).last().map(String::as_str), Some("15"));
}

/// A signal drainit raises itself is drainit's own failure: abort()
/// (`tkill(self, SIGABRT)`, what a panic with panic=abort ends in) kills
/// drainit with SIGABRT and never reaches the app. gdb makes the running
/// drainit call abort() while its child waits for signals.
#[test]
fn a_self_raised_abort_kills_drainit_not_the_app() {
    if !Command::new("gdb")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
    {
        skip("gdb is missing: run `make deps`");
        return;
    }
    let dir = tempdir("compat-abort");
    let log = dir.join("app.log");
    let siglog = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/siglog.py");
    let mut init = Command::new(common::drainit())
        .args(["--", "python3", siglog])
        .arg(&log)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(wait_until(LIMIT, || read_log(&log)
        .iter()
        .any(|l| l == "ready")));
    let gdb = Command::new("gdb")
        .args([
            "-p",
            &init.id().to_string(),
            "-batch",
            "-ex",
            "call (void)abort()",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let status = init.wait().unwrap();
    let app: Vec<i32> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&*log.to_string_lossy()))
        })
        .collect();
    let app_log = read_log(&log);
    for pid in &app {
        // SAFETY (test): the orphaned app we started.
        unsafe { libc::kill(*pid, libc::SIGKILL) };
    }
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGABRT),
        "drainit must die of its own SIGABRT ({status:?}); gdb: {}",
        String::from_utf8_lossy(&gdb.stdout)
    );
    assert_eq!(
        app_log,
        ["ready"],
        "the app received a signal drainit raised itself"
    );
    assert_eq!(app.len(), 1, "the app keeps running, untouched");
}

/// On a real pty (as under `docker run -t`): Ctrl-C, Ctrl-\\ and Ctrl-Z
/// typed at the terminal, compared between each anchor and drainit.
#[test]
fn a_terminal_behaves_the_same() {
    let work = tempdir("compat-pty");
    let probe = build_probe(&work);
    let names = link_names(&work.join("bin"), Path::new(common::drainit()));
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/compat/pty_run.py");
    let mut failures = Vec::new();
    let mut same = 0;
    for (anchor, args) in [
        (Anchor::Tini, &["-s", "--"][..]),
        (Anchor::DumbInit, &[][..]),
        (Anchor::DumbInit, &["-c"][..]),
    ] {
        for keys in ["intr,intr", "quit,intr", "susp,intr"] {
            let run_one = |init: &str| {
                let log = work.join(format!("pty-{}.log", std::process::id()));
                let _ = std::fs::remove_file(&log);
                let out = Command::new("python3")
                    .arg(script)
                    .arg(&log)
                    .arg(keys)
                    .arg("--")
                    .arg(init)
                    .args(args)
                    .arg(&probe)
                    .arg(&log)
                    .stdin(Stdio::null())
                    .output()
                    .unwrap();
                String::from_utf8_lossy(&out.stdout).trim().to_string()
            };
            let ours = names.join(anchor.name());
            let mut a = run_one(&anchor.real());
            let mut b = run_one(&ours.to_string_lossy());
            let name = format!("{} {args:?} keys {keys}", anchor.name());
            if a != b {
                // Once more, both sides: a difference must hold to count.
                eprintln!("FLAKY? pty {name}\n      anchor:  {a}\n      drainit: {b}");
                a = run_one(&anchor.real());
                b = run_one(&ours.to_string_lossy());
            }
            if a == b {
                same += 1;
            } else {
                failures.push(format!("{name}\n      anchor:  {a}\n      drainit: {b}"));
            }
        }
    }
    for f in &failures {
        eprintln!("DIFFERENT pty {f}");
    }
    eprintln!(
        "compat: pty: {} scenarios, {same} identical, {} different",
        same + failures.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} pty scenarios differ",
        failures.len()
    );
}
