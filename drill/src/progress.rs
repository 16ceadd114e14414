//! The live display: one status line redrawn on a terminal, plain lines
//! otherwise (CI logs get the milestones, not the redraws).

use std::io::{IsTerminal, Write};
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::load::Live;

#[derive(Clone, Copy)]
pub struct Progress {
    tty: bool,
    quiet: bool,
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        Progress {
            tty: std::io::stderr().is_terminal(),
            quiet,
        }
    }

    /// A milestone, on its own line.
    pub fn line(&self, text: &str) {
        if self.quiet {
            return;
        }
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = write!(err, "\r\x1b[K");
        }
        let _ = writeln!(err, "drill: {text}");
    }

    /// The live counts, redrawn in place on a terminal.
    pub fn live(&self, variant: &str, elapsed: Duration, live: &Live) {
        if self.quiet || !self.tty {
            return;
        }
        let sent = live.sent.load(Ordering::Relaxed);
        let failed = live.failed.load(Ordering::Relaxed);
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[K{variant}: {:5.1}s  {sent} requests  {failed} failed",
            elapsed.as_secs_f64()
        );
        let _ = err.flush();
    }

    pub fn clear(&self) {
        if self.tty && !self.quiet {
            let _ = write!(std::io::stderr(), "\r\x1b[K");
        }
    }
}
