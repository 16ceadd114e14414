//! The runtime shell around the supervisor: a tokio current-thread loop
//! that turns the signalfd, waitpid, /proc, probe results and the
//! supervisor's own deadline into events, and carries out the supervisor's
//! actions with syscalls. It decides nothing: who gets a signal, when to
//! look, probe or kill, what a failure means and what to log all come from
//! the supervisor. What it keeps is mechanism: answers to the
//! supervisor's questions (`ReadTree`, `ListForKill`, a probe) go first, a
//! deadline already past goes before the next signal, and the figures for
//! /metrics are counted as actions are carried out. Its one line of its
//! own is a measurement, not a decision: the allocations from the first
//! signal to exit, at debug level (tests/alloc.rs reads it).
//!
//! The gate, the traffic watcher and the hook are parts of the runtime, and
//! the supervisor is configured from them ([`Runtime::new`]): it never asks
//! for a check, a look or a call the runtime has nothing to answer with.
//!
//! While nothing happens it sleeps in epoll with no timer armed: a sleeping
//! child costs zero wakeups.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use crate::core::supervisor::{
    Action, Config, Descendant, Event, Kill, Purpose, Quiet, ReapPass, Supervisor, Target,
};
use crate::io::client::{Hook, Probe};
use crate::io::metrics::Shared;
use crate::io::readiness::file::ReadyFile;
use crate::io::traffic::TrafficWatcher;
use crate::logging::Emit as _;
use crate::os::alarm::Alarm;
use crate::os::signals::SignalStream;
use crate::os::watch::Watches;
use crate::os::{process, procfs, tree};

/// Stack kept resident below the loop's frame when start-up's pages are
/// trimmed: more than the red zone; what the loop touches again after it
/// comes back on its own.
const STACK_KEEP: usize = 512;

/// What the runtime drives besides the supervisor; all of it is created
/// before the child starts, so a drain creates no thread, process or
/// descriptor of its own.
#[derive(Default)]
pub struct Parts {
    pub ready_file: Option<ReadyFile>,
    pub hook: Option<Hook>,
    pub gate: Option<Gate>,
    pub traffic: Option<Traffic>,
}

/// The readiness gate and how often it is checked.
pub struct Gate {
    pub probe: Probe,
    pub every: Duration,
}

/// The adaptive drain: the connection watcher and its quiet rule.
pub struct Traffic {
    pub watcher: TrafficWatcher,
    pub quiet: Quiet,
}

pub struct Runtime {
    sup: Supervisor,
    signals: SignalStream,
    child: i32,
    shared: Arc<Shared>,
    parts: Parts,
    /// Gate and listener checks answer here (made only when there is a
    /// gate: the channel's first block is 1.3 kB).
    probe_tx: Option<UnboundedSender<Event>>,
    probe_rx: Option<UnboundedReceiver<Event>>,
    /// Events produced while handling others (reaps, look results).
    pending: VecDeque<Event>,
    /// The supervisor's deadline.
    alarm: Alarm,
    /// Processes whose exit the supervisor asked to hear of.
    watches: Watches,
    /// `alloc::allocations()` when the first signal arrived.
    allocations_at_first_signal: Option<u64>,
    /// Routing's /proc reader and snapshot, reserved here and reused for
    /// every signal (the supervisor hands the snapshot back).
    reader: crate::os::proctree::Reader,
    tree: Option<Box<crate::core::supervisor::route::Tree>>,
    /// One reaping pass's list, reused.
    reaped: Vec<process::Reaped>,
    /// The leftovers a signal goes to, reused.
    pids: Vec<i32>,
}

impl Runtime {
    /// The supervisor is made here from `cfg`, its gate interval, quiet
    /// rule and hook taken from `parts`: every `Action::Probe`,
    /// `LookTraffic` and `CallHook` has a part to carry it out.
    pub fn new(
        cfg: Config,
        signals: SignalStream,
        alarm: Alarm,
        child: i32,
        shared: Arc<Shared>,
        parts: Parts,
    ) -> Self {
        let cfg = Config {
            gate_every: parts.gate.as_ref().map(|g| g.every),
            quiet: parts.traffic.as_ref().map(|t| t.quiet),
            hook: parts.hook.is_some(),
            ..cfg
        };
        let (probe_tx, probe_rx) = if cfg.gate_every.is_some() || cfg.listen_gate.is_some() {
            let (tx, rx) = unbounded_channel();
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        Self {
            sup: Supervisor::new(cfg),
            signals,
            child,
            shared,
            parts,
            probe_tx,
            probe_rx,
            pending: VecDeque::new(),
            alarm,
            watches: Watches::default(),
            allocations_at_first_signal: None,
            reader: crate::os::proctree::Reader::new(),
            tree: Some(Box::new(
                crate::core::supervisor::route::Tree::with_capacity(
                    crate::os::proctree::RESERVED_PROCS,
                ),
            )),
            reaped: Vec::with_capacity(16),
            pids: Vec::with_capacity(crate::os::proctree::RESERVED_PROCS),
        }
    }

    /// Runs until the supervisor says exit; returns the exit code.
    pub async fn run(mut self) -> i32 {
        self.shared.set_live(true);
        self.pending.push_back(Event::Started { pid: self.child });
        let mut trimmed = false;
        loop {
            while let Some(event) = self.pending.pop_front() {
                if let Some(code) = self.dispatch(event) {
                    self.cleanup();
                    return code;
                }
            }
            if !std::mem::replace(&mut trimmed, true) {
                // Going idle for the first time: start-up's deep stack
                // pages go back to the kernel (src/os/stack.rs).
                crate::os::stack::trim_below_here(STACK_KEEP);
            }
            let event = self.next_event().await;
            self.pending.push_back(event);
        }
    }

    async fn next_event(&mut self) -> Event {
        let deadline = self.sup.next_deadline();
        // A deadline already past goes first: a stream of signals that is
        // never empty (a SIGCHLD storm from pid hoppers) must not postpone
        // the grace or the give-up for ever.
        if deadline.is_some_and(|at| Instant::now() >= at) {
            return Event::Tick;
        }
        // A timerfd that cannot be armed (nothing here can make it fail)
        // must not make a deadline be missed: then the clock is looked at
        // after every wake-up instead.
        let armed = self.alarm.set(deadline).is_ok();
        let read_signals = self.sup.reads_signals();
        tokio::select! {
            // Then signals: a probe result or a timer that falls due while
            // they are read never delays a forwarded signal.
            biased;
            sig = self.signals.recv(), if read_signals => match sig {
                Ok(sig) => Event::Signal(sig),
                Err(e) => Event::SignalsUnread { error: e.to_string() },
            },
            Some(answer) = answer(&mut self.probe_rx) => answer,
            pid = self.watches.gone(), if !self.watches.is_empty() => Event::Gone(pid),
            _ = self.alarm.fired(), if deadline.is_some() && armed => Event::Tick,
            _ = std::future::ready(()), if deadline.is_some() && !armed => Event::Tick,
            // Never (the signalfd is read unless a back-off's deadline is
            // armed), but select! must not panic: a tick is harmless.
            else => Event::Tick,
        }
    }

    /// Hands one event to the supervisor and carries out its actions;
    /// returns the exit code once it says exit. Not inlined, like each
    /// action below: the loop's frame stays small while it sleeps.
    #[inline(never)]
    fn dispatch(&mut self, event: Event) -> Option<i32> {
        if let Event::Signal(sig) = event {
            self.shared.metrics().received.add(sig);
            if sig != libc::SIGCHLD {
                self.allocations_at_first_signal
                    .get_or_insert_with(crate::os::alloc::allocations);
            }
        }
        let now = Instant::now();
        self.sup.handle(event, now);
        if let Some(tree) = self.sup.spare_tree() {
            self.tree = Some(tree);
        }
        {
            let mut m = self.shared.metrics();
            m.phase = self.sup.phase().name();
            m.drain = *self.sup.stats();
        }
        self.shared.set_live(self.sup.child_running());
        if crate::os::alloc::reserve_newly_used() {
            self.pending.push_back(Event::ReserveUsed {
                kib: crate::os::alloc::RESERVE_BYTES / 1024,
            });
        }
        let mut exit = None;
        while let Some(action) = self.sup.poll_action() {
            if let Some(code) = self.apply(action) {
                exit = Some(code);
            }
        }
        if exit.is_none() {
            self.check_group();
        }
        exit
    }

    /// Reports the end of the process group the supervisor waits for
    /// (kill(-pgid, 0) finds no member).
    #[inline(never)]
    fn check_group(&mut self) {
        let Some(pgid) = self.sup.awaited_group() else {
            return;
        };
        if tree::try_send(-pgid, 0) == Err(nix::errno::Errno::ESRCH)
            && !self.pending.iter().any(|e| matches!(e, Event::GroupEmpty))
        {
            self.pending.push_back(Event::GroupEmpty);
        }
    }

    /// Reaps everything that exited and reports the pass as it was.
    #[inline(never)]
    fn reap(&mut self) {
        let pass = process::reap_into(std::mem::take(&mut self.reaped));
        // One lock for the whole pass: a burst can be tens of thousands.
        self.shared.metrics().reaped += pass.reaped.len() as u64;
        let mut reaped = self.sup.spare_reaped().unwrap_or_default();
        reaped.extend(pass.reaped.iter().map(|r| (r.pid, r.status)));
        if pass.reaped.capacity() <= 256 {
            self.reaped = pass.reaped;
        }
        self.pending.push_back(Event::Reaped(ReapPass {
            reaped,
            none_left: pass.none_left,
            failed: pass.failed,
        }));
        self.check_group();
    }

    #[inline(never)]
    fn apply(&mut self, action: Action) -> Option<i32> {
        match action {
            Action::Send { signal, target } => self.send(signal, target),
            Action::Kill { how, first } => self.kill(how, first),
            Action::SetReady(ready) => self.set_ready(ready),
            // The supervisor asks for a call, a watch or a look only when
            // the part is there (`Runtime::new`).
            Action::CallHook => {
                if let Some(hook) = &self.parts.hook {
                    hook.fire();
                }
            }
            Action::WatchTraffic => {
                if let Some(t) = &mut self.parts.traffic {
                    t.watcher.start(self.child);
                }
            }
            Action::LookTraffic => {
                if let Some(t) = &mut self.parts.traffic {
                    let n = t.watcher.look();
                    self.pending
                        .push_back(Event::Traffic { new_connections: n });
                }
            }
            Action::Probe => self.probe(),
            Action::ProbeListen => self.probe_listen(),
            Action::ReadTree { signal, purpose } => self.read_tree(signal, purpose),
            Action::ListForKill { root, first } => self.list_for_kill(root, first),
            Action::Watch(pids) => self.watch(&pids),
            Action::Reap => self.reap(),
            Action::SuspendSelf => {
                // Stops here; kill returns once drainit is continued.
                tree::send(std::process::id() as i32, libc::SIGSTOP);
                self.signals.reorder_pending();
            }
            Action::Log(line) => line.emit(),
            Action::Exit(code) => return Some(code),
        }
        None
    }

    /// Sends to each pid; a failure other than "gone" goes back to the
    /// supervisor, which sends again.
    #[inline(never)]
    fn send_or_report(&mut self, signal: i32, pids: &[i32], target: &Target) -> usize {
        let mut sent = 0;
        for &pid in pids {
            match tree::try_send(pid, signal) {
                Ok(()) => sent += 1,
                Err(nix::errno::Errno::ESRCH) => {}
                Err(e) => self.pending.push_back(Event::SendFailed {
                    signal,
                    target: match target {
                        Target::Pids(_) => Target::Pids(vec![pid]),
                        t => t.clone(),
                    },
                    errno: e as i32,
                }),
            }
        }
        sent
    }

    #[inline(never)]
    fn send(&mut self, signal: i32, target: Target) {
        let n = match &target {
            Target::Pid(pid) => self.send_or_report(signal, &[*pid], &target),
            Target::Pids(pids) => self.send_or_report(signal, pids, &target),
            Target::Group(pgid) => self.send_or_report(signal, &[-pgid], &target),
            Target::Everyone => self.send_or_report(signal, &[-1], &target),
            Target::Leftovers { group } => match self.descendants(std::process::id() as i32) {
                Ok(pids) => {
                    let count = pids.len();
                    pids.extend(group.map(|g| -g));
                    tree::signal_all(pids, signal);
                    self.pending
                        .push_back(Event::LeftoversSent { signal, count });
                    count
                }
                Err(e) => {
                    self.pending.push_back(Event::LeftoversUnread {
                        signal,
                        group: *group,
                        error: e.to_string(),
                    });
                    0
                }
            },
        };
        if n > 0 {
            self.shared.metrics().forwarded.add(signal);
        }
        self.sup.recycle(target);
    }

    /// The live descendants of `root`, listed into a buffer kept for reuse.
    fn descendants(&mut self, root: i32) -> std::io::Result<&mut Vec<i32>> {
        self.pids.clear();
        self.reader.descendants(root, &mut self.pids)?;
        Ok(&mut self.pids)
    }

    #[inline(never)]
    fn kill(&mut self, how: Kill, first: bool) {
        let count = match how {
            Kill::Namespace => {
                let n = procfs::descendants(1).map_or(0, |p| p.len());
                tree::kill_everything();
                n
            }
            Kill::Listed { pids, groups } => tree::kill_listed(&pids, &groups),
            Kill::Group(pgid) => usize::from(tree::try_send(-pgid, libc::SIGKILL).is_ok()),
        };
        self.shared.metrics().killed += count as u64;
        self.pending.push_back(Event::Killed { count, first });
    }

    /// Reads what the forwarding rule needs from /proc and answers at once.
    #[inline(never)]
    fn read_tree(&mut self, signal: i32, purpose: Purpose) {
        let mut tree = self.tree.take().unwrap_or_default();
        let reader = &mut self.reader;
        match purpose {
            Purpose::Forward | Purpose::Stop => reader.for_signal(&[self.child], signal, &mut tree),
            Purpose::Hold => reader.snapshot(self.child, &mut tree),
            Purpose::Leftovers => {
                reader.for_leftovers(std::process::id() as i32, signal, &mut tree)
            }
        }
        self.pending.push_front(Event::Tree {
            signal,
            purpose,
            tree,
        });
    }

    /// Lists the descendants of `root` with their process groups and
    /// sessions for the SIGKILL sweep, and answers at once.
    #[inline(never)]
    fn list_for_kill(&mut self, root: i32, first: bool) {
        let session = nix::unistd::getsid(None).map_or(-1, |s| s.as_raw());
        let listed = self
            .descendants(root)
            .map(|pids| {
                pids.iter()
                    .map(|&pid| Descendant {
                        pid,
                        group_session: procfs::stat(pid).ok().flatten().map(|s| (s.pgid, s.sid)),
                    })
                    .collect()
            })
            .map_err(|e| e.to_string());
        self.pending.push_front(Event::KillList {
            first,
            session,
            listed,
        });
    }

    #[inline(never)]
    fn watch(&mut self, pids: &[i32]) {
        let mut failed = None;
        for &pid in pids {
            if let Err(e) = self.watches.add(pid) {
                // Gone already (ESRCH) is an exit like any other.
                if e.raw_os_error() == Some(libc::ESRCH) {
                    self.pending.push_back(Event::Gone(pid));
                } else {
                    failed.get_or_insert((pid, e));
                }
            }
        }
        if let Some((pid, e)) = failed {
            self.pending.push_back(Event::WatchFailed {
                pid,
                error: e.to_string(),
            });
        }
    }

    #[inline(never)]
    fn probe(&mut self) {
        // Always there: the supervisor checks only a gate it was given
        // (`Runtime::new`).
        let Some(gate) = &self.parts.gate else {
            return;
        };
        let Some(tx) = self.probe_tx.clone() else {
            return;
        };
        let check = gate.probe.check();
        tokio::spawn(async move {
            let _ = tx.send(Event::Probe(check.await));
        });
    }

    /// The automatic gate: find the app's listeners now, connect in a task.
    #[inline(never)]
    fn probe_listen(&mut self) {
        let targets = match crate::io::readiness::listen::find(self.child) {
            Ok(t) if t.is_empty() => {
                return self
                    .pending
                    .push_front(Event::Listening(crate::core::supervisor::Listen::Nothing))
            }
            Ok(t) => t,
            Err(e) => {
                return self.pending.push_front(Event::ListenUnread {
                    error: e.to_string(),
                })
            }
        };
        let Some(tx) = self.probe_tx.clone() else {
            return;
        };
        tokio::spawn(async move {
            let found = crate::io::readiness::listen::connect(targets).await;
            let _ = tx.send(Event::Listening(found));
        });
    }

    #[inline(never)]
    fn set_ready(&mut self, ready: bool) {
        self.shared.set_ready(ready);
        if let Some(file) = &self.parts.ready_file {
            if let Err(e) = file.set(ready) {
                self.pending.push_back(Event::ReadyFileFailed {
                    error: e.to_string(),
                });
            }
        }
    }

    #[inline(never)]
    fn cleanup(&mut self) {
        if let Some(at) = self.allocations_at_first_signal {
            let n = crate::os::alloc::allocations().saturating_sub(at);
            tracing::debug!(
                target: "drainit::alloc",
                allocations = n,
                reserve_used = crate::os::alloc::reserve_high_water(),
                "allocations from the first signal to exit: {n}"
            );
        }
        if let Some(file) = &self.parts.ready_file {
            file.remove();
        }
    }
}

/// The next answer of a check in flight; never, without a gate.
async fn answer(rx: &mut Option<UnboundedReceiver<Event>>) -> Option<Event> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}
