//! Drop-in command lines: invoked as `tini`/`tini-static`/`docker-init` or
//! `dumb-init`, drainit takes their flags, environment variables, defaults,
//! exit codes and wording, measured against Debian's tini 0.19.0 and
//! dumb-init 1.2.5 (tests/compat.rs runs both side by side).
//!
//! tini parses with glibc's `getopt` (options anywhere before `--`, the
//! rest permuted behind them); dumb-init with `getopt_long` and a leading
//! `+` (options stop at the first non-option). Both are reproduced here with
//! glibc's own error lines. The `DRAINIT_*` drain variables work under both
//! names: Docker runs its init as `/sbin/docker-init -- CMD`, so they are the
//! only way to configure a drain there.

use std::ffi::OsString;

use clap::{Args, FromArgMatches};

use crate::cli::version;
use crate::core::options::{DrainOptions, Exit, Flavor, LogFormat, Options};
use crate::core::supervisor::Mode;
use crate::os::signals::Rewrites;

/// tini's usage text; `{name}` is the basename of argv[0], `{version}` the
/// version line's number.
const TINI_USAGE: &str = "{name} (tini version {version})
Usage: {name} [OPTIONS] PROGRAM -- [ARGS] | --version

Execute a program under the supervision of a valid init process ({name})

Command line options:

  --version: Show version and exit.
  -h: Show this help message and exit.
  -s: Register as a process subreaper (requires Linux >= 3.4).
  -p SIGNAL: Trigger SIGNAL when parent dies, e.g. \"-p SIGKILL\".
  -v: Generate more verbose output. Repeat up to 3 times.
  -w: Print a warning when processes are getting reaped.
  -g: Send signals to the child's process group.
  -e EXIT_CODE: Remap EXIT_CODE (from 0 to 255) to 0.
  -l: Show license and exit.

Environment variables:

  TINI_SUBREAPER: Register as a process subreaper (requires Linux >= 3.4).
  TINI_VERBOSITY: Set the verbosity level (default: 1).
  TINI_KILL_PROCESS_GROUP: Send signals to the child's process group.

";

/// dumb-init's help (on stderr, as dumb-init prints it); `{name}` is argv[0]
/// as given.
const DUMB_INIT_HELP: &str = "dumb-init v{version}
Usage: {name} [option] command [[arg] ...]

dumb-init is a simple process supervisor that forwards signals to children.
It is designed to run as PID1 in minimal container environments.

Optional arguments:
   -c, --single-child   Run in single-child mode.
                        In this mode, signals are only proxied to the
                        direct child and not any of its descendants.
   -r, --rewrite s:r    Rewrite received signal s to new signal r before proxying.
                        To ignore (not proxy) a signal, rewrite it to 0.
                        This option can be specified multiple times.
   -v, --verbose        Print debugging information to stderr.
   -h, --help           Print this help message and exit.
   -V, --version        Print the current version and exit.

Full help is available online at https://github.com/Yelp/dumb-init
";

const DUMB_INIT_REWRITE_USAGE: &str =
    "Usage: -r option takes <signum>:<signum>, where <signum> is between 1 and 31.
This option can be specified multiple times.
Use --help for full usage.
";

const LICENSE: &str = "drainit is MIT licensed.\n";

/// The largest signal dumb-init lets `-r` rewrite (its MAXSIG).
const DUMB_INIT_MAXSIG: i32 = 31;

/// `tini version 0.1.0 - git.abc1234`: tini's shape, which Docker's
/// `docker info` parses, with drainit's own version and commit.
pub fn tini_version_line() -> String {
    match version::commit() {
        Some(commit) => format!("tini version {} - git.{commit}", version::VERSION),
        None => format!("tini version {}", version::VERSION),
    }
}

fn base(flavor: Flavor, mode: Mode, verbosity: u8, drain: DrainOptions) -> Options {
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
        drain,
    }
}

fn exit(message: String, code: i32, to_stderr: bool) -> Exit {
    Exit {
        message,
        code,
        to_stderr,
    }
}

/// The `DRAINIT_*` drain and readiness variables, read by clap as in
/// drainit's own mode; without any of them set, clap is not built at all.
fn drain_from_env(flavor: Flavor) -> Result<DrainOptions, Exit> {
    let any = std::env::vars_os().any(|(k, _)| {
        k.to_str()
            .is_some_and(|k| k.starts_with("DRAINIT_") && k != "DRAINIT_LOG")
    });
    let defaults = DrainOptions {
        ready_interval: std::time::Duration::from_secs(1),
        ..DrainOptions::default()
    };
    if !any {
        return Ok(defaults);
    }
    let cmd = DrainOptions::augment_args(clap::Command::new("drainit").no_binary_name(true));
    let parsed = cmd
        .try_get_matches_from(Vec::<OsString>::new())
        .and_then(|m| DrainOptions::from_arg_matches(&m));
    parsed.map_err(|e| {
        let message = crate::core::options::clap_exit(e).message;
        exit(format!("{message}\n"), flavor.usage_code(), true)
    })
}

/// C's `atoi`: leading blanks, a sign, digits; anything else ends it.
fn atoi(text: &str) -> i64 {
    let t = text.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut n: i64 = 0;
    for b in digits.bytes().take_while(u8::is_ascii_digit) {
        n = n.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if neg {
        -n
    } else {
        n
    }
}

/// One option as getopt reports it.
#[derive(Debug, PartialEq, Eq)]
enum Opt {
    Flag(char),
    WithValue(char, String),
    /// getopt's own error line (without the trailing newline).
    Error(String),
}

/// glibc's `getopt(argc, argv, optstring)` over short options only.
/// `permute`: GNU order (options anywhere before `--`), unless
/// POSIXLY_CORRECT is set; otherwise options stop at the first non-option.
struct ShortOpts<'a> {
    argv: &'a [OsString],
    takes_value: &'a str,
    known: &'a str,
    permute: bool,
    pos: usize,
    cluster: Vec<char>,
    operands: Vec<OsString>,
    done: bool,
}

impl<'a> ShortOpts<'a> {
    fn new(argv: &'a [OsString], known: &'a str, takes_value: &'a str, permute: bool) -> Self {
        Self {
            argv,
            takes_value,
            known,
            permute: permute && std::env::var_os("POSIXLY_CORRECT").is_none(),
            pos: 1,
            cluster: Vec::new(),
            operands: Vec::new(),
            done: false,
        }
    }

    fn prog(&self) -> String {
        self.argv
            .first()
            .map(|a| a.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    fn next_opt(&mut self) -> Option<Opt> {
        if self.cluster.is_empty() {
            self.load_cluster()?;
        }
        let c = self.cluster.remove(0);
        if !self.known.contains(c) || c == ':' {
            return Some(Opt::Error(format!(
                "{}: invalid option -- '{c}'",
                self.prog()
            )));
        }
        if !self.takes_value.contains(c) {
            return Some(Opt::Flag(c));
        }
        if !self.cluster.is_empty() {
            let value: String = self.cluster.drain(..).collect();
            return Some(Opt::WithValue(c, value));
        }
        match self.argv.get(self.pos) {
            Some(v) => {
                self.pos += 1;
                Some(Opt::WithValue(c, v.to_string_lossy().into_owned()))
            }
            None => Some(Opt::Error(format!(
                "{}: option requires an argument -- '{c}'",
                self.prog()
            ))),
        }
    }

    /// Moves to the next argument that holds options; None at the end.
    fn load_cluster(&mut self) -> Option<()> {
        while !self.done {
            let Some(arg) = self.argv.get(self.pos) else {
                self.done = true;
                break;
            };
            let bytes = arg.as_encoded_bytes();
            if bytes == b"--" {
                self.pos += 1;
                self.done = true;
                break;
            }
            if bytes.len() > 1 && bytes.first() == Some(&b'-') {
                self.pos += 1;
                self.cluster = arg.to_string_lossy().chars().skip(1).collect();
                return Some(());
            }
            if !self.permute {
                self.done = true;
                break;
            }
            self.operands.push(arg.clone());
            self.pos += 1;
        }
        None
    }

    /// The operands: those skipped over, then everything not yet read.
    fn rest(mut self) -> Vec<OsString> {
        self.operands
            .extend(self.argv.iter().skip(self.pos).cloned());
        self.operands
    }
}

fn basename(argv0: Option<&OsString>) -> String {
    argv0
        .map(|a| {
            let p = std::path::Path::new(a);
            p.file_name()
                .unwrap_or(a.as_os_str())
                .to_string_lossy()
                .into_owned()
        })
        .unwrap_or_else(|| "tini".into())
}

fn tini_usage(argv: &[OsString]) -> String {
    TINI_USAGE
        .replace("{name}", &basename(argv.first()))
        .replace("{version}", version::VERSION)
}

/// `[FATAL tini (PID)] ...`, as tini prints its fatal errors.
fn tini_fatal(text: &str) -> String {
    format!("[FATAL tini ({})] {text}\n", std::process::id())
}

/// tini's `-p` takes exactly the names of its table (`SIGKILL`, not `KILL`,
/// `9` or `sigkill`).
fn tini_signal(name: &str) -> Option<i32> {
    const TABLE: &[&str] = &[
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGSYS",
    ];
    if !TABLE.contains(&name) {
        return None;
    }
    crate::os::signals::parse(name).ok()
}

/// tini's `-e`: strtol over the whole value, 0 to 255.
fn tini_exit_code(text: &str) -> Option<i32> {
    // strtol of "" reads nothing and stops at the end: tini takes it as 0.
    if text.is_empty() {
        return Some(0);
    }
    let t = text.trim_start();
    let body = t.strip_prefix(['+', '-']).unwrap_or(t);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = atoi(t);
    (0..=255).contains(&n).then_some(n as i32)
}

/// tini's command line. Every message an exit carries is the anchor's
/// text to the byte, ending in its own newline (main prints it as is).
pub fn parse_tini(argv: Vec<OsString>) -> Result<Options, Exit> {
    tini(argv)
}

/// dumb-init's command line (messages as `parse_tini`'s).
pub fn parse_dumb_init(argv: Vec<OsString>) -> Result<Options, Exit> {
    dumb_init(argv)
}

fn tini(argv: Vec<OsString>) -> Result<Options, Exit> {
    let flavor = Flavor::Tini;
    // tini handles --version only when it is the one argument.
    if argv.len() == 2 && argv.get(1).is_some_and(|a| a == "--version") {
        return Err(exit(format!("{}\n", tini_version_line()), 0, false));
    }
    let mut o = base(flavor, Mode::Cascade, 0, DrainOptions::default());
    let mut verbosity: i64 = 1;
    let mut g = ShortOpts::new(&argv, "p:hvwgle:s", "pe", true);
    while let Some(opt) = g.next_opt() {
        match opt {
            Opt::Flag('h') => return Err(exit(tini_usage(&argv), 0, false)),
            Opt::Flag('l') => return Err(exit(LICENSE.into(), 0, false)),
            Opt::Flag('s') => {}
            Opt::Flag('w') => o.warn_on_reap = true,
            Opt::Flag('g') => o.mode = Mode::Group,
            Opt::Flag('v') => verbosity += 1,
            Opt::WithValue('p', v) => match tini_signal(&v) {
                Some(sig) => o.pdeathsig = Some(sig),
                None => {
                    return Err(exit(
                        tini_fatal(&format!("Not a valid option for -p: {v}")),
                        1,
                        true,
                    ))
                }
            },
            Opt::WithValue('e', v) => match tini_exit_code(&v) {
                Some(code) if !o.remap_exit.contains(&code) => o.remap_exit.push(code),
                Some(_) => {}
                None => {
                    return Err(exit(
                        tini_fatal(&format!("Not a valid option for -e: {v}")),
                        1,
                        true,
                    ))
                }
            },
            Opt::Error(line) => {
                return Err(exit(format!("{line}\n{}", tini_usage(&argv)), 1, true))
            }
            Opt::Flag(_) | Opt::WithValue(..) => return Err(exit(tini_usage(&argv), 1, true)),
        }
    }
    o.command = g.rest();
    if o.command.is_empty() {
        return Err(exit(tini_usage(&argv), 1, true));
    }
    // tini reads its variables after the options: TINI_VERBOSITY wins over -v.
    if std::env::var_os("TINI_KILL_PROCESS_GROUP").is_some() {
        o.mode = Mode::Group;
    }
    if let Ok(v) = std::env::var("TINI_VERBOSITY") {
        verbosity = atoi(&v);
    }
    // tini ignores SIGTTIN and SIGTTOU (to hand the terminal over) and so
    // never forwards them.
    o.rewrites.insert(libc::SIGTTIN, 0);
    o.rewrites.insert(libc::SIGTTOU, 0);
    // tini's own level: logging renders its lines by it.
    o.verbosity = u8::try_from(verbosity.clamp(0, 255)).unwrap_or(0);
    match drain_from_env(flavor) {
        Ok(drain) => o.drain = drain,
        Err(e) => return Err(e),
    }
    Ok(o)
}

/// dumb-init's long options: name, short equivalent, takes a value.
const DUMB_INIT_LONG: &[(&str, char, bool)] = &[
    ("help", 'h', false),
    ("single-child", 'c', false),
    ("rewrite", 'r', true),
    ("verbose", 'v', false),
    ("version", 'V', false),
];

/// glibc getopt_long's handling of one `--name[=value]` argument: exact
/// name, or an unambiguous prefix. `next` is the following argument.
fn dumb_init_long(prog: &str, arg: &str, next: Option<&OsString>) -> (Opt, bool) {
    let (name, inline) = match arg.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (arg, None),
    };
    let exact = DUMB_INIT_LONG.iter().find(|(n, ..)| *n == name);
    let matches: Vec<_> = DUMB_INIT_LONG
        .iter()
        .filter(|(n, ..)| n.starts_with(name))
        .collect();
    let found = match (exact, matches.as_slice()) {
        (Some(e), _) => e,
        (None, [one]) => *one,
        (None, []) => {
            return (
                Opt::Error(format!("{prog}: unrecognized option '--{arg}'")),
                false,
            )
        }
        (None, many) => {
            let list: String = many.iter().map(|(n, ..)| format!(" '--{n}'")).collect();
            return (
                Opt::Error(format!(
                    "{prog}: option '--{name}' is ambiguous; possibilities:{list}"
                )),
                false,
            );
        }
    };
    let (full, short, takes) = *found;
    match (takes, inline, next) {
        (false, None, _) => (Opt::Flag(short), false),
        (false, Some(_), _) => (
            Opt::Error(format!(
                "{prog}: option '--{full}' doesn't allow an argument"
            )),
            false,
        ),
        (true, Some(v), _) => (Opt::WithValue(short, v.to_string()), false),
        (true, None, Some(v)) => (
            Opt::WithValue(short, v.to_string_lossy().into_owned()),
            true,
        ),
        (true, None, None) => (
            Opt::Error(format!("{prog}: option '--{full}' requires an argument")),
            false,
        ),
    }
}

/// C's `sscanf(arg, "%d:%d")` == 2, as dumb-init reads `-r`.
fn scan_pair(text: &str) -> Option<(i64, i64)> {
    fn int(s: &str) -> Option<(i64, &str)> {
        let t = s.trim_start();
        let sign_len = usize::from(t.starts_with(['+', '-']));
        let digits = t[sign_len..].bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let end = sign_len + digits;
        Some((atoi(&t[..end]), &t[end..]))
    }
    let (a, rest) = int(text)?;
    let rest = rest.strip_prefix(':')?;
    let (b, _) = int(rest)?;
    Some((a, b))
}

fn dumb_init_rewrite(value: &str) -> Option<(i32, i32)> {
    let (from, to) = scan_pair(value)?;
    let from = i32::try_from(from).ok()?;
    let to = i32::try_from(to).ok()?;
    ((1..=DUMB_INIT_MAXSIG).contains(&from) && (0..=DUMB_INIT_MAXSIG).contains(&to))
        .then_some((from, to))
}

/// dumb-init's options in order; `Err` is the exit to take.
fn dumb_init_options(argv: &[OsString], o: &mut Options) -> Result<usize, Exit> {
    let prog = argv
        .first()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut pos = 1;
    let mut g = ShortOpts::new(argv, "hvVcr:", "r", false);
    loop {
        let opt = if g.cluster.is_empty() {
            let Some(arg) = argv.get(pos).map(|a| a.to_string_lossy().into_owned()) else {
                break;
            };
            if arg == "--" {
                pos += 1;
                break;
            }
            if let Some(long) = arg.strip_prefix("--") {
                let (opt, used_next) = dumb_init_long(&prog, long, argv.get(pos + 1));
                pos += 1 + usize::from(used_next);
                opt
            } else if arg.len() > 1 && arg.starts_with('-') {
                g.pos = pos;
                let opt = g.next_opt();
                pos = g.pos;
                match opt {
                    Some(opt) => opt,
                    None => break,
                }
            } else {
                break;
            }
        } else {
            g.pos = pos;
            let opt = g.next_opt();
            pos = g.pos;
            match opt {
                Some(opt) => opt,
                None => break,
            }
        };
        match opt {
            Opt::Flag('h') => {
                let help = DUMB_INIT_HELP
                    .replace("{name}", &prog)
                    .replace("{version}", version::VERSION);
                return Err(exit(help, 0, true));
            }
            Opt::Flag('V') => {
                return Err(exit(format!("dumb-init v{}\n", version::VERSION), 0, true))
            }
            Opt::Flag('v') => o.verbosity = 1,
            Opt::Flag('c') => o.mode = Mode::SingleChild,
            Opt::WithValue('r', v) => match dumb_init_rewrite(&v) {
                Some((from, to)) => o.rewrites.insert(from, to),
                None => return Err(exit(DUMB_INIT_REWRITE_USAGE.into(), 1, true)),
            },
            Opt::Error(line) => return Err(exit(format!("{line}\n"), 1, true)),
            // getopt's default case: dumb-init exits 1 and says nothing.
            Opt::Flag(_) | Opt::WithValue(..) => return Err(exit(String::new(), 1, false)),
        }
    }
    Ok(pos)
}

fn dumb_init(argv: Vec<OsString>) -> Result<Options, Exit> {
    let flavor = Flavor::DumbInit;
    let mut o = base(flavor, Mode::Group, 0, DrainOptions::default());
    let pos = dumb_init_options(&argv, &mut o)?;
    o.command = argv.iter().skip(pos).cloned().collect();
    if o.command.is_empty() {
        let prog = argv
            .first()
            .map(|a| a.to_string_lossy().into_owned())
            .unwrap_or_default();
        return Err(exit(
            format!("Usage: {prog} [option] program [args]\nTry {prog} --help for full usage.\n"),
            1,
            true,
        ));
    }
    // dumb-init compares both variables with strcmp: only "1" turns debug
    // on, only "0" turns setsid off. It prints these lines at once.
    if std::env::var_os("DUMB_INIT_DEBUG").is_some_and(|v| v == "1") {
        o.verbosity = 1;
        crate::logging::stderr_line("[dumb-init] Running in debug mode.");
    }
    if std::env::var_os("DUMB_INIT_SETSID").is_some_and(|v| v == "0") {
        o.mode = Mode::SingleChild;
        if o.verbosity >= 1 {
            crate::logging::stderr_line("[dumb-init] Not running in setsid mode.");
        }
    }
    // setsid mode rewrites the terminal stop signals to SIGSTOP unless -r
    // already rewrote them (dumb-init's set_rewrite_to_sigstop_if_not_defined).
    if o.mode == Mode::Group {
        for sig in [libc::SIGTSTP, libc::SIGTTOU, libc::SIGTTIN] {
            if !o.rewrites.contains(sig) {
                o.rewrites.insert(sig, libc::SIGSTOP);
            }
        }
    }
    match drain_from_env(flavor) {
        Ok(drain) => o.drain = drain,
        Err(e) => return Err(e),
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    fn opts(parsed: Result<Options, Exit>) -> Options {
        match parsed {
            Ok(o) => o,
            Err(e) => panic!("exit: {}", e.message),
        }
    }

    fn exit_of(parsed: Result<Options, Exit>) -> (String, i32, bool) {
        match parsed {
            Err(e) => (e.message, e.code, e.to_stderr),
            Ok(_) => panic!("should exit"),
        }
    }

    #[test]
    fn tini_flags() {
        let o = opts(tini(argv(&[
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
        assert_eq!(o.remap_exit, [143]);
        assert_eq!(o.pdeathsig, Some(libc::SIGKILL));
        assert!(o.warn_on_reap);
        assert_eq!(o.command, ["java", "-jar"]);
    }

    #[test]
    fn tini_permutes_like_glibc_getopt() {
        let o = opts(tini(argv(&["tini", "sleep", "-g", "5", "--", "-x"])));
        assert_eq!(o.mode, Mode::Group);
        assert_eq!(o.command, ["sleep", "5", "-x"]);
        let (msg, code, err) = exit_of(tini(argv(&["tini", "grep", "-E", "x"])));
        assert!(msg.starts_with("tini: invalid option -- 'E'\ntini (tini version"));
        assert_eq!((code, err), (1, true));
    }

    #[test]
    fn tini_usage_errors_exit_1() {
        for a in [
            &["tini", "-x", "true"][..],
            &["tini"],
            &["tini", "-e", "999", "true"],
            &["tini", "-p", "KILL", "true"],
            &["tini", "--version", "true"],
        ] {
            let (_, code, to_stderr) = exit_of(tini(argv(a)));
            assert_eq!((code, to_stderr), (1, true), "{a:?}");
        }
        let (msg, ..) = exit_of(tini(argv(&["/sbin/docker-init"])));
        assert!(msg.starts_with("docker-init (tini version "), "{msg}");
    }

    #[test]
    fn tini_version_keeps_dockers_shape() {
        let (msg, code, to_stderr) = exit_of(tini(argv(&["tini", "--version"])));
        assert_eq!((code, to_stderr), (0, false));
        assert!(
            msg.starts_with("tini version ") && msg.ends_with('\n'),
            "{msg}"
        );
    }

    #[test]
    fn dumb_init_flags() {
        let o = opts(dumb_init(argv(&[
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
        assert_eq!(o.rewrites.apply(libc::SIGTSTP), Some(libc::SIGTSTP));
        assert_eq!(o.verbosity, 1);
        let o = opts(dumb_init(argv(&["dumb-init", "app", "-c"])));
        assert_eq!(o.mode, Mode::Group, "setsid mode is dumb-init's default");
        assert_eq!(o.rewrites.apply(libc::SIGTSTP), Some(libc::SIGSTOP));
        assert_eq!(o.command, ["app", "-c"]);
        let o = opts(dumb_init(argv(&[
            "dumb-init",
            "-r",
            "20:0",
            "--single",
            "x",
        ])));
        assert_eq!(o.mode, Mode::SingleChild);
        assert_eq!(o.rewrites.apply(libc::SIGTSTP), None);
    }

    #[test]
    fn dumb_init_rewrite_is_sscanf() {
        assert_eq!(dumb_init_rewrite("15:3"), Some((15, 3)));
        assert_eq!(dumb_init_rewrite(" 15: 3junk"), Some((15, 3)));
        assert_eq!(dumb_init_rewrite("31:0"), Some((31, 0)));
        for bad in [
            "TERM:QUIT",
            "0:1",
            "32:1",
            "1:32",
            "15",
            "15:",
            ":3",
            "1:-1",
        ] {
            assert_eq!(dumb_init_rewrite(bad), None, "{bad}");
        }
        let (msg, code, _) = exit_of(dumb_init(argv(&["dumb-init", "-r", "x", "a"])));
        assert_eq!((msg.as_str(), code), (DUMB_INIT_REWRITE_USAGE, 1));
    }

    #[test]
    fn dumb_init_getopt_long_errors() {
        for (a, want) in [
            (
                &["dumb-init", "-x", "a"][..],
                "dumb-init: invalid option -- 'x'\n",
            ),
            (
                &["dumb-init", "--bogus", "a"],
                "dumb-init: unrecognized option '--bogus'\n",
            ),
            (
                &["dumb-init", "-r"],
                "dumb-init: option requires an argument -- 'r'\n",
            ),
            (
                &["dumb-init", "--ver", "a"],
                "dumb-init: option '--ver' is ambiguous; possibilities: '--verbose' '--version'\n",
            ),
            (
                &["dumb-init", "--help=1", "a"],
                "dumb-init: option '--help' doesn't allow an argument\n",
            ),
            (
                &["dumb-init"],
                "Usage: dumb-init [option] program [args]\nTry dumb-init --help for full usage.\n",
            ),
        ] {
            let (msg, code, to_stderr) = exit_of(dumb_init(argv(a)));
            assert_eq!((msg.as_str(), code, to_stderr), (want, 1, true), "{a:?}");
        }
    }

    #[test]
    fn c_parsers() {
        assert_eq!(atoi(" 3x"), 3);
        assert_eq!(atoi("x"), 0);
        assert_eq!(atoi("-2"), -2);
        assert_eq!(tini_exit_code("143"), Some(143));
        assert_eq!(tini_exit_code("143x"), None);
        assert_eq!(tini_exit_code("256"), None);
        assert_eq!(tini_signal("SIGKILL"), Some(9));
        assert_eq!(tini_signal("KILL"), None);
        assert_eq!(tini_signal("9"), None);
    }
}
