//! `stance teach`: label the sentences the model is least sure of.

use std::collections::HashSet;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde::Serialize;

use crate::eval::{cross_validate, Folds};
use crate::labels::find_labels_files;
use crate::model::{resolve_model, short_hash, StanceModel};
use crate::store::{
    append, default_annotator, load_resolved, normalize_text, retract, AddPolicy, Candidate,
    LabelIndex, Location, Outcome, DEFAULT_ADDED_FILE, SOURCE_TEACH,
};
use crate::Article;

/// Label the sentences the model is least sure of, one at a time.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Keys (type one and press Enter):\n  Enter or a   accept the model's guess\n  1..9         pick label N (as listed at the start)\n  s            skip this sentence\n  u            undo the last answer (a withdrawal record is appended) or skip\n  q            quit (then answer y to retrain and compare macro-F1)\n\nEvery answer is written to the labels file at once, so Ctrl-C loses nothing\nanswered. Answers can also be piped: printf 'a\\n2\\ns\\nq\\nn\\n' | stance teach a.txt\n\nExamples:\n  stance teach seeds/articles/*.txt\n  stance teach --batch 20 new.txt > todo.jsonl   # add \"label\" fields, then\n  stance add --from todo.jsonl"
)]
pub struct Args {
    /// Article files (plain text).
    #[arg(required = true, value_name = "ARTICLE")]
    pub articles: Vec<PathBuf>,
    /// Print the N most uncertain sentences as JSONL instead of asking.
    #[arg(long, value_name = "N")]
    pub batch: Option<usize>,
    /// The labels file answers are added to.
    #[arg(long = "labels", value_name = "PATH", default_value = DEFAULT_ADDED_FILE)]
    pub labels: PathBuf,
    /// Who is answering (default: $USER, else $LOGNAME, else `unknown`).
    #[arg(long, value_name = "NAME")]
    pub annotator: Option<String>,
    /// Model to ask (default as for `stance label`).
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,
    /// Where a retrain at the end writes the model.
    #[arg(long, value_name = "PATH", default_value = "models/stance.json")]
    pub out: PathBuf,
}

/// A sentence to ask about.
#[derive(Debug, Clone)]
struct Question {
    article: String,
    index: usize,
    text: String,
    before: Option<String>,
    after: Option<String>,
    guess: usize,
    probabilities: Vec<f64>,
    margin: f64,
}

#[derive(Serialize)]
struct BatchRow<'a> {
    text: &'a str,
    article: &'a str,
    sentence: usize,
    guess: &'a str,
    probability: f64,
    probabilities: serde_json::Map<String, serde_json::Value>,
}

/// Every labels file training uses: all under `seeds/`, plus `target`.
fn training_paths(target: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut paths = if Path::new("seeds").is_dir() {
        find_labels_files(Path::new("seeds"))?
    } else {
        Vec::new()
    };
    let target_id = std::fs::canonicalize(target).ok();
    let listed = paths.iter().any(|p| {
        p == target || (target_id.is_some() && std::fs::canonicalize(p).ok() == target_id)
    });
    if !listed && target.is_file() {
        paths.push(target.to_path_buf());
    }
    Ok(paths)
}

/// The unlabeled sentences of the articles, least certain first (smallest
/// margin between the two most probable labels).
fn questions(
    articles: &[Article],
    model: &StanceModel,
    labeled: &LabelIndex,
) -> (Vec<Question>, usize) {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut skipped = 0;
    for article in articles {
        let s = &article.sentences;
        for (i, sentence) in s.iter().enumerate() {
            if labeled.get(&sentence.text).is_some() {
                skipped += 1;
                continue;
            }
            if !seen.insert(normalize_text(&sentence.text)) {
                continue;
            }
            let p = model.predict(&sentence.text);
            let mut sorted = p.probabilities.clone();
            sorted.sort_by(|a, b| b.total_cmp(a));
            let margin = sorted[0] - sorted.get(1).copied().unwrap_or(0.0);
            out.push(Question {
                article: article.name.clone(),
                index: sentence.index,
                text: sentence.text.clone(),
                before: i.checked_sub(1).map(|j| s[j].text.clone()),
                after: s.get(i + 1).map(|n| n.text.clone()),
                guess: p.label,
                probabilities: p.probabilities,
                margin,
            });
        }
    }
    out.sort_by(|a, b| a.margin.total_cmp(&b.margin));
    (out, skipped)
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let cut: String = s.chars().take(max).collect();
        format!("{cut}…")
    }
}

/// Runs `stance teach`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (model, source) = resolve_model(args.model.as_deref())?;
    let mut articles = Vec::new();
    for path in &args.articles {
        articles.push(Article::read(path, &mut super::warn)?);
    }
    let paths = training_paths(&args.labels)?;
    let (stored, _) = load_resolved(&paths, false, &mut super::warn)?;
    let index = LabelIndex::new(&stored);
    let (queue, already) = questions(&articles, &model, &index);
    let labels = model.labels();

    if let Some(n) = args.batch {
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        for q in queue.iter().take(n) {
            let row = BatchRow {
                text: &q.text,
                article: &q.article,
                sentence: q.index,
                guess: &labels[q.guess],
                probability: q.probabilities[q.guess],
                probabilities: labels
                    .iter()
                    .zip(&q.probabilities)
                    .map(|(l, p)| (l.clone(), serde_json::json!(p)))
                    .collect(),
            };
            serde_json::to_writer(&mut out, &row)?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }

    let (other_records, known) = super::add::store_context(&args.labels, args.model.as_deref())?;
    let policy = AddPolicy {
        known_labels: known,
        new_label: false,
        relabel: false,
        strict: true,
        source: SOURCE_TEACH.into(),
        annotator: args.annotator.clone().unwrap_or_else(default_annotator),
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let keys: Vec<String> = labels
        .iter()
        .enumerate()
        .take(9)
        .map(|(i, l)| format!("{} {l}", i + 1))
        .collect();
    writeln!(
        out,
        "{} sentences to label from {} article{}, least certain first ({already} already labeled); model {} ({}); answers go to {}",
        queue.len(),
        articles.len(),
        if articles.len() == 1 { "" } else { "s" },
        source.origin,
        source.hash,
        args.labels.display()
    )?;
    writeln!(out, "labels: {}", keys.join("  "))?;
    writeln!(
        out,
        "keys: Enter/a accept the guess, 1-{} pick a label, s skip, u undo, q quit",
        keys.len()
    )?;

    // (question index, line written) of each step, for undo.
    let mut history: Vec<(usize, Option<usize>)> = Vec::new();
    let mut session_lines: Vec<usize> = Vec::new();
    let mut i = 0;
    let mut line = String::new();
    let mut quit = false;
    while i < queue.len() && !quit {
        let q = &queue[i];
        writeln!(out)?;
        writeln!(
            out,
            "[{}/{}] {}, sentence {}",
            i + 1,
            queue.len(),
            q.article,
            q.index
        )?;
        if let Some(b) = &q.before {
            writeln!(out, "    … {}", shorten(b, 110))?;
        }
        writeln!(out, "  > {}", q.text)?;
        if let Some(a) = &q.after {
            writeln!(out, "    … {}", shorten(a, 110))?;
        }
        let others: Vec<String> = labels
            .iter()
            .zip(&q.probabilities)
            .enumerate()
            .filter(|(j, _)| *j != q.guess)
            .map(|(_, (l, p))| format!("{l} {p:.2}"))
            .collect();
        writeln!(
            out,
            "guess: {} {:.2} ({})",
            labels[q.guess],
            q.probabilities[q.guess],
            others.join(", ")
        )?;
        write!(out, "answer [a/1-{}/s/u/q]: ", keys.len())?;
        out.flush()?;
        line.clear();
        if input.read_line(&mut line)? == 0 {
            writeln!(out)?;
            break;
        }
        let answer = line.trim();
        let chosen = match answer {
            "" | "a" => Some(q.guess),
            "s" => {
                history.push((i, None));
                i += 1;
                continue;
            }
            "q" => {
                quit = true;
                continue;
            }
            "u" => {
                match history.pop() {
                    None => writeln!(out, "nothing to undo")?,
                    Some((back, written)) => {
                        if let Some(l) = written {
                            let at = retract(&args.labels, l, &policy.annotator, &mut super::warn)?;
                            session_lines.retain(|&x| x != l);
                            writeln!(
                                out,
                                "withdrawn {}:{l} (withdrawal record at {at})",
                                args.labels.display()
                            )?;
                        } else {
                            writeln!(out, "back to the skipped sentence")?;
                        }
                        i = back;
                    }
                }
                continue;
            }
            other => match other.parse::<usize>() {
                Ok(n) if (1..=keys.len()).contains(&n) => Some(n - 1),
                _ => labels.iter().position(|l| l == other),
            },
        };
        let Some(label) = chosen else {
            writeln!(
                out,
                "unknown answer {answer:?}; keys: Enter/a accept, 1-{} label, s skip, u undo, q quit",
                keys.len()
            )?;
            continue;
        };
        let candidate = Candidate {
            text: q.text.clone(),
            label: labels[label].clone(),
            article: Some(q.article.clone()),
            sentence: Some(q.index),
            origin: format!("{}:{}", q.article, q.index),
            ..Candidate::default()
        };
        let outcome = append(
            &args.labels,
            &[candidate],
            &other_records,
            &policy,
            &mut super::warn,
        )?;
        match outcome.first() {
            Some(Outcome::Added(at)) => {
                writeln!(out, "saved {} at {at}", labels[label])?;
                let Location { line, .. } = at;
                history.push((i, Some(*line)));
                session_lines.push(*line);
            }
            Some(Outcome::AlreadyPresent(at)) => {
                writeln!(out, "already labeled the same at {at}")?;
                history.push((i, None));
            }
            Some(Outcome::Rejected(reason)) => {
                writeln!(out, "not saved: {reason}")?;
                history.push((i, None));
            }
            _ => history.push((i, None)),
        }
        i += 1;
    }
    writeln!(
        out,
        "{} answers saved to {}",
        session_lines.len(),
        args.labels.display()
    )?;
    if session_lines.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    write!(
        out,
        "retrain now and compare cross-validated macro-F1? [y/N]: "
    )?;
    out.flush()?;
    line.clear();
    input.read_line(&mut line)?;
    if !matches!(line.trim(), "y" | "Y" | "yes") {
        writeln!(
            out,
            "not retrained; run `stance train --compare` when ready"
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    drop(input);
    retrain(&args, &model, &session_lines, &mut out)?;
    Ok(ExitCode::SUCCESS)
}

/// Cross-validates with and without this session's answers, trains on all
/// labels and writes the model, keeping the previous one.
fn retrain(
    args: &Args,
    model: &StanceModel,
    session_lines: &[usize],
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let paths = training_paths(&args.labels)?;
    let (stored, files) = load_resolved(&paths, false, &mut super::warn)?;
    let target_id = std::fs::canonicalize(&args.labels).ok();
    let in_session = |at: &Location| {
        session_lines.contains(&at.line) && std::fs::canonicalize(&at.path).ok() == target_id
    };
    let after: Vec<_> = stored.iter().map(|s| s.record.clone()).collect();
    let before: Vec<_> = stored
        .iter()
        .filter(|s| !in_session(&s.at))
        .map(|s| s.record.clone())
        .collect();
    let options = model.options().clone();
    let f1 = |records: &[crate::labels::LabeledSentence]| {
        cross_validate(records, &options, Folds::LeaveOneArticleOut)
            .map(|cv| format!("{:.3} ({} held out)", cv.model.macro_f1, cv.model.n))
            .unwrap_or_else(|e| format!("not available ({e})"))
    };
    writeln!(out, "cross-validating (leave one article out)…")?;
    out.flush()?;
    let (f1_before, f1_after) = (f1(&before), f1(&after));
    writeln!(out, "macro-F1 without your answers: {f1_before}")?;
    writeln!(out, "macro-F1 with your answers:    {f1_after}")?;
    let provenance = crate::model::Provenance {
        labels_files: paths
            .iter()
            .zip(&files)
            .map(|(p, f)| crate::model::SourceFile {
                path: p.display().to_string(),
                blake3: f.hash.clone(),
                records: stored.iter().filter(|s| s.at.path == *p).count(),
            })
            .collect(),
        ..Default::default()
    };
    let new = StanceModel::train(&after, &options, provenance)?;
    crate::retrain::save_keeping_previous(&new, &args.out)?;
    writeln!(
        out,
        "wrote {} ({}); undo with `stance train --undo`",
        args.out.display(),
        short_hash(new.to_json().as_bytes())
    )?;
    Ok(())
}
