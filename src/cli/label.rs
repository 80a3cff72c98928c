//! `stance label`: label sentences given as arguments or streamed on stdin.

use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use serde::Serialize;

use crate::model::{resolve_model, Contribution, ModelSource, PredictScratch, StanceModel};
use crate::stream::{available_threads, process_lines, StreamOptions};

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
    /// Worker threads for stdin (default: all cores); output order never changes.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
    /// Stdin lines are JSON objects with a "text" field; with --format jsonl
    /// every input field (an "id", ...) is kept and the result fields added.
    #[arg(long, conflicts_with = "explain")]
    pub jsonl_in: bool,
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
    /// JSON of each label (`"neutral"`), of `uncertain`, and of the model source.
    label_json: Vec<Vec<u8>>,
    uncertain_json: Vec<u8>,
    source_json: Vec<u8>,
}

/// A `--jsonl-in` line: the text, and whether result fields are already there.
#[derive(serde::Deserialize)]
struct JsonIn<'a> {
    #[serde(borrow)]
    text: std::borrow::Cow<'a, str>,
    #[serde(default)]
    label: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    probability: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    probabilities: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    model: Option<serde::de::IgnoredAny>,
}

impl<'a> Labeler<'a> {
    fn new(model: &'a StanceModel, source: &'a ModelSource, args: &'a Args) -> Self {
        Labeler {
            model,
            source,
            args,
            scratch: PredictScratch::default(),
            probabilities: Vec::new(),
            json_rows: Vec::new(),
            label_json: model.labels().iter().map(json_bytes).collect(),
            uncertain_json: json_bytes(UNCERTAIN),
            source_json: json_bytes(source),
        }
    }

    /// Labels one stdin line into `out`; `Err` is a message for `<stdin>:LINE`.
    fn label_line(
        &mut self,
        line: &[u8],
        out: &mut Vec<u8>,
        warnings: &mut Vec<String>,
    ) -> std::result::Result<(), String> {
        let mut line = line;
        while let [rest @ .., b'\n' | b'\r'] = line {
            line = rest;
        }
        if self.args.jsonl_in {
            let record: JsonIn = serde_json::from_slice(line).map_err(|e| {
                format!("not a JSON object with a \"text\" string ({e}); with --jsonl-in every line must look like {{\"id\": 1, \"text\": \"...\"}}")
            })?;
            if self.args.format == Format::Jsonl {
                let clash = record.label.is_some()
                    || record.probability.is_some()
                    || record.probabilities.is_some()
                    || record.model.is_some();
                return self.label_jsonl_passthrough(line, &record.text, clash, out);
            }
            return self.label_text(&record.text, out);
        }
        let text = match std::str::from_utf8(line) {
            Ok(t) => std::borrow::Cow::Borrowed(t),
            Err(e) => {
                warnings.push(format!(
                    "invalid UTF-8 at byte {} of the line; bad bytes replaced with U+FFFD",
                    e.valid_up_to()
                ));
                String::from_utf8_lossy(line)
            }
        };
        self.label_text(&text, out)
    }

    /// Labels one sentence into `out`, by the fast writers where they apply.
    fn label_text(&mut self, text: &str, out: &mut Vec<u8>) -> std::result::Result<(), String> {
        if self.args.explain.is_some() || !matches!(self.args.format, Format::Tsv | Format::Jsonl) {
            return self.label(text, out).map_err(|e| e.to_string());
        }
        let (best, label) = self.predict(text);
        if self.args.format == Format::Tsv {
            out.extend_from_slice(label);
            out.push(b'\t');
            write_fixed4(out, self.probabilities[best]);
            out.push(b'\t');
            if memchr::memchr3(b'\t', b'\n', b'\r', text.as_bytes()).is_some() {
                out.extend_from_slice(text.replace(['\t', '\n', '\r'], " ").as_bytes());
            } else {
                out.extend_from_slice(text.as_bytes());
            }
            out.push(b'\n');
            return Ok(());
        }
        out.extend_from_slice(b"{\"text\":");
        write_json_str(out, text);
        out.push(b',');
        self.write_result_fields(best, out);
        out.extend_from_slice(b"}\n");
        Ok(())
    }

    /// The input object with the result fields added (replacing same-named ones).
    fn label_jsonl_passthrough(
        &mut self,
        line: &[u8],
        text: &str,
        clash: bool,
        out: &mut Vec<u8>,
    ) -> std::result::Result<(), String> {
        let (best, _) = self.predict(text);
        if clash {
            let mut object: serde_json::Map<String, serde_json::Value> =
                serde_json::from_slice(line).map_err(|e| e.to_string())?;
            let mut fields = Vec::from(&b"{"[..]);
            self.write_result_fields(best, &mut fields);
            fields.push(b'}');
            let added: serde_json::Map<String, serde_json::Value> =
                serde_json::from_slice(&fields).map_err(|e| e.to_string())?;
            object.extend(added);
            serde_json::to_writer(&mut *out, &object).map_err(|e| e.to_string())?;
            out.push(b'\n');
            return Ok(());
        }
        // The line parsed as an object with a "text" field, so it ends with `}`
        // (after optional whitespace) and has at least one field before it.
        let end = line.iter().rposition(|&b| b == b'}').unwrap_or(line.len());
        out.extend_from_slice(&line[..end]);
        out.push(b',');
        self.write_result_fields(best, out);
        out.extend_from_slice(b"}\n");
        Ok(())
    }

    /// Predicts into `self.probabilities`; returns the best label index and
    /// the JSON-free bytes of the label to report.
    fn predict(&mut self, text: &str) -> (usize, &'a [u8]) {
        let best = self
            .model
            .predict_into(text, &mut self.scratch, &mut self.probabilities);
        let label = match self.args.min_confidence {
            Some(min) if self.probabilities[best] < min => UNCERTAIN,
            _ => self.model.labels()[best].as_str(),
        };
        (best, label.as_bytes())
    }

    /// `"label":…,"probability":…,"probabilities":{…},"model":{…}` exactly as
    /// serde_json writes the [`Result`] row.
    fn write_result_fields(&self, best: usize, out: &mut Vec<u8>) {
        let probability = self.probabilities[best];
        out.extend_from_slice(b"\"label\":");
        match self.args.min_confidence {
            Some(min) if probability < min => out.extend_from_slice(&self.uncertain_json),
            _ => out.extend_from_slice(&self.label_json[best]),
        }
        out.extend_from_slice(b",\"probability\":");
        let start = out.len();
        write_json(out, &probability);
        let written = start..out.len();
        out.extend_from_slice(b",\"probabilities\":{");
        for (i, (name, p)) in self.label_json.iter().zip(&self.probabilities).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(name);
            out.push(b':');
            if i == best {
                // The same number as "probability": copy its digits.
                out.extend_from_within(written.clone());
            } else {
                write_json(out, p);
            }
        }
        out.extend_from_slice(b"},\"model\":");
        out.extend_from_slice(&self.source_json);
    }

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

/// Serialises `value` as JSON onto `out` (no allocation; cannot fail for
/// strings and finite numbers, the only things written here).
fn write_json<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    let _ = serde_json::to_writer(out, value);
}

/// Writes `text` as a JSON string, byte for byte as serde_json does: when
/// nothing in it needs escaping (a control character, `"` or `\\`), the
/// bytes are copied between quotes in one go.
fn write_json_str(out: &mut Vec<u8>, text: &str) {
    // No early exit, so that the check runs over many bytes at a time.
    let needs_escape = text.bytes().fold(false, |any, b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if needs_escape {
        write_json(out, text);
    } else {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    }
}

/// `value` as JSON bytes.
fn json_bytes<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_else(|_| b"null".to_vec())
}

/// Writes `p` with four decimals, exactly as `format!("{p:.4}")` does, without
/// the general float formatter: `p × 10⁴` is computed with an error below
/// 2⁻⁴⁰, so unless it lies within 10⁻⁹ of a rounding tie its rounding is the
/// correctly rounded decimal; near a tie the general formatter decides.
fn write_fixed4(out: &mut Vec<u8>, p: f64) {
    let scaled = p * 10_000.0;
    if !(0.0..=1.0).contains(&p) || ((scaled - scaled.floor()) - 0.5).abs() < 1e-9 {
        let _ = write!(out, "{p:.4}");
        return;
    }
    let q = scaled.round() as u32;
    let (whole, frac) = (q / 10_000, q % 10_000);
    out.push(b'0' + whole as u8);
    out.push(b'.');
    out.extend_from_slice(&[
        b'0' + (frac / 1000) as u8,
        b'0' + (frac / 100 % 10) as u8,
        b'0' + (frac / 10 % 10) as u8,
        b'0' + (frac % 10) as u8,
    ]);
}

/// Runs `stance label`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (model, source) = resolve_model(args.model.as_deref())?;
    // Tens of thousands of small allocations that the process exit releases
    // at once: freeing them one by one would cost more than labeling a
    // sentence.
    let model = std::mem::ManuallyDrop::new(model);
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut labeler = Labeler::new(&model, &source, &args);
    if args.format == Format::Csv {
        let mut header = vec!["label".to_string(), "probability".to_string()];
        header.extend(model.labels().iter().map(|l| format!("p_{l}")));
        header.push("text".into());
        header.push("model".into());
        writeln!(out, "{}", header.join(","))?;
    }
    if args.sentences.is_empty() && args.format != Format::Json {
        out.flush()?;
        drop(out);
        let options = StreamOptions {
            threads: args.threads.map_or_else(available_threads, usize::from),
            ..StreamOptions::default()
        };
        process_lines(
            std::io::stdin(),
            std::io::stdout(),
            &options,
            || Labeler::new(&model, &source, &args),
            |labeler, line, out, warnings| labeler.label_line(line, out, warnings),
            |line, message| super::warn(format!("<stdin>:{line}: {message}")),
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.sentences.is_empty() {
        // One JSON document: rows are collected, so this reads sequentially.
        let stdin = std::io::stdin();
        let mut input = std::io::BufReader::with_capacity(1 << 16, stdin.lock());
        let mut line = Vec::new();
        let mut unused = Vec::new();
        let mut warnings = Vec::new();
        let mut number = 0usize;
        loop {
            line.clear();
            let n = input
                .read_until(b'\n', &mut line)
                .context("<stdin>: reading sentences failed")?;
            if n == 0 {
                break;
            }
            number += 1;
            let result = labeler.label_line(&line, &mut unused, &mut warnings);
            for message in warnings.drain(..) {
                super::warn(format!("<stdin>:{number}: {message}"));
            }
            result.map_err(|message| anyhow::anyhow!("<stdin>:{number}: {message}"))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed4(p: f64) -> String {
        let mut out = Vec::new();
        write_fixed4(&mut out, p);
        String::from_utf8(out).unwrap()
    }

    fn json_str(text: &str) -> String {
        let mut out = Vec::new();
        write_json_str(&mut out, text);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn json_strings_are_written_as_serde_json_writes_them() {
        for text in [
            "",
            "Minsk keeps its own currency.",
            "He said \"no\".",
            "back\\slash",
            "tab\there",
            "bell\u{7}",
            "del\u{7f} and “quotes” and ’",
            "Беларусь і Расія",
        ] {
            assert_eq!(
                json_str(text),
                serde_json::to_string(text).unwrap(),
                "{text:?}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn any_json_string_is_written_as_serde_json_writes_it(text in "\\PC*|[\\x00-\\x7f]*") {
            proptest::prop_assert_eq!(json_str(&text), serde_json::to_string(&text).unwrap());
        }
    }

    #[test]
    fn fixed4_matches_the_formatter_on_ties_and_edges() {
        for p in [
            0.0,
            1.0,
            0.5,
            0.03125,
            0.00005,
            0.99995,
            0.12345,
            1.0 / 3.0,
            2e-300,
        ] {
            assert_eq!(fixed4(p), format!("{p:.4}"), "{p}");
        }
    }

    proptest::proptest! {
        #[test]
        fn fixed4_matches_the_formatter(p in 0.0f64..=1.0) {
            proptest::prop_assert_eq!(fixed4(p), format!("{p:.4}"));
        }

        #[test]
        fn fixed4_matches_near_ties(k in 0u32..10_000, ulps in -4i64..=4) {
            let tie = (f64::from(k) + 0.5) / 10_000.0;
            let p = f64::from_bits((tie.to_bits() as i64 + ulps) as u64);
            proptest::prop_assert_eq!(fixed4(p), format!("{p:.4}"));
        }
    }
}
