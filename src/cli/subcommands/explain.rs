//! `drainit explain`: prints the shutdown timeline that the given options
//! produce against the platform's deadline, checks that it fits, and
//! prints matching Kubernetes settings. Exit 0 when it fits, 1 when not.

use std::ffi::OsString;
use std::fmt::Write;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::core::duration::show;
use crate::core::options::{clap_exit, DrainOptions, Exit, ForwardOptions};
use crate::core::supervisor::route::{default_action, DefaultAction};
use crate::core::supervisor::Mode;
use crate::os::signals;

/// drainit must be done this long before the platform's SIGKILL, so its
/// own SIGKILL, reaping and exit land first.
pub const MARGIN: Duration = Duration::from_secs(2);

/// Print the shutdown timeline for these options and check that it fits.
#[derive(Debug, Parser)]
#[command(name = "drainit explain", version)]
pub struct ExplainArgs {
    #[command(flatten)]
    drain: DrainOptions,
    #[command(flatten)]
    forward: ForwardOptions,
    /// The platform's grace before SIGKILL (terminationGracePeriodSeconds,
    /// ECS stopTimeout, Nomad kill_timeout, docker stop -t) [default: the
    /// least that fits, and at least the platform's default].
    #[arg(long, visible_alias = "platform-grace", value_name = "DURATION",
          value_parser = crate::core::duration::parse)]
    termination_grace_period: Option<Duration>,
    /// Where the container runs: names the platform's settings and defaults.
    #[arg(long, value_enum, default_value = "kubernetes")]
    platform: Platform,
    /// What routes traffic to it: checks the drain delay against the time
    /// it takes to stop routing, and names its timeouts.
    #[arg(long, value_enum, value_name = "BALANCER")]
    lb: Option<Balancer>,
    /// The load balancer's idle/request timeout (AWS ALB: 60s).
    #[arg(long, value_name = "DURATION", value_parser = crate::core::duration::parse)]
    lb_idle_timeout: Option<Duration>,
    /// The load balancer's deregistration delay (ALB/NLB target groups:
    /// 300s by default): must cover the drain delay and the grace.
    #[arg(long, value_name = "DURATION", value_parser = crate::core::duration::parse)]
    deregistration_delay: Option<Duration>,
    /// The process to describe (optional, shown in the YAML).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    command: Vec<OsString>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Platform {
    Kubernetes,
    Ecs,
    Nomad,
    Docker,
}

impl Platform {
    /// The setting that holds the platform's grace, and its default.
    pub fn grace_setting(self) -> (&'static str, Duration) {
        match self {
            Platform::Kubernetes => ("terminationGracePeriodSeconds", Duration::from_secs(30)),
            Platform::Ecs => ("stopTimeout", Duration::from_secs(30)),
            Platform::Nomad => ("kill_timeout", Duration::from_secs(5)),
            Platform::Docker => (
                "docker stop -t / stop_grace_period",
                Duration::from_secs(10),
            ),
        }
    }
}

/// What routes traffic to the container, with the figures the rule uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Balancer {
    KubeProxy,
    IngressNginx,
    Alb,
    Nlb,
}

/// A balancer's figures: the least drain delay that covers its routing
/// lag, its idle timeout and its deregistration delay (defaults), and
/// where they come from.
pub struct LbFigures {
    pub min_delay: Duration,
    pub idle_timeout: Option<Duration>,
    pub deregistration: Option<Duration>,
    pub source: &'static str,
}

impl Balancer {
    pub fn figures(self) -> LbFigures {
        let s = Duration::from_secs;
        match self {
            Balancer::KubeProxy => LbFigures {
                min_delay: s(5),
                idle_timeout: None,
                deregistration: None,
                source: "endpoint removal and SIGTERM start together (Kubernetes, Termination of Pods); \
                         kube-proxy rewrites its rules within about a second (--iptables-min-sync-period 1s)",
            },
            Balancer::IngressNginx => LbFigures {
                min_delay: s(5),
                idle_timeout: Some(s(60)),
                deregistration: None,
                source: "the controller applies endpoint changes without a reload, within seconds; \
                         proxy-read-timeout and upstream-keepalive-timeout default to 60s (ingress-nginx ConfigMap)",
            },
            Balancer::Alb => LbFigures {
                min_delay: s(40),
                idle_timeout: Some(s(60)),
                deregistration: Some(s(300)),
                source: "the AWS Load Balancer Controller deregisters the pod after it sees the endpoint go, and \
                         the ALB keeps routing for seconds more (reports run from 10s to over 30s: \
                         aws-load-balancer-controller #3270); idle timeout 60s and deregistration delay 300s \
                         by default (ELB documentation)",
            },
            Balancer::Nlb => LbFigures {
                min_delay: s(60),
                idle_timeout: Some(s(350)),
                deregistration: Some(s(300)),
                source: "NLB target deregistration reacts more slowly than ALB's (aws-load-balancer-controller #1834); \
                         TCP idle timeout 350s and deregistration delay 300s by default (ELB documentation)",
            },
        }
    }
}

/// `drainit explain ARGS...` (argv[1] is the subcommand's name).
pub fn parse(mut argv: Vec<OsString>) -> Result<ExplainArgs, Exit> {
    argv.remove(1);
    ExplainArgs::try_parse_from(argv).map_err(clap_exit)
}

pub fn run(args: ExplainArgs) -> i32 {
    let (text, problems) = explain(&args);
    print!("{text}");
    if problems.is_empty() {
        0
    } else {
        for p in &problems {
            eprintln!("drainit explain: does not fit: {p}");
        }
        1
    }
}

/// The report and the list of reasons it does not fit.
pub fn explain(a: &ExplainArgs) -> (String, Vec<String>) {
    let d = &a.drain;
    let delay = d.drain_delay.unwrap_or_default();
    let tgp = platform_grace(a);
    let (setting, _) = a.platform.grace_setting();
    let sigs: Vec<String> = d
        .drain_signals()
        .iter()
        .map(|s| signals::name(*s))
        .collect();
    let mut out = String::new();
    let mut problems = Vec::new();
    let _ = writeln!(
        out,
        "Shutdown timeline (t = 0 when the platform sends {}):",
        sigs.join(" or ")
    );
    let mut line = |t: String, what: String| {
        let _ = writeln!(out, "  {t:>12}  {what}");
    };
    line("t=0".into(), readiness_off(d));
    if let Some(q) = d.drain_quiet {
        let min = d.drain_min.unwrap_or(q);
        line(
            format!("t={}..{}", show(min), show(delay)),
            format!(
                "adaptive drain: forward once no new connection for {} (not before {}, not after {})",
                show(q), show(min), show(delay)
            ),
        );
        if min > delay {
            problems.push(format!(
                "--drain-min {} is longer than --drain-delay {}",
                show(min),
                show(delay)
            ));
        }
    } else if !delay.is_zero() {
        line(
            format!("t=0..{}", show(delay)),
            "drain delay: the app keeps serving while load balancers stop routing to it".into(),
        );
    }
    line(
        format!("t={}", show(delay)),
        format!("stop signal forwarded to the app{}", rewrite_note(d)),
    );
    let done = match d.grace {
        Some(g) => {
            line(
                format!("t={}", show(delay + g)),
                "grace deadline: SIGKILL to whatever is left of the tree, drainit exits".into(),
            );
            Some(delay + g)
        }
        None => {
            line("(no grace)".into(), "drainit never SIGKILLs the app itself: the platform's SIGKILL is the only deadline".into());
            None
        }
    };
    line(
        format!("t={}", show(tgp)),
        format!(
            "platform SIGKILL ({setting}{})",
            if a.termination_grace_period.is_some() {
                ""
            } else {
                ": the least that fits"
            }
        ),
    );
    let end = done.unwrap_or(delay);
    if end + MARGIN > tgp {
        problems.push(format!(
            "drain delay {} + grace {} = {} leaves less than {} before the platform's SIGKILL at {}: raise the platform grace to at least {}s or shorten the delay/grace",
            show(delay),
            d.grace.map(show).unwrap_or_else(|| "0s".into()),
            show(end),
            show(MARGIN),
            show(tgp),
            (end + MARGIN).as_secs_f64().ceil() as u64
        ));
    }
    balancer(
        a,
        delay + d.grace.unwrap_or_default(),
        &mut out,
        &mut problems,
    );
    if let Some(rule) = readiness_rule(d) {
        let _ = writeln!(out, "\nReadiness: {rule}");
    }
    let (notes, mut bad) = routing(a);
    out.push_str(&notes);
    problems.append(&mut bad);
    out.push('\n');
    match a.platform {
        Platform::Kubernetes => out.push_str(&kubernetes_yaml(a)),
        p => out.push_str(&platform_settings(a, p)),
    }
    (out, problems)
}

/// `TERM` for SIGTERM: the spelling `-r` and `--drain-signal` take.
fn short(sig: i32) -> String {
    signals::name(sig).trim_start_matches("SIG").to_string()
}

/// What the command is, as far as routing signals goes.
#[derive(Debug, PartialEq, Eq)]
enum Wrapping {
    /// `sh -c SCRIPT` (bash, dash, ash, busybox sh, ...), not an `exec`.
    Shell(String),
    /// A shell script file (a `#!` line naming a shell) with no `exec` line.
    ScriptFile(String),
    /// An exec'd program, a script that execs, or nothing known.
    None,
}

const SHELLS: &[&str] = &["sh", "bash", "dash", "ash", "zsh", "ksh", "mksh"];

fn is_shell(path: &str) -> bool {
    let base = path.rsplit('/').next().unwrap_or(path);
    SHELLS.contains(&base)
}

fn execs(script: &str) -> bool {
    script.lines().any(|l| {
        l.trim_start().starts_with("exec ") && !l.contains("exec >") && !l.contains("exec 2>")
    })
}

fn wrapping(command: &[OsString]) -> Wrapping {
    let words: Vec<String> = command
        .iter()
        .map(|w| w.to_string_lossy().into_owned())
        .collect();
    let Some(first) = words.first() else {
        return Wrapping::None;
    };
    let busybox_sh =
        first.ends_with("busybox") && words.get(1).is_some_and(|w| w == "sh" || w == "ash");
    if is_shell(first) || busybox_sh {
        let dash_c = words
            .iter()
            .position(|w| w.starts_with('-') && !w.starts_with("--") && w.contains('c'));
        return match dash_c.and_then(|i| words.get(i + 1)) {
            Some(script) if !script.trim_start().starts_with("exec ") => {
                Wrapping::Shell(script.clone())
            }
            Some(_) => Wrapping::None,
            // `sh script.sh`
            None => words
                .get(1 + usize::from(busybox_sh))
                .map_or(Wrapping::None, |f| script_file(f, true)),
        };
    }
    script_file(first, false)
}

/// A script file, read when it exists here (explain may run elsewhere).
fn script_file(path: &str, shell_known: bool) -> Wrapping {
    let Ok(text) = std::fs::read(path) else {
        return Wrapping::None;
    };
    let text = String::from_utf8_lossy(&text).into_owned();
    let interp = text
        .strip_prefix("#!")
        .and_then(|l| l.lines().next())
        .map(|l| {
            let mut w = l.split_whitespace();
            match w.next() {
                Some(env) if env.ends_with("/env") => w.next().unwrap_or("").to_string(),
                Some(p) => p.to_string(),
                None => String::new(),
            }
        });
    let shell = shell_known || interp.as_deref().is_some_and(is_shell);
    if shell && !execs(&text) {
        Wrapping::ScriptFile(path.to_string())
    } else {
        Wrapping::None
    }
}

/// Whether a `trap` in `script` names `sig` (by name, SIG name or number).
fn traps(script: &str, sig: i32) -> bool {
    let names = [short(sig), signals::name(sig), sig.to_string()];
    script.lines().any(|line| {
        let Some(at) = line.find("trap ") else {
            return false;
        };
        let rest = line.get(at + 5..).unwrap_or_default();
        // `trap '' SIG` ignores it and `trap - SIG` resets it: no handler.
        let action = rest.trim_start();
        if ["''", "\"\"", "- "].iter().any(|a| action.starts_with(a)) {
            return false;
        }
        // The signal list follows the action: after its closing quote if
        // it is quoted, else after the first word.
        let list = match rest.rfind(['\'', '"']) {
            Some(q) => rest.get(q + 1..).unwrap_or_default(),
            None => rest.trim_start().split_once(' ').map_or("", |(_, l)| l),
        };
        list.split([';', '&', '|'])
            .next()
            .unwrap_or("")
            .split_whitespace()
            .any(|w| names.iter().any(|n| n.eq_ignore_ascii_case(w)))
    })
}

/// What a plain shell (dash) waiting for a command does with `sig`.
fn shell_reaction(sig: i32) -> &'static str {
    if sig == libc::SIGINT {
        return "catches it and waits for the command (dash and busybox then exit 130)";
    }
    match default_action(sig) {
        DefaultAction::Ignore | DefaultAction::Continue => "ignores it",
        DefaultAction::Stop => "stops",
        DefaultAction::Terminate if sig == libc::SIGQUIT => {
            "dies of it (dash; bash and busybox ignore it)"
        }
        DefaultAction::Terminate => "dies of it",
    }
}

/// The "Signal routing" lines, and the setups where the stop signal
/// cannot reach the app behind a shell wrapper.
fn routing(a: &ExplainArgs) -> (String, Vec<String>) {
    let rewrites = a.forward.rewrite_table();
    let wrap = wrapping(&a.command);
    let (mode, flag) = match a.forward.mode() {
        Mode::Group => ("process group (-g)", "-g"),
        Mode::SingleChild => ("single child (-c)", "-c"),
        Mode::Cascade => ("cascade", ""),
    };
    let mut out = format!("\nSignal routing ({mode}):\n");
    let mut problems = Vec::new();
    let what = match &wrap {
        Wrapping::Shell(_) => "the command is a shell wrapper (sh -c without exec)".to_string(),
        Wrapping::ScriptFile(p) => format!("the command is a shell script without exec ({p})"),
        Wrapping::None => String::new(),
    };
    if !what.is_empty() {
        let _ = writeln!(out, "  {what}");
    }
    let script = match &wrap {
        Wrapping::Shell(s) => Some(s.clone()),
        Wrapping::ScriptFile(p) => std::fs::read_to_string(p).ok(),
        Wrapping::None => None,
    };
    for from in a.drain.drain_signals() {
        let Some(sig) = rewrites.apply(from) else {
            let _ = writeln!(
                out,
                "  warning: the stop signal {} is dropped by a rewrite: nothing asks the app to stop",
                signals::name(from)
            );
            continue;
        };
        let name = signals::name(sig);
        let shown = if sig == from {
            name.clone()
        } else {
            format!("{} (from {})", name, signals::name(from))
        };
        let trapped = script.as_deref().is_some_and(|s| traps(s, sig));
        let wrapped = !matches!(wrap, Wrapping::None);
        let reaction = shell_reaction(sig);
        let code = 128 + sig;
        match (flag, wrapped) {
            ("", true) if trapped => {
                let _ = writeln!(out, "  {shown}: to the script, which traps it: its trap must pass it on (kill -{} \"$pid\"; wait \"$pid\"), and does not run while the shell waits for a foreground command", short(sig));
            }
            ("", _) => {
                let _ = writeln!(out, "  {shown}: to the program a wrapper shell runs (the shell is passed over); a process that handles it gets it and stops its own children");
            }
            ("-g", true)
                if sig == libc::SIGINT
                    || default_action(sig) == DefaultAction::Terminate && !trapped =>
            {
                let _ = writeln!(out, "  warning: with -g, {shown} reaches the wrapper shell too, which {reaction}: its remaining commands do not run and drainit exits {code}; a pre-fork master's workers get it directly too. Drop -g (cascade routing passes over the shell) or exec the app");
            }
            ("-g", true) => {
                let _ = writeln!(out, "  {shown}: to the whole process group, the wrapper shell included, which {reaction}");
            }
            ("-g", false)
                if sig == libc::SIGINT || default_action(sig) == DefaultAction::Terminate =>
            {
                let _ = writeln!(out, "  {shown}: to the whole process group; if COMMAND is a shell wrapper without exec, the shell {reaction} (drainit then exits {code})");
            }
            ("-g", false) => {
                let _ = writeln!(out, "  {shown}: to the whole process group");
            }
            (_, true) if trapped => {
                let _ = writeln!(
                    out,
                    "  {shown}: to the script only, which traps it: its trap must pass it on"
                );
            }
            (_, true) => {
                let after = match default_action(sig) {
                    DefaultAction::Terminate if sig != libc::SIGINT => format!("; drainit exits {code} and -c never signals what the shell leaves behind, so the app is SIGKILLed without a stop signal"),
                    _ if a.drain.grace.is_some() => "; the app is SIGKILLed at the grace deadline".to_string(),
                    _ => "; without --grace, nothing stops the app until the platform's SIGKILL".to_string(),
                };
                problems.push(format!("with -c, {shown} goes to the wrapper shell only, which {reaction}: the app never gets it{after}. Drop -c (cascade routing passes over the shell) or exec the app"));
                let _ = writeln!(
                    out,
                    "  {shown}: to the wrapper shell only: the app never gets it (see below)"
                );
            }
            (_, false) => {
                let _ = writeln!(out, "  {shown}: to the direct child only; if COMMAND is a shell wrapper without exec, the shell {reaction} and the app never gets it");
            }
        }
    }
    (out, problems)
}

/// When readiness turns on, in one sentence (none when nobody reads it).
fn readiness_rule(d: &DrainOptions) -> Option<String> {
    if !d.readiness_read() {
        return None;
    }
    Some(match (&d.ready_url, &d.ready_tcp) {
        (Some(u), _) => format!("ready while GET {u} answers 2xx, checked every {}", show(d.ready_interval)),
        (None, Some(t)) => format!("ready while a TCP connect to {t} succeeds, checked every {}", show(d.ready_interval)),
        _ if !d.waits_for_accept() => "ready as soon as the app runs (--ready-on start)".into(),
        _ => format!(
            "ready once the app listens on a TCP port and a connection to it succeeds; an app that listens on nothing within {} is a worker, ready while it runs",
            show(d.worker_after.unwrap_or(crate::io::readiness::listen::WORKER_AFTER))
        ),
    })
}

fn readiness_off(d: &DrainOptions) -> String {
    let mut parts = vec!["readiness off".to_string()];
    if let Some(addr) = d.http {
        parts.push(format!("GET http://{addr}/ready answers 503"));
    }
    if let Some(p) = &d.ready_file {
        parts.push(format!("{} removed", p.display()));
    }
    if let Some(u) = &d.drain_url {
        parts.push(format!("POST {u}"));
    }
    parts.join(", ")
}

fn rewrite_note(d: &DrainOptions) -> String {
    if d.grace.is_none() && d.drain_delay.is_none() {
        " (no drain options: at once, as tini would)".into()
    } else {
        String::new()
    }
}

/// The platform grace: as given, or the least that fits drainit's
/// timeline (delay + grace + margin), and never below the platform's
/// default.
pub fn platform_grace(a: &ExplainArgs) -> Duration {
    if let Some(g) = a.termination_grace_period {
        return g;
    }
    let d = &a.drain;
    let end = d.drain_delay.unwrap_or_default() + d.grace.unwrap_or_default() + MARGIN;
    let whole = Duration::from_secs(end.as_secs() + u64::from(end.subsec_nanos() > 0));
    whole.max(a.platform.grace_setting().1)
}

/// The load balancer lines and checks: the drain delay covers its routing
/// lag, its deregistration delay covers the drain (delay + grace).
fn balancer(a: &ExplainArgs, drain: Duration, out: &mut String, problems: &mut Vec<String>) {
    let delay = a.drain.drain_delay.unwrap_or_default();
    let fig = a.lb.map(Balancer::figures);
    let idle = a
        .lb_idle_timeout
        .or(fig.as_ref().and_then(|f| f.idle_timeout));
    let dereg = a
        .deregistration_delay
        .or(fig.as_ref().and_then(|f| f.deregistration));
    if fig.is_none() && idle.is_none() && dereg.is_none() {
        return;
    }
    let _ = writeln!(out, "\nLoad balancer:");
    if let (Some(f), Some(lb)) = (&fig, a.lb) {
        let name = lb
            .to_possible_value()
            .map(|v| v.get_name().to_string())
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {name}: allow {} of drain delay for it to stop routing new requests ({})",
            show(f.min_delay),
            f.source
        );
        if delay < f.min_delay && a.platform != Platform::Ecs {
            problems.push(format!(
                "--drain-delay {} is shorter than the {} {name} needs to stop routing: requests still arrive after the app stopped listening; use --drain-delay {}",
                show(delay),
                show(f.min_delay),
                show(f.min_delay)
            ));
        }
    }
    if let Some(idle) = idle {
        let _ = writeln!(
            out,
            "  idle timeout {}: keep the app's keep-alive timeout above it (or the balancer reuses connections the app closed: 502); a request can last that long, so a --grace shorter than it can cut the slowest ones",
            show(idle)
        );
    }
    if let (Some(dereg), Platform::Ecs) = (dereg, a.platform) {
        let _ = writeln!(
            out,
            "  deregistration delay {}: ECS waits it out before the stop signal, so it adds to the stop, not to drainit's timeline",
            show(dereg)
        );
    } else if let Some(dereg) = dereg {
        let _ = writeln!(
            out,
            "  deregistration delay {}: in-flight requests are cut after it; it must cover drain delay + grace ({})",
            show(dereg),
            show(drain)
        );
        if dereg < drain {
            problems.push(format!(
                "the deregistration delay {} is shorter than drain delay + grace {}: the balancer cuts requests the app is still finishing; raise it to {}s",
                show(dereg),
                show(drain),
                drain.as_secs_f64().ceil() as u64
            ));
        }
    }
}

/// The matching settings outside Kubernetes: the platform grace by its name.
fn platform_settings(a: &ExplainArgs, p: Platform) -> String {
    let g = platform_grace(a).as_secs_f64().ceil() as u64;
    let line = match p {
        Platform::Ecs => format!("ECS container definition: \"stopTimeout\": {g} (Fargate allows up to 120)"),
        Platform::Nomad => format!(
            "Nomad task: kill_timeout = \"{g}s\" (and no shutdown_delay: it would add to the drain delay)"
        ),
        _ => format!("docker stop -t {g}; compose: stop_grace_period: {g}s"),
    };
    format!("Matching settings:\n  {line}\n")
}

fn kubernetes_yaml(a: &ExplainArgs) -> String {
    let d = &a.drain;
    let tgp = platform_grace(a).as_secs_f64().ceil() as u64;
    let mut y = String::from("Matching Kubernetes settings (no preStop hook needed):\n");
    let _ = writeln!(
        y,
        "spec:\n  terminationGracePeriodSeconds: {tgp}\n  containers:\n    - name: app"
    );
    let mut args: Vec<String> = Vec::new();
    if let Some(v) = d.drain_delay {
        args.push(format!("--drain-delay={}", show(v)));
    }
    if let Some(v) = d.grace {
        args.push(format!("--grace={}", show(v)));
    }
    if let Some(v) = d.drain_quiet {
        args.push(format!("--drain-quiet={}", show(v)));
    }
    if let Some(v) = d.http {
        args.push(format!("--http={v}"));
    }
    if let Some(v) = &d.ready_file {
        args.push(format!("--ready-file={}", v.display()));
    }
    if a.forward.process_group {
        args.push("--process-group".into());
    }
    if a.forward.single_child {
        args.push("--single-child".into());
    }
    for &(from, to) in &a.forward.rewrites {
        let to = if to == 0 { "0".into() } else { short(to) };
        args.push(format!("--rewrite={}:{to}", short(from)));
    }
    let cmd: Vec<String> = a
        .command
        .iter()
        .map(|c| c.to_string_lossy().into_owned())
        .collect();
    let mut entry = vec!["/drainit".to_string()];
    entry.extend(args);
    entry.push("--".into());
    entry.extend(cmd);
    let quoted: Vec<String> = entry.iter().map(|s| format!("\"{s}\"")).collect();
    let _ = writeln!(y, "      command: [{}]", quoted.join(", "));
    let period = d.ready_interval.as_secs().max(1);
    if let Some(addr) = d.http {
        let _ = writeln!(
            y,
            "      readinessProbe:\n        httpGet: {{ path: /ready, port: {} }}\n        periodSeconds: {period}\n        failureThreshold: 1",
            addr.port()
        );
    } else if let Some(p) = &d.ready_file {
        let _ = writeln!(
            y,
            "      readinessProbe:\n        exec: {{ command: [\"/drainit\", \"check\", \"--ready-file\", \"{}\"] }}\n        periodSeconds: {period}\n        failureThreshold: 1",
            p.display()
        );
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> ExplainArgs {
        let mut argv = vec!["drainit", "explain"];
        argv.extend(a);
        match parse(argv.into_iter().map(OsString::from).collect()) {
            Ok(e) => e,
            Err(e) => panic!("parse failed for {a:?}: {}", e.message),
        }
    }

    #[test]
    fn fits_the_field_rule() {
        let a = args(&[
            "--drain-delay",
            "40s",
            "--grace",
            "8s",
            "--termination-grace-period",
            "50s",
            "--lb-idle-timeout",
            "60s",
            "--http",
            "0.0.0.0:8081",
        ]);
        let (text, problems) = explain(&a);
        assert!(problems.is_empty(), "{problems:?}");
        assert!(text.contains("terminationGracePeriodSeconds: 50"), "{text}");
        assert!(text.contains("port: 8081"));
        assert!(text.contains("t=48.0s"));
    }

    #[test]
    fn rejects_a_drain_longer_than_the_platform_grace() {
        let (_, problems) = explain(&args(&[
            "--drain-delay",
            "40s",
            "--grace",
            "20s",
            "--termination-grace-period",
            "30s",
        ]));
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("62s"), "{problems:?}");
    }

    fn routing_of(a: &[&str]) -> (String, Vec<String>) {
        let (text, problems) = explain(&args(a));
        let section = text
            .split("Signal routing")
            .nth(1)
            .and_then(|s| s.split("Matching Kubernetes").next())
            .unwrap_or_default()
            .to_string();
        (section, problems)
    }

    #[test]
    fn single_child_mode_cannot_reach_the_app_behind_a_wrapper() {
        let (text, problems) = routing_of(&[
            "-c",
            "-r",
            "TERM:WINCH",
            "--grace",
            "10s",
            "--",
            "sh",
            "-c",
            "httpd -DFOREGROUND; echo done",
        ]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("with -c, SIGWINCH (from SIGTERM) goes to the wrapper shell only, which ignores it: the app never gets it; the app is SIGKILLed at the grace deadline"),
            "{problems:?}"
        );
        assert!(
            text.contains("shell wrapper (sh -c without exec)"),
            "{text}"
        );
        let (_, problems) = routing_of(&["-c", "-r", "TERM:QUIT", "--", "sh", "-c", "nginx; echo"]);
        assert!(problems[0].contains("which dies of it"), "{problems:?}");
        assert!(problems[0].contains("drainit exits 131"), "{problems:?}");
        let (_, problems) = routing_of(&["-c", "--", "bash", "-c", "app; echo"]);
        assert!(
            problems[0].contains("SIGTERM goes to the wrapper shell only"),
            "{problems:?}"
        );
    }

    #[test]
    fn group_mode_warns_that_the_wrapper_dies_of_the_stop_signal() {
        let (text, problems) = routing_of(&["-g", "--", "sh", "-c", "app; echo done"]);
        assert!(problems.is_empty(), "a warning, not a misfit: {problems:?}");
        assert!(text.contains("warning: with -g, SIGTERM reaches the wrapper shell too, which dies of it: its remaining commands do not run and drainit exits 143"), "{text}");
        let (text, problems) =
            routing_of(&["-g", "-r", "TERM:WINCH", "--", "sh", "-c", "httpd; echo"]);
        assert!(problems.is_empty());
        assert!(!text.contains("warning"), "{text}");
        assert!(
            text.contains("the wrapper shell included, which ignores it"),
            "{text}"
        );
        let (text, _) = routing_of(&["-g"]);
        assert!(text.contains("if COMMAND is a shell wrapper without exec, the shell dies of it (drainit then exits 143)"), "{text}");
    }

    #[test]
    fn cascade_mode_passes_over_the_wrapper() {
        let (text, problems) = routing_of(&["-r", "TERM:WINCH", "--", "sh", "-c", "httpd; echo"]);
        assert!(problems.is_empty(), "{problems:?}");
        assert!(text.contains("SIGWINCH (from SIGTERM): to the program a wrapper shell runs (the shell is passed over)"), "{text}");
        let (text, problems) = routing_of(&[
            "--",
            "sh",
            "-c",
            "trap 'kill -TERM $pid; wait $pid' TERM; app & pid=$!; wait $pid",
        ]);
        assert!(problems.is_empty());
        assert!(
            text.contains("SIGTERM: to the script, which traps it"),
            "{text}"
        );
    }

    #[test]
    fn an_execd_program_raises_nothing() {
        for cmd in [
            &["sh", "-c", "exec nginx -g 'daemon off;'"][..],
            &["/usr/sbin/nginx"][..],
        ] {
            let mut a = vec!["-c", "-r", "TERM:QUIT", "--"];
            a.extend(cmd);
            let (text, problems) = routing_of(&a);
            assert!(problems.is_empty(), "{cmd:?}: {problems:?}");
            assert!(
                text.contains("if COMMAND is a shell wrapper without exec, the shell dies of it"),
                "{text}"
            );
        }
    }

    #[test]
    fn script_files_are_read_when_present() {
        let dir = std::env::temp_dir().join(format!("drainit-explain-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let wrapper = dir.join("start.sh");
        std::fs::write(
            &wrapper,
            "#!/bin/sh\nset -e\nexec 2>&1\nhttpd -DFOREGROUND\necho done\n",
        )
        .unwrap();
        let execs = dir.join("exec.sh");
        std::fs::write(&execs, "#!/usr/bin/env bash\nexec httpd -DFOREGROUND\n").unwrap();
        let w = wrapper.to_str().unwrap();
        let (_, problems) = routing_of(&["-c", "-r", "TERM:WINCH", "--", w]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        let (_, problems) = routing_of(&["-c", "-r", "TERM:WINCH", "--", "sh", w]);
        assert_eq!(problems.len(), 1, "`sh start.sh`: {problems:?}");
        let (_, problems) = routing_of(&["-c", "-r", "TERM:WINCH", "--", execs.to_str().unwrap()]);
        assert!(problems.is_empty(), "{problems:?}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_dropped_stop_signal_is_a_warning() {
        let (text, _) = routing_of(&["-r", "TERM:0"]);
        assert!(
            text.contains("warning: the stop signal SIGTERM is dropped by a rewrite"),
            "{text}"
        );
    }

    #[test]
    fn traps_are_read_from_the_script() {
        assert!(traps("trap 'echo bye' TERM INT", libc::SIGTERM));
        assert!(traps(
            "trap \"kill -TERM $pid; wait $pid\" 15; app",
            libc::SIGTERM
        ));
        assert!(traps("trap cleanup SIGQUIT", libc::SIGQUIT));
        assert!(!traps("trap 'echo bye' INT", libc::SIGTERM));
        assert!(
            !traps("trap '' TERM; app", libc::SIGTERM),
            "ignoring is no handler"
        );
        assert!(!traps("trap - TERM", libc::SIGTERM));
        assert!(!traps("app --term-timeout 5", libc::SIGTERM));
    }

    #[test]
    fn the_yaml_command_keeps_the_routing_flags() {
        let (text, _) = explain(&args(&[
            "-c",
            "-r",
            "TERM:WINCH",
            "-r",
            "HUP:0",
            "--",
            "app",
        ]));
        assert!(
            text.contains("command: [\"/drainit\", \"--single-child\", \"--rewrite=TERM:WINCH\", \"--rewrite=HUP:0\", \"--\", \"app\"]"),
            "{text}"
        );
    }

    #[test]
    fn what_it_prints_as_matching_fits() {
        // Not given: the least platform grace that fits, never below 30s.
        let (text, problems) = explain(&args(&["--drain-delay", "10s", "--grace", "20s"]));
        assert!(problems.is_empty(), "{problems:?}");
        assert!(
            text.contains("terminationGracePeriodSeconds: 32\n"),
            "{text}"
        );
        let (text, _) = explain(&args(&["--drain-delay", "5s", "--grace", "10s"]));
        assert!(
            text.contains("terminationGracePeriodSeconds: 30\n"),
            "{text}"
        );
        let (text, _) = explain(&args(&["--drain-delay", "1500ms", "--grace", "29s"]));
        assert!(
            text.contains("terminationGracePeriodSeconds: 33\n"),
            "{text}"
        );
        // Given: printed as given, and a misfit is said.
        let (text, problems) = explain(&args(&[
            "--drain-delay",
            "10s",
            "--grace",
            "20s",
            "--termination-grace-period",
            "30s",
        ]));
        assert!(
            text.contains("terminationGracePeriodSeconds: 30\n"),
            "{text}"
        );
        assert_eq!(problems.len(), 1, "{problems:?}");
    }

    #[test]
    fn the_balancer_rule() {
        // ALB: 40s of drain delay, a deregistration delay covering the drain.
        let (text, problems) = explain(&args(&[
            "--lb",
            "alb",
            "--drain-delay",
            "40s",
            "--grace",
            "20s",
        ]));
        assert!(problems.is_empty(), "{problems:?}");
        assert!(
            text.contains("terminationGracePeriodSeconds: 62\n"),
            "{text}"
        );
        assert!(text.contains("deregistration delay 300s"), "{text}");
        let (_, problems) = explain(&args(&[
            "--lb",
            "alb",
            "--drain-delay",
            "5s",
            "--grace",
            "20s",
        ]));
        assert!(
            problems[0].contains("use --drain-delay 40.0s"),
            "{problems:?}"
        );
        let (_, problems) = explain(&args(&[
            "--lb",
            "alb",
            "--drain-delay",
            "40s",
            "--grace",
            "20s",
            "--deregistration-delay",
            "30s",
        ]));
        assert!(problems[0].contains("raise it to 60s"), "{problems:?}");
        // A platform grace above the balancer's idle timeout is fine.
        let (_, problems) = explain(&args(&[
            "--termination-grace-period",
            "90s",
            "--lb-idle-timeout",
            "60s",
        ]));
        assert!(problems.is_empty(), "{problems:?}");
        // ECS deregisters before the stop signal: no floor on the delay.
        let (text, problems) = explain(&args(&[
            "--platform",
            "ecs",
            "--lb",
            "alb",
            "--drain-delay",
            "5s",
            "--grace",
            "20s",
        ]));
        assert!(problems.is_empty(), "{problems:?}");
        assert!(text.contains("\"stopTimeout\": 30"), "{text}");
        let (text, _) = explain(&args(&[
            "--platform",
            "nomad",
            "--drain-delay",
            "5s",
            "--grace",
            "10s",
        ]));
        assert!(text.contains("kill_timeout = \"17s\""), "{text}");
    }
}
