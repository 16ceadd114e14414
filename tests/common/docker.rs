//! The Docker container harness every Docker suite shares (tests/docker.rs,
//! tests/limits.rs): the `docker` CLI, the engine and binaries check, and a
//! container removed by a Drop guard, panics included.
//!
//! The engine here has no images and no registry: each suite builds its own
//! image FROM scratch out of static binaries and passes `need` a builder.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// `docker ARGS`, its output captured.
pub fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run docker")
}

/// `docker ARGS`, failing the test unless it succeeds: its stdout, trimmed.
pub fn docker_ok(args: &[&str]) -> String {
    let out = docker(args);
    assert!(
        out.status.success(),
        "docker {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// True when the test must return early: no Docker engine answers or the
/// static binaries (`make static`) are missing; skipped with the reason
/// (a failure under DRAINIT_REQUIRE_ALL=1). Then builds the suite's image
/// once per test process with `build`, failing the test if it cannot.
pub fn need(image: &str, build: fn() -> Result<(), String>) -> bool {
    static ENGINE: OnceLock<bool> = OnceLock::new();
    let engine = *ENGINE.get_or_init(|| {
        Command::new("docker")
            .arg("info")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    if !engine {
        return super::skip("no Docker engine answers (`docker info` failed)");
    }
    for bin in ["drainit", "drainit-demo"] {
        let p = super::static_dir().join(bin);
        if !p.exists() {
            return super::skip(&format!("{} is missing: run `make static`", p.display()));
        }
    }
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    if let Err(e) = BUILT.get_or_init(|| locked_build(build)) {
        panic!("building {image} failed:\n{e}");
    }
    false
}

/// Runs an image build holding an exclusive lock shared by every test
/// process: each test runs in a process of its own (nextest), and each
/// builds its suite's image once (a cached, quick build after the first);
/// two at once would only duplicate the work.
pub fn locked_build(build: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    use std::os::fd::AsRawFd;
    let path = std::env::temp_dir().join("drainit-it-docker-build.lock");
    let lock = std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    // SAFETY: flock on a descriptor this function owns; released when
    // `lock` is closed on return.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(format!(
            "flock {}: {}",
            path.display(),
            std::io::Error::last_os_error()
        ));
    }
    build()
}

/// Busybox from Debian's busybox-static, for a shell in images FROM scratch.
pub fn busybox() -> Result<PathBuf, String> {
    ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .ok_or_else(|| "busybox-static is not installed".to_string())
}

/// Containers named `PREFIX-TESTPID-TAG-N`, labelled `drainit-test=1`.
pub struct Harness {
    pub prefix: &'static str,
}

impl Harness {
    /// A name no other container of any test run has.
    pub fn unique(&self, tag: &str) -> String {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        format!("{}-{}-{tag}-{n}", self.prefix, std::process::id())
    }

    /// A name for a container the test runs itself; removed on drop.
    pub fn reserve(&self, tag: &str) -> Container {
        Container {
            name: self.unique(tag),
        }
    }

    /// `docker run -d --name NAME OPTS...`: OPTS end with the image and
    /// the command.
    pub fn start(&self, tag: &str, args: &[&str]) -> Container {
        let c = self.reserve(tag);
        let mut full = vec!["run", "-d", "--name", &c.name, "--label", "drainit-test=1"];
        full.extend_from_slice(args);
        docker_ok(&full);
        c
    }

    /// `docker run` in the foreground: (exit code, logs). Removed on return.
    pub fn run(&self, tag: &str, args: &[&str]) -> (i32, String) {
        let c = self.reserve(tag);
        let mut full = vec!["run", "--name", &c.name, "--label", "drainit-test=1"];
        full.extend_from_slice(args);
        let out = docker(&full);
        assert!(
            c.exists(),
            "container did not run: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        (c.exit_code(), c.logs())
    }

    /// `docker run -d`, then waits up to `limit` for it to stop (a hang
    /// detector): (exit code, logs). Removed on return.
    pub fn run_detached(&self, tag: &str, args: &[&str], limit: Duration) -> (i32, String) {
        let c = self.start(tag, args);
        let code = c.wait_exit(limit);
        (code, c.logs())
    }
}

/// A container removed on drop (`docker rm -f -v`), panics included.
pub struct Container {
    pub name: String,
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "-f", "-v", &self.name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

impl Container {
    pub fn exists(&self) -> bool {
        docker(&["inspect", &self.name]).status.success()
    }

    /// `docker inspect -f FORMAT`.
    pub fn inspect(&self, format: &str) -> String {
        docker_ok(&["inspect", "-f", format, &self.name])
    }

    /// "127.0.0.1:PORT" published for the container port.
    pub fn addr(&self, port: u16) -> String {
        let out = docker_ok(&["port", &self.name, &port.to_string()]);
        out.lines()
            .find(|l| l.starts_with("127.0.0.1:"))
            .unwrap_or_else(|| panic!("port {port} not published on 127.0.0.1: {out}"))
            .to_string()
    }

    /// stdout and stderr, as `docker logs` gives them.
    pub fn logs(&self) -> String {
        let out = docker(&["logs", &self.name]);
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    pub fn wait_log(&self, needle: &str, limit: Duration) {
        if super::wait_for(limit, || self.logs().contains(needle).then_some(())).is_none() {
            panic!(
                "{needle:?} never appeared in the logs of {}:\n{}",
                self.name,
                self.logs()
            );
        }
    }

    pub fn exit_code(&self) -> i32 {
        self.inspect("{{.State.ExitCode}}").parse().unwrap()
    }

    /// The host pid of the container's PID 1.
    pub fn host_pid(&self) -> i32 {
        self.inspect("{{.State.Pid}}").parse().unwrap()
    }

    /// `docker stop -t T`: how long it took.
    pub fn stop(&self, timeout: u32) -> Duration {
        let t = Instant::now();
        docker_ok(&["stop", "-t", &timeout.to_string(), &self.name]);
        t.elapsed()
    }

    /// `docker kill -s SIG`.
    pub fn kill(&self, sig: &str) {
        docker_ok(&["kill", "-s", sig, &self.name]);
    }

    /// Waits up to `limit` for the container to stop (a hang detector, not
    /// a timing limit): its exit code.
    pub fn wait_exit(&self, limit: Duration) -> i32 {
        let done = || (self.inspect("{{.State.Running}}") == "false").then_some(());
        if super::wait_for(limit, done).is_none() {
            panic!(
                "{} still running after {limit:?}:\n{}",
                self.name,
                self.logs()
            );
        }
        self.exit_code()
    }

    /// A file from the container (running or stopped), via `docker cp`.
    pub fn file(&self, path: &str) -> Option<String> {
        let dir = super::tempdir("cp");
        let dest = dir.join("f");
        let ok = docker(&[
            "cp",
            &format!("{}:{path}", self.name),
            dest.to_str().unwrap(),
        ])
        .status
        .success();
        let text = ok.then(|| std::fs::read_to_string(&dest).unwrap_or_default());
        let _ = std::fs::remove_dir_all(dir);
        text
    }
}

/// A Compose project of docker/examples/compose.yaml (plus override files),
/// run by `docker compose` or `docker-compose`, whichever is installed,
/// with the example's variables set; `down` on drop, panics included.
pub struct Compose {
    bin: Vec<&'static str>,
    files: Vec<PathBuf>,
    project: String,
    env: Vec<(&'static str, String)>,
}

impl Compose {
    /// `None` when no Compose tool is installed.
    pub fn new(project: &str, files: &[PathBuf], env: &[(&'static str, String)]) -> Option<Self> {
        let works = |cmd: &[&str]| {
            Command::new(cmd[0])
                .args(&cmd[1..])
                .arg("version")
                .output()
                .is_ok_and(|o| o.status.success())
        };
        let bin = [vec!["docker", "compose"], vec!["docker-compose"]]
            .into_iter()
            .find(|b| works(b))?;
        Some(Self {
            bin,
            files: files.to_vec(),
            project: project.into(),
            env: env.to_vec(),
        })
    }

    /// docker/examples/compose.yaml and `overrides`, the app's image and
    /// its two ports published on 127.0.0.1 (`APP_IMAGE`, `APP_PORT`,
    /// `READY_PORT`).
    pub fn example(
        project: &str,
        overrides: &[PathBuf],
        image: &str,
        app_port: u16,
        ready_port: u16,
    ) -> Option<Self> {
        let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docker/examples");
        let mut files = vec![examples.join("compose.yaml")];
        files.extend_from_slice(overrides);
        Self::new(
            project,
            &files,
            &[
                ("APP_IMAGE", image.into()),
                ("APP_PORT", format!("127.0.0.1:{app_port}")),
                ("READY_PORT", format!("127.0.0.1:{ready_port}")),
            ],
        )
    }

    /// `COMPOSE -f FILE... -p PROJECT ARGS`, its output captured.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(self.bin[0]);
        cmd.args(&self.bin[1..]);
        for f in &self.files {
            cmd.arg("-f").arg(f);
        }
        cmd.args(["-p", &self.project]).args(args);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd.output().expect("compose runs")
    }
}

impl Drop for Compose {
    fn drop(&mut self) {
        let _ = self.run(&["down", "-v", "-t", "1"]);
    }
}
