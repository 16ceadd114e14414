//! Listing /proc directories (pids, thread ids, descriptors) without
//! libc's heap.
//!
//! `std::fs::read_dir` calls libc's `opendir`, which allocates its buffer
//! with libc's own `malloc`: not drainit's allocator, so not its reserve
//! (src/alloc.rs). When the system refuses memory, that `opendir` fails
//! with ENOMEM and the process tree cannot be read exactly when drainit
//! must signal or kill it. Here the directory is read with `getdents64`
//! into a buffer from drainit's allocator.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// Bytes per getdents64 call: /proc yields about 24 bytes per pid.
const CHUNK: usize = 4096;

/// The entries of `dir` whose names are decimal numbers, in the kernel's
/// order; other names (`self`, `.`, `meminfo`) are skipped.
pub fn numeric_entries(dir: &str) -> io::Result<Vec<i32>> {
    let file = File::open(dir)?;
    let mut buf = vec![0u8; CHUNK];
    let mut out = Vec::new();
    loop {
        // SAFETY: getdents64 writes at most `buf.len()` bytes into `buf`,
        // which lives across the call; the descriptor is open.
        let n = unsafe {
            libc::syscall(
                libc::SYS_getdents64,
                file.as_raw_fd(),
                buf.as_mut_ptr(),
                buf.len(),
            )
        };
        match n {
            0 => return Ok(out),
            n if n < 0 => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
            n => parse_records(buf.get(..n as usize).unwrap_or_default(), &mut out),
        }
    }
}

/// Appends the numeric names of the `linux_dirent64` records in `bytes`:
/// d_ino (8 bytes), d_off (8), d_reclen (2), d_type (1), then the name,
/// NUL-terminated, padded to d_reclen.
fn parse_records(mut bytes: &[u8], out: &mut Vec<i32>) {
    while let Some(&[lo, hi]) = bytes.get(16..18) {
        let reclen = u16::from_ne_bytes([lo, hi]) as usize;
        let (Some(record), true) = (bytes.get(..reclen), reclen >= 19) else {
            return;
        };
        let name = record.get(19..).unwrap_or_default();
        let name = name.split(|&b| b == 0).next().unwrap_or_default();
        if let Some(n) = std::str::from_utf8(name)
            .ok()
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|s| s.parse().ok())
        {
            out.push(n);
        }
        bytes = bytes.get(reclen..).unwrap_or_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_pids_threads_and_descriptors() {
        let me = std::process::id() as i32;
        assert!(numeric_entries("/proc").unwrap().contains(&me));
        let fds = numeric_entries("/proc/self/fd").unwrap();
        assert!(fds.contains(&0) && fds.contains(&1) && fds.contains(&2));
        let tasks = numeric_entries(&format!("/proc/{me}/task")).unwrap();
        assert!(tasks.contains(&me));
    }

    #[test]
    fn more_entries_than_one_chunk() {
        let dir = std::env::temp_dir().join(format!("drainit-procfs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for n in 0..1000 {
            std::fs::write(dir.join(n.to_string()), "").unwrap();
        }
        std::fs::write(dir.join("not-a-number"), "").unwrap();
        std::fs::write(dir.join("12x"), "").unwrap();
        let mut got = numeric_entries(dir.to_str().unwrap()).unwrap();
        got.sort();
        assert_eq!(got, (0..1000).collect::<Vec<_>>());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_directory_is_an_error() {
        let e = numeric_entries("/proc/0/task").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn a_truncated_record_stops_the_parse() {
        let mut out = Vec::new();
        parse_records(&[0u8; 17], &mut out);
        let mut rec = vec![0u8; 24];
        rec[16..18].copy_from_slice(&24u16.to_ne_bytes());
        rec[19..21].copy_from_slice(b"42");
        parse_records(&rec, &mut out);
        rec[16..18].copy_from_slice(&200u16.to_ne_bytes());
        parse_records(&rec, &mut out);
        assert_eq!(out, vec![42]);
    }
}
