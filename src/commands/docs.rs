//! `imds-spoof completions SHELL` and `imds-spoof man`: generated from the same clap
//! definition the binary parses with, so they cannot drift from it.

use std::io::Write;

use clap::CommandFactory;

use crate::cli::Cli;

pub fn completions(shell: clap_complete::Shell) -> anyhow::Result<()> {
    let mut command = Cli::command();
    let mut stdout = std::io::stdout().lock();
    clap_complete::generate(shell, &mut command, "imds-spoof", &mut stdout);
    stdout.flush()?;
    Ok(())
}

pub fn man() -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    clap_mangen::Man::new(Cli::command()).render(&mut stdout)?;
    stdout.flush()?;
    Ok(())
}
