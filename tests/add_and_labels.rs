//! `stance add` and `stance labels` over the real binary.

mod common;

use predicates::prelude::*;

#[test]
fn add_records_provenance_and_refuses_bad_labels() {
    let dir = common::small_project();
    common::stance(dir.path())
        .args(["add", "--label", "neutral", "--annotator", "ana"])
        .args(["--article", "article.txt", "--sentence", "3"])
        .arg("The regional council will vote on the plan in March.")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "added seeds/added.jsonl:1: neutral",
        ));
    let records = common::json_lines(&dir.path().join("seeds/added.jsonl"));
    let r = &records[0];
    assert_eq!(r["annotator"], "ana");
    assert_eq!(r["article"], "article.txt");
    assert_eq!(r["sentence"], 3);
    assert_eq!(r["source"], "cli");
    assert_eq!(r["guide_version"], stance::store::GUIDE_VERSION);
    assert!(r["timestamp"].as_str().unwrap().ends_with('Z'));

    common::stance(dir.path())
        .args(["add", "--label", "maybe", "Some sentence."])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "unknown label \"maybe\"; known labels: neutral, pro-integration, sovereignty-preserving",
        ));
    common::stance(dir.path())
        .args(["add", "--label", "neutral", "   "])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("empty sentence"));
    // The default user name is the annotator.
    common::stance(dir.path())
        .args([
            "add",
            "--label",
            "maybe",
            "--new-label",
            "A sentence of a new kind.",
        ])
        .assert()
        .success();
    let records = common::json_lines(&dir.path().join("seeds/added.jsonl"));
    assert_eq!(records.len(), 2);
    assert_eq!(records[1]["annotator"], "tester");
    assert!(records[1].get("article").is_none());
}

#[test]
fn duplicates_and_conflicts_name_the_earlier_record() {
    let dir = common::small_project();
    // A seed sentence, with other spacing, case and curly quotes.
    common::stance(dir.path())
        .args(["add", "--label", "neutral"])
        .arg("the delegation  arrived at the airport shortly after noon.")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "already present seeds/labels.jsonl:3",
        ));
    common::stance(dir.path())
        .args(["add", "--label", "pro-integration"])
        .arg("The delegation arrived at the airport shortly after noon.")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "already labeled \"neutral\" at seeds/labels.jsonl:3; pass --relabel",
        ));
    assert!(
        !dir.path().join("seeds/added.jsonl").exists()
            || common::json_lines(&dir.path().join("seeds/added.jsonl")).is_empty()
    );
    common::stance(dir.path())
        .args(["add", "--relabel", "--label", "pro-integration"])
        .arg("The delegation arrived at the airport shortly after noon.")
        .assert()
        .success()
        .stdout(predicate::str::contains("was seeds/labels.jsonl:3"));
    let added = common::json_lines(&dir.path().join("seeds/added.jsonl"));
    assert_eq!(added[0]["relabels"], "seeds/labels.jsonl:3");
    // The seed record is kept; the export shows the latest label only.
    let seeds = std::fs::read_to_string(dir.path().join("seeds/labels.jsonl")).unwrap();
    assert_eq!(seeds.lines().count(), 24);
    let export = common::stance(dir.path())
        .args(["labels", "--export", "csv"])
        .output()
        .unwrap();
    let export = String::from_utf8(export.stdout).unwrap();
    assert!(export.starts_with("text,label,article,sentence,source,annotator,timestamp,file\n"));
    assert_eq!(export.lines().count(), 25);
    let row = export
        .lines()
        .find(|l| l.contains("delegation arrived"))
        .unwrap();
    assert!(row.contains(",pro-integration,,,cli,tester,"), "{row}");
    assert!(row.ends_with("seeds/added.jsonl"), "{row}");
    // Training sees the corrected label once, not both records.
    common::stance(dir.path())
        .args(["train", "--no-cv", "--out", "m.json"])
        .assert()
        .success()
        .stdout(predicate::str::contains("trained on 24 sentences"))
        .stdout(predicate::str::is_match(r"neutral\s+5\n").unwrap())
        .stdout(predicate::str::is_match(r"pro-integration\s+10\n").unwrap());
}

#[test]
fn bulk_import_reports_bad_lines_and_strict_adds_nothing() {
    let dir = common::small_project();
    let csv = "text,label\n\"Trade rules, both sides said, would be shared.\",pro-integration\n,neutral\nWho knows,unsure\n";
    std::fs::write(dir.path().join("in.csv"), csv).unwrap();
    common::stance(dir.path())
        .args(["add", "--strict", "--from", "in.csv"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("in.csv:3: empty sentence"))
        .stderr(predicate::str::contains(
            "in.csv:4: unknown label \"unsure\"",
        ))
        .stderr(predicate::str::contains("1 valid but not added (--strict"));
    assert!(
        !dir.path().join("seeds/added.jsonl").exists()
            || common::json_lines(&dir.path().join("seeds/added.jsonl")).is_empty()
    );
    common::stance(dir.path())
        .args(["add", "--from", "-"])
        .write_stdin(csv)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("<stdin>:4: unknown label"))
        .stderr(predicate::str::contains(
            "1 added, 0 already present, 2 refused",
        ));
    let added = common::json_lines(&dir.path().join("seeds/added.jsonl"));
    assert_eq!(added.len(), 1);
    assert_eq!(
        added[0]["text"],
        "Trade rules, both sides said, would be shared."
    );
}

#[test]
fn teach_batch_output_round_trips_through_add_from() {
    let dir = common::small_project();
    let count = |dir: &std::path::Path| {
        let all = common::stance(dir)
            .args(["teach", "--batch", "100", "article.txt"])
            .output()
            .unwrap();
        String::from_utf8(all.stdout).unwrap().lines().count()
    };
    let before = count(dir.path());
    let out = common::stance(dir.path())
        .args(["teach", "--batch", "3", "article.txt"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let rows: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 3);
    let margin = |r: &serde_json::Value| {
        let mut p: Vec<f64> = r["probabilities"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_f64().unwrap())
            .collect();
        p.sort_by(|a, b| b.total_cmp(a));
        p[0] - p[1]
    };
    assert!(margin(&rows[0]) <= margin(&rows[1]) && margin(&rows[1]) <= margin(&rows[2]));
    // Label them elsewhere: accept the guesses.
    let labeled: String = rows
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r["label"] = r["guess"].clone();
            format!("{r}\n")
        })
        .collect();
    std::fs::write(dir.path().join("done.jsonl"), labeled).unwrap();
    common::stance(dir.path())
        .args(["add", "--from", "done.jsonl"])
        .assert()
        .success();
    let added = common::json_lines(&dir.path().join("seeds/added.jsonl"));
    assert_eq!(added.len(), 3);
    assert_eq!(added[0]["article"], "article.txt");
    assert_eq!(added[0]["sentence"], rows[0]["sentence"]);
    assert!(added[0].get("guess").is_none());
    // Labeled sentences are no longer offered.
    assert_eq!(count(dir.path()), before - 3);
}

#[test]
fn labels_counts_and_check_finds_every_problem() {
    let dir = common::small_project();
    common::stance(dir.path())
        .arg("labels")
        .assert()
        .success()
        .stdout(predicate::str::contains("24 labeled sentences in 1 files"))
        .stdout(predicate::str::is_match(r"total\s+┆ 6\s+┆ 9\s+┆ 9\s+┆ 24").unwrap());
    common::stance(dir.path())
        .args(["labels", "--check"])
        .assert()
        .success()
        .stdout(predicate::str::contains("no problems"));
    let bad = concat!(
        "{\"text\":\"Reporters waited outside the hall for several hours.\",\"label\":\"neutral\"}\n",
        "not json\n",
        "{\"text\":\"The minister gave a short statement to the press.\",\"label\":\"pro-integration\"}\n",
        "{\"text\":\"A label nobody knows.\",\"label\":\"sideways\"}\n",
        "{\"text\":\"Cut off in the mid",
    );
    std::fs::write(dir.path().join("seeds/more.jsonl"), bad).unwrap();
    common::stance(dir.path())
        .args(["labels", "--check"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "seeds/more.jsonl:1: duplicate of seeds/labels.jsonl:6",
        ))
        .stdout(predicate::str::contains("seeds/more.jsonl:2: not a labeled sentence"))
        .stdout(predicate::str::contains(
            "seeds/more.jsonl:3: conflicting labels: \"pro-integration\" here, \"neutral\" at seeds/labels.jsonl:14",
        ))
        .stdout(predicate::str::contains(
            "seeds/more.jsonl:4: label \"sideways\" is not in the model's label set",
        ))
        .stdout(predicate::str::contains("seeds/more.jsonl:5: incomplete last line"))
        .stderr(predicate::str::contains("5 problems in 2 files"));
    std::fs::write(dir.path().join("empty.jsonl"), "").unwrap();
    common::stance(dir.path())
        .args(["labels", "--check", "--labels", "empty.jsonl"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("label set is empty"));
}
