//! The open-model load: `rate` requests a second at a constant arrival
//! rate, whatever the answers take (a stall shows as failures or latency,
//! not as fewer requests), over keep-alive connections (TLS for an
//! https:// `--url`). Each request is timestamped with its outcome.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, Uri};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::{connect::HttpConnector, Client, ResponseFuture};
use hyper_util::rt::TokioExecutor;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;

use crate::balancer::{FAILURE_HEADER, REPLICA_HEADER};
use crate::classify::classify;
use crate::tally::{Outcome, Record};

#[derive(Clone, Debug)]
pub struct LoadConfig {
    pub url: Uri,
    pub method: Method,
    pub rate: f64,
    pub timeout: Duration,
    /// The TLS configuration for an https:// URL (crate::tls); None for
    /// plain HTTP (the balancer).
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

/// Live counts for the progress display.
#[derive(Default)]
pub struct Live {
    pub sent: AtomicU64,
    pub done: AtomicU64,
    pub failed: AtomicU64,
}

pub struct Load {
    pub live: Arc<Live>,
    records: Arc<Mutex<Vec<Record>>>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

/// Plain HTTP (the balancer, an http:// --url), or TLS (an https:// one):
/// the plain path stays as it was, with nothing of TLS in it.
#[derive(Clone)]
enum HttpClient {
    Plain(Client<HttpConnector, Full<Bytes>>),
    Tls(Client<HttpsConnector<HttpConnector>, Full<Bytes>>),
}

impl HttpClient {
    fn request(&self, request: Request<Full<Bytes>>) -> ResponseFuture {
        match self {
            HttpClient::Plain(c) => c.request(request),
            HttpClient::Tls(c) => c.request(request),
        }
    }
}

/// How many senders share a high rate.
const SENDERS: usize = 8;

fn client(tls: Option<Arc<rustls::ClientConfig>>) -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    // No retries: a request a server closed on is a failure to count.
    let mut builder = Client::builder(TokioExecutor::new());
    builder
        .retry_canceled_requests(false)
        .pool_idle_timeout(Duration::from_secs(30));
    match tls {
        None => HttpClient::Plain(builder.build(connector)),
        Some(config) => {
            connector.enforce_http(false);
            let https = hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config((*config).clone())
                .https_or_http()
                .enable_http1()
                .wrap_connector(connector);
            HttpClient::Tls(builder.build(https))
        }
    }
}

/// Starts sending now; `epoch` is the drill's clock zero.
pub fn start(cfg: LoadConfig, epoch: Instant) -> Load {
    let live = Arc::new(Live::default());
    let records = Arc::new(Mutex::new(Vec::new()));
    let (stop, stopped) = watch::channel(false);
    // Senders, each with its own connection pool and an equal share of
    // the rate, offset so that together they keep one constant rate: one
    // sender alone falls behind (the pool's lock, one task's ticks) before
    // hey does.
    let senders = if cfg.rate >= 2000.0 { SENDERS } else { 1 };
    let mut tasks = Vec::new();
    for i in 0..senders {
        let (live, records, mut stopped, cfg) =
            (live.clone(), records.clone(), stopped.clone(), cfg.clone());
        tasks.push(tokio::spawn(async move {
            let client = client(cfg.tls.clone());
            let period = Duration::from_secs_f64(senders as f64 / cfg.rate.max(0.001));
            let offset = period.mul_f64(i as f64 / senders as f64);
            let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + offset, period);
            // Behind schedule (a busy machine): send the missed requests at
            // once, so the arrival rate holds.
            ticks.set_missed_tick_behavior(MissedTickBehavior::Burst);
            let mut inflight = JoinSet::new();
            loop {
                tokio::select! {
                    _ = ticks.tick() => {}
                    _ = stopped.changed() => break,
                }
                live.sent.fetch_add(1, Ordering::Relaxed);
                let (client, cfg, live, records) =
                    (client.clone(), cfg.clone(), live.clone(), records.clone());
                inflight.spawn(async move {
                    let record = one(&client, &cfg, epoch).await;
                    live.done.fetch_add(1, Ordering::Relaxed);
                    if record.outcome.failed() {
                        live.failed.fetch_add(1, Ordering::Relaxed);
                    }
                    if let Ok(mut r) = records.lock() {
                        r.push(record);
                    }
                });
                while inflight.try_join_next().is_some() {}
            }
            // The requests in flight end by their own timeout.
            while inflight.join_next().await.is_some() {}
        }));
    }
    let task = tokio::spawn(async move {
        for t in tasks {
            let _ = t.await;
        }
    });
    Load {
        live,
        records,
        stop,
        task,
    }
}

impl Load {
    /// Stops sending, waits for the requests in flight, returns every
    /// record in the order sent.
    pub async fn finish(self) -> Vec<Record> {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        let mut records = self
            .records
            .lock()
            .map(|mut r| std::mem::take(&mut *r))
            .unwrap_or_default();
        records.sort_by_key(|r| r.sent);
        records
    }
}

async fn one(client: &HttpClient, cfg: &LoadConfig, epoch: Instant) -> Record {
    let started = Instant::now();
    let sent = started.saturating_duration_since(epoch);
    let (outcome, replica) = match tokio::time::timeout(cfg.timeout, exchange(client, cfg)).await {
        Ok(answer) => answer,
        Err(_) => (Outcome::Timeout, None),
    };
    Record {
        sent,
        latency: started.elapsed(),
        outcome,
        replica,
    }
}

async fn exchange(client: &HttpClient, cfg: &LoadConfig) -> (Outcome, Option<usize>) {
    let request = Request::builder()
        .method(cfg.method.clone())
        .uri(cfg.url.clone())
        .body(Full::new(Bytes::new()));
    let Ok(request) = request else {
        return (Outcome::Other, None);
    };
    let response = match client.request(request).await {
        Ok(r) => r,
        Err(e) => return (classify(&e), None),
    };
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let replica = header(REPLICA_HEADER).and_then(|v| v.parse().ok());
    let failure = header(FAILURE_HEADER);
    if let Err(e) = response.into_body().collect().await {
        return (classify(&e), replica);
    }
    let outcome = match failure.as_deref().map(Outcome::from_kind) {
        Some(Some(kind)) => kind,
        Some(None) => Outcome::Other,
        None if status >= 500 => Outcome::ErrorStatus(status),
        None => Outcome::Answered(status),
    };
    (outcome, replica)
}
