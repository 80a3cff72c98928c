//! `stance summarize` over the real binary: golden JSON and CSV on the seed
//! articles with a small checked-in model, inputs, errors and formats.
//!
//! Golden files are rewritten only with `UPDATE_GOLDEN=1 cargo test --test summarize_cli`.

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;

const MODEL: &str = "tests/fixtures/model-small.json";

fn stance() -> Command {
    let mut cmd = Command::cargo_bin("stance").unwrap();
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd.env_remove("STANCE_MODEL");
    cmd
}

fn check_golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "{} is missing; create it with UPDATE_GOLDEN=1",
            path.display()
        )
    });
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .map_or(expected.lines().count().min(actual.lines().count()), |i| i);
        panic!(
            "{name} differs from the golden file at line {}:\n  golden: {:?}\n  actual: {:?}\nIf the change is intended, rerun with UPDATE_GOLDEN=1.",
            line + 1,
            expected.lines().nth(line),
            actual.lines().nth(line)
        );
    }
}

fn seeds_output(format: &str) -> String {
    let out = stance()
        .args([
            "summarize",
            "--model",
            MODEL,
            "--format",
            format,
            "seeds/articles/",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).unwrap()
}

#[test]
fn json_on_the_seeds_matches_the_golden_file() {
    let json = seeds_output("json");
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["schema"], "stance-summary/1");
    assert_eq!(doc["articles"].as_array().unwrap().len(), 5);
    check_golden("summarize_seeds.json", &json);
}

#[test]
fn csv_on_the_seeds_matches_the_golden_file() {
    let csv = seeds_output("csv");
    assert_eq!(csv.lines().count(), 6);
    check_golden("summarize_seeds.csv", &csv);
}

#[test]
fn json_counts_agree_with_the_sentences() {
    let doc: serde_json::Value = serde_json::from_str(&seeds_output("json")).unwrap();
    for a in doc["articles"].as_array().unwrap() {
        let sentences = a["sentences"].as_array().unwrap();
        assert_eq!(a["overall"]["sentences"], sentences.len());
        for l in a["overall"]["labels"].as_array().unwrap() {
            let n = sentences
                .iter()
                .filter(|s| s["label"] == l["label"])
                .count();
            assert_eq!(l["count"], n);
        }
        let quotes = sentences.iter().filter(|s| s["quote"] == true).count();
        assert_eq!(a["quotes"], quotes);
        assert_eq!(a["outlet"]["sentences"], sentences.len() - quotes);
    }
}

#[test]
fn default_table_has_speaker_lines_and_totals() {
    stance()
        .args(["summarize", "--model", MODEL, "seeds/articles"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("↳ Alexander Lukashenko")
                .and(predicate::str::contains("outlet's own voice"))
                .and(predicate::str::contains("ALL (5 articles)")),
        );
}

#[test]
fn a_bad_file_is_reported_and_the_rest_still_summarised() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.txt");
    std::fs::write(
        &good,
        "Ferry talks\n\nThe two cities agreed to share one ferry line across the bay.",
    )
    .unwrap();
    let missing = dir.path().join("missing.txt");
    let binary = dir.path().join("image.txt");
    std::fs::write(&binary, b"\x89PNG\x00\x00data").unwrap();
    stance()
        .args(["summarize", "--model", MODEL, "--format", "csv"])
        .arg(&missing)
        .arg(&good)
        .arg(&binary)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("good.txt"))
        .stderr(
            predicate::str::contains("missing.txt")
                .and(predicate::str::contains(
                    "image.txt: looks like a binary file",
                ))
                .and(predicate::str::contains("panicked").not()),
        );
}

#[test]
fn header_metadata_is_not_text_and_groups_compare_outlets() {
    let dir = tempfile::tempdir().unwrap();
    let articles = [
        (
            "a.txt",
            "North Post",
            "2020-03-01",
            "Our borders and our army stay under our own command, the mayor said.",
        ),
        (
            "b.txt",
            "North Post",
            "2021-05-02",
            "The agreement deepens integration between the two neighbours.",
        ),
        (
            "c.txt",
            "South Herald",
            "2021-07-09",
            "The harbour reopened after the storm on Thursday morning.",
        ),
    ];
    for (name, outlet, date, body) in articles {
        std::fs::write(
            dir.path().join(name),
            format!("outlet: {outlet}\ndate: {date}\nurl: https://news.example/{name}\n---\nHarbour news from the coast today\n\n{body}\n"),
        )
        .unwrap();
    }
    let out = stance()
        .args([
            "summarize",
            "--model",
            MODEL,
            "--format",
            "json",
            "--group-by",
            "outlet",
        ])
        .arg(dir.path())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let groups: Vec<&str> = doc["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["key"].as_str().unwrap())
        .collect();
    assert_eq!(groups, ["North Post", "South Herald"]);
    assert_eq!(doc["groups"][0]["articles"], 2);
    for a in doc["articles"].as_array().unwrap() {
        assert_eq!(a["title"], "Harbour news from the coast today");
        for s in a["sentences"].as_array().unwrap() {
            let text = s["text"].as_str().unwrap();
            assert!(!text.contains("outlet:") && !text.contains("---"), "{text}");
        }
    }
    assert_eq!(doc["articles"][2]["metadata"]["date"], "2021-07-09");
    stance()
        .args(["summarize", "--model", MODEL, "--group-by", "year"])
        .arg(dir.path())
        .assert()
        .success()
        .stdout(predicate::str::contains("group 2021 (2 articles)"));
}

#[test]
fn html_from_stdin_is_extracted_without_scripts_or_navigation() {
    let page = "<!doctype html><html><head><title>Paper</title><script>var hidden = 1;</script></head><body>\
        <nav>Home World Sport Weather and more links</nav><article><h1>Ferry deal signed by the two coastal cities</h1>\
        <p>The two cities agreed to share one ferry line across the bay.</p>\
        <p>Officials said the service starts in spring next year.</p></article>\
        <footer>Copyright notice for the whole site here</footer></body></html>";
    let out = stance()
        .args(["summarize", "--model", MODEL, "--format", "json", "-"])
        .write_stdin(page)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let a = &doc["articles"][0];
    assert_eq!(a["origin"], "<stdin>");
    assert_eq!(a["title"], "Ferry deal signed by the two coastal cities");
    let texts: Vec<&str> = a["sentences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        [
            "Ferry deal signed by the two coastal cities",
            "The two cities agreed to share one ferry line across the bay.",
            "Officials said the service starts in spring next year."
        ]
    );
}

#[test]
fn html_report_is_self_contained_and_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let article = dir.path().join("x.txt");
    std::fs::write(
        &article,
        "Tags <b> & \"quotes\"\n\nThe mayor wrote <script>alert('x')</script> & more on the ferry line.",
    )
    .unwrap();
    let report = dir.path().join("report.html");
    stance()
        .args(["summarize", "--model", MODEL, "--format", "html", "--out"])
        .arg(&report)
        .arg(&article)
        .assert()
        .success()
        .stdout("");
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(!html.contains("<script"), "unescaped script tag");
    assert!(
        html.contains("&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;")
            || html.contains("&lt;script&gt;")
    );
    assert!(!html.contains("src=") && !html.contains("href=") && !html.contains("@import"));
    assert!(html.contains("class=\"legend\"") && html.contains("title=\""));
}

#[test]
fn a_model_without_the_axis_labels_still_summarises() {
    stance()
        .args([
            "summarize",
            "--model",
            MODEL,
            "--axis",
            "yes,no",
            "--format",
            "csv",
            "seeds/articles/003_41c4a8139c1cba15.txt",
        ])
        .assert()
        .success()
        .stderr(predicate::str::contains("--axis"));
    stance()
        .args(["summarize", "--axis", "same,same", "seeds/articles"])
        .assert()
        .code(2);
}

#[test]
fn nothing_readable_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    stance()
        .args(["summarize", "--model", MODEL])
        .arg(dir.path().join("nope.txt"))
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("nope.txt")
                .and(predicate::str::contains("no article could be summarised")),
        );
}

#[test]
fn long_runs_are_silent_on_stderr_when_it_is_not_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..25 {
        std::fs::write(
            dir.path().join(format!("a{i:02}.txt")),
            "The two cities agreed to share one ferry line across the bay.",
        )
        .unwrap();
    }
    stance()
        .args(["summarize", "--model", MODEL, "--format", "csv"])
        .arg(dir.path())
        .assert()
        .success()
        .stderr("")
        .stdout(predicate::str::contains("a24.txt"));
}

#[test]
fn stdin_can_be_given_once() {
    stance()
        .args(["summarize", "--model", MODEL, "-", "-"])
        .write_stdin("The two cities agreed to share one ferry line across the bay.")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("only once"));
}
