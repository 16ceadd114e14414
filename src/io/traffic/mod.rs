//! Adaptive drain: while draining, watch the app's listening TCP sockets and
//! report how much *new* traffic arrived since the previous look, so the
//! supervisor can forward the stop signal once routing has caught up.
//!
//! # How it looks
//!
//! At `start(child)` (the drain start; nothing runs before it), the watcher
//! finds the listening sockets: the LISTEN sockets whose inode is open in a
//! process under drainit (`/proc/PID/fd/* -> socket:[INODE]`), or the ports
//! given with `--drain-port`. IPv4 and IPv6 (including v4-mapped peers of a
//! dual-stack `[::]` listener). It then dumps the connections on those ports
//! every ~100 ms and compares with the previous look. A look counts:
//!
//! - **new connections**: a 4-tuple (local address and port, remote address
//!   and port) not present at the previous look, in any state, TIME_WAIT and
//!   CLOSE_WAIT included: a short request that opened and closed between two
//!   looks still leaves its TIME_WAIT entry (60 s) when the server closed
//!   first. A 4-tuple seen closing and now open again, or whose socket
//!   cookie changed, is a new connection too (port reuse);
//! - **active connections**: an established connection whose
//!   `tcpi_bytes_received` grew. Load balancers (ingress-nginx, ALB, Envoy)
//!   keep upstream connections alive, so requests keep arriving without any
//!   new connection; bytes received (not segments: TCP keepalive probes carry
//!   no new data) say whether they still send;
//! - **unseen connections** (cross-check): the netns-wide `PassiveOpens`
//!   counter of `/proc/net/snmp` grew by more than the new connections seen.
//!   When the client closes first, the server side goes CLOSE_WAIT ->
//!   LAST_ACK -> gone within a round trip, and a fast request can live and
//!   die between two looks. The counter is netns-wide, so it is only used
//!   when every listening socket in the namespace is a watched one (the
//!   usual one-app container); with a sidecar, drainit's own `--http`
//!   listener or any other listener it is off, and such connections are
//!   caught only if a look sees them.
//!
//! # sock_diag rather than /proc/net/tcp
//!
//! The connections come from netlink sock_diag (inet_diag), not from parsing
//! `/proc/net/tcp` and `tcp6`:
//!
//! - the kernel filters: by state bitmask and, with a few bytes of inet_diag
//!   bytecode, by local port, so a look copies only the app's connections,
//!   not every socket of the namespace formatted as text (a busy sidecar can
//!   hold tens of thousands);
//! - it gives what /proc does not: the socket cookie (a unique identity, so
//!   a reused 4-tuple is told apart) and `tcp_info` (bytes received, for
//!   keep-alive traffic), and binary fields with no text parsing;
//! - it is what `ss` uses, needs no privilege, and works in any network
//!   namespace (drainit shares the app's, so its view is the container's).
//!
//! If sock_diag cannot be opened or a dump fails (a kernel without
//! `inet_diag`, a sandbox such as gVisor), the watcher logs it once and
//! reports traffic at every look: the drain falls back to the full
//! `--drain-delay`, the safe side. Likewise when no listening socket is
//! found (it keeps looking for one at each look).
//!
//! # Limits
//!
//! Traffic sparser than the quiet period looks like quiet. A look every
//! 100 ms can miss a client-closes-first connection when the cross-check is
//! off. Long-lived streams that keep sending (websocket pings, gRPC
//! keepalives with data) count as traffic and hold the drain to its upper
//! bound. Listeners are matched by port, so another listener on the same
//! port with another address (rare in a container) is watched too. The set
//! of listeners is read once, at the drain start.

mod diag;
mod owners;

use std::collections::HashMap;
use std::time::Instant;

use diag::{state, Diag, Sock, Tuple};

pub struct TrafficWatcher {
    /// `--drain-port`: when set, the only ports watched.
    given: Vec<u16>,
    /// Opened at start-up, so the drain creates no descriptor.
    diag: Option<Diag>,
    watch: Option<Watch>,
}

/// Everything that exists only while draining.
struct Watch {
    diag: Option<Diag>,
    child: i32,
    ports: Vec<u16>,
    known: HashMap<Tuple, Seen>,
    opens: Option<OpensCheck>,
    last_busy: Instant,
    last_look: Option<Instant>,
    warned: bool,
}

impl TrafficWatcher {
    /// Opens the sock_diag socket now, at start-up: the drain itself
    /// must not need a new descriptor.
    pub fn new(ports: Vec<u16>) -> Self {
        let diag = Diag::open()
            .map_err(|e| {
                tracing::warn!(
                    "adaptive drain: cannot open netlink sock_diag ({e}): a drain will wait the full drain delay"
                )
            })
            .ok();
        Self {
            given: ports,
            diag,
            watch: None,
        }
    }

    /// The drain started: find the listeners and take the first look, the
    /// baseline (connections already there are not new).
    pub fn start(&mut self, child: i32) {
        let diag = self.diag.take();
        let mut w = Watch {
            diag,
            child,
            ports: Vec::new(),
            known: HashMap::new(),
            opens: None,
            last_busy: Instant::now(),
            last_look: None,
            warned: false,
        };
        if w.diag.is_some() {
            w.find_listeners(&self.given);
            if w.ports.is_empty() {
                tracing::warn!(
                    "adaptive drain: no listening TCP socket found in the child's tree yet: \
                     treating the drain as busy until one shows up"
                );
            } else {
                tracing::info!(
                    target: "drainit::timeline",
                    "adaptive drain: watching new connections on port(s) {}{}",
                    show_ports(&w.ports),
                    if w.opens.is_some() { "" } else { " (other listeners share the network namespace)" }
                );
            }
            let _ = w.look();
        }
        self.watch = Some(w);
    }

    /// How many new (or still active) connections appeared since the
    /// previous look; 0 means quiet. The supervisor says when to look.
    pub fn look(&mut self) -> usize {
        match &mut self.watch {
            Some(w) => w.look(),
            None => 0,
        }
    }

    /// How long traffic had been quiet at the last look, in seconds (the
    /// supervisor reports the figure at forwarding; kept for the tests).
    #[cfg(test)]
    pub fn quiet_seen(&self) -> Option<f64> {
        let w = self.watch.as_ref()?;
        let last = w.last_look?;
        Some(last.saturating_duration_since(w.last_busy).as_secs_f64())
    }
}

impl Watch {
    /// Sets `ports` (and the PassiveOpens cross-check) from the LISTEN
    /// sockets of the namespace.
    fn find_listeners(&mut self, given: &[u16]) {
        let Some(diag) = &mut self.diag else { return };
        let mut listeners = Vec::new();
        if let Err(e) = diag.dump(state::bit(state::LISTEN), &[], false, &mut listeners) {
            tracing::debug!("sock_diag listeners: {e}");
        }
        self.ports = if given.is_empty() {
            let inodes = owners::socket_inodes(&owners::app_processes(self.child));
            listeners
                .iter()
                .filter(|l| inodes.contains(&l.inode))
                .map(|l| l.tuple.lport)
                .collect()
        } else {
            given.to_vec()
        };
        self.ports.sort_unstable();
        self.ports.dedup();
        let only_ours = listeners
            .iter()
            .all(|l| self.ports.contains(&l.tuple.lport));
        self.opens = match passive_opens() {
            Some(now) if only_ours && !self.ports.is_empty() => Some(OpensCheck::new(now)),
            _ => None,
        };
    }

    /// One look: the number of new, active and unseen connections.
    fn look(&mut self) -> usize {
        let now = Instant::now();
        let busy = self.count();
        if busy > 0 {
            self.last_busy = now;
        }
        self.last_look = Some(now);
        busy
    }

    fn count(&mut self) -> usize {
        if self.ports.is_empty() && self.diag.is_some() {
            self.find_listeners(&[]);
        }
        let (Some(diag), false) = (&mut self.diag, self.ports.is_empty()) else {
            return 1;
        };
        let mut socks = Vec::with_capacity(self.known.len() + 16);
        if let Err(e) = diag.dump(state::CONNECTIONS, &self.ports, true, &mut socks) {
            if !self.warned {
                self.warned = true;
                tracing::warn!(
                    "adaptive drain: sock_diag dump failed ({e}): treating the drain as busy"
                );
            }
            return 1;
        }
        let (known, change) = compare(&self.known, &socks);
        self.known = known;
        let unseen = match (&mut self.opens, passive_opens()) {
            (Some(check), Some(total)) => check.update(total, change.new),
            _ => 0,
        };
        if change.new + change.active + unseen > 0 {
            tracing::trace!(
                "traffic: {} new, {} active, {unseen} unseen connection(s)",
                change.new,
                change.active
            );
        }
        change.new + change.active + unseen
    }
}

/// The app's listening TCP sockets, for the start-up readiness check
/// (src/io/readiness/listen.rs): the LISTEN sockets open in a process under
/// drainit, found as the adaptive drain finds them; from
/// `/proc/net/tcp{,6}` where sock_diag cannot be opened (gVisor).
pub struct Listeners {
    diag: Option<Diag>,
}

impl Listeners {
    pub fn open() -> Listeners {
        Listeners {
            diag: Diag::open().ok(),
        }
    }

    /// Without sock_diag, as where it cannot be opened.
    #[cfg(test)]
    pub fn from_proc() -> Listeners {
        Listeners { diag: None }
    }

    /// The local addresses the app listens on now (wildcards as bound).
    pub fn find(&mut self, child: i32) -> std::io::Result<Vec<std::net::SocketAddr>> {
        let mut listeners: Vec<(u32, std::net::SocketAddr)> = match &mut self.diag {
            Some(diag) => {
                let mut socks = Vec::new();
                diag.dump(state::bit(state::LISTEN), &[], false, &mut socks)?;
                socks
                    .iter()
                    .filter_map(|l| Some((l.inode, local_addr(&l.tuple)?)))
                    .collect()
            }
            None => proc_net_listeners()?,
        };
        // drainit's own listener (--http) is not the app's; with no other
        // listener there is no need to walk the app's tree.
        let own = owners::socket_inodes(&[std::process::id() as i32]);
        listeners.retain(|(inode, _)| !own.contains(inode));
        if listeners.is_empty() {
            return Ok(Vec::new());
        }
        let inodes = owners::socket_inodes(&owners::app_processes(child));
        Ok(listeners
            .into_iter()
            .filter(|(inode, _)| inodes.contains(inode))
            .map(|(_, addr)| addr)
            .collect())
    }
}

/// The LISTEN sockets of `/proc/net/tcp` and `tcp6` (inode, address);
/// an error only when neither can be read.
fn proc_net_listeners() -> std::io::Result<Vec<(u32, std::net::SocketAddr)>> {
    let v4 = std::fs::read_to_string("/proc/net/tcp");
    let v6 = std::fs::read_to_string("/proc/net/tcp6");
    if let (Err(e), Err(_)) = (&v4, &v6) {
        return Err(std::io::Error::new(e.kind(), e.to_string()));
    }
    let mut out = Vec::new();
    for text in [v4, v6].into_iter().flatten() {
        out.extend(text.lines().skip(1).filter_map(parse_proc_net_listener));
    }
    Ok(out)
}

/// One line of `/proc/net/tcp{,6}` in LISTEN state (0A): its inode and
/// local address. The address is hex of the kernel's bytes read as
/// host-order 32-bit words.
pub fn parse_proc_net_listener(line: &str) -> Option<(u32, std::net::SocketAddr)> {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    let f: Vec<&str> = line.split_whitespace().collect();
    if f.get(3) != Some(&"0A") {
        return None;
    }
    let (addr, port) = f.get(1)?.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let inode = f.get(9)?.parse().ok()?;
    let mut bytes = Vec::with_capacity(16);
    for i in (0..addr.len()).step_by(8) {
        let word = u32::from_str_radix(addr.get(i..i + 8)?, 16).ok()?;
        bytes.extend_from_slice(&word.to_ne_bytes());
    }
    let ip = match bytes.len() {
        4 => IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(bytes).ok()?)),
        16 => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(bytes).ok()?)),
        _ => return None,
    };
    Some((inode, (ip, port).into()))
}

fn local_addr(t: &Tuple) -> Option<std::net::SocketAddr> {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    let ip = match i32::from(t.family) {
        libc::AF_INET => IpAddr::V4(Ipv4Addr::new(
            t.local[0], t.local[1], t.local[2], t.local[3],
        )),
        libc::AF_INET6 => IpAddr::V6(Ipv6Addr::from(t.local)),
        _ => return None,
    };
    Some((ip, t.lport).into())
}

fn show_ports(ports: &[u16]) -> String {
    ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the previous look knew about a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seen {
    state: u8,
    cookie: u64,
    bytes: Option<u64>,
}

/// The difference between two looks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Change {
    /// Connections that were not there at the previous look.
    pub new: usize,
    /// Established connections that received data since then.
    pub active: usize,
}

/// Compares the connections of this look with the previous one; returns
/// what to remember for the next look and the change.
pub fn compare(prev: &HashMap<Tuple, Seen>, socks: &[Sock]) -> (HashMap<Tuple, Seen>, Change) {
    let mut change = Change::default();
    let mut next = HashMap::with_capacity(socks.len());
    for s in socks {
        let seen = Seen {
            state: s.state,
            cookie: s.cookie,
            bytes: s.bytes_received,
        };
        match prev.get(&s.tuple) {
            Some(p) if is_new(p, &seen) => change.new += 1,
            Some(p) => {
                // A FIN advances the byte count by one: closing is not traffic.
                let fin = u64::from(seen.state != state::ESTABLISHED);
                if let (Some(a), Some(b)) = (p.bytes, seen.bytes) {
                    if b > a + fin {
                        change.active += 1;
                    }
                }
            }
            None => change.new += 1,
        }
        next.insert(s.tuple, seen);
    }
    (next, change)
}

/// The same 4-tuple, but another connection: open again after it was seen
/// closing, or another socket cookie. The cookie survives the move to
/// TIME_WAIT but not the handshake (a SYN_RECV request socket and the
/// accepted socket differ), so that change is the same connection.
fn is_new(prev: &Seen, now: &Seen) -> bool {
    let handshake = matches!(prev.state, state::SYN_RECV | state::NEW_SYN_RECV);
    let other_socket =
        !handshake && prev.cookie != 0 && now.cookie != 0 && prev.cookie != now.cookie;
    other_socket || (state::closing(prev.state) && state::open(now.state))
}

/// `PassiveOpens` from the `Tcp:` lines of `/proc/net/snmp`.
pub fn parse_passive_opens(snmp: &str) -> Option<u64> {
    let mut tcp = snmp.lines().filter(|l| l.starts_with("Tcp:"));
    let names = tcp.next()?;
    let values = tcp.next()?;
    let at = names.split_whitespace().position(|n| n == "PassiveOpens")?;
    values.split_whitespace().nth(at)?.parse().ok()
}

fn passive_opens() -> Option<u64> {
    parse_passive_opens(&std::fs::read_to_string("/proc/net/snmp").ok()?)
}

/// The cross-check: accepted connections (PassiveOpens) that no look saw.
/// Counts only growth past the high-water mark, so a connection first seen
/// in SYN_RECV (before the counter moves) is not counted twice.
#[derive(Clone, Copy, Debug)]
pub struct OpensCheck {
    base: u64,
    seen: u64,
    excess: i64,
}

impl OpensCheck {
    pub fn new(passive_opens: u64) -> Self {
        Self {
            base: passive_opens,
            seen: 0,
            excess: 0,
        }
    }

    /// `total`: PassiveOpens now; `new_seen`: new connections this look.
    /// Returns the connections accepted but never seen.
    pub fn update(&mut self, total: u64, new_seen: usize) -> usize {
        self.seen += new_seen as u64;
        let excess = total.saturating_sub(self.base) as i64 - self.seen as i64;
        if excess > self.excess {
            let unseen = excess - self.excess;
            self.excess = excess;
            unseen as usize
        } else {
            0
        }
    }
}

#[cfg(test)]
mod tests;
