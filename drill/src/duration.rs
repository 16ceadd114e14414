//! Durations on the command line (`500ms`, `2s`, `1m30s`, `1.5`) and in
//! the report (`2.0s`).

use std::time::Duration;

/// Parses `500ms`, `2s`, `1m30s`, `1h`, `1.5s`; a plain number is seconds.
pub fn parse(s: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration '{s}' (e.g. 500ms, 2s, 1m30s)");
    if s.is_empty() {
        return Err(bad());
    }
    if let Ok(secs) = s.parse::<f64>() {
        return Duration::try_from_secs_f64(secs).map_err(|_| bad());
    }
    let mut total = 0.0;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let after = rest.get(num_len..).ok_or_else(bad)?;
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let number: f64 = rest
            .get(..num_len)
            .ok_or_else(bad)?
            .parse()
            .map_err(|_| bad())?;
        let scale = match after.get(..unit_len).ok_or_else(bad)? {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += number * scale;
        rest = after.get(unit_len..).ok_or_else(bad)?;
    }
    Duration::try_from_secs_f64(total).map_err(|_| bad())
}

/// `2.0s`, `0.5s`, `1.25s`: seconds with at most two decimals, as drainit's
/// own flags accept them.
pub fn show(d: Duration) -> String {
    let s = d.as_secs_f64();
    let text = format!("{s:.2}");
    let text = text.trim_end_matches('0');
    let text = if text.ends_with('.') {
        format!("{text}0")
    } else {
        text.to_string()
    };
    format!("{text}s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_shows() {
        let ms = Duration::from_millis;
        assert_eq!(parse("500ms"), Ok(ms(500)));
        assert_eq!(parse("1m30s"), Ok(ms(90_000)));
        assert_eq!(parse("0.25"), Ok(ms(250)));
        for bad in ["", "ms", "2x", "-1", "1s2", "s1"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(show(ms(2000)), "2.0s");
        assert_eq!(show(ms(1500)), "1.5s");
        assert_eq!(show(ms(1250)), "1.25s");
        assert_eq!(show(ms(0)), "0.0s");
    }
}
