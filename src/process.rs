//! Spawning the main child and reaping every process that ends up ours.

use std::ffi::OsString;
use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;

use nix::errno::Errno;
use nix::sys::signal::{SigSet, SigmaskHow};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::supervisor::ChildStatus;

/// Exit codes for a command that cannot be started (tini's convention).
pub const EXIT_NOT_FOUND: i32 = 127;
pub const EXIT_NOT_EXECUTABLE: i32 = 126;

pub struct SpawnConfig {
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
}

#[derive(Debug)]
pub struct SpawnError {
    pub code: i32,
    pub message: String,
}

/// Starts the main child and returns its pid once it has exec'd.
pub fn spawn(cfg: &SpawnConfig) -> Result<i32, SpawnError> {
    let (program, args) = cfg.argv.split_first().expect("clap requires a command");
    let pid = if !cfg.new_session && !cfg.tty {
        // The common container case needs nothing posix_spawn cannot do.
        spawn_fast(program, args, &cfg.original_mask, &cfg.reset_to_default)?
    } else {
        spawn_forked(program, args, cfg)?
    };
    if !cfg.new_session {
        // The child did this too; doing it here as well closes the race
        // where a signal to the group arrives before the child ran.
        // EACCES after exec is expected and harmless.
        unsafe { libc::setpgid(pid, pid) };
    }
    Ok(pid)
}

/// fork + exec through std, for what posix_spawn cannot do: a new session
/// and handing over the terminal.
fn spawn_forked(
    program: &OsString,
    args: &[OsString],
    cfg: &SpawnConfig,
) -> Result<i32, SpawnError> {
    let mut cmd = Command::new(program);
    cmd.args(args);
    let new_session = cfg.new_session;
    let tty = cfg.tty;
    let mask = cfg.original_mask;
    let reset = cfg.reset_to_default.clone();
    // SAFETY: the closure runs between fork and exec and only makes
    // async-signal-safe syscalls; it allocates nothing.
    unsafe {
        cmd.pre_exec(move || prepare_child(new_session, tty, &mask, &reset));
    }
    let child = cmd.spawn().map_err(|e| spawn_error(program, &e))?;
    let pid = child.id() as i32;
    // The std handle would only reap through waitpid(pid); we reap ourselves.
    std::mem::forget(child);
    Ok(pid)
}

extern "C" {
    static environ: *const *mut libc::c_char;
}

/// posix_spawnp with vfork semantics (no page-table copy): the child gets
/// its own process group, the original signal mask, and default actions
/// for what drainit changed. Used when there is no terminal to hand over.
fn spawn_fast(
    program: &OsString,
    args: &[OsString],
    mask: &SigSet,
    reset: &[i32],
) -> Result<i32, SpawnError> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let cstr = |s: &OsString| CString::new(s.as_bytes());
    let nul_error = |_| SpawnError {
        code: EXIT_NOT_EXECUTABLE,
        message: format!(
            "command '{}' contains a NUL byte",
            program.to_string_lossy()
        ),
    };
    let file = cstr(program).map_err(nul_error)?;
    let argv_owned: Vec<CString> = std::iter::once(program)
        .chain(args)
        .map(cstr)
        .collect::<Result<_, _>>()
        .map_err(nul_error)?;
    let mut argv: Vec<*mut libc::c_char> =
        argv_owned.iter().map(|a| a.as_ptr() as *mut _).collect();
    argv.push(std::ptr::null_mut());
    let mut pid: libc::pid_t = 0;
    // SAFETY: every pointer outlives the call; attr is initialised before
    // use and destroyed after.
    let rc = unsafe {
        let mut attr: libc::posix_spawnattr_t = std::mem::zeroed();
        libc::posix_spawnattr_init(&mut attr);
        let mut defaults: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut defaults);
        libc::sigaddset(&mut defaults, libc::SIGPIPE);
        for &sig in reset {
            libc::sigaddset(&mut defaults, sig);
        }
        libc::posix_spawnattr_setsigdefault(&mut attr, &defaults);
        libc::posix_spawnattr_setsigmask(&mut attr, mask.as_ref());
        libc::posix_spawnattr_setpgroup(&mut attr, 0);
        let flags = libc::POSIX_SPAWN_SETSIGMASK
            | libc::POSIX_SPAWN_SETSIGDEF
            | libc::POSIX_SPAWN_SETPGROUP;
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
        return Err(spawn_error(program, &io::Error::from_raw_os_error(rc)));
    }
    Ok(pid)
}

/// Runs in the forked child, before exec.
fn prepare_child(new_session: bool, tty: bool, mask: &SigSet, reset: &[i32]) -> io::Result<()> {
    unsafe {
        if new_session {
            if libc::setsid() < 0 {
                return Err(io::Error::last_os_error());
            }
            if tty {
                // Take the terminal as controlling tty; fails harmlessly
                // when another session owns it.
                libc::ioctl(libc::STDIN_FILENO, libc::TIOCSCTTY, 0);
            }
        } else {
            if libc::setpgid(0, 0) < 0 {
                return Err(io::Error::last_os_error());
            }
            if tty {
                // TTOU is ignored and blocked here, so a background group
                // may take the foreground. ENOTTY (no controlling tty) is fine.
                libc::tcsetpgrp(libc::STDIN_FILENO, libc::getpid());
            }
        }
        for &sig in reset {
            libc::signal(sig, libc::SIG_DFL);
        }
    }
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(mask), None)?;
    Ok(())
}

fn spawn_error(program: &OsString, e: &io::Error) -> SpawnError {
    let name = program.to_string_lossy();
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
    let mut pass = ReapPass::default();
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
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `-p`: the signal drainit gets when its parent dies. `first_ppid` is the
/// parent drainit started with: if it died before the setting took effect,
/// the kernel will never send the signal, so drainit sends it to itself.
pub fn set_pdeathsig(sig: i32, first_ppid: i32) -> io::Result<()> {
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong, 0, 0, 0) } < 0 {
        return Err(io::Error::last_os_error());
    }
    if unsafe { libc::getppid() } != first_ppid {
        unsafe { libc::kill(libc::getpid(), sig) };
    }
    Ok(())
}

/// Whether stdin is a terminal: asked once at start-up, it decides the
/// TTIN/TTOU handling, the spawn path and the terminal hand-over.
pub fn stdin_is_tty() -> bool {
    unsafe { libc::isatty(libc::STDIN_FILENO) == 1 }
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
        let old = unsafe { libc::signal(sig, libc::SIG_IGN) };
        if old != libc::SIG_IGN {
            reset.push(sig);
        }
    }
    reset
}
