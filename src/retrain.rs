//! Retraining safely: keeping the previous model, putting it back, and
//! seeing what a retrain changed.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::labels::LabeledSentence;
use crate::model::{write_atomically, SourceFile, StanceModel};
use crate::store::StoredRecord;

/// Where the model before the last retrain is kept: `stance.json` →
/// `stance.prev.json`.
pub fn previous_path(model_path: &Path) -> PathBuf {
    model_path.with_extension("prev.json")
}

/// Writes `model` to `path` atomically, first keeping the model it replaces
/// (when different) as [`previous_path`].
///
/// # Errors
/// [`Error::Io`] naming the file that could not be written.
pub fn save_keeping_previous(model: &StanceModel, path: &Path) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "create folder", e))?;
    }
    let json = model.to_json();
    if let Ok(previous) = std::fs::read(path) {
        if previous != json.as_bytes() {
            write_atomically(&previous_path(path), &previous)?;
        }
    }
    model.save(path)
}

/// Puts the previous model ([`previous_path`]) back at `path`, and keeps the
/// model it replaces as the new previous one, so an undo can itself be
/// undone. Each file is replaced atomically; the previous model is checked
/// to be a valid model first.
///
/// # Errors
/// [`Error::Input`] when there is no previous model, [`Error::Model`] when it
/// is damaged, [`Error::Io`] when a file cannot be written.
pub fn restore_previous(path: &Path) -> Result<()> {
    let prev = previous_path(path);
    let previous = match std::fs::read(&prev) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::Input {
                origin: prev.display().to_string(),
                message: "no previous model to restore; it is kept by `stance train` when it replaces a model".into(),
            })
        }
        Err(e) => return Err(Error::io(&prev, "read", e)),
    };
    let text = std::str::from_utf8(&previous).map_err(|_| Error::Model {
        origin: prev.display().to_string(),
        message: "not UTF-8 text, so not a model file; nothing restored".into(),
    })?;
    StanceModel::from_json(&prev.display().to_string(), text)?;
    let current = std::fs::read(path).ok();
    write_atomically(path, &previous)?;
    if let Some(current) = current {
        write_atomically(&prev, &current)?;
    }
    Ok(())
}

/// The records a model was trained on, rebuilt from the labels files as they
/// are now: a file whose hash still matches gives all its records; a file
/// that only grew (the label store is append-only) gives the records of the
/// prefix that had the recorded hash. `None` when a file changed otherwise,
/// or is gone.
pub fn records_at(
    trained_on: &[SourceFile],
    now: &[(PathBuf, Vec<u8>)],
) -> Option<Vec<StoredRecord>> {
    let mut all = Vec::new();
    for source in trained_on {
        let (path, bytes) = now
            .iter()
            .find(|(p, _)| p.display().to_string() == source.path)?;
        let prefix = matching_prefix(bytes, &source.blake3)?;
        all.extend(crate::store::scan(path, &bytes[..prefix]).records);
    }
    Some(crate::store::resolve(&all))
}

/// The length of the prefix of `bytes`, ending at a line end (or the whole),
/// whose BLAKE3 hash is `hash`.
fn matching_prefix(bytes: &[u8], hash: &str) -> Option<usize> {
    if blake3::hash(bytes).to_hex().as_str() == hash {
        return Some(bytes.len());
    }
    let mut hasher = blake3::Hasher::new();
    if hasher.finalize().to_hex().as_str() == hash {
        return Some(0);
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' {
            hasher.update(&bytes[start..=i]);
            start = i + 1;
            if hasher.finalize().to_hex().as_str() == hash {
                return Some(i + 1);
            }
        }
    }
    None
}

/// A sentence whose predicted label changed between two models.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The sentence.
    pub text: String,
    /// The old model's label and probability.
    pub before: (String, f64),
    /// The new model's label and probability.
    pub after: (String, f64),
    /// Its label in the labels files, if it has one.
    pub truth: Option<String>,
}

/// The sentences whose predicted label differs between `old` and `new`.
pub fn changed_predictions<'a>(
    old: &StanceModel,
    new: &StanceModel,
    sentences: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
) -> Vec<Change> {
    let mut changes = Vec::new();
    for (text, truth) in sentences {
        let a = old.predict(text);
        let b = new.predict(text);
        let (la, lb) = (&old.labels()[a.label], &new.labels()[b.label]);
        if la != lb {
            changes.push(Change {
                text: text.to_string(),
                before: (la.clone(), a.probabilities[a.label]),
                after: (lb.clone(), b.probabilities[b.label]),
                truth: truth.map(str::to_string),
            });
        }
    }
    changes
}

/// The plain records of stored ones.
pub fn records_of(stored: &[StoredRecord]) -> Vec<LabeledSentence> {
    stored.iter().map(|s| s.record.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Provenance, TrainOptions};

    fn model(extra: &str) -> StanceModel {
        let rec = |t: &str, l: &str| LabeledSentence::new(t, l);
        let data = [
            rec("closer union now", "a"),
            rec("keep independence", "b"),
            rec(extra, "a"),
        ];
        let mut options = TrainOptions::default();
        options.features.min_df = 1;
        StanceModel::train(&data, &options, Provenance::default()).unwrap()
    }

    #[test]
    fn restore_swaps_current_and_previous() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stance.json");
        let (one, two) = (model("first"), model("second"));
        save_keeping_previous(&one, &path).unwrap();
        assert!(!previous_path(&path).exists());
        save_keeping_previous(&two, &path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), two.to_json());
        restore_previous(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), one.to_json());
        assert_eq!(
            std::fs::read_to_string(previous_path(&path)).unwrap(),
            two.to_json()
        );
    }

    #[test]
    fn restore_refuses_a_missing_or_damaged_previous_model() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stance.json");
        let err = restore_previous(&path).unwrap_err().to_string();
        assert!(err.contains("no previous model"), "{err}");
        std::fs::write(previous_path(&path), "{\"half\":").unwrap();
        std::fs::write(&path, "current").unwrap();
        assert!(restore_previous(&path).is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "current");
    }

    #[test]
    fn a_grown_file_gives_back_its_old_prefix() {
        let old = b"{\"text\":\"a\",\"label\":\"x\"}\n".to_vec();
        let mut now = old.clone();
        now.extend_from_slice(b"{\"text\":\"b\",\"label\":\"y\"}\n");
        let source = SourceFile {
            path: "f.jsonl".into(),
            blake3: blake3::hash(&old).to_hex().to_string(),
            records: 1,
        };
        let files = vec![(PathBuf::from("f.jsonl"), now)];
        let records = records_at(std::slice::from_ref(&source), &files).unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].record.text, "a");
        let changed = vec![(
            PathBuf::from("f.jsonl"),
            b"{\"text\":\"c\",\"label\":\"y\"}\n".to_vec(),
        )];
        assert!(records_at(&[source], &changed).is_none());
    }
}
