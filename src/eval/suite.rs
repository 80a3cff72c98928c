//! The behavioural suite: checklist-style tests of a trained model.
//!
//! A suite file is JSON Lines, one case per line:
//!
//! | `test` | fields | passes when |
//! |---|---|---|
//! | `mft` (minimum functionality) | `text`, `label` | the model predicts `label` for `text` |
//! | `inv` (invariance) | `text`, `variant` | the model predicts the same label for both |
//! | `dir` (directional) | `text`, `variant`, `label`, `direction` (`up`/`down`) | the probability of `label` moves that way from `text` to `variant` |
//!
//! Every case may also carry `id` and `capability` (what it probes); other
//! fields are ignored. Failures are listed, never hidden.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::StanceModel;

/// The kind of a suite case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TestType {
    /// Minimum functionality: a plain case must get its label.
    Mft,
    /// Invariance: a harmless change must not change the label.
    Inv,
    /// Directional: a change must move one label's probability one way.
    Dir,
}

impl TestType {
    /// The short name used in suite files.
    pub fn name(self) -> &'static str {
        match self {
            TestType::Mft => "mft",
            TestType::Inv => "inv",
            TestType::Dir => "dir",
        }
    }
}

/// Which way a directional case expects the probability to move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// The probability must rise.
    Up,
    /// The probability must fall.
    Down,
}

/// One case of the suite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuiteCase {
    /// Identifier (the line number when the file has none).
    #[serde(default)]
    pub id: String,
    /// Kind of test.
    pub test: TestType,
    /// What the case probes, e.g. `negation`.
    #[serde(default)]
    pub capability: String,
    /// The sentence.
    pub text: String,
    /// The changed sentence (`inv`, `dir`).
    #[serde(default)]
    pub variant: Option<String>,
    /// The expected label (`mft`), or the label whose probability moves (`dir`).
    #[serde(default)]
    pub label: Option<String>,
    /// Expected movement (`dir`).
    #[serde(default)]
    pub direction: Option<Direction>,
}

/// Parses a suite from JSON Lines text; `origin` names it in errors.
///
/// # Errors
/// [`Error::Input`] naming `origin:line` and what the case lacks.
pub fn parse_suite(origin: &str, text: &str) -> Result<Vec<SuiteCase>> {
    let mut cases = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |message: String| Error::Input {
            origin: format!("{origin}:{}", i + 1),
            message,
        };
        let mut case: SuiteCase = serde_json::from_str(line).map_err(|e| {
            bad(format!(
                "not a suite case ({e}); each line needs \"test\" (mft, inv or dir) and \"text\""
            ))
        })?;
        if case.id.is_empty() {
            case.id = format!("line {}", i + 1);
        }
        let missing = match case.test {
            TestType::Mft => case.label.is_none().then_some("\"label\""),
            TestType::Inv => case.variant.is_none().then_some("\"variant\""),
            TestType::Dir => {
                if case.variant.is_none() {
                    Some("\"variant\"")
                } else if case.label.is_none() {
                    Some("\"label\"")
                } else if case.direction.is_none() {
                    Some("\"direction\" (up or down)")
                } else {
                    None
                }
            }
        };
        if let Some(field) = missing {
            return Err(bad(format!(
                "a {} case needs {field}; add it or remove the line",
                case.test.name()
            )));
        }
        cases.push(case);
    }
    if cases.is_empty() {
        return Err(Error::Input {
            origin: origin.to_string(),
            message: "no cases; a suite file has one JSON case per line".into(),
        });
    }
    Ok(cases)
}

/// Reads a suite file.
///
/// # Errors
/// [`Error::Io`] if it cannot be read, [`Error::Input`] for a bad line.
pub fn read_suite(path: &Path) -> Result<Vec<SuiteCase>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "read suite", e))?;
    parse_suite(&path.display().to_string(), &text)
}

/// The outcome of one case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseResult {
    /// The case's id.
    pub id: String,
    /// Kind of test.
    pub test: TestType,
    /// What it probes.
    pub capability: String,
    /// Whether it passed.
    pub passed: bool,
    /// The sentence.
    pub text: String,
    /// The changed sentence, if any.
    pub variant: Option<String>,
    /// The expected label (or the label whose probability should move).
    pub expected: Option<String>,
    /// The model's label for the sentence.
    pub predicted: String,
    /// The model's label for the variant, if any.
    pub variant_predicted: Option<String>,
    /// `dir`: probability of the label for the sentence, then for the variant.
    pub probability_change: Option<[f64; 2]>,
    /// Why it failed, in words.
    pub reason: Option<String>,
}

/// Passed and total cases of one group.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Tally {
    /// Cases that passed.
    pub passed: usize,
    /// Cases in all.
    pub total: usize,
    /// `passed / total`.
    pub rate: f64,
}

impl Tally {
    fn add(&mut self, passed: bool) {
        self.total += 1;
        self.passed += usize::from(passed);
        self.rate = self.passed as f64 / self.total as f64;
    }
}

/// The outcome of a whole suite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuiteReport {
    /// All cases.
    pub overall: Tally,
    /// Per test type (`mft`, `inv`, `dir`).
    pub by_test: BTreeMap<String, Tally>,
    /// Per test type and capability, keyed `test/capability`.
    pub by_capability: BTreeMap<String, Tally>,
    /// Every case's outcome, in file order.
    pub results: Vec<CaseResult>,
}

impl SuiteReport {
    /// The cases that failed.
    pub fn failures(&self) -> impl Iterator<Item = &CaseResult> {
        self.results.iter().filter(|r| !r.passed)
    }
}

/// Runs every case against `model`.
pub fn run_suite(model: &StanceModel, cases: &[SuiteCase]) -> SuiteReport {
    let labels = model.labels();
    let index_of = |l: &str| labels.iter().position(|x| x == l);
    let mut report = SuiteReport {
        overall: Tally::default(),
        by_test: BTreeMap::new(),
        by_capability: BTreeMap::new(),
        results: Vec::with_capacity(cases.len()),
    };
    for case in cases {
        let p = model.predict(&case.text);
        let predicted = labels[p.label].clone();
        let q = case.variant.as_deref().map(|v| model.predict(v));
        let variant_predicted = q.as_ref().map(|q| labels[q.label].clone());
        let mut probability_change = None;
        let (passed, reason) = match case.test {
            TestType::Mft => {
                let expected = case.label.as_deref().unwrap_or_default();
                if index_of(expected).is_none() {
                    (
                        false,
                        Some(format!("label {expected:?} is unknown to the model")),
                    )
                } else if predicted == expected {
                    (true, None)
                } else {
                    (false, Some(format!("expected {expected}, got {predicted}")))
                }
            }
            TestType::Inv => match &variant_predicted {
                Some(v) if *v == predicted => (true, None),
                Some(v) => (false, Some(format!("{predicted} became {v}"))),
                None => (false, Some("no variant".into())),
            },
            TestType::Dir => {
                let label = case.label.as_deref().unwrap_or_default();
                match (index_of(label), &q, case.direction) {
                    (None, _, _) => (
                        false,
                        Some(format!("label {label:?} is unknown to the model")),
                    ),
                    (Some(l), Some(q), Some(direction)) => {
                        let (before, after) = (p.probabilities[l], q.probabilities[l]);
                        probability_change = Some([before, after]);
                        let moved = match direction {
                            Direction::Up => after > before,
                            Direction::Down => after < before,
                        };
                        if moved {
                            (true, None)
                        } else {
                            (
                                false,
                                Some(format!(
                                    "P({label}) went {before:.3} -> {after:.3}, expected {}",
                                    if direction == Direction::Up {
                                        "up"
                                    } else {
                                        "down"
                                    }
                                )),
                            )
                        }
                    }
                    _ => (false, Some("no variant or direction".into())),
                }
            }
        };
        report.overall.add(passed);
        report
            .by_test
            .entry(case.test.name().to_string())
            .or_default()
            .add(passed);
        report
            .by_capability
            .entry(format!("{}/{}", case.test.name(), case.capability))
            .or_default()
            .add(passed);
        report.results.push(CaseResult {
            id: case.id.clone(),
            test: case.test,
            capability: case.capability.clone(),
            passed,
            text: case.text.clone(),
            variant: case.variant.clone(),
            expected: case.label.clone(),
            predicted,
            variant_predicted,
            probability_change,
            reason,
        });
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::LabeledSentence;
    use crate::model::{Provenance, TrainOptions};

    fn rec(text: &str, label: &str) -> LabeledSentence {
        LabeledSentence::new(text, label)
    }

    fn tiny_model() -> StanceModel {
        let mut options = TrainOptions::default();
        options.features.min_df = 1;
        let data = [
            rec("the union grows closer every year", "pro"),
            rec("a closer union and one currency", "pro"),
            rec("the republic keeps its own army and currency", "sov"),
            rec("independence of the republic comes first", "sov"),
        ];
        StanceModel::train(&data, &options, Provenance::default()).unwrap()
    }

    const SUITE: &str = r#"{"id":"m1","test":"mft","capability":"plain","text":"a closer union","label":"pro"}
{"id":"m2","test":"mft","capability":"plain","text":"a closer union","label":"sov"}
{"id":"i1","test":"inv","capability":"name","text":"independence comes first","variant":"independence comes first, 2021"}
{"id":"d1","test":"dir","capability":"add","text":"the republic","variant":"the republic and the union","label":"pro","direction":"up"}
{"id":"d2","test":"dir","capability":"add","text":"the republic","variant":"the republic and the union","label":"pro","direction":"down"}
{"id":"m3","test":"mft","capability":"plain","text":"anything","label":"nowhere"}
"#;

    #[test]
    fn cases_are_scored_by_their_type() {
        let model = tiny_model();
        let cases = parse_suite("s.jsonl", SUITE).unwrap();
        let report = run_suite(&model, &cases);
        let passed: Vec<(&str, bool)> = report
            .results
            .iter()
            .map(|r| (r.id.as_str(), r.passed))
            .collect();
        assert_eq!(
            passed,
            [
                ("m1", true),
                ("m2", false),
                ("i1", true),
                ("d1", true),
                ("d2", false),
                ("m3", false)
            ]
        );
        assert_eq!(report.overall.total, 6);
        assert_eq!(report.overall.passed, 3);
        assert_eq!(report.by_test["mft"].passed, 1);
        assert_eq!(report.by_test["dir"].total, 2);
        assert_eq!(report.by_capability["mft/plain"].total, 3);
        let unknown = report.results.iter().find(|r| r.id == "m3").unwrap();
        assert!(unknown.reason.as_deref().unwrap().contains("unknown"));
        assert_eq!(report.failures().count(), 3);
    }

    #[test]
    fn bad_cases_name_their_line() {
        let err = parse_suite("s.jsonl", "{\"test\":\"mft\",\"text\":\"x\",\"label\":\"a\"}\n{\"test\":\"dir\",\"text\":\"x\",\"variant\":\"y\",\"label\":\"a\"}\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("s.jsonl:2: ") && err.contains("direction"),
            "{err}"
        );
        let err = parse_suite("s.jsonl", "{\"test\":\"xyz\",\"text\":\"x\"}")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("s.jsonl:1: "), "{err}");
        assert!(parse_suite("s.jsonl", "\n").is_err());
    }
}
