//! A run killed (SIGKILL) at a random moment and resumed from its last checkpoint
//! (`--save FILE --checkpoint-every 1`, then `--resume FILE`) ends bitwise equal to the
//! run that was never stopped — for every optimizer family: a mini-batch step rule, a
//! full-batch method, a least-squares method, and `minimize`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

fn json(args: &[String]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_descent"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "descent {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn with(base: &[&str], extra: &[&str]) -> Vec<String> {
    base.iter().chain(extra).map(|s| s.to_string()).collect()
}

/// Kill moments, as fractions of an uninterrupted checkpointing run's time (fixed, so
/// that a failure can be replayed).
const FRACTIONS: [f64; 4] = [0.13, 0.37, 0.58, 0.81];

/// Runs `base` uninterrupted, then killed at each of [`FRACTIONS`] and resumed; `key`
/// picks what must be equal. Returns how many runs were killed mid-way and resumed.
fn killed_runs_resume_exactly(
    name: &str,
    base: &[&str],
    key: fn(&serde_json::Value) -> serde_json::Value,
) -> usize {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("descent-kill-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("run.save");
    let file_arg = file.to_str().unwrap();
    let straight = key(&json(&with(base, &[])));
    // Checkpointing changes nothing, and tells how long a checkpointing run takes.
    let t0 = Instant::now();
    let checkpointing = json(&with(
        base,
        &["--save", file_arg, "--checkpoint-every", "1"],
    ));
    let duration = t0.elapsed();
    assert_eq!(
        key(&checkpointing),
        straight,
        "{name}: checkpointing changed the run"
    );
    let mut resumed_runs = 0;
    for f in FRACTIONS {
        clear(&dir);
        let mut child = Command::new(env!("CARGO_BIN_EXE_descent"))
            .args(with(base, &["--save", file_arg, "--checkpoint-every", "1"]))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(duration.mul_f64(f));
        if child.try_wait().unwrap().is_some() {
            continue; // finished before the kill: nothing to resume
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        if !file.exists() {
            continue; // killed before its first checkpoint
        }
        let resumed = json(&with(base, &["--resume", file_arg]));
        assert_eq!(
            key(&resumed),
            straight,
            "{name}: killed at {f} of the run and resumed, it ended elsewhere"
        );
        resumed_runs += 1;
    }
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!("{name}: {resumed_runs} of {} runs killed and resumed; a checkpointing run takes {duration:?}", FRACTIONS.len());
    resumed_runs
}

fn clear(dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let _ = std::fs::remove_file(e.path());
    }
}

/// Every epoch's training and validation loss, and the test metrics.
fn training(v: &serde_json::Value) -> serde_json::Value {
    let epochs: Vec<serde_json::Value> = v["epochs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| serde_json::json!([e["train_loss"], e["val_loss"]]))
        .collect();
    serde_json::json!([epochs, v["test_loss"], v["test_accuracy"], v["test_r2"]])
}

/// The point, value, iterations and evaluation counts.
fn minimization(v: &serde_json::Value) -> serde_json::Value {
    serde_json::json!([v["x"], v["f"], v["iterations"], v["f_evals"], v["g_evals"]])
}

fn network<'a>(optimizer: &'a str, epochs: &'a str) -> Vec<&'a str> {
    vec![
        "train",
        "--data",
        "synthetic:spirals:2000",
        "--layers",
        "2,32,32,2",
        "--activation",
        "tanh",
        "--optimizer",
        optimizer,
        "--epochs",
        epochs,
        "--precision",
        "f64",
        "--threads",
        "1",
        "--json",
    ]
}

#[test]
fn a_killed_step_rule_run_resumes_bitwise() {
    let resumed = killed_runs_resume_exactly("adam", &network("adam", "120"), training);
    assert!(resumed >= 2, "only {resumed} runs were killed mid-way");
}

#[test]
fn a_killed_full_batch_run_resumes_bitwise() {
    let resumed = killed_runs_resume_exactly("lbfgs", &network("lbfgs", "150"), training);
    assert!(resumed >= 2, "only {resumed} runs were killed mid-way");
}

#[test]
fn a_killed_least_squares_run_resumes_bitwise() {
    let base = [
        "train",
        "--data",
        "synthetic:noisy-sine:300",
        "--layers",
        "1,10,10,1",
        "--activation",
        "tanh",
        "--loss",
        "mse",
        "--optimizer",
        "lm",
        "--epochs",
        "300",
        "--min-grad",
        "0",
        "--precision",
        "f64",
        "--threads",
        "1",
        "--json",
    ];
    let resumed = killed_runs_resume_exactly("lm", &base, training);
    assert!(resumed >= 2, "only {resumed} runs were killed mid-way");
}

#[test]
fn a_killed_minimization_resumes_bitwise() {
    let base = [
        "minimize",
        "--problem",
        "extended-rosenbrock:2000",
        "--method",
        "lbfgs",
        "--max-iter",
        "1500",
        "--json",
    ];
    let resumed = killed_runs_resume_exactly("minimize", &base, minimization);
    assert!(resumed >= 2, "only {resumed} runs were killed mid-way");
}
