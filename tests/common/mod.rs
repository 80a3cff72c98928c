//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The built `stance` binary.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_stance"))
}

/// A `stance` command run in `dir`, with no model override from the environment.
pub fn stance(dir: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(bin());
    cmd.current_dir(dir)
        .env_remove("STANCE_MODEL")
        .env("USER", "tester");
    cmd
}

/// A temporary folder holding a copy of the small seed set as `seeds/`
/// (24 labeled sentences from three short articles) and `article.txt`, an
/// article none of whose sentences are labeled.
pub fn small_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let seeds = dir.path().join("seeds");
    std::fs::create_dir_all(seeds.join("articles")).unwrap();
    let small = fixtures.join("small_seeds");
    std::fs::copy(small.join("labels.jsonl"), seeds.join("labels.jsonl")).unwrap();
    for entry in std::fs::read_dir(small.join("articles")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), seeds.join("articles").join(entry.file_name())).unwrap();
    }
    std::fs::copy(
        fixtures.join("teach_article.txt"),
        dir.path().join("article.txt"),
    )
    .unwrap();
    dir
}

/// Every line of a labels file parsed as JSON (panics on a bad line).
pub fn json_lines(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.is_empty() || text.ends_with('\n'), "no final newline");
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad line {l:?}: {e}")))
        .collect()
}
