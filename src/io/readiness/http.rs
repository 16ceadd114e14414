//! The probe endpoint, served by hyper: `/ready`, `/live`, `/metrics`.
//!
//! `/live` says whether the app is alive, not only drainit's child (often
//! a wrapper shell): 503 once the main child exited; while it runs and
//! the app has accepted a connection at start-up (the automatic readiness
//! gate), each `/live` connects to that address again and answers 503
//! when the app no longer takes connections (it died inside a wrapper or
//! a restart loop, or its backlog is full); during a drain it stays 200
//! while the child runs, so a liveness probe never kills a draining app.
//!
//! It answers probes and nothing else, so every connection is short:
//! keep-alive is off, headers must arrive within 5 s and fit in 16 KiB,
//! a connection lives at most 10 s, and at most 64 are open at once; at
//! the bound a new connection evicts the oldest one that has not sent a
//! request yet.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONNECTION, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::io::metrics::Shared;

pub const MAX_CONNECTIONS: usize = 64;
/// How long `/live` waits for the app's listener to take a connection.
const LIVE_CONNECT: Duration = Duration::from_secs(1);

/// Where the app accepted its first connection (set once, by the
/// automatic readiness gate); `/live` connects there.
static APP_ADDR: Mutex<Option<SocketAddr>> = Mutex::new(None);

pub fn set_app_addr(addr: SocketAddr) {
    *lock(&APP_ADDR) = Some(addr);
}
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECTION_LIFETIME: Duration = Duration::from_secs(10);
const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Binds before the child starts, so a taken port stops drainit early.
pub fn bind(addr: SocketAddr) -> Result<std::net::TcpListener, String> {
    let listener = std::net::TcpListener::bind(addr).map_err(|e| {
        format!("--http {addr}: cannot listen ({e}): pick a free port or another address")
    })?;
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("--http {addr}: {e}"))?;
    Ok(listener)
}

/// Serves on a thread of its own until drainit exits.
///
/// Not on the signal loop's runtime: a flood of connections there delays
/// signal forwarding by whole scheduler rounds (over 1 ms at the 99th
/// percentile, measured in tests/hardening.rs). Here the loop only shares
/// the CPU with it, at a lower priority.
///
/// The thread builds its runtime itself and says whether that worked
/// before this returns: a runtime built here and dropped here, when the
/// thread cannot be started (no pid left: EAGAIN), would panic in tokio
/// ("cannot drop a runtime in a context where blocking is not allowed").
pub fn serve(listener: std::net::TcpListener, shared: Arc<Shared>) -> std::io::Result<()> {
    let started = Arc::new(Started::default());
    let outcome = started.clone();
    std::thread::Builder::new()
        .name("drainit-http".into())
        .spawn(move || {
            // Under CPU contention the signal loop goes first (per-thread
            // nice on Linux; failure only costs that preference).
            // SAFETY: plain integers in, an error code out; no memory shared.
            unsafe { libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 10) };
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_io()
                .enable_time()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    started.set(Err(e));
                    return;
                }
            };
            started.set(Ok(()));
            rt.block_on(async move {
                match TcpListener::from_std(listener) {
                    Ok(listener) => accept_loop(listener, shared).await,
                    Err(e) => tracing::error!("http endpoint: {e}"),
                }
            })
        })?;
    outcome.wait()
}

/// The endpoint thread's word on its runtime (a Mutex and Condvar, as the
/// resolver's worker uses: no channel code for one message).
#[derive(Default)]
struct Started {
    outcome: Mutex<Option<std::io::Result<()>>>,
    said: std::sync::Condvar,
}

impl Started {
    fn set(&self, r: std::io::Result<()>) {
        *lock(&self.outcome) = Some(r);
        self.said.notify_one();
    }

    fn wait(&self) -> std::io::Result<()> {
        let mut outcome = lock(&self.outcome);
        loop {
            if let Some(r) = outcome.take() {
                return r;
            }
            outcome = match self.said.wait(outcome) {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let slots = Arc::new(Mutex::new(Slots::default()));
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!("http endpoint: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Some(slot) = lock(&slots).admit() else {
            // Every slot is answering a request: they end within moments.
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve_one(stream, slot, shared.clone(), slots.clone()));
        // Let the new connection read its request before the next accept,
        // so a flood of connections cannot evict it unanswered.
        tokio::task::yield_now().await;
    }
}

async fn serve_one(
    stream: tokio::net::TcpStream,
    slot: Admitted,
    shared: Arc<Shared>,
    slots: Arc<Mutex<Slots>>,
) {
    let waiting = slot.waiting.clone();
    let service = hyper::service::service_fn(move |req| {
        waiting.store(false, Ordering::Relaxed);
        let shared = shared.clone();
        async move { Ok::<_, Infallible>(answer(&req, &shared).await) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(MAX_HEADER_BYTES)
        .keep_alive(false)
        .serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = tokio::time::timeout(CONNECTION_LIFETIME, conn) => {}
        _ = slot.evict.notified() => {}
    }
    lock(&slots).release(slot.id);
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// One open connection as the bound sees it.
struct Admitted {
    id: u64,
    /// No request head has arrived yet: idle or trickling, so evictable.
    waiting: Arc<AtomicBool>,
    evict: Arc<Notify>,
}

/// The open connections, oldest first. At the bound, a new connection
/// evicts the oldest one still waiting for its request: idle and
/// slow-header clients cannot lock probes out (dropping the newcomer would
/// let 64 idle sockets starve every probe until the header timeout).
#[derive(Default)]
struct Slots {
    next_id: u64,
    open: VecDeque<Admitted>,
}

impl Slots {
    fn admit(&mut self) -> Option<Admitted> {
        if self.open.len() >= MAX_CONNECTIONS {
            let oldest = self
                .open
                .iter()
                .position(|c| c.waiting.load(Ordering::Relaxed))?;
            if let Some(c) = self.open.remove(oldest) {
                c.evict.notify_one();
            }
        }
        self.next_id += 1;
        let slot = Admitted {
            id: self.next_id,
            waiting: Arc::new(AtomicBool::new(true)),
            evict: Arc::new(Notify::new()),
        };
        self.open.push_back(Admitted {
            id: slot.id,
            waiting: slot.waiting.clone(),
            evict: slot.evict.clone(),
        });
        Some(slot)
    }

    fn release(&mut self, id: u64) {
        self.open.retain(|c| c.id != id);
    }
}

/// `/live` for a running child: the app's own listener still takes a
/// connection (checked only while it serves, not during a drain).
async fn answer(req: &Request<Incoming>, shared: &Shared) -> Response<Full<Bytes>> {
    let addr = *lock(&APP_ADDR);
    let live_path = matches!(req.uri().path(), "/live" | "/livez" | "/healthz");
    let serving = matches!(shared.metrics().phase, "starting" | "ready");
    if let (true, true, true, Some(addr)) = (live_path, shared.is_live(), serving, addr) {
        let attempt = tokio::net::TcpStream::connect(addr);
        if !matches!(tokio::time::timeout(LIVE_CONNECT, attempt).await, Ok(Ok(_))) {
            return reply(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("app not accepting connections on {addr}\n"),
            );
        }
    }
    route(req, shared)
}

fn route(req: &Request<Incoming>, shared: &Shared) -> Response<Full<Bytes>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return reply(StatusCode::METHOD_NOT_ALLOWED, "only GET\n".into());
    }
    match req.uri().path() {
        "/ready" | "/readyz" => {
            if shared.is_ready() {
                reply(StatusCode::OK, "ready\n".into())
            } else {
                let phase = shared.metrics().phase;
                reply(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("not ready: {phase}\n"),
                )
            }
        }
        "/live" | "/livez" | "/healthz" => {
            if shared.is_live() {
                reply(StatusCode::OK, "live\n".into())
            } else {
                reply(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "child not running\n".into(),
                )
            }
        }
        "/metrics" => {
            let mut r = reply(StatusCode::OK, shared.render());
            r.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            r
        }
        _ => reply(
            StatusCode::NOT_FOUND,
            "try /ready, /live or /metrics\n".into(),
        ),
    }
}

fn reply(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(CONNECTION, HeaderValue::from_static("close"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}
