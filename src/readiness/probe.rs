//! The readiness gate (`--ready-url` / `--ready-tcp`) and the drain hook
//! (`--drain-url`). Nothing here runs unless configured: no client is
//! built and no timer is armed otherwise. Each check is one-shot: the
//! supervisor decides when the next one is due.

use std::future::Future;
use std::time::Duration;

use crate::cli::Gate;

const HOOK_TIMEOUT: Duration = Duration::from_secs(2);

fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(timeout)
        .no_proxy()
        .pool_max_idle_per_host(0)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// One readiness gate, prepared at start-up.
pub struct Probe {
    gate: Gate,
    http: Option<reqwest::Client>,
    timeout: Duration,
}

impl Probe {
    pub fn prepare(gate: &Gate, timeout: Duration) -> Result<Probe, String> {
        let http = match gate {
            Gate::Url(_) => Some(client(timeout)?),
            Gate::Tcp(_) => None,
        };
        Ok(Probe {
            gate: gate.clone(),
            http,
            timeout,
        })
    }

    /// One check: 2xx (URL) or a connect (TCP) is true.
    pub fn check(&self) -> impl Future<Output = bool> + 'static {
        let gate = self.gate.clone();
        let http = self.http.clone();
        let timeout = self.timeout;
        async move {
            match (&gate, http) {
                (Gate::Url(url), Some(c)) => c
                    .get(url)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success()),
                (Gate::Tcp(addr), _) => matches!(
                    tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await,
                    Ok(Ok(_))
                ),
                _ => false,
            }
        }
    }
}

/// The drain hook, prepared at start-up.
pub struct Hook {
    url: String,
    http: reqwest::Client,
}

impl Hook {
    pub fn prepare(url: &str) -> Result<Hook, String> {
        Ok(Hook {
            url: url.to_string(),
            http: client(HOOK_TIMEOUT)?,
        })
    }

    /// One POST, logged, never awaited by the drain itself.
    pub fn fire(&self) {
        let url = self.url.clone();
        let http = self.http.clone();
        tokio::spawn(async move {
            match http.post(&url).send().await {
                Ok(resp) if resp.status().is_success() => {
                    tracing::info!(target: "drainit::timeline", "drain hook {url}: {}", resp.status())
                }
                Ok(resp) => tracing::warn!("drain hook {url} answered {}", resp.status()),
                Err(e) => tracing::warn!("drain hook {url} failed: {e}"),
            }
        });
    }
}
