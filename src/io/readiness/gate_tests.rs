//! The automatic readiness gate's timelines in the supervisor, with a fake
//! clock: when it looks, when ready turns on and why, and that it stops.

use std::time::{Duration, Instant};

use crate::core::supervisor::{Action, Config, Event, Listen, ListenGate, Supervisor};
use crate::core::timeline::{Line, ReadyWhy};

const EVERY: Duration = Duration::from_millis(200);
const WORKER: Duration = Duration::from_secs(60);

struct Clock {
    start: Instant,
    sup: Supervisor,
}

impl Clock {
    fn new(listen_gate: Option<ListenGate>) -> (Self, Vec<Action>) {
        let start = Instant::now();
        let mut sup = Supervisor::new(Config {
            listen_gate,
            announce_ready: true,
            ..Config::default()
        });
        let first = sup.handle_all(Event::Started { pid: 42 }, start);
        (Self { start, sup }, first)
    }

    fn gate() -> Self {
        Self::new(Some(ListenGate {
            every: EVERY,
            worker_after: WORKER,
        }))
        .0
    }

    fn ms(&self, ms: u64) -> Instant {
        self.start + Duration::from_millis(ms)
    }

    fn at(&mut self, ms: u64, e: Event) -> Vec<Action> {
        self.sup.handle_all(e, self.ms(ms))
    }

    /// Ticks at the next deadline; returns when it was and the actions.
    fn tick(&mut self) -> (u64, Vec<Action>) {
        let at = self.sup.next_deadline().expect("a timer");
        let ms = at.duration_since(self.start).as_millis() as u64;
        (ms, self.sup.handle_all(Event::Tick, at))
    }
}

fn ready_lines(actions: &[Action]) -> Vec<ReadyWhy> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Log(Line::ReadyBecause { why, .. }) => Some(*why),
            _ => None,
        })
        .collect()
}

fn sets_ready(actions: &[Action]) -> bool {
    actions.contains(&Action::SetReady(true))
}

#[test]
fn without_the_gate_ready_comes_with_the_child_and_says_so() {
    let (c, first) = Clock::new(None);
    assert!(sets_ready(&first));
    assert_eq!(ready_lines(&first), [ReadyWhy::Runs]);
    assert_eq!(c.sup.next_deadline(), None, "no timer at all");
}

#[test]
fn ready_once_the_app_accepts_then_no_timer() {
    let mut c = Clock::gate();
    assert!(!c.sup.is_ready());
    // The first look is due at once, then every EVERY after the look began.
    let (t, a) = c.tick();
    assert_eq!((t, a.as_slice()), (0, &[Action::ProbeListen][..]));
    assert!(c.at(5, Event::Listening(Listen::Nothing)).is_empty());
    let (t, a) = c.tick();
    assert_eq!(t, 200);
    assert_eq!(a, [Action::ProbeListen]);
    assert!(c
        .at(210, Event::Listening(Listen::Refused { port: 80 }))
        .is_empty());
    let (t, _) = c.tick();
    assert_eq!(t, 400);
    let a = c.at(401, Event::Listening(Listen::Accepted { port: 80 }));
    assert!(sets_ready(&a));
    assert_eq!(ready_lines(&a), [ReadyWhy::Accepts { port: 80 }]);
    match a.iter().find(|x| matches!(x, Action::Log(_))) {
        Some(Action::Log(Line::ReadyBecause { after, .. })) => {
            assert_eq!(*after, Duration::from_millis(401))
        }
        other => panic!("{other:?}"),
    }
    assert!(c.sup.is_ready());
    assert_eq!(c.sup.next_deadline(), None, "no look once ready");
}

#[test]
fn a_slow_look_does_not_pile_up_and_never_schedules_in_the_past() {
    let mut c = Clock::gate();
    c.tick();
    // The answer came 900 ms later: the next look is due now, not behind.
    c.at(900, Event::Listening(Listen::Nothing));
    assert_eq!(c.sup.next_deadline(), Some(c.ms(900)));
}

#[test]
fn a_worker_is_ready_at_the_wait_and_then_nothing_wakes() {
    let mut c = Clock::gate();
    let mut t = 0;
    while t < WORKER.as_millis() as u64 {
        let (at, a) = c.tick();
        t = at;
        if a.contains(&Action::ProbeListen) {
            c.at(t, Event::Listening(Listen::Nothing));
        }
        if sets_ready(&a) {
            assert_eq!(
                ready_lines(&a),
                [ReadyWhy::Worker { waited: WORKER }],
                "at {t} ms"
            );
            break;
        }
    }
    assert_eq!(t, 60_000);
    assert!(c.sup.is_ready());
    assert_eq!(c.sup.next_deadline(), None);
    // A look answered late changes nothing.
    assert!(c
        .at(60_010, Event::Listening(Listen::Accepted { port: 1 }))
        .is_empty());
}

#[test]
fn an_app_seen_listening_is_no_worker() {
    let mut c = Clock::gate();
    c.tick();
    c.at(1, Event::Listening(Listen::Refused { port: 8080 }));
    let mut now = 0;
    while now <= 61_000 {
        let (at, a) = c.tick();
        now = at;
        assert!(!sets_ready(&a), "ready at {now} ms without accepting");
        c.at(now, Event::Listening(Listen::Refused { port: 8080 }));
    }
    assert!(!c.sup.is_ready());
}

#[test]
fn no_look_when_sockets_cannot_be_seen_ready_and_say_why() {
    let mut c = Clock::gate();
    c.tick();
    let a = c.at(1, Event::Listening(Listen::Unknown));
    assert!(sets_ready(&a));
    assert_eq!(ready_lines(&a), [ReadyWhy::CannotLook]);
    assert_eq!(c.sup.next_deadline(), None);
}

#[test]
fn a_drain_before_ready_stops_the_looks() {
    let mut c = Clock::gate();
    c.tick();
    c.at(1, Event::Listening(Listen::Nothing));
    let a = c.at(50, Event::Signal(libc::SIGTERM));
    assert!(!sets_ready(&a));
    // Only the drain's own timers may remain: no look, no worker timer.
    let a = c.at(60, Event::Listening(Listen::Accepted { port: 1 }));
    assert!(!sets_ready(&a));
    assert!(!c.sup.is_ready());
}

#[test]
fn an_explicit_gate_wins_over_the_automatic_one() {
    let (mut c, _) = {
        let start = Instant::now();
        let mut sup = Supervisor::new(Config {
            gate_every: Some(Duration::from_secs(1)),
            listen_gate: Some(ListenGate {
                every: EVERY,
                worker_after: WORKER,
            }),
            announce_ready: true,
            ..Config::default()
        });
        let first = sup.handle_all(Event::Started { pid: 42 }, start);
        (Clock { start, sup }, first)
    };
    let (_, a) = c.tick();
    assert_eq!(a, [Action::Probe]);
}
