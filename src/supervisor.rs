//! The supervisor: a pure state machine that turns events (signals, child
//! exits, probe results, the clock) into actions (send a signal, flip
//! readiness, exit). It makes no syscalls, so every shutdown timeline is a
//! unit test with a fake clock: `now` is always passed in.
//!
//! Phases: Starting -> Ready -> Draining -> Stopping -> Killing -> Exited.
//! `Draining` is the drain delay (readiness off, traffic still served);
//! `Stopping` waits for the tree after the stop signal; `Killing` waits for
//! the kernel to deliver SIGKILL.

use std::time::{Duration, Instant};

use crate::duration::show;
use crate::signals::{self, Rewrites};

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
    /// A readiness gate (URL or TCP probe) decides readiness.
    pub gated: bool,
    /// Adaptive drain: forward once no new connection was seen this long.
    pub quiet: Option<Quiet>,
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
            gated: false,
            quiet: None,
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

/// How the main child ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildStatus {
    Exited(i32),
    Signaled(i32),
}

impl ChildStatus {
    fn code(self) -> i32 {
        match self {
            ChildStatus::Exited(c) => c,
            ChildStatus::Signaled(s) => 128 + s,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The main child runs.
    Started,
    Signal(i32),
    /// The main child was reaped.
    ChildExited(ChildStatus),
    /// Nothing is left to reap: every descendant is gone.
    TreeEmpty,
    /// A readiness gate result.
    Probe(bool),
    /// Adaptive drain: new or still-active connections to the app's
    /// listeners since the previous look (0 = quiet).
    Traffic {
        new_connections: usize,
    },
    /// The clock reached `next_deadline()`.
    Tick,
}

/// Who receives a forwarded signal; the runtime resolves it to pids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Child,
    Group,
    /// Every remaining descendant, after the main child exited.
    Leftovers,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Send {
        signal: i32,
        target: Target,
    },
    /// SIGKILL the whole tree.
    KillAll,
    SetReady(bool),
    /// The drain began: call the drain hook, start watching traffic.
    DrainStarted,
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
    child: Option<ChildStatus>,
    /// The signal that started the drain (before rewrites).
    stop_signal: i32,
    drain_started: Option<Instant>,
    forward_at: Option<Instant>,
    kill_at: Option<Instant>,
    last_new_connection: Option<Instant>,
    adaptive: Option<Adaptive>,
    killed: bool,
    exit_code: Option<i32>,
}

impl Supervisor {
    pub fn new(cfg: Config) -> Self {
        let stop_signal = cfg.drain_signals.first().copied().unwrap_or(libc::SIGTERM);
        Self {
            cfg,
            phase: Phase::Starting,
            ready: false,
            gate_ok: false,
            child: None,
            stop_signal,
            drain_started: None,
            forward_at: None,
            kill_at: None,
            last_new_connection: None,
            adaptive: None,
            killed: false,
            exit_code: None,
        }
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    pub fn mode(&self) -> Mode {
        self.cfg.mode
    }

    #[cfg(test)]
    pub fn is_ready(&self) -> bool {
        self.ready
    }

    #[cfg(test)]
    pub fn child_running(&self) -> bool {
        self.child.is_none() && self.phase != Phase::Exited
    }

    pub fn exit_code(&self) -> Option<i32> {
        self.exit_code
    }

    /// When the runtime must deliver `Event::Tick`; `None` means no timer.
    pub fn next_deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Draining => self.forward_at,
            Phase::Stopping => self.kill_at,
            _ => None,
        }
    }

    pub fn adaptive(&self) -> Option<Adaptive> {
        self.adaptive
    }

    /// Whether the runtime should watch for new connections (adaptive drain).
    pub fn watching_traffic(&self) -> bool {
        self.phase == Phase::Draining && self.cfg.quiet.is_some()
    }

    pub fn handle(&mut self, event: Event, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        if self.phase == Phase::Exited {
            return out;
        }
        match event {
            Event::Started => self.on_started(&mut out),
            Event::Signal(sig) => self.on_signal(sig, now, &mut out),
            Event::ChildExited(status) => self.on_child_exited(status, now, &mut out),
            Event::TreeEmpty => self.on_tree_empty(&mut out),
            Event::Probe(ok) => self.on_probe(ok, &mut out),
            Event::Traffic { new_connections } => self.on_traffic(new_connections, now, &mut out),
            Event::Tick => self.on_tick(now, &mut out),
        }
        out
    }

    fn on_started(&mut self, out: &mut Vec<Action>) {
        if !self.cfg.gated {
            self.gate_ok = true;
        }
        self.update_ready(out);
    }

    fn on_probe(&mut self, ok: bool, out: &mut Vec<Action>) {
        if self.gate_ok != ok {
            tracing::info!(
                target: "drainit::timeline",
                "readiness gate {}",
                if ok { "passed" } else { "failed" }
            );
        }
        self.gate_ok = ok;
        self.update_ready(out);
    }

    fn update_ready(&mut self, out: &mut Vec<Action>) {
        let serving = matches!(self.phase, Phase::Starting | Phase::Ready);
        let ready = serving && self.child.is_none() && self.gate_ok;
        if serving {
            self.phase = if ready { Phase::Ready } else { Phase::Starting };
        }
        if ready != self.ready {
            self.ready = ready;
            out.push(Action::SetReady(ready));
        }
    }

    fn is_drain_signal(&self, sig: i32) -> bool {
        self.cfg.drain_signals.contains(&sig)
    }

    fn elapsed(&self, now: Instant) -> String {
        self.drain_started
            .map(|t| format!(" after {}", show(now.saturating_duration_since(t))))
            .unwrap_or_default()
    }

    fn on_signal(&mut self, sig: i32, now: Instant, out: &mut Vec<Action>) {
        let drain = self.is_drain_signal(sig);
        match self.phase {
            Phase::Starting | Phase::Ready if drain && self.child.is_none() => {
                self.start_drain(sig, now, out)
            }
            Phase::Draining if drain || sig == libc::SIGINT => {
                tracing::info!(
                    target: "drainit::timeline",
                    "received {}{}: cutting the drain delay short",
                    signals::name(sig),
                    self.elapsed(now)
                );
                self.forward_stop(now, out);
            }
            Phase::Killing => {}
            _ => self.forward(sig, out),
        }
    }

    fn start_drain(&mut self, sig: i32, now: Instant, out: &mut Vec<Action>) {
        self.stop_signal = sig;
        self.drain_started = Some(now);
        self.phase = Phase::Draining;
        tracing::info!(
            target: "drainit::timeline",
            "received {}: draining (delay {}, grace {})",
            signals::name(sig),
            show(self.cfg.drain_delay),
            self.cfg.grace.map(show).unwrap_or_else(|| "unset".into())
        );
        if self.ready {
            self.ready = false;
            out.push(Action::SetReady(false));
            tracing::info!(target: "drainit::timeline", "readiness off");
        }
        out.push(Action::DrainStarted);
        if self.cfg.drain_delay.is_zero() {
            self.forward_stop(now, out);
        } else {
            self.forward_at = Some(now + self.cfg.drain_delay);
        }
    }

    /// Sends the (rewritten) stop signal and starts the grace deadline.
    fn forward_stop(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.phase = Phase::Stopping;
        self.forward_at = None;
        self.kill_at = self.cfg.grace.map(|g| now + g);
        let sig = self.stop_signal;
        match self.cfg.rewrites.apply(sig) {
            Some(to) => {
                let target = self.live_target();
                tracing::info!(
                    target: "drainit::timeline",
                    "forwarded {} to the {}{}",
                    signals::name(to),
                    target_name(target),
                    self.elapsed(now)
                );
                out.push(Action::Send { signal: to, target });
            }
            None => tracing::info!(
                target: "drainit::timeline",
                "stop signal {} dropped by a rewrite",
                signals::name(sig)
            ),
        }
    }

    fn forward(&mut self, sig: i32, out: &mut Vec<Action>) {
        let Some(to) = self.cfg.rewrites.apply(sig) else {
            tracing::debug!("dropped {} (rewrite)", signals::name(sig));
            return;
        };
        let target = if self.child.is_none() {
            self.live_target()
        } else if self.cfg.mode == Mode::SingleChild {
            return;
        } else {
            Target::Leftovers
        };
        tracing::debug!(
            "forwarding {} to the {}",
            signals::name(to),
            target_name(target)
        );
        out.push(Action::Send { signal: to, target });
    }

    fn live_target(&self) -> Target {
        match self.cfg.mode {
            Mode::Group => Target::Group,
            Mode::Cascade | Mode::SingleChild => Target::Child,
        }
    }

    fn on_child_exited(&mut self, status: ChildStatus, now: Instant, out: &mut Vec<Action>) {
        if self.child.is_some() {
            return;
        }
        self.child = Some(status);
        if self.ready {
            self.ready = false;
            out.push(Action::SetReady(false));
        }
        let how = match status {
            ChildStatus::Exited(c) => format!("exited with {c}"),
            ChildStatus::Signaled(s) => format!("was killed by {}", signals::name(s)),
        };
        let level_info = self.drain_started.is_some();
        if level_info {
            tracing::info!(target: "drainit::timeline", "child {how}{}", self.elapsed(now));
        } else {
            tracing::debug!("child {how}");
        }
        if self.phase == Phase::Killing {
            return;
        }
        // Processes the child left behind get the stop signal and a
        // deadline; the runtime reports TreeEmpty at once if there are none.
        if self.cfg.mode != Mode::SingleChild {
            if let Some(to) = self.cfg.rewrites.apply(self.stop_signal) {
                out.push(Action::Send {
                    signal: to,
                    target: Target::Leftovers,
                });
            }
        }
        let deadline = match (self.phase, self.kill_at) {
            (Phase::Stopping, Some(at)) => at,
            _ => now + self.cfg.grace.unwrap_or(self.cfg.leftover_grace),
        };
        self.phase = Phase::Stopping;
        self.forward_at = None;
        self.kill_at = Some(deadline);
    }

    fn on_tree_empty(&mut self, out: &mut Vec<Action>) {
        let Some(status) = self.child else {
            return;
        };
        let mut code = status.code();
        if self.cfg.remap_exit.contains(&code) {
            code = 0;
        }
        self.phase = Phase::Exited;
        self.exit_code = Some(code);
        if self.killed || self.drain_started.is_some() {
            tracing::info!(target: "drainit::timeline", "exiting with {code}");
        }
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
        let (Some(q), Some(started)) = (self.cfg.quiet, self.drain_started) else {
            return;
        };
        let quiet_since = self.last_new_connection.unwrap_or(started);
        let waited = now.saturating_duration_since(started);
        let quiet_for = now.saturating_duration_since(quiet_since);
        if waited >= q.min && quiet_for >= q.period {
            let saved = self.cfg.drain_delay.saturating_sub(waited);
            tracing::info!(
                target: "drainit::timeline",
                "traffic quiet for {}: forwarding after {}, {} before the {} maximum",
                show(quiet_for),
                show(waited),
                show(saved),
                show(self.cfg.drain_delay)
            );
            self.adaptive = Some(Adaptive {
                waited,
                quiet_for,
                saved,
            });
            self.forward_stop(now, out);
        }
    }

    fn on_tick(&mut self, now: Instant, out: &mut Vec<Action>) {
        match self.phase {
            Phase::Draining if self.forward_at.is_some_and(|at| now >= at) => {
                if self.cfg.quiet.is_some() {
                    let last = self.last_new_connection.or(self.drain_started);
                    let quiet_for =
                        last.map_or(Duration::ZERO, |t| now.saturating_duration_since(t));
                    tracing::info!(
                        target: "drainit::timeline",
                        "traffic never quiet for the period: forwarding at the {} maximum",
                        show(self.cfg.drain_delay)
                    );
                    self.adaptive = Some(Adaptive {
                        waited: self.cfg.drain_delay,
                        quiet_for,
                        saved: Duration::ZERO,
                    });
                }
                self.forward_stop(now, out)
            }
            Phase::Draining => self.check_quiet(now, out),
            Phase::Stopping if self.kill_at.is_some_and(|at| now >= at) => {
                tracing::warn!(
                    target: "drainit::timeline",
                    "grace deadline reached{}: sending SIGKILL to what is left",
                    self.elapsed(now)
                );
                self.phase = Phase::Killing;
                self.killed = true;
                self.kill_at = None;
                out.push(Action::KillAll);
            }
            _ => {}
        }
    }
}

fn target_name(t: Target) -> &'static str {
    match t {
        Target::Child => "child",
        Target::Group => "child's process group",
        Target::Leftovers => "remaining processes",
    }
}

pub mod route;
#[cfg(test)]
mod tests;

#[cfg(test)]
mod proptests;
