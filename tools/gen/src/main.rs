//! `drainit-gen OUTDIR`: writes OUTDIR/drainit.1 (the man page) and the
//! shell completions OUTDIR/completions/{drainit.bash,_drainit,drainit.fish}
//! from drainit's own clap definitions, so they never drift from
//! `drainit --help`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap_complete::Shell;

fn main() -> ExitCode {
    let Some(out) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("drainit-gen: missing OUTDIR (usage: drainit-gen OUTDIR)");
        return ExitCode::from(2);
    };
    match write_all(&out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("drainit-gen: cannot write into {}: {e}", out.display());
            ExitCode::FAILURE
        }
    }
}

fn write_all(out: &Path) -> std::io::Result<()> {
    let completions = out.join("completions");
    std::fs::create_dir_all(&completions)?;
    let mut page = Vec::new();
    // The plain version: the page is the same for every commit of a release.
    let cmd = drainit::cli::command().version(drainit::version::VERSION);
    clap_mangen::Man::new(cmd).render(&mut page)?;
    std::fs::write(out.join("drainit.1"), page)?;
    for (shell, file) in [
        (Shell::Bash, "drainit.bash"),
        (Shell::Zsh, "_drainit"),
        (Shell::Fish, "drainit.fish"),
    ] {
        let mut text = Vec::new();
        clap_complete::generate(shell, &mut drainit::cli::command(), "drainit", &mut text);
        std::fs::write(completions.join(file), text)?;
    }
    Ok(())
}
