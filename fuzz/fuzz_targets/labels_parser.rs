//! The labels (JSON Lines) parser on arbitrary bytes.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(records) = stance::labels::parse_labels(Path::new("fuzz.jsonl"), text) {
            // A record that parsed must survive a write and a second parse unchanged.
            for r in &records {
                let line = stance::labels::to_jsonl_line(r);
                let back = stance::labels::parse_labels(Path::new("fuzz.jsonl"), &line)
                    .expect("round trip");
                assert_eq!(&back, std::slice::from_ref(r));
            }
        }
    }
});
