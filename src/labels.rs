//! Labeled sentences and the files that hold them.
//!
//! A labels file is JSON Lines: one object per line with at least `text` and
//! `label`. Seed labels also carry `article` (the article's file name) and
//! `sentence` (its index in the article); sentences written by the team carry
//! `"source": "authored"` and are used for training only, never for
//! evaluation. Any other fields are kept as they are.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The `source` value of sentences written by the team for training.
pub const AUTHORED: &str = "authored";

/// One labeled sentence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabeledSentence {
    /// The sentence.
    pub text: String,
    /// Its label, e.g. `pro-integration`, `sovereignty-preserving` or `neutral`.
    pub label: String,
    /// File name of the article the sentence comes from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub article: Option<String>,
    /// Index of the sentence in its article, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentence: Option<usize>,
    /// Where the record comes from (`authored`, `cli`, ...), if recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Every other field, kept unchanged.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl LabeledSentence {
    /// A labeled sentence with no article, index, source or other fields.
    ///
    /// ```
    /// let r = stance::labels::LabeledSentence::new("Minsk keeps its currency.", "sovereignty-preserving");
    /// assert_eq!(r.label, "sovereignty-preserving");
    /// assert!(r.article.is_none());
    /// ```
    pub fn new(text: impl Into<String>, label: impl Into<String>) -> Self {
        LabeledSentence {
            text: text.into(),
            label: label.into(),
            article: None,
            sentence: None,
            source: None,
            extra: BTreeMap::new(),
        }
    }

    /// Whether the sentence was written by the team (training only).
    pub fn is_authored(&self) -> bool {
        self.source.as_deref() == Some(AUTHORED)
    }
}

/// The labeled sentences of one file, with the file's path and content hash.
#[derive(Debug, Clone)]
pub struct LabelsFile {
    /// Path as given.
    pub path: PathBuf,
    /// BLAKE3 hash of the file's bytes (hex).
    pub hash: String,
    /// The records, in file order.
    pub records: Vec<LabeledSentence>,
}

/// Parses JSON Lines labels from text; blank lines are skipped.
///
/// # Errors
/// [`Error::LabelsLine`] naming `origin` and the 1-based line of the first bad record.
pub fn parse_labels(origin: &Path, text: &str) -> Result<Vec<LabeledSentence>> {
    parse_labels_with(origin, text, &mut |e| Err(e))
}

/// Parses JSON Lines labels, handing every bad line's error to `on_error`:
/// return `Ok(())` to skip the line (e.g. after a warning) or the error to stop.
///
/// # Errors
/// Whatever `on_error` returns.
pub fn parse_labels_with(
    origin: &Path,
    text: &str,
    on_error: &mut dyn FnMut(Error) -> Result<()>,
) -> Result<Vec<LabeledSentence>> {
    let mut records = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |message: String| Error::LabelsLine {
            path: origin.to_path_buf(),
            line: i + 1,
            message,
        };
        let record: LabeledSentence = match serde_json::from_str(line) {
            Ok(r) => r,
            Err(e) => {
                on_error(bad(format!(
                    "not a labeled sentence ({e}); each line must be a JSON object with \"text\" and \"label\""
                )))?;
                continue;
            }
        };
        if record.text.trim().is_empty() {
            on_error(bad("empty \"text\"; remove the line or fill it in".into()))?;
            continue;
        }
        if record.label.trim().is_empty() || record.label.trim() != record.label {
            on_error(bad(format!(
                "label {:?} is empty or has surrounding spaces; fix the label",
                record.label
            )))?;
            continue;
        }
        records.push(record);
    }
    Ok(records)
}

/// Reads one labels file.
///
/// # Errors
/// [`Error::Io`] if it cannot be read, [`Error::LabelsLine`] for a bad line
/// (invalid UTF-8 included).
pub fn read_labels_file(path: &Path) -> Result<LabelsFile> {
    read_labels_file_with(path, &mut |e| Err(e))
}

/// Reads one labels file, handing every bad line's error to `on_error` (see
/// [`parse_labels_with`]).
///
/// # Errors
/// [`Error::Io`] if it cannot be read; otherwise whatever `on_error` returns.
pub fn read_labels_file_with(
    path: &Path,
    on_error: &mut dyn FnMut(Error) -> Result<()>,
) -> Result<LabelsFile> {
    if path.is_dir() {
        return Err(Error::Input {
            origin: path.display().to_string(),
            message: "is a directory, not a labels file; pass a .jsonl file".into(),
        });
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, "read", e))?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        Error::LabelsLine {
            path: path.to_path_buf(),
            line,
            message: format!(
                "invalid UTF-8 at byte {}; save the file as UTF-8",
                e.valid_up_to()
            ),
        }
    })?;
    Ok(LabelsFile {
        path: path.to_path_buf(),
        hash: blake3::hash(&bytes).to_hex().to_string(),
        records: parse_labels_with(path, text, on_error)?,
    })
}

/// All `*.jsonl` files under `dir` (recursively), sorted by path.
///
/// # Errors
/// [`Error::Io`] if the folder cannot be listed.
pub fn find_labels_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| Error::io(&d, "list", e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&d, "list", e))?;
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "jsonl") {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// One record as a JSON Lines line (without the newline).
pub fn to_jsonl_line(record: &LabeledSentence) -> String {
    // Serialising plain strings, numbers and JSON values cannot fail.
    serde_json::to_string(record).unwrap_or_default()
}

/// The label set of some records: every distinct label, sorted.
pub fn label_set<'a>(records: impl IntoIterator<Item = &'a LabeledSentence>) -> Vec<String> {
    let mut labels: Vec<String> = records.into_iter().map(|r| r.label.clone()).collect();
    labels.sort();
    labels.dedup();
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_lines_are_reported_with_their_number() {
        let text = "{\"text\":\"a\",\"label\":\"x\"}\n\n{\"text\":\"b\"}\n";
        let err = parse_labels(Path::new("l.jsonl"), text)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("l.jsonl:3: "), "{err}");
    }

    #[test]
    fn unknown_fields_are_kept() {
        let text = "{\"text\":\"a\",\"label\":\"x\",\"note\":\"hard\",\"sentence\":3}";
        let r = &parse_labels(Path::new("l"), text).unwrap()[0];
        assert_eq!(r.sentence, Some(3));
        assert_eq!(r.extra["note"], "hard");
        let back = serde_json::to_string(r).unwrap();
        assert!(back.contains("\"note\":\"hard\""));
    }
}
