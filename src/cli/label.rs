//! `stance label`: label sentences given as arguments or streamed on stdin.

use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use serde::Serialize;

use crate::model::{resolve_model, Contribution, ModelSource, PredictScratch, StanceModel};

/// Output formats of `stance label`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for people: label, probability, sentence.
    Text,
    /// Tab-separated: label, probability, sentence.
    Tsv,
    /// One JSON document with the model and every result.
    Json,
    /// One JSON object per sentence.
    Jsonl,
    /// CSV with a header row.
    Csv,
}

/// Label sentences (arguments, or one per line on stdin).
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  stance label \"We have never planned to join another state, including Russia.\"\n  stance label --explain \"The road maps deepen the union.\"\n  stance split --format text article.txt | stance label --format jsonl\n\nThe model: --model PATH, else $STANCE_MODEL, else models/stance.json in the\ncurrent folder when present, else the model built into the binary.\nThe labels are the model's (by default pro-integration, sovereignty-preserving,\nneutral); with --min-confidence P a result below P is reported as `uncertain`."
)]
pub struct Args {
    /// Sentences to label; none means read stdin, one sentence per line.
    #[arg(value_name = "SENTENCE")]
    pub sentences: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Also list the terms that pushed each decision (the N strongest).
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "5")]
    pub explain: Option<usize>,
    /// Report `uncertain` when the top probability is below P (0..1).
    #[arg(long, value_name = "P", value_parser = super::parse_probability, allow_negative_numbers = true)]
    pub min_confidence: Option<f64>,
    /// Model file to use instead of the default.
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,
}

/// The label reported below `--min-confidence`.
pub const UNCERTAIN: &str = "uncertain";

#[derive(Serialize)]
struct Result<'a> {
    text: &'a str,
    label: &'a str,
    probability: f64,
    probabilities: serde_json::Map<String, serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    explanation: Option<Vec<Contribution>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<&'a ModelSource>,
}

struct Labeler<'a> {
    model: &'a StanceModel,
    source: &'a ModelSource,
    args: &'a Args,
    scratch: PredictScratch,
    probabilities: Vec<f64>,
    json_rows: Vec<serde_json::Value>,
}

impl Labeler<'_> {
    fn label(&mut self, text: &str, out: &mut impl Write) -> anyhow::Result<()> {
        let (best, explanation) = match self.args.explain {
            Some(top) => {
                let (p, contributions) = self.model.explain(text, top);
                self.probabilities = p.probabilities;
                (p.label, Some(contributions))
            }
            None => (
                self.model
                    .predict_into(text, &mut self.scratch, &mut self.probabilities),
                None,
            ),
        };
        let probability = self.probabilities[best];
        let label = match self.args.min_confidence {
            Some(min) if probability < min => UNCERTAIN,
            _ => self.model.labels()[best].as_str(),
        };
        match self.args.format {
            Format::Text => {
                write!(out, "{label:<24} {probability:.3}  {text}")?;
                if let Some(ex) = &explanation {
                    let terms: Vec<String> = ex
                        .iter()
                        .map(|c| format!("{} {:+.2}", c.term, c.weight))
                        .collect();
                    write!(out, "\n{:<24}        because: {}", "", terms.join(", "))?;
                }
                writeln!(out)?;
            }
            Format::Tsv => {
                write!(out, "{label}\t{probability:.4}\t")?;
                write_tsv_field(out, text)?;
                if let Some(ex) = &explanation {
                    let terms: Vec<String> = ex
                        .iter()
                        .map(|c| format!("{}={:+.3}", c.term, c.weight))
                        .collect();
                    write!(out, "\t{}", terms.join(" "))?;
                }
                writeln!(out)?;
            }
            Format::Json | Format::Jsonl | Format::Csv => {
                let probabilities = self
                    .model
                    .labels()
                    .iter()
                    .zip(&self.probabilities)
                    .map(|(l, p)| (l.clone(), serde_json::json!(p)))
                    .collect();
                let row = Result {
                    text,
                    label,
                    probability,
                    probabilities,
                    explanation,
                    model: (self.args.format == Format::Jsonl).then_some(self.source),
                };
                match self.args.format {
                    Format::Jsonl => {
                        serde_json::to_writer(&mut *out, &row)?;
                        out.write_all(b"\n")?;
                    }
                    Format::Json => self.json_rows.push(serde_json::to_value(&row)?),
                    _ => {
                        let mut w = csv::WriterBuilder::new()
                            .has_headers(false)
                            .from_writer(Vec::new());
                        let mut record = vec![label.to_string(), format!("{probability:.4}")];
                        record.extend(self.probabilities.iter().map(|p| format!("{p:.4}")));
                        record.push(text.to_string());
                        record.push(self.source.hash.clone());
                        w.write_record(&record)?;
                        out.write_all(&w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?)?;
                    }
                }
            }
        }
        Ok(())
    }
}

fn write_tsv_field(out: &mut impl Write, text: &str) -> std::io::Result<()> {
    if text.contains(['\t', '\n', '\r']) {
        out.write_all(text.replace(['\t', '\n', '\r'], " ").as_bytes())
    } else {
        out.write_all(text.as_bytes())
    }
}

/// Runs `stance label`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (model, source) = resolve_model(args.model.as_deref())?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut labeler = Labeler {
        model: &model,
        source: &source,
        args: &args,
        scratch: PredictScratch::default(),
        probabilities: Vec::new(),
        json_rows: Vec::new(),
    };
    if args.format == Format::Csv {
        let mut header = vec!["label".to_string(), "probability".to_string()];
        header.extend(model.labels().iter().map(|l| format!("p_{l}")));
        header.push("text".into());
        header.push("model".into());
        writeln!(out, "{}", header.join(","))?;
    }
    if args.sentences.is_empty() {
        let stdin = std::io::stdin();
        let mut input = std::io::BufReader::with_capacity(1 << 16, stdin.lock());
        let mut line = Vec::new();
        let mut number = 0usize;
        loop {
            line.clear();
            let n = input
                .read_until(b'\n', &mut line)
                .context("reading sentences from stdin")?;
            if n == 0 {
                break;
            }
            number += 1;
            while matches!(line.last(), Some(b'\n' | b'\r')) {
                line.pop();
            }
            let text = match std::str::from_utf8(&line) {
                Ok(t) => std::borrow::Cow::Borrowed(t),
                Err(e) => {
                    super::warn(format!(
                        "<stdin>:{number}: invalid UTF-8 at byte {} of the line; bad bytes replaced with U+FFFD",
                        e.valid_up_to()
                    ));
                    String::from_utf8_lossy(&line)
                }
            };
            labeler.label(&text, &mut out)?;
        }
    } else {
        for s in &args.sentences {
            labeler.label(s, &mut out)?;
        }
    }
    if args.format == Format::Json {
        let doc = serde_json::json!({ "model": source, "results": labeler.json_rows });
        serde_json::to_writer_pretty(&mut out, &doc)?;
        writeln!(out)?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
