//! `stance eval`: grouped cross-validation on the labels, or a model on a labeled file.

use std::process::ExitCode;

use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};

use super::train::TrainFlags;
use crate::eval::{cross_validate, Folds, Metrics};

/// Output formats of `stance eval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Tables for people.
    Text,
    /// One JSON document.
    Json,
}

/// Measure accuracy by grouped cross-validation.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  stance eval                     # leave-one-article-out on the seed labels\n  stance eval --no-authored       # without the team-written training sentences\n  stance eval --format json"
)]
pub struct Args {
    /// Labels and model options.
    #[command(flatten)]
    pub flags: TrainFlags,
    /// Grouped folds instead of leave-one-article-out.
    #[arg(long, value_name = "K")]
    pub folds: Option<usize>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Runs `stance eval`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let options = args.flags.options();
    options.check()?;
    let (records, _) = args.flags.load()?;
    let folds = args.folds.map_or(Folds::LeaveOneArticleOut, Folds::Grouped);
    let cv = cross_validate(&records, &options, folds)?;
    match args.format {
        Format::Json => {
            println!("{}", serde_json::to_string_pretty(&cv)?);
        }
        Format::Text => {
            println!(
                "{} folds, {} held-out sentences, {} training-only sentences",
                cv.folds, cv.model.n, cv.training_only
            );
            println!(
                "{}",
                metrics_table(&[("model", &cv.model), ("majority", &cv.majority)])
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn metrics_table(rows: &[(&str, &Metrics)]) -> Table {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    let labels: Vec<&String> = rows[0].1.per_label.keys().collect();
    let mut header = vec![
        "".to_string(),
        "accuracy".into(),
        "macro-F1".into(),
        "F_avg".into(),
    ];
    header.extend(labels.iter().map(|l| format!("F1 {l}")));
    table.set_header(header);
    for (name, m) in rows {
        let mut row = vec![
            name.to_string(),
            format!("{:.3}", m.accuracy),
            format!("{:.3}", m.macro_f1),
            m.f_avg.map_or("-".into(), |f| format!("{f:.3}")),
        ];
        row.extend(labels.iter().map(|l| {
            m.per_label
                .get(*l)
                .map_or("-".into(), |x| format!("{:.3}", x.f1))
        }));
        table.add_row(row);
    }
    table
}
