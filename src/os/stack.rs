//! The main thread's stack after start-up: the deep calls of start-up
//! (argument parsing, the spawn, the runtime's construction) leave pages
//! dirty far below the frames the idle loop uses. Those pages are private
//! memory of every container for as long as drainit runs. Once, when the
//! loop first goes idle, they are handed back to the kernel; a page touched
//! again comes back zero-filled (docs/benchmarks.md, figure 3b).

const PAGE: usize = 4096;

/// Discards the main thread's stack pages more than `keep` bytes below the
/// caller's frame. Below the stack pointer nothing is live (the ABI's red
/// zone is 128 bytes, and drainit runs no signal handler: signals arrive
/// through the signalfd), so this changes no value, only which pages are
/// resident. Returns the bytes discarded (0 when the stack cannot be found).
#[inline(never)]
pub fn trim_below_here(keep: usize) -> usize {
    let here = 0u8;
    let sp = std::ptr::addr_of!(here) as usize;
    let Some(lowest) = stack_start() else {
        return 0;
    };
    let end = sp.saturating_sub(keep) & !(PAGE - 1);
    if end <= lowest {
        return 0;
    }
    // SAFETY: [lowest, end) is the main thread's own stack mapping, wholly
    // below the live frames (`keep` is at least the red zone): nothing
    // there is read before it is written again, and MADV_DONTNEED on
    // private anonymous memory only makes the next touch a zero page.
    let rc = unsafe {
        libc::madvise(
            lowest as *mut libc::c_void,
            end - lowest,
            libc::MADV_DONTNEED,
        )
    };
    if rc == 0 {
        end - lowest
    } else {
        0
    }
}

/// The lowest address of the `[stack]` mapping, from /proc/self/maps read
/// a piece at a time into a buffer on the stack (no allocation: a freed
/// heap block would stay dirty). Not inlined: the buffer's page is below the caller's frame, so
/// the trim discards it too.
#[inline(never)]
fn stack_start() -> Option<usize> {
    use std::io::Read;
    let mut f = std::fs::File::open("/proc/self/maps").ok()?;
    let mut buf = [0u8; 1024];
    // `len` bytes of `buf` hold the start of a line not yet complete.
    let mut len = 0;
    loop {
        let n = f.read(buf.get_mut(len..)?).ok()?;
        if n == 0 {
            return None;
        }
        len += n;
        let mut line_start = 0;
        while let Some(nl) = buf.get(line_start..len)?.iter().position(|&b| b == b'\n') {
            let line = buf.get(line_start..line_start + nl)?;
            if line.ends_with(b"[stack]") {
                let text = std::str::from_utf8(line).ok()?;
                return usize::from_str_radix(text.split('-').next()?, 16).ok();
            }
            line_start += nl + 1;
        }
        if line_start == 0 && len == buf.len() {
            // One line longer than the buffer (a long path): not the
            // stack's; skip it by keeping nothing of it.
            len = 0;
        } else {
            buf.copy_within(line_start..len, 0);
            len -= line_start;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_main_stack_is_found_and_a_threads_is_left_alone() {
        let lowest = stack_start().expect("every process has a [stack] mapping");
        assert_eq!(lowest % PAGE, 0);
        // A thread's stack is an ordinary mapping below the main one: the
        // trim must not reach into it (or anything else) from there.
        let n = std::thread::spawn(|| trim_below_here(8192)).join().unwrap();
        assert_eq!(n, 0, "trimmed from a thread's stack");
    }
}
