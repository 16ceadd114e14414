//! drainit's global allocator: the system's (musl's malloc in the static
//! build), asked again when it fails, then a reserve.
//!
//! An allocation that fails ends a Rust program (`handle_alloc_error`
//! aborts), and PID 1 ending ends the container. The syscall fault matrix
//! (RELIABILITY.md, section 8) showed that one failed `mmap` of a heap
//! chunk, at any phase, did exactly that. Two layers stop it:
//!
//! - A failure that goes away (memory freed by another process of the
//!   container, a moment of pressure) is absorbed by asking again, after
//!   yielding the CPU, up to [`TRIES`] times.
//! - A failure that lasts (strict overcommit refusing every `mmap`,
//!   `RLIMIT_AS` reached) is served from [`RESERVE_BYTES`] of memory in the
//!   binary's zero-initialised data. That memory is part of the process
//!   image: strict overcommit and `RLIMIT_AS` count it when the binary is
//!   loaded, so no later refusal can take it away, and it costs no resident
//!   memory until it is used. Blocks are handed out in power-of-two size
//!   classes and go back to a free list per class, so a loop that
//!   allocates and frees runs on the reserve for ever; only a peak beyond
//!   the reserve still aborts. The first use raises a flag that the runtime
//!   logs once ([`reserve_newly_used`]).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

/// Attempts per allocation before the reserve is used.
pub const TRIES: u32 = 8;

/// The reserve's size. After start-up drainit's own steady state
/// allocates next to nothing (tests/alloc.rs: 0 per signal, at most 9 from
/// the first signal to exit); what fills the reserve is the `--http`
/// endpoint: under `RLIMIT_AS` (tests/faults.rs), 40 `/metrics` requests,
/// HUPs, orphans and a drain took it to a high-water mark of 132 KiB
/// (hyper's connection buffers, in power-of-two blocks), and the same run
/// without `--http` to 0. Kept at 256 KiB, twice that, for a second
/// connection at once: it costs address space only, no resident memory.
pub const RESERVE_BYTES: usize = 256 * 1024;

/// The smallest block: room for the free list's link.
const MIN_BLOCK: usize = 16;
/// Size classes 16 B ..= 64 KiB.
const CLASSES: usize = 13;
/// The reserve's alignment, and so the largest alignment it serves.
const RESERVE_ALIGN: usize = 4096;

/// [`System`], retried on failure, then the reserve.
pub struct Retrying;

fn retry(mut attempt: impl FnMut() -> *mut u8) -> *mut u8 {
    for n in 0..TRIES {
        let p = attempt();
        if !p.is_null() {
            return p;
        }
        if n + 1 < TRIES {
            // sched_yield: no allocation, no lock held.
            std::thread::yield_now();
        }
    }
    std::ptr::null_mut()
}

#[repr(C, align(4096))]
struct Arena([u8; RESERVE_BYTES]);

/// Free-list heads per class and the bump offset; only touched with
/// [`Reserve::locked`] held.
struct State {
    free: [*mut u8; CLASSES],
    used: usize,
}

/// A fixed arena with per-class free lists behind a spin lock.
pub struct Reserve {
    arena: UnsafeCell<Arena>,
    state: UnsafeCell<State>,
    locked: AtomicBool,
    /// 0: never used, 1: used and not yet reported, 2: reported.
    newly_used: AtomicU8,
}

// SAFETY: `state` is only read or written between taking `locked` (an
// acquire swap) and releasing it (a release store), so no two threads touch
// it at once; the arena's bytes belong to whoever holds the block they are
// in, which the free lists and the bump offset hand to one owner at a time.
unsafe impl Sync for Reserve {}

static RESERVE: Reserve = Reserve::new();

/// Every allocation and reallocation so far (one relaxed add each): what
/// the steady state costs, measured (`allocations()`).
static ALLOCATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many allocations and reallocations the process has made.
pub fn allocations() -> u64 {
    ALLOCATIONS.load(std::sync::atomic::Ordering::Relaxed)
}

fn count() {
    ALLOCATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// How much of the reserve has ever been handed out (its bump offset,
/// which only grows): the high-water mark to size [`RESERVE_BYTES`] by.
pub fn reserve_high_water() -> usize {
    RESERVE.locked(|st| st.used)
}

/// True once in the life of the process, after the first allocation the
/// system refused and the reserve served: the runtime logs it.
pub fn reserve_newly_used() -> bool {
    RESERVE.reported()
}

/// The class of a layout: block size 16 << class, which is also its
/// alignment within the arena. None if too large or too aligned.
fn class_of(layout: Layout) -> Option<usize> {
    let need = layout.size().max(layout.align()).max(MIN_BLOCK);
    if layout.align() > RESERVE_ALIGN {
        return None;
    }
    let block = need.checked_next_power_of_two()?;
    let class = (block.trailing_zeros() - MIN_BLOCK.trailing_zeros()) as usize;
    (class < CLASSES).then_some(class)
}

fn block_size(class: usize) -> usize {
    MIN_BLOCK << class
}

impl Reserve {
    const fn new() -> Self {
        Self {
            arena: UnsafeCell::new(Arena([0; RESERVE_BYTES])),
            state: UnsafeCell::new(State {
                free: [std::ptr::null_mut(); CLASSES],
                used: 0,
            }),
            locked: AtomicBool::new(false),
            newly_used: AtomicU8::new(0),
        }
    }

    fn base(&self) -> *mut u8 {
        self.arena.get().cast()
    }

    fn contains(&self, p: *mut u8) -> bool {
        let start = self.base() as usize;
        (start..start + RESERVE_BYTES).contains(&(p as usize))
    }

    /// Runs `f` on the state with the lock held. The lock is held for a
    /// few instructions (no allocation, no syscall inside), so a spin with
    /// a yield is enough.
    fn locked<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        while self.locked.swap(true, Ordering::Acquire) {
            std::thread::yield_now();
        }
        // SAFETY: the lock is held (see `impl Sync`), so this is the only
        // reference to the state until the store below.
        let r = f(unsafe { &mut *self.state.get() });
        self.locked.store(false, Ordering::Release);
        r
    }

    /// A block for `layout`, or null when it does not fit.
    fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(class) = class_of(layout) else {
            return std::ptr::null_mut();
        };
        let base = self.base();
        let p = self.locked(|st| {
            let Some(slot) = st.free.get_mut(class) else {
                return std::ptr::null_mut();
            };
            let head = *slot;
            if !head.is_null() {
                // SAFETY: a block on a free list is at least MIN_BLOCK bytes,
                // 16-aligned, inside the arena, and holds the next link.
                *slot = unsafe { head.cast::<*mut u8>().read() };
                return head;
            }
            let size = block_size(class);
            let start = st.used.next_multiple_of(size);
            if start + size > RESERVE_BYTES {
                return std::ptr::null_mut();
            }
            st.used = start + size;
            // SAFETY: start + size <= RESERVE_BYTES: inside the arena.
            unsafe { base.add(start) }
        });
        if !p.is_null() {
            let _ = self
                .newly_used
                .compare_exchange(0, 1, Ordering::Relaxed, Ordering::Relaxed);
        }
        p
    }

    /// True the first time it is asked after the reserve was first used.
    /// Reads before it writes: the runtime asks after every event, and a
    /// compare-exchange stores even when it fails, which would dirty the
    /// reserve's last page in every idle drainit (4 kB of private memory).
    fn reported(&self) -> bool {
        self.newly_used.load(Ordering::Relaxed) == 1
            && self
                .newly_used
                .compare_exchange(1, 2, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }

    /// Puts a block from [`Reserve::alloc`] back on its class's list.
    ///
    /// # Safety
    /// `p` came from `alloc` with `layout` and is not used afterwards.
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        let Some(class) = class_of(layout) else {
            return;
        };
        self.locked(|st| {
            let Some(slot) = st.free.get_mut(class) else {
                return;
            };
            // SAFETY: the block is ours again and at least MIN_BLOCK bytes,
            // 16-aligned: room for the link.
            unsafe { p.cast::<*mut u8>().write(*slot) };
            *slot = p;
        });
    }
}

/// Moves a block to a new one of `new_size` bytes: `alloc` gives the new
/// block, `free` releases the old one after the copy.
///
/// # Safety
/// `ptr` is valid for `layout.size()` bytes and not used afterwards if the
/// move succeeds.
unsafe fn moved(
    ptr: *mut u8,
    layout: Layout,
    new_size: usize,
    alloc: impl FnOnce(Layout) -> *mut u8,
    free: impl FnOnce(*mut u8, Layout),
) -> *mut u8 {
    let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
        return std::ptr::null_mut();
    };
    let q = alloc(new_layout);
    if !q.is_null() {
        // SAFETY: both blocks are valid for the smaller size and distinct
        // (q is a fresh allocation).
        unsafe { std::ptr::copy_nonoverlapping(ptr, q, layout.size().min(new_size)) };
        free(ptr, layout);
    }
    q
}

// SAFETY: a block comes either from System (retried: a failed call changes
// nothing) or from the reserve, which hands each block to one owner at a
// time; `dealloc` and `realloc` tell the two apart by address, since the
// reserve is one static range System never returns.
unsafe impl GlobalAlloc for Retrying {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's guarantees for `layout` are passed on.
        let p = retry(|| unsafe { System.alloc(layout) });
        if p.is_null() {
            RESERVE.alloc(layout)
        } else {
            p
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: as for alloc.
        let p = retry(|| unsafe { System.alloc_zeroed(layout) });
        if !p.is_null() {
            return p;
        }
        let p = RESERVE.alloc(layout);
        if !p.is_null() {
            // SAFETY: a reused block holds old bytes; it is valid for
            // layout.size() bytes.
            unsafe { p.write_bytes(0, layout.size()) };
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if RESERVE.contains(ptr) {
            // SAFETY: the block came from the reserve with `layout`.
            unsafe { RESERVE.dealloc(ptr, layout) }
        } else {
            // SAFETY: `ptr` came from System with `layout`.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        if RESERVE.contains(ptr) {
            let same = Layout::from_size_align(new_size, layout.align())
                .ok()
                .and_then(class_of);
            if same.is_some() && same == class_of(layout) {
                return ptr;
            }
            // SAFETY: a non-zero layout, as `new_size` is.
            let alloc = |l| unsafe { self.alloc(l) };
            // SAFETY: the old block is not used after the copy.
            let free = |p, l| unsafe { RESERVE.dealloc(p, l) };
            // SAFETY: `ptr` is a reserve block valid for layout.size().
            return unsafe { moved(ptr, layout, new_size, alloc, free) };
        }
        // SAFETY: `ptr` came from System with `layout`; after a failed
        // realloc it is still that block, so the next attempt is valid.
        let q = retry(|| unsafe { System.realloc(ptr, layout, new_size) });
        if !q.is_null() {
            return q;
        }
        // SAFETY: the old block is not used after the copy.
        let free = |p, l| unsafe { System.dealloc(p, l) };
        // SAFETY: System refused to grow the block; it is still valid.
        unsafe { moved(ptr, layout, new_size, |l| RESERVE.alloc(l), free) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn a_failure_that_goes_away_is_absorbed() {
        let calls = Cell::new(0);
        let mut x = 0u8;
        let p = retry(|| {
            calls.set(calls.get() + 1);
            if calls.get() < 3 {
                std::ptr::null_mut()
            } else {
                &mut x
            }
        });
        assert!(!p.is_null());
        assert_eq!(calls.get(), 3);
    }

    #[test]
    fn a_lasting_failure_gives_up_after_the_tries() {
        let calls = Cell::new(0);
        let p = retry(|| {
            calls.set(calls.get() + 1);
            std::ptr::null_mut()
        });
        assert!(p.is_null());
        assert_eq!(calls.get(), TRIES);
    }

    #[test]
    fn allocates_reallocates_and_frees_through_the_system() {
        let a = Retrying;
        let layout = Layout::from_size_align(64, 8).unwrap();
        // SAFETY: a non-zero layout; the block is freed with the layout of
        // its last size.
        unsafe {
            let p = a.alloc_zeroed(layout);
            assert!(!p.is_null());
            assert_eq!(*p, 0);
            let q = a.realloc(p, layout, 4096);
            assert!(!q.is_null());
            a.dealloc(q, Layout::from_size_align(4096, 8).unwrap());
        }
    }

    #[test]
    fn classes_are_powers_of_two_from_16_bytes_to_64_kib() {
        let l = |size, align| Layout::from_size_align(size, align).unwrap();
        assert_eq!(class_of(l(1, 1)), Some(0));
        assert_eq!(class_of(l(16, 8)), Some(0));
        assert_eq!(class_of(l(17, 8)), Some(1));
        assert_eq!(class_of(l(8, 64)), Some(2), "alignment sets the class");
        assert_eq!(class_of(l(65536, 8)), Some(12));
        assert_eq!(class_of(l(65537, 8)), None);
        assert_eq!(class_of(l(16, 8192)), None, "beyond the arena's alignment");
    }

    #[test]
    fn a_freed_block_is_handed_out_again() {
        static R: Reserve = Reserve::new();
        let layout = Layout::from_size_align(100, 8).unwrap();
        let a = R.alloc(layout);
        assert!(!a.is_null() && R.contains(a));
        assert!(R.reported(), "the first use is reported");
        assert!(!R.reported(), "once");
        // SAFETY: `a` came from R with `layout`.
        unsafe { R.dealloc(a, layout) };
        assert_eq!(R.alloc(layout), a);
        let b = R.alloc(layout);
        assert!(!b.is_null() && b != a);
        assert!(!R.reported(), "once in the life of the process");
    }

    #[test]
    fn the_reserve_fills_and_frees() {
        static R: Reserve = Reserve::new();
        let big = Layout::from_size_align(65536, 8).unwrap();
        let blocks: Vec<_> = (0..RESERVE_BYTES / 65536).map(|_| R.alloc(big)).collect();
        assert!(blocks.iter().all(|p| !p.is_null()));
        assert!(R.alloc(big).is_null(), "full");
        assert!(R.alloc(Layout::from_size_align(16, 8).unwrap()).is_null());
        // SAFETY: the block came from R with `big`.
        unsafe { R.dealloc(blocks[1], big) };
        assert_eq!(R.alloc(big), blocks[1]);
    }

    #[test]
    fn blocks_are_aligned_and_distinct_under_threads() {
        static R: Reserve = Reserve::new();
        let threads: Vec<_> = (0..4u8)
            .map(|t| {
                std::thread::spawn(move || {
                    for round in 0..2000usize {
                        let size = 8 << (round % 8);
                        let align = 1 << (round % 7);
                        let layout = Layout::from_size_align(size, align).unwrap();
                        let p = R.alloc(layout);
                        assert!(!p.is_null());
                        assert_eq!(p as usize % align, 0);
                        // SAFETY: the block is ours for `size` bytes.
                        unsafe {
                            p.write_bytes(t, size);
                            std::thread::yield_now();
                            let bytes = std::slice::from_raw_parts(p, size);
                            assert!(bytes.iter().all(|&b| b == t), "another thread wrote here");
                            R.dealloc(p, layout);
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    }

    #[test]
    fn a_reserve_block_grows_and_goes_back() {
        let a = Retrying;
        let layout = Layout::from_size_align(24, 8).unwrap();
        let p = RESERVE.alloc(layout);
        assert!(!p.is_null());
        // SAFETY: `p` is a reserve block of 24 bytes; each realloc result
        // is used with its new size only.
        unsafe {
            p.write_bytes(7, 24);
            assert_eq!(a.realloc(p, layout, 30), p, "same class: in place");
            let q = a.realloc(p, Layout::from_size_align(30, 8).unwrap(), 4000);
            assert!(!q.is_null());
            assert!(!RESERVE.contains(q), "the system serves again when it can");
            assert!(std::slice::from_raw_parts(q, 24).iter().all(|&b| b == 7));
            a.dealloc(q, Layout::from_size_align(4000, 8).unwrap());
        }
    }
}
