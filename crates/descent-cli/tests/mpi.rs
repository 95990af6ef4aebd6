//! Distributed training under `mpirun` on loopback (the `mpi` feature; `.ci/run` installs
//! OpenMPI and runs `cargo test -p descent-cli --features mpi --test mpi`). Each check is
//! one of the issue's bars, against one process run in the same test:
//!
//! - `-np 2` mini-batch training on MNIST gives the losses of one process per epoch (f64:
//!   1e-10 relative against one thread; f64 and f32: to the bit against two threads) and
//!   the same test accuracy;
//! - full-batch L-BFGS takes the same iterations to the same loss;
//! - Levenberg–Marquardt on a squared-error network takes the same iterations to the same
//!   loss;
//! - a rank that is killed stops the job with a readable line within 60 s, and the last
//!   checkpoint resumes (with another number of processes);
//! - Bayesian regularization on two ranks gives one process's losses (to 1e-6: the two
//!   route their sums differently);
//! - `descent fit` on two ranks finds one process's parameters, standard errors and
//!   degrees of freedom (plain, robust with σ, and bounded).
#![cfg(feature = "mpi")]

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn mnist() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/mnist");
    assert!(
        dir.join("train-images-idx3-ubyte.gz").exists()
            || dir.join("train-images-idx3-ubyte").exists(),
        "MNIST is not in {}",
        dir.display()
    );
    dir
}

/// `mpirun -np K descent ARGS` (K = 1: the binary alone, a process on its own).
fn launch(k: usize, args: &[String]) -> Command {
    let bin = env!("CARGO_BIN_EXE_descent");
    if k == 1 {
        let mut c = Command::new(bin);
        c.args(args);
        return c;
    }
    let mut c = Command::new("timeout");
    c.args([
        "600",
        "mpirun",
        "--oversubscribe",
        "--allow-run-as-root",
        "--bind-to",
        "none",
    ])
    .args(["-np", &k.to_string(), bin])
    .args(args);
    c
}

fn ok(out: Output, what: &str) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{what}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    // One JSON object, from rank 0 only.
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with('{')).collect();
    assert_eq!(lines.len(), 1, "{what}: {text}");
    serde_json::from_str(lines[0]).unwrap()
}

/// `descent train` on 6 000 MNIST rows with `--threads 1` unless `args` say otherwise.
fn train(k: usize, args: &[&str]) -> serde_json::Value {
    let data = format!("mnist:{},n=6000", mnist().display());
    let mut all = vec!["train".to_string(), "--data".into(), data];
    all.extend(["--json", "--quiet"].map(String::from));
    if !args.contains(&"--threads") {
        all.extend(["--threads", "1"].map(String::from));
    }
    all.extend(args.iter().map(|s| s.to_string()));
    ok(launch(k, &all).output().unwrap(), &all.join(" "))
}

fn series(v: &serde_json::Value, key: &str) -> Vec<f64> {
    v["epochs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e[key].as_f64().unwrap())
        .collect()
}

fn assert_close(a: &[f64], b: &[f64], tol: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= tol * x.abs(), "{what}: {x} vs {y}");
    }
}

#[test]
fn two_ranks_train_mnist_as_one_process() {
    let args = |precision| {
        "--layers 784,128,10 --optimizer adam --batch-size 128 --epochs 3 --precision"
            .split_whitespace()
            .chain([precision])
            .collect::<Vec<&str>>()
    };
    // Against one thread taking each batch whole, only the grouping of the sums differs:
    // in f64 that stays at rounding.
    let one = train(1, &args("f64"));
    let two = train(2, &args("f64"));
    assert_eq!(two["workers"], 2);
    for key in ["train_loss", "val_loss"] {
        assert_close(&series(&two, key), &series(&one, key), 1e-10, key);
    }
    assert_eq!(two["test_accuracy"], one["test_accuracy"]);
    // Each rank holds only its own rows and evaluates the rows of every batch that it
    // holds: in f32 the grouping of the sums shows at f32's rounding.
    let one = train(1, &args("f32"));
    let two = train(2, &args("f32"));
    for key in ["train_loss", "val_loss"] {
        assert_close(&series(&two, key), &series(&one, key), 1e-5, key);
    }
    assert_eq!(two["test_accuracy"], one["test_accuracy"]);
}

#[test]
fn two_ranks_take_the_iterations_of_one_process_full_batch() {
    let args = [
        "--layers",
        "784,32,10",
        "--optimizer",
        "lbfgs",
        "--epochs",
        "25",
        "--precision",
        "f64",
    ];
    let one = train(1, &args);
    let two = train(2, &args);
    assert_eq!(series(&two, "train_loss"), series(&one, "train_loss"));
    assert_eq!(two["stop"], one["stop"]);
}

#[test]
fn a_killed_rank_stops_the_job_and_the_checkpoint_resumes() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("descent-mpi-kill-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let save = dir.join("run.safetensors");
    let data = format!("mnist:{},n=6000", mnist().display());
    let base = |epochs: &str| -> Vec<String> {
        let flags =
            "--layers 784,64,10 --optimizer adam --precision f64 --threads 1 --json --quiet";
        ["train", "--data", &data, "--epochs", epochs]
            .into_iter()
            .chain(flags.split_whitespace())
            .map(String::from)
            .collect()
    };
    let mut args = base("40");
    args.extend(["--save".into(), save.display().to_string()]);
    args.extend(["--checkpoint-every".into(), "1".into()]);
    let job = launch(2, &args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for a checkpoint, then kill rank 1 (the process that is not the saver).
    let t0 = Instant::now();
    while !save.exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "no checkpoint written"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let pids = String::from_utf8(
        Command::new("pgrep")
            .args([
                "-f",
                &format!(
                    "^{} train .*{}",
                    env!("CARGO_BIN_EXE_descent"),
                    save.display()
                ),
            ])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let pids: Vec<u32> = pids.lines().filter_map(|l| l.trim().parse().ok()).collect();
    assert_eq!(pids.len(), 2, "the two ranks: {pids:?}");
    let victim = *pids.iter().max().unwrap();
    let killed_at = Instant::now();
    Command::new("kill")
        .args(["-9", &victim.to_string()])
        .status()
        .unwrap();
    let out = job.wait_with_output().unwrap();
    let took = killed_at.elapsed();
    assert!(!out.status.success());
    assert!(
        took < Duration::from_secs(60),
        "the job took {took:?} to stop"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("stopped by the MPI launcher"), "{err}");
    // The checkpoint resumes, here on one process, to a total of 3 epochs.
    let mut resume = base("3");
    resume.extend(["--resume".into(), save.display().to_string()]);
    let resumed = ok(launch(1, &resume).output().unwrap(), "resume");
    assert!(resumed["epochs"].as_array().is_some());
    std::fs::remove_dir_all(&dir).ok();
}

/// `descent train` of a squared-error network on 400 noisy sine rows with `optimizer`
/// (f64, one thread), on one process and on two ranks.
fn sine_on_one_and_two(optimizer: &str, layers: &str, epochs: u32) -> [serde_json::Value; 2] {
    let run = |k| {
        let args: Vec<String> = format!(
            "train --data synthetic:sine:400 --layers {layers} --optimizer {optimizer} \
             --epochs {epochs} --precision f64 --threads 1 --json --quiet"
        )
        .split_whitespace()
        .map(String::from)
        .collect();
        ok(launch(k, &args).output().unwrap(), optimizer)
    };
    [run(1), run(2)]
}

#[test]
fn levenberg_marquardt_on_two_ranks_takes_the_iterations_of_one_process() {
    // MATLAB's trainlm setting: a 1-10-1 network. The ranks sum the normal equations of
    // their rows; the Jacobian is never gathered.
    let [one, two] = sine_on_one_and_two("lm", "1,10,1", 40);
    let (a, b) = (series(&two, "train_loss"), series(&one, "train_loss"));
    assert_close(&a, &b, 1e-10, "lm");
    assert_eq!(two["stop"], one["stop"]);
}

#[test]
fn bayesian_regularization_runs_on_two_ranks() {
    // α and β count both ranks' residuals; one process works on the Jacobian itself, so
    // the losses agree to the rounding of the two routes.
    let [one, two] = sine_on_one_and_two("br", "1,6,1", 20);
    let (a, b) = (series(&two, "train_loss"), series(&one, "train_loss"));
    assert_close(&a, &b, 1e-6, "br");
}

#[test]
fn a_fit_on_two_ranks_finds_the_one_process_parameters() {
    // 3 000 rows of y = a·exp(−b·x) + c·sin(d·x) with noise, split by rows; Levenberg–
    // Marquardt with geodesic acceleration, a robust loss with per-row σ, and the
    // trust-region reflective method with a bound, each against one process.
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("descent-mpi-fit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("rows.csv");
    let mut text = String::from("x,y,s\n");
    for i in 0..3000 {
        let x = i as f64 / 300.0;
        let noise = 0.05 * ((i as f64 * 12.9898).sin() * 43758.5453).fract();
        let y = 3.0 * (-0.7 * x).exp() + 0.5 * (2.0 * x).sin() + noise;
        text += &format!("{x},{y},{}\n", 0.04 + 0.02 * (i % 3) as f64);
    }
    std::fs::write(&csv, text).unwrap();
    for extra in [
        "",
        "--loss huber --f-scale 0.05 --sigma s",
        "--method trf --bounds a=0:2.5",
    ] {
        let run = |k| {
            let mut args: Vec<String> = vec![
                "fit".into(),
                "--model".into(),
                "a*exp(-b*x)+c*sin(d*x)".into(),
                "--data".into(),
                csv.display().to_string(),
                "--init".into(),
                "a=1,b=1,c=1,d=1.8".into(),
                "--json".into(),
            ];
            args.extend(extra.split_whitespace().map(String::from));
            ok(launch(k, &args).output().unwrap(), extra)
        };
        let (one, two) = (run(1), run(2));
        assert_eq!(two["workers"], 2);
        assert_eq!(two["dof"], one["dof"], "{extra}");
        for key in ["a", "b", "c", "d"] {
            let (p, q) = (
                two["params"][key].as_f64().unwrap(),
                one["params"][key].as_f64().unwrap(),
            );
            assert!((p - q).abs() <= 1e-7 * q.abs(), "{extra}: {key} {p} vs {q}");
            // A parameter held on its bound has no standard error (null) on either.
            match (
                two["std_errors"][key].as_f64(),
                one["std_errors"][key].as_f64(),
            ) {
                (Some(p), Some(q)) => {
                    assert!(
                        (p - q).abs() <= 1e-5 * q.abs(),
                        "{extra}: σ {key} {p} vs {q}"
                    )
                }
                (p, q) => assert_eq!(p, q, "{extra}: σ {key}"),
            }
        }
        let (p, q) = (two["rss"].as_f64().unwrap(), one["rss"].as_f64().unwrap());
        assert!((p - q).abs() <= 1e-9 * q, "{extra}: rss {p} vs {q}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_bad_row_in_one_ranks_share_stops_every_rank() {
    // Each rank reads only its rows; the bad one is in rank 1's. Every rank stops with a
    // line saying why, none waits for the others.
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("descent-mpi-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("rows.csv");
    let mut text = String::from("x,y\n");
    for i in 0..200 {
        let y = if i == 150 {
            "abc".into()
        } else {
            (2 * i + 1).to_string()
        };
        text += &format!("{i},{y}\n");
    }
    std::fs::write(&csv, text).unwrap();
    let args: Vec<String> = ["fit", "--model", "a*x+b", "--data"]
        .map(String::from)
        .into_iter()
        .chain([csv.display().to_string(), "--init".into(), "a=1,b=0".into()])
        .collect();
    let started = Instant::now();
    let out = launch(2, &args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(started.elapsed() < Duration::from_secs(60), "{stderr}");
    assert!(
        stderr.contains(":152: column 'y': 'abc' is not a number"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
