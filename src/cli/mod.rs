//! The `stance` command line: one module per subcommand.
//!
//! Exit codes: `0` success; `1` the command failed (bad input, labels or
//! model file, training failure, or problems found by a check); `2` the
//! command line itself is wrong (unknown flag, value out of range).

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod add;
mod eval;
mod label;
mod labels;
mod split;
mod summarize;
mod teach;
mod train;

/// Label the Russia–Belarus integration/sovereignty stance of news sentences.
#[derive(Debug, Parser)]
#[command(name = "stance", version, about, long_about = None)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// Every subcommand.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Clean articles and print their sentences.
    Split(split::Args),
    /// Label sentences (arguments, or one per line on stdin).
    Label(label::Args),
    /// Train a model on the labels files and write it.
    Train(train::Args),
    /// Measure accuracy by grouped cross-validation or on a labeled file.
    Eval(eval::Args),
    /// Add labeled sentences to a labels file (one by one or in bulk).
    Add(add::Args),
    /// Count, check or export the labels files.
    Labels(labels::Args),
    /// Label the sentences the model is least sure of, one at a time.
    Teach(teach::Args),
    /// Summarise the stance of articles: per article, per speaker, per group.
    Summarize(summarize::Args),
}

/// Runs the command line and maps errors to exit codes.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::from(2),
            };
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "stance: {}", one_line(&e));
            ExitCode::from(1)
        }
    }
}

/// Runs one parsed command.
///
/// # Errors
/// Whatever the subcommand reports.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Split(args) => split::run(args),
        Command::Label(args) => label::run(args),
        Command::Train(args) => train::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Add(args) => add::run(args),
        Command::Labels(args) => labels::run(args),
        Command::Teach(args) => teach::run(args),
        Command::Summarize(args) => summarize::run(args),
    }
}

/// The error and its causes on one line.
fn one_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let s = cause.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ").replace('\n', " ")
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<stance_error::Error>()
                .is_some_and(stance_error::Error::is_broken_pipe)
    })
}

use crate::error as stance_error;

/// Prints an error about one item of a batch on stderr; the batch goes on.
pub(crate) fn report(message: String) {
    let _ = writeln!(std::io::stderr(), "stance: {message}");
}

/// Prints a warning on stderr.
pub(crate) fn warn(message: String) {
    let _ = writeln!(std::io::stderr(), "stance: warning: {message}");
}

/// Parses a probability in `0..=1`.
pub(crate) fn parse_probability(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number; give a probability between 0 and 1"))?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!(
            "{v} is outside 0..1; give a probability between 0 and 1"
        ))
    }
}

/// Parses `MIN,MAX` or `MIN..MAX` (or a single `N`) as an inclusive range.
pub(crate) fn parse_range(s: &str) -> Result<[usize; 2], String> {
    let parts: Vec<&str> = s.split([',', '-']).filter(|p| !p.is_empty()).collect();
    let parts: Vec<&str> = if parts.len() == 1 && s.contains("..") {
        s.split("..").collect()
    } else {
        parts
    };
    let nums: Result<Vec<usize>, _> = parts.iter().map(|p| p.trim().parse::<usize>()).collect();
    match nums.as_deref() {
        Ok([n]) => Ok([*n, *n]),
        Ok([lo, hi]) if lo <= hi && *lo >= 1 => Ok([*lo, *hi]),
        _ => Err(format!(
            "{s:?} is not a range like 1,2 (min and max, min >= 1)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn ranges_parse() {
        assert_eq!(parse_range("1,2"), Ok([1, 2]));
        assert_eq!(parse_range("2..4"), Ok([2, 4]));
        assert_eq!(parse_range("3"), Ok([3, 3]));
        assert!(parse_range("2,1").is_err());
        assert!(parse_range("0,1").is_err());
    }

    #[test]
    fn probabilities_are_checked() {
        assert_eq!(parse_probability("0.6"), Ok(0.6));
        assert!(parse_probability("1.5").is_err());
        assert!(parse_probability("x").is_err());
    }
}
