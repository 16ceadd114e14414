//! `--report DIR`: timeline.svg (self-contained, no scripts) and
//! report.html beside it, plus report.json. One row per stopped replica,
//! time relative to its stop: failed requests in red, the platform's marks
//! (endpoint gone, stop signal, SIGKILL), the replica's exit, drainit's
//! own steps.

use std::fmt::Write as _;
use std::path::Path;

use crate::junit::escape;
use crate::platform::Settings;
use crate::report::Report;
use crate::run::VariantReport;

const WIDTH: f64 = 960.0;
const LEFT: f64 = 250.0;
const RIGHT: f64 = 30.0;
const ROW: f64 = 26.0;
const HEADER: f64 = 28.0;

pub fn write_dir(
    dir: &Path,
    report: &Report,
    variants: &[VariantReport],
    settings: &Settings,
) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let svg = render(report, variants, settings);
    let json = serde_json::to_string_pretty(report).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("timeline.svg"), &svg).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("report.json"), json + "\n").map_err(|e| e.to_string())?;
    let text = crate::report::text(report, variants, settings);
    let html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>drainit drill {image}</title>\n\
         <style>body{{font-family:sans-serif;margin:2em;max-width:1000px}}pre{{background:#f6f6f6;padding:1em;overflow-x:auto}}</style>\n\
         </head><body>\n<h1>drainit drill {image}</h1>\n<p>Failed requests relative to each replica's stop (t = 0).</p>\n\
         <img src=\"timeline.svg\" alt=\"failure timeline\" style=\"max-width:100%\">\n<pre>{text}</pre>\n</body></html>\n",
        image = escape(&report.image),
        text = escape(&text)
    );
    std::fs::write(dir.join("report.html"), html).map_err(|e| e.to_string())
}

/// The time window shown: a second before the stop to the last thing seen.
fn window(variants: &[VariantReport], settings: &Settings) -> (f64, f64) {
    let plan = settings.stop_plan();
    let mut end = plan.removal_at.max(plan.signal_at).as_secs_f64().max(1.0);
    for r in variants.iter().flat_map(|v| &v.replicas) {
        if let Some(s) = r.stop {
            end = end.max(s.as_secs_f64());
        }
        for t in &r.failures {
            end = end.max(*t);
        }
    }
    (-1.0, end + 0.5)
}

pub fn render(report: &Report, variants: &[VariantReport], settings: &Settings) -> String {
    let plan = settings.stop_plan();
    let (from, to) = window(variants, settings);
    let rows: usize = variants.iter().map(|v| v.replicas.len()).sum();
    let height = 70.0 + variants.len() as f64 * HEADER + rows as f64 * ROW + 50.0;
    let x = |t: f64| LEFT + (t - from) / (to - from) * (WIDTH - LEFT - RIGHT);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\" font-family=\"sans-serif\" font-size=\"12\">"
    );
    let _ = writeln!(s, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
    let _ = writeln!(
        s,
        "<text x=\"10\" y=\"20\" font-size=\"15\" font-weight=\"bold\">drainit drill {}: {}, {} requests/s</text>",
        escape(&report.image),
        report.platform,
        report.rate
    );
    let _ = writeln!(
        s,
        "<text x=\"10\" y=\"38\" fill=\"#555\">t = 0: the replica's stop begins. Red: a failed request routed to it. Marks: L endpoint gone, S stop signal, K platform SIGKILL; ◆ exit.</text>"
    );
    let top = 56.0;
    let bottom = height - 40.0;
    // The platform's marks, across every row.
    for (t, label, colour) in [
        (0.0, "0", "#000"),
        (plan.removal_at.as_secs_f64(), "L", "#d98b00"),
        (plan.signal_at.as_secs_f64(), "S", "#7a3db8"),
        (plan.kill_at.as_secs_f64(), "K", "#b00"),
    ] {
        if t > to {
            continue;
        }
        let _ = writeln!(
            s,
            "<line x1=\"{0:.1}\" y1=\"{top}\" x2=\"{0:.1}\" y2=\"{bottom}\" stroke=\"{colour}\" stroke-dasharray=\"4 3\" stroke-width=\"1\"/><text x=\"{0:.1}\" y=\"{1:.1}\" text-anchor=\"middle\" fill=\"{colour}\">{label}</text>",
            x(t),
            top - 2.0
        );
    }
    let mut y = top + 4.0;
    for v in variants {
        let _ = writeln!(
            s,
            "<text x=\"10\" y=\"{:.1}\" font-weight=\"bold\">{}: {} of {} failed</text>",
            y + 18.0,
            escape(&variant_label(v)),
            v.summary.failed,
            v.summary.requests
        );
        y += HEADER;
        for r in &v.replicas {
            let mid = y + ROW / 2.0;
            let fill = if r.failures.is_empty() {
                "#eef7ee"
            } else {
                "#fbeeee"
            };
            let _ = writeln!(
                s,
                "<rect x=\"{LEFT}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{fill}\"/>",
                WIDTH - LEFT - RIGHT,
                ROW - 4.0
            );
            let ending = r.ending.map_or("still running".into(), |e| {
                e.describe(r.exit_code.unwrap_or_default())
            });
            let _ = writeln!(
                s,
                "<text x=\"20\" y=\"{:.1}\">replica {} — {} failed, {}</text>",
                mid + 2.0,
                r.id,
                r.failures.len(),
                escape(&ending)
            );
            for t in &r.failures {
                let _ = writeln!(
                    s,
                    "<line x1=\"{0:.1}\" y1=\"{1:.1}\" x2=\"{0:.1}\" y2=\"{2:.1}\" stroke=\"#d00\" stroke-width=\"1.5\"/>",
                    x(*t),
                    y + 2.0,
                    y + ROW - 6.0
                );
            }
            for l in &r.timeline {
                if l.at >= from && l.at <= to {
                    let _ = writeln!(
                        s,
                        "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"#1f6fd1\"><title>{}</title></circle>",
                        x(l.at),
                        mid - 2.0,
                        escape(&l.message)
                    );
                }
            }
            if let Some(stop) = r.stop {
                let (cx, cy) = (x(stop.as_secs_f64()), mid - 2.0);
                let _ = writeln!(
                    s,
                    "<path d=\"M{:.1} {cy:.1} L{cx:.1} {:.1} L{:.1} {cy:.1} L{cx:.1} {:.1} Z\" fill=\"#000\"><title>exit {} after {:.2}s</title></path>",
                    cx - 5.0,
                    cy - 5.0,
                    cx + 5.0,
                    cy + 5.0,
                    r.exit_code.unwrap_or_default(),
                    stop.as_secs_f64()
                );
            }
            y += ROW;
        }
    }
    // The time axis.
    let axis = bottom + 4.0;
    let _ = writeln!(
        s,
        "<line x1=\"{LEFT}\" y1=\"{axis}\" x2=\"{:.1}\" y2=\"{axis}\" stroke=\"#000\"/>",
        WIDTH - RIGHT
    );
    let step = nice_step(to - from);
    let mut t = (from / step).ceil() * step;
    while t <= to {
        let _ = writeln!(
            s,
            "<line x1=\"{0:.1}\" y1=\"{axis}\" x2=\"{0:.1}\" y2=\"{1}\" stroke=\"#000\"/><text x=\"{0:.1}\" y=\"{2}\" text-anchor=\"middle\">{t:+.1}s</text>",
            x(t),
            axis + 4.0,
            axis + 18.0
        );
        t += step;
    }
    s.push_str("</svg>\n");
    s
}

fn variant_label(v: &VariantReport) -> String {
    if v.name == "drainit" && !v.flags.is_empty() {
        format!("drainit {}", v.flags.join(" "))
    } else {
        v.name.clone()
    }
}

/// A tick spacing of 1, 2 or 5 times a power of ten giving 5 to 12 ticks.
fn nice_step(span: f64) -> f64 {
    let raw = span / 8.0;
    let power = 10f64.powf(raw.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if raw <= m * power {
            return m * power;
        }
    }
    10.0 * power
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps() {
        assert_eq!(nice_step(8.0), 1.0);
        assert_eq!(nice_step(40.0), 5.0);
        assert_eq!(nice_step(3.0), 0.5);
    }
}
