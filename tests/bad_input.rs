//! Every bad input gets a clear one-line error (or a warning and a sensible
//! result), the documented exit code, and never a panic. The cases are the
//! rows of the bad-input table in the README.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn stance() -> Command {
    Command::cargo_bin("stance").unwrap()
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// One row of the table: what is run, and what must come out.
struct Case {
    name: &'static str,
    args: Vec<String>,
    stdin: Option<Vec<u8>>,
    code: i32,
    /// Substrings that must all appear on stderr.
    stderr: Vec<String>,
    /// A substring that must appear on stdout, if any.
    stdout: Option<&'static str>,
}

fn run(case: &Case, dir: &Path) -> Result<(), String> {
    let mut cmd = stance();
    cmd.current_dir(dir)
        .env_remove("STANCE_MODEL")
        .args(&case.args);
    if let Some(input) = &case.stdin {
        cmd.write_stdin(input.clone());
    }
    let out = cmd.output().map_err(|e| e.to_string())?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut problems = Vec::new();
    if out.status.code() != Some(case.code) {
        problems.push(format!(
            "exit {:?}, expected {}",
            out.status.code(),
            case.code
        ));
    }
    for needle in &case.stderr {
        if !stderr.contains(needle.as_str()) {
            problems.push(format!("stderr lacks {needle:?}"));
        }
    }
    if let Some(needle) = case.stdout {
        if !stdout.contains(needle) {
            problems.push(format!("stdout lacks {needle:?}"));
        }
    }
    if stderr.contains("panicked") || stderr.contains("RUST_BACKTRACE") {
        problems.push("a panic reached the user".into());
    }
    if stderr
        .lines()
        .filter(|l| l.starts_with("stance: ") && !l.contains("warning"))
        .count()
        > 1
    {
        problems.push("more than one error line".into());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}: {}\n  stderr: {}",
            case.name,
            problems.join("; "),
            stderr.trim()
        ))
    }
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// A path that exists but cannot be read: a file without permissions, or,
/// for root (who may read anything), a kernel file that refuses reads.
fn unreadable_file(dir: &Path) -> PathBuf {
    let path = dir.join("locked.txt");
    std::fs::write(&path, "Some text.").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    }
    if std::fs::read(&path).is_ok() {
        PathBuf::from("/proc/self/mem")
    } else {
        path
    }
}

#[test]
fn every_bad_input_gets_a_clear_message_and_the_documented_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(d.join(name), bytes).unwrap();
        name.to_string()
    };
    std::fs::create_dir(d.join("folder")).unwrap();
    let empty = write("empty.txt", b"");
    let blank = write("blank.txt", b"  \n\t\n \n");
    let binary = write("image.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR");
    let latin1 = write(
        "latin1.txt",
        b"The talks in Minsk ended. Caf\xe9 owners were not asked.",
    );
    let controls = write(
        "controls.txt",
        "Minsk\u{200B} will keep\u{202E} its own\u{0007} currency. \u{05E9}\u{05DC}\u{05D5}\u{05DD} said nothing.".as_bytes(),
    );
    let long_line: String =
        "The union and the sovereignty of Minsk were discussed. ".repeat(50_000_000 / 55 + 1);
    let huge = write("huge.txt", long_line.as_bytes());
    let unreadable = unreadable_file(d).display().to_string();

    let small = fixture("labels-small.jsonl").display().to_string();
    let bad_json = write(
        "bad.jsonl",
        b"{\"text\":\"a b\",\"label\":\"x\"}\n{\"text\": \"c\", \"label\n",
    );
    let no_label = write(
        "nolabel.jsonl",
        b"{\"text\":\"a b\",\"label\":\"x\"}\n{\"text\":\"c d\"}\n",
    );
    let empty_labels = write("empty.jsonl", b"");
    let one_label = write(
        "one.jsonl",
        b"{\"text\":\"a b\",\"label\":\"x\"}\n{\"text\":\"b c\",\"label\":\"x\"}\n",
    );
    let mut typo = std::fs::read_to_string(fixture("labels-small.jsonl")).unwrap();
    typo.push_str("{\"text\":\"The union gets closer.\",\"label\":\"pro-integraton\"}\n");
    let typo = write("typo.jsonl", typo.as_bytes());

    // Model files: a good one, and broken variants of it.
    stance()
        .current_dir(d)
        .args(["train", "--no-cv", "--labels", &small, "--out", "good.json"])
        .assert()
        .success();
    let good = std::fs::read_to_string(d.join("good.json")).unwrap();
    let truncated = write("truncated.json", &good.as_bytes()[..good.len() / 3]);
    let not_json = write("notjson.json", b"this is not a model\n");
    let wrong_shape = write(
        "shape.json",
        b"{\"format\": \"stance-model\", \"format_version\": 1, \"labels\": 3}",
    );
    let newer = write(
        "newer.json",
        good.replace("\"format_version\": 1", "\"format_version\": 7")
            .as_bytes(),
    );
    let mismatched = write(
        "mismatch.json",
        good.replacen("]]", ", 0.5]]", 1).as_bytes(),
    );

    let mut big_sentence = "Minsk and Moscow ".repeat(1_048_576 / 17 + 1).into_bytes();
    big_sentence.push(b'\n');

    let cases = vec![
        Case {
            name: "missing file",
            args: s(&["split", "nope.txt"]),
            stdin: None,
            code: 1,
            stderr: s(&["nope.txt: cannot read", "No such file"]),
            stdout: None,
        },
        Case {
            name: "directory where a file is expected",
            args: s(&["split", "folder"]),
            stdin: None,
            code: 1,
            stderr: s(&["folder: is a directory"]),
            stdout: None,
        },
        Case {
            name: "unreadable file",
            args: vec!["split".into(), unreadable.clone()],
            stdin: None,
            code: 1,
            stderr: vec![format!("{unreadable}: cannot read")],
            stdout: None,
        },
        Case {
            name: "empty file",
            args: vec!["split".into(), empty.clone()],
            stdin: None,
            code: 0,
            stderr: vec![format!("warning: {empty}: no sentences")],
            stdout: None,
        },
        Case {
            name: "whitespace-only file",
            args: vec!["split".into(), blank.clone()],
            stdin: None,
            code: 0,
            stderr: vec![format!("warning: {blank}: no sentences")],
            stdout: None,
        },
        Case {
            name: "binary file",
            args: vec!["split".into(), binary.clone()],
            stdin: None,
            code: 1,
            stderr: s(&["image.png: looks like a binary file (NUL byte at byte 8)"]),
            stdout: None,
        },
        Case {
            name: "invalid UTF-8 is replaced with a warning",
            args: vec!["split".into(), latin1.clone()],
            stdin: None,
            code: 0,
            stderr: s(&["latin1.txt: invalid UTF-8 at byte 29"]),
            stdout: Some("Caf\u{FFFD} owners were not asked."),
        },
        Case {
            name: "invalid UTF-8 on stdin",
            args: s(&["label", "--format", "tsv"]),
            stdin: Some(b"fine line\nbad \xff line\n".to_vec()),
            code: 0,
            stderr: s(&["<stdin>:2: invalid UTF-8 at byte 4"]),
            stdout: Some("bad \u{FFFD} line"),
        },
        Case {
            name: "a 50 MB file with no newline",
            args: vec!["split".into(), huge.clone()],
            stdin: None,
            code: 0,
            stderr: vec![],
            stdout: Some("The union and the sovereignty of Minsk were discussed.\n"),
        },
        Case {
            name: "a sentence of 1 MB",
            args: s(&["label", "--format", "tsv"]),
            stdin: Some(big_sentence),
            code: 0,
            stderr: vec![],
            stdout: Some("Minsk and Moscow Minsk"),
        },
        Case {
            name: "control, RTL and zero-width characters",
            args: vec!["split".into(), controls.clone()],
            stdin: None,
            code: 0,
            stderr: vec![],
            stdout: Some("Minsk will keep its own currency."),
        },
        Case {
            name: "labels file with a malformed line",
            args: s(&["train", "--labels", &bad_json, "--out", "m.json"]),
            stdin: None,
            code: 1,
            stderr: s(&["bad.jsonl:2: not a labeled sentence", "--skip-bad-lines"]),
            stdout: None,
        },
        Case {
            name: "labels file with a missing field",
            args: s(&["train", "--labels", &no_label, "--out", "m.json"]),
            stdin: None,
            code: 1,
            stderr: s(&["nolabel.jsonl:2:", "missing field `label`"]),
            stdout: None,
        },
        Case {
            name: "labels file with an unknown (misspelt) label",
            args: s(&["train", "--no-cv", "--labels", &typo, "--out", "m.json"]),
            stdin: None,
            code: 0,
            stderr: s(&["label \"pro-integraton\" has only 1 sentence(s); if it is a typo"]),
            stdout: None,
        },
        Case {
            name: "empty label set",
            args: s(&["train", "--labels", &empty_labels, "--out", "m.json"]),
            stdin: None,
            code: 1,
            stderr: s(&["no labeled sentences in empty.jsonl"]),
            stdout: None,
        },
        Case {
            name: "only one label",
            args: s(&["train", "--labels", &one_label, "--out", "m.json"]),
            stdin: None,
            code: 1,
            stderr: s(&["need sentences of at least two labels, found x"]),
            stdout: None,
        },
        Case {
            name: "labels path is a directory",
            args: s(&["train", "--labels", "folder", "--out", "m.json"]),
            stdin: None,
            code: 1,
            stderr: s(&["folder: is a directory, not a labels file"]),
            stdout: None,
        },
        Case {
            name: "missing model file",
            args: s(&["label", "--model", "absent.json", "x"]),
            stdin: None,
            code: 1,
            stderr: s(&["absent.json: cannot read model"]),
            stdout: None,
        },
        Case {
            name: "truncated model file",
            args: s(&["label", "--model", &truncated, "x"]),
            stdin: None,
            code: 1,
            stderr: s(&["truncated.json: not a valid model file", "retrain"]),
            stdout: None,
        },
        Case {
            name: "model file that is not JSON",
            args: s(&["label", "--model", &not_json, "x"]),
            stdin: None,
            code: 1,
            stderr: s(&["notjson.json: not a valid model file"]),
            stdout: None,
        },
        Case {
            name: "model file of the wrong shape",
            args: s(&["label", "--model", &wrong_shape, "x"]),
            stdin: None,
            code: 1,
            stderr: s(&["shape.json: model file has the wrong shape"]),
            stdout: None,
        },
        Case {
            name: "model from a newer format version",
            args: s(&["label", "--model", &newer, "x"]),
            stdin: None,
            code: 1,
            stderr: s(&[
                "newer.json: model format version 7 is newer",
                "upgrade stance",
            ]),
            stdout: None,
        },
        Case {
            name: "model hand-edited to mismatched dimensions",
            args: s(&["label", "--model", &mismatched, "x"]),
            stdin: None,
            code: 1,
            stderr: s(&["mismatch.json: feature 0", "4 weights for 3 labels"]),
            stdout: None,
        },
        Case {
            name: "--min-confidence outside 0..1",
            args: s(&["label", "--min-confidence", "-0.1", "x"]),
            stdin: None,
            code: 2,
            stderr: s(&["outside 0..1"]),
            stdout: None,
        },
        Case {
            name: "unknown --format",
            args: s(&["split", "--format", "xml", "a.txt"]),
            stdin: None,
            code: 2,
            stderr: s(&["invalid value 'xml'"]),
            stdout: None,
        },
    ];
    let failures: Vec<String> = cases.iter().filter_map(|c| run(c, d).err()).collect();
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
