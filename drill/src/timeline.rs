//! drainit's own account of a stop, read from its JSON log lines
//! (`DRAINIT_LOG_FORMAT=json`): readiness off, the stop signal forwarded to
//! which process, the exit; placed relative to the stop's beginning.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Line {
    /// Seconds since the stop began.
    pub at: f64,
    pub event: String,
    pub message: String,
}

/// The lines with an `event` field, relative to `stop` (wall clock).
pub fn parse(logs: &[String], stop: SystemTime) -> Vec<Line> {
    let zero = stop
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    logs.iter()
        .filter_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l.trim()).ok()?;
            let fields = v.get("fields")?;
            let event = fields.get("event")?.as_str()?.to_string();
            let message = fields.get("message")?.as_str()?.to_string();
            let at = rfc3339(v.get("timestamp")?.as_str()?)?.as_secs_f64() - zero;
            Some(Line { at, event, message })
        })
        .collect()
}

/// drainit SIGKILLed what was left at its grace.
pub fn drainit_killed(lines: &[Line]) -> bool {
    lines
        .iter()
        .any(|l| l.event == "grace_reached" || l.event == "killed")
}

/// `2026-12-06T11:50:16.651356Z` as time since the epoch (UTC only, as
/// drainit writes it).
pub fn rfc3339(s: &str) -> Option<Duration> {
    let num = |a: usize, b: usize| -> Option<i64> { s.get(a..b)?.parse().ok() };
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (h, mi, sec) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    let rest = s.get(19..)?.trim_end_matches('Z');
    let frac: f64 = if let Some(f) = rest.strip_prefix('.') {
        format!("0.{f}").parse().ok()?
    } else {
        0.0
    };
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec;
    Duration::try_from_secs_f64(secs as f64 + frac).ok()
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339("1970-01-01T00:00:00Z"), Some(Duration::ZERO));
        let t = rfc3339("2026-12-06T11:50:16.5Z").unwrap();
        assert_eq!(t.as_secs(), 1_796_557_816);
        assert_eq!(t.subsec_millis(), 500);
    }

    #[test]
    fn lines_relative_to_the_stop() {
        let logs = [
            r#"{"timestamp":"2026-12-06T11:50:16.651356Z","level":"INFO","fields":{"message":"readiness off","event":"readiness_off"}}"#.to_string(),
            "plain app output".to_string(),
            r#"{"timestamp":"2026-12-06T11:50:19.151356Z","level":"INFO","fields":{"message":"forwarded SIGTERM to the child after 2.5s","event":"forwarded"}}"#.to_string(),
        ];
        let stop = UNIX_EPOCH + rfc3339("2026-12-06T11:50:16.551356Z").unwrap();
        let lines = parse(&logs, stop);
        assert_eq!(lines.len(), 2);
        assert!((lines[0].at - 0.1).abs() < 1e-3);
        assert_eq!(lines[1].event, "forwarded");
        assert!((lines[1].at - 2.6).abs() < 1e-3);
        assert!(!drainit_killed(&lines));
    }
}
