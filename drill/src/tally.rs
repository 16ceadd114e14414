//! Per-request outcomes and their summary: counts by kind, latency
//! percentiles, failures placed on a replica's stop timeline. Pure.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::rollout::ReplicaId;

/// What became of one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// An HTTP answer below 500 (the app's own answer, 4xx included).
    Answered(u16),
    /// An HTTP answer of 500 or more from the app itself.
    ErrorStatus(u16),
    /// The connection was refused: nothing listened.
    Refused,
    /// The connection was reset.
    Reset,
    /// The connection closed before a full answer.
    Eof,
    /// No answer within the request timeout.
    Timeout,
    /// Any other transport error.
    Other,
}

impl Outcome {
    pub fn failed(self) -> bool {
        !matches!(self, Outcome::Answered(_))
    }

    /// The kind's name in the report and the JSON (`reset`, `http_503`).
    pub fn kind(self) -> String {
        match self {
            Outcome::Answered(code) => format!("http_{code}"),
            Outcome::ErrorStatus(code) => format!("http_{code}"),
            Outcome::Refused => "refused".into(),
            Outcome::Reset => "reset".into(),
            Outcome::Eof => "eof".into(),
            Outcome::Timeout => "timeout".into(),
            Outcome::Other => "error".into(),
        }
    }

    /// The inverse of [`Outcome::kind`] for failures (the balancer names
    /// the kind of an upstream failure in a header).
    pub fn from_kind(kind: &str) -> Option<Outcome> {
        Some(match kind {
            "refused" => Outcome::Refused,
            "reset" => Outcome::Reset,
            "eof" => Outcome::Eof,
            "timeout" => Outcome::Timeout,
            "error" => Outcome::Other,
            _ => return None,
        })
    }
}

/// One request, timestamped.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Record {
    /// When it was sent, since the drill began.
    pub sent: Duration,
    pub latency: Duration,
    pub outcome: Outcome,
    /// The replica the balancer sent it to, when known.
    pub replica: Option<ReplicaId>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    pub requests: u64,
    pub failed: u64,
    /// Failures by kind; the counts sum to `failed`.
    pub failures: BTreeMap<String, u64>,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

pub fn summarize(records: &[Record]) -> Summary {
    let mut s = Summary {
        requests: records.len() as u64,
        ..Summary::default()
    };
    for r in records.iter().filter(|r| r.outcome.failed()) {
        s.failed += 1;
        *s.failures.entry(r.outcome.kind()).or_default() += 1;
    }
    let mut latencies: Vec<Duration> = records.iter().map(|r| r.latency).collect();
    latencies.sort_unstable();
    s.p50 = percentile(&latencies, 50.0);
    s.p99 = percentile(&latencies, 99.0);
    s.max = latencies.last().copied().unwrap_or_default();
    s
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    let index = rank.clamp(1, sorted.len()) - 1;
    sorted.get(index).copied().unwrap_or_default()
}

/// The failures of requests routed to `replica`, in seconds relative to
/// `stop_at` (when its stop began).
pub fn failures_of(records: &[Record], replica: ReplicaId, stop_at: Duration) -> Vec<f64> {
    records
        .iter()
        .filter(|r| r.outcome.failed() && r.replica == Some(replica))
        .map(|r| r.sent.as_secs_f64() - stop_at.as_secs_f64())
        .collect()
}

/// Failure counts in buckets of `width` seconds from `from`: the terminal
/// timeline's histogram.
pub fn histogram(times: &[f64], from: f64, width: f64, buckets: usize) -> Vec<u64> {
    let mut h = vec![0; buckets];
    for t in times {
        let i = ((t - from) / width).floor();
        if i >= 0.0 {
            if let Some(b) = h.get_mut(i as usize) {
                *b += 1;
            }
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(ms: u64, latency: u64, outcome: Outcome, replica: usize) -> Record {
        Record {
            sent: Duration::from_millis(ms),
            latency: Duration::from_millis(latency),
            outcome,
            replica: Some(replica),
        }
    }

    #[test]
    fn counts_by_kind_sum_to_failed() {
        let recs = [
            rec(0, 10, Outcome::Answered(200), 0),
            rec(10, 20, Outcome::Answered(404), 0),
            rec(20, 1, Outcome::Reset, 1),
            rec(30, 1, Outcome::Reset, 1),
            rec(40, 5000, Outcome::Timeout, 2),
            rec(50, 3, Outcome::ErrorStatus(503), 0),
        ];
        let s = summarize(&recs);
        assert_eq!(s.requests, 6);
        assert_eq!(s.failed, 4);
        assert_eq!(s.failures.values().sum::<u64>(), s.failed);
        assert_eq!(s.failures.get("reset"), Some(&2));
        assert_eq!(s.failures.get("http_503"), Some(&1));
        assert_eq!(s.max, Duration::from_millis(5000));
        assert_eq!(s.p50, Duration::from_millis(3));
    }

    #[test]
    fn percentiles_nearest_rank() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&v, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&v, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&[], 99.0), Duration::ZERO);
    }

    #[test]
    fn failures_relative_to_the_stop() {
        let recs = [
            rec(10_100, 1, Outcome::Refused, 1),
            rec(10_200, 1, Outcome::Refused, 0),
            rec(11_500, 1, Outcome::Answered(200), 1),
        ];
        let t = failures_of(&recs, 1, Duration::from_secs(10));
        assert_eq!(t.len(), 1);
        assert!((t[0] - 0.1).abs() < 1e-9);
        assert_eq!(histogram(&[0.1, 0.2, 1.7, -3.0], 0.0, 0.5, 4), [2, 0, 0, 1]);
    }
}
