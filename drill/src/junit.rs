//! `--junit FILE`: one test case per variant, failed when it dropped a
//! request; CI systems show it beside the other tests.

use std::fmt::Write as _;

use crate::report::Report;

pub fn render(report: &Report) -> String {
    let failures = report.variants.iter().filter(|v| v.failed > 0).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuite name=\"drainit drill {}\" tests=\"{}\" failures=\"{}\">",
        escape(&report.image),
        report.variants.len(),
        failures
    );
    for v in &report.variants {
        let _ = write!(
            out,
            "  <testcase classname=\"drill.{}\" name=\"{}\">",
            escape(report.platform),
            escape(&v.name)
        );
        if v.failed > 0 {
            let kinds: Vec<String> = v.failures.iter().map(|(k, n)| format!("{k} {n}")).collect();
            let _ = write!(
                out,
                "\n    <failure message=\"{} of {} requests failed ({})\"/>\n  ",
                v.failed,
                v.requests,
                escape(&kinds.join(", "))
            );
        }
        out.push_str("</testcase>\n");
    }
    out.push_str("</testsuite>\n");
    out
}

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(escape("a<b & \"c\">"), "a&lt;b &amp; &quot;c&quot;&gt;");
    }
}
