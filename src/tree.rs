//! The process tree under drainit, read from /proc: which processes to
//! signal once the main child is gone, and what to SIGKILL at the deadline.

use std::collections::HashMap;
use std::fs;
use std::io;

/// `(pid, ppid, state)` of every process visible in /proc.
fn processes() -> io::Result<Vec<(i32, i32, char)>> {
    Ok(crate::procfs::numeric_entries("/proc")?
        .into_iter()
        .filter_map(|pid| {
            let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            parse_stat(&stat).map(|(ppid, state)| (pid, ppid, state))
        })
        .collect())
}

/// Parses ppid and state from /proc/PID/stat. The command name may hold
/// spaces and parentheses, so fields are read after the last `)`.
fn parse_stat(stat: &str) -> Option<(i32, char)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((ppid, state))
}

/// The process group and session of `pid`, from /proc/PID/stat.
fn group_and_session(pid: i32) -> Option<(i32, i32)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(2);
    Some((fields.next()?.parse().ok()?, fields.next()?.parse().ok()?))
}

/// One SIGKILL sweep of every descendant of `root`; returns how many kill
/// calls hit. The supervisor repeats it on a short timer until the tree is
/// empty, so nothing here loops or blocks the event loop.
///
/// A process that forks and exits in a loop ("pid hopping") can slip
/// between a scan and its kill, so each sweep also kills the process
/// groups of the descendants that live in a session of their own (created
/// by a descendant's setsid, so holding nothing but descendants) and the
/// main child's group: a group kill reaches members forked during it.
pub fn kill_sweep(root: i32, main_child: i32) -> usize {
    let my_session = nix::unistd::getsid(None).map_or(-1, |s| s.as_raw());
    let pids = match descendants(root) {
        Ok(pids) => pids,
        Err(e) => {
            // /proc is out of reach: the main child's group is what is
            // left to hit; the next sweep tries /proc again.
            tracing::warn!("cannot read /proc to find what to SIGKILL ({e}): killing the child's process group");
            return usize::from(send(-main_child, libc::SIGKILL));
        }
    };
    if pids.is_empty() {
        return 0;
    }
    let killed = signal_all(&pids, libc::SIGKILL);
    let mut groups: Vec<i32> = pids
        .iter()
        .filter_map(|&p| group_and_session(p))
        .filter(|&(pgid, sid)| pgid > 1 && (sid != my_session || pgid == main_child))
        .map(|(pgid, _)| pgid)
        .collect();
    groups.sort_unstable();
    groups.dedup();
    for pgid in groups {
        send(-pgid, libc::SIGKILL);
    }
    killed
}

/// As PID 1: kill(-1) reaches every process of the namespace but drainit,
/// at once (the kernel holds off forks while it walks the task list).
pub fn kill_everything() {
    send(-1, libc::SIGKILL);
}

/// kill(2) for any signal number (real-time ones have no nix `Signal`).
pub fn try_send(pid: i32, sig: i32) -> Result<(), nix::errno::Errno> {
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    let rc = unsafe { libc::kill(pid, sig) };
    if rc == 0 {
        Ok(())
    } else {
        Err(nix::errno::Errno::last())
    }
}

/// kill(2), true when the signal was sent.
pub fn send(pid: i32, sig: i32) -> bool {
    try_send(pid, sig).is_ok()
}

/// Every live (non-zombie) descendant of `root`, parents before children.
///
/// Walks down from `root` through /proc/PID/task/TID/children, which costs
/// a few reads for a small tree instead of one per process on the machine;
/// falls back to a full /proc scan when the kernel lacks that file. An
/// error means /proc could not be read at all (no descriptor left, no
/// memory): the caller must not take it for "no descendants".
pub fn descendants(root: i32) -> io::Result<Vec<i32>> {
    match children_of(root) {
        Ok(first) => Ok(walk_children(first)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => descendants_by_scan(root),
        Err(e) => Err(e),
    }
}

/// The direct children of `pid`.
fn children_of(pid: i32) -> io::Result<Vec<i32>> {
    let tasks = crate::procfs::numeric_entries(&format!("/proc/{pid}/task"))?;
    let mut out = Vec::new();
    for tid in tasks {
        let text = fs::read_to_string(format!("/proc/{pid}/task/{tid}/children"))?;
        out.extend(
            text.split_whitespace()
                .filter_map(|p| p.parse::<i32>().ok()),
        );
    }
    Ok(out)
}

fn walk_children(first: Vec<i32>) -> Vec<i32> {
    let mut out = Vec::new();
    let mut queue = first;
    while let Some(pid) = queue.pop() {
        // A process whose state cannot be read is counted as alive: a
        // signal to a zombie is harmless, a signal not sent is not.
        if !is_zombie(pid) {
            out.push(pid);
        }
        queue.extend(children_of(pid).unwrap_or_default());
    }
    out
}

fn is_zombie(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => parse_stat(&s).is_some_and(|(_, state)| state == 'Z'),
        Err(e) => e.kind() == io::ErrorKind::NotFound,
    }
}

fn descendants_by_scan(root: i32) -> io::Result<Vec<i32>> {
    let mut children: HashMap<i32, Vec<(i32, char)>> = HashMap::new();
    for (pid, ppid, state) in processes()? {
        children.entry(ppid).or_default().push((pid, state));
    }
    let mut out = Vec::new();
    let mut queue = vec![root];
    while let Some(parent) = queue.pop() {
        for &(pid, state) in children.get(&parent).map(Vec::as_slice).unwrap_or(&[]) {
            queue.push(pid);
            if state != 'Z' {
                out.push(pid);
            }
        }
    }
    Ok(out)
}

/// Sends `sig` to each pid, ignoring processes that are already gone.
/// Returns how many were signalled.
pub fn signal_all(pids: &[i32], sig: i32) -> usize {
    pids.iter().filter(|&&pid| send(pid, sig)).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_odd_command_names() {
        let stat = "42 (my) app (x)) S 7 42 42 0 -1 4194560";
        assert_eq!(parse_stat(stat), Some((7, 'S')));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn group_and_session_of_self() {
        let me = std::process::id() as i32;
        let (pgid, sid) = group_and_session(me).unwrap();
        assert_eq!(pgid, nix::unistd::getpgrp().as_raw());
        assert_eq!(sid, nix::unistd::getsid(None).unwrap().as_raw());
    }

    #[test]
    fn finds_a_real_grandchild() {
        // Other tests in this binary spawn children of this process at the
        // same time, so the comparison is on this test's own subtree: the
        // shell and its sleep.
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 5 & wait"])
            .spawn()
            .unwrap();
        let me = std::process::id() as i32;
        let sh = child.id() as i32;
        let mut found = Vec::new();
        for _ in 0..250 {
            found = descendants(me).unwrap();
            if found.contains(&sh) && !descendants(sh).unwrap().is_empty() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(found.contains(&sh), "the shell: {found:?}");
        let mut walked = descendants(sh).unwrap();
        let mut by_scan = descendants_by_scan(sh).unwrap();
        walked.sort();
        by_scan.sort();
        assert_eq!(walked.len(), 1, "the sleep: {walked:?}");
        assert_eq!(walked, by_scan, "both ways see the same tree");
        assert!(
            found.contains(&walked[0]),
            "the walk from the top reaches the grandchild"
        );
        signal_all(&walked, libc::SIGKILL);
        signal_all(&[sh], libc::SIGKILL);
        child.wait().unwrap();
    }
}
