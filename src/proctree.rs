//! Reads the process tree below drainit from /proc for signal routing
//! (`crate::supervisor::route`, which decides; this module only reads).
//!
//! It runs once per forwarded signal, so [`for_signal`] reads only what the
//! rule looks at: the starting process, and the children of the processes
//! the rule passes over (usually one shell): about four small files per
//! process (`stat`, `status`, `wchan`, `task/TID/children`). Children come
//! from `/proc/PID/task/TID/children`; on a kernel without that file, from
//! one scan of /proc per call.
//!
//! Processes come and go while it reads: one that vanishes between two
//! files is left out, as if it had exited just before the snapshot (its
//! parent, if a wrapper, then has one child fewer). Nothing here panics.

use std::collections::BTreeMap;
use std::fs;
use std::sync::OnceLock;

use crate::supervisor::route::{self, Proc, Route, Sleep, Tree};

/// The snapshot [`route::route_from`] needs to route `sig` from `starts`.
pub fn for_signal(starts: &[i32], sig: i32) -> Tree {
    let mut kids = Children::new();
    let mut tree = Tree::new();
    let mut queue: Vec<i32> = starts.to_vec();
    while let Some(pid) = queue.pop() {
        let Some((p, threads)) = read_with_threads(pid) else {
            continue;
        };
        if p.live() && route::looks_below(&p, sig) {
            queue.extend(kids.of(pid, threads));
        }
        tree.insert(p);
    }
    tree
}

/// Routes `sig` from the main child `child`: snapshot and rule in one call.
pub fn route(child: i32, sig: i32) -> Route {
    route::route(&for_signal(&[child], sig), child, sig)
}

/// Routes `sig` to what the main child left behind under `root` (drainit):
/// see [`route::leftovers`].
pub fn leftovers(root: i32, sig: i32, stop: Option<&Route>) -> Route {
    let mut kids = Children::new();
    let starts = kids.of(root, threads_of(root));
    let tree = for_signal(&starts, sig);
    route::leftovers(&tree, root, sig, stop)
}

/// `root` (when readable) and every descendant, zombies included: the
/// whole picture, for tests and diagnostics.
pub fn snapshot(root: i32) -> Tree {
    let mut kids = Children::new();
    let mut tree = Tree::new();
    let mut queue = vec![root];
    while let Some(pid) = queue.pop() {
        let threads = match read_with_threads(pid) {
            Some((p, threads)) => {
                tree.insert(p);
                threads
            }
            None if pid == root => threads_of(root),
            None => continue,
        };
        queue.extend(kids.of(pid, threads));
    }
    tree
}

/// One process from /proc; None when it is gone (or its files unreadable).
pub fn read(pid: i32) -> Option<Proc> {
    read_with_threads(pid).map(|(p, _)| p)
}

fn read_with_threads(pid: i32) -> Option<(Proc, usize)> {
    let stat = parse_stat(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)?;
    let status = parse_status(&fs::read_to_string(format!("/proc/{pid}/status")).ok()?)?;
    let blocked = if status.threads > 1 && status.blocked != 0 {
        blocked_in_every_thread(pid, status.blocked)
    } else {
        status.blocked
    };
    let wchan = read_wchan(pid, stat.state);
    let p = Proc {
        pid,
        ppid: stat.ppid,
        pgid: stat.pgid,
        sid: stat.sid,
        state: stat.state,
        caught: status.caught,
        ignored: status.ignored,
        blocked,
        start_ticks: stat.start_ticks,
        sleep: parse_wchan(stat.state, &wchan),
        comm: stat.comm,
    };
    Some((p, status.threads))
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

fn threads_of(pid: i32) -> usize {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| parse_status(&s))
        .map_or(0, |s| s.threads)
}

/// SigBlk is per thread: a signal blocked in the main thread only is
/// delivered to another thread. Stops reading once nothing is left.
fn blocked_in_every_thread(pid: i32, main: u64) -> u64 {
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return main;
    };
    let mut mask = main;
    for task in tasks.flatten() {
        if mask == 0 {
            break;
        }
        let path = task.path().join("status");
        if let Some(s) = fs::read_to_string(path).ok().and_then(|t| parse_status(&t)) {
            mask &= s.blocked;
        }
    }
    mask
}

/// The fields of /proc/PID/stat the rule uses.
#[derive(Debug, PartialEq, Eq)]
pub struct Stat {
    pub comm: String,
    pub state: char,
    pub ppid: i32,
    pub pgid: i32,
    pub sid: i32,
    pub start_ticks: u64,
}

/// Parses /proc/PID/stat. The command name may hold spaces and
/// parentheses, so the other fields are read after the last `)`.
pub fn parse_stat(text: &str) -> Option<Stat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text.get(open + 1..close)?.to_string();
    let mut f = text.get(close + 1..)?.split_whitespace();
    let state = f.next()?.chars().next()?;
    let ppid = f.next()?.parse().ok()?;
    let pgid = f.next()?.parse().ok()?;
    let sid = f.next()?.parse().ok()?;
    // Fields 7..21 (tty .. itrealvalue), then 22: starttime.
    let start_ticks = f.nth(15)?.parse().ok()?;
    Some(Stat {
        comm,
        state,
        ppid,
        pgid,
        sid,
        start_ticks,
    })
}

/// The fields of /proc/PID/status the rule uses.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Status {
    pub threads: usize,
    pub blocked: u64,
    pub ignored: u64,
    pub caught: u64,
}

pub fn parse_status(text: &str) -> Option<Status> {
    let mut s = Status::default();
    let mut seen = 0;
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        let hex = || u64::from_str_radix(value, 16).ok();
        match key {
            "Threads" => s.threads = value.parse().ok()?,
            "SigBlk" => s.blocked = hex()?,
            "SigIgn" => s.ignored = hex()?,
            "SigCgt" => s.caught = hex()?,
            _ => continue,
        }
        seen += 1;
    }
    (seen == 4).then_some(s)
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
    let base = ["__x64_sys_", "__arm64_sys_", "__se_sys_", "__do_sys_", "sys_"]
        .iter()
        .find_map(|pre| base.strip_prefix(pre))
        .unwrap_or(base);
    match base {
        "do_wait" | "kernel_wait4" | "kernel_waitid" | "wait4" | "waitid" | "wait_consider_task" => {
            Sleep::Children
        }
        "sigsuspend" | "rt_sigsuspend" | "pause" => Sleep::Signal,
        _ => Sleep::Other,
    }
}

/// Children of a process: from the per-task `children` files, or from a
/// scan of /proc (once per snapshot) on a kernel without them.
struct Children {
    scan: Option<BTreeMap<i32, Vec<i32>>>,
}

impl Children {
    fn new() -> Self {
        Self { scan: None }
    }

    fn of(&mut self, pid: i32, threads: usize) -> Vec<i32> {
        if children_files_exist() {
            return children_from_files(pid, threads);
        }
        let scan = self.scan.get_or_insert_with(scan_parents);
        scan.get(&pid).cloned().unwrap_or_default()
    }
}

/// Whether the kernel has /proc/PID/task/TID/children (CONFIG_PROC_CHILDREN).
fn children_files_exist() -> bool {
    static EXIST: OnceLock<bool> = OnceLock::new();
    *EXIST.get_or_init(|| {
        let me = std::process::id();
        fs::metadata(format!("/proc/{me}/task/{me}/children")).is_ok()
    })
}

/// A single-threaded process has one children file: read it directly.
fn children_from_files(pid: i32, threads: usize) -> Vec<i32> {
    let parse = |text: String| -> Vec<i32> {
        text.split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect()
    };
    if threads == 1 {
        return fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
            .map(parse)
            .unwrap_or_default();
    }
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let mut out: Vec<i32> = tasks
        .flatten()
        .filter_map(|t| fs::read_to_string(t.path().join("children")).ok())
        .flat_map(parse)
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// ppid -> pids for every process in /proc.
fn scan_parents() -> BTreeMap<i32, Vec<i32>> {
    let mut map: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
    let Ok(dir) = fs::read_dir("/proc") else {
        return map;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok();
        if let Some(s) = stat.as_deref().and_then(parse_stat) {
            map.entry(s.ppid).or_default().push(pid);
        }
    }
    map
}

#[cfg(test)]
mod tests;
