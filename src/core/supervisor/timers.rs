//! The supervisor's timer table: one absolute deadline per timer, none
//! armed by default. `earliest()` is what the runtime sleeps until; at
//! that instant the supervisor takes every due timer in [`Timer::ALL`]'s
//! order and dispatches it in one `match` (`Supervisor::on_timer`).
//!
//! Deadlines are absolute instants, so no stream of events can postpone
//! one: an event may arm, re-arm or clear a timer, never push it back by
//! merely happening.

use std::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// The readiness check is due.
    Probe,
    /// The app has listened on nothing this long: a worker.
    Worker,
    /// The drain delay is over: forward the stop signal.
    Forward,
    /// Adaptive drain: look at the app's connections.
    Look,
    /// The grace is over: SIGKILL the tree.
    Kill,
    /// The SIGKILL sweeps took too long: exit anyway.
    GiveUp,
    /// Sweep again while processes survive SIGKILL.
    Resweep,
    /// A failed reaping pass is tried again.
    Reap,
    /// The stop signal holds: look at the tree again.
    Hold,
    /// Send again what kill(2) refused.
    Resend,
    /// Reading the signalfd backs off after repeated failures.
    Signals,
}

const COUNT: usize = 11;

impl Timer {
    /// Every timer, in the order due ones are dispatched.
    pub const ALL: [Timer; COUNT] = [
        Timer::Probe,
        Timer::Worker,
        Timer::Forward,
        Timer::Look,
        Timer::Kill,
        Timer::GiveUp,
        Timer::Resweep,
        Timer::Reap,
        Timer::Hold,
        Timer::Resend,
        Timer::Signals,
    ];
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Timers([Option<Instant>; COUNT]);

impl Timers {
    pub fn get(&self, t: Timer) -> Option<Instant> {
        self.0.get(t as usize).copied().flatten()
    }

    /// Every `Timer` indexes the array (its discriminant is below
    /// `COUNT`): the `None` branch cannot happen.
    fn slot(&mut self, t: Timer) -> Option<&mut Option<Instant>> {
        self.0.get_mut(t as usize)
    }

    /// Arms `t` at `at` (`None` clears it).
    pub fn set(&mut self, t: Timer, at: Option<Instant>) {
        if let Some(slot) = self.slot(t) {
            *slot = at;
        }
    }

    pub fn arm(&mut self, t: Timer, at: Instant) {
        self.set(t, Some(at));
    }

    /// Arms `t` at `at` unless it is armed already.
    pub fn arm_once(&mut self, t: Timer, at: Instant) {
        if let Some(slot) = self.slot(t) {
            slot.get_or_insert(at);
        }
    }

    pub fn clear(&mut self, t: Timer) {
        self.set(t, None);
    }

    pub fn clear_all(&mut self) {
        *self = Timers::default();
    }

    /// The earliest armed deadline; `None` when no timer is armed (an idle
    /// drainit never wakes up).
    pub fn earliest(&self) -> Option<Instant> {
        self.0.iter().flatten().min().copied()
    }

    /// Disarms and returns true when `t` is due at `now`.
    pub fn take_due(&mut self, t: Timer, now: Instant) -> bool {
        match self.slot(t) {
            Some(slot) if slot.is_some_and(|at| now >= at) => {
                *slot = None;
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_earliest_armed_timer_is_the_deadline() {
        let t0 = Instant::now();
        let mut t = Timers::default();
        assert_eq!(t.earliest(), None);
        t.arm(Timer::Kill, t0 + Duration::from_secs(10));
        t.arm(Timer::Look, t0 + Duration::from_millis(100));
        assert_eq!(t.earliest(), Some(t0 + Duration::from_millis(100)));
        t.arm_once(Timer::Look, t0 + Duration::from_secs(1));
        assert_eq!(t.get(Timer::Look), Some(t0 + Duration::from_millis(100)));
        assert!(!t.take_due(Timer::Kill, t0));
        assert!(t.take_due(Timer::Look, t0 + Duration::from_millis(100)));
        assert_eq!(t.get(Timer::Look), None);
        t.clear_all();
        assert_eq!(t.earliest(), None);
    }

    #[test]
    fn every_timer_has_its_own_slot() {
        let t0 = Instant::now();
        let mut t = Timers::default();
        for (i, timer) in Timer::ALL.iter().enumerate() {
            t.arm(*timer, t0 + Duration::from_millis(i as u64));
        }
        for (i, timer) in Timer::ALL.iter().enumerate() {
            assert_eq!(t.get(*timer), Some(t0 + Duration::from_millis(i as u64)));
        }
    }
}
