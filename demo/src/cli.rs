//! Command line and `DEMO_*` environment parsing.
//!
//! Hand-written rather than clap: the demo has seven flags, and tests need an
//! exact exit status (2) and a one-line message that names the bad option.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub const USAGE: &str = "\
usage: drainit-demo [OPTIONS]

  --listen ADDR            address to listen on (DEMO_LISTEN, default 0.0.0.0:8080)
  --work DURATION          time each / or /work request takes (DEMO_WORK, default 200ms)
  --on-term MODE           SIGTERM/SIGINT: graceful|immediate|ignore (DEMO_ON_TERM, default graceful)
  --drain-timeout DURATION graceful drain limit, then exit 1 (DEMO_DRAIN_TIMEOUT, default 30s)
  --marker PATH            write 'drained <n> requests' here after a drain (DEMO_MARKER)
  --ready-after DURATION   /health is 503 until then (DEMO_READY_AFTER, default 0)
  --signal-log PATH        append the name of each signal received (DEMO_SIGNAL_LOG)

SIGQUIT always drains gracefully. Durations: 500ms, 2s, 1m30s, 1h, 1.5 (seconds).
Routes: / and /work (any method), GET /health, POST /fail-health, POST /pass-health.
";

/// What to do on SIGTERM (and SIGINT).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnTerm {
    Graceful,
    Immediate,
    Ignore,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub listen: SocketAddr,
    pub work: Duration,
    pub on_term: OnTerm,
    pub drain_timeout: Duration,
    pub marker: Option<PathBuf>,
    pub ready_after: Duration,
    pub signal_log: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([0, 0, 0, 0], 8080)),
            work: Duration::from_millis(200),
            on_term: OnTerm::Graceful,
            drain_timeout: Duration::from_secs(30),
            marker: None,
            ready_after: Duration::ZERO,
            signal_log: None,
        }
    }
}

/// The outcome of parsing: run with a config, or print help.
#[derive(Debug, PartialEq)]
pub enum Command {
    Run(Config),
    Help,
}

/// Flag name, environment variable.
const OPTIONS: &[(&str, &str)] = &[
    ("--listen", "DEMO_LISTEN"),
    ("--work", "DEMO_WORK"),
    ("--on-term", "DEMO_ON_TERM"),
    ("--drain-timeout", "DEMO_DRAIN_TIMEOUT"),
    ("--marker", "DEMO_MARKER"),
    ("--ready-after", "DEMO_READY_AFTER"),
    ("--signal-log", "DEMO_SIGNAL_LOG"),
];

/// Parses `args` (without argv[0]); `env` looks up environment variables.
/// Environment values apply first so that flags override them.
pub fn parse(
    args: impl IntoIterator<Item = String>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Command, String> {
    let mut cfg = Config::default();
    for (flag, var) in OPTIONS {
        if let Some(value) = env(var).filter(|v| !v.is_empty()) {
            apply(&mut cfg, flag, &value).map_err(|e| format!("{var}: {e}"))?;
        }
    }
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "-h" || arg == "--help" {
            return Ok(Command::Help);
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f.to_string(), Some(v.to_string())),
            None => (arg, None),
        };
        if !OPTIONS.iter().any(|(f, _)| *f == flag) {
            return Err(format!("unknown argument '{flag}' (see --help)"));
        }
        let value = inline
            .or_else(|| args.next())
            .ok_or_else(|| format!("{flag}: missing value"))?;
        apply(&mut cfg, &flag, &value).map_err(|e| format!("{flag}: {e}"))?;
    }
    Ok(Command::Run(cfg))
}

fn apply(cfg: &mut Config, flag: &str, value: &str) -> Result<(), String> {
    match flag {
        "--listen" => cfg.listen = parse_addr(value)?,
        "--work" => cfg.work = parse_duration(value)?,
        "--on-term" => cfg.on_term = parse_on_term(value)?,
        "--drain-timeout" => cfg.drain_timeout = parse_duration(value)?,
        "--marker" => cfg.marker = Some(PathBuf::from(value)),
        "--ready-after" => cfg.ready_after = parse_duration(value)?,
        "--signal-log" => cfg.signal_log = Some(PathBuf::from(value)),
        _ => unreachable!("flag {flag} is listed in OPTIONS"),
    }
    Ok(())
}

/// `IP:PORT` (IPv6 as `[::1]:8080`), or a bare port meaning all IPv4 addresses.
fn parse_addr(s: &str) -> Result<SocketAddr, String> {
    if let Ok(port) = s.parse::<u16>() {
        return Ok(SocketAddr::from(([0, 0, 0, 0], port)));
    }
    s.parse()
        .map_err(|_| format!("invalid address '{s}' (expected IP:PORT, e.g. [::1]:8080)"))
}

fn parse_on_term(s: &str) -> Result<OnTerm, String> {
    match s {
        "graceful" => Ok(OnTerm::Graceful),
        "immediate" => Ok(OnTerm::Immediate),
        "ignore" => Ok(OnTerm::Ignore),
        _ => Err(format!(
            "invalid mode '{s}' (expected graceful, immediate or ignore)"
        )),
    }
}

/// Parses `500ms`, `2s`, `1m30s`, `1h`, `1.5s`; a plain number is seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration '{s}' (e.g. 500ms, 2s, 1m30s)");
    if s.is_empty() {
        return Err(bad());
    }
    if let Ok(secs) = s.parse::<f64>() {
        return Duration::try_from_secs_f64(secs).map_err(|_| bad());
    }
    let mut total = 0.0;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let unit_len = rest[num_len..]
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len() - num_len);
        let number: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        let scale = match &rest[num_len..num_len + unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += number * scale;
        rest = &rest[num_len + unit_len..];
    }
    Duration::try_from_secs_f64(total).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str], env: &[(&str, &str)]) -> Result<Config, String> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let lookup = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        match parse(args.iter().map(|a| a.to_string()), lookup)? {
            Command::Run(cfg) => Ok(cfg),
            Command::Help => Err("help".into()),
        }
    }

    #[test]
    fn durations() {
        let ms = |n| Duration::from_millis(n);
        assert_eq!(parse_duration("500ms"), Ok(ms(500)));
        assert_eq!(parse_duration("2s"), Ok(ms(2000)));
        assert_eq!(parse_duration("1m30s"), Ok(ms(90_000)));
        assert_eq!(parse_duration("3"), Ok(ms(3000)));
        assert_eq!(parse_duration("0.25"), Ok(ms(250)));
        assert_eq!(parse_duration("1h"), Ok(ms(3_600_000)));
        for bad in ["", "ms", "2x", "-1", "1s2", "s1"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn defaults_env_and_flags() {
        assert_eq!(run(&[], &[]), Ok(Config::default()));
        let cfg = run(
            &["--listen", "[::1]:9000", "--on-term=ignore"],
            &[("DEMO_LISTEN", "127.0.0.1:1"), ("DEMO_WORK", "1s")],
        )
        .unwrap();
        assert_eq!(cfg.listen, "[::1]:9000".parse().unwrap());
        assert_eq!(cfg.work, Duration::from_secs(1));
        assert_eq!(cfg.on_term, OnTerm::Ignore);
        assert_eq!(
            run(&["8081"], &[]).unwrap_err(),
            "unknown argument '8081' (see --help)"
        );
        assert_eq!(run(&["--listen", "8081"], &[]).unwrap().listen.port(), 8081);
    }

    #[test]
    fn errors_name_the_option() {
        assert!(run(&["--work", "soon"], &[])
            .unwrap_err()
            .starts_with("--work:"));
        assert!(run(&["--marker"], &[])
            .unwrap_err()
            .starts_with("--marker:"));
        assert!(run(&[], &[("DEMO_ON_TERM", "x")])
            .unwrap_err()
            .starts_with("DEMO_ON_TERM:"));
        assert_eq!(run(&["-h"], &[]), Err("help".into()));
    }
}
