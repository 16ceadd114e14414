//! drainit's HTTP and TCP client: the readiness gate (`--ready-url`,
//! `--ready-tcp`) and the drain hook (`--drain-url`).
//!
//! Everything is prepared at start-up, inside the runtime and before the
//! child runs: URLs parsed, host names handed to a resolver thread (see
//! resolve.rs). At drain time the hook creates one tokio task and its
//! connection socket, nothing else.

mod resolve;
pub mod url;

use std::sync::Arc;
use std::time::Duration;

use crate::cli::Gate;
use resolve::Resolver;
use url::{Host, HttpUrl, Target};

/// The drain hook's whole budget: resolve, connect, POST, status line.
const HOOK_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a lookup waits for a fresh answer when a good one is known.
const FRESH: Duration = Duration::from_millis(250);

fn resolver(target: &Target) -> Result<Resolver, String> {
    match &target.host {
        Host::Ip(ip) => Ok(Resolver::fixed((*ip, target.port).into())),
        Host::Name(name) => Resolver::start(name, target.port),
    }
}

struct Endpoint {
    url: HttpUrl,
    text: String,
    http: reqwest::Client,
}

impl Endpoint {
    fn prepare(text: &str, timeout: Duration) -> Result<Endpoint, String> {
        let url = url::parse_http_url(text)?;
        let resolver = resolver(&url.target)?;
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .no_proxy()
            .pool_max_idle_per_host(0)
            .dns_resolver(Arc::new(Resolve(resolver)))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Endpoint {
            url,
            text: text.to_string(),
            http,
        })
    }

    async fn send(&self, method: reqwest::Method) -> Result<u16, String> {
        let _ = &self.url;
        match self.http.request(method, &self.text).send().await {
            Ok(resp) => Ok(resp.status().as_u16()),
            Err(e) => Err(e.to_string()),
        }
    }
}

struct Resolve(Resolver);

impl reqwest::dns::Resolve for Resolve {
    fn resolve(&self, _name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let r = self.0.clone();
        Box::pin(async move {
            let addrs = r.lookup(FRESH).await?;
            let it: reqwest::dns::Addrs = Box::new(addrs.to_vec().into_iter());
            Ok(it)
        })
    }
}

/// The drain hook: prepared at start-up, fired once at drain start.
pub struct Hook {
    endpoint: Arc<Endpoint>,
}

impl Hook {
    pub fn prepare(url: &str) -> Result<Hook, String> {
        Ok(Hook {
            endpoint: Arc::new(Endpoint::prepare(url, HOOK_TIMEOUT)?),
        })
    }

    /// Spawns one task that POSTs once and logs one line; returns at once.
    pub fn fire(&self) {
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            tracing::error!("drain hook: no runtime to send it from");
            return;
        };
        let endpoint = self.endpoint.clone();
        rt.spawn(async move {
            let url = &endpoint.text;
            match endpoint.send(reqwest::Method::POST).await {
                Ok(status) if (200..300).contains(&status) => {
                    tracing::info!(target: "drainit::timeline", "drain hook {url}: {status}")
                }
                Ok(status) => tracing::warn!("drain hook {url} answered {status}"),
                Err(e) => tracing::warn!("drain hook {url} failed: {e}"),
            }
        });
    }
}

/// One readiness gate check, prepared at start-up.
#[derive(Clone)]
pub struct Probe {
    kind: Arc<ProbeKind>,
    timeout: Duration,
}

enum ProbeKind {
    Http(Endpoint),
    Tcp(Resolver),
}

impl Probe {
    pub fn prepare(gate: &Gate, timeout: Duration) -> Result<Probe, String> {
        let kind = match gate {
            Gate::Url(url) => ProbeKind::Http(Endpoint::prepare(url, timeout)?),
            Gate::Tcp(addr) => ProbeKind::Tcp(resolver(&url::parse_host_port(addr)?)?),
        };
        Ok(Probe {
            kind: Arc::new(kind),
            timeout,
        })
    }

    /// One check: a 2xx answer, or a TCP connect that succeeds.
    pub fn check(&self) -> impl std::future::Future<Output = bool> + 'static {
        let kind = self.kind.clone();
        let timeout = self.timeout;
        async move {
            let check = async {
                match &*kind {
                    ProbeKind::Http(e) => matches!(
                        e.send(reqwest::Method::GET).await,
                        Ok(200..=299)
                    ),
                    ProbeKind::Tcp(r) => match r.lookup(FRESH).await {
                        Ok(addrs) => tokio::net::TcpStream::connect(&addrs[..]).await.is_ok(),
                        Err(_) => false,
                    },
                }
            };
            tokio::time::timeout(timeout, check).await.unwrap_or(false)
        }
    }
}

/// Interim, until the supervisor owns the gate interval: checks every
/// `interval` and sends each result; stops when the receiver is dropped.
pub fn spawn_gate(probe: Probe, interval: Duration, tx: tokio::sync::mpsc::UnboundedSender<bool>) {
    tokio::spawn(async move {
        let mut last = None;
        loop {
            let ok = probe.check().await;
            if last != Some(ok) {
                tracing::debug!("readiness gate: {}", if ok { "pass" } else { "fail" });
                last = Some(ok);
            }
            if tx.send(ok).is_err() {
                return;
            }
            tokio::time::sleep(interval).await;
        }
    });
}
