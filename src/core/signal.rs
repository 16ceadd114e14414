//! Signal names and numbers and the rewrite table: what a signal is
//! called, parsed from a name, and what a `-r FROM:TO` rewrite makes of it.
//! Pure (no syscall); the mask and the signalfd are `os::signals`.
//!
//! Signals are plain `i32` numbers throughout drainit because real-time
//! signals (SIGRTMIN+n) have no variant in `nix::sys::signal::Signal`.

use std::collections::HashMap;

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

/// Signals the kernel raises for a fault (a bad access, a bad instruction,
/// seccomp). drainit blocks them like every other signal: the kernel
/// unblocks a fault signal it forces, so a real fault in drainit still kills
/// it with a core, while the same numbers sent with kill(2) (`docker kill -s
/// SEGV`) reach the signalfd and go through forwarding and rewrites.
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
    Name(n).to_string()
}

/// A signal's name as [`name`] spells it, written where it is displayed
/// (no allocation: routing's log line is built on every forwarded signal).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Name(pub i32);

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0;
        if let Some((name, _)) = NAMES.iter().find(|(_, num)| *num == n) {
            return write!(f, "SIG{name}");
        }
        if (rt_min()..=rt_max()).contains(&n) {
            return match n - rt_min() {
                0 => f.write_str("SIGRTMIN"),
                off => write!(f, "SIGRTMIN+{off}"),
            };
        }
        write!(f, "signal {n}")
    }
}

/// glibc's `strsignal` text (`Hangup`, `Real-time signal 3`), as tini
/// prints signals; the same under drainit's musl build.
pub fn description(n: i32) -> String {
    const TEXT: [&str; 31] = [
        "Hangup",
        "Interrupt",
        "Quit",
        "Illegal instruction",
        "Trace/breakpoint trap",
        "Aborted",
        "Bus error",
        "Floating point exception",
        "Killed",
        "User defined signal 1",
        "Segmentation fault",
        "User defined signal 2",
        "Broken pipe",
        "Alarm clock",
        "Terminated",
        "Stack fault",
        "Child exited",
        "Continued",
        "Stopped (signal)",
        "Stopped",
        "Stopped (tty input)",
        "Stopped (tty output)",
        "Urgent I/O condition",
        "CPU time limit exceeded",
        "File size limit exceeded",
        "Virtual timer expired",
        "Profiling timer expired",
        "Window changed",
        "I/O possible",
        "Power failure",
        "Bad system call",
    ];
    // glibc counts real-time signals from its SIGRTMIN, 34.
    match usize::try_from(n - 1).ok().and_then(|i| TEXT.get(i)) {
        Some(text) => (*text).to_string(),
        None if (34..=64).contains(&n) => format!("Real-time signal {}", n - 34),
        None => format!("Unknown signal {n}"),
    }
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

    /// Whether `sig` has a rewrite of its own.
    pub fn contains(&self, sig: i32) -> bool {
        self.map.contains_key(&sig)
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

/// What drainit does with a fault signal (SEGV, BUS, ...) that was ignored
/// when it started: the one choice about blocking that depends on whose
/// name drainit runs under, passed in by the run (`Flavor::ignored_faults`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IgnoredFaults {
    /// It stays ignored and unblocked, as under tini (which leaves fault
    /// signals unblocked): the kernel discards it, and the child inherits
    /// it ignored. drainit's own way too.
    #[default]
    StayIgnored,
    /// It is blocked and forwarded like any other, as dumb-init does.
    Forward,
}
