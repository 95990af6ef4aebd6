//! `descent compare`: every method on the same problem from the same start; a table, a
//! markdown summary and a JSON-lines log of every iteration.

use anyhow::{bail, Context, Result};
use clap::Args;
use descent::compare::{compare, markdown_table, validate_methods};
use descent::expr::ExprObjective;
use descent::problems::mgh::MghProblem;
use descent::{LeastSquares, Objective, Options};
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;

#[derive(Args)]
pub struct CompareArgs {
    /// Built-in problem NAME[:N[:M]] (default rosenbrock).
    #[arg(long, conflicts_with = "expr")]
    problem: Option<String>,
    /// Objective typed as an expression.
    #[arg(long)]
    expr: Option<String>,
    /// Comma-separated methods (see `descent methods`; lm, gn, diag-gn for problems with
    /// residuals).
    #[arg(
        long,
        default_value = "gd,momentum,nesterov,adam,cg,bfgs,lbfgs,newton,lm"
    )]
    methods: String,
    /// Starting point (default: the problem's standard start; zeros for --expr).
    #[arg(long, allow_hyphen_values = true)]
    x0: Option<String>,
    /// Iteration budget per method.
    #[arg(long, default_value_t = 10_000)]
    max_iter: u64,
    /// Folder for summary.md, summary.json and iterations.jsonl.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print one JSON object on stdout.
    #[arg(long)]
    json: bool,
}

pub fn run(a: CompareArgs) -> Result<()> {
    let methods: Vec<String> = a
        .methods
        .split(',')
        .map(|m| m.trim().to_string())
        .filter(|m| !m.is_empty())
        .collect();
    let mgh = match (&a.problem, &a.expr) {
        (_, Some(_)) => None,
        (p, None) => Some(MghProblem::parse(p.as_deref().unwrap_or("rosenbrock"))?),
    };
    let expr = match &a.expr {
        Some(e) => Some(ExprObjective::parse(e).map_err(|err| anyhow::anyhow!("--expr: {err}"))?),
        None => None,
    };
    let problem: &dyn Objective = match (&mgh, &expr) {
        (Some(p), _) => p,
        (None, Some(e)) => e,
        _ => unreachable!("one of them is set"),
    };
    let lsq: Option<&dyn LeastSquares> = mgh.as_ref().map(|p| p as &dyn LeastSquares);
    let label = mgh
        .as_ref()
        .map_or_else(|| a.expr.clone().unwrap_or_default(), |p| p.label());
    let default_x0 = mgh
        .as_ref()
        .map_or_else(|| vec![0.0; problem.dim()], |p| p.x0());
    let f_star = mgh.as_ref().and_then(|p| p.f_star());
    // Everything is checked before any work starts.
    validate_methods(&methods, lsq.is_some())?;
    let x0 = match &a.x0 {
        Some(s) => s
            .split(',')
            .map(|t| {
                t.trim()
                    .parse::<f64>()
                    .with_context(|| format!("--x0: '{t}' is not a number"))
            })
            .collect::<Result<Vec<_>>>()?,
        None => default_x0,
    };
    if x0.len() != problem.dim() {
        bail!(
            "--x0 has {} entries but the problem has {} variables",
            x0.len(),
            problem.dim()
        );
    }
    if let Some(dir) = &a.out {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create --out {}", dir.display()))?;
        let probe = dir.join(".descent-write-test");
        std::fs::write(&probe, b"")
            .with_context(|| format!("--out {} is not writable", dir.display()))?;
        let _ = std::fs::remove_file(probe);
    }
    let opts = Options {
        max_iter: a.max_iter,
        ..Options::default()
    };
    let quiet = a.json;
    let entries = compare(problem, lsq, &methods, &x0, &opts, f_star, |m| {
        if !quiet {
            eprintln!("running {m} ...");
        }
    })?;
    if let Some(dir) = &a.out {
        let mut log = std::io::BufWriter::new(std::fs::File::create(dir.join("iterations.jsonl"))?);
        for e in &entries {
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
        std::fs::write(
            dir.join("summary.md"),
            format!("# {label}\n\n{}", markdown_table(&entries)),
        )?;
        std::fs::write(
            dir.join("summary.json"),
            serde_json::to_string_pretty(&json!({"problem": label, "entries": entries}))?,
        )?;
    }
    if a.json {
        println!(
            "{}",
            json!({ "problem": label, "n": problem.dim(), "f_star": f_star, "entries": entries })
        );
    } else {
        println!("problem: {label} (n = {})", problem.dim());
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
        for e in &entries {
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
        if let Some(dir) = &a.out {
            println!(
                "wrote {}/summary.md, summary.json, iterations.jsonl",
                dir.display()
            );
        }
    }
    Ok(())
}
