//! Signal routing (issue 12) on real process trees.
//!
//! First group: the library. A real tree is built (dash, bash, busybox sh,
//! Python apps with handlers, `trap` scripts, a pre-fork master), the
//! snapshot is read with `drainit::proctree`, the rule applied with
//! `drainit::supervisor::route`, and the signal sent to what it returns,
//! as the supervisor does in cascade mode. Each test asserts what every
//! process received and that the wrapper survived and ran its remaining
//! commands.
//!
//! Second group (`through_drainit_*`): the same scenarios through the
//! drainit binary as PID 1 of a fresh PID namespace, asserting that
//! drainit exits with the app's own status.

// The lints of src/ that fit a test (unwrap, expect, panic and indexing
// are how a test fails): every unsafe block says why it is sound.
#![deny(clippy::undocumented_unsafe_blocks)]

mod common;

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use common::*;
use drainit::proctree;
use drainit::supervisor::route::{self, Route};
use drainit::supervisor::ChildStatus;

const APP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/routeapp.py");
const LONG: Duration = Duration::from_secs(30);
const TERM: i32 = libc::SIGTERM;
const WINCH: i32 = libc::SIGWINCH;
const QUIT: i32 = libc::SIGQUIT;
const HUP: i32 = libc::SIGHUP;
const INT: i32 = libc::SIGINT;

/// The lines the apps and scripts append to one log file.
struct Log(PathBuf);

impl Log {
    fn new(tag: &str) -> Log {
        Log(tempdir(tag).join("log"))
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("utf-8 temp path")
    }

    fn lines(&self) -> Vec<String> {
        std::fs::read_to_string(&self.0)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn has(&self, line: &str) -> bool {
        self.lines().iter().any(|l| l == line)
    }

    fn wait(&self, line: &str) {
        wait_for(LONG, || self.has(line).then_some(()))
            .unwrap_or_else(|| panic!("never logged {line:?}; log: {:?}", self.lines()));
    }

    /// The pid `NAME ready PID` reported.
    fn ready(&self, name: &str) -> i32 {
        let prefix = format!("{name} ready ");
        wait_for(LONG, || {
            self.lines()
                .iter()
                .find_map(|l| l.strip_prefix(&prefix)?.parse().ok())
        })
        .unwrap_or_else(|| panic!("{name} never got ready; log: {:?}", self.lines()))
    }

    /// Every `NAME got ...` line.
    fn got(&self, name: &str) -> Vec<String> {
        let prefix = format!("{name} got ");
        self.lines()
            .iter()
            .filter_map(|l| l.strip_prefix(&prefix).map(str::to_string))
            .collect()
    }
}

/// `$APP NAME ARGS` in scripts: the app logging to `log`.
fn env_for(cmd: &mut Command, log: &Log) {
    cmd.env("APP", format!("python3 {APP} {}", log.path()))
        .env("LOG", log.path());
}

fn have(program: &str) -> bool {
    // busybox runs its shell as `busybox sh -c`.
    let args: &[&str] = if program == "busybox" {
        &["sh", "-c", "true"]
    } else {
        &["-c", "true"]
    };
    Command::new(program)
        .args(args)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A wrapper started by the test itself, in a process group of its own
/// (an app's `killpg` must not reach the test).
struct Wrapper {
    child: Child,
    log: Log,
}

impl Wrapper {
    fn start(shell: &[&str], script: &str, tag: &str) -> Wrapper {
        let log = Log::new(tag);
        let mut cmd = Command::new(shell[0]);
        cmd.args(&shell[1..]).arg(script).process_group(0);
        env_for(&mut cmd, &log);
        let child = cmd.spawn().expect("spawn the wrapper");
        Wrapper { child, log }
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Waits until every shell in the tree waits for its children: the
    /// moment the rule is about.
    fn settle(&self) {
        settle_shells(self.pid());
    }

    /// Routes `sig` as the supervisor does and sends it; returns the route.
    fn forward(&self, sig: i32) -> Route {
        let r = proctree::route(self.pid(), sig);
        for pid in r.recipients() {
            // SAFETY: kill has no memory effects.
            unsafe { libc::kill(pid, sig) };
        }
        r
    }

    /// The wrapper's status once it has exited, left unreaped until the
    /// wrapper is dropped: its pid, and so its process group's id, stay
    /// its own meanwhile (see `Drop`).
    fn status(&mut self) -> ExitStatus {
        wait_for(LONG, || exited_unreaped(self.pid())).expect("the wrapper never exited")
    }

    fn alive(&mut self) -> bool {
        exited_unreaped(self.pid()).is_none()
    }
}

impl Drop for Wrapper {
    /// Kills what is left of the wrapper's process group (an app, a
    /// helper), then reaps the wrapper. The group's id is the wrapper's
    /// pid, which no other process can have while the wrapper is unreaped.
    fn drop(&mut self) {
        // SAFETY: kill has no memory effects.
        unsafe { libc::kill(-self.pid(), libc::SIGKILL) };
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn settle_shells(root: i32) {
    common::settle_shells(root, LONG);
}

/// `SHELL -c '$APP app ...; echo "sh done $?" >> $LOG'`, signalled by route.
fn one_app(shell: &[&str], app_args: &str, sig: i32, tag: &str) {
    let script = format!("$APP app {app_args}; echo \"sh done $?\" >> $LOG");
    let mut w = Wrapper::start(shell, &script, tag);
    let app = w.log.ready("app");
    w.settle();
    let r = w.forward(sig);
    assert_eq!(r.recipients(), vec![app], "{shell:?}: {r}");
    assert_eq!(r.passed_over(), vec![w.pid()], "{shell:?}: {r}");
    w.log.wait("sh done 0");
    assert_eq!(w.log.got("app"), vec![sig.to_string()], "{shell:?}");
    assert_eq!(
        w.status().code(),
        Some(0),
        "{shell:?}: the wrapper's own status"
    );
}

#[test]
fn dash_wrapper_term_reaches_the_app_and_the_shell_goes_on() {
    one_app(&["sh", "-c"], "", TERM, "dash-term");
}

#[test]
fn bash_and_busybox_wrappers_too() {
    if have("bash") {
        one_app(&["bash", "-c"], "", TERM, "bash-term");
    } else {
        skip("bash is not installed");
    }
    if have("busybox") {
        one_app(&["busybox", "sh", "-c"], "", TERM, "busybox-term");
    } else {
        skip("busybox is not installed (busybox-static)");
    }
}

#[test]
fn winch_that_dash_ignores_reaches_an_httpd_like_app() {
    one_app(&["sh", "-c"], "--stop 28", WINCH, "winch");
}

#[test]
fn quit_that_dash_dies_of_reaches_an_nginx_like_app() {
    one_app(&["sh", "-c"], "--stop 3", QUIT, "quit");
}

#[test]
fn int_that_every_shell_catches_reaches_the_app() {
    one_app(&["sh", "-c"], "--stop 2", INT, "int-dash");
    if have("bash") {
        one_app(&["bash", "-c"], "--stop 2", INT, "int-bash");
    }
    if have("busybox") {
        one_app(&["busybox", "sh", "-c"], "--stop 2", INT, "int-busybox");
    }
}

#[test]
fn hup_reload_reaches_the_app_and_nothing_stops() {
    let mut w = Wrapper::start(
        &["sh", "-c"],
        "$APP app --also 1; echo \"sh done $?\" >> $LOG",
        "hup",
    );
    let app = w.log.ready("app");
    w.settle();
    assert_eq!(w.forward(HUP).recipients(), vec![app]);
    wait_for(LONG, || (!w.log.got("app").is_empty()).then_some(())).expect("no HUP");
    assert_eq!(w.log.got("app"), vec!["1"]);
    assert!(w.alive(), "the wrapper survived HUP");
    w.settle();
    w.forward(TERM);
    w.log.wait("sh done 0");
    assert_eq!(w.status().code(), Some(0));
}

#[test]
fn sh_to_bash_to_app() {
    if !have("bash") {
        skip("bash is not installed");
        return;
    }
    let script = "bash -c '$APP app; echo \"bash done $?\" >> $LOG'; echo \"sh done $?\" >> $LOG";
    let mut w = Wrapper::start(&["sh", "-c"], script, "nested");
    let app = w.log.ready("app");
    w.settle();
    let r = w.forward(TERM);
    assert_eq!(r.recipients(), vec![app], "{r}");
    assert_eq!(r.passed_over().len(), 2, "{r}");
    w.log.wait("sh done 0");
    assert!(w.log.has("bash done 0"));
    assert_eq!(w.status().code(), Some(0));
}

#[test]
fn a_wrapper_running_two_apps_gives_each_its_signal() {
    let script = "$APP a & $APP b & wait; echo \"sh done\" >> $LOG";
    let mut w = Wrapper::start(&["sh", "-c"], script, "two");
    let (a, b) = (w.log.ready("a"), w.log.ready("b"));
    w.settle();
    let mut got = w.forward(TERM).recipients();
    got.sort_unstable();
    let mut want = vec![a, b];
    want.sort_unstable();
    assert_eq!(got, want);
    w.log.wait("sh done");
    assert_eq!(w.log.got("a"), vec!["15"]);
    assert_eq!(w.log.got("b"), vec!["15"]);
    assert_eq!(w.status().code(), Some(0));
}

#[test]
fn a_pre_fork_master_behind_a_wrapper_stops_its_own_workers() {
    let mut w = Wrapper::start(
        &["sh", "-c"],
        "$APP master --workers 2; echo \"sh done $?\" >> $LOG",
        "prefork",
    );
    let master = w.log.ready("master");
    w.log.ready("master.w1");
    w.log.ready("master.w2");
    w.settle();
    assert_eq!(w.forward(TERM).recipients(), vec![master]);
    w.log.wait("sh done 0");
    let from_master = vec![format!("15 from {master}")];
    assert_eq!(
        w.log.got("master.w1"),
        from_master,
        "only the master signals its workers"
    );
    assert_eq!(w.log.got("master.w2"), from_master);
    assert_eq!(w.status().code(), Some(0));
}

#[test]
fn a_script_with_a_trap_owns_its_subtree() {
    let script = "trap 'kill -TERM $pid; wait $pid; echo \"trap done $?\" >> $LOG; exit 0' TERM; \
                  $APP app & pid=$!; wait $pid";
    let mut w = Wrapper::start(&["sh", "-c"], script, "trap");
    w.log.ready("app");
    w.settle();
    assert_eq!(
        w.forward(TERM).recipients(),
        vec![w.pid()],
        "the trap's shell"
    );
    w.log.wait("trap done 0");
    assert_eq!(w.log.got("app"), vec!["15"], "once, from the trap");
    assert_eq!(w.status().code(), Some(0));
}

#[test]
fn an_app_without_a_handler_dies_as_if_execd_and_its_helper_gets_nothing() {
    let mut w = Wrapper::start(
        &["sh", "-c"],
        "$APP app --no-handler --helper; echo \"sh done $?\" >> $LOG",
        "helper",
    );
    let app = w.log.ready("app");
    let helper = w.log.ready("app.helper");
    w.settle();
    assert_eq!(w.forward(TERM).recipients(), vec![app]);
    w.log.wait("sh done 143");
    assert!(w.log.got("app.helper").is_empty(), "the helper got nothing");
    // SAFETY: kill has no memory effects.
    unsafe { libc::kill(helper, libc::SIGKILL) };
    assert_eq!(
        w.status().code(),
        Some(0),
        "echo was the script's last command"
    );
}

fn state(pid: i32) -> char {
    proctree::read(pid).map_or('?', |p| p.state)
}

/// How many times `pid` has gone to sleep (voluntary context switches).
fn sleeps(pid: i32) -> u64 {
    status_field(pid, "voluntary_ctxt_switches").expect("the shell's status")
}

/// Waits until the wrapper shell, asleep `before` times when the app last
/// changed state, has been woken by that change's SIGCHLD (dash and
/// busybox catch it) and waits again: routed a moment earlier, a signal
/// would find it awake and be its own.
fn rewaited(w: &Wrapper, before: u64) {
    wait_for(LONG, || {
        let p = proctree::read(w.pid())?;
        (sleeps(w.pid()) > before && p.waiting()).then_some(())
    })
    .expect("the shell never waited again");
}

#[test]
fn tstp_stops_the_app_not_the_wrapper_and_cont_resumes_it() {
    let mut w = Wrapper::start(
        &["sh", "-c"],
        "$APP app --no-handler; echo \"sh done $?\" >> $LOG",
        "tstp",
    );
    let app = w.log.ready("app");
    w.settle();
    let before = sleeps(w.pid());
    assert_eq!(w.forward(libc::SIGTSTP).recipients(), vec![app]);
    wait_for(LONG, || (state(app) == 'T').then_some(())).expect("the app never stopped");
    // The shell is woken by the SIGCHLD of the stop, and waits on.
    rewaited(&w, before);
    assert!(w.alive());
    let before = sleeps(w.pid());
    assert_eq!(w.forward(libc::SIGCONT).recipients(), vec![app]);
    wait_for(LONG, || (state(app) != 'T').then_some(())).expect("never resumed");
    rewaited(&w, before);
    // A stopped app gets TERM too, as exec'd. The kernel ends a stopped
    // process at once for a signal whose default action is fatal, so the
    // app may be gone right after: where CONT goes is decided while it is
    // stopped, and CONT goes there through a pidfd.
    let before = sleeps(w.pid());
    // SAFETY: kill has no memory effects.
    unsafe { libc::kill(app, libc::SIGSTOP) };
    wait_for(LONG, || (state(app) == 'T').then_some(())).expect("never stopped");
    rewaited(&w, before);
    let cont = proctree::route(w.pid(), libc::SIGCONT);
    assert_eq!(cont.recipients(), vec![app]);
    let app_fd = Pidfd::open(app).expect("the stopped app");
    assert_eq!(w.forward(TERM).recipients(), vec![app]);
    app_fd.signal(libc::SIGCONT);
    w.log.wait("sh done 143");
    assert_eq!(w.status().code(), Some(0));
}

#[test]
fn a_pipeline_gives_every_process_the_shell_waits_for_the_signal() {
    let mut w = Wrapper::start(
        &["sh", "-c"],
        "$APP app | cat; echo \"sh done\" >> $LOG",
        "pipe",
    );
    let app = w.log.ready("app");
    w.settle();
    let r = w.forward(TERM);
    assert!(r.recipients().contains(&app), "{r}");
    assert_eq!(r.recipients().len(), 2, "app and cat: {r}");
    w.log.wait("sh done");
    assert_eq!(w.status().code(), Some(0));
}

const REAPER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/reaper.py");

/// A wrapper started under a subreaper of its own (tests/fixtures/reaper.py),
/// so an app orphaned by its wrapper's death is re-parented to it and its
/// status can be read, as drainit does. The test process itself never
/// becomes a subreaper: that would last for the whole process and collect
/// every other test's orphans.
struct Reaped {
    reaper: Child,
    out: PathBuf,
    wrapper: i32,
    log: Log,
}

impl Reaped {
    fn start(script: &str, tag: &str) -> Reaped {
        let log = Log::new(tag);
        let out = log.0.with_file_name("reaped");
        let mut cmd = Command::new("python3");
        cmd.args([
            REAPER,
            out.to_str().expect("utf-8 temp path"),
            "sh",
            "-c",
            script,
        ]);
        env_for(&mut cmd, &log);
        let reaper = cmd.spawn().expect("spawn reaper.py");
        let lines = || std::fs::read_to_string(&out).unwrap_or_default();
        let wrapper = wait_for(LONG, || {
            lines()
                .lines()
                .find_map(|l| l.strip_prefix("child ")?.parse().ok())
        })
        .expect("reaper.py never started the wrapper");
        Reaped {
            reaper,
            out,
            wrapper,
            log,
        }
    }

    /// The status reaper.py reaped PID with, once it has.
    fn status(&self, pid: i32) -> ChildStatus {
        let prefix = format!("reaped {pid} ");
        wait_for(LONG, || {
            let text = std::fs::read_to_string(&self.out).unwrap_or_default();
            let line = text.lines().find_map(|l| l.strip_prefix(&prefix))?;
            let (how, n) = line.split_once(' ')?;
            let n = n.parse().ok()?;
            match how {
                "exited" => Some(ChildStatus::Exited(n)),
                "signaled" => Some(ChildStatus::Signaled(n)),
                _ => None,
            }
        })
        .unwrap_or_else(|| panic!("{pid} was never reaped by reaper.py"))
    }

    fn settle(&self) {
        settle_shells(self.wrapper);
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        // SAFETY: kill has no memory effects; the reaper is this test's
        // own unreaped child, and kills and reaps what it still has.
        unsafe { libc::kill(self.reaper.id() as i32, libc::SIGTERM) };
        let _ = self.reaper.wait();
    }
}

#[test]
fn an_app_killing_its_process_group_kills_the_wrapper_and_its_own_status_is_reported() {
    let w = Reaped::start(
        "$APP httpd --stop 28 --killpg 15; echo \"sh done $?\" >> $LOG",
        "killpg",
    );
    let httpd = w.log.ready("httpd");
    w.settle();
    let r = proctree::route(w.wrapper, WINCH);
    assert_eq!(r.recipients(), vec![httpd]);
    for pid in r.recipients() {
        // SAFETY: kill has no memory effects.
        unsafe { libc::kill(pid, WINCH) };
    }
    let main = w.status(w.wrapper);
    assert_eq!(
        main,
        ChildStatus::Signaled(TERM),
        "the wrapper was expected to die of httpd's killpg"
    );
    assert!(
        !w.log.has("sh done 0"),
        "the wrapper's remaining commands did not run"
    );
    // httpd outlives the wrapper (it waits for it to be gone), so the
    // subreaper reaps it, as drainit does.
    let app = w.status(httpd);
    assert_eq!(app, ChildStatus::Exited(0));
    assert!(w.log.has("httpd exit 0"));
    assert_eq!(
        route::reported_status(main, Some(&r), &[(httpd, app)]),
        ChildStatus::Exited(0),
        "drainit reports httpd's 0, not the wrapper's 143"
    );
}

// ------------------------------------------------- through the drainit binary

/// drainit OPTS -- SHELL -c SCRIPT as PID 1, with the apps logging to `log`.
fn drainit_pid1(opts: &[&str], script: &str, log: &Log) -> Running {
    let child = {
        let mut cmd = Command::new("unshare");
        cmd.args(["--pid", "--fork", "--mount-proc", "--kill-child", drainit()])
            .args(opts)
            .args(["--", "sh", "-c", script])
            .stdin(Stdio::null())
            .stderr(Stdio::piped());
        env_for(&mut cmd, log);
        cmd.spawn().expect("spawn unshare")
    };
    let unshare = child.id() as i32;
    let pid = wait_for(Duration::from_secs(10), || first_child(unshare)).expect("drainit started");
    Running {
        child,
        pid,
        started: std::time::Instant::now(),
    }
}

/// The shell under drainit is waiting for its children.
fn settled_under(r: &Running) {
    settle_shells(r.pid);
}

/// drainit OPTS with `$APP app APP_ARGS; echo "sh done $?"`, stopped with
/// `sig`: returns drainit's exit code.
fn through_drainit(opts: &[&str], app_args: &str, sig: i32, tag: &str) -> (i32, Log) {
    let log = Log::new(tag);
    let script = format!("$APP app {app_args}; echo \"sh done $?\" >> $LOG");
    let mut r = drainit_pid1(opts, &script, &log);
    log.ready("app");
    settled_under(&r);
    r.signal(sig);
    let code = r.code(LONG);
    (code, log)
}

#[test]
fn through_drainit_term_rewritten_to_winch_reaches_httpd_and_exits_0() {
    if need_pidns() {
        return;
    }
    let (code, log) = through_drainit(
        &["--grace", "10s", "-r", "TERM:WINCH"],
        "--stop 28",
        TERM,
        "b-winch",
    );
    assert_eq!(log.got("app"), vec!["28"]);
    assert!(log.has("sh done 0"), "the wrapper ran its last command");
    assert_eq!(code, 0, "the app's status, not 137");
}

#[test]
fn through_drainit_term_rewritten_to_quit_reaches_nginx_and_exits_0() {
    if need_pidns() {
        return;
    }
    let (code, log) = through_drainit(
        &["--grace", "10s", "-r", "TERM:QUIT"],
        "--stop 3",
        TERM,
        "b-quit",
    );
    assert_eq!(log.got("app"), vec!["3"]);
    assert!(log.has("sh done 0"));
    assert_eq!(code, 0, "the app's status, not the shell's 131");
}

#[test]
fn through_drainit_term_behind_a_wrapper_exits_with_the_apps_status() {
    if need_pidns() {
        return;
    }
    let (code, log) = through_drainit(&["--grace", "10s"], "", TERM, "b-term");
    assert_eq!(log.got("app"), vec!["15"]);
    assert!(log.has("sh done 0"));
    assert_eq!(code, 0, "not the shell's 143");
    // The script passes the app's own code on.
    let log = Log::new("b-code");
    let mut r = drainit_pid1(&["--grace", "10s"], "$APP app --code 3; exit $?", &log);
    log.ready("app");
    settled_under(&r);
    r.signal(TERM);
    assert_eq!(r.code(LONG), 3);
}

#[test]
fn through_drainit_int_reaches_the_app_behind_a_wrapper() {
    if need_pidns() {
        return;
    }
    let (code, log) = through_drainit(&["--grace", "10s"], "--stop 2", INT, "b-int");
    assert_eq!(log.got("app"), vec!["2"]);
    assert!(log.has("sh done 0"));
    assert_eq!(code, 0);
}

#[test]
fn through_drainit_hup_reloads_the_app_and_does_not_stop_the_container() {
    if need_pidns() {
        return;
    }
    let log = Log::new("b-hup");
    let mut r = drainit_pid1(
        &["--grace", "10s"],
        "$APP app --also 1; echo \"sh done $?\" >> $LOG",
        &log,
    );
    log.ready("app");
    settled_under(&r);
    r.signal(HUP);
    wait_for(LONG, || (!log.got("app").is_empty()).then_some(())).expect("the app never got HUP");
    assert_eq!(log.got("app"), vec!["1"]);
    assert!(
        r.wait(Duration::from_millis(300)).is_none(),
        "HUP stopped the container"
    );
    r.signal(TERM);
    assert_eq!(r.code(LONG), 0);
    assert!(log.has("sh done 0"));
}

#[test]
fn through_drainit_a_pre_fork_master_behind_a_wrapper_stops_its_own_workers() {
    if need_pidns() {
        return;
    }
    let log = Log::new("b-prefork");
    let mut r = drainit_pid1(
        &["--grace", "10s"],
        "$APP master --workers 2; echo \"sh done $?\" >> $LOG",
        &log,
    );
    let master = log.ready("master");
    // Both workers: a worker that has not blocked its signals yet would
    // die of the master's TERM without a word.
    log.ready("master.w1");
    log.ready("master.w2");
    settled_under(&r);
    r.signal(TERM);
    assert_eq!(r.code(LONG), 0);
    let from_master = vec![format!("15 from {master}")];
    assert_eq!(log.got("master.w1"), from_master);
    assert_eq!(log.got("master.w2"), from_master);
}

#[test]
fn through_drainit_an_orphaned_pre_fork_master_gets_the_stop_signal_its_workers_do_not() {
    if need_pidns() {
        return;
    }
    let log = Log::new("b-orphan");
    // The wrapper exits once the master and both workers are ready (each
    // logs it when its signals are in hand; the workers may come first):
    // the master is a leftover, and gets the stop signal when the wrapper
    // exits.
    let script = "$APP master --workers 2 & \
                  until [ \"$(grep -c -e '^master ready' -e '^master.w[12] ready' $LOG 2>/dev/null)\" = 3 ]; \
                  do sleep 0.05; done; echo \"sh done\" >> $LOG";
    let mut r = drainit_pid1(&["--grace", "10s"], script, &log);
    let master = log.ready("master");
    assert_eq!(r.code(LONG), 0, "the wrapper's status");
    assert!(log.has("master exit 0"));
    let from_master = vec![format!("15 from {master}")];
    assert_eq!(
        log.got("master.w1"),
        from_master,
        "workers signalled by the master only"
    );
    assert_eq!(log.got("master.w2"), from_master);
}

#[test]
fn through_drainit_apache_killpg_kills_the_wrapper_and_httpds_status_is_reported() {
    if need_pidns() {
        return;
    }
    let (code, log) = through_drainit(
        &["--grace", "10s", "-r", "TERM:WINCH"],
        "--stop 28 --killpg 15",
        TERM,
        "b-killpg",
    );
    assert_eq!(log.got("app"), vec!["28"]);
    assert!(log.has("app exit 0"));
    assert!(!log.has("sh done 0"), "the wrapper died of the killpg");
    assert_eq!(code, 0, "httpd's own status, not the wrapper's 143");
}

#[test]
fn through_drainit_group_mode_keeps_its_meaning() {
    if need_pidns() {
        return;
    }
    // -g: the whole group gets WINCH; dash ignores it, the app stops.
    let (code, log) = through_drainit(
        &["-g", "--grace", "10s", "-r", "TERM:WINCH"],
        "--stop 28",
        TERM,
        "b-group",
    );
    assert_eq!(log.got("app"), vec!["28"]);
    assert!(log.has("sh done 0"));
    assert_eq!(code, 0);
}

#[test]
fn through_drainit_single_child_mode_keeps_its_meaning() {
    if need_pidns() {
        return;
    }
    // -c: QUIT goes to the shell only, which dies of it; the app never gets it.
    let (code, log) = through_drainit(
        &["-c", "--grace", "1s", "-r", "TERM:QUIT"],
        "--stop 3",
        TERM,
        "b-single",
    );
    assert_eq!(code, 131, "the shell's death by QUIT");
    assert!(
        log.got("app").is_empty(),
        "-c never signals what the child leaves behind"
    );
    assert!(!log.has("sh done 0"));
}
