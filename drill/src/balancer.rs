//! The drill's HTTP balancer on 127.0.0.1: round robin over the routed
//! replicas, keep-alive to each, no retries (what an ingress or an ALB does
//! for a POST). An upstream failure comes back as 502 (504 on timeout) with
//! its kind in `x-drill-failure`; every answer names the replica in
//! `x-drill-replica`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

use crate::classify::classify;
use crate::rollout::ReplicaId;
use crate::tally::Outcome;

pub const FAILURE_HEADER: &str = "x-drill-failure";
pub const REPLICA_HEADER: &str = "x-drill-replica";

type Body = BoxBody<Bytes, hyper::Error>;

/// The routing table, shared with the rollout.
#[derive(Clone, Default)]
pub struct Routes {
    inner: Arc<Mutex<Vec<(ReplicaId, SocketAddr)>>>,
    next: Arc<AtomicUsize>,
}

impl Routes {
    pub fn add(&self, id: ReplicaId, addr: SocketAddr) {
        if let Ok(mut r) = self.inner.lock() {
            r.push((id, addr));
        }
    }

    pub fn remove(&self, id: ReplicaId) {
        if let Ok(mut r) = self.inner.lock() {
            r.retain(|(i, _)| *i != id);
        }
    }

    fn pick(&self) -> Option<(ReplicaId, SocketAddr)> {
        let r = self.inner.lock().ok()?;
        if r.is_empty() {
            return None;
        }
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        r.get(n % r.len()).copied()
    }
}

/// What the balancer counted (every client's requests, the drill's and any
/// other's).
#[derive(Default)]
pub struct Counters {
    pub requests: AtomicU64,
    pub failed: AtomicU64,
}

pub struct Balancer {
    pub addr: SocketAddr,
    pub routes: Routes,
    pub counters: Arc<Counters>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Balancer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds `listen` (port 0: any free port) and serves until dropped.
pub async fn start(listen: SocketAddr, timeout: Duration) -> Result<Balancer, String> {
    let listener = bind(listen).await?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("--listen {listen}: {e}"))?;
    let routes = Routes::default();
    let counters = Arc::new(Counters::default());
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(timeout));
    let client: Client<HttpConnector, Incoming> = Client::builder(TokioExecutor::new())
        .retry_canceled_requests(false)
        .pool_idle_timeout(Duration::from_secs(60))
        .build(connector);
    let shared = Arc::new(Shared {
        routes: routes.clone(),
        counters: counters.clone(),
        client,
        timeout,
    });
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let shared = shared.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| {
                    let shared = shared.clone();
                    async move { Ok::<_, Infallible>(shared.forward(req).await) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(Balancer {
        addr,
        routes,
        counters,
        task,
    })
}

/// Binds, waiting a little while the previous variant's balancer on the
/// same fixed port is still closing.
async fn bind(listen: SocketAddr) -> Result<TcpListener, String> {
    let until = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        match TcpListener::bind(listen).await {
            Ok(l) => return Ok(l),
            Err(e)
                if e.kind() == std::io::ErrorKind::AddrInUse
                    && listen.port() != 0
                    && std::time::Instant::now() < until =>
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => return Err(format!("--listen {listen}: cannot bind the balancer: {e}")),
        }
    }
}

struct Shared {
    routes: Routes,
    counters: Arc<Counters>,
    client: Client<HttpConnector, Incoming>,
    timeout: Duration,
}

impl Shared {
    async fn forward(&self, req: Request<Incoming>) -> Response<Body> {
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        let Some((id, addr)) = self.routes.pick() else {
            self.counters.failed.fetch_add(1, Ordering::Relaxed);
            return failure(StatusCode::SERVICE_UNAVAILABLE, "no_backend", None);
        };
        let (mut parts, body) = req.into_parts();
        let path = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        let Ok(uri) = format!("http://{addr}{path}").parse() else {
            return failure(StatusCode::BAD_REQUEST, "error", Some(id));
        };
        parts.uri = uri;
        let upstream = Request::from_parts(parts, body);
        match tokio::time::timeout(self.timeout, self.client.request(upstream)).await {
            Ok(Ok(resp)) => {
                if resp.status().is_server_error() {
                    self.counters.failed.fetch_add(1, Ordering::Relaxed);
                }
                let (mut parts, body) = resp.into_parts();
                if let Ok(v) = id.to_string().parse() {
                    parts.headers.insert(REPLICA_HEADER, v);
                }
                Response::from_parts(parts, body.boxed())
            }
            Ok(Err(e)) => {
                self.counters.failed.fetch_add(1, Ordering::Relaxed);
                let kind = classify(&e).kind();
                failure(StatusCode::BAD_GATEWAY, &kind, Some(id))
            }
            Err(_) => {
                self.counters.failed.fetch_add(1, Ordering::Relaxed);
                failure(
                    StatusCode::GATEWAY_TIMEOUT,
                    &Outcome::Timeout.kind(),
                    Some(id),
                )
            }
        }
    }
}

fn failure(status: StatusCode, kind: &str, replica: Option<ReplicaId>) -> Response<Body> {
    let mut builder = Response::builder()
        .status(status)
        .header(FAILURE_HEADER, kind);
    if let Some(id) = replica {
        builder = builder.header(REPLICA_HEADER, id);
    }
    let body = Full::new(Bytes::from(format!("drill balancer: {kind}\n")))
        .map_err(|never| match never {})
        .boxed();
    builder.body(body).unwrap_or_else(|_| {
        let mut r = Response::new(
            Full::new(Bytes::new())
                .map_err(|never| match never {})
                .boxed(),
        );
        *r.status_mut() = status;
        r
    })
}
