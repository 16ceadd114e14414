//! Gives back the resident pages of code and read-only data that only
//! start-up used.
//!
//! Parsing options, building the runtime and spawning the child touch most
//! of drainit's code, and the kernel's fault-around maps it in 64 KiB
//! blocks, so a freshly started drainit holds about 1 MB of its binary that
//! it will not use again. Once the child runs, drainit drops its clean,
//! read-only segments from its page tables (MADV_DONTNEED): the pages stay
//! in the page cache, shared and reclaimable, and those the loop needs
//! fault back in. Only pages that always equal the file are dropped: the
//! executable and read-only segments, minus the RELRO range that the loader
//! wrote relocations into. It runs once, 100 ms after start: one timer, then
//! none while idle.

use std::ffi::c_void;
use std::time::Duration;

/// When the runtime trims, once: late enough that a short command never
/// pays for it, early enough to be done before anyone measures idle.
pub const TRIM_AFTER: Duration = Duration::from_millis(100);

const PAGE: usize = 4096;

/// Drops drainit's clean read-only segments from its resident set.
pub fn trim_startup_pages() {
    // First, as reading /proc touches code that the code trim then drops.
    trim_dead_stack();
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    // SAFETY: the callback only reads the headers the loader hands it.
    unsafe {
        libc::dl_iterate_phdr(Some(collect_clean), (&mut ranges as *mut Vec<_>).cast());
    }
    for (start, end) in ranges {
        // SAFETY: clean, read-only, file-backed pages of our own binary:
        // dropping them loses nothing, a later access reads the file again.
        unsafe { libc::madvise(start as *mut c_void, end - start, libc::MADV_DONTNEED) };
    }
}

/// Drops the stack pages below the current frame that start-up's deeper
/// calls (argument parsing) left resident. Below the stack pointer there is
/// nothing live by the ABI; a margin stays for the red zone and for the
/// frames the loop itself goes down to. A dropped page comes back zeroed.
fn trim_dead_stack() {
    const KEEP: usize = 16 * 1024;
    let here = 0u8;
    let sp = std::ptr::addr_of!(here) as usize;
    let Some(lowest) = stack_start() else { return };
    let end = sp.saturating_sub(KEEP) & !(PAGE - 1);
    if end > lowest {
        // SAFETY: anonymous stack memory strictly below the live frames.
        unsafe { libc::madvise(lowest as *mut c_void, end - lowest, libc::MADV_DONTNEED) };
    }
}

/// The lowest address of the main thread's stack mapping.
fn stack_start() -> Option<usize> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    let line = maps.lines().find(|l| l.ends_with("[stack]"))?;
    usize::from_str_radix(line.split('-').next()?, 16).ok()
}

/// # Safety
/// Called by `dl_iterate_phdr` only, with `data` the `Vec` passed to it.
unsafe extern "C" fn collect_clean(
    info: *mut libc::dl_phdr_info,
    _size: usize,
    data: *mut c_void,
) -> i32 {
    let info = &*info;
    let ranges = &mut *(data as *mut Vec<(usize, usize)>);
    let base = info.dlpi_addr as usize;
    let phdrs = std::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum as usize);
    let relro = phdrs
        .iter()
        .find(|p| p.p_type == libc::PT_GNU_RELRO)
        .map(|p| {
            let start = base + p.p_vaddr as usize;
            (
                start & !(PAGE - 1),
                (start + p.p_memsz as usize).next_multiple_of(PAGE),
            )
        });
    for ph in phdrs {
        if ph.p_type != libc::PT_LOAD || ph.p_flags & libc::PF_W != 0 {
            continue;
        }
        let start = (base + ph.p_vaddr as usize).next_multiple_of(PAGE);
        let end = (base + ph.p_vaddr as usize + ph.p_memsz as usize) & !(PAGE - 1);
        ranges.extend(clean_parts((start, end), relro));
    }
    // Only the main program (the first object).
    1
}

/// `range` minus `hole`, as zero, one or two non-empty ranges.
fn clean_parts(range: (usize, usize), hole: Option<(usize, usize)>) -> Vec<(usize, usize)> {
    let (s, e) = range;
    let parts = match hole {
        Some((hs, he)) if hs < e && he > s => vec![(s, hs.max(s)), (he.min(e), e)],
        _ => vec![(s, e)],
    };
    parts.into_iter().filter(|(a, b)| a < b).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relro_is_cut_out() {
        assert_eq!(clean_parts((0, 100), None), [(0, 100)]);
        assert_eq!(clean_parts((0, 100), Some((40, 60))), [(0, 40), (60, 100)]);
        assert_eq!(clean_parts((0, 100), Some((0, 60))), [(60, 100)]);
        assert_eq!(clean_parts((0, 100), Some((50, 200))), [(0, 50)]);
        assert_eq!(clean_parts((0, 100), Some((100, 200))), [(0, 100)]);
        assert_eq!(clean_parts((0, 100), Some((0, 100))), []);
    }

    #[test]
    fn trimming_keeps_the_process_working() {
        let before = std::fs::read_to_string("/proc/self/status").unwrap();
        trim_startup_pages();
        // Code, constants and relocated pointers all still work.
        let after = std::fs::read_to_string("/proc/self/status").unwrap();
        assert!(before.contains("VmRSS") && after.contains("VmRSS"));
        assert_eq!(format!("{:?}", Some("x")), "Some(\"x\")");
    }
}
