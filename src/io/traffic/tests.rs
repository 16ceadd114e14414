use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use super::*;

fn tuple(rport: u16) -> Tuple {
    Tuple {
        family: libc::AF_INET as u8,
        local: [127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        lport: 8080,
        remote: [127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        rport,
    }
}

fn sock(rport: u16, st: u8, cookie: u64, bytes: Option<u64>) -> Sock {
    Sock {
        tuple: tuple(rport),
        state: st,
        inode: 0,
        cookie,
        rqueue: 0,
        bytes_received: bytes,
    }
}

/// Runs scripted looks through `compare`; returns each look's change.
fn script(looks: &[Vec<Sock>]) -> Vec<Change> {
    let mut known = HashMap::new();
    looks
        .iter()
        .map(|socks| {
            let (next, change) = compare(&known, socks);
            known = next;
            change
        })
        .collect()
}

fn ch(new: usize, active: usize) -> Change {
    Change { new, active }
}

use state::{CLOSE_WAIT, ESTABLISHED, NEW_SYN_RECV, TIME_WAIT};

#[test]
fn a_connection_is_new_once_whatever_its_state() {
    let looks = vec![
        vec![],
        vec![sock(40000, ESTABLISHED, 1, Some(100))],
        vec![sock(40000, ESTABLISHED, 1, Some(100))],
        vec![sock(40000, TIME_WAIT, 1, None)],
        vec![sock(40000, TIME_WAIT, 1, None)],
        vec![],
    ];
    assert_eq!(
        script(&looks),
        vec![ch(0, 0), ch(1, 0), ch(0, 0), ch(0, 0), ch(0, 0), ch(0, 0)]
    );
}

#[test]
fn short_connections_seen_only_closing_are_new() {
    // Opened and closed between two looks: only TIME_WAIT or CLOSE_WAIT
    // is left to see.
    let looks = vec![
        vec![],
        vec![sock(40001, TIME_WAIT, 5, None)],
        vec![
            sock(40001, TIME_WAIT, 5, None),
            sock(40002, CLOSE_WAIT, 6, Some(80)),
        ],
    ];
    assert_eq!(script(&looks), vec![ch(0, 0), ch(1, 0), ch(1, 0)]);
}

#[test]
fn a_changing_remote_port_is_always_new() {
    let looks: Vec<Vec<Sock>> = (0..5)
        .map(|i| vec![sock(41000 + i, ESTABLISHED, 10 + u64::from(i), Some(50))])
        .collect();
    let changes = script(&looks);
    assert!(changes.iter().all(|c| c.new == 1), "{changes:?}");
}

#[test]
fn a_reused_tuple_is_new() {
    // Seen in TIME_WAIT, then open again: the peer reused its port.
    let looks = vec![
        vec![sock(40000, TIME_WAIT, 1, None)],
        vec![sock(40000, ESTABLISHED, 2, Some(10))],
        // Closed and reopened between looks: only the cookie tells.
        vec![sock(40000, ESTABLISHED, 3, Some(10))],
    ];
    assert_eq!(script(&looks), vec![ch(1, 0), ch(1, 0), ch(1, 0)]);
}

#[test]
fn the_handshake_is_one_connection() {
    // The SYN_RECV request socket and the accepted one have different
    // cookies: still the same connection.
    let looks = vec![
        vec![sock(40000, NEW_SYN_RECV, 7, None)],
        vec![sock(40000, ESTABLISHED, 8, Some(0))],
    ];
    assert_eq!(script(&looks), vec![ch(1, 0), ch(0, 0)]);
}

#[test]
fn data_on_a_kept_alive_connection_is_activity() {
    let looks = vec![
        vec![sock(40000, ESTABLISHED, 1, Some(100))],
        vec![sock(40000, ESTABLISHED, 1, Some(100))],
        vec![sock(40000, ESTABLISHED, 1, Some(250))],
        vec![sock(40000, ESTABLISHED, 1, Some(250))],
        // The peer closes: its FIN counts one byte, but is no traffic.
        vec![sock(40000, CLOSE_WAIT, 1, Some(251))],
    ];
    assert_eq!(
        script(&looks),
        vec![ch(1, 0), ch(0, 0), ch(0, 1), ch(0, 0), ch(0, 0)]
    );
}

#[test]
fn parses_passive_opens() {
    let snmp = "Ip: Forwarding DefaultTTL\nIp: 1 64\n\
        Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails\n\
        Tcp: 1 200 120000 -1 238 72 135\n\
        Udp: InDatagrams\nUdp: 5\n";
    assert_eq!(parse_passive_opens(snmp), Some(72));
    assert_eq!(parse_passive_opens("Tcp: A B\n"), None);
    assert_eq!(parse_passive_opens(""), None);
}

#[test]
fn the_cross_check_counts_only_unseen_opens() {
    let mut c = OpensCheck::new(1000);
    // Two accepted, both seen by the look.
    assert_eq!(c.update(1002, 2), 0);
    // Three accepted, one seen: two lived and died between looks.
    assert_eq!(c.update(1005, 1), 2);
    // Seen in SYN_RECV before the counter moves, then counted: nothing.
    assert_eq!(c.update(1005, 1), 0);
    assert_eq!(c.update(1006, 0), 0);
    // Quiet.
    assert_eq!(c.update(1006, 0), 0);
    assert_eq!(c.update(1007, 0), 1);
}

/// The kernel keeps a socket's cookie when it moves to TIME_WAIT, which
/// the cookie rule in `is_new` relies on.
#[test]
fn the_cookie_survives_time_wait() {
    let Ok(mut d) = Diag::open() else {
        eprintln!("SKIPPED: no sock_diag");
        return;
    };
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (s, _) = l.accept().unwrap();
    let dump = |d: &mut Diag| {
        let mut out = Vec::new();
        d.dump(state::CONNECTIONS, &[port], true, &mut out).unwrap();
        out
    };
    let before = dump(&mut d);
    assert_eq!(before.len(), 1);
    // The server closes first: its side ends in TIME_WAIT.
    drop(s);
    let mut buf = [0; 1];
    assert_eq!(c.read(&mut buf).unwrap(), 0);
    drop(c);
    std::thread::sleep(Duration::from_millis(20));
    let after = dump(&mut d);
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].state, TIME_WAIT);
    assert_eq!(after[0].tuple, before[0].tuple);
    assert_eq!(after[0].cookie, before[0].cookie);
    let (_, change) = compare(&compare(&HashMap::new(), &before).0, &after);
    assert_eq!(change, Change::default());
}

/// A whole watcher against real loopback connections, port given.
#[test]
fn watches_real_connections() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let mut w = TrafficWatcher::new(vec![port]);
    w.start(std::process::id() as i32);
    let Some(watch) = w.watch.as_mut().filter(|w| w.diag.is_some()) else {
        eprintln!("SKIPPED: no sock_diag");
        return;
    };
    assert_eq!(watch.ports, vec![port]);
    assert_eq!(watch.look(), 0, "nothing happened yet");
    // A new connection with one exchange.
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (mut s, _) = l.accept().unwrap();
    c.write_all(b"ping").unwrap();
    let mut buf = [0; 4];
    s.read_exact(&mut buf).unwrap();
    s.write_all(b"pong").unwrap();
    c.read_exact(&mut buf).unwrap();
    assert!(watch.look() >= 1, "a new connection");
    assert_eq!(watch.look(), 0, "nothing new");
    c.write_all(b"more").unwrap();
    s.read_exact(&mut buf).unwrap();
    assert_eq!(watch.look(), 1, "data on a kept-alive connection");
    drop(c);
    drop(s);
    assert_eq!(watch.look(), 0, "closing is not new traffic");
    assert!(w.quiet_seen().is_some());
}

#[test]
fn finds_listeners_from_the_process_tree() {
    let l = TcpListener::bind("[::1]:0")
        .or_else(|_| TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = l.local_addr().unwrap().port();
    let mut w = TrafficWatcher::new(Vec::new());
    w.start(std::process::id() as i32);
    let watch = w.watch.as_ref().unwrap();
    if watch.diag.is_none() {
        eprintln!("SKIPPED: no sock_diag");
        return;
    }
    // Our own process stands in for the child: its listener is found.
    assert!(
        watch.ports.contains(&port),
        "{port} not in {:?}",
        watch.ports
    );
}

#[test]
fn nothing_runs_before_start() {
    let w = TrafficWatcher::new(vec![1]);
    assert!(w.watch.is_none());
    assert_eq!(w.quiet_seen(), None);
}

/// `N` server-side TIME_WAIT sockets on a fresh listener's port (the server
/// closes first); the listener is returned to keep the port.
fn time_waits(n: usize) -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    for _ in 0..n {
        let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let (s, _) = l.accept().unwrap();
        drop(s);
        let _ = c.read(&mut [0; 1]);
    }
    (l, port)
}

/// The cost of one look, against reading /proc/net/tcp and tcp6, with N
/// sockets on the watched port and N more on another port:
/// `cargo test -p drainit --release --bin drainit look_cost -- --ignored --nocapture`
#[test]
#[ignore]
fn look_cost() {
    for n in [0, 100, 1000, 10_000] {
        let (_l1, watched) = time_waits(n);
        let (_l2, _other) = time_waits(n);
        let mut w = TrafficWatcher::new(vec![watched]);
        w.start(std::process::id() as i32);
        let watch = w.watch.as_mut().unwrap();
        let rounds = 200;
        let cpu = || {
            let mut t: libc::timespec = unsafe { std::mem::zeroed() };
            unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
            t.tv_sec as f64 * 1e6 + t.tv_nsec as f64 / 1e3
        };
        let (t0, c0) = (Instant::now(), cpu());
        for _ in 0..rounds {
            assert_eq!(watch.look(), 0);
        }
        let look = (
            t0.elapsed().as_secs_f64() * 1e6 / rounds as f64,
            (cpu() - c0) / rounds as f64,
        );
        let diag = watch.diag.as_mut().unwrap();
        let mut per_family = [0.0; 2];
        for (i, both) in [true, false].into_iter().enumerate() {
            diag.both_at_once = both;
            let c0 = cpu();
            for _ in 0..rounds {
                diag.dump(state::CONNECTIONS, &[watched], true, &mut Vec::new())
                    .unwrap();
            }
            per_family[i] = (cpu() - c0) / rounds as f64;
        }
        eprintln!(
            "        one dump: {:.0} us cpu for both families at once, {:.0} us one by one",
            per_family[0], per_family[1]
        );
        let (t0, c0) = (Instant::now(), cpu());
        let mut bytes = 0;
        for _ in 0..rounds {
            bytes += std::fs::read_to_string("/proc/net/tcp").unwrap().len();
            bytes += std::fs::read_to_string("/proc/net/tcp6").unwrap().len();
        }
        let proc = (
            t0.elapsed().as_secs_f64() * 1e6 / rounds as f64,
            (cpu() - c0) / rounds as f64,
        );
        eprintln!(
            "{n:>6} sockets on the port (+{n} elsewhere): sock_diag look {:.0} us wall / {:.0} us cpu; \
             reading /proc/net/tcp{{,6}} alone {:.0} us / {:.0} us ({} KiB)",
            look.0,
            look.1,
            proc.0,
            proc.1,
            bytes / rounds / 1024
        );
    }
}
