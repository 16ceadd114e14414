//! The launcher matrix: entrypoints people write in front of their app
//! (restart loops, batch runners, launchers that pass the status on,
//! `timeout`, `nohup`, `flock`, `setsid`, `runuser`, `make`, wrapper
//! scripts), as real process trees under drainit, as PID 1 of its own PID
//! namespace and as a subreaper, with and without `--grace`.
//!
//! For each one: SIGTERM to drainit; the app (tests/launchers/app.py, or
//! a Node server under `npm start`) gets the stop signal and drains; every
//! app that started has ended; drainit exits with the status the launcher
//! gives (143 where the launcher itself dies of the stop signal, as under
//! tini), never 137, and long before the grace.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{first_child, need_pidns, skip, tempdir, wait_for};

/// The app's drain (app.py's DRAIN).
const DRAIN: Duration = Duration::from_millis(300);
/// The grace of the `--grace` runs: far above any prompt stop.
const GRACE: &str = "30s";
/// How long a stop may take before the test says it did not stop: the
/// grace's SIGKILL (30 s) or a hang is far above it; a loaded machine's
/// scheduling is far below.
const PROMPT: Duration = Duration::from_secs(10);

struct Launcher {
    name: &'static str,
    /// A `sh -c` line; `{app}` is the app's command, `{dir}` the test's
    /// directory.
    line: &'static str,
    /// drainit's exit status.
    code: i32,
    /// Apps that must each get the stop signal and drain.
    apps: usize,
    /// Programs the line needs.
    needs: &'static [&'static str],
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/launchers")
}

struct Outcome {
    code: i32,
    /// From SIGTERM to drainit's exit.
    took: Duration,
    log: Vec<String>,
    stderr: String,
}

fn run(l: &Launcher, pid1: bool, grace: bool) -> Outcome {
    let dir = tempdir(&format!("launch-{}", l.name));
    // runuser's app writes here as nobody.
    let _ = Command::new("chmod").arg("0777").arg(&dir).status();
    let log = dir.join("app.log");
    let app = format!(
        "python3 {} {}",
        fixtures().join("app.py").display(),
        log.display()
    );
    std::fs::write(dir.join("Makefile"), format!("serve:\n\t{app}\n")).unwrap();
    let npm = dir.join("npm");
    std::fs::create_dir_all(&npm).unwrap();
    for f in ["package.json", "server.js"] {
        std::fs::copy(fixtures().join(f), npm.join(f)).unwrap();
    }
    let line = l
        .line
        .replace("{app}", &app)
        .replace("{dir}", &dir.to_string_lossy());
    let mut argv: Vec<String> = Vec::new();
    if pid1 {
        argv.extend(
            ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"].map(String::from),
        );
    }
    argv.push(common::drainit().into());
    argv.push("-vv".into());
    if grace {
        argv.push(format!("--grace={GRACE}"));
    }
    argv.extend(["--", "sh", "-c", &line].map(String::from));
    let stderr = std::fs::File::create(dir.join("stderr")).unwrap();
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .env("LAUNCH_LOG", &log)
        .env("NPM_CONFIG_UPDATE_NOTIFIER", "false")
        .env("NPM_CONFIG_FUND", "false")
        .env("DRAINIT_LOG_FORMAT", "text")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("spawn drainit");
    let top = child.id() as i32;
    let init = if pid1 {
        wait_for(PROMPT, || first_child(top)).expect("drainit under unshare")
    } else {
        top
    };
    let ready = |n: usize| {
        read(&log)
            .iter()
            .filter(|l| l.starts_with("ready "))
            .count()
            >= n
    };
    let started = wait_for(PROMPT, || ready(l.apps).then_some(()));
    assert!(
        started.is_some(),
        "{}: the app never got ready: {:?}\n{}",
        l.name,
        read(&log),
        std::fs::read_to_string(dir.join("stderr")).unwrap_or_default()
    );
    let t0 = Instant::now();
    // SAFETY (test): a signal to the drainit this test started.
    unsafe { libc::kill(init, libc::SIGTERM) };
    let status = wait_for(PROMPT, || child.try_wait().ok().flatten());
    let took = t0.elapsed();
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        let left = read(&log);
        cleanup(&left);
        panic!(
            "{} (pid1={pid1}, grace={grace}): drainit did not exit within {PROMPT:?}: {left:?}\n{}",
            l.name,
            std::fs::read_to_string(dir.join("stderr")).unwrap_or_default()
        );
    };
    let out = Outcome {
        code: status.code().unwrap_or(-1),
        took,
        log: read(&log),
        stderr: std::fs::read_to_string(dir.join("stderr")).unwrap_or_default(),
    };
    cleanup(&out.log);
    let _ = std::fs::remove_dir_all(&dir);
    out
}

fn read(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

/// The pids of the apps that started, from their log.
fn app_pids(log: &[String]) -> Vec<i32> {
    log.iter()
        .filter_map(|l| l.strip_prefix("start "))
        .filter_map(|p| p.trim().parse().ok())
        .collect()
}

/// Whether `pid` still runs (not gone, not a zombie).
fn alive(pid: i32) -> bool {
    drainit::procfs::stat(pid)
        .ok()
        .flatten()
        .is_some_and(|s| s.state != 'Z')
}

fn cleanup(log: &[String]) {
    for pid in app_pids(log) {
        if alive(pid) {
            // SAFETY (test): kills an app this test started.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

fn check(l: &Launcher) {
    if need_pidns() {
        return;
    }
    for prog in l.needs {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {prog}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found && skip(&format!("{prog} is not installed: run `make deps`")) {
            return;
        }
    }
    for pid1 in [false, true] {
        for grace in [false, true] {
            let o = run(l, pid1, grace);
            let what = format!(
                "{} (pid1={pid1}, grace={grace}): log {:?}\n{}",
                l.name, o.log, o.stderr
            );
            eprintln!(
                "launcher {:<22} pid1={pid1:<5} grace={grace:<5} exit {:>3} in {:>5} ms, {} app start(s)",
                l.name,
                o.code,
                o.took.as_millis(),
                app_pids(&o.log).len()
            );
            assert_ne!(o.code, 137, "SIGKILLed: {what}");
            assert_eq!(o.code, l.code, "exit status: {what}");
            assert!(o.took < PROMPT, "slow stop: {what}");
            // The first apps drained: each got the stop signal and exited.
            let pids = app_pids(&o.log);
            for &pid in pids.iter().take(l.apps) {
                let got = o
                    .log
                    .iter()
                    .filter(|x| x.starts_with("got ") && x.ends_with(&format!(" {pid}")));
                assert_eq!(got.count(), 1, "app {pid} got the stop signal once: {what}");
                assert!(
                    o.log
                        .iter()
                        .any(|x| x.starts_with("exit ") && x.ends_with(&format!(" {pid}"))),
                    "app {pid} drained and exited: {what}"
                );
            }
            // Nothing keeps running: a restarted app was stopped at once.
            // (As PID 1 the pids are the namespace's, and its end takes
            // everything along: drainit's own exit status says it did not
            // have to SIGKILL.)
            if !pid1 {
                for &pid in &pids {
                    assert!(!alive(pid), "app {pid} still runs: {what}");
                }
            }
            assert!(
                pids.len() <= l.apps + 1,
                "started again and again ({} starts): {what}",
                pids.len()
            );
            // The container stopped within the drain and a second, but for
            // the scheduler of a loaded machine: a figure, not a failure.
            if o.took > DRAIN + Duration::from_secs(1) {
                eprintln!("launcher {}: slower than drain + 1 s: {:?}", l.name, o.took);
            }
        }
    }
}

macro_rules! launchers {
    ($($name:ident: $line:expr, code $code:expr, apps $apps:expr, needs $needs:expr;)*) => {
        $(
            #[test]
            fn $name() {
                check(&Launcher {
                    name: stringify!($name),
                    line: $line,
                    code: $code,
                    apps: $apps,
                    needs: $needs,
                });
            }
        )*
    };
}

launchers! {
    // Restart loops: the loop's shell gets the stop signal when it starts
    // the app (or `sleep`) again, and dies of it as under tini: 143.
    sh_while_true: "while true; do {app}; sleep 0.1; done", code 143, apps 1, needs &[];
    sh_while_colon: "while :; do {app}; done", code 143, apps 1, needs &[];
    sh_until: "until {app} 3; do sleep 0.1; done", code 143, apps 1, needs &[];
    bash_while_true: "exec bash -c 'while true; do {app}; sleep 0.1; done'", code 143, apps 1, needs &["bash"];
    bash_while_colon: "exec bash -c 'while :; do {app}; done'", code 143, apps 1, needs &["bash"];
    bash_until: "exec bash -c 'until {app} 3; do sleep 0.1; done'", code 143, apps 1, needs &["bash"];
    busybox_while_true: "exec busybox sh -c 'while true; do {app}; sleep 0.1; done'", code 143, apps 1, needs &["busybox"];
    busybox_until: "exec busybox sh -c 'until {app} 3; do sleep 0.1; done'", code 143, apps 1, needs &["busybox"];
    // Batch runners: the runner dies with its next job, as exec'd.
    python_batch: "exec python3 -c 'import subprocess, sys\nfor _ in range(50): subprocess.run(sys.argv[1:])' {app}", code 143, apps 1, needs &[];
    node_spawnsync_batch: "exec node -e 'const cp = require(\"child_process\"); for (let i = 0; i < 50; i++) cp.spawnSync(process.argv[1], process.argv.slice(2), {stdio: \"inherit\"})' {app}", code 143, apps 1, needs &["node"];
    xargs_n1: "seq 50 | xargs -n1 {app}", code 143, apps 1, needs &["xargs"];
    // Launchers that pass the app's status on.
    python_returncode: "exec python3 -c 'import subprocess, sys; sys.exit(subprocess.run(sys.argv[1:]).returncode)' {app} 7", code 7, apps 1, needs &[];
    popen_wait_like_dotenv_run: "exec python3 -c 'import subprocess, sys; sys.exit(subprocess.Popen(sys.argv[1:]).wait())' {app} 7", code 7, apps 1, needs &[];
    // npm handles TERM, passes it to its script's process and dies of it.
    npm_start: "cd {dir}/npm && exec npm start --silent", code 143, apps 1, needs &["npm"];
    // Programs in front of the app.
    timeout: "exec timeout 1000 {app} 5", code 5, apps 1, needs &["timeout"];
    nohup: "exec nohup {app} 5", code 5, apps 1, needs &["nohup"];
    flock: "exec flock {dir}/lock {app} 5", code 5, apps 1, needs &["flock"];
    setsid: "exec setsid -w {app} 5", code 5, apps 1, needs &["setsid"];
    // runuser handles TERM: it passes it on, waits 2 s whatever the app
    // does, then dies of it (util-linux su's own stop, the same under tini).
    runuser: "exec runuser -u nobody -- {app} 5", code 143, apps 1, needs &["runuser"];
    // GNU make handles TERM: it passes it to the recipe and dies of it.
    make_serve: "exec make -s -f {dir}/Makefile serve", code 143, apps 1, needs &["make"];
    // The wrapper cases: cleanup after the app, two levels, two apps, a trap.
    cleanup_after_the_app: "{app} 5; s=$?; echo cleanup >/dev/null; exit $s", code 5, apps 1, needs &[];
    two_levels: "bash -c '{app} 5; exit $?'; exit $?", code 5, apps 1, needs &["bash"];
    two_apps_and_wait: "{app} & {app}; wait", code 0, apps 2, needs &[];
    trap_forwards: "trap 'kill -TERM $pid; wait $pid; exit $?' TERM; {app} 5 & pid=$!; wait $pid", code 5, apps 1, needs &[];
}
