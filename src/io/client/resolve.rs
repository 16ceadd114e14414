//! Host names resolved by a thread started at start-up, never by one
//! started when an answer is needed.
//!
//! An IP address needs nothing. For a host name, `Resolver::start` spawns
//! one worker thread (before the child runs, so a pids limit the app uses
//! up later cannot stop it) which resolves the name at once with the
//! system's getaddrinfo, then sleeps on a condition variable until asked
//! again: an idle drainit never wakes up for it. `lookup` asks for a fresh
//! answer and waits for it only briefly when a good answer is already
//! known: a probe or the drain hook never waits on a slow DNS server
//! longer than `fresh`, and uses the last good answer instead. Asking is a
//! futex wake; the answer comes back through a tokio watch channel, which
//! wakes the event loop with the runtime's existing eventfd. Nothing is
//! created on the asking side.
//!
//! A name that does not resolve at start-up is logged once (a warning) and
//! retried whenever it is asked for; start-up neither waits for it nor
//! fails. The worker's own sockets (DNS queries) are its business: when
//! one cannot be created, that lookup fails and the last good answer
//! stands.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use tokio::sync::watch;

/// getaddrinfo's stack needs are small (musl's are ~10 KiB); the default
/// 2 MiB would only be address space, but there is no reason to take it.
const STACK: usize = 256 * 1024;

/// One resolver for one configured host: clones share the worker.
#[derive(Clone)]
pub struct Resolver {
    inner: Inner,
}

#[derive(Clone)]
enum Inner {
    Fixed(SocketAddr),
    Named(Arc<Handle>),
}

/// The asking side. Dropping the last one stops the worker.
struct Handle {
    worker: Arc<Worker>,
    answers: watch::Receiver<Answer>,
}

/// The lookup the worker makes: the system's getaddrinfo, or a test's.
type LookupFn = Box<dyn Fn(&str, u16) -> Result<Vec<SocketAddr>, String> + Send + Sync>;

struct Worker {
    name: String,
    port: u16,
    lookup: LookupFn,
    asked: Mutex<Asked>,
    wake: Condvar,
    answers: watch::Sender<Answer>,
}

#[derive(Default)]
struct Asked {
    again: bool,
    closed: bool,
}

#[derive(Clone, Default)]
struct Answer {
    /// The last good answer; empty until one arrives.
    addrs: Arc<[SocketAddr]>,
    /// Why the latest lookup failed, if it did.
    error: Option<Arc<str>>,
}

impl Resolver {
    pub fn fixed(addr: SocketAddr) -> Resolver {
        Resolver {
            inner: Inner::Fixed(addr),
        }
    }

    /// Starts the worker for `name` and its first lookup; returns at once.
    pub fn start(name: &str, port: u16) -> Result<Resolver, String> {
        Self::start_with(name, port, Box::new(getaddrinfo))
    }

    fn start_with(name: &str, port: u16, lookup: LookupFn) -> Result<Resolver, String> {
        let (tx, rx) = watch::channel(Answer::default());
        let worker = Arc::new(Worker {
            name: name.to_string(),
            port,
            lookup,
            asked: Mutex::new(Asked::default()),
            wake: Condvar::new(),
            answers: tx,
        });
        let run = worker.clone();
        std::thread::Builder::new()
            .name("drainit-resolve".into())
            .stack_size(STACK)
            .spawn(move || run.run())
            .map_err(|e| format!("cannot start the resolver thread for {name}: {e}"))?;
        Ok(Resolver {
            inner: Inner::Named(Arc::new(Handle {
                worker,
                answers: rx,
            })),
        })
    }

    /// The addresses to try, in getaddrinfo's order. Asks the worker for a
    /// fresh answer; waits up to `fresh` for it when a good answer is
    /// known, else until one lookup finishes (the caller bounds that).
    pub async fn lookup(&self, fresh: Duration) -> Result<Arc<[SocketAddr]>, String> {
        let handle = match &self.inner {
            Inner::Fixed(addr) => return Ok(Arc::from([*addr])),
            Inner::Named(handle) => handle,
        };
        let mut rx = handle.answers.clone();
        rx.mark_unchanged();
        handle.worker.ask();
        let known = rx.borrow().addrs.clone();
        if !known.is_empty() {
            let _ = tokio::time::timeout(fresh, rx.changed()).await;
            let latest = rx.borrow().addrs.clone();
            return Ok(if latest.is_empty() { known } else { latest });
        }
        if rx.changed().await.is_err() {
            return Err(format!(
                "{}: the resolver thread is gone",
                handle.worker.name
            ));
        }
        let answer = rx.borrow().clone();
        match answer.error {
            _ if !answer.addrs.is_empty() => Ok(answer.addrs),
            Some(e) => Err(e.to_string()),
            None => Err(format!("{} has no address", handle.worker.name)),
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.worker.lock().closed = true;
        self.worker.wake.notify_one();
    }
}

impl Worker {
    fn lock(&self) -> std::sync::MutexGuard<'_, Asked> {
        self.asked.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn ask(&self) {
        self.lock().again = true;
        self.wake.notify_one();
    }

    /// Blocks until asked again; false once the resolver is dropped.
    fn wait_for_ask(&self) -> bool {
        let mut asked = self.lock();
        while !asked.again && !asked.closed {
            asked = self.wake.wait(asked).unwrap_or_else(|p| p.into_inner());
        }
        asked.again = false;
        !asked.closed
    }

    fn run(&self) {
        let mut failing = false;
        loop {
            match (self.lookup)(&self.name, self.port) {
                Ok(addrs) => {
                    if failing {
                        tracing::info!("{} resolves again: {addrs:?}", self.name);
                    }
                    failing = false;
                    self.answers.send_replace(Answer {
                        addrs: addrs.into(),
                        error: None,
                    });
                }
                Err(e) => {
                    if !failing {
                        tracing::warn!("{e}; retrying whenever it is needed");
                    }
                    failing = true;
                    self.answers.send_modify(|a| a.error = Some(e.into()));
                }
            }
            if !self.wait_for_ask() {
                return;
            }
        }
    }
}

/// The system's resolver (std calls getaddrinfo): /etc/hosts, DNS.
fn getaddrinfo(name: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
    match (name, port).to_socket_addrs() {
        Ok(addrs) => {
            let addrs: Vec<SocketAddr> = addrs.collect();
            if addrs.is_empty() {
                Err(format!("{name} has no address"))
            } else {
                Ok(addrs)
            }
        }
        Err(e) => Err(format!("cannot resolve {name}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn an_ip_address_needs_no_thread() {
        let addr: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let r = Resolver::fixed(addr);
        let got = block_on(r.lookup(Duration::ZERO)).unwrap();
        assert_eq!(&got[..], [addr]);
    }

    #[test]
    fn a_name_resolves_on_the_worker_and_again_when_asked() {
        let r = Resolver::start("localhost", 8080).unwrap();
        let got = block_on(r.lookup(Duration::from_secs(5))).unwrap();
        assert!(!got.is_empty());
        assert!(
            got.iter().all(|a| a.ip().is_loopback() && a.port() == 8080),
            "{got:?}"
        );
        // Asked again, the worker answers again (a fresh lookup).
        let Inner::Named(handle) = &r.inner else {
            panic!("not named")
        };
        let mut rx = handle.answers.clone();
        rx.mark_unchanged();
        block_on(async {
            r.lookup(Duration::from_secs(5)).await.unwrap();
        });
        assert!(rx.has_changed().unwrap(), "no fresh lookup was made");
    }

    #[test]
    fn a_name_that_does_not_resolve_is_an_error_not_a_hang() {
        // .invalid is reserved (RFC 6761): it never resolves.
        let r = Resolver::start("drainit-test.invalid", 80).unwrap();
        let e = block_on(r.lookup(Duration::from_millis(10))).unwrap_err();
        assert!(e.contains("drainit-test.invalid"), "{e}");
    }

    type Answers = std::sync::mpsc::Sender<Result<Vec<SocketAddr>, String>>;

    /// A resolver whose worker answers what the test sends, when it sends.
    fn scripted() -> (Resolver, Answers) {
        let (tx, rx) = std::sync::mpsc::channel();
        let rx = Mutex::new(rx);
        let lookup: LookupFn = Box::new(move |_, _| {
            let next = rx.lock().unwrap().recv();
            next.unwrap_or_else(|_| Err("script over".into()))
        });
        (Resolver::start_with("svc", 80, lookup).unwrap(), tx)
    }

    fn addr(text: &str) -> Vec<SocketAddr> {
        vec![text.parse().unwrap()]
    }

    #[test]
    fn a_late_fresh_answer_is_not_waited_for_past_the_bound() {
        let (r, answers) = scripted();
        answers.send(Ok(addr("10.0.0.1:80"))).unwrap();
        let long = Duration::from_secs(30);
        assert_eq!(
            block_on(r.lookup(long)).unwrap().to_vec(),
            addr("10.0.0.1:80")
        );
        // The worker now waits for its next answer, which does not come:
        // the known one is used after the short bound.
        let short = Duration::from_millis(20);
        let got = block_on(async { tokio::time::timeout(long, r.lookup(short)).await });
        let got = got.expect("waited for the fresh answer").unwrap();
        assert_eq!(got.to_vec(), addr("10.0.0.1:80"));
        // A new answer replaces it; a failure after that does not.
        answers.send(Ok(addr("10.0.0.2:80"))).unwrap();
        wait_until(|| {
            block_on(r.lookup(Duration::from_millis(20)))
                .unwrap()
                .to_vec()
                == addr("10.0.0.2:80")
        });
        answers
            .send(Err("cannot resolve svc: boom".into()))
            .unwrap();
        for _ in 0..3 {
            let got = block_on(r.lookup(Duration::from_millis(20))).unwrap();
            assert_eq!(got.to_vec(), addr("10.0.0.2:80"));
        }
    }

    #[test]
    fn with_no_good_answer_yet_the_failure_is_returned() {
        let (r, answers) = scripted();
        answers
            .send(Err("cannot resolve svc: boom".into()))
            .unwrap();
        // The first lookup may see the start-up failure or ask for another.
        answers
            .send(Err("cannot resolve svc: boom again".into()))
            .unwrap();
        let e = block_on(r.lookup(Duration::from_secs(30))).unwrap_err();
        assert!(e.starts_with("cannot resolve svc: boom"), "{e}");
        answers.send(Ok(addr("10.0.0.3:80"))).unwrap();
        wait_until(|| {
            block_on(r.lookup(Duration::from_millis(20)))
                .is_ok_and(|a| a.to_vec() == addr("10.0.0.3:80"))
        });
    }

    fn wait_until(mut f: impl FnMut() -> bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !f() {
            assert!(std::time::Instant::now() < deadline, "condition never held");
        }
    }

    #[test]
    fn dropping_the_resolver_stops_the_worker() {
        let r = Resolver::start("localhost", 80).unwrap();
        let Inner::Named(handle) = &r.inner else {
            panic!("not named")
        };
        let worker = Arc::downgrade(&handle.worker);
        drop(r);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while worker.strong_count() > 0 {
            assert!(std::time::Instant::now() < deadline, "worker still running");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}
