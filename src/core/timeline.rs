//! The lines drainit logs about what it decided and did: typed values made
//! by the supervisor (and, for counts only the runtime knows, by the
//! runtime), rendered here in drainit's words, as text and as JSON. The
//! anchors' words for the same lines (tini's, dumb-init's) are rendered at
//! the edge, by src/logging.rs, which alone knows whose name drainit runs
//! under.
//!
//! A line's level says who sees it by default: the shutdown timeline is
//! `info` on target `drainit::timeline` (shown unless filtered), the rest is
//! `debug`. In JSON each line carries `event` and its figures as fields
//! (`signal`, `after_s`, ...), so tools and tests read values, not wording.

use std::fmt;
use std::time::Duration;

use crate::core::signal as signals;

/// How a child ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildStatus {
    Exited(i32),
    Signaled(i32),
}

impl ChildStatus {
    pub fn code(self) -> i32 {
        match self {
            ChildStatus::Exited(c) => c,
            ChildStatus::Signaled(s) => 128 + s,
        }
    }
}

/// Who a signal went to, as the log names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Whom {
    Child,
    Group,
    Leftovers,
}

impl Whom {
    fn name(self) -> &'static str {
        match self {
            Whom::Child => "child",
            Whom::Group => "child's process group",
            Whom::Leftovers => "remaining processes",
        }
    }

    fn key(self) -> &'static str {
        match self {
            Whom::Child => "child",
            Whom::Group => "group",
            Whom::Leftovers => "leftovers",
        }
    }
}

/// Why readiness turned on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadyWhy {
    /// `--ready-on start`: the child runs.
    Runs,
    /// A connection to the app's listener on `port` succeeded.
    Accepts { port: u16 },
    /// Nothing listened within `waited`: a worker, ready while it runs.
    Worker { waited: Duration },
    /// The app's sockets cannot be looked at here: ready while it runs.
    CannotLook,
}

impl ReadyWhy {
    fn key(self) -> &'static str {
        match self {
            ReadyWhy::Runs => "runs",
            ReadyWhy::Accepts { .. } => "accepts",
            ReadyWhy::Worker { .. } => "worker",
            ReadyWhy::CannotLook => "cannot_look",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Line {
    /// Readiness turned on, `after` the child started, for this reason.
    ReadyBecause {
        why: ReadyWhy,
        after: Duration,
    },
    /// The drain signal arrived.
    Draining {
        signal: i32,
        delay: Duration,
        grace: Option<Duration>,
    },
    ReadinessOff,
    /// INT or a second drain signal during the delay.
    CutShort {
        signal: i32,
        after: Duration,
    },
    /// The stop signal went out.
    Forwarded {
        signal: i32,
        whom: Whom,
        after: Option<Duration>,
    },
    /// The stop signal was rewritten to 0.
    StopDropped {
        signal: i32,
    },
    /// Any other signal passed on (debug).
    Passed {
        signal: i32,
        whom: Whom,
    },
    /// A signal rewritten to 0 (debug).
    Dropped {
        signal: i32,
    },
    /// The main child ended; `after` is set once a drain started (info),
    /// otherwise the line is debug.
    ChildExited {
        status: ChildStatus,
        after: Option<Duration>,
    },
    GraceReached {
        after: Option<Duration>,
    },
    /// SIGKILL sweeps did not empty the tree within `after`.
    KillGaveUp {
        after: Duration,
        pid1: bool,
    },
    /// `loud`: after a drain or a SIGKILL (info), otherwise debug.
    Exiting {
        code: i32,
        loud: bool,
    },
    TrafficQuiet {
        quiet_for: Duration,
        waited: Duration,
        saved: Duration,
        max: Duration,
    },
    TrafficNeverQuiet {
        max: Duration,
    },
    Gate {
        passed: bool,
    },
    /// Rendered by the runtime, which knows how many it reached.
    SentLeftovers {
        signal: i32,
        count: usize,
    },
    Killed {
        count: usize,
    },
    /// A later SIGKILL sweep found more (debug).
    KilledMore {
        count: usize,
    },
    /// /proc could not be listed to find the processes left behind: the
    /// stop signal went to every process (PID 1) or the child's group.
    LeftoversUnread {
        error: String,
        everyone: bool,
    },
    /// /proc could not be listed for the SIGKILL sweep: the child's
    /// process group is killed instead (the next sweep tries again).
    KillTreeUnread {
        error: String,
    },
    /// The signalfd could not be read (said once per run of failures).
    SignalsUnread {
        error: String,
    },
    /// The system refused an allocation and the reserve of `kib` served it
    /// (said once).
    ReserveUsed {
        kib: usize,
    },
    /// The app's listening sockets could not be looked for.
    ListenUnread {
        error: String,
    },
    /// The ready file could not be written or removed.
    ReadyFileFailed {
        error: String,
    },
    /// kill(2) failed; the signal is sent again every `retry`.
    SendFailed {
        signal: i32,
        errno: i32,
        retry: Duration,
    },
    /// A process the stop signal reached could not be watched for its
    /// exit (no pidfd): the tree is looked at on a timer instead, at
    /// most `every` apart.
    WatchFailed {
        pid: i32,
        error: String,
        every: Duration,
    },
    /// A process of the snapshot is there but /proc could not be read
    /// (the first time a warning, then debug): the rule sent the signal
    /// to it as addressed.
    TreeUnread {
        pid: i32,
        signal: i32,
        error: String,
        loud: bool,
    },
    /// Where the forwarding rule sent a signal (debug).
    Routed {
        route: crate::core::supervisor::route::RouteLine,
    },
    /// The status reported is the app's, not its killed wrapper's.
    AppStatus {
        status: ChildStatus,
    },
    /// A signal as it arrived, SIGCHLD included, before any rewrite.
    Received {
        signal: i32,
    },
    /// A rewrite applied to a signal (`to` 0: dropped).
    Translated {
        from: i32,
        to: i32,
    },
    /// drainit stops itself after passing on a terminal stop signal.
    Suspending,
    /// A signal of the terminal hand-off, ignored this once.
    HandOffIgnored {
        signal: i32,
    },
    /// One reaped process (by the runtime, which reaps): `main` for the
    /// main child, `warn` when orphans are reported as warnings (tini -w).
    Reaped {
        pid: i32,
        status: ChildStatus,
        main: bool,
        warn: bool,
    },
    /// A reaping pass is over; `none_left`: no child at all remains.
    ReapPassDone {
        none_left: bool,
    },
    /// The main child was started (by the run, before the loop):
    /// `exec_failed` under an anchor's name when the command cannot run.
    Spawned {
        argv: Vec<String>,
        pid: i32,
        stdin_tty: bool,
        exec_failed: bool,
    },
    /// drainit registered as child subreaper.
    Subreaper,
    /// dumb-init's TIOCNOTTY before the fork: `Ok(leader)` (a session
    /// leader gets SIGHUP and SIGCONT for it), or the errno.
    TtyDetached {
        result: Result<bool, i32>,
    },
    /// The child's TIOCSCTTY in a new session: the errno if it failed.
    TtyAttached {
        errno: Option<i32>,
    },
    /// Under an anchor's name: the command could not be run (exec's
    /// errno); the child `pid` exits with the anchor's code.
    ExecFailed {
        program: String,
        errno: i32,
        pid: i32,
    },
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Display wrappers: a line's parts written where it is displayed, so
/// that a line costs no allocation (and nothing when it is filtered out).
///
/// `duration::show`: `1.5s`, `40s`, `250ms`.
struct Show(Duration);

impl fmt::Display for Show {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 < Duration::from_secs(1) {
            write!(f, "{}ms", self.0.as_millis())
        } else {
            write!(f, "{:.1}s", self.0.as_secs_f64())
        }
    }
}

/// ` after 1.5s`, or nothing.
struct After(Option<Duration>);

impl fmt::Display for After {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(d) => write!(f, " after {}", Show(d)),
            None => Ok(()),
        }
    }
}

/// A duration, or `unset`.
struct OrUnset(Option<Duration>);

impl fmt::Display for OrUnset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(d) => Show(d).fmt(f),
            None => f.write_str("unset"),
        }
    }
}

/// `exited with 3`, `was killed by SIGTERM`.
struct How(ChildStatus);

impl fmt::Display for How {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            ChildStatus::Exited(c) => write!(f, "exited with {c}"),
            ChildStatus::Signaled(s) => write!(f, "was killed by {}", signals::Name(s)),
        }
    }
}

/// A rewrite's target: a signal's name, or `0` (dropped).
struct Rewritten(i32);

impl fmt::Display for Rewritten {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            0 => f.write_str("0"),
            n => signals::Name(n).fmt(f),
        }
    }
}

/// Why readiness turned on, in words.
struct Why(ReadyWhy);

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            ReadyWhy::Runs => f.write_str("the app runs (--ready-on start)"),
            ReadyWhy::Accepts { port } => {
                write!(f, "the app accepts connections on port {port}")
            }
            ReadyWhy::Worker { waited } => write!(
                f,
                "nothing listened on a TCP port within {}: a worker, ready while it runs \
                 (--ready-on start says so at once; --worker-after sets the wait)",
                Show(waited)
            ),
            ReadyWhy::CannotLook => f.write_str(
                "the app's sockets cannot be looked at here \
                 (neither sock_diag nor /proc/net/tcp): ready while it runs; use --ready-tcp or --ready-url",
            ),
        }
    }
}

impl Line {
    /// Logs the line in drainit's words. The run logs its lines through
    /// `logging::Emit`, which adds the anchor's words under tini's and
    /// dumb-init's names (the filter decides which are shown).
    pub fn emit_drainit(&self) {
        const T: &str = "drainit::timeline";
        match *self {
            Line::Draining {
                signal,
                delay,
                grace,
            } => tracing::info!(
                target: T,
                event = "draining",
                signal = %signals::Name(signal),
                delay_s = secs(delay),
                grace_s = grace.map(secs),
                "received {}: draining (delay {}, grace {})",
                signals::Name(signal),
                Show(delay),
                OrUnset(grace)
            ),
            Line::ReadyBecause { why, after: a } => tracing::info!(
                target: T,
                event = "ready",
                why = why.key(),
                port = match why {
                    ReadyWhy::Accepts { port } => Some(port),
                    _ => None,
                },
                after_s = secs(a),
                "ready after {}: {}",
                Show(a),
                Why(why)
            ),
            Line::ReadinessOff => {
                tracing::info!(target: T, event = "readiness_off", "readiness off")
            }
            Line::CutShort { signal, after: a } => tracing::info!(
                target: T,
                event = "cut_short",
                signal = %signals::Name(signal),
                after_s = secs(a),
                "received {} after {}: cutting the drain delay short",
                signals::Name(signal),
                Show(a)
            ),
            Line::Forwarded {
                signal,
                whom,
                after: a,
            } => tracing::info!(
                target: T,
                event = "forwarded",
                signal = %signals::Name(signal),
                to = whom.key(),
                after_s = a.map(secs),
                "forwarded {} to the {}{}",
                signals::Name(signal),
                whom.name(),
                After(a)
            ),
            Line::StopDropped { signal } => tracing::info!(
                target: T,
                event = "stop_dropped",
                signal = %signals::Name(signal),
                "stop signal {} dropped by a rewrite",
                signals::Name(signal)
            ),
            Line::Passed { signal, whom } => tracing::debug!(
                event = "passed",
                signal = %signals::Name(signal),
                to = whom.key(),
                "forwarding {} to the {}",
                signals::Name(signal),
                whom.name()
            ),
            Line::Dropped { signal } => tracing::debug!(
                event = "dropped",
                signal = %signals::Name(signal),
                "dropped {} (rewrite)",
                signals::Name(signal)
            ),
            Line::ChildExited { status, after: a } => {
                let how = How(status);
                let code = status.code();
                match a {
                    Some(d) => tracing::info!(
                        target: T,
                        event = "child_exited",
                        status = code,
                        after_s = secs(d),
                        "child {how} after {}",
                        Show(d)
                    ),
                    None => tracing::debug!(event = "child_exited", status = code, "child {how}"),
                }
            }
            Line::GraceReached { after: a } => tracing::warn!(
                target: T,
                event = "grace_reached",
                after_s = a.map(secs),
                "grace deadline reached{}: sending SIGKILL to what is left",
                After(a)
            ),
            Line::KillGaveUp { after: a, pid1 } => tracing::error!(
                target: T,
                event = "kill_gave_up",
                after_s = secs(a),
                "SIGKILL did not end the tree within {}: exiting anyway{}",
                Show(a),
                if pid1 {
                    " (the kernel kills what is left of the namespace)"
                } else {
                    " (what is left keeps running)"
                }
            ),
            Line::Exiting { code, loud: true } => {
                tracing::info!(target: T, event = "exiting", code, "exiting with {code}")
            }
            Line::Exiting { code, loud: false } => {
                tracing::debug!(event = "exiting", code, "exiting with {code}")
            }
            Line::TrafficQuiet {
                quiet_for,
                waited,
                saved,
                max,
            } => tracing::info!(
                target: T,
                event = "traffic_quiet",
                quiet_s = secs(quiet_for),
                waited_s = secs(waited),
                saved_s = secs(saved),
                "traffic quiet for {}: forwarding after {}, {} before the {} maximum",
                Show(quiet_for),
                Show(waited),
                Show(saved),
                Show(max)
            ),
            Line::TrafficNeverQuiet { max } => tracing::info!(
                target: T,
                event = "traffic_never_quiet",
                max_s = secs(max),
                "traffic never quiet for the period: forwarding at the {} maximum",
                Show(max)
            ),
            Line::Gate { passed } => tracing::info!(
                target: T,
                event = "gate",
                passed,
                "readiness gate {}",
                if passed { "passed" } else { "failed" }
            ),
            Line::SentLeftovers { signal, count } => tracing::info!(
                target: T,
                event = "sent_leftovers",
                signal = %signals::Name(signal),
                count,
                "sent {} to {count} remaining process(es)",
                signals::Name(signal)
            ),
            Line::WatchFailed {
                pid,
                ref error,
                every,
            } => tracing::warn!(
                event = "watch_failed",
                pid,
                "cannot watch process {pid} for its exit ({error}): looking at the tree every {} while the stop signal holds",
                Show(every)
            ),
            Line::SendFailed {
                signal,
                errno,
                retry,
            } => tracing::warn!(
                event = "send_failed",
                signal = %signals::Name(signal),
                errno,
                "cannot send {} ({}): trying again every {}",
                signals::Name(signal),
                std::io::Error::from_raw_os_error(errno),
                Show(retry)
            ),
            Line::TreeUnread {
                pid,
                signal,
                ref error,
                loud,
            } => {
                // One line, at warn the first time, at debug after.
                macro_rules! unread {
                    ($level:ident) => {
                        tracing::$level!(
                            target: T,
                            event = "tree_unread",
                            pid,
                            signal = %signals::Name(signal),
                            error = error.as_str(),
                            "cannot read /proc/{pid} ({error}): {} is routed without it",
                            signals::Name(signal)
                        )
                    };
                }
                if loud {
                    unread!(warn)
                } else {
                    unread!(debug)
                }
            }
            Line::Routed { ref route } => {
                tracing::debug!(event = "routed", route = %route, "routed {route}")
            }
            Line::AppStatus { status } => tracing::info!(
                target: T,
                event = "app_status",
                status = status.code(),
                "the wrapper was killed by its app: reporting the app's status {}",
                status.code()
            ),
            Line::KilledMore { count } => {
                if count > 0 {
                    tracing::debug!("SIGKILLed {count} more process(es)")
                }
            }
            Line::LeftoversUnread {
                ref error,
                everyone,
            } => tracing::warn!(
                "cannot read /proc to find the remaining processes ({error}): signalling {}",
                if everyone {
                    "every process of the namespace"
                } else {
                    "the child's process group"
                }
            ),
            Line::KillTreeUnread { ref error } => tracing::warn!(
                "cannot read /proc to find what to SIGKILL ({error}): killing the child's process group"
            ),
            Line::SignalsUnread { ref error } => {
                tracing::error!("reading signals failed ({error}): retrying")
            }
            Line::ReserveUsed { kib } => tracing::warn!(
                "memory: the system refused an allocation; drainit runs on its {kib} KiB reserve"
            ),
            Line::ListenUnread { ref error } => {
                tracing::warn!("cannot look for the app's listening sockets: {error}")
            }
            Line::ReadyFileFailed { ref error } => tracing::error!("ready file: {error}"),
            Line::Killed { count } => tracing::warn!(
                target: T,
                event = "killed",
                count,
                "SIGKILLed {count} process(es)"
            ),
            Line::Received { signal } => tracing::trace!(
                event = "received",
                signal = %signals::Name(signal),
                "received {}",
                signals::Name(signal)
            ),
            Line::Translated { from, to } => tracing::trace!(
                event = "translated",
                "rewrote {} to {}",
                signals::Name(from),
                Rewritten(to)
            ),
            Line::Suspending => tracing::debug!(
                event = "suspending",
                "stopping drainit too (a terminal stop signal)"
            ),
            Line::HandOffIgnored { signal } => tracing::debug!(
                event = "hand_off_ignored",
                signal = %signals::Name(signal),
                "ignored {} (the terminal hand-off)",
                signals::Name(signal)
            ),
            // (tini's -w warning is tini's own line.)
            Line::Reaped {
                pid,
                status,
                main: false,
                ..
            } => tracing::trace!("reaped orphan {pid} ({status:?})"),
            Line::Reaped { main: true, .. } | Line::ReapPassDone { .. } | Line::Subreaper => {}
            Line::Spawned { ref argv, pid, .. } => {
                tracing::debug!("started {argv:?} as pid {pid}")
            }
            Line::TtyDetached { result } => {
                tracing::debug!("detached from the terminal: {result:?}")
            }
            Line::TtyAttached { errno } => {
                tracing::debug!("the child took the terminal: {errno:?}")
            }
            Line::ExecFailed {
                ref program,
                errno,
                pid,
            } => tracing::debug!(
                "cannot run '{program}' ({}): child {pid} exits",
                std::io::Error::from_raw_os_error(errno)
            ),
        }
    }
}
