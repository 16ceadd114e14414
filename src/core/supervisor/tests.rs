//! Timelines of the supervisor driven by a fake clock.

use super::*;

const TERM: i32 = libc::SIGTERM;
const PID: i32 = 42;
const GROUP: Target = Target::Group(PID);
const LEFTOVERS: Target = Target::Leftovers { group: None };
/// The default configuration's root (drainit's pid in a run).
const ROOT: i32 = 1;
const KILL_TREE: Action = Action::ListForKill {
    root: ROOT,
    first: true,
};

fn no_logs(actions: Vec<Action>) -> Vec<Action> {
    actions
        .into_iter()
        .filter(|a| !matches!(a, Action::Log(_)))
        .collect()
}

fn logs(actions: &[Action]) -> Vec<Line> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Log(l) => Some(l.clone()),
            _ => None,
        })
        .collect()
}
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
        c.at(0, Event::Started { pid: PID });
        c
    }

    fn t(&self, ms: u64) -> Instant {
        self.start + Duration::from_millis(ms)
    }

    /// The actions for `event` at `ms`, log lines left out.
    fn at(&mut self, ms: u64, event: Event) -> Vec<Action> {
        no_logs(self.at_all(ms, event))
    }

    fn at_all(&mut self, ms: u64, event: Event) -> Vec<Action> {
        let now = self.t(ms);
        self.sup.handle_all(event, now)
    }

    /// Delivers ticks the way the runtime does: only when a deadline is due.
    fn advance_to(&mut self, ms: u64) -> Vec<(u64, Action)> {
        let mut out = Vec::new();
        while let Some(due) = self.sup.next_deadline() {
            if due > self.t(ms) {
                break;
            }
            let at = (due - self.start).as_millis() as u64;
            for a in no_logs(self.sup.handle_all(Event::Tick, due)) {
                out.push((at, a));
            }
        }
        out
    }
}

fn send(signal: i32, target: Target) -> Action {
    Action::Send { signal, target }
}

/// Cascade mode: the stop signal is routed from a snapshot of the tree.
fn stop(signal: i32) -> Action {
    Action::ReadTree {
        signal,
        purpose: Purpose::Stop,
    }
}

fn fwd(signal: i32) -> Action {
    Action::ReadTree {
        signal,
        purpose: Purpose::Forward,
    }
}

fn left(signal: i32) -> Action {
    Action::ReadTree {
        signal,
        purpose: Purpose::Leftovers,
    }
}

fn is_send(a: &Action) -> bool {
    matches!(a, Action::Send { .. } | Action::ReadTree { .. })
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
    let out = sup.handle_all(Event::Started { pid: PID }, Instant::now());
    assert_eq!(out, vec![Action::SetReady(true)]);
    assert_eq!(sup.phase(), Phase::Ready);
}

#[test]
fn gate_decides_readiness_and_follows_the_probe() {
    let mut c = Clock::new(Config {
        gate_every: Some(Duration::from_secs(1)),
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
    assert_eq!(out, vec![Action::SetReady(false), stop(TERM)]);
    assert_eq!(c.sup.next_deadline(), None, "grace unset: no kill timer");
}

#[test]
fn other_signals_are_forwarded_in_every_phase() {
    let mut c = Clock::new(drain_cfg(10, Some(5)));
    assert_eq!(
        c.at(0, Event::Signal(libc::SIGHUP)),
        vec![fwd(libc::SIGHUP)]
    );
    c.at(100, Event::Signal(TERM));
    assert_eq!(c.sup.phase(), Phase::Draining);
    assert_eq!(
        c.at(200, Event::Signal(libc::SIGUSR1)),
        vec![fwd(libc::SIGUSR1)]
    );
    c.advance_to(10_100);
    assert_eq!(c.sup.phase(), Phase::Stopping);
    assert_eq!(
        c.at(10_200, Event::Signal(libc::SIGWINCH)),
        vec![fwd(libc::SIGWINCH)]
    );
}

#[test]
fn drain_timeline_delay_then_forward_then_kill() {
    let mut c = Clock::new(drain_cfg(5, Some(20)));
    let out = c.at(1000, Event::Signal(TERM));
    assert_eq!(out, vec![Action::SetReady(false)]);
    assert_eq!(c.sup.next_deadline(), Some(c.t(6000)));
    assert_eq!(c.advance_to(5999), vec![]);
    assert_eq!(c.advance_to(6000), vec![(6000, stop(TERM))]);
    assert_eq!(c.sup.next_deadline(), Some(c.t(26_000)));
    assert_eq!(c.advance_to(25_999), vec![]);
    assert_eq!(c.advance_to(26_000), vec![(26_000, KILL_TREE)]);
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
        assert_eq!(out, vec![stop(TERM)], "second = {second}");
        assert_eq!(c.sup.next_deadline(), Some(c.t(11_500)));
    }
}

#[test]
fn int_outside_a_drain_is_just_forwarded() {
    let mut c = Clock::new(drain_cfg(40, None));
    assert_eq!(
        c.at(0, Event::Signal(libc::SIGINT)),
        vec![fwd(libc::SIGINT)]
    );
    assert_eq!(c.sup.phase(), Phase::Ready);
}

#[test]
fn child_exiting_during_the_delay_ends_the_wait() {
    let mut c = Clock::new(drain_cfg(40, None));
    c.at(0, Event::Signal(TERM));
    let out = c.at(2000, Event::ChildExited(ChildStatus::Exited(0)));
    assert_eq!(out, vec![left(TERM)]);
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
    assert_eq!(out.last(), Some(&stop(libc::SIGQUIT)));
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
        vec![send(TERM, GROUP)],
        "TERM is not a drain signal here: forwarded as is"
    );
    assert_eq!(c.sup.phase(), Phase::Ready);
    let out = c.at(10, Event::Signal(libc::SIGQUIT));
    assert_eq!(out.last(), Some(&send(libc::SIGQUIT, GROUP)));
}

#[test]
fn leftovers_get_the_stop_signal_and_the_default_deadline() {
    let mut c = Clock::new(Config::default());
    let out = c.at(1000, Event::ChildExited(ChildStatus::Exited(3)));
    assert_eq!(out, vec![Action::SetReady(false), left(TERM)]);
    assert_eq!(c.sup.next_deadline(), Some(c.t(1000) + KILL_DEFAULT));
    assert_eq!(c.advance_to(6000), vec![(6000, KILL_TREE)]);
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
        vec![left(libc::SIGHUP)]
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
        gate_every: Some(Duration::from_secs(1)),
        ..drain_cfg(5, Some(5))
    });
    let out = c.at(10, Event::Signal(TERM));
    assert_eq!(out, vec![]);
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
        if out.iter().any(is_send) {
            return Some(t);
        }
        t += 100;
    }
    None
}

#[test]
fn quiet_forwards_once_no_new_connection_for_the_period() {
    let mut c = Clock::new(quiet_cfg(40, 2000, 2000));
    assert!(c.at(0, Event::Signal(TERM)).contains(&Action::WatchTraffic));
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
    let sends: Vec<_> = c
        .advance_to(10_000)
        .into_iter()
        .filter(|(_, a)| is_send(a))
        .collect();
    assert_eq!(sends, vec![(10_000, stop(TERM))]);
}

#[test]
fn quiet_respects_the_lower_bound() {
    let mut c = Clock::new(quiet_cfg(40, 1000, 4000));
    c.at(0, Event::Signal(TERM));
    assert_eq!(looks(&mut c, 100, 40_000, |_| false), Some(4000));
}

/// Runs the clock from `from` to `to` ms in 1 ms steps the way the runtime
/// does: due ticks first, then the events `feed` gives for that moment.
/// Looks are answered with `traffic(t)` new connections, probes with a
/// pass. Returns every action with its time.
fn simulate(
    c: &mut Clock,
    from: u64,
    to: u64,
    mut feed: impl FnMut(u64) -> Vec<Event>,
    traffic: impl Fn(u64) -> usize,
) -> Vec<(u64, Action)> {
    let mut out = Vec::new();
    for t in from..=to {
        let mut events = Vec::new();
        while c.sup.next_deadline().is_some_and(|d| d <= c.t(t)) {
            events.push(Event::Tick);
            let acts = c.at_all(t, Event::Tick);
            for a in &acts {
                match a {
                    Action::LookTraffic => events.push(Event::Traffic {
                        new_connections: traffic(t),
                    }),
                    Action::Probe => events.push(Event::Probe(true)),
                    _ => {}
                }
            }
            out.extend(acts.into_iter().map(|a| (t, a)));
            for e in events.drain(1..) {
                out.extend(c.at_all(t, e).into_iter().map(|a| (t, a)));
            }
            events.clear();
        }
        for e in feed(t) {
            out.extend(c.at_all(t, e).into_iter().map(|a| (t, a)));
        }
    }
    out
}

fn stop_sent_at(out: &[(u64, Action)]) -> Option<u64> {
    out.iter()
        .find(|(_, a)| {
            matches!(a, Action::Send { signal, .. } | Action::ReadTree { signal, .. } if *signal == TERM)
        })
        .map(|(t, _)| *t)
}

#[test]
fn adaptive_drain_forwards_at_the_quiet_period_whatever_else_arrives() {
    // The stall the issue found: a HUP every 30 ms, orphans' exits and
    // probe results every few ms used to restart the 100 ms look forever.
    let mut cfg = quiet_cfg(4, 500, 500);
    cfg.gate_every = Some(Duration::from_millis(5));
    let mut c = Clock::new(cfg);
    simulate(&mut c, 0, 99, |_| vec![], |_| 0);
    c.at(100, Event::Signal(TERM));
    let out = simulate(
        &mut c,
        101,
        4200,
        |t| {
            let mut e = Vec::new();
            if t % 30 == 0 {
                e.push(Event::Signal(libc::SIGHUP));
            }
            if t % 3 == 0 {
                e.push(Event::Probe(true));
            }
            e
        },
        |_| 0,
    );
    let at = stop_sent_at(&out).expect("the stop signal was forwarded");
    assert_eq!(
        at, 600,
        "forwarded at the quiet period, not the 4 s maximum"
    );
    let hups = out
        .iter()
        .filter(|(t, a)| *t < at && *a == fwd(libc::SIGHUP))
        .count();
    assert!(hups >= 15, "every HUP was passed on meanwhile: {hups}");
    let lines = logs(&out.iter().map(|(_, a)| a.clone()).collect::<Vec<_>>());
    assert!(lines.contains(&Line::TrafficQuiet {
        quiet_for: Duration::from_millis(500),
        waited: Duration::from_millis(500),
        saved: Duration::from_millis(3500),
        max: Duration::from_secs(4),
    }));
}

#[test]
fn adaptive_drain_waits_out_real_traffic_then_forwards() {
    let mut c = Clock::new(quiet_cfg(4, 500, 500));
    c.at(0, Event::Signal(TERM));
    // New connections until 1.2 s, HUPs all along.
    let out = simulate(
        &mut c,
        1,
        4200,
        |t| {
            if t % 7 == 0 {
                vec![Event::Signal(libc::SIGHUP)]
            } else {
                vec![]
            }
        },
        |t| usize::from(t <= 1200),
    );
    assert_eq!(stop_sent_at(&out), Some(1700));
}

#[test]
fn the_gate_interval_is_a_deadline_events_cannot_postpone() {
    let mut c = Clock::new(Config {
        gate_every: Some(Duration::from_millis(100)),
        ..Config::default()
    });
    // Started armed the first probe for now.
    let out = simulate(
        &mut c,
        0,
        1000,
        |t| {
            if t % 2 == 0 {
                vec![Event::Signal(libc::SIGUSR1)]
            } else {
                vec![]
            }
        },
        |_| 0,
    );
    let probes: Vec<u64> = out
        .iter()
        .filter(|(_, a)| *a == Action::Probe)
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(probes, (0..=10).map(|i| i * 100).collect::<Vec<_>>());
}

#[test]
fn no_probe_once_draining_and_none_while_one_is_in_flight() {
    let mut c = Clock::new(Config {
        gate_every: Some(Duration::from_millis(100)),
        ..drain_cfg(5, None)
    });
    assert_eq!(c.advance_to(0), vec![(0, Action::Probe)]);
    // The answer is slow: no second probe meanwhile.
    assert_eq!(c.advance_to(350), vec![]);
    c.at(350, Event::Probe(true));
    assert_eq!(c.advance_to(350), vec![(350, Action::Probe)]);
    c.at(360, Event::Probe(true));
    c.at(400, Event::Signal(TERM));
    let probes = c
        .advance_to(5000)
        .into_iter()
        .filter(|(_, a)| *a == Action::Probe)
        .count();
    assert_eq!(probes, 0, "draining: the gate is no longer checked");
}

#[test]
fn killing_sweeps_again_until_the_tree_is_empty() {
    let mut c = Clock::new(drain_cfg(0, Some(1)));
    c.at(0, Event::Signal(TERM));
    let out = c.advance_to(1030);
    let resweep = Action::ListForKill {
        root: ROOT,
        first: false,
    };
    assert_eq!(
        out,
        vec![
            (1000, KILL_TREE),
            (1010, resweep.clone()),
            (1020, resweep.clone()),
            (1030, resweep)
        ]
    );
    c.at(1031, Event::ChildExited(ChildStatus::Signaled(9)));
    assert_eq!(c.at(1032, Event::TreeEmpty), vec![Action::Exit(137)]);
    assert_eq!(c.sup.next_deadline(), None);
}

#[test]
fn sigkill_that_cannot_end_the_tree_gives_up_after_two_seconds() {
    let mut c = Clock::new(drain_cfg(0, Some(1)));
    c.at(0, Event::Signal(TERM));
    let out = c.advance_to(1000 + 5000);
    let kills = out
        .iter()
        .filter(|(_, a)| matches!(a, Action::ListForKill { .. }))
        .count();
    // The first SIGKILL at the grace, a sweep every 10 ms, then the exit.
    assert_eq!(kills, 200, "{out:?}");
    assert_eq!(out.last(), Some(&(3000, Action::Exit(137))));
    assert_eq!(c.sup.exit_code(), Some(137));
    assert_eq!(c.sup.next_deadline(), None);
}

#[test]
fn giving_up_reports_the_main_childs_own_status_when_it_was_reaped() {
    let mut c = Clock::new(drain_cfg(0, Some(1)));
    c.at(0, Event::Signal(TERM));
    // The app exits on TERM; a leftover survives every SIGKILL.
    c.at(10, Event::ChildExited(ChildStatus::Exited(0)));
    let out = c.advance_to(4000);
    assert_eq!(out.last(), Some(&(3000, Action::Exit(0))));
}

#[test]
fn as_pid1_the_kill_is_one_kill_of_the_namespace() {
    let mut c = Clock::new(Config {
        pid1: true,
        ..drain_cfg(0, Some(1))
    });
    c.at(0, Event::Signal(TERM));
    assert_eq!(
        c.advance_to(1000),
        vec![(
            1000,
            Action::Kill {
                how: Kill::Namespace,
                first: true
            }
        )]
    );
}

#[test]
fn group_mode_leftovers_include_the_group() {
    let mut c = Clock::new(Config {
        mode: Mode::Group,
        ..Config::default()
    });
    assert_eq!(
        c.at(5, Event::ChildExited(ChildStatus::Exited(0))),
        vec![
            Action::SetReady(false),
            send(TERM, Target::Leftovers { group: Some(PID) })
        ]
    );
}

#[test]
fn the_timeline_is_typed_lines() {
    let mut c = Clock::new(Config {
        hook: true,
        ..drain_cfg(2, Some(10))
    });
    let out = c.at_all(1000, Event::Signal(TERM));
    assert_eq!(
        logs(&out),
        vec![
            Line::Received { signal: TERM },
            Line::Draining {
                signal: TERM,
                delay: Duration::from_secs(2),
                grace: Some(Duration::from_secs(10))
            },
            Line::ReadinessOff
        ]
    );
    assert!(out.contains(&Action::CallHook));
    let tick = c.at_all(3000, Event::Tick);
    assert_eq!(
        logs(&tick),
        vec![Line::Forwarded {
            signal: TERM,
            whom: crate::core::timeline::Whom::Child,
            after: Some(Duration::from_secs(2))
        }]
    );
    let exit = c.at_all(3500, Event::ChildExited(ChildStatus::Exited(0)));
    assert_eq!(
        logs(&exit),
        vec![Line::ChildExited {
            status: ChildStatus::Exited(0),
            after: Some(Duration::from_millis(2500))
        }]
    );
    assert_eq!(c.sup.stats().forwarded_after, Some(Duration::from_secs(2)));
    assert_eq!(
        logs(&c.at_all(3501, Event::TreeEmpty)),
        vec![Line::Exiting {
            code: 0,
            loud: true
        }]
    );
}

// ------------------------------------------- the forwarding rule, wired in

fn mask(sigs: &[i32]) -> u64 {
    sigs.iter().fold(0, |m, &s| m | (1u64 << (s - 1)))
}

fn proc_(pid: i32, ppid: i32, caught: &[i32], sleep: route::Sleep, comm: &str) -> route::Proc {
    route::Proc {
        pid,
        ppid,
        pgid: PID,
        sid: 1,
        state: 'S',
        caught: mask(caught),
        ignored: 0,
        blocked: 0,
        start_ticks: 1000 + pid as u64,
        comm: comm.into(),
        sleep,
    }
}

/// `sh -c 'app; echo done'`: the shell (the main child) waits in wait4 for
/// an app that handles `app_handles`, with a helper of its own.
fn wrapped_app(app_handles: &[i32]) -> route::Tree {
    route::Tree::from_procs([
        proc_(
            PID,
            1,
            &[libc::SIGINT, libc::SIGCHLD],
            route::Sleep::Children,
            "sh",
        ),
        proc_(50, PID, app_handles, route::Sleep::Other, "app"),
        proc_(51, 50, &[], route::Sleep::Other, "helper"),
    ])
}

fn answer(c: &mut Clock, ms: u64, ask: &Action, tree: route::Tree) -> Vec<Action> {
    no_logs(answer_all(c, ms, ask, tree))
}

/// [`answer`], log lines included.
fn answer_all(c: &mut Clock, ms: u64, ask: &Action, tree: route::Tree) -> Vec<Action> {
    let Action::ReadTree { signal, purpose } = *ask else {
        panic!("expected a snapshot request, got {ask:?}");
    };
    c.at_all(
        ms,
        Event::Tree {
            signal,
            purpose,
            tree: Box::new(tree),
        },
    )
}

#[test]
fn the_stop_signal_passes_over_the_wrapper_to_the_app() {
    let mut c = Clock::new(drain_cfg(0, Some(10)));
    let out = c.at(10, Event::Signal(TERM));
    let ask = out.last().cloned().unwrap();
    assert_eq!(ask, stop(TERM));
    let sent = answer(&mut c, 10, &ask, wrapped_app(&[TERM]));
    assert_eq!(sent[..1], [send(TERM, Target::Pids(vec![50]))]);
    assert!(
        matches!(&sent[1..], [Action::Watch(w)] if w.contains(&50)),
        "{sent:?}"
    );
}

#[test]
fn a_rewrite_to_a_signal_the_shell_ignores_reaches_the_app() {
    // httpd's graceful stop: WINCH, which dash ignores.
    let mut cfg = drain_cfg(0, Some(10));
    cfg.rewrites.insert(TERM, libc::SIGWINCH);
    let mut c = Clock::new(cfg);
    let ask = c.at(0, Event::Signal(TERM)).last().cloned().unwrap();
    assert_eq!(ask, stop(libc::SIGWINCH));
    let sent = answer(&mut c, 0, &ask, wrapped_app(&[libc::SIGWINCH, TERM]));
    assert_eq!(sent[..1], [send(libc::SIGWINCH, Target::Pids(vec![50]))]);
    assert!(
        matches!(&sent[1..], [Action::Watch(w)] if w.contains(&50)),
        "{sent:?}"
    );
}

#[test]
fn a_reload_signal_reaches_the_app_and_nothing_drains() {
    let mut c = Clock::new(drain_cfg(5, Some(10)));
    let ask = c.at(0, Event::Signal(libc::SIGHUP)).pop().unwrap();
    assert_eq!(ask, fwd(libc::SIGHUP));
    let sent = answer(&mut c, 0, &ask, wrapped_app(&[libc::SIGHUP]));
    assert_eq!(sent, vec![send(libc::SIGHUP, Target::Pids(vec![50]))]);
    assert_eq!(c.sup.phase(), Phase::Ready);
}

#[test]
fn an_app_without_a_handler_gets_the_signal_itself_not_its_helper() {
    let mut c = Clock::new(Config::default());
    let ask = c.at(0, Event::Signal(TERM)).pop().unwrap();
    let sent = answer(&mut c, 0, &ask, wrapped_app(&[]));
    assert_eq!(sent[..1], [send(TERM, Target::Pids(vec![50]))]);
    assert!(
        matches!(&sent[1..], [Action::Watch(w)] if w.contains(&50)),
        "{sent:?}"
    );
}

#[test]
fn an_unreadable_tree_sends_to_the_child_as_addressed() {
    let mut c = Clock::new(Config::default());
    let ask = c.at(0, Event::Signal(TERM)).pop().unwrap();
    let sent = answer(&mut c, 0, &ask, route::Tree::new());
    assert_eq!(sent, vec![send(TERM, Target::Pids(vec![PID]))]);
}

#[test]
fn a_process_proc_could_not_read_is_named_once_and_still_signalled() {
    // EMFILE on /proc/PID/stat: the process is there, unread.
    let mut c = Clock::new(Config::default());
    for round in 0..3 {
        let ask = c.at(0, Event::Signal(libc::SIGHUP)).pop().unwrap();
        let mut tree = route::Tree::new();
        tree.note_unread(PID, "Too many open files (os error 24)");
        tree.note_unread(99, "a second one is not kept");
        let out = answer_all(&mut c, 0, &ask, tree);
        let unread: Vec<_> = logs(&out)
            .into_iter()
            .filter(|l| matches!(l, Line::TreeUnread { .. }))
            .collect();
        assert_eq!(
            unread,
            vec![Line::TreeUnread {
                pid: PID,
                signal: libc::SIGHUP,
                error: "Too many open files (os error 24)".into(),
                loud: round == 0,
            }],
            "round {round}"
        );
        assert_eq!(
            no_logs(out),
            vec![send(libc::SIGHUP, Target::Pids(vec![PID]))]
        );
    }
}

#[test]
fn an_unreadable_tree_with_leftovers_falls_back_to_the_walk() {
    let mut c = Clock::new(Config::default());
    let out = c.at(0, Event::ChildExited(ChildStatus::Exited(0)));
    let ask = out.last().cloned().unwrap();
    assert_eq!(ask, left(TERM));
    assert_eq!(
        answer(&mut c, 0, &ask, route::Tree::new()),
        vec![send(TERM, LEFTOVERS)]
    );
}

#[test]
fn a_wrapper_killed_by_its_app_reports_the_apps_own_status() {
    // Apache prefork: httpd's killpg(getpgrp(), SIGTERM) kills the shell
    // too; httpd itself exits 0 and drainit reaps it as an orphan.
    let mut c = Clock::new(drain_cfg(0, Some(10)));
    let ask = c.at(0, Event::Signal(TERM)).pop().unwrap();
    answer(&mut c, 0, &ask, wrapped_app(&[TERM]));
    assert!(c.sup.wants_reaps());
    c.at(500, Event::ChildExited(ChildStatus::Signaled(TERM)));
    c.at(
        900,
        Event::OrphansReaped(vec![
            (51, ChildStatus::Signaled(TERM)),
            (50, ChildStatus::Exited(0)),
        ]),
    );
    let out = c.at_all(901, Event::TreeEmpty);
    assert_eq!(out.last(), Some(&Action::Exit(0)));
    assert!(logs(&out).contains(&Line::AppStatus {
        status: ChildStatus::Exited(0)
    }));
}

#[test]
fn a_wrapper_that_passes_the_status_on_is_reported_as_is() {
    let mut c = Clock::new(drain_cfg(0, Some(10)));
    let ask = c.at(0, Event::Signal(TERM)).pop().unwrap();
    answer(&mut c, 0, &ask, wrapped_app(&[TERM]));
    c.at(
        900,
        Event::OrphansReaped(vec![(51, ChildStatus::Exited(0))]),
    );
    c.at(1000, Event::ChildExited(ChildStatus::Exited(3)));
    assert_eq!(c.at(1001, Event::TreeEmpty), vec![Action::Exit(3)]);
}

#[test]
fn as_dumb_init_tty_stop_signals_suspend_drainit_too() {
    let mut c = Clock::new(Config {
        mode: Mode::SingleChild,
        suspend_on_tty_signals: true,
        ..Config::default()
    });
    for sig in [libc::SIGTSTP, libc::SIGTTIN, libc::SIGTTOU] {
        let out = c.at(0, Event::Signal(sig));
        assert_eq!(out.last(), Some(&Action::SuspendSelf), "{sig}");
    }
    assert!(!c
        .at(0, Event::Signal(libc::SIGCONT))
        .contains(&Action::SuspendSelf));
}

#[test]
fn as_dumb_init_single_child_exits_with_the_child_at_once() {
    let mut c = Clock::new(Config {
        mode: Mode::SingleChild,
        on_child_exit: ChildExit::TermChild,
        ..Config::default()
    });
    let out = c.at_all(5, Event::ChildExited(ChildStatus::Exited(3)));
    // dumb-init's forward_signal(SIGTERM) to the gone child: a line, no send.
    assert!(logs(&out).contains(&Line::Passed {
        signal: TERM,
        whom: Whom::Child
    }));
    assert_eq!(no_logs(out), vec![Action::SetReady(false), Action::Exit(3)]);
}

#[test]
fn sigchld_is_logged_and_answered_with_a_reaping_pass() {
    let mut c = Clock::new(Config::default());
    let out = c.at_all(0, Event::Signal(libc::SIGCHLD));
    assert_eq!(
        out,
        vec![
            Action::Log(Line::Received {
                signal: libc::SIGCHLD
            }),
            Action::Reap
        ]
    );
}

#[test]
fn as_tini_every_signal_is_followed_by_a_reaping_pass_but_a_dropped_one() {
    let mut rewrites = Rewrites::default();
    rewrites.insert(libc::SIGTTIN, 0);
    let mut c = Clock::new(Config {
        reap_after_signal: true,
        rewrites,
        ..Config::default()
    });
    let out = c.at(0, Event::Signal(libc::SIGHUP));
    assert_eq!(out.last(), Some(&Action::Reap));
    assert!(!c
        .at(0, Event::Signal(libc::SIGTTIN))
        .contains(&Action::Reap));
}

#[test]
fn as_dumb_init_rewrites_are_logged_and_tty_stops_say_so() {
    let mut rewrites = Rewrites::default();
    rewrites.insert(libc::SIGTSTP, libc::SIGSTOP);
    let mut c = Clock::new(Config {
        mode: Mode::Group,
        rewrites,
        suspend_on_tty_signals: true,
        ..Config::default()
    });
    let out = c.at_all(0, Event::Signal(libc::SIGTSTP));
    assert_eq!(
        logs(&out),
        vec![
            Line::Received {
                signal: libc::SIGTSTP
            },
            Line::Translated {
                from: libc::SIGTSTP,
                to: libc::SIGSTOP
            },
            Line::Passed {
                signal: libc::SIGSTOP,
                whom: Whom::Group
            },
            Line::Suspending,
        ]
    );
    assert_eq!(
        no_logs(out),
        vec![send(libc::SIGSTOP, GROUP), Action::SuspendSelf]
    );
}

#[test]
fn the_terminal_hand_off_signals_are_ignored_once() {
    let mut c = Clock::new(Config {
        mode: Mode::Group,
        ignore_once: vec![libc::SIGHUP, libc::SIGCONT],
        ..Config::default()
    });
    let out = c.at_all(0, Event::Signal(libc::SIGHUP));
    assert!(logs(&out).contains(&Line::HandOffIgnored {
        signal: libc::SIGHUP
    }));
    assert!(no_logs(out).is_empty());
    assert!(c.at(0, Event::Signal(libc::SIGCONT)).is_empty());
    assert_eq!(
        c.at(1, Event::Signal(libc::SIGHUP)),
        vec![send(libc::SIGHUP, GROUP)]
    );
}

#[test]
fn as_dumb_init_setsid_the_childs_group_gets_sigterm_and_is_waited_for() {
    let mut rewrites = Rewrites::default();
    rewrites.insert(TERM, libc::SIGUSR1);
    let mut c = Clock::new(Config {
        mode: Mode::Group,
        on_child_exit: ChildExit::TermGroup,
        rewrites,
        ..Config::default()
    });
    assert_eq!(c.sup.awaited_group(), None);
    let out = c.at(5, Event::ChildExited(ChildStatus::Exited(3)));
    // What dumb-init sends: SIGTERM through -r, to the group only.
    assert_eq!(
        out,
        vec![Action::SetReady(false), send(libc::SIGUSR1, GROUP)]
    );
    assert_eq!(c.sup.awaited_group(), Some(PID));
    // The group gets the grace, then SIGKILL, to the group only.
    assert_eq!(
        c.advance_to(5 + 5000),
        vec![(
            5005,
            Action::Kill {
                how: Kill::Group(PID),
                first: true
            }
        )]
    );
    assert_eq!(c.at(5006, Event::GroupEmpty), vec![Action::Exit(3)]);
}

#[test]
fn as_dumb_init_setsid_an_empty_group_ends_the_run_at_once() {
    let mut c = Clock::new(Config {
        mode: Mode::Group,
        on_child_exit: ChildExit::TermGroup,
        ..Config::default()
    });
    // Not before the child exited: the group is the child's own.
    assert!(c.at(1, Event::GroupEmpty).is_empty());
    c.at(5, Event::ChildExited(ChildStatus::Signaled(TERM)));
    assert_eq!(c.at(6, Event::GroupEmpty), vec![Action::Exit(143)]);
}

/// The shell of `wrapped_app` after the app exited and the loop started a
/// new one (pid 60).
fn restarted_app() -> route::Tree {
    route::Tree::from_procs([
        proc_(
            PID,
            1,
            &[libc::SIGINT, libc::SIGCHLD],
            route::Sleep::Children,
            "sh",
        ),
        proc_(60, PID, &[], route::Sleep::Other, "app"),
    ])
}

#[test]
fn a_restart_loop_stops_when_the_stop_signal_holds() {
    let mut c = Clock::new(drain_cfg(0, Some(10)));
    let ask = c.at(0, Event::Signal(TERM)).last().cloned().unwrap();
    let sent = answer(&mut c, 0, &ask, wrapped_app(&[TERM]));
    assert_eq!(sent[0], send(TERM, Target::Pids(vec![50])));
    // The app drained and exited: a look at the tree.
    let look = c.at(300, Event::Gone(50));
    assert_eq!(
        look,
        vec![Action::ReadTree {
            signal: TERM,
            purpose: Purpose::Hold
        }]
    );
    let out = answer(&mut c, 300, &look[0], restarted_app());
    assert_eq!(out[0], send(TERM, Target::Pids(vec![PID, 60])));
    assert_eq!(out[1], Action::Watch(vec![60]));
    assert_eq!(c.sup.next_deadline(), Some(c.t(10_000)), "only the grace");
    // The shell died of TERM: drainit reports it, as tini would.
    let out = c.at(310, Event::ChildExited(ChildStatus::Signaled(TERM)));
    assert!(out.iter().any(|a| matches!(
        a,
        Action::ReadTree {
            purpose: Purpose::Leftovers,
            ..
        }
    )));
    let out = c.at(320, Event::TreeEmpty);
    assert_eq!(out.last(), Some(&Action::Exit(143)));
}

#[test]
fn a_reload_signal_starts_no_hold() {
    let mut c = Clock::new(drain_cfg(5, Some(10)));
    let ask = c.at(0, Event::Signal(libc::SIGHUP)).pop().unwrap();
    let sent = answer(&mut c, 0, &ask, wrapped_app(&[libc::SIGHUP]));
    assert_eq!(sent, vec![send(libc::SIGHUP, Target::Pids(vec![50]))]);
    assert!(c.at(10, Event::Gone(50)).is_empty());
}

#[test]
fn an_exec_d_app_starts_no_hold() {
    let mut c = Clock::new(drain_cfg(0, Some(10)));
    let ask = c.at(0, Event::Signal(TERM)).last().cloned().unwrap();
    let alone = route::Tree::from_procs([proc_(PID, 1, &[TERM], route::Sleep::Other, "app")]);
    let sent = answer(&mut c, 0, &ask, alone);
    assert_eq!(sent, vec![send(TERM, Target::Pids(vec![PID]))], "no watch");
}

#[test]
fn without_pidfds_the_hold_looks_on_a_timer() {
    let mut c = Clock::new(drain_cfg(0, None));
    let ask = c.at(0, Event::Signal(TERM)).last().cloned().unwrap();
    answer(&mut c, 0, &ask, wrapped_app(&[TERM]));
    assert_eq!(c.sup.next_deadline(), None);
    let out = c.at_all(
        0,
        Event::WatchFailed {
            pid: 50,
            error: "Too many open files".into(),
        },
    );
    assert!(matches!(
        out[..],
        [Action::Log(Line::WatchFailed { pid: 50, .. })]
    ));
    assert_eq!(c.sup.next_deadline(), Some(c.t(100)));
    let look = c.at(100, Event::Tick);
    assert!(matches!(
        look[..],
        [Action::ReadTree {
            purpose: Purpose::Hold,
            ..
        }]
    ));
    let out = answer(&mut c, 100, &look[0], wrapped_app(&[TERM]));
    assert!(out.is_empty());
    assert_eq!(c.sup.next_deadline(), Some(c.t(200)));
}

#[test]
fn a_reaping_pass_is_decided_here_orphans_first_then_the_child_then_the_end() {
    let mut c = Clock::new(drain_cfg(0, Some(10)));
    let ask = c.at(0, Event::Signal(TERM)).last().cloned().unwrap();
    answer(&mut c, 0, &ask, wrapped_app(&[TERM]));
    // The app (routed to, pid 50) was reaped by drainit after its shell
    // died of the app's killpg; then the shell; then nothing is left.
    let out = c.at_all(
        100,
        Event::Reaped(ReapPass {
            reaped: vec![
                (50, ChildStatus::Exited(0)),
                (PID, ChildStatus::Signaled(TERM)),
            ],
            none_left: true,
            failed: false,
        }),
    );
    let reaped: Vec<_> = out
        .iter()
        .filter_map(|a| match a {
            Action::Log(Line::Reaped { pid, main, .. }) => Some((*pid, *main)),
            _ => None,
        })
        .collect();
    assert_eq!(reaped, vec![(50, false), (PID, true)]);
    assert!(out.contains(&Action::Log(Line::AppStatus {
        status: ChildStatus::Exited(0)
    })));
    assert_eq!(
        out.last(),
        Some(&Action::Exit(0)),
        "the app's status: {out:?}"
    );
}

#[test]
fn leftovers_that_proc_cannot_list_get_the_signal_by_group_or_everyone() {
    for pid1 in [false, true] {
        let mut cfg = drain_cfg(0, Some(10));
        cfg.pid1 = pid1;
        let mut c = Clock::new(cfg);
        let out = c.at_all(
            0,
            Event::LeftoversUnread {
                signal: TERM,
                group: None,
                error: "Too many open files".into(),
            },
        );
        assert!(matches!(
            out[0],
            Action::Log(Line::LeftoversUnread { everyone, .. }) if everyone == pid1
        ));
        let target = if pid1 {
            Target::Everyone
        } else {
            Target::Group(PID)
        };
        assert_eq!(out[1..], [send(TERM, target)]);
    }
}

#[test]
fn a_reaping_pass_that_ends_the_run_says_goodbye_once() {
    let cfg = Config {
        mode: Mode::SingleChild,
        on_child_exit: ChildExit::TermChild,
        ..Config::default()
    };
    let mut c = Clock::new(cfg);
    let out = c.at_all(
        5,
        Event::Reaped(ReapPass {
            reaped: vec![(PID, ChildStatus::Exited(0))],
            none_left: true,
            failed: false,
        }),
    );
    let exits = out
        .iter()
        .filter(|a| matches!(a, Action::Log(Line::Exiting { .. }) | Action::Exit(_)))
        .count();
    assert_eq!(exits, 2, "one line, one exit: {out:?}");
}

// ----------------------------------------------------------------------
// Decisions the runtime used to make (issue 20): the SIGKILL sweep's
// targets, a failing signalfd, the reserve, unreadable sockets, the ready
// file, whether children are left.

fn desc(pid: i32, group_session: Option<(i32, i32)>) -> Descendant {
    Descendant { pid, group_session }
}

/// Drainit's own session in these timelines.
const SESSION: i32 = 7;

/// The grace runs out in a drain that is not PID 1: the supervisor asks
/// for the listing and returns the first sweep's request.
fn killing() -> (Clock, Action) {
    let mut c = Clock::new(drain_cfg(0, Some(1)));
    c.at(0, Event::Signal(TERM));
    let out = c.advance_to(1000);
    assert_eq!(out, vec![(1000, KILL_TREE)]);
    (c, KILL_TREE)
}

#[test]
fn the_sweep_kills_every_descendant_and_the_groups_a_hopper_cannot_leave() {
    let (mut c, _) = killing();
    let out = c.at_all(
        1000,
        Event::KillList {
            first: true,
            session: SESSION,
            listed: Ok(vec![
                // The main child, its group in drainit's session: killed
                // as a group (a wrapper's hopping children live there).
                desc(PID, Some((PID, SESSION))),
                desc(43, Some((PID, SESSION))),
                // A descendant's own session: its group holds nothing but
                // descendants.
                desc(60, Some((60, 60))),
                desc(61, Some((60, 60))),
                // Its own group in drainit's session: the group might hold
                // drainit's relatives, so only the pid.
                desc(70, Some((70, SESSION))),
                // Gone between the listing and its stat: the pid still.
                desc(80, None),
                // Group 1 (or 0) is never killed as a group.
                desc(90, Some((1, 99))),
            ]),
        },
    );
    assert_eq!(
        out,
        vec![Action::Kill {
            how: Kill::Listed {
                pids: vec![PID, 43, 60, 61, 70, 80, 90],
                groups: vec![PID, 60],
            },
            first: true,
        }]
    );
}

#[test]
fn an_empty_tree_is_a_sweep_of_nothing() {
    let (mut c, _) = killing();
    assert_eq!(
        c.at_all(
            1000,
            Event::KillList {
                first: true,
                session: SESSION,
                listed: Ok(Vec::new()),
            },
        ),
        vec![Action::Kill {
            how: Kill::Listed {
                pids: Vec::new(),
                groups: Vec::new(),
            },
            first: true,
        }]
    );
}

#[test]
fn an_unreadable_proc_kills_the_childs_group_and_the_next_sweep_lists_again() {
    let (mut c, _) = killing();
    let out = c.at_all(
        1000,
        Event::KillList {
            first: true,
            session: SESSION,
            listed: Err("Too many open files (os error 24)".into()),
        },
    );
    assert_eq!(
        out,
        vec![
            Action::Log(Line::KillTreeUnread {
                error: "Too many open files (os error 24)".into()
            }),
            Action::Kill {
                how: Kill::Group(PID),
                first: true,
            },
        ]
    );
    assert_eq!(
        c.advance_to(1010),
        vec![(
            1010,
            Action::ListForKill {
                root: ROOT,
                first: false
            }
        )]
    );
}

#[test]
fn a_failing_signalfd_is_said_once_reaps_and_backs_off() {
    let mut c = Clock::new(Config::default());
    let fail = || Event::SignalsUnread {
        error: "Bad file descriptor (os error 9)".into(),
    };
    assert_eq!(
        c.at_all(10, fail()),
        vec![
            Action::Log(Line::SignalsUnread {
                error: "Bad file descriptor (os error 9)".into()
            }),
            Action::Reap,
        ]
    );
    // The second and third in a row: a reap each, no line, no pause.
    for ms in [11, 12] {
        assert_eq!(c.at_all(ms, fail()), vec![Action::Reap]);
        assert!(c.sup.reads_signals());
        assert_eq!(c.sup.next_deadline(), None);
    }
    // The fourth: the signalfd is left alone for the back-off.
    assert_eq!(c.at_all(13, fail()), vec![Action::Reap]);
    assert!(!c.sup.reads_signals());
    assert_eq!(c.sup.next_deadline(), Some(c.t(13) + SIGNALS_BACKOFF));
    assert_eq!(c.advance_to(13 + 10), vec![]);
    assert!(c.sup.reads_signals());
    assert_eq!(c.sup.next_deadline(), None);
    // A signal read in between starts the count again: the next failure
    // is said again.
    c.at(30, Event::Signal(libc::SIGCHLD));
    assert!(logs(&c.at_all(31, fail()))
        .iter()
        .any(|l| matches!(l, Line::SignalsUnread { .. })));
}

#[test]
fn the_reserve_is_said_once() {
    let mut c = Clock::new(Config::default());
    assert_eq!(
        c.at_all(10, Event::ReserveUsed { kib: 256 }),
        vec![Action::Log(Line::ReserveUsed { kib: 256 })]
    );
    assert_eq!(c.at_all(20, Event::ReserveUsed { kib: 256 }), vec![]);
}

#[test]
fn unreadable_sockets_are_said_and_make_the_app_ready() {
    let mut c = Clock::new(Config {
        announce_ready: true,
        listen_gate: Some(ListenGate {
            every: Duration::from_millis(100),
            worker_after: Duration::from_secs(5),
        }),
        ..Config::default()
    });
    assert_eq!(c.advance_to(0), vec![(0, Action::ProbeListen)]);
    let out = c.at_all(
        5,
        Event::ListenUnread {
            error: "no sock_diag".into(),
        },
    );
    assert_eq!(
        out,
        vec![
            Action::Log(Line::ListenUnread {
                error: "no sock_diag".into()
            }),
            Action::SetReady(true),
            Action::Log(Line::ReadyBecause {
                why: ReadyWhy::CannotLook,
                after: Duration::from_millis(5),
            }),
        ]
    );
    assert_eq!(c.sup.next_deadline(), None, "no more looks");
}

#[test]
fn a_ready_file_that_cannot_be_written_is_said() {
    let mut c = Clock::new(Config::default());
    assert_eq!(
        c.at_all(
            5,
            Event::ReadyFileFailed {
                error: "/ro/ready: Read-only file system".into()
            }
        ),
        vec![Action::Log(Line::ReadyFileFailed {
            error: "/ro/ready: Read-only file system".into()
        })]
    );
}

/// An empty snapshot for leftovers: with children seen by the last
/// reaping pass, /proc could not be read, and the signal goes out as
/// before the rule; with none, nobody is left to signal.
#[test]
fn leftovers_in_an_empty_snapshot_go_out_only_while_children_exist() {
    for none_left in [false, true] {
        let mut c = Clock::new(Config::default());
        c.at(
            5,
            Event::Reaped(ReapPass {
                reaped: vec![],
                none_left,
                failed: false,
            }),
        );
        let ask = c.at(10, Event::ChildExited(ChildStatus::Exited(0)));
        assert_eq!(ask, vec![Action::SetReady(false), left(TERM)]);
        let out = answer(&mut c, 10, &left(TERM), route::Tree::default());
        if none_left {
            assert_eq!(out, vec![], "none_left");
        } else {
            assert_eq!(out, vec![send(TERM, LEFTOVERS)]);
        }
    }
}

#[test]
fn live_follows_the_main_child() {
    let mut c = Clock::new(Config::default());
    assert!(c.sup.child_running());
    c.at(
        10,
        Event::Reaped(ReapPass {
            reaped: vec![(PID, ChildStatus::Exited(0))],
            none_left: false,
            failed: false,
        }),
    );
    assert!(!c.sup.child_running());
}
