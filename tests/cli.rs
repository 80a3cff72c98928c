//! Integration tests over the built `stance` binary.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

fn stance() -> Command {
    Command::cargo_bin("stance").unwrap()
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures").join(name)
}

/// Compares `actual` with the golden file, or rewrites it when UPDATE_GOLDEN=1.
fn assert_golden(path: &Path, actual: &str) {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_else(|_| {
        panic!(
            "missing golden file {}; run with UPDATE_GOLDEN=1",
            path.display()
        )
    });
    assert_eq!(actual, expected, "output differs from {}", path.display());
}

#[test]
fn split_output_of_every_seed_article_matches_its_golden_file() {
    let articles = repo().join("seeds/articles");
    let mut names: Vec<_> = std::fs::read_dir(&articles)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    assert_eq!(names.len(), 5);
    for path in names {
        let out = stance()
            .args(["split", "--format", "jsonl"])
            .arg(&path)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        let golden = repo().join(format!("tests/golden/split/{stem}.jsonl"));
        assert_golden(&golden, &String::from_utf8(out).unwrap());
    }
}

/// `(article, index, text)` of every JSON line, the index read from `index_key`.
fn article_index_text(jsonl: &str, index_key: &str) -> Vec<(String, u64, String)> {
    jsonl
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["article"].as_str().unwrap().to_string(),
                v[index_key].as_u64().unwrap(),
                v["text"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn every_cleaned_seed_sentence_has_a_hand_label() {
    let labels = std::fs::read_to_string(repo().join("seeds/labels.jsonl")).unwrap();
    let labeled = article_index_text(&labels, "sentence");
    let mut articles: Vec<PathBuf> = std::fs::read_dir(repo().join("seeds/articles"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    articles.sort();
    let out = stance()
        .current_dir(repo())
        .args(["split", "--format", "jsonl"])
        .args(&articles)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let split = article_index_text(&String::from_utf8(out).unwrap(), "index");
    assert_eq!(
        split, labeled,
        "seeds/labels.jsonl must cover every cleaned seed sentence, in order"
    );
}

#[test]
fn split_drops_boilerplate_and_joins_wrapped_lines() {
    stance()
        .args(["split", "-"])
        .write_stdin(
            "Accessibility links\n\nSupport SomeOutlet\n\nThe delegation arrived in Minsk on Monday and met the prime\nminister for talks that lasted until the evening. It was\ncold. The two sides signed nothing at all, officials from both\ncountries said after the long meeting in the capital city.\nhttps://example.com/a\n\nLeave a Reply\nA comment.\n",
        )
        .assert()
        .success()
        .stdout(
            "The delegation arrived in Minsk on Monday and met the prime minister for talks that lasted until the evening.\nIt was cold.\nThe two sides signed nothing at all, officials from both countries said after the long meeting in the capital city.\n",
        );
}

#[test]
fn the_embedded_model_labels_the_readme_example_as_sovereignty_preserving() {
    let empty = tempfile::tempdir().unwrap();
    stance()
        .current_dir(empty.path())
        .env_remove("STANCE_MODEL")
        .args([
            "label",
            "--format",
            "tsv",
            "We have never planned to join another state, including Russia.",
        ])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("sovereignty-preserving\t"));
}

#[test]
fn machine_readable_output_names_the_model() {
    let empty = tempfile::tempdir().unwrap();
    let out = stance()
        .current_dir(empty.path())
        .env_remove("STANCE_MODEL")
        .args(["label", "--format", "json", "The union grows stronger."])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["model"]["origin"], "embedded");
    assert_eq!(v["model"]["hash"].as_str().unwrap().len(), 16);
    let probabilities = v["results"][0]["probabilities"].as_object().unwrap();
    let sum: f64 = probabilities.values().map(|p| p.as_f64().unwrap()).sum();
    assert!((sum - 1.0).abs() < 1e-9);
}

#[test]
fn stdin_gives_one_result_per_line_in_order() {
    let out = stance()
        .args(["label", "--format", "jsonl"])
        .write_stdin("first line\n\nthird line\r\nfourth")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let texts: Vec<String> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["text"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(texts, ["first line", "", "third line", "fourth"]);
}

#[test]
fn min_confidence_reports_uncertain_and_is_range_checked() {
    stance()
        .args([
            "label",
            "--format",
            "tsv",
            "--min-confidence",
            "1",
            "anything at all",
        ])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("uncertain\t"));
    stance()
        .args(["label", "--min-confidence", "1.5", "x"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("outside 0..1"));
}

#[test]
fn explain_lists_signed_term_contributions() {
    stance()
        .args([
            "label",
            "--explain",
            "3",
            "--format",
            "tsv",
            "Minsk will never give up its sovereignty.",
        ])
        .assert()
        .success()
        .stdout(
            predicate::str::is_match(r"\t[^\t]+=[+-]\d\.\d{3}( [^\t]+=[+-]\d\.\d{3}){0,2}\n$")
                .unwrap(),
        );
}

#[test]
fn a_missing_model_file_is_named_in_a_one_line_error() {
    stance()
        .args(["label", "--model", "no/such/model.json", "x"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("no/such/model.json")
                .and(predicate::str::contains("panicked").not()),
        );
}

#[test]
fn the_model_lookup_prefers_flag_then_environment_then_local_file() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.json");
    stance()
        .args(["train", "--no-cv", "--labels"])
        .arg(fixture("labels-small.jsonl"))
        .arg("--out")
        .arg(&model)
        .assert()
        .success();
    let origin = |cmd: &mut Command| -> String {
        let out = cmd
            .args(["label", "--format", "json", "x"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        v["model"]["origin"].as_str().unwrap().to_string()
    };
    assert_eq!(
        origin(stance().current_dir(dir.path()).env_remove("STANCE_MODEL")),
        "embedded"
    );
    assert_eq!(
        origin(stance().current_dir(dir.path()).env("STANCE_MODEL", &model)),
        model.display().to_string()
    );
    std::fs::create_dir(dir.path().join("models")).unwrap();
    std::fs::copy(&model, dir.path().join("models/stance.json")).unwrap();
    assert_eq!(
        origin(stance().current_dir(dir.path()).env_remove("STANCE_MODEL")),
        "models/stance.json"
    );
}

#[test]
fn training_twice_gives_byte_identical_model_files() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["a.json", "b.json"] {
        stance()
            .args(["train", "--labels"])
            .arg(fixture("labels-small.jsonl"))
            .arg("--out")
            .arg(dir.path().join(name))
            .assert()
            .success()
            .stdout(predicate::str::contains("leave-one-article-out (3 folds"));
    }
    let a = std::fs::read(dir.path().join("a.json")).unwrap();
    let b = std::fs::read(dir.path().join("b.json")).unwrap();
    assert!(a == b, "two trainings on the same labels differ");
    stance()
        .args(["train", "--check", "--labels"])
        .arg(fixture("labels-small.jsonl"))
        .arg("--out")
        .arg(dir.path().join("a.json"))
        .assert()
        .success()
        .stdout(predicate::str::contains("up to date"));
    stance()
        .args(["train", "--check", "--alpha", "2", "--labels"])
        .arg(fixture("labels-small.jsonl"))
        .arg("--out")
        .arg(dir.path().join("a.json"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("out of date"));
}

#[test]
fn retraining_keeps_the_previous_model() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.json");
    let train = |alpha: &str| {
        stance()
            .args(["train", "--no-cv", "--alpha", alpha, "--labels"])
            .arg(fixture("labels-small.jsonl"))
            .arg("--out")
            .arg(&out)
            .assert()
            .success();
    };
    train("1");
    let first = std::fs::read(&out).unwrap();
    train("2");
    assert_eq!(
        std::fs::read(dir.path().join("m.prev.json")).unwrap(),
        first
    );
    assert_ne!(std::fs::read(&out).unwrap(), first);
}

#[test]
fn a_closed_stdout_ends_quietly() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command as StdCommand, Stdio};
    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("stance"))
        .args(["label", "--format", "tsv"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        for _ in 0..200_000 {
            if stdin
                .write_all(b"The union of the two states grows.\n")
                .is_err()
            {
                break;
            }
        }
    });
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is dropped here: stdout is closed, like `| head -1`.
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(first.contains('\t'));
    assert!(output.status.success(), "exit status {:?}", output.status);
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

#[test]
fn every_command_has_help_with_an_example() {
    for cmd in [
        "split",
        "label",
        "train",
        "eval",
        "summarize",
        "add",
        "labels",
        "teach",
    ] {
        stance()
            .args([cmd, "--help"])
            .assert()
            .success()
            .stdout(predicate::str::contains("Example"));
    }
}

#[test]
fn unknown_format_is_a_usage_error() {
    stance()
        .args(["label", "--format", "yaml", "x"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid value 'yaml'"));
}
