//! Timelines of the supervisor driven by a fake clock.

use super::*;

const TERM: i32 = libc::SIGTERM;
const KILL_DEFAULT: Duration = Duration::from_secs(5);

struct Clock {
    start: Instant,
    sup: Supervisor,
}

impl Clock {
    fn new(cfg: Config) -> Self {
        let mut c = Self {
            start: Instant::now(),
            sup: Supervisor::new(cfg),
        };
        c.at(0, Event::Started);
        c
    }

    fn t(&self, ms: u64) -> Instant {
        self.start + Duration::from_millis(ms)
    }

    fn at(&mut self, ms: u64, event: Event) -> Vec<Action> {
        let now = self.t(ms);
        self.sup.handle(event, now)
    }

    /// Delivers ticks the way the runtime does: only when a deadline is due.
    fn advance_to(&mut self, ms: u64) -> Vec<(u64, Action)> {
        let mut out = Vec::new();
        while let Some(due) = self.sup.next_deadline() {
            if due > self.t(ms) {
                break;
            }
            let at = (due - self.start).as_millis() as u64;
            for a in self.sup.handle(Event::Tick, due) {
                out.push((at, a));
            }
        }
        out
    }
}

fn send(signal: i32, target: Target) -> Action {
    Action::Send { signal, target }
}

fn drain_cfg(delay_s: u64, grace_s: Option<u64>) -> Config {
    Config {
        drain_delay: Duration::from_secs(delay_s),
        grace: grace_s.map(Duration::from_secs),
        ..Config::default()
    }
}

#[test]
fn ready_at_once_without_a_gate() {
    let mut sup = Supervisor::new(Config::default());
    let out = sup.handle(Event::Started, Instant::now());
    assert_eq!(out, vec![Action::SetReady(true)]);
    assert_eq!(sup.phase(), Phase::Ready);
}

#[test]
fn gate_decides_readiness_and_follows_the_probe() {
    let mut c = Clock::new(Config {
        gated: true,
        ..Config::default()
    });
    assert!(!c.sup.is_ready());
    assert_eq!(c.at(1000, Event::Probe(false)), vec![]);
    assert_eq!(c.at(2000, Event::Probe(true)), vec![Action::SetReady(true)]);
    assert_eq!(
        c.at(3000, Event::Probe(false)),
        vec![Action::SetReady(false)]
    );
    assert_eq!(c.sup.phase(), Phase::Starting);
    assert_eq!(c.at(4000, Event::Probe(true)), vec![Action::SetReady(true)]);
}

#[test]
fn no_drain_options_forward_term_at_once_and_set_no_timer() {
    let mut c = Clock::new(Config::default());
    let out = c.at(100, Event::Signal(TERM));
    assert_eq!(
        out,
        vec![
            Action::SetReady(false),
            Action::DrainStarted,
            send(TERM, Target::Child)
        ]
    );
    assert_eq!(c.sup.next_deadline(), None, "grace unset: no kill timer");
}

#[test]
fn other_signals_are_forwarded_in_every_phase() {
    let mut c = Clock::new(drain_cfg(10, Some(5)));
    assert_eq!(
        c.at(0, Event::Signal(libc::SIGHUP)),
        vec![send(libc::SIGHUP, Target::Child)]
    );
    c.at(100, Event::Signal(TERM));
    assert_eq!(c.sup.phase(), Phase::Draining);
    assert_eq!(
        c.at(200, Event::Signal(libc::SIGUSR1)),
        vec![send(libc::SIGUSR1, Target::Child)]
    );
    c.advance_to(10_100);
    assert_eq!(c.sup.phase(), Phase::Stopping);
    assert_eq!(
        c.at(10_200, Event::Signal(libc::SIGWINCH)),
        vec![send(libc::SIGWINCH, Target::Child)]
    );
}

#[test]
fn drain_timeline_delay_then_forward_then_kill() {
    let mut c = Clock::new(drain_cfg(5, Some(20)));
    let out = c.at(1000, Event::Signal(TERM));
    assert_eq!(out, vec![Action::SetReady(false), Action::DrainStarted]);
    assert_eq!(c.sup.next_deadline(), Some(c.t(6000)));
    assert_eq!(c.advance_to(5999), vec![]);
    assert_eq!(c.advance_to(6000), vec![(6000, send(TERM, Target::Child))]);
    assert_eq!(c.sup.next_deadline(), Some(c.t(26_000)));
    assert_eq!(c.advance_to(25_999), vec![]);
    assert_eq!(c.advance_to(26_000), vec![(26_000, Action::KillAll)]);
    assert_eq!(c.sup.phase(), Phase::Killing);
    c.at(
        26_001,
        Event::ChildExited(ChildStatus::Signaled(libc::SIGKILL)),
    );
    assert_eq!(c.at(26_002, Event::TreeEmpty), vec![Action::Exit(137)]);
}

#[test]
fn second_drain_signal_or_int_cuts_the_delay_short() {
    for second in [TERM, libc::SIGINT] {
        let mut c = Clock::new(drain_cfg(40, Some(10)));
        c.at(0, Event::Signal(TERM));
        let out = c.at(1500, Event::Signal(second));
        assert_eq!(out, vec![send(TERM, Target::Child)], "second = {second}");
        assert_eq!(c.sup.next_deadline(), Some(c.t(11_500)));
    }
}

#[test]
fn int_outside_a_drain_is_just_forwarded() {
    let mut c = Clock::new(drain_cfg(40, None));
    assert_eq!(
        c.at(0, Event::Signal(libc::SIGINT)),
        vec![send(libc::SIGINT, Target::Child)]
    );
    assert_eq!(c.sup.phase(), Phase::Ready);
}

#[test]
fn child_exiting_during_the_delay_ends_the_wait() {
    let mut c = Clock::new(drain_cfg(40, None));
    c.at(0, Event::Signal(TERM));
    let out = c.at(2000, Event::ChildExited(ChildStatus::Exited(0)));
    assert_eq!(out, vec![send(TERM, Target::Leftovers)]);
    assert_eq!(c.at(2001, Event::TreeEmpty), vec![Action::Exit(0)]);
}

#[test]
fn rewrites_apply_to_the_stop_signal_and_drops_hold() {
    let mut cfg = drain_cfg(0, None);
    cfg.rewrites.insert(TERM, libc::SIGQUIT);
    cfg.rewrites.insert(libc::SIGHUP, 0);
    let mut c = Clock::new(cfg);
    assert_eq!(c.at(0, Event::Signal(libc::SIGHUP)), vec![]);
    let out = c.at(10, Event::Signal(TERM));
    assert_eq!(out.last(), Some(&send(libc::SIGQUIT, Target::Child)));
}

#[test]
fn custom_drain_signal_and_group_mode() {
    let mut c = Clock::new(Config {
        mode: Mode::Group,
        drain_signals: vec![libc::SIGQUIT],
        ..Config::default()
    });
    assert_eq!(
        c.at(0, Event::Signal(TERM)),
        vec![send(TERM, Target::Group)],
        "TERM is not a drain signal here: forwarded as is"
    );
    assert_eq!(c.sup.phase(), Phase::Ready);
    let out = c.at(10, Event::Signal(libc::SIGQUIT));
    assert_eq!(out.last(), Some(&send(libc::SIGQUIT, Target::Group)));
}

#[test]
fn leftovers_get_the_stop_signal_and_the_default_deadline() {
    let mut c = Clock::new(Config::default());
    let out = c.at(1000, Event::ChildExited(ChildStatus::Exited(3)));
    assert_eq!(
        out,
        vec![Action::SetReady(false), send(TERM, Target::Leftovers)]
    );
    assert_eq!(c.sup.next_deadline(), Some(c.t(1000) + KILL_DEFAULT));
    assert_eq!(c.advance_to(6000), vec![(6000, Action::KillAll)]);
    assert_eq!(c.at(6001, Event::TreeEmpty), vec![Action::Exit(3)]);
}

#[test]
fn single_child_mode_never_signals_leftovers() {
    let mut c = Clock::new(Config {
        mode: Mode::SingleChild,
        ..Config::default()
    });
    let out = c.at(0, Event::ChildExited(ChildStatus::Exited(0)));
    assert_eq!(out, vec![Action::SetReady(false)]);
    assert_eq!(c.at(1, Event::Signal(libc::SIGHUP)), vec![]);
}

#[test]
fn signals_after_the_child_exit_go_to_leftovers() {
    let mut c = Clock::new(Config::default());
    c.at(0, Event::ChildExited(ChildStatus::Exited(0)));
    assert_eq!(
        c.at(1, Event::Signal(libc::SIGHUP)),
        vec![send(libc::SIGHUP, Target::Leftovers)]
    );
}

#[test]
fn grace_unset_never_kills_the_main_child() {
    let mut c = Clock::new(drain_cfg(1, None));
    c.at(0, Event::Signal(TERM));
    c.advance_to(1000);
    assert_eq!(c.sup.phase(), Phase::Stopping);
    assert_eq!(c.sup.next_deadline(), None);
    assert_eq!(c.advance_to(3_600_000), vec![]);
}

#[test]
fn grace_deadline_carries_over_when_the_child_exits_while_stopping() {
    let mut c = Clock::new(drain_cfg(0, Some(10)));
    c.at(0, Event::Signal(TERM));
    c.at(4000, Event::ChildExited(ChildStatus::Exited(0)));
    assert_eq!(c.sup.next_deadline(), Some(c.t(10_000)));
}

#[test]
fn exit_codes_follow_the_table_and_remaps() {
    let cases = [
        (ChildStatus::Exited(0), vec![], 0),
        (ChildStatus::Exited(1), vec![], 1),
        (ChildStatus::Exited(255), vec![], 255),
        (ChildStatus::Signaled(libc::SIGTERM), vec![], 143),
        (ChildStatus::Signaled(libc::SIGHUP), vec![], 129),
        (ChildStatus::Exited(143), vec![143], 0),
        (ChildStatus::Signaled(libc::SIGTERM), vec![143], 0),
        (ChildStatus::Exited(3), vec![143], 3),
    ];
    for (status, remap, want) in cases {
        let mut c = Clock::new(Config {
            remap_exit: remap,
            ..Config::default()
        });
        c.at(0, Event::ChildExited(status));
        assert_eq!(
            c.at(1, Event::TreeEmpty),
            vec![Action::Exit(want)],
            "{status:?}"
        );
        assert_eq!(c.sup.exit_code(), Some(want));
    }
}

#[test]
fn tree_empty_before_the_child_exit_is_ignored() {
    let mut c = Clock::new(Config::default());
    assert_eq!(c.at(0, Event::TreeEmpty), vec![]);
    assert!(c.sup.child_running());
}

#[test]
fn drain_signal_while_starting_still_drains() {
    let mut c = Clock::new(Config {
        gated: true,
        ..drain_cfg(5, Some(5))
    });
    let out = c.at(10, Event::Signal(TERM));
    assert_eq!(out, vec![Action::DrainStarted]);
    assert_eq!(
        c.at(20, Event::Probe(true)),
        vec![],
        "never ready again once draining"
    );
}

fn quiet_cfg(max_s: u64, quiet_ms: u64, min_ms: u64) -> Config {
    Config {
        quiet: Some(Quiet {
            period: Duration::from_millis(quiet_ms),
            min: Duration::from_millis(min_ms),
        }),
        ..drain_cfg(max_s, Some(10))
    }
}

/// Feeds traffic looks every 100 ms from `from` to `to`; `busy` says
/// whether a new connection showed up at that look.
fn looks(c: &mut Clock, from: u64, to: u64, busy: impl Fn(u64) -> bool) -> Option<u64> {
    let mut t = from;
    while t <= to {
        let n = usize::from(busy(t));
        let out = c.at(t, Event::Traffic { new_connections: n });
        if out.iter().any(|a| matches!(a, Action::Send { .. })) {
            return Some(t);
        }
        t += 100;
    }
    None
}

#[test]
fn quiet_forwards_once_no_new_connection_for_the_period() {
    let mut c = Clock::new(quiet_cfg(40, 2000, 2000));
    c.at(0, Event::Signal(TERM));
    assert!(c.sup.watching_traffic());
    // Traffic keeps arriving for 3 s, then stops.
    let fired = looks(&mut c, 100, 40_000, |t| t <= 3000);
    assert_eq!(fired, Some(5000));
    let a = c.sup.adaptive().unwrap();
    assert_eq!(a.waited, Duration::from_secs(5));
    assert_eq!(a.quiet_for, Duration::from_secs(2));
    assert_eq!(a.saved, Duration::from_secs(35));
}

#[test]
fn quiet_never_fires_while_connections_keep_arriving() {
    let mut c = Clock::new(quiet_cfg(10, 2000, 2000));
    c.at(0, Event::Signal(TERM));
    assert_eq!(looks(&mut c, 100, 9900, |_| true), None);
    assert_eq!(
        c.advance_to(10_000),
        vec![(10_000, send(TERM, Target::Child))]
    );
}

#[test]
fn quiet_respects_the_lower_bound() {
    let mut c = Clock::new(quiet_cfg(40, 1000, 4000));
    c.at(0, Event::Signal(TERM));
    assert_eq!(looks(&mut c, 100, 40_000, |_| false), Some(4000));
}
