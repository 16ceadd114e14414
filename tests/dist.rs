//! The release artifacts of `make dist`, installed and run the way users
//! get them: each static binary (foreign ones through binfmt_misc and
//! qemu-user), the .deb through apt in a clean Debian root, the wheel from
//! a fresh venv, the crate through `cargo install`, the images through
//! Docker (arm64 emulated), the README's `COPY --from=` recipe, the
//! checksums, and the absence of build paths.
//!
//! They need dist/ (`make dist`) and the set-up of scripts/dist-test-setup.sh,
//! so they are ignored by `cargo test` and run by `make dist-test`
//! (`cargo test --release --test dist -- --ignored`).

// The lints of src/ that fit a test (unwrap, expect, panic and indexing
// are how a test fails): every unsafe block says why it is sound.
#![deny(clippy::undocumented_unsafe_blocks)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::*;

const VERSION: &str = env!("CARGO_PKG_VERSION");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const DEBIAN_IMAGE: &str = "dist-debian:bookworm";

/// (file-name arch, Debian arch, Docker platform, musl target, gnu
/// target and Debian's triple for its cross C library): make dist builds
/// the musl target when its std is installed, else the gnu one as a static
/// glibc binary when its std and Debian's cross libc are installed
/// (scripts/dist-env.sh, dist_link_flags).
type Arch = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<(&'static str, &'static str)>,
);
const ARCHES: &[Arch] = &[
    (
        "x86_64",
        "amd64",
        "linux/amd64",
        "x86_64-unknown-linux-musl",
        None,
    ),
    (
        "aarch64",
        "arm64",
        "linux/arm64",
        "aarch64-unknown-linux-musl",
        None,
    ),
    (
        "armv7",
        "armhf",
        "linux/arm/v7",
        "armv7-unknown-linux-musleabihf",
        Some(("armv7-unknown-linux-gnueabihf", "arm-linux-gnueabihf")),
    ),
    ("i686", "i386", "linux/386", "i686-unknown-linux-musl", None),
    (
        "riscv64",
        "riscv64",
        "linux/riscv64",
        "riscv64gc-unknown-linux-musl",
        Some(("riscv64gc-unknown-linux-gnu", "riscv64-linux-gnu")),
    ),
    (
        "ppc64le",
        "ppc64el",
        "linux/ppc64le",
        "powerpc64le-unknown-linux-musl",
        Some(("powerpc64le-unknown-linux-gnu", "powerpc64le-linux-gnu")),
    ),
    (
        "loongarch64",
        "loong64",
        "linux/loong64",
        "loongarch64-unknown-linux-musl",
        None,
    ),
    (
        "s390x",
        "s390x",
        "linux/s390x",
        "",
        Some(("s390x-unknown-linux-gnu", "s390x-linux-gnu")),
    ),
];

fn dist() -> PathBuf {
    std::env::var_os("DRAINIT_DIST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(ROOT).join("dist"))
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The architectures `make dist` built here: those whose rustup std is
/// installed (scripts/dist.sh says which it skipped and why), or those in
/// DRAINIT_DIST_ARCHES (comma-separated, as scripts/ci-dist.sh sets it).
fn built_arches() -> Vec<(&'static str, &'static str, &'static str)> {
    let wanted = std::env::var("DRAINIT_DIST_ARCHES").ok();
    let installed =
        text(&run(Command::new("rustup").args(["target", "list", "--installed"])).stdout);
    let arches: Vec<_> = ARCHES
        .iter()
        .filter(|a| match &wanted {
            Some(w) => w.split(',').any(|x| x == a.0),
            None => {
                installed.lines().any(|l| l == a.3)
                    || a.4.is_some_and(|(gnu, triple)| {
                        installed.lines().any(|l| l == gnu)
                            && Path::new(&format!("/usr/{triple}/lib/libc.a")).is_file()
                    })
            }
        })
        .map(|a| (a.0, a.1, a.2))
        .collect();
    assert!(
        arches.iter().any(|a| a.0 == "x86_64"),
        "no x86_64 musl target installed: run make deps"
    );
    arches
}

fn binary(arch: &str) -> PathBuf {
    let p = dist().join(format!("drainit-{VERSION}-{arch}"));
    assert!(p.is_file(), "{} missing: run make dist", p.display());
    p
}

/// The architectures whose drainit-drill make dist put beside drainit in
/// the .deb, the wheel and the images: DRAINIT_DIST_DRILL_ARCHES
/// (comma-separated; scripts/ci-dist.sh builds x86_64's only unless told),
/// else every built one.
fn drill_arches() -> Vec<&'static str> {
    let wanted = std::env::var("DRAINIT_DIST_DRILL_ARCHES").ok();
    built_arches()
        .into_iter()
        .map(|a| a.0)
        .filter(|a| {
            wanted
                .as_ref()
                .is_none_or(|w| w.split(',').any(|x| x == *a))
        })
        .collect()
}

/// What `drainit-drill --version` prints, and a line of its --help that
/// `drainit drill --help` must reach.
fn drill_version() -> String {
    format!("drainit drill {VERSION}")
}
const DRILL_HELP: &str = "count the dropped requests";

fn head_commit() -> String {
    let out = run(Command::new("git").args(["-C", ROOT, "rev-parse", "--short=7", "HEAD"]));
    assert!(out.status.success(), "git rev-parse failed");
    text(&out.stdout).trim().to_string()
}

/// The command of the README's Install block that starts with `prefix`,
/// as words: the tests run these very lines.
fn readme_install(prefix: &str) -> Vec<String> {
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).unwrap();
    let install = readme
        .split("## Install\n")
        .nth(1)
        .expect("no ## Install in README.md");
    let block = install
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("no ```sh block in README.md's Install");
    let line = block
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("README.md's Install has no line starting {prefix:?}"));
    line.split_whitespace().map(String::from).collect()
}

fn docker() -> bool {
    let ok = run(Command::new("docker").arg("info")).status.success();
    ok || skip("no Docker engine answers")
}

/// Each binary, as PID 1 of a new PID namespace: its child sees PPID 1,
/// the child's exit code comes back, a signal sent to drainit reaches the
/// child, and an orphan is reaped. Foreign ones run through binfmt_misc.
#[test]
#[ignore = "needs make dist; run by make dist-test"]
fn every_static_binary_runs_as_pid1() {
    if need_pidns() {
        return;
    }
    for (arch, _, _) in built_arches() {
        let bin = binary(arch);
        let bin = bin.to_str().unwrap();
        let out = run(Command::new("file").arg(bin));
        assert!(
            text(&out.stdout).contains("statically linked"),
            "{arch}: {}",
            text(&out.stdout)
        );

        let out = run(Command::new("unshare").args([
            "--pid",
            "--fork",
            "--mount-proc",
            bin,
            "--",
            "sh",
            "-c",
            "echo ppid=$PPID; exit 7",
        ]));
        assert_eq!(out.status.code(), Some(7), "{arch}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout).trim(), "ppid=1", "{arch}");

        // An orphan (the backgrounded sleep) is left to PID 1; drainit
        // reaps it and exits with the child's code once all is gone.
        let dir = tempdir(&format!("dist-{arch}"));
        let marker = dir.join("got-term");
        let script = format!(
            "(sleep 0.1 &); trap 'echo term > {m}; exit 9' TERM; echo up > {m}.up; \
             while :; do sleep 0.05; done",
            m = marker.display()
        );
        let mut r = pid1_of(bin, &["sh", "-c", &script]);
        let up = dir.join("got-term.up");
        assert!(
            wait_for(std::time::Duration::from_secs(30), || up
                .exists()
                .then_some(()))
            .is_some(),
            "{arch}: the child did not start"
        );
        r.signal(libc::SIGTERM);
        assert_eq!(
            r.code(std::time::Duration::from_secs(30)),
            9,
            "{arch}: {}",
            r.stderr()
        );
        assert_eq!(
            std::fs::read_to_string(&marker).unwrap().trim(),
            "term",
            "{arch}"
        );
    }
}

/// Each binary's drain hook, to a host name: `localhost` comes from
/// /etc/hosts through the C library's getaddrinfo (musl's, or the files
/// module built into the static glibc), and the POST arrives when the
/// drain starts, before the stop signal.
#[test]
#[ignore = "needs make dist; run by make dist-test"]
fn every_static_binary_posts_its_drain_hook_to_a_host_name() {
    if need_pidns() {
        return;
    }
    for (arch, _, _) in built_arches() {
        let bin = binary(arch);
        let bin = bin.to_str().unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!(
            "http://localhost:{}/drain",
            listener.local_addr().unwrap().port()
        );
        let dir = tempdir(&format!("dist-hook-{arch}"));
        let up = dir.join("up");
        let script = format!(
            "trap 'exit 9' TERM; echo up > {}; while :; do sleep 0.05; done",
            up.display()
        );
        let mut r = pid1_with(
            bin,
            &["--drain-url", &url, "--drain-delay", "2s"],
            &["sh", "-c", &script],
        );
        assert!(
            wait_for(std::time::Duration::from_secs(30), || up
                .exists()
                .then_some(()))
            .is_some(),
            "{arch}: the child did not start"
        );
        r.signal(libc::SIGTERM);
        let (mut conn, _) = wait_for(std::time::Duration::from_secs(30), || {
            listener.accept().ok()
        })
        .unwrap_or_else(|| panic!("{arch}: no drain hook came: {}", r.stderr()));
        conn.set_nonblocking(false).unwrap();
        conn.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = std::io::Read::read(&mut conn, &mut buf).unwrap();
            assert!(n > 0, "{arch}: {}", text(&request));
            request.extend_from_slice(&buf[..n]);
        }
        std::io::Write::write_all(
            &mut conn,
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        )
        .unwrap();
        drop(conn);
        let request = text(&request);
        assert!(
            request.starts_with("POST /drain HTTP/1.1\r\n"),
            "{arch}: {request}"
        );
        assert!(
            request
                .to_ascii_lowercase()
                .contains("\r\nhost: localhost:"),
            "{arch}: {request}"
        );
        assert_eq!(
            r.code(std::time::Duration::from_secs(30)),
            9,
            "{arch}: {}",
            r.stderr()
        );
    }
}

/// Like Running::pid1 but for a given binary (Running::pid1 runs the one
/// cargo built for this test).
fn pid1_of(bin: &str, args: &[&str]) -> Running {
    pid1_with(bin, &[], args)
}

/// pid1_of with drainit's own options before the command.
fn pid1_with(bin: &str, opts: &[&str], args: &[&str]) -> Running {
    let child = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "--kill-child", bin])
        .args(opts)
        .arg("--")
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn unshare");
    let unshare = child.id() as i32;
    let pid = wait_for(std::time::Duration::from_secs(30), || first_child(unshare))
        .expect("drainit did not start under unshare");
    Running {
        child,
        pid,
        started: std::time::Instant::now(),
    }
}

/// `drainit --version` names the version and the commit in tini's shape
/// (`- git.COMMIT`, which Docker parses), on every architecture.
#[test]
#[ignore = "needs make dist; run by make dist-test"]
fn version_names_the_git_commit() {
    let want = format!("drainit {VERSION} - git.{}", head_commit());
    for (arch, _, _) in built_arches() {
        let out = run(Command::new(binary(arch)).arg("--version"));
        assert!(out.status.success(), "{arch}");
        let line = text(&out.stdout);
        assert!(
            line.starts_with(&want),
            "{arch}: {line:?} is not {want:?}[-dirty]"
        );
    }
}

/// SHA256SUMS lists every file in dist/ and each sum matches.
#[test]
#[ignore = "needs make dist; run by make dist-test"]
fn sha256sums_cover_every_artifact() {
    let sums =
        std::fs::read_to_string(dist().join("SHA256SUMS")).expect("dist/SHA256SUMS: run make dist");
    let listed: Vec<&str> = sums
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    let mut files: Vec<String> = std::fs::read_dir(dist())
        .unwrap()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "SHA256SUMS")
        .collect();
    files.sort();
    assert_eq!(
        listed, files,
        "SHA256SUMS does not list exactly dist/'s files"
    );
    for kind in [".deb", ".whl", ".crate", "-x86_64", "-aarch64"] {
        assert!(
            files.iter().any(|f| f.contains(kind)),
            "no {kind} artifact in dist/"
        );
    }
    let out = run(Command::new("sha256sum")
        .args(["--check", "--strict", "SHA256SUMS"])
        .current_dir(dist()));
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// No path of the build machine in any binary, drainit-drill's too (panic locations of
/// dependencies would otherwise name ~/.cargo/registry and the checkout).
#[test]
#[ignore = "needs make dist; run by make dist-test"]
fn binaries_carry_no_build_paths() {
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let drills = drill_arches();
    let bins = built_arches().into_iter().flat_map(|(arch, _, _)| {
        let drill = dist().join(format!("drainit-drill-{VERSION}-{arch}"));
        std::iter::once(binary(arch)).chain(drills.contains(&arch).then(|| {
            assert!(
                drill.is_file(),
                "{} missing: run make dist",
                drill.display()
            );
            drill
        }))
    });
    for bin in bins {
        let arch = bin.display();
        let out = run(Command::new("strings").arg(&bin));
        let strings = text(&out.stdout);
        for needle in [ROOT, home.as_str(), "/.cargo/registry", "/work/"] {
            let hit = strings.lines().find(|l| l.contains(needle));
            assert!(hit.is_none(), "{arch}: build path {needle:?} in {hit:?}");
        }
    }
}

/// apt-get install ./drainit_VERSION_ARCH.deb in a clean Debian root, for
/// every architecture (foreign ones as a dpkg foreign architecture, run
/// through binfmt_misc); the man page, completions and docs are where
/// Debian looks for them, and the installed drainit runs.
#[test]
#[ignore = "needs make dist and scripts/dist-test-setup.sh; run by make dist-test"]
fn deb_installs_with_apt_in_a_clean_debian() {
    if !docker() {
        return;
    }
    // The README's binary lines first, then its apt line for each .deb.
    let mut script = format!(
        "set -e; cd /dist\n{} >/dev/null\n{}\necho \"binary: $(/usr/local/bin/drainit --version)\"\n",
        readme_install("sha256sum").join(" "),
        readme_install("install -m 0755").join(" "),
    );
    let apt = readme_install("apt-get install").join(" ");
    assert_eq!(
        apt,
        format!("apt-get install -y ./drainit_{VERSION}_amd64.deb")
    );
    let drills = drill_arches();
    for (arch, deb, _) in built_arches() {
        let apt = apt.replace("_amd64.deb", &format!("_{deb}.deb"));
        // drainit-drill is a package of its own that depends on drainit:
        // apt installs the two together, and `drainit drill` reaches it.
        let drill = if drills.contains(&arch) {
            format!(
                "apt-get install -y ./drainit-drill_{VERSION}_{deb}.deb >/tmp/apt.log 2>&1 || {{ cat /tmp/apt.log; exit 1; }}\n\
                 echo \"{arch}: drill $(dpkg-query -W -f '${{Depends}}' drainit-drill) $(command -v drainit-drill) $(drainit-drill --version)\"\n\
                 drainit drill --help | grep -q \"{DRILL_HELP}\" && echo \"{arch}: drainit drill --help reaches it\"\n\
                 test -s /usr/share/doc/drainit-drill/drill.md\n\
                 apt-get remove -y -q drainit-drill >/dev/null 2>&1\n"
            )
        } else {
            String::new()
        };
        script.push_str(&format!(
            "[ {deb} = amd64 ] || dpkg --add-architecture {deb}\n\
             {apt} >/tmp/apt.log 2>&1 || {{ cat /tmp/apt.log; exit 1; }}\n\
             echo \"{arch}: $(dpkg-query -W -f '${{Architecture}}' drainit) $(drainit --version)\"\n\
             zcat /usr/share/man/man1/drainit.1.gz | grep -q '^.TH drainit 1'\n\
             grep -q drainit /usr/share/bash-completion/completions/drainit\n\
             test -s /usr/share/zsh/vendor-completions/_drainit\n\
             test -s /usr/share/fish/vendor_completions.d/drainit.fish\n\
             grep -q 'MIT License' /usr/share/doc/drainit/copyright\n\
             test -s /usr/share/doc/drainit/README.md\n\
             rc=0; drainit -- sh -c 'exit 3' || rc=$?; echo \"{arch}: exit $rc\"\n\
             {drill}\
             apt-get remove -y -q drainit >/dev/null 2>&1\n"
        ));
    }
    let out = run(Command::new("docker")
        .args(["run", "--rm", "--network", "none", "-v"])
        .arg(format!("{}:/dist:ro", dist().display()))
        .args([DEBIAN_IMAGE, "sh", "-c", &script]));
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    for (arch, deb, _) in built_arches() {
        assert!(
            stdout.contains(&format!("{arch}: {deb} drainit {VERSION}")),
            "{arch}: {stdout}"
        );
        assert!(
            stdout.contains(&format!("{arch}: exit 3")),
            "{arch}: {stdout}"
        );
        if drills.contains(&arch) {
            let want = format!(
                "{arch}: drill drainit (= {VERSION}) /usr/bin/drainit-drill {}",
                drill_version()
            );
            assert!(stdout.contains(&want), "{want:?} not in {stdout}");
            assert!(
                stdout.contains(&format!("{arch}: drainit drill --help reaches it")),
                "{arch}: {stdout}"
            );
        }
    }
}

fn wheel(arch: &str) -> PathBuf {
    let found = std::fs::read_dir(dist())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            n.ends_with(".whl") && n.contains(&format!("musllinux_1_2_{arch}"))
        });
    found.unwrap_or_else(|| panic!("no {arch} wheel in dist/: run make dist"))
}

/// The x86_64 wheel into a fresh venv; its drainit runs as PID 1 of a PID
/// namespace. The wheel carries both tags, like dumb-init's.
#[test]
#[ignore = "needs make dist; run by make dist-test"]
fn wheel_installs_into_a_fresh_venv_and_runs_as_pid1() {
    if need_pidns() {
        return;
    }
    let w = wheel("x86_64");
    let name = w.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.contains("manylinux_2_17_x86_64"),
        "{name}: no manylinux tag"
    );
    let venv = tempdir("venv");
    let out = run(Command::new("python3").args(["-m", "venv"]).arg(&venv));
    assert!(out.status.success(), "venv: {}", text(&out.stderr));
    let pip = readme_install("pip install");
    assert_eq!(
        pip,
        ["pip", "install", name.as_str()],
        "the README's pip line names another wheel"
    );
    // The README's line, offline, with the venv's pip, in dist/.
    let out = run(Command::new(venv.join("bin/pip"))
        .args(&pip[1..])
        .current_dir(dist())
        .env("PIP_NO_INDEX", "1"));
    assert!(out.status.success(), "pip install: {}", text(&out.stderr));
    let bin = venv.join("bin/drainit");
    let out = run(Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc"])
        .arg(&bin)
        .args(["--", "sh", "-c", "echo ppid=$PPID; exit 4"]));
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "ppid=1");
    // The second script: drainit-drill, beside drainit in the venv's bin/.
    let out = run(Command::new(venv.join("bin/drainit-drill")).arg("--version"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), drill_version());
    let out = run(Command::new(&bin).args(["drill", "--help"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(DRILL_HELP),
        "{}",
        text(&out.stdout)
    );
}

/// The aarch64 wheel, installed the way pip does for an arm64 machine
/// (--platform), runs through binfmt_misc.
#[test]
#[ignore = "needs make dist; run by make dist-test"]
fn aarch64_wheel_installs_and_runs_emulated() {
    let w = wheel("aarch64");
    let dir = tempdir("wheel-arm64");
    let out = run(Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "-q",
            "--no-index",
            "--only-binary=:all:",
        ])
        .args(["--platform", "manylinux2014_aarch64", "--target"])
        .arg(&dir)
        .arg(&w));
    assert!(out.status.success(), "pip install: {}", text(&out.stderr));
    let bin = dir.join("bin/drainit");
    let out = run(Command::new("file").arg(&bin));
    assert!(
        text(&out.stdout).contains("aarch64"),
        "{}",
        text(&out.stdout)
    );
    let out = run(Command::new(&bin).args(["--", "sh", "-c", "exit 6"]));
    assert_eq!(out.status.code(), Some(6), "{}", text(&out.stderr));
    if !drill_arches().contains(&"aarch64") {
        return;
    }
    let drill = dir.join("bin/drainit-drill");
    let out = run(Command::new("file").arg(&drill));
    assert!(
        text(&out.stdout).contains("aarch64"),
        "{}",
        text(&out.stdout)
    );
    let out = run(Command::new(&drill).arg("--version"));
    assert_eq!(
        text(&out.stdout).trim(),
        drill_version(),
        "{}",
        text(&out.stderr)
    );
    let out = run(Command::new(&bin).args(["drill", "--help"]));
    assert!(
        text(&out.stdout).contains(DRILL_HELP),
        "{}",
        text(&out.stderr)
    );
}

/// The .crate as crates.io would serve it: unpacked and `cargo install`ed.
/// It has no git, so --version prints the version alone.
#[test]
#[ignore = "needs make dist; run by make dist-test"]
fn crate_installs_with_cargo_install() {
    let krate = dist().join(format!("drainit-{VERSION}.crate"));
    assert!(
        krate.is_file(),
        "{} missing: run make dist",
        krate.display()
    );
    let work = tempdir("crate");
    let out = run(Command::new("tar")
        .arg("-xzf")
        .arg(&krate)
        .arg("-C")
        .arg(&work));
    assert!(out.status.success(), "tar: {}", text(&out.stderr));
    let src = work.join(format!("drainit-{VERSION}"));
    for f in [
        "Cargo.toml",
        "Cargo.lock",
        "README.md",
        "LICENSE",
        "src/main.rs",
    ] {
        assert!(src.join(f).is_file(), "{f} is not in the crate");
    }
    let line = readme_install("cargo install");
    let dir = src.file_name().unwrap().to_str().unwrap();
    assert_eq!(line.last().map(String::as_str), Some(dir), "{line:?}");
    // The README's line where the .crate was unpacked; the install root
    // and the target directory stay out of the user's.
    let out = run(Command::new(&line[0])
        .args(&line[1..])
        .current_dir(&work)
        .env("CARGO_INSTALL_ROOT", &work)
        .env(
            "CARGO_TARGET_DIR",
            Path::new(ROOT).join("target/dist/install"),
        )
        // What is checked is that the crate builds and runs, not how fast
        // it is: no LTO, no optimisation, so the 2-core machine builds it
        // in minutes.
        .env("CARGO_PROFILE_RELEASE_LTO", "false")
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
        .env_remove("DRAINIT_GIT_COMMIT")
        .env_remove("RUSTFLAGS"));
    assert!(out.status.success(), "cargo install: {}", text(&out.stderr));
    let bin = work.join("bin/drainit");
    let out = run(Command::new(&bin).arg("--version"));
    assert_eq!(text(&out.stdout).trim(), format!("drainit {VERSION}"));
    let out = run(Command::new(&bin).args(["--", "sh", "-c", "exit 5"]));
    assert_eq!(out.status.code(), Some(5));
}

fn docker_ok(args: &[&str]) -> Output {
    let out = run(Command::new("docker").args(args));
    assert!(
        out.status.success(),
        "docker {args:?}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

/// drainit:VERSION-x86_64 and -aarch64 are FROM scratch images of their
/// platform; the arm64 one runs through Docker (emulated): drainit as PID 1
/// starts its child and passes its exit code on. drainit:VERSION is this
/// machine's.
#[test]
#[ignore = "needs make dist; run by make dist-test"]
fn images_run_on_their_platforms() {
    if !docker() {
        return;
    }
    for (arch, docker_arch) in [("x86_64", "amd64"), ("aarch64", "arm64")] {
        let tag = format!("drainit:{VERSION}-{arch}");
        let out = docker_ok(&[
            "image",
            "inspect",
            "-f",
            "{{.Architecture}} {{len .RootFS.Layers}}",
            &tag,
        ]);
        assert_eq!(
            text(&out.stdout).trim(),
            format!("{docker_arch} 1"),
            "{tag}"
        );
        let platform = format!("linux/{docker_arch}");
        let name = format!("dist-image-{arch}-{}", std::process::id());
        let out = run(Command::new("docker").args([
            "run",
            "--name",
            &name,
            "--platform",
            &platform,
            &tag,
            "/drainit",
            "--version",
        ]));
        let logs = text(&out.stdout);
        let _ = run(Command::new("docker").args(["rm", "-f", &name]));
        assert!(out.status.success(), "{tag}: {}", text(&out.stderr));
        assert!(
            logs.starts_with(&format!("drainit {VERSION} - git.")),
            "{tag}: {logs}"
        );
        // The image has nothing but /drainit: a missing command is 127.
        let out = run(Command::new("docker").args([
            "run",
            "--rm",
            "--platform",
            &platform,
            &tag,
            "/no-such-app",
        ]));
        assert_eq!(out.status.code(), Some(127), "{tag}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("/no-such-app"),
            "{tag}: {}",
            text(&out.stderr)
        );
        if !drill_arches().contains(&arch) {
            continue;
        }
        // /drainit-drill beside /drainit: run under it as the image's
        // ENTRYPOINT would, and reached by `drainit drill`.
        let out = docker_ok(&[
            "run",
            "--rm",
            "--platform",
            &platform,
            &tag,
            "/drainit-drill",
            "--version",
        ]);
        assert_eq!(text(&out.stdout).trim(), drill_version(), "{tag}");
        let out = docker_ok(&[
            "run",
            "--rm",
            "--platform",
            &platform,
            "--entrypoint",
            "/drainit",
            &tag,
            "drill",
            "--help",
        ]);
        assert!(text(&out.stdout).contains(DRILL_HELP), "{tag}");
    }
    // The README's line, as written.
    let line = readme_install("docker run");
    let out = run(Command::new(&line[0]).args(&line[1..]));
    assert!(out.status.success(), "{line:?}: {}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with(&format!("drainit {VERSION} - git.")),
        "{line:?}"
    );
    // Rust's arch names are uname -m's for these two.
    let host = std::env::consts::ARCH;
    let id = |t: &str| text(&docker_ok(&["image", "inspect", "-f", "{{.Id}}", t]).stdout);
    assert_eq!(
        id(&format!("drainit:{VERSION}")),
        id(&format!("drainit:{VERSION}-{host}"))
    );
}

/// The README's `COPY --from=` recipe, as written, on top of an app image:
/// the app runs under /drainit as PID 1 and its exit code is the container's.
#[test]
#[ignore = "needs make dist and scripts/dist-test-setup.sh; run by make dist-test"]
fn readme_copy_from_recipe_builds_and_runs() {
    if !docker() {
        return;
    }
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).unwrap();
    let block = readme
        .split("```dockerfile\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("no ```dockerfile block in README.md");
    assert!(
        block.contains(&format!("FROM drainit:{VERSION} AS drainit")),
        "{block}"
    );
    let ctx = tempdir("recipe");
    let app_tag = format!("dist-recipe-app:{}", std::process::id());
    std::fs::write(
        ctx.join("Dockerfile.app"),
        format!("FROM {DEBIAN_IMAGE}\nRUN mkdir /app && printf '#!/bin/sh\\necho app pid $$ ppid $PPID\\nexit 5\\n' >/app/start.sh && chmod 755 /app/start.sh\n"),
    )
    .unwrap();
    docker_ok(&[
        "build",
        "-q",
        "-t",
        &app_tag,
        "-f",
        ctx.join("Dockerfile.app").to_str().unwrap(),
        ctx.to_str().unwrap(),
    ]);
    std::fs::write(
        ctx.join("Dockerfile"),
        block.replace("your-app-image", &app_tag),
    )
    .unwrap();
    let tag = format!("dist-recipe:{}", std::process::id());
    docker_ok(&["build", "-q", "-t", &tag, ctx.to_str().unwrap()]);
    let out = run(Command::new("docker").args(["run", "--rm", "--network", "none", &tag]));
    let _ = run(Command::new("docker").args(["rmi", "-f", &tag, &app_tag]));
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    // drainit's own threads (the --http endpoint) take PIDs too: only the
    // parent is known.
    let line = text(&out.stdout);
    assert!(line.trim().ends_with(" ppid 1"), "{line}");
}
