//! The runtime shell around the supervisor: a tokio current-thread loop
//! that turns the signalfd, waitpid, probe results and the supervisor's
//! own deadline into events, and carries out the supervisor's actions with
//! syscalls. It decides nothing: who gets a signal, when to look, probe or
//! kill, and what to log all come from the supervisor.
//!
//! While nothing happens it sleeps in epoll with no timer armed: a sleeping
//! child costs zero wakeups.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use crate::core::supervisor::{Action, Event, Kill, Purpose, ReapPass, Supervisor, Target};
use crate::io::client::{Hook, Probe};
use crate::io::metrics::Shared;
use crate::io::readiness::file::ReadyFile;
use crate::io::traffic::TrafficWatcher;
use crate::logging::Emit as _;
use crate::os::process;
use crate::os::signals::SignalStream;
use crate::os::tree;
use crate::os::watch::Watches;

/// What the runtime drives besides the supervisor; all of it is created
/// before the child starts, so a drain creates no thread, process or
/// descriptor of its own.
#[derive(Default)]
pub struct Parts {
    pub ready_file: Option<ReadyFile>,
    pub hook: Option<Hook>,
    pub gate: Option<Probe>,
    pub traffic: Option<TrafficWatcher>,
    /// Log reaped orphans at warning level (tini's -w).
    pub warn_on_reap: bool,
}

pub struct Runtime {
    sup: Supervisor,
    signals: SignalStream,
    child: i32,
    shared: Arc<Shared>,
    parts: Parts,
    /// Gate and listener checks answer here.
    probe_tx: UnboundedSender<Event>,
    probe_rx: UnboundedReceiver<Event>,
    /// Events produced while handling others (reaps, look results).
    pending: VecDeque<Event>,
    /// The last reaping pass found no children at all.
    no_children: bool,
    /// Consecutive failed reads of the signalfd.
    signal_errors: u32,
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
    pub fn new(
        sup: Supervisor,
        signals: SignalStream,
        child: i32,
        shared: Arc<Shared>,
        parts: Parts,
    ) -> Self {
        let (probe_tx, probe_rx) = unbounded_channel();
        Self {
            sup,
            signals,
            child,
            shared,
            parts,
            probe_tx,
            probe_rx,
            pending: VecDeque::new(),
            no_children: false,
            signal_errors: 0,
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
        loop {
            while let Some(event) = self.pending.pop_front() {
                if let Some(code) = self.dispatch(event) {
                    self.cleanup();
                    return code;
                }
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
        let deadline = deadline.map(tokio::time::Instant::from_std);
        tokio::select! {
            // Then signals: a probe result or a timer that falls due while
            // they are read never delays a forwarded signal.
            biased;
            sig = self.signals.recv() => match sig {
                Ok(sig) => {
                    self.signal_errors = 0;
                    Event::Signal(sig)
                }
                Err(e) => self.signal_read_failed(e).await,
            },
            Some(answer) = self.probe_rx.recv() => answer,
            pid = self.watches.gone(), if !self.watches.is_empty() => Event::Gone(pid),
            _ = sleep_opt(deadline) => Event::Tick,
        }
    }

    /// A failed signalfd read: log it, reap in case a SIGCHLD was in it,
    /// and back off a little if it keeps failing, so a broken descriptor
    /// cannot spin the loop.
    async fn signal_read_failed(&mut self, e: std::io::Error) -> Event {
        self.signal_errors += 1;
        if self.signal_errors == 1 {
            tracing::error!("reading signals failed ({e}): retrying");
        } else if self.signal_errors > 3 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Event::Signal(libc::SIGCHLD)
    }

    /// Hands one event to the supervisor and carries out its actions;
    /// returns the exit code once it says exit.
    fn dispatch(&mut self, event: Event) -> Option<i32> {
        if let Event::Signal(sig) = event {
            *self.shared.metrics().received.entry(sig).or_default() += 1;
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
        if crate::os::alloc::reserve_newly_used() {
            tracing::warn!(
                "memory: the system refused an allocation; drainit runs on its {} KiB reserve",
                crate::os::alloc::RESERVE_BYTES / 1024
            );
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
    fn reap(&mut self) {
        let pass = process::reap_into(std::mem::take(&mut self.reaped));
        self.no_children = pass.none_left;
        // One lock for the whole pass: a burst can be tens of thousands.
        self.shared.metrics().reaped += pass.reaped.len() as u64;
        if pass.reaped.iter().any(|r| r.pid == self.child) {
            self.shared.set_live(false);
        }
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

    fn apply(&mut self, action: Action) -> Option<i32> {
        match action {
            Action::Send { signal, target } => self.send(signal, target),
            Action::Kill { how, first } => self.kill(how, first),
            Action::SetReady(ready) => self.set_ready(ready),
            Action::CallHook => {
                if let Some(hook) = &self.parts.hook {
                    hook.fire();
                }
            }
            Action::WatchTraffic => {
                if let Some(t) = &mut self.parts.traffic {
                    t.start(self.child);
                }
            }
            Action::LookTraffic => {
                let n = self.parts.traffic.as_mut().map_or(1, |t| t.look());
                self.pending
                    .push_back(Event::Traffic { new_connections: n });
            }
            Action::Probe => self.probe(),
            Action::ProbeListen => self.probe_listen(),
            Action::ReadTree { signal, purpose } => self.read_tree(signal, purpose),
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

    fn send(&mut self, signal: i32, target: Target) {
        let n = match &target {
            Target::Pid(pid) => self.send_or_report(signal, &[*pid], &target),
            Target::Pids(pids) => self.send_or_report(signal, pids, &target),
            Target::Group(pgid) => self.send_or_report(signal, &[-pgid], &target),
            Target::Everyone => self.send_or_report(signal, &[-1], &target),
            Target::Leftovers { group } => match self.descendants() {
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
            *self.shared.metrics().forwarded.entry(signal).or_default() += 1;
        }
        self.sup.recycle(target);
    }

    /// drainit's live descendants, listed into a buffer kept for reuse.
    fn descendants(&mut self) -> std::io::Result<&mut Vec<i32>> {
        self.pids.clear();
        let me = std::process::id() as i32;
        self.reader.descendants(me, &mut self.pids)?;
        Ok(&mut self.pids)
    }

    fn kill(&mut self, how: Kill, first: bool) {
        let count = match how {
            Kill::Namespace => {
                let n = tree::descendants(1).map_or(0, |p| p.len());
                tree::kill_everything();
                n
            }
            Kill::Tree { main_child } => tree::kill_sweep(std::process::id() as i32, main_child),
            Kill::Group(pgid) => usize::from(tree::try_send(-pgid, libc::SIGKILL).is_ok()),
        };
        self.shared.metrics().killed += count as u64;
        self.pending.push_back(Event::Killed { count, first });
    }

    /// Reads what the forwarding rule needs from /proc and answers at once.
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
            children: !self.no_children,
        });
    }

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

    fn probe(&mut self) {
        let Some(gate) = &self.parts.gate else {
            // No gate configured: answer at once, as a failed check.
            self.pending.push_front(Event::Probe(false));
            return;
        };
        let check = gate.check();
        let tx = self.probe_tx.clone();
        tokio::spawn(async move {
            let _ = tx.send(Event::Probe(check.await));
        });
    }

    /// The automatic gate: find the app's listeners now, connect in a task.
    fn probe_listen(&mut self) {
        let targets = match crate::io::readiness::listen::find(self.child) {
            Ok(t) if t.is_empty() => {
                return self
                    .pending
                    .push_front(Event::Listening(crate::core::supervisor::Listen::Nothing))
            }
            Ok(t) => t,
            Err(e) => {
                tracing::warn!("cannot look for the app's listening sockets: {e}");
                return self
                    .pending
                    .push_front(Event::Listening(crate::core::supervisor::Listen::Unknown));
            }
        };
        let tx = self.probe_tx.clone();
        tokio::spawn(async move {
            let found = crate::io::readiness::listen::connect(targets).await;
            let _ = tx.send(Event::Listening(found));
        });
    }

    fn set_ready(&mut self, ready: bool) {
        self.shared.set_ready(ready);
        if let Some(file) = &self.parts.ready_file {
            if let Err(e) = file.set(ready) {
                tracing::error!("ready file: {e}");
            }
        }
        tracing::debug!("ready: {ready}");
    }

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

async fn sleep_opt(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
