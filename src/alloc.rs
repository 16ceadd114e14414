//! drainit's global allocator: the system's (musl's malloc in the static
//! build), asked again when it fails.
//!
//! An allocation that fails ends a Rust program (`handle_alloc_error`
//! aborts), and PID 1 ending ends the container. The syscall fault matrix
//! (RELIABILITY.md, section 8) showed that one failed `mmap` of a heap
//! chunk, at any phase, did exactly that. A failure that goes away (memory
//! freed by another process of the container, a moment of pressure) is
//! absorbed by asking again, after yielding the CPU; one that persists
//! still aborts after [`TRIES`] attempts, as it must: there is no memory to
//! run on.

use std::alloc::{GlobalAlloc, Layout, System};

/// Attempts per allocation before giving up.
pub const TRIES: u32 = 8;

/// [`System`], retried on failure.
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

// SAFETY: every method forwards its arguments unchanged to System, which
// upholds GlobalAlloc's contract; a retry is a new call with the same
// arguments after a failed one, and a failed alloc or realloc changes
// nothing (realloc leaves the old block valid when it returns null).
unsafe impl GlobalAlloc for Retrying {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's guarantees for `layout` are passed on.
        retry(|| unsafe { System.alloc(layout) })
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for alloc.
        retry(|| unsafe { System.alloc_zeroed(layout) })
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, i.e. from System.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from System with `layout`; after a failed
        // realloc it is still that block, so the next attempt is valid.
        retry(|| unsafe { System.realloc(ptr, layout, new_size) })
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
}
