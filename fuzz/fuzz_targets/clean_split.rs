//! The article cleaner and sentence splitter on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let cleaned = stance::article::clean(&text);
    let sentences = stance::split_sentences(&cleaned);
    let kept: String = sentences
        .iter()
        .flat_map(|s| s.text.chars())
        .filter(|c| !c.is_whitespace())
        .collect();
    let all: String = cleaned.chars().filter(|c| !c.is_whitespace()).collect();
    assert_eq!(kept, all, "the splitter lost characters");
    assert!(sentences.iter().all(|s| !s.text.trim().is_empty()));
    // The splitter alone, on the raw text.
    let raw = stance::split_sentences(&text);
    assert!(raw.iter().all(|s| !s.text.trim().is_empty()));
});
