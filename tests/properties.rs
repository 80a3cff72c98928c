//! Property tests for the parts that take open-ended input.

use std::path::Path;

use proptest::prelude::*;
use stance::features::{FeatureConfig, Featurizer, Scratch, SparseVector};
use stance::labels::{parse_labels, LabeledSentence};
use stance::model::{Provenance, StanceModel, TrainOptions};
use stance::{article::clean, split_sentences};

/// Text made of words, sentence punctuation, quotes, abbreviations, numbers,
/// line breaks and a few non-Latin and invisible characters.
fn newsy_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[A-Za-z]{1,8}",
        Just("Mr.".to_string()),
        Just("U.S.".to_string()),
        Just("A.".to_string()),
        Just("71.5%".to_string()),
        Just("Лукашенко".to_string()),
        Just("“".to_string()),
        Just("”".to_string()),
        Just("\"".to_string()),
        Just("’".to_string()),
        Just(".".to_string()),
        Just("?!".to_string()),
        Just("…".to_string()),
        Just(",".to_string()),
        Just("\n".to_string()),
        Just("\n\n".to_string()),
        Just("\u{200B}".to_string()),
        Just("\u{00A0}".to_string()),
        Just("\t".to_string()),
        any::<char>().prop_map(|c| c.to_string()),
    ];
    prop::collection::vec((piece, prop_oneof![Just(" "), Just(""), Just("  ")]), 0..60)
        .prop_map(|parts| parts.into_iter().map(|(p, s)| format!("{p}{s}")).collect())
}

fn non_whitespace(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

fn small_model() -> StanceModel {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/labels-small.jsonl"),
    )
    .unwrap();
    let records = parse_labels(Path::new("labels-small.jsonl"), &text).unwrap();
    let mut options = TrainOptions::default();
    options.features.min_df = 1;
    options.features.char_ngrams = Some([2, 4]);
    StanceModel::train(&records, &options, Provenance::default()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn the_splitter_loses_no_character_and_yields_no_empty_sentence(text in newsy_text()) {
        let sentences = split_sentences(&text);
        let joined: String = sentences.iter().map(|s| s.text.as_str()).collect();
        prop_assert_eq!(non_whitespace(&joined), non_whitespace(&text));
        let chars: Vec<char> = text.chars().collect();
        for (i, s) in sentences.iter().enumerate() {
            prop_assert!(!s.text.trim().is_empty());
            prop_assert_eq!(s.index, i);
            let slice: String = chars[s.start..s.end].iter().collect();
            prop_assert_eq!(&slice, &s.text);
        }
        for pair in sentences.windows(2) {
            prop_assert!(pair[0].end <= pair[1].start);
        }
    }

    #[test]
    fn cleaning_then_splitting_never_panics_and_sentences_are_trimmed(text in newsy_text()) {
        let cleaned = clean(&text);
        for s in split_sentences(&cleaned) {
            prop_assert_eq!(s.text.trim(), s.text.as_str());
            prop_assert!(!s.text.contains('\n'));
        }
    }

    #[test]
    fn a_sentence_gets_the_same_vector_alone_or_after_others(
        first in newsy_text(), sentence in newsy_text()
    ) {
        let config = FeatureConfig { min_df: 1, char_ngrams: Some([2, 4]), ..FeatureConfig::default() };
        let featurizer = Featurizer::fit(config, &["the union grows", "minsk keeps its independence"]).unwrap();
        let alone = featurizer.transform(&sentence);
        let mut scratch = Scratch::default();
        let mut reused = SparseVector::default();
        featurizer.transform_into(&first, &mut scratch, &mut reused);
        featurizer.transform_into(&sentence, &mut scratch, &mut reused);
        prop_assert_eq!(&alone, &reused);
        prop_assert!(alone.values.iter().all(|v| v.is_finite() && *v > 0.0));
        prop_assert!(alone.indices.windows(2).all(|w| w[0] < w[1]));
        let norm: f64 = alone.values.iter().map(|v| v * v).sum();
        prop_assert!(alone.values.is_empty() || (norm - 1.0).abs() < 1e-9);
    }

    #[test]
    fn labels_round_trip_through_jsonl(
        text in "[^\n\r]{1,80}".prop_filter("not blank", |t| !t.trim().is_empty()),
        label in "[a-z][a-z-]{0,20}[a-z]",
        sentence in proptest::option::of(0usize..500),
    ) {
        let record = LabeledSentence {
            text,
            label,
            article: Some("a.txt".into()),
            sentence,
            source: None,
            extra: Default::default(),
        };
        let line = serde_json::to_string(&record).unwrap();
        let back = parse_labels(Path::new("x.jsonl"), &line).unwrap();
        prop_assert_eq!(back, vec![record]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn save_load_predict_is_identical_and_probabilities_sum_to_one(sentence in newsy_text()) {
        let model = small_model();
        let loaded = StanceModel::from_json("test", &model.to_json()).unwrap();
        let a = model.predict(&sentence);
        let b = loaded.predict(&sentence);
        prop_assert_eq!(&a, &b);
        let sum: f64 = a.probabilities.iter().sum();
        prop_assert!((sum - 1.0).abs() < 1e-9);
    }
}
