//! Every method of the registry, saved to a checkpoint file mid-run and resumed, ends
//! bitwise where the run that was never stopped ends — and a checkpoint of another
//! problem (another number of variables or residuals) is refused with an error, never
//! used.

use descent::least_squares::{minimize_least_squares, FitOptions};
use descent::method::{AppliesTo, MethodSpec, REGISTRY};
use descent::problems::mgh::MghProblem;
use descent::{minimize_from, Checkpoint, NoObserver, Options, Result, Start, Summary};

/// Runs `spec` for `iterations` from `start` (keeping the final checkpoint).
type Runner<'a> = dyn Fn(Start<'_>, u64) -> Result<Summary> + 'a;

fn objective_runner<'a>(spec: &'a MethodSpec, problem: &'a MghProblem) -> Box<Runner<'a>> {
    Box::new(move |start, iterations| {
        let mut m = spec.build()?;
        let opts = Options {
            max_iter: iterations,
            keep_checkpoint: true,
            ..spec.default_options()
        };
        minimize_from(problem, m.as_mut(), start, &opts, &mut NoObserver)
    })
}

fn least_squares_runner<'a>(spec: &'a MethodSpec, problem: &'a MghProblem) -> Box<Runner<'a>> {
    Box::new(move |start, iterations| {
        let fo = FitOptions {
            max_iter: iterations,
            keep_checkpoint: true,
            ..FitOptions::default()
        };
        let mut m = spec.build_least_squares(&spec.fit_options(&fo))?;
        minimize_least_squares(
            problem,
            m.as_mut(),
            start,
            &fo.driver_options(),
            &mut NoObserver,
        )
    })
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Straight for 8 iterations, or 3, saved, loaded and resumed to 8: the same end. Then
/// the 3-iteration checkpoint with the point of `other` is resumed on `other`: refused
/// (returns true) unless the method's state holds nothing of the problem's size (a trust
/// region's radius), and never a panic.
fn resumes_exactly_and_refuses_another_problem(
    name: &str,
    x0: &[f64],
    run: &Runner<'_>,
    other_x0: &[f64],
    run_other: &Runner<'_>,
) -> bool {
    let straight = run(Start::At(x0), 8).unwrap();
    let first = run(Start::At(x0), 3).unwrap();
    let file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("descent-resume-{name}-{}.json", std::process::id()));
    first.checkpoint.as_ref().unwrap().save(&file).unwrap();
    let saved = Checkpoint::load(&file).unwrap();
    let _ = std::fs::remove_file(&file);
    let resumed = run(Start::Resume(&saved), 8).unwrap();
    assert_eq!(
        bits(&resumed.x),
        bits(&straight.x),
        "{name}: resumed elsewhere"
    );
    assert_eq!(
        resumed.iterations, straight.iterations,
        "{name}: iterations"
    );
    assert_eq!(resumed.counts, straight.counts, "{name}: evaluations");

    // The same state with the point (and its gradient) of another problem.
    let there = run_other(Start::At(other_x0), 1).unwrap();
    let there = there.checkpoint.unwrap();
    let forged = Checkpoint {
        iterate: there.iterate.clone(),
        best: there.best.clone(),
        ..saved
    };
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run_other(Start::Resume(&forged), 8)
    }));
    match outcome {
        Ok(refused) => refused.is_err(),
        Err(_) => panic!("{name}: a checkpoint of another problem panicked"),
    }
}

#[test]
fn every_method_resumes_exactly_and_refuses_another_problems_checkpoint() {
    // Objectives: 6 variables, and 4 for the foreign checkpoint.
    let p6 = MghProblem::parse("extended-rosenbrock:6").unwrap();
    let p4 = MghProblem::parse("extended-rosenbrock:4").unwrap();
    // Least squares: Bard (3 variables, 15 residuals), and Box 3-D (3 and 10).
    let bard = MghProblem::parse("bard").unwrap();
    let box3 = MghProblem::parse("box-3d").unwrap();
    let (mut checked, mut refused) = (0, 0);
    for info in REGISTRY {
        let spec = MethodSpec::new(info.name);
        if info.applies(AppliesTo::Objective) {
            refused += resumes_exactly_and_refuses_another_problem(
                info.name,
                &p6.x0(),
                &*objective_runner(&spec, &p6),
                &p4.x0(),
                &*objective_runner(&spec, &p4),
            ) as usize;
            checked += 1;
        }
        if info.applies(AppliesTo::LeastSquares) {
            refused += resumes_exactly_and_refuses_another_problem(
                info.name,
                &bard.x0(),
                &*least_squares_runner(&spec, &bard),
                &box3.x0(),
                &*least_squares_runner(&spec, &box3),
            ) as usize;
            checked += 1;
        }
    }
    eprintln!(
        "{checked} method runs resumed bitwise; {refused} refused another problem's checkpoint"
    );
    assert!(checked >= 38, "only {checked} methods checked");
    // All but the trust regions (whose state is a radius, and a Hessian only in
    // trust-exact) keep vectors of the problem's size.
    assert!(
        refused + 4 >= checked,
        "only {refused} of {checked} refused"
    );
}

#[test]
fn long_vector_methods_resume_exactly() {
    // From 2¹⁷ variables L-BFGS and L-BFGS-B take their steps from the pairs' dot
    // products (rebuilt from the saved pairs on resume) and reuse their vectors from one
    // iteration to the next, and CG takes its sums in one pass: a resumed run still ends
    // bitwise where the straight one does.
    let long = MghProblem::parse("extended-rosenbrock:140000").unwrap();
    let short = MghProblem::parse("extended-rosenbrock:6").unwrap();
    for name in ["lbfgs", "lbfgsb", "cg"] {
        let spec = MethodSpec::new(name);
        let refused = resumes_exactly_and_refuses_another_problem(
            name,
            &long.x0(),
            &*objective_runner(&spec, &long),
            &short.x0(),
            &*objective_runner(&spec, &short),
        );
        assert!(refused, "{name} took a checkpoint of another size");
    }
}
