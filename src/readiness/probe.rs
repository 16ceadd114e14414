//! The readiness gate (`--ready-url` / `--ready-tcp`) and the drain hook
//! (`--drain-url`). Nothing here runs unless configured: no client is
//! built and no timer is armed otherwise.

use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;

use crate::cli::Gate;

const HOOK_TIMEOUT: Duration = Duration::from_secs(2);

fn client(timeout: Duration) -> Option<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .no_proxy()
        .pool_max_idle_per_host(0)
        .build()
        .map_err(|e| tracing::error!("cannot build the HTTP client: {e}"))
        .ok()
}

/// Checks the gate every `interval` and sends each result; runs until
/// the receiver is dropped.
pub fn spawn_gate(gate: Gate, interval: Duration, tx: UnboundedSender<bool>) {
    let timeout = interval.clamp(Duration::from_millis(100), Duration::from_secs(2));
    tokio::spawn(async move {
        let http = match &gate {
            Gate::Url(_) => client(timeout),
            Gate::Tcp(_) => None,
        };
        let mut last = None;
        loop {
            let ok = match &gate {
                Gate::Url(url) => check_url(http.as_ref(), url).await,
                Gate::Tcp(addr) => check_tcp(addr, timeout).await,
            };
            if last != Some(ok) {
                tracing::debug!(
                    "readiness gate {gate:?}: {}",
                    if ok { "pass" } else { "fail" }
                );
                last = Some(ok);
            }
            if tx.send(ok).is_err() {
                return;
            }
            tokio::time::sleep(interval).await;
        }
    });
}

async fn check_url(client: Option<&reqwest::Client>, url: &str) -> bool {
    let Some(client) = client else { return false };
    match client.get(url).send().await {
        Ok(resp) => resp.status().is_success(),
        Err(_) => false,
    }
}

async fn check_tcp(addr: &str, timeout: Duration) -> bool {
    matches!(
        tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await,
        Ok(Ok(_))
    )
}

/// The drain hook: one POST, logged, never awaited by the drain itself.
pub fn spawn_drain_hook(url: String) {
    tokio::spawn(async move {
        let Some(client) = client(HOOK_TIMEOUT) else {
            return;
        };
        match client.post(&url).send().await {
            Ok(resp) if resp.status().is_success() => {
                tracing::info!(target: "drainit::timeline", "drain hook {url}: {}", resp.status())
            }
            Ok(resp) => tracing::warn!("drain hook {url} answered {}", resp.status()),
            Err(e) => tracing::warn!("drain hook {url} failed: {e}"),
        }
    });
}
