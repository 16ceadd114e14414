//! The hold on synthetic trees: each case is a tree at the stop, then the
//! trees the runtime would read after each watched exit or timer.

use std::time::{Duration, Instant};

use super::*;
use crate::core::supervisor::route::{Proc, Sleep};

const TERM: i32 = libc::SIGTERM;
const INT: i32 = libc::SIGINT;
const CHLD: i32 = libc::SIGCHLD;

fn mask(sigs: &[i32]) -> u64 {
    sigs.iter().fold(0, |m, &s| m | (1u64 << (s - 1)))
}

fn proc_(pid: i32, ppid: i32, comm: &str, start: u64) -> Proc {
    Proc {
        pid,
        ppid,
        pgid: pid,
        sid: 1,
        state: 'S',
        caught: 0,
        ignored: 0,
        blocked: 0,
        start_ticks: start,
        comm: comm.into(),
        sleep: Sleep::Other,
    }
}

/// dash in wait4 for its command.
fn sh(pid: i32, ppid: i32) -> Proc {
    Proc {
        caught: mask(&[INT, CHLD]),
        sleep: Sleep::Children,
        ..proc_(pid, ppid, "sh", 1)
    }
}

/// The same shell between two commands (running, no child).
fn sh_running(pid: i32, ppid: i32) -> Proc {
    Proc {
        sleep: Sleep::Other,
        state: 'R',
        ..sh(pid, ppid)
    }
}

/// A graceful app: handles TERM.
fn app(pid: i32, ppid: i32, start: u64) -> Proc {
    Proc {
        caught: mask(&[TERM]),
        ..proc_(pid, ppid, "app", start)
    }
}

/// Python waiting in subprocess.run: default TERM, in wait4.
fn runner(pid: i32, ppid: i32) -> Proc {
    Proc {
        sleep: Sleep::Children,
        ..proc_(pid, ppid, "python3", 1)
    }
}

fn tree(procs: Vec<Proc>) -> Tree {
    Tree::from_procs(procs)
}

/// The stop as the supervisor routes it: from the main child 10.
fn stop(t: &Tree) -> (Hold, Vec<i32>) {
    Hold::new(&route::route(t, 10, TERM))
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn a_wrapper_passed_over_is_watched_with_what_it_runs() {
    let t = tree(vec![sh(10, 1), app(11, 10, 5)]);
    let (hold, watch) = stop(&t);
    assert_eq!(watch, vec![10, 11]);
    assert!(!hold.is_empty());
}

#[test]
fn a_restart_loop_gets_the_signal_when_it_starts_the_app_again() {
    let t0 = Instant::now();
    let (mut hold, _) = stop(&tree(vec![sh(10, 1), app(11, 10, 5)]));
    // The app drained and exited; the loop started it again (pid 12).
    let d = hold.look(&tree(vec![sh(10, 1), app(12, 10, 9)]), t0, false);
    assert_eq!(d.send, vec![10, 12], "the loop and the new app");
    assert_eq!(d.watch, vec![12]);
    assert_eq!(d.again, None);
    assert!(hold.is_empty());
    assert_eq!(d.steps[0].role, Role::Receives(Why::Restarted));
}

#[test]
fn the_same_pid_started_again_is_new() {
    let t0 = Instant::now();
    let (mut hold, _) = stop(&tree(vec![sh(10, 1), app(11, 10, 5)]));
    let d = hold.look(&tree(vec![sh(10, 1), app(11, 10, 6)]), t0, false);
    assert_eq!(d.send, vec![10, 11]);
}

#[test]
fn a_wrapper_that_ends_after_the_app_is_never_signalled() {
    let t0 = Instant::now();
    let (mut hold, _) = stop(&tree(vec![sh(10, 1), app(11, 10, 5)]));
    // `app; echo done`: the shell runs its builtin, no child.
    let d = hold.look(&tree(vec![sh_running(10, 1)]), t0, false);
    assert!(d.send.is_empty());
    assert_eq!(d.again, Some(t0 + RECHECK_FIRST));
    // Then it is gone.
    let d = hold.look(&tree(vec![]), t0 + ms(10), true);
    assert!(d.send.is_empty());
    assert_eq!(d.again, None);
    assert!(hold.is_empty());
}

#[test]
fn the_looks_at_a_childless_wrapper_back_off_and_end_at_the_idle_limit() {
    let t0 = Instant::now();
    let (mut hold, _) = stop(&tree(vec![sh(10, 1), app(11, 10, 5)]));
    let idle = tree(vec![sh_running(10, 1)]);
    let mut now = t0;
    let mut d = hold.look(&idle, now, false);
    let mut gaps = Vec::new();
    while d.send.is_empty() {
        let at = d.again.expect("looked at again while childless");
        gaps.push(at - now);
        now = at;
        d = hold.look(&idle, now, true);
        assert!(gaps.len() < 50, "never signalled: {gaps:?}");
    }
    assert_eq!(d.send, vec![10]);
    assert_eq!(d.steps[0].role, Role::Receives(Why::Idle));
    assert!(now - t0 >= IDLE_WRAPPER && now - t0 < IDLE_WRAPPER + RECHECK_MAX);
    assert_eq!(gaps[0], RECHECK_FIRST);
    assert!(gaps.iter().all(|&g| g <= RECHECK_MAX));
    assert!(gaps.len() <= 12, "few looks: {gaps:?}");
}

#[test]
fn a_batch_runner_dies_with_the_next_job() {
    let t0 = Instant::now();
    let (mut hold, _) = stop(&tree(vec![runner(10, 1), proc_(11, 10, "job", 5)]));
    // Job 1 died of TERM; the runner started job 2.
    let d = hold.look(
        &tree(vec![runner(10, 1), proc_(12, 10, "job", 8)]),
        t0,
        false,
    );
    assert_eq!(d.send, vec![10, 12]);
}

#[test]
fn a_wrapper_still_waiting_for_the_signalled_app_is_left_alone() {
    let t0 = Instant::now();
    let t = tree(vec![sh(10, 1), app(11, 10, 5), app(12, 10, 6)]);
    let (mut hold, _) = stop(&t);
    // `app1 & app2; wait`: app1 exited, app2 still drains.
    let d = hold.look(&tree(vec![sh(10, 1), app(12, 10, 6)]), t0, false);
    assert!(d.send.is_empty());
    assert_eq!(d.again, None, "app2's exit wakes the next look");
}

#[test]
fn two_levels_of_wrappers_inner_loop_restarts() {
    let t0 = Instant::now();
    let t = tree(vec![sh(10, 1), sh(11, 10), app(12, 11, 5)]);
    let (mut hold, watch) = stop(&t);
    assert_eq!(watch, vec![10, 11, 12]);
    let d = hold.look(
        &tree(vec![sh(10, 1), sh(11, 10), app(13, 11, 9)]),
        t0,
        false,
    );
    assert_eq!(d.send, vec![11, 13], "the inner loop, not the outer shell");
    assert!(!hold.is_empty(), "the outer shell is still passed over");
}

#[test]
fn a_program_that_handles_the_signal_owns_what_it_starts() {
    let t0 = Instant::now();
    // A pre-fork master (handles TERM) under a shell: the stop reaches
    // the master; a worker it starts afterwards is its own business.
    let t = tree(vec![sh(10, 1), app(11, 10, 5), proc_(12, 11, "worker", 6)]);
    let (mut hold, _) = stop(&t);
    let d = hold.look(
        &tree(vec![
            sh(10, 1),
            app(11, 10, 5),
            proc_(12, 11, "worker", 6),
            proc_(13, 11, "worker", 9),
        ]),
        t0,
        false,
    );
    assert!(d.send.is_empty());
    assert_eq!(d.again, None);
}

#[test]
fn a_new_wrapper_is_routed_through_and_held_too() {
    let t0 = Instant::now();
    let (mut hold, _) = stop(&tree(vec![sh(10, 1), app(11, 10, 5)]));
    // The loop ran `sh -c app` this time: a new shell waiting for a new app.
    let new_sh = Proc {
        start_ticks: 9,
        ..sh(12, 10)
    };
    let d = hold.look(&tree(vec![sh(10, 1), new_sh, app(13, 12, 9)]), t0, false);
    assert_eq!(d.send, vec![10, 13]);
    assert_eq!(d.watch, vec![12, 13]);
}
