//! Durations on the command line (`500ms`, `2s`, `1m30s`, `1.5`) and in
//! the report (`2.0s`).
//!
//! Parsing is drainit's own (`drainit::duration::parse`, from the drainit
//! library crate): the drill accepts exactly what drainit accepts for the
//! flags it recommends. The library brings no global allocator (that is
//! in drainit's src/main.rs) and nothing the drill does not already build
//! but nix, rustix and tracing; its one start-up hook (src/os/signals.rs,
//! reading SIGPIPE's disposition) is harmless here. The formatting stays
//! the drill's: two decimals, so a recommended `--grace=1.25s` is exact
//! (drainit's own `show` rounds to one, for log lines).

use std::time::Duration;

pub use drainit::duration::parse;

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
        for bad in ["", "ms", "2x", "-1", "1s2", "s1", "soon"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(show(ms(2000)), "2.0s");
        assert_eq!(show(ms(1500)), "1.5s");
        assert_eq!(show(ms(1250)), "1.25s");
        assert_eq!(show(ms(0)), "0.0s");
    }
}
