//! Reads the process tree below drainit from /proc for signal routing
//! (`crate::core::supervisor::route`, which decides; this module only reads).
//!
//! It runs once per forwarded signal, so [`for_signal`] reads only what the
//! rule looks at: the starting process, and the children of the processes
//! the rule passes over (usually one shell): about four small files per
//! process (`stat`, `status`, `wchan`, `task/TID/children`), through the
//! one /proc reader and its walk (crate::os::procfs).
//!
//! Processes come and go while it reads: one that vanishes between two
//! files is left out, as if it had exited just before the snapshot (its
//! parent, if a wrapper, then has one child fewer). Nothing here panics.

use std::fs;

use crate::core::supervisor::route::{self, Proc, Route, Sleep, Tree};
use crate::os::procfs::{self, Children, Stat};

/// The snapshot [`route::route_from`] needs to route `sig` from `starts`:
/// only the files the rule looks at. Valid for `sig` only: a process that
/// handles it has its wait state left unread ([`Sleep::Unread`]).
pub fn for_signal(starts: &[i32], sig: i32) -> Tree {
    let mut tree = Tree::new();
    Children::new().walk(starts.to_vec(), |pid| match read_for(pid, Some(sig)) {
        Ok(Some((p, threads))) => {
            let below = p.live() && route::looks_below(&p, sig);
            tree.insert(p);
            below.then_some(threads)
        }
        Ok(None) => None,
        Err(e) => {
            tree.note_unread(pid, &e.to_string());
            None
        }
    });
    tree
}

/// Routes `sig` from the main child `child`: snapshot and rule in one call.
pub fn route(child: i32, sig: i32) -> Route {
    route::route(&for_signal(&[child], sig), child, sig)
}

/// Routes `sig` to what the main child left behind under `root` (drainit):
/// see [`route::leftovers`].
pub fn leftovers(root: i32, sig: i32, stop: Option<&Route>) -> Route {
    route::leftovers(&for_leftovers(root, sig), root, sig, stop)
}

/// The snapshot for routing `sig` to what the main child left behind: from
/// each child of `root` (drainit), as [`route::leftovers`] needs.
pub fn for_leftovers(root: i32, sig: i32) -> Tree {
    let threads = read_stat(root).map_or(0, |s| s.threads);
    let starts = Children::new().of(root, threads).unwrap_or_default();
    for_signal(&starts, sig)
}

/// `root` (when readable) and every descendant, zombies included, every
/// field read: the whole picture, for tests and diagnostics.
pub fn snapshot(root: i32) -> Tree {
    let mut tree = Tree::new();
    Children::new().walk(vec![root], |pid| match read_for(pid, None).ok().flatten() {
        Some((p, threads)) => {
            tree.insert(p);
            Some(threads)
        }
        None if pid == root => Some(read_stat(root).map_or(0, |s| s.threads)),
        None => None,
    });
    tree
}

/// One process from /proc, every field; None when it is gone.
pub fn read(pid: i32) -> Option<Proc> {
    read_for(pid, None).ok().flatten().map(|(p, _)| p)
}

/// Reads `pid` for routing `sig` (None: everything). /proc/PID/stat holds
/// the masks of signals 1-31 and is cheaper than /proc/PID/status, which
/// is read for real-time signals only; wchan only when the rule will ask
/// whether the process waits.
///
/// An error is a `stat` file that exists but could not be read (no
/// descriptor left, no memory): the process is there, its state unknown.
fn read_for(pid: i32, sig: Option<i32>) -> std::io::Result<Option<(Proc, usize)>> {
    let Some(stat) = procfs::stat(pid)? else {
        return Ok(None);
    };
    let (mut blocked, ignored, caught) = match sig {
        Some(s) if (1..=31).contains(&s) => (stat.blocked, stat.ignored, stat.caught),
        _ => {
            let Some(st) = procfs::status(pid) else {
                return Ok(None);
            };
            (st.blocked, st.ignored, st.caught)
        }
    };
    if stat.threads > 1 && sig.map_or(blocked != 0, |s| route::in_mask(blocked, s)) {
        blocked = blocked_in_every_thread(pid, blocked, sig);
    }
    let mut p = Proc {
        pid,
        ppid: stat.ppid,
        pgid: stat.pgid,
        sid: stat.sid,
        state: stat.state,
        caught,
        ignored,
        blocked,
        start_ticks: stat.start_ticks,
        sleep: Sleep::Unread,
        comm: stat.comm,
    };
    if sig.is_none_or(|s| route::needs_sleep(&p, s)) {
        p.sleep = parse_wchan(p.state, &read_wchan(pid, p.state));
    }
    Ok(Some((p, stat.threads)))
}

fn read_stat(pid: i32) -> Option<Stat> {
    procfs::stat(pid).ok().flatten()
}

/// /proc/PID/wchan reads "0" when drainit may not see it (another user's
/// process without CAP_SYS_PTRACE; a kernel without kallsyms), and also
/// when the process ran at that instant although `stat` said asleep: a
/// few more reads tell the two apart. Empty when gone.
fn read_wchan(pid: i32, state: char) -> String {
    let path = format!("/proc/{pid}/wchan");
    let mut wchan = String::new();
    for _ in 0..3 {
        wchan = fs::read_to_string(&path).unwrap_or_default();
        if wchan.trim() != "0" || !matches!(state, 'S' | 'D' | 'I') {
            break;
        }
    }
    wchan
}

/// The blocked mask is per thread: a signal blocked in the main thread
/// only is delivered to another thread. Stops once nothing is left.
fn blocked_in_every_thread(pid: i32, main: u64, sig: Option<i32>) -> u64 {
    let Ok(tasks) = procfs::numeric_entries(&format!("/proc/{pid}/task")) else {
        return main;
    };
    let mut mask = main;
    for tid in tasks {
        if mask == 0 {
            break;
        }
        let thread = match sig {
            Some(s) if (1..=31).contains(&s) => procfs::thread_stat(pid, tid).map(|st| st.blocked),
            _ => procfs::thread_status(pid, tid).map(|st| st.blocked),
        };
        if let Some(b) = thread {
            mask &= b;
        }
    }
    mask
}

/// What a process in `state` is waiting for, from its /proc/PID/wchan.
/// Kernel builds differ in how much is inlined and in the suffixes the
/// compiler adds (`sigsuspend.isra.0`), hence the loose match.
pub fn parse_wchan(state: char, wchan: &str) -> Sleep {
    if !matches!(state, 'S' | 'D' | 'I') {
        return Sleep::Other;
    }
    let w = wchan.trim();
    if w.is_empty() || w == "0" {
        return Sleep::Unknown;
    }
    let base = w.split('.').next().unwrap_or(w);
    let base = [
        "__x64_sys_",
        "__arm64_sys_",
        "__se_sys_",
        "__do_sys_",
        "sys_",
    ]
    .iter()
    .find_map(|pre| base.strip_prefix(pre))
    .unwrap_or(base);
    match base {
        "do_wait" | "kernel_wait4" | "kernel_waitid" | "wait4" | "waitid"
        | "wait_consider_task" => Sleep::Children,
        "sigsuspend" | "rt_sigsuspend" | "pause" => Sleep::Signal,
        _ => Sleep::Other,
    }
}

#[cfg(test)]
mod tests;
