//! Signals to the process tree under drainit (read through crate::os::procfs):
//! kill(2), the SIGKILL sweep at the deadline, kill(-1) as PID 1.

pub use crate::os::procfs::descendants;

/// The process group and session of `pid`, from /proc/PID/stat.
fn group_and_session(pid: i32) -> Option<(i32, i32)> {
    crate::os::procfs::stat(pid).ok()?.map(|s| (s.pgid, s.sid))
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

/// kill(2) for any signal number, 0 and real-time ones included.
pub fn try_send(pid: i32, sig: i32) -> Result<(), nix::errno::Errno> {
    // Raw libc: neither nix's `Signal` nor rustix's (safely) names
    // real-time signals or signal 0.
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

/// Sends `sig` to each pid, ignoring processes that are already gone.
/// Returns how many were signalled.
pub fn signal_all(pids: &[i32], sig: i32) -> usize {
    pids.iter().filter(|&&pid| send(pid, sig)).count()
}
