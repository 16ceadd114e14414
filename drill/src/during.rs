//! `--url URL --during COMMAND` (written in a later step).

use crate::cli::Args;

pub async fn main(_args: Args) -> i32 {
    eprintln!("drainit drill: --url is not implemented yet");
    crate::cli::EXIT_SETUP
}
