//! A minimal netlink sock_diag (inet_diag) client: dump the TCP sockets of
//! drainit's network namespace, filtered in the kernel by state and local
//! port. Raw `libc` calls; building requests and parsing answers are pure
//! functions over byte slices, unit-tested without a kernel.
//!
//! Layouts (all native-endian except ports and addresses, which are network
//! order) follow `linux/netlink.h` and `linux/inet_diag.h`.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// TCP states, as in `include/net/tcp_states.h`.
pub mod state {
    pub const ESTABLISHED: u8 = 1;
    pub const SYN_RECV: u8 = 3;
    pub const FIN_WAIT1: u8 = 4;
    pub const FIN_WAIT2: u8 = 5;
    pub const TIME_WAIT: u8 = 6;
    pub const CLOSE: u8 = 7;
    pub const CLOSE_WAIT: u8 = 8;
    pub const LAST_ACK: u8 = 9;
    pub const LISTEN: u8 = 10;
    pub const CLOSING: u8 = 11;
    pub const NEW_SYN_RECV: u8 = 12;

    /// The `idiag_states` bit of a state.
    pub const fn bit(s: u8) -> u32 {
        1 << s
    }

    /// Every state a server-side connection of a listener can be in:
    /// all but LISTEN and SYN_SENT (2, client side only).
    pub const CONNECTIONS: u32 = bit(ESTABLISHED)
        | bit(SYN_RECV)
        | bit(NEW_SYN_RECV)
        | bit(FIN_WAIT1)
        | bit(FIN_WAIT2)
        | bit(TIME_WAIT)
        | bit(CLOSE)
        | bit(CLOSE_WAIT)
        | bit(LAST_ACK)
        | bit(CLOSING);

    /// A connection on its way out: once seen here, the same 4-tuple
    /// showing up open again is a new connection (port reuse).
    pub fn closing(s: u8) -> bool {
        matches!(
            s,
            FIN_WAIT1 | FIN_WAIT2 | TIME_WAIT | CLOSE | CLOSE_WAIT | LAST_ACK | CLOSING
        )
    }

    /// A connection being set up or in use.
    pub fn open(s: u8) -> bool {
        matches!(s, SYN_RECV | NEW_SYN_RECV | ESTABLISHED)
    }
}

const NETLINK_SOCK_DIAG: i32 = 4;
const SOCK_DIAG_BY_FAMILY: u16 = 20;
const TCPDIAG_GETSOCK: u16 = 18;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_DUMP: u16 = 0x300;
const INET_DIAG_REQ_BYTECODE: u16 = 1;
const INET_DIAG_INFO: u16 = 2;
const BC_JMP: u8 = 1;
const BC_S_GE: u8 = 2;
const BC_S_LE: u8 = 3;

const NLMSG_HDR: usize = 16;
/// `struct inet_diag_req_v2`: family, protocol, ext, pad, states, sockid.
const REQ_LEN: usize = 56;
/// `struct inet_diag_req` (v1): family, src_len, dst_len, ext, sockid,
/// states, dbs.
const REQ_V1_LEN: usize = 60;
/// `struct inet_diag_msg`.
const MSG_LEN: usize = 72;
/// Offset of `tcpi_bytes_received` (u64) in `struct tcp_info` (Linux 4.1+).
const TCPI_BYTES_RECEIVED: usize = 128;

/// A TCP connection's identity: family, local and remote address and port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tuple {
    pub family: u8,
    pub local: [u8; 16],
    pub lport: u16,
    pub remote: [u8; 16],
    pub rport: u16,
}

/// One socket from a dump.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sock {
    pub tuple: Tuple,
    pub state: u8,
    pub inode: u32,
    /// The kernel's socket cookie: unique per socket for the boot.
    pub cookie: u64,
    /// Listener: accept-queue length; connection: unread bytes.
    pub rqueue: u32,
    /// `tcpi_bytes_received`, when tcp_info was asked for and sent (full
    /// sockets only: not TIME_WAIT or SYN_RECV mini-sockets).
    pub bytes_received: Option<u64>,
}

/// An open NETLINK_SOCK_DIAG socket.
pub struct Diag {
    fd: OwnedFd,
    seq: u32,
    buf: Vec<u8>,
    /// Whether the kernel takes the one-walk request for both families.
    pub(super) both_at_once: bool,
}

impl Diag {
    pub fn open() -> io::Result<Diag> {
        // SAFETY: socket(2) takes integers and returns a new descriptor.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
                NETLINK_SOCK_DIAG,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd was just returned by socket(2) and nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // A dump never blocks for long; the timeout only guards the loop.
        let tv = libc::timeval {
            tv_sec: 1,
            tv_usec: 0,
        };
        // SAFETY: the option value is a live timeval of the size given.
        unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&tv as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as u32,
            )
        };
        Ok(Diag {
            fd,
            seq: 0,
            buf: vec![0; 64 * 1024],
            both_at_once: true,
        })
    }

    /// Appends the IPv4 and IPv6 TCP sockets in `states` whose local port
    /// is one of `ports` (every port when empty) to `out`; `info` asks for
    /// tcp_info (bytes received).
    ///
    /// A dump's cost is mostly the kernel's walk of the established hash
    /// table, which is host-wide (unless `tcp_child_ehash_entries` is set)
    /// and sized by RAM, whatever the filter keeps. One walk for both
    /// families (the older TCPDIAG_GETSOCK request: family AF_UNSPEC)
    /// halves it; kernels without it get one request per family.
    pub fn dump(
        &mut self,
        states: u32,
        ports: &[u16],
        info: bool,
        out: &mut Vec<Sock>,
    ) -> io::Result<()> {
        let bytecode = port_filter(ports);
        if self.both_at_once {
            let before = out.len();
            let req = request_both(states, info, &bytecode, self.seq.wrapping_add(1));
            match self.send_dump(&req, out) {
                Ok(()) => return Ok(()),
                Err(e) if out.len() == before && unsupported(&e) => self.both_at_once = false,
                Err(e) => return Err(e),
            }
        }
        for family in [libc::AF_INET as u8, libc::AF_INET6 as u8] {
            let req = request(family, states, info, &bytecode, self.seq.wrapping_add(1));
            self.send_dump(&req, out)?;
        }
        Ok(())
    }

    /// Sends one dump request, numbered `self.seq + 1`, and reads the whole
    /// answer into `out`.
    fn send_dump(&mut self, req: &[u8], out: &mut Vec<Sock>) -> io::Result<()> {
        self.seq = self.seq.wrapping_add(1);
        // SAFETY: sockaddr_nl is plain data; all zeros is a valid value.
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as u16;
        // SAFETY: req and addr are live for the call, with their lengths.
        let sent = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                req.as_ptr().cast(),
                req.len(),
                0,
                (&addr as *const libc::sockaddr_nl).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as u32,
            )
        };
        if sent < 0 {
            return Err(io::Error::last_os_error());
        }
        loop {
            // SAFETY: recv writes at most buf.len() bytes into buf.
            let n = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    self.buf.as_mut_ptr().cast(),
                    self.buf.len(),
                    0,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if parse(slice(&self.buf, 0, n as usize), self.seq, out)? {
                return Ok(());
            }
        }
    }
}

/// Errors meaning "this kind of request is not known here".
fn unsupported(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EINVAL | libc::ENOENT | libc::EOPNOTSUPP)
    )
}

fn ext(info: bool) -> u8 {
    if info {
        1 << (INET_DIAG_INFO - 1)
    } else {
        0
    }
}

/// nlmsghdr + `body` + the bytecode attribute (if any).
fn message(kind: u16, seq: u32, body: &[u8], bytecode: &[u8]) -> Vec<u8> {
    let attr_len = if bytecode.is_empty() {
        0
    } else {
        4 + bytecode.len()
    };
    let len = NLMSG_HDR + body.len() + attr_len;
    let mut b = Vec::with_capacity(len);
    b.extend_from_slice(&(len as u32).to_ne_bytes());
    b.extend_from_slice(&kind.to_ne_bytes());
    b.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    b.extend_from_slice(&seq.to_ne_bytes());
    b.extend_from_slice(&0u32.to_ne_bytes());
    b.extend_from_slice(body);
    if !bytecode.is_empty() {
        b.extend_from_slice(&(attr_len as u16).to_ne_bytes());
        b.extend_from_slice(&INET_DIAG_REQ_BYTECODE.to_ne_bytes());
        b.extend_from_slice(bytecode);
    }
    b
}

/// A SOCK_DIAG_BY_FAMILY dump request for TCP (`struct inet_diag_req_v2`).
pub fn request(family: u8, states: u32, info: bool, bytecode: &[u8], seq: u32) -> Vec<u8> {
    let mut body = Vec::with_capacity(REQ_LEN);
    body.extend_from_slice(&[family, libc::IPPROTO_TCP as u8, ext(info), 0]);
    body.extend_from_slice(&states.to_ne_bytes());
    body.extend_from_slice(&[0; 48]); // inet_diag_sockid: unused for dumps
    message(SOCK_DIAG_BY_FAMILY, seq, &body, bytecode)
}

/// A TCPDIAG_GETSOCK dump request (`struct inet_diag_req`, v1): the kernel
/// answers for both families from one walk.
pub fn request_both(states: u32, info: bool, bytecode: &[u8], seq: u32) -> Vec<u8> {
    let mut body = Vec::with_capacity(REQ_V1_LEN);
    body.extend_from_slice(&[0, 0, 0, ext(info)]); // family, src_len, dst_len, ext
    body.extend_from_slice(&[0; 48]); // inet_diag_sockid
    body.extend_from_slice(&states.to_ne_bytes());
    body.extend_from_slice(&0u32.to_ne_bytes()); // idiag_dbs
    message(TCPDIAG_GETSOCK, seq, &body, bytecode)
}

/// inet_diag bytecode accepting sockets whose local port is one of
/// `ports`: `sport >= p && sport <= p` for each port, OR-ed the way `ss`
/// does (a JMP to the end after each match). Empty: no filter.
///
/// Each op is `{code: u8, yes: u8, no: u16}`: the kernel moves `yes` bytes
/// on when the condition holds, `no` bytes otherwise; landing exactly on the
/// end accepts, past it (end + 4) rejects. A port comparison keeps its port
/// in the `no` field of the op that follows it.
pub fn port_filter(ports: &[u16]) -> Vec<u8> {
    let n = ports.len();
    if n == 0 {
        return Vec::new();
    }
    let total = 20 * (n - 1) + 16;
    let mut b = Vec::with_capacity(total);
    let op = |b: &mut Vec<u8>, code: u8, yes: u8, no: usize| {
        b.extend_from_slice(&[code, yes]);
        b.extend_from_slice(&(no as u16).to_ne_bytes());
    };
    for (i, &port) in ports.iter().enumerate() {
        let start = b.len();
        let last = i + 1 == n;
        let fail = if last { total + 4 } else { start + 20 };
        op(&mut b, BC_S_GE, 8, fail - start);
        op(&mut b, 0, 0, port as usize);
        op(&mut b, BC_S_LE, 8, fail - (start + 8));
        op(&mut b, 0, 0, port as usize);
        if !last {
            op(&mut b, BC_JMP, 4, total - (start + 16));
        }
    }
    debug_assert_eq!(b.len(), total);
    b
}

/// `N` bytes of `b` at `at`, zeros where `b` is too short: the callers
/// check lengths first, and a short read must never panic PID 1.
fn bytes<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    let mut out = [0; N];
    if let Some(src) = b.get(at..at.saturating_add(N)) {
        out.copy_from_slice(src);
    }
    out
}

/// `b[from..to]`, or empty when out of range.
fn slice(b: &[u8], from: usize, to: usize) -> &[u8] {
    b.get(from..to).unwrap_or_default()
}

fn u16_ne(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes(bytes(b, at))
}

fn u32_ne(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes(bytes(b, at))
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("sock_diag: {what}"))
}

/// Parses one datagram of a dump answer into `out`. Returns true at the
/// end of the dump (NLMSG_DONE); a kernel error becomes an `Err`.
pub fn parse(mut buf: &[u8], seq: u32, out: &mut Vec<Sock>) -> io::Result<bool> {
    while buf.len() >= NLMSG_HDR {
        let len = u32_ne(buf, 0) as usize;
        if len < NLMSG_HDR || len > buf.len() {
            return Err(bad("truncated message"));
        }
        let kind = u16_ne(buf, 4);
        let msg = slice(buf, NLMSG_HDR, len);
        let stale = u32_ne(buf, 8) != seq;
        buf = slice(buf, len.next_multiple_of(4).min(buf.len()), buf.len());
        if stale {
            continue;
        }
        match kind {
            NLMSG_DONE => {
                let err = if msg.len() >= 4 {
                    u32_ne(msg, 0) as i32
                } else {
                    0
                };
                return if err < 0 {
                    Err(io::Error::from_raw_os_error(-err))
                } else {
                    Ok(true)
                };
            }
            NLMSG_ERROR => {
                let err = if msg.len() >= 4 {
                    u32_ne(msg, 0) as i32
                } else {
                    -libc::EIO
                };
                return if err < 0 {
                    Err(io::Error::from_raw_os_error(-err))
                } else {
                    Ok(true)
                };
            }
            SOCK_DIAG_BY_FAMILY | TCPDIAG_GETSOCK => out.push(parse_sock(msg)?),
            _ => {}
        }
    }
    Ok(false)
}

/// `struct inet_diag_msg` followed by attributes.
fn parse_sock(m: &[u8]) -> io::Result<Sock> {
    if m.len() < MSG_LEN {
        return Err(bad("short inet_diag_msg"));
    }
    let [family, state] = bytes(m, 0);
    let tuple = Tuple {
        family,
        lport: u16::from_be_bytes(bytes(m, 4)),
        rport: u16::from_be_bytes(bytes(m, 6)),
        local: bytes(m, 8),
        remote: bytes(m, 24),
    };
    let cookie = u64::from(u32_ne(m, 44)) | u64::from(u32_ne(m, 48)) << 32;
    let mut sock = Sock {
        tuple,
        state,
        rqueue: u32_ne(m, 56),
        inode: u32_ne(m, 68),
        cookie,
        bytes_received: None,
    };
    let mut attrs = slice(m, MSG_LEN, m.len());
    while attrs.len() >= 4 {
        let len = u16_ne(attrs, 0) as usize;
        if len < 4 || len > attrs.len() {
            break;
        }
        let data = slice(attrs, 4, len);
        if u16_ne(attrs, 2) == INET_DIAG_INFO && data.len() >= TCPI_BYTES_RECEIVED + 8 {
            sock.bytes_received = Some(u64::from_ne_bytes(bytes(data, TCPI_BYTES_RECEIVED)));
        }
        attrs = slice(attrs, len.next_multiple_of(4).min(attrs.len()), attrs.len());
    }
    Ok(sock)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs inet_diag bytecode the way the kernel's `inet_diag_bc_run`
    /// does, for a socket with local port `sport`.
    fn run(bc: &[u8], sport: u16) -> bool {
        let mut pc = 0usize;
        let mut len = bc.len() as isize;
        while len > 0 {
            let (code, yes, no) = (bc[pc], bc[pc + 1] as usize, u16_ne(bc, pc + 2) as usize);
            let port = || u16_ne(bc, pc + 6);
            let ok = match code {
                BC_JMP => false,
                BC_S_GE => sport >= port(),
                BC_S_LE => sport <= port(),
                _ => panic!("unexpected op {code}"),
            };
            let step = if ok { yes } else { no };
            pc += step;
            len -= step as isize;
        }
        len == 0
    }

    #[test]
    fn port_filter_accepts_exactly_the_ports() {
        for ports in [vec![8080], vec![80, 443], vec![1, 8080, 65535, 9000]] {
            let bc = port_filter(&ports);
            for p in [
                0u16, 1, 2, 79, 80, 81, 443, 8079, 8080, 8081, 9000, 65534, 65535,
            ] {
                assert_eq!(
                    run(&bc, p),
                    ports.contains(&p),
                    "ports {ports:?}, sport {p}"
                );
            }
        }
        assert!(port_filter(&[]).is_empty());
    }

    #[test]
    fn request_layout() {
        let r = request(
            libc::AF_INET6 as u8,
            state::bit(state::LISTEN),
            true,
            &port_filter(&[80]),
            7,
        );
        assert_eq!(r.len(), 16 + 56 + 4 + 16);
        assert_eq!(u32_ne(&r, 0) as usize, r.len());
        assert_eq!(u16_ne(&r, 4), SOCK_DIAG_BY_FAMILY);
        assert_eq!(u32_ne(&r, 8), 7);
        assert_eq!(&r[16..20], &[libc::AF_INET6 as u8, 6, 2, 0]);
        assert_eq!(u32_ne(&r, 20), 1 << 10);
        assert_eq!(u16_ne(&r, 72) as usize, 4 + 16);
        assert_eq!(u16_ne(&r, 74), INET_DIAG_REQ_BYTECODE);
        let r = request_both(state::CONNECTIONS, false, &[], 9);
        assert_eq!(r.len(), 16 + 60);
        assert_eq!(u16_ne(&r, 4), TCPDIAG_GETSOCK);
        assert_eq!(u32_ne(&r, 16 + 52), state::CONNECTIONS);
    }

    /// A fake kernel answer: one socket message (with tcp_info when
    /// `bytes` is set) then NLMSG_DONE.
    pub fn answer(seq: u32, socks: &[(u16, u16, u8, Option<u64>)]) -> Vec<u8> {
        let mut b = Vec::new();
        for &(lport, rport, st, bytes) in socks {
            let info_len = if bytes.is_some() { 4 + 232 } else { 0 };
            let len = NLMSG_HDR + MSG_LEN + info_len;
            b.extend_from_slice(&(len as u32).to_ne_bytes());
            b.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
            b.extend_from_slice(&2u16.to_ne_bytes());
            b.extend_from_slice(&seq.to_ne_bytes());
            b.extend_from_slice(&0u32.to_ne_bytes());
            let mut m = [0u8; MSG_LEN];
            m[0] = libc::AF_INET as u8;
            m[1] = st;
            m[4..6].copy_from_slice(&lport.to_be_bytes());
            m[6..8].copy_from_slice(&rport.to_be_bytes());
            m[8..12].copy_from_slice(&[127, 0, 0, 1]);
            m[24..28].copy_from_slice(&[127, 0, 0, 1]);
            m[44..48].copy_from_slice(&0xdead_beefu32.to_ne_bytes());
            m[48..52].copy_from_slice(&1u32.to_ne_bytes());
            m[68..72].copy_from_slice(&4242u32.to_ne_bytes());
            b.extend_from_slice(&m);
            if let Some(v) = bytes {
                b.extend_from_slice(&(info_len as u16).to_ne_bytes());
                b.extend_from_slice(&INET_DIAG_INFO.to_ne_bytes());
                let mut info = [0u8; 232];
                info[TCPI_BYTES_RECEIVED..TCPI_BYTES_RECEIVED + 8]
                    .copy_from_slice(&v.to_ne_bytes());
                b.extend_from_slice(&info);
            }
        }
        b.extend_from_slice(&20u32.to_ne_bytes());
        b.extend_from_slice(&NLMSG_DONE.to_ne_bytes());
        b.extend_from_slice(&2u16.to_ne_bytes());
        b.extend_from_slice(&seq.to_ne_bytes());
        b.extend_from_slice(&0u32.to_ne_bytes());
        b.extend_from_slice(&0u32.to_ne_bytes());
        b
    }

    #[test]
    fn parses_sockets_and_done() {
        let buf = answer(
            3,
            &[
                (8080, 40000, state::ESTABLISHED, Some(77)),
                (8080, 40001, state::TIME_WAIT, None),
            ],
        );
        let mut out = Vec::new();
        assert!(parse(&buf, 3, &mut out).unwrap());
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].tuple.lport, 8080);
        assert_eq!(out[0].tuple.rport, 40000);
        assert_eq!(&out[0].tuple.local[..4], &[127, 0, 0, 1]);
        assert_eq!(out[0].state, state::ESTABLISHED);
        assert_eq!(out[0].inode, 4242);
        assert_eq!(out[0].cookie, 0x1_dead_beef);
        assert_eq!(out[0].bytes_received, Some(77));
        assert_eq!(out[1].bytes_received, None);
        // Another request's answer is skipped.
        let mut none = Vec::new();
        assert!(parse(&buf[..buf.len() - 20], 4, &mut none).is_ok_and(|done| !done));
        assert!(none.is_empty());
    }

    #[test]
    fn kernel_errors_and_garbage() {
        let mut err = Vec::new();
        err.extend_from_slice(&36u32.to_ne_bytes());
        err.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
        err.extend_from_slice(&0u16.to_ne_bytes());
        err.extend_from_slice(&1u32.to_ne_bytes());
        err.extend_from_slice(&0u32.to_ne_bytes());
        err.extend_from_slice(&(-libc::ENOENT).to_ne_bytes());
        err.extend_from_slice(&[0; 16]);
        let e = parse(&err, 1, &mut Vec::new()).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENOENT));
        let mut short = answer(1, &[(1, 2, 1, None)]);
        short[0] = 200; // length past the buffer
        assert!(parse(&short, 1, &mut Vec::new()).is_err());
    }

    /// The real kernel, on loopback: a listener and one accepted connection.
    #[test]
    fn dumps_a_real_loopback_connection() {
        let Ok(mut diag) = Diag::open() else {
            eprintln!("SKIPPED: no NETLINK_SOCK_DIAG here");
            return;
        };
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let (_s, peer) = l.accept().unwrap();
        std::io::Write::write_all(&mut c, b"hello").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        for both_at_once in [true, false] {
            diag.both_at_once = both_at_once;
            let mut out = Vec::new();
            diag.dump(state::bit(state::LISTEN), &[port], false, &mut out)
                .unwrap();
            assert_eq!(out.len(), 1, "{out:?}");
            assert!(out[0].inode != 0);
            out.clear();
            // Several ports: the OR-ed filter passes the kernel's audit.
            diag.dump(state::CONNECTIONS, &[1, port, 65535], true, &mut out)
                .unwrap();
            assert_eq!(out.len(), 1, "only the server side: {out:?}");
            assert_eq!(out[0].tuple.family, libc::AF_INET as u8);
            assert_eq!(out[0].tuple.rport, peer.port());
            assert_eq!(out[0].state, state::ESTABLISHED);
            assert_eq!(out[0].bytes_received, Some(5));
            assert_eq!(
                diag.both_at_once, both_at_once,
                "TCPDIAG_GETSOCK works here"
            );
        }
    }
}
