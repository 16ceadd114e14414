//! The probe endpoint, served by hyper: `/ready`, `/live`, `/metrics`.
//!
//! It answers probes and nothing else, so every connection is short:
//! keep-alive is off, headers must arrive within 5 s and fit in 16 KiB,
//! a connection lives at most 10 s, and at most 64 are open at once.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CACHE_CONTROL, CONNECTION, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use super::Shared;

pub const MAX_CONNECTIONS: usize = 64;
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

/// Serves until the runtime stops. Must be called inside the runtime.
pub fn serve(listener: std::net::TcpListener, shared: Arc<Shared>) -> std::io::Result<()> {
    let listener = TcpListener::from_std(listener)?;
    tokio::spawn(accept_loop(listener, shared));
    Ok(())
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let open = Arc::new(AtomicUsize::new(0));
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
        if open.fetch_add(1, Ordering::AcqRel) >= MAX_CONNECTIONS {
            open.fetch_sub(1, Ordering::AcqRel);
            drop(stream);
            continue;
        }
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        let open = open.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(route(&req, &shared)) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .max_buf_size(MAX_HEADER_BYTES)
                .keep_alive(false)
                .serve_connection(TokioIo::new(stream), service);
            let _ = tokio::time::timeout(CONNECTION_LIFETIME, conn).await;
            open.fetch_sub(1, Ordering::AcqRel);
        });
    }
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
                "text/plain; version=0.0.4; charset=utf-8"
                    .parse()
                    .expect("static header"),
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
    h.insert(CONNECTION, "close".parse().expect("static header"));
    h.insert(CACHE_CONTROL, "no-store".parse().expect("static header"));
    h.insert(
        CONTENT_TYPE,
        "text/plain; charset=utf-8".parse().expect("static header"),
    );
    r
}
