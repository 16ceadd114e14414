//! Signal handling: what each signal does, and the optional signal log.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::Notify;

use crate::cli::OnTerm;

/// What the server does about one signal.
#[derive(Debug, PartialEq, Eq)]
enum Action {
    Drain,
    ExitNow,
    Ignore,
    LogOnly,
}

fn action(name: &str, on_term: OnTerm) -> Action {
    match (name, on_term) {
        // nginx style: SIGQUIT is always the graceful stop.
        ("SIGQUIT", _) => Action::Drain,
        ("SIGTERM" | "SIGINT", OnTerm::Graceful) => Action::Drain,
        ("SIGTERM" | "SIGINT", OnTerm::Immediate) => Action::ExitNow,
        ("SIGTERM" | "SIGINT", OnTerm::Ignore) => Action::Ignore,
        _ => Action::LogOnly,
    }
}

/// The signals the demo handles, registered up front.
pub struct Signals {
    streams: Vec<(&'static str, Signal)>,
}

impl Signals {
    /// Installs the handlers. Call this before announcing that we listen, so
    /// that a test which signals as soon as it sees "listening" never hits
    /// the default disposition (which would kill us).
    pub fn install() -> std::io::Result<Self> {
        let kinds = [
            ("SIGTERM", SignalKind::terminate()),
            ("SIGINT", SignalKind::interrupt()),
            ("SIGQUIT", SignalKind::quit()),
            ("SIGHUP", SignalKind::hangup()),
            ("SIGUSR1", SignalKind::user_defined1()),
            ("SIGUSR2", SignalKind::user_defined2()),
        ];
        let mut streams = Vec::new();
        for (name, kind) in kinds {
            streams.push((name, signal(kind)?));
        }
        Ok(Signals { streams })
    }

    /// Waits for the next signal and returns its name.
    async fn recv(&mut self) -> &'static str {
        std::future::poll_fn(|cx| {
            for (name, stream) in &mut self.streams {
                if stream.poll_recv(cx).is_ready() {
                    return std::task::Poll::Ready(*name);
                }
            }
            std::task::Poll::Pending
        })
        .await
    }

    /// Handles signals forever; wakes `drain` when the server should drain.
    pub async fn run(
        mut self,
        state: Arc<impl Drains>,
        on_term: OnTerm,
        log_path: Option<PathBuf>,
        drain: Arc<Notify>,
    ) {
        loop {
            let name = self.recv().await;
            log!("got {name} ({} in flight)", state.in_flight());
            if let Some(path) = &log_path {
                append_line(path, name);
            }
            match action(name, on_term) {
                Action::Drain => {
                    // Set before waking the accept loop so that every response
                    // from now on already carries `Connection: close`.
                    state.start_draining();
                    drain.notify_one();
                }
                Action::ExitNow => {
                    log!("exiting 0 at once (--on-term immediate), dropping in-flight requests");
                    std::process::exit(0);
                }
                Action::Ignore => log!("ignoring {name} (--on-term ignore)"),
                Action::LogOnly => {}
            }
        }
    }
}

/// What the signal loop needs of the server: how busy it is, and the
/// switch that starts its drain.
pub trait Drains {
    fn in_flight(&self) -> usize;
    fn start_draining(&self);
}

/// Appends `line` to the signal log; tests read it to check what arrived.
fn append_line(path: &PathBuf, line: &str) {
    let result = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| writeln!(f, "{line}"));
    if let Err(e) = result {
        log!("cannot append to {}: {e}", path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions() {
        assert_eq!(action("SIGQUIT", OnTerm::Ignore), Action::Drain);
        assert_eq!(action("SIGTERM", OnTerm::Graceful), Action::Drain);
        assert_eq!(action("SIGTERM", OnTerm::Immediate), Action::ExitNow);
        assert_eq!(action("SIGINT", OnTerm::Ignore), Action::Ignore);
        assert_eq!(action("SIGHUP", OnTerm::Immediate), Action::LogOnly);
    }
}
