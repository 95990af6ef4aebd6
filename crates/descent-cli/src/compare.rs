//! `descent compare`: every method on the same problem from the same start (for networks:
//! the same seed, split and initial weights); a table, a markdown and JSON summary, a
//! JSON-lines log of every iteration, and figures (SVG and PNG).

use crate::interrupt;
use crate::plot::{ContourPlot, LineChart, Series};
use crate::train::{
    check_optimizer, default_epochs, parse_activation, parse_init, parse_layers, parse_loss,
    Prepared,
};
use anyhow::{bail, Context, Result};
use clap::Args;
use descent::compare::{compare, markdown_table, validate_methods, Entry, RunSettings};
use descent::expr::ExprObjective;
use descent::least_squares::{Robust, RobustLoss};
use descent::nn::{
    EpochReport, Experiment, ExperimentConfig, Outcome, Precision, TrainConfig, TrainObserver,
};
use descent::problems::mgh::MghProblem;
use descent::problems::nist::NistProblem;
use descent::{LeastSquares, MethodSpec, Objective, SumOfSquares};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

const DEFAULT_METHODS: &str = "gd,momentum,nesterov,adam,cg,bfgs,lbfgs,newton,lm";
const DEFAULT_TRAIN_METHODS: &str = "sgd,momentum,nesterov,adam,rmsprop,lbfgs";

#[derive(Args)]
pub struct CompareArgs {
    /// Built-in problem NAME[:N[:M]] (default rosenbrock).
    #[arg(long, conflicts_with_all = ["expr", "nist", "data"])]
    problem: Option<String>,
    /// Objective typed as an expression.
    #[arg(long, conflicts_with_all = ["nist", "data"], allow_hyphen_values = true)]
    expr: Option<String>,
    /// A NIST StRD nonlinear-regression file (.dat): the fit as a sum of squares.
    #[arg(long, conflicts_with = "data")]
    nist: Option<PathBuf>,
    /// NIST starting values: 1 or 2.
    #[arg(long, default_value_t = 1)]
    start: u8,
    /// Training data (mnist:DIR[,n=COUNT], csv:FILE[,target=COL], synthetic:NAME[:N]):
    /// compares optimizers training the same network from the same weights.
    #[arg(long)]
    data: Option<String>,
    /// Comma-separated methods (see `descent methods`; lm, gn, diag-gn where there are
    /// residuals). Training: the optimizers of `descent train`.
    #[arg(long)]
    methods: Option<String>,
    /// Starting point (default: the problem's standard start; zeros for --expr).
    #[arg(long, allow_hyphen_values = true)]
    x0: Option<String>,
    /// Iteration budget per method [default: as `minimize` (10 000) and `fit` (2000)].
    #[arg(long)]
    max_iter: Option<u64>,
    /// Budget per method: ITERATIONS, iters:K, evals:K, seconds:S (training: epochs:K).
    #[arg(long)]
    budget: Option<String>,
    /// Gradient tolerance of every objective method (default: each method's own, as in
    /// `minimize`).
    #[arg(long)]
    gtol: Option<f64>,
    /// Relative cost-change tolerance of every method (default: each method's own).
    #[arg(long)]
    ftol: Option<f64>,
    /// Relative step tolerance of every method (default: each method's own).
    #[arg(long)]
    xtol: Option<f64>,
    /// Folder for the summary, the iteration log and the figures.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print one JSON object on stdout.
    #[arg(long)]
    json: bool,
    /// Training options, as for `descent train` (with --data).
    #[command(flatten)]
    net: NetArgs,
}

/// The `descent train` options that a training comparison passes on.
#[derive(Args)]
struct NetArgs {
    /// Separate test data (training comparison).
    #[arg(long)]
    test: Option<String>,
    /// Layer widths, inputs first (training comparison).
    #[arg(long)]
    layers: Option<String>,
    #[arg(long)]
    activation: Option<String>,
    /// Training: the network's loss (cross-entropy, mse, ...). With --nist: a robust
    /// loss (linear, soft_l1, huber, cauchy, arctan, tolerant, tukey), as `fit --loss`.
    #[arg(long)]
    loss: Option<String>,
    /// Scale C of the robust loss (with --nist --loss).
    #[arg(long)]
    f_scale: Option<f64>,
    #[arg(long)]
    init: Option<String>,
    #[arg(long)]
    lr: Option<f64>,
    /// L2 penalty ½·λ·‖W‖² on the weights in the full-batch objective (as `train --l2`).
    #[arg(long)]
    l2: Option<f64>,
    #[arg(long)]
    batch_size: Option<usize>,
    #[arg(long)]
    epochs: Option<usize>,
    #[arg(long)]
    seed: Option<u64>,
    #[arg(long)]
    threads: Option<usize>,
    #[arg(long)]
    val_frac: Option<f64>,
    #[arg(long)]
    standardize: bool,
    /// Compute precision, f32 or f64 (training comparison).
    #[arg(long)]
    precision: Option<String>,
    /// Training to a goal (MATLAB's training-function benchmark): each method trains
    /// from fresh weights for each of --seeds seeds until the training loss (in the
    /// target's units) reaches GOAL; reported: seeds that reached it, median epochs and
    /// seconds.
    #[arg(long)]
    goal: Option<f64>,
    /// Seeds per method when training to a --goal (seeds 0..K) [default: 10].
    #[arg(long)]
    seeds: Option<u64>,
}

impl NetArgs {
    /// The first flag given that only a training comparison reads.
    fn training_flag(&self) -> Option<&'static str> {
        [
            ("--test", self.test.is_some()),
            ("--layers", self.layers.is_some()),
            ("--activation", self.activation.is_some()),
            ("--init", self.init.is_some()),
            ("--lr", self.lr.is_some()),
            ("--l2", self.l2.is_some()),
            ("--batch-size", self.batch_size.is_some()),
            ("--epochs", self.epochs.is_some()),
            ("--seed", self.seed.is_some()),
            ("--threads", self.threads.is_some()),
            ("--val-frac", self.val_frac.is_some()),
            ("--standardize", self.standardize),
            ("--precision", self.precision.is_some()),
            ("--goal", self.goal.is_some()),
            ("--seeds", self.seeds.is_some()),
        ]
        .into_iter()
        .find_map(|(flag, given)| given.then_some(flag))
    }
}

/// A per-method budget.
#[derive(Clone, Copy, Debug, Default)]
struct Budget {
    iters: Option<u64>,
    evals: Option<u64>,
    seconds: Option<f64>,
}

fn parse_budget(s: &str) -> Result<Budget> {
    let bad = || format!("--budget '{s}': expected K, iters:K, evals:K, seconds:S or epochs:K");
    let (kind, value) = s.split_once(':').unwrap_or(("iters", s));
    let mut b = Budget::default();
    match kind {
        "iters" | "iterations" | "epochs" => {
            b.iters = Some(value.parse().ok().filter(|v| *v > 0).with_context(bad)?)
        }
        "evals" => b.evals = Some(value.parse().ok().filter(|v| *v > 0).with_context(bad)?),
        "seconds" | "time" => {
            b.seconds = Some(
                value
                    .parse::<f64>()
                    .ok()
                    .filter(|v| *v > 0.0 && v.is_finite())
                    .with_context(bad)?,
            )
        }
        _ => bail!(bad()),
    }
    Ok(b)
}

/// The methods of `--methods`, comma-separated; an empty entry (`lbfgs,,adam`, a
/// name lost in editing) is refused rather than skipped.
fn split_methods(s: &str) -> Result<Vec<String>> {
    let methods: Vec<String> = s.split(',').map(|m| m.trim().to_string()).collect();
    if methods.iter().any(String::is_empty) {
        bail!("--methods: an empty method name in {s:?} (between, before or after commas)");
    }
    Ok(methods)
}

/// Creates the output folder and proves it writable, before any work.
pub fn check_out(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create --out {}", dir.display()))?;
    let probe = dir.join(".descent-write-test");
    std::fs::write(&probe, b"")
        .with_context(|| format!("--out {} is not writable", dir.display()))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

pub fn run(a: CompareArgs) -> Result<()> {
    let budget = a
        .budget
        .as_deref()
        .map(parse_budget)
        .transpose()?
        .unwrap_or_default();
    if a.data.is_some() {
        return run_training(&a, budget);
    }
    run_objective(&a, budget)
}

/// The problem being compared, in the forms the methods need.
enum Problem {
    Mgh(MghProblem),
    Expr(ExprObjective),
    Nist(Box<SumOfSquares<descent::expr::ExprModel>>),
    RobustNist(Box<SumOfSquares<Robust<descent::expr::ExprModel>>>),
}

impl Problem {
    fn objective(&self) -> &dyn Objective {
        match self {
            Problem::Mgh(p) => p,
            Problem::Expr(e) => e,
            Problem::Nist(s) => s.as_ref(),
            Problem::RobustNist(s) => s.as_ref(),
        }
    }
    fn least_squares(&self) -> Option<&dyn LeastSquares> {
        match self {
            Problem::Mgh(p) => Some(p),
            Problem::Expr(_) => None,
            Problem::Nist(s) => Some(&s.0),
            Problem::RobustNist(s) => Some(&s.0),
        }
    }
}

/// Parses each method spec, naming the flag in errors.
fn parse_specs(names: &[String]) -> Result<Vec<MethodSpec>> {
    names
        .iter()
        .map(|m| MethodSpec::parse(m).map_err(|e| anyhow::anyhow!("--methods: {e}")))
        .collect()
}

fn run_objective(a: &CompareArgs, budget: Budget) -> Result<()> {
    if let Some(flag) = a.net.training_flag() {
        bail!("{flag} sets up a network: it goes with --data (a training comparison)");
    }
    let methods = parse_specs(&split_methods(
        a.methods.as_deref().unwrap_or(DEFAULT_METHODS),
    )?)?;
    for (name, v) in [("--gtol", a.gtol), ("--ftol", a.ftol), ("--xtol", a.xtol)] {
        if v.is_some_and(|v| !(v >= 0.0 && v.is_finite())) {
            bail!("{name} must be a finite non-negative number");
        }
    }
    let (problem, label, default_x0, f_star) = if let Some(path) = &a.nist {
        if !(1..=2).contains(&a.start) {
            bail!("--start must be 1 or 2, got {}", a.start);
        }
        let p = NistProblem::read(path)?;
        let model = p.least_squares()?;
        let x0 = p.starts[a.start as usize - 1].clone();
        let label = format!("{} (start {})", p.name, a.start);
        let loss = match &a.net.loss {
            Some(name) => RobustLoss::parse(name).map_err(|e| anyhow::anyhow!("--loss: {e}"))?,
            None => RobustLoss::Linear,
        };
        if loss == RobustLoss::Linear {
            if a.net.f_scale.is_some() {
                bail!("--f-scale goes with a robust --loss (soft_l1, huber, cauchy, arctan, tolerant, tukey)");
            }
            let f_star = Some(p.certified_rss);
            (
                Problem::Nist(Box::new(SumOfSquares(model))),
                label,
                x0,
                f_star,
            )
        } else {
            // The certified RSS is that of plain least squares: no known minimum here.
            let c = a.net.f_scale.unwrap_or(1.0);
            let robust =
                Robust::new(model, loss, c).map_err(|e| anyhow::anyhow!("--f-scale: {e}"))?;
            let label = format!("{label}, loss {} f_scale {c}", loss.as_str());
            (
                Problem::RobustNist(Box::new(SumOfSquares(robust))),
                label,
                x0,
                None,
            )
        }
    } else if a.net.loss.is_some() || a.net.f_scale.is_some() {
        bail!("--loss and --f-scale go with --nist (robust least squares) or --data (training)");
    } else if let Some(e) = &a.expr {
        let obj = ExprObjective::parse(e).map_err(|err| anyhow::anyhow!("--expr: {err}"))?;
        let x0 = vec![0.0; obj.dim()];
        (Problem::Expr(obj), e.clone(), x0, None)
    } else {
        let p = MghProblem::parse(a.problem.as_deref().unwrap_or("rosenbrock"))?;
        let (label, x0, f_star) = (p.label(), p.x0(), p.f_star());
        (Problem::Mgh(p), label, x0, f_star)
    };
    let objective = problem.objective();
    // Everything is checked before any work starts.
    validate_methods(&methods, problem.least_squares().is_some())
        .map_err(|e| anyhow::anyhow!("--methods: {e}"))?;
    let x0 = match &a.x0 {
        Some(s) => s
            .split(',')
            .map(|t| {
                t.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .with_context(|| format!("--x0: '{t}' is not a finite number"))
            })
            .collect::<Result<Vec<_>>>()?,
        None => default_x0,
    };
    if x0.len() != objective.dim() {
        bail!(
            "--x0 has {} entries but the problem has {} variables",
            x0.len(),
            objective.dim()
        );
    }
    if let Some(dir) = &a.out {
        check_out(dir)?;
    }
    // What is not set here is each method's own default: every method runs as it would
    // alone (`minimize`, `fit`).
    let settings = RunSettings {
        gtol: a.gtol,
        ftol: a.ftol,
        xtol: a.xtol,
        max_iter: budget.iters.or(a.max_iter),
        max_evals: budget.evals,
        time_limit: budget.seconds.map(Duration::from_secs_f64),
    };
    interrupt::install();
    // On a terminal a spinner counts the running method's iterations; otherwise one line
    // per method.
    let spinner = (!a.json && std::io::stderr().is_terminal()).then(|| {
        let b = ProgressBar::new_spinner();
        b.set_style(
            ProgressStyle::with_template("{spinner} {prefix}: iteration {pos} ({elapsed})")
                .expect("template"),
        );
        b
    });
    let ticks = std::cell::Cell::new(0u64);
    let quiet = a.json;
    let entries = compare(
        objective,
        problem.least_squares(),
        &methods,
        &x0,
        &settings,
        f_star,
        |m| match &spinner {
            Some(b) => {
                b.set_prefix(m.to_string());
                b.set_position(0);
                ticks.set(0);
            }
            None if !quiet => eprintln!("running {m} ..."),
            None => {}
        },
        &|| {
            // Touch the bar every 256 iterations only: the timings stay the method's own.
            let k = ticks.get() + 1;
            ticks.set(k);
            if let (Some(b), 0) = (&spinner, k % 256) {
                b.inc(256);
            }
            interrupt::requested()
        },
    )?;
    if let Some(b) = &spinner {
        b.finish_and_clear();
    }
    let interrupted = interrupt::requested();
    let mut written = Vec::new();
    if let Some(dir) = &a.out {
        written = write_objective_outputs(dir, &label, &entries, &x0, f_star, &problem)?;
    }
    if a.json {
        println!(
            "{}",
            json!({ "problem": label, "n": objective.dim(), "f_star": f_star,
                    "interrupted": interrupted, "entries": entries })
        );
    } else {
        print_table(&label, objective.dim(), &entries);
        report_end(
            interrupted,
            entries.len(),
            methods.len(),
            a.out.as_deref(),
            &written,
        );
    }
    Ok(())
}

fn print_table(label: &str, n: usize, entries: &[Entry]) {
    println!("problem: {label} (n = {n})");
    println!(
        "{:<10} {:>16} {:>6} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9}  termination",
        "method",
        "final f",
        "target",
        "iters",
        "f evals",
        "g evals",
        "h evals",
        "J evals",
        "seconds"
    );
    for e in entries {
        let t = match e.reached_target {
            Some(true) => "yes",
            Some(false) => "no",
            None => "-",
        };
        println!(
            "{:<10} {:>16.8e} {:>6} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9.4}  {}",
            e.method,
            e.f,
            t,
            e.iterations,
            e.f_evals,
            e.g_evals,
            e.h_evals,
            e.jac_evals,
            e.seconds,
            e.termination
        );
    }
}

/// A training run's test result as a table cell: accuracy, or R² for regression.
fn test_cell(row: &serde_json::Value) -> Option<String> {
    row["test_accuracy"]
        .as_f64()
        .map(|v| format!("{:.2}%", 100.0 * v))
        .or_else(|| row["test_r2"].as_f64().map(|v| format!("R² {v:.4}")))
}

/// The lines after a table: how far an interrupted run got, and the files written.
fn report_end(
    interrupted: bool,
    ran: usize,
    total: usize,
    out: Option<&Path>,
    written: &[PathBuf],
) {
    if interrupted {
        println!("interrupted: {ran} of {total} methods ran");
    }
    report_written(out, written);
}

pub fn report_written(out: Option<&Path>, written: &[PathBuf]) {
    if let Some(dir) = out {
        let names: Vec<String> = written
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        println!("wrote {}/: {}", dir.display(), names.join(", "));
    }
}

/// The value plotted on a log axis: the gap to the known minimum when there is one (0,
/// not drawn on a log axis, where rounding puts f at or below f*).
fn gap(f: f64, f_star: Option<f64>) -> f64 {
    match f_star {
        Some(s) => (f - s).max(0.0),
        None => f,
    }
}

/// Convergence curves of every method: against iterations, evaluations and time.
pub fn objective_charts(
    label: &str,
    entries: &[Entry],
    f0: f64,
    f_star: Option<f64>,
) -> [LineChart; 3] {
    let y_label = if f_star.is_some() {
        "f(x) − f*"
    } else {
        "f(x)"
    };
    let positive = entries
        .iter()
        .flat_map(|e| e.log.iter().map(|r| gap(r.f, f_star)))
        .all(|v| v >= 0.0 || !v.is_finite());
    let mut charts = [
        LineChart::new(
            format!("{label}: objective per iteration"),
            "iteration",
            y_label,
        ),
        LineChart::new(
            format!("{label}: objective per function evaluation"),
            "function evaluations",
            y_label,
        ),
        LineChart::new(
            format!("{label}: objective against time"),
            "wall time (s)",
            y_label,
        ),
    ];
    if positive {
        for c in charts.iter_mut() {
            c.y_scale = crate::plot::Scale::Log;
        }
    }
    charts[2].x_scale = crate::plot::Scale::Log;
    // Runs of very different lengths (Newton's 5 iterations, gradient descent's 10 000):
    // a log axis keeps the short ones visible (the start, at 0, is then not drawn).
    let lengths: Vec<u64> = entries.iter().map(|e| e.iterations.max(1)).collect();
    if let (Some(lo), Some(hi)) = (lengths.iter().min(), lengths.iter().max()) {
        if *hi >= 50 * *lo {
            charts[0].x_scale = crate::plot::Scale::Log;
            charts[0].x_label = "iteration (log scale)".into();
            charts[1].x_scale = crate::plot::Scale::Log;
            charts[1].x_label = "function evaluations (log scale)".into();
        }
    }
    for e in entries {
        let g0 = gap(f0, f_star);
        let mut by_iter = vec![(0.0, g0)];
        let mut by_eval = vec![(1.0, g0)];
        let mut by_time = Vec::new();
        for r in &e.log {
            let g = gap(r.f, f_star);
            by_iter.push((r.iter as f64, g));
            by_eval.push((r.counts.f_evals as f64, g));
            if r.seconds > 0.0 {
                by_time.push((r.seconds, g));
            }
        }
        charts[0].add(e.method.clone(), by_iter);
        charts[1].add(e.method.clone(), by_eval);
        charts[2].add(e.method.clone(), by_time);
    }
    charts
}

fn write_objective_outputs(
    dir: &Path,
    label: &str,
    entries: &[Entry],
    x0: &[f64],
    f_star: Option<f64>,
    problem: &Problem,
) -> Result<Vec<PathBuf>> {
    let objective = problem.objective();
    let mut written = Vec::new();
    let log_path = dir.join("iterations.jsonl");
    let mut log = std::io::BufWriter::new(
        std::fs::File::create(&log_path)
            .with_context(|| format!("cannot write {}", log_path.display()))?,
    );
    for e in entries {
        for r in &e.log {
            let line = json!({
                "method": e.method, "iter": r.iter, "f": r.f, "grad_norm": r.grad_norm,
                "step_norm": r.step_norm, "alpha": r.alpha, "f_evals": r.counts.f_evals,
                "g_evals": r.counts.g_evals, "h_evals": r.counts.h_evals, "seconds": r.seconds,
            });
            writeln!(log, "{line}")?;
        }
    }
    log.flush()?;
    written.push(log_path);
    let md = dir.join("summary.md");
    std::fs::write(&md, format!("# {label}\n\n{}", markdown_table(entries)))?;
    written.push(md);
    let js = dir.join("summary.json");
    std::fs::write(
        &js,
        serde_json::to_string_pretty(
            &json!({"problem": label, "f_star": f_star, "entries": entries}),
        )?,
    )?;
    written.push(js);
    let f0 = objective.value(x0);
    let stems = [
        "objective_vs_iteration",
        "objective_vs_evaluations",
        "objective_vs_time",
    ];
    for (chart, stem) in objective_charts(label, entries, f0, f_star)
        .iter()
        .zip(stems)
    {
        written.extend(chart.save(dir, stem)?);
    }
    if x0.len() == 2 {
        let contour = contour_with_paths(label, objective, entries, x0);
        written.extend(contour.save(dir, "contour")?);
    }
    Ok(written)
}

/// A contour plot of a 2-D objective around the methods' paths.
pub fn contour_with_paths(
    label: &str,
    objective: &dyn Objective,
    entries: &[Entry],
    x0: &[f64],
) -> ContourPlot {
    let pts = entries
        .iter()
        .flat_map(|e| e.path.iter())
        .chain(std::iter::once(&x0.to_vec()))
        .filter(|p| p.len() == 2 && p[0].is_finite() && p[1].is_finite())
        .map(|p| (p[0], p[1]))
        .collect::<Vec<_>>();
    // The box around start and ends (paths that wander far are clipped).
    let ends: Vec<(f64, f64)> = entries
        .iter()
        .filter_map(|e| e.path.last())
        .filter(|p| p.len() == 2)
        .map(|p| (p[0], p[1]))
        .chain(std::iter::once((x0[0], x0[1])))
        .collect();
    let bound = |sel: fn(&(f64, f64)) -> f64, v: &[(f64, f64)]| {
        let lo = v.iter().map(sel).fold(f64::INFINITY, f64::min);
        let hi = v.iter().map(sel).fold(f64::NEG_INFINITY, f64::max);
        (lo, hi)
    };
    let (mut xl, mut xh) = bound(|p| p.0, &ends);
    let (mut yl, mut yh) = bound(|p| p.1, &ends);
    // Widen to the bulk of the paths when they stay near (within 3× the box).
    let (pxl, pxh) = bound(|p| p.0, &pts);
    let (pyl, pyh) = bound(|p| p.1, &pts);
    let (wx, wy) = ((xh - xl).max(0.5), (yh - yl).max(0.5));
    xl = xl.min(pxl.max(xl - 3.0 * wx));
    xh = xh.max(pxh.min(xh + 3.0 * wx));
    yl = yl.min(pyl.max(yl - 3.0 * wy));
    yh = yh.max(pyh.min(yh + 3.0 * wy));
    let (dx, dy) = ((xh - xl).max(0.5) * 0.15, (yh - yl).max(0.5) * 0.15);
    let mut plot = ContourPlot::sample(
        format!("{label}: paths of the methods"),
        |x, y| objective.value(&[x, y]),
        (xl - dx, xh + dx),
        (yl - dy, yh + dy),
        160,
        24,
    );
    for e in entries {
        let path: Vec<(f64, f64)> = e.path.iter().map(|p| (p[0], p[1])).collect();
        plot.paths.push(Series::new(e.method.clone(), path));
    }
    plot
}

/// Parses the training options as `descent train` would, for one optimizer.
/// The experiment every optimizer of a training comparison runs: the `descent train`
/// defaults with the options given here.
fn experiment(a: &CompareArgs, optimizer: &str, epochs: Option<usize>) -> Result<ExperimentConfig> {
    let n = &a.net;
    let mut c = ExperimentConfig::new(a.data.as_deref().unwrap_or_default());
    c.test = n.test.clone();
    c.layers = n.layers.as_deref().map(parse_layers).transpose()?;
    if let Some(s) = &n.activation {
        c.activation = parse_activation(s)?;
    }
    match n.loss.as_deref() {
        None | Some("auto") => c.loss_from_data = true,
        Some(s) => c.loss = parse_loss(s)?,
    }
    if let Some(s) = &n.init {
        c.init = parse_init(s)?;
    }
    if let Some(seed) = n.seed {
        c.seed = seed;
    }
    if let Some(t) = n.threads {
        c.threads = t;
    }
    c.val_frac = n.val_frac;
    c.standardize = n.standardize.then_some(true);
    c.epochs = epochs;
    c.train.optimizer = optimizer.into();
    c.train.lr = n.lr;
    c.train.l2 = n.l2;
    if let Some(b) = n.batch_size {
        c.train.batch_size = b;
    }
    if let Some(p) = &n.precision {
        c.precision = Precision::parse(p)?;
    }
    c.train.goal = n.goal;
    Ok(c)
}

/// One optimizer's training run, as compared.
pub struct TrainEntry {
    pub method: String,
    pub outcome: Outcome,
    /// Training and validation loss per epoch, in the target's original units.
    pub unscaled: Vec<(f64, Option<f64>)>,
}

impl TrainEntry {
    pub fn new(method: &str, prep: &Prepared, outcome: Outcome) -> Self {
        let unscaled = outcome
            .result
            .state
            .history
            .iter()
            .map(|e| {
                (
                    prep.unscale(e.train_loss),
                    e.val_loss.map(|v| prep.unscale(v)),
                )
            })
            .collect();
        TrainEntry {
            method: method.into(),
            outcome,
            unscaled,
        }
    }
}

struct CompareProgress {
    bar: Option<ProgressBar>,
}

impl TrainObserver for CompareProgress {
    fn on_batch(&mut self, _epoch: usize, batch: usize, batches: usize, loss: f64) {
        if let Some(b) = &self.bar {
            if batch == batches || batch.is_multiple_of(16) {
                b.set_message(format!("batch {batch}/{batches} loss {loss:.4}"));
            }
        }
    }
    fn on_epoch(&mut self, r: &EpochReport) {
        if let Some(b) = &self.bar {
            b.set_position(r.epoch as u64);
        }
    }
    fn should_stop(&self) -> bool {
        interrupt::requested()
    }
}

fn run_training(a: &CompareArgs, budget: Budget) -> Result<()> {
    if a.net.f_scale.is_some() {
        bail!("--f-scale is the scale of a robust loss for --nist; a network's --loss has none");
    }
    if a.problem.is_some() || a.expr.is_some() || a.nist.is_some() {
        bail!("--data compares training runs; it does not go with --problem, --expr or --nist");
    }
    if budget.evals.is_some() || budget.seconds.is_some() {
        bail!("--budget for training: epochs:K (or K)");
    }
    for (flag, given) in [
        ("--max-iter", a.max_iter.is_some()),
        ("--gtol", a.gtol.is_some()),
        ("--ftol", a.ftol.is_some()),
        ("--xtol", a.xtol.is_some()),
        ("--x0", a.x0.is_some()),
    ] {
        if given {
            bail!("{flag} is for objectives; a training comparison takes --epochs or --budget epochs:K");
        }
    }
    let methods = split_methods(a.methods.as_deref().unwrap_or(DEFAULT_TRAIN_METHODS))?;
    let epochs = budget.iters.map(|k| k as usize).or(a.net.epochs);
    // Every optimizer is checked, and the data loaded once, before any training.
    for m in &methods {
        check_optimizer(m).with_context(|| format!("method {m}"))?;
    }
    if a.net.goal.is_some() {
        let label = a.data.clone().unwrap_or_default();
        let args = super::goal::GoalArgs {
            label: &label,
            methods: &methods,
            epochs,
            seeds: a.net.seeds.unwrap_or(10),
            out: a.out.as_deref(),
            json: a.json,
        };
        return super::goal::run_goal(&args, &experiment(a, &methods[0], epochs)?);
    }
    if a.net.seeds.is_some() {
        bail!("--seeds goes with --goal (runs to a goal over seeds)");
    }
    let prep = Experiment::prepare(&experiment(a, &methods[0], epochs)?)?;
    let runs: Vec<(&str, TrainConfig)> = methods
        .iter()
        .map(|m| {
            let epochs = epochs.unwrap_or_else(|| {
                default_epochs(m, prep.train_set.total_len(), prep.cfg.batch_size)
            });
            let cfg = TrainConfig {
                optimizer: m.clone(),
                epochs,
                ..prep.cfg.clone()
            };
            (m.as_str(), cfg)
        })
        .collect();
    for (_, cfg) in &runs {
        cfg.check_trains(&prep.net)?;
    }
    if let Some(dir) = &a.out {
        check_out(dir)?;
    }
    interrupt::install();
    let label = a.data.clone().unwrap_or_default();
    let mut entries = Vec::new();
    for (m, cfg) in &runs {
        if interrupt::requested() {
            break;
        }
        let show = !a.json && std::io::stderr().is_terminal();
        let bar = show.then(|| {
            let b = ProgressBar::new(cfg.epochs as u64);
            b.set_style(
                ProgressStyle::with_template(
                    "{prefix:>10} [{bar:30}] {pos}/{len} {msg} ({elapsed})",
                )
                .expect("template")
                .progress_chars("=> "),
            );
            b.set_prefix(m.to_string());
            b
        });
        if !show && !a.json {
            eprintln!("training with {m} ...");
        }
        let mut obs = CompareProgress { bar };
        let outcome = prep.run_with(cfg, &mut obs)?;
        if let Some(b) = obs.bar {
            b.finish_and_clear();
        }
        entries.push(TrainEntry::new(m, &prep, outcome));
    }
    let interrupted = interrupt::requested();
    let rows: Vec<serde_json::Value> = entries.iter().map(train_row).collect();
    let mut written = Vec::new();
    if let Some(dir) = &a.out {
        written = write_training_outputs(dir, &label, &entries, &rows, &prep)?;
    }
    if a.json {
        println!(
            "{}",
            json!({ "data": label, "layers": prep.net.arch.sizes, "params": prep.net.num_params(),
                    "interrupted": interrupted, "entries": rows })
        );
    } else {
        println!(
            "data: {label}, layers {:?} ({} parameters)",
            prep.net.arch.sizes,
            prep.net.num_params()
        );
        println!(
            "{:<10} {:>12} {:>12} {:>10} {:>8} {:>9}  stop",
            "method", "train loss", "val loss", "test", "epochs", "seconds"
        );
        for r in &rows {
            let test = test_cell(r).unwrap_or_else(|| "-".into());
            println!(
                "{:<10} {:>12.5} {:>12} {:>10} {:>8} {:>9.3}  {}",
                r["method"].as_str().unwrap_or(""),
                r["train_loss"].as_f64().unwrap_or(f64::NAN),
                r["val_loss"]
                    .as_f64()
                    .map_or("-".into(), |v| format!("{v:.5}")),
                test,
                r["epochs"].as_u64().unwrap_or(0),
                r["seconds"].as_f64().unwrap_or(0.0),
                r["stop"].as_str().unwrap_or("")
            );
        }
        report_end(
            interrupted,
            entries.len(),
            methods.len(),
            a.out.as_deref(),
            &written,
        );
    }
    Ok(())
}

/// The summary row of one training run: the same numbers `descent train --json` reports.
fn train_row(e: &TrainEntry) -> serde_json::Value {
    let h = &e.outcome.result.state.history;
    let last = h.last();
    let mut row = json!({
        "method": e.method,
        "train_loss": e.unscaled.last().map(|u| u.0),
        "val_loss": e.unscaled.last().and_then(|u| u.1),
        "val_accuracy": last.and_then(|r| r.val_accuracy),
        "epochs": h.len(),
        "seconds": last.map_or(0.0, |r| r.seconds),
        "samples_per_second": e.outcome.result.samples_per_second,
        "stop": e.outcome.result.stop,
    });
    if let Some(m) = e.outcome.test {
        row["test_loss"] = json!(m.loss);
        if let Some(acc) = m.accuracy {
            row["test_accuracy"] = json!(acc);
        }
        if let Some(r2) = m.r2 {
            row["test_r2"] = json!(r2);
        }
    }
    row
}

fn write_training_outputs(
    dir: &Path,
    label: &str,
    entries: &[TrainEntry],
    rows: &[serde_json::Value],
    prep: &Prepared,
) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let log_path = dir.join("iterations.jsonl");
    let mut log = std::io::BufWriter::new(
        std::fs::File::create(&log_path)
            .with_context(|| format!("cannot write {}", log_path.display()))?,
    );
    for e in entries {
        for (r, (tl, vl)) in e.outcome.result.state.history.iter().zip(&e.unscaled) {
            let line = json!({
                "method": e.method, "epoch": r.epoch, "train_loss": tl, "val_loss": vl,
                "val_accuracy": r.val_accuracy, "val_r2": r.val_r2, "seconds": r.seconds,
            });
            writeln!(log, "{line}")?;
        }
    }
    log.flush()?;
    written.push(log_path);
    let mut md = format!(
        "# {label}\n\nlayers {:?}, {} parameters, {} training / {} validation samples\n\n\
         | method | train loss | val loss | test | epochs | seconds | stop |\n|---|---|---|---|---|---|---|\n",
        prep.net.arch.sizes,
        prep.net.num_params(),
        prep.train_set.total_len(),
        prep.val_set.total_len()
    );
    for r in rows {
        let test = test_cell(r).unwrap_or_else(|| "—".into());
        md.push_str(&format!(
            "| {} | {:.5} | {} | {} | {} | {:.3} | {} |\n",
            r["method"].as_str().unwrap_or(""),
            r["train_loss"].as_f64().unwrap_or(f64::NAN),
            r["val_loss"]
                .as_f64()
                .map_or("—".into(), |v| format!("{v:.5}")),
            test,
            r["epochs"].as_u64().unwrap_or(0),
            r["seconds"].as_f64().unwrap_or(0.0),
            r["stop"].as_str().unwrap_or("")
        ));
    }
    let p = dir.join("summary.md");
    std::fs::write(&p, md)?;
    written.push(p);
    let p = dir.join("summary.json");
    std::fs::write(
        &p,
        serde_json::to_string_pretty(
            &json!({"data": label, "layers": prep.net.arch.sizes, "entries": rows}),
        )?,
    )?;
    written.push(p);
    for (chart, stem) in training_charts(label, entries).iter().zip([
        "loss_vs_epoch",
        "val_loss_vs_epoch",
        "loss_vs_time",
        "accuracy_vs_epoch",
    ]) {
        if chart.series.iter().any(|s| !s.points.is_empty()) {
            written.extend(chart.save(dir, stem)?);
        }
    }
    Ok(written)
}

/// Training loss and validation loss per epoch, training loss against time, validation
/// accuracy per epoch.
pub fn training_charts(label: &str, entries: &[TrainEntry]) -> [LineChart; 4] {
    let mut c = [
        LineChart::new(
            format!("{label}: training loss"),
            "epoch (iteration for full-batch methods)",
            "training loss",
        )
        .log_y(),
        LineChart::new(
            format!("{label}: validation loss"),
            "epoch (iteration for full-batch methods)",
            "validation loss",
        )
        .log_y(),
        LineChart::new(
            format!("{label}: training loss against time"),
            "wall time (s)",
            "training loss",
        )
        .log_y(),
        LineChart::new(
            format!("{label}: validation accuracy"),
            "epoch (iteration for full-batch methods)",
            "validation accuracy (%)",
        ),
    ];
    for e in entries {
        let h = &e.outcome.result.state.history;
        let train: Vec<(f64, f64)> = h
            .iter()
            .zip(&e.unscaled)
            .map(|(r, u)| (r.epoch as f64, u.0))
            .collect();
        let val: Vec<(f64, f64)> = h
            .iter()
            .zip(&e.unscaled)
            .filter_map(|(r, u)| u.1.map(|v| (r.epoch as f64, v)))
            .collect();
        let time: Vec<(f64, f64)> = h
            .iter()
            .zip(&e.unscaled)
            .map(|(r, u)| (r.seconds, u.0))
            .collect();
        let acc: Vec<(f64, f64)> = h
            .iter()
            .filter_map(|r| r.val_accuracy.map(|a| (r.epoch as f64, 100.0 * a)))
            .collect();
        c[0].add(e.method.clone(), train);
        c[1].add(e.method.clone(), val);
        c[2].add(e.method.clone(), time);
        c[3].add(e.method.clone(), acc);
    }
    c
}
