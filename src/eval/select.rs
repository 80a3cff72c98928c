//! Model selection in the open.
//!
//! Two things are kept apart:
//!
//! - [`compare`] runs grouped cross-validation for a list of configurations
//!   and shows what each one gives. Its figures come from the test folds, so
//!   picking the best row and quoting its figure would be optimistic.
//! - [`nested_selection`] estimates the *selection procedure*: for every
//!   held-out article, the candidate is chosen by leave-one-article-out on the
//!   remaining articles only, then trained on them and scored on the held-out
//!   article. That pooled figure is the honest headline; the shipped default
//!   is what the same procedure picks on all articles ([`pick_best`]).

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{cross_validate, majority_pairs, model_pairs, plan_folds, Folds, HeldOut, Metrics};
use crate::error::{Error, Result};
use crate::labels::LabeledSentence;
use crate::model::{ClassifierKind, Provenance, StanceModel, TrainOptions};

/// One configuration to compare: options, and whether authored sentences train.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// Short name, e.g. `naive-bayes α=0.3 words 1-3`.
    pub name: String,
    /// Training options.
    pub options: TrainOptions,
    /// Whether sentences written by the team (`"source": "authored"`) train.
    pub authored: bool,
}

/// A name for `options` that says how it differs from `base`.
pub fn describe(options: &TrainOptions, base: &TrainOptions) -> String {
    let mut parts = vec![match options.classifier {
        ClassifierKind::Logistic => format!("logistic α={}", options.alpha),
        ClassifierKind::NaiveBayes => format!("naive-bayes α={}", options.alpha),
    }];
    let (f, b) = (&options.features, &base.features);
    let [lo, hi] = f.word_ngrams;
    parts.push(format!("words {lo}-{hi}"));
    if f.char_ngrams != b.char_ngrams {
        parts.push(match f.char_ngrams {
            Some([lo, hi]) => format!("chars {lo}-{hi}"),
            None => "no chars".into(),
        });
    }
    let toggles = [
        (f.negation, b.negation, "negation"),
        (f.contrast, b.contrast, "contrast"),
        (f.sublinear_tf, b.sublinear_tf, "sublinear tf"),
        (f.idf, b.idf, "idf"),
        (f.l2_norm, b.l2_norm, "l2"),
        (f.fold_numbers, b.fold_numbers, "number folding"),
        (options.balance, base.balance, "balance"),
    ];
    for (now, was, name) in toggles {
        if now != was {
            parts.push(format!("{} {name}", if now { "with" } else { "no" }));
        }
    }
    if f.min_df != b.min_df {
        parts.push(format!("min_df {}", f.min_df));
    }
    parts.join(", ")
}

fn candidate(name: String, options: TrainOptions, authored: bool) -> Candidate {
    Candidate {
        name,
        options,
        authored,
    }
}

/// The fixed grid the nested selection chooses from (declared up front, not
/// tuned on the results): naive Bayes with smoothing 0.1 / 0.3 / 1.0, word
/// n-grams 1-1 / 1-2 / 1-3, with and without negation and contrast marking.
/// Every other option is `base`'s. Authored sentences always train.
///
/// Logistic regression is not a candidate for the default: linfa fits it on
/// a dense matrix with L-BFGS, which takes minutes on the shipped labels,
/// while the default must retrain in seconds (users retrain after every
/// correction). It is still evaluated beside the default ([`ablations`] and
/// the report's headline rows), so the cost of that constraint is visible.
pub fn selection_grid(base: &TrainOptions) -> Vec<Candidate> {
    let mut grid = Vec::new();
    for alpha in [0.1, 0.3, 1.0] {
        for words in [[1, 1], [1, 2], [1, 3]] {
            for marking in [true, false] {
                let mut o = base.clone();
                o.classifier = ClassifierKind::NaiveBayes;
                o.alpha = alpha;
                o.features.word_ngrams = words;
                o.features.negation = marking;
                o.features.contrast = marking;
                let mut name = describe(&o, base);
                if !o.features.negation && !o.features.contrast {
                    name.push_str(", no marking");
                } else if o.features.negation && o.features.contrast {
                    name.push_str(", marking");
                }
                grid.push(candidate(name, o, true));
            }
        }
    }
    grid
}

/// One-option-at-a-time changes to `base`: the other classifier, a weaker and
/// a stronger alpha, other word n-gram ranges, character n-grams, TF-IDF
/// variants, min_df, balance, negation and contrast marking, and training
/// without authored sentences. The first candidate is `base` itself.
pub fn ablations(base: &TrainOptions) -> Vec<Candidate> {
    let mut out = vec![candidate(
        format!("default: {}", describe(base, base)),
        base.clone(),
        true,
    )];
    let mut push = |o: TrainOptions, authored: bool, note: &str| {
        let mut name = describe(&o, base);
        if !note.is_empty() {
            name = format!("{name}, {note}");
        }
        out.push(candidate(name, o, authored));
    };
    push(base.clone(), false, "without authored");
    let other = match base.classifier {
        ClassifierKind::Logistic => (ClassifierKind::NaiveBayes, 0.3),
        ClassifierKind::NaiveBayes => (ClassifierKind::Logistic, 0.5),
    };
    let mut o = base.clone();
    o.classifier = other.0;
    o.alpha = other.1;
    push(o, true, "");
    for factor in [0.3, 3.0] {
        let mut o = base.clone();
        o.alpha = (base.alpha * factor * 1000.0).round() / 1000.0;
        push(o, true, "");
    }
    for words in [[1, 1], [1, 2], [1, 3]] {
        if words != base.features.word_ngrams {
            let mut o = base.clone();
            o.features.word_ngrams = words;
            push(o, true, "");
        }
    }
    for chars in [Some([2, 4]), Some([3, 5]), None] {
        if chars != base.features.char_ngrams {
            let mut o = base.clone();
            o.features.char_ngrams = chars;
            push(o, true, "");
        }
    }
    let toggles: [fn(&mut TrainOptions); 6] = [
        |o| o.features.sublinear_tf = !o.features.sublinear_tf,
        |o| o.features.idf = !o.features.idf,
        |o| o.balance = !o.balance,
        |o| o.features.negation = !o.features.negation,
        |o| o.features.contrast = !o.features.contrast,
        |o| o.features.fold_numbers = !o.features.fold_numbers,
    ];
    for toggle in toggles {
        let mut o = base.clone();
        toggle(&mut o);
        push(o, true, "");
    }
    for min_df in [1, 3] {
        if min_df != base.features.min_df {
            let mut o = base.clone();
            o.features.min_df = min_df;
            push(o, true, "");
        }
    }
    out
}

/// What one configuration gives under grouped cross-validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompareRow {
    /// The configuration's name.
    pub name: String,
    /// Its options.
    pub options: TrainOptions,
    /// Whether authored sentences trained.
    pub authored: bool,
    /// Held-out accuracy.
    pub accuracy: f64,
    /// Held-out macro-F1.
    pub macro_f1: f64,
    /// Held-out F_avg.
    pub f_avg: Option<f64>,
    /// Mean of the per-fold macro-F1.
    pub mean_fold_macro_f1: f64,
    /// Macro-F1 minus the first row's.
    pub delta: f64,
}

/// Cross-validates every candidate (one after another; folds in parallel).
///
/// # Errors
/// The first candidate whose training fails.
pub fn compare(
    records: &[LabeledSentence],
    candidates: &[Candidate],
    folds: Folds,
) -> Result<Vec<CompareRow>> {
    let mut rows: Vec<CompareRow> = Vec::with_capacity(candidates.len());
    for c in candidates {
        let cv = cross_validate(&filtered(records, c.authored), &c.options, folds)?;
        let mean_fold =
            cv.per_fold.iter().map(|f| f.macro_f1).sum::<f64>() / cv.per_fold.len().max(1) as f64;
        let first = rows.first().map_or(cv.model.macro_f1, |r| r.macro_f1);
        rows.push(CompareRow {
            name: c.name.clone(),
            options: c.options.clone(),
            authored: c.authored,
            accuracy: cv.model.accuracy,
            macro_f1: cv.model.macro_f1,
            f_avg: cv.model.f_avg,
            mean_fold_macro_f1: mean_fold,
            delta: cv.model.macro_f1 - first,
        });
    }
    Ok(rows)
}

/// `records`, without authored sentences unless `authored`.
pub fn filtered(records: &[LabeledSentence], authored: bool) -> Vec<LabeledSentence> {
    records
        .iter()
        .filter(|r| authored || !r.is_authored())
        .cloned()
        .collect()
}

/// The index of the candidate with the highest leave-one-article-out
/// macro-F1 on `records` (the first one on ties), with every candidate's score.
///
/// # Errors
/// As [`cross_validate`].
pub fn pick_best(
    records: &[LabeledSentence],
    candidates: &[Candidate],
) -> Result<(usize, Vec<f64>)> {
    if candidates.is_empty() {
        return Err(Error::InvalidOption("no candidates to choose from".into()));
    }
    let scores: Vec<Result<f64>> = candidates
        .par_iter()
        .map(|c| {
            cross_validate(
                &filtered(records, c.authored),
                &c.options,
                Folds::LeaveOneArticleOut,
            )
            .map(|cv| cv.model.macro_f1)
        })
        .collect();
    let scores: Vec<f64> = scores.into_iter().collect::<Result<_>>()?;
    let best = scores
        .iter()
        .enumerate()
        .fold(0, |best, (i, s)| if *s > scores[best] { i } else { best });
    Ok((best, scores))
}

/// The choice made for one held-out article.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OuterFold {
    /// The held-out article.
    pub article: String,
    /// The candidate chosen on the other articles.
    pub chosen: String,
    /// Its inner leave-one-article-out macro-F1.
    pub inner_macro_f1: f64,
    /// Its macro-F1 on the held-out article.
    pub macro_f1: f64,
}

/// The outcome of nested selection.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NestedSelection {
    /// Number of candidates in the grid.
    pub candidates: usize,
    /// What was chosen for each held-out article.
    pub outer: Vec<OuterFold>,
    /// Pooled figures of the chosen models on the held-out articles.
    pub model: Metrics,
    /// The majority baseline on the same sentences.
    pub majority: Metrics,
    /// Mean of the per-article macro-F1.
    pub mean_fold_macro_f1: f64,
}

/// Nested leave-one-article-out: for each article, [`pick_best`] on the
/// others, train the winner on them, predict the article.
///
/// # Errors
/// As [`cross_validate`]; [`Error::Training`] with fewer than three articles
/// (the inner selection needs two).
pub fn nested_selection(
    records: &[LabeledSentence],
    candidates: &[Candidate],
) -> Result<NestedSelection> {
    let plan = plan_folds(records, Folds::LeaveOneArticleOut, 0)?;
    if plan.articles.len() < 3 {
        return Err(Error::Training(format!(
            "nested selection needs at least three articles, found {}",
            plan.articles.len()
        )));
    }
    let mut outer = Vec::new();
    let mut held_out: Vec<HeldOut> = Vec::new();
    for (fold, (train_idx, test_idx)) in plan.train.iter().zip(&plan.test).enumerate() {
        let train: Vec<LabeledSentence> = train_idx.iter().map(|&i| records[i].clone()).collect();
        let (best, scores) = pick_best(&train, candidates)?;
        let chosen = &candidates[best];
        let train = filtered(&train, chosen.authored);
        let model = StanceModel::train(&train, &chosen.options, Provenance::default())?;
        let majority = super::majority_label(&train);
        let fold_held: Vec<HeldOut> =
            super::score_held_out(&model, &majority, records, test_idx, fold);
        outer.push(OuterFold {
            article: plan.articles[fold].join(", "),
            chosen: chosen.name.clone(),
            inner_macro_f1: scores[best],
            macro_f1: Metrics::from_pairs(&model_pairs(&fold_held)).macro_f1,
        });
        held_out.extend(fold_held);
    }
    held_out.sort_by_key(|h| h.record);
    Ok(NestedSelection {
        candidates: candidates.len(),
        mean_fold_macro_f1: outer.iter().map(|o| o.macro_f1).sum::<f64>() / outer.len() as f64,
        outer,
        model: Metrics::from_pairs(&model_pairs(&held_out)),
        majority: Metrics::from_pairs(&majority_pairs(&held_out)),
    })
}
