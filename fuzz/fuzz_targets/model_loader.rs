//! The model loader on arbitrary text: errors, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(model) = stance::StanceModel::from_json("fuzz", text) {
            let p = model.predict("Minsk and Moscow signed the road maps.");
            assert!(p.probabilities.iter().all(|x| x.is_finite()));
            let _ = model.explain("The union grows, but Minsk hesitates.", 5);
        }
    }
});
