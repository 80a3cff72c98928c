//! Measuring accuracy honestly: metrics and grouped cross-validation.
//!
//! Sentences of one article are not independent, so cross-validation holds
//! out whole articles: by default one article at a time (leave-one-article-out),
//! or `K` grouped folds. The featurizer is fitted inside each training fold.
//! Sentences without an article, and sentences written by the team
//! (`"source": "authored"`), only ever train.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::labels::LabeledSentence;
use crate::model::{PredictScratch, Provenance, StanceModel, TrainOptions};

pub mod bootstrap;
pub mod curve;
pub mod data;
pub mod report;
pub mod select;
pub mod suite;

/// The two stance labels whose mean F1 is the field's usual figure, F_avg.
pub const F_AVG_LABELS: [&str; 2] = ["pro-integration", "sovereignty-preserving"];

/// Precision, recall, F1 and support of one label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelMetrics {
    /// Of the sentences predicted as this label, the share that are.
    pub precision: f64,
    /// Of the sentences of this label, the share predicted as it.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// Number of sentences of this label.
    pub support: usize,
}

/// Classification figures for one set of predictions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Number of sentences.
    pub n: usize,
    /// Share predicted correctly.
    pub accuracy: f64,
    /// Unweighted mean of the per-label F1 (over labels present in truth or predictions).
    pub macro_f1: f64,
    /// Mean F1 of `pro-integration` and `sovereignty-preserving`, when both exist.
    pub f_avg: Option<f64>,
    /// Figures per label.
    pub per_label: BTreeMap<String, LabelMetrics>,
    /// `confusion[truth][predicted]` = count.
    pub confusion: BTreeMap<String, BTreeMap<String, usize>>,
}

impl Metrics {
    /// Computes the figures from `(truth, predicted)` pairs.
    ///
    /// ```
    /// let m = stance::eval::Metrics::from_pairs(&[("a", "a"), ("a", "b"), ("b", "b")]);
    /// assert_eq!(m.n, 3);
    /// assert!((m.per_label["a"].recall - 0.5).abs() < 1e-12);
    /// assert!((m.macro_f1 - 2.0 / 3.0).abs() < 1e-12);
    /// ```
    pub fn from_pairs<S: AsRef<str>>(pairs: &[(S, S)]) -> Metrics {
        let mut labels: Vec<String> = pairs
            .iter()
            .flat_map(|(t, p)| [t.as_ref().to_string(), p.as_ref().to_string()])
            .collect();
        labels.sort();
        labels.dedup();
        let mut confusion: BTreeMap<String, BTreeMap<String, usize>> = labels
            .iter()
            .map(|t| (t.clone(), labels.iter().map(|p| (p.clone(), 0)).collect()))
            .collect();
        let mut correct = 0;
        for (t, p) in pairs {
            let (t, p) = (t.as_ref(), p.as_ref());
            if t == p {
                correct += 1;
            }
            if let Some(count) = confusion.get_mut(t).and_then(|row| row.get_mut(p)) {
                *count += 1;
            }
        }
        let per_label: BTreeMap<String, LabelMetrics> = labels
            .iter()
            .map(|l| {
                let tp = confusion[l][l] as f64;
                let support: usize = confusion[l].values().sum();
                let predicted: usize = confusion.values().map(|row| row[l]).sum();
                let precision = ratio(tp, predicted as f64);
                let recall = ratio(tp, support as f64);
                let f1 = ratio(2.0 * precision * recall, precision + recall);
                (
                    l.clone(),
                    LabelMetrics {
                        precision,
                        recall,
                        f1,
                        support,
                    },
                )
            })
            .collect();
        let macro_f1 = ratio(
            per_label.values().map(|m| m.f1).sum::<f64>(),
            per_label.len() as f64,
        );
        let f_avg = match (
            per_label.get(F_AVG_LABELS[0]),
            per_label.get(F_AVG_LABELS[1]),
        ) {
            (Some(a), Some(b)) => Some((a.f1 + b.f1) / 2.0),
            _ => None,
        };
        Metrics {
            n: pairs.len(),
            accuracy: ratio(correct as f64, pairs.len() as f64),
            macro_f1,
            f_avg,
            per_label,
            confusion,
        }
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        0.0
    } else {
        a / b
    }
}

/// How to split labeled sentences for cross-validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Folds {
    /// One fold per article.
    #[default]
    LeaveOneArticleOut,
    /// `K` folds of whole articles, assigned by a seeded shuffle.
    Grouped(usize),
}

/// One held-out sentence and what the model said about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldOut {
    /// Index of the record in the input.
    pub record: usize,
    /// The fold it was held out in.
    pub fold: usize,
    /// The article it comes from.
    pub article: String,
    /// Its true label.
    pub truth: String,
    /// The model's label.
    pub predicted: String,
    /// The model's probability for its label.
    pub probability: f64,
    /// The label the majority-class baseline gave (the training fold's most frequent label).
    pub majority: String,
}

/// The figures of one fold on its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldSummary {
    /// Fold number.
    pub fold: usize,
    /// The articles held out.
    pub articles: Vec<String>,
    /// Training sentences.
    pub n_train: usize,
    /// Held-out sentences.
    pub n: usize,
    /// Share of held-out sentences predicted correctly.
    pub accuracy: f64,
    /// Macro-F1 over the fold's held-out sentences.
    pub macro_f1: f64,
    /// Macro-F1 of the majority baseline on the same sentences.
    pub majority_macro_f1: f64,
}

/// The outcome of a cross-validation run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CrossValidation {
    /// Number of folds.
    pub folds: usize,
    /// The article names held out in each fold.
    pub fold_articles: Vec<Vec<String>>,
    /// Figures per fold.
    pub per_fold: Vec<FoldSummary>,
    /// Every held-out sentence, in record order.
    pub held_out: Vec<HeldOut>,
    /// Records used for training only (authored, or with no article).
    pub training_only: usize,
    /// Figures of the model.
    pub model: Metrics,
    /// Figures of the majority-class baseline, computed the same way.
    pub majority: Metrics,
}

/// Whether a record may be held out for evaluation.
pub fn is_evaluable(record: &LabeledSentence) -> bool {
    !record.is_authored() && record.article.is_some()
}

/// Which records train and which are held out, fold by fold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldPlan {
    /// The articles held out in each fold.
    pub articles: Vec<Vec<String>>,
    /// Indices of the held-out records of each fold.
    pub test: Vec<Vec<usize>>,
    /// Indices of the training records of each fold (everything else).
    pub train: Vec<Vec<usize>>,
    /// Records that only ever train (authored, or without an article).
    pub training_only: usize,
}

/// Splits `records` into grouped folds: whole articles are held out, and
/// records that are not [evaluable](is_evaluable) always train. `seed` drives
/// the assignment of articles to `K` grouped folds.
///
/// # Errors
/// [`Error::Training`] with fewer than two articles; [`Error::InvalidOption`]
/// for `K` outside `2..=articles`.
pub fn plan_folds(records: &[LabeledSentence], folds: Folds, seed: u64) -> Result<FoldPlan> {
    let mut articles: Vec<String> = records
        .iter()
        .filter(|r| is_evaluable(r))
        .filter_map(|r| r.article.clone())
        .collect();
    articles.sort();
    articles.dedup();
    if articles.len() < 2 {
        return Err(Error::Training(format!(
            "cross-validation needs labeled sentences from at least two articles, found {}",
            articles.len()
        )));
    }
    let fold_articles: Vec<Vec<String>> = match folds {
        Folds::LeaveOneArticleOut => articles.iter().map(|a| vec![a.clone()]).collect(),
        Folds::Grouped(k) => {
            if k < 2 || k > articles.len() {
                return Err(Error::InvalidOption(format!(
                    "--folds must be between 2 and the number of articles ({}), got {k}",
                    articles.len()
                )));
            }
            let mut shuffled = articles.clone();
            shuffle(&mut shuffled, seed);
            let mut groups = vec![Vec::new(); k];
            for (i, a) in shuffled.into_iter().enumerate() {
                groups[i % k].push(a);
            }
            groups.iter_mut().for_each(|g| g.sort());
            groups
        }
    };
    let mut test = Vec::with_capacity(fold_articles.len());
    let mut train = Vec::with_capacity(fold_articles.len());
    for held in &fold_articles {
        let is_test = |r: &LabeledSentence| {
            is_evaluable(r) && r.article.as_ref().is_some_and(|a| held.contains(a))
        };
        let (te, tr): (Vec<usize>, Vec<usize>) =
            (0..records.len()).partition(|&i| is_test(&records[i]));
        test.push(te);
        train.push(tr);
    }
    Ok(FoldPlan {
        articles: fold_articles,
        test,
        train,
        training_only: records.iter().filter(|r| !is_evaluable(r)).count(),
    })
}

/// Grouped cross-validation of `options` on `records`.
///
/// # Errors
/// [`Error::Training`] when there are fewer than two articles to hold out,
/// or training fails in a fold.
pub fn cross_validate(
    records: &[LabeledSentence],
    options: &TrainOptions,
    folds: Folds,
) -> Result<CrossValidation> {
    let plan = plan_folds(records, folds, options.seed)?;
    run_folds(records, options, &plan)
}

/// Predicts the held-out records `test_idx` of fold `fold` with `model`,
/// beside the training fold's majority label.
pub fn score_held_out(
    model: &StanceModel,
    majority: &str,
    records: &[LabeledSentence],
    test_idx: &[usize],
    fold: usize,
) -> Vec<HeldOut> {
    let mut scratch = PredictScratch::default();
    let mut probabilities = Vec::new();
    test_idx
        .iter()
        .map(|&i| {
            let r = &records[i];
            let label = model.predict_into(&r.text, &mut scratch, &mut probabilities);
            HeldOut {
                record: i,
                fold,
                article: r.article.clone().unwrap_or_default(),
                truth: r.label.clone(),
                predicted: model.labels()[label].clone(),
                probability: probabilities[label],
                majority: majority.to_string(),
            }
        })
        .collect()
}

/// Trains on each fold's training records and predicts its held-out ones
/// (folds in parallel). The featurizer is fitted inside each fold.
///
/// # Errors
/// [`Error::Training`] when training fails in a fold.
pub fn run_folds(
    records: &[LabeledSentence],
    options: &TrainOptions,
    plan: &FoldPlan,
) -> Result<CrossValidation> {
    let results: Vec<Result<Vec<HeldOut>>> = plan
        .train
        .par_iter()
        .zip(&plan.test)
        .enumerate()
        .map(|(fold, (train_idx, test_idx))| {
            let train: Vec<LabeledSentence> =
                train_idx.iter().map(|&i| records[i].clone()).collect();
            let model = StanceModel::train(&train, options, Provenance::default())?;
            Ok(score_held_out(
                &model,
                &majority_label(&train),
                records,
                test_idx,
                fold,
            ))
        })
        .collect();
    let mut held_out = Vec::new();
    for r in results {
        held_out.extend(r?);
    }
    held_out.sort_by_key(|h| h.record);
    let per_fold = (0..plan.articles.len())
        .map(|fold| {
            let in_fold: Vec<&HeldOut> = held_out.iter().filter(|h| h.fold == fold).collect();
            let m = Metrics::from_pairs(&model_pairs(in_fold.iter().copied()));
            let b = Metrics::from_pairs(&majority_pairs(in_fold.iter().copied()));
            FoldSummary {
                fold,
                articles: plan.articles[fold].clone(),
                n_train: plan.train[fold].len(),
                n: m.n,
                accuracy: m.accuracy,
                macro_f1: m.macro_f1,
                majority_macro_f1: b.macro_f1,
            }
        })
        .collect();
    Ok(CrossValidation {
        folds: plan.articles.len(),
        fold_articles: plan.articles.clone(),
        per_fold,
        training_only: plan.training_only,
        model: Metrics::from_pairs(&model_pairs(&held_out)),
        majority: Metrics::from_pairs(&majority_pairs(&held_out)),
        held_out,
    })
}

/// `(truth, predicted)` pairs of held-out sentences.
pub fn model_pairs<'a>(held_out: impl IntoIterator<Item = &'a HeldOut>) -> Vec<(&'a str, &'a str)> {
    held_out
        .into_iter()
        .map(|h| (h.truth.as_str(), h.predicted.as_str()))
        .collect()
}

/// `(truth, majority baseline)` pairs of held-out sentences.
pub fn majority_pairs<'a>(
    held_out: impl IntoIterator<Item = &'a HeldOut>,
) -> Vec<(&'a str, &'a str)> {
    held_out
        .into_iter()
        .map(|h| (h.truth.as_str(), h.majority.as_str()))
        .collect()
}

/// The most frequent label (the alphabetically first on ties).
pub fn majority_label(records: &[LabeledSentence]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in records {
        *counts.entry(r.label.as_str()).or_insert(0) += 1;
    }
    counts
        .into_iter()
        .fold((String::new(), 0), |best, (l, n)| {
            if n > best.1 {
                (l.to_string(), n)
            } else {
                best
            }
        })
        .0
}

/// A deterministic Fisher–Yates shuffle driven by a SplitMix64 generator.
pub fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut rng = SplitMix64(seed);
    for i in (1..items.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

/// SplitMix64: a small, well-known, seedable generator (no dependency needed).
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_match_a_hand_computed_example() {
        // truth a,a,a,b,b,c ; predicted a,b,a,b,c,c
        let pairs = [
            ("a", "a"),
            ("a", "b"),
            ("a", "a"),
            ("b", "b"),
            ("b", "c"),
            ("c", "c"),
        ];
        let m = Metrics::from_pairs(&pairs);
        assert!((m.accuracy - 4.0 / 6.0).abs() < 1e-12);
        assert!((m.per_label["a"].precision - 1.0).abs() < 1e-12);
        assert!((m.per_label["b"].precision - 0.5).abs() < 1e-12);
        assert!((m.per_label["c"].f1 - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(m.confusion["b"]["c"], 1);
        assert_eq!(m.f_avg, None);
    }

    #[test]
    fn majority_breaks_ties_alphabetically() {
        let r = |l: &str| LabeledSentence {
            text: "x".into(),
            label: l.into(),
            article: None,
            sentence: None,
            source: None,
            extra: Default::default(),
        };
        assert_eq!(majority_label(&[r("b"), r("a"), r("b"), r("a")]), "a");
    }

    #[test]
    fn shuffle_is_seeded() {
        let mut a: Vec<u32> = (0..20).collect();
        let mut b = a.clone();
        shuffle(&mut a, 7);
        shuffle(&mut b, 7);
        assert_eq!(a, b);
        assert_ne!(a, (0..20).collect::<Vec<_>>());
    }
}
