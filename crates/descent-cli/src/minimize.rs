//! `descent minimize`.

use crate::progress::Progress;
use anyhow::{bail, Context, Result};
use clap::Args;
use descent::expr::ExprObjective;
use descent::problems::mgh::MghProblem;
use descent::{minimize_from, Bounds, Checkpoint, MethodSpec, Objective, Options, Start};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args)]
pub struct MinimizeArgs {
    /// Built-in problem, NAME[:N[:M]] (see `descent problems`). Default: rosenbrock.
    #[arg(long, conflicts_with = "expr")]
    problem: Option<String>,
    /// Objective typed as an expression in x1..xn (or named variables).
    #[arg(long, allow_hyphen_values = true)]
    expr: Option<String>,
    /// Method (see `descent methods`), with settings if any: NAME[:SETTING=VALUE...],
    /// e.g. lbfgs:memory=5 or adam:lr=0.01.
    #[arg(long, default_value = "lbfgs")]
    method: String,
    /// Line search: exact, backtracking or wolfe (default: wolfe; none for fixed-rate gd).
    #[arg(long)]
    line_search: Option<String>,
    /// Starting point, comma-separated (default: the problem's standard start; zeros for
    /// --expr).
    #[arg(long, allow_hyphen_values = true)]
    x0: Option<String>,
    /// Bounds LO:HI per variable, comma-separated (-inf/inf allowed), or one pair for all:
    /// --bounds 0:1,-inf:2 or --bounds 0:inf. Runs lbfgs as L-BFGS-B and projects the
    /// steps of step rules; other methods are refused.
    #[arg(long, allow_hyphen_values = true)]
    bounds: Option<String>,
    /// Iteration budget.
    #[arg(long, default_value_t = 10_000)]
    max_iter: u64,
    /// Function-evaluation budget.
    #[arg(long)]
    max_evals: Option<u64>,
    /// Time budget in seconds.
    #[arg(long)]
    time_limit: Option<f64>,
    /// Stop when the max-norm of the gradient (projected, with bounds) is at most this
    /// (default 1e-6 for bfgs and lbfgs, 1e-10 for lbfgsb and lbfgs with bounds, 1e-8 for
    /// the other methods).
    #[arg(long)]
    gtol: Option<f64>,
    /// Stop when the relative change of f is at most this.
    #[arg(long, default_value_t = 1e-15)]
    ftol: f64,
    /// Stop when the relative step is at most this.
    #[arg(long, default_value_t = 1e-15)]
    xtol: f64,
    /// CG β formula: fr, pr, prplus, hs, dy, hz.
    #[arg(long)]
    beta: Option<String>,
    /// L-BFGS memory.
    #[arg(long)]
    memory: Option<usize>,
    /// Curvature pair of bfgs, lbfgs, dfp, sr1: value-corrected (ỹ = (1 + θ/sᵀy)·y, the
    /// default of bfgs and lbfgs) or standard (y = g₊ − g, the default of dfp and sr1).
    #[arg(long)]
    secant: Option<String>,
    /// Learning rate for step rules (gd, momentum, nesterov, adam, ...).
    #[arg(long)]
    lr: Option<f64>,
    /// Learning-rate schedule: const, step:GAMMA:EVERY, exp:GAMMA, cosine:TOTAL[:MIN],
    /// inverse:DECAY, warmup:STEPS[:INNER].
    #[arg(long)]
    schedule: Option<String>,
    /// Momentum coefficient μ (momentum, nesterov).
    #[arg(long)]
    momentum: Option<f64>,
    /// Momentum formula: heavy-ball (w+ = w - lr g + mu (w - w-), the default) or velocity.
    #[arg(long)]
    momentum_form: Option<String>,
    /// Decoupled weight decay for adamw.
    #[arg(long)]
    weight_decay: Option<f64>,
    /// Save the run's final state here (atomically), to continue it with --resume.
    #[arg(long)]
    save: Option<PathBuf>,
    /// With --save: also save a checkpoint every N iterations while running, so that a
    /// run that is killed resumes (--resume) from its last one and ends exactly as if it
    /// had not been stopped.
    #[arg(long, value_name = "N", requires = "save", value_parser = clap::value_parser!(u64).range(1..))]
    checkpoint_every: Option<u64>,
    /// Continue a run saved with --save (same problem and method; --max-iter counts the
    /// total).
    #[arg(long, conflicts_with = "x0")]
    resume: Option<PathBuf>,
    /// Print one JSON object on stdout.
    #[arg(long)]
    json: bool,
    /// No progress display.
    #[arg(long)]
    quiet: bool,
}

fn parse_x0(s: &str) -> Result<Vec<f64>> {
    s.split(',')
        .map(|t| {
            let t = t.trim();
            t.parse::<f64>()
                .with_context(|| format!("--x0: '{t}' is not a number"))
        })
        .collect()
}

/// Applies a flag's value to the spec's setting of the same meaning; the library's
/// refusal is reported with the flag's name.
pub fn apply_flag(spec: &mut MethodSpec, flag: &str, setting: &str, value: &str) -> Result<()> {
    spec.set(setting, value)
        .map_err(|e| anyhow::anyhow!("{flag}: {e}"))
}

/// The method of `--method` with the settings of the separate flags.
fn method_spec(a: &MinimizeArgs) -> Result<MethodSpec> {
    let mut spec = MethodSpec::parse(&a.method).map_err(|e| anyhow::anyhow!("--method: {e}"))?;
    let flags: [(&str, &str, Option<String>); 9] = [
        ("--line-search", "line_search", a.line_search.clone()),
        ("--beta", "beta", a.beta.clone()),
        ("--memory", "memory", a.memory.map(|v| v.to_string())),
        ("--secant", "secant", a.secant.clone()),
        ("--lr", "lr", a.lr.map(|v| v.to_string())),
        ("--schedule", "schedule", a.schedule.clone()),
        ("--momentum", "momentum", a.momentum.map(|v| v.to_string())),
        ("--momentum-form", "form", a.momentum_form.clone()),
        (
            "--weight-decay",
            "weight_decay",
            a.weight_decay.map(|v| v.to_string()),
        ),
    ];
    for (flag, setting, value) in flags {
        if let Some(v) = value {
            apply_flag(&mut spec, flag, setting, &v)?;
        }
    }
    spec.check()
        .map_err(|e| anyhow::anyhow!("--method {}: {e}", a.method))?;
    Ok(spec)
}

pub fn run(a: MinimizeArgs) -> Result<()> {
    if let Some(path) = &a.save {
        crate::checkpoints::check_save_path(path)?;
    }
    // Build everything (and so reject bad input) before any work starts.
    let spec = method_spec(&a)?;
    if a.bounds.is_none() {
        spec.build()?;
    }

    let (problem, label, default_x0, f_star): (Box<dyn Objective>, String, Vec<f64>, Option<f64>) =
        match (&a.problem, &a.expr) {
            (_, Some(e)) => {
                let p = ExprObjective::parse(e).map_err(|err| anyhow::anyhow!("--expr: {err}"))?;
                let n = p.dim();
                (Box::new(p), e.clone(), vec![0.0; n], None)
            }
            (p, None) => {
                let p = MghProblem::parse(p.as_deref().unwrap_or("rosenbrock"))?;
                let x0 = p.x0();
                let label = p.label();
                let fs = p.f_star();
                (Box::new(p), label, x0, fs)
            }
        };
    let mut x0 = match &a.x0 {
        Some(s) => parse_x0(s)?,
        None => default_x0,
    };
    if x0.len() != problem.dim() {
        bail!(
            "--x0 has {} entries but the problem has {} variables",
            x0.len(),
            problem.dim()
        );
    }
    if let Some(i) = x0.iter().position(|v| !v.is_finite()) {
        bail!("--x0 entry {} is {} (must be finite)", i + 1, x0[i]);
    }
    let bounds = match &a.bounds {
        Some(text) => {
            Some(Bounds::parse(text, problem.dim()).map_err(|e| anyhow::anyhow!("--bounds: {e}"))?)
        }
        None => None,
    };
    let mut method = match &bounds {
        Some(b) => spec.build_bounded(b),
        None => spec.build(),
    }
    .map_err(|e| anyhow::anyhow!("--method {}: {e}", a.method))?;
    // A start outside the box is moved onto it (and said so); no method evaluates outside.
    let moved = bounds
        .as_ref()
        .map(|b| b.move_inside(&mut x0))
        .unwrap_or_default();
    if !moved.is_empty() && a.resume.is_none() {
        eprintln!(
            "note: the start was outside the bounds; moved {} onto the box",
            crate::first_names(moved.iter().map(|i| format!("x{}", i + 1)), moved.len())
        );
    }
    // A checkpoint belongs to the problem and its box.
    let run_label = match &a.bounds {
        Some(text) => format!("{label} within {text}"),
        None => label.clone(),
    };
    let gtol = a.gtol.unwrap_or_else(|| match &bounds {
        Some(b) => spec.default_gtol_within(b),
        None => spec.default_gtol(),
    });
    for (name, v) in [("--gtol", gtol), ("--ftol", a.ftol), ("--xtol", a.xtol)] {
        if !(v >= 0.0 && v.is_finite()) {
            bail!("{name} must be a finite non-negative number, got {v}");
        }
    }
    let opts = Options {
        gtol,
        ftol: a.ftol,
        xtol: a.xtol,
        target: None,
        max_iter: a.max_iter,
        max_evals: a.max_evals,
        time_limit: match a.time_limit {
            Some(t) if t > 0.0 && t.is_finite() => Some(Duration::from_secs_f64(t)),
            Some(t) => bail!("--time-limit must be positive, got {t}"),
            None => None,
        },
        keep_checkpoint: a.save.is_some(),
    };
    let saved = match &a.resume {
        Some(path) => {
            let c = Checkpoint::load(path)?;
            c.check_matches(&spec.to_string(), &run_label)
                .map_err(|e| anyhow::anyhow!("--resume {}: {e}", path.display()))?;
            Some(c)
        }
        None => None,
    };
    let start = match &saved {
        Some(c) => Start::Resume(c),
        None => Start::At(&x0),
    };

    let mut progress = Progress::new(a.quiet || a.json);
    crate::interrupt::install();
    let mut watch = crate::interrupt::StopOnInterrupt(&mut progress);
    let saving = crate::checkpoints::Saving {
        path: &a.save,
        every: a.checkpoint_every,
        method: spec.to_string(),
        problem: &run_label,
    };
    let (s, checkpoint_error) = saving.run(&mut watch, |obs| {
        minimize_from(problem.as_ref(), method.as_mut(), start, &opts, obs)
    });
    let s = s.map_err(|e| match e {
        descent::Error::NonFiniteStart(m) => anyhow::anyhow!(
            "the objective is not finite at the starting point ({m}); choose another --x0"
        ),
        other => other.into(),
    })?;
    // A failed checkpoint stopped the run: its result is printed, then the error.
    saving.finish(s.checkpoint.as_ref(), &checkpoint_error)?;

    if a.json {
        let mut out = serde_json::json!({
            "method": a.method,
            "method_description": s.method,
            "problem": label,
            "n": problem.dim(),
            "x": s.x,
            "f": s.f,
            "f_star": f_star,
            "grad_norm": s.grad_norm,
            "iterations": s.iterations,
            "f_evals": s.counts.f_evals,
            "g_evals": s.counts.g_evals,
            "h_evals": s.counts.h_evals,
            "converged": s.converged,
            "termination": s.termination.as_str(),
            "seconds": s.seconds,
            "hessian": if problem.has_exact_hessian() { "exact" } else { "finite-differences" },
        });
        if let (Some(b), Some(obj)) = (&bounds, out.as_object_mut()) {
            obj.insert("bounds".into(), serde_json::to_value(b)?);
            obj.insert(
                "active_bounds".into(),
                serde_json::to_value(b.active(&s.x))?,
            );
            obj.insert("x0_moved".into(), serde_json::to_value(&moved)?);
        }
        println!("{out}");
    } else {
        println!("problem: {label} (n = {})", problem.dim());
        println!("{s}");
        if let Some(fs) = f_star {
            println!("  known f*    = {fs:.12e}");
        }
        let shown: Vec<String> = s.x.iter().take(10).map(|v| format!("{v:.10}")).collect();
        let more = if s.x.len() > 10 {
            format!(", … ({} more)", s.x.len() - 10)
        } else {
            String::new()
        };
        println!("  x           = [{}{}]", shown.join(", "), more);
        if let Some(b) = &bounds {
            let active: Vec<String> = b
                .active(&s.x)
                .iter()
                .map(|i| format!("x{}", i + 1))
                .collect();
            println!(
                "  at a bound  = {}",
                if active.is_empty() {
                    "none".to_string()
                } else {
                    active.join(", ")
                }
            );
        }
    }
    if let Some(e) = checkpoint_error {
        bail!("the run stopped: a checkpoint could not be saved ({e}); the file keeps the last one saved");
    }
    Ok(())
}
