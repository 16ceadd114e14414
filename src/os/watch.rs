//! Watching processes that are not drainit's children for their exit:
//! one pidfd each (Linux 5.3), readable once the process has exited,
//! registered with the runtime's epoll. No timer, no polling: a watched
//! process that runs costs nothing.
//!
//! Used while the stop signal holds (`supervisor::hold`): the processes
//! the stop signal reached and the wrappers it passed over.

use std::future::poll_fn;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::task::Poll;

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// The processes being watched.
#[derive(Default)]
pub struct Watches {
    fds: Vec<(i32, AsyncFd<OwnedFd>)>,
}

impl Watches {
    /// Watches `pid`. An error (no pidfd support, no descriptor left) means
    /// this process's exit will not be reported.
    pub fn add(&mut self, pid: i32) -> io::Result<()> {
        if self.fds.iter().any(|(p, _)| *p == pid) {
            return Ok(());
        }
        // SAFETY: pidfd_open takes a pid and flags and returns a new
        // descriptor or -1; no memory is passed.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by pidfd_open and is owned by
        // nothing else.
        let owned = unsafe { OwnedFd::from_raw_fd(fd as i32) };
        // SAFETY: `owned` moves into the AsyncFd, which keeps the
        // descriptor open and unchanged for as long as it is registered.
        let fd = unsafe { AsyncFd::register_with_interest(owned, Interest::READABLE) }?;
        self.fds.push((pid, fd));
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.fds.is_empty()
    }

    /// Waits until a watched process has exited; returns its pid and stops
    /// watching it. Pending for ever while nothing is watched.
    pub async fn gone(&mut self) -> i32 {
        let at = poll_fn(|cx| {
            for (i, (_, fd)) in self.fds.iter().enumerate() {
                if fd.poll_read_ready(cx).is_ready() {
                    return Poll::Ready(i);
                }
            }
            Poll::Pending
        })
        .await;
        self.fds.swap_remove(at).0
    }
}
