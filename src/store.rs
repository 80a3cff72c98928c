//! The label store: appending labeled sentences safely, and reading labels
//! files the way training sees them.
//!
//! # Format
//! A labels file is JSON Lines (see [`crate::labels`]). Records added by
//! `stance add` and `stance teach` also carry their provenance:
//!
//! | Field | Meaning |
//! |---|---|
//! | `source` | `cli` (typed or imported with `stance add`) or `teach` |
//! | `article`, `sentence` | the article file name and sentence index, when known |
//! | `annotator` | who labeled it (`--annotator`, else `$USER`/`$LOGNAME`, else `unknown`) |
//! | `timestamp` | when, RFC 3339 UTC (`2026-11-26T11:10:25Z`) |
//! | `guide_version` | the labeling-guide version ([`GUIDE_VERSION`]) the label follows |
//! | `relabels` | on a correction: `FILE:LINE` of the record whose label it replaces |
//! | `retracts` | on a withdrawal: the line number (same file) of the record withdrawn |
//!
//! The store is append-only: a correction is a new record with `relabels`,
//! a withdrawal a new record with `retracts`; nothing is rewritten, so the
//! history stays in the file. [`resolve`] turns that history into the
//! records to train on.
//!
//! # Safety
//! [`append`] takes an exclusive lock on the file (`File::lock`), reads it,
//! validates the new records against it, writes all new lines with one
//! `write_all` on a file opened for appending, and `fsync`s before the lock is
//! released. Concurrent writers therefore never interleave or duplicate. A
//! writer killed mid-write can at worst leave an incomplete last line (no
//! final newline): readers skip such a line with a warning naming file and
//! line, and the next append, holding the lock, cuts it off before writing.
//! Earlier records are never touched.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};
use crate::labels::{parse_labels, LabeledSentence};

/// The version of the labeling guide (`seeds/GUIDE.md`, its `Version:` line)
/// that new labels follow.
pub const GUIDE_VERSION: u32 = 1;

/// The file `stance add` and `stance teach` write to by default.
pub const DEFAULT_ADDED_FILE: &str = "seeds/added.jsonl";

/// The `source` of records added with `stance add`.
pub const SOURCE_CLI: &str = "cli";

/// The `source` of records answered in `stance teach`.
pub const SOURCE_TEACH: &str = "teach";

/// Field naming the record a correction replaces.
pub const RELABELS: &str = "relabels";

/// Field naming the line (same file) a withdrawal withdraws.
pub const RETRACTS: &str = "retracts";

/// Where a record is: its file and 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// The labels file, as given.
    pub path: PathBuf,
    /// 1-based line number.
    pub line: usize,
}

impl fmt::Display for Location {
    /// `FILE:LINE`, or just `FILE` for line 0 (the file as a whole).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.path.display())
        } else {
            write!(f, "{}:{}", self.path.display(), self.line)
        }
    }
}

/// A record and where it was read.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRecord {
    /// The record.
    pub record: LabeledSentence,
    /// Its file and line.
    pub at: Location,
}

impl StoredRecord {
    /// The line this record withdraws, if it is a withdrawal.
    pub fn retracts(&self) -> Option<usize> {
        self.record
            .extra
            .get(RETRACTS)
            .and_then(|v| v.as_u64())
            .and_then(|n| usize::try_from(n).ok())
    }

    /// Whether this record corrects an earlier label.
    pub fn is_relabel(&self) -> bool {
        self.record.extra.contains_key(RELABELS)
    }
}

/// One line of a labels file that could not be used.
#[derive(Debug, Clone, PartialEq)]
pub struct BadLine {
    /// Where.
    pub at: Location,
    /// What is wrong and what to do.
    pub message: String,
    /// Whether it is an incomplete last line (no final newline), as an
    /// interrupted write leaves.
    pub torn: bool,
}

impl fmt::Display for BadLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

/// Every line of a labels file, parsed: the good records and the bad lines.
#[derive(Debug, Clone, Default)]
pub struct ScannedFile {
    /// The file, as given.
    pub path: PathBuf,
    /// The records that parse, in file order.
    pub records: Vec<StoredRecord>,
    /// The lines that do not.
    pub bad: Vec<BadLine>,
    /// BLAKE3 of the bytes (hex).
    pub hash: String,
}

/// Parses every line of `bytes` (the content of `path`), collecting bad
/// lines instead of stopping at the first.
pub fn scan(path: &Path, bytes: &[u8]) -> ScannedFile {
    let mut out = ScannedFile {
        path: path.to_path_buf(),
        hash: blake3::hash(bytes).to_hex().to_string(),
        ..ScannedFile::default()
    };
    let mut start = 0;
    let mut number = 0;
    while start < bytes.len() {
        number += 1;
        let (end, complete) = match bytes[start..].iter().position(|&b| b == b'\n') {
            Some(i) => (start + i, true),
            None => (bytes.len(), false),
        };
        let at = Location {
            path: path.to_path_buf(),
            line: number,
        };
        let raw = &bytes[start..end];
        start = end + 1;
        let parsed = match std::str::from_utf8(raw) {
            Ok(line) if line.trim().is_empty() => continue,
            Ok(line) => parse_labels(path, line).map_err(|e| match e {
                Error::LabelsLine { message, .. } => message,
                other => other.to_string(),
            }),
            Err(e) => Err(format!(
                "invalid UTF-8 at byte {} of the line; save the file as UTF-8",
                e.valid_up_to()
            )),
        };
        match parsed {
            Ok(records) => out.records.extend(records.into_iter().map(|record| StoredRecord {
                record,
                at: at.clone(),
            })),
            Err(message) if !complete => out.bad.push(BadLine {
                at,
                message: format!(
                    "incomplete last line (no final newline; an interrupted write?): {message}; the next `stance add` removes it"
                ),
                torn: true,
            }),
            Err(message) => out.bad.push(BadLine {
                at,
                message,
                torn: false,
            }),
        }
    }
    out
}

/// Reads a labels file for use. An incomplete last line is skipped and
/// reported through `warn`; any other bad line is an error.
///
/// # Errors
/// [`Error::Io`] if the file cannot be read, [`Error::LabelsLine`] for the
/// first bad line that is not an incomplete last line.
pub fn read_store_file(path: &Path, warn: &mut dyn FnMut(String)) -> Result<ScannedFile> {
    read_store_file_skipping(path, false, warn)
}

/// As [`read_store_file`], but with `skip_bad_lines` every bad line is
/// skipped with a warning instead of stopping the read.
///
/// # Errors
/// [`Error::Input`] for a directory, [`Error::Io`] if the file cannot be
/// read, [`Error::LabelsLine`] for the first bad line not skipped.
pub fn read_store_file_skipping(
    path: &Path,
    skip_bad_lines: bool,
    warn: &mut dyn FnMut(String),
) -> Result<ScannedFile> {
    if path.is_dir() {
        return Err(Error::Input {
            origin: path.display().to_string(),
            message: "is a directory, not a labels file; pass a .jsonl file".into(),
        });
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, "read", e))?;
    let scanned = scan(path, &bytes);
    for bad in &scanned.bad {
        if bad.torn || skip_bad_lines {
            warn(format!("{bad}; skipped"));
        } else {
            return Err(Error::LabelsLine {
                path: bad.at.path.clone(),
                line: bad.at.line,
                message: bad.message.clone(),
            });
        }
    }
    Ok(scanned)
}

/// A sentence normalised for comparison: lower case, curly quotes made
/// straight, runs of whitespace made one space, trimmed.
///
/// ```
/// use stance::store::normalize_text;
/// assert_eq!(normalize_text("  “Minsk’s”\tChoice "), normalize_text("\"minsk's\" choice"));
/// ```
pub fn normalize_text(text: &str) -> String {
    let mapped: String = text
        .chars()
        .map(|c| match c {
            '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' | '`' => '\'',
            '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' | '«' | '»' => '"',
            c => c,
        })
        .collect();
    mapped
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The records to train on, from the stored history: withdrawals remove the
/// record they name (and are not records themselves); where a sentence has
/// corrections (`relabels`), only its latest correction counts (latest by
/// `timestamp`, then by reading order), and every other record of that
/// sentence is dropped. Records are returned in reading order.
pub fn resolve(stored: &[StoredRecord]) -> Vec<StoredRecord> {
    let withdrawn: BTreeSet<Location> = stored
        .iter()
        .filter_map(|s| {
            s.retracts().map(|line| Location {
                path: s.at.path.clone(),
                line,
            })
        })
        .collect();
    let live: Vec<&StoredRecord> = stored
        .iter()
        .filter(|s| s.retracts().is_none() && !withdrawn.contains(&s.at))
        .collect();
    // The winning correction of each corrected sentence.
    let mut latest: HashMap<String, (usize, String)> = HashMap::new();
    for (i, s) in live.iter().enumerate() {
        if !s.is_relabel() {
            continue;
        }
        let stamp = timestamp_of(&s.record);
        let key = normalize_text(&s.record.text);
        match latest.get(&key) {
            Some((_, best)) if *best > stamp => {}
            _ => {
                latest.insert(key, (i, stamp));
            }
        }
    }
    live.iter()
        .enumerate()
        .filter(|(i, s)| match latest.get(&normalize_text(&s.record.text)) {
            Some((winner, _)) => winner == i,
            None => true,
        })
        .map(|(_, s)| (*s).clone())
        .collect()
}

fn timestamp_of(record: &LabeledSentence) -> String {
    record
        .extra
        .get("timestamp")
        .and_then(|t| t.as_str())
        .unwrap_or_default()
        .to_string()
}

/// Reads labels files and resolves their history ([`resolve`]) into the
/// records to train and evaluate on. Incomplete last lines are skipped with
/// a warning.
///
/// # Errors
/// As [`read_store_file`].
pub fn load_resolved(
    paths: &[PathBuf],
    skip_bad_lines: bool,
    warn: &mut dyn FnMut(String),
) -> Result<(Vec<StoredRecord>, Vec<ScannedFile>)> {
    let mut all = Vec::new();
    let mut files = Vec::new();
    for path in paths {
        let scanned = read_store_file_skipping(path, skip_bad_lines, warn)?;
        all.extend(scanned.records.iter().cloned());
        files.push(scanned);
    }
    Ok((resolve(&all), files))
}

/// Finds every problem in some labels files: bad lines, withdrawals of
/// nothing, the same sentence twice with one label (duplicate) or with two
/// labels (conflict) among the current records, labels outside
/// `label_set`, and no labels at all. Each problem names its file and line.
pub fn check_files(files: &[ScannedFile], label_set: &[String]) -> Vec<BadLine> {
    let mut problems: Vec<BadLine> = files.iter().flat_map(|f| f.bad.iter().cloned()).collect();
    let all: Vec<StoredRecord> = files
        .iter()
        .flat_map(|f| f.records.iter().cloned())
        .collect();
    let problem = |at: &Location, message: String| BadLine {
        at: at.clone(),
        message,
        torn: false,
    };
    for s in &all {
        if let Some(line) = s.retracts() {
            let target = Location {
                path: s.at.path.clone(),
                line,
            };
            if !all.iter().any(|o| o.at == target && o.retracts().is_none()) {
                problems.push(problem(
                    &s.at,
                    format!("withdraws line {line}, which holds no record"),
                ));
            }
        }
    }
    let current = resolve(&all);
    let mut first: HashMap<String, &StoredRecord> = HashMap::new();
    for s in &current {
        match first.get(&normalize_text(&s.record.text)) {
            Some(earlier) if earlier.record.label == s.record.label => problems.push(problem(
                &s.at,
                format!(
                    "duplicate of {} (same sentence, same label); remove one",
                    earlier.at
                ),
            )),
            Some(earlier) => problems.push(problem(
                &s.at,
                format!(
                    "conflicting labels: {:?} here, {:?} at {}; keep one, or record the change with `stance add --relabel`",
                    s.record.label, earlier.record.label, earlier.at
                ),
            )),
            None => {
                first.insert(normalize_text(&s.record.text), s);
            }
        }
    }
    let mut unknown_reported = BTreeSet::new();
    for s in &current {
        let label = &s.record.label;
        if !label_set.contains(label) && unknown_reported.insert(label.clone()) {
            problems.push(problem(
                &s.at,
                format!(
                    "label {label:?} is not in the model's label set ({}); fix the label, or retrain with `stance train` if it is new",
                    label_set.join(", ")
                ),
            ));
        }
    }
    if current.is_empty() {
        let at = files.first().map_or_else(
            || Location {
                path: PathBuf::from("(no files)"),
                line: 0,
            },
            |f| Location {
                path: f.path.clone(),
                line: 0,
            },
        );
        problems.push(problem(
            &at,
            "no labeled sentences: the label set is empty".into(),
        ));
    }
    problems.sort_by(|a, b| a.at.cmp(&b.at));
    problems
}

/// The current label of every sentence, by normalised text.
#[derive(Debug, Clone, Default)]
pub struct LabelIndex {
    by_text: HashMap<String, (String, Location)>,
}

impl LabelIndex {
    /// Indexes resolved records; a later record of the same sentence wins.
    pub fn new<'a>(records: impl IntoIterator<Item = &'a StoredRecord>) -> LabelIndex {
        let mut index = LabelIndex::default();
        for s in records {
            index.insert(&s.record.text, &s.record.label, s.at.clone());
        }
        index
    }

    /// Records `text` as labeled `label` at `at`.
    pub fn insert(&mut self, text: &str, label: &str, at: Location) {
        self.by_text
            .insert(normalize_text(text), (label.to_string(), at));
    }

    /// The current label of `text` and where it was given, if labeled.
    pub fn get(&self, text: &str) -> Option<(&str, &Location)> {
        self.by_text
            .get(&normalize_text(text))
            .map(|(l, at)| (l.as_str(), at))
    }

    /// Number of labeled sentences.
    pub fn len(&self) -> usize {
        self.by_text.len()
    }

    /// Whether nothing is labeled.
    pub fn is_empty(&self) -> bool {
        self.by_text.is_empty()
    }
}

/// A sentence to add, before validation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Candidate {
    /// The sentence.
    pub text: String,
    /// Its label.
    pub label: String,
    /// The article file name, when known.
    pub article: Option<String>,
    /// The sentence index in the article, when known.
    pub sentence: Option<usize>,
    /// Where the candidate came from, for messages (e.g. `input.csv:4`).
    pub origin: String,
    /// Extra fields to keep (e.g. a `note`).
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// Who is adding, and how strictly.
#[derive(Debug, Clone)]
pub struct AddPolicy {
    /// The labels allowed without `new_label`.
    pub known_labels: BTreeSet<String>,
    /// Allow labels outside `known_labels`.
    pub new_label: bool,
    /// Allow a different label for a sentence already labeled, recorded as a correction.
    pub relabel: bool,
    /// Add nothing unless every candidate is valid.
    pub strict: bool,
    /// The `source` to record.
    pub source: String,
    /// The annotator to record.
    pub annotator: String,
}

/// What happened to one candidate.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Written at this location.
    Added(Location),
    /// Written at this location as a correction of the earlier record.
    Relabeled {
        /// Where the correction was written.
        at: Location,
        /// The record it corrects.
        earlier: Location,
    },
    /// The same sentence with the same label is already stored there.
    AlreadyPresent(Location),
    /// Refused, with the reason.
    Rejected(String),
    /// Valid, but not written because another candidate was refused and the
    /// policy is strict.
    NotWritten,
}

impl Outcome {
    /// Whether the candidate was refused.
    pub fn is_rejected(&self) -> bool {
        matches!(self, Outcome::Rejected(_))
    }
}

fn check_candidate(
    candidate: &Candidate,
    index: &LabelIndex,
    policy: &AddPolicy,
) -> std::result::Result<Option<Location>, Outcome> {
    if candidate.text.trim().is_empty() {
        return Err(Outcome::Rejected(
            "empty sentence; give the sentence text".into(),
        ));
    }
    let label = candidate.label.as_str();
    if label.trim().is_empty() || label.trim() != label || label.contains(['\n', '\r']) {
        return Err(Outcome::Rejected(format!(
            "label {label:?} is empty or has surrounding spaces"
        )));
    }
    if !policy.new_label && !policy.known_labels.contains(label) {
        let known: Vec<&str> = policy.known_labels.iter().map(String::as_str).collect();
        return Err(Outcome::Rejected(format!(
            "unknown label {label:?}; known labels: {}; pass --new-label to add a new one",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        )));
    }
    match index.get(&candidate.text) {
        Some((existing, at)) if existing == label => Err(Outcome::AlreadyPresent(at.clone())),
        Some((existing, at)) if !policy.relabel => Err(Outcome::Rejected(format!(
            "already labeled {existing:?} at {at}; pass --relabel to change it to {label:?}"
        ))),
        Some((_, at)) => Ok(Some(at.clone())),
        None => Ok(None),
    }
}

/// Appends candidates to the labels file `target` under an exclusive lock.
///
/// `others` are the resolved records of the other labels files (checked for
/// duplicates and conflicts too); the target file itself is read after the
/// lock is taken, so concurrent writers see each other's records. Every
/// candidate is validated first; the valid ones are written with one write
/// and an `fsync` (none at all if the policy is strict and one is refused).
/// An incomplete last line left by an interrupted writer is cut off first,
/// with a warning through `warn`.
///
/// # Errors
/// [`Error::Io`] when the file cannot be opened, locked, read or written,
/// [`Error::LabelsLine`] when the file has a bad line other than an
/// incomplete last one (fix it first; nothing is written).
pub fn append(
    target: &Path,
    candidates: &[Candidate],
    others: &[StoredRecord],
    policy: &AddPolicy,
    warn: &mut dyn FnMut(String),
) -> Result<Vec<Outcome>> {
    let stamp = rfc3339_utc(SystemTime::now());
    with_locked_file(target, warn, |file, stored, next_line| {
        let mut combined: Vec<StoredRecord> = others.to_vec();
        combined.extend(stored.iter().cloned());
        let mut index = LabelIndex::new(&resolve(&combined));
        let mut outcomes = Vec::with_capacity(candidates.len());
        let mut lines = String::new();
        let mut line = next_line;
        for candidate in candidates {
            match check_candidate(candidate, &index, policy) {
                Err(outcome) => outcomes.push(outcome),
                Ok(earlier) => {
                    let at = Location {
                        path: target.to_path_buf(),
                        line,
                    };
                    let record = provenance_record(candidate, policy, &stamp, earlier.as_ref());
                    let json = serde_json::to_string(&record).map_err(|e| {
                        Error::io(target, "encode a record for", std::io::Error::other(e))
                    })?;
                    lines.push_str(&json);
                    lines.push('\n');
                    line += 1;
                    index.insert(&candidate.text, &candidate.label, at.clone());
                    outcomes.push(match earlier {
                        Some(earlier) => Outcome::Relabeled { at, earlier },
                        None => Outcome::Added(at),
                    });
                }
            }
        }
        if policy.strict && outcomes.iter().any(Outcome::is_rejected) {
            for o in &mut outcomes {
                if matches!(o, Outcome::Added(_) | Outcome::Relabeled { .. }) {
                    *o = Outcome::NotWritten;
                }
            }
            return Ok(outcomes);
        }
        write_lines(file, target, lines.as_bytes())?;
        Ok(outcomes)
    })
}

/// Appends a withdrawal of the record at `line` of `target` (under the lock).
/// Returns the location of the withdrawal record.
///
/// # Errors
/// As [`append`]; [`Error::Input`] when `line` holds no record or one
/// already withdrawn.
pub fn retract(
    target: &Path,
    line: usize,
    annotator: &str,
    warn: &mut dyn FnMut(String),
) -> Result<Location> {
    let stamp = rfc3339_utc(SystemTime::now());
    with_locked_file(target, warn, |file, stored, next_line| {
        let bad = |message: String| Error::Input {
            origin: format!("{}:{line}", target.display()),
            message,
        };
        let Some(original) = stored.iter().find(|s| s.at.line == line) else {
            return Err(bad("no record on this line to withdraw".into()));
        };
        if stored.iter().any(|s| s.retracts() == Some(line)) {
            return Err(bad("this record is already withdrawn".into()));
        }
        let mut record = original.record.clone();
        record.extra.retain(|k, _| k == "note");
        record.extra.remove(RELABELS);
        record
            .extra
            .insert(RETRACTS.into(), serde_json::Value::from(line));
        record
            .extra
            .insert("annotator".into(), serde_json::Value::from(annotator));
        record
            .extra
            .insert("timestamp".into(), serde_json::Value::from(stamp.clone()));
        record.extra.insert(
            "guide_version".into(),
            serde_json::Value::from(GUIDE_VERSION),
        );
        let mut json = serde_json::to_string(&record)
            .map_err(|e| Error::io(target, "encode a record for", std::io::Error::other(e)))?;
        json.push('\n');
        write_lines(file, target, json.as_bytes())?;
        Ok(Location {
            path: target.to_path_buf(),
            line: next_line,
        })
    })
}

fn provenance_record(
    candidate: &Candidate,
    policy: &AddPolicy,
    stamp: &str,
    earlier: Option<&Location>,
) -> LabeledSentence {
    let mut extra = candidate.extra.clone();
    extra.insert("annotator".into(), policy.annotator.clone().into());
    extra.insert("timestamp".into(), stamp.into());
    extra.insert("guide_version".into(), GUIDE_VERSION.into());
    if let Some(earlier) = earlier {
        extra.insert(RELABELS.into(), earlier.to_string().into());
    }
    LabeledSentence {
        text: candidate.text.clone(),
        label: candidate.label.clone(),
        article: candidate.article.clone(),
        sentence: candidate.sentence,
        source: Some(policy.source.clone()),
        extra,
    }
}

/// Opens `target` for appending (creating it and its folder), takes the
/// exclusive lock, reads and scans it, cuts off an incomplete last line,
/// and calls `body` with the file, its records and the next line number.
/// The lock is released when the file is closed on return.
fn with_locked_file<T>(
    target: &Path,
    warn: &mut dyn FnMut(String),
    body: impl FnOnce(&mut File, &[StoredRecord], usize) -> Result<T>,
) -> Result<T> {
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "create folder", e))?;
    }
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(target)
        .map_err(|e| Error::io(target, "open for appending", e))?;
    file.lock().map_err(|e| Error::io(target, "lock", e))?;
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_end(&mut bytes))
        .map_err(|e| Error::io(target, "read", e))?;
    let scanned = scan(target, &bytes);
    if let Some(bad) = scanned.bad.iter().find(|b| !b.torn) {
        return Err(Error::LabelsLine {
            path: bad.at.path.clone(),
            line: bad.at.line,
            message: format!("{}; fix or remove the line, then add again", bad.message),
        });
    }
    let mut lines_before = bytes.iter().filter(|&&b| b == b'\n').count();
    if !bytes.is_empty() && !bytes.ends_with(b"\n") {
        let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        if scanned.bad.iter().any(|b| b.torn) {
            warn(format!(
                "{}:{}: removing an incomplete last line ({} bytes) left by an interrupted write",
                target.display(),
                lines_before + 1,
                bytes.len() - keep
            ));
            file.set_len(keep as u64)
                .map_err(|e| Error::io(target, "cut an incomplete last line of", e))?;
        } else {
            // A complete record without its final newline (an edited file).
            write_lines(&mut file, target, b"\n")?;
            lines_before += 1;
        }
    }
    body(&mut file, &scanned.records, lines_before + 1)
}

fn write_lines(file: &mut File, target: &Path, bytes: &[u8]) -> Result<()> {
    if bytes.is_empty() {
        return Ok(());
    }
    file.write_all(bytes)
        .and_then(|_| file.sync_data())
        .map_err(|e| Error::io(target, "append to", e))
}

/// The user name to record as annotator: `$USER`, else `$LOGNAME`, else `unknown`.
pub fn default_annotator() -> String {
    ["USER", "LOGNAME"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .map(|v| v.trim().to_string())
        .find(|v| !v.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

/// Formats a time as RFC 3339 in UTC, to the second: `2026-11-26T11:10:25Z`.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// let t = UNIX_EPOCH + Duration::from_secs(951_782_400); // leap day 2000
/// assert_eq!(stance::store::rfc3339_utc(t), "2000-02-29T00:00:00Z");
/// ```
pub fn rfc3339_utc(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn policy() -> AddPolicy {
        AddPolicy {
            known_labels: ["neg", "pos"].iter().map(|s| s.to_string()).collect(),
            new_label: false,
            relabel: false,
            strict: false,
            source: SOURCE_CLI.into(),
            annotator: "tester".into(),
        }
    }

    fn cand(text: &str, label: &str) -> Candidate {
        Candidate {
            text: text.into(),
            label: label.into(),
            origin: "test".into(),
            ..Candidate::default()
        }
    }

    fn read(path: &Path) -> Vec<StoredRecord> {
        read_store_file(path, &mut |_| {}).unwrap().records
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339_utc(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        assert_eq!(rfc3339_utc(t), "2026-11-18T11:06:40Z");
        let t = UNIX_EPOCH + Duration::from_secs(4_107_542_399);
        assert_eq!(rfc3339_utc(t), "2100-02-28T23:59:59Z");
    }

    #[test]
    fn appends_carry_provenance_and_refuse_bad_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("added.jsonl");
        let outcomes = append(
            &path,
            &[
                cand("The talks went well.", "pos"),
                cand("  ", "pos"),
                cand("Another one.", "meh"),
                cand("the  talks went WELL.", "pos"),
            ],
            &[],
            &policy(),
            &mut |_| {},
        )
        .unwrap();
        assert!(matches!(&outcomes[0], Outcome::Added(at) if at.line == 1));
        assert!(matches!(&outcomes[1], Outcome::Rejected(m) if m.contains("empty")));
        assert!(
            matches!(&outcomes[2], Outcome::Rejected(m) if m.contains("known labels: neg, pos"))
        );
        assert!(matches!(&outcomes[3], Outcome::AlreadyPresent(at) if at.line == 1));
        let records = read(&path);
        assert_eq!(records.len(), 1);
        let r = &records[0].record;
        assert_eq!(r.source.as_deref(), Some("cli"));
        assert_eq!(r.extra["annotator"], "tester");
        assert_eq!(r.extra["guide_version"], GUIDE_VERSION);
        assert!(r.extra["timestamp"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn strict_writes_nothing_when_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        let strict = AddPolicy {
            strict: true,
            ..policy()
        };
        let outcomes = append(
            &path,
            &[cand("Fine.", "pos"), cand("Bad.", "nope")],
            &[],
            &strict,
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(outcomes[0], Outcome::NotWritten);
        assert!(read(&path).is_empty());
    }

    #[test]
    fn relabels_keep_history_and_the_latest_label_wins() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        let p = policy();
        append(&path, &[cand("It rained.", "pos")], &[], &p, &mut |_| {}).unwrap();
        let refused = append(&path, &[cand("It  rained.", "neg")], &[], &p, &mut |_| {}).unwrap();
        assert!(
            matches!(&refused[0], Outcome::Rejected(m) if m.contains("a.jsonl:1") && m.contains("--relabel"))
        );
        let relabel = AddPolicy {
            relabel: true,
            ..policy()
        };
        let done = append(
            &path,
            &[cand("it rained.", "neg")],
            &[],
            &relabel,
            &mut |_| {},
        )
        .unwrap();
        assert!(matches!(&done[0], Outcome::Relabeled { earlier, .. } if earlier.line == 1));
        let stored = read(&path);
        assert_eq!(stored.len(), 2);
        assert_eq!(
            stored[1].record.extra[RELABELS],
            format!("{}:1", path.display())
        );
        let resolved = resolve(&stored);
        assert_eq!(resolved.len(), 1);
        assert_eq!(resolved[0].record.label, "neg");
        // Withdrawing the correction brings the first label back.
        retract(&path, 2, "tester", &mut |_| {}).unwrap();
        let resolved = resolve(&read(&path));
        assert_eq!(resolved.len(), 1);
        assert_eq!(resolved[0].record.label, "pos");
        assert!(retract(&path, 2, "tester", &mut |_| {}).is_err());
        assert!(retract(&path, 9, "tester", &mut |_| {}).is_err());
    }

    #[test]
    fn a_correction_in_another_file_wins_over_the_seed() {
        let at = |path: &str, line| Location {
            path: path.into(),
            line,
        };
        let seed = StoredRecord {
            record: serde_json::from_str(r#"{"text":"X y.","label":"pos"}"#).unwrap(),
            at: at("seeds/labels.jsonl", 3),
        };
        let fix = StoredRecord {
            record: serde_json::from_str(
                r#"{"text":"x  Y.","label":"neg","relabels":"seeds/labels.jsonl:3","timestamp":"2026-01-01T00:00:00Z"}"#,
            )
            .unwrap(),
            at: at("seeds/added.jsonl", 1),
        };
        let other = StoredRecord {
            record: serde_json::from_str(r#"{"text":"Z.","label":"pos"}"#).unwrap(),
            at: at("seeds/labels.jsonl", 4),
        };
        // The correction is read first (file order) and still wins.
        let resolved = resolve(&[fix.clone(), seed, other]);
        let labels: Vec<&str> = resolved.iter().map(|s| s.record.label.as_str()).collect();
        assert_eq!(labels, ["neg", "pos"]);
        assert_eq!(resolved[0], fix);
    }

    #[test]
    fn a_torn_last_line_is_skipped_then_cut_off_by_the_next_append() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        std::fs::write(&path, "{\"text\":\"A.\",\"label\":\"pos\"}\n{\"text\":\"B").unwrap();
        let mut warnings = Vec::new();
        let scanned = read_store_file(&path, &mut |w| warnings.push(w)).unwrap();
        assert_eq!(scanned.records.len(), 1);
        assert!(
            warnings[0].contains("a.jsonl:2: incomplete last line"),
            "{warnings:?}"
        );
        warnings.clear();
        append(&path, &[cand("C.", "neg")], &[], &policy(), &mut |w| {
            warnings.push(w)
        })
        .unwrap();
        assert!(warnings[0].contains("removing an incomplete last line"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(text.ends_with("\n"));
        assert_eq!(read(&path)[1].at.line, 2);
    }

    #[test]
    fn check_finds_duplicates_conflicts_and_unknown_labels() {
        let text = concat!(
            "{\"text\":\"A b.\",\"label\":\"pos\"}\n",
            "{\"text\":\"a  B.\",\"label\":\"pos\"}\n",
            "{\"text\":\"C.\",\"label\":\"neg\"}\n",
            "{\"text\":\"c.\",\"label\":\"odd\"}\n",
            "{\"text\":\"C.\",\"label\":\"pos\",\"retracts\":9}\n",
        );
        let file = scan(Path::new("l.jsonl"), text.as_bytes());
        let labels = ["neg".to_string(), "pos".to_string()];
        let problems: Vec<String> = check_files(&[file], &labels)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems[0].starts_with("l.jsonl:2: duplicate of l.jsonl:1"));
        assert!(problems[1]
            .starts_with("l.jsonl:4: conflicting labels: \"odd\" here, \"neg\" at l.jsonl:3"));
        assert!(problems[2].starts_with("l.jsonl:4: label \"odd\" is not in"));
        assert!(problems[3].starts_with("l.jsonl:5: withdraws line 9"));
        let empty = check_files(&[scan(Path::new("e.jsonl"), b"")], &labels);
        assert_eq!(
            empty[0].to_string(),
            "e.jsonl: no labeled sentences: the label set is empty"
        );
    }

    #[test]
    fn a_complete_last_line_without_newline_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        std::fs::write(&path, "{\"text\":\"A.\",\"label\":\"pos\"}").unwrap();
        let out = append(&path, &[cand("C.", "neg")], &[], &policy(), &mut |_| {}).unwrap();
        assert!(matches!(&out[0], Outcome::Added(at) if at.line == 2));
        assert_eq!(read(&path).len(), 2);
    }

    #[test]
    fn a_bad_line_in_the_middle_stops_the_append() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        std::fs::write(&path, "not json\n{\"text\":\"A.\",\"label\":\"pos\"}\n").unwrap();
        let err = append(&path, &[cand("C.", "neg")], &[], &policy(), &mut |_| {}).unwrap_err();
        assert!(err.to_string().contains("a.jsonl:1: "), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 2);
    }

    proptest::proptest! {
        #[test]
        fn scanning_any_bytes_accounts_for_every_line(bytes in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::strategy::Just(b'\n'),
                proptest::strategy::Just(b'{'),
                proptest::strategy::Just(b'"'),
                proptest::num::u8::ANY,
            ],
            0..200,
        )) {
            let scanned = scan(Path::new("f"), &bytes);
            let lines = bytes
                .split(|&b| b == b'\n')
                .enumerate()
                .filter(|(_, l)| !l.is_empty() && !String::from_utf8_lossy(l).trim().is_empty())
                .count();
            proptest::prop_assert_eq!(scanned.records.len() + scanned.bad.len(), lines);
            // Only the last line can be torn, and only without a final newline.
            for bad in &scanned.bad {
                if bad.torn {
                    proptest::prop_assert!(!bytes.ends_with(b"\n"));
                }
            }
        }

        #[test]
        fn normalising_is_idempotent_and_ignores_spacing(s in "\\PC{0,40}") {
            let once = normalize_text(&s);
            proptest::prop_assert_eq!(normalize_text(&once), once.clone());
            proptest::prop_assert_eq!(normalize_text(&format!("  {s}\t")), once);
        }
    }
}
