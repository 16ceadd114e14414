//! drainit's own logs: stderr only, prefixed `[drainit +1.234s]` so they
//! stand apart from the app's lines. Quiet by default (warnings, errors and
//! the one-line-per-phase shutdown timeline); `-v` adds more, `DRAINIT_LOG`
//! takes a filter such as `debug` or `warn,drainit::timeline=off`.
//!
//! drainit logs events only (no spans), so the subscriber is this small one
//! rather than tracing-subscriber's registry and fmt layers: their set-up
//! alone (a 32 KiB slab of per-thread slots) was about a twentieth of
//! drainit's start-up. Filter syntax and parsing stay tracing-subscriber's
//! (`Targets`).

use std::fmt::{self, Write as _};
use std::io::Write as _;
use std::time::{Instant, SystemTime};

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::filter::Targets;

use crate::cli::{Flavor, LogFormat};

/// `draining`: a drain option is set. Under the tini and dumb-init names
/// the anchors' quiet default holds, unless the user asked for a drain
/// (`docker run --init -e DRAINIT_DRAIN_DELAY=10s`): then its timeline shows.
fn default_filter(verbosity: u8, flavor: Flavor, draining: bool) -> String {
    match verbosity {
        0 if flavor == Flavor::Drainit || draining => "warn,drainit::timeline=info".into(),
        0 => "warn".into(),
        1 => "info".into(),
        2 => "debug".into(),
        _ => "trace".into(),
    }
}

/// Installs the subscriber. An unreadable `DRAINIT_LOG` is a usage error.
pub fn init(
    verbosity: u8,
    flavor: Flavor,
    format: LogFormat,
    draining: bool,
) -> Result<(), String> {
    let spec = match std::env::var("DRAINIT_LOG") {
        Ok(s) if !s.trim().is_empty() => s,
        _ => default_filter(verbosity, flavor, draining),
    };
    let filter: Targets = spec.parse().map_err(|e| {
        format!("DRAINIT_LOG='{spec}' is not a log filter ({e}): use e.g. info or warn,drainit::timeline=off")
    })?;
    let logger = Logger {
        max: filter
            .iter()
            .map(|(_, level)| level)
            .chain(filter.default_level())
            .max()
            .unwrap_or(LevelFilter::OFF),
        filter,
        format,
        start: Instant::now(),
    };
    tracing::subscriber::set_global_default(logger)
        .map_err(|e| format!("cannot install the logger: {e}"))
}

struct Logger {
    filter: Targets,
    max: LevelFilter,
    format: LogFormat,
    start: Instant,
}

impl Subscriber for Logger {
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        // Decided once per call site: a disabled one costs a load and a branch.
        if self.enabled(meta) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, meta: &Metadata<'_>) -> bool {
        self.filter.would_enable(meta.target(), meta.level())
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(self.max)
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let level = *event.metadata().level();
        let line = match self.format {
            LogFormat::Text => text_line(self.start.elapsed().as_secs_f64(), level, &fields),
            LogFormat::Json => json_line(SystemTime::now(), level, &fields),
        };
        // One write per line, so lines from two threads never interleave.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// An event's message and its other fields, in order.
#[derive(Default)]
struct Fields {
    message: String,
    others: Vec<(&'static str, Value)>,
}

/// A field as JSON should see it: a string, or a number/bool as is.
enum Value {
    Str(String),
    Raw(String),
}

impl Value {
    fn text(&self) -> &str {
        match self {
            Value::Str(s) | Value::Raw(s) => s,
        }
    }
}

impl Fields {
    /// Timeline lines carry an `event` field: their message says it all.
    fn is_timeline(&self) -> bool {
        self.others.iter().any(|(name, _)| *name == "event")
    }

    fn push(&mut self, field: &Field, value: Value) {
        self.others.push((field.name(), value));
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.push(field, Value::Str(value.to_string()));
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        let v = if value.is_finite() {
            Value::Raw(format!("{value}"))
        } else {
            Value::Str(format!("{value}"))
        };
        self.push(field, v);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, Value::Raw(value.to_string()));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, Value::Raw(value.to_string()));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, Value::Raw(value.to_string()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            self.push(field, Value::Str(format!("{value:?}")));
        }
    }
}

/// `[drainit +1.234s]  INFO message key=value`
fn text_line(elapsed: f64, level: Level, fields: &Fields) -> String {
    let mut line = format!(
        "[drainit +{elapsed:.3}s] {:>5} {}",
        level.as_str(),
        fields.message
    );
    if !fields.is_timeline() {
        for (name, value) in &fields.others {
            let _ = write!(line, " {name}={}", value.text());
        }
    }
    line.push('\n');
    line
}

/// `{"timestamp":"2026-11-23T05:47:56.123456Z","level":"INFO","fields":{"message":"..."}}`
fn json_line(now: SystemTime, level: Level, fields: &Fields) -> String {
    let mut line = format!(
        "{{\"timestamp\":\"{}\",\"level\":\"{}\",\"fields\":{{\"message\":",
        rfc3339(now),
        level.as_str()
    );
    json_string(&mut line, &fields.message);
    for (name, value) in &fields.others {
        line.push(',');
        json_string(&mut line, name);
        line.push(':');
        match value {
            Value::Str(v) => json_string(&mut line, v),
            Value::Raw(v) => line.push_str(v),
        }
    }
    line.push_str("}}\n");
    line
}

fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// UTC, microseconds: `2026-11-23T05:47:56.123456Z`.
fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (y, m, day) = civil_from_days((secs / 86_400) as i64);
    let s = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        s / 3600,
        s / 60 % 60,
        s % 60,
        d.subsec_micros()
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn fields(message: &str) -> Fields {
        Fields {
            message: message.into(),
            others: vec![("port", Value::Raw("8080".into()))],
        }
    }

    #[test]
    fn text_lines_pad_the_level_like_before() {
        assert_eq!(
            text_line(1.23456, Level::INFO, &fields("readiness off")),
            "[drainit +1.235s]  INFO readiness off port=8080\n"
        );
        assert!(text_line(0.0, Level::DEBUG, &Fields::default())
            .starts_with("[drainit +0.000s] DEBUG "));
    }

    #[test]
    fn json_lines_escape_and_carry_a_utc_timestamp() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_micros(1_795_412_876_123_456);
        assert_eq!(
            json_line(t, Level::WARN, &fields("say \"hi\"\n\\ \u{1}")),
            "{\"timestamp\":\"2026-11-23T05:47:56.123456Z\",\"level\":\"WARN\",\
             \"fields\":{\"message\":\"say \\\"hi\\\"\\n\\\\ \\u0001\",\"port\":8080}}\n"
        );
    }

    #[test]
    fn dates_match_the_calendar() {
        let at = |secs: u64| rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(secs));
        assert_eq!(at(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00.000000Z");
        assert_eq!(at(4_102_444_800), "2100-01-01T00:00:00.000000Z");
    }
}
