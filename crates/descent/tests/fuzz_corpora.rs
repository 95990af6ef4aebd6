//! The fuzz targets' seed corpora and every input that once made a target fail
//! (`fuzz/seeds/TARGET/`, `fuzz/regressions/TARGET/`), run through the targets' bodies
//! (`descent::fuzzing`): none may panic. The fuzzers themselves run under `cargo fuzz`
//! (CONTRIBUTING.md).

use descent::fuzzing::TARGETS;
use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn inputs(folder: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_target_has_a_fuzzer_and_a_seed_corpus() {
    for (name, _) in TARGETS {
        let target = fuzz_dir().join(format!("fuzz_targets/{name}.rs"));
        let source = std::fs::read_to_string(&target)
            .unwrap_or_else(|e| panic!("{}: {e}", target.display()));
        assert!(
            source.contains(&format!("descent::fuzzing::{name}(")),
            "{} does not call descent::fuzzing::{name}",
            target.display()
        );
        assert!(
            !inputs(&fuzz_dir().join("seeds").join(name)).is_empty(),
            "no seeds for {name}"
        );
    }
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    assert_eq!(
        manifest.matches("[[bin]]").count(),
        TARGETS.len(),
        "fuzz/Cargo.toml and descent::fuzzing::TARGETS list different targets"
    );
}

#[test]
fn seeds_and_past_failures_run_cleanly() {
    let mut ran = 0;
    for (name, target) in TARGETS {
        for folder in ["seeds", "regressions"] {
            for file in inputs(&fuzz_dir().join(folder).join(name)) {
                let data = std::fs::read(&file).unwrap();
                let outcome = std::panic::catch_unwind(|| target(&data));
                assert!(outcome.is_ok(), "{name} panicked on {}", file.display());
                ran += 1;
            }
        }
    }
    assert!(ran >= 2 * TARGETS.len(), "only {ran} inputs ran");
}

/// The seeds start the fuzzers deep: each is a valid input of its kind (the `csv`, `idx`
/// and `nist` seeds are also read by their targets' later stages through these checks).
#[test]
fn seeds_are_valid_inputs() {
    use descent::expr::{Expr, ExprObjective};
    use descent::nn::{parse_model, parse_state, DataSpec};
    use descent::problems::mgh::MghProblem;
    use descent::update::Schedule;
    use descent::{Checkpoint, MethodSpec};
    let seeds = |name: &str| inputs(&fuzz_dir().join("seeds").join(name));
    let text = |p: &PathBuf| std::fs::read_to_string(p).unwrap();
    for p in seeds("expr") {
        ExprObjective::parse(&text(&p)).unwrap();
    }
    for p in seeds("model") {
        Expr::parse(&text(&p)).unwrap();
    }
    for p in seeds("safetensors_model") {
        parse_model(&std::fs::read(&p).unwrap(), &p).unwrap();
    }
    for p in seeds("optimizer_state") {
        let (state, _) = parse_state(&std::fs::read(&p).unwrap(), &p).unwrap();
        assert_eq!(
            state.params.len(),
            13,
            "{}: not a 2-3-1 network",
            p.display()
        );
    }
    for p in seeds("checkpoint") {
        let c = Checkpoint::from_bytes(&std::fs::read(&p).unwrap(), "seed").unwrap();
        MethodSpec::parse(&c.method).unwrap();
        assert_eq!(
            c.iterate.x.len(),
            2,
            "{}: not on Rosenbrock's function",
            p.display()
        );
    }
    for p in seeds("method_spec") {
        MethodSpec::parse(&text(&p)).unwrap().build().unwrap();
    }
    for p in seeds("problem_spec") {
        MghProblem::parse(&text(&p)).unwrap();
    }
    for p in seeds("schedule") {
        Schedule::parse(&text(&p), 0.1).unwrap();
    }
    for p in seeds("data_spec") {
        DataSpec::parse(&text(&p)).unwrap();
    }
}
