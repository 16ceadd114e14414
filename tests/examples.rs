//! docker/examples as a user copies them: the Kubernetes YAMLs pass
//! `drainit explain` with their own values (and the balancer they name),
//! the compose file's stop_grace_period fits, and the compose example,
//! built and started, stops under load with 0 failed requests.
//!
//! The load stands in for a load balancer: it routes requests to the app
//! while drainit's /ready says 200 and stops routing 1 s after it says 503
//! (the endpoint lag); every request it sent must succeed.

mod common;

use common::docker::Compose;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docker/examples")
}

fn has_pyyaml() -> bool {
    Command::new("python3")
        .args(["-c", "import yaml"])
        .status()
        .is_ok_and(|s| s.success())
}

/// One line per Deployment of `file`: a JSON list of the fields explain
/// needs (platform grace, the lb and deregistration annotations, the
/// readiness probe's path and port number, then the command).
fn deployments(file: &Path) -> Vec<Vec<String>> {
    let script = r#"
import sys, yaml, json
for d in yaml.safe_load_all(open(sys.argv[1])):
    if not d or d.get("kind") != "Deployment":
        continue
    t = d["spec"]["template"]
    spec, ann = t["spec"], t["metadata"].get("annotations", {})
    c = spec["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    probe = c["readinessProbe"]["httpGet"]
    port = probe["port"]
    port = ports.get(port, port)
    print(json.dumps([str(spec["terminationGracePeriodSeconds"]), ann.get("drainit.dev/lb", ""),
                      ann.get("drainit.dev/deregistration-delay", ""), probe["path"], str(port)] + c["command"]))
"#;
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(file)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            l.split('"')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .collect()
        })
        .collect()
}

fn explain(args: &[String]) -> (i32, String) {
    let out = Command::new(common::drainit())
        .arg("explain")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn every_kubernetes_example_passes_explain_with_its_own_values() {
    if !has_pyyaml() && common::skip("python3's yaml module is missing") {
        return;
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(examples().join("k8s"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let mut checked = 0;
    for file in &files {
        for d in deployments(file) {
            let (tgp, lb, dereg, path, port) = (&d[0], &d[1], &d[2], &d[3], &d[4]);
            let command = &d[5..];
            let name = file.file_name().unwrap().to_string_lossy();
            assert_eq!(command[0], "/drainit", "{name}: {command:?}");
            let dashdash = command.iter().position(|a| a == "--").expect("--");
            let mut args: Vec<String> = command[1..dashdash].to_vec();
            args.push(format!("--termination-grace-period={tgp}s"));
            if !lb.is_empty() {
                args.push(format!("--lb={lb}"));
            }
            if !dereg.is_empty() {
                args.push(format!("--deregistration-delay={dereg}"));
            }
            args.extend(command[dashdash..].iter().cloned());
            let (code, text) = explain(&args);
            assert_eq!(code, 0, "{name} does not fit ({args:?}):\n{text}");
            assert!(
                text.contains(&format!("terminationGracePeriodSeconds: {tgp}\n")),
                "{name}:\n{text}"
            );
            assert!(
                text.contains(&format!("httpGet: {{ path: {path}, port: {port} }}")),
                "{name}: explain's probe differs from the file's ({path}, {port}):\n{text}"
            );
            // And a shorter platform grace does not fit: the check bites.
            let short: u64 = tgp.parse::<u64>().unwrap() / 2;
            let mut tight = args.clone();
            let at = tight
                .iter()
                .position(|a| a.starts_with("--termination"))
                .unwrap();
            tight[at] = format!("--termination-grace-period={short}s");
            assert_eq!(explain(&tight).0, 1, "{name}: {short}s should not fit");
            checked += 1;
        }
    }
    assert!(checked >= 2, "{checked} deployments checked in {files:?}");
}

/// compose.yaml's entrypoint and stop_grace_period, through `docker-compose config`.
#[test]
fn the_compose_example_fits_its_stop_grace_period() {
    if !has_pyyaml() && common::skip("python3's yaml module is missing") {
        return;
    }
    let script = r#"
import sys, yaml, json
s = yaml.safe_load(open(sys.argv[1]))["services"]["app"]
print(json.dumps([s["stop_grace_period"]] + s["entrypoint"]))
"#;
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(examples().join("compose.yaml"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let f: Vec<String> = text
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    let mut args: Vec<String> = f[2..].iter().take_while(|a| *a != "--").cloned().collect();
    args.push("--platform=docker".into());
    args.push(format!("--termination-grace-period={}", f[0]));
    let (code, out) = explain(&args);
    assert_eq!(code, 0, "{args:?}:\n{out}");
}

// ------------------------------------------------------------ compose run

fn docker_ok() -> bool {
    Command::new("docker")
        .args(["info"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn run(cmd: &str, args: &[&str]) -> Output {
    Command::new(cmd).args(args).output().expect(cmd)
}

/// The example image: docker/examples/Dockerfile.app over the release
/// image, with the demo app as /app.
fn build_example_image() -> Result<String, String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let demo = common::static_dir().join("drainit-demo");
    if !demo.exists() {
        return Err(format!("{} is missing: run `make static`", demo.display()));
    }
    let b = run(
        "bash",
        &[root.join("docker/build.sh").to_str().unwrap(), "release"],
    );
    if !b.status.success() {
        return Err(String::from_utf8_lossy(&b.stderr).into_owned());
    }
    // The name the examples copy from: the release image's version tag.
    let release = format!("drainit:{}", env!("CARGO_PKG_VERSION"));
    let t = run("docker", &["tag", "drainit:latest", &release]);
    if !t.status.success() {
        return Err(String::from_utf8_lossy(&t.stderr).into_owned());
    }
    let ctx = common::tempdir("examples-ctx");
    std::fs::copy(&demo, ctx.join("app")).unwrap();
    let image = "drainit-example-app:latest";
    let dockerfile = examples().join("Dockerfile.app");
    let out = run(
        "docker",
        &[
            "build",
            "-q",
            "-t",
            image,
            "-f",
            dockerfile.to_str().unwrap(),
            ctx.to_str().unwrap(),
        ],
    );
    let _ = std::fs::remove_dir_all(&ctx);
    if out.status.success() {
        Ok(image.into())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn get(addr: &str, path: &str) -> Result<u16, String> {
    common::http_get(addr, path)
        .map(|r| r.0)
        .map_err(|e| e.to_string())
}

#[test]
fn the_compose_example_stops_under_load_with_nothing_failed() {
    if !docker_ok() && common::skip("no Docker engine answers") {
        return;
    }
    let image = match build_example_image() {
        Ok(i) => i,
        Err(e) => {
            common::skip(&format!("the example image cannot be built: {e}"));
            return;
        }
    };
    let project = format!("drainit-examples-{}", std::process::id());
    let (app_port, ready_port) = (common::free_port(), common::free_port());
    let Some(compose) = Compose::example(&project, &[], &image, app_port, ready_port) else {
        common::skip("neither `docker compose` nor docker-compose is installed");
        return;
    };
    let compose = |args: &[&str]| compose.run(args);
    let up = compose(&["up", "-d"]);
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    let (app, ready) = (
        format!("127.0.0.1:{app_port}"),
        format!("127.0.0.1:{ready_port}"),
    );
    let t0 = Instant::now();
    common::wait_for(Duration::from_secs(30), || {
        (get(&ready, "/ready") == Ok(200)).then_some(())
    })
    .expect("/ready never turned 200");
    // Ready means the app answers.
    assert_eq!(
        get(&app, "/health"),
        Ok(200),
        "ready before the app answers"
    );
    common::figure("examples.compose_ready_s", t0.elapsed().as_secs_f64());

    // The balancer: routes while /ready is 200, and for 1 s after.
    let routing = Arc::new(AtomicBool::new(true));
    let (sent, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let watcher = {
        let (routing, ready) = (routing.clone(), ready.clone());
        std::thread::spawn(move || {
            while get(&ready, "/ready") == Ok(200) {
                std::thread::sleep(Duration::from_millis(50));
            }
            std::thread::sleep(Duration::from_secs(1));
            routing.store(false, Ordering::SeqCst);
        })
    };
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let (routing, sent, failed, app) =
                (routing.clone(), sent.clone(), failed.clone(), app.clone());
            std::thread::spawn(move || {
                let mut errors = Vec::new();
                while routing.load(Ordering::SeqCst) {
                    sent.fetch_add(1, Ordering::Relaxed);
                    match get(&app, "/work") {
                        Ok(200) => {}
                        other => {
                            failed.fetch_add(1, Ordering::Relaxed);
                            errors.push(format!("{other:?}"));
                        }
                    }
                }
                errors
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    let t = Instant::now();
    let stop = compose(&["stop"]);
    let took = t.elapsed();
    assert!(
        stop.status.success(),
        "{}",
        String::from_utf8_lossy(&stop.stderr)
    );
    watcher.join().unwrap();
    let errors: Vec<String> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    let (sent, failed) = (sent.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    common::figure("examples.compose_stop_s", took.as_secs_f64());
    common::figure("examples.compose_requests", sent as f64);
    common::figure("examples.compose_failed", failed as f64);
    let logs = String::from_utf8_lossy(&compose(&["logs", "--no-color"]).stdout).to_string();
    assert!(sent > 50, "only {sent} requests sent");
    assert_eq!(failed, 0, "{failed} of {sent} failed: {errors:?}\n{logs}");
    assert!(logs.contains("ready after"), "no ready line:\n{logs}");
    assert!(logs.contains("forwarded SIGTERM"), "{logs}");
    assert!(!logs.contains("SIGKILL"), "{logs}");
}

/// The Kubernetes examples against the API's schemas (kubernetes-validate,
/// strict: an unknown field fails), and a misspelt field fails it.
#[test]
fn the_kubernetes_examples_pass_a_schema_lint() {
    let lint = |files: &[PathBuf]| {
        Command::new("kubernetes-validate")
            .arg("--strict")
            .args(files)
            .output()
    };
    let files: Vec<PathBuf> = std::fs::read_dir(examples().join("k8s"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    let out = match lint(&files) {
        Ok(out) => out,
        Err(_) => {
            common::skip("kubernetes-validate is missing (scripts/deps.d/examples.sh installs it)");
            return;
        }
    };
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.matches(" passed ").count() >= 5, "{text}");
    // The same Deployment with one field misspelt does not pass.
    let dir = common::tempdir("k8s-lint");
    let broken = dir.join("broken.yaml");
    let good = std::fs::read_to_string(examples().join("k8s/deployment.yaml")).unwrap();
    std::fs::write(
        &broken,
        good.replace(
            "terminationGracePeriodSeconds:",
            "terminationGracePeriodSecond:",
        ),
    )
    .unwrap();
    let out = lint(&[broken]).unwrap();
    assert!(!out.status.success(), "a misspelt field passed the lint");
}
