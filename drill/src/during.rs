//! `--url URL --during 'COMMAND'`: the same load on a URL while COMMAND
//! runs (`kubectl rollout restart ... && kubectl rollout status ...`, a
//! compose or Nomad rollout), the same tally, and failures placed relative
//! to COMMAND's start. The cluster does the rollout; the drill counts.

use std::time::{Duration, Instant};

use crate::cli::{Args, EXIT_INTERRUPTED, EXIT_SETUP};
use crate::load::{self, LoadConfig};
use crate::progress::Progress;
use crate::tally::{self, histogram, Summary};
use crate::tls::{self, Trust};

pub async fn main(args: Args) -> i32 {
    let (Some(url), Some(command)) = (&args.url, &args.during) else {
        return fail("--url and --during go together");
    };
    let uri: hyper::Uri = match url.parse() {
        Ok(u) => u,
        Err(e) => return fail(&format!("--url {url}: {e}")),
    };
    let tls = match uri.scheme_str() {
        Some("http") => None,
        Some("https") => {
            let trust = match (&args.cacert, args.insecure) {
                (_, true) => Trust::Insecure,
                (Some(path), false) => Trust::CaFile(path),
                (None, false) => Trust::Public,
            };
            let config = match tls::config(&trust) {
                Ok(c) => c,
                Err(e) => return fail(&e),
            };
            let host = uri.host().unwrap_or_default();
            let port = uri.port_u16().unwrap_or(443);
            if let Err(e) = tls::preflight(config.clone(), host, port, args.timeout).await {
                return fail(&format!(
                    "--url {url}: {e} (a private CA: --cacert FILE; no check at all: --insecure)"
                ));
            }
            Some(config)
        }
        Some(other) => {
            return fail(&format!(
                "--url {url}: {other} is not supported, only http:// and https://"
            ))
        }
        None => {
            return fail(&format!(
                "--url {url}: give a full URL, e.g. http://host:8080/"
            ))
        }
    };
    let progress = Progress::new(args.quiet);
    let method = args.method.parse().unwrap_or(hyper::Method::GET);
    let epoch = Instant::now();
    let cfg = LoadConfig {
        url: uri,
        method,
        rate: args.rate,
        timeout: args.timeout,
        tls,
    };
    progress.line(&format!("load on {url} at {} requests/s", args.rate));
    let load = load::start(cfg, epoch);
    let mut ticker = tokio::time::interval(Duration::from_millis(250));
    let warm = tokio::time::sleep(args.warmup);
    tokio::pin!(warm);
    loop {
        tokio::select! {
            _ = &mut warm => break,
            _ = ticker.tick() => progress.live("warm-up", epoch.elapsed(), &load.live),
            _ = tokio::signal::ctrl_c() => return EXIT_INTERRUPTED,
        }
    }
    progress.line(&format!("running: {command}"));
    let started = epoch.elapsed();
    let mut child = match tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return fail(&format!("--during: cannot run sh: {e}")),
    };
    let status = loop {
        tokio::select! {
            s = child.wait() => break s,
            _ = ticker.tick() => progress.live("during", epoch.elapsed(), &load.live),
            _ = tokio::signal::ctrl_c() => return EXIT_INTERRUPTED,
        }
    };
    let took = epoch.elapsed().saturating_sub(started);
    let tail = tokio::time::sleep(args.warmup);
    tokio::pin!(tail);
    loop {
        tokio::select! {
            _ = &mut tail => break,
            _ = ticker.tick() => progress.live("tail", epoch.elapsed(), &load.live),
        }
    }
    let records = load.finish().await;
    progress.clear();
    let summary = tally::summarize(&records);
    let failures: Vec<f64> = records
        .iter()
        .filter(|r| r.outcome.failed())
        .map(|r| r.sent.as_secs_f64() - started.as_secs_f64())
        .collect();
    let code = status.ok().and_then(|s| s.code());
    print!("{}", text(url, command, &summary, &failures, took, code));
    if let Some(path) = &args.json {
        let json = serde_json::json!({
            "url": url,
            "during": command,
            "command_exit_code": code,
            "command_s": took.as_secs_f64(),
            "rate": args.rate,
            "variants": [{
                "name": "during",
                "requests": summary.requests,
                "failed": summary.failed,
                "failures": summary.failures,
                "latency_ms": {
                    "p50": summary.p50.as_secs_f64() * 1e3,
                    "p99": summary.p99.as_secs_f64() * 1e3,
                    "max": summary.max.as_secs_f64() * 1e3,
                },
                "failures_at_s": failures,
                "replicas": [],
            }],
            "recommendation": serde_json::Value::Null,
        });
        let text = serde_json::to_string_pretty(&json).unwrap_or_default() + "\n";
        if let Err(e) = std::fs::write(path, text) {
            return fail(&format!("--json {}: {e}", path.display()));
        }
    }
    if code != Some(0) {
        return fail(&format!(
            "--during: the command exited {}",
            code.map_or("on a signal".into(), |c| c.to_string())
        ));
    }
    crate::verdict::exit_status(&[("during", summary.failed)])
}

fn fail(message: &str) -> i32 {
    eprintln!("drainit drill: {message}");
    EXIT_SETUP
}

fn text(
    url: &str,
    command: &str,
    s: &Summary,
    failures: &[f64],
    took: Duration,
    code: Option<i32>,
) -> String {
    let kinds = if s.failures.is_empty() {
        "-".to_string()
    } else {
        s.failures
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let end = took
        .as_secs_f64()
        .max(failures.iter().copied().fold(0.0, f64::max))
        + 1.0;
    let from = -1.0;
    let columns = 60;
    let width = (end - from) / columns as f64;
    let h = histogram(failures, from, width, columns);
    let peak = h.iter().copied().max().unwrap_or(0);
    let bars: String = h
        .iter()
        .map(|n| match (*n, peak) {
            (0, _) | (_, 0) => '·',
            (n, p) if n * 2 > p => '█',
            _ => '▄',
        })
        .collect();
    format!(
        "\ndrainit drill {url} during `{command}` ({:.1}s, exit {})\n\n\
         requests  failed  failures                  p50       p99       max\n\
         {:>8}  {:>6}  {:<24}  {:>8.1}ms {:>8.1}ms {:>8.1}ms\n\n  \
         failures |{bars}| t from {from:.1}s to {end:.1}s after the command started\n",
        took.as_secs_f64(),
        code.map_or("signal".into(), |c| c.to_string()),
        s.requests,
        s.failed,
        kinds,
        s.p50.as_secs_f64() * 1e3,
        s.p99.as_secs_f64() * 1e3,
        s.max.as_secs_f64() * 1e3,
    )
}
