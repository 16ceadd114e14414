//! The supervisor's deadline as a timerfd: one descriptor in the event loop
//! instead of tokio's timer wheel (6 kB of heap in every container), armed
//! only while the supervisor has a deadline. The runtime enables tokio's
//! own timers only when a part needs them (a gate, a hook, the automatic
//! gate: `app.rs`).

use std::io;
use std::os::fd::OwnedFd;
use std::time::Instant;

use rustix::time::{
    timerfd_create, timerfd_settime, Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags,
    Timespec,
};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

pub struct Alarm {
    fd: AsyncFd<OwnedFd>,
    /// The instant it is armed for, as last set.
    armed: Option<Instant>,
}

impl Alarm {
    /// A disarmed alarm, registered with the current tokio runtime.
    pub fn new() -> io::Result<Self> {
        let fd = timerfd_create(
            TimerfdClockId::Monotonic,
            TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
        )?;
        // SAFETY: the OwnedFd lives inside the AsyncFd, so the descriptor
        // stays open and unchanged while it is registered.
        let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }
            .map_err(io::Error::from)?;
        Ok(Self { fd, armed: None })
    }

    /// Arms the alarm for `at` (`None` disarms it); a syscall only when the
    /// instant changed. An instant already past fires at once.
    pub fn set(&mut self, at: Option<Instant>) -> io::Result<()> {
        if self.armed == at {
            return Ok(());
        }
        let value = match at {
            None => Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            Some(at) => {
                let d = at.saturating_duration_since(Instant::now());
                // All zero disarms: a deadline due now fires after 1 ns.
                Timespec {
                    tv_sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                    tv_nsec: i64::from(d.subsec_nanos().max(u32::from(d.as_secs() == 0))),
                }
            }
        };
        let spec = Itimerspec {
            it_interval: Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: value,
        };
        timerfd_settime(self.fd.get_ref(), TimerfdTimerFlags::empty(), &spec)?;
        self.armed = at;
        Ok(())
    }

    /// Resolves once the armed instant is reached (never while disarmed).
    pub async fn fired(&mut self) {
        loop {
            let Ok(mut guard) = self.fd.readable().await else {
                // The registration is gone: nothing will ever fire.
                return std::future::pending().await;
            };
            let mut expirations = [0u8; 8];
            match rustix::io::read(guard.get_inner(), &mut expirations) {
                Ok(_) => {
                    self.armed = None;
                    return;
                }
                Err(rustix::io::Errno::AGAIN) => guard.clear_ready(),
                // Not expected from a timerfd: treat it as fired, so that
                // the supervisor looks at the clock itself.
                Err(_) => {
                    self.armed = None;
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap()
    }

    /// No tokio timer: the alarm alone wakes the loop at the instant.
    #[test]
    fn fires_at_the_instant_and_not_before() {
        rt().block_on(async {
            let mut a = Alarm::new().unwrap();
            let start = Instant::now();
            a.set(Some(start + Duration::from_millis(50))).unwrap();
            a.fired().await;
            assert!(start.elapsed() >= Duration::from_millis(50));
        });
    }

    #[test]
    fn an_instant_already_past_fires_at_once() {
        rt().block_on(async {
            let mut a = Alarm::new().unwrap();
            a.set(Some(Instant::now() - Duration::from_millis(5)))
                .unwrap();
            a.fired().await;
        });
    }

    /// Re-arming later moves the alarm; disarming stops it.
    #[test]
    fn rearming_moves_it_and_disarming_stops_it() {
        rt().block_on(async {
            let mut a = Alarm::new().unwrap();
            let start = Instant::now();
            a.set(Some(start + Duration::from_millis(10))).unwrap();
            a.set(Some(start + Duration::from_millis(80))).unwrap();
            a.fired().await;
            assert!(start.elapsed() >= Duration::from_millis(80));
            a.set(Some(Instant::now() + Duration::from_millis(10)))
                .unwrap();
            a.set(None).unwrap();
            // Disarmed: not readable. A second, armed alarm fires first.
            let mut b = Alarm::new().unwrap();
            b.set(Some(Instant::now() + Duration::from_millis(40)))
                .unwrap();
            let first = tokio::select! {
                _ = a.fired() => "a",
                _ = b.fired() => "b",
            };
            assert_eq!(first, "b");
        });
    }
}
