//! The drill from arguments to exit status: connect, inspect, run each
//! variant, report, remove everything, on every path (Ctrl-C included).

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bollard::Docker;

use crate::cli::{Args, EXIT_INTERRUPTED, EXIT_SETUP};
use crate::docker::{self, ImageInfo};
use crate::platform::Settings;
use crate::progress::Progress;
use crate::recommend::{self, Recommendation};
use crate::report::{self, RecommendationJson, Report};
use crate::run::{self, Context, Kind, Variant, VariantReport};
use crate::{inject, junit, svg, verdict};

pub async fn main(args: Args) -> i32 {
    if args.url.is_some() {
        return crate::during::main(args).await;
    }
    if let Some(backend) = args.balance {
        return balance_only(args.listen, backend, args.timeout).await;
    }
    let docker = match docker::connect().await {
        Ok(d) => d,
        Err(e) => return fail(&e),
    };
    if args.cleanup {
        return match docker::cleanup(&docker, None, false).await {
            Ok((c, n)) => {
                println!("drainit drill: removed {c} containers and {n} networks");
                0
            }
            Err(e) => fail(&e),
        };
    }
    // What a drill killed with SIGKILL left behind.
    let _ = docker::cleanup(&docker, None, false).await;
    let run = run_id();
    let interrupted = async {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
        }
    };
    let code = tokio::select! {
        code = drill(&docker, &args, &run) => code,
        _ = interrupted => {
            run::CANCELLED.store(true, Ordering::SeqCst);
            // A container being created removes itself once created.
            let until = Instant::now() + Duration::from_secs(15);
            while run::CREATING.load(Ordering::SeqCst) > 0 && Instant::now() < until {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            eprintln!("\ndrainit drill: interrupted; removing its containers");
            EXIT_INTERRUPTED
        }
    };
    if let Err(e) = docker::cleanup(&docker, Some(&run), true).await {
        eprintln!("drainit drill: {e}; run drainit drill --cleanup");
    }
    code
}

/// The balancer alone in front of one backend (drill/bench/drill.sh
/// measures the latency it adds).
async fn balance_only(
    listen: std::net::SocketAddr,
    backend: std::net::SocketAddr,
    timeout: Duration,
) -> i32 {
    let balancer = match crate::balancer::start(listen, timeout).await {
        Ok(b) => b,
        Err(e) => return fail(&e),
    };
    balancer.routes.add(0, backend);
    println!("balancing {} -> {backend}", balancer.addr);
    let _ = tokio::signal::ctrl_c().await;
    0
}

fn fail(message: &str) -> i32 {
    eprintln!("drainit drill: {message}");
    EXIT_SETUP
}

fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{:08x}", (std::process::id() << 16) ^ nanos)
}

pub fn settings(args: &Args) -> Settings {
    Settings {
        platform: args.platform,
        lag: args.lag.unwrap_or(args.platform.default_lag()),
        grace: args.grace.unwrap_or(args.platform.default_grace()),
        prestop_sleep: args.prestop_sleep,
        deregistration_delay: args.deregistration_delay,
    }
}

async fn drill(docker: &Docker, args: &Args, run: &str) -> i32 {
    let Some(name) = &args.image else {
        return fail("no image given");
    };
    let progress = Progress::new(args.quiet);
    let image = match docker::inspect_image(docker, name, args.pull).await {
        Ok(i) => i,
        Err(e) => return fail(&e),
    };
    let port = match pick_port(&image, args.port) {
        Ok(p) => p,
        Err(e) => return fail(&e),
    };
    let settings = settings(args);
    let rec = recommend::recommend(&settings, &image.stop_signal, &image.command());
    let wanted = |v: &str| {
        args.variants
            .as_ref()
            .is_none_or(|l| l.iter().any(|x| x == v))
    };
    let explicit = |v: &str| {
        args.variants
            .as_ref()
            .is_some_and(|l| l.iter().any(|x| x == v))
    };
    let drainit = if wanted("drainit") || !args.with.is_empty() {
        match inject::find(args.drainit.as_deref()) {
            Ok(p) => Some(p),
            Err(e) if explicit("drainit") || !args.with.is_empty() || args.drainit.is_some() => {
                return fail(&e)
            }
            Err(e) => {
                progress.line(&format!("{e}; the drainit variant is left out"));
                None
            }
        }
    } else {
        None
    };
    let mut variants = Vec::new();
    if wanted("as-built") {
        variants.push(Variant {
            name: "as-built".into(),
            kind: Kind::AsBuilt,
        });
    }
    if drainit.is_some() {
        if wanted("drainit") {
            variants.push(Variant {
                name: "drainit".into(),
                kind: Kind::Drainit(rec.flags.clone()),
            });
        }
        for w in &args.with {
            variants.push(Variant {
                name: format!("drainit {}", w.trim()),
                kind: Kind::Drainit(inject::split_flags(w)),
            });
        }
    }
    if wanted("init") {
        if docker::has_init(docker).await {
            variants.push(Variant {
                name: "init".into(),
                kind: Kind::Init,
            });
        } else if explicit("init") {
            return fail("--variants init: this engine has no --init binary");
        }
    }
    let network = match docker::create_network(docker, run).await {
        Ok(n) => n,
        Err(e) => return fail(&e),
    };
    let ctx = Context {
        docker: docker.clone(),
        run: run.to_string(),
        network,
        image: image.clone(),
        port,
        env: args.env.clone(),
        settings,
        replicas: args.replicas,
        drainit: drainit.clone(),
        listen: args.listen,
        path: args.path.clone(),
        method: args.method.parse().unwrap_or(hyper::Method::GET),
        rate: args.rate,
        timeout: args.timeout,
        start_timeout: args.start_timeout,
        warmup: args.warmup,
        tail: args.warmup,
        progress,
    };
    let mut reports = Vec::new();
    for v in &variants {
        progress.line(&format!("{}: {} replicas of {name}", v.name, args.replicas));
        match run::run_variant(&ctx, v).await {
            Ok(r) => reports.push(r),
            Err(e) => return fail(&format!("{}: {e}", v.name)),
        }
    }
    // explain runs on any drainit build, static or not.
    let explainer = drainit.or_else(|| inject::find_any(args.drainit.as_deref()));
    finish(
        args,
        &image,
        &settings,
        &rec,
        explainer.as_deref(),
        &reports,
    )
    .await
}

fn pick_port(image: &ImageInfo, given: Option<u16>) -> Result<u16, String> {
    if let Some(p) = given {
        return Ok(p);
    }
    match image.ports.as_slice() {
        [one] => Ok(*one),
        [] => Err(format!(
            "image {} exposes no TCP port: give the port the app serves on with --port PORT",
            image.name
        )),
        many => Err(format!(
            "image {} exposes ports {}: pick one with --port PORT",
            image.name,
            many.iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

async fn finish(
    args: &Args,
    image: &ImageInfo,
    settings: &Settings,
    rec: &Recommendation,
    drainit: Option<&std::path::Path>,
    reports: &[VariantReport],
) -> i32 {
    let counts: Vec<(&str, u64)> = reports
        .iter()
        .map(|r| (r.name.as_str(), r.summary.failed))
        .collect();
    let code = verdict::exit_status(&counts);
    let entry = inject::entrypoint(&rec.flags, image);
    let mut shown = vec!["/drainit".to_string()];
    shown.extend(entry.iter().skip(1).cloned());
    let lines = recommend::dockerfile(&rec.flags, &image.entrypoint, &image.cmd);
    let recommendation = RecommendationJson {
        flags: rec.flags.clone(),
        case: lines.case,
        entrypoint: lines.entrypoint,
        cmd: lines.cmd,
        warning: rec.warning.clone(),
        explain: explain(drainit, rec, settings, image).await,
        // What the note asks for when the platform's grace is too short.
        compose: report::compose(
            &shown,
            &image.cmd,
            recommend::grace_after_signal(rec, settings.budget_after_signal()),
        ),
    };
    let report = Report {
        image: image.name.clone(),
        platform: settings.platform.name(),
        settings: report::settings_json(settings),
        rate: args.rate,
        replicas: args.replicas,
        variants: reports.iter().map(report::variant_json).collect(),
        recommendation,
        exit_code: code,
    };
    print!("{}", report::text(&report, reports, settings));
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report).unwrap_or_default();
        if let Err(e) = write_file(path, &(text + "\n")) {
            return fail(&format!("--json {}: {e}", path.display()));
        }
    }
    if let Some(path) = &args.junit {
        if let Err(e) = write_file(path, &junit::render(&report)) {
            return fail(&format!("--junit {}: {e}", path.display()));
        }
    }
    if let Some(dir) = &args.report {
        if let Err(e) = svg::write_dir(dir, &report, reports, settings) {
            return fail(&format!("--report {}: {e}", dir.display()));
        }
    }
    code
}

/// Writes a report file, creating its directory.
fn write_file(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text)
}

/// `drainit explain` for the recommended flags: its timeline and the
/// matching settings of the drill's platform. Given the platform's grace when the flags
/// fit it, and the grace the recommendation's note asks for when they do
/// not (so what is printed as matching is what the note says to set); a
/// misfit explain still reports is shown as its one line, without the
/// settings it does not match.
async fn explain(
    drainit: Option<&std::path::Path>,
    rec: &Recommendation,
    settings: &Settings,
    image: &ImageInfo,
) -> String {
    let program = drainit.map_or_else(|| std::path::PathBuf::from("drainit"), |p| p.to_path_buf());
    let mut cmd = tokio::process::Command::new(&program);
    cmd.arg("explain")
        .arg(format!("--platform={}", settings.platform.name()))
        .args(&rec.flags)
        .arg(format!(
            "--termination-grace-period={}",
            crate::duration::show(recommend::grace_after_signal(
                rec,
                settings.budget_after_signal()
            ))
        ))
        .arg("--")
        .args(image.command())
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    match tokio::time::timeout(Duration::from_secs(10), cmd.output()).await {
        Ok(Ok(out)) => recommend::explain_text(
            out.status.success(),
            &String::from_utf8_lossy(&out.stdout),
            &String::from_utf8_lossy(&out.stderr),
        ),
        _ => String::new(),
    }
}
