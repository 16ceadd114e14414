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

/// The Dockerfile line that puts drainit in front of the image's own
/// entrypoint (the image's CMD stays as it is).
pub fn entrypoint_line(flags: &[String], entrypoint: &[String]) -> String {
    let mut words: Vec<String> = vec!["/drainit".into()];
    words.extend(flags.iter().cloned());
    words.push("--".into());
    words.extend(entrypoint.iter().cloned());
    let quoted: Vec<String> = words
        .iter()
        .map(|w| serde_json::to_string(w).unwrap_or_else(|_| format!("\"{w}\"")))
        .collect();
    format!("ENTRYPOINT [{}]", quoted.join(", "))
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

    #[test]
    fn entrypoint() {
        assert_eq!(
            entrypoint_line(&["--grace=5.0s".into()], &["/app.sh".into()]),
            r#"ENTRYPOINT ["/drainit", "--grace=5.0s", "--", "/app.sh"]"#
        );
    }
}
