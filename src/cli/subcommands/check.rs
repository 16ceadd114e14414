//! `drainit check`: an exec probe for images without a shell (Docker
//! HEALTHCHECK, Kubernetes exec readinessProbe). Exit 0 when ready, 1 when
//! not, 2 on bad usage. It reads the same DRAINIT_* variables as the run,
//! so `ENV DRAINIT_HTTP=0.0.0.0:8081` alone is enough.

use std::ffi::OsString;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::core::options::{clap_exit, Exit};

/// Exit 0 when the container is ready, 1 when it is not.
#[derive(Debug, Parser)]
#[command(name = "drainit check", version)]
pub struct CheckArgs {
    /// Ready when this file exists.
    #[arg(long, env = "DRAINIT_READY_FILE", value_name = "PATH")]
    ready_file: Option<PathBuf>,
    /// Ready when a GET on this URL answers 2xx.
    #[arg(long, env = "DRAINIT_CHECK_URL", value_name = "URL", value_parser = crate::core::options::parse_http_url)]
    url: Option<String>,
    /// drainit's --http address: checks http://ADDR/ready (0.0.0.0 means loopback).
    #[arg(long, env = "DRAINIT_HTTP", value_name = "ADDR")]
    http: Option<SocketAddr>,
    /// How long the HTTP check may take.
    #[arg(long, default_value = "2s", value_parser = crate::core::duration::parse, value_name = "DURATION")]
    timeout: Duration,
}

/// `drainit check ARGS...` (argv[1] is the subcommand's name).
pub fn parse(mut argv: Vec<OsString>) -> Result<CheckArgs, Exit> {
    argv.remove(1);
    CheckArgs::try_parse_from(argv).map_err(clap_exit)
}

fn loopback(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => (Ipv4Addr::LOCALHOST, addr.port()).into(),
        IpAddr::V6(ip) if ip.is_unspecified() => (Ipv6Addr::LOCALHOST, addr.port()).into(),
        _ => addr,
    }
}

pub fn run(args: CheckArgs) -> i32 {
    let url = args
        .url
        .clone()
        .or_else(|| args.http.map(|a| format!("http://{}/ready", loopback(a))));
    let verdict = match (&args.ready_file, url) {
        (Some(path), _) if args.url.is_none() => check_file(path),
        (_, Some(url)) => check_url(&url, args.timeout),
        (None, None) => {
            eprintln!(
                "drainit check: nothing to check: give --ready-file PATH, --url URL or --http ADDR"
            );
            return crate::core::options::EXIT_USAGE;
        }
        (Some(path), None) => check_file(path),
    };
    match verdict {
        Ok(()) => 0,
        Err(reason) => {
            eprintln!("drainit check: not ready: {reason}");
            1
        }
    }
}

fn check_file(path: &std::path::Path) -> Result<(), String> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_file() => Ok(()),
        Ok(_) => Err(format!("{} is not a regular file", path.display())),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

fn check_url(url: &str, timeout: Duration) -> Result<(), String> {
    crate::io::client::check_once(url, timeout)
}
