//! /proc, read in one place: directory listings, the `stat` and `status`
//! parsers, and the one walk down a process tree. Routing's snapshot
//! (proctree.rs), the kill sweep (tree.rs) and the traffic owners
//! (traffic/owners.rs) all read through here.
//!
//! # Without libc's heap
//!
//! `std::fs::read_dir` calls libc's `opendir`, which allocates its buffer
//! with libc's own `malloc`: not drainit's allocator, so not its reserve
//! (src/os/alloc.rs). When the system refuses memory, that `opendir` fails
//! with ENOMEM and the process tree cannot be read exactly when drainit
//! must signal or kill it. Here rustix's `RawDir` runs `getdents64` into a
//! buffer from drainit's allocator (on either rustix backend).
//!
//! # Without allocating, once started
//!
//! Routing reads a snapshot for every forwarded signal, so the files are
//! read through a [`Scratch`]: the path, the text and the directory
//! listing go into buffers kept from one read to the next and reserved at
//! start-up ([`Scratch::with_capacity`]). The free functions (`stat`,
//! `descendants`, ...) make a fresh one each call, for callers off that
//! path. Only a kernel without the per-thread `children` files still
//! allocates per walk (its one scan of /proc).
//!
//! # Processes come and go while it reads
//!
//! A process that vanishes between two files reads as gone (`Ok(None)`);
//! a file that exists but cannot be read (no descriptor left, no memory)
//! is an error, so that a caller never takes "unreadable" for "no
//! processes". Nothing here panics.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::fs::{self, File};
use std::io::{self, Read as _};
use std::sync::OnceLock;

use rustix::fs::RawDir;

use crate::core::supervisor::route::Comm;

/// Bytes per getdents64 call: /proc yields about 24 bytes per pid.
const CHUNK: usize = 4096;

/// The entries of `dir` whose names are decimal numbers, in the kernel's
/// order; other names (`self`, `.`, `meminfo`) are skipped.
pub fn numeric_entries(dir: &str) -> io::Result<Vec<i32>> {
    let mut out = Vec::new();
    Scratch::default().numeric_entries(format_args!("{dir}"), &mut out)?;
    Ok(out)
}

/// Buffers for reading /proc, kept from one read to the next: a read
/// allocates only when a file or a listing is bigger than any before.
#[derive(Debug, Default)]
pub struct Scratch {
    path: String,
    text: String,
    dir: Vec<u8>,
    /// A process's thread ids, while its threads are read.
    tasks: Vec<i32>,
}

impl Scratch {
    /// Room for a long /proc path, a `status` file (about 1.4 kB), a
    /// listing chunk of about 40 entries and 16 threads: a bigger file or
    /// process grows them once.
    pub fn with_capacity() -> Self {
        Self {
            path: String::with_capacity(64),
            text: String::with_capacity(2048),
            dir: Vec::with_capacity(1024),
            tasks: Vec::with_capacity(16),
        }
    }

    /// The text of the file at `path`; `Ok(None)` when the process (or
    /// thread) is gone.
    pub fn read(&mut self, path: fmt::Arguments<'_>) -> io::Result<Option<&str>> {
        self.path.clear();
        let _ = self.path.write_fmt(path);
        self.text.clear();
        let read = File::open(&self.path).and_then(|mut f| f.read_to_string(&mut self.text));
        match read {
            Ok(_) => Ok(Some(&self.text)),
            Err(e)
                if e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ESRCH) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Appends to `out` the entries of the directory at `dir` whose names
    /// are decimal numbers, in the kernel's order.
    pub fn numeric_entries(
        &mut self,
        dir: fmt::Arguments<'_>,
        out: &mut Vec<i32>,
    ) -> io::Result<()> {
        self.path.clear();
        let _ = self.path.write_fmt(dir);
        let file = File::open(&self.path)?;
        self.dir.clear();
        if self.dir.capacity() == 0 {
            self.dir.reserve(CHUNK);
        }
        let mut entries = RawDir::new(&file, self.dir.spare_capacity_mut());
        while let Some(entry) = entries.next() {
            match entry {
                Ok(entry) => out.extend(number(entry.file_name().to_bytes())),
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// /proc/PID/stat; None when the process is gone (or the file is not
    /// a stat line), an error when it is there but unreadable.
    pub fn stat(&mut self, pid: i32) -> io::Result<Option<Stat>> {
        Ok(self
            .read(format_args!("/proc/{pid}/stat"))?
            .and_then(parse_stat))
    }

    /// /proc/PID/task/TID/stat: the blocked mask is per thread.
    pub fn thread_stat(&mut self, pid: i32, tid: i32) -> Option<Stat> {
        parse_stat(
            self.read(format_args!("/proc/{pid}/task/{tid}/stat"))
                .ok()??,
        )
    }

    /// /proc/PID/status (the signal masks of every signal, real-time too).
    pub fn status(&mut self, pid: i32) -> Option<Status> {
        parse_status(self.read(format_args!("/proc/{pid}/status")).ok()??)
    }

    /// /proc/PID/task/TID/status.
    pub fn thread_status(&mut self, pid: i32, tid: i32) -> Option<Status> {
        parse_status(
            self.read(format_args!("/proc/{pid}/task/{tid}/status"))
                .ok()??,
        )
    }

    /// The thread ids of `pid`, lent to `f` with the scratch.
    pub fn with_tasks<R>(
        &mut self,
        pid: i32,
        f: impl FnOnce(&mut Self, &[i32]) -> R,
    ) -> io::Result<R> {
        let mut tasks = std::mem::take(&mut self.tasks);
        tasks.clear();
        let listed = self.numeric_entries(format_args!("/proc/{pid}/task"), &mut tasks);
        let r = listed.map(|()| f(self, &tasks));
        self.tasks = tasks;
        r
    }
}

fn number(name: &[u8]) -> Option<i32> {
    if name.is_empty() || !name.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(name).ok()?.parse().ok()
}

/// The fields of /proc/PID/stat drainit uses.
#[derive(Debug, PartialEq, Eq)]
pub struct Stat {
    pub comm: Comm,
    pub state: char,
    pub ppid: i32,
    pub pgid: i32,
    pub sid: i32,
    pub threads: usize,
    pub start_ticks: u64,
    /// Masks of signals 1-31 only (the kernel clears the other bits here).
    pub blocked: u64,
    pub ignored: u64,
    pub caught: u64,
}

/// Parses /proc/PID/stat. The command name may hold spaces and
/// parentheses, so the other fields are read after the last `)`.
pub fn parse_stat(text: &str) -> Option<Stat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = Comm::new(text.get(open + 1..close)?);
    // f[0] is field 3 of proc(5): state; 34 (SigCgt) is the last one read.
    let mut f = [""; 32];
    let mut n = 0;
    for (slot, word) in f.iter_mut().zip(text.get(close + 1..)?.split_whitespace()) {
        *slot = word;
        n += 1;
    }
    let field = |k: usize| (k - 3 < n).then(|| f.get(k - 3).copied()).flatten();
    let num = |n: usize| field(n)?.parse::<u64>().ok();
    let int = |n: usize| field(n)?.parse::<i32>().ok();
    Some(Stat {
        comm,
        state: field(3)?.chars().next()?,
        ppid: int(4)?,
        pgid: int(5)?,
        sid: int(6)?,
        threads: usize::try_from(num(20)?).ok()?,
        start_ticks: num(22)?,
        blocked: num(32)?,
        ignored: num(33)?,
        caught: num(34)?,
    })
}

/// The fields of /proc/PID/status drainit uses.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Status {
    pub threads: usize,
    pub blocked: u64,
    pub ignored: u64,
    pub caught: u64,
}

pub fn parse_status(text: &str) -> Option<Status> {
    let mut s = Status::default();
    let mut seen = 0;
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        let hex = || u64::from_str_radix(value, 16).ok();
        match key {
            "Threads" => s.threads = value.parse().ok()?,
            "SigBlk" => s.blocked = hex()?,
            "SigIgn" => s.ignored = hex()?,
            "SigCgt" => s.caught = hex()?,
            _ => continue,
        }
        seen += 1;
    }
    (seen == 4).then_some(s)
}

/// /proc/PID/stat; None when the process is gone (or the file is not a
/// stat line), an error when it is there but unreadable.
pub fn stat(pid: i32) -> io::Result<Option<Stat>> {
    Scratch::default().stat(pid)
}

/// /proc/PID/task/TID/stat: the blocked mask is per thread.
pub fn thread_stat(pid: i32, tid: i32) -> Option<Stat> {
    Scratch::default().thread_stat(pid, tid)
}

/// /proc/PID/status (the signal masks of every signal, real-time too).
pub fn status(pid: i32) -> Option<Status> {
    Scratch::default().status(pid)
}

/// /proc/PID/task/TID/status.
pub fn thread_status(pid: i32, tid: i32) -> Option<Status> {
    Scratch::default().thread_status(pid, tid)
}

/// Children of processes, for the walk: from the per-thread
/// `/proc/PID/task/TID/children` files, which cost a few reads for a small
/// tree instead of one per process on the machine, or, on a kernel without
/// them (no CONFIG_PROC_CHILDREN), from one scan of /proc made on first use.
pub struct Children {
    scan: Option<BTreeMap<i32, Vec<i32>>>,
    /// Whether the `children` files are read; None until the first walk.
    files: Option<bool>,
    /// The buffers every file of a walk is read through.
    scratch: Scratch,
    /// The walk's pids still to visit.
    queue: Vec<i32>,
    /// Where a walk from a process's children starts.
    roots: Vec<i32>,
}

impl Default for Children {
    fn default() -> Self {
        Self::new()
    }
}

impl Children {
    pub fn new() -> Self {
        Self {
            scan: None,
            files: None,
            scratch: Scratch::default(),
            queue: Vec::new(),
            roots: Vec::new(),
        }
    }

    /// With its buffers reserved ([`Scratch::with_capacity`], a queue of
    /// `queue` pids): for a reader kept for the life of the process.
    pub fn with_capacity(queue: usize) -> Self {
        Self {
            scratch: Scratch::with_capacity(),
            queue: Vec::with_capacity(queue),
            roots: Vec::with_capacity(queue),
            ..Self::new()
        }
    }

    /// The buffers the walk reads through, for a read beside it.
    pub fn scratch(&mut self) -> &mut Scratch {
        &mut self.scratch
    }

    /// Always from the scan of /proc, as on a kernel without the files.
    pub fn by_scan() -> Self {
        Self {
            files: Some(false),
            ..Self::new()
        }
    }

    /// The direct children of `pid`, which has `threads` threads (0 when
    /// unknown: every thread is listed). A process gone has none.
    pub fn of(&mut self, pid: i32, threads: usize) -> io::Result<Vec<i32>> {
        let mut out = Vec::new();
        self.of_into(pid, threads, &mut out)?;
        Ok(out)
    }

    /// [`Children::of`], appended to `out`; on an error, `out` may hold
    /// some of them.
    pub fn of_into(&mut self, pid: i32, threads: usize, out: &mut Vec<i32>) -> io::Result<()> {
        let files = *self
            .files
            .get_or_insert_with(|| children_files_exist(&mut self.scratch));
        if files {
            return children_from_files(&mut self.scratch, pid, threads, out);
        }
        if self.scan.is_none() {
            self.scan = Some(scan_parents()?);
        }
        if let Some(kids) = self.scan.as_ref().and_then(|s| s.get(&pid)) {
            out.extend_from_slice(kids);
        }
        Ok(())
    }

    /// The one walk down a tree, parents before children: `visit` reads a
    /// process and returns its thread count when the walk goes below it
    /// (None: not below, e.g. it is gone). The children of a process that
    /// cannot be read are left out, as if it had none.
    pub fn walk(&mut self, starts: Vec<i32>, mut visit: impl FnMut(i32) -> Option<usize>) {
        self.walk_with(&starts, |_, pid| visit(pid));
    }

    /// [`descendants`], appended to `out`.
    pub fn descendants_into(&mut self, root: i32, out: &mut Vec<i32>) -> io::Result<()> {
        let mut starts = std::mem::take(&mut self.roots);
        starts.clear();
        let listed = self.of_into(root, 0, &mut starts);
        if listed.is_ok() {
            self.walk_with(&starts, |scratch, pid| match scratch.stat(pid) {
                Ok(Some(s)) => {
                    if s.state != 'Z' {
                        out.push(pid);
                    }
                    Some(s.threads)
                }
                Ok(None) => None,
                // Counted as alive: a signal to a zombie is harmless, a
                // signal not sent is not.
                Err(_) => {
                    out.push(pid);
                    Some(0)
                }
            });
        }
        self.roots = starts;
        listed
    }

    /// [`Children::walk`], with the walk's [`Scratch`] lent to `visit` to
    /// read the process's files through.
    pub fn walk_with(
        &mut self,
        starts: &[i32],
        mut visit: impl FnMut(&mut Scratch, i32) -> Option<usize>,
    ) {
        let mut queue = std::mem::take(&mut self.queue);
        queue.clear();
        queue.extend_from_slice(starts);
        while let Some(pid) = queue.pop() {
            if let Some(threads) = visit(&mut self.scratch, pid) {
                let before = queue.len();
                if self.of_into(pid, threads, &mut queue).is_err() {
                    queue.truncate(before);
                }
            }
        }
        self.queue = queue;
    }
}

/// Every live (non-zombie) descendant of `root`, parents before children.
///
/// An error means /proc could not be read at all (no descriptor left, no
/// memory): the caller must not take it for "no descendants".
pub fn descendants(root: i32) -> io::Result<Vec<i32>> {
    let mut out = Vec::new();
    Children::new().descendants_into(root, &mut out)?;
    Ok(out)
}

/// Whether the kernel has /proc/PID/task/TID/children (CONFIG_PROC_CHILDREN),
/// asked once in the life of the process, on the first walk (not at
/// start-up: the answer's page stays clean in a drainit that never walks).
fn children_files_exist(scratch: &mut Scratch) -> bool {
    static EXIST: OnceLock<bool> = OnceLock::new();
    *EXIST.get_or_init(|| {
        let me = std::process::id();
        scratch.path.clear();
        let _ = write!(scratch.path, "/proc/{me}/task/{me}/children");
        fs::metadata(&scratch.path).is_ok()
    })
}

/// A single-threaded process has one children file: read it directly. A
/// thread that exits between the listing and its file is skipped. Appends
/// to `out`, ascending and without repeats for a threaded process.
fn children_from_files(
    scratch: &mut Scratch,
    pid: i32,
    threads: usize,
    out: &mut Vec<i32>,
) -> io::Result<()> {
    let parse = |text: Option<&str>, out: &mut Vec<i32>| {
        let words = text.unwrap_or_default().split_whitespace();
        out.extend(words.filter_map(|p| p.parse::<i32>().ok()));
    };
    if threads == 1 {
        parse(
            scratch.read(format_args!("/proc/{pid}/task/{pid}/children"))?,
            out,
        );
        return Ok(());
    }
    let start = out.len();
    let read = scratch.with_tasks(pid, |scratch, tasks| {
        for &tid in tasks {
            parse(
                scratch.read(format_args!("/proc/{pid}/task/{tid}/children"))?,
                out,
            );
        }
        Ok::<(), io::Error>(())
    });
    match read {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        read => read??,
    }
    let Some(tail) = out.get_mut(start..) else {
        return Ok(());
    };
    tail.sort_unstable();
    // Without repeats, in place (the listing may name a child per thread).
    let mut kept = start;
    for i in start..out.len() {
        let pid = out.get(i).copied();
        let last = kept.checked_sub(1).filter(|&k| k >= start);
        if last.and_then(|k| out.get(k).copied()) != pid {
            if let (Some(pid), Some(slot)) = (pid, out.get_mut(kept)) {
                *slot = pid;
            }
            kept += 1;
        }
    }
    out.truncate(kept);
    Ok(())
}

/// ppid -> pids for every process in /proc.
fn scan_parents() -> io::Result<BTreeMap<i32, Vec<i32>>> {
    let mut map: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
    for pid in numeric_entries("/proc")? {
        if let Ok(Some(s)) = stat(pid) {
            map.entry(s.ppid).or_default().push(pid);
        }
    }
    Ok(map)
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
    fn parse_stat_with_odd_command_names() {
        let line = "42 (my) app (x)) S 7 40 30 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 3 0 123456 \
                    1000 100 18446744073709551615 1 2 3 0 0 0 65536 4 65538 1 0 0 17 0 0 0\n";
        let s = parse_stat(line).expect("parses");
        assert_eq!(s.comm, "my) app (x)");
        assert_eq!((s.state, s.ppid, s.pgid, s.sid), ('S', 7, 40, 30));
        assert_eq!((s.threads, s.start_ticks), (3, 123456));
        assert_eq!((s.blocked, s.ignored, s.caught), (65536, 4, 65538));
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("1 (x) S 0"), None, "truncated");
    }

    #[test]
    fn parse_status_fields() {
        let text = "Name:\tsh\nThreads:\t3\nSigQ:\t0/1\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\nSigBlk:\t0000000000010000\nSigIgn:\t0000000000000004\nSigCgt:\t0000000000010002\n";
        let s = parse_status(text).expect("parses");
        assert_eq!(
            s,
            Status {
                threads: 3,
                blocked: 0x10000,
                ignored: 4,
                caught: 0x10002
            }
        );
        assert_eq!(parse_status("Name:\tsh\n"), None);
        assert_eq!(
            parse_status("Threads:\t1\nSigBlk:\tzz\nSigIgn:\t0\nSigCgt:\t0\n"),
            None
        );
    }

    #[test]
    fn group_and_session_of_self() {
        let s = stat(std::process::id() as i32).unwrap().unwrap();
        assert_eq!(s.pgid, nix::unistd::getpgrp().as_raw());
        assert_eq!(s.sid, nix::unistd::getsid(None).unwrap().as_raw());
        assert_eq!(stat(i32::MAX).unwrap(), None, "a pid that is not there");
    }

    #[test]
    fn finds_a_real_grandchild() {
        // Other tests in this binary spawn children of this process at the
        // same time, so the comparison is on this test's own subtree: the
        // shell and its sleep.
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 5 & wait"])
            .spawn()
            .unwrap();
        let me = std::process::id() as i32;
        let sh = child.id() as i32;
        let mut found = Vec::new();
        for _ in 0..250 {
            found = descendants(me).unwrap();
            if found.contains(&sh) && !descendants(sh).unwrap().is_empty() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(found.contains(&sh), "the shell: {found:?}");
        let walked = descendants(sh).unwrap();
        let by_scan = Children::by_scan().of(sh, 0).unwrap();
        assert_eq!(walked.len(), 1, "the sleep: {walked:?}");
        assert_eq!(walked, by_scan, "both ways see the same tree");
        assert!(
            found.contains(&walked[0]),
            "the walk from the top reaches the grandchild"
        );
        for pid in [walked[0], sh] {
            nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            )
            .unwrap();
        }
        child.wait().unwrap();
    }
}
