//! The label store under concurrent writers and writers killed mid-way.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use stance::eval::SplitMix64;

fn add_command(dir: &Path) -> Command {
    let mut cmd = Command::new(common::bin());
    cmd.current_dir(dir)
        .env_remove("STANCE_MODEL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

#[test]
fn fifty_concurrent_adds_leave_exactly_fifty_records() {
    let dir = tempfile::tempdir().unwrap();
    let children: Vec<_> = (0..50)
        .map(|i| {
            add_command(dir.path())
                .args(["add", "--labels", "added.jsonl", "--label", "neutral"])
                .arg(format!("Writer number {i} adds this plain sentence."))
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let records = common::json_lines(&dir.path().join("added.jsonl"));
    assert_eq!(records.len(), 50);
    let mut texts: Vec<String> = records
        .iter()
        .map(|r| r["text"].as_str().unwrap().to_string())
        .collect();
    texts.sort();
    texts.dedup();
    assert_eq!(texts.len(), 50);
    assert!(records.iter().all(|r| r["source"] == "cli"));
}

#[test]
fn the_same_sentence_added_concurrently_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let children: Vec<_> = (0..8)
        .map(|_| {
            add_command(dir.path())
                .args(["add", "--labels", "added.jsonl", "--label", "neutral"])
                .arg("Everyone adds the same sentence at once.")
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        assert!(child.wait_with_output().unwrap().status.success());
    }
    assert_eq!(common::json_lines(&dir.path().join("added.jsonl")).len(), 1);
}

/// A batch of records whose texts say which batch and position they are.
fn write_batch(path: &Path, batch: usize, size: usize) {
    let filler = "with enough words in it to make every line several hundred bytes long ".repeat(5);
    let mut text = String::new();
    for r in 0..size {
        let record = serde_json::json!({
            "text": format!("batch {batch} record {r} {filler}"),
            "label": "neutral",
        });
        text.push_str(&record.to_string());
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

#[test]
fn writers_killed_at_random_times_never_corrupt_the_file() {
    const BATCH: usize = 300;
    let dir = tempfile::tempdir().unwrap();
    let labels = dir.path().join("added.jsonl");
    // How long a round of three concurrent imports takes here when nobody is
    // killed, to spread the kills over the writers' lifetimes.
    let start = Instant::now();
    let probes: Vec<_> = (0..3)
        .map(|i| {
            write_batch(&dir.path().join(format!("probe{i}.jsonl")), 9000 + i, BATCH);
            add_command(dir.path())
                .args(["add", "--labels", "probe-out.jsonl", "--from"])
                .arg(format!("probe{i}.jsonl"))
                .spawn()
                .unwrap()
        })
        .collect();
    for p in probes {
        assert!(p.wait_with_output().unwrap().status.success());
    }
    let lifetime = start.elapsed().as_micros() as u64;

    let mut rng = SplitMix64(7);
    let mut completed = Vec::new();
    let mut torn_tails = 0;
    let mut batch = 0;
    for _round in 0..25 {
        let mut children = Vec::new();
        for _ in 0..3 {
            let input = dir.path().join(format!("in{batch}.jsonl"));
            write_batch(&input, batch, BATCH);
            let child = add_command(dir.path())
                .args(["add", "--labels", "added.jsonl", "--from"])
                .arg(&input)
                .spawn()
                .unwrap();
            children.push((batch, child));
            batch += 1;
        }
        std::thread::sleep(Duration::from_micros(rng.next_u64() % lifetime));
        for (b, mut child) in children {
            let _ = child.kill(); // SIGKILL; harmless if it already exited
            if child.wait().unwrap().success() {
                completed.push(b);
            }
        }
        check_store(&labels, &completed, BATCH);
        if std::fs::read(&labels).is_ok_and(|b| !b.is_empty() && !b.ends_with(b"\n")) {
            torn_tails += 1;
        }
    }
    let kept = std::fs::read_to_string(&labels).map_or(0, |t| t.lines().count());
    eprintln!(
        "{batch} writers, {} finished, {} killed; {kept} lines kept; torn tail seen after {torn_tails} rounds (a round without kills: {lifetime} µs)",
        completed.len(),
        batch - completed.len()
    );
    // One more append repairs a torn tail, if any; then every line is whole.
    add_command(dir.path())
        .args([
            "add",
            "--labels",
            "added.jsonl",
            "--label",
            "neutral",
            "A final sentence.",
        ])
        .status()
        .unwrap();
    let records = common::json_lines(&labels);
    assert!(records.last().unwrap()["text"] == "A final sentence.");
    common::stance(dir.path())
        .args(["labels", "--check", "--labels", "added.jsonl"])
        .assert()
        .success();
}

/// Every complete line parses; records come in whole batch prefixes, never
/// interleaved or repeated; every batch whose writer finished is complete.
fn check_store(path: &Path, completed: &[usize], batch_size: usize) {
    let Ok(bytes) = std::fs::read(path) else {
        return;
    };
    let text = String::from_utf8(bytes).unwrap();
    let complete = match text.rfind('\n') {
        Some(i) => &text[..=i],
        None => "",
    };
    let mut per_batch: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    let mut last_batch = None;
    for line in complete.lines() {
        let record: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("damaged line {line:?}: {e}"));
        let words: Vec<&str> = record["text"].as_str().unwrap().split(' ').collect();
        let (b, r): (usize, usize) = (words[1].parse().unwrap(), words[3].parse().unwrap());
        let seen = per_batch.entry(b).or_default();
        if !seen.is_empty() {
            assert_eq!(last_batch, Some(b), "batch {b} interleaved with another");
        }
        assert_eq!(r, seen.len(), "batch {b} out of order or repeated");
        seen.push(r);
        last_batch = Some(b);
    }
    for b in completed {
        assert_eq!(
            per_batch.get(b).map_or(0, Vec::len),
            batch_size,
            "batch {b} incomplete"
        );
    }
}
