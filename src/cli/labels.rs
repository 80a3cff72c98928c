//! `stance labels`: count, check or export the labels files.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};

use crate::labels::find_labels_files;
use crate::model::resolve_model;
use crate::store::{check_files, resolve, scan, ScannedFile};

/// Export formats of `stance labels`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Export {
    /// CSV: text,label,article,sentence,source,annotator,timestamp,file.
    Csv,
}

/// Count, check or export the labels files.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  stance labels                     # counts per label and per source\n  stance labels --check             # exit 1 and list every problem as FILE:LINE: ...\n  stance labels --export csv > labels.csv\n\nCounts and exports show the current labels: a corrected sentence counts once,\nwith its latest label; withdrawn records are left out."
)]
pub struct Args {
    /// Labels files (JSONL); default: every `*.jsonl` under `seeds/`.
    #[arg(long = "labels", value_name = "FILE", num_args = 1..)]
    pub labels: Vec<PathBuf>,
    /// Check every file: malformed lines, duplicates, conflicting labels,
    /// labels the model does not know, an empty label set. Exit 1 on problems.
    #[arg(long, conflicts_with = "export")]
    pub check: bool,
    /// Print the current labels in this format instead of counts.
    #[arg(long, value_enum)]
    pub export: Option<Export>,
    /// Model whose label set `--check` compares with (default as for `stance label`).
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,
}

fn label_paths(given: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    if !given.is_empty() {
        return Ok(given.to_vec());
    }
    let dir = Path::new("seeds");
    if !dir.is_dir() {
        anyhow::bail!(
            "no labels given and no seeds/ folder here; run from the repository root or pass --labels FILE"
        );
    }
    let found = find_labels_files(dir)?;
    if found.is_empty() {
        anyhow::bail!("no labels files found (*.jsonl under seeds/); pass --labels FILE");
    }
    Ok(found)
}

/// Runs `stance labels`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let paths = label_paths(&args.labels)?;
    let mut files: Vec<ScannedFile> = Vec::new();
    for path in &paths {
        let bytes = std::fs::read(path).map_err(|e| crate::Error::io(path, "read", e))?;
        files.push(scan(path, &bytes));
    }
    if args.check {
        let (model, source) = resolve_model(args.model.as_deref())?;
        let problems = check_files(&files, model.labels());
        let records: usize = files.iter().map(|f| f.records.len()).sum();
        for p in &problems {
            println!("{p}");
        }
        if problems.is_empty() {
            println!(
                "{} files, {records} records: no problems (label set of model {})",
                files.len(),
                source.origin
            );
            return Ok(ExitCode::SUCCESS);
        }
        eprintln!(
            "stance: {} problem{} in {} files ({records} records)",
            problems.len(),
            if problems.len() == 1 { "" } else { "s" },
            files.len()
        );
        return Ok(ExitCode::from(1));
    }
    for file in &files {
        for bad in &file.bad {
            super::warn(format!("{bad}; skipped (see `stance labels --check`)"));
        }
    }
    let all: Vec<_> = files
        .iter()
        .flat_map(|f| f.records.iter().cloned())
        .collect();
    let current = resolve(&all);
    if let Some(Export::Csv) = args.export {
        let stdout = std::io::stdout();
        let mut w = csv::Writer::from_writer(stdout.lock());
        w.write_record([
            "text",
            "label",
            "article",
            "sentence",
            "source",
            "annotator",
            "timestamp",
            "file",
        ])?;
        for s in &current {
            let r = &s.record;
            let extra = |k: &str| {
                r.extra
                    .get(k)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string()
            };
            w.write_record([
                r.text.clone(),
                r.label.clone(),
                r.article.clone().unwrap_or_default(),
                r.sentence.map(|n| n.to_string()).unwrap_or_default(),
                r.source.clone().unwrap_or_default(),
                extra("annotator"),
                extra("timestamp"),
                s.at.path.display().to_string(),
            ])?;
        }
        w.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut by_label: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_source: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    for s in &current {
        let r = &s.record;
        *by_label.entry(&r.label).or_default() += 1;
        let source = r.source.as_deref().unwrap_or("(none)");
        *by_source
            .entry(source)
            .or_default()
            .entry(&r.label)
            .or_default() += 1;
    }
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    let mut header = vec!["source".to_string()];
    header.extend(by_label.keys().map(|l| l.to_string()));
    header.push("total".into());
    table.set_header(header);
    for (source, counts) in &by_source {
        let mut row = vec![source.to_string()];
        row.extend(
            by_label
                .keys()
                .map(|l| counts.get(l).copied().unwrap_or(0).to_string()),
        );
        row.push(counts.values().sum::<usize>().to_string());
        table.add_row(row);
    }
    let mut total = vec!["total".to_string()];
    total.extend(by_label.values().map(|n| n.to_string()));
    total.push(current.len().to_string());
    table.add_row(total);
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{} labeled sentences in {} files ({} records with history)",
        current.len(),
        files.len(),
        all.len()
    )?;
    writeln!(out, "{table}")?;
    Ok(ExitCode::SUCCESS)
}
