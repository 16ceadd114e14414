//! Property tests of the supervisor (owned by the hardening work), and of
//! the signal, rewrite and duration parsers.
//!
//! The supervisor is driven by random configurations and random sequences
//! of signals, child exits, tree-empty reports, probe results, traffic
//! looks and clock advances (ticks delivered the way the runtime does, at
//! each due deadline, plus spurious ones). After every step the invariants
//! of the drain contract are checked against a small independent model;
//! at the end the world is finished off (the child exits, the tree
//! empties) and drainit must reach `Exit` with the documented code.
//!
//! `PROPTEST_CASES` scales the run: the default (a few thousand) keeps the
//! test loop short; `make fuzz` runs hundreds of thousands.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config as PtConfig, TestRunner};

use super::*;
use crate::core::{duration, signal as signals};

const TERM: i32 = libc::SIGTERM;
const INT: i32 = libc::SIGINT;

/// Cases for the state machine when PROPTEST_CASES is unset.
const MACHINE_CASES: u32 = 4_000;
/// Cases for each parser property when PROPTEST_CASES is unset.
const PARSER_CASES: u32 = 2_000;

fn runner(default_cases: u32) -> TestRunner {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(default_cases);
    TestRunner::new(PtConfig {
        cases,
        failure_persistence: None,
        max_shrink_iters: 20_000,
        ..PtConfig::default()
    })
}

// ------------------------------------------------------------ generators

fn signal() -> impl Strategy<Value = i32> {
    prop_oneof![
        4 => Just(TERM),
        2 => Just(INT),
        1 => Just(libc::SIGQUIT),
        1 => Just(libc::SIGHUP),
        1 => Just(libc::SIGUSR1),
        1 => Just(libc::SIGUSR2),
        1 => Just(libc::SIGWINCH),
        1 => Just(libc::SIGCONT),
        1 => (0..3i32).prop_map(|o| libc::SIGRTMIN() + o),
    ]
}

fn ms(max: u64) -> impl Strategy<Value = Duration> {
    prop_oneof![
        1 => Just(Duration::ZERO),
        4 => (1..=max).prop_map(Duration::from_millis),
    ]
}

fn config() -> impl Strategy<Value = Config> {
    let mode = prop_oneof![
        Just(Mode::Cascade),
        Just(Mode::Group),
        Just(Mode::SingleChild)
    ];
    let drain_signals = prop_oneof![
        3 => Just(vec![TERM]),
        1 => Just(vec![TERM, INT]),
        1 => Just(vec![libc::SIGQUIT, TERM]),
        1 => Just(vec![libc::SIGUSR1]),
    ];
    let rewrite = (signal(), prop_oneof![Just(0), signal()]);
    let quiet = proptest::option::weighted(
        0.2,
        (ms(2000), ms(3000)).prop_map(|(period, min)| Quiet { period, min }),
    );
    (
        mode,
        drain_signals,
        ms(5000),
        proptest::option::weighted(0.6, ms(5000)),
        ms(5000),
        proptest::collection::vec(rewrite, 0..3),
        proptest::collection::vec(prop_oneof![Just(0), Just(1), Just(143), 0..256i32], 0..3),
        any::<bool>(),
        quiet,
        any::<bool>(),
    )
        .prop_map(
            |(
                mode,
                drain_signals,
                drain_delay,
                grace,
                leftover_grace,
                rw,
                remap_exit,
                gated,
                quiet,
                pid1,
            )| {
                let mut rewrites = Rewrites::default();
                for (from, to) in rw {
                    rewrites.insert(from, to);
                }
                Config {
                    mode,
                    drain_signals,
                    drain_delay,
                    grace,
                    leftover_grace,
                    rewrites,
                    remap_exit,
                    gate_every: gated.then_some(Duration::from_millis(700)),
                    listen_gate: None,
                    announce_ready: false,
                    quiet,
                    hook: gated,
                    pid1,
                    root: 1,
                    route_live: true,
                    suspend_on_tty_signals: false,
                    on_child_exit: ChildExit::Drain,
                    reap_after_signal: false,
                    warn_on_reap: false,
                    ignore_once: Vec::new(),
                }
            },
        )
}

#[derive(Clone, Debug)]
enum Op {
    Signal(i32),
    Exit(ChildStatus),
    TreeEmpty,
    Probe(bool),
    Traffic(usize),
    /// Advance the clock, delivering a tick at each due deadline.
    Advance(u64),
    /// A tick at an arbitrary moment.
    SpuriousTick,
}

fn status() -> impl Strategy<Value = ChildStatus> {
    prop_oneof![
        (0..256i32).prop_map(ChildStatus::Exited),
        prop_oneof![Just(9), Just(15), Just(2), Just(11), 1..65i32].prop_map(ChildStatus::Signaled),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => signal().prop_map(Op::Signal),
        1 => status().prop_map(Op::Exit),
        2 => Just(Op::TreeEmpty),
        2 => any::<bool>().prop_map(Op::Probe),
        2 => (0..3usize).prop_map(Op::Traffic),
        6 => prop_oneof![0..50u64, 0..2000u64, 0..8000u64].prop_map(Op::Advance),
        1 => Just(Op::SpuriousTick),
    ]
}

// ----------------------------------------------------------------- model

/// What the contract says, tracked independently of the supervisor.
struct Model {
    cfg: Config,
    start: Instant,
    now: Instant,
    sup: Supervisor,
    /// When the drain began (first drain signal while the child ran).
    drain_at: Option<Instant>,
    /// When the stop signal was forwarded (drain phase ended).
    stop_at: Option<Instant>,
    child_exit: Option<(Instant, ChildStatus)>,
    /// The tree emptied after the child exited (the runtime's ECHILD).
    tree_empty: bool,
    killed_at: Option<Instant>,
    exit: Option<i32>,
    log: Vec<String>,
}

impl Model {
    fn new(cfg: Config) -> Self {
        let start = Instant::now();
        let mut m = Self {
            sup: Supervisor::new(cfg.clone()),
            cfg,
            start,
            now: start,
            drain_at: None,
            stop_at: None,
            child_exit: None,
            tree_empty: false,
            killed_at: None,
            exit: None,
            log: Vec::new(),
        };
        m.step(Event::Started { pid: 7 })
            .expect("Started breaks no invariant");
        m
    }

    fn t(&self, at: Instant) -> u128 {
        (at - self.start).as_millis()
    }

    fn fail(&self, what: String) -> TestCaseError {
        TestCaseError::fail(format!(
            "{what}\nconfig: {:?}\ntimeline:\n  {}",
            self.cfg,
            self.log.join("\n  ")
        ))
    }

    fn expected_code(&self) -> Option<i32> {
        let (_, status) = self.child_exit?;
        let code = match status {
            ChildStatus::Exited(c) => c,
            ChildStatus::Signaled(s) => 128 + s,
        };
        Some(self.remapped(code))
    }

    fn remapped(&self, code: i32) -> i32 {
        if self.cfg.remap_exit.contains(&code) {
            0
        } else {
            code
        }
    }

    /// The earliest moment the contract allows a SIGKILL.
    fn kill_allowed_from(&self) -> Option<Instant> {
        let after_stop = match (self.stop_at, self.cfg.grace) {
            (Some(s), Some(g)) => Some(s + g),
            _ => None,
        };
        let after_exit = self
            .child_exit
            .map(|(e, _)| e + self.cfg.grace.unwrap_or(self.cfg.leftover_grace));
        match (after_stop, after_exit) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn step(&mut self, event: Event) -> Result<(), TestCaseError> {
        let before = self.sup.phase();
        let actions = self.sup.handle_all(event.clone(), self.now);
        let after = self.sup.phase();
        self.log.push(format!(
            "t={} {event:?}: {} -> {} {actions:?}",
            self.t(self.now),
            before.name(),
            after.name()
        ));
        if self.exit.is_some() {
            return if actions.is_empty() {
                Ok(())
            } else {
                Err(self.fail("actions after Exit".into()))
            };
        }
        if let Event::ChildExited(status) = event {
            if self.child_exit.is_none() {
                self.child_exit = Some((self.now, status));
            }
        }
        if matches!(event, Event::TreeEmpty) && self.child_exit.is_some() {
            self.tree_empty = true;
        }

        // The drain starts on a drain signal while the child runs.
        if before != Phase::Draining && after == Phase::Draining {
            let Event::Signal(sig) = event else {
                return Err(self.fail(format!("draining on {event:?}")));
            };
            if !self.cfg.drain_signals.contains(&sig) || self.drain_at.is_some() {
                return Err(self.fail(format!("drain started by {sig}")));
            }
            if self.cfg.drain_delay.is_zero() {
                return Err(self.fail("a zero delay must forward at once".into()));
            }
            self.drain_at = Some(self.now);
        }
        if matches!(before, Phase::Starting | Phase::Ready) && after == Phase::Stopping {
            if let Event::Signal(sig) = event {
                if !self.cfg.drain_delay.is_zero() || !self.cfg.drain_signals.contains(&sig) {
                    return Err(self.fail(format!("stop forwarded at once on {sig}")));
                }
                self.drain_at = Some(self.now);
                self.stop_at = Some(self.now);
            }
        }
        // Invariant 1: the stop signal leaves the drain phase only after
        // the delay, unless cut short.
        if before == Phase::Draining && after != Phase::Draining {
            let drain_at = self.drain_at.expect("drain start recorded");
            let waited = self.now - drain_at;
            let ok = match event {
                Event::Tick => {
                    waited >= self.cfg.drain_delay
                        || self.cfg.quiet.is_some_and(|q| waited >= q.min)
                }
                Event::Traffic { .. } => self.cfg.quiet.is_some_and(|q| waited >= q.min),
                Event::Signal(sig) => self.cfg.drain_signals.contains(&sig) || sig == INT,
                Event::ChildExited(_) => true,
                _ => false,
            };
            if !ok {
                return Err(self.fail(format!(
                    "left the drain after {waited:?} of {:?} on {event:?}",
                    self.cfg.drain_delay
                )));
            }
            if self.stop_at.is_none() && !matches!(event, Event::ChildExited(_)) {
                self.stop_at = Some(self.now);
            }
        }
        // While the delay runs, only the signals received are forwarded.
        if before == Phase::Draining && after == Phase::Draining {
            for a in &actions {
                if let Action::Send { signal, .. } = a {
                    let expected = match event {
                        Event::Signal(s) => self.cfg.rewrites.apply(s),
                        Event::Tree { signal, .. } => Some(signal),
                        _ => None,
                    };
                    if expected != Some(*signal) {
                        return Err(self.fail(format!("sent {signal} during the delay")));
                    }
                }
            }
        }

        for a in &actions {
            match a {
                // Invariant 2: nothing is SIGKILLed before the grace deadline.
                Action::Kill { first: false, .. } if self.killed_at.is_none() => {
                    return Err(self.fail("a re-sweep before the first SIGKILL".into()));
                }
                Action::Kill { first: true, .. } => {
                    let from = self.kill_allowed_from();
                    if from.is_none_or(|f| self.now < f) {
                        return Err(self.fail(format!(
                            "SIGKILL at {} before the deadline {:?}",
                            self.t(self.now),
                            from.map(|f| self.t(f))
                        )));
                    }
                    if self.cfg.grace.is_none() && self.child_exit.is_none() {
                        return Err(self.fail("grace unset: the main child was SIGKILLed".into()));
                    }
                    if self.killed_at.replace(self.now).is_some() {
                        return Err(self.fail("first SIGKILL twice".into()));
                    }
                }
                // Invariant 4: the exit code follows the table.
                Action::Exit(code) => {
                    // Before the tree emptied only once SIGKILL sweeps had
                    // KILL_GIVE_UP to end it: 137 unless the child was reaped.
                    let gave_up = self.killed_at.is_some_and(|k| self.now >= k + KILL_GIVE_UP);
                    if !self.tree_empty && !gave_up {
                        return Err(self.fail("Exit before the tree emptied".into()));
                    }
                    let expected = match self.expected_code() {
                        None if gave_up => Some(self.remapped(128 + libc::SIGKILL)),
                        e => e,
                    };
                    if Some(*code) != expected {
                        return Err(self.fail(format!(
                            "exit code {code}, expected {:?}",
                            self.expected_code()
                        )));
                    }
                    self.exit = Some(*code);
                }
                Action::SetReady(true) if self.drain_at.is_some() || self.child_exit.is_some() => {
                    return Err(self.fail("ready again after the drain".into()));
                }
                _ => {}
            }
        }
        // The runtime answers a snapshot request at once (an empty tree
        // here: the rule then sends to the child as addressed).
        for a in &actions {
            if let Action::ReadTree { signal, purpose } = *a {
                self.step(Event::Tree {
                    signal,
                    purpose,
                    tree: Box::default(),
                })?;
            }
            // And a SIGKILL sweep's listing (nothing found: the sweep
            // kills no one, the kill is still the supervisor's to order).
            if let Action::ListForKill { first, .. } = *a {
                self.step(Event::KillList {
                    first,
                    session: 1,
                    listed: Ok(Vec::new()),
                })?;
            }
        }
        // Invariant 3 (progress): once the child exited and the tree is
        // empty, drainit exits at once.
        if self.tree_empty && self.exit.is_none() {
            return Err(self.fail("tree empty, child gone, no Exit".into()));
        }
        Ok(())
    }

    /// Moves the clock forward, ticking at every due deadline.
    fn advance(&mut self, by: Duration) -> Result<(), TestCaseError> {
        let until = self.now + by;
        let mut same_instant = 0;
        while let Some(due) = self.sup.next_deadline() {
            if due > until || self.exit.is_some() {
                break;
            }
            if due < self.now {
                return Err(self.fail(format!("deadline {} in the past", self.t(due))));
            }
            same_instant = if due == self.now { same_instant + 1 } else { 0 };
            if same_instant > 4 {
                return Err(self.fail("ticks at a due deadline make no progress".into()));
            }
            self.now = due;
            self.step(Event::Tick)?;
        }
        self.now = until;
        Ok(())
    }

    /// The runtime's part after a SIGKILL: the tree dies.
    fn world_after_kill(&mut self) -> Result<(), TestCaseError> {
        if self.killed_at.is_some() && self.exit.is_none() {
            if self.child_exit.is_none() {
                self.step(Event::ChildExited(ChildStatus::Signaled(libc::SIGKILL)))?;
            }
            self.step(Event::TreeEmpty)?;
        }
        Ok(())
    }

    fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
        if self.exit.is_some() {
            return Ok(());
        }
        match *op {
            Op::Signal(s) => self.step(Event::Signal(s))?,
            Op::Exit(st) => {
                if self.child_exit.is_none() && self.killed_at.is_none() {
                    self.step(Event::ChildExited(st))?
                }
            }
            Op::TreeEmpty => {
                // ECHILD only comes once the main child was reaped.
                if self.child_exit.is_some() {
                    self.step(Event::TreeEmpty)?
                }
            }
            Op::Probe(ok) => self.step(Event::Probe(ok))?,
            Op::Traffic(n) => {
                if self.sup.phase() == Phase::Draining && self.cfg.quiet.is_some() {
                    self.step(Event::Traffic { new_connections: n })?
                }
            }
            Op::Advance(ms) => self.advance(Duration::from_millis(ms))?,
            Op::SpuriousTick => self.step(Event::Tick)?,
        }
        self.world_after_kill()
    }

    /// The end of the story: a drain signal if none came, the child exits
    /// on its own at some point, the leftovers never do. drainit must exit,
    /// and with a grace set, no later than its deadline.
    fn finish(&mut self, child_lingers: u64, status: ChildStatus) -> Result<(), TestCaseError> {
        if self.exit.is_some() {
            return Ok(());
        }
        if self.drain_at.is_none() && self.child_exit.is_none() {
            self.step(Event::Signal(self.cfg.drain_signals[0]))?;
        }
        self.world_after_kill()?;
        // Through the drain delay (or its early end).
        self.advance(self.cfg.drain_delay + Duration::from_millis(1))?;
        self.world_after_kill()?;
        if self.exit.is_some() {
            return Ok(());
        }
        if let (Some(grace), None) = (self.cfg.grace, self.child_exit) {
            // Grace set: the whole tree is dealt with by the deadline, even
            // if the child ignores the stop signal.
            let stop = self.stop_at.unwrap_or(self.now);
            let deadline = stop + grace;
            if deadline > self.now {
                self.advance(deadline - self.now)?;
            }
            if self.killed_at.is_none() && self.child_exit.is_none() {
                return Err(self.fail(format!(
                    "grace deadline {} passed without a SIGKILL",
                    self.t(deadline)
                )));
            }
            self.world_after_kill()?;
        }
        if self.exit.is_some() {
            return Ok(());
        }
        if self.child_exit.is_none() {
            self.advance(Duration::from_millis(child_lingers))?;
            self.world_after_kill()?;
            if self.exit.is_some() {
                return Ok(());
            }
            if self.child_exit.is_none() {
                self.step(Event::ChildExited(status))?;
            }
        }
        // The leftovers never exit: the deadline must end them.
        if self.sup.next_deadline().is_none() && self.killed_at.is_none() {
            return Err(self.fail(format!(
                "child gone, no deadline, phase {}",
                self.sup.phase().name()
            )));
        }
        let limit = self.child_exit.map(|(e, _)| e).unwrap_or(self.now)
            + self.cfg.grace.unwrap_or(self.cfg.leftover_grace);
        self.advance(limit.saturating_duration_since(self.now))?;
        self.world_after_kill()?;
        if self.exit.is_none() {
            return Err(self.fail("no Exit after the deadline".into()));
        }
        Ok(())
    }
}

#[test]
fn state_machine_keeps_the_drain_contract() {
    let strategy = (
        config(),
        proptest::collection::vec(op(), 0..60),
        0..20_000u64,
        status(),
        any::<bool>(),
    );
    runner(MACHINE_CASES)
        .run(&strategy, |(cfg, ops, lingers, st, empties)| {
            let mut m = Model::new(cfg);
            for op in &ops {
                m.apply(op)?;
            }
            m.finish(lingers, st)?;
            // A tree that empties by itself after the child ends exits too.
            if empties && m.exit.is_none() {
                m.step(Event::TreeEmpty)?;
            }
            prop_assert!(m.exit.is_some(), "no exit");
            prop_assert_eq!(m.sup.phase(), Phase::Exited);
            prop_assert_eq!(m.sup.exit_code(), m.exit);
            Ok(())
        })
        .unwrap();
}

#[test]
fn a_child_that_exits_alone_gives_its_code() {
    let strategy = (config(), status(), 0..10_000u64);
    runner(PARSER_CASES)
        .run(&strategy, |(cfg, st, at)| {
            let mut m = Model::new(cfg);
            m.advance(Duration::from_millis(at))?;
            m.step(Event::ChildExited(st))?;
            m.step(Event::TreeEmpty)?;
            prop_assert_eq!(m.exit, m.expected_code());
            Ok(())
        })
        .unwrap();
}

// --------------------------------------------------------------- parsers

#[test]
fn signal_parser_never_panics_and_round_trips() {
    let text = prop_oneof![
        // Offsets that overflow i32 arithmetic on SIGRTMIN/SIGRTMAX.
        Just("RTMIN+2147483647".to_string()),
        Just("SIGRTMAX--2147483648".to_string()),
        Just("RTMIN-+2147483647".to_string()),
        any::<String>(),
        "(SIG|sig)?(RT|rt)(MIN|MAX|min|max)?([+-][0-9]{1,11})?",
        "(SIG)?[A-Z]{1,7}",
        "[+-]?[0-9]{1,12}",
        " *[0-9A-Za-z+-]{0,12} *",
    ];
    runner(PARSER_CASES)
        .run(&text, |t| {
            if let Ok(n) = signals::parse(&t) {
                prop_assert!((1..=signals::rt_max()).contains(&n), "{t:?} -> {n}");
                // 32 and 33 (glibc's own) have no name, only a number.
                if !signals::name(n).starts_with("signal ") {
                    prop_assert_eq!(signals::parse(&signals::name(n)), Ok(n));
                }
            }
            let _ = signals::parse_rewrite(&t);
            let _ = signals::parse_rewrite(&format!("{t}:{t}"));
            Ok(())
        })
        .unwrap();
    runner(PARSER_CASES)
        .run(&(1..=signals::rt_max()), |n| {
            if signals::name(n).starts_with("signal ") {
                return Ok(()); // 32 and 33: glibc's, unnamed
            }
            prop_assert_eq!(signals::parse(&signals::name(n)), Ok(n));
            prop_assert_eq!(signals::parse(&n.to_string()), Ok(n));
            prop_assert_eq!(signals::parse(&signals::name(n).to_lowercase()), Ok(n));
            let rw = format!("{}:{}", signals::name(n), n);
            prop_assert_eq!(signals::parse_rewrite(&rw), Ok((n, n)));
            prop_assert_eq!(signals::parse_rewrite(&format!("{}:0", n)), Ok((n, 0)));
            Ok(())
        })
        .unwrap();
}

#[test]
fn duration_parser_never_panics_and_round_trips() {
    let text = prop_oneof![
        any::<String>(),
        "[0-9.]{0,12}(ms|s|m|h)?",
        "([0-9]{1,4}(ms|s|m|h)){1,5}",
        "[0-9]{1,25}(\\.[0-9]{0,20})?(ms|s|m|h|e[0-9]+)?",
    ];
    runner(PARSER_CASES)
        .run(&text, |t| {
            if let Ok(d) = duration::parse(&t) {
                prop_assert!(d.as_secs() < 5_000_000_000, "{t:?} -> {d:?}");
            }
            Ok(())
        })
        .unwrap();
    let parts = (0..100u64, 0..60u64, 0..60u64, 0..1000u64);
    runner(PARSER_CASES)
        .run(&parts, |(h, m, s, ms)| {
            let want = Duration::from_millis(((h * 60 + m) * 60 + s) * 1000 + ms);
            let text = format!("{h}h{m}m{s}s{ms}ms");
            prop_assert_eq!(duration::parse(&text), Ok(want));
            let secs = format!("{}.{:03}", want.as_secs(), want.subsec_millis());
            let got = duration::parse(&secs).unwrap();
            prop_assert!(
                got.abs_diff(want) < Duration::from_micros(1),
                "{secs}: {got:?}"
            );
            prop_assert_eq!(
                duration::parse(&format!("{}ms", want.as_millis())),
                Ok(want)
            );
            Ok(())
        })
        .unwrap();
}
