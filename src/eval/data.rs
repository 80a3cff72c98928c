//! Evaluating a trained model on any labeled file.
//!
//! Every record counts. A record whose label the model does not know can
//! never be predicted right; it stays in the figures (as an error) and is
//! listed in [`ModelEvaluation::unknown_labels`], so nothing is dropped silently.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::Metrics;
use crate::labels::LabeledSentence;
use crate::model::{PredictScratch, StanceModel};

/// One record and the model's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Judged {
    /// Index of the record in the input.
    pub record: usize,
    /// Its true label.
    pub truth: String,
    /// The model's label.
    pub predicted: String,
    /// The model's probability for its label.
    pub probability: f64,
}

/// A model's figures on a labeled file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelEvaluation {
    /// Figures of the model.
    pub metrics: Metrics,
    /// The label the majority baseline always gives: the most frequent label
    /// of the model's training data.
    pub majority_label: String,
    /// Figures of that baseline, computed the same way.
    pub majority: Metrics,
    /// Labels in the file that the model cannot predict, with their counts.
    pub unknown_labels: BTreeMap<String, usize>,
    /// Every record's prediction, in input order.
    pub judged: Vec<Judged>,
}

/// Predicts every record (in parallel) and scores the predictions.
///
/// ```
/// use stance::{eval::data::evaluate_model, labels::LabeledSentence, model::{StanceModel, TrainOptions}};
/// let rec = |t: &str, l: &str| LabeledSentence::new(t, l);
/// let mut options = TrainOptions::default();
/// options.features.min_df = 1;
/// let model = StanceModel::train(&[rec("union now", "pro"), rec("keep independence", "sov")], &options, Default::default())?;
/// let e = evaluate_model(&model, &[rec("union", "pro"), rec("weather", "other")]);
/// assert_eq!(e.unknown_labels["other"], 1);
/// assert_eq!(e.metrics.n, 2);
/// # Ok::<(), stance::Error>(())
/// ```
pub fn evaluate_model(model: &StanceModel, records: &[LabeledSentence]) -> ModelEvaluation {
    let judged: Vec<Judged> = records
        .par_iter()
        .enumerate()
        .map_init(
            || (PredictScratch::default(), Vec::new()),
            |(scratch, probabilities), (i, r)| {
                let label = model.predict_into(&r.text, scratch, probabilities);
                Judged {
                    record: i,
                    truth: r.label.clone(),
                    predicted: model.labels()[label].clone(),
                    probability: probabilities[label],
                }
            },
        )
        .collect();
    let mut unknown_labels = BTreeMap::new();
    for r in records {
        if model.labels().binary_search(&r.label).is_err() {
            *unknown_labels.entry(r.label.clone()).or_insert(0) += 1;
        }
    }
    let majority_label = training_majority(model);
    let model_pairs: Vec<(&str, &str)> = judged
        .iter()
        .map(|j| (j.truth.as_str(), j.predicted.as_str()))
        .collect();
    let majority_pairs: Vec<(&str, &str)> = judged
        .iter()
        .map(|j| (j.truth.as_str(), majority_label.as_str()))
        .collect();
    ModelEvaluation {
        metrics: Metrics::from_pairs(&model_pairs),
        majority: Metrics::from_pairs(&majority_pairs),
        majority_label,
        unknown_labels,
        judged,
    }
}

/// The most frequent label of the model's training data (from its
/// provenance), else its first label.
pub fn training_majority(model: &StanceModel) -> String {
    model
        .provenance()
        .counts
        .iter()
        .fold(None::<(&String, usize)>, |best, (label, &n)| match best {
            Some((_, m)) if m >= n => best,
            _ => Some((label, n)),
        })
        .map(|(l, _)| l.clone())
        .or_else(|| model.labels().first().cloned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Provenance, TrainOptions};

    fn rec(text: &str, label: &str) -> LabeledSentence {
        LabeledSentence::new(text, label)
    }

    fn tiny_model() -> StanceModel {
        let mut options = TrainOptions::default();
        options.features.min_df = 1;
        let data = [
            rec("closer union with moscow", "pro"),
            rec("a deeper union and shared currency", "pro"),
            rec("independence must be kept", "sov"),
        ];
        StanceModel::train(&data, &options, Provenance::default()).unwrap()
    }

    #[test]
    fn unknown_labels_are_counted_and_kept_as_errors() {
        let model = tiny_model();
        let data = [
            rec("a closer union", "pro"),
            rec("independence kept", "sov"),
            rec("rain in minsk", "weather"),
            rec("snow in minsk", "weather"),
            rec("a deal", "trade"),
        ];
        let e = evaluate_model(&model, &data);
        assert_eq!(e.metrics.n, 5);
        assert_eq!(e.unknown_labels.len(), 2);
        assert_eq!(e.unknown_labels["weather"], 2);
        assert_eq!(e.unknown_labels["trade"], 1);
        assert_eq!(e.metrics.per_label["weather"].recall, 0.0);
        assert!(e.metrics.accuracy <= 2.0 / 5.0);
    }

    #[test]
    fn the_majority_baseline_is_the_training_majority() {
        let model = tiny_model();
        assert_eq!(training_majority(&model), "pro");
        let e = evaluate_model(&model, &[rec("x", "sov"), rec("y", "pro")]);
        assert!((e.majority.accuracy - 0.5).abs() < 1e-12);
    }
}
