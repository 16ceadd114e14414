//! The command line: which parser argv[0] and argv[1] pick (drainit's own
//! options, clap, with a `DRAINIT_*` environment variable for each; the
//! `check` and `explain` subcommands in cli/subcommands/; the tini /
//! dumb-init modes in cli/compat.rs), and drainit's own run options. The
//! option types they share are in core/options.rs.

pub mod compat;
pub mod subcommands;
pub mod version;

use std::ffi::OsString;

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Parser};

use crate::cli::subcommands::check::{self, CheckArgs};
use crate::cli::subcommands::explain::{self, ExplainArgs};
use crate::core::options::*;
use crate::os::signals;

/// drainit [OPTIONS] [--] COMMAND [ARGS...]
#[derive(Debug, Parser)]
#[command(
    name = "drainit",
    version = crate::cli::version::long(),
    about = "A PID-1 init for containers: reaps zombies, forwards signals, and drains gracefully.",
    after_help = "Subcommands:\n  \
                  check    exit 0 when the app is ready (a readiness or HEALTHCHECK probe)\n  \
                  explain  print the shutdown timeline and the matching platform settings\n  \
                  drill    stop an image's replicas under load and count the dropped \
                  requests (runs drainit-drill, a separate binary)\n\
                  Run a program named check, explain or drill as `drainit -- check`.",
    disable_help_subcommand = true
)]
struct RunArgs {
    #[command(flatten)]
    forward: ForwardOptions,
    /// Accepted for tini users: drainit registers as subreaper whenever it is not PID 1.
    #[arg(short = 's', long, env = "DRAINIT_SUBREAPER", value_parser = BoolishValueParser::new(),
          action = ArgAction::SetTrue)]
    subreaper: bool,
    /// Map this exit code of the child to 0 (repeatable), e.g. 143 for JVMs.
    #[arg(short = 'e', long = "remap-exit", env = "DRAINIT_REMAP_EXIT", value_name = "CODE",
          value_delimiter = ',', value_parser = clap::value_parser!(u8))]
    remap_exit: Vec<u8>,
    /// Signal drainit gets when its parent dies (e.g. KILL).
    #[arg(short = 'p', long, env = "DRAINIT_PDEATHSIG", value_name = "SIGNAL",
          value_parser = signals::parse)]
    pdeathsig: Option<i32>,
    /// More logging (repeatable): -v info, -vv debug, -vvv trace. Env: DRAINIT_VERBOSE=N.
    #[arg(short = 'v', long = "verbose", action = ArgAction::Count)]
    verbose: u8,
    /// Log line format on stderr.
    #[arg(long, env = "DRAINIT_LOG_FORMAT", value_enum, default_value = "text")]
    log_format: LogFormat,
    #[command(flatten)]
    drain: DrainOptions,
    /// The command to run and its arguments.
    #[arg(required = true, trailing_var_arg = true, value_name = "COMMAND")]
    command: Vec<OsString>,
}

/// What the command line asks for.
pub enum Invocation {
    Run(Box<Options>),
    Check(Box<CheckArgs>),
    Explain(Box<ExplainArgs>),
    /// --help, --version or an error: print this and exit with the code.
    Exit {
        message: String,
        code: i32,
        to_stderr: bool,
    },
}

impl From<Exit> for Invocation {
    fn from(e: Exit) -> Invocation {
        Invocation::Exit {
            message: e.message,
            code: e.code,
            to_stderr: e.to_stderr,
        }
    }
}

/// The clap command of `drainit [OPTIONS] [--] COMMAND`, for the man page
/// and shell completions.
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    RunArgs::command()
}

/// Whose command line `argv` is: tini's or dumb-init's by argv\[0\],
/// drainit's otherwise.
pub fn flavor(argv: &[OsString]) -> Flavor {
    argv.first()
        .map_or(Flavor::Drainit, |a| Flavor::from_argv0(a))
}

/// Parses `argv` (argv\[0\] first) as `flavor`'s command line.
pub fn parse(argv: Vec<OsString>, flavor: Flavor) -> Invocation {
    match flavor {
        Flavor::Tini => return run_or_exit(compat::parse_tini(argv)),
        Flavor::DumbInit => return run_or_exit(compat::parse_dumb_init(argv)),
        Flavor::Drainit => {}
    }
    match argv.get(1).and_then(|a| a.to_str()) {
        Some("check") => {
            return check::parse(argv)
                .map_or_else(Invocation::from, |a| Invocation::Check(Box::new(a)))
        }
        Some("explain") => {
            return explain::parse(argv)
                .map_or_else(Invocation::from, |a| Invocation::Explain(Box::new(a)))
        }
        _ => {}
    }
    if let Some(args) = RunArgs::plain(&argv, |name| std::env::var_os(name).is_some()) {
        return Invocation::Run(Box::new(args.into_options()));
    }
    match RunArgs::try_parse_from(argv) {
        Ok(args) => Invocation::Run(Box::new(args.into_options())),
        Err(e) => clap_exit(e).into(),
    }
}

fn run_or_exit(parsed: Result<Options, Exit>) -> Invocation {
    parsed.map_or_else(Invocation::from, |o| Invocation::Run(Box::new(o)))
}

/// The variables clap reads, one per option (a test keeps this in step).
const OPTION_ENV: [&str; 21] = [
    "DRAINIT_DRAIN_DELAY",
    "DRAINIT_DRAIN_MIN",
    "DRAINIT_DRAIN_PORT",
    "DRAINIT_DRAIN_QUIET",
    "DRAINIT_DRAIN_SIGNAL",
    "DRAINIT_DRAIN_URL",
    "DRAINIT_GRACE",
    "DRAINIT_HTTP",
    "DRAINIT_LOG_FORMAT",
    "DRAINIT_PDEATHSIG",
    "DRAINIT_PROCESS_GROUP",
    "DRAINIT_READY_FILE",
    "DRAINIT_READY_INTERVAL",
    "DRAINIT_READY_ON",
    "DRAINIT_READY_TCP",
    "DRAINIT_READY_URL",
    "DRAINIT_REMAP_EXIT",
    "DRAINIT_REWRITE",
    "DRAINIT_SINGLE_CHILD",
    "DRAINIT_SUBREAPER",
    "DRAINIT_WORKER_AFTER",
];

impl RunArgs {
    /// The common `drainit [--] COMMAND...` with no option and no `DRAINIT_*`
    /// option variable, without building clap's command: that is most of
    /// drainit's start-up work otherwise. Gives exactly what clap would.
    fn plain(argv: &[OsString], is_set: impl Fn(&str) -> bool) -> Option<RunArgs> {
        let first = argv.get(1)?.as_encoded_bytes();
        let command = match first {
            b"--" => argv.get(2..)?,
            _ if first.starts_with(b"-") => return None,
            _ => argv.get(1..)?,
        };
        if command.is_empty() {
            return None;
        }
        if OPTION_ENV.iter().any(|name| is_set(name)) {
            return None;
        }
        Some(RunArgs {
            forward: ForwardOptions::default(),
            subreaper: false,
            remap_exit: Vec::new(),
            pdeathsig: None,
            verbose: 0,
            log_format: LogFormat::default(),
            drain: DrainOptions {
                ready_interval: DEFAULT_READY_INTERVAL,
                ..DrainOptions::default()
            },
            command: command.to_vec(),
        })
    }

    fn into_options(self) -> Options {
        let mode = self.forward.mode();
        let rewrites = self.forward.rewrite_table();
        let env_verbose = std::env::var("DRAINIT_VERBOSE")
            .ok()
            .and_then(|v| v.parse::<u8>().ok())
            .unwrap_or(0);
        Options {
            flavor: Flavor::Drainit,
            command: self.command,
            mode,
            rewrites,
            remap_exit: self.remap_exit.into_iter().map(i32::from).collect(),
            pdeathsig: self.pdeathsig,
            verbosity: self.verbose.max(env_verbose),
            log_format: self.log_format,
            warn_on_reap: false,
            drain: self.drain,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::supervisor::Mode;
    use std::time::Duration;

    fn run(args: &[&str]) -> Result<Options, (String, i32)> {
        let argv: Vec<OsString> = args.iter().map(OsString::from).collect();
        let flavor = flavor(&argv);
        match parse(argv, flavor) {
            Invocation::Run(o) => Ok(*o),
            Invocation::Exit { message, code, .. } => Err((message, code)),
            _ => Err(("subcommand".into(), -1)),
        }
    }

    /// `drainit --help` names every subcommand, drill (its own binary)
    /// included, each on a line of its own.
    #[test]
    fn help_lists_the_subcommands() {
        let (help, code) = run(&["drainit", "--help"]).unwrap_err();
        assert_eq!(code, 0);
        let tail = help.split("Subcommands:\n").nth(1).unwrap();
        for name in ["check", "explain", "drill"] {
            assert!(
                tail.lines().any(|l| l.starts_with(&format!("  {name} "))),
                "{name} not listed: {tail}"
            );
        }
        assert!(tail.contains("drainit-drill"), "{tail}");
    }

    #[test]
    fn options_stop_at_the_first_non_option() {
        let o = run(&["drainit", "-g", "ls", "-l", "--grace", "1s"]).unwrap();
        assert_eq!(o.command, ["ls", "-l", "--grace", "1s"]);
        assert_eq!(o.mode, Mode::Group);
        assert_eq!(o.drain.grace, None);
        let o = run(&["drainit", "--", "check"]).unwrap();
        assert_eq!(o.command, ["check"]);
    }

    #[test]
    fn drain_options_and_repeatables() {
        let o = run(&[
            "drainit",
            "--drain-delay",
            "1m30s",
            "--grace=500ms",
            "-r",
            "TERM:QUIT",
            "-r",
            "HUP:0",
            "-e",
            "143",
            "--drain-signal",
            "QUIT",
            "--drain-signal",
            "TERM",
            "sleep",
            "1",
        ])
        .unwrap();
        assert_eq!(o.drain.drain_delay, Some(Duration::from_secs(90)));
        assert_eq!(o.drain.grace, Some(Duration::from_millis(500)));
        assert_eq!(o.rewrites.apply(libc::SIGTERM), Some(libc::SIGQUIT));
        assert_eq!(o.rewrites.apply(libc::SIGHUP), None);
        assert_eq!(o.remap_exit, [143]);
        assert_eq!(o.drain.drain_signals(), [libc::SIGQUIT, libc::SIGTERM]);
    }

    #[test]
    fn bad_input_is_one_line_naming_the_value() {
        for (args, needle) in [
            (vec!["drainit", "--grace", "5x", "true"], "5x"),
            (vec!["drainit", "--drain-signal", "TERMX", "true"], "TERMX"),
            (vec!["drainit", "--ready-url", "nope", "true"], "nope"),
            (
                vec!["drainit", "--ready-url", "https://x/", "true"],
                "http://",
            ),
            (vec!["drainit", "--http", "localhost", "true"], "localhost"),
            (vec!["drainit", "-r", "TERM", "true"], "FROM:TO"),
            (vec!["drainit", "-e", "300", "true"], "300"),
            (vec!["drainit", "--bogus", "true"], "--bogus"),
            (vec!["drainit"], "COMMAND"),
        ] {
            let (msg, code) = run(&args).unwrap_err();
            assert_eq!(code, EXIT_USAGE, "{args:?}");
            assert_eq!(msg.lines().count(), 1, "{msg}");
            assert!(msg.contains(needle), "{args:?}: {msg}");
        }
    }

    #[test]
    fn the_plain_path_gives_what_clap_gives() {
        let no_env = |_: &str| false;
        for args in [
            &["drainit", "sleep", "1"][..],
            &["drainit", "--", "sleep", "-x", "--grace"],
            &["drainit", "--", "--"],
            &["drainit", "ls", "-l", "--", "x"],
            &["drainit", "", "a"],
            &["drainit", "--", "check"],
        ] {
            let argv: Vec<OsString> = args.iter().map(OsString::from).collect();
            let plain = RunArgs::plain(&argv, no_env).expect("plain").into_options();
            let clap = RunArgs::try_parse_from(&argv).unwrap().into_options();
            assert_eq!(format!("{plain:?}"), format!("{clap:?}"), "{args:?}");
        }
        for args in [
            &["drainit"][..],
            &["drainit", "--"],
            &["drainit", "-g", "sleep"],
            &["drainit", "--grace=1s", "sleep"],
            &["drainit", "-", "x"],
        ] {
            let argv: Vec<OsString> = args.iter().map(OsString::from).collect();
            assert!(RunArgs::plain(&argv, no_env).is_none(), "{args:?}");
        }
        let argv: Vec<OsString> = ["drainit", "sleep"].iter().map(OsString::from).collect();
        let only = |set: &'static str| move |name: &str| name == set;
        assert!(RunArgs::plain(&argv, only("DRAINIT_GRACE")).is_none());
        assert!(RunArgs::plain(&argv, only("DRAINIT_PROCESS_GROUP")).is_none());
        assert!(RunArgs::plain(&argv, only("DRAINIT_VERBOSE")).is_some());
        assert!(RunArgs::plain(&argv, only("DRAINIT_BIN")).is_some());
    }

    #[test]
    fn the_plain_path_knows_every_option_variable() {
        use clap::CommandFactory;
        let mut from_clap: Vec<String> = RunArgs::command()
            .get_arguments()
            .filter_map(|a| a.get_env())
            .map(|e| e.to_string_lossy().into_owned())
            .collect();
        from_clap.sort();
        assert_eq!(from_clap, OPTION_ENV);
    }

    #[test]
    fn flavor_from_argv0() {
        assert_eq!(Flavor::from_argv0("/sbin/tini".as_ref()), Flavor::Tini);
        assert_eq!(Flavor::from_argv0("docker-init".as_ref()), Flavor::Tini);
        assert_eq!(
            Flavor::from_argv0("/usr/bin/dumb-init".as_ref()),
            Flavor::DumbInit
        );
        assert_eq!(Flavor::from_argv0("/drainit".as_ref()), Flavor::Drainit);
    }
}
