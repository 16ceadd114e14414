//! The HTTP server: routes, in-flight accounting and the graceful drain.

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONNECTION};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

use crate::cli::Config;
use crate::signals::{Drains, Signals};

/// State shared by the accept loop, every connection and the signal task.
pub struct State {
    started: Instant,
    work: Duration,
    ready_after: Duration,
    health_down: AtomicBool,
    draining: AtomicBool,
    in_flight: AtomicUsize,
    /// Work requests finished after the drain began (the marker's `<n>`).
    drained: AtomicUsize,
}

impl Drains for State {
    fn in_flight(&self) -> usize {
        self.in_flight.load(SeqCst)
    }

    fn start_draining(&self) {
        self.draining.store(true, SeqCst);
    }
}

impl State {
    fn new(cfg: &Config) -> Self {
        State {
            started: Instant::now(),
            work: cfg.work,
            ready_after: cfg.ready_after,
            health_down: AtomicBool::new(false),
            draining: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            drained: AtomicUsize::new(0),
        }
    }

    fn is_draining(&self) -> bool {
        self.draining.load(SeqCst)
    }

    fn is_healthy(&self) -> bool {
        !self.is_draining()
            && !self.health_down.load(SeqCst)
            && self.started.elapsed() >= self.ready_after
    }
}

/// Counts a work request as in flight for as long as it lives, so requests
/// whose client hangs up mid-way are not counted forever.
struct InFlight<'a>(&'a State);

impl<'a> InFlight<'a> {
    fn enter(state: &'a State) -> Self {
        state.in_flight.fetch_add(1, SeqCst);
        InFlight(state)
    }

    /// Records a completed request; only completions count as drained.
    fn finish(self) {
        if self.0.is_draining() {
            self.0.drained.fetch_add(1, SeqCst);
        }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, SeqCst);
    }
}

/// Serves until a drain signal, drains, and returns the exit code.
pub async fn run(cfg: Config) -> i32 {
    let listener = match TcpListener::bind(cfg.listen).await {
        Ok(listener) => listener,
        Err(e) => {
            log!("cannot listen on {}: {e}", cfg.listen);
            return 1;
        }
    };
    let signals = match Signals::install() {
        Ok(signals) => signals,
        Err(e) => {
            log!("cannot install signal handlers: {e}");
            return 1;
        }
    };
    let state = Arc::new(State::new(&cfg));
    let drain = Arc::new(Notify::new());
    let log_path = cfg.signal_log.clone();
    tokio::spawn(signals.run(state.clone(), cfg.on_term, log_path, drain.clone()));
    // Log the bound address, not the requested one: with port 0 this is how
    // tests learn the port.
    match listener.local_addr() {
        Ok(addr) => log!("listening on {addr}"),
        Err(_) => log!("listening on {}", cfg.listen),
    }

    let graceful = GracefulShutdown::new();
    accept_until(&listener, &drain, &state, &graceful).await;
    // Close the listener at once: new connections are refused while the
    // in-flight ones finish.
    drop(listener);
    finish_drain(&cfg, &state, graceful).await
}

async fn accept_until(
    listener: &TcpListener,
    drain: &Notify,
    state: &Arc<State>,
    graceful: &GracefulShutdown,
) {
    loop {
        tokio::select! {
            _ = drain.notified() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => serve(stream, state.clone(), graceful),
                Err(e) => {
                    // Usually EMFILE: back off instead of spinning.
                    log!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
}

fn serve(stream: TcpStream, state: Arc<State>, graceful: &GracefulShutdown) {
    let service = service_fn(move |req| handle(req, state.clone()));
    let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    // The watcher closes idle keep-alive connections on drain and lets busy
    // ones finish their current request.
    let conn = graceful.watch(conn);
    tokio::spawn(async move {
        // Client-side errors (resets, half requests) are the client's
        // business; nothing to report.
        let _ = conn.await;
    });
}

async fn finish_drain(cfg: &Config, state: &State, graceful: GracefulShutdown) -> i32 {
    log!("draining ({} in flight)", state.in_flight());
    if tokio::time::timeout(cfg.drain_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        log!(
            "drain timeout after {:?}, {} requests still in flight",
            cfg.drain_timeout,
            state.in_flight()
        );
        return 1;
    }
    let n = state.drained.load(SeqCst);
    log!("drained {n} requests");
    if let Some(path) = &cfg.marker {
        if let Err(e) = std::fs::write(path, format!("drained {n} requests\n")) {
            log!("cannot write marker {}: {e}", path.display());
            return 1;
        }
    }
    0
}

type Body = Full<Bytes>;

async fn handle(req: Request<Incoming>, state: Arc<State>) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path();
    let mut response = match (req.method(), path) {
        (_, "/" | "/work") => work(req, &state).await,
        (&Method::GET | &Method::HEAD, "/health") => health(&state),
        (&Method::POST, "/fail-health") => set_health(&state, false),
        (&Method::POST, "/pass-health") => set_health(&state, true),
        (_, "/health" | "/fail-health" | "/pass-health") => {
            text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n")
        }
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    };
    if state.is_draining() {
        // hyper closes the connection after this response on drain but does
        // not say so on HTTP/1.1; tell the client explicitly.
        response
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
    Ok(response)
}

async fn work(req: Request<Incoming>, state: &State) -> Response<Body> {
    let guard = InFlight::enter(state);
    // Read and discard the body (POST uploads); a broken upload still gets
    // its answer, the client may not be listening any more anyway.
    let _ = req.into_body().collect().await;
    tokio::time::sleep(state.work).await;
    guard.finish();
    text(StatusCode::OK, "ok\n")
}

fn health(state: &State) -> Response<Body> {
    if state.is_healthy() {
        text(StatusCode::OK, "ok\n")
    } else {
        text(StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
    }
}

fn set_health(state: &State, healthy: bool) -> Response<Body> {
    state.health_down.store(!healthy, SeqCst);
    log!("health forced {}", if healthy { "up" } else { "down" });
    text(StatusCode::OK, "ok\n")
}

fn text(status: StatusCode, body: &'static str) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response
}
