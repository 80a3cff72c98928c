//! `stance eval`: grouped cross-validation on the labels, a model on a
//! labeled file, the behavioural suite, the learning curve, the model
//! comparison, and the full report.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use comfy_table::{presets::UTF8_FULL_CONDENSED, CellAlignment, Table};

use super::train::TrainFlags;
use crate::eval::bootstrap::Interval;
use crate::eval::curve::{curve_svg, learning_curve, LearningCurve};
use crate::eval::data::evaluate_model;
use crate::eval::report::{
    build_report, BootstrapSettings, EvalDocument, EvalProvenance, Figures, Report, ReportInputs,
    SCHEMA,
};
use crate::eval::select::{
    ablations, compare, filtered, nested_selection, pick_best, selection_grid, CompareRow,
};
use crate::eval::suite::{read_suite, run_suite, SuiteReport};
use crate::eval::{plan_folds, run_folds, Folds};
use crate::labels::read_labels_file;
use crate::model::{resolve_model, write_atomically, SourceFile};

/// Output formats of `stance eval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Tables for people.
    Text,
    /// One JSON document (schema in docs/eval.md).
    Json,
}

/// Measure accuracy by grouped cross-validation, on a labeled file, or with the behavioural suite.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  stance eval                                # leave-one-article-out on the seed labels, with and without authored sentences\n  stance eval --format json                  # the same as one JSON document\n  stance eval --data other.jsonl             # the shipped model on any labeled JSONL file\n  stance eval --suite eval/checklist.jsonl   # behavioural suite pass rates and failures\n  stance eval --learning-curve               # macro-F1 against training size, chart in eval/\n  stance eval --compare                      # model selection: grid, nested estimate, one change at a time\n  stance eval --report eval/report.md        # everything, as eval/report.md and eval/report.json\n\nAuthored sentences (\"source\": \"authored\") only ever train; whole articles are held out."
)]
pub struct Args {
    /// Labels and model options (boxed: they make up most of the struct).
    #[command(flatten)]
    pub flags: Box<TrainFlags>,
    /// Grouped folds instead of leave-one-article-out.
    #[arg(long, value_name = "K")]
    pub folds: Option<usize>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Evaluate a trained model on this labeled JSONL file (`text` and `label` per line).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["suite", "learning_curve", "compare", "report", "write_folds"])]
    pub data: Option<PathBuf>,
    /// Model for --data and --suite (default: $STANCE_MODEL, models/stance.json, or the built-in one).
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,
    /// Run the behavioural suite in FILE against the model.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["learning_curve", "compare", "write_folds"])]
    pub suite: Option<PathBuf>,
    /// Macro-F1 against the number of training sentences.
    #[arg(long, conflicts_with_all = ["compare", "write_folds"])]
    pub learning_curve: bool,
    /// Training sizes for --learning-curve, e.g. `50,100,400` (default: doubling from 50).
    #[arg(
        long,
        value_name = "N,N,...",
        value_delimiter = ',',
        requires = "learning_curve"
    )]
    pub sizes: Vec<usize>,
    /// Subsamples per size for --learning-curve and --report.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub repeats: usize,
    /// Where --learning-curve writes its SVG chart.
    #[arg(long, value_name = "PATH", default_value = "eval/learning-curve.svg")]
    pub svg: PathBuf,
    /// Model selection: the fixed grid, its nested estimate, and one change at a time.
    #[arg(long, conflicts_with = "write_folds")]
    pub compare: bool,
    /// Write the full report (Markdown) here and its JSON next to it (same name, .json).
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,
    /// Lines from eval/sklearn_folds.sh to include in --report.
    #[arg(long, value_name = "FILE", default_value = "eval/sklearn.jsonl")]
    pub sklearn: PathBuf,
    /// With --report: take the figures from FILE (a report.json written by
    /// --report) instead of recomputing them; only the scikit-learn
    /// comparison (from --sklearn) and the Markdown are refreshed.
    #[arg(long, value_name = "FILE", requires = "report")]
    pub reuse: Option<PathBuf>,
    /// Write each fold's training and test sentences as JSONL files into DIR.
    #[arg(long, value_name = "DIR")]
    pub write_folds: Option<PathBuf>,
    /// Bootstrap resamples for the intervals.
    #[arg(long, value_name = "N", default_value_t = 2000)]
    pub resamples: usize,
}

/// Runs `stance eval`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let bootstrap = BootstrapSettings {
        resamples: args.resamples,
        seed: args.flags.seed.unwrap_or(BootstrapSettings::default().seed),
        ..BootstrapSettings::default()
    };
    if let Some(data) = &args.data {
        return run_data(&args, data, bootstrap);
    }
    if let (Some(suite), None) = (&args.suite, &args.report) {
        return run_suite_command(&args, suite);
    }
    let options = args.flags.options();
    options.check()?;
    let (records, sources) = args.flags.load()?;
    let folds = args.folds.map_or(Folds::LeaveOneArticleOut, Folds::Grouped);

    if let Some(dir) = &args.write_folds {
        return write_folds(&records, folds, options.seed, dir);
    }
    if let Some(path) = &args.report {
        return run_report(&args, path, records, sources, options, bootstrap);
    }
    if args.learning_curve {
        let sizes = (!args.sizes.is_empty()).then_some(args.sizes.as_slice());
        let curve = learning_curve(&records, &options, folds, sizes, args.repeats)?;
        write_svg(&args.svg, &curve)?;
        match args.format {
            Format::Json => println!("{}", serde_json::to_string_pretty(&curve)?),
            Format::Text => {
                println!("{}", curve_table(&curve));
                println!("wrote {}", args.svg.display());
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.compare {
        let grid = selection_grid(&options);
        let (best, scores) = pick_best(&records, &grid)?;
        let nested = nested_selection(&records, &grid)?;
        let rows = compare(&records, &ablations(&options), folds)?;
        match args.format {
            Format::Json => {
                let grid_rows: Vec<(String, f64)> =
                    grid.iter().map(|c| c.name.clone()).zip(scores).collect();
                let doc = serde_json::json!({
                    "schema": SCHEMA,
                    "grid": grid_rows,
                    "chosen": grid[best].name,
                    "chosen_options": grid[best].options,
                    "nested": nested,
                    "compare": rows,
                });
                println!("{}", serde_json::to_string_pretty(&doc)?);
            }
            Format::Text => {
                let mut t = new_table(&["grid candidate", "LOAO macro-F1"]);
                for (c, s) in grid.iter().zip(&scores) {
                    t.add_row(vec![c.name.clone(), format!("{s:.3}")]);
                }
                println!("{t}");
                println!("chosen on all articles: {}", grid[best].name);
                let mut t = new_table(&[
                    "held-out article",
                    "chosen on the others",
                    "inner",
                    "held-out",
                ]);
                for o in &nested.outer {
                    t.add_row(vec![
                        o.article.clone(),
                        o.chosen.clone(),
                        format!("{:.3}", o.inner_macro_f1),
                        format!("{:.3}", o.macro_f1),
                    ]);
                }
                println!("{t}");
                println!(
                    "nested estimate: macro-F1 {:.3}, F_avg {}, accuracy {:.3} (majority macro-F1 {:.3})",
                    nested.model.macro_f1,
                    nested.model.f_avg.map_or("-".into(), |f| format!("{f:.3}")),
                    nested.model.accuracy,
                    nested.majority.macro_f1
                );
                println!("{}", compare_table(&rows));
                println!(
                    "one change at a time: test-fold figures shown in the open, not an estimate"
                );
            }
        }
        return Ok(ExitCode::SUCCESS);
    }

    // Default: grouped cross-validation, with and without authored sentences.
    let plan = plan_folds(&records, folds, options.seed)?;
    let cv = run_folds(&records, &options, &plan)?;
    let has_authored = records.iter().any(|r| r.is_authored());
    let without = if has_authored {
        let seeds = filtered(&records, false);
        let plan = plan_folds(&seeds, folds, options.seed)?;
        Some(run_folds(&seeds, &options, &plan)?)
    } else {
        None
    };
    let shipped = resolve_model(args.model.as_deref()).ok();
    let doc = EvalDocument {
        schema: SCHEMA.to_string(),
        figures: Figures::of_cv(&cv, bootstrap),
        per_fold: Some(cv.per_fold.clone()),
        without_authored: without.as_ref().map(|w| Figures::of_cv(w, bootstrap)),
        unknown_labels: None,
        provenance: EvalProvenance {
            stance_version: format!("stance {}", env!("CARGO_PKG_VERSION")),
            labels_files: sources,
            split: match folds {
                Folds::LeaveOneArticleOut => "leave-one-article-out".into(),
                Folds::Grouped(k) => format!("{k} grouped folds"),
            },
            folds: Some(cv.folds),
            seed: options.seed,
            options_match_model: shipped.as_ref().map(|(m, _)| *m.options() == options),
            model: shipped.map(|(_, s)| s),
            options: Some(options),
            held_out: cv.model.n,
            training_only: cv.training_only,
            bootstrap,
        },
    };
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&doc)?),
        Format::Text => {
            println!(
                "{} ({} folds): {} held-out seed sentences; {} sentences only train (authored or without an article)",
                doc.provenance.split, cv.folds, cv.model.n, cv.training_only
            );
            let mut rows: Vec<(&str, &Figures)> = vec![("model, as given", &doc.figures)];
            if let Some(w) = &doc.without_authored {
                rows.push(("model, without authored", w));
            }
            println!("{}", summary_table(&rows));
            print_details(&doc.figures);
            println!(
                "95% intervals: bootstrap over held-out sentences ({} resamples, seed {}); \"by article\" resamples whole articles ({} of them: coarse, but honest about how sentences of one article hang together).",
                bootstrap.resamples, bootstrap.seed, doc.figures.intervals.articles
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn run_data(args: &Args, data: &Path, bootstrap: BootstrapSettings) -> anyhow::Result<ExitCode> {
    let (model, source) = resolve_model(args.model.as_deref())?;
    let file = read_labels_file(data)?;
    if file.records.is_empty() {
        anyhow::bail!(
            "{}: no labeled sentences; each line needs \"text\" and \"label\"",
            data.display()
        );
    }
    let e = evaluate_model(&model, &file.records);
    for (label, n) in &e.unknown_labels {
        super::warn(format!(
            "{}: {n} sentences have label {label:?}, which the model does not know (it knows {}); they count as errors",
            data.display(),
            model.labels().join(", ")
        ));
    }
    let pairs: Vec<(&str, &str)> = e
        .judged
        .iter()
        .map(|j| (j.truth.as_str(), j.predicted.as_str()))
        .collect();
    let majority: Vec<(&str, &str)> = e
        .judged
        .iter()
        .map(|j| (j.truth.as_str(), e.majority_label.as_str()))
        .collect();
    let articles: Vec<&str> = file
        .records
        .iter()
        .map(|r| r.article.as_deref().unwrap_or(""))
        .collect();
    let has_articles = file.records.iter().all(|r| r.article.is_some());
    let doc = EvalDocument {
        schema: SCHEMA.to_string(),
        figures: Figures::new(
            &pairs,
            &majority,
            has_articles.then_some(articles.as_slice()),
            bootstrap,
        ),
        per_fold: None,
        without_authored: None,
        unknown_labels: Some(e.unknown_labels.clone()),
        provenance: EvalProvenance {
            stance_version: format!("stance {}", env!("CARGO_PKG_VERSION")),
            labels_files: vec![SourceFile {
                path: data.display().to_string(),
                blake3: file.hash.clone(),
                records: file.records.len(),
            }],
            split: "held-out file".into(),
            folds: None,
            seed: bootstrap.seed,
            options: Some(model.options().clone()),
            model: Some(source.clone()),
            options_match_model: None,
            held_out: file.records.len(),
            training_only: 0,
            bootstrap,
        },
    };
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&doc)?),
        Format::Text => {
            println!(
                "model {} ({}) on {} ({} sentences); majority baseline: always {:?}",
                source.origin,
                source.hash,
                data.display(),
                file.records.len(),
                e.majority_label
            );
            println!("{}", summary_table(&[("model", &doc.figures)]));
            print_details(&doc.figures);
            if !e.unknown_labels.is_empty() {
                let list: Vec<String> = e
                    .unknown_labels
                    .iter()
                    .map(|(l, n)| format!("{l} ({n})"))
                    .collect();
                println!(
                    "labels unknown to the model, counted as errors: {}",
                    list.join(", ")
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn run_suite_command(args: &Args, path: &Path) -> anyhow::Result<ExitCode> {
    let (model, source) = resolve_model(args.model.as_deref())?;
    let cases = read_suite(path)?;
    let report = run_suite(&model, &cases);
    match args.format {
        Format::Json => {
            let doc = serde_json::json!({
                "schema": SCHEMA,
                "suite": path.display().to_string(),
                "model": source,
                "overall": report.overall,
                "by_test": report.by_test,
                "by_capability": report.by_capability,
                "failures": report.failures().collect::<Vec<_>>(),
            });
            println!("{}", serde_json::to_string_pretty(&doc)?);
        }
        Format::Text => {
            println!(
                "model {} ({}) on {}: {}/{} passed",
                source.origin,
                source.hash,
                path.display(),
                report.overall.passed,
                report.overall.total
            );
            println!("{}", suite_table(&report));
            let mut t = new_table(&["id", "capability", "why"]);
            for f in report.failures() {
                t.add_row(vec![
                    f.id.clone(),
                    f.capability.clone(),
                    f.reason.clone().unwrap_or_default(),
                ]);
            }
            println!("failures:\n{t}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn run_report(
    args: &Args,
    path: &Path,
    records: Vec<crate::labels::LabeledSentence>,
    sources: Vec<SourceFile>,
    options: crate::model::TrainOptions,
    bootstrap: BootstrapSettings,
) -> anyhow::Result<ExitCode> {
    if let Some(reuse) = &args.reuse {
        let text = std::fs::read_to_string(reuse)
            .with_context(|| format!("{}: cannot read the report to reuse", reuse.display()))?;
        let mut report: Report = serde_json::from_str(&text).with_context(|| {
            format!(
                "{}: not a report written by `stance eval --report`; regenerate it without --reuse",
                reuse.display()
            )
        })?;
        if let Ok(lines) = std::fs::read_to_string(&args.sklearn) {
            report = report.with_peers(&lines, "bash eval/sklearn_folds.sh");
        }
        return write_report(path, &report);
    }
    let shipped = resolve_model(args.model.as_deref())?;
    let suite_path = args
        .suite
        .clone()
        .unwrap_or_else(|| PathBuf::from("eval/checklist.jsonl"));
    let suite = if suite_path.is_file() {
        Some((read_suite(&suite_path)?, suite_path.display().to_string()))
    } else {
        None
    };
    let peers = match std::fs::read_to_string(&args.sklearn) {
        Ok(text) => Some((text, "bash eval/sklearn_folds.sh".to_string())),
        Err(_) => None,
    };
    let svg_path = path.with_file_name("learning-curve.svg");
    let svg_name = svg_path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let command = format!(
        "stance {}",
        std::env::args().skip(1).collect::<Vec<_>>().join(" ")
    );
    let report = build_report(
        &records,
        ReportInputs {
            command,
            sources,
            options,
            shipped: Some((&shipped.0, shipped.1.clone())),
            suite,
            peers,
            curve: Some((svg_name, args.repeats)),
            bootstrap,
            selection: true,
        },
        &mut |step| eprintln!("stance: {step} ..."),
    )?;
    write_report(path, &report)
}

fn write_report(path: &Path, report: &Report) -> anyhow::Result<ExitCode> {
    let svg_path = path.with_file_name("learning-curve.svg");
    if let Some(c) = &report.learning_curve {
        write_svg(&svg_path, &c.curve)?;
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create folder", dir.display()))?;
    }
    write_atomically(path, report.to_markdown().as_bytes())?;
    let json_path = path.with_extension("json");
    write_atomically(
        &json_path,
        format!("{}\n", serde_json::to_string_pretty(report)?).as_bytes(),
    )?;
    println!(
        "wrote {}, {} and {}: default macro-F1 {:.3} (nested estimate {})",
        path.display(),
        json_path.display(),
        svg_path.display(),
        report.default.macro_f1,
        report
            .nested
            .as_ref()
            .map_or("-".into(), |n| format!("{:.3}", n.model.macro_f1))
    );
    Ok(ExitCode::SUCCESS)
}

fn write_folds(
    records: &[crate::labels::LabeledSentence],
    folds: Folds,
    seed: u64,
    dir: &Path,
) -> anyhow::Result<ExitCode> {
    let plan = plan_folds(records, folds, seed)?;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("{}: cannot create folder", dir.display()))?;
    for (fold, articles) in plan.articles.iter().enumerate() {
        for (kind, idx) in [("train", &plan.train[fold]), ("test", &plan.test[fold])] {
            let mut text = String::new();
            for &i in idx {
                text.push_str(&serde_json::to_string(&records[i])?);
                text.push('\n');
            }
            let path = dir.join(format!("fold-{fold}-{kind}.jsonl"));
            write_atomically(&path, text.as_bytes())?;
        }
        println!(
            "{fold}\t{}\t{}\t{}",
            articles.join(","),
            plan.train[fold].len(),
            plan.test[fold].len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn write_svg(path: &Path, curve: &LearningCurve) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create folder", dir.display()))?;
    }
    let svg = curve_svg(curve, "stance: held-out macro-F1 against training size");
    write_atomically(path, svg.as_bytes())?;
    Ok(())
}

fn new_table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(header.to_vec());
    t
}

fn align_right(t: &mut Table, from: usize) {
    let n = t.column_iter().count();
    for i in from..n {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
}

fn ci(i: &Interval) -> String {
    format!("{:.3}–{:.3}", i.low, i.high)
}

fn summary_table(rows: &[(&str, &Figures)]) -> Table {
    let mut t = new_table(&[
        "",
        "n",
        "accuracy",
        "95% CI",
        "macro-F1",
        "95% CI",
        "by article",
        "F_avg",
    ]);
    for (name, f) in rows {
        t.add_row(vec![
            name.to_string(),
            f.n.to_string(),
            format!("{:.3}", f.accuracy),
            ci(&f.intervals.accuracy),
            format!("{:.3}", f.macro_f1),
            ci(&f.intervals.macro_f1),
            f.intervals
                .macro_f1_by_article
                .as_ref()
                .map_or("-".into(), ci),
            f.f_avg.map_or("-".into(), |x| format!("{x:.3}")),
        ]);
    }
    if let Some((_, f)) = rows.first() {
        let m = &f.majority;
        t.add_row(vec![
            "majority baseline".to_string(),
            m.n.to_string(),
            format!("{:.3}", m.accuracy),
            String::new(),
            format!("{:.3}", m.macro_f1),
            String::new(),
            String::new(),
            m.f_avg.map_or("-".into(), |x| format!("{x:.3}")),
        ]);
    }
    align_right(&mut t, 1);
    t
}

fn print_details(f: &Figures) {
    let mut t = new_table(&["label", "precision", "recall", "F1", "support"]);
    for (l, m) in &f.per_label {
        t.add_row(vec![
            l.clone(),
            format!("{:.3}", m.precision),
            format!("{:.3}", m.recall),
            format!("{:.3}", m.f1),
            m.support.to_string(),
        ]);
    }
    align_right(&mut t, 1);
    println!("{t}");
    let labels: Vec<&String> = f.confusion.keys().collect();
    let mut header: Vec<String> = vec!["true \\ predicted".into()];
    header.extend(labels.iter().map(|l| l.to_string()));
    header.push("misclassified as".into());
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(header);
    for truth in &labels {
        let row = &f.confusion[*truth];
        let mut cells: Vec<String> = vec![truth.to_string()];
        cells.extend(
            labels
                .iter()
                .map(|p| row.get(*p).copied().unwrap_or(0).to_string()),
        );
        let wrong: Vec<String> = row
            .iter()
            .filter(|(p, n)| p != truth && **n > 0)
            .map(|(p, n)| format!("{p} ×{n}"))
            .collect();
        cells.push(if wrong.is_empty() {
            "-".into()
        } else {
            wrong.join(", ")
        });
        t.add_row(cells);
    }
    println!("{t}");
}

fn curve_table(curve: &LearningCurve) -> Table {
    let mut t = new_table(&[
        "training sentences",
        "repeats",
        "macro-F1",
        "min",
        "max",
        "F_avg",
    ]);
    for p in &curve.points {
        t.add_row(vec![
            p.size.to_string(),
            p.repeats.to_string(),
            format!("{:.3}", p.macro_f1),
            format!("{:.3}", p.min),
            format!("{:.3}", p.max),
            p.f_avg.map_or("-".into(), |x| format!("{x:.3}")),
        ]);
    }
    t.add_row(vec![
        "majority baseline".into(),
        String::new(),
        format!("{:.3}", curve.majority_macro_f1),
    ]);
    align_right(&mut t, 1);
    t
}

fn compare_table(rows: &[CompareRow]) -> Table {
    let mut t = new_table(&["configuration", "accuracy", "macro-F1", "Δ", "F_avg"]);
    for r in rows {
        t.add_row(vec![
            r.name.clone(),
            format!("{:.3}", r.accuracy),
            format!("{:.3}", r.macro_f1),
            format!("{:+.3}", r.delta),
            r.f_avg.map_or("-".into(), |x| format!("{x:.3}")),
        ]);
    }
    align_right(&mut t, 1);
    t
}

fn suite_table(report: &SuiteReport) -> Table {
    let mut t = new_table(&["test / capability", "passed", "total", "rate"]);
    for (name, tally) in &report.by_test {
        t.add_row(vec![
            name.clone(),
            tally.passed.to_string(),
            tally.total.to_string(),
            format!("{:.1}%", tally.rate * 100.0),
        ]);
        for (cap, c) in report
            .by_capability
            .iter()
            .filter(|(k, _)| k.starts_with(&format!("{name}/")))
        {
            t.add_row(vec![
                format!("  {cap}"),
                c.passed.to_string(),
                c.total.to_string(),
                format!("{:.1}%", c.rate * 100.0),
            ]);
        }
    }
    align_right(&mut t, 1);
    t
}
