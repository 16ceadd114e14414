//! What Rust's runtime start-up would do before `main`, done by drainit
//! itself so that nothing before `main` can fail.
//!
//! drainit's binary has `#![no_main]`: the C library calls its `main`
//! directly. std's start-up is skipped, and with it three things that
//! ended PID 1 when a syscall failed before drainit's first line (the
//! fault matrix, RELIABILITY.md section 8): the alternate signal stack's
//! `mmap` and guard-page `mprotect` (a failure panics, which aborts), and
//! the SIGSEGV and SIGBUS handlers that report a stack overflow (drainit
//! blocks and forwards every signal; a real fault kills it either way).
//! What std's start-up did that drainit needs is here: the arguments
//! (std only records them on musl from its own start-up), read once and
//! handed to the run as a value, and open descriptors 0-2, without
//! aborting when that fails.

use std::ffi::{CStr, OsString};
use std::os::unix::ffi::OsStringExt;

/// The arguments `main` was given, argv\[0\] first, as values: `main`
/// passes them on (nothing keeps them in a global).
///
/// # Safety
/// `argv` holds `argc` valid NUL-terminated strings, as the C runtime
/// passes them to `main`.
pub unsafe fn args(argc: libc::c_int, argv: *const *const libc::c_char) -> Vec<OsString> {
    let mut args = Vec::new();
    for i in 0..usize::try_from(argc).unwrap_or(0) {
        // SAFETY: i < argc: within the array the caller vouches for.
        let p = unsafe { *argv.add(i) };
        if p.is_null() {
            break;
        }
        // SAFETY: a valid NUL-terminated string, as above.
        let bytes = unsafe { CStr::from_ptr(p) }.to_bytes().to_vec();
        args.push(OsString::from_vec(bytes));
    }
    args
}

/// Opens /dev/null on any of descriptors 0-2 that is closed, as std's
/// start-up does, so that no descriptor drainit opens later (its epoll,
/// its signalfd) is taken for the child's stdin, stdout or stderr. A
/// failure is ignored: the descriptor stays closed, as it was given.
pub fn open_standard_fds() {
    for fd in 0..=2 {
        // SAFETY: F_GETFD on any number only reads the descriptor table.
        let closed = unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1
            && std::io::Error::last_os_error().raw_os_error() == Some(libc::EBADF);
        if closed {
            // SAFETY: a NUL-terminated path; the descriptor is left open
            // on purpose (it becomes `fd`, the lowest free one).
            unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_come_from_argv() {
        let a = c"drainit";
        let b = c"--";
        let argv = [a.as_ptr(), b.as_ptr(), std::ptr::null()];
        // SAFETY: two valid strings.
        let got = unsafe { args(2, argv.as_ptr()) };
        assert_eq!(got, vec![OsString::from("drainit"), OsString::from("--")]);
    }
}
