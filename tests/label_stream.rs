//! `stance label` on stdin: ordered parallel output, the fast TSV/JSONL
//! writers against the general ones, `--jsonl-in` pass-through and errors.

use assert_cmd::Command;
use predicates::prelude::*;

const SENTENCES: &[&str] = &[
    "Officials in Minsk said the shared currency plan is off the table.",
    "The two governments signed a further package of union programmes.",
    "A delegation visited the trade fair on Tuesday.",
    "Belarus will never hand its border guards to a foreign command, but trade goes on.",
    "Analysts don’t expect the “road maps” to change much this year.",
    "Ministers discussed gas prices (again) and 2025 budgets.",
];

fn stance(dir: &tempfile::TempDir) -> Command {
    let mut cmd = Command::cargo_bin("stance").unwrap();
    cmd.current_dir(dir.path()).env_remove("STANCE_MODEL");
    cmd
}

fn corpus(lines: usize) -> String {
    (0..lines)
        .map(|i| format!("{} ({i})\n", SENTENCES[i % SENTENCES.len()]))
        .collect()
}

fn run(dir: &tempfile::TempDir, args: &[&str], stdin: &str) -> Vec<u8> {
    let out = stance(dir).args(args).write_stdin(stdin).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn output_is_identical_for_every_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let input = corpus(20_000);
    for format in ["tsv", "jsonl"] {
        let one = run(
            &dir,
            &["label", "--format", format, "--threads", "1"],
            &input,
        );
        assert_eq!(one.iter().filter(|&&b| b == b'\n').count(), 20_000);
        for threads in ["2", "3"] {
            let many = run(
                &dir,
                &["label", "--format", format, "--threads", threads],
                &input,
            );
            assert!(one == many, "{format} with {threads} threads differs");
        }
    }
}

#[test]
fn streamed_lines_match_the_general_writers() {
    // Sentences given as arguments go through the serde-based writer; stdin
    // lines through the fast one. Both must write the same bytes.
    let dir = tempfile::tempdir().unwrap();
    for format in ["tsv", "jsonl", "text", "csv"] {
        let mut args = vec!["label", "--format", format];
        args.extend(SENTENCES);
        let from_args = run(&dir, &args, "");
        let lines: String = SENTENCES.iter().map(|s| format!("{s}\n")).collect();
        let from_stdin = run(&dir, &["label", "--format", format], &lines);
        assert_eq!(
            String::from_utf8(from_args).unwrap(),
            String::from_utf8(from_stdin).unwrap(),
            "{format}"
        );
    }
}

#[test]
fn min_confidence_reports_uncertain_in_both_writers() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        &dir,
        &["label", "--format", "jsonl", "--min-confidence", "1"],
        "The talks ended.\n",
    );
    let row: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(row["label"], "uncertain");
    let tsv = run(
        &dir,
        &["label", "--format", "tsv", "--min-confidence", "1"],
        "The talks ended.\n",
    );
    assert!(String::from_utf8(tsv).unwrap().starts_with("uncertain\t"));
}

#[test]
fn jsonl_in_keeps_every_field_and_adds_the_result() {
    let dir = tempfile::tempdir().unwrap();
    let input =
        "{\"id\": 7, \"text\": \"Minsk keeps its own currency.\", \"meta\": {\"page\": 3}}\n\
                 {\"text\": \"The union deepens.\", \"id\": \"b\", \"label\": \"gold\"}\n";
    let out = run(
        &dir,
        &["label", "--jsonl-in", "--format", "jsonl", "--threads", "2"],
        input,
    );
    let rows: Vec<serde_json::Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["id"], 7);
    assert_eq!(rows[0]["meta"]["page"], 3);
    assert_eq!(rows[0]["text"], "Minsk keeps its own currency.");
    assert_eq!(rows[1]["id"], "b");
    for row in &rows {
        let label = row["label"].as_str().unwrap();
        assert_ne!(label, "gold", "the result replaces a same-named field");
        let p = row["probability"].as_f64().unwrap();
        assert_eq!(row["probabilities"][label].as_f64().unwrap(), p);
        assert!(row["model"]["hash"].is_string());
    }
    // The same sentence gives the same result with or without --jsonl-in.
    let plain = run(
        &dir,
        &["label", "--format", "tsv"],
        "Minsk keeps its own currency.\n",
    );
    let wrapped = run(
        &dir,
        &["label", "--format", "tsv", "--jsonl-in"],
        "{\"text\": \"Minsk keeps its own currency.\"}\n",
    );
    assert_eq!(plain, wrapped);
}

#[test]
fn a_bad_jsonl_line_is_an_error_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let input = "{\"id\": 1, \"text\": \"Fine.\"}\n{\"id\": 2, \"txt\": \"typo\"}\n{\"id\": 3, \"text\": \"Never seen.\"}\n";
    for threads in ["1", "2"] {
        stance(&dir)
            .args([
                "label",
                "--jsonl-in",
                "--format",
                "jsonl",
                "--threads",
                threads,
            ])
            .write_stdin(input)
            .assert()
            .code(1)
            .stdout(predicate::str::contains("\"id\": 1").or(predicate::str::contains("\"id\":1")))
            .stdout(predicate::str::contains("Never seen").not())
            .stderr(predicate::str::starts_with("stance: <stdin>:2: "))
            .stderr(predicate::str::contains("\"text\""));
    }
}

#[test]
fn invalid_utf8_is_a_warning_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut input = b"Good line.\n".to_vec();
    input.extend_from_slice(b"bad \xff byte\n");
    stance(&dir)
        .args(["label", "--format", "tsv", "--threads", "2"])
        .write_stdin(input)
        .assert()
        .success()
        .stderr(predicate::str::contains("<stdin>:2: invalid UTF-8"));
}

#[test]
fn zero_threads_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    stance(&dir)
        .args(["label", "--threads", "0"])
        .write_stdin("x\n")
        .assert()
        .code(2);
}
