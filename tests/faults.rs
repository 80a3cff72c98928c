//! Faults while writing: a killed `stance train` or a full or read-only
//! disk never damages the model file that was there before.

use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};
use std::time::Instant;

use assert_cmd::Command;
use predicates::prelude::*;

fn stance() -> Command {
    Command::cargo_bin("stance").unwrap()
}

fn small_labels() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/labels-small.jsonl")
}

fn train_args(out: &Path, alpha: &str) -> Vec<String> {
    vec![
        "train".into(),
        "--labels".into(),
        small_labels().display().to_string(),
        "--alpha".into(),
        alpha.into(),
        "--out".into(),
        out.display().to_string(),
    ]
}

/// The model a training run with `alpha` writes, made in its own folder.
fn model_bytes(alpha: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.json");
    stance().args(train_args(&out, alpha)).assert().success();
    std::fs::read(out).unwrap()
}

#[test]
fn killing_train_at_any_moment_leaves_a_whole_loadable_model() {
    let alphas = ["0.5", "2"];
    let expected: Vec<Vec<u8>> = alphas.iter().map(|a| model_bytes(a)).collect();
    assert_ne!(expected[0], expected[1]);

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.json");
    std::fs::write(&out, &expected[0]).unwrap();

    // How long one run takes, to spread the kills over its whole length.
    let started = Instant::now();
    stance()
        .args(train_args(&out, alphas[1]))
        .assert()
        .success();
    let run_time = started.elapsed();
    std::fs::write(&out, &expected[0]).unwrap();

    let bin = assert_cmd::cargo::cargo_bin("stance");
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    for round in 0..24 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let delay = run_time.mul_f64((state % 1000) as f64 / 1000.0 * 1.2);
        let mut child = StdCommand::new(&bin)
            .args(train_args(&out, alphas[(round + 1) % 2]))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL on Unix
        let _ = child.wait();
        let now = std::fs::read(&out).unwrap();
        assert!(
            expected.contains(&now),
            "round {round}: the model file is neither the old nor the new model ({} bytes)",
            now.len()
        );
        stance()
            .args(["label", "--model"])
            .arg(&out)
            .arg("Minsk keeps its currency.")
            .assert()
            .success();
    }
}

/// Runs `f` on a folder on a small tmpfs (needs root), or returns false.
fn with_small_tmpfs(size: &str, f: impl FnOnce(&Path)) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let mounted = StdCommand::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir.path())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        return false;
    }
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = StdCommand::new("umount").arg(self.0).status();
        }
    }
    let _guard = Unmount(dir.path());
    f(dir.path());
    true
}

#[test]
fn a_full_disk_gives_a_clear_error_and_keeps_the_old_model() {
    let old = model_bytes("1");
    let tested = with_small_tmpfs("96k", |dir| {
        let out = dir.join("m.json");
        std::fs::write(&out, &old).unwrap();
        // Character n-grams make a model several times larger than the disk.
        let mut args = train_args(&out, "1");
        args.extend([
            "--char-ngrams".into(),
            "1,6".into(),
            "--min-df".into(),
            "1".into(),
        ]);
        stance().args(&args).assert().code(1).stderr(
            predicate::str::contains("m.json").and(predicate::str::contains("No space left")),
        );
        assert_eq!(
            std::fs::read(&out).unwrap(),
            old,
            "the old model was changed"
        );
        let mut leftovers: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        leftovers.sort();
        assert_eq!(
            leftovers,
            ["m.json", "m.prev.json"],
            "temporary files left behind"
        );
        assert_eq!(std::fs::read(dir.join("m.prev.json")).unwrap(), old);
    });
    if !tested {
        eprintln!("note: cannot mount a small tmpfs here (not root); full-disk case not exercised");
    }
}

#[test]
fn a_read_only_folder_gives_a_clear_error_and_keeps_the_old_model() {
    let old = model_bytes("1");
    let check = |dir: &Path| {
        let out = dir.join("m.json");
        stance()
            .args(train_args(&out, "3"))
            .assert()
            .code(1)
            .stderr(
                predicate::str::contains("m.json").and(
                    predicate::str::contains("Read-only file system")
                        .or(predicate::str::contains("Permission denied")),
                ),
            );
        assert_eq!(std::fs::read(&out).unwrap(), old);
    };
    let on_tmpfs = with_small_tmpfs("1m", |dir| {
        std::fs::write(dir.join("m.json"), &old).unwrap();
        let remounted = StdCommand::new("mount")
            .args(["-o", "remount,ro"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        assert!(remounted, "could not remount the tmpfs read-only");
        check(dir);
    });
    if !on_tmpfs {
        // Not root: a folder without write permission is read-only for us.
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("m.json"), &old).unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
        check(dir.path());
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

#[test]
fn a_model_path_under_a_file_gives_a_one_line_error() {
    // The error names the folder and says what failed, in one line.
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "x").unwrap();
    stance()
        .args(train_args(&blocker.join("m.json"), "1"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("file").and(predicate::str::contains("panicked").not()));
}
