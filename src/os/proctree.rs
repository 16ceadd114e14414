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

#[cfg(test)]
use std::fs;

use crate::core::supervisor::route::{self, Proc, Route, Sleep, Tree};
use crate::os::procfs::{Children, Scratch};

/// Processes a snapshot holds before its buffers grow (and a tree that
/// needs more grows them once, for the life of the reader).
pub const RESERVED_PROCS: usize = 16;

/// Reads snapshots into buffers kept from one read to the next: the
/// runtime keeps one for its whole life, so that routing a signal through
/// the usual tree (a shell or two and the app) allocates nothing.
pub struct Reader {
    kids: Children,
    starts: Vec<i32>,
}

impl Default for Reader {
    fn default() -> Self {
        Self::new()
    }
}

impl Reader {
    /// Every buffer reserved for [`RESERVED_PROCS`] processes.
    pub fn new() -> Self {
        Self {
            kids: Children::with_capacity(RESERVED_PROCS),
            starts: Vec::with_capacity(RESERVED_PROCS),
        }
    }

    /// Fills `tree` (emptied first) with what [`route::route_from`] needs
    /// to route `sig` from `starts`: see [`for_signal`].
    pub fn for_signal(&mut self, starts: &[i32], sig: i32, tree: &mut Tree) {
        let room = tree.capacity();
        tree.clear();
        self.kids.walk_with(starts, |scratch, pid| {
            match read_for(scratch, pid, Some(sig)) {
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
            }
        });
        grown(room, tree);
    }

    /// Fills `tree` with the snapshot for routing `sig` to what the main
    /// child left behind: see [`for_leftovers`].
    pub fn for_leftovers(&mut self, root: i32, sig: i32, tree: &mut Tree) {
        let mut starts = std::mem::take(&mut self.starts);
        starts.clear();
        let threads = stat_threads(self.kids.scratch(), root);
        if self.kids.of_into(root, threads, &mut starts).is_err() {
            starts.clear();
        }
        self.for_signal(&starts, sig, tree);
        self.starts = starts;
    }

    /// Every live descendant of `root`, appended to `out`: see
    /// `procfs::descendants`.
    pub fn descendants(&mut self, root: i32, out: &mut Vec<i32>) -> std::io::Result<()> {
        self.kids.descendants_into(root, out)
    }

    /// Fills `tree` with `root` (when readable) and every descendant,
    /// zombies included, every field read: see [`snapshot`].
    pub fn snapshot(&mut self, root: i32, tree: &mut Tree) {
        let room = tree.capacity();
        tree.clear();
        self.kids.walk_with(&[root], |scratch, pid| {
            match read_for(scratch, pid, None).ok().flatten() {
                Some((p, threads)) => {
                    tree.insert(p);
                    Some(threads)
                }
                None if pid == root => Some(stat_threads(scratch, root)),
                None => None,
            }
        });
        grown(room, tree);
    }
}

/// Says so (at debug) when a snapshot outgrew the buffers reserved for it.
fn grown(room: usize, tree: &Tree) {
    if tree.capacity() > room {
        tracing::debug!(
            "process tree snapshot: {} processes, more than the {room} reserved; its buffers grew to {}",
            tree.len(),
            tree.capacity()
        );
    }
}

fn stat_threads(scratch: &mut Scratch, pid: i32) -> usize {
    scratch.stat(pid).ok().flatten().map_or(0, |s| s.threads)
}

/// The snapshot [`route::route_from`] needs to route `sig` from `starts`:
/// only the files the rule looks at. Valid for `sig` only: a process that
/// handles it has its wait state left unread ([`Sleep::Unread`]).
pub fn for_signal(starts: &[i32], sig: i32) -> Tree {
    let mut tree = Tree::new();
    Reader::new().for_signal(starts, sig, &mut tree);
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
    let mut tree = Tree::new();
    Reader::new().for_leftovers(root, sig, &mut tree);
    tree
}

/// `root` (when readable) and every descendant, zombies included, every
/// field read: the whole picture, for tests and diagnostics.
pub fn snapshot(root: i32) -> Tree {
    let mut tree = Tree::new();
    Reader::new().snapshot(root, &mut tree);
    tree
}

/// One process from /proc, every field; None when it is gone.
pub fn read(pid: i32) -> Option<Proc> {
    read_for(&mut Scratch::default(), pid, None)
        .ok()
        .flatten()
        .map(|(p, _)| p)
}

/// Reads `pid` for routing `sig` (None: everything). /proc/PID/stat holds
/// the masks of signals 1-31 and is cheaper than /proc/PID/status, which
/// is read for real-time signals only; wchan only when the rule will ask
/// whether the process waits.
///
/// An error is a `stat` file that exists but could not be read (no
/// descriptor left, no memory): the process is there, its state unknown.
fn read_for(s: &mut Scratch, pid: i32, sig: Option<i32>) -> std::io::Result<Option<(Proc, usize)>> {
    let Some(stat) = s.stat(pid)? else {
        return Ok(None);
    };
    let (mut blocked, ignored, caught) = match sig {
        Some(n) if (1..=31).contains(&n) => (stat.blocked, stat.ignored, stat.caught),
        _ => {
            let Some(st) = s.status(pid) else {
                return Ok(None);
            };
            (st.blocked, st.ignored, st.caught)
        }
    };
    if stat.threads > 1 && sig.map_or(blocked != 0, |n| route::in_mask(blocked, n)) {
        blocked = blocked_in_every_thread(s, pid, blocked, sig);
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
    if sig.is_none_or(|n| route::needs_sleep(&p, n)) {
        p.sleep = read_wchan(s, pid, p.state);
    }
    Ok(Some((p, stat.threads)))
}

/// /proc/PID/wchan reads "0" when drainit may not see it (another user's
/// process without CAP_SYS_PTRACE; a kernel without kallsyms), and also
/// when the process ran at that instant although `stat` said asleep: a
/// few more reads tell the two apart. Empty when gone.
fn read_wchan(s: &mut Scratch, pid: i32, state: char) -> Sleep {
    let mut sleep = parse_wchan(state, "");
    for _ in 0..3 {
        let wchan = s
            .read(format_args!("/proc/{pid}/wchan"))
            .ok()
            .flatten()
            .unwrap_or_default();
        sleep = parse_wchan(state, wchan);
        if wchan.trim() != "0" || !matches!(state, 'S' | 'D' | 'I') {
            break;
        }
    }
    sleep
}

/// The blocked mask is per thread: a signal blocked in the main thread
/// only is delivered to another thread. Stops once nothing is left.
fn blocked_in_every_thread(s: &mut Scratch, pid: i32, main: u64, sig: Option<i32>) -> u64 {
    let every = s.with_tasks(pid, |s, tasks| {
        let mut mask = main;
        for &tid in tasks {
            if mask == 0 {
                break;
            }
            let thread = match sig {
                Some(n) if (1..=31).contains(&n) => s.thread_stat(pid, tid).map(|st| st.blocked),
                _ => s.thread_status(pid, tid).map(|st| st.blocked),
            };
            if let Some(b) = thread {
                mask &= b;
            }
        }
        mask
    });
    every.unwrap_or(main)
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
