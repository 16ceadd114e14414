//! `drainit explain`: prints the shutdown timeline that the given options
//! produce against the platform's deadline, checks that it fits, and
//! prints matching Kubernetes settings. Exit 0 when it fits, 1 when not.

use std::ffi::OsString;
use std::fmt::Write;
use std::time::Duration;

use clap::Parser;

use crate::cli::{clap_exit, DrainOptions, Invocation};
use crate::duration::show;
use crate::signals;

/// drainit must be done this long before the platform's SIGKILL, so its
/// own SIGKILL, reaping and exit land first.
pub const MARGIN: Duration = Duration::from_secs(2);

/// Print the shutdown timeline for these options and check that it fits.
#[derive(Debug, Parser)]
#[command(name = "drainit explain", version)]
pub struct ExplainArgs {
    #[command(flatten)]
    drain: DrainOptions,
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

pub fn parse(mut argv: Vec<OsString>) -> Invocation {
    argv.remove(1);
    match ExplainArgs::try_parse_from(argv) {
        Ok(args) => Invocation::Explain(Box::new(args)),
        Err(e) => clap_exit(e),
    }
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
    out.push('\n');
    out.push_str(&kubernetes_yaml(a));
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
            Invocation::Explain(e) => *e,
            _ => panic!("parse failed for {a:?}"),
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
