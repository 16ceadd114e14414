//! Spawning the main child and reaping every process that ends up ours.

use std::ffi::OsString;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::Command;

use nix::errno::Errno;
use nix::sys::signal::{SigSet, SigmaskHow};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::core::options::Flavor;
use crate::core::timeline::ChildStatus;
use crate::os::signals;

/// Exit codes for a command that cannot be started (tini's convention).
pub const EXIT_NOT_FOUND: i32 = 127;
pub const EXIT_NOT_EXECUTABLE: i32 = 126;

pub struct SpawnConfig {
    /// Whose name drainit runs under: the child's signals and process
    /// group, and how a command that cannot run is reported.
    pub flavor: Flavor,
    pub argv: Vec<OsString>,
    /// `-g`: a new session (and so a new process group) for the child.
    pub new_session: bool,
    /// The signal mask drainit started with, restored in the child.
    pub original_mask: SigSet,
    /// Signals whose disposition drainit changed (to SIG_IGN) and that were
    /// at their default when it started: reset in the child.
    pub reset_to_default: Vec<i32>,
    /// stdin is a terminal, to be handed to the child (see `stdin_is_tty`).
    pub tty: bool,
    /// dumb-init's setsid mode: the child always tries to take stdin as its
    /// controlling terminal, and the result is reported back.
    pub take_terminal: bool,
}

/// A started main child.
#[derive(Debug)]
pub struct Spawned {
    pub pid: i32,
    /// With `take_terminal`: the child's TIOCSCTTY, `Some(errno)` if it failed.
    pub tty_attach: Option<Option<i32>>,
    /// Under an anchor's name: the command could not be run (this errno);
    /// the child only exits with the anchor's code.
    pub exec_error: Option<i32>,
}

#[derive(Debug)]
pub struct SpawnError {
    pub code: i32,
    pub message: String,
}

/// What the child starts with, decided by the flavor: drainit and tini
/// give back exactly the mask and dispositions drainit was started with;
/// dumb-init resets signals 1-31 to their defaults and unblocks everything
/// (it installs a handler for each and unblocks all in its child).
struct ChildSignals {
    mask: SigSet,
    /// Set to SIG_DFL in the child.
    defaults: Vec<i32>,
    /// Set to SIG_IGN in the child (it was ignored when drainit started).
    ignored: Vec<i32>,
}

/// glibc's and musl's internal signals (32-34 at most): posix_spawn sets
/// them to SIG_IGN in the child unless they are in the default set.
const INTERNAL_SIGNALS: [i32; 3] = [32, 33, 34];

fn child_signals(cfg: &SpawnConfig, flavor: Flavor) -> ChildSignals {
    if flavor == Flavor::DumbInit {
        let defaults = (1..=31)
            .filter(|&s| s != libc::SIGKILL && s != libc::SIGSTOP)
            .collect();
        return ChildSignals {
            mask: SigSet::empty(),
            defaults,
            ignored: Vec::new(),
        };
    }
    let mut defaults = cfg.reset_to_default.clone();
    let mut ignored = Vec::new();
    // Rust's start-up ignores SIGPIPE and main() resets it: give back the
    // disposition drainit really started with.
    if signals::sigpipe_was_ignored() {
        ignored.push(libc::SIGPIPE);
    } else {
        defaults.push(libc::SIGPIPE);
    }
    ChildSignals {
        mask: cfg.original_mask,
        defaults,
        ignored,
    }
}

/// Starts the main child and returns its pid once it has exec'd. Under the
/// tini and dumb-init names a command that cannot run is reported as they
/// report it: their forked child prints the line and exits with their code,
/// so drainit exits with it too (`-e` applies, as under tini).
pub fn spawn(cfg: &SpawnConfig) -> Result<Spawned, SpawnError> {
    let flavor = cfg.flavor;
    let Some((program, args)) = cfg.argv.split_first() else {
        return Err(SpawnError {
            code: EXIT_NOT_FOUND,
            message: "no command given".into(),
        });
    };
    let sigs = child_signals(cfg, flavor);
    // tini and drainit put the child in a process group of its own;
    // dumb-init's -c leaves it in dumb-init's (so the child may setsid).
    let own_group = !cfg.new_session && flavor != Flavor::DumbInit;
    let mut tty_attach = None;
    let mut exec_error = None;
    let spawned = if !cfg.tty && !cfg.take_terminal {
        // The container case (a new session in -g mode included) needs
        // nothing posix_spawn cannot do. std's fork path would also wait
        // for the child forever if reading its exec-error pipe failed.
        spawn_fast(program, args, &sigs, own_group, cfg.new_session)
    } else {
        spawn_forked(program, args, cfg, &sigs, own_group, &mut tty_attach)
    };
    // musl's posix_spawn restores a mask it read through pthread_sigmask,
    // which leaves out musl's own signals 32-34: block 34 again (see
    // signals::blockable_set). Blocking what is blocked changes nothing else.
    let _ = signals::block_all(flavor.ignored_faults());
    let pid = match (spawned, flavor) {
        (Ok(pid), _) => pid,
        (Err(e), Flavor::Drainit) => return Err(spawn_error(program, &e)),
        (Err(e), _) => {
            let errno = e.raw_os_error().unwrap_or(0);
            let take = cfg.take_terminal && cfg.new_session;
            let pid = exit_in_child(anchor_exec_code(flavor, errno), take, &mut tty_attach)?;
            exec_error = Some(errno);
            pid
        }
    };
    if own_group {
        // The child did this too; doing it here as well closes the race
        // where a signal to the group arrives before the child ran.
        // EACCES after exec is expected and harmless.
        // SAFETY: setpgid takes plain integers.
        unsafe { libc::setpgid(pid, pid) };
    }
    Ok(Spawned {
        pid,
        tty_attach,
        exec_error,
    })
}

/// dumb-init's TIOCNOTTY on stdin before the fork: `Ok(true)` when drainit
/// was the session leader (the kernel then sends its foreground group
/// SIGHUP and SIGCONT), or the errno.
pub fn detach_tty() -> Result<bool, i32> {
    // SAFETY: ioctl on stdin with no argument; getsid/getpid take integers.
    unsafe {
        if libc::ioctl(libc::STDIN_FILENO, libc::TIOCNOTTY) == -1 {
            return Err(io::Error::last_os_error().raw_os_error().unwrap_or(0));
        }
        Ok(libc::getsid(0) == libc::getpid())
    }
}

/// The anchor's exit code for a command it cannot run: dumb-init 2; tini
/// 127 for ENOENT, 126 for EACCES, 1 for anything else.
fn anchor_exec_code(flavor: Flavor, errno: i32) -> i32 {
    match (flavor, errno) {
        (Flavor::DumbInit, _) => 2,
        (_, libc::ENOENT) => EXIT_NOT_FOUND,
        (_, libc::EACCES) => EXIT_NOT_EXECUTABLE,
        _ => 1,
    }
}

/// Under an anchor's name a command that cannot run is a child that exits
/// with the anchor's code, as the anchor's forked child does (drainit's
/// run then logs the anchor's line for it and ends as the anchor would).
/// In dumb-init's setsid mode it makes its session and tries to take the
/// terminal first, reporting how that went like a real child.
fn exit_in_child(
    code: i32,
    take_terminal: bool,
    tty_attach: &mut Option<Option<i32>>,
) -> Result<i32, SpawnError> {
    let cannot = |e: io::Error| SpawnError {
        code,
        message: format!("cannot fork: {e}"),
    };
    // std's own child, which failed to exec, is reaped by std: its SIGCHLD
    // is not the anchor's to see.
    discard_pending(libc::SIGCHLD);
    let report = if take_terminal {
        Some(cloexec_pipe().map_err(cannot)?)
    } else {
        None
    };
    let report_fd = report.as_ref().map(|(_, w)| w.as_raw_fd());
    // SAFETY: between fork and _exit the child only calls setsid, ioctl,
    // write and _exit (async-signal-safe) on memory prepared before.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(cannot(io::Error::last_os_error()));
    }
    if pid == 0 {
        // SAFETY: as above; the child ends here.
        unsafe {
            if let Some(fd) = report_fd {
                libc::setsid();
                report_tty_attach(fd);
            }
            libc::_exit(code)
        }
    }
    if let Some((r, w)) = report {
        drop(w);
        *tty_attach = read_errno(r);
    }
    Ok(pid)
}

/// Takes `sig` off the pending set if it is there (it is blocked).
fn discard_pending(sig: i32) {
    // SAFETY: sigtimedwait with a zero timeout on a set of one blocked
    // signal only dequeues it; the siginfo pointer may be null.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        let zero = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        libc::sigtimedwait(&set, std::ptr::null_mut(), &zero);
    }
}

fn cloexec_pipe() -> io::Result<(std::os::fd::OwnedFd, std::os::fd::OwnedFd)> {
    use std::os::fd::{FromRawFd, OwnedFd};
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into `fds`.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and belong to nobody else.
    unsafe { Ok((OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]))) }
}

/// The child's TIOCSCTTY result from the pipe: `Some(None)` it worked,
/// `Some(Some(errno))` it failed, `None` nothing was written.
fn read_errno(r: std::os::fd::OwnedFd) -> Option<Option<i32>> {
    let mut errno = [0u8; 4];
    let mut file = std::fs::File::from(r);
    std::io::Read::read_exact(&mut file, &mut errno).ok()?;
    let errno = i32::from_ne_bytes(errno);
    Some((errno != 0).then_some(errno))
}

/// In a forked child: TIOCSCTTY on stdin, its errno (0: taken) to `fd`.
///
/// # Safety
/// Only between fork and exec/_exit; makes async-signal-safe calls only.
unsafe fn report_tty_attach(fd: i32) {
    // SAFETY: the caller's contract.
    unsafe {
        let rc = libc::ioctl(libc::STDIN_FILENO, libc::TIOCSCTTY, 0);
        let errno: i32 = if rc == -1 {
            *libc::__errno_location()
        } else {
            0
        };
        let bytes = errno.to_ne_bytes();
        libc::write(fd, bytes.as_ptr().cast(), bytes.len());
    }
}

/// fork + exec through std, for what posix_spawn cannot do: handing over
/// the terminal.
fn spawn_forked(
    program: &OsString,
    args: &[OsString],
    cfg: &SpawnConfig,
    sigs: &ChildSignals,
    own_group: bool,
    tty_attach: &mut Option<Option<i32>>,
) -> io::Result<i32> {
    let mut cmd = Command::new(program);
    cmd.args(args);
    let new_session = cfg.new_session;
    let tty = cfg.tty;
    let mask = sigs.mask;
    let defaults = sigs.defaults.clone();
    let ignored = sigs.ignored.clone();
    // The child writes its TIOCSCTTY errno here; exec closes its end.
    let report = if cfg.take_terminal && new_session {
        Some(cloexec_pipe()?)
    } else {
        None
    };
    let report_fd = report.as_ref().map(|(_, w)| w.as_raw_fd());
    // SAFETY: the closure runs between fork and exec and only makes
    // async-signal-safe syscalls; it allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            prepare_child(
                new_session,
                own_group,
                tty,
                report_fd,
                &mask,
                &defaults,
                &ignored,
            )
        });
    }
    let spawned = cmd.spawn();
    if let Some((r, w)) = report {
        drop(w);
        if spawned.is_ok() {
            *tty_attach = read_errno(r);
        }
    }
    let child = spawned?;
    let pid = child.id() as i32;
    // The std handle would only reap through waitpid(pid); we reap ourselves.
    std::mem::forget(child);
    Ok(pid)
}

extern "C" {
    static environ: *const *mut libc::c_char;
}

/// posix_spawnp with vfork semantics (no page-table copy): the child gets
/// its own process group (or session), the mask and dispositions of `sigs`.
/// Used when there is no terminal to hand over.
fn spawn_fast(
    program: &OsString,
    args: &[OsString],
    sigs: &ChildSignals,
    own_group: bool,
    new_session: bool,
) -> io::Result<i32> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let cstr = |s: &OsString| CString::new(s.as_bytes());
    let nul_error = |_| io::Error::from_raw_os_error(libc::EINVAL);
    let file = cstr(program).map_err(nul_error)?;
    let argv_owned: Vec<CString> = std::iter::once(program)
        .chain(args)
        .map(cstr)
        .collect::<Result<_, _>>()
        .map_err(nul_error)?;
    let mut argv: Vec<*mut libc::c_char> =
        argv_owned.iter().map(|a| a.as_ptr() as *mut _).collect();
    argv.push(std::ptr::null_mut());
    for &sig in &sigs.ignored {
        // posix_spawn cannot set SIG_IGN: the child inherits drainit's own
        // disposition, and a blocked signal reaches the signalfd ignored or not.
        // SAFETY: a plain disposition change of a blocked signal.
        unsafe { libc::signal(sig, libc::SIG_IGN) };
    }
    let mut pid: libc::pid_t = 0;
    // SAFETY: every pointer outlives the call; attr is initialised before
    // use and destroyed after.
    let rc = unsafe {
        let mut attr: libc::posix_spawnattr_t = std::mem::zeroed();
        libc::posix_spawnattr_init(&mut attr);
        let mut defaults: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut defaults);
        for &sig in &sigs.defaults {
            libc::sigaddset(&mut defaults, sig);
        }
        add_internal_signals(&mut defaults);
        libc::posix_spawnattr_setsigdefault(&mut attr, &defaults);
        libc::posix_spawnattr_setsigmask(&mut attr, sigs.mask.as_ref());
        libc::posix_spawnattr_setpgroup(&mut attr, 0);
        let mut flags = libc::POSIX_SPAWN_SETSIGMASK | libc::POSIX_SPAWN_SETSIGDEF;
        if new_session {
            flags |= libc::c_int::from(libc::POSIX_SPAWN_SETSID);
        } else if own_group {
            flags |= libc::POSIX_SPAWN_SETPGROUP;
        }
        libc::posix_spawnattr_setflags(&mut attr, flags as libc::c_short);
        let rc = libc::posix_spawnp(
            &mut pid,
            file.as_ptr(),
            std::ptr::null(),
            &attr,
            argv.as_ptr(),
            environ,
        );
        libc::posix_spawnattr_destroy(&mut attr);
        rc
    };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    Ok(pid)
}

/// glibc's posix_spawn sets its internal signals (32 and 33) to SIG_IGN in
/// the child, and SIG_IGN survives exec: the child would start with
/// `SigIgn: 0x180000000`, which neither tini nor drainit's own start had.
/// They are kept at their default when they are in the default set, which
/// sigaddset refuses for them; so their bits are set directly
/// (signals::add_raw). Unless drainit itself was started with one ignored.
fn add_internal_signals(set: &mut libc::sigset_t) {
    for sig in INTERNAL_SIGNALS {
        if !internal_signal_ignored(sig) {
            signals::add_raw(set, sig);
        }
    }
}

/// The real disposition of an internal signal (libc's sigaction refuses
/// them), read with the raw system call.
fn internal_signal_ignored(sig: i32) -> bool {
    // The kernel's struct sigaction: handler, flags, restorer, mask (8
    // bytes): 4 longs on 64-bit Linux, 5 on 32-bit; 8 cover both.
    let mut old = [0 as libc::c_ulong; 8];
    // SAFETY: rt_sigaction with a null new action only writes `old`, whose
    // size covers the kernel's struct with an 8-byte mask.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_rt_sigaction,
            sig,
            std::ptr::null::<libc::c_void>(),
            old.as_mut_ptr(),
            8usize,
        )
    };
    rc == 0 && old[0] == libc::SIG_IGN as libc::c_ulong
}

/// Runs in the forked child, before exec (std has already emptied the mask
/// and reset SIGPIPE: what follows sets what `sigs` says).
fn prepare_child(
    new_session: bool,
    own_group: bool,
    tty: bool,
    report_fd: Option<i32>,
    mask: &SigSet,
    defaults: &[i32],
    ignored: &[i32],
) -> io::Result<()> {
    // SAFETY: plain syscalls on this process and its stdin, between fork
    // and exec; nothing is allocated.
    unsafe {
        if new_session {
            if libc::setsid() < 0 {
                return Err(io::Error::last_os_error());
            }
            if let Some(fd) = report_fd {
                // dumb-init: always try, and tell the parent how it went.
                report_tty_attach(fd);
            } else if tty {
                // Take the terminal as controlling tty; fails harmlessly
                // when another session owns it.
                libc::ioctl(libc::STDIN_FILENO, libc::TIOCSCTTY, 0);
            }
        } else if own_group {
            if libc::setpgid(0, 0) < 0 {
                return Err(io::Error::last_os_error());
            }
            if tty {
                // TTOU is ignored and blocked here, so a background group
                // may take the foreground. ENOTTY (no controlling tty) is fine.
                libc::tcsetpgrp(libc::STDIN_FILENO, libc::getpid());
            }
        }
        for &sig in defaults {
            libc::signal(sig, libc::SIG_DFL);
        }
        for &sig in ignored {
            libc::signal(sig, libc::SIG_IGN);
        }
    }
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(mask), None)?;
    Ok(())
}

fn spawn_error(program: &OsString, e: &io::Error) -> SpawnError {
    let name = program.to_string_lossy();
    // Out of descriptors, processes or memory: drainit's own start-up
    // failed, the command is not at fault (a set-up error, exit 2).
    if matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOMEM | libc::EAGAIN)
    ) {
        return SpawnError {
            code: crate::core::options::EXIT_USAGE,
            message: format!(
                "cannot start '{name}': {e}: raise the container's limits (nofile, pids, memory)"
            ),
        };
    }
    match e.kind() {
        io::ErrorKind::NotFound => SpawnError {
            code: EXIT_NOT_FOUND,
            message: format!("command '{name}' not found: check the name and PATH"),
        },
        io::ErrorKind::PermissionDenied => SpawnError {
            code: EXIT_NOT_EXECUTABLE,
            message: format!(
                "command '{name}' cannot be executed: permission denied (is it a directory, or missing +x?)"
            ),
        },
        _ => SpawnError {
            code: EXIT_NOT_EXECUTABLE,
            message: format!("command '{name}' cannot be executed: {e}"),
        },
    }
}

/// One reaped process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reaped {
    pub pid: i32,
    pub status: ChildStatus,
}

/// The result of one reaping pass.
#[derive(Debug, Default)]
pub struct ReapPass {
    pub reaped: Vec<Reaped>,
    /// No children at all remain (ECHILD).
    pub none_left: bool,
    /// waitpid failed (EINTR over and over, or another error): the pass
    /// may have left zombies behind and must be tried again later.
    pub failed: bool,
}

/// EINTR retries within one pass before it is left to a later one, so a
/// waitpid that keeps failing cannot spin the loop.
const EINTR_RETRIES: u32 = 3;

/// Reaps every exited child without blocking, until none is ready.
pub fn reap_all() -> ReapPass {
    reap_into(Vec::new())
}

/// [`reap_all`], listing the reaped in `reaped` (emptied first): the
/// runtime passes the same memory back every pass.
pub fn reap_into(mut reaped: Vec<Reaped>) -> ReapPass {
    reaped.clear();
    let mut pass = ReapPass {
        reaped,
        ..ReapPass::default()
    };
    let mut interrupted = 0;
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, code)) => pass.reaped.push(Reaped {
                pid: pid.as_raw(),
                status: ChildStatus::Exited(code),
            }),
            Ok(WaitStatus::Signaled(pid, sig, _)) => pass.reaped.push(Reaped {
                pid: pid.as_raw(),
                status: ChildStatus::Signaled(sig as i32),
            }),
            Ok(WaitStatus::StillAlive) => return pass,
            Ok(_) => continue,
            Err(Errno::EINTR) if interrupted < EINTR_RETRIES => interrupted += 1,
            Err(Errno::ECHILD) => {
                pass.none_left = true;
                return pass;
            }
            Err(e) => {
                tracing::error!("waitpid failed ({e}): reaping again shortly");
                pass.failed = true;
                return pass;
            }
        }
    }
}

/// Registers drainit as child subreaper, so orphans come to it even when
/// it is not PID 1.
pub fn become_subreaper() -> io::Result<()> {
    nix::sys::prctl::set_child_subreaper(true)?;
    Ok(())
}

/// `-p`: the signal drainit gets when its parent dies. `first_ppid` is the
/// parent drainit started with: if it died before the setting took effect,
/// the kernel will never send the signal, so drainit sends it to itself.
pub fn set_pdeathsig(sig: i32, first_ppid: i32) -> io::Result<()> {
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong, 0, 0, 0) } < 0 {
        return Err(io::Error::last_os_error());
    }
    if std::os::unix::process::parent_id() as i32 != first_ppid {
        crate::os::tree::send(std::process::id() as i32, sig);
    }
    Ok(())
}

/// Whether stdin is a terminal: asked once at start-up, it decides the
/// TTIN/TTOU handling, the spawn path and the terminal hand-over.
///
/// Through the descriptor, not `std::io::stdin()`: std's stdin carries an
/// 8 KiB buffer that would stay allocated, a private page per container.
pub fn stdin_is_tty() -> bool {
    // SAFETY: descriptor 0 stays open for the whole process (startup.rs
    // puts /dev/null there if it was closed); the borrow ends here.
    let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(0) };
    rustix::termios::isatty(fd)
}

/// Ignores TTIN/TTOU so drainit can hand the terminal to the child; returns
/// those that were at their default and must be reset in the child. Without
/// a terminal there is nothing to hand over (and drainit has them blocked).
pub fn ignore_tty_signals(tty: bool) -> Vec<i32> {
    let mut reset = Vec::new();
    if !tty {
        return reset;
    }
    for sig in [libc::SIGTTIN, libc::SIGTTOU] {
        // SAFETY: SIG_IGN installs no handler; no other thread exists yet.
        let old = unsafe { libc::signal(sig, libc::SIG_IGN) };
        if old != libc::SIG_IGN {
            reset.push(sig);
        }
    }
    reset
}
