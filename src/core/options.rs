//! The option types that the run, the subcommands and the tini /
//! dumb-init modes share, their value parsers, and what a command line that
//! does not run anything prints (help, version, a usage error). It imports
//! no parser: src/cli/mod.rs (drainit's own command line), src/cli/subcommands/ and
//! src/cli/compat.rs build on it.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args, ValueEnum};

use crate::core::signal::{self as signals, Rewrites};
use crate::core::supervisor::Mode;

/// Usage errors exit with 2 (1 in the tini and dumb-init modes).
pub const EXIT_USAGE: i32 = 2;

pub const DEFAULT_READY_INTERVAL: Duration = Duration::from_secs(1);

/// --help, --version or an error: print this and exit with the code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exit {
    pub message: String,
    pub code: i32,
    pub to_stderr: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Which init drainit is standing in for: decides exit codes and defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    Drainit,
    Tini,
    DumbInit,
}

impl Flavor {
    pub fn usage_code(self) -> i32 {
        match self {
            Flavor::Drainit => EXIT_USAGE,
            Flavor::Tini | Flavor::DumbInit => 1,
        }
    }

    /// dumb-init exits 2 for a command it cannot run; tini 127 / 126.
    pub fn spawn_code(self, code: i32) -> i32 {
        match self {
            Flavor::DumbInit => 2,
            _ => code,
        }
    }

    /// dumb-init blocks and forwards a fault signal even when it was
    /// ignored at start; tini and drainit leave it ignored.
    pub fn ignored_faults(self) -> signals::IgnoredFaults {
        match self {
            Flavor::DumbInit => signals::IgnoredFaults::Forward,
            Flavor::Drainit | Flavor::Tini => signals::IgnoredFaults::StayIgnored,
        }
    }

    /// The flavor of a command line: the name drainit was started by
    /// (argv\[0\], any directory left out). Worked out once, by `main`.
    pub fn from_argv0(argv0: &std::ffi::OsStr) -> Flavor {
        let name = std::path::Path::new(argv0)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("drainit");
        match name {
            "tini" | "tini-static" | "docker-init" => Flavor::Tini,
            "dumb-init" => Flavor::DumbInit,
            _ => Flavor::Drainit,
        }
    }
}

/// When the app is ready with no `--ready-url` / `--ready-tcp`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Default)]
pub enum ReadyOn {
    /// Once the app listens on a TCP port and a connection to it succeeds.
    #[default]
    Accept,
    /// As soon as the child runs (workers that serve no traffic).
    Start,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Gate {
    Url(String),
    Tcp(String),
}

/// Everything the run needs, whichever flavor of command line it came from.
#[derive(Clone, Debug)]
pub struct Options {
    pub flavor: Flavor,
    pub command: Vec<OsString>,
    pub mode: Mode,
    pub rewrites: Rewrites,
    pub remap_exit: Vec<i32>,
    pub pdeathsig: Option<i32>,
    pub verbosity: u8,
    pub log_format: LogFormat,
    /// Log reaped orphans at warning level (tini's -w).
    pub warn_on_reap: bool,
    pub drain: DrainOptions,
}

/// The drain and readiness options, shared by the run and `explain`.
#[derive(Clone, Debug, Args, Default)]
pub struct DrainOptions {
    /// Signal that starts a drain (repeatable; default TERM).
    #[arg(long = "drain-signal", env = "DRAINIT_DRAIN_SIGNAL", value_name = "SIGNAL",
          value_delimiter = ',', value_parser = signals::parse)]
    pub drain_signals: Vec<i32>,
    /// Time between readiness off and forwarding the stop signal.
    #[arg(long, env = "DRAINIT_DRAIN_DELAY", value_name = "DURATION",
          value_parser = crate::core::duration::parse)]
    pub drain_delay: Option<Duration>,
    /// Deadline after the stop signal for the whole tree, then SIGKILL.
    #[arg(long, env = "DRAINIT_GRACE", value_name = "DURATION",
          value_parser = crate::core::duration::parse)]
    pub grace: Option<Duration>,
    /// Adaptive drain: forward once no new connection arrived for this long.
    #[arg(long, env = "DRAINIT_DRAIN_QUIET", value_name = "DURATION",
          value_parser = crate::core::duration::parse)]
    pub drain_quiet: Option<Duration>,
    /// Adaptive drain: the shortest wait (default: the quiet period).
    #[arg(long, env = "DRAINIT_DRAIN_MIN", value_name = "DURATION",
          value_parser = crate::core::duration::parse, requires = "drain_quiet")]
    pub drain_min: Option<Duration>,
    /// Adaptive drain: the app's listening port (repeatable; default: found).
    #[arg(
        long = "drain-port",
        env = "DRAINIT_DRAIN_PORT",
        value_name = "PORT",
        value_delimiter = ',',
        requires = "drain_quiet"
    )]
    pub drain_ports: Vec<u16>,
    /// HTTP POST sent when the drain starts (failures are logged only).
    #[arg(long, env = "DRAINIT_DRAIN_URL", value_name = "URL", value_parser = parse_http_url)]
    pub drain_url: Option<String>,
    /// File present while ready, removed when draining and on exit.
    #[arg(long, env = "DRAINIT_READY_FILE", value_name = "PATH")]
    pub ready_file: Option<PathBuf>,
    /// Readiness gate: GET URL, 2xx means ready.
    #[arg(long, env = "DRAINIT_READY_URL", value_name = "URL",
          value_parser = parse_http_url, conflicts_with = "ready_tcp")]
    pub ready_url: Option<String>,
    /// Readiness gate: a TCP connect to HOST:PORT.
    #[arg(long, env = "DRAINIT_READY_TCP", value_name = "HOST:PORT", value_parser = parse_host_port)]
    pub ready_tcp: Option<String>,
    /// With no gate: ready once the app accepts connections (accept), or
    /// as soon as it runs (start, for workers).
    #[arg(long, env = "DRAINIT_READY_ON", value_name = "WHEN", value_enum)]
    pub ready_on: Option<ReadyOn>,
    /// With --ready-on accept: an app that has not listened on a TCP port
    /// within this time is a worker, ready while it runs [default: 60s].
    #[arg(long, env = "DRAINIT_WORKER_AFTER", value_name = "DURATION",
          value_parser = crate::core::duration::parse)]
    pub worker_after: Option<Duration>,
    /// How often the readiness gate is checked.
    #[arg(long, env = "DRAINIT_READY_INTERVAL", value_name = "DURATION",
          default_value = "1s", value_parser = crate::core::duration::parse)]
    // Keep in step with DEFAULT_READY_INTERVAL (a test checks).
    pub ready_interval: Duration,
    /// Serve /ready, /live and /metrics on this address (e.g. 0.0.0.0:8081).
    #[arg(long, env = "DRAINIT_HTTP", value_name = "ADDR", value_parser = parse_addr)]
    pub http: Option<SocketAddr>,
}

impl DrainOptions {
    pub fn gate(&self) -> Option<Gate> {
        match (&self.ready_url, &self.ready_tcp) {
            (Some(url), _) => Some(Gate::Url(url.clone())),
            (None, Some(addr)) => Some(Gate::Tcp(addr.clone())),
            _ => None,
        }
    }

    /// Someone reads readiness: the endpoint or the ready file.
    pub fn readiness_read(&self) -> bool {
        self.http.is_some() || self.ready_file.is_some()
    }

    /// The automatic gate applies: readiness is read, no gate is given and
    /// `--ready-on start` is not.
    pub fn waits_for_accept(&self) -> bool {
        self.readiness_read()
            && self.gate().is_none()
            && self.ready_on.unwrap_or_default() == ReadyOn::Accept
    }

    pub fn drain_signals(&self) -> Vec<i32> {
        if self.drain_signals.is_empty() {
            vec![libc::SIGTERM]
        } else {
            self.drain_signals.clone()
        }
    }
}

/// Where forwarded signals go and how they are rewritten: shared by the
/// run and `explain`.
#[derive(Clone, Debug, Args, Default)]
pub struct ForwardOptions {
    /// Send signals to the child's whole process group (child runs in a new session).
    #[arg(short = 'g', long, env = "DRAINIT_PROCESS_GROUP", value_parser = BoolishValueParser::new(),
          action = ArgAction::SetTrue, conflicts_with = "single_child")]
    pub process_group: bool,
    /// Send signals to the direct child only, never to what it leaves behind.
    #[arg(short = 'c', long, env = "DRAINIT_SINGLE_CHILD", value_parser = BoolishValueParser::new(),
          action = ArgAction::SetTrue)]
    pub single_child: bool,
    /// Rewrite a received signal before forwarding (FROM:TO, TO=0 drops it; repeatable).
    #[arg(short = 'r', long = "rewrite", env = "DRAINIT_REWRITE", value_name = "FROM:TO",
          value_delimiter = ',', value_parser = signals::parse_rewrite)]
    pub rewrites: Vec<(i32, i32)>,
}

impl ForwardOptions {
    pub fn mode(&self) -> Mode {
        if self.process_group {
            Mode::Group
        } else if self.single_child {
            Mode::SingleChild
        } else {
            Mode::Cascade
        }
    }

    pub fn rewrite_table(&self) -> Rewrites {
        let mut rewrites = Rewrites::default();
        for &(from, to) in &self.rewrites {
            rewrites.insert(from, to);
        }
        rewrites
    }
}

/// Turns a clap error into one line naming the bad input, or help/version.
pub fn clap_exit(e: clap::Error) -> Exit {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => Exit {
            message: e.render().to_string(),
            code: 0,
            to_stderr: false,
        },
        _ => {
            // The first paragraph, joined: clap puts the missing argument
            // names on the lines after the first.
            let text = e.render().to_string();
            let para: Vec<&str> = text
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect();
            let joined = para.join(" ");
            let first = joined.strip_prefix("error: ").unwrap_or(&joined);
            Exit {
                message: format!("drainit: {first} (see drainit --help)"),
                code: EXIT_USAGE,
                to_stderr: true,
            }
        }
    }
}

/// Accepts `http://host[:port]/path` only: the static binary carries no
/// TLS. The grammar is the client's own (client/url.rs).
pub fn parse_http_url(text: &str) -> Result<String, String> {
    crate::core::url::parse_http_url(text).map(|_| text.to_string())
}

pub fn parse_host_port(text: &str) -> Result<String, String> {
    crate::core::url::parse_host_port(text).map(|_| text.to_string())
}

pub fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    text.parse()
        .map_err(|_| format!("'{text}' is not an IP:PORT address, e.g. 0.0.0.0:8081 or [::]:8081"))
}
