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

/// The snapshot [`route::route_from`] needs to route `sig` from `starts`:
/// only the files the rule looks at. Valid for `sig` only: a process that
/// handles it has its wait state left unread ([`Sleep::Unread`]).
pub fn for_signal(starts: &[i32], sig: i32) -> Tree {
    let mut kids = Children::new();
    let mut tree = Tree::new();
    let mut queue: Vec<i32> = starts.to_vec();
    while let Some(pid) = queue.pop() {
        let (p, threads) = match read_for(pid, Some(sig)) {
            Ok(Some(found)) => found,
            Ok(None) => continue,
            Err(e) => {
                tree.note_unread(pid, &e.to_string());
                continue;
            }
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
    let threads = read_stat(root).map_or(0, |s| s.threads);
    let starts = kids.of(root, threads);
    let tree = for_signal(&starts, sig);
    route::leftovers(&tree, root, sig, stop)
}

/// The snapshot for routing `sig` to what the main child left behind: from
/// each child of `root` (drainit), as [`route::leftovers`] needs.
pub fn for_leftovers(root: i32, sig: i32) -> Tree {
    let mut kids = Children::new();
    let threads = read_stat(root).map_or(0, |s| s.threads);
    let starts = kids.of(root, threads);
    for_signal(&starts, sig)
}

/// `root` (when readable) and every descendant, zombies included, every
/// field read: the whole picture, for tests and diagnostics.
pub fn snapshot(root: i32) -> Tree {
    let mut kids = Children::new();
    let mut tree = Tree::new();
    let mut queue = vec![root];
    while let Some(pid) = queue.pop() {
        let threads = match read_for(pid, None).ok().flatten() {
            Some((p, threads)) => {
                tree.insert(p);
                threads
            }
            None if pid == root => read_stat(root).map_or(0, |s| s.threads),
            None => continue,
        };
        queue.extend(kids.of(pid, threads));
    }
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
    let Some(stat) = stat_of(pid)? else {
        return Ok(None);
    };
    let (mut blocked, ignored, caught) = match sig {
        Some(s) if (1..=31).contains(&s) => (stat.blocked, stat.ignored, stat.caught),
        _ => {
            let text = fs::read_to_string(format!("/proc/{pid}/status")).ok();
            let Some(st) = text.as_deref().and_then(parse_status) else {
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
    stat_of(pid).ok().flatten()
}

/// /proc/PID/stat parsed; None when the process is gone (or the file is
/// not a stat line), an error when it is there but unreadable.
fn stat_of(pid: i32) -> std::io::Result<Option<Stat>> {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(text) => Ok(parse_stat(&text)),
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound
                || e.raw_os_error() == Some(libc::ESRCH) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
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
    let Ok(tasks) = crate::procfs::numeric_entries(&format!("/proc/{pid}/task")) else {
        return main;
    };
    let mut mask = main;
    for tid in tasks {
        let task = format!("/proc/{pid}/task/{tid}");
        if mask == 0 {
            break;
        }
        let thread = match sig {
            Some(s) if (1..=31).contains(&s) => fs::read_to_string(format!("{task}/stat"))
                .ok()
                .and_then(|t| parse_stat(&t))
                .map(|st| st.blocked),
            _ => fs::read_to_string(format!("{task}/status"))
                .ok()
                .and_then(|t| parse_status(&t))
                .map(|st| st.blocked),
        };
        if let Some(b) = thread {
            mask &= b;
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
    pub threads: usize,
    pub start_ticks: u64,
    /// Masks of signals 1-31 only (the kernel clears the other bits here).
    pub blocked: u64,
    pub ignored: u64,
    pub caught: u64,
}

/// Parses /proc/PID/stat. The command name may hold spaces and
/// parentheses, so the other fields are read after the last `)`.
pub fn parse_stat(text: &str) -> Option<Stat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text.get(open + 1..close)?.to_string();
    let f: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    // f[0] is field 3 of proc(5): state.
    let field = |n: usize| f.get(n - 3).copied();
    let num = |n: usize| field(n)?.parse::<u64>().ok();
    let int = |n: usize| field(n)?.parse::<i32>().ok();
    Some(Stat {
        comm,
        state: field(3)?.chars().next()?,
        ppid: int(4)?,
        pgid: int(5)?,
        sid: int(6)?,
        threads: usize::try_from(num(20)?).ok()?,
        start_ticks: num(22)?,
        blocked: num(32)?,
        ignored: num(33)?,
        caught: num(34)?,
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
    let Ok(tasks) = crate::procfs::numeric_entries(&format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let mut out: Vec<i32> = tasks
        .into_iter()
        .filter_map(|t| fs::read_to_string(format!("/proc/{pid}/task/{t}/children")).ok())
        .flat_map(parse)
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// ppid -> pids for every process in /proc.
fn scan_parents() -> BTreeMap<i32, Vec<i32>> {
    let mut map: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
    let Ok(pids) = crate::procfs::numeric_entries("/proc") else {
        return map;
    };
    for pid in pids {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok();
        if let Some(s) = stat.as_deref().and_then(parse_stat) {
            map.entry(s.ppid).or_default().push(pid);
        }
    }
    map
}

#[cfg(test)]
mod tests;
