//! The main thread's stack after start-up: the deep calls of start-up
//! (argument parsing, the spawn, the runtime's construction) leave pages
//! dirty far below the frames the idle loop uses. Those pages are private
//! memory of every container for as long as drainit runs. Once, when the
//! loop first goes idle, they are handed back to the kernel; a page touched
//! again comes back zero-filled (docs/benchmarks.md, figure 3b).

const PAGE: usize = 4096;

/// Discards the stack pages more than `keep` bytes below the caller's
/// frame, within the one mapping that holds the caller's frame (the main
/// thread's `[stack]`; under qemu-user or for a thread, whatever mapping
/// its stack is: never a byte of any other mapping). Below the stack
/// pointer nothing is live (the ABI's red zone is 128 bytes, and drainit
/// runs no signal handler: signals arrive through the signalfd), so this
/// changes no value, only which pages are resident. Returns the bytes
/// discarded (0 when the mapping cannot be found).
#[inline(never)]
pub fn trim_below_here(keep: usize) -> usize {
    let here = 0u8;
    let sp = std::ptr::addr_of!(here) as usize;
    let Some(lowest) = start_of_mapping_holding(sp) else {
        return 0;
    };
    let end = sp.saturating_sub(keep) & !(PAGE - 1);
    if end <= lowest {
        return 0;
    }
    // SAFETY: [lowest, end) lies inside the one mapping that holds this
    // frame, wholly below the live frames (`keep` is at least the red
    // zone): nothing there is read before it is written again, and
    // MADV_DONTNEED on private anonymous memory only makes the next touch
    // a zero page.
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

/// The start of the mapping that holds `addr`, from /proc/self/maps read
/// a piece at a time into a buffer on the stack (no allocation: a freed
/// heap block would stay dirty). Not the line named `[stack]`: under
/// qemu-user that names the emulator's own stack, far from the guest's.
/// Not inlined: the buffer's page is below the caller's frame, so the trim
/// discards it too.
#[inline(never)]
fn start_of_mapping_holding(addr: usize) -> Option<usize> {
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
            if let Some((start, end)) = range(line) {
                if start <= addr && addr < end {
                    return Some(start);
                }
            }
            line_start += nl + 1;
        }
        if line_start == 0 && len == buf.len() {
            // One line longer than the buffer (a long path): its range
            // came first and was not read whole; skip it by keeping
            // nothing of it.
            len = 0;
        } else {
            buf.copy_within(line_start..len, 0);
            len -= line_start;
        }
    }
}

/// `START-END` at the head of a maps line.
fn range(line: &[u8]) -> Option<(usize, usize)> {
    let text = std::str::from_utf8(line.split(|&b| b == b' ').next()?).ok()?;
    let (start, end) = text.split_once('-')?;
    Some((
        usize::from_str_radix(start, 16).ok()?,
        usize::from_str_radix(end, 16).ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mapping_of_a_frame_is_found() {
        let here = 0u8;
        let sp = std::ptr::addr_of!(here) as usize;
        let start = start_of_mapping_holding(sp).expect("a frame lies in a mapping");
        assert_eq!(start % PAGE, 0);
        assert!(start <= sp);
        assert_eq!(
            range(b"7ffc1000-7ffc3000 rw-p 00000000 00:00 0   [stack]"),
            Some((0x7ffc1000, 0x7ffc3000))
        );
        assert_eq!(range(b"garbage"), None);
    }

    /// From a thread (whose stack is an ordinary mapping, with other
    /// mappings all around it, as the guest's stack is under qemu-user):
    /// the trim stays inside that thread's stack and touches nothing else.
    #[test]
    fn a_trim_reaches_nothing_but_its_own_stack() {
        static MARK: std::sync::Mutex<[u8; 4096]> = std::sync::Mutex::new([7; 4096]);
        let heap = vec![9u8; 1 << 20];
        let stack_size = 1 << 20;
        let n = std::thread::Builder::new()
            .stack_size(stack_size)
            .spawn(|| {
                // Dirty the thread's stack deep down, then come back up.
                fn deep(d: u32) -> u8 {
                    let page = std::hint::black_box([d as u8; 4096]);
                    if d == 0 {
                        page[0]
                    } else {
                        deep(d - 1).wrapping_add(page[1])
                    }
                }
                std::hint::black_box(deep(32));
                trim_below_here(8192)
            })
            .unwrap()
            .join()
            .unwrap();
        assert!(n > 0, "nothing trimmed below a deep call");
        assert!(
            n < stack_size + PAGE,
            "trimmed {n} bytes: beyond the thread's stack"
        );
        assert!(heap.iter().all(|&b| b == 9), "the heap was touched");
        assert!(
            MARK.lock().unwrap().iter().all(|&b| b == 7),
            "static data was touched"
        );
    }
}
