//! drainit's HTTP and TCP client: the readiness gate (`--ready-url`,
//! `--ready-tcp`), the drain hook (`--drain-url`) and `drainit check --url`.
//!
//! # Nothing the drain needs is created after start-up
//!
//! Everything is prepared at start-up, inside the runtime and before the
//! child runs: the URL parsed (url.rs), a host name handed to its resolver
//! thread (resolve.rs: one thread per configured host name, none for an IP
//! address), and for the hook one unconnected socket per address family.
//! At drain time `Hook::fire` creates one tokio task; the task asks the
//! resolver (a futex wake, an answer within 250 ms or the last good one)
//! and connects the spare socket of the address's family. A new socket is
//! made only when the first address of a family fails and the next one is
//! tried. No thread, no process, no blocking call on the event loop.
//!
//! # Why hyper's `client::conn::http1` and not reqwest
//!
//! reqwest can meet the thread rule (a `reqwest::dns::Resolve` of our own
//! over resolve.rs; the commit before this module's hyper client did just
//! that), but not the size target, and it cannot use a socket made ahead
//! of time. Measured on the same tree (`bash scripts/static.sh`; crates:
//! `cargo tree -p drainit -e normal --prefix none | sort -u | wc -l`, and
//! distinct crates with the ` (*)` marks removed; idle VmRSS at 0.5 s of
//! `drainit -- sleep 1000`, static binary, layout re-profiled):
//!
//! | client                              | static binary | tree lines / crates |
//! |-------------------------------------|---------------|---------------------|
//! | reqwest, its own resolver (before)  | 1,592,328 B   | 112 / 84            |
//! | reqwest + own `dns::Resolve`        | 1,606,024 B   | 112 / 84            |
//! | hyper `client::conn::http1` (this)  | 1,203,272 B   | 46 / 38             |
//!
//! Idle VmRSS, no option / `--drain-url` by name / by IP: before 456 /
//! 464 / 464 kB; reqwest + own resolver 444 / 472 / 460 kB; this client
//! 460 / 484 / 468 kB with scripts/layout/hot.txt as it was, 324 / 348 /
//! 332 kB once `make layout` re-profiled it. A host name costs its
//! resolver thread: one more task, about 24 kB.
//!
//! One request per connection (`connection: close`), no pool, no proxy, no
//! redirects, no TLS: a probe or a hook needs none of them.

mod http;
mod resolve;
pub use crate::core::url;

use std::sync::Arc;
use std::time::Duration;

use hyper::Method;

use crate::core::options::Gate;
use http::Spares;
use resolve::Resolver;
use url::{Host, HttpUrl, Target};

/// The drain hook's whole budget: resolve, connect, POST, status line.
const HOOK_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a lookup waits for a fresh answer when a good one is known,
/// at most (a quarter of the caller's timeout when that is shorter).
const FRESH: Duration = Duration::from_millis(250);

fn fresh_wait(timeout: Duration) -> Duration {
    (timeout / 4).min(FRESH)
}

fn resolver(target: &Target) -> Result<Resolver, String> {
    match &target.host {
        Host::Ip(ip) => Ok(Resolver::fixed((*ip, target.port).into())),
        Host::Name(name) => Resolver::start(name, target.port),
    }
}

/// An HTTP URL and its resolver, for the gate, the hook and `check`.
struct Endpoint {
    url: HttpUrl,
    text: String,
    resolver: Resolver,
    fresh: Duration,
}

impl Endpoint {
    fn prepare(text: &str, timeout: Duration) -> Result<Endpoint, String> {
        let url = url::parse_http_url(text)?;
        let resolver = resolver(&url.target)?;
        Ok(Endpoint {
            url,
            text: text.to_string(),
            resolver,
            fresh: fresh_wait(timeout),
        })
    }

    /// Spare sockets for the families this URL can use.
    fn spares(&self) -> Spares {
        match &self.url.target.host {
            Host::Ip(ip) => Spares::make(ip.is_ipv4(), ip.is_ipv6()),
            Host::Name(_) => Spares::make(true, true),
        }
    }

    /// One request; the caller bounds it with a timeout.
    async fn send(&self, method: Method, spares: &mut Spares) -> Result<u16, String> {
        let addrs = self.resolver.lookup(self.fresh).await?;
        let stream = http::connect(&addrs, spares).await?;
        http::request(stream, method, &self.url).await
    }
}

/// The drain hook: prepared at start-up, fired once at drain start.
pub struct Hook {
    endpoint: Arc<Endpoint>,
    /// Made at start-up; the first fire takes them.
    spares: std::sync::Mutex<Option<Spares>>,
}

impl Hook {
    pub fn prepare(url: &str) -> Result<Hook, String> {
        let endpoint = Endpoint::prepare(url, HOOK_TIMEOUT)?;
        let spares = endpoint.spares();
        Ok(Hook {
            endpoint: Arc::new(endpoint),
            spares: std::sync::Mutex::new(Some(spares)),
        })
    }

    /// Spawns one task that POSTs once (2 s at most) and logs one line;
    /// returns at once. Creates the task and, when no spare socket fits
    /// the address, the connection socket: nothing else.
    pub fn fire(&self) {
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            tracing::error!("drain hook: no runtime to send it from");
            return;
        };
        let endpoint = self.endpoint.clone();
        let spares = self.spares.lock().ok().and_then(|mut s| s.take());
        rt.spawn(async move {
            let mut spares = spares.unwrap_or_default();
            let post = endpoint.send(Method::POST, &mut spares);
            let url = &endpoint.text;
            match tokio::time::timeout(HOOK_TIMEOUT, post).await {
                Ok(Ok(status)) if (200..300).contains(&status) => {
                    tracing::info!(target: "drainit::timeline", "drain hook {url}: {status}")
                }
                Ok(Ok(status)) => tracing::warn!("drain hook {url} answered {status}"),
                Ok(Err(e)) => tracing::warn!("drain hook {url} failed: {e}"),
                Err(_) => {
                    tracing::warn!("drain hook {url} failed: no answer within {HOOK_TIMEOUT:?}")
                }
            }
        });
    }
}

/// One readiness gate check, prepared at start-up; cheap to clone.
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

    /// One check within the timeout: a 2xx answer to a GET, or a TCP
    /// connect that succeeds. Owns what it needs: spawn it as is.
    pub fn check(&self) -> impl std::future::Future<Output = bool> + 'static {
        let kind = self.kind.clone();
        let timeout = self.timeout;
        async move {
            let mut spares = Spares::default();
            let check = async {
                match &*kind {
                    ProbeKind::Http(e) => {
                        matches!(e.send(Method::GET, &mut spares).await, Ok(200..=299))
                    }
                    ProbeKind::Tcp(r) => match r.lookup(fresh_wait(timeout)).await {
                        Ok(addrs) => http::connect(&addrs, &mut spares).await.is_ok(),
                        Err(_) => false,
                    },
                }
            };
            tokio::time::timeout(timeout, check).await.unwrap_or(false)
        }
    }
}

/// `drainit check --url`: one GET, 2xx or the reason it is not.
pub fn check_once(url: &str, timeout: Duration) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let endpoint = Endpoint::prepare(url, timeout)?;
    let mut spares = Spares::default();
    let get = endpoint.send(Method::GET, &mut spares);
    // The timer must be made inside the runtime.
    match rt.block_on(async { tokio::time::timeout(timeout, get).await }) {
        Ok(Ok(status)) if (200..300).contains(&status) => Ok(()),
        Ok(Ok(status)) => Err(format!("{url} answered {status}")),
        Ok(Err(e)) => Err(format!("{url}: {e}")),
        Err(_) => Err(format!("{url}: no answer within {timeout:?}")),
    }
}
