//! Signal names and numbers, the rewrite table, and the signalfd stream.
//!
//! Signals are plain `i32` numbers throughout drainit because real-time
//! signals (SIGRTMIN+n) have no variant in `nix::sys::signal::Signal`.

use std::collections::HashMap;
use std::io;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicI32, Ordering};

use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// Standard signal names without the `SIG` prefix, in number order.
const NAMES: &[(&str, i32)] = &[
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("ILL", libc::SIGILL),
    ("TRAP", libc::SIGTRAP),
    ("ABRT", libc::SIGABRT),
    ("IOT", libc::SIGIOT),
    ("BUS", libc::SIGBUS),
    ("FPE", libc::SIGFPE),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("SEGV", libc::SIGSEGV),
    ("USR2", libc::SIGUSR2),
    ("PIPE", libc::SIGPIPE),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    ("STKFLT", libc::SIGSTKFLT),
    ("CHLD", libc::SIGCHLD),
    ("CLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
    ("VTALRM", libc::SIGVTALRM),
    ("PROF", libc::SIGPROF),
    ("WINCH", libc::SIGWINCH),
    ("IO", libc::SIGIO),
    ("POLL", libc::SIGPOLL),
    ("PWR", libc::SIGPWR),
    ("SYS", libc::SIGSYS),
];

/// Signals that report a fault in drainit itself: left unblocked so a bug
/// crashes loudly instead of hanging PID 1.
pub const FAULT_SIGNALS: &[i32] = &[
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGFPE,
    libc::SIGILL,
    libc::SIGABRT,
    libc::SIGTRAP,
    libc::SIGSYS,
];

pub fn rt_min() -> i32 {
    libc::SIGRTMIN()
}

pub fn rt_max() -> i32 {
    libc::SIGRTMAX()
}

/// Parses `TERM`, `SIGTERM`, `term`, `15`, `RTMIN+3` or `SIGRTMAX-1`.
pub fn parse(text: &str) -> Result<i32, String> {
    let hint = "use a name like TERM or SIGTERM, a number 1-64, or RTMIN+N";
    let trimmed = text.trim();
    if let Ok(n) = trimmed.parse::<i32>() {
        return if (1..=rt_max()).contains(&n) {
            Ok(n)
        } else {
            Err(format!("signal number {n} is out of range: {hint}"))
        };
    }
    let upper = trimmed.to_ascii_uppercase();
    let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some(&(_, n)) = NAMES.iter().find(|(name, _)| *name == bare) {
        return Ok(n);
    }
    parse_realtime(bare).ok_or_else(|| format!("unknown signal '{text}': {hint}"))
}

fn parse_realtime(bare: &str) -> Option<i32> {
    let (base, rest) = if let Some(rest) = bare.strip_prefix("RTMIN") {
        (rt_min(), rest)
    } else if let Some(rest) = bare.strip_prefix("RTMAX") {
        (rt_max(), rest)
    } else {
        return None;
    };
    let n = if rest.is_empty() {
        base
    } else if let Some(off) = rest.strip_prefix('+') {
        base.checked_add(off.parse::<i32>().ok()?)?
    } else if let Some(off) = rest.strip_prefix('-') {
        base.checked_sub(off.parse::<i32>().ok()?)?
    } else {
        return None;
    };
    (rt_min()..=rt_max()).contains(&n).then_some(n)
}

/// `SIGTERM`, `SIGRTMIN+2`, or `signal 99` for numbers with no name.
pub fn name(n: i32) -> String {
    if let Some((name, _)) = NAMES.iter().find(|(_, num)| *num == n) {
        return format!("SIG{name}");
    }
    if (rt_min()..=rt_max()).contains(&n) {
        return match n - rt_min() {
            0 => "SIGRTMIN".to_string(),
            off => format!("SIGRTMIN+{off}"),
        };
    }
    format!("signal {n}")
}

/// Received signal -> forwarded signal; 0 means "drop it".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rewrites {
    map: HashMap<i32, i32>,
}

impl Rewrites {
    pub fn insert(&mut self, from: i32, to: i32) {
        self.map.insert(from, to);
    }

    /// The signal to forward for `sig`, or `None` when it is dropped.
    pub fn apply(&self, sig: i32) -> Option<i32> {
        match self.map.get(&sig).copied().unwrap_or(sig) {
            0 => None,
            to => Some(to),
        }
    }
}

/// Parses one `FROM:TO` rewrite, e.g. `TERM:QUIT` or `15:3` or `HUP:0`.
pub fn parse_rewrite(text: &str) -> Result<(i32, i32), String> {
    let (from, to) = text
        .split_once(':')
        .ok_or_else(|| format!("'{text}' is not FROM:TO, e.g. TERM:QUIT or 15:0 to drop"))?;
    let from = parse(from)?;
    let to = if to.trim() == "0" { 0 } else { parse(to)? };
    Ok((from, to))
}

/// Every signal drainit blocks: all but the fault signals.
pub fn blockable_set() -> SigSet {
    let mut set = SigSet::all();
    for &sig in FAULT_SIGNALS {
        if let Ok(s) = Signal::try_from(sig) {
            set.remove(s);
        }
    }
    set
}

/// Blocks every non-fault signal for the calling thread and returns the
/// previous mask, which the child gets back before exec.
pub fn block_all() -> io::Result<SigSet> {
    let mut old = SigSet::empty();
    nix::sys::signal::sigprocmask(
        SigmaskHow::SIG_BLOCK,
        Some(&blockable_set()),
        Some(&mut old),
    )?;
    Ok(old)
}

/// Where a fault signal sent with kill(2) is forwarded: the child's pid,
/// minus the group id in group mode, 0 once the child is gone.
static FAULT_TARGET: AtomicI32 = AtomicI32::new(0);

pub fn set_fault_target(target: i32) {
    FAULT_TARGET.store(target, Ordering::Relaxed);
}

/// Fault signals stay unblocked so a real fault in drainit crashes it
/// loudly. The same numbers sent by another process (`docker kill -s SEGV`)
/// are forwarded like any other signal, and as PID 1 they would otherwise
/// be dropped by the kernel. Rewrites do not apply to them.
pub fn install_fault_forwarding() {
    for &sig in FAULT_SIGNALS {
        // SAFETY: a plain sigaction with an async-signal-safe handler.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_fault_signal as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

extern "C" fn on_fault_signal(sig: i32, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // si_code <= 0 means a process sent it (SI_USER, SI_QUEUE, SI_TKILL);
    // > 0 means the kernel raised it for a real fault.
    let sent = unsafe { info.as_ref() }.is_some_and(|i| i.si_code <= 0);
    if sent {
        let target = FAULT_TARGET.load(Ordering::Relaxed);
        if target != 0 {
            unsafe { libc::kill(target, sig) };
        }
        return;
    }
    // A real fault: restore the default action and return, so the faulting
    // instruction runs again and the kernel kills drainit with a core.
    unsafe { libc::signal(sig, libc::SIG_DFL) };
}

/// Blocked signals read from a non-blocking signalfd registered with tokio.
pub struct SignalStream {
    fd: AsyncFd<SignalFd>,
    /// Read from the signalfd but not handed out yet, oldest first.
    queued: std::collections::VecDeque<i32>,
}

/// siginfos per read(): a burst costs one system call per this many signals.
const BATCH: usize = 16;

impl SignalStream {
    pub fn new() -> io::Result<Self> {
        let sfd = SignalFd::with_flags(
            &blockable_set(),
            SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC,
        )?;
        // SAFETY: the SignalFd owns its descriptor and lives inside the
        // AsyncFd, so the fd stays open and unchanged while registered.
        let fd = unsafe { AsyncFd::register_with_interest(sfd, Interest::READABLE) }
            .map_err(io::Error::from)?;
        Ok(Self {
            fd,
            queued: std::collections::VecDeque::with_capacity(BATCH),
        })
    }

    /// The next signal, waiting without any timer when none is queued.
    pub async fn recv(&mut self) -> io::Result<i32> {
        loop {
            if let Some(sig) = self.queued.pop_front() {
                return Ok(sig);
            }
            let mut guard = self.fd.readable_mut().await?;
            let mut buf = [std::mem::MaybeUninit::<libc::signalfd_siginfo>::uninit(); BATCH];
            let size = std::mem::size_of::<libc::signalfd_siginfo>();
            // SAFETY: reads whole siginfos into a buffer of BATCH of them.
            let n = unsafe {
                libc::read(
                    guard.get_inner().as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    BATCH * size,
                )
            };
            if n < 0 {
                match io::Error::last_os_error() {
                    e if e.kind() == io::ErrorKind::WouldBlock => guard.clear_ready(),
                    e if e.kind() == io::ErrorKind::Interrupted => {}
                    e => return Err(e),
                }
                continue;
            }
            let count = n as usize / size;
            // Fewer than asked for: nothing else was pending, so the next
            // signal is a new edge and this saves a read() that says EAGAIN.
            if count < BATCH {
                guard.clear_ready();
            }
            for info in &buf[..count] {
                // SAFETY: the kernel wrote the first `count` entries.
                self.queued
                    .push_back(unsafe { info.assume_init_ref() }.ssi_signo as i32);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_numbers_and_prefixes() {
        assert_eq!(parse("TERM"), Ok(15));
        assert_eq!(parse("SIGTERM"), Ok(15));
        assert_eq!(parse("term"), Ok(15));
        assert_eq!(parse("15"), Ok(15));
        assert_eq!(parse("sigusr1"), Ok(libc::SIGUSR1));
        assert_eq!(parse("RTMIN"), Ok(rt_min()));
        assert_eq!(parse("SIGRTMIN+3"), Ok(rt_min() + 3));
        assert_eq!(parse("RTMAX-1"), Ok(rt_max() - 1));
    }

    #[test]
    fn rejects_bad_signals_with_a_hint() {
        for bad in [
            "",
            "TERMX",
            "0",
            "65",
            "-1",
            "RTMIN+99",
            "RTMINx",
            "RTMIN+2147483647",
            "RTMAX--2147483648",
        ] {
            let err = parse(bad).unwrap_err();
            assert!(err.contains("TERM"), "{bad}: {err}");
        }
    }

    #[test]
    fn names_round_trip() {
        for n in 1..=rt_max() {
            if (32..rt_min()).contains(&n) {
                continue;
            }
            assert_eq!(parse(&name(n)), Ok(n), "{}", name(n));
        }
    }

    #[test]
    fn rewrites_map_and_drop() {
        let mut r = Rewrites::default();
        let (from, to) = parse_rewrite("TERM:QUIT").unwrap();
        r.insert(from, to);
        let (from, to) = parse_rewrite("HUP:0").unwrap();
        r.insert(from, to);
        assert_eq!(r.apply(libc::SIGTERM), Some(libc::SIGQUIT));
        assert_eq!(r.apply(libc::SIGHUP), None);
        assert_eq!(r.apply(libc::SIGUSR1), Some(libc::SIGUSR1));
        assert!(parse_rewrite("TERM").is_err());
        assert!(parse_rewrite("TERM:BOGUS").is_err());
    }
}
