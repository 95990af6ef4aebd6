//! `descent report`: the lecture's experiments, run now, as a markdown report with its
//! figures. Every number in the text is measured in the same run; nothing is canned.

use crate::compare::{contour_with_paths, objective_charts, training_charts, TrainEntry};
use crate::interrupt;
use crate::plot::{ContourPlot, LineChart, Scale};
use crate::train::Prepared;
use anyhow::{Context, Result};
use clap::Args;
use descent::compare::{compare, run_logged, Entry};
use descent::linalg::DenseMatrix;
use descent::method::LineSearchKind;
use descent::nn::{
    Activation, Experiment, ExperimentConfig, Init, LayerStats, Loss, Outcome, TrainObserver,
    TrainState,
};
use descent::problems::mgh::MghProblem;
use descent::update::{Adam, FixedStep, Schedule};
use descent::{MethodSpec, Minimizer, Objective, Options, Quadratic};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Args)]
pub struct ReportArgs {
    /// Folder for report.md and its figures.
    #[arg(long, default_value = "report")]
    out: PathBuf,
    /// MNIST folder for the saturation experiment [default: ../shared/data/mnist or
    /// data/mnist when present; otherwise a synthetic set].
    #[arg(long)]
    mnist: Option<PathBuf>,
}

/// The report's sections.
const SECTIONS: usize = 11;

/// One experiment: writes its text and figures into the report.
type Section = fn(&mut Report, Option<&Path>) -> Result<()>;

/// The report being written: markdown text and figure files.
struct Report {
    dir: PathBuf,
    md: String,
    figures: usize,
}

impl Report {
    fn section(&mut self, title: &str) {
        eprintln!("report: {title}");
        self.md.push_str(&format!("\n## {title}\n\n"));
    }
    fn text(&mut self, s: &str) {
        self.md.push_str(s);
        self.md.push_str("\n\n");
    }
    fn chart(&mut self, chart: &LineChart, stem: &str) -> Result<()> {
        chart.save(&self.dir, stem)?;
        self.link(stem, &chart.title);
        Ok(())
    }
    fn contour(&mut self, plot: &ContourPlot, stem: &str) -> Result<()> {
        plot.save(&self.dir, stem)?;
        self.link(stem, &plot.title);
        Ok(())
    }
    fn link(&mut self, stem: &str, title: &str) {
        self.figures += 1;
        self.md.push_str(&format!(
            "![{title}]({stem}.png)\n\n*Figure {}: {title}* ([SVG]({stem}.svg))\n\n",
            self.figures
        ));
    }
}

/// One method's run with its log and path, in the form `compare` produces.
fn run(
    label: &str,
    problem: &dyn Objective,
    mut m: Box<dyn Minimizer>,
    x0: &[f64],
    opts: &Options,
) -> Result<Entry> {
    Ok(run_logged(
        label,
        problem,
        m.as_mut(),
        x0,
        opts,
        &interrupt::requested,
    )?)
}

fn spec(name: &str) -> MethodSpec {
    MethodSpec::new(name)
}

fn with_ls(name: &str, ls: LineSearchKind) -> MethodSpec {
    let mut s = MethodSpec::new(name);
    s.set("line_search", ls.as_str())
        .expect("the report's methods have line searches");
    s
}

fn with_lr(name: &str, lr: f64) -> MethodSpec {
    let mut s = MethodSpec::new(name);
    s.set("lr", &lr.to_string())
        .expect("the report's step rules take a positive rate");
    s
}

fn table(entries: &[Entry]) -> String {
    let mut s = String::from(
        "| method | final f | iterations | f evals | ∇f evals | ∇²f evals | seconds | termination |\n|---|---|---|---|---|---|---|---|\n",
    );
    for e in entries {
        s.push_str(&format!(
            "| {} | {:.3e} | {} | {} | {} | {} | {:.4} | {} |\n",
            e.method, e.f, e.iterations, e.f_evals, e.g_evals, e.h_evals, e.seconds, e.termination
        ));
    }
    s
}

/// The first iteration at which f − f* ≤ tol, if any.
fn first_below(e: &Entry, f_star: f64, tol: f64) -> Option<u64> {
    e.log.iter().find(|r| r.f - f_star <= tol).map(|r| r.iter)
}

fn fmt_iters(v: Option<u64>, budget: u64) -> String {
    v.map_or(format!("not within {budget}"), |k| k.to_string())
}

/// A training experiment of the report: `data` through `layers` with `activation`
/// hidden units, every other setting at `descent train`'s default until changed.
fn experiment(data: &str, layers: &[usize], activation: Activation) -> ExperimentConfig {
    let mut c = ExperimentConfig::new(data);
    c.layers = Some(layers.to_vec());
    c.activation = activation;
    c
}

/// Prepares and trains; returns the prepared run and its outcome.
fn train_run(c: &ExperimentConfig) -> Result<(Prepared, Outcome)> {
    let prep = Experiment::prepare(c)?;
    let out = run_prepared(&prep)?;
    Ok((prep, out))
}

/// Trains a prepared run; Ctrl-C stops it.
fn run_prepared(prep: &Prepared) -> Result<Outcome> {
    struct Stop;
    impl TrainObserver for Stop {
        fn should_stop(&self) -> bool {
            interrupt::requested()
        }
    }
    Ok(prep.run(&mut Stop)?)
}

fn last_loss(e: &TrainEntry) -> f64 {
    e.unscaled.last().map_or(f64::NAN, |u| u.0)
}

fn seconds(e: &TrainEntry) -> f64 {
    e.outcome
        .result
        .state
        .history
        .last()
        .map_or(0.0, |r| r.seconds)
}

pub fn run_report(a: ReportArgs) -> Result<()> {
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("cannot create --out {}", a.out.display()))?;
    let probe = a.out.join(".descent-write-test");
    std::fs::write(&probe, b"")
        .with_context(|| format!("--out {} is not writable", a.out.display()))?;
    let _ = std::fs::remove_file(probe);
    let mnist = match &a.mnist {
        Some(d) => {
            if !d.is_dir() {
                anyhow::bail!("--mnist {} is not a folder", d.display());
            }
            Some(d.clone())
        }
        None => ["../shared/data/mnist", "data/mnist"]
            .iter()
            .map(PathBuf::from)
            .find(|p| {
                p.join("train-images-idx3-ubyte.gz").exists()
                    || p.join("train-images-idx3-ubyte").exists()
            }),
    };
    interrupt::install();
    let t0 = Instant::now();
    let mut r = Report {
        dir: a.out.clone(),
        md: String::from(
            "# descent: the lecture's experiments\n\nEvery figure below was drawn, and every number measured, by `descent report` in this run.\n",
        ),
        figures: 0,
    };
    let sections: [(&str, Section); SECTIONS] = [
        (
            "Gradient descent: fixed rate versus exact line minimization",
            gd_vs_line_search,
        ),
        ("Newton's method: the self-adjusting step", newton),
        (
            "Conjugate gradient versus steepest descent on an ill-conditioned quadratic",
            cg_vs_sd,
        ),
        ("BFGS and L-BFGS", quasi_newton),
        (
            "Momentum and Nesterov: the walker and the heavy ball",
            momentum,
        ),
        ("Adam's bias correction", adam_bias),
        ("Gauss–Newton and Levenberg–Marquardt", gauss_newton),
        ("Batch, mini-batch and online gradient descent", batch_size),
        (
            "Sigmoid saturation: standard versus Glorot initialization",
            saturation,
        ),
        ("Deep and narrow versus shallow and wide", deep_vs_wide),
        (
            "MATLAB's training-function benchmark: time to a goal",
            matlab_benchmark,
        ),
    ];
    let mut done = 0;
    for (title, f) in sections {
        if interrupt::requested() {
            break;
        }
        r.section(title);
        f(&mut r, mnist.as_deref())?;
        done += 1;
    }
    r.md.push_str(&format!(
        "\n---\n{done} of {SECTIONS} sections, {} figures, {:.0} s on {} threads.\n",
        r.figures,
        t0.elapsed().as_secs_f64(),
        rayon::current_num_threads()
    ));
    let path = a.out.join("report.md");
    std::fs::write(&path, &r.md).with_context(|| format!("cannot write {}", path.display()))?;
    println!(
        "wrote {} ({} figures, {done}/{SECTIONS} sections, {:.0} s)",
        path.display(),
        r.figures,
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Each method at its own defaults, within `max_iter` iterations.
fn budget(max_iter: u64) -> descent::compare::RunSettings {
    descent::compare::RunSettings {
        max_iter: Some(max_iter),
        ..Default::default()
    }
}

fn opts(max_iter: u64) -> Options {
    Options {
        max_iter,
        ..Options::default()
    }
}

fn quadratic(diag: &[f64]) -> Quadratic {
    let n = diag.len();
    let mut a = DenseMatrix::zeros(n, n);
    for (i, d) in diag.iter().enumerate() {
        a.set(i, i, *d);
    }
    Quadratic { a, b: vec![0.0; n] }
}

fn gd_vs_line_search(r: &mut Report, _: Option<&Path>) -> Result<()> {
    let q = quadratic(&[1.0, 20.0]);
    let x0 = [-9.0, 1.5];
    let o = opts(5000);
    let runs = vec![
        run("gd, ρ = 0.09", &q, with_lr("gd", 0.09).build()?, &x0, &o)?,
        run("gd, ρ = 0.02", &q, with_lr("gd", 0.02).build()?, &x0, &o)?,
        run(
            "gd, exact line search",
            &q,
            with_ls("gd", LineSearchKind::Exact).build()?,
            &x0,
            &o,
        )?,
    ];
    r.text(&format!(
        "f(x) = ½(x₁² + 20x₂²) from ({}, {}): the Hessian's eigenvalues are 1 and 20, so a fixed \
         rate must stay below 2/20 = 0.1. With ρ = 0.09 gradient descent needs {} iterations to \
         ‖∇f‖∞ ≤ 1e-8, with ρ = 0.02 {}; exact line minimization needs {} iterations ({} function \
         evaluations, as each line minimization costs several) and zig-zags at right angles.",
        x0[0], x0[1], runs[0].iterations, runs[1].iterations, runs[2].iterations, runs[2].f_evals
    ));
    r.text(&table(&runs));
    r.contour(
        &contour_with_paths("½(x₁² + 20x₂²)", &q, &runs, &x0),
        "gd_paths",
    )?;
    let [by_iter, _, _] = objective_charts("½(x₁² + 20x₂²)", &runs, q.value(&x0), Some(0.0));
    r.chart(&by_iter, "gd_convergence")
}

fn newton(r: &mut Report, _: Option<&Path>) -> Result<()> {
    let p = MghProblem::parse("rosenbrock")?;
    let x0 = p.x0();
    let o = opts(20000);
    let runs = vec![
        run("newton", &p, spec("newton").build()?, &x0, &o)?,
        run(
            "gd (Wolfe line search)",
            &p,
            with_ls("gd", LineSearchKind::Wolfe).build()?,
            &x0,
            &o,
        )?,
    ];
    let nt = &runs[0];
    let unit = nt
        .log
        .iter()
        .filter(|l| (l.alpha - 1.0).abs() < 1e-12)
        .count();
    let tail: Vec<String> = nt
        .log
        .iter()
        .rev()
        .take(5)
        .rev()
        .map(|l| format!("{:.1e}", l.grad_norm))
        .collect();
    r.text(&format!(
        "Rosenbrock from (−1.2, 1). Newton's step −(∇²f)⁻¹∇f carries its own length: the line \
         search accepted the full step α = 1 in {unit} of {} iterations. Near the minimum the \
         error is roughly squared each iteration (quadratic convergence); the last gradient norms \
         were {}. Gradient descent with a Wolfe line search needed {} iterations ({}).",
        nt.iterations,
        tail.join(" → "),
        runs[1].iterations,
        runs[1].termination
    ));
    r.text(&table(&runs));
    let mut c = LineChart::new(
        "Rosenbrock: gradient norm per iteration",
        "iteration",
        "‖∇f‖∞",
    )
    .log_y();
    for e in &runs {
        c.add(
            e.method.clone(),
            e.log.iter().map(|l| (l.iter as f64, l.grad_norm)).collect(),
        );
    }
    c.x_scale = Scale::Log;
    r.chart(&c, "newton_gradient")?;
    let mut s = LineChart::new(
        "Newton on Rosenbrock: accepted step length α",
        "iteration",
        "α",
    );
    s.add(
        "newton",
        nt.log.iter().map(|l| (l.iter as f64, l.alpha)).collect(),
    );
    r.chart(&s, "newton_alpha")
}

fn cg_vs_sd(r: &mut Report, _: Option<&Path>) -> Result<()> {
    let n = 100;
    // Eigenvalues spread geometrically over [1, 1000]: condition number 1000.
    let diag: Vec<f64> = (0..n)
        .map(|i| 1000f64.powf(i as f64 / (n - 1) as f64))
        .collect();
    let q = quadratic(&diag);
    let x0 = vec![1.0; n];
    let o = opts(5000);
    let mut cg = with_ls("cg", LineSearchKind::Exact);
    cg.set("beta", "fr")?;
    let runs = vec![
        run(
            "steepest descent (exact line search)",
            &q,
            with_ls("gd", LineSearchKind::Exact).build()?,
            &x0,
            &o,
        )?,
        run(
            "conjugate gradient (FR, exact line search)",
            &q,
            cg.build()?,
            &x0,
            &o,
        )?,
    ];
    let f0 = q.value(&x0);
    let sd6 = first_below(&runs[0], 0.0, 1e-6 * f0);
    let cg6 = first_below(&runs[1], 0.0, 1e-6 * f0);
    r.text(&format!(
        "f(x) = ½xᵀAx with n = {n}, A diagonal with eigenvalues from 1 to 1000 (κ = 1000), from \
         x = (1, …, 1). Reducing f by a factor 10⁶ took steepest descent {} iterations and \
         conjugate gradient {}; conjugate gradient met ‖∇f‖∞ ≤ 1e-8 after {} iterations (theory: \
         at most n = {n} in exact arithmetic), steepest descent ended after {} ({}).",
        fmt_iters(sd6, 5000),
        fmt_iters(cg6, 5000),
        runs[1].iterations,
        runs[0].iterations,
        runs[0].termination
    ));
    // The linear solver on the same system (A x = b with b = A·1, from 0).
    let apply = |v: &[f64], out: &mut [f64]| {
        for ((o, d), x) in out.iter_mut().zip(&diag).zip(v) {
            *o = d * x;
        }
    };
    let lin = descent::linear_cg(&apply, &diag, &vec![0.0; n], 1e-10, 10 * n, None)?;
    r.text(&format!(
        "The linear CG solver (`descent::linear_cg`: exact step lengths from the recurrences \
         instead of numerical line searches) solves Ax = b for the same A to a relative residual \
         of 1e-10 in {} iterations (final residual {:.1e}); in exact arithmetic it is exact \
         after at most n = {n}.",
        lin.iterations, lin.residual_norm
    ));
    r.text(&table(&runs));
    let [by_iter, _, _] =
        objective_charts("ill-conditioned quadratic, n = 100", &runs, f0, Some(0.0));
    r.chart(&by_iter, "cg_vs_sd")
}

fn quasi_newton(r: &mut Report, _: Option<&Path>) -> Result<()> {
    let p = MghProblem::parse("extended-rosenbrock:100")?;
    let x0 = p.x0();
    let names = ["gd", "cg", "bfgs", "lbfgs", "newton"];
    let methods: Vec<MethodSpec> = names.iter().map(|s| MethodSpec::new(s)).collect();
    let runs = compare(
        &p,
        None,
        &methods,
        &x0,
        &budget(20000),
        p.f_star(),
        |_| {},
        &interrupt::requested,
    )?;
    let get = |m: &str| runs.iter().find(|e| e.method == m);
    let desc = |m: &str| {
        get(m).map_or("—".into(), |e| {
            format!(
                "{} iterations, {} evaluations, {:.2} ms",
                e.iterations,
                e.f_evals,
                1e3 * e.seconds
            )
        })
    };
    r.text(&format!(
        "Extended Rosenbrock, n = 100. BFGS builds the inverse Hessian from secant pairs (sᵀy > 0 \
         by the Wolfe conditions); L-BFGS keeps only the last 10 pairs (two-loop recursion, \
         O(mn) per iteration). BFGS: {}. L-BFGS: {}. Newton (exact Hessian): {}. Nonlinear CG \
         (PR+): {}. Gradient descent: {}.",
        desc("bfgs"),
        desc("lbfgs"),
        desc("newton"),
        desc("cg"),
        desc("gd")
    ));
    r.text(&table(&runs));
    let [_, by_eval, by_time] = objective_charts(
        "extended Rosenbrock, n = 100",
        &runs,
        p.value(&x0),
        p.f_star(),
    );
    r.chart(&by_eval, "quasi_newton_evals")?;
    r.chart(&by_time, "quasi_newton_time")
}

fn momentum(r: &mut Report, _: Option<&Path>) -> Result<()> {
    let p = MghProblem::parse("rosenbrock")?;
    let x0 = p.x0();
    let o = opts(20000);
    let mut m = with_lr("momentum", 1e-3);
    m.set("momentum", "0.9")?;
    let mut nv = with_lr("nesterov", 1e-3);
    nv.set("momentum", "0.9")?;
    let runs = vec![
        run("gd, ρ = 1e-3", &p, with_lr("gd", 1e-3).build()?, &x0, &o)?,
        run("momentum μ = 0.9", &p, m.build()?, &x0, &o)?,
        run("nesterov μ = 0.9", &p, nv.build()?, &x0, &o)?,
    ];
    let hit: Vec<String> = runs
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e.method,
                fmt_iters(first_below(e, 0.0, 1e-6), 20000)
            )
        })
        .collect();
    r.text(&format!(
        "Rosenbrock from (−1.2, 1), rate ρ = 1e-3 for all three. The heavy ball \
         w₊ = w − ρ∇e(w) + μ(w − w₋) keeps velocity along the curved valley where plain gradient \
         descent (the walker) crawls; Nesterov takes the gradient at the look-ahead point. \
         Iterations to f ≤ 1e-6: {}.",
        hit.join("; ")
    ));
    r.text(&table(&runs));
    r.contour(
        &contour_with_paths("Rosenbrock", &p, &runs, &x0),
        "momentum_paths",
    )?;
    let [by_iter, _, _] = objective_charts("Rosenbrock", &runs, p.value(&x0), Some(0.0));
    r.chart(&by_iter, "momentum_convergence")
}

fn adam_bias(r: &mut Report, _: Option<&Path>) -> Result<()> {
    let p = MghProblem::parse("rosenbrock")?;
    let x0 = p.x0();
    let o = opts(3000);
    let lr = 0.05;
    let with = FixedStep::new(Adam::new(Schedule::Constant(lr)));
    let mut uncorrected = Adam::new(Schedule::Constant(lr));
    uncorrected.bias_correction = false;
    let without = FixedStep::new(uncorrected);
    let runs = vec![
        run("adam (bias-corrected)", &p, Box::new(with), &x0, &o)?,
        run(
            "adam without bias correction",
            &p,
            Box::new(without),
            &x0,
            &o,
        )?,
    ];
    let first = |e: &Entry| e.log.first().map_or(f64::NAN, |l| l.step_norm);
    let at = |e: &Entry, k: u64| e.log.iter().find(|l| l.iter == k).map_or(f64::NAN, |l| l.f);
    r.text(&format!(
        "Adam (α = {lr}, β₁ = 0.9, β₂ = 0.999) on Rosenbrock. The moment estimates start at zero; \
         dividing by 1 − βᵗ removes that bias. Without it the first step is m/√v = (0.1g)/√(0.001g²) \
         ≈ 3.16 per coordinate instead of 1: measured first step length {:.3} with correction and \
         {:.3} without. f after 10 iterations: {:.3e} versus {:.3e}; after 100: {:.3e} versus \
         {:.3e}; final (3000 iterations): {:.3e} versus {:.3e}.",
        first(&runs[0]),
        first(&runs[1]),
        at(&runs[0], 10),
        at(&runs[1], 10),
        at(&runs[0], 100),
        at(&runs[1], 100),
        runs[0].f,
        runs[1].f
    ));
    let [mut by_iter, _, _] =
        objective_charts("Adam on Rosenbrock", &runs, p.value(&x0), Some(0.0));
    by_iter.x_scale = Scale::Log;
    r.chart(&by_iter, "adam_bias")
}

fn gauss_newton(r: &mut Report, _: Option<&Path>) -> Result<()> {
    let p = MghProblem::parse("osborne1")?;
    let x0 = p.x0();
    let methods: Vec<MethodSpec> = ["gn", "lm", "bfgs", "lbfgs"]
        .iter()
        .map(|s| MethodSpec::new(s))
        .collect();
    let runs = compare(
        &p,
        Some(&p),
        &methods,
        &x0,
        &budget(5000),
        p.f_star(),
        |_| {},
        &interrupt::requested,
    )?;
    let desc: Vec<String> = runs
        .iter()
        .map(|e| {
            format!(
                "{} {} iterations ({} residual, {} Jacobian, {} gradient evaluations)",
                e.method, e.iterations, e.f_evals, e.jac_evals, e.g_evals
            )
        })
        .collect();
    r.text(&format!(
        "Osborne 1: fitting y = x₁ + x₂e^(−x₄t) + x₃e^(−x₅t) to 33 points (MGH problem 17). \
         Gauss–Newton solves JᵀJ δ = −Jᵀr (the Hessian without its second-order term), \
         Levenberg–Marquardt (JᵀJ + μD)δ = −Jᵀr with μ adapted by the gain ratio. {}.",
        desc.join("; ")
    ));
    r.text(&table(&runs));
    let [by_iter, _, _] = objective_charts("Osborne 1 curve fit", &runs, p.value(&x0), p.f_star());
    r.chart(&by_iter, "gauss_newton_fit")?;
    // A small network: 1-10-1 tanh on sin(x), least squares.
    let mut common = experiment("synthetic:sine:100", &[1, 10, 1], Activation::Tanh);
    common.loss = Loss::SquaredError;
    common.val_frac = Some(0.0);
    let mut entries = Vec::new();
    for (name, optimizer, lr, batch_size, epochs) in [
        ("lm", "lm", None, 128, 200),
        ("adam lr 1e-2 (full batch)", "adam", Some(1e-2), 1000, 3000),
    ] {
        let mut c = common.clone();
        c.train.optimizer = optimizer.into();
        c.train.lr = lr;
        c.train.batch_size = batch_size;
        c.epochs = Some(epochs);
        let (prep, out) = train_run(&c)?;
        entries.push(TrainEntry::new(name, &prep, out));
    }
    r.text(&format!(
        "A 1-10-1 tanh network fitted to sin x on [−π, π] (100 points) as a least-squares problem: \
         Levenberg–Marquardt reached training MSE {:.2e} in {} iterations ({:.3} s); full-batch \
         Adam (lr 1e-2) reached {:.2e} in {} epochs ({:.3} s).",
        last_loss(&entries[0]),
        entries[0].outcome.result.state.history.len(),
        seconds(&entries[0]),
        last_loss(&entries[1]),
        entries[1].outcome.result.state.history.len(),
        seconds(&entries[1])
    ));
    let [_, _, mut by_time, _] = training_charts("1-10-1 tanh on sin x", &entries);
    by_time.x_scale = Scale::Log;
    r.chart(&by_time, "lm_network_time")
}

fn batch_size(r: &mut Report, _: Option<&Path>) -> Result<()> {
    let mut common = experiment("synthetic:moons:1000", &[2, 16, 16, 2], Activation::Tanh);
    common.train.optimizer = "sgd".into();
    common.train.lr = Some(0.05);
    common.epochs = Some(30);
    common.val_frac = Some(0.1);
    let mut entries = Vec::new();
    for (name, bs) in [
        ("batch (all 720)", 720),
        ("mini-batch 64", 64),
        ("mini-batch 8", 8),
        ("online (1)", 1),
    ] {
        let mut c = common.clone();
        c.train.batch_size = bs;
        let (prep, out) = train_run(&c)?;
        entries.push(TrainEntry::new(name, &prep, out));
    }
    let desc: Vec<String> = entries
        .iter()
        .map(|e| {
            let acc = e
                .outcome
                .test
                .and_then(|t| t.accuracy)
                .map_or(f64::NAN, |a| 100.0 * a);
            format!(
                "{}: final training loss {:.4}, test accuracy {acc:.1}%, {:.2} s",
                e.method,
                last_loss(e),
                seconds(e)
            )
        })
        .collect();
    r.text(&format!(
        "Two moons (1000 points, 20% test, 10% of the rest validation), a 2-16-16-2 tanh network, \
         SGD with rate 0.05, 30 epochs. An epoch of batch gradient descent is one step; online \
         learning takes one step per sample. {}.",
        desc.join("; ")
    ));
    let [by_epoch, _, mut by_time, _] =
        training_charts("batch size (two moons, SGD 0.05)", &entries);
    by_time.x_scale = Scale::Log;
    r.chart(&by_epoch, "batch_size_epochs")?;
    r.chart(&by_time, "batch_size_time")
}

fn saturation(r: &mut Report, mnist: Option<&Path>) -> Result<()> {
    let data = match mnist {
        Some(d) => format!("mnist:{},n=3000", d.display()),
        None => "synthetic:blobs:3000".into(),
    };
    let inputs = if mnist.is_some() { 784 } else { 64 };
    let outputs = 10;
    let layers = [inputs, 200, 200, 200, 200, 200, outputs];
    let layers_text = layers.map(|w| w.to_string()).join(",");
    // One load of the data; the second run only starts from other weights.
    let mut c = experiment(&data, &layers, Activation::Sigmoid);
    c.init = Init::Standard;
    c.epochs = Some(16);
    c.train.diagnostics = true;
    let (mut prep, standard) = train_run(&c)?;
    prep.state = TrainState::new(prep.net.init_params(Init::GlorotUniform, prep.cfg.seed));
    let glorot = run_prepared(&prep)?;
    let stats: Vec<(String, Vec<Vec<LayerStats>>, f64)> =
        [("standard", standard), ("glorot", glorot)]
            .into_iter()
            .map(|(init, out)| {
                let per_epoch = out
                    .result
                    .state
                    .history
                    .iter()
                    .filter_map(|e| e.diagnostics.clone())
                    .collect();
                let acc = out.test.and_then(|t| t.accuracy).unwrap_or(f64::NAN);
                (init.to_string(), per_epoch, acc)
            })
            .collect();
    let source = if mnist.is_some() {
        "3000 MNIST images"
    } else {
        "3000 points of 10 Gaussian classes in 64 dimensions (`synthetic:blobs`; MNIST not found)"
    };
    let mut text = format!(
        "A {layers_text} network with logistic sigmoid units on {source}, Adam (lr 1e-3, batch 128), \
         16 epochs, trained from the \"standard\" initialization U[−1/√n, 1/√n] and from Glorot's \
         normalized one. A unit counts as saturated when its output is within 0.01 of 0 or 1 \
         (σ′ < 0.01). Fraction of saturated units in the top hidden layer (layer 5) after each \
         epoch — "
    );
    let tops: Vec<String> = stats
        .iter()
        .map(|(init, ep, acc)| {
            let v: Vec<String> = ep
                .iter()
                .map(|l| format!("{:.1}%", 100.0 * l.last().map_or(f64::NAN, |s| s.saturated)))
                .collect();
            format!(
                "{init}: {} (test accuracy {:.1}%)",
                v.join(", "),
                100.0 * acc
            )
        })
        .collect();
    text.push_str(&tops.join("; "));
    text.push('.');
    r.text(&text);
    let mut md = String::from(
        "| init | layer | mean | std | saturated | ‖∂L/∂W‖ |\n|---|---|---|---|---|---|\n",
    );
    for (init, ep, _) in &stats {
        if let Some(last) = ep.last() {
            for l in last {
                md.push_str(&format!(
                    "| {init} | {} | {:.3} | {:.3} | {:.1}% | {:.2e} |\n",
                    l.layer,
                    l.mean,
                    l.std,
                    100.0 * l.saturated,
                    l.grad_norm
                ));
            }
        }
    }
    r.text(&format!("After the last epoch:\n\n{md}"));
    for (init, ep, _) in &stats {
        let Some(last) = ep.last() else { continue };
        let mut c = LineChart::new(
            format!("activation histograms per hidden layer, {init} initialization"),
            "sigmoid output",
            "fraction of activations",
        );
        for l in last {
            let total: u32 = l.histogram.iter().sum();
            let (lo, hi) = l.range;
            let w = (hi - lo) / l.histogram.len() as f64;
            let pts = l
                .histogram
                .iter()
                .enumerate()
                .map(|(i, c)| (lo + (i as f64 + 0.5) * w, *c as f64 / total.max(1) as f64))
                .collect();
            c.add(format!("layer {}", l.layer), pts);
        }
        r.chart(&c, &format!("saturation_{init}"))?;
    }
    let mut c = LineChart::new(
        "saturated fraction of the top hidden layer",
        "epoch",
        "saturated units (%)",
    );
    for (init, ep, _) in &stats {
        c.add(
            init.clone(),
            ep.iter()
                .enumerate()
                .map(|(i, l)| {
                    (
                        (i + 1) as f64,
                        100.0 * l.last().map_or(f64::NAN, |s| s.saturated),
                    )
                })
                .collect(),
        );
    }
    r.chart(&c, "saturation_top_layer")
}

fn deep_vs_wide(r: &mut Report, _: Option<&Path>) -> Result<()> {
    // 2-179-2 has 5·179 + 2 = 897 parameters; 2-16-16-16-16-2 has 3·16² + 8·16 + 2 = 898.
    let mut entries = Vec::new();
    for (name, layers) in [
        ("shallow-wide 2-179-2", &[2, 179, 2][..]),
        ("deep-narrow 2-16-16-16-16-2", &[2, 16, 16, 16, 16, 2][..]),
    ] {
        let mut c = experiment("synthetic:spirals:1000", layers, Activation::Tanh);
        c.train.batch_size = 32;
        c.train.lr = Some(3e-3);
        c.epochs = Some(150);
        let (prep, out) = train_run(&c)?;
        let params = prep.net.num_params();
        entries.push((params, TrainEntry::new(name, &prep, out)));
    }
    let desc: Vec<String> = entries
        .iter()
        .map(|(p, e)| {
            let acc = e
                .outcome
                .test
                .and_then(|t| t.accuracy)
                .map_or(f64::NAN, |a| 100.0 * a);
            format!(
                "{} ({p} parameters): training loss {:.4}, test accuracy {acc:.1}%",
                e.method,
                last_loss(e)
            )
        })
        .collect();
    r.text(&format!(
        "Two spirals (1000 points), tanh units, Adam (lr 3e-3, batch 32), 150 epochs, two \
         networks with the same number of parameters. {}.",
        desc.join("; ")
    ));
    let te: Vec<TrainEntry> = entries.into_iter().map(|(_, e)| e).collect();
    let [by_epoch, _, _, acc] = training_charts("deep-narrow vs shallow-wide (two spirals)", &te);
    r.chart(&by_epoch, "deep_vs_wide_loss")?;
    r.chart(&acc, "deep_vs_wide_accuracy")
}

/// The trainers of MATLAB's "Choose a multilayer neural network training function".
const MATLAB_TRAINERS: &str = "lm,br,scg,rprop,irprop+,oss,cgb,bfgs,lbfgs,gda,gdx";

fn matlab_benchmark(r: &mut Report, _: Option<&Path>) -> Result<()> {
    // (name, data, layers, goal): MATLAB's SIN and PARITY, and two of descent's own.
    let problems: [(&str, &str, &[usize], f64); 4] = [
        ("SIN", "synthetic:matlab-sin", &[1, 5, 1], 0.002),
        (
            "PARITY",
            "synthetic:matlab-parity:3",
            &[3, 10, 10, 1],
            0.001,
        ),
        (
            "MOONS (classification)",
            "synthetic:moons:200",
            &[2, 10, 2],
            0.01,
        ),
        (
            "NOISY SINE (regression)",
            "synthetic:noisy-sine:40",
            &[1, 10, 1],
            0.006,
        ),
    ];
    r.text(&format!(
        "Every trainer of MATLAB's benchmark ({}) trains the same tanh network with the squared \
         error from Nguyen–Widrow weights, for seeds 0–9, in f64 on one thread, until the \
         training MSE reaches the goal (1000 epochs; 10 000 for `gda`, `gdx`). Reported: the \
         seeds that reached it, and the median epochs and milliseconds of those (each run's \
         time the fastest of up to 5 identical runs). The same table comes from \
         `descent compare --data synthetic:matlab-sin --layers 1,5,1 --activation tanh --loss mse \
         --init nguyen-widrow --goal 0.002 --val-frac 0 --precision f64 --threads 1 --methods …`.",
        MATLAB_TRAINERS.replace(',', ", ")
    ));
    let methods: Vec<String> = MATLAB_TRAINERS.split(',').map(String::from).collect();
    for (k, (name, data, layers, goal)) in problems.into_iter().enumerate() {
        let mut c = ExperimentConfig::new(data);
        (c.layers, c.activation, c.loss) =
            (Some(layers.to_vec()), Activation::Tanh, Loss::SquaredError);
        (c.init, c.threads, c.val_frac) = (Init::NguyenWidrow, 1, Some(0.0));
        c.precision = descent::nn::Precision::F64;
        c.test = Some(data.into());
        c.train.optimizer = "lm".into();
        c.train.goal = Some(goal);
        let prep = Experiment::prepare(&c)?;
        let mut rows = Vec::new();
        for m in &methods {
            if interrupt::requested() {
                return Ok(());
            }
            let cfg = descent::nn::TrainConfig {
                optimizer: m.clone(),
                epochs: descent::nn::goal_epochs(m),
                ..prep.cfg.clone()
            };
            rows.push(prep.to_goal(&cfg, 0..10, &mut |_| {})?);
        }
        r.text(&format!(
            "**{name}**: `{data}`, layers {layers:?} ({} weights), goal {goal}.\n\n{}",
            prep.net.num_params(),
            crate::goal::table(&rows, true)
        ));
        let chart = crate::goal::reached_chart(&format!("{name}: time to the goal {goal}"), &rows);
        r.chart(&chart, &format!("matlab_benchmark_{}", k + 1))?;
    }
    Ok(())
}
