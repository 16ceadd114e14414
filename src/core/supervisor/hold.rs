//! The stop signal holds for the whole tree. Pure: it reads snapshots of
//! the tree and says who gets the stop signal now; the supervisor sends.
//!
//! # The rule
//!
//! In a user's words: *once drainit has forwarded the stop signal, the
//! tree may finish what it is doing but not start over. A wrapper that
//! starts another program after the stop (a restart loop, a batch runner's
//! next job) gets the stop signal itself, and so does what it started; a
//! wrapper that stops waiting and does not end gets it too.*
//!
//! The stop signal goes where [`route`](super::route) sends it: past the
//! wrappers (shells, runners waiting for a child) to the programs they
//! run. Those wrappers were passed over so that their remaining commands
//! run once the app has drained (`app; echo done`, `exit $?`). Passing
//! over is a bet that the wrapper then ends; this module checks the bet
//! each time a process the stop signal reached exits (the runtime watches
//! them with pidfds: no polling, no idle wakeup):
//!
//! - a wrapper with a live child that was not there at the stop (compared
//!   by pid and start time) started something new: it receives the stop
//!   signal (as it would have, exec'd: a shell in `while true; do app;
//!   done` or a Python loop of `subprocess.run` dies of it, 143, as under
//!   tini), and the new processes get it routed by the same rule;
//! - a wrapper with no live child is between two commands: it is looked
//!   at again shortly (the delays double from [`RECHECK_FIRST`]); still
//!   childless after [`IDLE_WRAPPER`], it is no longer a wrapper but what
//!   runs, and receives the signal;
//! - a wrapper still waiting for the children the stop reached is left
//!   alone: their exits wake the check again.
//!
//! Processes below a program that handles the signal are that program's:
//! a pre-fork master's workers, a trap's cleanup commands are never looked
//! at. Other signals (HUP, USR1, a reload) never start a hold.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::route::{self, Pass, Role, Route, Step, Tree, Why};

/// The first look at a wrapper with no child left; each next one waits
/// twice as long, up to [`RECHECK_MAX`].
pub const RECHECK_FIRST: Duration = Duration::from_millis(10);
pub const RECHECK_MAX: Duration = Duration::from_millis(100);
/// How long a wrapper may go without a child before it receives the stop
/// signal itself: far more than a shell needs to run `echo done; exit $?`
/// after the app, far less than any grace.
pub const IDLE_WRAPPER: Duration = Duration::from_millis(500);

#[derive(Clone, Copy, Debug)]
struct Wrapper {
    start_ticks: u64,
    childless_since: Option<Instant>,
}

/// What a look decided.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Decision {
    /// The steps of this look (sent and passed over), for the log and the
    /// stop route; empty when nothing changed.
    pub steps: Vec<Step>,
    /// Pids to send the stop signal to now.
    pub send: Vec<i32>,
    /// Pids to watch: their exit calls for another look.
    pub watch: Vec<i32>,
    /// When to look again, if a wrapper is between commands.
    pub again: Option<Instant>,
}

#[derive(Clone, Debug)]
pub struct Hold {
    signal: i32,
    /// Every process the stop signal was routed over, by pid and start.
    seen: BTreeSet<(i32, u64)>,
    /// The wrappers passed over and not signalled, by pid.
    wrappers: BTreeMap<i32, Wrapper>,
    /// The delay before the next look at a childless wrapper.
    gap: Duration,
    /// The wrappers' pids while a look goes through them, kept from one
    /// look to the next (a look allocates nothing unless it acts).
    keys: Vec<i32>,
}

impl Hold {
    /// Starts holding after the stop signal was routed as `stop`; returns
    /// the hold and the pids to watch.
    pub fn new(stop: &Route) -> (Self, Vec<i32>) {
        let mut hold = Hold {
            signal: stop.signal,
            seen: BTreeSet::new(),
            wrappers: BTreeMap::new(),
            gap: RECHECK_FIRST,
            keys: Vec::with_capacity(8),
        };
        let watch = hold.note(&stop.steps);
        (hold, watch)
    }

    pub fn signal(&self) -> i32 {
        self.signal
    }

    /// Whether any wrapper is still passed over.
    pub fn is_empty(&self) -> bool {
        self.wrappers.is_empty()
    }

    /// Records the steps of a route; returns the pids to watch.
    fn note(&mut self, steps: &[Step]) -> Vec<i32> {
        let mut watch = Vec::new();
        for s in steps {
            if matches!(s.role, Role::Receives(Why::Unseen)) {
                continue;
            }
            self.seen.insert((s.pid, s.start_ticks));
            if matches!(s.role, Role::Passed(Pass::Waiting | Pass::WaitingInt)) {
                self.wrappers.insert(
                    s.pid,
                    Wrapper {
                        start_ticks: s.start_ticks,
                        childless_since: None,
                    },
                );
            }
            watch.push(s.pid);
        }
        watch
    }

    /// Looks at `tree` (a full snapshot below the main child) at `now`.
    /// `timer` says whether this look is the one [`Decision::again`]
    /// asked for (the delay then doubles) or a watched exit's.
    pub fn look(&mut self, tree: &Tree, now: Instant, timer: bool) -> Decision {
        let mut d = Decision::default();
        let mut pids = std::mem::take(&mut self.keys);
        pids.clear();
        pids.extend(self.wrappers.keys());
        for &pid in &pids {
            let Some(w) = self.wrappers.get(&pid).copied() else {
                continue;
            };
            let alive = tree
                .get(pid)
                .is_some_and(|p| p.live() && p.start_ticks == w.start_ticks);
            if !alive {
                self.wrappers.remove(&pid);
                continue;
            }
            let new: Vec<i32> = tree
                .live_children(pid)
                .filter(|c| !self.seen.contains(&(c.pid, c.start_ticks)))
                .map(|c| c.pid)
                .collect();
            let childless = tree.live_children(pid).next().is_none();
            if !new.is_empty() {
                self.signal_wrapper(tree, pid, Why::Restarted, &mut d);
                let r = route::route_from(tree, &new, self.signal);
                let mut steps = r.steps;
                for s in &mut steps {
                    if s.from == 0 {
                        s.from = pid;
                    }
                }
                d.watch.extend(self.note(&steps));
                d.send
                    .extend(steps.iter().filter(|s| s.sent()).map(|s| s.pid));
                d.steps.extend(steps);
            } else if childless {
                let since = *self
                    .wrappers
                    .entry(pid)
                    .or_insert(w)
                    .childless_since
                    .get_or_insert(now);
                if now.saturating_duration_since(since) >= IDLE_WRAPPER {
                    self.signal_wrapper(tree, pid, Why::Idle, &mut d);
                }
            } else if let Some(w) = self.wrappers.get_mut(&pid) {
                w.childless_since = None;
            }
        }
        self.keys = pids;
        let waiting = self
            .wrappers
            .values()
            .filter_map(|w| w.childless_since)
            .min();
        if let Some(since) = waiting {
            self.gap = if timer {
                (self.gap * 2).min(RECHECK_MAX)
            } else {
                RECHECK_FIRST
            };
            let idle_at = since + IDLE_WRAPPER;
            d.again = Some((now + self.gap).min(idle_at.max(now + RECHECK_FIRST)));
        } else {
            self.gap = RECHECK_FIRST;
        }
        d
    }

    fn signal_wrapper(&mut self, tree: &Tree, pid: i32, why: Why, d: &mut Decision) {
        self.wrappers.remove(&pid);
        let Some(p) = tree.get(pid) else { return };
        d.send.push(pid);
        d.steps.push(Step {
            pid,
            from: p.ppid,
            start_ticks: p.start_ticks,
            comm: p.comm.clone(),
            role: Role::Receives(why),
        });
    }
}

#[cfg(test)]
mod tests;
