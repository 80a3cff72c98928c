//! Per-article stance summaries, per-speaker profiles and corpus totals.
//!
//! [`summarize_article`] labels every sentence of a [`Document`], attributes
//! quotes ([`crate::speakers`]) and reduces it to an [`ArticleSummary`]: label
//! counts and shares, a **stance index** on one axis, a bootstrap interval,
//! mean confidence, `uncertain` sentences, the strongest evidence for each
//! stance, and the same profile for the outlet's own voice and each speaker.
//! [`summarize_corpus`] adds totals (and groups) whose intervals come from
//! resampling whole articles.
//!
//! The stance index of a set of sentences is `(P − N) / (P + N)`, where `P`
//! and `N` count the sentences labelled with the axis's positive and negative
//! label (by default `pro-integration` and `sovereignty-preserving`); every
//! other label is left out. It runs from −1 (all negative) to +1 (all
//! positive) and is undefined when neither label occurs. Every sentence
//! counts with its predicted label, including `uncertain` ones.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::document::{Document, Metadata};
use crate::error::{Error, Result};
use crate::eval::SplitMix64;
use crate::model::StanceModel;
use crate::speakers::{attribute, paragraph_starts};

/// The voice name of sentences that are not quotes.
pub const OUTLET: &str = "outlet";

/// How summaries are computed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SummaryOptions {
    /// The positive and negative label of the stance index.
    pub axis: [String; 2],
    /// Sentences whose top probability is below this are `uncertain`.
    pub min_confidence: f64,
    /// Bootstrap resamples for intervals (0: no intervals).
    pub bootstrap: usize,
    /// Interval coverage, e.g. 0.95.
    pub level: f64,
    /// Seed of the bootstrap.
    pub seed: u64,
    /// Evidence sentences kept per stance.
    pub evidence: usize,
    /// Terms kept per sentence explanation.
    pub terms: usize,
}

impl Default for SummaryOptions {
    fn default() -> Self {
        SummaryOptions {
            axis: ["pro-integration".into(), "sovereignty-preserving".into()],
            min_confidence: 0.5,
            bootstrap: 1000,
            level: 0.95,
            seed: 42,
            evidence: 2,
            terms: 4,
        }
    }
}

impl SummaryOptions {
    /// Checks the options.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for a level outside (0, 1), a confidence
    /// outside [0, 1] or two identical axis labels.
    pub fn check(&self) -> Result<()> {
        if !(self.level > 0.0 && self.level < 1.0) {
            return Err(Error::InvalidOption(format!(
                "interval level must be between 0 and 1 (exclusive), got {}",
                self.level
            )));
        }
        if !(0.0..=1.0).contains(&self.min_confidence) {
            return Err(Error::InvalidOption(format!(
                "min-confidence must be between 0 and 1, got {}",
                self.min_confidence
            )));
        }
        if self.axis[0] == self.axis[1] {
            return Err(Error::InvalidOption(format!(
                "the axis needs two different labels, got {0},{0}",
                self.axis[0]
            )));
        }
        Ok(())
    }
}

/// The axis resolved against a model's labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Axis {
    /// Index of the positive label.
    pub positive: usize,
    /// Index of the negative label.
    pub negative: usize,
}

/// Finds the axis labels among the model's labels; `None` (and a message
/// saying why) when the model lacks one of them.
pub fn resolve_axis(model: &StanceModel, axis: &[String; 2]) -> (Option<Axis>, Option<String>) {
    let find = |name: &str| model.labels().iter().position(|l| l == name);
    match (find(&axis[0]), find(&axis[1])) {
        (Some(positive), Some(negative)) => (Some(Axis { positive, negative }), None),
        _ => (
            None,
            Some(format!(
                "the model's labels ({}) do not include both {} and {}; no stance index is computed (choose two with --axis POS,NEG)",
                model.labels().join(", "),
                axis[0],
                axis[1]
            )),
        ),
    }
}

/// How many sentences have a label, and their share.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelCount {
    /// The label.
    pub label: String,
    /// Sentences predicted with it.
    pub count: usize,
    /// `count` over all sentences (0 when there are none).
    pub share: f64,
}

/// A term and its push towards a sentence's label (in logits).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Term {
    /// The term.
    pub term: String,
    /// Its contribution.
    pub weight: f64,
}

/// One labelled sentence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SentenceDetail {
    /// 0-based position in the article.
    pub index: usize,
    /// 0-based paragraph of the cleaned article.
    pub paragraph: usize,
    /// The sentence.
    pub text: String,
    /// The predicted label.
    pub label: String,
    /// Its probability.
    pub probability: f64,
    /// Whether the probability is below the confidence threshold.
    pub uncertain: bool,
    /// Whether the sentence is quoted or reported speech.
    pub quote: bool,
    /// Who speaks, when attributed.
    pub speaker: Option<String>,
    /// The terms that pushed the decision most (towards the label).
    pub terms: Vec<Term>,
}

/// Label counts and stance index of one voice (the outlet, a speaker, all).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Profile {
    /// `outlet`, a speaker's name, or `all`.
    pub voice: String,
    /// Sentences in this voice.
    pub sentences: usize,
    /// Count and share of every label.
    pub labels: Vec<LabelCount>,
    /// `(P − N) / (P + N)`, when defined.
    pub stance_index: Option<f64>,
    /// Bootstrap interval of the index.
    pub interval: Option<[f64; 2]>,
}

/// The most confident sentences of one stance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    /// The label.
    pub label: String,
    /// Its sentences, most confident first.
    pub sentences: Vec<SentenceDetail>,
}

/// Everything `stance summarize` reports about one article.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArticleSummary {
    /// The path as given or found.
    pub origin: String,
    /// The first real line.
    pub title: String,
    /// Metadata from the header or page.
    pub metadata: Metadata,
    /// All sentences.
    pub overall: Profile,
    /// Mean top probability.
    pub mean_confidence: f64,
    /// Sentences below the confidence threshold.
    pub uncertain: usize,
    /// Quoted or reported sentences.
    pub quotes: usize,
    /// The outlet's own voice: sentences that are not quotes.
    pub outlet: Profile,
    /// One profile per attributed speaker, most sentences first.
    pub speakers: Vec<Profile>,
    /// Evidence per stance.
    pub evidence: Vec<Evidence>,
    /// Every sentence.
    pub sentences: Vec<SentenceDetail>,
}

/// Totals over several articles (the corpus or a group).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Totals {
    /// The group's key, or `all`.
    pub key: String,
    /// Number of articles.
    pub articles: usize,
    /// Pooled over all sentences; the interval comes from resampling articles.
    pub overall: Profile,
    /// Mean top probability over all sentences.
    pub mean_confidence: f64,
    /// Uncertain sentences.
    pub uncertain: usize,
    /// Quoted or reported sentences.
    pub quotes: usize,
    /// The outlets' own voice, pooled.
    pub outlet: Profile,
    /// Speakers pooled across articles, most sentences first.
    pub speakers: Vec<Profile>,
}

/// What to group articles by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupBy {
    /// The `outlet` metadata field.
    Outlet,
    /// The year of the `date` metadata field.
    Year,
}

impl GroupBy {
    /// The group of an article (`(unknown)` without the field).
    pub fn key(self, metadata: &Metadata) -> String {
        let key = match self {
            GroupBy::Outlet => metadata.outlet.clone(),
            GroupBy::Year => metadata.year(),
        };
        key.unwrap_or_else(|| "(unknown)".to_string())
    }
}

/// Rounds to 4 decimals, so reports are stable and short.
fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// Labels in display order: the axis labels first, then the others in model order.
pub fn display_order(model: &StanceModel, axis: Option<Axis>) -> Vec<usize> {
    let mut order: Vec<usize> = Vec::new();
    if let Some(a) = axis {
        order.push(a.positive);
        order.push(a.negative);
    }
    for i in 0..model.labels().len() {
        if !order.contains(&i) {
            order.push(i);
        }
    }
    order
}

/// The stance index of `positive` and `negative` counts.
///
/// ```
/// assert_eq!(stance::summary::stance_index(3, 1), Some(0.5));
/// assert_eq!(stance::summary::stance_index(0, 0), None);
/// ```
pub fn stance_index(positive: usize, negative: usize) -> Option<f64> {
    let total = positive + negative;
    (total > 0).then(|| (positive as f64 - negative as f64) / total as f64)
}

/// A percentile bootstrap interval of the pooled stance index over `units`
/// (each unit: its positive and negative count), resampling units with
/// replacement. `None` when the index is undefined, there are fewer than
/// two units (one article or sentence says nothing about its spread) or
/// `resamples` is 0.
///
/// ```
/// let units = [(1, 0), (0, 1), (1, 0), (1, 0)];
/// let [lo, hi] = stance::summary::bootstrap_interval(&units, 1000, 0.95, 7).unwrap();
/// assert!(lo <= 0.5 && 0.5 <= hi && lo >= -1.0 && hi <= 1.0);
/// ```
pub fn bootstrap_interval(
    units: &[(usize, usize)],
    resamples: usize,
    level: f64,
    seed: u64,
) -> Option<[f64; 2]> {
    let (p, n) = units.iter().fold((0, 0), |(p, n), &(a, b)| (p + a, n + b));
    stance_index(p, n)?;
    if resamples == 0 || units.len() < 2 {
        return None;
    }
    let mut rng = SplitMix64(seed);
    let mut values = Vec::with_capacity(resamples);
    let len = units.len() as u64;
    for _ in 0..resamples {
        let (mut p, mut n) = (0usize, 0usize);
        for _ in 0..units.len() {
            let (a, b) = units[(rng.next_u64() % len) as usize];
            p += a;
            n += b;
        }
        if let Some(v) = stance_index(p, n) {
            values.push(v);
        }
    }
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let tail = (1.0 - level) / 2.0;
    let at = |q: f64| {
        let pos = (q * (values.len() - 1) as f64).round() as usize;
        values[pos.min(values.len() - 1)]
    };
    Some([round4(at(tail)), round4(at(1.0 - tail))])
}

fn counts_of(labels: &[usize], k: usize) -> Vec<usize> {
    let mut counts = vec![0; k];
    for &l in labels {
        counts[l] += 1;
    }
    counts
}

fn label_counts(model: &StanceModel, order: &[usize], counts: &[usize]) -> Vec<LabelCount> {
    let total: usize = counts.iter().sum();
    order
        .iter()
        .map(|&l| LabelCount {
            label: model.labels()[l].clone(),
            count: counts[l],
            share: if total == 0 {
                0.0
            } else {
                round4(counts[l] as f64 / total as f64)
            },
        })
        .collect()
}

/// A profile of sentences with the given label indices; the interval comes
/// from resampling sentences.
fn sentence_profile(
    voice: &str,
    labels: &[usize],
    model: &StanceModel,
    order: &[usize],
    axis: Option<Axis>,
    options: &SummaryOptions,
) -> Profile {
    let counts = counts_of(labels, model.labels().len());
    let (index, interval) = match axis {
        Some(a) => {
            let units: Vec<(usize, usize)> = labels
                .iter()
                .map(|&l| (usize::from(l == a.positive), usize::from(l == a.negative)))
                .collect();
            (
                stance_index(counts[a.positive], counts[a.negative]).map(round4),
                bootstrap_interval(&units, options.bootstrap, options.level, options.seed),
            )
        }
        None => (None, None),
    };
    Profile {
        voice: voice.to_string(),
        sentences: labels.len(),
        labels: label_counts(model, order, &counts),
        stance_index: index,
        interval,
    }
}

/// Summarises one document.
pub fn summarize_article(
    document: &Document,
    model: &StanceModel,
    axis: Option<Axis>,
    options: &SummaryOptions,
) -> ArticleSummary {
    let order = display_order(model, axis);
    let voices = attribute(&document.article);
    let mut paragraph = 0usize;
    let paragraphs: Vec<usize> = paragraph_starts(&document.article)
        .into_iter()
        .enumerate()
        .map(|(i, starts)| {
            if starts && i > 0 {
                paragraph += 1;
            }
            paragraph
        })
        .collect();
    let mut predicted = Vec::with_capacity(voices.len());
    let mut sentences = Vec::with_capacity(voices.len());
    for (s, voice) in document.article.sentences.iter().zip(voices) {
        let (prediction, contributions) = model.explain(&s.text, options.terms.max(1) * 2);
        let probability = prediction.probabilities[prediction.label];
        predicted.push(prediction.label);
        sentences.push(SentenceDetail {
            index: s.index,
            paragraph: paragraphs.get(s.index).copied().unwrap_or(0),
            text: s.text.clone(),
            label: model.labels()[prediction.label].clone(),
            probability: round4(probability),
            uncertain: probability < options.min_confidence,
            quote: voice.quote,
            speaker: voice.speaker,
            terms: contributions
                .into_iter()
                .filter(|c| c.weight > 0.0)
                .take(options.terms)
                .map(|c| Term {
                    term: c.term,
                    weight: round4(c.weight),
                })
                .collect(),
        });
    }

    let overall = sentence_profile("all", &predicted, model, &order, axis, options);
    let outlet_labels: Vec<usize> = sentences
        .iter()
        .zip(&predicted)
        .filter(|(s, _)| !s.quote)
        .map(|(_, &l)| l)
        .collect();
    let outlet = sentence_profile(OUTLET, &outlet_labels, model, &order, axis, options);
    let mut by_speaker: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (s, &l) in sentences.iter().zip(&predicted) {
        if let Some(name) = &s.speaker {
            by_speaker.entry(name).or_default().push(l);
        }
    }
    let mut speakers: Vec<Profile> = by_speaker
        .iter()
        .map(|(name, labels)| sentence_profile(name, labels, model, &order, axis, options))
        .collect();
    speakers.sort_by_key(|p| std::cmp::Reverse(p.sentences));

    let evidence_labels: Vec<usize> = match axis {
        Some(a) => vec![a.positive, a.negative],
        None => order.clone(),
    };
    let evidence = evidence_labels
        .iter()
        .map(|&l| {
            let mut chosen: Vec<&SentenceDetail> = sentences
                .iter()
                .filter(|s| s.label == model.labels()[l] && !s.uncertain)
                .collect();
            chosen.sort_by(|a, b| {
                b.probability
                    .total_cmp(&a.probability)
                    .then(a.index.cmp(&b.index))
            });
            Evidence {
                label: model.labels()[l].clone(),
                sentences: chosen.into_iter().take(options.evidence).cloned().collect(),
            }
        })
        .collect();

    let n = sentences.len();
    let confidence: f64 = sentences.iter().map(|s| s.probability).sum();
    ArticleSummary {
        origin: document.origin.clone(),
        title: document.article.title.clone(),
        metadata: document.metadata.clone(),
        overall,
        mean_confidence: if n == 0 {
            0.0
        } else {
            round4(confidence / n as f64)
        },
        uncertain: sentences.iter().filter(|s| s.uncertain).count(),
        quotes: sentences.iter().filter(|s| s.quote).count(),
        outlet,
        speakers,
        evidence,
        sentences,
    }
}

/// Pools profiles of several articles; the interval comes from resampling
/// articles (each article's positive and negative counts as one unit).
fn pooled_profile(
    voice: &str,
    profiles: &[&Profile],
    axis: Option<Axis>,
    options: &SummaryOptions,
) -> Profile {
    let mut labels: Vec<LabelCount> = profiles
        .first()
        .map(|p| p.labels.clone())
        .unwrap_or_default();
    for l in labels.iter_mut() {
        l.count = 0;
    }
    for p in profiles {
        for (total, own) in labels.iter_mut().zip(&p.labels) {
            total.count += own.count;
        }
    }
    let sentences: usize = profiles.iter().map(|p| p.sentences).sum();
    for l in labels.iter_mut() {
        l.share = if sentences == 0 {
            0.0
        } else {
            round4(l.count as f64 / sentences as f64)
        };
    }
    // The axis labels come first in every profile (see `display_order`).
    let (index, interval) = match axis {
        Some(_) if labels.len() >= 2 => {
            let units: Vec<(usize, usize)> = profiles
                .iter()
                .map(|p| (p.labels[0].count, p.labels[1].count))
                .collect();
            (
                stance_index(labels[0].count, labels[1].count).map(round4),
                bootstrap_interval(&units, options.bootstrap, options.level, options.seed),
            )
        }
        _ => (None, None),
    };
    Profile {
        voice: voice.to_string(),
        sentences,
        labels,
        stance_index: index,
        interval,
    }
}

/// Totals over `articles`, named `key`.
pub fn totals(
    key: &str,
    articles: &[&ArticleSummary],
    axis: Option<Axis>,
    options: &SummaryOptions,
) -> Totals {
    let overall: Vec<&Profile> = articles.iter().map(|a| &a.overall).collect();
    let outlet: Vec<&Profile> = articles.iter().map(|a| &a.outlet).collect();
    let mut by_speaker: BTreeMap<&str, Vec<&Profile>> = BTreeMap::new();
    for a in articles {
        for p in &a.speakers {
            by_speaker.entry(&p.voice).or_default().push(p);
        }
    }
    let mut speakers: Vec<Profile> = by_speaker
        .iter()
        .map(|(name, ps)| pooled_profile(name, ps, axis, options))
        .collect();
    speakers.sort_by_key(|p| std::cmp::Reverse(p.sentences));
    let sentences: usize = articles.iter().map(|a| a.overall.sentences).sum();
    let confidence: f64 = articles
        .iter()
        .map(|a| a.mean_confidence * a.overall.sentences as f64)
        .sum();
    Totals {
        key: key.to_string(),
        articles: articles.len(),
        overall: pooled_profile("all", &overall, axis, options),
        mean_confidence: if sentences == 0 {
            0.0
        } else {
            round4(confidence / sentences as f64)
        },
        uncertain: articles.iter().map(|a| a.uncertain).sum(),
        quotes: articles.iter().map(|a| a.quotes).sum(),
        outlet: pooled_profile(OUTLET, &outlet, axis, options),
        speakers,
    }
}

/// Corpus totals and, when asked, one [`Totals`] per group (sorted by key).
pub fn summarize_corpus(
    articles: &[ArticleSummary],
    axis: Option<Axis>,
    options: &SummaryOptions,
    group_by: Option<GroupBy>,
) -> (Totals, Vec<Totals>) {
    let all: Vec<&ArticleSummary> = articles.iter().collect();
    let corpus = totals("all", &all, axis, options);
    let groups = match group_by {
        Some(g) => {
            let mut groups: BTreeMap<String, Vec<&ArticleSummary>> = BTreeMap::new();
            for a in articles {
                groups.entry(g.key(&a.metadata)).or_default().push(a);
            }
            groups
                .iter()
                .map(|(key, members)| totals(key, members, axis, options))
                .collect()
        }
        None => Vec::new(),
    };
    (corpus, groups)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::LabeledSentence;
    use crate::model::{Provenance, TrainOptions};

    fn model() -> StanceModel {
        let rec = |t: &str, l: &str| LabeledSentence::new(t, l);
        let data = [
            rec("closer union and shared institutions", "pro"),
            rec("a shared currency and closer union", "pro"),
            rec("our own border and our own army", "sov"),
            rec("our own currency stays", "sov"),
            rec("the meeting took place on tuesday", "neu"),
            rec("the weather on tuesday was mild", "neu"),
        ];
        let mut options = TrainOptions::default();
        options.features.min_df = 1;
        StanceModel::train(&data, &options, Provenance::default()).unwrap()
    }

    fn document(text: &str) -> Document {
        Document {
            origin: "t.txt".into(),
            metadata: Metadata::default(),
            article: crate::Article::from_text("t.txt", text),
        }
    }

    #[test]
    fn counts_index_and_speakers_add_up() {
        let model = model();
        let options = SummaryOptions {
            axis: ["pro".into(), "sov".into()],
            ..SummaryOptions::default()
        };
        let (axis, why) = resolve_axis(&model, &options.axis);
        assert!(why.is_none());
        let doc = document(
            "Harbour Minister Tom Varga spoke on Tuesday.\n\nA closer union and shared institutions were planned.\n\n“Our own border and our own army stay,” Varga said.\n\nA shared currency and a closer union followed.",
        );
        let s = summarize_article(&doc, &model, axis, &options);
        assert_eq!(s.overall.sentences, 4);
        let total: usize = s.overall.labels.iter().map(|l| l.count).sum();
        assert_eq!(total, 4);
        assert_eq!(s.overall.labels[0].label, "pro");
        assert_eq!(s.quotes, 1);
        assert_eq!(s.speakers.len(), 1);
        assert_eq!(s.speakers[0].voice, "Tom Varga");
        assert_eq!(s.speakers[0].stance_index, Some(-1.0));
        assert_eq!(s.outlet.sentences, 3);
        assert_eq!(s.outlet.stance_index, Some(1.0));
        let (p, n) = (s.overall.labels[0].count, s.overall.labels[1].count);
        assert_eq!(s.overall.stance_index, stance_index(p, n).map(round4));
        let [lo, hi] = s.overall.interval.unwrap();
        let index = s.overall.stance_index.unwrap();
        assert!(lo <= index && index <= hi);
        assert_eq!(s.evidence[0].label, "pro");
        assert!(s.evidence[0].sentences.len() <= 2);
    }

    #[test]
    fn a_model_without_the_axis_labels_gives_no_index() {
        let model = model();
        let options = SummaryOptions::default();
        let (axis, why) = resolve_axis(&model, &options.axis);
        assert!(axis.is_none());
        assert!(why.unwrap().contains("--axis"));
        let s = summarize_article(
            &document("A closer union was planned."),
            &model,
            axis,
            &options,
        );
        assert_eq!(s.overall.stance_index, None);
        assert_eq!(s.evidence.len(), 3);
    }

    #[test]
    fn corpus_pools_articles_and_groups_by_metadata() {
        let model = model();
        let options = SummaryOptions {
            axis: ["pro".into(), "sov".into()],
            ..SummaryOptions::default()
        };
        let (axis, _) = resolve_axis(&model, &options.axis);
        let mut a = document("A closer union and shared institutions were planned.");
        a.metadata.outlet = Some("North".into());
        let mut b = document("Our own border and our own army stay.");
        b.metadata.outlet = Some("South".into());
        let summaries: Vec<ArticleSummary> = [a, b]
            .iter()
            .map(|d| summarize_article(d, &model, axis, &options))
            .collect();
        let (corpus, groups) = summarize_corpus(&summaries, axis, &options, Some(GroupBy::Outlet));
        assert_eq!(corpus.articles, 2);
        assert_eq!(corpus.overall.stance_index, Some(0.0));
        assert_eq!(corpus.overall.interval, Some([-1.0, 1.0]));
        let keys: Vec<&str> = groups.iter().map(|g| g.key.as_str()).collect();
        assert_eq!(keys, ["North", "South"]);
        assert_eq!(groups[0].overall.stance_index, Some(1.0));
    }

    #[test]
    fn bootstrap_is_seeded_and_bounded() {
        let units: Vec<(usize, usize)> = (0..40)
            .map(|i| (i % 3 % 2, usize::from(i % 3 == 2)))
            .collect();
        let a = bootstrap_interval(&units, 500, 0.9, 1);
        assert_eq!(a, bootstrap_interval(&units, 500, 0.9, 1));
        let [lo, hi] = a.unwrap();
        assert!((-1.0..=1.0).contains(&lo) && lo <= hi && hi <= 1.0);
        assert_eq!(bootstrap_interval(&[(0, 0)], 100, 0.95, 1), None);
        assert_eq!(bootstrap_interval(&units, 0, 0.95, 1), None);
    }
}
