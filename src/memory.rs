//! The start-up trim, measured and found to save nothing: kept as a no-op
//! only for its call sites (the supervisor's trim timer, `Action::Trim` in
//! the runtime, `trim_after` in app.rs), which go with it.
//!
//! It used to drop the binary's clean code pages from the page tables
//! (MADV_DONTNEED), and with the link-time code layout it took idle VmRSS
//! from about 1,190 kB to 390 kB. Those pages are page cache that every
//! container running the binary shares, clean and reclaimable: they cost a
//! container its share of one copy (Pss), not a private page. It also
//! dropped the stack pages below the current frame; the event loop goes
//! as deep as start-up did, so that saved nothing either: idle private
//! dirty memory was 96 kB with the trim and 92 kB without
//! (`/proc/PID/smaps_rollup`, Private_Dirty; `make bench`, figure 3).

use std::time::Duration;

/// When the runtime calls [`trim_startup_pages`], once.
pub const TRIM_AFTER: Duration = Duration::from_millis(100);

/// Does nothing (see the module comment).
pub fn trim_startup_pages() {}
