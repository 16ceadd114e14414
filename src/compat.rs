//! Drop-in command lines: invoked as `tini`/`docker-init` or `dumb-init`,
//! drainit takes their flags, environment variables, defaults and exit
//! codes. Both use getopt-style short options that stop at the first
//! non-option, so a small getopt is all that is needed.

use std::ffi::OsString;

use crate::cli::{DrainOptions, Flavor, Invocation, LogFormat, Options};
use crate::signals::{self, Rewrites};
use crate::supervisor::Mode;

const TINI_HELP: &str = "drainit (as tini): tini-compatible mode
Usage: tini [OPTIONS] PROGRAM -- [ARGS] | --version

  --version: Show version and exit.
  -h: Show this help message and exit.
  -s: Register as a process subreaper (drainit always does when not PID 1).
  -p SIGNAL: Trigger SIGNAL when parent dies, e.g. \"-p SIGKILL\".
  -v: Generate more verbose output. Repeat up to 3 times.
  -w: Print a warning when processes are getting reaped.
  -g: Send signals to the child's process group.
  -e EXIT_CODE: Remap EXIT_CODE (from 0 to 255) to 0.
  -l: Show license and exit.

Environment variables: TINI_SUBREAPER, TINI_VERBOSITY (default 1), TINI_KILL_PROCESS_GROUP.
";

const DUMB_INIT_HELP: &str = "drainit (as dumb-init): dumb-init-compatible mode
Usage: dumb-init [option] command [[arg] ...]

   -c, --single-child   Run in single-child mode: signals go to the direct child only.
   -r, --rewrite s:r    Rewrite received signal s to new signal r before proxying.
                        To ignore (not proxy) a signal, rewrite it to 0.
   -v, --verbose        Print debugging information to stderr.
   -h, --help           Print this help message and exit.
   -V, --version        Print the current version and exit.

Environment variables: DUMB_INIT_SETSID=0 (single-child), DUMB_INIT_DEBUG.
";

fn base(flavor: Flavor, mode: Mode, verbosity: u8) -> Options {
    Options {
        flavor,
        command: Vec::new(),
        mode,
        rewrites: Rewrites::default(),
        remap_exit: Vec::new(),
        pdeathsig: None,
        verbosity,
        log_format: LogFormat::Text,
        warn_on_reap: false,
        drain: DrainOptions {
            ready_interval: std::time::Duration::from_secs(1),
            ..DrainOptions::default()
        },
    }
}

fn usage(flavor_name: &str, message: String) -> Invocation {
    Invocation::Exit {
        message: format!("drainit (as {flavor_name}): {message}"),
        code: 1,
        to_stderr: true,
    }
}

fn print(message: String) -> Invocation {
    Invocation::Exit {
        message,
        code: 0,
        to_stderr: false,
    }
}

fn env_set(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty())
}

/// Splits getopt-style arguments: yields (flag, inline-or-next value
/// getter) until the first non-option or `--`.
struct Getopt {
    args: Vec<OsString>,
    pos: usize,
    cluster: Vec<char>,
}

enum Opt {
    Short(char),
    Long(String),
}

impl Getopt {
    fn new(argv: Vec<OsString>) -> Self {
        Self {
            args: argv,
            pos: 1,
            cluster: Vec::new(),
        }
    }

    fn next(&mut self) -> Option<Opt> {
        if let Some(c) = (!self.cluster.is_empty()).then(|| self.cluster.remove(0)) {
            return Some(Opt::Short(c));
        }
        let arg = self.args.get(self.pos)?.to_str()?.to_string();
        if arg == "--" {
            self.pos += 1;
            return None;
        }
        if let Some(long) = arg.strip_prefix("--") {
            self.pos += 1;
            return Some(Opt::Long(long.to_string()));
        }
        let short = arg.strip_prefix('-').filter(|s| !s.is_empty())?;
        self.pos += 1;
        self.cluster = short.chars().collect();
        Some(Opt::Short(self.cluster.remove(0)))
    }

    /// The value of an option: the rest of the cluster or the next argument.
    fn value(&mut self) -> Option<String> {
        if !self.cluster.is_empty() {
            return Some(self.cluster.drain(..).collect());
        }
        let v = self.args.get(self.pos)?.to_str()?.to_string();
        self.pos += 1;
        Some(v)
    }

    fn rest(self) -> Vec<OsString> {
        self.args.into_iter().skip(self.pos).collect()
    }
}

pub fn parse_tini(argv: Vec<OsString>) -> Invocation {
    let verbosity = std::env::var("TINI_VERBOSITY")
        .ok()
        .and_then(|v| v.parse::<u8>().ok())
        .unwrap_or(1);
    let mode = if env_set("TINI_KILL_PROCESS_GROUP") {
        Mode::Group
    } else {
        Mode::Cascade
    };
    // tini's verbosity 1 means warnings, drainit's 0 does.
    let mut o = base(Flavor::Tini, mode, verbosity.saturating_sub(1));
    let mut g = Getopt::new(argv);
    while let Some(opt) = g.next() {
        match opt {
            Opt::Long(l) if l == "version" => {
                return print(format!(
                    "tini version 0.19.0 (drainit {})",
                    env!("CARGO_PKG_VERSION")
                ))
            }
            Opt::Short('h') => return print(TINI_HELP.to_string()),
            Opt::Short('l') => return print("drainit is MIT licensed.".to_string()),
            Opt::Short('s') => {}
            Opt::Short('w') => o.warn_on_reap = true,
            Opt::Short('g') => o.mode = Mode::Group,
            Opt::Short('v') => o.verbosity += 1,
            Opt::Short('p') => match g.value().map(|v| signals::parse(&v)) {
                Some(Ok(sig)) => o.pdeathsig = Some(sig),
                Some(Err(e)) => return usage("tini", format!("-p: {e}")),
                None => return usage("tini", "-p needs a signal, e.g. -p SIGKILL".into()),
            },
            Opt::Short('e') => match g.value().map(|v| v.parse::<u8>()) {
                Some(Ok(code)) => o.remap_exit.push(i32::from(code)),
                _ => return usage("tini", "-e needs an exit code from 0 to 255".into()),
            },
            Opt::Short(c) => return usage("tini", format!("unknown option -{c} (see tini -h)")),
            Opt::Long(l) => return usage("tini", format!("unknown option --{l} (see tini -h)")),
        }
    }
    o.command = g.rest();
    if o.command.is_empty() {
        return usage(
            "tini",
            "no program given: tini [OPTIONS] PROGRAM -- [ARGS]".into(),
        );
    }
    Invocation::Run(Box::new(o))
}

pub fn parse_dumb_init(argv: Vec<OsString>) -> Invocation {
    let setsid = std::env::var("DUMB_INIT_SETSID").map_or(true, |v| v != "0");
    let debug = env_set("DUMB_INIT_DEBUG");
    let mode = if setsid {
        Mode::Group
    } else {
        Mode::SingleChild
    };
    let mut o = base(Flavor::DumbInit, mode, u8::from(debug) * 2);
    let mut g = Getopt::new(argv);
    while let Some(opt) = g.next() {
        let flag = match &opt {
            Opt::Short(c) => *c,
            Opt::Long(l) => match l.split('=').next().unwrap_or("") {
                "single-child" => 'c',
                "rewrite" => 'r',
                "verbose" => 'v',
                "help" => 'h',
                "version" => 'V',
                other => {
                    return usage(
                        "dumb-init",
                        format!("unknown option --{other} (see dumb-init -h)"),
                    )
                }
            },
        };
        match flag {
            'h' => return print(DUMB_INIT_HELP.to_string()),
            'V' => {
                return print(format!(
                    "dumb-init v1.2.5 (drainit {})",
                    env!("CARGO_PKG_VERSION")
                ))
            }
            'c' => o.mode = Mode::SingleChild,
            'v' => o.verbosity = 2,
            'r' => {
                let value = match opt {
                    Opt::Long(l) if l.contains('=') => {
                        l.split_once('=').map(|(_, v)| v.to_string())
                    }
                    _ => g.value(),
                };
                match value.map(|v| signals::parse_rewrite(&v)) {
                    Some(Ok((from, to))) => o.rewrites.insert(from, to),
                    Some(Err(e)) => return usage("dumb-init", format!("-r: {e}")),
                    None => return usage("dumb-init", "-r needs s:r, e.g. -r 15:3".into()),
                }
            }
            c => {
                return usage(
                    "dumb-init",
                    format!("unknown option -{c} (see dumb-init -h)"),
                )
            }
        }
    }
    o.command = g.rest();
    if o.command.is_empty() {
        return usage(
            "dumb-init",
            "no command given: dumb-init [option] command [[arg] ...]".into(),
        );
    }
    Invocation::Run(Box::new(o))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    fn opts(inv: Invocation) -> Options {
        match inv {
            Invocation::Run(o) => *o,
            Invocation::Exit { message, .. } => panic!("exit: {message}"),
            _ => panic!("subcommand"),
        }
    }

    #[test]
    fn tini_flags() {
        let o = opts(parse_tini(argv(&[
            "tini",
            "-g",
            "-e",
            "143",
            "-e143",
            "-pSIGKILL",
            "-vvw",
            "--",
            "java",
            "-jar",
        ])));
        assert_eq!(o.mode, Mode::Group);
        assert_eq!(o.remap_exit, [143, 143]);
        assert_eq!(o.pdeathsig, Some(libc::SIGKILL));
        assert_eq!(o.verbosity, 2);
        assert!(o.warn_on_reap);
        assert_eq!(o.command, ["java", "-jar"]);
        let o = opts(parse_tini(argv(&["tini", "sleep", "-x"])));
        assert_eq!(o.mode, Mode::Cascade);
        assert_eq!(o.command, ["sleep", "-x"]);
    }

    #[test]
    fn tini_usage_errors_exit_1() {
        for a in [
            &["tini", "-x", "true"][..],
            &["tini"],
            &["tini", "-e", "999", "true"],
        ] {
            match parse_tini(argv(a)) {
                Invocation::Exit {
                    code, to_stderr, ..
                } => assert_eq!((code, to_stderr), (1, true)),
                _ => panic!("{a:?} should fail"),
            }
        }
    }

    #[test]
    fn dumb_init_flags() {
        let o = opts(parse_dumb_init(argv(&[
            "dumb-init",
            "-c",
            "-r",
            "15:3",
            "--rewrite=1:0",
            "-v",
            "app",
        ])));
        assert_eq!(o.mode, Mode::SingleChild);
        assert_eq!(o.rewrites.apply(15), Some(3));
        assert_eq!(o.rewrites.apply(1), None);
        assert_eq!(o.verbosity, 2);
        let o = opts(parse_dumb_init(argv(&["dumb-init", "app", "-c"])));
        assert_eq!(o.mode, Mode::Group, "setsid mode is dumb-init's default");
        assert_eq!(o.command, ["app", "-c"]);
    }
}
