//! `stance summarize`: per-article stance summaries with speakers, totals and groups.

use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

use crate::document::{collect_inputs, read_document, Input};
use crate::model::{resolve_model, write_atomically};
use crate::report::{
    render_csv, render_html, render_json, render_md, render_table, InputError, Report, SCHEMA,
};
use crate::summary::{
    display_order, resolve_axis, summarize_article, summarize_corpus, GroupBy, SummaryOptions,
};

/// Output formats of `stance summarize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A readable table with outlet and speaker lines under each article.
    Table,
    /// One JSON document (schema `stance-summary/1`) with per-sentence detail.
    Json,
    /// One CSV row per article.
    Csv,
    /// A Markdown report.
    Md,
    /// One self-contained HTML page with every sentence highlighted.
    Html,
}

/// Summarise the stance of articles: per article, per speaker, per group.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  stance summarize seeds/articles/\n  stance summarize --format html --out report.html seeds/articles/\n  stance summarize --group-by outlet --format csv corpus/\n  curl -s URL | stance summarize -\n\nInputs: text files, saved HTML pages, folders (every .txt/.html/.htm inside,\nrecursively, sorted) and `-` for stdin. A text article may start with a header\nof `outlet:`, `date:`, `url:` lines closed by a `---` line.\nA file that cannot be read is reported and skipped; the exit code is then 1."
)]
pub struct Args {
    /// Article files, folders, or `-` for stdin.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write the report to this file (atomically) instead of stdout.
    #[arg(long, short = 'o', value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Model file to use instead of the default.
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,
    /// The stance index's positive and negative label.
    #[arg(long, value_name = "POS,NEG", value_parser = parse_axis,
          default_value = "pro-integration,sovereignty-preserving")]
    pub axis: [String; 2],
    /// Sentences below this probability count as `uncertain` (0..1).
    #[arg(long, value_name = "P", default_value_t = 0.5, value_parser = super::parse_probability)]
    pub min_confidence: f64,
    /// Compare groups of articles by their metadata.
    #[arg(long, value_enum)]
    pub group_by: Option<GroupBy>,
    /// Bootstrap resamples for the intervals (0: none).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub bootstrap: usize,
    /// Bootstrap seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Evidence sentences shown per stance.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub evidence: usize,
    /// Deciding terms kept per sentence.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub terms: usize,
}

fn parse_axis(s: &str) -> Result<[String; 2], String> {
    match s.split(',').map(str::trim).collect::<Vec<_>>().as_slice() {
        [a, b] if !a.is_empty() && !b.is_empty() && a != b => Ok([a.to_string(), b.to_string()]),
        _ => Err(format!(
            "{s:?} is not two different labels like pro-integration,sovereignty-preserving"
        )),
    }
}

/// Runs `stance summarize`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let options = SummaryOptions {
        axis: args.axis.clone(),
        min_confidence: args.min_confidence,
        bootstrap: args.bootstrap,
        seed: args.seed,
        evidence: args.evidence,
        terms: args.terms,
        ..SummaryOptions::default()
    };
    options.check()?;
    let (model, source) = resolve_model(args.model.as_deref())?;
    let (axis, why) = resolve_axis(&model, &options.axis);
    if let Some(why) = why {
        super::warn(why);
    }

    let inputs = collect_inputs(&args.inputs);
    if inputs
        .iter()
        .filter(|i| matches!(i, Ok(Input::Stdin)))
        .count()
        > 1
    {
        anyhow::bail!("`-` (stdin) can be given only once");
    }
    let progress = if std::io::stderr().is_terminal() && inputs.len() >= 20 {
        let bar =
            ProgressBar::with_draw_target(Some(inputs.len() as u64), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} articles {eta}") {
            bar.set_style(style);
        }
        bar
    } else {
        ProgressBar::hidden()
    };
    let results: Vec<Result<_, InputError>> = inputs
        .par_iter()
        .map(|input| {
            let outcome = match input {
                Ok(input) => read_document(input, &mut super::warn)
                    .map(|doc| summarize_article(&doc, &model, axis, &options))
                    .map_err(|e| InputError {
                        input: input.origin(),
                        message: strip_origin(&e.to_string(), &input.origin()),
                    }),
                Err(e) => Err(InputError {
                    input: e
                        .to_string()
                        .split(':')
                        .next()
                        .unwrap_or_default()
                        .to_string(),
                    message: e.to_string(),
                }),
            };
            progress.inc(1);
            outcome
        })
        .collect();
    progress.finish_and_clear();

    let mut articles = Vec::new();
    let mut errors = Vec::new();
    for r in results {
        match r {
            Ok(a) => articles.push(a),
            Err(e) => {
                if e.message.starts_with(&e.input) {
                    super::warn(e.message.clone());
                } else {
                    super::warn(format!("{}: {}", e.input, e.message));
                }
                errors.push(e);
            }
        }
    }
    if articles.is_empty() {
        anyhow::bail!(
            "no article could be summarised ({} input(s) failed); pass text or HTML articles",
            errors.len()
        );
    }

    let (totals, groups) = summarize_corpus(&articles, axis, &options, args.group_by);
    let order = display_order(&model, axis);
    let report = Report {
        schema: SCHEMA,
        model: &source,
        labels: order.iter().map(|&i| model.labels()[i].clone()).collect(),
        axis: axis.map(|_| options.axis.clone()),
        options: &options,
        group_by: args.group_by,
        articles: &articles,
        totals: &totals,
        groups: &groups,
        errors: &errors,
    };
    let rendered = match args.format {
        Format::Table => {
            let width = if args.out.is_none() && std::io::stdout().is_terminal() {
                None
            } else {
                Some(150)
            };
            render_table(&report, width)
        }
        Format::Json => render_json(&report)?,
        Format::Csv => render_csv(&report)?,
        Format::Md => render_md(&report),
        Format::Html => render_html(&report),
    };
    match &args.out {
        Some(path) => {
            write_atomically(path, rendered.as_bytes())?;
        }
        None => {
            let stdout = std::io::stdout();
            let mut out = BufWriter::new(stdout.lock());
            out.write_all(rendered.as_bytes())?;
            out.flush()?;
        }
    }
    Ok(if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// An error message without a leading "ORIGIN: ".
fn strip_origin(message: &str, origin: &str) -> String {
    message
        .strip_prefix(origin)
        .and_then(|m| m.strip_prefix(": "))
        .unwrap_or(message)
        .to_string()
}
