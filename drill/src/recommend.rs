//! The drainit flags that make an image drain on a platform: a drain delay
//! that outlasts the endpoint lag, a grace that ends before the platform's
//! SIGKILL, the drain signal the image stops with. Pure.

use std::time::Duration;

use crate::duration::show;
use crate::platform::Settings;

#[derive(Clone, Debug, PartialEq)]
pub struct Recommendation {
    /// drainit's flags, e.g. `--drain-delay=3.0s --grace=25.0s`.
    pub flags: Vec<String>,
    pub drain_delay: Duration,
    pub grace: Duration,
    /// A line for the user when the platform's grace leaves too little.
    pub warning: Option<String>,
}

/// What drainit's grace leaves before the platform's SIGKILL (the margin
/// `drainit explain` asks for).
pub const MARGIN: Duration = Duration::from_secs(2);

/// The shortest grace drainit is given to drain the app.
const MIN_GRACE: Duration = Duration::from_secs(1);

/// `stop_signal`: the image's STOPSIGNAL (`SIGQUIT`, `QUIT`, `3`; empty for
/// the default SIGTERM); `command`: its entrypoint and cmd.
pub fn recommend(settings: &Settings, stop_signal: &str, command: &[String]) -> Recommendation {
    let plan = settings.stop_plan();
    // The part of the endpoint lag still to run when the stop signal comes.
    let lag_left = plan.removal_at.saturating_sub(plan.signal_at);
    let drain_delay = if lag_left.is_zero() {
        Duration::ZERO
    } else {
        round_up(lag_left + (lag_left / 2).max(Duration::from_secs(1)))
    };
    let budget = settings.budget_after_signal();
    let margin = MARGIN;
    let room = budget.saturating_sub(drain_delay + margin);
    let grace = round_down(room).max(MIN_GRACE);
    let warning = (room < MIN_GRACE).then(|| {
        let needed = settings.grace + (drain_delay + MIN_GRACE + margin).saturating_sub(budget);
        format!(
            "the platform's grace leaves {} after the stop signal: raise it to at least {} \
             (terminationGracePeriodSeconds, docker stop -t, stopTimeout)",
            show(budget),
            show(round_up(needed))
        )
    });
    let mut flags = Vec::new();
    if !drain_delay.is_zero() {
        flags.push(format!("--drain-delay={}", show(drain_delay)));
    }
    flags.push(format!("--grace={}", show(grace)));
    let signal = normalize_signal(stop_signal);
    if signal != "TERM" {
        // drainit drains on the signal the platform sends (the image's
        // STOPSIGNAL) and forwards it as it is.
        flags.push(format!("--drain-signal={signal}"));
    } else if command.iter().any(|a| a.ends_with("nginx")) {
        // nginx stops at once on TERM; QUIT is its graceful stop.
        flags.push("--rewrite=TERM:QUIT".into());
    }
    Recommendation {
        flags,
        drain_delay,
        grace,
        warning,
    }
}

/// `SIGQUIT`, `quit`, `3` → `QUIT`; empty → `TERM`.
pub fn normalize_signal(s: &str) -> String {
    let s = s.trim();
    if s.is_empty() {
        return "TERM".into();
    }
    let upper = s.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    match name {
        "1" => "HUP".into(),
        "2" => "INT".into(),
        "3" => "QUIT".into(),
        "9" => "KILL".into(),
        "10" => "USR1".into(),
        "12" => "USR2".into(),
        "15" => "TERM".into(),
        "28" => "WINCH".into(),
        _ => name.to_string(),
    }
}

fn round_up(d: Duration) -> Duration {
    let tenths = d.as_millis().div_ceil(100);
    Duration::from_millis(tenths as u64 * 100)
}

fn round_down(d: Duration) -> Duration {
    Duration::from_millis((d.as_millis() / 100) as u64 * 100)
}

/// The platform grace after the stop signal that `drainit explain` is
/// given and compose's stop_grace_period shows:
/// the platform's when the flags fit it; when they do not (the
/// recommendation's warning), the least that fits them, in whole seconds
/// as terminationGracePeriodSeconds takes it: what the warning asks for.
pub fn grace_after_signal(rec: &Recommendation, budget: Duration) -> Duration {
    if rec.warning.is_none() {
        return budget;
    }
    let least = rec.drain_delay + rec.grace + MARGIN;
    Duration::from_secs(least.as_millis().div_ceil(1000) as u64).max(budget)
}

/// What the report shows of `drainit explain`: all of it when the flags
/// fit; when explain says they do not, its timeline and its one line, and
/// not the "Matching ... settings" it printed before that line (they do
/// not match).
pub fn explain_text(fits: bool, stdout: &str, stderr: &str) -> String {
    if fits {
        return format!("{stdout}{stderr}");
    }
    let timeline = stdout
        .split("\nMatching ")
        .next()
        .unwrap_or_default()
        .trim_end();
    let line = stderr
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    format!("{timeline}\n\nnote: {line}\n")
}

/// The Dockerfile lines that put drainit in front of the image's command,
/// and one line saying which case the image is.
#[derive(Clone, Debug, PartialEq)]
pub struct DockerfileLines {
    /// e.g. "the image has no ENTRYPOINT: CMD stays as it is and runs
    /// under drainit".
    pub case: String,
    /// `ENTRYPOINT ["/drainit", FLAGS..., "--", ENTRYPOINT...]`.
    pub entrypoint: String,
    /// `CMD [...]`, the image's own, restated (None when it has none): a
    /// Dockerfile that sets ENTRYPOINT resets the CMD it inherits FROM the
    /// image, so a derived image must say it again.
    pub cmd: Option<String>,
}

/// With an ENTRYPOINT, drainit goes in front of it and the CMD stays its
/// arguments (`drainit FLAGS -- ENTRYPOINT... CMD...`); without one,
/// `ENTRYPOINT ["/drainit", FLAGS, "--"]` and the CMD is the command
/// drainit runs. Either way the process is drainit, then the image's own
/// entrypoint and cmd, as the drill's drainit variant runs it.
pub fn dockerfile(flags: &[String], entrypoint: &[String], cmd: &[String]) -> DockerfileLines {
    let mut words: Vec<String> = vec!["/drainit".into()];
    words.extend(flags.iter().cloned());
    words.push("--".into());
    words.extend(entrypoint.iter().cloned());
    let restate = " (restated below: a Dockerfile that sets ENTRYPOINT resets the inherited CMD)";
    let case = match (entrypoint.is_empty(), cmd.is_empty()) {
        (true, false) => format!("the image has no ENTRYPOINT: CMD stays as it is and runs under drainit{restate}"),
        (true, true) => "the image has neither ENTRYPOINT nor CMD: give drainit the command after \"--\"".into(),
        (false, false) => format!(
            "the image has an ENTRYPOINT ({}): drainit goes in front of it and CMD stays as it is{restate}",
            entrypoint.join(" ")
        ),
        (false, true) => format!(
            "the image has an ENTRYPOINT ({}) and no CMD: drainit goes in front of it",
            entrypoint.join(" ")
        ),
    };
    DockerfileLines {
        case,
        entrypoint: format!("ENTRYPOINT {}", json_array(&words)),
        cmd: (!cmd.is_empty()).then(|| format!("CMD {}", json_array(cmd))),
    }
}

/// `["a", "b"]`: the exec form of a Dockerfile instruction.
fn json_array(words: &[String]) -> String {
    let quoted: Vec<String> = words
        .iter()
        .map(|w| serde_json::to_string(w).unwrap_or_else(|_| format!("\"{w}\"")))
        .collect();
    format!("[{}]", quoted.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::Platform;

    fn k8s(lag_ms: u64, grace_s: u64, prestop_s: u64) -> Settings {
        Settings {
            platform: Platform::Kubernetes,
            lag: Duration::from_millis(lag_ms),
            grace: Duration::from_secs(grace_s),
            prestop_sleep: Duration::from_secs(prestop_s),
            deregistration_delay: Duration::ZERO,
        }
    }

    #[test]
    fn kubernetes_defaults() {
        let r = recommend(&k8s(2000, 30, 0), "", &[]);
        assert_eq!(r.flags, ["--drain-delay=3.0s", "--grace=25.0s"]);
        assert_eq!(r.warning, None);
    }

    #[test]
    fn short_lag_and_grace() {
        let r = recommend(&k8s(500, 5, 0), "SIGTERM", &[]);
        assert_eq!(r.flags, ["--drain-delay=1.5s", "--grace=1.5s"]);
    }

    #[test]
    fn prestop_covers_the_lag() {
        let r = recommend(&k8s(2000, 50, 40), "", &[]);
        assert_eq!(r.flags, ["--grace=8.0s"]);
    }

    #[test]
    fn stop_signals() {
        let r = recommend(&k8s(2000, 30, 0), "SIGQUIT", &[]);
        assert!(r.flags.contains(&"--drain-signal=QUIT".to_string()));
        let r = recommend(&k8s(2000, 30, 0), "", &["/usr/sbin/nginx".into()]);
        assert!(r.flags.contains(&"--rewrite=TERM:QUIT".to_string()));
        assert_eq!(normalize_signal("3"), "QUIT");
        assert_eq!(normalize_signal("sigterm"), "TERM");
    }

    #[test]
    fn a_grace_too_short_is_said() {
        let r = recommend(&k8s(2000, 3, 0), "", &[]);
        assert_eq!(r.grace, MIN_GRACE);
        assert!(r.warning.is_some());
    }

    /// A grace too short for the flags: explain is given the grace the
    /// warning asks for, never the one that does not fit; a misfit explain
    /// still finds loses its "Matching" settings.
    #[test]
    fn explain_is_given_a_grace_that_fits() {
        let settings = k8s(2000, 3, 0);
        let r = recommend(&settings, "", &[]);
        assert!(r.warning.as_deref().unwrap().contains("at least 6.0s"));
        assert_eq!(
            grace_after_signal(&r, settings.budget_after_signal()),
            Duration::from_secs(6)
        );
        let settings = k8s(2000, 30, 0);
        let r = recommend(&settings, "", &[]);
        assert_eq!(
            grace_after_signal(&r, settings.budget_after_signal()),
            Duration::from_secs(30)
        );
        let out = "Shutdown timeline:\n  t=0 readiness off\n\nMatching Kubernetes settings:\nspec:\n  terminationGracePeriodSeconds: 3\n";
        let shown = explain_text(false, out, "drainit explain: does not fit: raise it\n");
        assert!(!shown.contains("terminationGracePeriodSeconds"), "{shown}");
        assert!(shown.contains("t=0 readiness off"));
        assert!(shown.ends_with("note: drainit explain: does not fit: raise it\n"));
        assert_eq!(explain_text(true, out, ""), out);
    }

    #[test]
    fn an_image_with_an_entrypoint() {
        let d = dockerfile(
            &["--grace=5.0s".into()],
            &["/app.sh".into()],
            &["--listen".into(), ":8080".into()],
        );
        assert_eq!(
            d.entrypoint,
            r#"ENTRYPOINT ["/drainit", "--grace=5.0s", "--", "/app.sh"]"#
        );
        assert_eq!(d.cmd.as_deref(), Some(r#"CMD ["--listen", ":8080"]"#));
        assert!(
            d.case.starts_with(
                "the image has an ENTRYPOINT (/app.sh): drainit goes in front of it and CMD stays as it is"
            ),
            "{}",
            d.case
        );
        assert_eq!(d.case.lines().count(), 1);
        // No CMD: nothing restated.
        let d = dockerfile(&[], &["/app.sh".into()], &[]);
        assert_eq!(d.entrypoint, r#"ENTRYPOINT ["/drainit", "--", "/app.sh"]"#);
        assert_eq!(d.cmd, None);
        assert!(d.case.contains("and no CMD"), "{}", d.case);
    }

    #[test]
    fn an_image_without_an_entrypoint() {
        let d = dockerfile(
            &["--drain-delay=3.0s".into(), "--grace=25.0s".into()],
            &[],
            &["nginx".into(), "-g".into(), "daemon off;".into()],
        );
        assert_eq!(
            d.entrypoint,
            r#"ENTRYPOINT ["/drainit", "--drain-delay=3.0s", "--grace=25.0s", "--"]"#
        );
        assert_eq!(
            d.cmd.as_deref(),
            Some(r#"CMD ["nginx", "-g", "daemon off;"]"#)
        );
        assert!(
            d.case.starts_with(
                "the image has no ENTRYPOINT: CMD stays as it is and runs under drainit"
            ),
            "{}",
            d.case
        );
        assert_eq!(d.case.lines().count(), 1);
    }
}
