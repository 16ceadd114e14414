//! drainit as the `--init` of real container engines.
//!
//! Docker: a second dockerd that this test starts (scripts/engines/dockerd.sh:
//! its own socket, data and exec roots, network and mount namespaces, and a
//! daemon.json whose `"init-path"` is drainit), so every `docker run --init`
//! runs drainit as `/sbin/docker-init -- CMD`. Podman: every bit of its state
//! in a temporary directory (scripts/engines/podman.sh), drainit as
//! `init_path` in containers.conf and through `--init-path`, run as
//! `/run/podman-init -- CMD`.
//!
//! The machine's engine only builds the image (FROM scratch, Debian's static
//! busybox, scripts/engines/image.sh) and is checked afterwards: it still
//! runs containers on its docker0 bridge.
//!
//! One test per engine, so the engine starts once: it runs every check in
//! turn and reports them all (a failed check does not hide the others).

// The lints of src/ that fit a test (unwrap, expect, panic and indexing
// are how a test fails): every unsafe block says why it is sound.
#![deny(clippy::undocumented_unsafe_blocks)]

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const IMAGE: &str = "engines-busybox:latest";
/// Generous: the machine's 2 cores are shared by several builds.
const LIMIT: Duration = Duration::from_secs(60);
/// The drain delay the drain check sets with `-e DRAINIT_DRAIN_DELAY`, and
/// how drainit's timeline shows it. Long enough for the test to see the
/// drain line and `exec` a mark before the app gets TERM.
const DRAIN_DELAY: &str = "5s";
const DRAIN_DELAY_SHOWN: &str = "5.0s";

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("scripts/engines")
        .join(name)
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn found(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    let line = String::from_utf8_lossy(&out.stdout).into_owned();
    let hash = line.split_whitespace().next().unwrap_or_default();
    assert_eq!(hash.len(), 64, "sha256sum {}: {line}", path.display());
    hash.to_string()
}

fn drainit_static() -> PathBuf {
    common::static_dir().join("drainit")
}

/// The machine's engine: image builds and the after-check only.
fn machine(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run docker")
}

fn machine_answers() -> bool {
    machine(&["info"]).status.success()
}

fn build_image() {
    let out = Command::new("bash")
        .arg(script("image.sh"))
        .arg(IMAGE)
        .output()
        .unwrap();
    assert!(out.status.success(), "image.sh failed:\n{}", text(&out));
}

/// `docker save IMAGE | SINK...` (a `docker -H ... load` or `podman.sh load`).
fn move_image(sink: &mut Command) {
    let mut save = Command::new("docker")
        .args(["save", IMAGE])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = sink.stdin(save.stdout.take().unwrap()).output().unwrap();
    let saved = save.wait().unwrap();
    assert!(saved.success(), "docker save {IMAGE}: {saved}");
    assert!(out.status.success(), "image load failed:\n{}", text(&out));
}

/// Common reasons to skip either engine; None when the test can run.
fn missing_basics() -> Option<String> {
    if !common::pid_namespaces() {
        return Some("namespaces are not permitted (run as root)".into());
    }
    if !drainit_static().exists() {
        return Some(format!(
            "{} is missing: run `bash scripts/static.sh`",
            drainit_static().display()
        ));
    }
    if !machine_answers() {
        return Some("the machine's Docker engine (which builds the image) does not answer".into());
    }
    None
}

/// One engine's command line and how it runs an init.
struct Engine {
    /// The CLI and its leading arguments.
    cli: Vec<String>,
    /// Environment for the CLI (Podman's config files).
    env: Vec<(String, String)>,
    /// What every test container gets after `run`.
    run_args: Vec<String>,
    /// Where the engine puts its init inside the container.
    init_inside: &'static str,
    /// The file the engine's config names as its init.
    init_host: PathBuf,
}

impl Engine {
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.cli[0]);
        c.args(&self.cli[1..]).args(args).stdin(Stdio::null());
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    fn cli(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(out.status.success(), "{:?}: {}", args, text(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn run_command(&self, name: &str, detach: bool, env: &[&str], cmd: &[&str]) -> Command {
        let mut args: Vec<&str> = vec!["run", "--name", name];
        if detach {
            args.push("-d");
        }
        args.extend(self.run_args.iter().map(String::as_str));
        for e in env {
            args.extend(["-e", e]);
        }
        args.push(IMAGE);
        args.extend_from_slice(cmd);
        self.command(&args)
    }

    /// `run -d --init ... IMAGE sh -c SCRIPT`, removed on drop.
    fn start(&self, tag: &str, env: &[&str], sh: &str) -> Container<'_> {
        let c = Container::new(self, tag);
        let out = self
            .run_command(&c.name, true, env, &["sh", "-c", sh])
            .output()
            .unwrap();
        assert!(out.status.success(), "run {tag}: {}", text(&out));
        c
    }

    /// `run --init ... IMAGE CMD` in the foreground: the CLI's exit code,
    /// the container's recorded exit code and its output.
    fn run(&self, tag: &str, cmd: &[&str]) -> (i32, i32, String) {
        let c = Container::new(self, tag);
        let out = self.run_command(&c.name, false, &[], cmd).output().unwrap();
        let cli = out.status.code().unwrap_or(-1);
        (cli, c.exit_code(), text(&out))
    }
}

struct Container<'a> {
    engine: &'a Engine,
    name: String,
}

impl Drop for Container<'_> {
    fn drop(&mut self) {
        let _ = self
            .engine
            .command(&["rm", "-f", &self.name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

impl<'a> Container<'a> {
    fn new(engine: &'a Engine, tag: &str) -> Container<'a> {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Container {
            engine,
            name: format!("engines-{}-{tag}-{n}", std::process::id()),
        }
    }

    fn inspect(&self, format: &str) -> String {
        self.engine.ok(&["inspect", "-f", format, &self.name])
    }

    fn running(&self) -> bool {
        self.inspect("{{.State.Running}}") == "true"
    }

    fn exit_code(&self) -> i32 {
        self.inspect("{{.State.ExitCode}}").parse().unwrap()
    }

    fn logs(&self) -> String {
        text(&self.engine.cli(&["logs", &self.name]))
    }

    /// Waits until the logs hold `needle`; fails at once if the container
    /// stops without it.
    fn wait_log(&self, needle: &str) {
        let seen = common::wait_for(LIMIT, || {
            if self.logs().contains(needle) {
                Some(true)
            } else if !self.running() {
                // One last look: the line may have come with the exit.
                Some(self.logs().contains(needle))
            } else {
                None
            }
        });
        if seen != Some(true) {
            panic!(
                "{needle:?} never appeared in the logs of {} (running: {}):\n{}",
                self.name,
                self.running(),
                self.logs()
            );
        }
    }

    fn wait_exit(&self) -> i32 {
        if common::wait_for(LIMIT, || (!self.running()).then_some(())).is_none() {
            panic!("{} still running:\n{}", self.name, self.logs());
        }
        self.exit_code()
    }

    fn kill(&self, sig: &str) {
        self.engine.ok(&["kill", "-s", sig, &self.name]);
    }

    fn exec(&self, sh: &str) -> String {
        self.engine.ok(&["exec", &self.name, "sh", "-c", sh])
    }
}

/// The app of the signal checks: logs each signal it traps, once ready.
///
/// Not INT: every shell catches INT while it waits for a command, so the
/// forwarding rule gives INT to the command the shell waits for (here
/// `sleep`), as Ctrl-C would, and a script's own `trap ... INT` cannot be
/// told apart from that handler (README, "Forwarding modes").
const TRAPPING_APP: &str = "for s in HUP USR1 USR2; do trap \"echo app: got $s\" $s; done; \
     trap 'echo app: got TERM; exit 0' TERM; echo app: ready; \
     while :; do sleep 1000 & wait $!; done";

/// PID 1 is the engine's init path, it runs the command after `--`, and
/// its executable is drainit's very file.
fn pid1_is_drainit(e: &Engine) {
    let (code, _, out) = e.run(
        "pid1",
        &[
            "sh",
            "-c",
            "tr '\\0' ' ' </proc/1/cmdline; echo; sha256sum /proc/1/exe",
        ],
    );
    assert_eq!(code, 0, "{out}");
    let want = format!("{} -- sh -c ", e.init_inside);
    assert!(out.starts_with(&want), "PID 1 is not {want}...: {out}");
    let hash = sha256(&drainit_static());
    assert!(out.contains(&hash), "PID 1 is not drainit ({hash}): {out}");
}

/// The child's code, 128+N for signal N, 127 for a missing command: both
/// as the CLI's exit status and as the recorded exit code.
fn exit_codes(e: &Engine) {
    let cases: [(&[&str], i32); 5] = [
        (&["sh", "-c", "exit 0"], 0),
        (&["sh", "-c", "exit 3"], 3),
        (&["sh", "-c", "kill -USR1 $$"], 128 + libc::SIGUSR1),
        (&["sh", "-c", "kill -KILL $$"], 128 + libc::SIGKILL),
        (&["/doesnotexist"], 127),
    ];
    for (cmd, want) in cases {
        let (cli, recorded, out) = e.run("exit", cmd);
        assert_eq!((cli, recorded), (want, want), "{cmd:?}: {out}");
    }
}

/// `kill -s SIG` on the container reaches the app, in order, and TERM ends it.
fn signals_reach_the_app(e: &Engine) {
    let c = e.start("signals", &[], TRAPPING_APP);
    c.wait_log("app: ready");
    for sig in ["HUP", "USR1", "USR2", "TERM"] {
        c.kill(sig);
        c.wait_log(&format!("app: got {sig}"));
    }
    assert_eq!(c.wait_exit(), 0, "{}", c.logs());
}

/// `stop`: TERM reaches the app; an app that dies of it gives 143, one that
/// ignores it is SIGKILLed by the engine after the timeout (137).
fn stop_term_then_kill(e: &Engine) {
    let dies = e.start("stop-term", &[], "echo app: ready; sleep 1000");
    dies.wait_log("app: ready");
    e.ok(&["stop", "-t", "60", &dies.name]);
    assert_eq!(dies.exit_code(), 128 + libc::SIGTERM, "{}", dies.logs());

    let stays = e.start(
        "stop-kill",
        &[],
        "trap 'echo app: got TERM' TERM; echo app: ready; while :; do sleep 1000 & wait $!; done",
    );
    stays.wait_log("app: ready");
    e.ok(&["stop", "-t", "2", &stays.name]);
    assert_eq!(stays.exit_code(), 128 + libc::SIGKILL, "{}", stays.logs());
    assert!(stays.logs().contains("app: got TERM"), "{}", stays.logs());
}

/// An app that leaves 20 orphans: they are re-parented to the init, exit,
/// and no zombie remains.
fn zombies_reaped(e: &Engine) {
    let c = e.start(
        "zombies",
        &[],
        "for i in $(seq 20); do sh -c 'sleep 0.2 & echo $! >>/tmp/orphans'; done; \
         echo app: ready; while :; do sleep 1000 & wait $!; done",
    );
    c.wait_log("app: ready");
    let orphans = c.exec("cat /tmp/orphans");
    assert_eq!(orphans.lines().count(), 20, "{orphans}");
    // A zombie keeps its /proc entry (state Z) until its parent reaps it.
    let left = common::wait_for(LIMIT, || {
        let alive =
            c.exec("for p in $(cat /tmp/orphans); do [ -e /proc/$p ] && echo $p; done; true");
        alive.is_empty().then_some(())
    });
    let states = c.exec("cat /proc/[0-9]*/stat");
    assert!(left.is_some(), "orphans never reaped:\n{states}");
    let zombies: Vec<&str> = states
        .lines()
        .filter(|l| {
            l.rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('Z'))
        })
        .collect();
    assert!(zombies.is_empty(), "zombies: {zombies:?}");
}

/// `-e DRAINIT_DRAIN_DELAY` alone makes a draining container: drainit logs
/// the drain when TERM comes, and the app gets TERM only after the test has
/// seen that line and written a mark inside the container (the app's own
/// log says which came first).
fn drain_with_env_only(e: &Engine) {
    let env = format!("DRAINIT_DRAIN_DELAY={DRAIN_DELAY}");
    let c = e.start(
        "drain",
        &[&env],
        "trap 'if [ -e /tmp/mark ]; then echo app: TERM after mark; \
         else echo app: TERM before mark; fi; exit 0' TERM; \
         echo app: ready; while :; do sleep 1000 & wait $!; done",
    );
    c.wait_log("app: ready");
    c.kill("TERM");
    c.wait_log(&format!("draining (delay {DRAIN_DELAY_SHOWN}"));
    let logs = c.logs();
    assert!(!logs.contains("app: TERM"), "TERM at once: {logs}");
    c.exec("touch /tmp/mark");
    assert_eq!(c.wait_exit(), 0, "{}", c.logs());
    let logs = c.logs();
    assert!(logs.contains("app: TERM after mark"), "{logs}");
    assert!(logs.contains("forwarded SIGTERM"), "{logs}");
}

/// `docker info` and `docker version` show the init's version, parsed from
/// `INIT --version` (`tini version X - git.Y`, the line Docker reads).
fn docker_shows_init_version(e: &Engine) {
    let init = &e.init_host;
    let out = Command::new(init).arg("--version").output().unwrap();
    let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let id = e.ok(&["info", "--format", "{{.InitCommit.ID}}"]);
    let shown = e.ok(&[
        "version",
        "--format",
        "{{range .Server.Components}}{{if eq .Name \"docker-init\"}}{{.Version}}{{end}}{{end}}",
    ]);
    let docker = format!("docker info: init version {id:?}; docker version: docker-init {shown:?}");
    let parsed = line
        .strip_prefix("tini version ")
        .and_then(|rest| rest.split_once(" - git."));
    let Some((version, commit)) = parsed else {
        panic!(
            "{} --version: {line:?}, not `tini version X - git.Y` ({docker})",
            init.display()
        );
    };
    assert!(!commit.is_empty() && id == commit, "{line:?}: {docker}");
    assert_eq!(shown, version, "{line:?}: {docker}");
}

type Check = (&'static str, fn(&Engine));

const CHECKS: &[Check] = &[
    ("pid1_is_drainit", pid1_is_drainit),
    ("exit_codes", exit_codes),
    ("signals_reach_the_app", signals_reach_the_app),
    ("stop_term_then_kill", stop_term_then_kill),
    ("zombies_reaped", zombies_reaped),
    ("drain_with_env_only", drain_with_env_only),
];

/// Runs every check, prints one line each, returns the failed ones.
fn run_checks(label: &str, e: &Engine, checks: &[Check]) -> Vec<String> {
    let mut failed = Vec::new();
    for (name, check) in checks {
        let ok = catch_unwind(AssertUnwindSafe(|| check(e))).is_ok();
        eprintln!("{label}: {name}: {}", if ok { "ok" } else { "FAILED" });
        if !ok {
            failed.push(format!("{label}: {name}"));
        }
    }
    failed
}

/// The second dockerd; stopped and removed on drop, panics included.
struct Dockerd {
    dir: PathBuf,
}

impl Dockerd {
    fn start(dir: PathBuf) -> Dockerd {
        let d = Dockerd { dir };
        let out = Command::new("bash")
            .arg(script("dockerd.sh"))
            .arg("start")
            .arg(&d.dir)
            .arg(drainit_static())
            .output()
            .unwrap();
        assert!(out.status.success(), "dockerd.sh start:\n{}", text(&out));
        d
    }

    fn sock(&self) -> String {
        format!("unix://{}/docker.sock", self.dir.display())
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script("dockerd.sh"))
            .arg("stop")
            .arg(&self.dir)
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn docker0() -> bool {
    Path::new("/sys/class/net/docker0").exists()
}

/// The machine's engine still runs a container on its default bridge.
fn machine_engine_untouched(had_docker0: bool) {
    if had_docker0 {
        assert!(docker0(), "the machine's docker0 bridge is gone");
    }
    let c = format!("engines-{}-machine", std::process::id());
    let out = machine(&["run", "--rm", "--name", &c, IMAGE, "ls", "/sys/class/net"]);
    assert!(
        out.status.success() && text(&out).contains("eth0"),
        "the machine's engine no longer runs bridged containers:\n{}",
        text(&out)
    );
}

#[test]
fn docker_runs_drainit_as_its_init() {
    if let Some(reason) = missing_basics() {
        common::skip(&reason);
        return;
    }
    if !found("dockerd") {
        common::skip("no dockerd: apt-get install docker.io");
        return;
    }
    build_image();
    let had_docker0 = docker0();
    let daemon = Dockerd::start(common::tempdir("dockerd"));
    let sock = daemon.sock();
    move_image(Command::new("docker").args(["-H", &sock, "load"]));
    let engine = Engine {
        cli: vec!["docker".into(), "-H".into(), sock],
        env: vec![],
        run_args: ["--init", "--network", "none"].map(String::from).to_vec(),
        init_inside: "/sbin/docker-init",
        // dockerd.sh names the link docker-init: see there why.
        init_host: daemon.dir.join("docker-init"),
    };
    let mut failed = run_checks("docker", &engine, CHECKS);
    failed.extend(run_checks(
        "docker",
        &engine,
        &[("docker_shows_init_version", docker_shows_init_version)],
    ));
    drop(daemon);
    machine_engine_untouched(had_docker0);
    assert!(failed.is_empty(), "failed: {failed:?}");
}

/// Podman's state directory and cgroup parent; cleaned on drop.
struct PodmanState {
    dir: PathBuf,
    cgroup: String,
}

impl Drop for PodmanState {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script("podman.sh"))
            .arg("clean")
            .arg(&self.dir)
            .arg(&self.cgroup)
            .status();
    }
}

#[test]
fn podman_runs_drainit_as_its_init() {
    if let Some(reason) = missing_basics() {
        common::skip(&reason);
        return;
    }
    if !found("podman") {
        common::skip("no podman: bash scripts/deps.sh (scripts/deps.d/engines.txt)");
        return;
    }
    build_image();
    let state = PodmanState {
        dir: common::tempdir("podman"),
        cgroup: format!("/engines-{}", std::process::id()),
    };
    let out = Command::new("bash")
        .arg(script("podman.sh"))
        .arg("setup")
        .arg(&state.dir)
        .arg(drainit_static())
        .output()
        .unwrap();
    assert!(out.status.success(), "podman.sh setup:\n{}", text(&out));
    move_image(
        Command::new("bash")
            .arg(script("podman.sh"))
            .arg("load")
            .arg(&state.dir),
    );
    let cli = vec![
        "bash".to_string(),
        script("podman.sh").display().to_string(),
        state.dir.display().to_string(),
    ];
    let run_args: Vec<String> = [
        "--init",
        "--network",
        "none",
        "--cgroup-parent",
        &state.cgroup,
    ]
    .map(String::from)
    .to_vec();
    // containers.conf `init_path`: plain `--init`.
    let conf = Engine {
        cli: cli.clone(),
        env: vec![],
        run_args: run_args.clone(),
        init_inside: "/run/podman-init",
        init_host: drainit_static(),
    };
    let mut failed = run_checks("podman init_path", &conf, CHECKS);
    // `--init-path` with a containers.conf that names no init.
    let mut flag_args = run_args;
    flag_args.extend(["--init-path".into(), drainit_static().display().to_string()]);
    let flag = Engine {
        cli,
        env: vec![(
            "CONTAINERS_CONF".into(),
            state.dir.join("no-init.conf").display().to_string(),
        )],
        run_args: flag_args,
        init_inside: "/run/podman-init",
        init_host: drainit_static(),
    };
    failed.extend(run_checks(
        "podman --init-path",
        &flag,
        &[
            ("pid1_is_drainit", pid1_is_drainit),
            ("exit_codes", exit_codes),
        ],
    ));
    drop(state);
    assert!(failed.is_empty(), "failed: {failed:?}");
}
