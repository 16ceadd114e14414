//! Integration tests: run the real binary on an ephemeral port and talk
//! HTTP/1.1 to it over a plain TcpStream.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_drainit-demo");

/// A running drainit-demo; killed on drop so a failing test leaves nothing.
struct Demo {
    child: Child,
    addr: SocketAddr,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Demo {
    /// Starts the demo on 127.0.0.1:0 and learns the port from its log.
    fn start(args: &[&str]) -> Demo {
        let mut child = Command::new(BIN)
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn drainit-demo");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = BufReader::new(child.stderr.take().unwrap());
        let sink = lines.clone();
        thread::spawn(move || {
            for line in reader.lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("drainit-demo: listening on ") {
                    let addr = rest.split(' ').next().unwrap().parse::<SocketAddr>();
                    let _ = tx.send(addr.unwrap());
                }
                sink.lock().unwrap().push(line);
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("demo never logged 'listening on'");
        Demo {
            child,
            addr,
            stderr: lines,
        }
    }

    fn signal(&self, sig: libc::c_int) {
        assert_eq!(
            unsafe { libc::kill(self.child.id() as libc::pid_t, sig) },
            0
        );
    }

    /// Waits for exit, failing the test after `limit`.
    fn wait(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "demo did not exit in {limit:?}");
            thread::sleep(Duration::from_millis(10));
        }
    }

    fn log(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request on a fresh connection; returns the raw response text.
fn request(addr: SocketAddr, method: &str, path: &str, body: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response)
}

fn status(response: &str) -> u16 {
    response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn get(addr: SocketAddr, path: &str) -> u16 {
    status(&request(addr, "GET", path, "").unwrap())
}

/// Starts a request on a background thread (to be in flight when signalled).
fn in_background(addr: SocketAddr, path: &'static str) -> JoinHandle<std::io::Result<String>> {
    let handle = thread::spawn(move || request(addr, "GET", path, ""));
    thread::sleep(Duration::from_millis(300));
    handle
}

fn temp_path(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    let path = std::env::temp_dir().join(format!("drainit-demo-{}-{n}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

#[test]
fn serves_work_and_health() {
    let demo = Demo::start(&["--work", "10ms"]);
    let response = request(demo.addr, "GET", "/", "").unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("\r\n\r\nok\n"), "{response}");
    assert_eq!(
        status(&request(demo.addr, "POST", "/work", "payload").unwrap()),
        200
    );
    assert_eq!(get(demo.addr, "/health"), 200);
    assert_eq!(get(demo.addr, "/nope"), 404);

    assert_eq!(
        status(&request(demo.addr, "POST", "/fail-health", "").unwrap()),
        200
    );
    assert_eq!(get(demo.addr, "/health"), 503);
    assert_eq!(
        status(&request(demo.addr, "POST", "/pass-health", "").unwrap()),
        200
    );
    assert_eq!(get(demo.addr, "/health"), 200);
}

#[test]
fn health_waits_for_ready_after() {
    let demo = Demo::start(&["--ready-after", "700ms"]);
    assert_eq!(get(demo.addr, "/health"), 503);
    thread::sleep(Duration::from_millis(800));
    assert_eq!(get(demo.addr, "/health"), 200);
}

#[test]
fn graceful_sigterm_finishes_in_flight_and_writes_marker() {
    let marker = temp_path("marker");
    let mut demo = Demo::start(&["--work", "1s", "--marker", marker.to_str().unwrap()]);
    let pending = in_background(demo.addr, "/work");
    demo.signal(libc::SIGTERM);
    thread::sleep(Duration::from_millis(100));
    // The listener is closed at once...
    assert!(TcpStream::connect(demo.addr).is_err(), "still accepting");
    // ...but the in-flight request completes and is told the connection closes.
    let response = pending.join().unwrap().unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        response.to_ascii_lowercase().contains("connection: close"),
        "{response}"
    );
    assert!(
        demo.wait(Duration::from_secs(5)).success(),
        "{}",
        demo.log()
    );
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap(),
        "drained 1 requests\n"
    );
    let _ = std::fs::remove_file(marker);
}

#[test]
fn graceful_drain_closes_idle_keep_alive_connections() {
    let mut demo = Demo::start(&["--work", "10ms"]);
    let mut idle = TcpStream::connect(demo.addr).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    idle.write_all(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = idle.read(&mut buf).unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    // The connection now sits idle in keep-alive; the drain must not wait on it.
    demo.signal(libc::SIGTERM);
    assert!(
        demo.wait(Duration::from_secs(2)).success(),
        "{}",
        demo.log()
    );
    assert_eq!(
        idle.read(&mut buf).unwrap_or(0),
        0,
        "idle connection not closed"
    );
}

#[test]
fn sigquit_drains_even_when_term_is_ignored() {
    let mut demo = Demo::start(&["--on-term", "ignore", "--work", "10ms"]);
    demo.signal(libc::SIGTERM);
    thread::sleep(Duration::from_millis(100));
    assert_eq!(get(demo.addr, "/"), 200, "stopped serving: {}", demo.log());
    assert!(demo.log().contains("ignoring SIGTERM"), "{}", demo.log());
    demo.signal(libc::SIGQUIT);
    assert!(
        demo.wait(Duration::from_secs(5)).success(),
        "{}",
        demo.log()
    );
}

#[test]
fn immediate_drops_in_flight_requests() {
    let mut demo = Demo::start(&["--on-term", "immediate", "--work", "5s"]);
    let pending = in_background(demo.addr, "/work");
    demo.signal(libc::SIGTERM);
    assert!(
        demo.wait(Duration::from_secs(2)).success(),
        "{}",
        demo.log()
    );
    // Either a reset or an empty read: no response was sent.
    let response = pending.join().unwrap().unwrap_or_default();
    assert_eq!(response, "");
}

#[test]
fn drain_timeout_exits_1() {
    let mut demo = Demo::start(&["--work", "10s", "--drain-timeout", "300ms"]);
    let _pending = in_background(demo.addr, "/work");
    demo.signal(libc::SIGTERM);
    assert_eq!(
        demo.wait(Duration::from_secs(3)).code(),
        Some(1),
        "{}",
        demo.log()
    );
}

#[test]
fn other_signals_are_logged() {
    let signal_log = temp_path("signals");
    let mut demo = Demo::start(&["--signal-log", signal_log.to_str().unwrap()]);
    for sig in [libc::SIGHUP, libc::SIGUSR1, libc::SIGUSR2] {
        demo.signal(sig);
        // One at a time: tokio merges signals and does not keep their order.
        thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(get(demo.addr, "/health"), 200, "signals stopped the server");
    demo.signal(libc::SIGTERM);
    assert!(demo.wait(Duration::from_secs(5)).success());
    let logged = std::fs::read_to_string(&signal_log).unwrap();
    assert_eq!(logged, "SIGHUP\nSIGUSR1\nSIGUSR2\nSIGTERM\n");
    assert!(
        demo.log().contains("drainit-demo: got SIGUSR1"),
        "{}",
        demo.log()
    );
    let _ = std::fs::remove_file(signal_log);
}

#[test]
fn bad_arguments_exit_2_naming_the_option() {
    for (args, name) in [
        (&["--on-term", "later"][..], "--on-term"),
        (&["--work", "soon"][..], "--work"),
        (&["--bogus"][..], "--bogus"),
    ] {
        let out = Command::new(BIN).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(name), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    let out = Command::new(BIN).env("DEMO_WORK", "x").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("DEMO_WORK"));
}

#[test]
fn busy_address_exits_1() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = Command::new(BIN)
        .args(["--listen", &addr])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&addr));
}

#[test]
fn listens_on_ipv6_when_available() {
    if TcpListener::bind("[::1]:0").is_err() {
        return; // no IPv6 loopback in this sandbox
    }
    // A later --listen overrides the 127.0.0.1:0 that Demo::start passes.
    let demo = Demo::start(&["--listen", "[::1]:0", "--work", "1ms"]);
    assert!(demo.addr.is_ipv6());
    assert_eq!(get(demo.addr, "/"), 200);
}
