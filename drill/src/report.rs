//! The report: the terminal table and failure timeline, and the JSON for
//! CI. Pure: formatting only.

use std::fmt::Write as _;

use serde::Serialize;

use crate::duration::show;
use crate::platform::Settings;
use crate::run::VariantReport;
use crate::tally;
use crate::timeline::Line;

/// Everything a drill found, as `--json` writes it.
#[derive(Serialize)]
pub struct Report {
    pub image: String,
    pub platform: &'static str,
    pub settings: SettingsJson,
    pub rate: f64,
    pub replicas: usize,
    pub variants: Vec<VariantJson>,
    pub recommendation: RecommendationJson,
    pub exit_code: i32,
}

#[derive(Serialize)]
pub struct SettingsJson {
    pub lag_s: f64,
    pub grace_s: f64,
    pub prestop_sleep_s: f64,
    pub deregistration_delay_s: f64,
    pub stop_signal_at_s: f64,
    pub sigkill_at_s: f64,
}

#[derive(Serialize)]
pub struct VariantJson {
    pub name: String,
    pub flags: Vec<String>,
    pub requests: u64,
    pub failed: u64,
    pub failures: std::collections::BTreeMap<String, u64>,
    pub latency_ms: LatencyJson,
    pub replicas: Vec<ReplicaJson>,
    /// The balancer's address and its own count of requests (every
    /// client's, not only the drill's).
    pub balancer: BalancerJson,
}

#[derive(Serialize)]
pub struct BalancerJson {
    pub addr: String,
    pub requests: u64,
    pub failed: u64,
}

#[derive(Serialize)]
pub struct LatencyJson {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

#[derive(Serialize)]
pub struct ReplicaJson {
    pub replica: usize,
    pub container: String,
    pub stop_s: Option<f64>,
    pub exit_code: Option<i64>,
    pub ending: Option<String>,
    pub sigkilled: bool,
    pub oom_killed: bool,
    pub failed: usize,
    /// Failed requests routed to it, seconds after its stop began.
    pub failures_at_s: Vec<f64>,
    pub timeline: Vec<Line>,
}

#[derive(Serialize, Clone, Default)]
pub struct RecommendationJson {
    pub flags: Vec<String>,
    /// Which case the image is (with or without an ENTRYPOINT), one line.
    pub case: String,
    pub entrypoint: String,
    /// The image's CMD restated, when it has one.
    pub cmd: Option<String>,
    pub warning: Option<String>,
    /// `drainit explain` for these flags (timeline, Kubernetes settings).
    pub explain: String,
    pub compose: String,
}

fn ms(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

fn round3(x: f64) -> f64 {
    (x * 1e3).round() / 1e3
}

pub fn settings_json(s: &Settings) -> SettingsJson {
    let plan = s.stop_plan();
    SettingsJson {
        lag_s: s.lag.as_secs_f64(),
        grace_s: s.grace.as_secs_f64(),
        prestop_sleep_s: s.prestop_sleep.as_secs_f64(),
        deregistration_delay_s: s.deregistration_delay.as_secs_f64(),
        stop_signal_at_s: plan.signal_at.as_secs_f64(),
        sigkill_at_s: plan.kill_at.as_secs_f64(),
    }
}

pub fn variant_json(v: &VariantReport) -> VariantJson {
    VariantJson {
        name: v.name.clone(),
        flags: v.flags.clone(),
        requests: v.summary.requests,
        failed: v.summary.failed,
        failures: v.summary.failures.clone(),
        latency_ms: LatencyJson {
            p50: ms(v.summary.p50),
            p99: ms(v.summary.p99),
            max: ms(v.summary.max),
        },
        replicas: v
            .replicas
            .iter()
            .map(|r| ReplicaJson {
                replica: r.id,
                container: r.container.clone(),
                stop_s: r.stop.map(|d| round3(d.as_secs_f64())),
                exit_code: r.exit_code,
                ending: r
                    .ending
                    .map(|e| e.describe(r.exit_code.unwrap_or_default())),
                sigkilled: r.sigkilled,
                oom_killed: r.oom_killed,
                failed: r.failures.len(),
                failures_at_s: r.failures.iter().map(|t| round3(*t)).collect(),
                timeline: r
                    .timeline
                    .iter()
                    .map(|l| Line {
                        at: round3(l.at),
                        ..l.clone()
                    })
                    .collect(),
            })
            .collect(),
        balancer: BalancerJson {
            addr: v.balancer_addr.to_string(),
            requests: v.balancer_requests,
            failed: v.balancer_failed,
        },
    }
}

/// The terminal report.
pub fn text(report: &Report, variants: &[VariantReport], settings: &Settings) -> String {
    let mut out = String::new();
    let plan = settings.stop_plan();
    let _ = writeln!(
        out,
        "\ndrainit drill {}: {} (endpoint gone {} after the stop, stop signal at {}, SIGKILL at {}), {} replicas, {} requests/s\n",
        report.image,
        report.platform,
        show(plan.removal_at),
        show(plan.signal_at),
        show(plan.kill_at),
        report.replicas,
        report.rate
    );
    let name_width = variants
        .iter()
        .map(|v| label(v).len())
        .max()
        .unwrap_or(7)
        .max(7);
    let kinds: Vec<String> = variants.iter().map(|v| kinds(&v.summary)).collect();
    let kinds_width = kinds.iter().map(String::len).max().unwrap_or(8).max(8);
    let _ = writeln!(
        out,
        "{:<name_width$}  {:>8}  {:>6}  {:<kinds_width$}  {:>8}  {:>8}  {:>8}",
        "variant", "requests", "failed", "failures", "p50", "p99", "max"
    );
    for (v, kinds) in variants.iter().zip(&kinds) {
        let _ = writeln!(
            out,
            "{:<name_width$}  {:>8}  {:>6}  {:<kinds_width$}  {:>8}  {:>8}  {:>8}",
            label(v),
            v.summary.requests,
            v.summary.failed,
            kinds,
            latency(v.summary.p50),
            latency(v.summary.p99),
            latency(v.summary.max)
        );
    }
    for v in variants {
        let _ = writeln!(out, "\n{}:", label(v));
        let _ = writeln!(
            out,
            "  {:<8} {:>10}  {:>5}  {:<40}  failed",
            "replica", "stop→exit", "exit", "ending"
        );
        for r in &v.replicas {
            let _ = writeln!(
                out,
                "  {:<8} {:>10}  {:>5}  {:<40}  {}",
                r.id,
                r.stop
                    .map_or("-".into(), |d| format!("{:.2}s", d.as_secs_f64())),
                r.exit_code.map_or("-".into(), |c| c.to_string()),
                r.ending.map_or("still running".into(), |e| e
                    .describe(r.exit_code.unwrap_or_default())),
                r.failures.len()
            );
            for l in &r.timeline {
                let _ = writeln!(out, "      t={:+.2}s  {}", l.at, l.message);
            }
        }
        out.push_str(&strip(v, settings));
    }
    let rec = &report.recommendation;
    let _ = writeln!(out, "\nRecommended for {}:", report.platform);
    let _ = writeln!(out, "  {}", rec.case);
    let _ = writeln!(out, "  {}", rec.entrypoint);
    if let Some(cmd) = &rec.cmd {
        let _ = writeln!(out, "  {cmd}");
    }
    if let Some(w) = &rec.warning {
        let _ = writeln!(out, "  note: {w}");
    }
    if !rec.explain.is_empty() {
        let _ = writeln!(out, "\n{}", rec.explain.trim_end());
    }
    if !rec.compose.is_empty() {
        let _ = writeln!(
            out,
            "\nMatching compose settings:\n{}",
            rec.compose.trim_end()
        );
    }
    let verdict = if report.exit_code == 0 {
        "the image as built dropped no request"
    } else {
        "the image as built dropped requests"
    };
    let _ = writeln!(out, "\nverdict: {verdict} (exit {})", report.exit_code);
    out
}

fn label(v: &VariantReport) -> String {
    if v.flags.is_empty() || v.name != "drainit" {
        v.name.clone()
    } else {
        format!("drainit {}", v.flags.join(" "))
    }
}

/// `refused 5, timeout 143`, or `-`.
fn kinds(s: &tally::Summary) -> String {
    if s.failures.is_empty() {
        return "-".into();
    }
    s.failures
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn latency(d: std::time::Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 1000.0 {
        format!("{:.2}s", ms / 1000.0)
    } else {
        format!("{ms:.1}ms")
    }
}

/// Failures of all replicas over time relative to their stop, one column
/// per bucket, with the platform's marks under it.
fn strip(v: &VariantReport, settings: &Settings) -> String {
    let plan = settings.stop_plan();
    let times: Vec<f64> = v.replicas.iter().flat_map(|r| r.failures.clone()).collect();
    let last_stop = v
        .replicas
        .iter()
        .filter_map(|r| r.stop)
        .map(|d| d.as_secs_f64())
        .fold(0.0, f64::max);
    let last_fail = times.iter().copied().fold(0.0, f64::max);
    let end = last_stop
        .max(last_fail)
        .max(plan.removal_at.as_secs_f64())
        .max(plan.signal_at.as_secs_f64())
        + 0.5;
    let from = -1.0;
    let columns = 60usize;
    let width = (end - from) / columns as f64;
    let h = tally::histogram(&times, from, width, columns);
    let peak = h.iter().copied().max().unwrap_or(0);
    const BARS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let bars: String = h
        .iter()
        .map(|n| {
            if *n == 0 || peak == 0 {
                '·'
            } else {
                let i = (*n * 8).div_ceil(peak) as usize;
                BARS.get(i.min(8)).copied().unwrap_or('█')
            }
        })
        .collect();
    let mut marks = vec![' '; columns];
    let mut mark = |t: f64, c: char| {
        let i = ((t - from) / width).floor();
        if i >= 0.0 {
            if let Some(m) = marks.get_mut(i as usize) {
                *m = c;
            }
        }
    };
    mark(plan.removal_at.as_secs_f64(), 'L');
    mark(plan.signal_at.as_secs_f64(), 'S');
    mark(0.0, '0');
    let marks: String = marks.into_iter().collect();
    format!(
        "  failures |{bars}| {} total, peak {peak} per {:.2}s\n           |{marks}| t from {from:.1}s to {end:.1}s after each stop; 0 stop, S stop signal, L endpoint gone\n",
        times.len(),
        width
    )
}

/// A compose service with drainit in front (the platform grace as
/// stop_grace_period). Compose ignores the image's CMD once `entrypoint`
/// is set, so the CMD is restated as `command`.
pub fn compose(entrypoint: &[String], cmd: &[String], grace: std::time::Duration) -> String {
    let list = |words: &[String]| {
        words
            .iter()
            .map(|w| serde_json::to_string(w).unwrap_or_default())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let command = if cmd.is_empty() {
        String::new()
    } else {
        format!("    command: [{}]\n", list(cmd))
    };
    format!(
        "services:\n  app:\n    entrypoint: [{}]\n{command}    stop_grace_period: {}\n    volumes:\n      - /usr/local/bin/drainit:/drainit:ro   # or COPY it into the image\n",
        list(entrypoint),
        show(grace)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::Platform;
    use crate::run::ReplicaReport;
    use crate::tally::{Outcome, Record};
    use std::time::Duration;

    fn variant(name: &str, outcomes: &[Outcome]) -> VariantReport {
        let records: Vec<Record> = outcomes
            .iter()
            .enumerate()
            .map(|(i, o)| Record {
                sent: Duration::from_millis(100 * i as u64),
                latency: Duration::from_millis(20),
                outcome: *o,
                replica: Some(0),
            })
            .collect();
        VariantReport {
            name: name.into(),
            flags: Vec::new(),
            summary: tally::summarize(&records),
            replicas: vec![ReplicaReport {
                id: 0,
                container: "abc".into(),
                stop: Some(Duration::from_millis(200)),
                exit_code: Some(0),
                sigkilled: false,
                oom_killed: false,
                ending: Some(crate::verdict::Ending::Graceful),
                timeline: Vec::new(),
                failures: tally::failures_of(&records, 0, Duration::ZERO),
            }],
            balancer_requests: records.len() as u64,
            balancer_failed: 0,
            balancer_addr: "127.0.0.1:1".parse().unwrap(),
        }
    }

    #[test]
    fn table_and_json_agree() {
        let settings = Settings {
            platform: Platform::Kubernetes,
            lag: Duration::from_secs(2),
            grace: Duration::from_secs(30),
            prestop_sleep: Duration::ZERO,
            deregistration_delay: Duration::ZERO,
        };
        let variants = [
            variant(
                "as-built",
                &[
                    Outcome::Answered(200),
                    Outcome::Refused,
                    Outcome::Timeout,
                    Outcome::Timeout,
                ],
            ),
            variant("drainit", &[Outcome::Answered(200), Outcome::Answered(200)]),
        ];
        let report = Report {
            image: "img".into(),
            platform: "kubernetes",
            settings: settings_json(&settings),
            rate: 10.0,
            replicas: 1,
            variants: variants.iter().map(variant_json).collect(),
            recommendation: RecommendationJson::default(),
            exit_code: 1,
        };
        let text = text(&report, &variants, &settings);
        let header = text.lines().find(|l| l.starts_with("variant")).unwrap();
        let row = text.lines().find(|l| l.starts_with("as-built ")).unwrap();
        assert!(row.contains("refused 1, timeout 2"), "{row}");
        // The columns line up: p50 ends where its header does.
        assert_eq!(
            header.find("p50").unwrap() + 3,
            row.find("20.0ms").unwrap() + 6
        );
        assert!(text.contains("dropped requests (exit 1)"));
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["variants"][0]["failed"], 3);
        assert_eq!(json["variants"][0]["latency_ms"]["p50"], 20.0);
        assert_eq!(json["variants"][1]["failures"], serde_json::json!({}));
    }
}
