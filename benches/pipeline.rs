//! Benchmarks of each pipeline stage on the checked-in seeds:
//! `cargo bench --bench pipeline`.
//!
//! split: one seed article into sentences; featurize and predict: every seed
//! sentence (per-sentence figure = total / 108); train: the seed labels (one
//! linfa fit, no cross-validation).

use std::path::Path;

use divan::{black_box, Bencher};
use stance::features::{Scratch, SparseVector};
use stance::labels::{read_labels_file, LabeledSentence};
use stance::model::{PredictScratch, Provenance, StanceModel, TrainOptions};

fn main() {
    divan::main();
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn seed_labels() -> Vec<LabeledSentence> {
    read_labels_file(&root().join("seeds/labels.jsonl"))
        .expect("seeds/labels.jsonl")
        .records
}

fn seed_article() -> String {
    let dir = root().join("seeds/articles");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .expect("seeds/articles")
        .map(|e| e.expect("entry").path())
        .collect();
    paths.sort();
    std::fs::read_to_string(&paths[0]).expect("article")
}

#[divan::bench]
fn split(bencher: Bencher) {
    let text = seed_article();
    bencher
        .counter(divan::counter::BytesCount::new(text.len()))
        .bench(|| stance::split_sentences(black_box(&text)));
}

#[divan::bench]
fn featurize_seed_sentences(bencher: Bencher) {
    let model = StanceModel::embedded().expect("embedded model");
    let texts: Vec<String> = seed_labels().into_iter().map(|r| r.text).collect();
    let mut scratch = Scratch::default();
    let mut vector = SparseVector::default();
    bencher
        .counter(divan::counter::ItemsCount::new(texts.len()))
        .bench_local(|| {
            for t in &texts {
                model
                    .featurizer()
                    .transform_into(black_box(t), &mut scratch, &mut vector);
            }
        });
}

#[divan::bench]
fn predict_seed_sentences(bencher: Bencher) {
    let model = StanceModel::embedded().expect("embedded model");
    let texts: Vec<String> = seed_labels().into_iter().map(|r| r.text).collect();
    let mut scratch = PredictScratch::default();
    let mut probabilities = Vec::new();
    bencher
        .counter(divan::counter::ItemsCount::new(texts.len()))
        .bench_local(|| {
            let mut labels = 0;
            for t in &texts {
                labels += model.predict_into(black_box(t), &mut scratch, &mut probabilities);
            }
            labels
        });
}

#[divan::bench]
fn load_embedded_model() -> StanceModel {
    StanceModel::embedded().expect("embedded model")
}

#[divan::bench(sample_count = 10)]
fn train_seed_labels(bencher: Bencher) {
    let records = seed_labels();
    let options = TrainOptions::default();
    bencher.bench(|| StanceModel::train(black_box(&records), &options, Provenance::default()));
}
