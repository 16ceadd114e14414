//! drainit's own logs: stderr only, prefixed `[drainit +1.234s]` so they
//! stand apart from the app's lines. Quiet by default (warnings, errors and
//! the one-line-per-phase shutdown timeline); `-v` adds more, `DRAINIT_LOG`
//! takes a filter such as `debug` or `warn,drainit::timeline=off`.
//!
//! drainit logs events only (no spans), so the subscriber is this small one
//! rather than tracing-subscriber's registry and fmt layers: their set-up
//! alone (a 32 KiB slab of per-thread slots) was about a twentieth of
//! drainit's start-up. Filter syntax and parsing stay tracing-subscriber's
//! (`Targets`).
//!
//! Under tini's and dumb-init's names the typed lines are also rendered in
//! the anchor's words (`Emit`, with the flavor `init` was given): tini's
//! `[INFO  tini (PID)] ...` at its levels (info, debug and trace on stdout,
//! buffered as stdio buffers them; warnings and fatal errors on stderr),
//! dumb-init's `[dumb-init] ...` debug lines on stderr. Their verbosity is
//! the anchor's; drainit's own lines there are its warnings, and its
//! timeline when a drain is set.

use std::fmt::{self, Write as _};
use std::io::Write as _;
use std::time::{Instant, SystemTime};

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::filter::Targets;

use crate::core::options::{Flavor, LogFormat};
use crate::core::timeline::ChildStatus;
use crate::core::timeline::Line;
use crate::os::signals;

/// The anchors' own lines go to these targets, written as they are (no
/// prefix of drainit's): tini's info, debug and trace lines on stdout, its
/// warnings and dumb-init's lines on stderr.
const ANCHOR_STDOUT: &str = "anchor::stdout";
const ANCHOR_STDERR: &str = "anchor::stderr";
/// Lines tini's forked child prints on stdout before it execs: lost with
/// its stdio buffer when stdout is not a terminal and the exec works.
const ANCHOR_CHILD_EXEC: &str = "anchor::child_exec";
/// The same when the exec fails: the child exits, and its copy of the
/// buffer (what tini had buffered when it forked) goes out with them.
const ANCHOR_CHILD_EXIT: &str = "anchor::child_exit";

/// tini's stdout as stdio keeps it: when it is not a terminal, fully
/// buffered (4 KiB blocks) until exit. `None`: written at once.
static STDOUT_BUFFER: std::sync::Mutex<Option<Vec<u8>>> = std::sync::Mutex::new(None);
/// glibc's buffer for a pipe or a file.
const STDIO_BUFFER: usize = 4096;

fn write_stdout(bytes: &[u8]) {
    let mut guard = STDOUT_BUFFER.lock().unwrap_or_else(|e| e.into_inner());
    let Some(buf) = guard.as_mut() else {
        let _ = std::io::stdout().lock().write_all(bytes);
        return;
    };
    buf.extend_from_slice(bytes);
    while buf.len() >= STDIO_BUFFER {
        let rest = buf.split_off(STDIO_BUFFER);
        let _ = raw_write(1, buf);
        *buf = rest;
    }
}

/// What tini's forked child writes: its copy of the buffer (when there is
/// one) and `text`.
fn write_child_stdout(text: &[u8], exits: bool) {
    let guard = STDOUT_BUFFER.lock().unwrap_or_else(|e| e.into_inner());
    match guard.as_ref() {
        None => {
            let _ = raw_write(1, text);
        }
        Some(_) if !exits => {}
        Some(buf) => {
            let mut all = buf.clone();
            all.extend_from_slice(text);
            let _ = raw_write(1, &all);
        }
    }
}

fn raw_write(fd: i32, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::fd::FromRawFd;
    // SAFETY: borrows the descriptor for one write; ManuallyDrop keeps the
    // File from closing it.
    let mut f = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(fd) });
    f.write_all(bytes)
}

/// Writes out tini's buffered stdout, as its exit does.
pub fn flush_stdout() {
    let mut guard = STDOUT_BUFFER.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(buf) = guard.as_mut() {
        let _ = raw_write(1, buf);
        buf.clear();
    }
}

/// `verbosity` is the anchor's own under its name: tini's level (its -v
/// count plus one, or TINI_VERBOSITY), dumb-init's debug switch (0 or 1).
/// There drainit's own lines are its warnings only, unless the user asked
/// for a drain (`docker run --init -e DRAINIT_DRAIN_DELAY=10s`): then its
/// timeline shows too.
fn default_filter(verbosity: u8, flavor: Flavor, draining: bool) -> String {
    let own = if draining {
        "warn,drainit::timeline=info"
    } else {
        "warn"
    };
    match (flavor, verbosity) {
        (Flavor::Drainit, 0) => "warn,drainit::timeline=info".into(),
        (Flavor::Drainit, 1) => "info".into(),
        (Flavor::Drainit, 2) => "debug".into(),
        (Flavor::Drainit, _) => "trace".into(),
        // tini: WARN from 1, INFO from 2, DEBUG from 3, TRACE from 4.
        (Flavor::Tini, v) => {
            let level = ["error", "warn", "info", "debug"]
                .get(usize::from(v))
                .unwrap_or(&"trace");
            format!("{own},anchor={level}")
        }
        (Flavor::DumbInit, 0) => format!("{own},anchor=error"),
        (Flavor::DumbInit, _) => format!("{own},anchor=debug"),
    }
}

/// An anchor's level: where its line goes and when it shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AnchorLevel {
    /// tini's FATAL, dumb-init's errors: shown at every verbosity.
    Fatal,
    Warn,
    Info,
    Debug,
    Trace,
}

impl AnchorLevel {
    /// The tracing level its line is logged at.
    fn filter(self) -> LevelFilter {
        match self {
            AnchorLevel::Fatal => LevelFilter::ERROR,
            AnchorLevel::Warn => LevelFilter::WARN,
            AnchorLevel::Info => LevelFilter::INFO,
            AnchorLevel::Debug => LevelFilter::DEBUG,
            AnchorLevel::Trace => LevelFilter::TRACE,
        }
    }

    fn tini_tag(self) -> &'static str {
        match self {
            AnchorLevel::Fatal => "FATAL",
            AnchorLevel::Warn => "WARN",
            AnchorLevel::Info => "INFO",
            AnchorLevel::Debug => "DEBUG",
            AnchorLevel::Trace => "TRACE",
        }
    }
}

/// Who writes an anchor's line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Writer {
    /// The anchor itself.
    Init,
    /// Its forked child, before exec (tini's `isolate_child`).
    Child { exits: bool },
}

/// Logging a timeline line: in drainit's words (`Line::emit_drainit`,
/// src/core/timeline.rs) and, under an anchor's name, in the anchor's. The
/// flavor is the installed logger's (`init`): the typed line knows nothing
/// of it.
pub trait Emit {
    fn emit(&self);
}

impl Emit for Line {
    fn emit(&self) {
        self.emit_drainit();
        let flavor = tracing::dispatcher::get_default(|d| {
            d.downcast_ref::<Logger>()
                .map(|logger| (logger.flavor, logger.anchor_max))
        });
        if let Some((flavor, max)) = flavor {
            // A line the filter would hide is not worded at all: the
            // anchor's words cost allocations, every forwarded signal.
            if anchor_level(flavor, self).is_some_and(|l| l.filter() <= max) {
                anchor_lines(flavor, self);
            }
        }
    }
}

/// The most severe level `flavor`'s anchor writes `line` at; None when it
/// writes nothing for it.
fn anchor_level(flavor: Flavor, line: &Line) -> Option<AnchorLevel> {
    use AnchorLevel::*;
    match flavor {
        Flavor::Drainit => None,
        Flavor::Tini => match *line {
            Line::ExecFailed { .. } => Some(Fatal),
            Line::Spawned { .. } | Line::Reaped { main: true, .. } => Some(Info),
            Line::Reaped { warn: true, .. } => Some(Warn),
            Line::Received { .. } | Line::Reaped { .. } => Some(Debug),
            Line::Subreaper | Line::ReapPassDone { .. } | Line::Exiting { .. } => Some(Trace),
            _ => None,
        },
        Flavor::DumbInit => match *line {
            Line::ExecFailed { .. } => Some(Fatal),
            _ => Some(Debug),
        },
    }
}

/// Logs `line` in the words of `flavor`'s anchor, if it has any.
fn anchor_lines(flavor: Flavor, line: &Line) {
    let texts = match flavor {
        Flavor::Drainit => return,
        Flavor::Tini => tini_lines(line),
        Flavor::DumbInit => dumb_init_lines(line)
            .into_iter()
            .map(|(l, t)| (l, t, Writer::Init))
            .collect(),
    };
    // What tini's child prints carries the child's pid.
    let child = match *line {
        Line::ExecFailed { pid, .. } | Line::Spawned { pid, .. } => pid as u32,
        _ => std::process::id(),
    };
    for (level, text, writer) in texts {
        if let Writer::Child { exits } = writer {
            let text = if text.is_empty() {
                text
            } else {
                format!("[{:<5} tini ({child})] {text}", level.tini_tag())
            };
            let target = if exits {
                ANCHOR_CHILD_EXIT
            } else {
                ANCHOR_CHILD_EXEC
            };
            match (target == ANCHOR_CHILD_EXIT, level) {
                (true, AnchorLevel::Debug) => tracing::debug!(target: ANCHOR_CHILD_EXIT, "{text}"),
                (true, _) => tracing::trace!(target: ANCHOR_CHILD_EXIT, "{text}"),
                (false, AnchorLevel::Debug) => tracing::debug!(target: ANCHOR_CHILD_EXEC, "{text}"),
                (false, _) => tracing::trace!(target: ANCHOR_CHILD_EXEC, "{text}"),
            }
            continue;
        }
        let pid = match *line {
            Line::ExecFailed { .. } => child,
            _ => std::process::id(),
        };
        let text = match flavor {
            Flavor::Tini => format!("[{:<5} tini ({pid})] {text}", level.tini_tag()),
            _ => format!("[dumb-init] {text}"),
        };
        let to_stderr =
            flavor == Flavor::DumbInit || matches!(level, AnchorLevel::Warn | AnchorLevel::Fatal);
        match (to_stderr, level) {
            (true, AnchorLevel::Fatal) => tracing::error!(target: ANCHOR_STDERR, "{text}"),
            (false, AnchorLevel::Fatal) => tracing::error!(target: ANCHOR_STDOUT, "{text}"),
            (true, AnchorLevel::Warn) => tracing::warn!(target: ANCHOR_STDERR, "{text}"),
            (true, AnchorLevel::Info) => tracing::info!(target: ANCHOR_STDERR, "{text}"),
            (true, AnchorLevel::Debug) => tracing::debug!(target: ANCHOR_STDERR, "{text}"),
            (true, AnchorLevel::Trace) => tracing::trace!(target: ANCHOR_STDERR, "{text}"),
            (false, AnchorLevel::Warn) => tracing::warn!(target: ANCHOR_STDOUT, "{text}"),
            (false, AnchorLevel::Info) => tracing::info!(target: ANCHOR_STDOUT, "{text}"),
            (false, AnchorLevel::Debug) => tracing::debug!(target: ANCHOR_STDOUT, "{text}"),
            (false, AnchorLevel::Trace) => tracing::trace!(target: ANCHOR_STDOUT, "{text}"),
        }
    }
}

/// tini 0.19's lines for what drainit did, at tini's levels.
fn tini_lines(line: &Line) -> Vec<(AnchorLevel, String, Writer)> {
    use AnchorLevel::*;
    let out = match *line {
        Line::Subreaper => vec![(Trace, "Registered as child subreaper".into())],
        Line::Spawned {
            ref argv,
            pid,
            stdin_tty,
            exec_failed,
        } => {
            // tini's child first: tcsetpgrp on a stdin that is no terminal.
            let exits = exec_failed;
            let child = if stdin_tty {
                (Trace, String::new(), Writer::Child { exits })
            } else {
                (
                    Debug,
                    "tcsetpgrp failed: no tty (ok to proceed)".into(),
                    Writer::Child { exits },
                )
            };
            return vec![
                child,
                (
                    Info,
                    format!(
                        "Spawned child process '{}' with pid '{pid}'",
                        argv.first().map_or("", String::as_str)
                    ),
                    Writer::Init,
                ),
            ];
        }
        Line::Received {
            signal: libc::SIGCHLD,
        } => vec![(Debug, "Received SIGCHLD".into())],
        // tini ignores these two (its terminal hand-over): it never gets them.
        Line::Received {
            signal: libc::SIGTTIN | libc::SIGTTOU,
        } => Vec::new(),
        Line::Received { signal } => vec![(
            Debug,
            format!("Passing signal: '{}'", signals::description(signal)),
        )],
        Line::Reaped {
            pid,
            status,
            main,
            warn,
        } => {
            let mut out = vec![(Debug, format!("Reaped child with pid: '{pid}'"))];
            if main {
                out.push((
                    Info,
                    match status {
                        ChildStatus::Exited(c) => {
                            format!("Main child exited normally (with status '{c}')")
                        }
                        ChildStatus::Signaled(s) => format!(
                            "Main child exited with signal (with signal '{}')",
                            signals::description(s)
                        ),
                    },
                ));
            } else if warn {
                out.push((Warn, format!("Reaped zombie process with pid={pid}")));
            }
            out
        }
        Line::ReapPassDone { none_left } => vec![(
            Trace,
            if none_left {
                "No child to wait"
            } else {
                "No child to reap"
            }
            .into(),
        )],
        Line::Exiting { .. } => vec![(Trace, "Exiting: child has exited".into())],
        Line::ExecFailed {
            ref program, errno, ..
        } => vec![(Fatal, format!("exec {program} failed: {}", strerror(errno)))],
        _ => Vec::new(),
    };
    out.into_iter().map(|(l, t)| (l, t, Writer::Init)).collect()
}

/// dumb-init 1.2.5's debug lines for what drainit did.
fn dumb_init_lines(line: &Line) -> Vec<(AnchorLevel, String)> {
    use AnchorLevel::Debug;
    let text = match *line {
        Line::TtyDetached { result: Err(e) } => format!(
            "Unable to detach from controlling tty (errno={e} {}).",
            strerror(e)
        ),
        Line::TtyDetached { result: Ok(true) } => {
            "Detached from controlling tty, ignoring the first SIGHUP and SIGCONT we receive."
                .into()
        }
        Line::TtyDetached { result: Ok(false) } => {
            "Detached from controlling tty, but was not session leader.".into()
        }
        Line::Spawned { pid, .. } => format!("Child spawned with PID {pid}."),
        Line::TtyAttached { errno } => {
            let mut out = Vec::new();
            if let Some(e) = errno {
                out.push((
                    Debug,
                    format!(
                        "Unable to attach to controlling tty (errno={e} {}).",
                        strerror(e)
                    ),
                ));
            }
            out.push((Debug, "setsid complete.".into()));
            return out;
        }
        Line::Received { signal } => format!("Received signal {signal}."),
        Line::HandOffIgnored { signal } => format!("Ignoring tty hand-off signal {signal}."),
        Line::Translated { from, to } => format!("Translating signal {from} to {to}."),
        Line::Passed { signal, .. } | Line::Forwarded { signal, .. } => {
            format!("Forwarded signal {signal} to children.")
        }
        Line::Dropped { .. } | Line::StopDropped { .. } => {
            "Not forwarding signal 0 to children (ignored).".into()
        }
        Line::Suspending => "Suspending self due to TTY signal.".into(),
        Line::Reaped {
            pid,
            status: ChildStatus::Exited(c),
            ..
        } => format!("A child with PID {pid} exited with exit status {c}."),
        Line::Reaped {
            pid,
            status: ChildStatus::Signaled(s),
            ..
        } => format!("A child with PID {pid} was terminated by signal {s}."),
        Line::Exiting { code, .. } => format!("Child exited with status {code}. Goodbye."),
        Line::ExecFailed {
            ref program, errno, ..
        } => {
            return vec![(
                AnchorLevel::Fatal,
                format!("{program}: {}", strerror(errno)),
            )]
        }
        _ => return Vec::new(),
    };
    vec![(Debug, text)]
}

/// glibc's strerror for the errors these lines name (drainit's musl build
/// words some differently).
fn strerror(errno: i32) -> String {
    match errno {
        libc::ENOENT => "No such file or directory".into(),
        libc::EACCES => "Permission denied".into(),
        libc::ENOEXEC => "Exec format error".into(),
        libc::ENOTDIR => "Not a directory".into(),
        libc::ELOOP => "Too many levels of symbolic links".into(),
        libc::ENAMETOOLONG => "File name too long".into(),
        libc::E2BIG => "Argument list too long".into(),
        libc::ETXTBSY => "Text file busy".into(),
        libc::ENOTTY => "Inappropriate ioctl for device".into(),
        libc::EPERM => "Operation not permitted".into(),
        libc::EINVAL => "Invalid argument".into(),
        libc::EBADF => "Bad file descriptor".into(),
        libc::EIO => "Input/output error".into(),
        e => {
            let text = std::io::Error::from_raw_os_error(e).to_string();
            match text.rfind(" (os error ") {
                Some(at) => text[..at].to_string(),
                None => text,
            }
        }
    }
}

/// Installs the subscriber. An unreadable `DRAINIT_LOG` is a usage error.
pub fn init(
    verbosity: u8,
    flavor: Flavor,
    format: LogFormat,
    draining: bool,
) -> Result<(), String> {
    let spec = match std::env::var("DRAINIT_LOG") {
        // drainit's own lines: the anchor's keep the anchor's level (tini's
        // go to stdout, the app's), unless the filter names them.
        Ok(s) if !s.trim().is_empty() && flavor != Flavor::Drainit && !s.contains("anchor") => {
            let own = default_filter(verbosity, flavor, draining);
            let anchor = own
                .split(',')
                .find(|d| d.starts_with("anchor="))
                .unwrap_or("");
            format!("{s},{anchor}")
        }
        Ok(s) if !s.trim().is_empty() => s,
        _ => default_filter(verbosity, flavor, draining),
    };
    if flavor == Flavor::Tini && !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        *STDOUT_BUFFER.lock().unwrap_or_else(|e| e.into_inner()) = Some(Vec::new());
    }
    let filter: Targets = spec.parse().map_err(|e| {
        format!("DRAINIT_LOG='{spec}' is not a log filter ({e}): use e.g. info or warn,drainit::timeline=off")
    })?;
    let anchor_max = [
        Level::TRACE,
        Level::DEBUG,
        Level::INFO,
        Level::WARN,
        Level::ERROR,
    ]
    .into_iter()
    .find(|level| {
        [
            ANCHOR_STDOUT,
            ANCHOR_STDERR,
            ANCHOR_CHILD_EXEC,
            ANCHOR_CHILD_EXIT,
        ]
        .iter()
        .any(|t| filter.would_enable(t, level))
    })
    .map_or(LevelFilter::OFF, LevelFilter::from_level);
    let logger = Logger {
        anchor_max,
        scratch: std::sync::Mutex::new(Scratch::with_capacity()),
        max: filter
            .iter()
            .map(|(_, level)| level)
            .chain(filter.default_level())
            .max()
            .unwrap_or(LevelFilter::OFF),
        filter,
        format,
        flavor,
        start: Instant::now(),
    };
    tracing::subscriber::set_global_default(logger)
        .map_err(|e| format!("cannot install the logger: {e}"))
}

/// The subscriber, set once by `init`. It owns the flavor: whose words
/// the timeline's lines are also rendered in (`Emit`).
struct Logger {
    filter: Targets,
    /// The most verbose level any anchor target shows.
    anchor_max: LevelFilter,
    /// The buffers lines are built in, kept from line to line.
    scratch: std::sync::Mutex<Scratch>,
    max: LevelFilter,
    format: LogFormat,
    flavor: Flavor,
    start: Instant,
}

impl Subscriber for Logger {
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        // Decided once per call site: a disabled one costs a load and a branch.
        if self.enabled(meta) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, meta: &Metadata<'_>) -> bool {
        self.filter.would_enable(meta.target(), meta.level())
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(self.max)
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        // The logger's buffers, or fresh ones if a line is being written
        // already (a value's formatting that logs).
        let mut local = None;
        let mut guard = self.scratch.try_lock().ok();
        let scratch = match guard.as_deref_mut() {
            Some(scratch) => scratch,
            None => local.insert(Scratch::default()),
        };
        scratch.clear();
        let Scratch {
            fields,
            spare,
            line,
        } = scratch;
        event.record(&mut Recorder { fields, spare });
        let target = event.metadata().target();
        if target.starts_with("anchor::") {
            // An anchor's line, as the anchor writes it.
            if !fields.message.is_empty() {
                fields.message.push('\n');
            }
            let bytes = fields.message.as_bytes();
            match target {
                ANCHOR_STDOUT => write_stdout(bytes),
                ANCHOR_CHILD_EXEC => write_child_stdout(bytes, false),
                ANCHOR_CHILD_EXIT => write_child_stdout(bytes, true),
                _ => {
                    let _ = std::io::stderr().lock().write_all(bytes);
                }
            }
            return;
        }
        let level = *event.metadata().level();
        match self.format {
            LogFormat::Text => {
                write_text_line(line, self.start.elapsed().as_secs_f64(), level, fields)
            }
            LogFormat::Json => write_json_line(line, SystemTime::now(), level, fields),
        };
        // One write per line, so lines from two threads never interleave.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// An event's message and its other fields, in order.
#[derive(Default)]
struct Fields {
    message: String,
    others: Vec<(&'static str, Value)>,
}

/// A field as JSON should see it: a string, or a number/bool as is.
enum Value {
    Str(String),
    Raw(String),
}

impl Value {
    fn text(&self) -> &str {
        match self {
            Value::Str(s) | Value::Raw(s) => s,
        }
    }
}

impl Fields {
    /// Timeline lines carry an `event` field: their message says it all.
    fn is_timeline(&self) -> bool {
        self.others.iter().any(|(name, _)| *name == "event")
    }

    fn push(&mut self, field: &Field, value: Value) {
        self.others.push((field.name(), value));
    }
}

/// The buffers one line is built in: the logger keeps them from line to
/// line, so that a line allocates only when it is longer, or has more
/// fields, than any before it.
#[derive(Default)]
struct Scratch {
    fields: Fields,
    /// Emptied strings for the next line's field values.
    spare: Vec<String>,
    line: String,
}

impl Scratch {
    /// Room for a line of 200 characters with four fields; a longer line
    /// grows them once (the start-up's lines do, before the steady state).
    fn with_capacity() -> Self {
        Self {
            fields: Fields {
                message: String::with_capacity(200),
                others: Vec::with_capacity(4),
            },
            spare: (0..4).map(|_| String::with_capacity(24)).collect(),
            line: String::with_capacity(256),
        }
    }

    fn clear(&mut self) {
        self.fields.message.clear();
        for (_, value) in self.fields.others.drain(..) {
            let mut s = value.into_string();
            s.clear();
            self.spare.push(s);
        }
        self.line.clear();
    }
}

impl Value {
    fn into_string(self) -> String {
        match self {
            Value::Str(s) | Value::Raw(s) => s,
        }
    }
}

/// Records an event's fields into [`Fields`], each value written into a
/// spare string.
struct Recorder<'a> {
    fields: &'a mut Fields,
    spare: &'a mut Vec<String>,
}

impl Recorder<'_> {
    fn text(&mut self, args: fmt::Arguments<'_>) -> String {
        let mut s = self.spare.pop().unwrap_or_default();
        let _ = s.write_fmt(args);
        s
    }
}

impl Visit for Recorder<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.fields.message.push_str(value);
        } else {
            let v = Value::Str(self.text(format_args!("{value}")));
            self.fields.push(field, v);
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        let text = self.text(format_args!("{value}"));
        let v = if value.is_finite() {
            Value::Raw(text)
        } else {
            Value::Str(text)
        };
        self.fields.push(field, v);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        let v = Value::Raw(self.text(format_args!("{value}")));
        self.fields.push(field, v);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        let v = Value::Raw(self.text(format_args!("{value}")));
        self.fields.push(field, v);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        let v = Value::Raw(self.text(format_args!("{value}")));
        self.fields.push(field, v);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.fields.message, "{value:?}");
        } else {
            let v = Value::Str(self.text(format_args!("{value:?}")));
            self.fields.push(field, v);
        }
    }
}

/// `[drainit +1.234s]  INFO message key=value`
#[cfg(test)]
fn text_line(elapsed: f64, level: Level, fields: &Fields) -> String {
    let mut line = String::new();
    write_text_line(&mut line, elapsed, level, fields);
    line
}

/// [`text_line`], written into `line`.
fn write_text_line(line: &mut String, elapsed: f64, level: Level, fields: &Fields) {
    let _ = write!(
        line,
        "[drainit +{elapsed:.3}s] {:>5} {}",
        level.as_str(),
        fields.message
    );
    if !fields.is_timeline() {
        for (name, value) in &fields.others {
            let _ = write!(line, " {name}={}", value.text());
        }
    }
    line.push('\n');
}

/// `{"timestamp":"2026-11-23T05:47:56.123456Z","level":"INFO","fields":{"message":"..."}}`
#[cfg(test)]
fn json_line(now: SystemTime, level: Level, fields: &Fields) -> String {
    let mut line = String::new();
    write_json_line(&mut line, now, level, fields);
    line
}

/// [`json_line`], written into `line`.
fn write_json_line(line: &mut String, now: SystemTime, level: Level, fields: &Fields) {
    line.push_str("{\"timestamp\":\"");
    write_rfc3339(line, now);
    let _ = write!(
        line,
        "\",\"level\":\"{}\",\"fields\":{{\"message\":",
        level.as_str()
    );
    json_string(line, &fields.message);
    for (name, value) in &fields.others {
        line.push(',');
        json_string(line, name);
        line.push(':');
        match value {
            Value::Str(v) => json_string(line, v),
            Value::Raw(v) => line.push_str(v),
        }
    }
    line.push_str("}}\n");
}

fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// UTC, microseconds: `2026-11-23T05:47:56.123456Z`.
#[cfg(test)]
fn rfc3339(t: SystemTime) -> String {
    let mut out = String::new();
    write_rfc3339(&mut out, t);
    out
}

/// [`rfc3339`], written into `out`.
fn write_rfc3339(out: &mut String, t: SystemTime) {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (y, m, day) = civil_from_days((secs / 86_400) as i64);
    let s = secs % 86_400;
    let _ = write!(
        out,
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        s / 3600,
        s / 60 % 60,
        s % 60,
        d.subsec_micros()
    );
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Writes `text` to stderr, a newline added unless it ends in one. A
/// failed write (stderr on a full disk, a closed pipe) is ignored: unlike
/// `eprintln!`, which panics then, and a panic would end PID 1.
pub fn stderr_line(text: &str) {
    use std::io::Write;
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = err.write_all(b"\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn fields(message: &str) -> Fields {
        Fields {
            message: message.into(),
            others: vec![("port", Value::Raw("8080".into()))],
        }
    }

    #[test]
    fn text_lines_pad_the_level_like_before() {
        assert_eq!(
            text_line(1.23456, Level::INFO, &fields("readiness off")),
            "[drainit +1.235s]  INFO readiness off port=8080\n"
        );
        assert!(text_line(0.0, Level::DEBUG, &Fields::default())
            .starts_with("[drainit +0.000s] DEBUG "));
    }

    #[test]
    fn json_lines_escape_and_carry_a_utc_timestamp() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_micros(1_795_412_876_123_456);
        assert_eq!(
            json_line(t, Level::WARN, &fields("say \"hi\"\n\\ \u{1}")),
            "{\"timestamp\":\"2026-11-23T05:47:56.123456Z\",\"level\":\"WARN\",\
             \"fields\":{\"message\":\"say \\\"hi\\\"\\n\\\\ \\u0001\",\"port\":8080}}\n"
        );
    }

    #[test]
    fn tini_lines_at_tinis_levels() {
        let reaped = |main, warn| Line::Reaped {
            pid: 7,
            status: ChildStatus::Exited(3),
            main,
            warn,
        };
        let text = |l: &Line| -> Vec<(AnchorLevel, String)> {
            tini_lines(l).into_iter().map(|(l, t, _)| (l, t)).collect()
        };
        assert_eq!(
            text(&reaped(true, false)),
            vec![
                (AnchorLevel::Debug, "Reaped child with pid: '7'".into()),
                (
                    AnchorLevel::Info,
                    "Main child exited normally (with status '3')".into()
                )
            ]
        );
        assert_eq!(
            text(&reaped(false, true)).last(),
            Some(&(AnchorLevel::Warn, "Reaped zombie process with pid=7".into()))
        );
        assert_eq!(
            text(&Line::Received { signal: 34 }),
            vec![(
                AnchorLevel::Debug,
                "Passing signal: 'Real-time signal 0'".into()
            )]
        );
        assert!(text(&Line::Received {
            signal: libc::SIGTTOU
        })
        .is_empty());
        let spawned = tini_lines(&Line::Spawned {
            argv: vec!["app".into()],
            pid: 9,
            stdin_tty: false,
            exec_failed: true,
        });
        assert_eq!(
            spawned.first().map(|l| l.2),
            Some(Writer::Child { exits: true })
        );
        assert_eq!(
            spawned.last().map(|l| l.1.as_str()),
            Some("Spawned child process 'app' with pid '9'")
        );
    }

    #[test]
    fn dumb_init_lines_say_what_dumb_init_says() {
        let text = |l: Line| {
            dumb_init_lines(&l)
                .into_iter()
                .map(|(_, t)| t)
                .collect::<Vec<_>>()
        };
        assert_eq!(text(Line::Received { signal: 17 }), ["Received signal 17."]);
        assert_eq!(
            text(Line::Translated { from: 15, to: 0 }),
            ["Translating signal 15 to 0."]
        );
        assert_eq!(
            text(Line::Dropped { signal: 15 }),
            ["Not forwarding signal 0 to children (ignored)."]
        );
        assert_eq!(
            text(Line::TtyAttached {
                errno: Some(libc::ENOTTY)
            }),
            [
                "Unable to attach to controlling tty (errno=25 Inappropriate ioctl for device).",
                "setsid complete."
            ]
        );
        assert_eq!(
            text(Line::Exiting {
                code: 143,
                loud: false
            }),
            ["Child exited with status 143. Goodbye."]
        );
    }

    #[test]
    fn an_anchors_verbosity_is_its_own() {
        assert_eq!(default_filter(1, Flavor::Tini, false), "warn,anchor=warn");
        assert_eq!(default_filter(0, Flavor::Tini, false), "warn,anchor=error");
        assert_eq!(default_filter(9, Flavor::Tini, false), "warn,anchor=trace");
        assert_eq!(
            default_filter(1, Flavor::DumbInit, true),
            "warn,drainit::timeline=info,anchor=debug"
        );
    }

    #[test]
    fn dates_match_the_calendar() {
        let at = |secs: u64| rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(secs));
        assert_eq!(at(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00.000000Z");
        assert_eq!(at(4_102_444_800), "2100-01-01T00:00:00.000000Z");
    }
}
