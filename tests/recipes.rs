//! The recipes matrix, short: real servers from Debian's packages (nginx
//! with STOPSIGNAL QUIT, gunicorn with TERM), each started by an entrypoint
//! script without exec, rolled one replica behind HAProxy under `docker run
//! --init` (tini) and under drainit with the README's recipe
//! (`docker/e2e/run.sh recipes-short`; the full matrix is `make
//! e2e-recipes`).
//!
//! The Debian image is built once per machine by docker/e2e/recipes/base.sh
//! (debootstrap, cached in /var/cache/drainit-e2e and as the image
//! drainit-e2e-base:VERSION). Skips (fails under DRAINIT_REQUIRE_ALL=1)
//! without Docker, the tools or the static drainit.

// The lints of src/ that fit a test (unwrap, expect, panic and indexing
// are how a test fails): every unsafe block says why it is sound.
#![deny(clippy::undocumented_unsafe_blocks)]

mod common;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn found(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The reason the test cannot run here, if any.
fn missing() -> Option<String> {
    let engine = Command::new("docker")
        .arg("info")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !engine {
        return Some("no Docker engine answers (`docker info` failed)".into());
    }
    for tool in ["haproxy", "hey", "python3", "debootstrap"] {
        if !found(tool) {
            return Some(format!("{tool} is not installed (make deps)"));
        }
    }
    let bin = common::static_dir().join("drainit");
    if !bin.exists() {
        return Some(format!("{} is missing: run `make static`", bin.display()));
    }
    None
}

/// One result row: `key=value` pairs as recipes.py --rows writes them.
fn parse_rows(text: &str) -> Vec<HashMap<String, String>> {
    text.lines()
        .map(|line| {
            line.split_whitespace()
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// Under drainit the app drains as if exec'd: no failed request, its own
/// graceful-stop line, its own exit status, the wrapper runs to its end.
/// Under tini the stop signal reaches only the wrapper shell: the app never
/// logs a graceful stop (the check can tell the difference).
#[test]
#[ignore = "builds a Debian base image on a fresh machine (~10 min): run by `make e2e-recipes-short`"]
fn recipes_short_rolling_restart() {
    if let Some(reason) = missing() {
        common::skip(&reason);
        return;
    }
    let dir = common::tempdir("recipes");
    let rows_path = dir.join("rows.txt");
    let out = Command::new("bash")
        .arg(repo().join("docker/e2e/run.sh"))
        .arg("recipes-short")
        .arg("--rows")
        .arg(&rows_path)
        .env("DRAINIT_BIN", common::static_dir().join("drainit"))
        .stdin(Stdio::null())
        .output()
        .expect("run docker/e2e/run.sh");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{report}");
    assert!(out.status.success(), "run.sh recipes-short failed");
    let text = std::fs::read_to_string(&rows_path).expect("the rows file");
    let _ = std::fs::remove_dir_all(&dir);
    let rows = parse_rows(&text);
    let mut bad = Vec::new();
    let mut seen = 0;
    for row in &rows {
        let f = |k: &str| row.get(k).map(String::as_str).unwrap_or("?");
        let what = format!("{} under {}", f("server"), f("init"));
        assert_ne!(f("requests"), "0", "{what}: no request went through");
        match f("init") {
            "drainit" => {
                seen += 1;
                if f("failed") != "0" {
                    bad.push(format!("{what}: {} failed requests", f("failed")));
                }
                if f("graceful") != f("cycles") {
                    bad.push(format!("{what}: the app logged no graceful stop"));
                }
                let own = f("own_exit");
                if f("exits").split(',').any(|c| c != own) {
                    bad.push(format!(
                        "{what}: exit codes {}, the app's own is {own}",
                        f("exits")
                    ));
                }
                if f("wrapper_done") != f("cycles") {
                    bad.push(format!(
                        "{what}: the entrypoint script did not run to its end"
                    ));
                }
            }
            "tini" => {
                seen += 1;
                assert_ne!(
                    f("graceful"),
                    f("cycles"),
                    "{what}: tini signals the wrapper shell only, yet the app logged a \
                     graceful stop: the log check is broken\n{report}"
                );
            }
            _ => {}
        }
    }
    assert_eq!(
        seen, 4,
        "expected 2 servers x (tini, drainit) rows in:\n{text}"
    );
    assert!(
        bad.is_empty(),
        "drainit rows short of the recipe goal (issue 12):\n{}",
        bad.join("\n")
    );
}
