//! `stance split`: clean articles and print their sentences.

use std::io::{BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use serde::Serialize;

use crate::article::{decode_lossy, Article};

/// Output formats of `stance split`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One sentence per line (with `# FILE` headers when there are several articles).
    Text,
    /// One JSON object per sentence: article, index, start, end, text.
    Jsonl,
}

/// Clean articles and print their sentences.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  stance split seeds/articles/000_fe09d524997e67dd.txt\n  stance split --format jsonl seeds/articles/*.txt\n  curl -s URL | stance split -"
)]
pub struct Args {
    /// Article files (plain text), or `-` for stdin.
    #[arg(required = true, value_name = "ARTICLE")]
    pub articles: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Serialize)]
struct Row<'a> {
    article: &'a str,
    index: usize,
    start: usize,
    end: usize,
    text: &'a str,
}

/// Runs `stance split`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let many = args.articles.len() > 1;
    let mut failed = false;
    for path in &args.articles {
        let article = if path.as_os_str() == "-" {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .context("reading stdin")?;
            Article::from_text(
                "<stdin>",
                &decode_lossy(&bytes, "<stdin>", &mut super::warn),
            )
        } else {
            match Article::read(path, &mut super::warn) {
                Ok(a) => a,
                Err(e) => {
                    super::report(e.to_string());
                    failed = true;
                    continue;
                }
            }
        };
        if article.sentences.is_empty() {
            super::warn(format!(
                "{}: no sentences left after cleaning (empty, or only boilerplate)",
                article.name
            ));
        }
        match args.format {
            Format::Text => {
                if many {
                    writeln!(out, "# {}", article.name)?;
                }
                for s in &article.sentences {
                    writeln!(out, "{}", s.text)?;
                }
            }
            Format::Jsonl => {
                for s in &article.sentences {
                    let row = Row {
                        article: &article.name,
                        index: s.index,
                        start: s.start,
                        end: s.end,
                        text: &s.text,
                    };
                    serde_json::to_writer(&mut out, &row)?;
                    out.write_all(b"\n")?;
                }
            }
        }
    }
    out.flush()?;
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
