//! `stance teach` driven with scripted answers, and the retraining loop as a
//! new user meets it.

mod common;

use predicates::prelude::*;

#[test]
fn a_scripted_teach_session_saves_undoes_and_retrains() {
    let dir = common::small_project();
    // accept, pick label 2, undo it, pick label 3 instead, skip, quit, retrain.
    let out = common::stance(dir.path())
        .args(["teach", "article.txt"])
        .write_stdin("a\n2\nu\n3\ns\nq\ny\n")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "labels: 1 neutral  2 pro-integration  3 sovereignty-preserving",
        ))
        .stdout(predicate::str::contains("withdrawn seeds/added.jsonl:2"))
        .stdout(predicate::str::contains(
            "2 answers saved to seeds/added.jsonl",
        ))
        .stdout(predicate::str::contains("macro-F1 without your answers: "))
        .stdout(predicate::str::contains("macro-F1 with your answers:    "))
        .stdout(predicate::str::contains("wrote models/stance.json"))
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("[1/7] article.txt"), "{out}");
    let lines = common::json_lines(&dir.path().join("seeds/added.jsonl"));
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[1]["label"], "pro-integration");
    assert_eq!(lines[2]["retracts"], 2);
    assert_eq!(lines[3]["text"], lines[1]["text"]);
    assert_eq!(lines[3]["label"], "sovereignty-preserving");
    for l in &lines {
        assert_eq!(l["source"], "teach");
        assert_eq!(l["article"], "article.txt");
        assert_eq!(l["annotator"], "tester");
    }
    // Training sees two answers: the accepted guess and the corrected one.
    common::stance(dir.path())
        .args(["labels", "--labels", "seeds/added.jsonl"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "2 labeled sentences in 1 files (4 records with history)",
        ));
    assert!(dir.path().join("models/stance.json").is_file());
}

#[test]
fn answers_are_kept_when_the_session_ends_abruptly() {
    let dir = common::small_project();
    common::stance(dir.path())
        .args(["teach", "article.txt"])
        .write_stdin("1\n")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "saved neutral at seeds/added.jsonl:1",
        ))
        .stdout(predicate::str::contains("not retrained"));
    assert_eq!(
        common::json_lines(&dir.path().join("seeds/added.jsonl")).len(),
        1
    );
    assert!(!dir.path().join("models").exists());
}

#[test]
fn a_new_user_corrects_a_wrong_label_by_adding_it_and_retraining() {
    let dir = common::small_project();
    let sentence = "Customs officers will keep checking every truck at the border crossing.";
    let label_of = |dir: &std::path::Path| {
        let out = common::stance(dir)
            .args(["label", "--format", "tsv", sentence])
            .output()
            .unwrap();
        assert!(out.status.success());
        let out = String::from_utf8(out.stdout).unwrap();
        out.split('\t').next().unwrap().to_string()
    };
    let wrong = label_of(dir.path());
    assert_ne!(wrong, "sovereignty-preserving");
    common::stance(dir.path())
        .args(["add", "--label", "sovereignty-preserving", sentence])
        .assert()
        .success();
    common::stance(dir.path())
        .args(["train", "--compare"])
        .assert()
        .success()
        .stdout(predicate::str::contains("old model: "))
        .stdout(predicate::str::contains("new model: 25 labeled sentences"))
        .stdout(
            predicate::str::is_match(format!(
                r"fixed +{wrong} [0-9.]+ -> sovereignty-preserving [0-9.]+  {sentence}"
            ))
            .unwrap(),
        );
    assert_eq!(label_of(dir.path()), "sovereignty-preserving");
    // Retraining on the same labels changes nothing; the old model is
    // cross-validated on the labels it was trained on.
    common::stance(dir.path())
        .args(["train", "--compare", "--no-cv", "--articles", "article.txt"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "old model: 25 labeled sentences; leave-one-article-out on its own training labels",
        ))
        .stdout(predicate::str::contains("0 of 7 sentences change label"));
    // The labels files are intact and the new record carries its provenance.
    common::stance(dir.path())
        .args(["labels", "--check", "--model", "models/stance.json"])
        .assert()
        .success();
    let added = common::json_lines(&dir.path().join("seeds/added.jsonl"));
    assert_eq!(added.len(), 1);
    assert_eq!(added[0]["source"], "cli");
    assert_eq!(added[0]["annotator"], "tester");
    assert_eq!(added[0]["guide_version"], stance::store::GUIDE_VERSION);
    let seeds = std::fs::read(dir.path().join("seeds/labels.jsonl")).unwrap();
    let original = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/small_seeds/labels.jsonl"),
    )
    .unwrap();
    assert_eq!(seeds, original);
}

#[test]
fn train_undo_puts_the_previous_model_back() {
    let dir = common::small_project();
    common::stance(dir.path())
        .args(["train", "--undo"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no previous model to restore"));
    common::stance(dir.path())
        .args(["train", "--no-cv"])
        .assert()
        .success();
    let first = std::fs::read(dir.path().join("models/stance.json")).unwrap();
    common::stance(dir.path())
        .args(["add", "--label", "pro-integration"])
        .arg("Both parliaments approved a common plan for their rail networks.")
        .assert()
        .success();
    common::stance(dir.path())
        .args(["train", "--no-cv"])
        .assert()
        .success();
    let second = std::fs::read(dir.path().join("models/stance.json")).unwrap();
    assert_ne!(first, second);
    common::stance(dir.path())
        .args(["train", "--undo"])
        .assert()
        .success()
        .stdout(predicate::str::contains("restored models/stance.json"));
    assert_eq!(
        std::fs::read(dir.path().join("models/stance.json")).unwrap(),
        first
    );
    assert_eq!(
        std::fs::read(dir.path().join("models/stance.prev.json")).unwrap(),
        second
    );
}
