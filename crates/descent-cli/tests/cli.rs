//! The command line from outside: JSON contract, listings, and bad input.

use std::process::Command;

fn descent(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_descent"))
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(args: &[&str]) -> serde_json::Value {
    let (code, out, err) = descent(args);
    assert_eq!(code, 0, "{args:?}: {err}");
    serde_json::from_str(out.trim())
        .unwrap_or_else(|e| panic!("{args:?}: not one JSON object ({e}): {out}"))
}

/// Arguments as owned strings (for lists of cases built from formatted paths).
fn owned(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// Runs `args`, which must fail with one line on stderr that contains `says`.
fn refused(args: &[&str], says: &str) {
    let (code, out, err) = descent(args);
    assert_ne!(code, 0, "{args:?} succeeded: {out}");
    assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
    assert!(err.contains(says), "{args:?}: {err}");
}

#[test]
fn minimize_json_has_the_contract_fields() {
    let v = json(&[
        "minimize",
        "--problem",
        "rosenbrock",
        "--method",
        "bfgs",
        "--json",
    ]);
    for key in [
        "method",
        "problem",
        "n",
        "x",
        "f",
        "grad_norm",
        "iterations",
        "f_evals",
        "g_evals",
        "h_evals",
        "converged",
        "termination",
        "seconds",
    ] {
        assert!(v.get(key).is_some(), "missing {key}: {v}");
    }
    assert_eq!(v["method"], "bfgs");
    assert_eq!(v["n"], 2);
    assert_eq!(v["converged"], true);
    assert!(v["f"].as_f64().unwrap() < 1e-12);
}

#[test]
fn secant_pair_and_gradient_tolerance_defaults_can_be_overridden() {
    // The default value-corrected pair and the textbook one both solve Rosenbrock, by
    // different paths; an explicit --gtol replaces the method's default (1e-6 for lbfgs).
    let run = |extra: &[&str]| {
        let mut args = vec!["minimize", "--problem", "rosenbrock", "--method", "lbfgs"];
        args.extend_from_slice(extra);
        args.push("--json");
        json(&args)
    };
    let corrected = run(&[]);
    let standard = run(&["--secant", "standard"]);
    let tight = run(&["--gtol", "1e-12"]);
    for v in [&corrected, &standard, &tight] {
        assert_eq!(v["converged"], true, "{v}");
        assert!(v["f"].as_f64().unwrap() < 1e-10, "{v}");
    }
    assert_ne!(corrected["f_evals"], standard["f_evals"]);
    assert!(corrected["grad_norm"].as_f64().unwrap() <= 1e-6);
    assert!(tight["grad_norm"].as_f64().unwrap() <= 1e-12);
    assert!(tight["iterations"].as_u64() > corrected["iterations"].as_u64());
}

#[test]
fn every_method_runs_on_a_typed_expression() {
    let registry = json(&["methods", "--json"]);
    let methods: Vec<&str> = registry
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| {
            m["applies_to"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a == "objective")
        })
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(methods.len(), 34);
    for m in methods {
        let lr = match m {
            "adagrad" => "0.5",
            "adadelta" | "irprop-" => "1",
            _ => "0.05",
        };
        let mut args = vec![
            "minimize",
            "--expr",
            "(x1 - 1)^2 + 2*(x2 + 0.5)^2 + exp(x1 - 1)",
            "--method",
            m,
            "--json",
        ];
        let step_rule = registry
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == m)
            .is_some_and(|e| {
                e["applies_to"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|a| a == "minibatch")
            });
        if step_rule {
            args.extend(["--lr", lr, "--max-iter", "20000", "--gtol", "1e-6"]);
        }
        if ["gda", "gdx", "rprop", "irprop+"].contains(&m) {
            args.extend(["--max-iter", "20000", "--gtol", "1e-6"]);
        }
        if m == "lion" {
            // Sign steps of a fixed length circle the minimum; a decaying rate settles.
            args.extend(["--schedule", "exp:0.999"]);
        }
        if m == "adamw" {
            args.extend(["--weight-decay", "0"]);
        }
        if m == "rmsprop" {
            args.extend(["--schedule", "exp:0.999"]);
        }
        let v = json(&args);
        let x = v["x"].as_array().unwrap();
        // Minimum: 2(x1−1) + e^(x1−1) = 0 → x1 − 1 = −W(1/2)·... solve numerically: x1 ≈ 0.6483.
        let x1 = x[0].as_f64().unwrap();
        let x2 = x[1].as_f64().unwrap();
        assert!(
            (2.0 * (x1 - 1.0) + (x1 - 1.0).exp()).abs() < 1e-3,
            "{m}: x1 = {x1}"
        );
        assert!((x2 + 0.5).abs() < 1e-3, "{m}: x2 = {x2}");
    }
}

#[test]
fn scalable_problem_sizes_and_listings() {
    let v = json(&[
        "minimize",
        "--problem",
        "extended-rosenbrock:1000",
        "--method",
        "lbfgs",
        "--json",
    ]);
    assert_eq!(v["n"], 1000);
    assert!(v["f"].as_f64().unwrap() < 1e-8);
    let (code, out, _) = descent(&["problems"]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 35);
    assert!(out.contains("chebyquad") && out.contains("linear-rank1-zero"));
}

#[test]
fn a_start_moved_onto_the_box_at_many_coordinates_is_named_in_one_short_line() {
    // The extended Rosenbrock starts at (-1.2, 1, …): x0.5 moves every odd coordinate.
    let (code, _, err) = descent(&[
        "minimize",
        "--problem",
        "extended-rosenbrock:1000",
        "--bounds",
        "0.5:inf",
        "--max-iter",
        "1",
    ]);
    assert_eq!(code, 0, "{err}");
    let note = err
        .lines()
        .find(|l| l.starts_with("note: the start"))
        .unwrap();
    assert_eq!(
        note,
        "note: the start was outside the bounds; moved x1, x3, x5, x7, x9, x11, x13, x15 \
         and 492 more onto the box"
    );
}

#[test]
fn bounded_minimize_reports_bounds_active_set_and_a_moved_start() {
    // Rosenbrock with x₁ ≤ 0.5 from a start outside: L-BFGS-B ends at (0.5, 0.25).
    for method in ["lbfgsb", "lbfgs"] {
        let args = [
            "minimize",
            "--expr",
            "(1 - x1)^2 + 100*(x2 - x1^2)^2",
            "--x0",
            "0.9,1",
            "--bounds",
            "-inf:0.5,-inf:inf",
            "--method",
            method,
            "--json",
        ];
        let (code, out, err) = descent(&args);
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("moved x1"), "{err}");
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(v["method_description"], "L-BFGS-B (m=10)");
        assert_eq!(v["active_bounds"], serde_json::json!([0]));
        assert_eq!(v["x0_moved"], serde_json::json!([0]));
        assert_eq!(v["bounds"], serde_json::json!([[null, 0.5], [null, null]]));
        let x = v["x"].as_array().unwrap();
        assert!((x[0].as_f64().unwrap() - 0.5).abs() < 1e-12);
        assert!((x[1].as_f64().unwrap() - 0.25).abs() < 1e-6);
        assert_eq!(v["converged"], true);
    }
    // One pair applies to every variable; step rules project.
    let v = json(&[
        "minimize",
        "--expr",
        "(x1 - 3)^2 + (x2 + 3)^2",
        "--bounds",
        "-1:1",
        "--method",
        "adam:lr=0.05",
        "--json",
    ]);
    assert_eq!(v["x"], serde_json::json!([1.0, -1.0]));
    assert_eq!(v["active_bounds"], serde_json::json!([0, 1]));
}

#[test]
fn bad_losses_bounds_and_scales_name_their_flag() {
    let misra = nist("Misra1a.dat");
    let cases: &[(&[&str], &str)] = &[
        (&["fit", "--nist", &misra, "--loss", "l3"], "--loss"),
        (
            &["fit", "--nist", &misra, "--loss", "huber", "--f-scale", "0"],
            "--f-scale",
        ),
        (&["fit", "--nist", &misra, "--bounds", "b1=2:1"], "--bounds"),
        (&["fit", "--nist", &misra, "--bounds", "q=0:1"], "--bounds"),
        (
            &[
                "fit", "--nist", &misra, "--bounds", "b1=0:1", "--method", "gn",
            ],
            "bounds",
        ),
        (&["fit", "--nist", &misra, "--sigma", "s"], "--sigma"),
        (&["compare", "--nist", &misra, "--loss", "nope"], "--loss"),
        (
            &["compare", "--nist", &misra, "--f-scale", "2"],
            "--f-scale",
        ),
        (
            &["compare", "--problem", "rosenbrock", "--loss", "huber"],
            "--loss",
        ),
        (&["minimize", "--method", "trust-exact:radius=-1"], "radius"),
    ];
    for (args, flag) in cases {
        let (code, out, err) = descent(args);
        assert_ne!(code, 0, "{args:?} succeeded: {out}");
        assert_eq!(
            err.trim().lines().count(),
            1,
            "{args:?}: not one line: {err}"
        );
        assert!(err.contains(flag), "{args:?}: does not name {flag}: {err}");
    }
}

#[test]
fn bad_input_gives_one_line_and_nonzero_exit() {
    let cases: &[&[&str]] = &[
        &["minimize", "--method", "nosuch"],
        &["minimize", "--problem", "nosuch"],
        &["minimize", "--problem", "watson:40"],
        &["minimize", "--expr", "x1 + * 2"],
        &["minimize", "--expr", "foo(x1)"],
        &["minimize", "--problem", "rosenbrock", "--x0", "1,2,3"],
        &["minimize", "--problem", "rosenbrock", "--x0", "nan,1"],
        &["minimize", "--problem", "rosenbrock", "--x0", "1,abc"],
        &["minimize", "--expr", "log(x1)", "--x0", "-1"],
        &["minimize", "--method", "cg", "--beta", "xx"],
        &["minimize", "--method", "adam", "--line-search", "wolfe"],
        &["minimize", "--line-search", "fancy"],
        &["minimize", "--method", "gd", "--lr", "-1"],
        &["minimize", "--method", "lbfgs", "--secant", "fancy"],
        &["minimize", "--method", "cg", "--secant", "standard"],
        &["minimize", "--method", "lm"],
        &["minimize", "--method", "lbfgs:memory=0"],
        &["minimize", "--method", "lbfgs:memory"],
        &["minimize", "--method", "adam:beta1=1.5"],
        &["minimize", "--resume", "/nonexistent/checkpoint"],
        &["minimize", "--bogus-flag"],
        &["minimize", "--method", "trust-exact:radius=-1"],
        &["minimize", "--bounds", "0:1,0:1,0:1"],
        &["minimize", "--bounds", "2:1"],
        &["minimize", "--bounds", "nan:1"],
        &["minimize", "--bounds", "0-1"],
        &["minimize", "--bounds", "0:1", "--method", "newton"],
        &["minimize", "--bounds", "0:1", "--method", "cg"],
        &[
            "minimize",
            "--bounds",
            "0:1",
            "--method",
            "gd",
            "--line-search",
            "wolfe",
        ],
    ];
    for args in cases {
        let (code, out, err) = descent(args);
        assert_ne!(code, 0, "{args:?} succeeded: {out}");
        assert_eq!(
            err.trim().lines().count(),
            1,
            "{args:?}: not one line: {err}"
        );
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn objective_turning_nan_mid_run_is_a_typed_termination() {
    // sqrt of a negative once x1 passes 3: gradient descent walks there with a large rate.
    let v = json(&[
        "minimize",
        "--expr",
        "sqrt(3 - x1) - x1",
        "--x0",
        "0",
        "--method",
        "gd",
        "--lr",
        "1",
        "--json",
    ]);
    assert_eq!(v["termination"], "non_finite");
    assert_eq!(v["converged"], false);
    assert!(v["f"].as_f64().unwrap().is_finite());
}

fn nist(name: &str) -> String {
    let path = format!("{}/../../data/nist/{name}", env!("CARGO_MANIFEST_DIR"));
    assert!(
        std::path::Path::new(&path).exists(),
        "the NIST StRD files are in the repository: {path}"
    );
    path
}

fn misra_csv() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("descent-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("misra.csv");
    // Written aside and renamed: tests in other threads read it meanwhile.
    let aside = dir.join(format!("misra.csv.{:?}", std::thread::current().id()));
    std::fs::write(
        &aside,
        "pressure,y\n77.6,10.07\n114.9,14.73\n141.1,17.94\n190.8,23.93\n239.9,29.61\n289.0,35.18\n332.8,40.02\n378.4,44.82\n434.8,50.76\n477.3,55.05\n536.8,61.01\n593.1,66.40\n689.1,75.47\n760.0,81.78\n",
    )
    .unwrap();
    std::fs::rename(&aside, &p).unwrap();
    p
}

#[test]
fn fit_nist_json_contract() {
    let v = json(&[
        "fit",
        "--nist",
        &nist("Misra1a.dat"),
        "--start",
        "2",
        "--json",
    ]);
    for key in [
        "params",
        "std_errors",
        "rss",
        "iterations",
        "f_evals",
        "jac_evals",
        "converged",
        "termination",
    ] {
        assert!(v.get(key).is_some(), "missing {key}: {v}");
    }
    let b1 = v["params"]["b1"].as_f64().unwrap();
    assert!((b1 - 2.3894212918e2).abs() < 1e-6 * 2.39e2);
    let se = v["std_errors"]["b2"].as_f64().unwrap();
    assert!((se - 7.2668688436e-6).abs() < 1e-4 * 7.27e-6);
    assert!((v["rss"].as_f64().unwrap() - 1.2455138894e-1).abs() < 1e-9);
    assert_eq!(v["converged"], true);
}

#[test]
fn fit_user_model_on_csv() {
    let csv = misra_csv();
    let v = json(&[
        "fit",
        "--model",
        "b1*(1-exp(-b2*x))",
        "--data",
        csv.to_str().unwrap(),
        "--x",
        "pressure",
        "--init",
        "b1=500,b2=1e-4",
        "--json",
    ]);
    assert!((v["params"]["b2"].as_f64().unwrap() - 5.5015643181e-4).abs() < 1e-6 * 5.5e-4);
    // Independent variables by column name, no --x.
    let v = json(&[
        "fit",
        "--model",
        "b1*(1-exp(-b2*pressure))",
        "--data",
        csv.to_str().unwrap(),
        "--init",
        "b1=500,b2=1e-4",
        "--json",
    ]);
    assert!((v["params"]["b1"].as_f64().unwrap() - 2.3894212918e2).abs() < 1e-5 * 2.39e2);
}

#[test]
fn a_fit_resumes_only_on_the_rows_it_was_saved_on() {
    let csv = misra_csv();
    let dir = csv.parent().unwrap();
    let tripled = dir.join("misra_tripled.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    let mut out = format!("{}\n", lines.next().unwrap());
    for l in lines {
        let (x, y) = l.split_once(',').unwrap();
        out.push_str(&format!("{x},{}\n", 3.0 * y.parse::<f64>().unwrap()));
    }
    std::fs::write(&tripled, out).unwrap();
    let ckpt = dir.join("misra_fit.ckpt");
    let fit = |data: &std::path::Path, more: &[&str]| {
        let mut args = vec![
            "fit",
            "--model",
            "b1*(1-exp(-b2*pressure))",
            "--data",
            data.to_str().unwrap(),
            "--init",
            "b1=500,b2=1e-4",
            "--json",
        ];
        args.extend(more);
        descent(&args)
    };
    let (code, _, err) = fit(&csv, &["--max-iter", "2", "--save", ckpt.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = fit(&tripled, &["--resume", ckpt.to_str().unwrap()]);
    assert_ne!(code, 0, "resumed on other data: {out}");
    assert!(err.contains("saved on other data"), "{err}");
    // On its own rows it resumes, to the fit's certified answer.
    let (code, out, err) = fit(&csv, &["--resume", ckpt.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert!((v["params"]["b1"].as_f64().unwrap() - 2.3894212918e2).abs() < 1e-5 * 2.39e2);
}

#[test]
fn a_nist_file_cut_short_is_refused() {
    let text = std::fs::read_to_string(nist("Misra1a.dat")).unwrap();
    let cut: Vec<&str> = text.lines().take(62).collect();
    let path = misra_csv().parent().unwrap().join("Misra1a_cut.dat");
    std::fs::write(&path, cut.join("\n")).unwrap();
    refused(
        &["fit", "--nist", path.to_str().unwrap()],
        "declares 14 observations but the file has 2",
    );
}

#[test]
fn argument_errors_name_what_is_missing_and_take_negative_numbers_as_values() {
    for (args, says) in [
        (&["predict"][..], "--model <MODEL>, --data <DATA>"),
        (&["train", "--layers", "2,3"][..], "--data <DATA>"),
        // A negative value reaches the check of its sign instead of being taken for a flag.
        (
            &[
                "train",
                "--data",
                "synthetic:spirals:60",
                "--layers",
                "2,4,2",
                "--lr",
                "-1",
            ][..],
            "--lr: must be positive",
        ),
        (
            &[
                "train",
                "--data",
                "synthetic:spirals:60",
                "--layers",
                "2,4,2",
                "--threads",
                "100000",
            ][..],
            "100000 is more than 1024",
        ),
        (
            &["minimize", "--method", "gd", "--schedule", "cosine:0"][..],
            "TOTAL must be a whole number",
        ),
        (
            &["minimize", "--method", "gd", "--schedule", "step:-1:5"][..],
            "GAMMA must be finite and above 0",
        ),
    ] {
        refused(args, says);
    }
    // An expression may start with a minus sign.
    let v = json(&["minimize", "--expr", "-x1 + x1^2", "--json"]);
    assert!((v["x"][0].as_f64().unwrap() - 0.5).abs() < 1e-6, "{v}");
}

#[test]
fn inputs_that_would_be_misread_or_lose_a_run_are_refused_before_any_work() {
    let misra = misra_csv();
    let m = misra.to_str().unwrap();
    let flowers = format!("csv:{},target=kind", labelled_csv().display());
    let blank = tmp("blank_label.csv");
    std::fs::write(&blank, "a,b,kind\n1,2,red\n3,4,\n5,6,blue\n").unwrap();
    let blank = format!("csv:{},target=kind", blank.display());
    let huge = tmp("huge_feature.csv");
    std::fs::write(
        &huge,
        "a,b,y\n1e200,1,1\n3e200,2,2\n-2e200,3,3\n5e200,4,4\n2e200,5,5\n",
    )
    .unwrap();
    let huge = format!("csv:{},target=y", huge.display());
    let one_row = tmp("one_row.csv");
    std::fs::write(&one_row, "pressure,y\n77.6,10.07\n").unwrap();
    let fit = |model: &'static str, data: &str, init: &'static str| -> Vec<String> {
        owned(&["fit", "--model", model, "--data", data, "--init", init])
    };
    let train = |more: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = owned(&[
            "train", "--data", &flowers, "--layers", "2,4,3", "--epochs", "1",
        ]);
        v.extend(more.iter().map(|s| s.to_string()));
        v
    };
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            fit("b1*(1-exp(-b2*pressure))", m, "pressure=1,b1=500,b2=1e-4"),
            "also a data column",
        ),
        (fit("b1 + b2*y", m, "b1=1,b2=1"), "is the response column"),
        (
            fit(
                "b1*(1-exp(-b2*pressure))",
                one_row.to_str().unwrap(),
                "b1=500,b2=1e-4",
            ),
            "fewer than the model's 2 parameters",
        ),
        (
            train(&["--save", "/nonexistent-descent-dir/m.safetensors"]),
            "there is no directory",
        ),
        (
            train(&["--save", std::env::temp_dir().to_str().unwrap()]),
            "is a directory",
        ),
        (
            train(&["--optimizer", "adam", "--weight-decay", "-1"]),
            "--weight-decay: must be finite",
        ),
        (
            train(&["--optimizer", "adam", "--l2", "0.1"]),
            "--l2: is a term of the full-batch objective",
        ),
        (
            train(&["--optimizer", "lm", "--loss", "mse", "--l2", "0.1"]),
            "--l2: lm fits the network's residuals",
        ),
        (
            train(&["--optimizer", "lbfgs", "--l2", "-0.5"]),
            "--l2: must be finite and at least 0",
        ),
        (
            train(&["--optimizer", "lbfgs", "--plateau", "0.5:3"]),
            "--plateau: scales a step rule's",
        ),
        (
            train(&["--optimizer", "adam", "--min-grad", "1"]),
            "--min-grad: stops full-batch",
        ),
        (
            train(&["--optimizer", "lbfgs", "--master-weights", "f64"]),
            "--master-weights: f64 master",
        ),
        (
            owned(&["train", "--data", &blank, "--layers", "2,4,3"]),
            "the target 'kind' is missing",
        ),
        (
            owned(&[
                "train",
                "--data",
                &huge,
                "--layers",
                "2,4,1",
                "--no-standardize",
            ]),
            "beyond f32's range",
        ),
        (
            owned(&[
                "train", "--data", &flowers, "--layers", "2,4,3", "--epochs", "0",
            ]),
            "--epochs: must be at least 1",
        ),
        (
            owned(&[
                "train",
                "--data",
                "synthetic:spirals:1",
                "--layers",
                "2,4,2",
            ]),
            "needs at least 2 points",
        ),
        (
            owned(&[
                "train",
                "--data",
                "synthetic:parity:20",
                "--layers",
                "20,4,2",
            ]),
            "bits must be 1 to 16",
        ),
        (
            owned(&["minimize", "--method", "lbfgs:memory=5:memory=6"]),
            "'memory' is set twice",
        ),
        (
            owned(&[
                "train",
                "--data",
                &format!("{flowers},target=a"),
                "--layers",
                "1,4,3",
            ]),
            "target= is given twice",
        ),
        (
            fit("b1*(1-exp(-b2*pressure))", m, "b1=500,b2=1e-4")
                .into_iter()
                .chain(["--f-scale".into(), "2".into()])
                .collect(),
            "the linear loss has none",
        ),
        (
            owned(&["compare", "--problem", "rosenbrock", "--layers", "2,3"]),
            "--layers sets up a network",
        ),
        (
            owned(&[
                "compare",
                "--data",
                &flowers,
                "--layers",
                "2,4,3",
                "--max-iter",
                "3",
            ]),
            "--max-iter is for objectives",
        ),
        (
            owned(&["minimize", "--x0", "1,2", "--resume", "run.ckpt"]),
            "cannot be used with",
        ),
        (
            owned(&["minimize", "--expr", "x1^2 + inf"]),
            "'inf' at column 8",
        ),
    ];
    for (args, says) in &cases {
        refused(&args.iter().map(String::as_str).collect::<Vec<_>>(), says);
    }
    // A comparison refuses a method that cannot train the network before training the
    // others (nothing written).
    let out = tmp("refused_comparison");
    let args = [
        "compare",
        "--data",
        &flowers,
        "--layers",
        "2,4,3",
        "--methods",
        "adam,lm",
        "--epochs",
        "1",
        "--out",
        out.to_str().unwrap(),
    ];
    let (code, _, err) = descent(&args);
    assert_ne!(code, 0);
    assert!(
        err.contains("method 'lm' does not apply") && !err.contains("training with"),
        "{err}"
    );
    assert!(!out.exists());
}

#[test]
fn fit_bad_input_gives_one_line() {
    let csv = misra_csv();
    let c = csv.to_str().unwrap();
    let cases: &[&[&str]] = &[
        &[
            "fit",
            "--model",
            "b1*(1-exp(-b2*pressure))",
            "--data",
            c,
            "--init",
            "b1=500",
        ],
        &[
            "fit",
            "--model",
            "b1*(1-exp(-b2*x))",
            "--data",
            c,
            "--init",
            "b1=500,b2=1e-4",
            "--x",
            "nosuch",
        ],
        &[
            "fit",
            "--model",
            "b1*(1-exp(-b2*temp))",
            "--data",
            c,
            "--init",
            "b1=500,b2=1e-4",
        ],
        &[
            "fit",
            "--model",
            "b1*(1-exp(-b2*pressure",
            "--data",
            c,
            "--init",
            "b1=500,b2=1e-4",
        ],
        &[
            "fit",
            "--model",
            "b1*log(-b2*pressure)",
            "--data",
            c,
            "--init",
            "b1=500,b2=1e-4",
        ],
        &[
            "fit",
            "--model",
            "b1*pressure",
            "--data",
            c,
            "--init",
            "b1=abc",
        ],
        &[
            "fit",
            "--model",
            "b1*pressure",
            "--data",
            "/nonexistent.csv",
            "--init",
            "b1=1",
        ],
        &["fit", "--nist", "/nonexistent.dat"],
        &["fit", "--nist", &nist("Misra1a.dat"), "--start", "3"],
        &["fit", "--nist", &nist("Misra1a.dat"), "--method", "bogus"],
    ];
    for args in cases {
        let (code, out, err) = descent(args);
        assert_ne!(code, 0, "{args:?} succeeded: {out}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(!err.contains("panicked"));
    }
}

fn tmp(name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("descent-cli-train-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn labelled_csv() -> std::path::PathBuf {
    let p = tmp("flowers.csv");
    let mut s = String::from("a,b,kind\n");
    for i in 0..60 {
        let c = i % 3;
        let (x, y) = (
            c as f64 * 2.0 + (i as f64 * 0.37).sin() * 0.3,
            c as f64 - (i as f64 * 0.91).cos() * 0.3,
        );
        s.push_str(&format!("{x},{y},{}\n", ["red", "green", "blue"][c]));
    }
    std::fs::write(&p, s).unwrap();
    p
}

#[test]
fn train_json_contract_save_predict_resume() {
    let csv = labelled_csv();
    let data = format!("csv:{},target=kind", csv.display());
    let model = tmp("model.safetensors");
    let v = json(&[
        "train",
        "--data",
        &data,
        "--layers",
        "2,16,3",
        "--epochs",
        "40",
        "--lr",
        "0.03",
        "--batch-size",
        "8",
        "--standardize",
        "--save",
        model.to_str().unwrap(),
        "--json",
    ]);
    for key in [
        "epochs",
        "test_loss",
        "test_accuracy",
        "params",
        "samples_per_second",
    ] {
        assert!(v.get(key).is_some(), "missing {key}: {v}");
    }
    let e = &v["epochs"][0];
    for key in ["epoch", "train_loss", "val_loss", "val_accuracy", "seconds"] {
        assert!(e.get(key).is_some(), "epoch record lacks {key}: {e}");
    }
    assert!(v["test_accuracy"].as_f64().unwrap() >= 0.9, "{v}");
    assert_eq!(v["params"], 2 * 16 + 16 + 16 * 3 + 3);
    let p = json(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--data",
        &data,
        "--json",
    ]);
    assert!(p["accuracy"].as_f64().unwrap() >= 0.9);
    assert_eq!(p["predictions"].as_array().unwrap().len(), 60);
    // 4 epochs straight equal 2 + resume 2.
    let m2 = tmp("half.safetensors");
    let common = [
        "--data",
        data.as_str(),
        "--layers",
        "2,16,3",
        "--lr",
        "0.03",
        "--batch-size",
        "8",
        "--seed",
        "3",
        "--json",
    ];
    let mut a: Vec<&str> = vec!["train", "--epochs", "4"];
    a.extend(common);
    let straight = json(&a);
    let mut b: Vec<&str> = vec!["train", "--epochs", "2", "--save", m2.to_str().unwrap()];
    b.extend(common);
    json(&b);
    let mut c: Vec<&str> = vec!["train", "--epochs", "4", "--resume", m2.to_str().unwrap()];
    c.extend(common);
    let resumed = json(&c);
    assert_eq!(straight["test_loss"], resumed["test_loss"]);
    // Not on other data: rows whose features are scaled by 2 (other statistics).
    let other = tmp("flowers_scaled.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    let mut scaled = format!("{}\n", lines.next().unwrap());
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        let (a, b): (f64, f64) = (f[0].parse().unwrap(), f[1].parse().unwrap());
        scaled.push_str(&format!("{},{},{}\n", 2.0 * a, 2.0 * b, f[2]));
    }
    std::fs::write(&other, scaled).unwrap();
    let other_data = format!("csv:{},target=kind", other.display());
    let mut d: Vec<&str> = vec!["train", "--epochs", "4", "--resume", m2.to_str().unwrap()];
    d.extend(common);
    d[6] = other_data.as_str();
    let (code, _, err) = descent(&d);
    assert_ne!(code, 0);
    assert!(err.contains("not the data the run was saved with"), "{err}");
    assert_eq!(
        straight["epochs"][3]["train_loss"],
        resumed["epochs"][3]["train_loss"]
    );
}

#[test]
fn predict_scores_rows_of_some_classes_by_the_model_s_class_names() {
    let csv = labelled_csv();
    let model = tmp("named.safetensors");
    json(&[
        "train",
        "--data",
        &format!("csv:{},target=kind", csv.display()),
        "--layers",
        "2,16,3",
        "--epochs",
        "10",
        "--lr",
        "0.03",
        "--batch-size",
        "8",
        "--save",
        model.to_str().unwrap(),
        "--json",
    ]);
    let text = std::fs::read_to_string(&csv).unwrap();
    let (header, rows) = text.split_once('\n').unwrap();
    let predict = |name: &str, keep: &dyn Fn(&str) -> bool| {
        let part = tmp(name);
        let kept: Vec<&str> = rows.lines().filter(|l| keep(l)).collect();
        std::fs::write(&part, format!("{header}\n{}\n", kept.join("\n"))).unwrap();
        let data = format!("csv:{},target=kind", part.display());
        let args = [
            "predict",
            "--model",
            model.to_str().unwrap(),
            "--data",
            &data,
            "--json",
        ];
        let (code, out, err) = descent(&args);
        (code, out, err, kept.len())
    };
    // Rows of one class, and of two (numbered 0 and 1 among themselves): scored against
    // the model's outputs for those names.
    for (name, keep) in [
        (
            "blue.csv",
            &(|l: &str| l.ends_with(",blue")) as &dyn Fn(&str) -> bool,
        ),
        ("red_blue.csv", &|l: &str| !l.ends_with(",green")),
    ] {
        let (code, out, err, n) = predict(name, keep);
        assert_eq!(code, 0, "{name}: {err}");
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        let said = v["predictions"].as_array().unwrap();
        let truth: Vec<&str> = rows
            .lines()
            .filter(|l| keep(l))
            .map(|l| l.rsplit(',').next().unwrap())
            .collect();
        let right = said
            .iter()
            .zip(&truth)
            .filter(|(p, t)| p.as_str() == Some(**t))
            .count();
        let accuracy = v["accuracy"].as_f64().unwrap();
        assert!(
            (accuracy - right as f64 / n as f64).abs() < 1e-12,
            "{name}: {v}"
        );
        assert!(accuracy > 0.5, "{name}: {v}");
    }
    // New rows without labels: the columns are the model's inputs.
    let unlabelled = tmp("unlabelled.csv");
    let features: Vec<String> = rows
        .lines()
        .map(|l| l.rsplit_once(',').unwrap().0.to_string())
        .collect();
    std::fs::write(&unlabelled, format!("a,b\n{}\n", features.join("\n"))).unwrap();
    let on = |data: String| {
        json(&[
            "predict",
            "--model",
            model.to_str().unwrap(),
            "--data",
            &data,
            "--json",
        ])
    };
    let v = on(format!("csv:{}", unlabelled.display()));
    assert!(v["loss"].is_null() && v.get("accuracy").is_none(), "{v}");
    let full = on(format!("csv:{},target=kind", csv.display()));
    assert_eq!(v["predictions"], full["predictions"]);
    // A class the model never saw is refused, not matched by position.
    let (code, _, err, _) = predict("renamed.csv", &|l: &str| !l.ends_with(",nothing"));
    assert_eq!(code, 0, "{err}");
    let renamed = tmp("renamed.csv");
    let t = std::fs::read_to_string(&renamed)
        .unwrap()
        .replace(",red", ",crimson");
    std::fs::write(&renamed, t).unwrap();
    let data = format!("csv:{},target=kind", renamed.display());
    refused(
        &[
            "predict",
            "--model",
            model.to_str().unwrap(),
            "--data",
            &data,
        ],
        "'crimson' is not one the model knows",
    );
}

#[test]
fn train_with_lbfgs_and_lm_from_the_command_line() {
    let v = json(&[
        "train",
        "--data",
        "synthetic:spirals:300",
        "--layers",
        "2,24,24,2",
        "--activation",
        "tanh",
        "--optimizer",
        "lbfgs",
        "--epochs",
        "300",
        "--json",
    ]);
    assert!(v["test_accuracy"].as_f64().unwrap() > 0.9, "{v}");
    let v = json(&[
        "train",
        "--data",
        "synthetic:sine:100",
        "--layers",
        "1,10,1",
        "--activation",
        "tanh",
        "--loss",
        "mse",
        "--optimizer",
        "lm",
        "--init",
        "nguyen-widrow",
        "--epochs",
        "100",
        "--precision",
        "f64",
        "--val-frac",
        "0",
        "--test",
        "synthetic:sine:50",
        "--json",
    ]);
    assert!(v["test_loss"].as_f64().unwrap() < 1e-4, "{v}");
    assert!(v["test_r2"].as_f64().unwrap() > 0.999, "{v}");
}

#[test]
fn train_bad_input_gives_one_line() {
    let csv = labelled_csv();
    let data = format!("csv:{},target=kind", csv.display());
    let ragged = tmp("ragged.csv");
    std::fs::write(&ragged, "a,b,y\n1,2,0\n3,4\n").unwrap();
    let text = tmp("text.csv");
    std::fs::write(&text, "a,b,y\n1,2,0\n3,abc,1\n").unwrap();
    let nan = tmp("nan.csv");
    std::fs::write(&nan, "a,b,y\n1,2,0\n3,NaN,1\n").unwrap();
    let badidx = tmp("idx");
    std::fs::create_dir_all(&badidx).unwrap();
    for f in [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ] {
        std::fs::write(badidx.join(f), [0u8, 0, 9, 3, 0, 0, 0, 0]).unwrap();
    }
    let cases: Vec<Vec<String>> = vec![
        vec![
            "--data".into(),
            format!("csv:{}", ragged.display()),
            "--layers".into(),
            "2,4,2".into(),
        ],
        vec![
            "--data".into(),
            format!("csv:{}", text.display()),
            "--layers".into(),
            "2,4,2".into(),
        ],
        vec![
            "--data".into(),
            format!("csv:{}", nan.display()),
            "--layers".into(),
            "2,4,2".into(),
        ],
        vec![
            "--data".into(),
            format!("csv:{},target=nosuch", csv.display()),
            "--layers".into(),
            "2,4,3".into(),
        ],
        vec![
            "--data".into(),
            data.clone(),
            "--layers".into(),
            "3,4,3".into(),
        ],
        vec![
            "--data".into(),
            data.clone(),
            "--layers".into(),
            "2,4,2".into(),
        ],
        vec![
            "--data".into(),
            format!("mnist:{}", badidx.display()),
            "--layers".into(),
            "784,10".into(),
        ],
        vec![
            "--data".into(),
            data.clone(),
            "--layers".into(),
            "2,4,3".into(),
            "--optimizer".into(),
            "nosuch".into(),
        ],
        vec![
            "--data".into(),
            data.clone(),
            "--layers".into(),
            "2,4,3".into(),
            "--optimizer".into(),
            "lm".into(),
        ],
        vec![
            "--data".into(),
            "synthetic:nosuch".into(),
            "--layers".into(),
            "2,4,2".into(),
        ],
        vec![
            "--data".into(),
            data.clone(),
            "--layers".into(),
            "2,x,3".into(),
        ],
        vec![
            "--data".into(),
            data.clone(),
            "--layers".into(),
            "2,4,3".into(),
            "--resume".into(),
            "/nonexistent".into(),
        ],
    ];
    for args in cases {
        let mut a = vec!["train".to_string()];
        a.extend(args);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let (code, out, err) = descent(&a);
        assert_ne!(code, 0, "{a:?} succeeded: {out}");
        assert_eq!(err.trim().lines().count(), 1, "{a:?}: {err}");
        assert!(!err.contains("panicked"), "{a:?}: {err}");
    }
    // A diverging learning rate: a typed stop, finite weights saved.
    let model = tmp("diverged.safetensors");
    let v = json(&[
        "train",
        "--data",
        "synthetic:sine:50",
        "--layers",
        "1,8,1",
        "--loss",
        "mse",
        "--optimizer",
        "sgd",
        "--lr",
        "1e8",
        "--epochs",
        "20",
        "--save",
        model.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(v["stop"], "diverged");
    let p = json(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--data",
        "synthetic:sine:50",
        "--json",
    ]);
    assert!(p["predictions"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x.as_f64().is_some_and(f64::is_finite)));
}

#[test]
fn compare_agrees_with_minimize_and_fit_and_writes_its_files() {
    let out = tmp("cmp");
    let v = json(&[
        "compare",
        "--problem",
        "wood",
        "--methods",
        "lbfgs,bfgs,newton,lm",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    let entries = v["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 4);
    for e in entries.iter().take(3) {
        let m = e["method"].as_str().unwrap();
        let alone = json(&["minimize", "--problem", "wood", "--method", m, "--json"]);
        assert_eq!(e["f"], alone["f"], "{m}");
        assert_eq!(e["f_evals"], alone["f_evals"], "{m}");
        assert_eq!(e["iterations"], alone["iterations"], "{m}");
    }
    assert_eq!(entries[3]["reached_target"], true);
    let log = std::fs::read_to_string(out.join("iterations.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let lbfgs_iters = lines.iter().filter(|l| l["method"] == "lbfgs").count() as u64;
    assert_eq!(lbfgs_iters, entries[0]["iterations"].as_u64().unwrap());
    assert!(std::fs::read_to_string(out.join("summary.md"))
        .unwrap()
        .contains("| lbfgs |"));
    for args in [
        vec!["compare", "--methods", "lbfgs,nosuch"],
        vec!["compare", "--methods", "lbfgs,,bfgs"],
        vec!["compare", "--expr", "x1^2 + x2^2", "--methods", "bfgs,lm"],
        vec![
            "compare",
            "--methods",
            "bfgs",
            "--out",
            "/proc/not-writable/x",
        ],
    ] {
        let (code, _, err) = descent(&args);
        assert_ne!(code, 0, "{args:?}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
    }
}

#[test]
fn compare_draws_figures_and_contours_for_two_variables() {
    let out = tmp("cmp-figures");
    let (code, _, err) = descent(&[
        "compare",
        "--problem",
        "rosenbrock",
        "--methods",
        "gd,momentum,bfgs,newton",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    for stem in [
        "objective_vs_iteration",
        "objective_vs_evaluations",
        "objective_vs_time",
        "contour",
    ] {
        let png = std::fs::read(out.join(format!("{stem}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{stem}");
        let svg = std::fs::read_to_string(out.join(format!("{stem}.svg"))).unwrap();
        assert!(svg.contains("<svg") && svg.contains("momentum"), "{stem}");
    }
}

#[test]
fn compare_nist_agrees_with_fit() {
    // MGH10 from start 1 needs Levenberg–Marquardt's restart: the budgets must match too.
    for file in ["Misra1a.dat", "MGH10.dat"] {
        let v = json(&[
            "compare",
            "--nist",
            &nist(file),
            "--methods",
            "lm,gn",
            "--json",
        ]);
        let alone = json(&["fit", "--nist", &nist(file), "--json"]);
        let lm = &v["entries"][0];
        assert_eq!(lm["f"], alone["rss"], "{file}");
        assert_eq!(lm["iterations"], alone["iterations"], "{file}");
        assert_eq!(lm["f_evals"], alone["f_evals"], "{file}");
        assert_eq!(lm["reached_target"], true, "{file}");
    }
}

#[test]
fn compare_training_agrees_with_train_and_checks_first() {
    let out = tmp("cmp-train");
    let common = [
        "--data",
        "synthetic:spirals:300",
        "--layers",
        "2,16,2",
        "--activation",
        "tanh",
        "--epochs",
        "8",
        "--threads",
        "1",
    ];
    let mut args = vec!["compare", "--methods", "adam,lbfgs", "--json", "--out"];
    args.push(out.to_str().unwrap());
    args.extend(common);
    let v = json(&args);
    let entries = v["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    for e in entries {
        let m = e["method"].as_str().unwrap();
        let mut alone_args = vec!["train", "--optimizer", m, "--json"];
        alone_args.extend(common);
        let alone = json(&alone_args);
        let last = alone["epochs"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(e["train_loss"], last["train_loss"], "{m}");
        assert_eq!(e["val_loss"], last["val_loss"], "{m}");
        assert_eq!(e["test_accuracy"], alone["test_accuracy"], "{m}");
    }
    for stem in [
        "loss_vs_epoch",
        "val_loss_vs_epoch",
        "loss_vs_time",
        "accuracy_vs_epoch",
    ] {
        assert!(out.join(format!("{stem}.png")).exists(), "{stem}");
    }
    let log = std::fs::read_to_string(out.join("iterations.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 16);
    // Unknown optimizer: one line, before any training.
    let mut bad = vec!["compare", "--methods", "adam,nosuch"];
    bad.extend(common);
    let (code, _, err) = descent(&bad);
    assert_ne!(code, 0);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("nosuch"), "{err}");
}

#[test]
fn report_writes_every_section_and_its_figures() {
    let out = tmp("report");
    let (code, _, err) = descent(&["report", "--out", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert_eq!(md.matches("\n## ").count(), 11, "{md}");
    assert!(md.contains("11 of 11 sections"));
    let mut figures = 0;
    for line in md.lines().filter(|l| l.starts_with("![")) {
        let file = line.rsplit_once('(').unwrap().1.trim_end_matches(')');
        let png = std::fs::read(out.join(file)).unwrap();
        assert_eq!(&png[..4], b"\x89PNG", "{file}");
        assert!(out.join(file.replace(".png", ".svg")).exists(), "{file}");
        figures += 1;
    }
    assert!(figures >= 15, "{figures} figures");
    let (code, _, err) = descent(&["report", "--out", "/proc/not-writable/report"]);
    assert_ne!(code, 0);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_a_comparison_and_keeps_what_finished() {
    // bfgs finishes at once; gd on Watson (n = 9) runs for minutes. Ctrl-C
    // (SIGINT) must end gd early and still write the table and files.
    let out = tmp("cmp-interrupt");
    let child = Command::new(env!("CARGO_BIN_EXE_descent"))
        .args([
            "compare",
            "--problem",
            "watson:9",
            "--methods",
            "bfgs,gd,lbfgs",
            "--max-iter",
            "100000000",
            "--json",
            "--out",
            out.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    // SAFETY: sending a signal to our own child process.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["interrupted"], true);
    let entries = v["entries"].as_array().unwrap();
    // bfgs finished; gd was stopped (its partial run is kept); lbfgs never started.
    assert_eq!(entries.len(), 2, "{v}");
    assert_eq!(entries[0]["method"], "bfgs");
    assert_eq!(entries[0]["converged"], true);
    assert_eq!(entries[1]["termination"], "observer_stop");
    assert!(out.join("summary.md").exists() && out.join("objective_vs_iteration.png").exists());
}

#[test]
fn methods_json_is_the_registry() {
    let v = json(&["methods", "--json"]);
    let all = v.as_array().unwrap();
    assert_eq!(all.len(), 40);
    for m in all {
        for field in [
            "name",
            "description",
            "applies_to",
            "needs",
            "settings",
            "reference",
        ] {
            assert!(!m[field].is_null(), "{m}: no {field}");
        }
        for a in m["applies_to"].as_array().unwrap() {
            let a = a.as_str().unwrap();
            assert!(
                ["objective", "least_squares", "minibatch", "fullbatch"].contains(&a),
                "{a}"
            );
        }
    }
    let lbfgs = all.iter().find(|m| m["name"] == "lbfgs").unwrap();
    assert_eq!(lbfgs["settings"]["memory"], "10");
    let lm = all.iter().find(|m| m["name"] == "lm").unwrap();
    assert!(lm["needs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n == "jacobian"));
}

#[test]
fn settings_a_method_does_not_have_are_refused_by_name() {
    for (args, setting) in [
        (&["--method", "bfgs", "--memory", "5"][..], "memory"),
        (&["--method", "lbfgs", "--lr", "0.1"][..], "lr"),
        (&["--method", "bfgs:memory=5"][..], "memory"),
        (&["--method", "gd", "--beta", "hz"][..], "beta"),
    ] {
        let mut full = vec!["minimize", "--problem", "rosenbrock"];
        full.extend_from_slice(args);
        let (code, _, err) = descent(&full);
        assert_ne!(code, 0, "{full:?}");
        assert!(err.contains(setting), "{full:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
    // A spec and the equivalent flags run the same method.
    let a = json(&["minimize", "--method", "lbfgs:memory=5", "--json"]);
    let b = json(&["minimize", "--method", "lbfgs", "--memory", "5", "--json"]);
    assert_eq!(a["x"], b["x"]);
    assert_eq!(a["f_evals"], b["f_evals"]);
}

#[test]
fn step_rules_have_the_same_defaults_in_minimize_and_train() {
    // Both build from the registry: the defaults JSON lists are the ones both use, and a
    // setting refused by one is refused by the other.
    let (code, _, err) = descent(&[
        "train",
        "--data",
        "synthetic:moons:40",
        "--layers",
        "2,4,2",
        "--optimizer",
        "lbfgs",
        "--lr",
        "0.1",
        "--epochs",
        "1",
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("lr") && err.contains("lbfgs"), "{err}");
    let (code, _, err) = descent(&[
        "train",
        "--data",
        "synthetic:moons:40",
        "--layers",
        "2,4,2",
        "--optimizer",
        "newton",
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("newton"), "{err}");
}

#[test]
fn minimize_resumes_exactly() {
    let s = tmp("lbfgs.ckpt");
    let whole = json(&[
        "minimize",
        "--problem",
        "rosenbrock",
        "--method",
        "lbfgs",
        "--json",
    ]);
    let first = json(&[
        "minimize",
        "--problem",
        "rosenbrock",
        "--method",
        "lbfgs",
        "--max-iter",
        "10",
        "--save",
        s.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(first["termination"], "max_iterations");
    let rest = json(&[
        "minimize",
        "--problem",
        "rosenbrock",
        "--method",
        "lbfgs",
        "--resume",
        s.to_str().unwrap(),
        "--json",
    ]);
    for field in ["iterations", "f_evals", "g_evals", "f", "x", "termination"] {
        assert_eq!(whole[field], rest[field], "{field}");
    }
    // Another method or problem cannot continue it.
    let (code, _, err) = descent(&[
        "minimize",
        "--problem",
        "rosenbrock",
        "--method",
        "bfgs",
        "--resume",
        s.to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("lbfgs"), "{err}");
    // A step rule resumes exactly too (its moments are saved).
    let a = tmp("adam.ckpt");
    let whole = json(&[
        "minimize",
        "--method",
        "adam:lr=0.01",
        "--max-iter",
        "300",
        "--json",
    ]);
    json(&[
        "minimize",
        "--method",
        "adam:lr=0.01",
        "--max-iter",
        "100",
        "--save",
        a.to_str().unwrap(),
        "--json",
    ]);
    let rest = json(&[
        "minimize",
        "--method",
        "adam:lr=0.01",
        "--max-iter",
        "300",
        "--resume",
        a.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(whole["x"], rest["x"]);
    assert_eq!(whole["f_evals"], rest["f_evals"]);
}

#[test]
fn fit_resumes_exactly() {
    let s = tmp("lm.ckpt");
    let file = nist("MGH10.dat");
    let whole = json(&["fit", "--nist", &file, "--json"]);
    let first = json(&[
        "fit",
        "--nist",
        &file,
        "--max-iter",
        "7",
        "--save",
        s.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(first["termination"], "max_iterations");
    let rest = json(&[
        "fit",
        "--nist",
        &file,
        "--resume",
        s.to_str().unwrap(),
        "--json",
    ]);
    for field in [
        "iterations",
        "f_evals",
        "jac_evals",
        "rss",
        "params",
        "termination",
    ] {
        assert_eq!(whole[field], rest[field], "{field}");
    }
}

#[test]
fn compare_keeps_the_callers_tolerances() {
    let c = json(&[
        "compare",
        "--problem",
        "rosenbrock",
        "--methods",
        "lbfgs",
        "--gtol",
        "1e-2",
        "--json",
    ]);
    let m = json(&[
        "minimize",
        "--problem",
        "rosenbrock",
        "--method",
        "lbfgs",
        "--gtol",
        "1e-2",
        "--json",
    ]);
    let e = &c["entries"][0];
    assert_eq!(e["iterations"], m["iterations"]);
    assert_eq!(e["f_evals"], m["f_evals"]);
    assert_eq!(e["f"], m["f"]);
}

#[test]
fn a_diverging_step_rule_keeps_finite_weights() {
    let path = tmp("diverged.safetensors");
    let v = json(&[
        "train",
        "--data",
        "synthetic:moons",
        "--layers",
        "2,8,2",
        "--optimizer",
        "sgd",
        "--lr",
        "1e30",
        "--save",
        path.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(v["stop"], "diverged");
    // The saved weights are finite: prediction with them gives finite outputs.
    let p = json(&[
        "predict",
        "--model",
        path.to_str().unwrap(),
        "--data",
        "synthetic:moons",
        "--json",
    ]);
    assert!(p["loss"].as_f64().unwrap().is_finite(), "{p}");
}

#[test]
fn full_batch_training_resumes_exactly_from_the_command_line() {
    let path = tmp("lbfgs-net.safetensors");
    let base = [
        "train",
        "--data",
        "synthetic:moons:200",
        "--layers",
        "2,8,2",
        "--activation",
        "tanh",
        "--optimizer",
        "lbfgs",
        "--precision",
        "f64",
        "--json",
    ];
    let with = |extra: &[&str]| {
        let mut a: Vec<&str> = base.to_vec();
        a.extend_from_slice(extra);
        json(&a)
    };
    let straight = with(&["--epochs", "6"]);
    with(&["--epochs", "3", "--save", path.to_str().unwrap()]);
    let resumed = with(&["--epochs", "6", "--resume", path.to_str().unwrap()]);
    let losses = |v: &serde_json::Value| -> Vec<serde_json::Value> {
        v["epochs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| serde_json::json!([e["train_loss"], e["val_loss"]]))
            .collect()
    };
    assert_eq!(losses(&straight), losses(&resumed));
    assert_eq!(straight["test_loss"], resumed["test_loss"]);
}

/// The 20-point set of `golden/fit_vs_scipy.json` as a CSV (`x,y,sigma`) in a fresh
/// folder named after `test`: (the golden file, the folder, the CSV).
fn golden_fit_data(test: &str) -> (serde_json::Value, std::path::PathBuf, std::path::PathBuf) {
    let golden: serde_json::Value =
        serde_json::from_str(include_str!("golden/fit_vs_scipy.json")).unwrap();
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("descent-{test}-golden-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("expdecay.csv");
    let col = |k: &str| -> Vec<f64> {
        golden[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect()
    };
    let (x, y, sigma) = (col("x"), col("y"), col("sigma"));
    let mut text = String::from("x,y,sigma\n");
    for i in 0..x.len() {
        text += &format!("{:?},{:?},{:?}\n", x[i], y[i], sigma[i]);
    }
    std::fs::write(&csv, text).unwrap();
    (golden, dir, csv)
}

/// SciPy's answers on a 20-point exponential decay with two outliers, written by
/// `bench/fit_vs_scipy.py` (SciPy 1.17: `least_squares(method="trf", loss=…, f_scale=0.1)`
/// and `curve_fit(sigma=…, absolute_sigma=…)`, tolerances 1e-15, analytic Jacobians;
/// `params_newton_polished` are the exact minimizers, Newton on the cost from SciPy's
/// answer).
#[test]
fn robust_and_weighted_fits_match_scipy() {
    let (golden, dir, csv) = golden_fit_data("robust");
    let names = ["a", "b", "c"];
    let p0 = &golden["p0"];
    let init = names.map(|n| format!("{n}={}", p0[n])).join(",");
    let model = golden["model"].as_str().unwrap();
    let check = |extra: &[&str], expected: &serde_json::Value, tol: f64, what: &str| {
        let mut args = vec![
            "fit",
            "--model",
            model,
            "--data",
            csv.to_str().unwrap(),
            "--x",
            "x",
            "--y",
            "y",
            "--init",
            &init,
            "--json",
        ];
        args.extend_from_slice(extra);
        let v = json(&args);
        for n in names {
            let (got, want) = (
                v["params"][n].as_f64().unwrap(),
                expected[n].as_f64().unwrap(),
            );
            assert!(
                ((got - want) / want).abs() <= tol,
                "{what}: {n} = {got}, SciPy {want}"
            );
        }
        v
    };
    for (loss, case) in golden["robust"].as_object().unwrap() {
        // The linear fit converges linearly here: both tools stop ~1e-6 from the exact
        // minimizer on the same 1e-15 cost test, so it is compared with that.
        let (expected, tol) = if loss == "linear" {
            (&case["params_newton_polished"], 2e-6)
        } else {
            (&case["params"], 1e-6)
        };
        // (SciPy ignores f_scale with the linear loss; descent refuses it.)
        let scale: &[&str] = if loss == "linear" {
            &[]
        } else {
            &["--f-scale", "0.1"]
        };
        let v = check(
            &[&["--loss", loss.as_str()][..], scale].concat(),
            expected,
            tol,
            loss,
        );
        let cost = case["cost"].as_f64().unwrap();
        assert!(
            (v["cost"].as_f64().unwrap() - cost).abs() <= 1e-9 * cost,
            "{loss}: cost {}",
            v["cost"]
        );
    }
    for (flag, key) in [
        (None, "absolute_sigma_false"),
        (Some("--absolute-sigma"), "absolute_sigma_true"),
    ] {
        let case = &golden["weighted"][key];
        let mut extra = vec!["--sigma", "sigma"];
        extra.extend(flag);
        let v = check(&extra, &case["params"], 1e-6, key);
        for n in names {
            let (got, want) = (
                v["std_errors"][n].as_f64().unwrap(),
                case["std_errors"][n].as_f64().unwrap(),
            );
            assert!(
                ((got - want) / want).abs() <= 1e-4,
                "{key}: σ({n}) = {got}, SciPy {want}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Puromycin (treated), Bates & Watts 1988: the model named by its column (`--x conc` with
/// a model in `conc`), then a bound that cuts off the unconstrained K = 0.0641.
#[test]
fn a_bounded_fit_names_its_active_parameters() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("descent-bounded-fit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("puromycin.csv");
    std::fs::write(
        &csv,
        "conc,rate\n0.02,76\n0.02,47\n0.06,97\n0.06,107\n0.11,123\n0.11,139\n0.22,159\n0.22,152\n0.56,191\n0.56,201\n1.10,207\n1.10,200\n",
    )
    .unwrap();
    let base = [
        "fit",
        "--model",
        "Vm*conc/(K+conc)",
        "--data",
        csv.to_str().unwrap(),
        "--x",
        "conc",
        "--y",
        "rate",
        "--init",
        "Vm=200,K=0.1",
        "--json",
    ];
    let free = json(&base);
    let vm = free["params"]["Vm"].as_f64().unwrap();
    let k = free["params"]["K"].as_f64().unwrap();
    // Published: Vm = 212.7, K = 0.06412 (Bates & Watts, Table A1.3).
    assert!(
        (vm - 212.68).abs() < 0.01 && (k - 0.06412).abs() < 1e-5,
        "{vm} {k}"
    );
    // LM sits on the bound; trf, an interior method, ends within an ulp of it.
    let mut fits = Vec::new();
    for method in ["lm", "trf"] {
        let mut args = base.to_vec();
        args.extend(["--bounds", "K=0.07:1", "--method", method]);
        let v = json(&args);
        assert!(
            (v["params"]["K"].as_f64().unwrap() - 0.07).abs() < 1e-15,
            "{method}"
        );
        assert_eq!(v["active_bounds"], serde_json::json!(["K"]), "{method}");
        assert!(v["std_errors"]["K"].is_null(), "{method}");
        assert!(v["std_errors"]["Vm"].as_f64().unwrap() > 0.0, "{method}");
        fits.push(v);
    }
    // With K held at 0.07 the fit is linear in Vm: Vm = Σ yᵢuᵢ / Σ uᵢ², uᵢ = cᵢ/(K + cᵢ).
    let data: Vec<(f64, f64)> = std::fs::read_to_string(&csv)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let (c, r) = l.split_once(',').unwrap();
            (c.parse().unwrap(), r.parse().unwrap())
        })
        .collect();
    let (num, den) = data.iter().fold((0.0, 0.0), |(n, d), (c, r)| {
        let u = c / (0.07 + c);
        (n + r * u, d + u * u)
    });
    for v in &fits {
        let vm_bounded = v["params"]["Vm"].as_f64().unwrap();
        assert!(
            (vm_bounded - num / den).abs() < 1e-8 * vm_bounded,
            "{vm_bounded} vs {}",
            num / den
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Bounded fits on the 20-point set of `golden/fit_vs_scipy.json`, against SciPy 1.17
/// (`curve_fit(f, x, y, p0, bounds=…, jac=…)` and `least_squares(…, bounds=…,
/// loss="huber", f_scale=0.1)`, tolerances 1e-15): one bound active in each.
#[test]
fn bounded_fits_match_scipy_with_an_active_bound() {
    let (_, dir, csv) = golden_fit_data("bounded");
    let cases: &[(&[&str], &str, [f64; 3])] = &[
        (
            &["--bounds", "b=0.7:2"],
            "b",
            [4.393366061983813, 0.7000000000000098, 0.6514907880420421],
        ),
        (
            &["--bounds", "b=0.7:2", "--method", "lm"],
            "b",
            [4.393366061983813, 0.7000000000000098, 0.6514907880420421],
        ),
        (
            &[
                "--bounds",
                "c=-inf:1",
                "--loss",
                "huber",
                "--f-scale",
                "0.1",
            ],
            "c",
            [5.0903807288604686, 1.3266535875597405, 0.9999999999999999],
        ),
    ];
    for (extra, active, expected) in cases {
        let mut args = vec![
            "fit",
            "--model",
            "a*exp(-b*x)+c",
            "--data",
            csv.to_str().unwrap(),
            "--init",
            "a=3,b=0.8,c=0.5",
            "--json",
        ];
        args.extend_from_slice(extra);
        let v = json(&args);
        for (name, want) in ["a", "b", "c"].iter().zip(expected) {
            let got = v["params"][name].as_f64().unwrap();
            assert!(
                ((got - want) / want).abs() <= 1e-6,
                "{extra:?}: {name} = {got}, SciPy {want}"
            );
        }
        assert_eq!(v["active_bounds"], serde_json::json!([active]), "{extra:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn compare_to_a_goal_is_matlabs_benchmark() {
    // SIN from Nguyen–Widrow weights, 4 seeds: LM and L-BFGS reach MSE 0.002 in most of
    // them within 1000 epochs; a reached run's last loss is at the goal, its stop `goal`,
    // and the medians are over the runs that reached it.
    let out = tmp("goal");
    let v = json(&[
        "compare",
        "--data",
        "synthetic:matlab-sin",
        "--layers",
        "1,5,1",
        "--activation",
        "tanh",
        "--loss",
        "mse",
        "--init",
        "nguyen-widrow",
        "--goal",
        "0.002",
        "--val-frac",
        "0",
        "--precision",
        "f64",
        "--threads",
        "1",
        "--seeds",
        "4",
        "--methods",
        "lm,lbfgs",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(v["seeds"], 4);
    for e in v["entries"].as_array().unwrap() {
        let runs = e["runs"].as_array().unwrap();
        assert_eq!(runs.len(), 4);
        let reached: Vec<_> = runs.iter().filter(|r| r["reached"] == true).collect();
        assert!(reached.len() >= 3, "{e}");
        assert_eq!(e["reached"], reached.len());
        for r in &reached {
            assert!(r["train_loss"].as_f64().unwrap() <= 0.002, "{r}");
            assert_eq!(r["stop"], "goal");
            assert!(r["epochs"].as_u64().unwrap() <= 1000);
        }
        let mut epochs: Vec<f64> = reached
            .iter()
            .map(|r| r["epochs"].as_f64().unwrap())
            .collect();
        epochs.sort_by(f64::total_cmp);
        let n = epochs.len();
        let median = if n % 2 == 1 {
            epochs[n / 2]
        } else {
            0.5 * (epochs[n / 2 - 1] + epochs[n / 2])
        };
        assert_eq!(e["median_epochs"].as_f64().unwrap(), median);
    }
    assert!(out.join("summary.md").exists() && out.join("reached_vs_time.png").exists());
    // --seeds without --goal, and a goal that is not a loss, are refused in one line.
    for args in [
        &[
            "compare",
            "--data",
            "synthetic:matlab-sin",
            "--layers",
            "1,5,1",
            "--seeds",
            "3",
        ][..],
        &[
            "compare",
            "--data",
            "synthetic:matlab-sin",
            "--layers",
            "1,5,1",
            "--goal",
            "-1",
        ][..],
        &[
            "compare",
            "--data",
            "synthetic:matlab-sin",
            "--layers",
            "1,5,1",
            "--goal",
            "0.1",
            "--seeds",
            "0",
        ][..],
    ] {
        let (code, _, err) = descent(args);
        assert_ne!(code, 0, "{args:?}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
}

#[test]
fn a_regression_csv_trains_with_nothing_but_data_test_and_layers() {
    // A continuous target is a regression: the loss is chosen (mse), `auto` picks LM
    // with MATLAB's validation checks, and the test R² is reported.
    let write = |name: &str, offset: usize| {
        let mut s = String::from("x1,x2,y\n");
        for i in 0..200 {
            let (a, b) = (
                ((i * 37 + offset) % 200) as f64 / 100.0 - 1.0,
                ((i * 91 + offset) % 200) as f64 / 100.0 - 1.0,
            );
            s.push_str(&format!("{a},{b},{}\n", (2.0 * a).sin() + b * b + 0.5));
        }
        let p = tmp(name);
        std::fs::write(&p, s).unwrap();
        format!("csv:{}", p.display())
    };
    let (train, test) = (write("reg_train.csv", 0), write("reg_test.csv", 7));
    let v = json(&[
        "train", "--data", &train, "--test", &test, "--layers", "2,10,1", "--json", "--quiet",
    ]);
    assert_eq!(v["loss"], "mse");
    assert_eq!(v["optimizer_chosen"], "lm");
    assert!(v["test_r2"].as_f64().unwrap() > 0.95, "{v}");
}

#[test]
fn absurd_inputs_are_refused_in_one_line_before_allocating() {
    // The inputs a first mutation run crashed on (issue: hardening): each ends with one
    // readable line and a non-zero exit, in well under a second.
    let dir = tmp("absurd");
    std::fs::create_dir_all(&dir).unwrap();
    let deep = format!("{}x1{}", "(".repeat(30_000), ")".repeat(30_000));
    let minus = format!("--expr={}x1^2", "-".repeat(60_000));
    let schedule = format!("{}const", "warmup:1:".repeat(10_000));
    // A model whose metadata declares layers of 2³² units.
    let model = dir.join("m.safetensors");
    let (code, _, err) = descent(&[
        "train",
        "--data",
        "synthetic:moons:50",
        "--layers",
        "2,4,2",
        "--epochs",
        "1",
        "--quiet",
        "--save",
        model.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let bytes = std::fs::read(&model).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = String::from_utf8(bytes[8..8 + n].to_vec()).unwrap();
    let forged = header.replace("[2,4,2]", "[2,4294967296,4294967296,2]");
    assert_ne!(forged, header);
    let mut out = (forged.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(forged.as_bytes());
    out.extend_from_slice(&bytes[8 + n..]);
    let bad_model = dir.join("bad.safetensors");
    std::fs::write(&bad_model, out).unwrap();
    // A CSV with a million columns.
    let wide = dir.join("wide.csv");
    let head: Vec<String> = (0..1_000_000).map(|i| format!("c{i}")).collect();
    std::fs::write(&wide, format!("{}\n", head.join(","))).unwrap();
    let wide = format!("csv:{}", wide.display());
    let model_arg = bad_model.to_str().unwrap().to_string();
    let cases: Vec<Vec<&str>> = vec![
        vec!["minimize", "--expr", "(x1+x2+x18446744073709551615+x4)^2"],
        vec![
            "minimize",
            "--problem",
            "extended-powell:9223372036854775808",
        ],
        vec!["minimize", "--problem", "extended-rosenbrock:2000000000"],
        vec!["minimize", "--problem", "linear-full-rank:2:1000000000000"],
        vec!["minimize", "--expr", &deep],
        vec!["minimize", &minus],
        vec![
            "minimize",
            "--expr",
            "x1^2",
            "--method",
            "gd",
            "--schedule",
            &schedule,
        ],
        vec![
            "train",
            "--data",
            "synthetic:moons",
            "--layers",
            "2,1000000,1000000,2",
        ],
        vec![
            "predict",
            "--model",
            &model_arg,
            "--data",
            "synthetic:moons:10",
        ],
        vec!["train", "--data", &wide, "--layers", "3,2,2"],
    ];
    for args in cases {
        let t = std::time::Instant::now();
        let (code, _, err) = descent(&args);
        assert_ne!(
            code,
            0,
            "{}",
            args.join(" ").chars().take(120).collect::<String>()
        );
        assert_eq!(
            err.trim().lines().count(),
            1,
            "{}",
            err.chars().take(400).collect::<String>()
        );
        assert!(!err.contains("panicked"), "{err}");
        assert!(t.elapsed().as_secs_f64() < 5.0);
    }
}

#[test]
fn a_failed_save_keeps_the_run_and_says_so_in_one_line() {
    // The folder exists (a missing one is refused before training) but takes no files:
    // the results are printed, then one line, exit 1.
    let (code, out, err) = descent(&[
        "train",
        "--data",
        "synthetic:moons:100",
        "--layers",
        "2,4,2",
        "--epochs",
        "2",
        "--json",
        "--quiet",
        "--save",
        "/proc/descent-m.safetensors",
    ]);
    assert_ne!(code, 0);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert!(v["test_accuracy"].as_f64().is_some(), "{v}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("cannot write"), "{err}");
}

/// A checkpoint or optimizer state changed after it was saved — one digit of a number,
/// one bit of a tensor — is refused by its checksum, in one line, never resumed.
#[test]
fn damaged_checkpoints_and_states_are_refused() {
    let ck = tmp("damaged.json");
    let ck_arg = ck.to_str().unwrap();
    let base = ["minimize", "--problem", "rosenbrock", "--method", "bfgs"];
    let (code, _, err) = descent(&[&base[..], &["--max-iter", "3", "--save", ck_arg]].concat());
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&ck).unwrap();
    let at = text.find("\"f\":").unwrap() + 5;
    let digit = text[at..].find(|c: char| c.is_ascii_digit()).unwrap() + at;
    let mut damaged = text.into_bytes();
    damaged[digit] = if damaged[digit] == b'7' { b'8' } else { b'7' };
    std::fs::write(&ck, &damaged).unwrap();
    let (code, _, err) = descent(&[&base[..], &["--max-iter", "6", "--resume", ck_arg]].concat());
    assert_ne!(code, 0);
    assert!(err.contains("damaged") && err.lines().count() == 1, "{err}");

    let model = tmp("damaged.safetensors");
    let model_arg = model.to_str().unwrap();
    let train = [
        "train",
        "--data",
        "synthetic:xor",
        "--layers",
        "2,4,2",
        "--optimizer",
        "adam",
    ];
    let (code, _, err) = descent(
        &[
            &train[..],
            &["--epochs", "2", "--save", model_arg, "--quiet"],
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{err}");
    let state = descent::nn::state_path(&model);
    let mut bytes = std::fs::read(&state).unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 0x10;
    std::fs::write(&state, &bytes).unwrap();
    let (code, _, err) = descent(
        &[
            &train[..],
            &["--epochs", "4", "--resume", model_arg, "--quiet"],
        ]
        .concat(),
    );
    assert_ne!(code, 0);
    assert!(err.contains("damaged") && err.lines().count() == 1, "{err}");
}

/// A save onto a full disk (a 256 KiB tmpfs, filled): the run's results are printed, then
/// one line, exit non-zero; the previous model and its optimizer state stay as they were
/// and load; no temporary file is left. The same for a checkpoint during the run. Needs
/// permission to mount a tmpfs (root, as in CI); skipped otherwise.
#[test]
fn a_save_onto_a_full_disk_keeps_the_previous_files() {
    let dir = std::env::temp_dir().join(format!("descent-full-disk-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
        .arg(&dir)
        .output()
        .is_ok_and(|o| o.status.success());
    if !mounted {
        eprintln!("skipped: cannot mount a tmpfs here");
        return;
    }
    let model = dir.join("m.safetensors");
    let model_arg = model.to_str().unwrap();
    let train = |extra: &[&str]| {
        let mut args = vec![
            "train",
            "--data",
            "synthetic:xor",
            "--layers",
            "2,8,2",
            "--json",
            "--quiet",
        ];
        args.extend_from_slice(extra);
        descent(&args)
    };
    let (code, _, err) = train(&["--epochs", "3", "--save", model_arg]);
    assert_eq!(code, 0, "{err}");
    let before = std::fs::read(&model).unwrap();
    // Fill the disk.
    let mut filler = std::fs::File::create(dir.join("filler")).unwrap();
    use std::io::Write;
    while filler.write_all(&[0u8; 4096]).is_ok() {}
    drop(filler);
    for extra in [
        &["--epochs", "6", "--save", model_arg][..],
        &[
            "--epochs",
            "6",
            "--save",
            model_arg,
            "--checkpoint-every",
            "2",
        ][..],
    ] {
        let (code, out, err) = train(extra);
        assert_ne!(code, 0, "{extra:?}");
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert!(v["test_accuracy"].as_f64().is_some(), "{v}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains("No space left"), "{err}");
        assert_eq!(
            std::fs::read(&model).unwrap(),
            before,
            "{extra:?}: model changed"
        );
        let (code, _, err) = descent(&["predict", "--model", model_arg, "--data", "synthetic:xor"]);
        assert_eq!(
            code, 0,
            "{extra:?}: the previous model does not load: {err}"
        );
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
    // The previous optimizer state still resumes once there is room again.
    std::fs::remove_file(dir.join("filler")).unwrap();
    let (code, _, err) = train(&["--epochs", "4", "--resume", model_arg]);
    assert_eq!(code, 0, "{err}");
    let _ = Command::new("umount").arg(&dir).status();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Under mpirun, a build without the `mpi` feature would train K copies alone: it refuses.
#[cfg(not(feature = "mpi"))]
#[test]
fn a_build_without_mpi_refuses_to_run_as_one_of_several_ranks() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_descent"))
        .args([
            "train",
            "--data",
            "synthetic:xor",
            "--epochs",
            "1",
            "--quiet",
        ])
        .env("OMPI_COMM_WORLD_SIZE", "2")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("built without MPI") && err.lines().count() == 1,
        "{err}"
    );
}

/// An f32 network's step rule steps its own f32 weights by default and f64 master weights
/// with `--master-weights f64`: both learn, they are different runs (the rounding of every
/// step differs), each resumes exactly, and f32 master weights on an f64 network are
/// refused in one line.
#[test]
fn master_weights_are_the_network_s_own_or_f64_on_request() {
    let csv = labelled_csv();
    let data = format!("csv:{},target=kind", csv.display());
    let run = |master: &str, epochs: &str, save: Option<&str>, resume: Option<&str>| {
        let mut a = vec![
            "train",
            "--data",
            &data,
            "--layers",
            "2,16,3",
            "--lr",
            "0.03",
            "--batch-size",
            "8",
            "--seed",
            "5",
            "--epochs",
            epochs,
            "--master-weights",
            master,
            "--json",
        ];
        if let Some(s) = save {
            a.extend(["--save", s]);
        }
        if let Some(r) = resume {
            a.extend(["--resume", r]);
        }
        json(&a)
    };
    let own = run("f32", "6", None, None);
    let master = run("f64", "6", None, None);
    for v in [&own, &master] {
        assert!(v["test_accuracy"].as_f64().unwrap() >= 0.9, "{v}");
    }
    assert_ne!(
        own["epochs"][5]["train_loss"],
        master["epochs"][5]["train_loss"]
    );
    for master_weights in ["f32", "f64"] {
        let half = tmp(&format!("half-{master_weights}.safetensors"));
        let half = half.to_str().unwrap();
        run(master_weights, "3", Some(half), None);
        let resumed = run(master_weights, "6", None, Some(half));
        let straight = if master_weights == "f32" {
            &own
        } else {
            &master
        };
        for key in ["train_loss", "val_loss"] {
            let (a, b) = (&straight["epochs"][5][key], &resumed["epochs"][5][key]);
            assert_eq!(a, b, "{master_weights} {key}");
        }
        assert_eq!(
            straight["test_loss"], resumed["test_loss"],
            "{master_weights}"
        );
    }
    let (code, _, err) = descent(&[
        "train",
        "--data",
        &data,
        "--layers",
        "2,4,3",
        "--precision",
        "f64",
        "--master-weights",
        "f32",
    ]);
    assert_ne!(code, 0);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("--master-weights"), "{err}");
}

#[test]
fn a_run_that_ends_worse_than_guessing_says_so() {
    // SGD at a rate of 10⁶ drives the loss to 10⁵ while it stays finite: the run ends with
    // "all epochs ran", and only the warning tells that it diverged.
    let base = [
        "train",
        "--data",
        "synthetic:moons:200",
        "--layers",
        "2,16,2",
        "--optimizer",
        "sgd",
        "--epochs",
        "5",
        "--precision",
        "f64",
    ];
    let (code, _, err) = descent(&[&base[..], &["--lr", "1e6"]].concat());
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning: the test loss") && err.contains("0.69315"),
        "{err}"
    );
    let v = json(&[&base[..], &["--lr", "1e6", "--json"]].concat());
    assert!(
        v["warning"]
            .as_str()
            .is_some_and(|w| w.contains("diverged")),
        "{v}"
    );
    // A run that learns has no warning.
    let (code, _, err) = descent(&[&base[..], &["--lr", "0.1"]].concat());
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("warning"), "{err}");
    let v = json(&[&base[..], &["--lr", "0.1", "--json"]].concat());
    assert!(v.get("warning").is_none(), "{v}");
}

#[test]
fn train_takes_an_evaluation_budget_and_unshuffled_batches() {
    let base = [
        "train",
        "--data",
        "synthetic:spirals:100",
        "--layers",
        "2,8,2",
        "--json",
    ];
    let args = |extra: &[&'static str]| [&base[..], extra].concat();
    let v = json(&args(&[
        "--optimizer",
        "lbfgs",
        "--epochs",
        "100",
        "--max-evals",
        "5",
    ]));
    assert_eq!(v["stop"], "max_evaluations", "{v}");
    assert!(v["epochs"].as_array().unwrap().len() <= 4, "{v}");
    // Kept in order, the batches are another run than the shuffled one from the same
    // weights and split (same seed), and the same run every time.
    let loss = |extra: &[&'static str]| {
        let v = json(&args(
            &[
                &["--optimizer", "sgd", "--epochs", "2", "--batch-size", "10"],
                extra,
            ]
            .concat(),
        ));
        v["epochs"][1]["train_loss"].as_f64().unwrap()
    };
    let in_order = loss(&["--no-shuffle"]);
    assert_eq!(in_order, loss(&["--no-shuffle"]));
    assert_ne!(in_order, loss(&[]));
    refused(
        &args(&["--optimizer", "adam", "--max-evals", "5"]),
        "--max-evals: applies to full-batch",
    );
    // With `auto`, keeping the rows in order asks for a step rule (a small squared-error
    // network would otherwise get Levenberg–Marquardt).
    let sine = [
        "train",
        "--data",
        "synthetic:sine:100",
        "--layers",
        "1,4,1",
        "--json",
    ];
    assert_eq!(json(&sine)["optimizer_chosen"], "lm");
    let v = json(&[&sine[..], &["--no-shuffle", "--epochs", "2"]].concat());
    assert_eq!(v["optimizer_chosen"], "adam", "{v}");
    refused(
        &args(&["--optimizer", "lbfgs", "--no-shuffle"]),
        "--no-shuffle: keeping the rows in order applies to mini-batch",
    );
    refused(
        &args(&["--optimizer", "lbfgs", "--max-evals", "0"]),
        "--max-evals: must be at least 1",
    );
}
