//! `drainit explain`: prints the shutdown timeline that the given options
//! produce against the platform's deadline, checks that it fits, and
//! prints matching Kubernetes settings. Exit 0 when it fits, 1 when not.

use std::ffi::OsString;
use std::fmt::Write;
use std::time::Duration;

use clap::Parser;

use crate::duration::show;
use crate::options::{clap_exit, DrainOptions, Exit, ForwardOptions};
use crate::signals;
use crate::supervisor::route::{default_action, DefaultAction};
use crate::supervisor::Mode;

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
    /// The platform's grace before SIGKILL (terminationGracePeriodSeconds, docker stop -t).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = crate::duration::parse)]
    termination_grace_period: Duration,
    /// The load balancer's idle/request timeout, if known (e.g. 60s for AWS ALB).
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse)]
    lb_idle_timeout: Option<Duration>,
    /// The process to describe (optional, shown in the YAML).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    command: Vec<OsString>,
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
    let tgp = a.termination_grace_period;
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
        "platform SIGKILL (terminationGracePeriodSeconds / docker stop -t)".into(),
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
    if let Some(lb) = a.lb_idle_timeout {
        let _ = writeln!(out, "  load balancer timeout: {}", show(lb));
        if tgp >= lb {
            problems.push(format!(
                "the platform grace {} must stay below the load balancer timeout {} (preStop 40s < grace 50s < ALB 60s)",
                show(tgp), show(lb)
            ));
        }
    }
    let (notes, mut bad) = routing(a);
    out.push_str(&notes);
    problems.append(&mut bad);
    out.push('\n');
    out.push_str(&kubernetes_yaml(a));
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

fn kubernetes_yaml(a: &ExplainArgs) -> String {
    let d = &a.drain;
    let tgp = a.termination_grace_period.as_secs_f64().ceil() as u64;
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
    fn rejects_a_platform_grace_above_the_lb_timeout() {
        let (_, problems) = explain(&args(&[
            "--termination-grace-period",
            "90s",
            "--lb-idle-timeout",
            "60s",
        ]));
        assert!(
            problems[0].contains("below the load balancer timeout"),
            "{problems:?}"
        );
    }
}
