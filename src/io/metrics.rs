//! The state the runtime shares with the HTTP endpoint (readiness,
//! liveness, counters) and its Prometheus text exposition.

use std::fmt::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::core::supervisor::Stats;
use crate::os::signals;

/// State read by the HTTP endpoint and written by the runtime.
pub struct Shared {
    ready: AtomicBool,
    live: AtomicBool,
    metrics: Mutex<Metrics>,
}

/// A count per signal number (1..=64, the kernel's range), in place from
/// start-up: counting a signal never allocates.
pub struct BySignal([u64; 65]);

impl Default for BySignal {
    fn default() -> Self {
        Self([0; 65])
    }
}

impl BySignal {
    pub fn add(&mut self, sig: i32) {
        if sig < 1 {
            return;
        }
        if let Some(n) = usize::try_from(sig).ok().and_then(|i| self.0.get_mut(i)) {
            *n += 1;
        }
    }

    /// The signals counted at least once, lowest first, with their counts.
    pub fn iter(&self) -> impl Iterator<Item = (i32, u64)> + '_ {
        (0i32..).zip(self.0.iter().copied()).filter(|&(_, n)| n > 0)
    }
}

#[derive(Default)]
pub struct Metrics {
    pub phase: &'static str,
    pub received: BySignal,
    pub forwarded: BySignal,
    pub reaped: u64,
    pub killed: u64,
    /// The supervisor's drain figures, copied after every event.
    pub drain: Stats,
}

impl Default for Shared {
    fn default() -> Self {
        Self::new()
    }
}

impl Shared {
    pub fn new() -> Self {
        Self {
            ready: AtomicBool::new(false),
            live: AtomicBool::new(false),
            metrics: Mutex::new(Metrics {
                phase: "starting",
                ..Metrics::default()
            }),
        }
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed)
    }

    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::Relaxed)
    }

    pub fn set_live(&self, live: bool) {
        self.live.store(live, Ordering::Relaxed)
    }

    pub fn metrics(&self) -> std::sync::MutexGuard<'_, Metrics> {
        self.metrics.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The Prometheus text exposition of the current state.
    pub fn render(&self) -> String {
        let m = self.metrics();
        let mut out = String::new();
        let ready = u8::from(self.is_ready());
        let live = u8::from(self.is_live());
        metric(
            &mut out,
            "drainit_ready",
            "gauge",
            "1 while the app is ready for traffic",
            &[("", ready as f64)],
        );
        metric(
            &mut out,
            "drainit_live",
            "gauge",
            "1 while the main child runs",
            &[("", live as f64)],
        );
        let phase = format!("{{phase=\"{}\"}}", m.phase);
        metric(
            &mut out,
            "drainit_phase",
            "gauge",
            "the supervisor phase",
            &[(&phase, 1.0)],
        );
        counter_by_signal(
            &mut out,
            "drainit_signals_received_total",
            "signals received",
            &m.received,
        );
        counter_by_signal(
            &mut out,
            "drainit_signals_forwarded_total",
            "signals forwarded",
            &m.forwarded,
        );
        metric(
            &mut out,
            "drainit_processes_reaped_total",
            "counter",
            "processes reaped",
            &[("", m.reaped as f64)],
        );
        metric(
            &mut out,
            "drainit_processes_killed_total",
            "counter",
            "processes SIGKILLed at the grace deadline",
            &[("", m.killed as f64)],
        );
        let d = &m.drain;
        let timings = [
            (
                "drainit_drain_forward_seconds",
                "seconds from the drain signal to forwarding the stop signal",
                d.forwarded_after,
            ),
            (
                "drainit_drain_child_exit_seconds",
                "seconds from the drain signal to the main child's exit",
                d.child_exited_after,
            ),
            (
                "drainit_drain_quiet_seconds",
                "adaptive drain: quiet period seen before forwarding",
                d.adaptive.map(|a| a.quiet_for),
            ),
            (
                "drainit_drain_saved_seconds",
                "adaptive drain: seconds saved against the maximum delay",
                d.adaptive.map(|a| a.saved),
            ),
        ];
        for (name, help, value) in timings {
            if let Some(v) = value {
                metric(&mut out, name, "gauge", help, &[("", v.as_secs_f64())]);
            }
        }
        out
    }
}

fn metric(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(&str, f64)]) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (labels, value) in samples {
        let _ = writeln!(out, "{name}{labels} {value}");
    }
}

fn counter_by_signal(out: &mut String, name: &str, help: &str, counts: &BySignal) {
    let samples: Vec<(String, f64)> = counts
        .iter()
        .map(|(sig, n)| (format!("{{signal=\"{}\"}}", signals::name(sig)), n as f64))
        .collect();
    let refs: Vec<(&str, f64)> = samples.iter().map(|(l, v)| (l.as_str(), *v)).collect();
    metric(out, name, "counter", help, &refs);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let s = Shared::new();
        s.set_ready(true);
        s.metrics().received.add(libc::SIGTERM);
        s.metrics().received.add(libc::SIGTERM);
        s.metrics().received.add(libc::SIGRTMAX());
        s.metrics().received.add(0);
        s.metrics().received.add(65);
        s.metrics().phase = "draining";
        let text = s.render();
        assert!(text.contains("drainit_ready 1\n"), "{text}");
        assert!(text.contains("drainit_phase{phase=\"draining\"} 1\n"));
        assert!(text.contains("drainit_signals_received_total{signal=\"SIGTERM\"} 2\n"));
        let rt_max = format!("{{signal=\"{}\"}} 1\n", signals::name(libc::SIGRTMAX()));
        assert!(text.contains(&rt_max), "{text}");
        assert_eq!(
            text.matches("drainit_signals_received_total{").count(),
            2,
            "{text}"
        );
        assert!(text.contains("# TYPE drainit_processes_reaped_total counter\n"));
    }
}
