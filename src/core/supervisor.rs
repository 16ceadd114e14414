//! The supervisor: a pure state machine that turns events (signals, child
//! exits, probe results, traffic looks, the clock) into actions (send a
//! signal, flip readiness, probe, look, kill, log a line, exit). It makes no
//! syscalls, so every shutdown timeline is a unit test with a fake clock:
//! `now` is always passed in.
//!
//! It owns every timer: each one is an absolute deadline, and
//! `next_deadline()` is the earliest of them. The runtime sleeps until that
//! instant or the next event, whichever comes first, and recomputes it after
//! every event: no stream of events can postpone a deadline, because none
//! of them moves it.
//!
//! Phases: Starting -> Ready -> Draining -> Stopping -> Killing -> Exited.
//! `Draining` is the drain delay (readiness off, traffic still served);
//! `Stopping` waits for the tree after the stop signal; `Killing` waits for
//! the kernel to deliver SIGKILL.

use std::time::{Duration, Instant};

use crate::core::signal::Rewrites;
use crate::core::timeline::{Line, ReadyWhy, Whom};
use hold::Hold;
use route::{Role, Route, RouteLine, Tree};
use timers::{Timer, Timers};

/// Where forwarded signals go while the main child runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The direct child; orphans it leaves behind get the stop signal too.
    Cascade,
    /// The child's whole process group.
    Group,
    /// Only the direct child, ever.
    SingleChild,
}

/// How often the adaptive drain looks at the app's connections.
pub const LOOK_EVERY: Duration = Duration::from_millis(100);
/// How often the tree is swept again while processes survive SIGKILL
/// (descendants forking while they are killed).
pub const RESWEEP_EVERY: Duration = Duration::from_millis(10);
/// How long the SIGKILL sweeps may take before drainit exits anyway: a
/// process that SIGKILL cannot reach (kill(2) EPERM for ever: a setuid
/// child of an unprivileged drainit, a security policy) must not keep
/// PID 1 waiting until the platform kills it. As PID 1, exiting makes the
/// kernel kill everything left in the namespace.
pub const KILL_GIVE_UP: Duration = Duration::from_secs(2);
/// How long the signalfd is left alone after the fourth failed read in a
/// row.
pub const SIGNALS_BACKOFF: Duration = Duration::from_millis(10);
/// How soon a failed reaping pass is tried again.
pub const REAP_RETRY: Duration = Duration::from_millis(20);
/// How soon a signal that could not be sent is sent again, and how often.
pub const RESEND_EVERY: Duration = Duration::from_millis(50);
pub const RESEND_ATTEMPTS: u32 = 100;
/// Room for one event's actions (the most, a drain's start, is under ten)
/// reserved at start-up, so handing them out allocates nothing.
const QUEUE: usize = 32;
/// Steps of a route, and its recipients, that fit before they grow: a
/// route is usually a shell or two and the app.
const ROUTE_STEPS: usize = 16;
/// The largest reaping list kept for reuse (after a burst, memory goes back).
const SPARE_REAPED: usize = 256;
/// Recipient lists kept for reuse (one is in flight at a time).
const SPARE_PIDS: usize = 4;

#[derive(Clone, Debug)]
pub struct Config {
    pub mode: Mode,
    pub drain_signals: Vec<i32>,
    pub drain_delay: Duration,
    /// Deadline after the stop signal for the whole tree. `None`: never
    /// SIGKILL the main child during a drain.
    pub grace: Option<Duration>,
    /// Deadline for processes left behind by an exiting main child when
    /// `grace` is unset.
    pub leftover_grace: Duration,
    pub rewrites: Rewrites,
    pub remap_exit: Vec<i32>,
    /// A readiness gate (URL or TCP probe), checked this often.
    pub gate_every: Option<Duration>,
    /// With no gate: ready once the app accepts connections (see
    /// src/io/readiness/listen.rs). `None`: ready once the child runs.
    pub listen_gate: Option<ListenGate>,
    /// Someone reads readiness (`--http`, `--ready-file`): say in one line
    /// when it turns on and why.
    pub announce_ready: bool,
    /// Adaptive drain: forward once no new connection was seen this long.
    pub quiet: Option<Quiet>,
    /// A drain hook (`--drain-url`) to call when the drain starts.
    pub hook: bool,
    /// drainit is PID 1 of its namespace: kill(-1) reaches every process.
    pub pid1: bool,
    /// drainit's own pid: the root of the tree it routes leftovers in.
    pub root: i32,
    /// Cascade: route a signal for the running main child by the rule of
    /// `route.rs`. Off under tini's names: tini gives it to the child
    /// itself, and so does drainit there (only leftovers are routed).
    pub route_live: bool,
    /// dumb-init: after passing on TSTP/TTIN/TTOU, stop drainit itself
    /// too (a shell that backgrounds the job sees it stopped).
    pub suspend_on_tty_signals: bool,
    /// What the main child's exit sends, and what drainit then waits for.
    pub on_child_exit: ChildExit,
    /// tini -w: a reaped orphan is a warning, not a trace line.
    pub warn_on_reap: bool,
    /// tini: a reaping pass after every signal, not only SIGCHLD (its
    /// loop reaps after each one, and says so at -vvv).
    pub reap_after_signal: bool,
    /// Signals ignored the first time they arrive: dumb-init's terminal
    /// hand-off (TIOCNOTTY) sends the init SIGHUP and SIGCONT.
    pub ignore_once: Vec<i32>,
}

/// What happens to the processes the main child leaves behind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildExit {
    /// The stop signal (through rewrites) to every process left (drainit's
    /// own mode, tini's name); exit once the tree is empty or at the grace.
    Drain,
    /// dumb-init's setsid mode: SIGTERM (through rewrites) to the child's
    /// process group, as dumb-init sends it; exit once that group is
    /// empty (the drain: it gets time to finish) or at the grace.
    TermGroup,
    /// dumb-init's -c: SIGTERM (through rewrites) to the child alone, which
    /// is gone: nothing reaches anyone. Exit at once.
    TermChild,
}

/// The automatic readiness gate: look for the app's listening TCP sockets
/// and connect to them, `every` so often, until one accepts; an app that
/// has listened on nothing after `worker_after` is a worker: ready while
/// it runs. It stops once ready: an idle drainit never wakes up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListenGate {
    pub every: Duration,
    pub worker_after: Duration,
}

/// What a look at the app's listening sockets found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listen {
    /// No listening TCP socket in the app's process tree.
    Nothing,
    /// The app listens on `port`, but a connection to it failed.
    Refused { port: u16 },
    /// A connection to `port` succeeded.
    Accepted { port: u16 },
    /// The sockets cannot be looked at here (no sock_diag, no /proc/net).
    Unknown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quiet {
    pub period: Duration,
    pub min: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            mode: Mode::Cascade,
            drain_signals: vec![libc::SIGTERM],
            drain_delay: Duration::ZERO,
            grace: None,
            leftover_grace: Duration::from_secs(5),
            rewrites: Rewrites::default(),
            remap_exit: Vec::new(),
            gate_every: None,
            listen_gate: None,
            announce_ready: false,
            quiet: None,
            hook: false,
            pid1: false,
            root: 1,
            route_live: true,
            suspend_on_tty_signals: false,
            on_child_exit: ChildExit::Drain,
            reap_after_signal: false,
            warn_on_reap: false,
            ignore_once: Vec::new(),
        }
    }
}

/// What the adaptive drain decided, for the log and /metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Adaptive {
    /// From the drain signal to forwarding.
    pub waited: Duration,
    /// The quiet period seen when forwarding.
    pub quiet_for: Duration,
    /// The time saved against the maximum delay.
    pub saved: Duration,
}

/// The drain's figures, for /metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub drain_started: Option<Instant>,
    /// From the drain signal to forwarding the stop signal.
    pub forwarded_after: Option<Duration>,
    /// From the drain signal to the main child's exit.
    pub child_exited_after: Option<Duration>,
    pub adaptive: Option<Adaptive>,
}

pub use crate::core::timeline::ChildStatus;

#[derive(Clone, Debug)]
pub enum Event {
    /// The main child runs, with this pid.
    Started {
        pid: i32,
    },
    Signal(i32),
    /// A reaping pass: every process reaped, in order, whether no child
    /// is left at all, whether waitpid failed. The supervisor tells the
    /// main child from orphans and decides what each means.
    Reaped(ReapPass),
    /// The main child was reaped.
    ChildExited(ChildStatus),
    /// Nothing is left to reap: every descendant is gone.
    TreeEmpty,
    /// The process group `awaited_group()` names has no member left.
    GroupEmpty,
    /// A readiness gate result.
    Probe(bool),
    /// The answer to `Action::ProbeListen`.
    Listening(Listen),
    /// The answer to `Action::ProbeListen` when the sockets could not be
    /// looked for at all.
    ListenUnread {
        error: String,
    },
    /// Adaptive drain: new or still-active connections to the app's
    /// listeners since the previous look (0 = quiet).
    Traffic {
        new_connections: usize,
    },
    /// The clock reached `next_deadline()`.
    Tick,
    /// The answer to `Action::ReadTree`: the part of the process tree the
    /// forwarding rule looks at for `signal`.
    Tree {
        signal: i32,
        purpose: Purpose,
        tree: Box<Tree>,
    },
    /// The answer to `Action::ListForKill`: drainit's own session and every
    /// descendant with its process group and session, or why /proc could
    /// not be listed.
    KillList {
        first: bool,
        session: i32,
        listed: Result<Vec<Descendant>, String>,
    },
    /// Reading the signalfd failed; a SIGCHLD may have been in it.
    SignalsUnread {
        error: String,
    },
    /// The system refused an allocation and drainit's reserve of `kib`
    /// served it (reported once).
    ReserveUsed {
        kib: usize,
    },
    /// `Action::SetReady` could not write the ready file.
    ReadyFileFailed {
        error: String,
    },
    /// Processes other than the main child were reaped (only reported
    /// while `wants_reaps()`: their statuses may be the one to report).
    OrphansReaped(Vec<(i32, ChildStatus)>),
    /// A reaping pass failed (waitpid errors): zombies may be left.
    ReapFailed,
    /// A process `Action::Watch` named has exited.
    Gone(i32),
    /// `Target::Leftovers`: /proc could not be listed to find them.
    LeftoversUnread {
        signal: i32,
        group: Option<i32>,
        error: String,
    },
    /// `Target::Leftovers` reached `count` processes.
    LeftoversSent {
        signal: i32,
        count: usize,
    },
    /// An `Action::Kill` SIGKILLed `count` processes.
    Killed {
        count: usize,
        first: bool,
    },
    /// A process could not be watched (no pidfd): the hold looks at the
    /// tree on a timer instead.
    WatchFailed {
        pid: i32,
        error: String,
    },
    /// kill(2) failed for `target` with `errno` (not "no such process").
    SendFailed {
        signal: i32,
        target: Target,
        errno: i32,
    },
}

/// A process below drainit, as the SIGKILL sweep sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Descendant {
    pub pid: i32,
    /// Its process group and session; `None` once /proc no longer shows
    /// them (gone, or unreadable).
    pub group_session: Option<(i32, i32)>,
}

/// What one reaping pass found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReapPass {
    pub reaped: Vec<(i32, ChildStatus)>,
    /// No child at all remains (ECHILD).
    pub none_left: bool,
    /// waitpid failed: zombies may be left.
    pub failed: bool,
}

/// Why the supervisor asked for a snapshot of the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// A signal forwarded while the main child runs.
    Forward,
    /// The stop signal, forwarded while the main child runs.
    Stop,
    /// A signal for what the main child left behind.
    Leftovers,
    /// A look at the whole tree below the main child while the stop
    /// signal holds (`hold.rs`): every process, every field.
    Hold,
}

/// Who receives a signal; pids are decided here, the runtime only sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// This pid.
    Pid(i32),
    /// These pids (chosen by the forwarding rule, `route`).
    Pids(Vec<i32>),
    /// This process group.
    Group(i32),
    /// Every remaining descendant, after the main child exited, and the
    /// main child's process group too in group mode.
    Leftovers { group: Option<i32> },
    /// Every process drainit may signal: kill(-1) (as PID 1, every other
    /// process of the namespace).
    Everyone,
}

/// How to SIGKILL what is left.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kill {
    /// PID 1: kill(-1) reaches every process of the namespace at once.
    Namespace,
    /// This process group only (dumb-init's setsid mode: what it signals;
    /// the main child's when /proc cannot be listed).
    Group(i32),
    /// Not PID 1: these descendants, then these process groups (see
    /// `Supervisor::on_kill_list`), chosen from an `Event::KillList`.
    Listed { pids: Vec<i32>, groups: Vec<i32> },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Send {
        signal: i32,
        target: Target,
    },
    /// SIGKILL everything left; `first` for the first sweep (logged).
    Kill {
        how: Kill,
        first: bool,
    },
    /// List the descendants of `root` with their process groups and
    /// sessions for a SIGKILL sweep; answer with `Event::KillList` before
    /// any other event.
    ListForKill {
        root: i32,
        first: bool,
    },
    SetReady(bool),
    /// POST the drain hook (never waited on).
    CallHook,
    /// Find the app's listeners and take the baseline look.
    WatchTraffic,
    /// Look at the connections now; answer with `Event::Traffic`.
    LookTraffic,
    /// Check the readiness gate; answer with `Event::Probe`.
    Probe,
    /// Look for the app's listeners and connect; answer with
    /// `Event::Listening`.
    ProbeListen,
    /// Read the process tree for routing `signal` (cascade mode); answer
    /// with `Event::Tree` before any other event.
    ReadTree {
        signal: i32,
        purpose: Purpose,
    },
    /// Watch these pids: report each one's exit with `Event::Gone`.
    Watch(Vec<i32>),
    /// Run a reaping pass now (after a failed one).
    Reap,
    /// Stop drainit itself (SIGSTOP to its own pid; nothing as PID 1).
    SuspendSelf,
    Log(Line),
    Exit(i32),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Starting,
    Ready,
    Draining,
    Stopping,
    Killing,
    Exited,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Starting => "starting",
            Phase::Ready => "ready",
            Phase::Draining => "draining",
            Phase::Stopping => "stopping",
            Phase::Killing => "killing",
            Phase::Exited => "exited",
        }
    }
}

pub struct Supervisor {
    cfg: Config,
    phase: Phase,
    ready: bool,
    gate_ok: bool,
    /// Why readiness turns on next (logged when it does).
    ready_why: Option<ReadyWhy>,
    /// The app was seen listening (it is no worker).
    listened: bool,
    started_at: Option<Instant>,
    /// The main child's pid, from `Event::Started`.
    pid: i32,
    child: Option<ChildStatus>,
    /// The signal that started the drain (before rewrites).
    stop_signal: i32,
    timers: Timers,
    /// When the probe in flight was started, if one is.
    probe_started: Option<Instant>,
    last_new_connection: Option<Instant>,
    /// Where the stop signal was routed while the main child ran.
    stop_route: Option<Route>,
    /// Statuses of reaped processes the stop route reached.
    routed_reaped: Vec<(i32, ChildStatus)>,
    /// Signals to send again (kill failed), with the attempts so far.
    resends: Vec<(i32, Target, u32)>,
    stats: Stats,
    killed: bool,
    exit_code: Option<i32>,
    /// Snapshots with a process /proc could not read, so far.
    unread_trees: u32,
    /// The stop signal holds for the tree (`hold.rs`).
    hold: Option<Hold>,
    /// Actions not yet handed out (`poll_action`).
    queue: std::collections::VecDeque<Action>,
    /// The buffer one event's actions are gathered in.
    scratch: Vec<Action>,
    /// A watch failed: the hold looks on a timer.
    hold_polls: bool,
    /// The look in flight was asked for by the hold's timer.
    hold_timer: bool,
    /// The last reaping pass saw a child (an empty snapshot with children
    /// means /proc could not be read).
    children: bool,
    /// Consecutive failed reads of the signalfd.
    signal_errors: u32,
    /// The reserve's first use was logged.
    reserve_reported: bool,
    /// Kept from one routed signal to the next, so that routing one
    /// allocates nothing (`recycle`, `spare_tree`): the last route worked
    /// out, recipient lists the runtime gave back, the last snapshot.
    route_buf: Route,
    spare_pids: Vec<Vec<i32>>,
    spare_tree: Option<Box<Tree>>,
    spare_reaped: Option<Vec<(i32, ChildStatus)>>,
}

impl Supervisor {
    pub fn new(cfg: Config) -> Self {
        let stop_signal = cfg.drain_signals.first().copied().unwrap_or(libc::SIGTERM);
        Self {
            cfg,
            phase: Phase::Starting,
            ready: false,
            gate_ok: false,
            ready_why: None,
            listened: false,
            started_at: None,
            pid: 0,
            child: None,
            stop_signal,
            timers: Timers::default(),
            probe_started: None,
            last_new_connection: None,
            stop_route: None,
            routed_reaped: Vec::new(),
            resends: Vec::new(),
            stats: Stats::default(),
            killed: false,
            exit_code: None,
            unread_trees: 0,
            hold: None,
            queue: std::collections::VecDeque::with_capacity(QUEUE),
            scratch: Vec::with_capacity(QUEUE),
            hold_polls: false,
            hold_timer: false,
            children: true,
            signal_errors: 0,
            reserve_reported: false,
            route_buf: Route {
                signal: 0,
                steps: Vec::with_capacity(ROUTE_STEPS),
            },
            spare_pids: vec![Vec::with_capacity(ROUTE_STEPS)],
            spare_tree: None,
            spare_reaped: Some(Vec::with_capacity(16)),
        }
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    #[cfg(test)]
    pub fn is_ready(&self) -> bool {
        self.ready
    }

    /// The main child runs (it has not been reaped): `/live`.
    pub fn child_running(&self) -> bool {
        self.child.is_none() && self.phase != Phase::Exited
    }

    /// Takes back what an `Action::Send` carried, to reuse its memory for
    /// the next routed signal.
    pub fn recycle(&mut self, target: Target) {
        if let Target::Pids(mut pids) = target {
            if self.spare_pids.len() < SPARE_PIDS {
                pids.clear();
                self.spare_pids.push(pids);
            }
        }
    }

    /// The list of the last `Event::Reaped`, emptied, to fill the next one.
    pub fn spare_reaped(&mut self) -> Option<Vec<(i32, ChildStatus)>> {
        self.spare_reaped.take()
    }

    /// The snapshot of the last `Event::Tree`, to read the next one into.
    pub fn spare_tree(&mut self) -> Option<Box<Tree>> {
        self.spare_tree.take()
    }

    pub fn exit_code(&self) -> Option<i32> {
        self.exit_code
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    #[cfg(test)]
    pub fn adaptive(&self) -> Option<Adaptive> {
        self.stats.adaptive
    }

    /// Whether the runtime should report reaped orphans: only once the
    /// stop signal passed over a wrapper, whose death by another signal
    /// makes the app's own status the one to report (see route.rs).
    pub fn wants_reaps(&self) -> bool {
        self.stop_route
            .as_ref()
            .is_some_and(|r| r.steps.iter().any(|s| matches!(s.role, Role::Passed(_))))
    }

    /// The process group whose end the runtime must report with
    /// `Event::GroupEmpty`: the child's, once it exited in dumb-init's
    /// setsid mode.
    pub fn awaited_group(&self) -> Option<i32> {
        (self.cfg.on_child_exit == ChildExit::TermGroup
            && self.child.is_some()
            && self.phase != Phase::Exited)
            .then_some(self.pid)
    }

    /// Whether the runtime reads the signalfd now: not while it backs off
    /// after repeated failed reads (a broken descriptor must not spin the
    /// loop; signals stay queued meanwhile).
    pub fn reads_signals(&self) -> bool {
        self.timers.get(Timer::Signals).is_none()
    }

    /// When the runtime must deliver `Event::Tick`: the earliest timer.
    /// `None` means no timer at all (an idle drainit never wakes up).
    pub fn next_deadline(&self) -> Option<Instant> {
        self.timers.earliest()
    }

    /// Takes in one event at `now`; its actions are then handed out, in
    /// order, by [`Supervisor::poll_action`]. Not inlined into the runtime:
    /// its frames are on the stack only while an event is handled.
    #[inline(never)]
    pub fn handle(&mut self, event: Event, now: Instant) {
        // One buffer for every event: its capacity stays, so a steady
        // stream of events does not allocate here.
        let mut out = std::mem::take(&mut self.scratch);
        self.step(event, now, &mut out);
        self.queue.extend(out.drain(..));
        self.scratch = out;
    }

    /// The next action to carry out, oldest first; `None` once every
    /// action of the events handled so far was handed out.
    pub fn poll_action(&mut self) -> Option<Action> {
        let next = self.queue.pop_front();
        if next.is_none() && self.queue.capacity() > 8 * QUEUE {
            // A burst (a pass that reaped thousands) is over: give back
            // what it took.
            self.queue.shrink_to(QUEUE);
        }
        next
    }

    /// [`Supervisor::handle`] and every action it queued, for tests.
    #[cfg(test)]
    pub fn handle_all(&mut self, event: Event, now: Instant) -> Vec<Action> {
        self.handle(event, now);
        self.queue.drain(..).collect()
    }

    fn step(&mut self, event: Event, now: Instant, out: &mut Vec<Action>) {
        if self.phase == Phase::Exited {
            return;
        }
        match event {
            Event::Started { pid } => self.on_started(pid, now, out),
            Event::Signal(sig) => self.on_signal(sig, now, out),
            Event::Reaped(pass) => self.on_reap_pass(pass, now, out),
            Event::ChildExited(status) => self.on_child_exited(status, now, out),
            Event::LeftoversUnread {
                signal,
                group,
                error,
            } => self.on_leftovers_unread(signal, group, error, out),
            Event::LeftoversSent { signal, count } => {
                if count > 0 {
                    out.push(Action::Log(Line::SentLeftovers { signal, count }));
                }
            }
            Event::Killed { count, first } => out.push(Action::Log(if first {
                Line::Killed { count }
            } else {
                Line::KilledMore { count }
            })),
            Event::TreeEmpty => self.on_tree_empty(now, out),
            Event::GroupEmpty => {
                if self.awaited_group().is_some() {
                    self.on_tree_empty(now, out)
                }
            }
            Event::Probe(ok) => self.on_probe(ok, now, out),
            Event::Listening(found) => self.on_listening(found, now, out),
            Event::ListenUnread { error } => {
                out.push(Action::Log(Line::ListenUnread { error }));
                self.on_listening(Listen::Unknown, now, out)
            }
            Event::KillList {
                first,
                session,
                listed,
            } => self.on_kill_list(first, session, listed, out),
            Event::SignalsUnread { error } => self.on_signals_unread(error, now, out),
            Event::ReserveUsed { kib } => {
                if !std::mem::replace(&mut self.reserve_reported, true) {
                    out.push(Action::Log(Line::ReserveUsed { kib }));
                }
            }
            Event::ReadyFileFailed { error } => {
                out.push(Action::Log(Line::ReadyFileFailed { error }))
            }
            Event::Traffic { new_connections } => self.on_traffic(new_connections, now, out),
            Event::Tick => self.on_tick(now, out),
            Event::Tree {
                signal,
                purpose,
                tree,
            } => {
                self.on_tree(signal, purpose, &tree, now, out);
                self.spare_tree = Some(tree);
            }
            Event::Gone(_) => self.look_again(false, out),
            Event::WatchFailed { pid, error } => {
                if !self.hold_polls {
                    out.push(Action::Log(Line::WatchFailed {
                        pid,
                        error,
                        every: hold::RECHECK_MAX,
                    }));
                }
                self.hold_polls = true;
                if self.hold.is_some() {
                    self.timers.arm_once(Timer::Hold, now + hold::RECHECK_MAX);
                }
            }
            Event::OrphansReaped(reaped) => self.on_orphans_reaped(reaped),
            Event::ReapFailed => self.retry_reap(now),
            Event::SendFailed {
                signal,
                target,
                errno,
            } => self.on_send_failed(signal, target, errno, now, out),
        }
    }

    /// One reaping pass, in the order that matters: the lines, then the
    /// orphans' statuses (the one to report may be among them), then the
    /// main child's exit, then an empty tree.
    fn on_reap_pass(&mut self, pass: ReapPass, now: Instant, out: &mut Vec<Action>) {
        if pass.failed {
            self.retry_reap(now);
        }
        self.children = !pass.none_left;
        let mut main = None;
        for &(pid, status) in &pass.reaped {
            let is_main = pid == self.pid && self.child.is_none();
            if is_main {
                main = Some(status);
            }
            out.push(Action::Log(Line::Reaped {
                pid,
                status,
                main: is_main,
                warn: self.cfg.warn_on_reap,
            }));
        }
        if !pass.failed {
            out.push(Action::Log(Line::ReapPassDone {
                none_left: pass.none_left,
            }));
        }
        if self.wants_reaps() {
            let me = self.pid;
            let orphans = pass.reaped.iter().filter(|&&(pid, _)| pid != me);
            self.on_orphans_reaped(orphans.copied());
        }
        // Kept unless a burst made it big: a pass is usually one child.
        let mut spare = pass.reaped;
        if spare.capacity() <= SPARE_REAPED {
            spare.clear();
            self.spare_reaped = Some(spare);
        }
        // Each step as if it were an event of its own: nothing after the
        // exit (dumb-init -c exits at the child's exit).
        if let Some(status) = main {
            self.on_child_exited(status, now, out);
        }
        if pass.none_left && self.phase != Phase::Exited {
            self.on_tree_empty(now, out);
        }
    }

    /// /proc cannot say who is left (no descriptor, no memory): as PID 1
    /// every other process of the namespace is the app's, so kill(-1)
    /// reaches them; otherwise the main child's group, where a wrapper's
    /// children live.
    fn on_leftovers_unread(
        &mut self,
        signal: i32,
        group: Option<i32>,
        error: String,
        out: &mut Vec<Action>,
    ) {
        let everyone = self.cfg.pid1;
        out.push(Action::Log(Line::LeftoversUnread { error, everyone }));
        let target = if everyone {
            Target::Everyone
        } else {
            Target::Group(self.pid)
        };
        out.push(Action::Send { signal, target });
        if let Some(g) = group.filter(|&g| g != self.pid || everyone) {
            out.push(Action::Send {
                signal,
                target: Target::Group(g),
            });
        }
    }

    /// The SIGKILL sweep's targets (not PID 1). A process that forks and
    /// exits in a loop ("pid hopping") can slip between the listing and
    /// its kill, so the sweep also kills the process groups of the
    /// descendants that live in a session of their own (created by a
    /// descendant's setsid, so holding nothing but descendants) and the
    /// main child's group: a group kill reaches members forked during it.
    /// /proc out of reach: the main child's group is what is left to hit;
    /// the next sweep lists again.
    fn on_kill_list(
        &mut self,
        first: bool,
        session: i32,
        listed: Result<Vec<Descendant>, String>,
        out: &mut Vec<Action>,
    ) {
        let how = match listed {
            Err(error) => {
                out.push(Action::Log(Line::KillTreeUnread { error }));
                Kill::Group(self.pid)
            }
            Ok(listed) => {
                let main_child = self.pid;
                let mut groups: Vec<i32> = listed
                    .iter()
                    .filter_map(|d| d.group_session)
                    .filter(|&(pgid, sid)| pgid > 1 && (sid != session || pgid == main_child))
                    .map(|(pgid, _)| pgid)
                    .collect();
                groups.sort_unstable();
                groups.dedup();
                Kill::Listed {
                    pids: listed.iter().map(|d| d.pid).collect(),
                    groups,
                }
            }
        };
        out.push(Action::Kill { how, first });
    }

    /// A failed signalfd read: said once per run of failures; a reaping
    /// pass in case a SIGCHLD was in it; after a few in a row, the
    /// signalfd is left alone for `SIGNALS_BACKOFF` so that a broken
    /// descriptor cannot spin the loop.
    fn on_signals_unread(&mut self, error: String, now: Instant, out: &mut Vec<Action>) {
        self.signal_errors += 1;
        if self.signal_errors == 1 {
            out.push(Action::Log(Line::SignalsUnread { error }));
        } else if self.signal_errors > 3 {
            self.timers.arm(Timer::Signals, now + SIGNALS_BACKOFF);
        }
        out.push(Action::Reap);
    }

    fn retry_reap(&mut self, now: Instant) {
        self.timers.arm_once(Timer::Reap, now + REAP_RETRY);
    }

    /// A signal that did not go out is sent again shortly, a bounded
    /// number of times (EAGAIN for a full real-time queue, a transient
    /// EPERM): a stop signal must not be lost to one failed kill.
    fn on_send_failed(
        &mut self,
        signal: i32,
        target: Target,
        errno: i32,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        if self.phase == Phase::Killing {
            return;
        }
        let attempts = match self
            .resends
            .iter()
            .position(|(s, t, _)| *s == signal && *t == target)
        {
            Some(i) => self.resends.swap_remove(i).2,
            None => 0,
        };
        if attempts == 0 {
            out.push(Action::Log(Line::SendFailed {
                signal,
                errno,
                retry: RESEND_EVERY,
            }));
        }
        if attempts < RESEND_ATTEMPTS {
            self.resends.push((signal, target, attempts + 1));
            self.timers.arm_once(Timer::Resend, now + RESEND_EVERY);
        }
    }

    /// Routes a signal with the rule of `route.rs` over the snapshot.
    fn on_tree(
        &mut self,
        signal: i32,
        purpose: Purpose,
        tree: &Tree,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        if purpose == Purpose::Hold {
            self.on_hold_tree(tree, now, out);
            return;
        }
        let mut r = std::mem::take(&mut self.route_buf);
        match purpose {
            Purpose::Forward | Purpose::Stop | Purpose::Hold => {
                route::route_into(&mut r, tree, &[self.pid], signal)
            }
            Purpose::Leftovers => {
                let me = self.cfg.root;
                route::leftovers_into(&mut r, tree, me, signal, self.stop_route.as_ref())
            }
        };
        if let Some((pid, error)) = tree.unread() {
            self.unread_trees += 1;
            out.push(Action::Log(Line::TreeUnread {
                pid,
                signal,
                error: error.to_string(),
                loud: self.unread_trees == 1,
            }));
        }
        let mut pids = self.spare_pids.pop().unwrap_or_default();
        r.recipients_into(&mut pids);
        out.push(Action::Log(Line::Routed {
            route: RouteLine::of(&r),
        }));
        if purpose == Purpose::Leftovers && pids.is_empty() && self.children && tree.is_empty() {
            // Children exist but /proc showed none: send as before the rule.
            out.push(Action::Send {
                signal,
                target: Target::Leftovers { group: None },
            });
            self.spare_pids.push(pids);
        } else if !pids.is_empty() {
            out.push(Action::Send {
                signal,
                target: Target::Pids(pids),
            });
        } else {
            self.spare_pids.push(pids);
        }
        if purpose == Purpose::Stop {
            self.start_hold(&r, out);
            self.stop_route = Some(r.clone());
        }
        self.route_buf = r;
    }

    /// The stop signal passed over wrappers: watch what it reached, so
    /// that a wrapper starting over is seen (`hold.rs`).
    fn start_hold(&mut self, stop: &Route, out: &mut Vec<Action>) {
        if self.child.is_some() || !stop.steps.iter().any(|s| matches!(s.role, Role::Passed(_))) {
            return;
        }
        let (hold, watch) = Hold::new(stop);
        self.hold = Some(hold);
        out.push(Action::Watch(watch));
    }

    /// Asks for a look at the tree for the hold (a watched exit, or its
    /// timer).
    fn look_again(&mut self, timer: bool, out: &mut Vec<Action>) {
        let Some(h) = &self.hold else { return };
        if self.child.is_some() || self.phase == Phase::Killing {
            return;
        }
        self.hold_timer = timer;
        out.push(Action::ReadTree {
            signal: h.signal(),
            purpose: Purpose::Hold,
        });
    }

    fn on_hold_tree(&mut self, tree: &Tree, now: Instant, out: &mut Vec<Action>) {
        let Some(hold) = &mut self.hold else { return };
        if self.child.is_some() || self.phase == Phase::Killing {
            return;
        }
        let timer = std::mem::take(&mut self.hold_timer);
        let d = hold.look(tree, now, timer);
        let signal = hold.signal();
        let done = hold.is_empty();
        if !d.steps.is_empty() {
            let r = Route {
                signal,
                steps: d.steps,
            };
            out.push(Action::Log(Line::Routed {
                route: RouteLine::of(&r),
            }));
            if let Some(stop) = &mut self.stop_route {
                for step in r.steps {
                    match stop
                        .steps
                        .iter_mut()
                        .find(|s| s.pid == step.pid && s.start_ticks == step.start_ticks)
                    {
                        Some(old) if matches!(step.role, Role::Receives(_)) => old.role = step.role,
                        Some(_) => {}
                        None => stop.steps.push(step),
                    }
                }
            }
        }
        if !d.send.is_empty() {
            out.push(Action::Send {
                signal,
                target: Target::Pids(d.send),
            });
        }
        if !d.watch.is_empty() {
            out.push(Action::Watch(d.watch));
        }
        let again = if done {
            self.hold = None;
            None
        } else if self.hold_polls {
            Some(d.again.unwrap_or(now + hold::RECHECK_MAX))
        } else {
            d.again
        };
        self.timers.set(Timer::Hold, again);
    }

    fn on_orphans_reaped(&mut self, reaped: impl IntoIterator<Item = (i32, ChildStatus)>) {
        let Some(r) = &self.stop_route else { return };
        for (pid, status) in reaped {
            if r.step(pid).is_some() {
                self.routed_reaped.push((pid, status));
            }
        }
    }

    fn on_started(&mut self, pid: i32, now: Instant, out: &mut Vec<Action>) {
        self.pid = pid;
        self.started_at = Some(now);
        if self.cfg.gate_every.is_some() {
            self.timers.arm(Timer::Probe, now);
        } else if let Some(g) = self.cfg.listen_gate {
            self.timers.arm(Timer::Probe, now);
            self.timers.arm(Timer::Worker, now + g.worker_after);
        } else {
            self.gate_ok = true;
            self.ready_why = Some(ReadyWhy::Runs);
        }
        self.update_ready(now, out);
    }

    /// The automatic gate's answer: ready once a connection to the app's
    /// listener succeeded; then no more looks.
    fn on_listening(&mut self, found: Listen, now: Instant, out: &mut Vec<Action>) {
        let started = self.probe_started.take();
        if !self.serving() || self.gate_ok {
            return;
        }
        let why = match found {
            Listen::Accepted { port } => ReadyWhy::Accepts { port },
            Listen::Unknown => ReadyWhy::CannotLook,
            Listen::Refused { .. } => {
                self.listened = true;
                return self.next_listen_probe(started, now);
            }
            Listen::Nothing => return self.next_listen_probe(started, now),
        };
        self.gate_ok = true;
        self.ready_why = Some(why);
        self.stop_probing();
        self.update_ready(now, out);
    }

    fn next_listen_probe(&mut self, started: Option<Instant>, now: Instant) {
        if let Some(g) = self.cfg.listen_gate {
            let next = started.map_or(now, |s| s + g.every);
            self.timers.arm(Timer::Probe, next.max(now));
        }
    }

    /// Nothing listened within `worker_after`: a worker, ready while it
    /// runs (an app seen listening stays not-ready until it accepts).
    fn on_worker_timer(&mut self, now: Instant, out: &mut Vec<Action>) {
        let Some(g) = self.cfg.listen_gate else {
            return;
        };
        if !self.serving() || self.gate_ok || self.listened {
            return;
        }
        self.gate_ok = true;
        self.ready_why = Some(ReadyWhy::Worker {
            waited: g.worker_after,
        });
        self.stop_probing();
        self.update_ready(now, out);
    }

    /// No gate check is due any more (ready for good, draining, or the
    /// child is gone).
    fn stop_probing(&mut self) {
        self.timers.clear(Timer::Probe);
        self.timers.clear(Timer::Worker);
    }

    /// The check a due probe timer asks for.
    fn probe_action(&self) -> Action {
        if self.cfg.gate_every.is_none() && self.cfg.listen_gate.is_some() {
            Action::ProbeListen
        } else {
            Action::Probe
        }
    }

    fn serving(&self) -> bool {
        matches!(self.phase, Phase::Starting | Phase::Ready)
    }

    fn on_probe(&mut self, ok: bool, now: Instant, out: &mut Vec<Action>) {
        let started = self.probe_started.take();
        if !self.serving() {
            return;
        }
        if self.gate_ok != ok {
            out.push(Action::Log(Line::Gate { passed: ok }));
        }
        self.gate_ok = ok;
        self.update_ready(now, out);
        // The next check is due one interval after this one started, and
        // never in the past (a probe that took longer than the interval).
        if let Some(every) = self.cfg.gate_every {
            let next = started.map_or(now, |s| s + every);
            self.timers.arm(Timer::Probe, next.max(now));
        }
    }

    fn update_ready(&mut self, now: Instant, out: &mut Vec<Action>) {
        let serving = self.serving();
        let ready = serving && self.child.is_none() && self.gate_ok;
        if serving {
            self.phase = if ready { Phase::Ready } else { Phase::Starting };
        }
        if ready != self.ready {
            self.ready = ready;
            out.push(Action::SetReady(ready));
            if let (true, true, Some(why)) = (ready, self.cfg.announce_ready, self.ready_why.take())
            {
                let after = self
                    .started_at
                    .map_or(Duration::ZERO, |t| now.saturating_duration_since(t));
                out.push(Action::Log(Line::ReadyBecause { why, after }));
            }
        }
    }

    fn is_drain_signal(&self, sig: i32) -> bool {
        self.cfg.drain_signals.contains(&sig)
    }

    fn since_drain(&self, now: Instant) -> Option<Duration> {
        self.stats
            .drain_started
            .map(|t| now.saturating_duration_since(t))
    }

    fn on_signal(&mut self, sig: i32, now: Instant, out: &mut Vec<Action>) {
        self.signal_errors = 0;
        out.push(Action::Log(Line::Received { signal: sig }));
        if let Some(i) = self.cfg.ignore_once.iter().position(|&s| s == sig) {
            self.cfg.ignore_once.swap_remove(i);
            out.push(Action::Log(Line::HandOffIgnored { signal: sig }));
            return;
        }
        if sig == libc::SIGCHLD {
            out.push(Action::Reap);
            return;
        }
        self.on_other_signal(sig, now, out);
        // tini never gets the signals it drops (TTIN, TTOU: it ignores them).
        if self.cfg.reap_after_signal && self.cfg.rewrites.apply(sig).is_some() {
            out.push(Action::Reap);
        }
    }

    fn on_other_signal(&mut self, sig: i32, now: Instant, out: &mut Vec<Action>) {
        let drain = self.is_drain_signal(sig);
        match self.phase {
            Phase::Starting | Phase::Ready if drain && self.child.is_none() => {
                self.start_drain(sig, now, out)
            }
            Phase::Draining if drain || sig == libc::SIGINT => {
                out.push(Action::Log(Line::CutShort {
                    signal: sig,
                    after: self.since_drain(now).unwrap_or_default(),
                }));
                self.forward_stop(now, out);
            }
            Phase::Killing => {}
            _ => self.forward(sig, out),
        }
        if self.cfg.suspend_on_tty_signals
            && matches!(sig, libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU)
        {
            out.push(Action::Log(Line::Suspending));
            out.push(Action::SuspendSelf);
        }
    }

    fn start_drain(&mut self, sig: i32, now: Instant, out: &mut Vec<Action>) {
        self.stop_signal = sig;
        self.stats.drain_started = Some(now);
        self.phase = Phase::Draining;
        self.stop_probing();
        out.push(Action::Log(Line::Draining {
            signal: sig,
            delay: self.cfg.drain_delay,
            grace: self.cfg.grace,
        }));
        if self.ready {
            self.ready = false;
            out.push(Action::SetReady(false));
            out.push(Action::Log(Line::ReadinessOff));
        }
        if self.cfg.hook {
            out.push(Action::CallHook);
        }
        if self.cfg.drain_delay.is_zero() {
            self.forward_stop(now, out);
            return;
        }
        self.timers.arm(Timer::Forward, now + self.cfg.drain_delay);
        if self.cfg.quiet.is_some() {
            out.push(Action::WatchTraffic);
            self.timers.arm(Timer::Look, now + LOOK_EVERY);
        }
    }

    /// Sends the (rewritten) stop signal and starts the grace deadline.
    fn forward_stop(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.phase = Phase::Stopping;
        self.timers.clear(Timer::Forward);
        self.timers.clear(Timer::Look);
        self.timers
            .set(Timer::Kill, self.cfg.grace.map(|g| now + g));
        self.stats.forwarded_after = self.since_drain(now);
        let sig = self.stop_signal;
        match self.rewrite(sig, out) {
            Some(to) => {
                let (target, whom) = self.live_target();
                out.push(Action::Log(Line::Forwarded {
                    signal: to,
                    whom,
                    after: self.since_drain(now),
                }));
                out.push(self.send_live(to, target, Purpose::Stop));
            }
            None => out.push(Action::Log(Line::StopDropped { signal: sig })),
        }
    }

    /// The signal a rewrite makes of `sig` (`None`: dropped), logged when
    /// a rewrite applies.
    fn rewrite(&self, sig: i32, out: &mut Vec<Action>) -> Option<i32> {
        let to = self.cfg.rewrites.apply(sig);
        if self.cfg.rewrites.contains(sig) {
            out.push(Action::Log(Line::Translated {
                from: sig,
                to: to.unwrap_or(0),
            }));
        }
        to
    }

    fn forward(&mut self, sig: i32, out: &mut Vec<Action>) {
        let Some(to) = self.rewrite(sig, out) else {
            out.push(Action::Log(Line::Dropped { signal: sig }));
            return;
        };
        if self.child.is_none() {
            let (target, whom) = self.live_target();
            out.push(Action::Log(Line::Passed { signal: to, whom }));
            out.push(self.send_live(to, target, Purpose::Forward));
        } else if self.cfg.mode != Mode::SingleChild {
            out.push(Action::Log(Line::Passed {
                signal: to,
                whom: Whom::Leftovers,
            }));
            out.push(self.send_leftovers(to));
        }
    }

    fn live_target(&self) -> (Target, Whom) {
        match self.cfg.mode {
            Mode::Group => (Target::Group(self.pid), Whom::Group),
            Mode::Cascade | Mode::SingleChild => (Target::Pid(self.pid), Whom::Child),
        }
    }

    /// A signal for the running main child: in cascade mode the rule
    /// decides who gets it, from a snapshot the runtime reads first.
    fn send_live(&self, signal: i32, target: Target, purpose: Purpose) -> Action {
        match self.cfg.mode {
            Mode::Cascade if self.cfg.route_live => Action::ReadTree { signal, purpose },
            Mode::Cascade | Mode::Group | Mode::SingleChild => Action::Send { signal, target },
        }
    }

    /// A signal for what the main child left behind.
    fn send_leftovers(&self, signal: i32) -> Action {
        match self.cfg.mode {
            Mode::Cascade => Action::ReadTree {
                signal,
                purpose: Purpose::Leftovers,
            },
            Mode::Group | Mode::SingleChild => Action::Send {
                signal,
                target: Target::Leftovers {
                    group: (self.cfg.mode == Mode::Group).then_some(self.pid),
                },
            },
        }
    }

    fn on_child_exited(&mut self, status: ChildStatus, now: Instant, out: &mut Vec<Action>) {
        if self.child.is_some() {
            return;
        }
        self.child = Some(status);
        self.hold = None;
        self.timers.clear(Timer::Hold);
        self.stats.child_exited_after = self.since_drain(now);
        if self.ready {
            self.ready = false;
            out.push(Action::SetReady(false));
        }
        self.stop_probing();
        out.push(Action::Log(Line::ChildExited {
            status,
            after: self.since_drain(now),
        }));
        if self.phase == Phase::Killing {
            return;
        }
        match self.cfg.on_child_exit {
            ChildExit::Drain => {
                // Processes the child left behind get the stop signal and a
                // deadline; the runtime reports TreeEmpty at once if there
                // are none.
                if self.cfg.mode != Mode::SingleChild {
                    if let Some(to) = self.cfg.rewrites.apply(self.stop_signal) {
                        out.push(self.send_leftovers(to));
                    }
                }
            }
            ChildExit::TermGroup | ChildExit::TermChild => {
                // dumb-init's forward_signal(SIGTERM), as it sends it.
                let whom = match self.cfg.on_child_exit {
                    ChildExit::TermGroup => Whom::Group,
                    _ => Whom::Child,
                };
                match self.rewrite(libc::SIGTERM, out) {
                    Some(to) => {
                        out.push(Action::Log(Line::Passed { signal: to, whom }));
                        if whom == Whom::Group {
                            out.push(Action::Send {
                                signal: to,
                                target: Target::Group(self.pid),
                            });
                        }
                    }
                    None => out.push(Action::Log(Line::Dropped {
                        signal: libc::SIGTERM,
                    })),
                }
                if whom == Whom::Child {
                    self.on_tree_empty(now, out);
                    return;
                }
            }
        }
        let deadline = match (self.phase, self.timers.get(Timer::Kill)) {
            (Phase::Stopping, Some(at)) => at,
            _ => now + self.cfg.grace.unwrap_or(self.cfg.leftover_grace),
        };
        self.phase = Phase::Stopping;
        self.timers.clear(Timer::Forward);
        self.timers.clear(Timer::Look);
        self.timers.arm(Timer::Kill, deadline);
    }

    fn on_tree_empty(&mut self, now: Instant, out: &mut Vec<Action>) {
        let Some(main) = self.child else {
            // ECHILD with the main child never reaped cannot be true:
            // look again shortly rather than wait for a SIGCHLD that came.
            self.retry_reap(now);
            return;
        };
        let status = route::reported_status(main, self.stop_route.as_ref(), &self.routed_reaped);
        if status != main {
            out.push(Action::Log(Line::AppStatus { status }));
        }
        self.exit(status.code(), out);
    }

    /// The end of the run: `code` after `-e`, no timer left, one line.
    fn exit(&mut self, code: i32, out: &mut Vec<Action>) {
        let code = if self.cfg.remap_exit.contains(&code) {
            0
        } else {
            code
        };
        self.phase = Phase::Exited;
        self.timers.clear_all();
        self.exit_code = Some(code);
        out.push(Action::Log(Line::Exiting {
            code,
            loud: self.killed || self.stats.drain_started.is_some(),
        }));
        out.push(Action::Exit(code));
    }

    fn on_traffic(&mut self, new_connections: usize, now: Instant, out: &mut Vec<Action>) {
        if self.phase != Phase::Draining {
            return;
        }
        if new_connections > 0 {
            self.last_new_connection = Some(now);
        }
        self.check_quiet(now, out);
    }

    /// Adaptive drain: forward early once traffic has been quiet long
    /// enough and the minimum delay has passed.
    fn check_quiet(&mut self, now: Instant, out: &mut Vec<Action>) {
        let (Some(q), Some(started)) = (self.cfg.quiet, self.stats.drain_started) else {
            return;
        };
        let quiet_since = self.last_new_connection.unwrap_or(started);
        let waited = now.saturating_duration_since(started);
        let quiet_for = now.saturating_duration_since(quiet_since);
        if waited >= q.min && quiet_for >= q.period {
            let saved = self.cfg.drain_delay.saturating_sub(waited);
            out.push(Action::Log(Line::TrafficQuiet {
                quiet_for,
                waited,
                saved,
                max: self.cfg.drain_delay,
            }));
            self.stats.adaptive = Some(Adaptive {
                waited,
                quiet_for,
                saved,
            });
            self.forward_stop(now, out);
        }
    }

    /// Every due timer, in the table's order, through one dispatch.
    fn on_tick(&mut self, now: Instant, out: &mut Vec<Action>) {
        for t in Timer::ALL {
            if self.phase == Phase::Exited {
                return;
            }
            if self.timers.take_due(t, now) {
                self.on_timer(t, now, out);
            }
        }
    }

    fn on_timer(&mut self, t: Timer, now: Instant, out: &mut Vec<Action>) {
        match t {
            Timer::Probe if self.serving() && self.probe_started.is_none() => {
                self.probe_started = Some(now);
                out.push(self.probe_action());
            }
            Timer::Worker => self.on_worker_timer(now, out),
            Timer::Forward if self.phase == Phase::Draining => self.forward_at_maximum(now, out),
            Timer::Look if self.phase == Phase::Draining => {
                // The next look stays on a fixed grid from the drain start.
                self.timers.arm(Timer::Look, now + LOOK_EVERY);
                out.push(Action::LookTraffic);
            }
            Timer::Kill if self.phase == Phase::Stopping => {
                out.push(Action::Log(Line::GraceReached {
                    after: self.since_drain(now),
                }));
                self.phase = Phase::Killing;
                self.killed = true;
                self.timers.arm(Timer::GiveUp, now + KILL_GIVE_UP);
                self.kill(true, now, out);
            }
            Timer::GiveUp if self.phase == Phase::Killing => self.give_up(out),
            Timer::Resweep if self.phase == Phase::Killing => self.kill(false, now, out),
            Timer::Reap => out.push(Action::Reap),
            Timer::Hold => self.look_again(true, out),
            // The back-off is over: `reads_signals()` is true again.
            Timer::Signals => {}
            Timer::Resend if self.phase != Phase::Killing => {
                for (signal, target, _) in &self.resends {
                    out.push(Action::Send {
                        signal: *signal,
                        target: target.clone(),
                    });
                }
            }
            Timer::Probe
            | Timer::Forward
            | Timer::Look
            | Timer::Kill
            | Timer::GiveUp
            | Timer::Resweep
            | Timer::Resend => {}
        }
    }

    /// The tree outlived [`KILL_GIVE_UP`] of SIGKILL sweeps: exit with the
    /// main child's status when it was reaped, else 137 (killed).
    fn give_up(&mut self, out: &mut Vec<Action>) {
        out.push(Action::Log(Line::KillGaveUp {
            after: KILL_GIVE_UP,
            pid1: self.cfg.pid1,
        }));
        let code = self.child.map_or(128 + libc::SIGKILL, |s| s.code());
        self.exit(code, out);
    }

    fn kill(&mut self, first: bool, now: Instant, out: &mut Vec<Action>) {
        if let Some(group) = self.awaited_group() {
            out.push(Action::Kill {
                how: Kill::Group(group),
                first,
            });
        } else if self.cfg.pid1 {
            out.push(Action::Kill {
                how: Kill::Namespace,
                first,
            });
        } else {
            // The runtime lists the tree; `on_kill_list` picks the targets.
            out.push(Action::ListForKill {
                root: self.cfg.root,
                first,
            });
        }
        // Until the tree is empty: a process forked during a sweep, or a
        // SIGKILL lost to a fault, gets another one.
        self.timers.arm(Timer::Resweep, now + RESWEEP_EVERY);
    }

    fn forward_at_maximum(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.cfg.quiet.is_some() {
            let last = self.last_new_connection.or(self.stats.drain_started);
            let quiet_for = last.map_or(Duration::ZERO, |t| now.saturating_duration_since(t));
            out.push(Action::Log(Line::TrafficNeverQuiet {
                max: self.cfg.drain_delay,
            }));
            self.stats.adaptive = Some(Adaptive {
                waited: self.cfg.drain_delay,
                quiet_for,
                saved: Duration::ZERO,
            });
        }
        self.forward_stop(now, out)
    }
}

pub mod hold;
pub mod route;
pub mod timers;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod proptests;
