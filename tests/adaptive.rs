//! Adaptive drain (`--drain-quiet`) with a real server and real clients on
//! loopback: drainit is PID 1 of fresh PID and network namespaces (a
//! container's view: the demo app's listener is the only one), the clients
//! run in threads that join that network namespace. Where a network
//! namespace cannot be made, the host's is used.
//!
//! The forward time is read from drainit's own JSON log: the `after_s` of
//! its `forwarded` event, compared with the configuration (never before the
//! quiet period or the minimum, never after the maximum). How close to the
//! ideal it lands is a figure for `make soak`, not a test.

// The lints of src/ that fit a test (unwrap, expect, panic and indexing
// are how a test fails): every unsafe block says why it is sound.
#![deny(clippy::undocumented_unsafe_blocks)]

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::{event, events, figure, first_child, free_port, must, wait_for, LogEvent, Running};

/// drainit as PID 1 with its own network namespace (loopback up).
struct Container {
    run: Running,
    /// `/proc/PID/ns/net` of drainit, None when sharing the host's.
    netns: Option<String>,
}

fn private_netns_works() -> bool {
    Command::new("unshare")
        .args([
            "--net",
            "--pid",
            "--fork",
            "--mount-proc",
            "ip",
            "link",
            "set",
            "lo",
            "up",
        ])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl Container {
    fn start(args: &[&str]) -> Option<Container> {
        if !common::pid_namespaces() {
            common::skip("unshare --pid is not permitted (run as root)");
            return None;
        }
        if !private_netns_works() {
            eprintln!("note: no private network namespace, using the host's");
            return Some(Container {
                run: Running::pid1(args),
                netns: None,
            });
        }
        // sh brings loopback up, then becomes drainit (PID 1).
        let child = Command::new("unshare")
            .args([
                "--net",
                "--pid",
                "--fork",
                "--mount-proc",
                "--kill-child",
                "sh",
                "-c",
            ])
            .arg("ip link set lo up && exec \"$0\" \"$@\"")
            .arg(common::drainit())
            .args(args)
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn unshare");
        let unshare = child.id() as i32;
        let pid = wait_for(Duration::from_secs(5), || first_child(unshare)).expect("no PID 1");
        let run = Running {
            child,
            pid,
            started: Instant::now(),
        };
        Some(Container {
            run,
            netns: Some(format!("/proc/{pid}/ns/net")),
        })
    }

    /// Runs `f` on a thread inside the container's network namespace.
    fn client<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> JoinHandle<T> {
        let ns = self
            .netns
            .as_ref()
            .map(|p| std::fs::File::open(p).expect("open netns"));
        std::thread::spawn(move || {
            if let Some(ns) = ns {
                // A network namespace is per thread: only this one moves.
                // SAFETY: setns on a descriptor the closure owns; it
                // changes this thread's namespace only.
                let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
                assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
            }
            f()
        })
    }

    /// Waits until the app answers on `addr` (from inside the namespace).
    fn wait_listening(&self, addr: SocketAddr) {
        let up = self
            .client(move || wait_for(Duration::from_secs(10), || request(addr).ok()).is_some())
            .join()
            .unwrap();
        assert!(up, "the demo app never answered on {addr}");
    }
}

/// One HTTP request on a fresh connection; the client closes first (no
/// `Connection: close`): the server's side leaves no TIME_WAIT behind.
fn request(addr: SocketAddr) -> std::io::Result<()> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")?;
    read_response(&mut s)
}

/// Reads one response with a Content-Length body.
fn read_response(s: &mut TcpStream) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap_or(0))
                })
                .unwrap_or(0);
            if body.len() >= len {
                return Ok(());
            }
        }
    }
}

/// A client sending a request every `every`, on new connections (or one
/// kept-alive connection), until `stop` or `for_at_most` passes.
struct Load {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicUsize>,
    handle: Option<JoinHandle<()>>,
}

impl Load {
    fn start(
        c: &Container,
        addr: SocketAddr,
        every: Duration,
        keep_alive: bool,
        for_at_most: Duration,
    ) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicUsize::new(0));
        let (stop2, sent2) = (stop.clone(), sent.clone());
        let handle = c.client(move || {
            let end = Instant::now() + for_at_most;
            let mut conn: Option<TcpStream> = None;
            while !stop2.load(Ordering::Relaxed) && Instant::now() < end {
                let ok = if keep_alive {
                    let s = match conn.take() {
                        Some(s) => Ok(s),
                        None => TcpStream::connect_timeout(&addr, Duration::from_secs(2)),
                    };
                    s.and_then(|mut s| {
                        s.set_read_timeout(Some(Duration::from_secs(5)))?;
                        s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")?;
                        read_response(&mut s)?;
                        conn = Some(s);
                        Ok(())
                    })
                } else {
                    request(addr)
                };
                if ok.is_err() {
                    break; // the app stopped listening: the drain is over
                }
                sent2.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(every); // the load's pace (the scenario)
            }
        });
        Load {
            stop,
            sent,
            handle: Some(handle),
        }
    }

    fn stop(&mut self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        self.sent.load(Ordering::Relaxed)
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The `forwarded` event's `after_s`, also printed as a figure.
fn forward_after(log: &[LogEvent], test: &str) -> f64 {
    let fwd = must(log, "forwarded");
    assert_eq!(fwd.text("signal"), "SIGTERM", "{}", fwd.line);
    let after = fwd.num("after_s");
    figure(&format!("adaptive.{test}.forwarded_after_s"), after);
    after
}

/// The forward came from a quiet period of at least `quiet` seconds, before
/// the `max` seconds maximum; returns the event.
fn quiet_forward(log: &[LogEvent], quiet: f64, max: f64) -> &LogEvent {
    assert!(event(log, "traffic_never_quiet").is_none(), "{log:#?}");
    let q = must(log, "traffic_quiet");
    assert!(q.num("quiet_s") >= quiet, "{}", q.line);
    assert!(q.num("waited_s") >= q.num("quiet_s"), "{}", q.line);
    let after = must(log, "forwarded").num("after_s");
    assert!(after >= quiet && after < max, "forwarded after {after}s");
    assert!(
        (q.num("saved_s") - (max - q.num("waited_s"))).abs() < 1e-3,
        "{}",
        q.line
    );
    q
}

/// The forward came at the `max` seconds maximum: traffic never went quiet.
fn never_quiet(log: &[LogEvent], max: f64) {
    assert!(event(log, "traffic_quiet").is_none(), "{log:#?}");
    assert_eq!(must(log, "traffic_never_quiet").num("max_s"), max);
    let after = must(log, "forwarded").num("after_s");
    assert!(after >= max, "forwarded after {after}s, before the maximum");
}

/// The "watching new connections on port(s) ..." line (not a typed
/// timeline event: its port list is only in the message).
fn watching(log: &[LogEvent]) -> &str {
    log.iter()
        .map(LogEvent::message)
        .find(|m| m.contains("watching new connections"))
        .unwrap_or_else(|| panic!("no watching line in {log:#?}"))
}

fn demo_args(addr: &str, drain: &[&str]) -> Option<Vec<String>> {
    let demo = common::demo_app()?;
    let mut v: Vec<String> = vec!["--log-format".into(), "json".into()];
    v.extend(drain.iter().map(|s| s.to_string()));
    v.push("--".into());
    v.push(demo.to_string_lossy().into_owned());
    v.extend([
        "--listen".into(),
        addr.into(),
        "--work".into(),
        "50ms".into(),
    ]);
    Some(v)
}

/// Starts the container, waits for the app, runs `during` (load before and
/// after the TERM), sends TERM, and returns drainit's log and how many
/// requests the load sent after the TERM.
fn scenario(
    addr: SocketAddr,
    drain: &[&str],
    during: impl FnOnce(&Container) -> Option<Load>,
) -> Option<(Vec<LogEvent>, usize)> {
    let args = demo_args(&addr.to_string(), drain)?;
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut c = Container::start(&args)?;
    c.wait_listening(addr);
    let mut load = during(&c);
    let before = load.as_ref().map_or(0, |l| l.sent.load(Ordering::Relaxed));
    c.run.signal(libc::SIGTERM);
    let code = c.run.code(Duration::from_secs(30));
    let after = load.as_mut().map_or(0, |l| l.stop() - before);
    let log = c.run.stderr();
    assert_eq!(code, 0, "{log}");
    Some((events(&log), after))
}

fn v4() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], free_port()))
}

const QUIET: &[&str] = &[
    "--drain-quiet",
    "1s",
    "--drain-delay",
    "10s",
    "--grace",
    "5s",
];

#[test]
fn forwards_soon_after_the_client_stopped() {
    let addr = v4();
    let Some((log, _)) = scenario(addr, QUIET, |c| {
        // Traffic before the drain, none during it.
        let mut l = Load::start(
            c,
            addr,
            Duration::from_millis(50),
            false,
            Duration::from_secs(20),
        );
        wait_for(Duration::from_secs(10), || {
            (l.sent.load(Ordering::Relaxed) > 3).then_some(())
        })
        .expect("no traffic before the drain");
        l.stop();
        None
    }) else {
        return;
    };
    assert!(
        watching(&log).contains(&format!("port(s) {}", addr.port())),
        "{log:#?}"
    );
    quiet_forward(&log, 1.0, 10.0);
    forward_after(&log, "quiet_after_stop");
}

#[test]
fn never_quiet_while_new_connections_keep_coming() {
    let addr = v4();
    let drain = [
        "--drain-quiet",
        "1s",
        "--drain-delay",
        "4s",
        "--grace",
        "5s",
    ];
    let Some((log, after_term)) = scenario(addr, &drain, |c| {
        // A new connection every 200 ms, each closed by the client first:
        // gone from the server side within a round trip.
        Some(Load::start(
            c,
            addr,
            Duration::from_millis(200),
            false,
            Duration::from_secs(20),
        ))
    }) else {
        return;
    };
    assert!(after_term > 1, "traffic during the drain: {after_term}");
    never_quiet(&log, 4.0);
    forward_after(&log, "never_quiet");
}

#[test]
fn requests_on_a_kept_alive_connection_are_traffic() {
    let addr = v4();
    let drain = [
        "--drain-quiet",
        "1s",
        "--drain-delay",
        "4s",
        "--grace",
        "5s",
    ];
    let Some((log, after_term)) = scenario(addr, &drain, |c| {
        let l = Load::start(
            c,
            addr,
            Duration::from_millis(200),
            true,
            Duration::from_secs(20),
        );
        // The connection is open and in use before the drain starts.
        wait_for(Duration::from_secs(10), || {
            (l.sent.load(Ordering::Relaxed) > 1).then_some(())
        })
        .expect("no request on the kept-alive connection");
        Some(l)
    }) else {
        return;
    };
    assert!(after_term > 1, "traffic during the drain: {after_term}");
    never_quiet(&log, 4.0);
    forward_after(&log, "keep_alive");
}

#[test]
fn the_lower_bound_holds_without_traffic() {
    let addr = v4();
    let drain = [
        "--drain-quiet",
        "1s",
        "--drain-min",
        "3s",
        "--drain-delay",
        "10s",
        "--grace",
        "5s",
    ];
    let Some((log, _)) = scenario(addr, &drain, |_| None) else {
        return;
    };
    let q = quiet_forward(&log, 1.0, 10.0);
    assert!(q.num("waited_s") >= 3.0, "{}", q.line);
    assert!(forward_after(&log, "lower_bound") >= 3.0);
}

/// Traffic for 1.5 s from just before the drain, then none.
fn busy_then_quiet(c: &Container, addr: SocketAddr) -> Option<Load> {
    Some(Load::start(
        c,
        addr,
        Duration::from_millis(200),
        false,
        Duration::from_millis(1500),
    ))
}

/// Traffic during the drain pushed the forward back: drainit waited
/// longer than the quiet period.
fn traffic_during_the_drain_counted(log: &[LogEvent], after_term: usize) {
    assert!(after_term > 0, "no request during the drain");
    let q = quiet_forward(log, 1.0, 10.0);
    assert!(q.num("waited_s") > q.num("quiet_s"), "{}", q.line);
}

#[test]
fn ipv6_listener() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        common::skip("no IPv6 loopback");
        return;
    }
    let addr: SocketAddr = format!("[::1]:{}", free_port()).parse().unwrap();
    let Some((log, after_term)) = scenario(addr, QUIET, |c| busy_then_quiet(c, addr)) else {
        return;
    };
    traffic_during_the_drain_counted(&log, after_term);
    forward_after(&log, "ipv6");
}

#[test]
fn drain_port_given_explicitly() {
    let addr = v4();
    let port = addr.port().to_string();
    let drain = [QUIET, &["--drain-port", &port]].concat();
    let Some((log, after_term)) = scenario(addr, &drain, |c| busy_then_quiet(c, addr)) else {
        return;
    };
    traffic_during_the_drain_counted(&log, after_term);
    forward_after(&log, "drain_port");
}

#[test]
fn only_the_given_ports_are_watched() {
    // Busy on the app's port, but told to watch another one: quiet.
    let addr = v4();
    let other = free_port().to_string();
    let drain = [QUIET, &["--drain-port", &other]].concat();
    let Some((log, after_term)) = scenario(addr, &drain, |c| {
        Some(Load::start(
            c,
            addr,
            Duration::from_millis(200),
            false,
            Duration::from_secs(20),
        ))
    }) else {
        return;
    };
    assert!(after_term > 0, "no request during the drain");
    assert!(
        watching(&log).contains(&format!("port(s) {other}")),
        "{log:#?}"
    );
    let q = quiet_forward(&log, 1.0, 10.0);
    // Nothing on the watched port since the drain began.
    assert!(
        (q.num("waited_s") - q.num("quiet_s")).abs() < 1e-3,
        "{}",
        q.line
    );
    forward_after(&log, "other_port");
}
