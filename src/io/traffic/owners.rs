//! Which sockets belong to the app: the socket inodes open in the
//! processes under drainit, read from `/proc/PID/fd/*` links.

use std::collections::HashSet;
use std::fs;

/// `socket:[12345]` -> 12345.
pub fn socket_inode(link: &str) -> Option<u32> {
    link.strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// The socket inodes open in any of `pids` (processes that vanish or
/// cannot be read are skipped).
pub fn socket_inodes(pids: &[i32]) -> HashSet<u32> {
    let mut out = HashSet::new();
    for pid in pids {
        let Ok(fds) = crate::os::procfs::numeric_entries(&format!("/proc/{pid}/fd")) else {
            continue;
        };
        for fd in fds {
            if let Ok(link) = fs::read_link(format!("/proc/{pid}/fd/{fd}")) {
                if let Some(ino) = link.to_str().and_then(socket_inode) {
                    out.insert(ino);
                }
            }
        }
    }
    out
}

/// Every process under drainit (the child's tree and the orphans it
/// inherited), plus the child itself in case /proc lags.
pub fn app_processes(child: i32) -> Vec<i32> {
    let mut pids = crate::os::procfs::descendants(std::process::id() as i32).unwrap_or_default();
    if !pids.contains(&child) {
        pids.push(child);
    }
    pids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_socket_links() {
        assert_eq!(socket_inode("socket:[12345]"), Some(12345));
        assert_eq!(socket_inode("pipe:[12345]"), None);
        assert_eq!(socket_inode("/dev/null"), None);
        assert_eq!(socket_inode("socket:[]"), None);
    }

    #[test]
    fn finds_its_own_listener() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let me = std::process::id() as i32;
        let inodes = socket_inodes(&[me]);
        let fd = std::os::fd::AsRawFd::as_raw_fd(&l);
        let link = fs::read_link(format!("/proc/self/fd/{fd}")).unwrap();
        let ino = socket_inode(link.to_str().unwrap()).unwrap();
        assert!(inodes.contains(&ino));
    }
}
