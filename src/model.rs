//! The stance model: a fitted featurizer and a linear classifier trained with linfa.
//!
//! Both classifiers are stored in one linear form: a weight for every
//! (term, label) pair and a bias per label. Multinomial logistic regression
//! (`linfa-logistic`) gives its parameters directly; multinomial naive Bayes
//! (`linfa-bayes`) is exactly linear in the features (log prior + Σ x·log
//! P(term | label)). Prediction is then a sparse dot product followed by a
//! softmax, identical to linfa's own `predict_probabilities` (see the tests).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use linfa::prelude::*;
use linfa_bayes::MultinomialNb;
use linfa_logistic::{MultiFittedLogisticRegression, MultiLogisticRegression};
use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::features::{FeatureConfig, Featurizer, Scratch, SparseVector};
use crate::labels::{label_set, LabeledSentence};

/// The model file format written by this version.
pub const FORMAT_VERSION: u32 = 1;
const FORMAT_NAME: &str = "stance-model";

/// The model shipped with the binary (`models/stance.json` at build time).
pub const EMBEDDED_MODEL: &str = include_str!("../models/stance.json");

// `EMBEDDED_MODEL_HASH`, written by the build script.
include!(concat!(env!("OUT_DIR"), "/embedded_model_hash.rs"));

/// The largest dense training matrix logistic regression builds (8 GB):
/// rows (after balancing) × features × 8 bytes. Naive Bayes never builds one.
pub const MAX_DENSE_TRAINING_BYTES: u128 = 8_000_000_000;

/// L-BFGS stops once the gradient of the summed logistic loss is below this
/// times the number of training rows.
const GRADIENT_TOLERANCE_PER_ROW: f64 = 1e-4;

/// Size of one block of dense rows when naive Bayes is fitted (64 MB).
const NAIVE_BAYES_BLOCK_BYTES: usize = 64_000_000;

/// Which linfa classifier to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ClassifierKind {
    /// Multinomial logistic regression (linfa-logistic), L2-regularised.
    Logistic,
    /// Multinomial naive Bayes (linfa-bayes) with additive smoothing.
    NaiveBayes,
}

/// Training options. Recorded in the model file.
///
/// | Field | Default | Meaning | Range |
/// |---|---|---|---|
/// | `classifier` | `naive-bayes` | which linfa classifier (chosen by the selection in `eval/report.md`) | `logistic`, `naive-bayes` |
/// | `alpha` | `0.3` | L2 strength (logistic) or smoothing (naive Bayes) | > 0 |
/// | `balance` | `true` | oversample rarer labels to the size of the largest | |
/// | `max_iterations` | `300` | L-BFGS iterations (logistic) | ≥ 1 |
/// | `seed` | `42` | recorded for reproducibility of anything random | |
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainOptions {
    /// The classifier.
    pub classifier: ClassifierKind,
    /// Regularisation (logistic) or smoothing (naive Bayes).
    pub alpha: f64,
    /// Oversample rarer labels so every label weighs the same.
    pub balance: bool,
    /// L-BFGS iteration limit (logistic only).
    pub max_iterations: u64,
    /// Seed for anything random.
    pub seed: u64,
    /// How sentences become features.
    pub features: FeatureConfig,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            classifier: ClassifierKind::NaiveBayes,
            alpha: 0.3,
            balance: true,
            max_iterations: 300,
            seed: 42,
            features: FeatureConfig::default(),
        }
    }
}

impl TrainOptions {
    /// Checks every option.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] naming the option out of range.
    pub fn check(&self) -> Result<()> {
        if !(self.alpha.is_finite() && self.alpha > 0.0) {
            return Err(Error::InvalidOption(format!(
                "alpha must be a positive number, got {}",
                self.alpha
            )));
        }
        if self.max_iterations == 0 {
            return Err(Error::InvalidOption(
                "max_iterations must be at least 1".into(),
            ));
        }
        self.features.check().map(|_| ())
    }
}

/// A labels file the model was trained on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceFile {
    /// Path as given to `stance train`.
    pub path: String,
    /// BLAKE3 of its bytes.
    pub blake3: String,
    /// Number of records used from it.
    pub records: usize,
}

/// Where a model came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Provenance {
    /// The labels files.
    pub labels_files: Vec<SourceFile>,
    /// Training sentences per label.
    pub counts: BTreeMap<String, usize>,
    /// Training sentences in all.
    pub n_train: usize,
    /// The regularisation actually used (higher than asked if L-BFGS had to be retried).
    pub alpha_used: f64,
    /// The stance version that trained the model.
    pub trained_by: String,
}

/// A trained stance model.
#[derive(Debug, Clone)]
pub struct StanceModel {
    labels: Vec<String>,
    options: TrainOptions,
    featurizer: Featurizer,
    /// Row-major `[term][label]`.
    weights: Vec<f64>,
    bias: Vec<f64>,
    provenance: Provenance,
}

/// The model's answer for one sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// Index of the most probable label in [`StanceModel::labels`].
    pub label: usize,
    /// Probability of every label, in [`StanceModel::labels`] order.
    pub probabilities: Vec<f64>,
}

/// One term's share in a decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contribution {
    /// The term (word, `a b` bigram, `not_word`, `but:word` or `c:abc`).
    pub term: String,
    /// Its push towards the predicted label over the runner-up, in logits.
    pub weight: f64,
}

/// Reusable buffers for predicting many sentences.
#[derive(Debug, Default)]
pub struct PredictScratch {
    features: Scratch,
    scores: Vec<f64>,
}

impl StanceModel {
    /// Trains a model on labeled sentences.
    ///
    /// ```
    /// use stance::{labels::LabeledSentence, model::{StanceModel, TrainOptions}};
    /// let rec = |t: &str, l: &str| LabeledSentence::new(t, l);
    /// let data = [rec("deeper union with Russia", "pro"), rec("keep our independence", "sov")];
    /// let mut options = TrainOptions::default();
    /// options.features.min_df = 1; // two sentences: keep every term
    /// let model = StanceModel::train(&data, &options, Default::default())?;
    /// let p = model.predict("a deeper union");
    /// assert_eq!(model.labels()[p.label], "pro");
    /// # Ok::<(), stance::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for bad options, [`Error::Training`] for fewer
    /// than two labels or a solver that fails even with stronger regularisation.
    pub fn train(
        records: &[LabeledSentence],
        options: &TrainOptions,
        mut provenance: Provenance,
    ) -> Result<StanceModel> {
        options.check()?;
        let labels = label_set(records);
        if labels.len() < 2 {
            return Err(Error::Training(format!(
                "need sentences of at least two labels, found {}: add labeled sentences of another label",
                if labels.is_empty() { "none".to_string() } else { labels.join(", ") }
            )));
        }
        let texts: Vec<&str> = records.iter().map(|r| r.text.as_str()).collect();
        let featurizer = Featurizer::fit(options.features.clone(), &texts)?;
        let targets: Vec<usize> = records
            .iter()
            .map(|r| labels.binary_search(&r.label).unwrap_or(0))
            .collect();
        let rows = training_rows(&targets, labels.len(), options.balance);

        let k = labels.len();
        let (weights, bias, alpha_used) = match options.classifier {
            ClassifierKind::Logistic => {
                let dataset = dense_dataset(&featurizer, &texts, &targets, &rows)?;
                fit_logistic(&dataset, options, k)?
            }
            ClassifierKind::NaiveBayes => {
                fit_naive_bayes(&featurizer, &texts, &targets, &rows, options, k)?
            }
        };

        provenance.counts = BTreeMap::new();
        for r in records {
            *provenance.counts.entry(r.label.clone()).or_insert(0) += 1;
        }
        provenance.n_train = records.len();
        provenance.alpha_used = alpha_used;
        provenance.trained_by = format!("stance {}", env!("CARGO_PKG_VERSION"));
        Ok(StanceModel {
            labels,
            options: options.clone(),
            featurizer,
            weights,
            bias,
            provenance,
        })
    }

    /// A model from a featurizer and a linfa logistic regression fitted on
    /// its features ([`dense_features`]) with targets that index `labels`.
    /// `stance train` builds its models this way; tests use it to compare the
    /// sparse prediction path with linfa's own `predict_probabilities`.
    ///
    /// # Errors
    /// [`Error::Training`] if the parameters do not fit the featurizer or labels.
    pub fn from_linfa_logistic(
        labels: Vec<String>,
        options: TrainOptions,
        featurizer: Featurizer,
        fitted: &MultiFittedLogisticRegression<f64, usize>,
    ) -> Result<StanceModel> {
        let k = labels.len();
        if fitted.params().nrows() != featurizer.len() || fitted.classes().iter().any(|&c| c >= k) {
            return Err(Error::Training(
                "linfa parameters do not match the featurizer or labels".into(),
            ));
        }
        let (weights, bias) = logistic_linear(fitted, k);
        Ok(Self::assemble(labels, options, featurizer, weights, bias))
    }

    /// A model from a featurizer and a linfa multinomial naive Bayes fitted
    /// on its features, as [`StanceModel::from_linfa_logistic`].
    ///
    /// # Errors
    /// [`Error::Training`] if the parameters cannot be read.
    pub fn from_linfa_naive_bayes(
        labels: Vec<String>,
        options: TrainOptions,
        featurizer: Featurizer,
        fitted: &MultinomialNb<f64, usize>,
    ) -> Result<StanceModel> {
        let (weights, bias) = naive_bayes_linear(fitted, featurizer.len(), labels.len())?;
        Ok(Self::assemble(labels, options, featurizer, weights, bias))
    }

    fn assemble(
        labels: Vec<String>,
        options: TrainOptions,
        featurizer: Featurizer,
        weights: Vec<f64>,
        bias: Vec<f64>,
    ) -> StanceModel {
        StanceModel {
            labels,
            options,
            featurizer,
            weights,
            bias,
            provenance: Provenance::default(),
        }
    }

    /// The label set, sorted; label indices refer to it.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The options the model was trained with.
    pub fn options(&self) -> &TrainOptions {
        &self.options
    }

    /// The fitted featurizer.
    pub fn featurizer(&self) -> &Featurizer {
        &self.featurizer
    }

    /// Where the model came from.
    pub fn provenance(&self) -> &Provenance {
        &self.provenance
    }

    /// The weight of `term_index` for `label`.
    pub fn weight(&self, term_index: usize, label: usize) -> f64 {
        self.weights[term_index * self.labels.len() + label]
    }

    /// The bias of each label.
    pub fn bias(&self) -> &[f64] {
        &self.bias
    }

    /// Predicts one sentence.
    pub fn predict(&self, sentence: &str) -> Prediction {
        let mut scratch = PredictScratch::default();
        let mut probabilities = Vec::new();
        let label = self.predict_into(sentence, &mut scratch, &mut probabilities);
        Prediction {
            label,
            probabilities,
        }
    }

    /// Predicts one sentence into `probabilities` (resized to the label
    /// count), reusing buffers; returns the index of the most probable label
    /// (the first one on ties).
    pub fn predict_into(
        &self,
        sentence: &str,
        scratch: &mut PredictScratch,
        probabilities: &mut Vec<f64>,
    ) -> usize {
        self.scores_into(sentence, scratch);
        softmax_into(&scratch.scores, probabilities)
    }

    /// The logits `b + scale · (x·W)` of one sentence into `scratch.scores`,
    /// where `x` is its TF-IDF vector before L2 scaling: one pass over its
    /// terms, with no vector built.
    fn scores_into(&self, sentence: &str, scratch: &mut PredictScratch) {
        // A fixed label count lets the compiler keep the sums in registers.
        match self.labels.len() {
            2 => self.scores_fixed::<2>(sentence, scratch),
            3 => self.scores_fixed::<3>(sentence, scratch),
            4 => self.scores_fixed::<4>(sentence, scratch),
            k => {
                let mut sums = vec![0.0; k];
                let weights = &self.weights;
                let scale = self
                    .featurizer
                    .weigh_terms(sentence, &mut scratch.features, |j, x| {
                        if let Some(row) = weights.get(j * k..(j + 1) * k) {
                            for (s, w) in sums.iter_mut().zip(row) {
                                *s += x * w;
                            }
                        }
                    });
                scratch.scores.clear();
                scratch
                    .scores
                    .extend(self.bias.iter().zip(sums).map(|(b, s)| b + scale * s));
            }
        }
    }

    /// [`StanceModel::scores_into`] for `K` labels.
    #[inline]
    fn scores_fixed<const K: usize>(&self, sentence: &str, scratch: &mut PredictScratch) {
        let mut sums = [0.0; K];
        let weights = &self.weights;
        let scale = self
            .featurizer
            .weigh_terms(sentence, &mut scratch.features, |j, x| {
                let row: Option<&[f64; K]> = weights
                    .get(j * K..j * K + K)
                    .and_then(|row| row.try_into().ok());
                if let Some(row) = row {
                    for (s, w) in sums.iter_mut().zip(row) {
                        *s += x * w;
                    }
                }
            });
        scratch.scores.clear();
        scratch
            .scores
            .extend(self.bias.iter().zip(sums).map(|(b, s)| b + scale * s));
    }

    /// The terms that pushed the decision, strongest first (by absolute
    /// value): each term's value times its weight for the predicted label
    /// minus its weight for the runner-up.
    pub fn explain(&self, sentence: &str, top: usize) -> (Prediction, Vec<Contribution>) {
        let prediction = self.predict(sentence);
        let runner_up = (0..self.labels.len())
            .filter(|&l| l != prediction.label)
            .max_by(|&a, &b| prediction.probabilities[a].total_cmp(&prediction.probabilities[b]))
            .unwrap_or(prediction.label);
        let v = self.featurizer.transform(sentence);
        let mut contributions: Vec<Contribution> = v
            .indices
            .iter()
            .zip(&v.values)
            .map(|(&j, &x)| Contribution {
                term: self.featurizer.vocabulary()[j as usize].clone(),
                weight: x
                    * (self.weight(j as usize, prediction.label)
                        - self.weight(j as usize, runner_up)),
            })
            .filter(|c| c.weight != 0.0)
            .collect();
        contributions.sort_by(|a, b| {
            b.weight
                .abs()
                .total_cmp(&a.weight.abs())
                .then_with(|| a.term.cmp(&b.term))
        });
        contributions.truncate(top);
        (prediction, contributions)
    }

    /// The model as a JSON document: one line per top-level field and one per
    /// feature, so diffs stay readable. The same model gives the same bytes.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(64 * self.featurizer.len() + 4096);
        let field = |out: &mut String, name: &str, value: String| {
            let _ = writeln!(out, "  {}: {},", json(&name), value);
        };
        out.push_str("{\n");
        field(&mut out, "format", json(&FORMAT_NAME));
        field(&mut out, "format_version", FORMAT_VERSION.to_string());
        field(&mut out, "labels", json(&self.labels));
        field(&mut out, "options", json(&self.options));
        field(&mut out, "provenance", json(&self.provenance));
        field(&mut out, "bias", json(&self.bias));
        out.push_str("  \"features\": [\n");
        let k = self.labels.len();
        for (i, term) in self.featurizer.vocabulary().iter().enumerate() {
            let row = &self.weights[i * k..(i + 1) * k];
            let sep = if i + 1 < self.featurizer.len() {
                ","
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "    [{}, {}, {}]{sep}",
                json(term),
                json(&self.featurizer.idf()[i]),
                json(&row)
            );
        }
        out.push_str("  ]\n}\n");
        out
    }

    /// Parses a model document; `origin` names it in errors.
    ///
    /// # Errors
    /// [`Error::Model`] saying what is wrong: not JSON, not a stance model,
    /// a newer format version, or parts that do not fit together.
    pub fn from_json(origin: &str, text: &str) -> Result<StanceModel> {
        // Fastest path: the layout `to_json` writes, read line by line.
        if let Some(file) = CanonicalModel::parse(text) {
            let k = Self::check_header(origin, &file.header)?;
            debug_assert_eq!(file.weights.len(), file.vocabulary.len() * k);
            return Self::from_checked(
                origin,
                file.header,
                file.vocabulary,
                file.idf,
                file.weights,
            );
        }
        Self::from_json_general(origin, text)
    }

    /// [`StanceModel::from_json`] for any layout, through serde_json.
    fn from_json_general(origin: &str, text: &str) -> Result<StanceModel> {
        let bad = |message: String| Error::Model {
            origin: origin.to_string(),
            message,
        };
        // Fast path: one pass straight into the file's shape. Anything that
        // does not fit goes through the checks below for a precise message.
        if let Ok(file) = serde_json::from_str::<ModelFile>(text) {
            if file.format == FORMAT_NAME && file.format_version == FORMAT_VERSION {
                return Self::from_file(origin, file);
            }
        }
        let head: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            bad(format!(
                "not a valid model file ({e}); retrain with `stance train` or restore the file"
            ))
        })?;
        if head.get("format").and_then(|f| f.as_str()) != Some(FORMAT_NAME) {
            return Err(bad(
                "not a stance model (no \"format\": \"stance-model\"); pass a file written by `stance train`".into(),
            ));
        }
        match head.get("format_version").and_then(|v| v.as_u64()) {
            Some(v) if v == u64::from(FORMAT_VERSION) => {}
            Some(v) if v > u64::from(FORMAT_VERSION) => {
                return Err(bad(format!(
                    "model format version {v} is newer than this stance supports ({FORMAT_VERSION}); upgrade stance or retrain the model"
                )))
            }
            other => {
                return Err(bad(format!(
                    "unsupported model format version {other:?} (expected {FORMAT_VERSION}); retrain with `stance train`"
                )))
            }
        }
        let file: ModelFile = serde_json::from_value(head).map_err(|e| {
            bad(format!(
                "model file has the wrong shape ({e}); retrain with `stance train`"
            ))
        })?;
        Self::from_file(origin, file)
    }

    /// Checks a parsed model file and builds the model.
    fn from_file(origin: &str, file: ModelFile) -> Result<StanceModel> {
        let bad = |message: String| Error::Model {
            origin: origin.to_string(),
            message,
        };
        let header = ModelHeader {
            format: file.format,
            format_version: file.format_version,
            labels: file.labels,
            options: file.options,
            provenance: file.provenance,
            bias: file.bias,
        };
        let k = Self::check_header(origin, &header)?;
        let mut vocabulary = Vec::with_capacity(file.features.len());
        let mut idf = Vec::with_capacity(file.features.len());
        let mut weights = Vec::with_capacity(file.features.len() * k);
        for (i, (term, term_idf, row)) in file.features.into_iter().enumerate() {
            if row.len() != k {
                return Err(bad(format!(
                    "feature {i} ({term:?}) has {} weights for {k} labels",
                    row.len()
                )));
            }
            if row.iter().chain(&header.bias).any(|w| !w.is_finite()) {
                return Err(bad(format!(
                    "feature {i} ({term:?}) has a weight that is not a finite number"
                )));
            }
            vocabulary.push(term);
            idf.push(term_idf);
            weights.extend(row);
        }
        Self::from_checked(origin, header, vocabulary, idf, weights)
    }

    /// Checks the labels and the bias of a model file; returns the label count.
    fn check_header(origin: &str, header: &ModelHeader) -> Result<usize> {
        let bad = |message: String| Error::Model {
            origin: origin.to_string(),
            message,
        };
        let k = header.labels.len();
        if k < 2 || header.labels.windows(2).any(|w| w[0] >= w[1]) {
            return Err(bad(
                "labels must be at least two, sorted and distinct".into()
            ));
        }
        if header.bias.len() != k {
            return Err(bad(format!(
                "{} bias values for {k} labels",
                header.bias.len()
            )));
        }
        Ok(k)
    }

    /// Builds the model from a checked header and features whose weights
    /// (row-major `[term][label]`) are finite numbers, one row per term.
    fn from_checked(
        origin: &str,
        header: ModelHeader,
        vocabulary: Vec<String>,
        idf: Vec<f64>,
        weights: Vec<f64>,
    ) -> Result<StanceModel> {
        let featurizer = Featurizer::from_parts(header.options.features.clone(), vocabulary, idf)
            .map_err(|e| Error::Model {
            origin: origin.to_string(),
            message: e.to_string(),
        })?;
        Ok(StanceModel {
            labels: header.labels,
            options: header.options,
            featurizer,
            weights,
            bias: header.bias,
            provenance: header.provenance,
        })
    }

    /// Writes the model atomically: a temporary file in the same folder,
    /// flushed to disk, then renamed over `path`. A crash leaves either the
    /// old file or the new one, never a mix.
    ///
    /// # Errors
    /// [`Error::Io`] naming `path` when the folder is missing, read-only or full.
    pub fn save(&self, path: &Path) -> Result<()> {
        write_atomically(path, self.to_json().as_bytes())
    }

    /// Reads a model file.
    ///
    /// # Errors
    /// [`Error::Io`] if it cannot be read, [`Error::Model`] if it is not a valid model.
    pub fn load(path: &Path) -> Result<StanceModel> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, "read model", e))?;
        let text = std::str::from_utf8(&bytes).map_err(|_| Error::Model {
            origin: path.display().to_string(),
            message: "not UTF-8 text, so not a model file; retrain with `stance train`".into(),
        })?;
        StanceModel::from_json(&path.display().to_string(), text)
    }

    /// The model compiled into the binary.
    ///
    /// # Errors
    /// [`Error::Model`] if the build embedded an invalid file.
    pub fn embedded() -> Result<StanceModel> {
        StanceModel::from_json("embedded model", EMBEDDED_MODEL)
    }
}

/// Writes `bytes` to `path` atomically (temporary file, fsync, rename).
///
/// # Errors
/// [`Error::Io`] naming `path`.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".stance-tmp-")
        .tempfile_in(&dir)
        .map_err(|e| {
            Error::io(
                path,
                "write (creating a temporary file in its folder failed)",
                e,
            )
        })?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| Error::io(path, "write", e))?;
    // Keep the permissions of the file being replaced; a new file gets the
    // usual read-for-all mode instead of the temporary file's owner-only one.
    #[cfg(unix)]
    {
        let permissions = match std::fs::metadata(path) {
            Ok(m) => m.permissions(),
            Err(_) => default_permissions(),
        };
        tmp.as_file()
            .set_permissions(permissions)
            .map_err(|e| Error::io(path, "set permissions", e))?;
    }
    tmp.persist(path)
        .map_err(|e| Error::io(path, "replace", e.error))?;
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(unix)]
fn default_permissions() -> std::fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    std::fs::Permissions::from_mode(0o644)
}

/// Where a model was loaded from, and its content hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSource {
    /// A path, or `embedded`.
    pub origin: String,
    /// First 16 hex digits of the BLAKE3 hash of the model file.
    pub hash: String,
}

/// Finds and loads the model to use: `explicit` (`--model`), else the
/// `STANCE_MODEL` environment variable, else `models/stance.json` under the
/// current folder when it exists, else the embedded model.
///
/// # Errors
/// As [`StanceModel::load`] for the chosen file.
pub fn resolve_model(explicit: Option<&Path>) -> Result<(StanceModel, ModelSource)> {
    let from_env = std::env::var_os("STANCE_MODEL")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let local = PathBuf::from("models/stance.json");
    let chosen = explicit
        .map(Path::to_path_buf)
        .or(from_env)
        .or_else(|| local.is_file().then_some(local));
    match chosen {
        Some(path) => {
            let model = StanceModel::load(&path)?;
            let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, "read model", e))?;
            Ok((
                model,
                ModelSource {
                    origin: path.display().to_string(),
                    hash: short_hash(&bytes),
                },
            ))
        }
        None => Ok((
            StanceModel::embedded()?,
            ModelSource {
                origin: "embedded".into(),
                hash: EMBEDDED_MODEL_HASH.to_string(),
            },
        )),
    }
}

/// The first 16 hex digits of the BLAKE3 hash of `bytes`.
pub fn short_hash(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex()[..16].to_string()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelFile {
    format: String,
    format_version: u32,
    labels: Vec<String>,
    options: TrainOptions,
    provenance: Provenance,
    bias: Vec<f64>,
    features: Vec<(String, f64, Vec<f64>)>,
}

/// The fields of a model file before its features.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelHeader {
    format: String,
    format_version: u32,
    labels: Vec<String>,
    options: TrainOptions,
    provenance: Provenance,
    bias: Vec<f64>,
}

/// A model file in exactly the layout [`StanceModel::to_json`] writes, read
/// without serde_json for the features: one feature per line,
/// `    ["term", idf, [w1,w2,w3]],`, the term without escapes.
///
/// Numbers are read correctly rounded (see `Cursor::number`), like
/// serde_json's `float_roundtrip`, so both readers give the same values.
struct CanonicalModel {
    header: ModelHeader,
    vocabulary: Vec<String>,
    idf: Vec<f64>,
    /// Row-major `[term][label]`.
    weights: Vec<f64>,
}

impl CanonicalModel {
    /// What follows the bias line and opens the features.
    const FEATURES_OPEN: &'static str = ",\n  \"features\": [\n";
    /// What follows the last feature.
    const END: &'static str = "  ]\n}\n";

    /// Reads `text`, or `None` when it departs from the layout in any way
    /// or holds anything the general reader would report: another format
    /// or version, a row whose length is not the label count, a number
    /// that is not finite. The header's own checks are left to the caller.
    fn parse(text: &str) -> Option<CanonicalModel> {
        let header_end = text.find(Self::FEATURES_OPEN)?;
        // The header fields as a document of their own.
        let mut head = String::with_capacity(header_end + 2);
        head.push_str(text.get(..header_end)?);
        head.push_str("\n}");
        let header: ModelHeader = serde_json::from_str(&head).ok()?;
        if header.format != FORMAT_NAME
            || header.format_version != FORMAT_VERSION
            || !header.bias.iter().all(|b| b.is_finite())
        {
            return None;
        }
        let k = header.labels.len();
        let body = text.get(header_end + Self::FEATURES_OPEN.len()..)?;
        let lines = memchr::memchr_iter(b'\n', body.as_bytes()).count();
        let mut file = CanonicalModel {
            header,
            vocabulary: Vec::with_capacity(lines),
            idf: Vec::with_capacity(lines),
            weights: Vec::with_capacity(lines * k),
        };
        let mut cursor = Cursor { text: body, at: 0 };
        if cursor.rest() != Self::END {
            loop {
                cursor.eat("    [\"")?;
                file.vocabulary.push(cursor.plain_string()?.to_string());
                cursor.eat(", ")?;
                file.idf.push(cursor.number()?);
                cursor.eat(", [")?;
                for j in 0..k {
                    if j > 0 {
                        cursor.eat(",")?;
                    }
                    file.weights.push(cursor.number()?);
                }
                cursor.eat("]]")?;
                if cursor.eat(",\n").is_none() {
                    cursor.eat("\n")?;
                    break;
                }
            }
        }
        (cursor.rest() == Self::END).then_some(file)
    }
}

/// A position in a text being read by [`CanonicalModel::parse`].
struct Cursor<'a> {
    text: &'a str,
    /// Byte offset of the next unread character.
    at: usize,
}

impl<'a> Cursor<'a> {
    /// The unread text.
    fn rest(&self) -> &'a str {
        self.text.get(self.at..).unwrap_or_default()
    }

    /// Skips `expected`, or `None` if the text does not continue with it.
    #[inline]
    fn eat(&mut self, expected: &str) -> Option<()> {
        // A byte loop: the expected texts are a few bytes long.
        let rest = self.text.as_bytes().get(self.at..)?;
        let matches = rest.len() >= expected.len()
            && rest.iter().zip(expected.as_bytes()).all(|(a, b)| a == b);
        matches.then(|| {
            self.at += expected.len();
        })
    }

    /// The rest of a JSON string whose opening quote has been read, up to
    /// the closing quote (skipped); `None` if it holds an escape or a
    /// control character, which only the general reader handles.
    fn plain_string(&mut self) -> Option<&'a str> {
        let rest = self.rest();
        let (end, stop) = rest
            .bytes()
            .enumerate()
            .find(|&(_, b)| b == b'"' || b == b'\\' || b < 0x20)?;
        if stop != b'"' {
            return None;
        }
        self.at += end + 1;
        rest.get(..end)
    }

    /// A finite JSON number; `None` if the text does not continue with
    /// one in JSON syntax, or it is out of the range of `f64`.
    fn number(&mut self) -> Option<f64> {
        let text = self.rest();
        let bytes = text.as_bytes();
        // The digits from `*i` on, appended to `mantissa` (wrapping: only
        // used when there are at most 19 digits); returns how many.
        let digits = |i: &mut usize, mantissa: &mut u64| {
            let mut n = 0;
            let mut m = *mantissa;
            for &b in bytes.get(*i..).unwrap_or_default() {
                let digit = b.wrapping_sub(b'0');
                if digit > 9 {
                    break;
                }
                m = m.wrapping_mul(10).wrapping_add(u64::from(digit));
                n += 1;
            }
            *i += n;
            *mantissa = m;
            n
        };
        let negative = bytes.first() == Some(&b'-');
        let mut i = usize::from(negative);
        let mut mantissa = 0;
        let int_digits = digits(&mut i, &mut mantissa);
        if int_digits == 0 || (int_digits > 1 && bytes.get(i - int_digits) == Some(&b'0')) {
            return None; // no digit, or a leading zero
        }
        let mut frac_digits = 0;
        if bytes.get(i) == Some(&b'.') {
            i += 1;
            frac_digits = digits(&mut i, &mut mantissa);
            if frac_digits == 0 {
                return None;
            }
        }
        let mut exponent = false;
        if matches!(bytes.get(i), Some(b'e' | b'E')) {
            exponent = true;
            i += 1;
            if matches!(bytes.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            if digits(&mut i, &mut 0) == 0 {
                return None;
            }
        }
        let magnitude = match POWERS_OF_TEN.get(frac_digits) {
            _ if exponent || int_digits + frac_digits > 19 => {
                text.get(usize::from(negative)..i)?.parse().ok()?
            }
            // Both operands exact, so the quotient is correctly rounded
            // (Clinger's fast path).
            Some(&power) if mantissa <= 1 << 53 => mantissa as f64 / power,
            _ => decimal_quotient(mantissa, frac_digits as u32),
        };
        self.at += i;
        let value = if negative { -magnitude } else { magnitude };
        value.is_finite().then_some(value)
    }
}

/// The powers of ten that are exact in `f64`.
const POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// `mantissa / 10^frac_digits` correctly rounded (to nearest, ties to
/// even), for `frac_digits <= 19`: one 128-bit division gives the leading
/// 64 or 65 bits of the quotient and whether anything is left over, which
/// is all that rounding to 53 bits needs.
fn decimal_quotient(mantissa: u64, frac_digits: u32) -> f64 {
    if mantissa == 0 {
        return 0.0;
    }
    let divisor = u128::from(10u64.pow(frac_digits));
    let mantissa_bits = 64 - mantissa.leading_zeros();
    let divisor_bits = 128 - divisor.leading_zeros();
    // Scaled so that 2^63 <= quotient < 2^65 (and the numerator fits).
    let shift = 64 - mantissa_bits + divisor_bits;
    let numerator = u128::from(mantissa) << shift;
    let quotient = numerator / divisor;
    let inexact = quotient * divisor != numerator;
    let dropped_bits = (128 - quotient.leading_zeros()) - 53;
    let mut significand = (quotient >> dropped_bits) as u64;
    let dropped = quotient & ((1 << dropped_bits) - 1);
    let half = 1 << (dropped_bits - 1);
    if dropped > half || (dropped == half && (inexact || significand & 1 == 1)) {
        significand += 1;
    }
    // At most 2^53, so exact; the power of two is between 2^-116 and
    // 2^11, and the product (at least 10^-19) is a normal number, exact.
    let exponent = 1023 + i64::from(dropped_bits) - i64::from(shift);
    significand as f64 * f64::from_bits((exponent as u64) << 52)
}

fn json<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_string())
}

/// Writes the softmax of `scores` into `out` and returns the arg-max (the
/// first on ties). Overflowed scores still give probabilities: `+inf` takes
/// all the mass, and `NaN` counts as `-inf`.
fn softmax_into(scores: &[f64], out: &mut Vec<f64>) -> usize {
    let score = |s: f64| if s.is_nan() { f64::NEG_INFINITY } else { s };
    let mut best = 0;
    for (i, &s) in scores.iter().enumerate() {
        if score(s) > score(scores[best]) {
            best = i;
        }
    }
    let max = score(scores[best]);
    out.clear();
    if max.is_finite() {
        out.extend(scores.iter().map(|&s| (score(s) - max).exp()));
    } else if max == f64::INFINITY {
        out.extend(
            scores
                .iter()
                .map(|&s| f64::from(u8::from(s == f64::INFINITY))),
        );
    } else {
        out.extend(scores.iter().map(|_| 1.0));
    }
    let sum: f64 = out.iter().sum();
    out.iter_mut().for_each(|p| *p /= sum);
    best
}

/// Row indices to train on: all rows, plus, when balancing, rows of rarer
/// labels repeated in order until every label has as many as the largest.
fn training_rows(targets: &[usize], k: usize, balance: bool) -> Vec<usize> {
    let mut rows: Vec<usize> = (0..targets.len()).collect();
    if !balance {
        return rows;
    }
    let mut by_label: Vec<Vec<usize>> = vec![Vec::new(); k];
    for (i, &t) in targets.iter().enumerate() {
        by_label[t].push(i);
    }
    let largest = by_label.iter().map(Vec::len).max().unwrap_or(0);
    for members in &by_label {
        if members.is_empty() {
            continue;
        }
        rows.extend(members.iter().cycle().take(largest - members.len()));
    }
    rows
}

type Linear = (Vec<f64>, Vec<f64>, f64);

/// The linear form (`[term][label]` weights, bias per label) of a fitted
/// linfa logistic regression whose classes are label indices below `k`.
fn logistic_linear(
    model: &MultiFittedLogisticRegression<f64, usize>,
    k: usize,
) -> (Vec<f64>, Vec<f64>) {
    let params = model.params();
    let intercept = model.intercept();
    let n_features = params.nrows();
    let mut weights = vec![0.0; n_features * k];
    let mut bias = vec![0.0; k];
    for (col, &class) in model.classes().iter().enumerate() {
        bias[class] = intercept[col];
        for j in 0..n_features {
            weights[j * k + class] = params[[j, col]];
        }
    }
    (weights, bias)
}

/// The linear form of a fitted linfa multinomial naive Bayes: the log prior
/// as bias and the per-class feature log probabilities as weights.
fn naive_bayes_linear(
    model: &MultinomialNb<f64, usize>,
    n_features: usize,
    k: usize,
) -> Result<(Vec<f64>, Vec<f64>)> {
    // linfa keeps the per-class log probabilities private; its serde form exposes them.
    let value = serde_json::to_value(model)
        .map_err(|e| Error::Training(format!("naive Bayes parameters: {e}")))?;
    let mut weights = vec![0.0; n_features * k];
    let mut bias = vec![0.0; k];
    let classes = value
        .get("class_info")
        .and_then(|c| c.as_object())
        .ok_or_else(|| Error::Training("naive Bayes parameters: no class_info".into()))?;
    for (class, info) in classes {
        let class: usize =
            class.parse().ok().filter(|&c| c < k).ok_or_else(|| {
                Error::Training(format!("naive Bayes parameters: class {class:?}"))
            })?;
        let prior = info.get("prior").and_then(|p| p.as_f64()).unwrap_or(0.0);
        bias[class] = prior.ln();
        let log_probs = info
            .get("feature_log_prob")
            .and_then(|f| f.get("data"))
            .and_then(|d| d.as_array())
            .ok_or_else(|| Error::Training("naive Bayes parameters: no feature_log_prob".into()))?;
        for (j, lp) in log_probs.iter().enumerate().take(n_features) {
            weights[j * k + class] = lp.as_f64().unwrap_or(f64::NEG_INFINITY);
        }
    }
    Ok((weights, bias))
}

/// The dense TF-IDF matrix of `texts`, one row per text, as linfa takes it.
/// Training builds the same rows; tests feed them to linfa's own `predict`
/// to check the sparse prediction path.
pub fn dense_features<S: AsRef<str>>(featurizer: &Featurizer, texts: &[S]) -> Array2<f64> {
    let mut x = Array2::<f64>::zeros((texts.len(), featurizer.len()));
    let mut scratch = Scratch::default();
    let mut v = SparseVector::default();
    for (r, text) in texts.iter().enumerate() {
        featurizer.transform_into(text.as_ref(), &mut scratch, &mut v);
        for (&j, &value) in v.indices.iter().zip(&v.values) {
            x[[r, j as usize]] = value;
        }
    }
    x
}

fn fit_logistic(
    dataset: &Dataset<f64, usize, ndarray::Ix1>,
    options: &TrainOptions,
    k: usize,
) -> Result<Linear> {
    let mut alpha = options.alpha;
    let mut last_error = String::new();
    // linfa minimises the summed loss; stop when its gradient is below 1e-4
    // per training row, the stopping rule of scikit-learn's lbfgs (which
    // minimises the mean loss with tolerance 1e-4). A fixed 1e-4 on the sum
    // is never reached on thousands of rows and runs every iteration.
    let gradient_tolerance = GRADIENT_TOLERANCE_PER_ROW * dataset.nsamples().max(1) as f64;
    // L-BFGS's line search can fail on some data; stronger regularisation
    // makes the problem better conditioned, so retry a few times.
    for _ in 0..4 {
        let fitted = MultiLogisticRegression::default()
            .alpha(alpha)
            .gradient_tolerance(gradient_tolerance)
            .max_iterations(options.max_iterations)
            .fit(dataset);
        match fitted {
            Ok(model) => {
                let (weights, bias) = logistic_linear(&model, k);
                return Ok((weights, bias, alpha));
            }
            Err(e) => {
                last_error = e.to_string();
                alpha *= 10.0;
            }
        }
    }
    Err(Error::Training(format!(
        "logistic regression did not converge even with alpha {alpha}: {last_error}; try --classifier naive-bayes"
    )))
}

/// Rows per block when naive Bayes is fitted block by block: enough to
/// amortise linfa's per-call work, small enough that a block of dense rows
/// stays near [`NAIVE_BAYES_BLOCK_BYTES`].
fn naive_bayes_block_rows(n_features: usize) -> usize {
    (NAIVE_BAYES_BLOCK_BYTES / (n_features.max(1) * 8)).clamp(1, 4096)
}

/// Multinomial naive Bayes only needs per-label feature sums, so linfa fits
/// it incrementally (`FitWith`) over blocks of dense rows: memory stays
/// bounded by one block whatever the number of labeled sentences.
fn fit_naive_bayes(
    featurizer: &Featurizer,
    texts: &[&str],
    targets: &[usize],
    rows: &[usize],
    options: &TrainOptions,
    k: usize,
) -> Result<Linear> {
    let block_rows = naive_bayes_block_rows(featurizer.len());
    fit_naive_bayes_in_blocks(featurizer, texts, targets, rows, options, k, block_rows)
}

fn fit_naive_bayes_in_blocks(
    featurizer: &Featurizer,
    texts: &[&str],
    targets: &[usize],
    rows: &[usize],
    options: &TrainOptions,
    k: usize,
    block_rows: usize,
) -> Result<Linear> {
    let n_features = featurizer.len();
    let params = MultinomialNb::params()
        .alpha(options.alpha)
        .check()
        .map_err(|e| Error::Training(format!("naive Bayes: {e}")))?;
    let mut model: Option<MultinomialNb<f64, usize>> = None;
    let mut scratch = Scratch::default();
    let mut v = SparseVector::default();
    for block in rows.chunks(block_rows.max(1)) {
        let dataset = dense_rows(featurizer, texts, targets, block, &mut scratch, &mut v);
        model = Some(
            params
                .fit_with(model, &dataset)
                .map_err(|e| Error::Training(format!("naive Bayes: {e}")))?,
        );
    }
    let model = model.ok_or_else(|| Error::Training("naive Bayes: no training rows".into()))?;
    let (weights, bias) = naive_bayes_linear(&model, n_features, k)?;
    Ok((weights, bias, options.alpha))
}

/// The dense training set linfa's logistic regression takes: one row per
/// entry of `rows` (an index into `texts`), refused above
/// [`MAX_DENSE_TRAINING_BYTES`] rather than letting the allocation abort.
fn dense_dataset(
    featurizer: &Featurizer,
    texts: &[&str],
    targets: &[usize],
    rows: &[usize],
) -> Result<Dataset<f64, usize, ndarray::Ix1>> {
    let n_features = featurizer.len();
    let dense_bytes = (rows.len() as u128) * (n_features as u128) * 8;
    if dense_bytes > MAX_DENSE_TRAINING_BYTES {
        return Err(Error::Training(format!(
            "{} training rows × {n_features} features need a {:.1} GB dense matrix (limit {:.0} GB); lower --max-features, train on fewer sentences or use --classifier naive-bayes",
            rows.len(),
            dense_bytes as f64 / 1e9,
            MAX_DENSE_TRAINING_BYTES as f64 / 1e9
        )));
    }
    let (mut scratch, mut v) = (Scratch::default(), SparseVector::default());
    Ok(dense_rows(
        featurizer,
        texts,
        targets,
        rows,
        &mut scratch,
        &mut v,
    ))
}

/// Dense rows for linfa: row `r` is the feature vector of `texts[rows[r]]`,
/// its target `targets[rows[r]]`.
fn dense_rows(
    featurizer: &Featurizer,
    texts: &[&str],
    targets: &[usize],
    rows: &[usize],
    scratch: &mut Scratch,
    v: &mut SparseVector,
) -> Dataset<f64, usize, ndarray::Ix1> {
    let mut x = Array2::<f64>::zeros((rows.len(), featurizer.len()));
    let mut y = Array1::<usize>::zeros(rows.len());
    for (r, &i) in rows.iter().enumerate() {
        featurizer.transform_into(texts[i], scratch, v);
        for (&j, &value) in v.indices.iter().zip(&v.values) {
            x[[r, j as usize]] = value;
        }
        y[r] = targets[i];
    }
    Dataset::new(x, y)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(text: &str, label: &str) -> LabeledSentence {
        LabeledSentence::new(text, label)
    }

    #[test]
    fn naive_bayes_fitted_in_blocks_equals_one_fit() {
        let records = data();
        let texts: Vec<&str> = records.iter().map(|r| r.text.as_str()).collect();
        let labels = label_set(&records);
        let targets: Vec<usize> = records
            .iter()
            .map(|r| labels.binary_search(&r.label).unwrap())
            .collect();
        let options = TrainOptions::default();
        let featurizer = Featurizer::fit(options.features.clone(), &texts).unwrap();
        let rows = training_rows(&targets, labels.len(), true);
        let k = labels.len();
        let (w_one, b_one, _) = fit_naive_bayes_in_blocks(
            &featurizer,
            &texts,
            &targets,
            &rows,
            &options,
            k,
            rows.len(),
        )
        .unwrap();
        // linfa's own one-shot fit on the same dense rows.
        let x = dense_features(
            &featurizer,
            &rows.iter().map(|&i| texts[i]).collect::<Vec<_>>(),
        );
        let y = Array1::from(rows.iter().map(|&i| targets[i]).collect::<Vec<_>>());
        let linfa = MultinomialNb::params()
            .alpha(options.alpha)
            .fit(&Dataset::new(x, y))
            .unwrap();
        let (w_linfa, b_linfa) = naive_bayes_linear(&linfa, featurizer.len(), k).unwrap();
        assert_eq!((&w_one, &b_one), (&w_linfa, &b_linfa));
        for block_rows in [1, 2, 5] {
            let (w, b, _) = fit_naive_bayes_in_blocks(
                &featurizer,
                &texts,
                &targets,
                &rows,
                &options,
                k,
                block_rows,
            )
            .unwrap();
            for (x, y) in w.iter().chain(&b).zip(w_one.iter().chain(&b_one)) {
                assert!((x - y).abs() < 1e-12, "blocks of {block_rows}: {x} vs {y}");
            }
        }
    }

    fn data() -> Vec<LabeledSentence> {
        vec![
            rec("the union state deepens integration", "pro"),
            rec("brotherly unity with russia", "pro"),
            rec("integration road maps signed", "pro"),
            rec("we will never give up sovereignty", "sov"),
            rec("independence is not up for discussion", "sov"),
            rec("the talks were held on monday", "neu"),
        ]
    }

    #[test]
    fn training_twice_gives_identical_bytes() {
        let a =
            StanceModel::train(&data(), &TrainOptions::default(), Provenance::default()).unwrap();
        let b =
            StanceModel::train(&data(), &TrainOptions::default(), Provenance::default()).unwrap();
        assert_eq!(a.to_json(), b.to_json());
    }

    #[test]
    fn save_load_round_trip_predicts_identically() {
        for classifier in [ClassifierKind::Logistic, ClassifierKind::NaiveBayes] {
            let options = TrainOptions {
                classifier,
                ..TrainOptions::default()
            };
            let model = StanceModel::train(&data(), &options, Provenance::default()).unwrap();
            let back = StanceModel::from_json("test", &model.to_json()).unwrap();
            assert_eq!(back.to_json(), model.to_json());
            for s in [
                "never give up the union",
                "talks on monday",
                "unknown words only",
            ] {
                assert_eq!(back.predict(s), model.predict(s));
            }
        }
    }

    #[test]
    fn one_label_is_refused() {
        let one = vec![rec("a", "x"), rec("b", "x")];
        let err =
            StanceModel::train(&one, &TrainOptions::default(), Provenance::default()).unwrap_err();
        assert!(err.to_string().contains("at least two labels"));
    }

    #[test]
    fn softmax_survives_overflow() {
        let mut out = Vec::new();
        assert_eq!(softmax_into(&[1.0, f64::INFINITY, f64::NAN], &mut out), 1);
        assert_eq!(out, [0.0, 1.0, 0.0]);
        assert_eq!(softmax_into(&[f64::NEG_INFINITY; 2], &mut out), 0);
        assert_eq!(out, [0.5, 0.5]);
        softmax_into(&[0.0, 2f64.ln()], &mut out);
        assert!((out[1] - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn balancing_repeats_rarer_labels() {
        assert_eq!(
            training_rows(&[0, 0, 0, 1], 2, true),
            vec![0, 1, 2, 3, 3, 3]
        );
        assert_eq!(training_rows(&[0, 1], 2, false), vec![0, 1]);
    }

    #[test]
    fn bad_model_files_say_what_is_wrong() {
        let model =
            StanceModel::train(&data(), &TrainOptions::default(), Provenance::default()).unwrap();
        let good = model.to_json();
        let cases = [
            (good[..good.len() / 2].to_string(), "not a valid model file"),
            ("[1, 2]".to_string(), "not a stance model"),
            (
                good.replace("\"format_version\": 1", "\"format_version\": 99"),
                "newer",
            ),
            (good.replacen("]]", ", 1.0]]", 1), "weights for"),
        ];
        for (text, expected) in cases {
            let err = StanceModel::from_json("m.json", &text)
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with("m.json: ") && err.contains(expected),
                "{err}"
            );
        }
    }

    /// Asserts that two models are the same, every number bit for bit.
    fn assert_same_model(a: &StanceModel, b: &StanceModel) {
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(a.labels, b.labels);
        assert_eq!(a.options, b.options);
        assert_eq!(a.provenance, b.provenance);
        assert_eq!(bits(&a.bias), bits(&b.bias));
        assert_eq!(a.featurizer.vocabulary(), b.featurizer.vocabulary());
        assert_eq!(bits(a.featurizer.idf()), bits(b.featurizer.idf()));
        assert_eq!(bits(&a.weights), bits(&b.weights));
    }

    #[test]
    fn line_reader_and_serde_reader_give_the_same_model() {
        let pretty = serde_json::to_string_pretty(
            &serde_json::from_str::<serde_json::Value>(EMBEDDED_MODEL).unwrap(),
        )
        .unwrap();
        assert!(CanonicalModel::parse(EMBEDDED_MODEL).is_some());
        assert!(CanonicalModel::parse(&pretty).is_none());
        let general = StanceModel::from_json_general("m.json", EMBEDDED_MODEL).unwrap();
        assert_same_model(&StanceModel::embedded().unwrap(), &general);
        assert_same_model(
            &StanceModel::from_json("m.json", &pretty).unwrap(),
            &general,
        );
    }

    #[test]
    fn line_reader_reads_numbers_as_serde_json_does() {
        let line = EMBEDDED_MODEL
            .lines()
            .find(|l| l.starts_with("    [\""))
            .unwrap();
        let term_end = line.find("\", ").unwrap() + 3;
        let numbers = [
            "-0, [0,-0.0,1e-7]",
            "12345678901234567890123, [1E+2,-2.5e-3,0.1]",
            "7, [-1.7976931348623157e308,5e-324,1e-400]",
            "0.30000000000000004, [123456789012345678,-9007199254740993,2.2250738585072011e-308]",
            "9007199254740993, [9007199254740992.5,0.0000000000000000000000001,-0.1234567890123456789]",
            "1.0, [0.9007199254740991,90071992547409.91,-10.000000000000000000001]",
        ];
        for replacement in numbers {
            let text = EMBEDDED_MODEL.replacen(
                line,
                &format!(
                    "{}{replacement}]{}",
                    &line[..term_end],
                    &line[line.len() - 1..]
                ),
                1,
            );
            assert!(CanonicalModel::parse(&text).is_some(), "{replacement}");
            assert_same_model(
                &StanceModel::from_json("m.json", &text).unwrap(),
                &StanceModel::from_json_general("m.json", &text).unwrap(),
            );
        }
    }

    #[test]
    fn malformed_feature_lines_are_reported_by_feature_or_line() {
        let (index, line) = EMBEDDED_MODEL
            .lines()
            .filter(|l| l.starts_with("    [\""))
            .enumerate()
            .nth(5)
            .unwrap();
        let term = line["    [\"".len()..].split('"').next().unwrap();
        let row_start = line.rfind('[').unwrap();
        let cases = [
            (
                format!("{}[-1.5,-2.5]],", &line[..row_start]),
                format!("feature {index} (\"{term}\") has 2 weights for 3 labels"),
            ),
            (
                format!("{}[-1.5,1e999,-2.5]],", &line[..row_start]),
                "not a valid model file".to_string(),
            ),
            (
                format!("{}[-1.5,NaN,-2.5]],", &line[..row_start]),
                "not a valid model file".to_string(),
            ),
        ];
        for (bad_line, expected) in cases {
            let text = EMBEDDED_MODEL.replacen(line, &bad_line, 1);
            let err = StanceModel::from_json("m.json", &text)
                .unwrap_err()
                .to_string();
            assert!(err.contains(&expected), "{err}");
            if !expected.starts_with("feature") {
                // serde_json's message points at the line of the feature.
                let line_number = EMBEDDED_MODEL.lines().position(|l| l == line).unwrap() + 1;
                assert!(err.contains(&format!("line {line_number} ")), "{err}");
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(20_000))]
        #[test]
        fn numbers_are_read_as_str_parse_reads_them(
            digits in "[0-9]{1,22}",
            point in 1usize..22,
            exponent in proptest::option::of(-30i32..30),
            negative: bool,
        ) {
            let point = point.min(digits.len());
            let (int, frac) = digits.split_at(point);
            let int = match int.trim_start_matches('0') {
                "" => "0",
                int => int,
            };
            let mut text = format!("{}{int}", if negative { "-" } else { "" });
            if !frac.is_empty() {
                text = format!("{text}.{frac}");
            }
            if let Some(e) = exponent {
                text = format!("{text}e{e}");
            }
            let expected: f64 = text.parse().unwrap();
            let mut cursor = Cursor { text: &text, at: 0 };
            proptest::prop_assert_eq!(cursor.number().map(f64::to_bits), Some(expected.to_bits()));
            proptest::prop_assert_eq!(cursor.at, text.len());
        }
    }

    #[test]
    fn decimal_quotients_are_correctly_rounded() {
        let cases: [(u64, u32); 8] = [
            (9_007_199_254_740_993, 0),
            (9_007_199_254_740_995, 0),
            (18_446_744_073_709_551_615, 0),
            (1, 19),
            (9_999_999_999_999_999_999, 19),
            (30_000_000_000_000_004, 17),
            (77_650_389_767_805_414, 16),
            (10_341_140_466_536_496, 15),
        ];
        for (mantissa, frac_digits) in cases {
            let text = format!("{mantissa}e-{frac_digits}");
            assert_eq!(
                decimal_quotient(mantissa, frac_digits).to_bits(),
                text.parse::<f64>().unwrap().to_bits(),
                "{text}"
            );
        }
    }

    #[test]
    fn a_custom_token_pattern_is_checked_when_the_model_is_loaded() {
        let default = serde_json::to_string(crate::features::DEFAULT_TOKEN_PATTERN).unwrap();
        assert!(EMBEDDED_MODEL.contains(&default));
        let custom = EMBEDDED_MODEL.replacen(&default, r#""\\w+""#, 1);
        let model = StanceModel::from_json("m.json", &custom).unwrap();
        assert!(!model.featurizer().has_fast_path());
        assert_eq!(model.predict("Minsk agreed.").probabilities.len(), 3);
        let invalid = EMBEDDED_MODEL.replacen(&default, r#""[unclosed""#, 1);
        let err = StanceModel::from_json("m.json", &invalid)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("m.json: ") && err.contains("token pattern \"[unclosed\""),
            "{err}"
        );
    }

    #[test]
    fn embedded_model_hash_is_the_hash_of_the_embedded_model() {
        assert_eq!(EMBEDDED_MODEL_HASH, short_hash(EMBEDDED_MODEL.as_bytes()));
    }
}
