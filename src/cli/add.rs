//! `stance add`: add labeled sentences to a labels file, one by one or in bulk.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use crate::labels::find_labels_files;
use crate::model::resolve_model;
use crate::store::{
    append, default_annotator, load_resolved, AddPolicy, Candidate, Outcome, StoredRecord,
    DEFAULT_ADDED_FILE, SOURCE_CLI,
};

/// Add labeled sentences to a labels file.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  stance add --label sovereignty-preserving \"Minsk will decide on its own currency.\"\n  stance add --from corrections.csv            # CSV with a text,label header\n  stance teach --batch 20 a.txt > todo.jsonl   # fill in \"label\", then:\n  stance add --from todo.jsonl --strict\n\nKnown labels are those in the labels files under seeds/ and the model's.\nExit codes: 0 every record added or already present; 1 some record refused\n(each reported as FILE:LINE: reason) or a file could not be read or written."
)]
pub struct Args {
    /// Sentences to add, all with --label.
    #[arg(value_name = "SENTENCE", conflicts_with = "from", requires = "label")]
    pub sentences: Vec<String>,
    /// The label of the sentences given as arguments.
    #[arg(long, value_name = "LABEL")]
    pub label: Option<String>,
    /// Import records from a JSONL file (`text`, `label`, optional `article`,
    /// `sentence`, `note`) or a CSV file with a `text,label` header; `-` for stdin.
    #[arg(long, value_name = "FILE", required_unless_present = "sentences")]
    pub from: Option<PathBuf>,
    /// The labels file to add to.
    #[arg(long = "labels", value_name = "PATH", default_value = DEFAULT_ADDED_FILE)]
    pub labels: PathBuf,
    /// Who labeled the sentences (default: $USER, else $LOGNAME, else `unknown`).
    #[arg(long, value_name = "NAME")]
    pub annotator: Option<String>,
    /// The article the sentences come from (file name).
    #[arg(long, value_name = "NAME", conflicts_with = "from")]
    pub article: Option<String>,
    /// The sentence's index in --article.
    #[arg(long, value_name = "N", requires = "article", conflicts_with = "from")]
    pub sentence: Option<usize>,
    /// Allow a label that no labels file or the model has yet.
    #[arg(long)]
    pub new_label: bool,
    /// Allow a new label for a sentence already labeled; the change is recorded
    /// as a correction and the earlier record is kept.
    #[arg(long)]
    pub relabel: bool,
    /// Add nothing unless every record is valid.
    #[arg(long)]
    pub strict: bool,
    /// Model whose labels count as known (default as for `stance label`).
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,
}

/// The records of every labels file except `target`, resolved, and the known
/// labels (theirs, the target's and the model's).
pub(crate) fn store_context(
    target: &Path,
    model: Option<&Path>,
) -> anyhow::Result<(Vec<StoredRecord>, BTreeSet<String>)> {
    let target_id = std::fs::canonicalize(target).ok();
    let mut paths = Vec::new();
    if Path::new("seeds").is_dir() {
        for p in find_labels_files(Path::new("seeds"))? {
            let same = match (&target_id, std::fs::canonicalize(&p).ok()) {
                (Some(a), Some(b)) => *a == b,
                _ => p == target,
            };
            if !same {
                paths.push(p);
            }
        }
    }
    let (others, _) = load_resolved(&paths, false, &mut super::warn)?;
    let mut known: BTreeSet<String> = others.iter().map(|s| s.record.label.clone()).collect();
    if target.is_file() {
        let (own, _) = load_resolved(&[target.to_path_buf()], false, &mut |_| {})?;
        known.extend(own.into_iter().map(|s| s.record.label));
    }
    let (model, _) = resolve_model(model)?;
    known.extend(model.labels().iter().cloned());
    Ok((others, known))
}

/// Candidates read, and the records that could not be read (where, why).
type Parsed = (Vec<Candidate>, Vec<(String, String)>);

/// Reads candidates from a JSONL or CSV file (`-` for stdin). Lines that
/// cannot be read are returned as refusals, with their origin.
fn read_candidates(path: &Path) -> anyhow::Result<Parsed> {
    let (origin, bytes) = if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("reading records from stdin")?;
        ("<stdin>".to_string(), bytes)
    } else {
        let bytes = std::fs::read(path).map_err(|e| crate::Error::io(path, "read", e))?;
        (path.display().to_string(), bytes)
    };
    let text = String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{origin}: invalid UTF-8 at byte {}; save the file as UTF-8",
            e.utf8_error().valid_up_to()
        )
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    if text.trim_start().starts_with('{') {
        Ok(read_jsonl(&origin, text))
    } else {
        read_csv(&origin, text)
    }
}

fn read_jsonl(origin: &str, text: &str) -> Parsed {
    let mut candidates = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = format!("{origin}:{}", i + 1);
        let value: serde_json::Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                bad.push((at, format!("not a JSON object ({e})")));
                continue;
            }
        };
        let field = |name: &str| value.get(name).and_then(|v| v.as_str()).map(str::to_string);
        let (Some(text), Some(label)) = (field("text"), field("label")) else {
            bad.push((
                at,
                "needs string fields \"text\" and \"label\"; fill in the label".into(),
            ));
            continue;
        };
        let sentence = match value.get("sentence") {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => match v.as_u64().and_then(|n| usize::try_from(n).ok()) {
                Some(n) => Some(n),
                None => {
                    bad.push((
                        at,
                        format!("\"sentence\" must be a sentence index, got {v}"),
                    ));
                    continue;
                }
            },
        };
        let mut extra = std::collections::BTreeMap::new();
        if let Some(note) = value.get("note") {
            extra.insert("note".to_string(), note.clone());
        }
        candidates.push(Candidate {
            text,
            label,
            article: field("article"),
            sentence,
            origin: at,
            extra,
        });
    }
    (candidates, bad)
}

fn read_csv(origin: &str, text: &str) -> anyhow::Result<Parsed> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .with_context(|| format!("{origin}:1: cannot read the CSV header"))?
        .clone();
    let column = |name: &str| headers.iter().position(|h| h.trim() == name);
    let (Some(text_col), Some(label_col)) = (column("text"), column("label")) else {
        anyhow::bail!(
            "{origin}:1: the CSV header must name the columns \"text\" and \"label\" (found: {}); or give JSONL records",
            headers.iter().collect::<Vec<_>>().join(",")
        );
    };
    let (article_col, sentence_col, note_col) =
        (column("article"), column("sentence"), column("note"));
    let mut candidates = Vec::new();
    let mut bad = Vec::new();
    for row in reader.records() {
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                bad.push((format!("{origin}:{line}"), format!("bad CSV row ({e})")));
                continue;
            }
        };
        let line = row.position().map_or(0, |p| p.line());
        let at = format!("{origin}:{line}");
        let get = |c: Option<usize>| {
            c.and_then(|c| row.get(c))
                .map(str::to_string)
                .filter(|s| !s.trim().is_empty())
        };
        let sentence = match get(sentence_col) {
            None => None,
            Some(s) => match s.trim().parse::<usize>() {
                Ok(n) => Some(n),
                Err(_) => {
                    bad.push((
                        at,
                        format!("\"sentence\" must be a sentence index, got {s:?}"),
                    ));
                    continue;
                }
            },
        };
        let mut extra = std::collections::BTreeMap::new();
        if let Some(note) = get(note_col) {
            extra.insert("note".to_string(), note.into());
        }
        candidates.push(Candidate {
            text: get(Some(text_col)).unwrap_or_default(),
            label: get(Some(label_col)).unwrap_or_default().trim().to_string(),
            article: get(article_col),
            sentence,
            origin: at,
            extra,
        });
    }
    Ok((candidates, bad))
}

/// Runs `stance add`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (candidates, unreadable) = match &args.from {
        Some(path) => read_candidates(path)?,
        None => {
            let label = args.label.clone().unwrap_or_default();
            let candidates = args
                .sentences
                .iter()
                .enumerate()
                .map(|(i, s)| Candidate {
                    text: s.clone(),
                    label: label.clone(),
                    article: args.article.clone(),
                    sentence: args.sentence,
                    origin: format!("argument {}", i + 1),
                    ..Candidate::default()
                })
                .collect();
            (candidates, Vec::new())
        }
    };
    let (others, known_labels) = store_context(&args.labels, args.model.as_deref())?;
    let policy = AddPolicy {
        known_labels,
        new_label: args.new_label,
        relabel: args.relabel,
        strict: args.strict,
        source: SOURCE_CLI.into(),
        annotator: args.annotator.clone().unwrap_or_else(default_annotator),
    };
    for (at, message) in &unreadable {
        eprintln!("stance: {at}: {message}");
    }
    let outcomes = if args.strict && !unreadable.is_empty() {
        vec![Outcome::NotWritten; candidates.len()]
    } else {
        append(
            &args.labels,
            &candidates,
            &others,
            &policy,
            &mut super::warn,
        )?
    };
    let (mut added, mut present, mut refused, mut held) = (0, 0, unreadable.len(), 0);
    for (candidate, outcome) in candidates.iter().zip(&outcomes) {
        match outcome {
            Outcome::Added(at) => {
                added += 1;
                println!("added {at}: {} | {}", candidate.label, candidate.text);
            }
            Outcome::Relabeled { at, earlier } => {
                added += 1;
                println!(
                    "relabeled {at} (was {earlier}): {} | {}",
                    candidate.label, candidate.text
                );
            }
            Outcome::AlreadyPresent(at) => {
                present += 1;
                println!(
                    "already present {at}: {} | {}",
                    candidate.label, candidate.text
                );
            }
            Outcome::Rejected(reason) => {
                refused += 1;
                eprintln!("stance: {}: {reason}", candidate.origin);
            }
            Outcome::NotWritten => held += 1,
        }
    }
    if args.from.is_some() || refused > 0 {
        let mut summary = format!("{added} added, {present} already present, {refused} refused");
        if held > 0 {
            summary.push_str(&format!(
                ", {held} valid but not added (--strict: fix the refused records and run again)"
            ));
        }
        eprintln!("{}: {summary}", args.labels.display());
    }
    Ok(if refused > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
