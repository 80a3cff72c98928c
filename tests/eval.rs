//! Integration tests of `stance eval` over the real binary, on small fixtures.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/eval")
        .join(name)
}

/// `stance` run inside a fresh temporary folder (no seeds/ or models/ there).
fn stance(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("stance").unwrap();
    cmd.current_dir(dir).env_remove("STANCE_MODEL");
    cmd
}

fn labels_args() -> Vec<String> {
    vec![
        "--labels".into(),
        fixture("labels.jsonl").display().to_string(),
        fixture("authored.jsonl").display().to_string(),
        "--min-df".into(),
        "1".into(),
    ]
}

fn json_of(out: &[u8]) -> Value {
    serde_json::from_slice(out).unwrap()
}

fn train_tiny_model(dir: &Path) -> PathBuf {
    let model = dir.join("m.json");
    stance(dir)
        .arg("train")
        .args(labels_args())
        .args(["--no-cv", "--out"])
        .arg(&model)
        .assert()
        .success();
    model
}

#[test]
fn json_report_has_the_documented_schema() {
    let dir = tempfile::tempdir().unwrap();
    let out = stance(dir.path())
        .arg("eval")
        .args(labels_args())
        .args(["--format", "json", "--resamples", "200"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v = json_of(&out);
    assert_eq!(v["schema"], "stance-eval/1");
    for key in [
        "accuracy",
        "macro_f1",
        "f_avg",
        "per_label",
        "confusion",
        "n",
        "majority",
        "intervals",
        "provenance",
        "per_fold",
        "without_authored",
    ] {
        assert!(v.get(key).is_some(), "missing {key} in {v}");
    }
    assert_eq!(v["n"], 21, "only the seed sentences are held out");
    for (label, m) in v["per_label"].as_object().unwrap() {
        for field in ["precision", "recall", "f1", "support"] {
            assert!(m[field].is_number(), "{label}.{field}");
        }
    }
    let support: u64 = v["per_label"]
        .as_object()
        .unwrap()
        .values()
        .map(|m| m["support"].as_u64().unwrap())
        .sum();
    assert_eq!(support, 21);
    for key in [
        "accuracy",
        "macro_f1",
        "f_avg",
        "per_label",
        "confusion",
        "n",
    ] {
        assert!(v["majority"].get(key).is_some(), "majority.{key}");
    }
    let i = &v["intervals"];
    assert!(i["accuracy"]["low"].as_f64().unwrap() <= v["accuracy"].as_f64().unwrap());
    assert!(i["macro_f1"]["high"].as_f64().unwrap() >= v["macro_f1"].as_f64().unwrap());
    assert_eq!(i["articles"], 3);
    assert_eq!(i["resamples"], 200);
    let p = &v["provenance"];
    assert_eq!(p["split"], "leave-one-article-out");
    assert_eq!(p["folds"], 3);
    assert_eq!(p["training_only"], 15);
    assert_eq!(p["labels_files"].as_array().unwrap().len(), 2);
    assert_eq!(p["labels_files"][0]["blake3"].as_str().unwrap().len(), 64);
    assert!(p["options"]["features"].is_object());
    assert_eq!(v["without_authored"]["n"], 21);
}

#[test]
fn eval_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let run = || {
        stance(dir.path())
            .arg("eval")
            .args(labels_args())
            .args(["--format", "json", "--resamples", "100"])
            .output()
            .unwrap()
            .stdout
    };
    assert_eq!(run(), run());
}

#[test]
fn text_report_shows_baseline_intervals_and_confusions() {
    let dir = tempfile::tempdir().unwrap();
    stance(dir.path())
        .arg("eval")
        .args(labels_args())
        .args(["--resamples", "100"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("majority baseline")
                .and(predicate::str::contains("misclassified as"))
                .and(predicate::str::contains("without authored"))
                .and(predicate::str::contains("95% CI")),
        );
}

#[test]
fn data_reports_labels_the_model_does_not_know() {
    let dir = tempfile::tempdir().unwrap();
    let model = train_tiny_model(dir.path());
    let out = stance(dir.path())
        .args(["eval", "--format", "json", "--resamples", "100", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(fixture("unknown.jsonl"))
        .assert()
        .success()
        .stderr(
            predicate::str::contains("\"weather\"").and(predicate::str::contains("unknown.jsonl")),
        )
        .get_output()
        .stdout
        .clone();
    let v = json_of(&out);
    assert_eq!(v["n"], 5, "unknown labels are kept, not dropped");
    assert_eq!(v["unknown_labels"]["weather"], 2);
    assert_eq!(v["unknown_labels"]["sports"], 1);
    assert_eq!(v["per_label"]["weather"]["recall"], 0.0);
    assert_eq!(v["provenance"]["split"], "held-out file");
    assert_eq!(v["provenance"]["model"]["hash"].as_str().unwrap().len(), 16);

    stance(dir.path())
        .args(["eval", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(fixture("unknown.jsonl"))
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "labels unknown to the model, counted as errors: sports (1), weather (2)",
        ));
}

#[test]
fn data_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    stance(dir.path())
        .args(["eval", "--data", "missing.jsonl"])
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with("stance: missing.jsonl"));
    std::fs::write(
        dir.path().join("bad.jsonl"),
        "{\"text\":\"x\",\"label\":\"a\"}\nnot json\n",
    )
    .unwrap();
    stance(dir.path())
        .args(["eval", "--data", "bad.jsonl"])
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with("stance: bad.jsonl:2:"));
}

#[test]
fn suite_reports_pass_rates_and_failures() {
    let dir = tempfile::tempdir().unwrap();
    let model = train_tiny_model(dir.path());
    let out = stance(dir.path())
        .args(["eval", "--format", "json", "--model"])
        .arg(&model)
        .arg("--suite")
        .arg(fixture("suite.jsonl"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v = json_of(&out);
    assert_eq!(v["overall"]["total"], 3);
    for t in ["mft", "inv", "dir"] {
        assert_eq!(v["by_test"][t]["total"], 1, "{t}");
    }
    let passed = v["overall"]["passed"].as_u64().unwrap();
    assert_eq!(v["failures"].as_array().unwrap().len() as u64, 3 - passed);

    std::fs::write(
        dir.path().join("s.jsonl"),
        "{\"test\":\"inv\",\"text\":\"x\"}\n",
    )
    .unwrap();
    stance(dir.path())
        .args(["eval", "--model"])
        .arg(&model)
        .args(["--suite", "s.jsonl"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::starts_with("stance: s.jsonl:1: ")
                .and(predicate::str::contains("variant")),
        );
}

#[test]
fn learning_curve_writes_a_chart() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("out/curve.svg");
    stance(dir.path())
        .arg("eval")
        .args(labels_args())
        .args([
            "--learning-curve",
            "--sizes",
            "12,1000",
            "--repeats",
            "2",
            "--svg",
        ])
        .arg(&svg)
        .assert()
        .success()
        .stdout(predicate::str::contains("majority baseline"));
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg") && text.trim_end().ends_with("</svg>"));
    assert_eq!(text.matches("<circle").count(), 2);
}

#[test]
fn fold_files_hold_out_whole_articles() {
    let dir = tempfile::tempdir().unwrap();
    stance(dir.path())
        .arg("eval")
        .args(labels_args())
        .args(["--write-folds", "folds"])
        .assert()
        .success()
        .stdout(predicate::str::contains("0\tart0.txt\t"));
    let test = std::fs::read_to_string(dir.path().join("folds/fold-1-test.jsonl")).unwrap();
    let train = std::fs::read_to_string(dir.path().join("folds/fold-1-train.jsonl")).unwrap();
    assert!(test.lines().all(|l| l.contains("\"article\":\"art1.txt\"")));
    assert!(!train.contains("\"article\":\"art1.txt\""));
    assert_eq!(
        train
            .lines()
            .filter(|l| l.contains("\"source\":\"authored\""))
            .count(),
        15
    );
}

#[test]
fn report_puts_provenance_first_and_writes_json() {
    let dir = tempfile::tempdir().unwrap();
    let model = train_tiny_model(dir.path());
    stance(dir.path())
        .arg("eval")
        .args(labels_args())
        .args(["--resamples", "100", "--repeats", "1", "--model"])
        .arg(&model)
        .arg("--suite")
        .arg(fixture("suite.jsonl"))
        .args(["--report", "out/report.md"])
        .assert()
        .success();
    let md = std::fs::read_to_string(dir.path().join("out/report.md")).unwrap();
    let provenance = md.find("## Provenance").unwrap();
    let headline = md.find("## Headline figures").unwrap();
    assert!(provenance < headline);
    for section in [
        "Nested selection",
        "What each option gives",
        "## scikit-learn on the same folds",
        "## Learning curve",
        "## Behavioural suite",
        "misclassified as",
    ] {
        assert!(md.contains(section), "missing {section}");
    }
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out/report.json")).unwrap())
            .unwrap();
    for key in [
        "provenance",
        "default",
        "without_authored",
        "nested",
        "compare",
        "suite",
    ] {
        assert!(v.get(key).is_some(), "report.json lacks {key}");
    }
    assert!(dir.path().join("out/learning-curve.svg").is_file());
}

/// The real seeds, with the default options: every seed sentence is held out
/// once and the model beats the majority baseline.
#[test]
fn default_eval_on_the_real_seeds() {
    let out = Command::cargo_bin("stance")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("STANCE_MODEL")
        .args(["eval", "--format", "json", "--resamples", "200"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v = json_of(&out);
    assert_eq!(v["n"], 108);
    assert_eq!(v["provenance"]["folds"], 5);
    let model = v["macro_f1"].as_f64().unwrap();
    let majority = v["majority"]["macro_f1"].as_f64().unwrap();
    assert!(model > majority + 0.1, "{model} vs {majority}");
    assert!(v["without_authored"]["macro_f1"].is_number());
    assert_eq!(v["provenance"]["options_match_model"], true);
}
