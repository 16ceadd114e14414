//! The rolling replacement as a sans-IO state machine: events in
//! ([`Rollout::handle`]), actions out ([`Rollout::poll_action`]), timers in
//! one table ([`Rollout::next_deadline`], [`Rollout::handle_timeout`]). Time
//! is a `Duration` since the drill began, so every schedule is a unit test
//! with a fake clock; the runtime (src/run.rs) does the Docker calls.
//!
//! Replicas `0..n` are the old ones, `n..2n` their replacements: for each old
//! replica in turn, start its replacement, wait until it answers, route to
//! it, then stop the old one the platform's way ([`StopPlan`]) and wait until
//! it has exited and left the balancer before the next.

use std::collections::VecDeque;
use std::time::Duration;

use crate::platform::StopPlan;

pub type ReplicaId = usize;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Create and start the replica; report [`Event::Ready`] once it answers.
    Start(ReplicaId),
    /// The balancer starts routing to it.
    Route(ReplicaId),
    /// The balancer stops routing new requests to it.
    Unroute(ReplicaId),
    /// The platform begins stopping it (t = 0 of its timeline).
    StopBegins(ReplicaId),
    /// Send the stop signal.
    Signal(ReplicaId),
    /// Send SIGKILL: the platform's grace is over.
    Kill(ReplicaId),
    StartLoad,
    StopLoad,
    Finished,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    Ready(ReplicaId),
    Exited(ReplicaId),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Timer {
    Warmup,
    Unroute(ReplicaId),
    Signal(ReplicaId),
    Kill(ReplicaId),
    Tail,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Starting,
    Warmup,
    /// The replacement of old replica k is starting.
    Replacing(ReplicaId),
    /// Old replica k is being stopped.
    Stopping(ReplicaId),
    Tail,
    Done,
}

pub struct Rollout {
    replicas: usize,
    plan: StopPlan,
    warmup: Duration,
    tail: Duration,
    step: Step,
    ready: Vec<bool>,
    exited: Vec<bool>,
    unrouted: Vec<bool>,
    timers: Vec<(Duration, Timer)>,
    actions: VecDeque<Action>,
}

impl Rollout {
    /// `warmup`: load before the first stop; `tail`: load after the last
    /// old replica has gone.
    pub fn new(replicas: usize, plan: StopPlan, warmup: Duration, tail: Duration) -> Rollout {
        let mut r = Rollout {
            replicas,
            plan,
            warmup,
            tail,
            step: Step::Starting,
            ready: vec![false; 2 * replicas],
            exited: vec![false; 2 * replicas],
            unrouted: vec![false; 2 * replicas],
            timers: Vec::new(),
            actions: VecDeque::new(),
        };
        r.actions.extend((0..replicas).map(Action::Start));
        r
    }

    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    #[cfg(test)]
    pub fn is_done(&self) -> bool {
        self.step == Step::Done
    }

    pub fn next_deadline(&self) -> Option<Duration> {
        self.timers.iter().map(|(at, _)| *at).min()
    }

    pub fn handle(&mut self, event: Event, now: Duration) {
        match event {
            Event::Ready(id) => self.on_ready(id, now),
            Event::Exited(id) => self.on_exited(id, now),
        }
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Duration) {
        loop {
            let Some(pos) = self.timers.iter().position(|(at, _)| *at <= now) else {
                return;
            };
            let (_, timer) = self.timers.swap_remove(pos);
            self.fire(timer, now);
        }
    }

    fn set_timer(&mut self, at: Duration, timer: Timer) {
        self.timers.push((at, timer));
    }

    fn on_ready(&mut self, id: ReplicaId, now: Duration) {
        if let Some(r) = self.ready.get_mut(id) {
            *r = true;
        }
        self.actions.push_back(Action::Route(id));
        match self.step {
            Step::Starting if self.ready.iter().take(self.replicas).all(|r| *r) => {
                self.actions.push_back(Action::StartLoad);
                self.step = Step::Warmup;
                self.set_timer(now + self.warmup, Timer::Warmup);
            }
            Step::Replacing(k) if id == self.replicas + k => self.begin_stop(k, now),
            _ => {}
        }
    }

    fn on_exited(&mut self, id: ReplicaId, now: Duration) {
        if let Some(e) = self.exited.get_mut(id) {
            *e = true;
        }
        self.timers
            .retain(|(_, t)| !matches!(t, Timer::Signal(i) | Timer::Kill(i) if *i == id));
        self.maybe_advance(now);
    }

    fn fire(&mut self, timer: Timer, now: Duration) {
        match timer {
            Timer::Warmup => self.begin_replace(0),
            Timer::Unroute(id) => {
                if let Some(u) = self.unrouted.get_mut(id) {
                    *u = true;
                }
                self.actions.push_back(Action::Unroute(id));
                self.maybe_advance(now);
            }
            Timer::Signal(id) => self.actions.push_back(Action::Signal(id)),
            Timer::Kill(id) => self.actions.push_back(Action::Kill(id)),
            Timer::Tail => {
                self.actions.push_back(Action::StopLoad);
                self.actions.push_back(Action::Finished);
                self.step = Step::Done;
            }
        }
    }

    fn begin_replace(&mut self, k: ReplicaId) {
        self.step = Step::Replacing(k);
        self.actions.push_back(Action::Start(self.replicas + k));
    }

    fn begin_stop(&mut self, k: ReplicaId, now: Duration) {
        self.step = Step::Stopping(k);
        self.actions.push_back(Action::StopBegins(k));
        let plan = self.plan;
        self.set_timer(now + plan.removal_at, Timer::Unroute(k));
        if !self.exited.get(k).copied().unwrap_or(true) {
            self.set_timer(now + plan.signal_at, Timer::Signal(k));
            self.set_timer(now + plan.kill_at, Timer::Kill(k));
        }
        // A zero lag or a signal at t = 0 happens now, in the plan's order.
        self.handle_timeout(now);
    }

    /// The old replica being stopped has exited and left the balancer:
    /// on to the next one, or to the tail.
    fn maybe_advance(&mut self, now: Duration) {
        let Step::Stopping(k) = self.step else {
            return;
        };
        let gone = |v: &Vec<bool>| v.get(k).copied().unwrap_or(true);
        if !(gone(&self.exited) && gone(&self.unrouted)) {
            return;
        }
        if k + 1 < self.replicas {
            self.begin_replace(k + 1);
        } else {
            self.step = Step::Tail;
            self.set_timer(now + self.tail, Timer::Tail);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn drain(r: &mut Rollout) -> Vec<Action> {
        std::iter::from_fn(|| r.poll_action()).collect()
    }

    /// Advances the fake clock to the next deadline and fires it.
    fn tick(r: &mut Rollout) -> Duration {
        let at = r.next_deadline().expect("a timer is set");
        r.handle_timeout(at);
        at
    }

    fn plan(removal: u64, signal: u64, kill: u64) -> StopPlan {
        StopPlan {
            removal_at: s(removal),
            signal_at: s(signal),
            kill_at: s(kill),
        }
    }

    #[test]
    fn kubernetes_rollout_of_two() {
        use Action::*;
        let mut r = Rollout::new(2, plan(2, 0, 30), s(1), s(1));
        assert_eq!(drain(&mut r), [Start(0), Start(1)]);
        r.handle(Event::Ready(0), s(0));
        r.handle(Event::Ready(1), s(0));
        assert_eq!(drain(&mut r), [Route(0), Route(1), StartLoad]);
        assert_eq!(tick(&mut r), s(1));
        assert_eq!(drain(&mut r), [Start(2)]);
        r.handle(Event::Ready(2), s(3));
        // SIGTERM at once, the endpoint 2 s later: the race.
        assert_eq!(drain(&mut r), [Route(2), StopBegins(0), Signal(0)]);
        assert_eq!(r.next_deadline(), Some(s(5)));
        r.handle(Event::Exited(0), s(4));
        assert_eq!(drain(&mut r), []);
        assert_eq!(tick(&mut r), s(5));
        // Gone and unrouted: the next replacement starts; no SIGKILL left.
        assert_eq!(drain(&mut r), [Unroute(0), Start(3)]);
        assert_eq!(r.next_deadline(), None);
        r.handle(Event::Ready(3), s(6));
        assert_eq!(drain(&mut r), [Route(3), StopBegins(1), Signal(1)]);
        assert_eq!(tick(&mut r), s(8));
        assert_eq!(drain(&mut r), [Unroute(1)]);
        // An app that ignores the signal: SIGKILL at the grace.
        assert_eq!(tick(&mut r), s(36));
        assert_eq!(drain(&mut r), [Kill(1)]);
        r.handle(Event::Exited(1), s(36));
        assert!(!r.is_done());
        assert_eq!(tick(&mut r), s(37));
        assert_eq!(drain(&mut r), [StopLoad, Finished]);
        assert!(r.is_done());
    }

    #[test]
    fn prestop_sleep_delays_the_signal() {
        use Action::*;
        let mut r = Rollout::new(1, plan(2, 40, 50), s(0), s(0));
        drain(&mut r);
        r.handle(Event::Ready(0), s(0));
        tick(&mut r);
        r.handle(Event::Ready(1), s(0));
        assert_eq!(
            drain(&mut r),
            [Route(0), StartLoad, Start(1), Route(1), StopBegins(0)]
        );
        assert_eq!(tick(&mut r), s(2));
        assert_eq!(drain(&mut r), [Unroute(0)]);
        assert_eq!(tick(&mut r), s(40));
        assert_eq!(drain(&mut r), [Signal(0)]);
        r.handle(Event::Exited(0), s(41));
        assert_eq!(tick(&mut r), s(41));
        assert_eq!(drain(&mut r), [StopLoad, Finished]);
    }

    #[test]
    fn docker_unroutes_with_the_signal() {
        use Action::*;
        let mut r = Rollout::new(1, plan(0, 0, 10), s(0), s(1));
        drain(&mut r);
        r.handle(Event::Ready(0), s(0));
        tick(&mut r);
        drain(&mut r);
        r.handle(Event::Ready(1), s(1));
        assert_eq!(
            drain(&mut r),
            [Route(1), StopBegins(0), Unroute(0), Signal(0)]
        );
    }

    #[test]
    fn a_replica_that_died_early_is_not_signalled() {
        use Action::*;
        let mut r = Rollout::new(1, plan(1, 0, 10), s(0), s(0));
        drain(&mut r);
        r.handle(Event::Ready(0), s(0));
        tick(&mut r);
        drain(&mut r);
        r.handle(Event::Exited(0), s(0));
        r.handle(Event::Ready(1), s(1));
        assert_eq!(drain(&mut r), [Route(1), StopBegins(0)]);
        assert_eq!(tick(&mut r), s(2));
        assert_eq!(drain(&mut r), [Unroute(0), StopLoad, Finished]);
    }
}
