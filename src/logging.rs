//! drainit's own logs: stderr only, prefixed `[drainit +1.234s]` so they
//! stand apart from the app's lines. Quiet by default (warnings, errors and
//! the one-line-per-phase shutdown timeline); `-v` adds more, `DRAINIT_LOG`
//! takes a filter such as `debug` or `warn,drainit::timeline=off`.

use std::fmt;
use std::time::Instant;

use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::prelude::*;

use crate::cli::{Flavor, LogFormat};

struct SinceStart(Instant);

impl FormatTime for SinceStart {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        write!(w, "[drainit +{:.3}s]", self.0.elapsed().as_secs_f64())
    }
}

fn default_filter(verbosity: u8, flavor: Flavor) -> String {
    match verbosity {
        0 if flavor == Flavor::Drainit => "warn,drainit::timeline=info".into(),
        0 => "warn".into(),
        1 => "info".into(),
        2 => "debug".into(),
        _ => "trace".into(),
    }
}

/// Installs the subscriber. An unreadable `DRAINIT_LOG` is a usage error.
pub fn init(verbosity: u8, flavor: Flavor, format: LogFormat) -> Result<(), String> {
    let spec = match std::env::var("DRAINIT_LOG") {
        Ok(s) if !s.trim().is_empty() => s,
        _ => default_filter(verbosity, flavor),
    };
    let filter: Targets = spec.parse().map_err(|e| {
        format!("DRAINIT_LOG='{spec}' is not a log filter ({e}): use e.g. info or warn,drainit::timeline=off")
    })?;
    let start = Instant::now();
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false);
    match format {
        LogFormat::Text => tracing_subscriber::registry()
            .with(layer.with_timer(SinceStart(start)).with_filter(filter))
            .init(),
        LogFormat::Json => tracing_subscriber::registry()
            .with(layer.json().with_current_span(false).with_filter(filter))
            .init(),
    }
    Ok(())
}
