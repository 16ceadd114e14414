//! Signal routing in cascade mode: which processes a forwarded signal is
//! delivered to. Pure: it reads a snapshot of the process tree
//! ([`Tree`], filled from /proc by `crate::os::proctree`) and makes no syscalls.
//!
//! # The rule
//!
//! Going down from the main child, each process is looked at in turn:
//!
//! 1. it **handles** the signal (a handler, SigCgt; or the signal blocked
//!    in every thread, SigBlk, to be read with sigwait/signalfd as tini,
//!    dumb-init and drainit do): it receives the signal, and nothing below
//!    it does. A pre-fork master (gunicorn, nginx, httpd), a script with a
//!    `trap`, a nested init: they own their subtree and pass the signal on
//!    the way they mean to.
//! 2. it does not handle it and is **waiting for its children** (asleep
//!    in wait4/waitid, or in sigsuspend/pause, which is how dash's and
//!    busybox's `wait` builtin waits for SIGCHLD): it is a wrapper, a shell
//!    running a command. drainit passes over it and looks at each of its
//!    live children the same way. A wrapper with no live child left is
//!    itself what is running: it receives the signal.
//! 3. anything else receives it: a process that neither handles the
//!    signal nor waits for children acts on it exactly as if it had been
//!    exec'd (its default action; nothing if it ignores it, SigIgn).
//!
//! In a user's words: *the signal goes to the program the wrapper shells
//! are running, as if each `sh -c` had been an `exec`; a program that
//! handles the signal gets it and deals with its own children.*
//!
//! # Why this rule
//!
//! - It reproduces `exec`. With no wrapper, the main child is case 1 or 3
//!   and gets the signal, as before. With wrappers, the program they run
//!   gets it, whether its reaction is to handle it, to ignore it or to die.
//!   Exec'ing a program never gave its helpers a signal, and neither does
//!   this rule: an app that forks helpers (a Python pool, a Node app with
//!   child processes) is not waiting for them, so it is case 1 or 3 and
//!   its helpers get nothing directly.
//! - The wrapper survives: it was never signalled, so its wait returns
//!   when the app exits and its remaining commands run (`echo done`, a
//!   cleanup step). drainit then exits with the wrapper's status, which is
//!   the app's when the script passes it on (`app; exit $?`, or `app` as
//!   the last command). A signal a shell ignores (WINCH, URG) reaches the
//!   app, and one it dies of (HUP, QUIT, USR1, TERM) no longer kills it.
//! - "Waiting for children" is what separates a wrapper from an app with
//!   children: the same shell is a wrapper while it waits for `app` and
//!   the program itself while it runs a builtin between two commands.
//! - It works for any signal without a table of which signals matter: the
//!   decision uses the process's own handlers, never the signal's name.
//!
//! # The cases, decided
//!
//! - `sh -> bash -> app`: both shells wait, both are passed over.
//! - A program blocked waiting for a child it runs in the foreground
//!   (Python's `subprocess.run`) is a wrapper
//!   at that moment, as a shell is: the child gets the signal.
//! - `app1 & app2 & wait`: the shell waits for both (in wait4 or
//!   sigsuspend): each app is routed on its own. Every process the shell
//!   waits for gets the signal, so in `app | tee log` tee gets it too (as
//!   with `-g`, dumb-init, or Ctrl-C in a terminal).
//! - Start-up: an app that has not installed its handler yet is case 3 and
//!   dies of the signal's default action, which is what exec'ing it did.
//!   A shell that has not forked the app yet has no child: it receives the
//!   signal (exec'd, the app would have died of it before its handler
//!   existed; the status is the same 128+N).
//! - A process that ignores the signal (SigIgn) and is not waiting gets it
//!   and ignores it, as exec'd. A wrapper that ignores it (`nohup`,
//!   `trap '' HUP`) is still a wrapper: its children decide.
//! - A wrapper's child that is a zombie is not live: a wrapper left with
//!   only zombies is itself what runs now (it is about to run its next
//!   command) and receives the signal. A stopped child is routed like a
//!   running one: the signal stays pending until it is continued, as it
//!   would exec'd (only SIGKILL acts on a stopped process). A stopped
//!   wrapper is not waiting: it receives the signal itself.
//! - SIGINT: every shell catches SIGINT while it waits for a command, so
//!   that Ctrl-C, which a terminal sends to the shell and the command
//!   alike, ends the script only if it ended the command. That handler
//!   says nothing about the script, so a waiting process is a wrapper for
//!   SIGINT even though it catches it: the command gets SIGINT, the shell
//!   does not (given to dash or busybox too, it kills the script once the
//!   command exits). A `trap ... INT` cannot be told apart from that
//!   handler and is passed over too.
//! - Signals whose default action is "ignore" (WINCH, URG, CONT) and
//!   "terminate" (HUP, USR1, QUIT, TERM) and "stop" (TSTP, TTIN, TTOU) all
//!   follow the same rule. SIGCONT also goes to every stopped wrapper on
//!   the way down (a stopped process is not waiting, and CONT is the only
//!   way to resume it; CONT does nothing else to a process that does not
//!   catch it).
//! - SIGKILL and SIGSTOP cannot be handled, blocked or ignored, so when a
//!   `-r` rewrite forwards them they reach the programs the wrappers run.
//!   The grace deadline's SIGKILL is not routed: it goes to the whole tree.
//! - A process drainit cannot inspect (another user's process when drainit
//!   lacks CAP_SYS_PTRACE, so /proc/PID/wchan reads 0): its masks are
//!   still readable; it counts as waiting when it catches or blocks
//!   SIGCHLD, as every shell does and a Python or Java app does not.
//! - A main child missing from the snapshot (it just exited) gets the
//!   signal as addressed, as before the rule.
//!
//! # What the rule cannot fix
//!
//! A wrapper killed by the app itself: Apache prefork ends its stop with
//! `killpg(getpgrp(), SIGTERM)`, and a non-interactive shell runs httpd in
//! the shell's own process group (no job control), so the shell dies of
//! that TERM. Its remaining
//! commands do not run, and its status is 143 although httpd exited 0.
//! drainit reaps httpd itself once the shell is gone (it is re-parented to
//! drainit), so [`reported_status`] reports the app's status instead: when
//! the wrapper the stop signal passed over dies of a signal other than
//! SIGKILL, drainit exits with the status of the processes it routed the
//! signal to. That holds only when httpd outlives the shell: when the
//! dying shell's own wait4 reaps httpd first, httpd's status goes with the
//! shell, and drainit exits with the shell's 143 (2 runs in 10 with a
//! stand-in app). `exec httpd` in the entrypoint avoids both.

use std::fmt;

use crate::core::signal as signals;
use crate::core::timeline::ChildStatus;

/// What a sleeping process is waiting for, from /proc/PID/wchan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sleep {
    /// wait4/waitid: a child to change state.
    Children,
    /// sigsuspend/pause: a signal (dash's and busybox's `wait` builtin
    /// wait for SIGCHLD this way).
    Signal,
    /// Running, stopped, or asleep on anything else (a socket, a timer).
    Other,
    /// Asleep, but where cannot be read (another user's process and no
    /// CAP_SYS_PTRACE).
    Unknown,
    /// Not read: the rule did not need it for the signal the snapshot
    /// was taken for (see [`needs_sleep`]).
    Unread,
}

/// A command name as /proc/PID/stat gives it (at most 15 bytes; 16 kept),
/// held inline so that a snapshot and a route copy it without allocating.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Comm {
    len: u8,
    bytes: [u8; Comm::MAX],
}

impl Comm {
    pub const MAX: usize = 16;

    /// `name`, cut to [`Comm::MAX`] bytes at a character boundary.
    pub fn new(name: &str) -> Self {
        let mut end = name.len().min(Self::MAX);
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        let mut bytes = [0; Self::MAX];
        for (to, from) in bytes.iter_mut().zip(name.as_bytes().iter().take(end)) {
            *to = *from;
        }
        Self {
            len: end as u8,
            bytes,
        }
    }

    pub fn as_str(&self) -> &str {
        let bytes = self.bytes.get(..usize::from(self.len)).unwrap_or_default();
        std::str::from_utf8(bytes).unwrap_or_default()
    }
}

impl From<&str> for Comm {
    fn from(name: &str) -> Self {
        Self::new(name)
    }
}

impl PartialEq<&str> for Comm {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<str> for Comm {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl fmt::Debug for Comm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Comm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One process of the snapshot. Masks are as in /proc/PID/status:
/// bit n-1 is signal n.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proc {
    pub pid: i32,
    pub ppid: i32,
    pub pgid: i32,
    pub sid: i32,
    /// The state letter of /proc/PID/stat (R, S, D, T, t, Z, ...).
    pub state: char,
    /// SigCgt: signals with a handler.
    pub caught: u64,
    /// SigIgn: signals set to SIG_IGN.
    pub ignored: u64,
    /// SigBlk: signals blocked in every thread.
    pub blocked: u64,
    /// Start time in clock ticks since boot: with the pid, the identity of
    /// the process (pids are reused).
    pub start_ticks: u64,
    pub comm: Comm,
    pub sleep: Sleep,
}

/// Whether signal `sig` is set in a /proc mask.
pub fn in_mask(mask: u64, sig: i32) -> bool {
    (1..=64).contains(&sig) && mask & (1u64 << (sig - 1)) != 0
}

impl Proc {
    pub fn catches(&self, sig: i32) -> bool {
        in_mask(self.caught, sig)
    }

    pub fn ignores(&self, sig: i32) -> bool {
        in_mask(self.ignored, sig)
    }

    pub fn blocks(&self, sig: i32) -> bool {
        in_mask(self.blocked, sig)
    }

    /// Not a zombie (or dead): it can still act on a signal.
    pub fn live(&self) -> bool {
        !matches!(self.state, 'Z' | 'X' | 'x')
    }

    pub fn stopped(&self) -> bool {
        matches!(self.state, 'T' | 't')
    }

    /// Waiting for its children (see [`Sleep`]). When that cannot be read,
    /// catching or blocking SIGCHLD stands in: every shell does.
    pub fn waiting(&self) -> bool {
        match self.sleep {
            Sleep::Children | Sleep::Signal => true,
            Sleep::Other | Sleep::Unread => false,
            Sleep::Unknown => self.catches(libc::SIGCHLD) || self.blocks(libc::SIGCHLD),
        }
    }
}

/// A snapshot of (part of) the process tree. Held in vectors that
/// [`Tree::clear`] empties and keeps, so that the runtime reads every
/// forwarded signal's snapshot into the same memory (reserved at start-up
/// with [`Tree::with_capacity`]; a bigger tree grows it once).
#[derive(Clone, Debug, Default)]
pub struct Tree {
    /// By pid, ascending.
    procs: Vec<Proc>,
    /// (ppid, pid), ascending.
    children: Vec<(i32, i32)>,
    /// The first process that is there but could not be read, and why.
    unread: Option<(i32, String)>,
}

impl Tree {
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty tree with room for `procs` processes.
    pub fn with_capacity(procs: usize) -> Self {
        Self {
            procs: Vec::with_capacity(procs),
            children: Vec::with_capacity(procs),
            unread: None,
        }
    }

    /// Empties the tree and keeps its memory.
    pub fn clear(&mut self) {
        self.procs.clear();
        self.children.clear();
        self.unread = None;
    }

    /// How many processes fit before the tree grows.
    pub fn capacity(&self) -> usize {
        self.procs.capacity().min(self.children.capacity())
    }

    pub fn from_procs(procs: impl IntoIterator<Item = Proc>) -> Self {
        let mut tree = Self::new();
        for p in procs {
            tree.insert(p);
        }
        tree
    }

    /// Records that `pid` exists but could not be read (the first such
    /// process is kept): the rule treats it as unseen, and the supervisor
    /// says so.
    pub fn note_unread(&mut self, pid: i32, error: &str) {
        if self.unread.is_none() {
            self.unread = Some((pid, error.to_string()));
        }
    }

    /// The first process that could not be read, and the error.
    pub fn unread(&self) -> Option<(i32, &str)> {
        self.unread.as_ref().map(|(pid, e)| (*pid, e.as_str()))
    }

    /// Adds (or replaces) a process; its parent is its ppid.
    pub fn insert(&mut self, p: Proc) {
        match self.procs.binary_search_by_key(&p.pid, |q| q.pid) {
            Ok(at) => {
                let Some(slot) = self.procs.get_mut(at) else {
                    return;
                };
                let old = (slot.ppid, slot.pid);
                let (ppid, pid) = (p.ppid, p.pid);
                *slot = p;
                if let Ok(i) = self.children.binary_search(&old) {
                    self.children.remove(i);
                }
                self.add_child(ppid, pid);
            }
            Err(at) => {
                self.add_child(p.ppid, p.pid);
                self.procs.insert(at, p);
            }
        }
    }

    fn add_child(&mut self, ppid: i32, pid: i32) {
        if let Err(at) = self.children.binary_search(&(ppid, pid)) {
            self.children.insert(at, (ppid, pid));
        }
    }

    pub fn get(&self, pid: i32) -> Option<&Proc> {
        let at = self.procs.binary_search_by_key(&pid, |q| q.pid).ok()?;
        self.procs.get(at)
    }

    pub fn len(&self) -> usize {
        self.procs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.procs.is_empty()
    }

    pub fn procs(&self) -> impl Iterator<Item = &Proc> {
        self.procs.iter()
    }

    /// The live (non-zombie) children of `pid` in the snapshot, by pid.
    pub fn live_children(&self, pid: i32) -> impl Iterator<Item = &Proc> {
        let from = self.children.partition_point(|&(ppid, _)| ppid < pid);
        self.children
            .get(from..)
            .unwrap_or_default()
            .iter()
            .take_while(move |&&(ppid, _)| ppid == pid)
            .filter_map(|&(_, c)| self.get(c))
            .filter(|p| p.live())
    }
}

/// Why a process receives the signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    /// It has a handler for it.
    Handler,
    /// It blocks it in every thread (sigwait/signalfd).
    Blocked,
    /// No handler and not waiting for children: its default action.
    Acts,
    /// No handler, not waiting for children, and it ignores the signal.
    Ignores,
    /// Waiting, but no live child is left: it is what runs now.
    NoChildren,
    /// Not in the snapshot (gone, or unreadable): sent as addressed.
    Unseen,
    /// A zombie (only the main child can be one here): harmless to send.
    Zombie,
    /// A wrapper passed over at the stop that started another program
    /// after it (a restart loop, a batch runner): see `hold.rs`.
    Restarted,
    /// A wrapper passed over at the stop, no longer waiting for a child
    /// and still running: see `hold.rs`.
    Idle,
}

/// Why a process is passed over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pass {
    /// Waiting for its children without a handler for the signal.
    Waiting,
    /// Waiting for its children; its SIGINT handler is a shell's.
    WaitingInt,
    /// Stopped with children: for SIGCONT it is passed over and resumed.
    Stopped,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Receives(Why),
    Passed(Pass),
    /// A leftover that already received the stop signal: not sent again.
    AlreadySent,
}

/// One process the route looked at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub pid: i32,
    /// The process it was reached from; 0 for a starting point.
    pub from: i32,
    pub start_ticks: u64,
    pub comm: Comm,
    pub role: Role,
}

impl Step {
    /// Whether drainit sends the signal to this process.
    pub fn sent(&self) -> bool {
        matches!(self.role, Role::Receives(_) | Role::Passed(Pass::Stopped))
    }
}

/// Where one signal goes, and why: parents before children.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Route {
    pub signal: i32,
    pub steps: Vec<Step>,
}

impl Route {
    /// The pids to send the signal to, in route order.
    pub fn recipients(&self) -> Vec<i32> {
        let mut out = Vec::new();
        self.recipients_into(&mut out);
        out
    }

    /// [`Route::recipients`], appended to `out` (no allocation when it
    /// has room).
    pub fn recipients_into(&self, out: &mut Vec<i32>) {
        out.extend(self.steps.iter().filter(|s| s.sent()).map(|s| s.pid));
    }

    /// The wrappers passed over, in route order.
    pub fn passed_over(&self) -> Vec<i32> {
        self.steps
            .iter()
            .filter(|s| matches!(s.role, Role::Passed(_)))
            .map(|s| s.pid)
            .collect()
    }

    pub fn step(&self, pid: i32) -> Option<&Step> {
        self.steps.iter().find(|s| s.pid == pid)
    }

    fn steps_from(&self, pid: i32) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(move |s| s.from == pid)
    }

    /// Whether `pid` (started at `start_ticks`) received the signal.
    pub fn reached(&self, pid: i32, start_ticks: u64) -> bool {
        self.steps
            .iter()
            .any(|s| s.pid == pid && s.start_ticks == start_ticks && s.sent())
    }
}

/// One line for the debug log, e.g.
/// `SIGTERM: to 12 python3 (handler); passed over 10 sh (waiting)`.
impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let steps = self.steps.iter().map(|s| (s.pid, &s.comm, s.role));
        show(f, self.signal, steps, 0)
    }
}

/// Writes a route's line from its steps (pid, name, role) in route order:
/// those sent to first, then those passed over; `more` steps left out.
fn show<'a>(
    f: &mut fmt::Formatter<'_>,
    signal: i32,
    steps: impl Iterator<Item = (i32, &'a Comm, Role)> + Clone,
    more: usize,
) -> fmt::Result {
    let sent = |role: Role| matches!(role, Role::Receives(_) | Role::Passed(Pass::Stopped));
    write!(f, "{}: to ", signals::Name(signal))?;
    let mut first = true;
    for (pid, comm, role) in steps.clone().filter(|s| sent(s.2)) {
        let sep = if first { "" } else { ", " };
        write!(f, "{sep}{pid} {comm} ({})", role_text(role))?;
        first = false;
    }
    if first {
        write!(f, "nobody")?;
    }
    let mut first = true;
    for (pid, comm, role) in steps.filter(|s| !sent(s.2)) {
        let sep = if first { "; passed over " } else { ", " };
        write!(f, "{sep}{pid} {comm} ({})", role_text(role))?;
        first = false;
    }
    if more > 0 {
        write!(f, "; and {more} more")?;
    }
    Ok(())
}

/// How many steps a [`RouteLine`] holds: the usual route, a wrapper shell
/// and the app, in full. Two keep a log line (and so every `Action`) at 64
/// bytes, the size it had with a `String`.
pub const LINE_STEPS: usize = 2;

/// A route as its log line shows it, in fixed-size data: the first
/// [`LINE_STEPS`] steps and how many more there were (shown as `; and N
/// more`). The supervisor hands one out for every routed signal, so it
/// allocates nothing; the text is the same as the route's
/// (`impl Display for Route`) when it has no more steps than that.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteLine {
    signal: i32,
    len: u8,
    more: u16,
    steps: [(i32, Comm, Role); LINE_STEPS],
}

impl RouteLine {
    pub fn of(route: &Route) -> Self {
        let mut steps: [(i32, Comm, Role); LINE_STEPS] =
            std::array::from_fn(|_| (0, Comm::default(), Role::AlreadySent));
        let mut len = 0;
        for (slot, s) in steps.iter_mut().zip(&route.steps) {
            *slot = (s.pid, s.comm.clone(), s.role);
            len += 1;
        }
        Self {
            signal: route.signal,
            len: len as u8,
            steps,
            more: u16::try_from(route.steps.len() - len).unwrap_or(u16::MAX),
        }
    }
}

impl fmt::Display for RouteLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kept = self.steps.get(..usize::from(self.len)).unwrap_or_default();
        let steps = kept.iter().map(|(pid, comm, role)| (*pid, comm, *role));
        show(f, self.signal, steps, usize::from(self.more))
    }
}

fn role_text(role: Role) -> &'static str {
    match role {
        Role::Receives(Why::Handler) => "handler",
        Role::Receives(Why::Blocked) => "blocks it",
        Role::Receives(Why::Acts) => "no handler, not waiting",
        Role::Receives(Why::Ignores) => "ignores it",
        Role::Receives(Why::NoChildren) => "no child left",
        Role::Receives(Why::Unseen) => "not in /proc",
        Role::Receives(Why::Zombie) => "zombie",
        Role::Receives(Why::Restarted) => "started another after the stop",
        Role::Receives(Why::Idle) => "no longer waiting",
        Role::Passed(Pass::Waiting) => "waiting",
        Role::Passed(Pass::WaitingInt) => "waiting, shell's INT handler",
        Role::Passed(Pass::Stopped) => "stopped wrapper, resumed",
        Role::AlreadySent => "already sent",
    }
}

/// What the rule does with one process, before looking at its children.
enum Verdict {
    Receives(Why),
    /// A wrapper if it has live children; otherwise it receives.
    Wrapper(Pass),
}

fn verdict(p: &Proc, sig: i32) -> Verdict {
    if !p.live() {
        return Verdict::Receives(Why::Zombie);
    }
    let waiting = p.waiting();
    let shell_int = sig == libc::SIGINT && waiting && p.catches(sig);
    if p.catches(sig) && !shell_int {
        return Verdict::Receives(Why::Handler);
    }
    if p.blocks(sig) && !shell_int {
        return Verdict::Receives(Why::Blocked);
    }
    if waiting {
        return Verdict::Wrapper(if shell_int {
            Pass::WaitingInt
        } else {
            Pass::Waiting
        });
    }
    if sig == libc::SIGCONT && p.stopped() {
        return Verdict::Wrapper(Pass::Stopped);
    }
    Verdict::Receives(if p.ignores(sig) {
        Why::Ignores
    } else {
        Why::Acts
    })
}

/// Whether the rule needs to know if `p` waits for children to route
/// `sig`: not when it handles the signal (except SIGINT, see the module
/// doc), nor when it is a zombie.
pub fn needs_sleep(p: &Proc, sig: i32) -> bool {
    p.live() && (sig == libc::SIGINT || !(p.catches(sig) || p.blocks(sig)))
}

/// Whether the rule needs `p`'s children to route `sig`: the reader in
/// `crate::os::proctree` reads children only for these, so a snapshot read
/// for one signal holds exactly what [`route`] looks at.
pub fn looks_below(p: &Proc, sig: i32) -> bool {
    matches!(verdict(p, sig), Verdict::Wrapper(_))
}

/// Routes `sig` from the main child `child`.
pub fn route(tree: &Tree, child: i32, sig: i32) -> Route {
    route_from(tree, &[child], sig)
}

/// The pids that get `sig` forwarded to the main child `child`.
pub fn recipients(tree: &Tree, child: i32, sig: i32) -> Vec<i32> {
    route(tree, child, sig).recipients()
}

/// Routes `sig` from each of `starts` (each reached from "0").
pub fn route_from(tree: &Tree, starts: &[i32], sig: i32) -> Route {
    let mut route = Route {
        signal: sig,
        steps: Vec::new(),
    };
    route_into(&mut route, tree, starts, sig);
    route
}

/// [`route_from`] into `out`, whose steps are replaced: the supervisor
/// routes every forwarded signal into the same memory.
pub fn route_into(out: &mut Route, tree: &Tree, starts: &[i32], sig: i32) {
    out.signal = sig;
    out.steps.clear();
    for &start in starts {
        walk(tree, start, 0, sig, &mut out.steps);
    }
}

/// Each process is looked at once (a process reached twice, through two
/// starts, keeps its first step): `steps` is also the set of those seen.
fn walk(tree: &Tree, pid: i32, from: i32, sig: i32, steps: &mut Vec<Step>) {
    if steps.iter().any(|s| s.pid == pid) {
        return;
    }
    let Some(p) = tree.get(pid) else {
        steps.push(Step {
            pid,
            from,
            start_ticks: 0,
            comm: Comm::default(),
            role: Role::Receives(Why::Unseen),
        });
        return;
    };
    let mut step = Step {
        pid,
        from,
        start_ticks: p.start_ticks,
        comm: p.comm.clone(),
        role: Role::Receives(Why::Acts),
    };
    match verdict(p, sig) {
        Verdict::Receives(why) => {
            step.role = Role::Receives(why);
            steps.push(step);
        }
        Verdict::Wrapper(pass) => {
            if tree.live_children(pid).next().is_none() {
                step.role = Role::Receives(match pass {
                    Pass::Stopped => Why::Acts,
                    Pass::Waiting | Pass::WaitingInt => Why::NoChildren,
                });
                steps.push(step);
                return;
            }
            step.role = Role::Passed(pass);
            steps.push(step);
            for kid in tree.live_children(pid) {
                walk(tree, kid.pid, pid, sig, steps);
            }
        }
    }
}

/// Routes `sig` to what the main child left behind: from each live child
/// of `root` (drainit), so an orphaned pre-fork master gets the stop
/// signal and its workers do not. Processes that `stop` (the route of the
/// stop signal while the child ran) already reached are not sent it again.
pub fn leftovers(tree: &Tree, root: i32, sig: i32, stop: Option<&Route>) -> Route {
    let mut route = Route {
        signal: sig,
        steps: Vec::new(),
    };
    leftovers_into(&mut route, tree, root, sig, stop);
    route
}

/// [`leftovers`] into `out`, whose steps are replaced.
pub fn leftovers_into(out: &mut Route, tree: &Tree, root: i32, sig: i32, stop: Option<&Route>) {
    out.signal = sig;
    out.steps.clear();
    for start in tree.live_children(root) {
        walk(tree, start.pid, 0, sig, &mut out.steps);
    }
    if let Some(stop) = stop.filter(|s| s.signal == sig) {
        for step in &mut out.steps {
            if step.sent() && stop.reached(step.pid, step.start_ticks) {
                step.role = Role::AlreadySent;
            }
        }
    }
}

/// The status drainit reports, given how the main child ended, the route
/// of the stop signal (None when none was routed) and the statuses of the
/// processes drainit reaped itself (orphans re-parented to it).
///
/// The main child's own status, except when it is a wrapper the stop
/// signal passed over and it died of a signal other than SIGKILL: then
/// something other than drainit killed it (the app's own
/// `killpg(getpgrp(), SIGTERM)`), and the status is the one of the
/// processes the signal was routed to below it, which drainit reaped once
/// they were orphaned: 0 when all of them exited 0, otherwise the first
/// (in route order) that did not. The same applies, level by level, to a
/// killed wrapper below the main child. When none of them was reaped by
/// drainit, the main child's status stands.
pub fn reported_status(
    main: ChildStatus,
    stop: Option<&Route>,
    reaped: &[(i32, ChildStatus)],
) -> ChildStatus {
    let Some(stop) = stop else {
        return main;
    };
    let Some(first) = stop.steps.iter().find(|s| s.from == 0) else {
        return main;
    };
    status_on_route(stop, first, Some(main), reaped).unwrap_or(main)
}

fn status_on_route(
    route: &Route,
    step: &Step,
    own: Option<ChildStatus>,
    reaped: &[(i32, ChildStatus)],
) -> Option<ChildStatus> {
    let status = own.or_else(|| {
        reaped
            .iter()
            .rev()
            .find(|(pid, _)| *pid == step.pid)
            .map(|&(_, s)| s)
    })?;
    let killed_wrapper = matches!(step.role, Role::Passed(_))
        && matches!(status, ChildStatus::Signaled(n) if n != libc::SIGKILL);
    if !killed_wrapper {
        return Some(status);
    }
    let below: Vec<ChildStatus> = route
        .steps_from(step.pid)
        .filter_map(|s| status_on_route(route, s, None, reaped))
        .collect();
    Some(combine(&below).unwrap_or(status))
}

/// 0 when every status is a clean exit, else the first that is not.
fn combine(statuses: &[ChildStatus]) -> Option<ChildStatus> {
    let first = *statuses.first()?;
    Some(
        statuses
            .iter()
            .copied()
            .find(|&s| s != ChildStatus::Exited(0))
            .unwrap_or(first),
    )
}

/// A signal's default action (signal(7)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultAction {
    Terminate,
    Ignore,
    Stop,
    /// SIGCONT: resumes a stopped process, otherwise nothing.
    Continue,
}

pub fn default_action(sig: i32) -> DefaultAction {
    match sig {
        libc::SIGCHLD | libc::SIGURG | libc::SIGWINCH => DefaultAction::Ignore,
        libc::SIGCONT => DefaultAction::Continue,
        libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU => DefaultAction::Stop,
        _ => DefaultAction::Terminate,
    }
}

#[cfg(test)]
mod tests;

/// The fixed-size pieces routing runs on: a command name, a route's log
/// line, a tree emptied and filled again.
#[cfg(test)]
mod buffers {
    use super::*;

    fn step(pid: i32, from: i32, comm: &str, role: Role) -> Step {
        Step {
            pid,
            from,
            start_ticks: 0,
            comm: comm.into(),
            role,
        }
    }

    #[test]
    fn a_command_name_is_cut_at_a_character_boundary() {
        assert_eq!(Comm::new("python3"), "python3");
        assert_eq!(Comm::new("a-very-long-command-name"), "a-very-long-comm");
        assert_eq!(Comm::new("ééééééééé"), "éééééééé", "16 bytes, not 17");
        assert_eq!(Comm::default(), "");
    }

    #[test]
    fn the_log_line_says_what_the_route_says_and_counts_the_rest() {
        let mut r = Route {
            signal: libc::SIGTERM,
            steps: vec![
                step(10, 0, "sh", Role::Passed(Pass::Waiting)),
                step(11, 10, "app", Role::Receives(Why::Handler)),
            ],
        };
        assert_eq!(RouteLine::of(&r).to_string(), r.to_string());
        r.steps.push(step(12, 10, "tee", Role::Receives(Why::Acts)));
        assert_eq!(
            RouteLine::of(&r).to_string(),
            "SIGTERM: to 11 app (handler); passed over 10 sh (waiting); and 1 more"
        );
    }

    #[test]
    fn a_cleared_tree_keeps_its_memory_and_forgets_its_processes() {
        let p = |pid, ppid| Proc {
            pid,
            ppid,
            pgid: pid,
            sid: pid,
            state: 'S',
            caught: 0,
            ignored: 0,
            blocked: 0,
            start_ticks: 1,
            comm: "x".into(),
            sleep: Sleep::Other,
        };
        let mut tree = Tree::with_capacity(4);
        tree.insert(p(5, 1));
        tree.insert(p(6, 5));
        tree.insert(p(6, 1));
        let kids = |t: &Tree, pid| t.live_children(pid).map(|p| p.pid).collect::<Vec<_>>();
        assert_eq!(kids(&tree, 1), vec![5, 6], "a re-inserted process moves");
        assert!(kids(&tree, 5).is_empty());
        tree.clear();
        assert!(tree.is_empty() && tree.get(5).is_none());
        assert_eq!(tree.capacity(), 4);
    }
}
