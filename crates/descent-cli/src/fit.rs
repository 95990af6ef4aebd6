//! `descent fit`: nonlinear least squares on a NIST StRD file or a typed model and a CSV.

use anyhow::{bail, Context, Result};
use clap::Args;
use descent::comm::tree::own_leaves;
use descent::comm::{
    all_agree, any_worker, Communicator, Fingerprint, NormalEquationsLeastSquares,
};
use descent::data::Table;
use descent::expr::{Expr, ExprModel};
use descent::least_squares::{
    fit_with, sum_of_squares, FitOptions, FitSummary, Robust, RobustLoss, Weighted,
};
use descent::problems::nist::{lre, NistProblem};
use descent::LeastSquares;
use descent::{Bounds, Checkpoint, Control, IterReport, MethodSpec, NoObserver, Observer, Start};
use serde_json::{json, Map, Value};
use std::path::PathBuf;

#[derive(Args)]
pub struct FitArgs {
    /// A NIST StRD nonlinear-regression file (.dat): data, model, starting values.
    #[arg(long, conflicts_with_all = ["model", "data", "init", "x", "y"])]
    nist: Option<PathBuf>,
    /// Which NIST starting values: 1 or 2.
    #[arg(long, default_value_t = 1, conflicts_with = "model")]
    start: u8,
    /// A model in the parameters and data columns, e.g. "b1*(1-exp(-b2*x))".
    #[arg(long, requires = "data")]
    model: Option<String>,
    /// CSV file with a header row (for --model).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Column for the model variable `x`, or the model's variable named as its column
    /// (other variables are matched to columns by name).
    #[arg(long)]
    x: Option<String>,
    /// Response column.
    #[arg(long, default_value = "y")]
    y: String,
    /// Parameters and starting values, NAME=VALUE,... (every parameter of the model).
    #[arg(long)]
    init: Option<String>,
    /// Method: lm (Levenberg-Marquardt), trf (trust-region reflective), gn
    /// (Gauss-Newton), diag-gn, br; with settings if any, e.g. lm:tau=1e-2:restart=false.
    /// Default: lm, or trf with --bounds.
    #[arg(long)]
    method: Option<String>,
    /// Iteration budget (Levenberg–Marquardt: shared with its restart from the start).
    #[arg(long, default_value_t = 2000)]
    max_iter: u64,
    /// Relative reduction tolerance.
    #[arg(long, default_value_t = 1e-15)]
    ftol: f64,
    /// Relative step tolerance.
    #[arg(long, default_value_t = 1e-15)]
    xtol: f64,
    /// Orthogonality (gradient cosine) tolerance.
    #[arg(long, default_value_t = 1e-15)]
    gtol: f64,
    /// Turn off geodesic acceleration (Levenberg-Marquardt).
    #[arg(long)]
    no_geodesic: bool,
    /// Bounds on parameters, NAME=LO:HI,... (-inf/inf allowed; unnamed parameters are
    /// free). Levenberg–Marquardt keeps to them (projected, active-set).
    #[arg(long, allow_hyphen_values = true)]
    bounds: Option<String>,
    /// Robust loss on the residuals, as SciPy's least_squares defines it: linear,
    /// soft_l1, huber, cauchy, arctan; or Ceres' tolerant, tukey.
    #[arg(long, default_value = "linear")]
    loss: String,
    /// Scale C of the robust loss: residuals well below C count as squares, above it less
    /// (cost = ½C²Σρ((r/C)²)).
    #[arg(long)]
    f_scale: Option<f64>,
    /// Column of per-point standard deviations σ (curve_fit's sigma): the fit minimizes
    /// Σ((y − model)/σ)².
    #[arg(long)]
    sigma: Option<String>,
    /// The σ of --sigma are absolute: covariance (JᵀJ)⁻¹, not scaled by the residual
    /// variance (curve_fit's absolute_sigma).
    #[arg(long, requires = "sigma")]
    absolute_sigma: bool,
    /// Save the fit's final state here (atomically), to continue it with --resume.
    #[arg(long)]
    save: Option<PathBuf>,
    /// With --save: also save a checkpoint every N iterations while fitting, so that a
    /// fit that is killed resumes (--resume) from its last one exactly.
    #[arg(long, value_name = "N", requires = "save", value_parser = clap::value_parser!(u64).range(1..))]
    checkpoint_every: Option<u64>,
    /// Continue a fit saved with --save (same problem and method; --max-iter counts the
    /// total).
    #[arg(long)]
    resume: Option<PathBuf>,
    /// Print one JSON object on stdout.
    #[arg(long)]
    json: bool,
}

fn parse_init(s: &str) -> Result<Vec<(String, f64)>> {
    let mut out: Vec<(String, f64)> = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, value) = part
            .split_once('=')
            .with_context(|| format!("--init: '{part}' is not NAME=VALUE"))?;
        let name = name.trim().to_string();
        let v: f64 = value
            .trim()
            .parse()
            .with_context(|| format!("--init: '{}' is not a number", value.trim()))?;
        if !v.is_finite() {
            bail!("--init: {name} = {v} is not finite");
        }
        if out.iter().any(|(n, _)| *n == name) {
            bail!("--init: {name} is given twice");
        }
        out.push((name, v));
    }
    if out.is_empty() {
        bail!("--init lists no parameters");
    }
    Ok(out)
}

struct Job {
    label: String,
    names: Vec<String>,
    x0: Vec<f64>,
    problem: ExprModel,
    nist: Option<NistProblem>,
    sigma: Option<Vec<f64>>,
    /// Of a distributed fit whose rank read only its rows: all the ranks' row count, and
    /// the rows `problem` (and `sigma`) hold.
    part: Option<(usize, std::ops::Range<usize>)>,
}

impl FitArgs {
    /// `--f-scale`, 1 when not given.
    fn f_scale(&self) -> f64 {
        self.f_scale.unwrap_or(1.0)
    }
}

fn nist_job(path: &std::path::Path, start: u8) -> Result<Job> {
    let p = NistProblem::read(path)?;
    if !(1..=2).contains(&start) {
        bail!("--start must be 1 or 2, got {start}");
    }
    let x0 = p.starts[start as usize - 1].clone();
    let problem = p.least_squares()?;
    Ok(Job {
        label: format!("{} (start {start})", p.name),
        names: p.params.clone(),
        x0,
        problem,
        nist: Some(p),
        sigma: None,
        part: None,
    })
}

fn model_job(a: &FitArgs, model: &str, world: Option<&dyn Communicator>) -> Result<Job> {
    let data = a.data.as_ref().context("--model needs --data FILE.csv")?;
    let init = parse_init(
        a.init
            .as_deref()
            .context("--model needs --init NAME=VALUE,...")?,
    )?;
    // A rank of a distributed fit reads its rows alone.
    let (table, part) = match world {
        Some(w) => {
            let mut held = 0..0;
            let (table, total) = Table::read_part(data, |total| {
                held = own_leaves(total, w.rank(), w.size()).0;
                held.clone()
            })?;
            (table, Some((total, held)))
        }
        None => (Table::read(data)?, None),
    };
    let expr = Expr::parse(model).map_err(|e| anyhow::anyhow!("--model: {e}"))?;
    let names: Vec<String> = init.iter().map(|(n, _)| n.clone()).collect();
    // A name that is both would silently be fitted as a parameter, the column unread.
    for n in &names {
        if table.column_index(n).is_ok() || (n == "x" && a.x.is_some()) {
            bail!(
                "--init {n}: '{n}' is also a data column of {}; name the parameter otherwise",
                data.display()
            );
        }
    }
    // The response inside the model would fit y to itself.
    if let Some(v) = expr.variables().iter().find(|v| **v == a.y) {
        bail!("--model: '{v}' is the response column (--y); the model is a function of the other columns");
    }
    // Every model variable that is not a parameter is a data column (x via --x).
    let mut inputs = Vec::new();
    let mut columns = Vec::new();
    for v in expr.variables() {
        if names.contains(v) {
            continue;
        }
        let col = if v == "x" {
            a.x.clone().unwrap_or_else(|| "x".into())
        } else {
            v.clone()
        };
        if v == "x" && a.x.is_some() && table.column_index(&col).is_err() {
            bail!(
                "--x {col}: no such column in {} ({})",
                data.display(),
                table.headers.join(", ")
            );
        }
        if table.column_index(&col).is_err() {
            bail!(
                "'{v}' in the model is neither a parameter in --init ({}) nor a column of {} ({})",
                names.join(", "),
                data.display(),
                table.headers.join(", ")
            );
        }
        inputs.push(v.clone());
        columns.push(table.numeric_column(&col)?);
    }
    // `--x COL` names the column of the model's `x`, or — when the model calls its
    // variable by the column's name — confirms that variable.
    if let Some(xcol) = &a.x {
        if !expr.variables().iter().any(|v| v == "x" || v == xcol) {
            bail!("--x {xcol}: the model has neither a variable 'x' nor one named '{xcol}'");
        }
    }
    let y = table.numeric_column(&a.y)?;
    let sigma = match &a.sigma {
        Some(col) => Some(
            table
                .numeric_column(col)
                .map_err(|e| anyhow::anyhow!("--sigma: {e}"))?,
        ),
        None => None,
    };
    let problem = ExprModel::new(model, &names, &inputs, columns, y)?;
    let x0 = init.iter().map(|(_, v)| *v).collect();
    Ok(Job {
        label: model.to_string(),
        names,
        x0,
        problem,
        nist: None,
        sigma,
        part,
    })
}

fn named(names: &[String], values: &[f64]) -> Value {
    let mut m = Map::new();
    for (n, v) in names.iter().zip(values) {
        m.insert(n.clone(), json!(v));
    }
    Value::Object(m)
}

/// `step`'s result, agreed by every rank of a distributed fit: a rank that failed where
/// the others did not (its own rows, its copy of a checkpoint) stops them all, with its
/// message, instead of leaving them waiting for it in the next sum.
fn on_every_rank<T>(world: Option<&dyn Communicator>, step: Result<T>) -> Result<T> {
    if let Some(w) = world {
        if any_worker(w, step.is_err()) && step.is_ok() {
            bail!(
                "another rank of this job failed (its own message says why), so this one stops too"
            );
        }
    }
    step
}

/// Of a distributed fit, every rank stops when one does (rank 0's checkpoint failed,
/// Ctrl-C reached one rank first): a flag summed at every iteration, so that the ranks
/// never part ways between two sums.
struct StopTogether<'a> {
    inner: &'a mut dyn Observer,
    world: &'a dyn Communicator,
}

impl Observer for StopTogether<'_> {
    fn on_start(&mut self, method: &str, n: usize, f0: f64) {
        self.inner.on_start(method, n, f0)
    }
    fn on_iter(&mut self, r: &IterReport) -> Control {
        let control = self.inner.on_iter(r);
        if any_worker(self.world, matches!(control, Control::Stop)) {
            Control::Stop
        } else {
            control
        }
    }
    fn on_point(&mut self, x: &[f64]) {
        self.inner.on_point(x)
    }
    fn on_checkpoint(&mut self, c: &Checkpoint) {
        self.inner.on_checkpoint(c)
    }
    fn on_finish(&mut self, s: &descent::Summary) {
        self.inner.on_finish(s)
    }
}

/// The problem's label, with its loss, weights and bounds: a checkpoint belongs to it.
fn label_of(a: &FitArgs, job: &Job, loss: RobustLoss) -> String {
    match (&a.sigma, loss, &a.bounds) {
        (None, RobustLoss::Linear, None) => job.label.clone(),
        _ => format!(
            "{} (loss {} f_scale {}{}{})",
            job.label,
            loss.as_str(),
            a.f_scale(),
            a.sigma
                .as_ref()
                .map_or(String::new(), |c| format!(" sigma {c}")),
            a.bounds
                .as_ref()
                .map_or(String::new(), |c| format!(" bounds {c}"))
        ),
    }
}

pub fn run(a: FitArgs) -> Result<()> {
    if let Some(path) = &a.save {
        crate::checkpoints::check_save_path(path)?;
    }
    // `mpirun -np K descent fit …`: each rank fits on its share of the rows, and the
    // method sees their normal equations summed; rank 0 alone prints and saves.
    let world = crate::distributed::world()?;
    let root = world.as_ref().is_none_or(|w| w.is_root());
    let method_name = a
        .method
        .clone()
        .unwrap_or_else(|| descent::least_squares::default_method(a.bounds.is_some()).to_string());
    let mut spec = MethodSpec::parse(&method_name).map_err(|e| anyhow::anyhow!("--method: {e}"))?;
    if a.no_geodesic {
        crate::minimize::apply_flag(&mut spec, "--no-geodesic", "geodesic", "false")?;
    }
    let info = spec.check().map_err(|e| anyhow::anyhow!("--method: {e}"))?;
    if !info.applies(descent::method::AppliesTo::LeastSquares) {
        bail!("--method: '{}' is not a least-squares method", info.name);
    }
    let loss = RobustLoss::parse(&a.loss).map_err(|e| anyhow::anyhow!("--loss: {e}"))?;
    if loss == RobustLoss::Linear && a.f_scale.is_some() {
        bail!("--f-scale is the scale of a robust --loss (soft_l1, huber, cauchy, arctan); the linear loss has none");
    }
    if a.sigma.is_some() && a.nist.is_some() {
        bail!("--sigma needs --model and --data (a NIST file has no σ column)");
    }
    let job = match (&a.nist, &a.model) {
        (Some(path), _) => nist_job(path, a.start),
        (None, Some(model)) => model_job(&a, model, world.as_deref()),
        (None, None) => Err(anyhow::anyhow!(
            "give --nist FILE.dat, or --model EXPR --data FILE.csv --init ..."
        )),
    };
    // Each rank read its own rows: a rank that found a bad one stops them all.
    let job = on_every_rank(world.as_deref(), job)?;
    for (name, v) in [("--ftol", a.ftol), ("--xtol", a.xtol), ("--gtol", a.gtol)] {
        if !(v >= 0.0 && v.is_finite()) {
            bail!("{name} must be a finite non-negative number, got {v}");
        }
    }
    let bounds = match &a.bounds {
        Some(text) => Some(
            Bounds::parse_named(text, &job.names).map_err(|e| anyhow::anyhow!("--bounds: {e}"))?,
        ),
        None => None,
    };
    let mut x0 = job.x0.clone();
    let moved = bounds
        .as_ref()
        .map(|b| b.move_inside(&mut x0))
        .unwrap_or_default();
    let opts = spec.fit_options(&FitOptions {
        ftol: a.ftol,
        xtol: a.xtol,
        gtol: a.gtol,
        max_iter: a.max_iter,
        keep_checkpoint: a.save.is_some(),
        absolute_sigma: a.absolute_sigma,
        bounds: bounds.clone(),
        ..FitOptions::default()
    });
    // Of a distributed fit, this rank's rows: whole leaves of a tree whose shape the row
    // count alone sets (`own_leaves`), so that the sums are grouped alike on 2, 4, … ranks.
    let observations = job
        .part
        .as_ref()
        .map_or(job.problem.residual_count(), |p| p.0);
    if observations < job.names.len() {
        // (MINPACK refuses it too: m ≥ n.) Fewer rows than parameters leave a family of
        // exact fits, and no degrees of freedom for the standard errors.
        bail!(
            "the data have {observations} row{}, fewer than the model's {} parameters",
            if observations == 1 { "" } else { "s" },
            job.names.len()
        );
    }
    let own = match &world {
        Some(w) => {
            if observations < w.size() {
                bail!(
                    "the data have {observations} rows, fewer than the {} ranks of this job",
                    w.size()
                );
            }
            Some(own_leaves(observations, w.rank(), w.size()))
        }
        None => None,
    };
    // A rank that read the whole file (a NIST one) keeps its rows of it.
    let own_rows = match (&own, &job.part) {
        (Some((rows, _)), None) => Some(
            job.problem
                .rows(rows.clone())
                .expect("every rank's share holds a row"),
        ),
        _ => None,
    };
    let rows_problem = own_rows.as_ref().unwrap_or(&job.problem);
    let own_sigma = match (&job.sigma, &own, &job.part) {
        (Some(sigma), Some((rows, _)), None) => Some(&sigma[rows.clone()]),
        (sigma, _, _) => sigma.as_deref(),
    };
    // The problem as fitted: residuals divided by σ, then seen through the loss.
    let weighted = match own_sigma {
        Some(sigma) => Weighted::new(rows_problem, sigma)
            .map(Some)
            .map_err(|e| anyhow::anyhow!("--sigma: {e}")),
        None => Ok(None),
    };
    let weighted = on_every_rank(world.as_deref(), weighted)?;
    let plain: &dyn LeastSquares = match &weighted {
        Some(w) => w,
        None => rows_problem,
    };
    let robust =
        Robust::new(plain, loss, a.f_scale()).map_err(|e| anyhow::anyhow!("--f-scale: {e}"))?;
    let seen: &dyn LeastSquares = if loss == RobustLoss::Linear {
        plain
    } else {
        &robust
    };
    // A checkpoint belongs to the problem with its loss and weights. (Every rank of a
    // distributed fit reads it: a shared file, or a copy on every node.)
    let label = label_of(&a, &job, loss);
    let saved = match &a.resume {
        Some(path) => Checkpoint::load(path)
            .map_err(anyhow::Error::from)
            .and_then(|c| {
                c.check_matches(&spec.to_string(), &label)
                    .map_err(|e| anyhow::anyhow!("--resume {}: {e}", path.display()))?;
                Ok(Some(c))
            }),
        None => Ok(None),
    };
    let saved = on_every_rank(world.as_deref(), saved)?;
    if let Some(c) = &saved {
        // The label names the model, not the data: a checkpoint of the same model on other
        // rows would resume from a cost that is not theirs (and may stop at once, reporting
        // the other data's convergence). Its point is evaluated here, uncounted, on every
        // rank (each sums its own rows).
        let mut cost = [descent::least_squares::sum_of_squares(seen, &c.iterate.x)];
        if let Some(w) = &world {
            w.sum(&mut cost);
        }
        let saved_cost = c.iterate.f;
        if (cost[0] - saved_cost).abs() > 1e-9 * saved_cost.abs().max(cost[0].abs()) {
            bail!(
                "--resume {}: the checkpoint was saved on other data (its cost {saved_cost:e} \
                 at its point, {:e} on these rows)",
                a.resume.as_ref().expect("resuming").display(),
                cost[0]
            );
        }
    }
    if let Some(w) = &world {
        // Ranks that parsed other settings or data, or resume from other checkpoints,
        // would take other steps and wait for each other forever.
        let mut h = Fingerprint::default();
        h.bytes(label.as_bytes())
            .bytes(spec.to_string().as_bytes())
            .bytes(&(observations as u64).to_le_bytes())
            .numbers(&x0)
            .numbers(&[a.ftol, a.xtol, a.gtol, a.f_scale(), a.max_iter as f64]);
        if let Some(c) = &saved {
            h.bytes(&c.iterations.to_le_bytes()).numbers(&c.iterate.x);
        }
        if !all_agree(w.as_ref(), h.0) {
            bail!(
                "the ranks of this job read different data or settings; give every rank the same"
            );
        }
    }
    let normal = own
        .as_ref()
        .zip(world.as_ref())
        .map(|((_, leaves), w)| NormalEquationsLeastSquares::new(seen, w.as_ref(), leaves.clone()));
    let fitted: &dyn LeastSquares = match &normal {
        Some(n) => n,
        None => seen,
    };
    // Σr² of the unweighted-loss residuals, summed over the ranks (a collective: every
    // rank takes it).
    let rss_of = |x: &[f64]| {
        let mut rss = [sum_of_squares(plain, x)];
        if let Some(w) = &world {
            w.sum(&mut rss);
        }
        rss[0]
    };
    let start = match &saved {
        Some(c) => Start::Resume(c),
        None => Start::At(&x0),
    };
    crate::interrupt::install();
    let mut watch = crate::interrupt::StopOnInterrupt(&mut NoObserver);
    let mut method = spec
        .build_least_squares(&opts)
        .map_err(|e| anyhow::anyhow!("--method {method_name}: {e}"))?;
    if !moved.is_empty() && a.resume.is_none() && root {
        eprintln!(
            "note: the start was outside the bounds; moved {} onto the box",
            crate::first_names(moved.iter().map(|&i| &job.names[i]), moved.len())
        );
    }
    // Rank 0 alone saves (every rank holds the same state).
    let save_path = if root { a.save.clone() } else { None };
    let saving = crate::checkpoints::Saving {
        path: &save_path,
        every: a.checkpoint_every,
        method: spec.to_string(),
        problem: &label,
    };
    let (s, checkpoint_error) = saving.run(&mut watch, |obs| match &world {
        Some(w) => {
            let mut together = StopTogether {
                inner: obs,
                world: w.as_ref(),
            };
            fit_with(fitted, method.as_mut(), start, &opts, &mut together)
        }
        None => fit_with(fitted, method.as_mut(), start, &opts, obs),
    });
    let s: FitSummary = s.map_err(|e| match e {
        descent::Error::NonFiniteStart(m) => anyhow::anyhow!("{m}; choose other starting values"),
        other => other.into(),
    })?;
    // (A sum every rank takes, before rank 0's final save, which may fail.)
    let rss = rss_of(&s.x);
    // A failed checkpoint stopped the fit: its result is printed, then the error.
    saving.finish(s.checkpoint.as_ref(), &checkpoint_error)?;
    if !root {
        return Ok(());
    }
    if a.json {
        let mut out = json!({
            "method": info.name,
            "problem": job.label,
            "params": named(&job.names, &s.x),
            "std_errors": s.std_errors.as_ref().map(|se| named(&job.names, se)),
            "rss": rss,
            "cost": 0.5 * s.rss,
            "loss": loss.as_str(),
            "f_scale": a.f_scale(),
            "residual_std": s.residual_std,
            "dof": s.dof,
            "covariance": s.covariance,
            "iterations": s.iterations,
            "f_evals": s.f_evals,
            "jac_evals": s.jac_evals,
            "converged": s.converged,
            "termination": s.termination.as_str(),
            "seconds": s.seconds,
            "workers": world.as_ref().map_or(1, |w| w.size()),
        });
        if let Some(b) = &bounds {
            let ranges: Vec<Value> = serde_json::to_value(b)?
                .as_array()
                .cloned()
                .unwrap_or_default();
            out["bounds"] = Value::Object(job.names.iter().cloned().zip(ranges).collect());
            out["active_bounds"] = json!(s
                .active_bounds
                .iter()
                .map(|&i| job.names[i].clone())
                .collect::<Vec<_>>());
        }
        if let Some(p) = &job.nist {
            let lre_params =
                s.x.iter()
                    .zip(&p.certified)
                    .map(|(a, c)| lre(*a, *c))
                    .fold(15.0, f64::min);
            out["certified"] = json!({
                "params": named(&job.names, &p.certified),
                "std_errors": named(&job.names, &p.certified_sd),
                "rss": p.certified_rss,
                "lre_params": lre_params,
                "lre_rss": lre(s.rss, p.certified_rss),
            });
        }
        println!("{out}");
    } else {
        let status = if s.converged {
            "converged"
        } else {
            "did not converge"
        };
        println!("{}: {} — {status} ({})", s.method, job.label, s.termination);
        println!("  {:<10} {:>24} {:>16}", "parameter", "value", "std. error");
        for (i, n) in job.names.iter().enumerate() {
            let se = match s.std_errors.as_ref().map(|v| v[i]) {
                _ if s.active_bounds.contains(&i) => "at a bound".to_string(),
                Some(v) => format!("{v:.6e}"),
                None => "n/a".to_string(),
            };
            println!("  {:<10} {:>24.12e} {:>16}", n, s.x[i], se);
        }
        if s.std_errors.is_none() {
            println!("  (no standard errors: the Jacobian is rank-deficient at the solution)");
        }
        println!("  residual sum of squares = {:.12e}  (dof {})", rss, s.dof);
        if loss != RobustLoss::Linear {
            println!(
                "  robust cost ½C²Σρ       = {:.12e}  (loss {}, f_scale {})",
                0.5 * s.rss,
                loss.as_str(),
                a.f_scale()
            );
        }
        println!(
            "  iterations {}, residual evaluations {}, Jacobian evaluations {}, {:.3} s",
            s.iterations, s.f_evals, s.jac_evals, s.seconds
        );
        if let Some(p) = &job.nist {
            let lre_params =
                s.x.iter()
                    .zip(&p.certified)
                    .map(|(a, c)| lre(*a, *c))
                    .fold(15.0, f64::min);
            println!(
                "  certified: smallest LRE of the parameters {:.1}, of the RSS {:.1}",
                lre_params,
                lre(s.rss, p.certified_rss)
            );
        }
    }
    if let Some(e) = checkpoint_error {
        bail!("the fit stopped: a checkpoint could not be saved ({e}); the file keeps the last one saved");
    }
    Ok(())
}
