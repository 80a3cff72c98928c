//! The tokenizer and featurizer on arbitrary text.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use stance::features::{FeatureConfig, Featurizer};

fn featurizer() -> &'static Featurizer {
    static F: OnceLock<Featurizer> = OnceLock::new();
    F.get_or_init(|| {
        let config = FeatureConfig {
            min_df: 1,
            char_ngrams: Some([1, 5]),
            ..FeatureConfig::default()
        };
        Featurizer::fit(
            config,
            &[
                "Minsk never agreed, but the union grows.",
                "Лукашенко не согласен",
            ],
        )
        .expect("fixed training sentences")
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let v = featurizer().transform(&text);
    assert!(v.values.iter().all(|x| x.is_finite() && *x > 0.0));
    assert!(v.indices.windows(2).all(|w| w[0] < w[1]));
    let _ = featurizer().terms(&text);
});
