//! The sparse prediction path gives the same labels and probabilities as
//! linfa's own prediction on the dense feature matrix, for every seed
//! sentence, with models trained here by linfa on the seed labels.

use std::path::Path;

use linfa::prelude::*;
use linfa_bayes::{MultinomialNb, NaiveBayes};
use linfa_logistic::MultiLogisticRegression;
use ndarray::Array1;
use stance::features::Featurizer;
use stance::labels::{label_set, read_labels_file, LabeledSentence};
use stance::model::{dense_features, StanceModel, TrainOptions};

const TOLERANCE: f64 = 1e-9;

fn seed_labels() -> Vec<LabeledSentence> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds/labels.jsonl");
    read_labels_file(&path).unwrap().records
}

struct Fixture {
    labels: Vec<String>,
    featurizer: Featurizer,
    dataset: Dataset<f64, usize, ndarray::Ix1>,
    texts: Vec<String>,
}

fn fixture() -> Fixture {
    let records = seed_labels();
    assert!(records.len() >= 100, "seed labels missing");
    let labels = label_set(&records);
    let texts: Vec<String> = records.iter().map(|r| r.text.clone()).collect();
    let featurizer = Featurizer::fit(TrainOptions::default().features, &texts).unwrap();
    let targets: Array1<usize> = records
        .iter()
        .map(|r| labels.binary_search(&r.label).unwrap())
        .collect();
    let dataset = Dataset::new(dense_features(&featurizer, &texts), targets);
    Fixture {
        labels,
        featurizer,
        dataset,
        texts,
    }
}

fn assert_same(model: &StanceModel, text: &str, expected: &[f64]) {
    let p = model.predict(text);
    for (label, (&ours, &theirs)) in p.probabilities.iter().zip(expected).enumerate() {
        assert!(
            (ours - theirs).abs() <= TOLERANCE,
            "{text:?}: label {label}: sparse {ours} vs linfa {theirs}"
        );
    }
    let best = (0..expected.len())
        .max_by(|&a, &b| expected[a].total_cmp(&expected[b]))
        .unwrap();
    assert_eq!(p.label, best, "{text:?}");
}

#[test]
fn logistic_sparse_path_matches_linfa_predict_probabilities() {
    let f = fixture();
    let options = TrainOptions::default();
    let fitted = MultiLogisticRegression::default()
        .alpha(options.alpha)
        .max_iterations(options.max_iterations)
        .fit(&f.dataset)
        .unwrap();
    let model =
        StanceModel::from_linfa_logistic(f.labels.clone(), options, f.featurizer.clone(), &fitted)
            .unwrap();
    let probabilities = fitted.predict_probabilities(f.dataset.records());
    let classes = fitted.classes();
    assert_eq!(classes.len(), f.labels.len());
    for (row, text) in f.texts.iter().enumerate() {
        let mut expected = vec![0.0; f.labels.len()];
        for (col, &class) in classes.iter().enumerate() {
            expected[class] = probabilities[[row, col]];
        }
        assert_same(&model, text, &expected);
    }
    // linfa's hard predictions agree too.
    let predicted = fitted.predict(f.dataset.records());
    for (row, text) in f.texts.iter().enumerate() {
        assert_eq!(model.predict(text).label, predicted[row], "{text:?}");
    }
}

#[test]
fn naive_bayes_sparse_path_matches_linfa_predict_log_proba() {
    let f = fixture();
    let options = TrainOptions::default();
    let fitted = MultinomialNb::params()
        .alpha(options.alpha)
        .fit(&f.dataset)
        .unwrap();
    let model = StanceModel::from_linfa_naive_bayes(
        f.labels.clone(),
        options,
        f.featurizer.clone(),
        &fitted,
    )
    .unwrap();
    let (log_proba, classes) = fitted.predict_log_proba(f.dataset.records().view());
    for (row, text) in f.texts.iter().enumerate() {
        let mut expected = vec![0.0; f.labels.len()];
        for (col, &&class) in classes.iter().enumerate() {
            expected[class] = log_proba[[row, col]].exp();
        }
        assert_same(&model, text, &expected);
    }
    let predicted = fitted.predict(f.dataset.records());
    for (row, text) in f.texts.iter().enumerate() {
        assert_eq!(model.predict(text).label, predicted[row], "{text:?}");
    }
}
