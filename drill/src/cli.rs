//! The command line of `drainit drill` (`drainit-drill`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::platform::Platform;

fn duration(s: &str) -> Result<Duration, String> {
    crate::duration::parse(s)
}

/// Exit statuses (also in --help and docs/drill.md).
pub const EXIT_CLEAN: i32 = 0;
pub const EXIT_DROPPED: i32 = 1;
pub const EXIT_SETUP: i32 = 2;
pub const EXIT_INTERRUPTED: i32 = 130;

#[derive(Parser, Debug)]
#[command(
    name = "drainit drill",
    bin_name = "drainit drill",
    version,
    about = "Stop an image's replicas under load the way a platform does, count the dropped requests, \
             and find the drainit settings that drop none",
    after_help = "\
Endpoint lag (--lag): how long after the stop begins the balancer stops routing to the replica. \
Real figures: kube-proxy about 1 s, ingress-nginx about 1 s, cloud load balancers (AWS ALB) up to 10 s \
and more. Presets: kubernetes (lag 2s, SIGKILL at --grace 30s, preStop inside it), docker (docker stop -t 10, \
no lag), ecs (deregistration, stop signal after --deregistration-delay, SIGKILL --grace 30s later).

Variants: as-built (the image unchanged), drainit (static drainit bind-mounted in front of the \
image's entrypoint with the recommended flags), one per --with, and init (the engine's --init) when \
the engine has one.

Exit status: 0 the image as built dropped no request; 1 it dropped requests; 2 bad input or a \
setup failure (no Docker, no image, a replica that never answers); 130 interrupted (everything removed).

  drainit drill myapp:1.4 --port 8080 --path /orders --rate 200
  drainit drill --url https://staging.example/ --during 'kubectl rollout restart deploy/web && kubectl rollout status deploy/web'
  drainit drill --cleanup"
)]
pub struct Args {
    /// The image to drill (present on the engine, or --pull)
    pub image: Option<String>,
    /// The container port the app serves HTTP on (default: the image's one EXPOSEd port)
    #[arg(long)]
    pub port: Option<u16>,
    /// The path requested
    #[arg(long, default_value = "/")]
    pub path: String,
    /// The request method (GET, POST...)
    #[arg(long, default_value = "GET")]
    pub method: String,
    /// Requests per second, at a constant arrival rate
    #[arg(long, default_value_t = 50.0)]
    pub rate: f64,
    /// Replicas behind the balancer, replaced one by one
    #[arg(long, default_value_t = 3)]
    pub replicas: usize,
    /// The platform whose stop is modelled
    #[arg(long, value_enum, default_value = "kubernetes")]
    pub platform: Platform,
    /// Endpoint lag: the stop's beginning to the balancer no longer routing (default 2s kubernetes, 0 docker, 5s ecs)
    #[arg(long, value_parser = duration)]
    pub lag: Option<Duration>,
    /// The platform's grace before SIGKILL (terminationGracePeriodSeconds, docker stop -t, stopTimeout)
    #[arg(long, value_parser = duration)]
    pub grace: Option<Duration>,
    /// Kubernetes preStop sleep: the stop signal waits this long (the usual fix, to compare)
    #[arg(long, value_parser = duration, default_value = "0")]
    pub prestop_sleep: Duration,
    /// ECS: the target group's deregistration delay before the stop signal
    #[arg(long, value_parser = duration, default_value = "300s")]
    pub deregistration_delay: Duration,
    /// A drainit variant with these flags (repeatable), e.g. --with '--drain-delay=5s --grace=20s'
    #[arg(long = "with", value_name = "FLAGS", allow_hyphen_values = true)]
    pub with: Vec<String>,
    /// The variants to run, of as-built, drainit, init (default: all the engine has)
    #[arg(long, value_delimiter = ',')]
    pub variants: Option<Vec<String>>,
    /// The static drainit binary to inject (default: beside drainit-drill, or on PATH)
    #[arg(long, value_name = "PATH")]
    pub drainit: Option<PathBuf>,
    /// Pull the image when the engine does not have it
    #[arg(long)]
    pub pull: bool,
    /// An environment variable for the replicas (repeatable)
    #[arg(short = 'e', long = "env", value_name = "NAME=VALUE")]
    pub env: Vec<String>,
    /// A request's timeout (the balancer's too)
    #[arg(long, value_parser = duration, default_value = "10s")]
    pub timeout: Duration,
    /// How long a new replica has to answer
    #[arg(long, value_parser = duration, default_value = "60s")]
    pub start_timeout: Duration,
    /// Load before the first stop, and after the last
    #[arg(long, value_parser = duration, default_value = "2s")]
    pub warmup: Duration,
    /// The balancer's address (port 0: any free port)
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Write the report as JSON
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write a JUnit XML report (one test case per variant)
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write report.html and timeline.svg into DIR
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Load this http:// or https:// URL instead of running an image (with --during)
    #[arg(long, requires = "during")]
    pub url: Option<String>,
    /// The command that rolls the service out while --url is loaded
    #[arg(long, value_name = "COMMAND", requires = "url")]
    pub during: Option<String>,
    /// https:// --url: trust the CA certificates of this PEM file (instead of the Mozilla roots)
    #[arg(long, value_name = "FILE", requires = "url")]
    pub cacert: Option<PathBuf>,
    /// https:// --url: do not check the server's certificate
    #[arg(long, requires = "url", conflicts_with = "cacert")]
    pub insecure: bool,
    /// Remove what drills that no longer run left behind (containers, networks), and exit
    #[arg(long)]
    pub cleanup: bool,
    /// (Benchmarks) run only the balancer on --listen in front of ADDR until interrupted
    #[arg(long, value_name = "ADDR", hide = true)]
    pub balance: Option<SocketAddr>,
    /// No progress display, only the report
    #[arg(short, long)]
    pub quiet: bool,
}

/// Checks what clap cannot: one line naming the input and the fix.
pub fn validate(a: &Args) -> Result<(), String> {
    if a.cleanup || a.balance.is_some() {
        return Ok(());
    }
    if a.url.is_none() && a.image.is_none() {
        return Err(
            "no image given: drainit drill IMAGE (or --url URL --during COMMAND, or --cleanup)"
                .into(),
        );
    }
    if a.url.is_some() && a.image.is_some() {
        return Err(format!(
            "IMAGE {} and --url given: drill an image or a URL, not both",
            a.image.as_deref().unwrap_or_default()
        ));
    }
    if !(a.rate > 0.0 && a.rate <= 100_000.0) {
        return Err(format!(
            "--rate {}: give requests per second between 0 and 100000",
            a.rate
        ));
    }
    if a.replicas == 0 || a.replicas > 50 {
        return Err(format!("--replicas {}: give 1 to 50", a.replicas));
    }
    if !a.path.starts_with('/') {
        return Err(format!(
            "--path {}: a path starts with / (e.g. /health)",
            a.path
        ));
    }
    if a.method.parse::<hyper::Method>().is_err() {
        return Err(format!(
            "--method {}: not an HTTP method (GET, POST...)",
            a.method
        ));
    }
    if a.timeout.is_zero() {
        return Err("--timeout 0: give a request timeout, e.g. 10s".into());
    }
    if let Some(v) = &a.variants {
        for name in v {
            if !matches!(name.as_str(), "as-built" | "drainit" | "init") {
                return Err(format!(
                    "--variants {name}: the variants are as-built, drainit and init"
                ));
            }
        }
    }
    for e in &a.env {
        if !e.contains('=') || e.starts_with('=') {
            return Err(format!("--env {e}: give NAME=VALUE"));
        }
    }
    for w in &a.with {
        if w.trim().is_empty() {
            return Err("--with '': give drainit's flags, e.g. --with '--drain-delay=5s'".into());
        }
        if w.split_whitespace().any(|f| f == "--") {
            return Err(format!(
                "--with '{w}': drainit's flags only; the drill adds -- and the image's command"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, String> {
        let a = Args::try_parse_from(std::iter::once("drainit-drill").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        validate(&a)?;
        Ok(a)
    }

    #[test]
    fn defaults() {
        let a = parse(&["img"]).unwrap();
        assert_eq!(a.platform, Platform::Kubernetes);
        assert_eq!(a.replicas, 3);
        assert_eq!(a.lag, None);
        assert_eq!(a.prestop_sleep, Duration::ZERO);
    }

    #[test]
    fn bad_inputs_name_the_option() {
        assert!(parse(&[]).unwrap_err().starts_with("no image given"));
        assert!(parse(&["img", "--rate", "0"])
            .unwrap_err()
            .starts_with("--rate 0"));
        assert!(parse(&["img", "--path", "x"])
            .unwrap_err()
            .starts_with("--path x"));
        assert!(parse(&["img", "--variants", "tini"])
            .unwrap_err()
            .starts_with("--variants tini"));
        assert!(parse(&["img", "--with", "--grace=1s --"])
            .unwrap_err()
            .starts_with("--with"));
        assert!(parse(&["img", "--lag", "soon"])
            .unwrap_err()
            .contains("invalid duration"));
        assert!(parse(&["img", "--url", "http://x/"]).is_err());
        assert!(parse(&["--url", "http://x/", "--during", "true", "img"])
            .unwrap_err()
            .contains("not both"));
    }

    #[test]
    fn with_takes_flags() {
        let a = parse(&[
            "img",
            "--with",
            "--drain-delay=5s --grace=20s",
            "--with",
            "-g",
        ])
        .unwrap();
        assert_eq!(a.with, ["--drain-delay=5s --grace=20s", "-g"]);
    }
}
