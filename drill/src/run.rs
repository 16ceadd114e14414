//! One variant's drill: start the replicas, put the load on the balancer,
//! carry out the rollout's actions with Docker, collect what happened. The
//! schedule itself is src/rollout.rs; this file only turns its actions into
//! Docker calls and Docker's answers into its events.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bollard::Docker;
use hyper::Method;
use tokio::sync::mpsc;

use crate::balancer;
use crate::docker::{self, Ended, ImageInfo, Spec, Started};
use crate::load::{self, LoadConfig};
use crate::platform::Settings;
use crate::progress::Progress;
use crate::rollout::{Action, Event, ReplicaId, Rollout};
use crate::tally::{self, Record, Summary};
use crate::timeline::{self, Line};
use crate::verdict::{self, Ending, ExitSeen};

/// Set on Ctrl-C: a container created after it removes itself.
pub static CANCELLED: AtomicBool = AtomicBool::new(false);
/// Container creations in flight (the Ctrl-C path waits for them).
pub static CREATING: AtomicUsize = AtomicUsize::new(0);

/// How a variant runs the image.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    AsBuilt,
    /// drainit in front, with these flags.
    Drainit(Vec<String>),
    /// The engine's `--init`.
    Init,
}

#[derive(Clone, Debug)]
pub struct Variant {
    pub name: String,
    pub kind: Kind,
}

/// What every variant shares.
pub struct Context {
    pub docker: Docker,
    pub run: String,
    pub network: docker::Network,
    pub image: ImageInfo,
    pub port: u16,
    pub env: Vec<String>,
    pub settings: Settings,
    pub replicas: usize,
    pub drainit: Option<std::path::PathBuf>,
    pub listen: SocketAddr,
    pub path: String,
    pub method: Method,
    pub rate: f64,
    pub timeout: Duration,
    pub start_timeout: Duration,
    pub warmup: Duration,
    pub tail: Duration,
    pub progress: Progress,
}

#[derive(Clone, Debug)]
pub struct ReplicaReport {
    pub id: ReplicaId,
    pub container: String,
    /// From the stop's beginning to the exit.
    pub stop: Option<Duration>,
    pub exit_code: Option<i64>,
    pub sigkilled: bool,
    pub oom_killed: bool,
    pub ending: Option<Ending>,
    /// drainit's own lines, relative to the stop's beginning.
    pub timeline: Vec<Line>,
    /// Failed requests routed to it, seconds relative to its stop.
    pub failures: Vec<f64>,
}

#[derive(Clone, Debug)]
pub struct VariantReport {
    pub name: String,
    pub flags: Vec<String>,
    pub summary: Summary,
    pub replicas: Vec<ReplicaReport>,
    /// The balancer's own count of requests (every client's).
    pub balancer_requests: u64,
    pub balancer_failed: u64,
    pub balancer_addr: SocketAddr,
}

enum Msg {
    Ready(ReplicaId, Started),
    Failed(String),
    Exited(ReplicaId, Ended, Instant),
}

/// Per-replica state the runtime keeps beside the rollout.
#[derive(Default, Clone)]
struct Slot {
    started: Option<Started>,
    stop_at: Option<Duration>,
    stop_wall: Option<SystemTime>,
    killed: bool,
    ended: Option<(Ended, Duration)>,
    exited: Option<Arc<AtomicBool>>,
}

pub async fn run_variant(ctx: &Context, variant: &Variant) -> Result<VariantReport, String> {
    let n = ctx.replicas;
    let plan = ctx.settings.stop_plan();
    // The balancer gives up a little before the client, so that a request
    // to a replica that went silent is still counted against it.
    let upstream_timeout = ctx.timeout - (ctx.timeout / 10).min(Duration::from_secs(1));
    let balancer = balancer::start(ctx.listen, upstream_timeout).await?;
    let url: hyper::Uri = format!("http://{}{}", balancer.addr, ctx.path)
        .parse()
        .map_err(|e| format!("--path {}: {e}", ctx.path))?;
    let epoch = Instant::now();
    let mut rollout = Rollout::new(n, plan, ctx.warmup, ctx.tail);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut slots = vec![Slot::default(); 2 * n];
    let mut load = None;
    let mut records = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let result: Result<(), String> = async {
        loop {
            while let Some(action) = rollout.poll_action() {
                let now = epoch.elapsed();
                match action {
                    Action::Start(id) => {
                        let flag = Arc::new(AtomicBool::new(false));
                        if let Some(s) = slots.get_mut(id) {
                            s.exited = Some(flag.clone());
                        }
                        let spec = ctx.spec(variant, id);
                        tokio::spawn(start_replica(
                            ctx.docker.clone(),
                            spec,
                            ctx.path.clone(),
                            ctx.start_timeout,
                            id,
                            flag,
                            tx.clone(),
                        ));
                    }
                    Action::Route(id) => {
                        if let Some(started) = slots.get(id).and_then(|s| s.started.as_ref()) {
                            balancer.routes.add(id, started.addr);
                        }
                    }
                    Action::Unroute(id) => {
                        balancer.routes.remove(id);
                        ctx.progress.line(&format!(
                            "{}: replica {id} out of the balancer",
                            variant.name
                        ));
                    }
                    Action::StopBegins(id) => {
                        if let Some(s) = slots.get_mut(id) {
                            s.stop_at = Some(now);
                            s.stop_wall = Some(SystemTime::now());
                        }
                        ctx.progress
                            .line(&format!("{}: stopping replica {id}", variant.name));
                    }
                    Action::Signal(id) => {
                        let signal = ctx.stop_signal(variant);
                        ctx.progress.line(&format!(
                            "{}: stop signal {signal} to replica {id}",
                            variant.name
                        ));
                        ctx.send(&slots, id, &signal);
                    }
                    Action::Kill(id) => {
                        if let Some(s) = slots.get_mut(id) {
                            s.killed = true;
                        }
                        ctx.send(&slots, id, "SIGKILL");
                    }
                    Action::StartLoad => {
                        let cfg = LoadConfig {
                            url: url.clone(),
                            method: ctx.method.clone(),
                            rate: ctx.rate,
                            timeout: ctx.timeout,
                            tls: None,
                        };
                        ctx.progress.line(&format!(
                            "{}: load on {url} at {} requests/s",
                            variant.name, ctx.rate
                        ));
                        load = Some(load::start(cfg, epoch));
                    }
                    Action::StopLoad => {
                        if let Some(l) = load.take() {
                            records = l.finish().await;
                        }
                        let failed = records.iter().filter(|r| r.outcome.failed()).count();
                        ctx.progress.line(&format!(
                            "{}: load stopped: {} requests, {failed} failed",
                            variant.name,
                            records.len()
                        ));
                    }
                    Action::Finished => return Ok(()),
                }
            }
            let deadline = rollout.next_deadline();
            let sleep = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until((epoch + at).into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some(Msg::Ready(id, started)) => {
                        if let Some(s) = slots.get_mut(id) {
                            s.started = Some(started);
                        }
                        rollout.handle(Event::Ready(id), epoch.elapsed());
                    }
                    Some(Msg::Failed(e)) => return Err(e),
                    Some(Msg::Exited(id, ended, at)) => {
                        if let Some(s) = slots.get_mut(id) {
                            s.ended = Some((ended, at.saturating_duration_since(epoch)));
                        }
                        rollout.handle(Event::Exited(id), at.saturating_duration_since(epoch));
                    }
                    None => return Err("internal: the replica channel closed".into()),
                },
                _ = sleep => rollout.handle_timeout(epoch.elapsed()),
                _ = tick.tick() => {
                    if let Some(l) = &load {
                        ctx.progress.live(&variant.name, epoch.elapsed(), &l.live);
                    }
                }
            }
        }
    }
    .await;
    if let Some(l) = load.take() {
        records = l.finish().await;
    }
    ctx.progress.clear();
    let report = match result {
        Ok(()) => Ok(collect(ctx, variant, &slots, records, &balancer).await),
        Err(e) => Err(e),
    };
    for s in &slots {
        if let Some(started) = &s.started {
            docker::remove_container(&ctx.docker, &started.id).await;
        }
    }
    // The balancer's own counts, read last: every client's requests (an
    // independent client's too) are in.
    report.map(|mut r| {
        r.balancer_requests = balancer.counters.requests.load(Ordering::Relaxed);
        r.balancer_failed = balancer.counters.failed.load(Ordering::Relaxed);
        r
    })
}

impl Context {
    fn spec(&self, variant: &Variant, id: ReplicaId) -> Spec {
        let mut spec = Spec {
            name: format!("drainit-drill-{}-{}-{id}", self.run, slug(&variant.name)),
            image: self.image.name.clone(),
            entrypoint: None,
            cmd: None,
            env: self.env.clone(),
            port: self.port,
            stop_signal: None,
            binds: Vec::new(),
            init: false,
            network: self.network.name.clone(),
            ip: self.network.next_ip(),
            run: self.run.clone(),
        };
        match &variant.kind {
            Kind::AsBuilt => {}
            Kind::Init => spec.init = true,
            Kind::Drainit(flags) => {
                if let Some(path) = &self.drainit {
                    spec.binds
                        .push(format!("{}:{}:ro", path.display(), crate::inject::MOUNTED));
                }
                spec.entrypoint = Some(crate::inject::entrypoint(flags, &self.image));
                spec.cmd = Some(self.image.cmd.clone());
                // The drill reads drainit's timeline from its JSON lines.
                spec.env.push("DRAINIT_LOG_FORMAT=json".into());
            }
        }
        spec
    }

    /// The signal the platform stops the container with: the image's
    /// STOPSIGNAL (SIGTERM by default).
    fn stop_signal(&self, _variant: &Variant) -> String {
        let s = crate::recommend::normalize_signal(&self.image.stop_signal);
        format!("SIG{s}")
    }

    fn send(&self, slots: &[Slot], id: ReplicaId, signal: &str) {
        let Some(started) = slots.get(id).and_then(|s| s.started.as_ref()) else {
            return;
        };
        let (docker, cid, signal) = (self.docker.clone(), started.id.clone(), signal.to_string());
        tokio::spawn(async move {
            // A container that exited in between answers 409: nothing to do.
            let _ = docker::signal(&docker, &cid, &signal).await;
        });
    }
}

fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let s = s.trim_matches('-').to_string();
    s.get(..s.len().min(40)).unwrap_or(&s).to_string()
}

/// Creates and starts one replica, watches for its exit, and reports it
/// ready once it answers HTTP on its port.
async fn start_replica(
    docker: Docker,
    spec: Spec,
    path: String,
    start_timeout: Duration,
    id: ReplicaId,
    exited: Arc<AtomicBool>,
    tx: mpsc::UnboundedSender<Msg>,
) {
    CREATING.fetch_add(1, Ordering::SeqCst);
    let started = docker::start(&docker, &spec).await;
    if CANCELLED.load(Ordering::SeqCst) {
        if let Ok(s) = &started {
            docker::remove_container(&docker, &s.id).await;
        }
        CREATING.fetch_sub(1, Ordering::SeqCst);
        return;
    }
    CREATING.fetch_sub(1, Ordering::SeqCst);
    let started = match started {
        Ok(s) => s,
        Err(e) => {
            let _ = tx.send(Msg::Failed(e));
            return;
        }
    };
    {
        let (docker, cid, tx, exited) = (
            docker.clone(),
            started.id.clone(),
            tx.clone(),
            exited.clone(),
        );
        tokio::spawn(async move {
            if let Ok(ended) = docker::wait_exit(&docker, &cid).await {
                exited.store(true, Ordering::SeqCst);
                let _ = tx.send(Msg::Exited(id, ended, Instant::now()));
            }
        });
    }
    match probe(started.addr, &path, start_timeout, &exited).await {
        Ok(()) => {
            let _ = tx.send(Msg::Ready(id, started));
        }
        Err(why) => {
            let logs = docker::logs(&docker, &started.id, Some(5)).await;
            let last = if logs.is_empty() {
                "no log lines".to_string()
            } else {
                format!("its last log lines: {}", logs.join(" | "))
            };
            let _ = tx.send(Msg::Failed(format!(
                "replica {} ({}) {why}; {last}",
                spec.name,
                docker::short(&started.id)
            )));
        }
    }
}

/// Polls `GET path` until an answer below 500 comes.
async fn probe(
    addr: SocketAddr,
    path: &str,
    limit: Duration,
    exited: &AtomicBool,
) -> Result<(), String> {
    use http_body_util::{BodyExt, Empty};
    use hyper_util::client::legacy::Client;
    let client: Client<_, Empty<bytes::Bytes>> =
        Client::builder(hyper_util::rt::TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .build_http();
    let uri: hyper::Uri = format!("http://{addr}{path}")
        .parse()
        .map_err(|e| format!("bad address {addr}{path}: {e}"))?;
    let until = Instant::now() + limit;
    let mut last = String::from("no answer");
    while Instant::now() < until {
        if exited.load(Ordering::SeqCst) {
            return Err("exited before it answered".into());
        }
        let attempt = tokio::time::timeout(Duration::from_secs(2), client.get(uri.clone())).await;
        match attempt {
            Ok(Ok(resp)) if resp.status().as_u16() < 500 => {
                let _ = resp.into_body().collect().await;
                return Ok(());
            }
            Ok(Ok(resp)) => last = format!("answered {}", resp.status()),
            Ok(Err(e)) => last = crate::classify::classify(&e).kind(),
            Err(_) => last = "timeout".into(),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!(
        "never answered GET {path} on port {} within {} (last: {last})",
        addr.port(),
        crate::duration::show(limit)
    ))
}

async fn collect(
    ctx: &Context,
    variant: &Variant,
    slots: &[Slot],
    records: Vec<Record>,
    balancer: &balancer::Balancer,
) -> VariantReport {
    let mut replicas = Vec::new();
    for (id, slot) in slots.iter().enumerate().take(ctx.replicas) {
        let Some(stop_at) = slot.stop_at else {
            continue;
        };
        let container = slot
            .started
            .as_ref()
            .map(|s| s.id.clone())
            .unwrap_or_default();
        let lines = if matches!(variant.kind, Kind::Drainit(_)) && !container.is_empty() {
            let logs = docker::logs(&ctx.docker, &container, None).await;
            slot.stop_wall
                .map(|wall| timeline::parse(&logs, wall))
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        let (exit_code, oom, stop, ending) = match slot.ended {
            Some((ended, at)) => {
                let seen = ExitSeen {
                    exit_code: ended.exit_code,
                    oom_killed: ended.oom_killed,
                    platform_killed: slot.killed,
                    drainit_killed: timeline::drainit_killed(&lines),
                };
                (
                    Some(ended.exit_code),
                    ended.oom_killed,
                    Some(at.saturating_sub(stop_at)),
                    Some(verdict::ending(seen)),
                )
            }
            None => (None, false, None, None),
        };
        replicas.push(ReplicaReport {
            id,
            container: docker::short(&container).to_string(),
            stop,
            exit_code,
            sigkilled: ending == Some(Ending::SigkilledAtGrace),
            oom_killed: oom,
            ending,
            timeline: lines,
            failures: tally::failures_of(&records, id, stop_at),
        });
    }
    let flags = match &variant.kind {
        Kind::Drainit(f) => f.clone(),
        _ => Vec::new(),
    };
    VariantReport {
        name: variant.name.clone(),
        flags,
        summary: tally::summarize(&records),
        replicas,
        balancer_requests: balancer.counters.requests.load(Ordering::Relaxed),
        balancer_failed: balancer.counters.failed.load(Ordering::Relaxed),
        balancer_addr: balancer.addr,
    }
}
