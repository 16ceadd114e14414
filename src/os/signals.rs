//! The signal mask and the signalfd stream (names, numbers and rewrites are
//! `core::signal`, re-exported here).
//!
//! Signals are plain `i32` numbers throughout drainit because real-time
//! signals (SIGRTMIN+n) have no variant in `nix::sys::signal::Signal`.

use std::io;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};

use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

pub use crate::core::signal::{
    description, name, parse, parse_rewrite, rt_max, rt_min, IgnoredFaults, Rewrites, FAULT_SIGNALS,
};

/// The original disposition of SIGPIPE, recorded before Rust's start-up
/// sets it to SIG_IGN (see `record_sigpipe`).
static SIGPIPE_WAS_IGNORED: AtomicBool = AtomicBool::new(false);

/// Runs from `.init_array`, before Rust's runtime changes SIGPIPE, so the
/// child can get back the disposition drainit was started with.
extern "C" fn record_sigpipe() {
    SIGPIPE_WAS_IGNORED.store(is_ignored(libc::SIGPIPE), Ordering::Relaxed);
}

#[used]
#[link_section = ".init_array"]
static RECORD_SIGPIPE: extern "C" fn() = record_sigpipe;

/// Whether drainit was started with SIGPIPE ignored.
pub fn sigpipe_was_ignored() -> bool {
    SIGPIPE_WAS_IGNORED.load(Ordering::Relaxed)
}

/// Whether `sig` is set to SIG_IGN right now.
pub fn is_ignored(sig: i32) -> bool {
    // SAFETY: sigaction only reads the current action into `old`.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(sig, std::ptr::null(), &mut old) == 0 && old.sa_sigaction == libc::SIG_IGN
    }
}

/// Every signal drainit blocks and reads from its signalfd: all of them,
/// except, with `IgnoredFaults::StayIgnored`, a fault signal that was
/// ignored when drainit started.
pub fn blockable_set(faults: IgnoredFaults) -> SigSet {
    let mut set = SigSet::all();
    if faults == IgnoredFaults::StayIgnored {
        for &sig in FAULT_SIGNALS {
            if let (Ok(s), true) = (Signal::try_from(sig), is_ignored(sig)) {
                set.remove(s);
            }
        }
    }
    with_signal_34(set)
}

/// musl keeps signal 34 for itself (SIGRTMIN is 35 there) and leaves it out
/// of a full set; glibc's tini-static blocks and forwards it as SIGRTMIN.
/// musl needs it only for `__synccall` (setuid, setrlimit and the like),
/// which drainit never calls, so the musl build blocks and forwards it too.
/// Its bit is set directly: musl's sigaddset refuses it.
fn with_signal_34(set: SigSet) -> SigSet {
    if rt_min() <= 34 {
        return set;
    }
    let mut raw: libc::sigset_t = *set.as_ref();
    add_raw(&mut raw, 34);
    // SAFETY: `raw` is an initialised sigset_t.
    unsafe { SigSet::from_sigset_t_unchecked(raw) }
}

/// Sets signal `sig`'s bit in `set` directly, for the signals libc's
/// sigaddset refuses (its own internal ones). The kernel's layout: an array
/// of unsigned longs, signal N is bit (N-1) mod W of word (N-1) div W, W
/// the bits of a long (64, or 32 on i686 and armv7).
pub fn add_raw(set: &mut libc::sigset_t, sig: i32) {
    const WORDS: usize = 64 / libc::c_ulong::BITS as usize;
    let Ok(n) = usize::try_from(sig - 1) else {
        return;
    };
    let bits = libc::c_ulong::BITS as usize;
    // SAFETY: sigset_t on Linux (glibc and musl: 128 bytes) starts with at
    // least the kernel's 64 signal bits as unsigned longs.
    let words = unsafe { &mut *(set as *mut libc::sigset_t).cast::<[libc::c_ulong; WORDS]>() };
    if let Some(w) = words.get_mut(n / bits) {
        *w |= 1 << (n % bits);
    }
}

/// Blocks every signal drainit reads (see `blockable_set`) for the calling
/// thread and returns the previous mask, which the child gets back.
pub fn block_all(faults: IgnoredFaults) -> io::Result<SigSet> {
    let mut old = SigSet::empty();
    nix::sys::signal::sigprocmask(
        SigmaskHow::SIG_BLOCK,
        Some(&blockable_set(faults)),
        Some(&mut old),
    )?;
    Ok(old)
}

/// What a signal drainit sent itself means. The kernel names the sender:
/// `ssi_pid` is drainit's own pid and `ssi_code` is not positive (SI_USER
/// 0, SI_QUEUE -1, SI_TKILL -6) when the signal came from drainit.
enum Own {
    /// A fault signal (abort(): `tkill(self, SIGABRT)`; a `kill(getpid(),
    /// ...)` from any of its threads): drainit's own failure, never the
    /// child's business, so drainit dies of it as it would have unblocked.
    Fault,
    /// SIGPIPE raised by drainit's own write to a stderr with no reader
    /// (the kernel sends it as from the writer): the write fails with EPIPE
    /// and the logger deals with that. Not forwarded: it would kill a shell
    /// that is not waiting at that moment. A SIGPIPE from anyone else is.
    BrokenPipe,
}

fn sent_to_itself(info: &libc::signalfd_siginfo) -> Option<Own> {
    let sig = info.ssi_signo as i32;
    if info.ssi_pid != std::process::id() || info.ssi_code > 0 {
        return None;
    }
    if FAULT_SIGNALS.contains(&sig) {
        Some(Own::Fault)
    } else if sig == libc::SIGPIPE && info.ssi_code == 0 {
        Some(Own::BrokenPipe)
    } else {
        None
    }
}

fn die_of(sig: i32) -> ! {
    // SAFETY: resets one disposition, unblocks and raises the signal; the
    // process ends here with the signal's default action.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::raise(sig);
        libc::_exit(128 + sig)
    }
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
    /// The signalfd for the signals `block_all(faults)` blocked.
    pub fn new(faults: IgnoredFaults) -> io::Result<Self> {
        let sfd = SignalFd::with_flags(
            &blockable_set(faults),
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

    /// Queues a signal read from the signalfd, unless drainit sent it to
    /// itself (see [`Own`]).
    fn take(&mut self, info: &libc::signalfd_siginfo) {
        match sent_to_itself(info) {
            Some(Own::Fault) => die_of(info.ssi_signo as i32),
            Some(Own::BrokenPipe) => {}
            None => self.queued.push_back(info.ssi_signo as i32),
        }
    }

    /// After drainit was stopped and continued: reads what arrived
    /// meanwhile and puts everything not handed out yet in the order the
    /// kernel hands pending signals out (standard ones lowest first, a
    /// repeated one once, then real-time ones as queued), as an init that
    /// takes one signal at a time (dumb-init) sees them once it runs again.
    pub fn reorder_pending(&mut self) {
        let size = std::mem::size_of::<libc::signalfd_siginfo>();
        loop {
            let mut info = std::mem::MaybeUninit::<libc::signalfd_siginfo>::uninit();
            // SAFETY: reads at most one siginfo into `info` from our own
            // non-blocking signalfd.
            let n = unsafe {
                libc::read(
                    self.fd.get_ref().as_raw_fd(),
                    info.as_mut_ptr().cast(),
                    size,
                )
            };
            if n != size as isize {
                break;
            }
            // SAFETY: the kernel wrote a whole siginfo.
            let info = unsafe { info.assume_init() };
            self.take(&info);
        }
        let mut all: Vec<i32> = self.queued.drain(..).collect();
        // Stable: real-time signals keep their queue order.
        all.sort_by_key(|&s| if s < 32 { s } else { 32 });
        all.dedup_by(|a, b| a == b && *a < 32);
        self.queued.extend(all);
    }

    /// The next signal, waiting without any timer when none is queued.
    pub async fn recv(&mut self) -> io::Result<i32> {
        // A first EAGAIN is checked by one more read before the readiness
        // is cleared: with edge-triggered epoll, clearing it while a
        // signal is still pending (a spurious EAGAIN) would sleep forever.
        let mut empty_once = false;
        let mut interrupted = 0;
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
                    e if e.kind() == io::ErrorKind::WouldBlock && !empty_once => empty_once = true,
                    e if e.kind() == io::ErrorKind::WouldBlock => {
                        empty_once = false;
                        guard.clear_ready();
                    }
                    // Bounded: a read that keeps failing goes back to the
                    // runtime, which backs off.
                    e if e.kind() == io::ErrorKind::Interrupted && interrupted < 3 => {
                        interrupted += 1
                    }
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
            for info in buf.get(..count).unwrap_or_default() {
                // SAFETY: the kernel wrote the first `count` entries.
                let info = unsafe { info.assume_init_ref() };
                self.take(info);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ignored_fault_signal_is_blocked_only_when_the_policy_forwards_it() {
        let sys = Signal::SIGSYS;
        // SAFETY (test): SIGSYS ignored in this test process, which makes
        // no system call seccomp refuses; the previous action is restored.
        let old = unsafe {
            let mut ign: libc::sigaction = std::mem::zeroed();
            ign.sa_sigaction = libc::SIG_IGN;
            let mut old: libc::sigaction = std::mem::zeroed();
            assert_eq!(libc::sigaction(libc::SIGSYS, &ign, &mut old), 0);
            old
        };
        let stay = blockable_set(IgnoredFaults::StayIgnored);
        let forward = blockable_set(IgnoredFaults::Forward);
        // SAFETY (test): puts back the action read above.
        unsafe { libc::sigaction(libc::SIGSYS, &old, std::ptr::null_mut()) };
        assert!(!stay.contains(sys), "tini's way: left ignored, unblocked");
        assert!(forward.contains(sys), "dumb-init's way: blocked, forwarded");
        assert!(stay.contains(Signal::SIGTERM) && forward.contains(Signal::SIGTERM));
    }

    #[test]
    fn raw_bits_follow_the_kernel_layout_on_any_word_size() {
        // SAFETY: an all-zero sigset_t is the empty set.
        let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
        for sig in [5, 33, 34, 64] {
            add_raw(&mut set, sig);
        }
        add_raw(&mut set, 0); // not a signal: nothing
        add_raw(&mut set, 65); // past the kernel's 64: nothing
                               // SAFETY: the first 8 bytes of sigset_t are the kernel's 64 bits,
                               // signal N at bit N-1 in the host's byte order.
        let bytes: [u8; 8] = unsafe { std::ptr::read((&set as *const libc::sigset_t).cast()) };
        // The longs in the target's byte order (s390x is big-endian), one
        // 64-bit one or two 32-bit ones, the low word first.
        let [b0, b1, b2, b3, b4, b5, b6, b7] = bytes;
        let word = if libc::c_ulong::BITS == 64 {
            u64::from_ne_bytes(bytes)
        } else {
            u64::from(u32::from_ne_bytes([b0, b1, b2, b3]))
                | (u64::from(u32::from_ne_bytes([b4, b5, b6, b7])) << 32)
        };
        let expect: u64 = (1 << 4) | (1 << 32) | (1 << 33) | (1 << 63);
        assert_eq!(word, expect, "{word:#x}");
    }

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
