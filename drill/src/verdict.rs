//! How a replica ended, and the drill's exit status. Pure.

use serde::Serialize;

/// What the drill saw of a stopped replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ExitSeen {
    pub exit_code: i64,
    pub oom_killed: bool,
    /// The drill sent SIGKILL at the platform's grace before it exited.
    pub platform_killed: bool,
    /// drainit's log says it SIGKILLed what was left at its own grace.
    pub drainit_killed: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    /// Exit status 0 before the grace.
    Graceful,
    /// A non-zero exit status (not a signal).
    ErrorStatus,
    /// Died of a signal other than the platform's SIGKILL (128+N).
    Signal,
    /// Still running at the platform's grace: SIGKILLed.
    SigkilledAtGrace,
    /// drainit SIGKILLed the tree at its own grace, before the platform.
    KilledByDrainit,
    OomKilled,
}

pub fn ending(e: ExitSeen) -> Ending {
    if e.oom_killed {
        Ending::OomKilled
    } else if e.platform_killed && e.exit_code == 137 {
        Ending::SigkilledAtGrace
    } else if e.drainit_killed {
        Ending::KilledByDrainit
    } else if e.exit_code == 0 {
        Ending::Graceful
    } else if e.exit_code > 128 && e.exit_code < 128 + 65 {
        Ending::Signal
    } else {
        Ending::ErrorStatus
    }
}

impl Ending {
    /// The report's words, with the exit code where it says something.
    pub fn describe(self, exit_code: i64) -> String {
        match self {
            Ending::Graceful => "graceful".into(),
            Ending::ErrorStatus => format!("error status {exit_code}"),
            Ending::Signal => format!("died of {}", signal_name(exit_code - 128)),
            Ending::SigkilledAtGrace => "SIGKILLed at the grace".into(),
            Ending::KilledByDrainit => "drainit SIGKILLed the rest at its grace".into(),
            Ending::OomKilled => "OOM-killed".into(),
        }
    }
}

pub fn signal_name(n: i64) -> String {
    let name = match n {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        6 => "SIGABRT",
        9 => "SIGKILL",
        10 => "SIGUSR1",
        12 => "SIGUSR2",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        28 => "SIGWINCH",
        _ => return format!("signal {n}"),
    };
    name.into()
}

/// The drill's exit status: 1 when the image as built dropped requests
/// (or, without an as-built variant, when any variant did), else 0.
/// (2, bad input or a setup failure, never gets this far.)
pub fn exit_status(variants: &[(&str, u64)]) -> i32 {
    let as_built: Vec<u64> = variants
        .iter()
        .filter(|(name, _)| *name == "as-built")
        .map(|(_, failed)| *failed)
        .collect();
    let judged: Vec<u64> = if as_built.is_empty() {
        variants.iter().map(|(_, f)| *f).collect()
    } else {
        as_built
    };
    if judged.iter().any(|f| *f > 0) {
        crate::cli::EXIT_DROPPED
    } else {
        crate::cli::EXIT_CLEAN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(code: i64) -> ExitSeen {
        ExitSeen {
            exit_code: code,
            ..ExitSeen::default()
        }
    }

    #[test]
    fn endings() {
        assert_eq!(ending(seen(0)), Ending::Graceful);
        assert_eq!(ending(seen(1)), Ending::ErrorStatus);
        assert_eq!(ending(seen(143)), Ending::Signal);
        assert_eq!(Ending::Signal.describe(143), "died of SIGTERM");
        let killed = ExitSeen {
            platform_killed: true,
            ..seen(137)
        };
        assert_eq!(ending(killed), Ending::SigkilledAtGrace);
        // Exited by itself just before the SIGKILL landed.
        let raced = ExitSeen {
            platform_killed: true,
            ..seen(0)
        };
        assert_eq!(ending(raced), Ending::Graceful);
        let oom = ExitSeen {
            oom_killed: true,
            ..seen(137)
        };
        assert_eq!(ending(oom), Ending::OomKilled);
        let by_drainit = ExitSeen {
            drainit_killed: true,
            ..seen(137)
        };
        assert_eq!(ending(by_drainit), Ending::KilledByDrainit);
    }

    #[test]
    fn exit_status_follows_the_image_as_built() {
        assert_eq!(exit_status(&[("as-built", 12), ("drainit", 0)]), 1);
        assert_eq!(exit_status(&[("as-built", 0), ("drainit", 3)]), 0);
        assert_eq!(exit_status(&[("drainit", 3)]), 1);
        assert_eq!(exit_status(&[("drainit", 0), ("init", 0)]), 0);
    }
}
