//! The automatic readiness gate: with `--http` or `--ready-file` and no
//! `--ready-url` / `--ready-tcp`, the app is ready once it accepts
//! connections: a process under drainit listens on a TCP port and a
//! connection to that port succeeds.
//!
//! The supervisor decides when to look (every [`EVERY`] until the first
//! success, then never again) and when an app that never listens counts
//! as a worker; this module only does the looking: a sock_diag dump of
//! the LISTEN sockets (the adaptive drain's discovery, src/io/traffic;
//! `/proc/net/tcp` where sock_diag is missing), the socket inodes open
//! under drainit, and a TCP connect to each port found.
//!
//! A connection "succeeds" when the kernel completes the handshake, which
//! it does as soon as the app called listen(2): a pre-fork master that
//! listens before its workers accept queues the connection in its
//! backlog, and the workers serve it once they start.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use crate::core::supervisor::Listen;
use crate::io::traffic::Listeners;

/// How often the app's sockets are looked at until it accepts.
pub const EVERY: Duration = Duration::from_millis(200);
/// An app that has listened on nothing by then is a worker.
pub const WORKER_AFTER: Duration = Duration::from_secs(60);
/// One connect's budget: a local listener answers at once, unless its
/// backlog is full.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// What to connect to: the app's listening addresses now, one per port,
/// wildcards turned into loopback. `Err`: the sockets cannot be looked
/// at here (neither sock_diag nor /proc/net/tcp).
pub fn find(child: i32) -> Result<Vec<SocketAddr>, std::io::Error> {
    let found = Listeners::open().find(child)?;
    Ok(targets(&found))
}

/// One address per port, in port order, wildcards made loopback (IPv4
/// first: a dual-stack `[::]` listener takes 127.0.0.1 too).
pub fn targets(found: &[SocketAddr]) -> Vec<SocketAddr> {
    let mut out: Vec<SocketAddr> = found
        .iter()
        .map(|a| {
            let ip = match a.ip() {
                IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
                ip => ip,
            };
            SocketAddr::new(ip, a.port())
        })
        .collect();
    out.sort_by_key(|a| (a.port(), a.is_ipv6()));
    out.dedup_by_key(|a| a.port());
    out
}

/// Connects to each target in turn: `Accepted` once every port took a
/// connection, `Refused` naming the first that did not.
pub async fn connect(targets: Vec<SocketAddr>) -> Listen {
    let Some(first) = targets.first() else {
        return Listen::Nothing;
    };
    let first = *first;
    for addr in targets {
        let attempt = tokio::net::TcpStream::connect(addr);
        match tokio::time::timeout(CONNECT_TIMEOUT, attempt).await {
            Ok(Ok(_)) => {}
            _ => return Listen::Refused { port: addr.port() },
        }
    }
    // /live checks the same address from now on.
    crate::io::readiness::http::set_app_addr(first);
    Listen::Accepted { port: first.port() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn wildcards_become_loopback_one_per_port() {
        let t = targets(&[a("[::]:8080"), a("0.0.0.0:8080"), a("10.1.2.3:9090")]);
        assert_eq!(t, [a("127.0.0.1:8080"), a("10.1.2.3:9090")]);
        assert_eq!(targets(&[a("[::]:80")]), [a("[::1]:80")]);
        assert!(targets(&[]).is_empty());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn connects_to_a_listener_and_names_the_refusing_port() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        assert_eq!(
            connect(vec![a(&format!("127.0.0.1:{port}"))]).await,
            Listen::Accepted { port }
        );
        drop(l);
        assert_eq!(
            connect(vec![a(&format!("127.0.0.1:{port}"))]).await,
            Listen::Refused { port }
        );
        assert_eq!(connect(Vec::new()).await, Listen::Nothing);
    }

    #[test]
    fn reads_listeners_from_proc_net() {
        use crate::io::traffic::parse_proc_net_listener as p;
        // 0.0.0.0:8080, 127.0.0.1:9000 (little-endian words), [::]:80.
        let v4 = "   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0";
        assert_eq!(p(v4), Some((4242, a("0.0.0.0:8080"))));
        let lo = "   1: 0100007F:2328 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 77 1";
        let want = if cfg!(target_endian = "little") {
            "127.0.0.1:9000"
        } else {
            "1.0.0.127:9000"
        };
        assert_eq!(p(lo), Some((77, a(want))));
        let v6 = "   0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 99 1";
        assert_eq!(p(v6), Some((99, a("[::]:80"))));
        let established = v4.replace(" 0A ", " 01 ");
        assert_eq!(p(&established), None);
        assert_eq!(p("  sl  local_address rem_address   st"), None);
    }

    /// A child that listens is found through sock_diag and, as where
    /// sock_diag is missing, through /proc/net/tcp.
    #[test]
    fn finds_a_childs_listener_both_ways() {
        let Ok(mut child) = std::process::Command::new("python3")
            .args(["-c", "import socket,sys,time\ns=socket.socket()\ns.bind(('0.0.0.0',0))\ns.listen()\nprint(s.getsockname()[1],flush=True)\ntime.sleep(30)"])
            .stdout(std::process::Stdio::piped())
            .spawn()
        else {
            eprintln!("SKIPPED: python3 is missing");
            return;
        };
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        let port: u16 = line.trim().parse().unwrap();
        let pid = child.id() as i32;
        let want = a(&format!("0.0.0.0:{port}"));
        let diag = Listeners::open().find(pid).unwrap();
        let proc = Listeners::from_proc().find(pid).unwrap();
        let _ = child.kill();
        let _ = child.wait();
        assert!(diag.contains(&want), "{diag:?}");
        assert!(proc.contains(&want), "{proc:?}");
    }

    #[test]
    fn its_own_listener_is_not_the_apps() {
        // A listener of this process (drainit's --http, in the run) is
        // left out even when this process is the one looked at; the app's
        // own listeners are found in tests/readiness.rs (real processes).
        let l = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let me = std::process::id() as i32;
        let found = find(me).expect("sock_diag");
        assert!(found.iter().all(|t| t.port() != port), "{found:?}");
    }
}
