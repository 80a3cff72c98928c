//! `stance train`: train a model on the labels files and write it atomically.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use crate::eval::{cross_validate, Folds};
use crate::features::FeatureConfig;
use crate::labels::{find_labels_files, LabeledSentence};
use crate::model::{short_hash, ClassifierKind, Provenance, SourceFile, StanceModel, TrainOptions};

/// Model and featurizer options shared by `train` and `eval`.
#[derive(Debug, Clone, clap::Args)]
pub struct TrainFlags {
    /// Labels files (JSONL); default: every `*.jsonl` under `seeds/`.
    #[arg(long = "labels", value_name = "FILE", num_args = 1..)]
    pub labels: Vec<PathBuf>,
    /// Leave out sentences written by the team (`"source": "authored"`).
    #[arg(long)]
    pub no_authored: bool,
    /// Skip malformed lines in labels files (with a warning) instead of stopping.
    #[arg(long)]
    pub skip_bad_lines: bool,
    /// Classifier.
    #[arg(long, value_enum)]
    pub classifier: Option<ClassifierKind>,
    /// L2 strength (logistic) or smoothing (naive Bayes), > 0.
    #[arg(long)]
    pub alpha: Option<f64>,
    /// Do not oversample rarer labels.
    #[arg(long)]
    pub no_balance: bool,
    /// Word n-gram range, e.g. `1,2`.
    #[arg(long, value_name = "MIN,MAX", value_parser = super::parse_range)]
    pub word_ngrams: Option<[usize; 2]>,
    /// Character n-gram range inside words, e.g. `2,5`.
    #[arg(long, value_name = "MIN,MAX", value_parser = super::parse_range, conflicts_with = "no_char_ngrams")]
    pub char_ngrams: Option<[usize; 2]>,
    /// No character n-grams.
    #[arg(long)]
    pub no_char_ngrams: bool,
    /// No negation-scope marking.
    #[arg(long)]
    pub no_negation: bool,
    /// Mark words in negation scope (`not_`), when the default does not.
    #[arg(long, conflicts_with = "no_negation")]
    pub negation: bool,
    /// No contrast-clause marking.
    #[arg(long)]
    pub no_contrast: bool,
    /// Mark words after a contrast (`but:`), when the default does not.
    #[arg(long, conflicts_with = "no_contrast")]
    pub contrast: bool,
    /// Keep numbers as they are instead of folding them to `<num>`.
    #[arg(long)]
    pub no_fold_numbers: bool,
    /// Raw term frequency instead of 1 + ln(tf).
    #[arg(long)]
    pub no_sublinear_tf: bool,
    /// No IDF weighting.
    #[arg(long)]
    pub no_idf: bool,
    /// No L2 normalisation of vectors.
    #[arg(long)]
    pub no_l2: bool,
    /// Minimum number of training sentences a term must occur in.
    #[arg(long, value_name = "N")]
    pub min_df: Option<usize>,
    /// Maximum vocabulary size.
    #[arg(long, value_name = "N")]
    pub max_features: Option<usize>,
    /// L-BFGS iteration limit.
    #[arg(long, value_name = "N")]
    pub max_iterations: Option<u64>,
    /// Seed (fold assignment, anything random).
    #[arg(long)]
    pub seed: Option<u64>,
}

impl TrainFlags {
    /// The training options these flags ask for, on top of the defaults.
    pub fn options(&self) -> TrainOptions {
        let d = TrainOptions::default();
        let f = FeatureConfig::default();
        TrainOptions {
            classifier: self.classifier.unwrap_or(d.classifier),
            alpha: self.alpha.unwrap_or(d.alpha),
            balance: !self.no_balance && d.balance,
            max_iterations: self.max_iterations.unwrap_or(d.max_iterations),
            seed: self.seed.unwrap_or(d.seed),
            features: FeatureConfig {
                word_ngrams: self.word_ngrams.unwrap_or(f.word_ngrams),
                char_ngrams: if self.no_char_ngrams {
                    None
                } else {
                    self.char_ngrams.or(f.char_ngrams)
                },
                negation: self.negation || (!self.no_negation && f.negation),
                contrast: self.contrast || (!self.no_contrast && f.contrast),
                fold_numbers: !self.no_fold_numbers && f.fold_numbers,
                sublinear_tf: !self.no_sublinear_tf && f.sublinear_tf,
                idf: !self.no_idf && f.idf,
                l2_norm: !self.no_l2 && f.l2_norm,
                min_df: self.min_df.unwrap_or(f.min_df),
                max_features: self.max_features.unwrap_or(f.max_features),
                ..f
            },
        }
    }

    /// Reads the labels files (the given ones, or all under `seeds/`).
    ///
    /// # Errors
    /// The first unreadable file or bad line, naming file and line.
    pub fn load(&self) -> anyhow::Result<(Vec<LabeledSentence>, Vec<SourceFile>)> {
        let paths = if self.labels.is_empty() {
            let dir = Path::new("seeds");
            if !dir.is_dir() {
                anyhow::bail!(
                    "no labels given and no seeds/ folder here; run from the repository root or pass --labels FILE"
                );
            }
            find_labels_files(dir)?
        } else {
            self.labels.clone()
        };
        if paths.is_empty() {
            anyhow::bail!("no labels files found (*.jsonl under seeds/); pass --labels FILE");
        }
        // Corrections and withdrawals are resolved to the current label of
        // each sentence; an incomplete last line is skipped with a warning.
        let (resolved, files) =
            crate::store::load_resolved(&paths, self.skip_bad_lines, &mut super::warn).map_err(
                |e| match e {
                    crate::Error::LabelsLine { .. } => {
                        anyhow::anyhow!("{e} (or pass --skip-bad-lines to leave bad lines out)")
                    }
                    other => other.into(),
                },
            )?;
        let kept: Vec<crate::store::StoredRecord> = resolved
            .into_iter()
            .filter(|s| !(self.no_authored && s.record.is_authored()))
            .collect();
        let sources = paths
            .iter()
            .zip(&files)
            .map(|(path, file)| SourceFile {
                path: path.display().to_string(),
                blake3: file.hash.clone(),
                records: kept.iter().filter(|s| s.at.path == *path).count(),
            })
            .collect();
        let records: Vec<LabeledSentence> = kept.into_iter().map(|s| s.record).collect();
        if records.is_empty() {
            anyhow::bail!(
                "no labeled sentences in {}; add some with `stance add` or pass other --labels files",
                paths
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        // A label with very few sentences is often a typo of another one.
        let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
        for r in &records {
            *counts.entry(r.label.as_str()).or_insert(0) += 1;
        }
        for (label, n) in &counts {
            if *n < 3 && counts.len() > 2 {
                super::warn(format!(
                    "label {label:?} has only {n} sentence(s); if it is a typo, fix it (labels: {})",
                    counts.keys().copied().collect::<Vec<_>>().join(", ")
                ));
            }
        }
        Ok((records, sources))
    }
}

/// Train a model on the labels files and write it.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  stance train                              # all labels under seeds/ -> models/stance.json\n  stance train --classifier naive-bayes --out /tmp/nb.json\n  stance train --check                      # is models/stance.json up to date?\n\nThe same labels and options always give a byte-identical model file.\nThe model is written atomically; the previous one is kept as *.prev.json."
)]
pub struct Args {
    /// Labels and model options.
    #[command(flatten)]
    pub flags: TrainFlags,
    /// Where to write the model.
    #[arg(long, value_name = "PATH", default_value = "models/stance.json")]
    pub out: PathBuf,
    /// Skip the leave-one-article-out cross-validation.
    #[arg(long)]
    pub no_cv: bool,
    /// Do not write; exit 1 if the model at --out differs from what training gives now.
    #[arg(long)]
    pub check: bool,
    /// Also cross-validate the model being replaced and list the sentences
    /// whose predicted label changes.
    #[arg(long, conflicts_with_all = ["check", "undo"])]
    pub compare: bool,
    /// With --compare: list changes on the sentences of these articles
    /// instead of the labeled sentences.
    #[arg(long, value_name = "ARTICLE", num_args = 1.., requires = "compare")]
    pub articles: Vec<PathBuf>,
    /// Put the previous model (*.prev.json) back at --out instead of
    /// training; the replaced model becomes the previous one.
    #[arg(long, conflicts_with = "check")]
    pub undo: bool,
}

/// Runs `stance train`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.undo {
        crate::retrain::restore_previous(&args.out)?;
        let bytes = std::fs::read(&args.out)
            .with_context(|| format!("{}: cannot read the restored model", args.out.display()))?;
        println!(
            "restored {} ({}); the model it replaced is kept as {}",
            args.out.display(),
            short_hash(&bytes),
            crate::retrain::previous_path(&args.out).display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let options = args.flags.options();
    options.check()?;
    let (records, sources) = args.flags.load()?;
    let provenance = Provenance {
        labels_files: sources,
        ..Provenance::default()
    };
    // The final fit and the cross-validation folds share the cores: the
    // check costs little more wall time than the folds alone.
    let (model, cv) = if args.no_cv || args.check {
        (StanceModel::train(&records, &options, provenance), None)
    } else {
        let (model, cv) = rayon::join(
            || StanceModel::train(&records, &options, provenance),
            || cross_validate(&records, &options, Folds::LeaveOneArticleOut),
        );
        (model, Some(cv))
    };
    let model = model?;
    let json = model.to_json();

    if args.check {
        let current = std::fs::read_to_string(&args.out)
            .with_context(|| format!("{}: cannot read the model to check", args.out.display()))?;
        if current == json {
            println!(
                "{} is up to date ({})",
                args.out.display(),
                short_hash(json.as_bytes())
            );
            return Ok(ExitCode::SUCCESS);
        }
        eprintln!(
            "stance: {} is out of date with the labels or options (have {}, training gives {}); run `stance train` and commit the model",
            args.out.display(),
            short_hash(current.as_bytes()),
            short_hash(json.as_bytes())
        );
        return Ok(ExitCode::from(1));
    }

    println!("trained on {} sentences:", records.len());
    for (label, n) in &model.provenance().counts {
        println!("  {label:<24} {n:>5}");
    }
    if let Some(cv) = cv {
        match cv {
            Ok(cv) => println!(
                "leave-one-article-out ({} folds, {} held-out sentences): macro-F1 {:.3} (majority baseline {:.3}), accuracy {:.3}",
                cv.folds, cv.model.n, cv.model.macro_f1, cv.majority.macro_f1, cv.model.accuracy
            ),
            Err(e) => println!("cross-validation skipped: {e}"),
        }
    }
    if args.compare {
        compare(&args, &model, &records)?;
    }
    // Keeps the previous model so a bad retrain can be undone (`--undo`).
    crate::retrain::save_keeping_previous(&model, &args.out)
        .with_context(|| format!("{}: the new model was not written", args.out.display()))?;
    println!(
        "wrote {} ({})",
        args.out.display(),
        short_hash(json.as_bytes())
    );
    Ok(ExitCode::SUCCESS)
}

/// Prints the replaced model's and the new model's cross-validated figures
/// and the sentences whose predicted label changes.
fn compare(args: &Args, new: &StanceModel, records: &[LabeledSentence]) -> anyhow::Result<()> {
    let old = if args.out.is_file() {
        StanceModel::load(&args.out)?
    } else {
        StanceModel::embedded()?
    };
    let now: Vec<(PathBuf, Vec<u8>)> = old
        .provenance()
        .labels_files
        .iter()
        .filter_map(|f| {
            let p = PathBuf::from(&f.path);
            std::fs::read(&p).ok().map(|b| (p, b))
        })
        .collect();
    let (old_records, old_data) =
        match crate::retrain::records_at(&old.provenance().labels_files, &now) {
            Some(r) => (crate::retrain::records_of(&r), "its own training labels"),
            None => (
                records.to_vec(),
                "today's labels (its labels files changed other than by appending)",
            ),
        };
    let figures = |records: &[LabeledSentence], options: &crate::model::TrainOptions| {
        cross_validate(records, options, Folds::LeaveOneArticleOut).map(|cv| {
            format!(
                "macro-F1 {:.3}, accuracy {:.3} ({} held-out sentences)",
                cv.model.macro_f1, cv.model.accuracy, cv.model.n
            )
        })
    };
    println!(
        "old model: {} labeled sentences; leave-one-article-out on {old_data}: {}",
        old_records.len(),
        figures(&old_records, old.options()).unwrap_or_else(|e| format!("not available ({e})"))
    );
    println!(
        "new model: {} labeled sentences; leave-one-article-out: {}",
        records.len(),
        figures(records, new.options()).unwrap_or_else(|e| format!("not available ({e})"))
    );
    let mut texts: Vec<(String, Option<String>)> = Vec::new();
    if args.articles.is_empty() {
        texts.extend(
            records
                .iter()
                .map(|r| (r.text.clone(), Some(r.label.clone()))),
        );
    } else {
        for path in &args.articles {
            let article = crate::Article::read(path, &mut super::warn)?;
            texts.extend(article.sentences.into_iter().map(|s| (s.text, None)));
        }
    }
    let changes = crate::retrain::changed_predictions(
        &old,
        new,
        texts.iter().map(|(t, l)| (t.as_str(), l.as_deref())),
    );
    println!(
        "{} of {} sentences change label{}",
        changes.len(),
        texts.len(),
        if changes.is_empty() { "" } else { ":" }
    );
    for c in &changes {
        let mark = match &c.truth {
            Some(t) if *t == c.after.0 => "fixed  ",
            Some(t) if *t == c.before.0 => "broken ",
            Some(_) => "changed",
            None => "changed",
        };
        println!(
            "  {mark} {} {:.2} -> {} {:.2}  {}",
            c.before.0, c.before.1, c.after.0, c.after.1, c.text
        );
    }
    Ok(())
}
