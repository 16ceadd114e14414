//! The runtime shell around the supervisor: a tokio current-thread loop
//! that turns the signalfd, waitpid, timers and probes into events, and
//! carries out the supervisor's actions with syscalls.
//!
//! While nothing happens it sleeps in epoll with no timer armed: a sleeping
//! child costs zero wakeups.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc::UnboundedReceiver;

use crate::client::Hook;
use crate::process;
use crate::readiness::file::ReadyFile;
use crate::readiness::Shared;
use crate::signals::{self, SignalStream};
use crate::supervisor::{Action, Event, Supervisor, Target};
use crate::traffic::TrafficWatcher;
use crate::tree;

/// How long one SIGKILL sweep of the tree may chase forking processes.
const KILL_SWEEP: std::time::Duration = std::time::Duration::from_millis(200);

pub struct Runtime {
    pub sup: Supervisor,
    pub signals: SignalStream,
    pub child: i32,
    pub shared: Arc<Shared>,
    pub ready_file: Option<ReadyFile>,
    pub probes: Option<UnboundedReceiver<bool>>,
    pub hook: Option<Hook>,
    pub traffic: Option<TrafficWatcher>,
    pub warn_on_reap: bool,
    /// The last reaping pass found no children at all.
    pub no_children: bool,
    /// When to give back the start-up pages (see memory.rs).
    pub trim_at: Option<Instant>,
}

impl Runtime {
    /// Runs until the supervisor says exit; returns the exit code.
    pub async fn run(mut self) -> i32 {
        self.shared.set_live(true);
        self.dispatch(Event::Started);
        loop {
            if let Some(code) = self.sup.exit_code() {
                self.cleanup();
                return code;
            }
            let event = self.next_event().await;
            match event {
                Some(Event::Signal(libc::SIGCHLD)) => self.reap(),
                Some(event) => self.dispatch(event),
                None => {}
            }
        }
    }

    async fn next_event(&mut self) -> Option<Event> {
        let deadline = self.sup.next_deadline().map(tokio::time::Instant::from_std);
        let watching = self.sup.watching_traffic();
        let trim_at = self.trim_at.map(tokio::time::Instant::from_std);
        tokio::select! {
            // Once, shortly after start: a command that is over by then
            // (`drainit -- true`) never pays for it.
            _ = sleep_opt(trim_at) => {
                self.trim_at = None;
                crate::memory::trim_startup_pages();
                None
            },
            sig = self.signals.recv() => match sig {
                Ok(sig) => Some(Event::Signal(sig)),
                Err(e) => {
                    tracing::error!("reading signals failed: {e}");
                    None
                }
            },
            Some(ok) = recv_opt(&mut self.probes) => Some(Event::Probe(ok)),
            _ = sleep_opt(deadline) => Some(Event::Tick),
            n = look_opt(&mut self.traffic, watching) => Some(Event::Traffic { new_connections: n }),
        }
    }

    fn dispatch(&mut self, event: Event) {
        if let Event::Signal(sig) = event {
            *self.shared.metrics().received.entry(sig).or_default() += 1;
        }
        let now = Instant::now();
        let actions = self.sup.handle(event, now);
        self.shared.metrics().phase = self.sup.phase().name();
        for action in actions {
            self.apply(action, now);
        }
    }

    /// Reaps everything that exited; recognises the main child in the loop.
    fn reap(&mut self) {
        let pass = process::reap_all();
        self.no_children = pass.none_left;
        // One lock for the whole pass: a burst can be tens of thousands.
        self.shared.metrics().reaped += pass.reaped.len() as u64;
        for r in &pass.reaped {
            if r.pid == self.child {
                signals::set_fault_target(0);
                self.shared.set_live(false);
                let after = self.drain_elapsed();
                self.shared.metrics().child_exited_after = after;
                self.dispatch(Event::ChildExited(r.status));
            } else if self.warn_on_reap {
                tracing::warn!("reaped orphan {} ({:?})", r.pid, r.status);
            } else {
                tracing::trace!("reaped orphan {} ({:?})", r.pid, r.status);
            }
        }
        if pass.none_left {
            self.dispatch(Event::TreeEmpty);
        } else if self.sup.phase() == crate::supervisor::Phase::Killing && std::process::id() != 1 {
            // Something is still alive after the SIGKILL: a process that
            // forked after the sweep. Sweep again on every exit we see.
            let n = tree::kill_tree(std::process::id() as i32, self.child, KILL_SWEEP);
            self.shared.metrics().killed += n as u64;
        }
    }

    fn drain_elapsed(&self) -> Option<f64> {
        let started = self.shared.metrics().drain_started?;
        Some(started.elapsed().as_secs_f64())
    }

    fn apply(&mut self, action: Action, now: Instant) {
        match action {
            Action::Send { signal, target } => self.send(signal, target, now),
            Action::KillAll => self.kill_all(),
            Action::SetReady(ready) => self.set_ready(ready),
            Action::DrainStarted => self.drain_started(now),
            Action::Exit(_) => {}
        }
    }

    fn send(&mut self, signal: i32, target: Target, now: Instant) {
        let pids: Vec<i32> = match target {
            Target::Child => vec![self.child],
            Target::Group => vec![-self.child],
            // No child at all means no descendant (we are PID 1 or a
            // subreaper): skip the /proc walk.
            Target::Leftovers if self.no_children => Vec::new(),
            Target::Leftovers => {
                let mut pids = tree::descendants(std::process::id() as i32);
                if self.sup_mode_group() {
                    pids.push(-self.child);
                }
                pids
            }
        };
        let n = tree::signal_all(&pids, signal);
        *self.shared.metrics().forwarded.entry(signal).or_default() += 1;
        if self.sup.phase() == crate::supervisor::Phase::Stopping {
            let mut m = self.shared.metrics();
            if let (Some(start), None) = (m.drain_started, m.stop_forwarded_after) {
                m.stop_forwarded_after = Some(now.saturating_duration_since(start).as_secs_f64());
                if let Some(a) = self.sup.adaptive() {
                    m.drain_quiet_seen = Some(a.quiet_for.as_secs_f64());
                    m.drain_saved = Some(a.saved.as_secs_f64());
                }
            }
        }
        if target == Target::Leftovers && !pids.is_empty() {
            tracing::info!(
                target: "drainit::timeline",
                "sent {} to {n} remaining process(es)",
                signals::name(signal)
            );
        }
    }

    fn sup_mode_group(&self) -> bool {
        self.sup.mode() == crate::supervisor::Mode::Group
    }

    fn kill_all(&mut self) {
        let me = std::process::id() as i32;
        let mut killed = 0;
        if me == 1 {
            // As PID 1, kill(-1) reaches every process in the namespace at once.
            killed += tree::descendants(me).len();
            unsafe { libc::kill(-1, libc::SIGKILL) };
        } else {
            killed += tree::kill_tree(me, self.child, KILL_SWEEP);
        }
        self.shared.metrics().killed += killed as u64;
        tracing::warn!(target: "drainit::timeline", "SIGKILLed {killed} process(es)");
    }

    fn set_ready(&mut self, ready: bool) {
        self.shared.set_ready(ready);
        if let Some(file) = &self.ready_file {
            if let Err(e) = file.set(ready) {
                tracing::error!("ready file: {e}");
            }
        }
        tracing::debug!("ready: {ready}");
    }

    fn drain_started(&mut self, now: Instant) {
        self.shared.metrics().drain_started = Some(now);
        if let Some(hook) = &self.hook {
            hook.fire();
        }
        if let Some(t) = &mut self.traffic {
            t.start(self.child);
        }
    }

    fn cleanup(&mut self) {
        if let Some(file) = &self.ready_file {
            file.remove();
        }
    }
}

async fn recv_opt(rx: &mut Option<UnboundedReceiver<bool>>) -> Option<bool> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn sleep_opt(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn look_opt(traffic: &mut Option<TrafficWatcher>, watching: bool) -> usize {
    match traffic {
        Some(t) if watching => t.next_look().await,
        _ => std::future::pending().await,
    }
}
