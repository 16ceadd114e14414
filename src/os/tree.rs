//! Signals to the process tree under drainit: kill(2), the SIGKILL sweep
//! the supervisor chose, kill(-1) as PID 1. Nothing here reads /proc or
//! decides who is signalled.

/// One SIGKILL sweep: each pid, then each process group (the supervisor
/// chose both: `Supervisor::on_kill_list`); returns how many of the pids
/// were hit. The supervisor repeats it on a short timer until the tree is
/// empty, so nothing here loops or blocks the event loop.
pub fn kill_listed(pids: &[i32], groups: &[i32]) -> usize {
    let killed = signal_all(pids, libc::SIGKILL);
    for &pgid in groups {
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
