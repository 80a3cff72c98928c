//! Quote attribution measured against hand-checked speakers of the seed articles.
//!
//! `tests/fixtures/seed_speakers.jsonl` lists every seed sentence that is
//! quoted or reported speech of a person, with the speaker a reader assigns;
//! every other sentence is the outlet's own voice.

use std::collections::HashMap;
use std::path::Path;

use stance::speakers::attribute;
use stance::Article;

#[derive(serde::Deserialize)]
struct Expected {
    article: String,
    sentence: usize,
    speaker: String,
    begins: String,
}

struct Score {
    expected: usize,
    predicted: usize,
    correct: usize,
    wrong: Vec<String>,
}

fn score() -> Score {
    let fixture = std::fs::read_to_string("tests/fixtures/seed_speakers.jsonl").unwrap();
    let mut expected: HashMap<(String, usize), String> = HashMap::new();
    let mut articles: HashMap<String, Article> = HashMap::new();
    for line in fixture.lines().filter(|l| !l.trim().is_empty()) {
        let e: Expected = serde_json::from_str(line).unwrap();
        let article = articles.entry(e.article.clone()).or_insert_with(|| {
            Article::read(&Path::new("seeds/articles").join(&e.article), &mut |_| {}).unwrap()
        });
        let text = &article.sentences[e.sentence].text;
        assert!(
            text.starts_with(&e.begins),
            "{}:{} now starts {text:?}; the splitter changed, update the fixture",
            e.article,
            e.sentence
        );
        expected.insert((e.article, e.sentence), e.speaker);
    }
    let mut s = Score {
        expected: expected.len(),
        predicted: 0,
        correct: 0,
        wrong: Vec::new(),
    };
    let mut names: Vec<_> = std::fs::read_dir("seeds/articles")
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in names {
        let article = Article::read(&Path::new("seeds/articles").join(&name), &mut |_| {}).unwrap();
        for (i, voice) in attribute(&article).into_iter().enumerate() {
            let truth = expected.get(&(name.clone(), i));
            if let Some(got) = &voice.speaker {
                s.predicted += 1;
                if truth == Some(got) {
                    s.correct += 1;
                } else {
                    s.wrong
                        .push(format!("{name}:{i} got {got}, expected {truth:?}"));
                }
            } else if let Some(truth) = truth {
                s.wrong.push(format!("{name}:{i} missed {truth}"));
            }
        }
    }
    s
}

#[test]
fn attribution_precision_and_recall_on_the_seeds() {
    let s = score();
    let precision = s.correct as f64 / s.predicted as f64;
    let recall = s.correct as f64 / s.expected as f64;
    eprintln!(
        "attribution: {} expected, {} attributed, {} correct; precision {precision:.3}, recall {recall:.3}",
        s.expected, s.predicted, s.correct
    );
    for w in &s.wrong {
        eprintln!("  {w}");
    }
    assert!(precision >= 0.95, "precision {precision:.3}");
    assert!(recall >= 0.90, "recall {recall:.3}");
}
