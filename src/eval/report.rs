//! The evaluation report: a stable JSON schema and its Markdown rendering.
//!
//! [`Figures`] is what `stance eval --format json` prints at the top level
//! (see `docs/eval.md` for the schema); [`Report`] gathers everything
//! `stance eval --report` writes to `eval/report.md` and `eval/report.json`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::bootstrap::{metric_intervals, Interval, Intervals};
use super::curve::LearningCurve;
use super::select::{CompareRow, NestedSelection};
use super::suite::{CaseResult, SuiteReport, Tally};
use super::{CrossValidation, FoldSummary, LabelMetrics, Metrics};
use crate::labels::LabeledSentence;
use crate::model::{ModelSource, SourceFile, TrainOptions};

/// The version of the JSON schema below; bumped on incompatible changes.
pub const SCHEMA: &str = "stance-eval/1";

/// Bootstrap settings used by every report.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BootstrapSettings {
    /// Resamples.
    pub resamples: usize,
    /// Coverage.
    pub level: f64,
    /// Seed.
    pub seed: u64,
}

impl Default for BootstrapSettings {
    fn default() -> Self {
        BootstrapSettings {
            resamples: 2000,
            level: 0.95,
            seed: 42,
        }
    }
}

/// One set of figures in the stable schema: the model's, the majority
/// baseline's (same code path), and bootstrap intervals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// Sentences scored.
    pub n: usize,
    /// Share predicted correctly.
    pub accuracy: f64,
    /// Unweighted mean of the per-label F1.
    pub macro_f1: f64,
    /// Mean F1 of `pro-integration` and `sovereignty-preserving` (null if either is absent).
    pub f_avg: Option<f64>,
    /// Precision, recall, F1 and support per label.
    pub per_label: BTreeMap<String, LabelMetrics>,
    /// `confusion[truth][predicted]` = count.
    pub confusion: BTreeMap<String, BTreeMap<String, usize>>,
    /// The majority-class baseline on the same sentences.
    pub majority: Metrics,
    /// Bootstrap intervals of accuracy and macro-F1.
    pub intervals: Intervals,
}

impl Figures {
    /// Figures from `(truth, predicted)` pairs, the baseline's pairs, and
    /// each pair's article (for the article-level interval).
    pub fn new(
        pairs: &[(&str, &str)],
        majority_pairs: &[(&str, &str)],
        articles: Option<&[&str]>,
        bootstrap: BootstrapSettings,
    ) -> Figures {
        let m = Metrics::from_pairs(pairs);
        Figures {
            n: m.n,
            accuracy: m.accuracy,
            macro_f1: m.macro_f1,
            f_avg: m.f_avg,
            per_label: m.per_label,
            confusion: m.confusion,
            majority: Metrics::from_pairs(majority_pairs),
            intervals: metric_intervals(
                pairs,
                articles,
                bootstrap.resamples,
                bootstrap.level,
                bootstrap.seed,
            ),
        }
    }

    /// Figures of a cross-validation run.
    pub fn of_cv(cv: &CrossValidation, bootstrap: BootstrapSettings) -> Figures {
        let pairs = super::model_pairs(&cv.held_out);
        let majority = super::majority_pairs(&cv.held_out);
        let articles: Vec<&str> = cv.held_out.iter().map(|h| h.article.as_str()).collect();
        Figures::new(&pairs, &majority, Some(&articles), bootstrap)
    }

    /// The model's figures as [`Metrics`].
    pub fn metrics(&self) -> Metrics {
        Metrics {
            n: self.n,
            accuracy: self.accuracy,
            macro_f1: self.macro_f1,
            f_avg: self.f_avg,
            per_label: self.per_label.clone(),
            confusion: self.confusion.clone(),
        }
    }
}

/// Where the figures come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalProvenance {
    /// The stance version that produced them.
    pub stance_version: String,
    /// Labels files (path, BLAKE3, records used).
    pub labels_files: Vec<SourceFile>,
    /// How sentences were split: `leave-one-article-out`, `K grouped folds`, or `held-out file`.
    pub split: String,
    /// Number of folds (cross-validation only).
    pub folds: Option<usize>,
    /// The seed (fold assignment, subsampling).
    pub seed: u64,
    /// Training options (cross-validation only).
    pub options: Option<TrainOptions>,
    /// The model file evaluated, or the shipped model the options are compared with.
    pub model: Option<ModelSource>,
    /// Whether the evaluated options equal the shipped model's options.
    pub options_match_model: Option<bool>,
    /// Held-out sentences.
    pub held_out: usize,
    /// Sentences used for training only (authored, or without an article).
    pub training_only: usize,
    /// Bootstrap settings.
    pub bootstrap: BootstrapSettings,
}

/// The document `stance eval --format json` prints.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvalDocument {
    /// Schema version, [`SCHEMA`].
    pub schema: String,
    /// The figures, at the top level.
    #[serde(flatten)]
    pub figures: Figures,
    /// Cross-validation: figures per fold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_fold: Option<Vec<FoldSummary>>,
    /// Cross-validation with authored sentences: the same run without them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub without_authored: Option<Figures>,
    /// `--data`: labels in the file that the model does not know, with counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown_labels: Option<BTreeMap<String, usize>>,
    /// Where the figures come from.
    pub provenance: EvalProvenance,
}

/// A frequent confusion and examples of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Confusion {
    /// The true label.
    pub truth: String,
    /// What the model said.
    pub predicted: String,
    /// How often.
    pub count: usize,
    /// A few of the sentences (article, text).
    pub examples: Vec<(String, String)>,
}

/// The most frequent confusions of a cross-validation run, with up to
/// `examples` sentences each.
pub fn top_confusions(
    cv: &CrossValidation,
    records: &[LabeledSentence],
    top: usize,
    examples: usize,
) -> Vec<Confusion> {
    let mut cells: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for h in cv.held_out.iter().filter(|h| h.truth != h.predicted) {
        cells
            .entry((h.truth.clone(), h.predicted.clone()))
            .or_default()
            .push(h.record);
    }
    let mut list: Vec<Confusion> = cells
        .into_iter()
        .map(|((truth, predicted), recs)| Confusion {
            truth,
            predicted,
            count: recs.len(),
            examples: recs
                .iter()
                .take(examples)
                .filter_map(|&i| records.get(i))
                .map(|r| (r.article.clone().unwrap_or_default(), r.text.clone()))
                .collect(),
        })
        .collect();
    list.sort_by_key(|c| std::cmp::Reverse(c.count));
    list.truncate(top);
    list
}

/// One peer model's figures from the scikit-learn script, per fold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeerRow {
    /// Model name as the script gives it, e.g. `tfidf_logreg`.
    pub model: String,
    /// Whether authored sentences were in the training files.
    pub authored: bool,
    /// Macro-F1 on each held-out article, by article.
    pub per_fold: BTreeMap<String, f64>,
    /// Mean of the per-fold macro-F1.
    pub mean_fold_macro_f1: f64,
}

/// Parses the JSON lines written by `eval/sklearn_folds.sh`: one `run` and
/// several `model` objects per fold, tagged `authored=yes|no article=NAME`.
/// Lines that are not such objects are skipped.
pub fn parse_peer_results(text: &str) -> Vec<PeerRow> {
    let mut rows: BTreeMap<(String, bool), BTreeMap<String, f64>> = BTreeMap::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v.get("kind").and_then(|k| k.as_str()) != Some("model") {
            continue;
        }
        let (Some(model), Some(f1), Some(tag)) = (
            v.get("model").and_then(|m| m.as_str()),
            v.get("macro_f1").and_then(|m| m.as_f64()),
            v.get("tag").and_then(|t| t.as_str()),
        ) else {
            continue;
        };
        let field = |name: &str| {
            tag.split_whitespace()
                .find_map(|kv| kv.strip_prefix(name).and_then(|r| r.strip_prefix('=')))
                .map(str::to_string)
        };
        let (Some(authored), Some(article)) = (field("authored"), field("article")) else {
            continue;
        };
        rows.entry((model.to_string(), authored == "yes"))
            .or_default()
            .insert(article, f1);
    }
    rows.into_iter()
        .map(|((model, authored), per_fold)| PeerRow {
            mean_fold_macro_f1: per_fold.values().sum::<f64>() / per_fold.len().max(1) as f64,
            model,
            authored,
            per_fold,
        })
        .collect()
}

/// Stance's own per-fold figures beside the peers'.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeerComparison {
    /// The command that produced the peer figures.
    pub command: String,
    /// The peers' rows.
    pub peers: Vec<PeerRow>,
    /// Stance's default, same folds, with authored sentences.
    pub stance: PeerRow,
    /// Stance's default, same folds, without authored sentences.
    pub stance_without_authored: PeerRow,
}

impl PeerRow {
    /// Stance's per-fold macro-F1 from a leave-one-article-out run.
    pub fn of_cv(name: &str, authored: bool, cv: &CrossValidation) -> PeerRow {
        PeerRow::of_folds(name, authored, &cv.per_fold)
    }

    /// Stance's per-fold macro-F1 from per-fold figures.
    pub fn of_folds(name: &str, authored: bool, folds: &[FoldSummary]) -> PeerRow {
        let per_fold: BTreeMap<String, f64> = folds
            .iter()
            .map(|f| (f.articles.join(","), f.macro_f1))
            .collect();
        PeerRow {
            model: name.to_string(),
            authored,
            mean_fold_macro_f1: per_fold.values().sum::<f64>() / per_fold.len().max(1) as f64,
            per_fold,
        }
    }
}

/// A learning curve and where its chart was written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurveSection {
    /// The curve.
    pub curve: LearningCurve,
    /// The SVG file, relative to the report.
    pub svg: String,
}

/// The behavioural suite's pass rates and failures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuiteSection {
    /// The suite file.
    pub file: String,
    /// All cases.
    pub overall: Tally,
    /// Per test type.
    pub by_test: BTreeMap<String, Tally>,
    /// Per test type and capability.
    pub by_capability: BTreeMap<String, Tally>,
    /// The failed cases.
    pub failures: Vec<CaseResult>,
}

impl SuiteSection {
    /// Summarises a suite run.
    pub fn new(file: &str, report: &SuiteReport) -> SuiteSection {
        SuiteSection {
            file: file.to_string(),
            overall: report.overall,
            by_test: report.by_test.clone(),
            by_capability: report.by_capability.clone(),
            failures: report.failures().cloned().collect(),
        }
    }
}

/// Everything in `eval/report.md` and `eval/report.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// Schema version, [`SCHEMA`].
    pub schema: String,
    /// The command that regenerates the report.
    pub command: String,
    /// Data, split, seed, options, shipped model.
    pub provenance: EvalProvenance,
    /// The default configuration, trained with authored sentences.
    pub default: Figures,
    /// The default configuration, trained on seed sentences only.
    pub without_authored: Figures,
    /// The other classifier's configuration (see [`other_classifier`]).
    pub other_classifier: String,
    /// The other classifier, with authored sentences.
    pub other: Figures,
    /// The other classifier, seed sentences only.
    pub other_without_authored: Figures,
    /// Per-fold figures of the default.
    pub per_fold: Vec<FoldSummary>,
    /// Per-fold figures of the default trained without authored sentences.
    pub per_fold_without_authored: Vec<FoldSummary>,
    /// Nested selection over the fixed grid: the honest estimate of choosing.
    pub nested: Option<NestedSelection>,
    /// The grid's leave-one-article-out scores on all articles (name, macro-F1).
    pub grid: Vec<(String, f64)>,
    /// What each option gives (one change at a time from the default).
    pub compare: Vec<CompareRow>,
    /// scikit-learn on the same folds.
    pub peers: Option<PeerComparison>,
    /// Learning curve.
    pub learning_curve: Option<CurveSection>,
    /// Behavioural suite.
    pub suite: Option<SuiteSection>,
    /// The most frequent confusions of the default, with examples.
    pub confusions: Vec<Confusion>,
}

/// Macro-F1 differences smaller than this are treated as noise on the 108
/// held-out seed sentences: one sentence changing its predicted label moves
/// macro-F1 by about 0.01, so this is three sentences.
const NOISE_MACRO_F1: f64 = 0.03;

fn f3(x: f64) -> String {
    format!("{x:.3}")
}

fn opt3(x: Option<f64>) -> String {
    x.map_or("–".into(), f3)
}

fn interval(i: &Interval) -> String {
    format!("[{:.3}, {:.3}]", i.low, i.high)
}

fn opt_interval(i: &Option<Interval>) -> String {
    i.as_ref().map_or("–".into(), interval)
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let cut: String = s.chars().take(max).collect();
        format!("{}…", cut.trim_end())
    }
}

impl Report {
    /// The report as Markdown.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        let p = &self.provenance;
        let _ = writeln!(s, "# Evaluation report\n");
        let _ = writeln!(
            s,
            "Generated by `{}` ({}). Do not edit by hand: rerun the command.\n",
            self.command, p.stance_version
        );
        let _ = writeln!(s, "## Provenance\n");
        let _ = writeln!(s, "| labels file | records used | BLAKE3 |\n|---|---:|---|");
        for f in &p.labels_files {
            let _ = writeln!(
                s,
                "| `{}` | {} | `{}` |",
                f.path,
                f.records,
                &f.blake3[..16.min(f.blake3.len())]
            );
        }
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "- Split: **{}** over the seed articles ({} folds); {} held-out seed sentences. \
             The featurizer is fitted inside each training fold. {} sentences only ever train \
             (team-written `\"source\": \"authored\"` sentences, never evaluated).",
            p.split,
            p.folds.unwrap_or(0),
            p.held_out,
            p.training_only
        );
        let _ = writeln!(
            s,
            "- Seed: {}. Bootstrap: {} resamples, {:.0}% percentile intervals, seed {}.",
            p.seed,
            p.bootstrap.resamples,
            p.bootstrap.level * 100.0,
            p.bootstrap.seed
        );
        if let Some(m) = &p.model {
            let _ = writeln!(
                s,
                "- Shipped model: `{}` (BLAKE3 `{}`); its options {} the default options evaluated here.",
                m.origin,
                m.hash,
                if p.options_match_model == Some(true) { "equal" } else { "**differ from**" }
            );
        }
        if let Some(o) = &p.options {
            let _ = writeln!(
                s,
                "- Default options: `{}`\n",
                serde_json::to_string(o).unwrap_or_default()
            );
        }

        let _ = writeln!(
            s,
            "## Headline figures (leave-one-article-out on real seed sentences)\n"
        );
        if let Some(n) = &self.nested {
            let _ = writeln!(
                s,
                "**Honest estimate of the whole procedure (nested selection): macro-F1 {}, F_avg {}, accuracy {}** \
                 (majority baseline macro-F1 {}). For each held-out article the configuration was chosen \
                 among {} fixed candidates by leave-one-article-out on the other four articles only, then \
                 trained on them and scored on the held-out article; the figure pools those predictions.\n",
                f3(n.model.macro_f1),
                opt3(n.model.f_avg),
                f3(n.model.accuracy),
                f3(n.majority.macro_f1),
                n.candidates
            );
        }
        let _ = writeln!(
            s,
            "The rows below evaluate fixed configurations. The default's row is the configuration the \
             selection picked on all five articles, so its figure is slightly optimistic; the nested \
             figure above is the one to quote.\n"
        );
        let _ = writeln!(
            s,
            "| configuration | training data | n | accuracy | macro-F1 | macro-F1 95% CI (sentences) | macro-F1 95% CI (articles) | F_avg | mean per-fold macro-F1 |\n|---|---|---:|---:|---:|---|---|---:|---:|"
        );
        let fold_mean = |rows: &[FoldSummary]| {
            rows.iter().map(|f| f.macro_f1).sum::<f64>() / rows.len().max(1) as f64
        };
        let rows: [(&str, &str, &Figures); 4] = [
            ("**default**", "seeds + authored", &self.default),
            ("default", "seeds only", &self.without_authored),
            (&self.other_classifier, "seeds + authored", &self.other),
            (
                &self.other_classifier,
                "seeds only",
                &self.other_without_authored,
            ),
        ];
        for (i, (name, data, f)) in rows.iter().enumerate() {
            let _ = writeln!(
                s,
                "| {name} | {data} | {} | {} | {} | {} | {} | {} | {} |",
                f.n,
                f3(f.accuracy),
                f3(f.macro_f1),
                interval(&f.intervals.macro_f1),
                opt_interval(&f.intervals.macro_f1_by_article),
                opt3(f.f_avg),
                if i == 0 {
                    f3(fold_mean(&self.per_fold))
                } else {
                    "".into()
                }
            );
        }
        let b = &self.default.majority;
        let _ = writeln!(
            s,
            "| majority class (training fold's most frequent label) | same folds | {} | {} | {} | | | {} | |\n",
            b.n,
            f3(b.accuracy),
            f3(b.macro_f1),
            opt3(b.f_avg)
        );
        let _ = writeln!(
            s,
            "Intervals: \"sentences\" resamples held-out sentences ({} resamples) and treats them as \
             independent, which they are not (sentences of one article share topic and style), so it is \
             too narrow. \"articles\" resamples whole articles (a cluster bootstrap); with only {} \
             articles it can take few distinct values and is coarse, but it shows how much the figure \
             depends on which articles were labeled. Accuracy: {} (sentences), {} (articles).\n",
            self.default.intervals.resamples,
            self.default.intervals.articles,
            interval(&self.default.intervals.accuracy),
            opt_interval(&self.default.intervals.accuracy_by_article)
        );

        let _ = writeln!(s, "### Per label (default, seeds + authored)\n");
        let _ = writeln!(
            s,
            "| label | precision | recall | F1 | support |\n|---|---:|---:|---:|---:|"
        );
        for (l, m) in &self.default.per_label {
            let _ = writeln!(
                s,
                "| {l} | {} | {} | {} | {} |",
                f3(m.precision),
                f3(m.recall),
                f3(m.f1),
                m.support
            );
        }
        let _ = writeln!(
            s,
            "\n### Confusion matrix (rows: true label; columns: predicted)\n"
        );
        let labels: Vec<&String> = self.default.confusion.keys().collect();
        let _ = write!(s, "| true \\ predicted |");
        for l in &labels {
            let _ = write!(s, " {l} |");
        }
        let _ = writeln!(s, " misclassified as |");
        let _ = writeln!(s, "|---|{}---|", "---:|".repeat(labels.len()));
        for t in &labels {
            let row = &self.default.confusion[*t];
            let _ = write!(s, "| {t} |");
            for p in &labels {
                let _ = write!(s, " {} |", row.get(*p).copied().unwrap_or(0));
            }
            let wrong: Vec<String> = row
                .iter()
                .filter(|(p, n)| *p != *t && **n > 0)
                .map(|(p, n)| format!("{p} ×{n}"))
                .collect();
            let _ = writeln!(
                s,
                " {} |",
                if wrong.is_empty() {
                    "–".into()
                } else {
                    wrong.join(", ")
                }
            );
        }
        let _ = writeln!(s, "\n### Per fold (default)\n");
        let _ = writeln!(s, "| held-out article | training sentences | held-out | accuracy | macro-F1 | majority macro-F1 |\n|---|---:|---:|---:|---:|---:|");
        for f in &self.per_fold {
            let _ = writeln!(
                s,
                "| `{}` | {} | {} | {} | {} | {} |",
                f.articles.join(", "),
                f.n_train,
                f.n,
                f3(f.accuracy),
                f3(f.macro_f1),
                f3(f.majority_macro_f1)
            );
        }

        if let Some(n) = &self.nested {
            let _ = writeln!(s, "\n## Model selection\n");
            let _ = writeln!(s, "### Nested selection (the estimate to quote)\n");
            let _ = writeln!(s, "| held-out article | chosen on the other articles | inner macro-F1 | held-out macro-F1 |\n|---|---|---:|---:|");
            for o in &n.outer {
                let _ = writeln!(
                    s,
                    "| `{}` | {} | {} | {} |",
                    o.article,
                    md_escape(&o.chosen),
                    f3(o.inner_macro_f1),
                    f3(o.macro_f1)
                );
            }
            let _ = writeln!(
                s,
                "\nPooled: macro-F1 **{}**, F_avg {}, accuracy {}; mean per-article macro-F1 {}.\n",
                f3(n.model.macro_f1),
                opt3(n.model.f_avg),
                f3(n.model.accuracy),
                f3(n.mean_fold_macro_f1)
            );
        }
        if !self.grid.is_empty() {
            let _ = writeln!(
                s,
                "### The grid on all five articles (how the default was picked)\n"
            );
            let _ = writeln!(s, "The same selection run on all articles; its winner is the shipped default. These are test-fold figures of a search, so the best of them is optimistic.\n");
            let _ = writeln!(s, "| candidate | LOAO macro-F1 |\n|---|---:|");
            let best = self
                .grid
                .iter()
                .map(|g| g.1)
                .fold(f64::NEG_INFINITY, f64::max);
            for (name, f1) in &self.grid {
                let mark = if *f1 == best { " ← chosen" } else { "" };
                let _ = writeln!(s, "| {}{mark} | {} |", md_escape(name), f3(*f1));
            }
            let _ = writeln!(s);
        }
        if !self.compare.is_empty() {
            let _ = writeln!(
                s,
                "### What each option gives (one change at a time from the default)\n"
            );
            let _ = writeln!(
                s,
                "Leave-one-article-out on the real seed sentences; authored sentences only train. \
                 **These are test-fold figures shown in the open, not an estimate**, and the nested figure \
                 above is what to expect from a configuration chosen this way. Smoothing, word n-grams and \
                 negation/contrast marking are set by the selection grid; the other options were fixed up \
                 front. Differences below about {NOISE_MACRO_F1} are within the noise of 108 sentences and \
                 do not change the default; any larger gain over the default is listed under the table.\n"
            );
            let _ = writeln!(s, "| configuration | accuracy | macro-F1 | Δ macro-F1 | F_avg | mean per-fold macro-F1 |\n|---|---:|---:|---:|---:|---:|");
            for r in &self.compare {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {:+.3} | {} | {} |",
                    md_escape(&r.name),
                    f3(r.accuracy),
                    f3(r.macro_f1),
                    r.delta,
                    opt3(r.f_avg),
                    f3(r.mean_fold_macro_f1)
                );
            }
            let _ = writeln!(s);
            let above: Vec<String> = self
                .compare
                .iter()
                .filter(|r| r.delta > 0.0)
                .map(|r| format!("{} ({:+.3})", md_escape(&r.name), r.delta))
                .collect();
            if above.is_empty() {
                let _ = writeln!(s, "No single change scores above the default here.\n");
            } else {
                let beyond_noise = self.compare.iter().any(|r| r.delta > NOISE_MACRO_F1);
                let _ = writeln!(
                    s,
                    "Above the default here: {}{}.\n",
                    above.join("; "),
                    if beyond_noise {
                        ", **beyond the noise: the default should be revisited**"
                    } else {
                        ", within the noise"
                    }
                );
            }
        }

        let _ = writeln!(s, "## scikit-learn on the same folds\n");
        match &self.peers {
            Some(c) => {
                let _ = writeln!(
                    s,
                    "Produced by `{}`: for each held-out article, `baselines.py accuracy` trains on the \
                     other seed sentences (plus the authored ones, or not) and tests on that article; \
                     scikit-learn's hyper-parameters are tuned by its own cross-validation on the training \
                     file only. The script does not output predictions, so the comparable figure is the \
                     **mean of the per-article macro-F1**, computed the same way for stance.\n",
                    c.command
                );
                let mut all: Vec<&PeerRow> = vec![&c.stance, &c.stance_without_authored];
                all.extend(c.peers.iter());
                let articles: Vec<&String> = c.stance.per_fold.keys().collect();
                let _ = write!(s, "| model | training data | mean per-article macro-F1 |");
                for a in &articles {
                    let _ = write!(s, " `{}` |", short(a, 12));
                }
                let _ = writeln!(s);
                let _ = writeln!(s, "|---|---|---:|{}", "---:|".repeat(articles.len()));
                let mut sorted = all.clone();
                sorted.sort_by(|a, b| {
                    b.authored
                        .cmp(&a.authored)
                        .then(b.mean_fold_macro_f1.total_cmp(&a.mean_fold_macro_f1))
                });
                for r in sorted {
                    let bold = r.model.starts_with("stance");
                    let name = if bold {
                        format!("**{}**", r.model)
                    } else {
                        r.model.clone()
                    };
                    let _ = write!(
                        s,
                        "| {name} | {} | {} |",
                        if r.authored {
                            "seeds + authored"
                        } else {
                            "seeds only"
                        },
                        f3(r.mean_fold_macro_f1)
                    );
                    for a in &articles {
                        let _ = write!(
                            s,
                            " {} |",
                            r.per_fold.get(*a).map_or("–".into(), |x| f3(*x))
                        );
                    }
                    let _ = writeln!(s);
                }
                let _ = writeln!(s);
            }
            None => {
                let _ = writeln!(s, "Not run: `eval/sklearn.jsonl` is missing. Run `bash eval/sklearn_folds.sh` (see docs/eval.md), then regenerate this report.\n");
            }
        }

        if let Some(c) = &self.learning_curve {
            let _ = writeln!(s, "## Learning curve\n");
            let _ = writeln!(
                s,
                "![learning curve]({})\n\nEach fold's training pool (other seed articles + authored \
                 sentences) is subsampled (seeded) to the given size; held-out sentences stay the same. \
                 {} held-out sentences; majority baseline macro-F1 {}.\n",
                c.svg,
                c.curve.n,
                f3(c.curve.majority_macro_f1)
            );
            let _ = writeln!(s, "| training sentences per fold | repeats | macro-F1 (mean) | min | max | F_avg (mean) |\n|---:|---:|---:|---:|---:|---:|");
            for p in &c.curve.points {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} | {} |",
                    p.size,
                    p.repeats,
                    f3(p.macro_f1),
                    f3(p.min),
                    f3(p.max),
                    opt3(p.f_avg)
                );
            }
            let _ = writeln!(s);
        }

        if let Some(suite) = &self.suite {
            let _ = writeln!(s, "## Behavioural suite (shipped model)\n");
            let _ = writeln!(
                s,
                "`{}`: **{}/{} passed ({:.1}%)**. mft: the plain case gets its label; inv: a harmless change \
                 (name spelling, place, date, number, outlet, title) keeps the label; dir: the change moves \
                 the probability of the label the stated way. Cases are never edited to pass.\n",
                suite.file,
                suite.overall.passed,
                suite.overall.total,
                suite.overall.rate * 100.0
            );
            let _ = writeln!(
                s,
                "| test / capability | passed | total | rate |\n|---|---:|---:|---:|"
            );
            for (name, t) in &suite.by_test {
                let _ = writeln!(
                    s,
                    "| **{name}** | {} | {} | {:.1}% |",
                    t.passed,
                    t.total,
                    t.rate * 100.0
                );
                for (cap, c) in suite
                    .by_capability
                    .iter()
                    .filter(|(k, _)| k.starts_with(&format!("{name}/")))
                {
                    let _ = writeln!(
                        s,
                        "| {} | {} | {} | {:.1}% |",
                        cap,
                        c.passed,
                        c.total,
                        c.rate * 100.0
                    );
                }
            }
            let _ = writeln!(
                s,
                "\n<details><summary>{} failures</summary>\n",
                suite.failures.len()
            );
            let _ = writeln!(s, "| id | capability | sentence | why |\n|---|---|---|---|");
            for f in &suite.failures {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} |",
                    f.id,
                    f.capability,
                    md_escape(&short(
                        f.variant
                            .as_deref()
                            .map_or(f.text.clone(), |v| format!("{} → {}", f.text, v))
                            .as_str(),
                        240
                    )),
                    md_escape(f.reason.as_deref().unwrap_or(""))
                );
            }
            let _ = writeln!(s, "\n</details>\n");
        }

        if !self.confusions.is_empty() {
            let _ = writeln!(s, "## What the default still gets wrong\n");
            let _ = writeln!(s, "The most frequent confusions under leave-one-article-out, with example held-out sentences.\n");
            for c in &self.confusions {
                let _ = writeln!(
                    s,
                    "- **{} read as {}**: {} sentences",
                    c.truth, c.predicted, c.count
                );
                for (article, text) in &c.examples {
                    let _ = writeln!(
                        s,
                        "  - \"{}\" (`{}`)",
                        md_escape(&short(text, 220)),
                        article
                    );
                }
            }
            let _ = writeln!(s);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_results_are_grouped_by_model_and_data() {
        let text = r#"{"kind":"run","tag":"authored=yes article=a.txt"}
{"kind":"model","model":"tfidf_logreg","macro_f1":0.5,"tag":"authored=yes article=a.txt"}
{"kind":"model","model":"tfidf_logreg","macro_f1":0.7,"tag":"authored=yes article=b.txt"}
{"kind":"model","model":"tfidf_logreg","macro_f1":0.1,"tag":"authored=no article=a.txt"}
not json
{"kind":"model","model":"majority","macro_f1":0.2}
"#;
        let rows = parse_peer_results(text);
        assert_eq!(rows.len(), 2);
        let with = rows.iter().find(|r| r.authored).unwrap();
        assert!((with.mean_fold_macro_f1 - 0.6).abs() < 1e-12);
        assert_eq!(with.per_fold.len(), 2);
    }
}

/// What [`build_report`] needs besides the labels.
#[derive(Debug, Clone)]
pub struct ReportInputs<'a> {
    /// The command that regenerates the report.
    pub command: String,
    /// The labels files read.
    pub sources: Vec<SourceFile>,
    /// The default options.
    pub options: TrainOptions,
    /// The shipped model, evaluated on the suite, and where it came from.
    pub shipped: Option<(&'a crate::model::StanceModel, ModelSource)>,
    /// Suite cases and the suite file's name.
    pub suite: Option<(Vec<super::suite::SuiteCase>, String)>,
    /// Lines written by the scikit-learn script, and its command.
    pub peers: Option<(String, String)>,
    /// Learning curve SVG path relative to the report, and repeats.
    pub curve: Option<(String, usize)>,
    /// Bootstrap settings.
    pub bootstrap: BootstrapSettings,
    /// Whether to run the model selection (grid, nested, one-at-a-time table).
    pub selection: bool,
}

/// Runs everything the report shows. Progress goes to `progress`.
///
/// # Errors
/// The first training failure.
pub fn build_report(
    records: &[LabeledSentence],
    inputs: ReportInputs<'_>,
    progress: &mut dyn FnMut(&str),
) -> crate::error::Result<Report> {
    use super::select::{
        ablations, compare, filtered, nested_selection, pick_best, selection_grid,
    };
    use super::{cross_validate, curve::learning_curve, suite::run_suite, Folds};
    let options = &inputs.options;
    let folds = Folds::LeaveOneArticleOut;
    progress("cross-validating the default");
    let cv = cross_validate(records, options, folds)?;
    let seeds_only = filtered(records, false);
    let cv_seeds = cross_validate(&seeds_only, options, folds)?;
    let other = other_classifier(options);
    progress("cross-validating the other classifier");
    let cv_other = cross_validate(records, &other, folds)?;
    let cv_other_seeds = cross_validate(&seeds_only, &other, folds)?;

    let (mut grid, mut nested, mut compare_rows) = (Vec::new(), None, Vec::new());
    if inputs.selection {
        let candidates = selection_grid(options);
        progress(&format!(
            "selection grid: {} candidates on all articles",
            candidates.len()
        ));
        let (_, scores) = pick_best(records, &candidates)?;
        grid = candidates
            .iter()
            .zip(&scores)
            .map(|(c, s)| (c.name.clone(), *s))
            .collect();
        progress("nested selection (the grid inside every training fold)");
        nested = Some(nested_selection(records, &candidates)?);
        progress("one-change-at-a-time comparison");
        compare_rows = compare(records, &ablations(options), folds)?;
    }

    let peers = inputs.peers.as_ref().map(|(text, command)| PeerComparison {
        command: command.clone(),
        peers: parse_peer_results(text),
        stance: PeerRow::of_cv("stance default", true, &cv),
        stance_without_authored: PeerRow::of_cv("stance default", false, &cv_seeds),
    });
    let learning_curve = match &inputs.curve {
        Some((svg, repeats)) => {
            progress("learning curve");
            Some(CurveSection {
                curve: learning_curve(records, options, folds, None, *repeats)?,
                svg: svg.clone(),
            })
        }
        None => None,
    };
    let suite = match (&inputs.suite, &inputs.shipped) {
        (Some((cases, file)), Some((model, _))) => {
            Some(SuiteSection::new(file, &run_suite(model, cases)))
        }
        _ => None,
    };
    let b = inputs.bootstrap;
    let provenance = EvalProvenance {
        stance_version: format!("stance {}", env!("CARGO_PKG_VERSION")),
        labels_files: inputs.sources.clone(),
        split: "leave-one-article-out".into(),
        folds: Some(cv.folds),
        seed: options.seed,
        options: Some(options.clone()),
        options_match_model: inputs.shipped.as_ref().map(|(m, _)| m.options() == options),
        model: inputs.shipped.as_ref().map(|(_, s)| s.clone()),
        held_out: cv.model.n,
        training_only: cv.training_only,
        bootstrap: b,
    };
    Ok(Report {
        schema: SCHEMA.to_string(),
        command: inputs.command,
        provenance,
        default: Figures::of_cv(&cv, b),
        without_authored: Figures::of_cv(&cv_seeds, b),
        other_classifier: super::select::describe(&other, options),
        other: Figures::of_cv(&cv_other, b),
        other_without_authored: Figures::of_cv(&cv_other_seeds, b),
        per_fold: cv.per_fold.clone(),
        per_fold_without_authored: cv_seeds.per_fold.clone(),
        nested,
        grid,
        compare: compare_rows,
        peers,
        learning_curve,
        suite,
        confusions: top_confusions(&cv, records, 5, 3),
    })
}

/// The classifier the report puts beside the default: logistic regression
/// (alpha 0.5, word 1-2 grams, negation and contrast marking) when the
/// default is naive Bayes, else naive Bayes (smoothing 1.0) with the
/// default's features.
pub fn other_classifier(options: &TrainOptions) -> TrainOptions {
    use crate::model::ClassifierKind;
    let mut other = options.clone();
    match options.classifier {
        ClassifierKind::NaiveBayes => {
            other.classifier = ClassifierKind::Logistic;
            other.alpha = 0.5;
            other.features.word_ngrams = [1, 2];
            other.features.negation = true;
            other.features.contrast = true;
        }
        ClassifierKind::Logistic => {
            other.classifier = ClassifierKind::NaiveBayes;
            other.alpha = 1.0;
        }
    }
    other
}

impl Report {
    /// Replaces the scikit-learn comparison with the one in `peer_lines`
    /// (the output of `eval/sklearn_folds.sh`), keeping every other figure.
    pub fn with_peers(mut self, peer_lines: &str, command: &str) -> Report {
        self.peers = Some(PeerComparison {
            command: command.to_string(),
            peers: parse_peer_results(peer_lines),
            stance: PeerRow::of_folds("stance default", true, &self.per_fold),
            stance_without_authored: PeerRow::of_folds(
                "stance default",
                false,
                &self.per_fold_without_authored,
            ),
        });
        self
    }
}
