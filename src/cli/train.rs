//! `stance train`: train a model on the labels files and write it atomically.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use crate::eval::{cross_validate, Folds};
use crate::features::FeatureConfig;
use crate::labels::{find_labels_files, read_labels_file, LabeledSentence};
use crate::model::{
    short_hash, write_atomically, ClassifierKind, Provenance, SourceFile, StanceModel, TrainOptions,
};

/// Model and featurizer options shared by `train` and `eval`.
#[derive(Debug, Clone, clap::Args)]
pub struct TrainFlags {
    /// Labels files (JSONL); default: every `*.jsonl` under `seeds/`.
    #[arg(long = "labels", value_name = "FILE", num_args = 1..)]
    pub labels: Vec<PathBuf>,
    /// Leave out sentences written by the team (`"source": "authored"`).
    #[arg(long)]
    pub no_authored: bool,
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
        let mut records = Vec::new();
        let mut sources = Vec::new();
        for path in &paths {
            let file = read_labels_file(path)?;
            let kept: Vec<LabeledSentence> = file
                .records
                .into_iter()
                .filter(|r| !(self.no_authored && r.is_authored()))
                .collect();
            sources.push(SourceFile {
                path: path.display().to_string(),
                blake3: file.hash,
                records: kept.len(),
            });
            records.extend(kept);
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
}

/// Runs `stance train`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let options = args.flags.options();
    options.check()?;
    let (records, sources) = args.flags.load()?;
    let provenance = Provenance {
        labels_files: sources,
        ..Provenance::default()
    };
    let model = StanceModel::train(&records, &options, provenance)?;
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
    if !args.no_cv {
        match cross_validate(&records, &options, Folds::LeaveOneArticleOut) {
            Ok(cv) => println!(
                "leave-one-article-out ({} folds, {} held-out sentences): macro-F1 {:.3} (majority baseline {:.3}), accuracy {:.3}",
                cv.folds, cv.model.n, cv.model.macro_f1, cv.majority.macro_f1, cv.model.accuracy
            ),
            Err(e) => println!("cross-validation skipped: {e}"),
        }
    }
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create folder", dir.display()))?;
    }
    // Keep the previous model so a bad retrain can be undone.
    if let Ok(previous) = std::fs::read(&args.out) {
        if previous != json.as_bytes() {
            let prev = args.out.with_extension("prev.json");
            write_atomically(&prev, &previous)?;
        }
    }
    model.save(&args.out)?;
    println!(
        "wrote {} ({})",
        args.out.display(),
        short_hash(json.as_bytes())
    );
    Ok(ExitCode::SUCCESS)
}
