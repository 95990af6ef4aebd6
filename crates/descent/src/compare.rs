//! Running several methods on the same problem from the same start, recording every
//! iteration — the data behind `descent compare`.

use crate::driver::{minimize, Control, IterReport, Minimizer, Observer, Options};
use crate::error::{Error, Result};
use crate::least_squares::{fit, FitOptions, LsqMethod};
use crate::method::MethodSpec;
use crate::problem::{LeastSquares, Objective};
use serde::Serialize;

/// One method's run: its summary row and its iteration log.
#[derive(Clone, Debug, Serialize)]
pub struct Entry {
    /// Method name as given.
    pub method: String,
    /// Final objective value.
    pub f: f64,
    /// Whether a convergence test was met.
    pub converged: bool,
    /// Whether `f` is within `1e-8·max(1, |f*|)` of the target (when one is known).
    pub reached_target: Option<bool>,
    /// Iterations.
    pub iterations: u64,
    /// Function (or residual) evaluations.
    pub f_evals: u64,
    /// Gradient evaluations.
    pub g_evals: u64,
    /// Hessian (or Hessian-vector) evaluations.
    pub h_evals: u64,
    /// Jacobian evaluations (least-squares methods).
    pub jac_evals: u64,
    /// Wall time.
    pub seconds: f64,
    /// Termination reason.
    pub termination: String,
    /// Every iteration.
    #[serde(skip)]
    pub log: Vec<IterReport>,
    /// The iterates, the start first (kept for problems of at most [`PATH_MAX_DIM`]
    /// variables, to draw paths).
    #[serde(skip)]
    pub path: Vec<Vec<f64>>,
}

/// Largest dimension whose iterates [`compare`] keeps.
pub const PATH_MAX_DIM: usize = 3;

struct Log<'a> {
    reports: Vec<IterReport>,
    path: Vec<Vec<f64>>,
    stop: &'a dyn Fn() -> bool,
}
impl<'a> Log<'a> {
    /// An empty log whose path starts at `x0` (for small problems).
    fn new(x0: &[f64], stop: &'a dyn Fn() -> bool) -> Self {
        Log {
            reports: Vec::new(),
            path: if x0.len() <= PATH_MAX_DIM {
                vec![x0.to_vec()]
            } else {
                Vec::new()
            },
            stop,
        }
    }
}

impl Observer for Log<'_> {
    fn on_point(&mut self, x: &[f64]) {
        if x.len() <= PATH_MAX_DIM {
            self.path.push(x.to_vec());
        }
    }
    fn on_iter(&mut self, r: &IterReport) -> Control {
        self.reports.push(r.clone());
        if (self.stop)() {
            Control::Stop
        } else {
            Control::Continue
        }
    }
}

/// Least-squares method names usable in a comparison.
pub const LSQ_METHODS: &[&str] = &["lm", "gn", "diag-gn"];

/// Checks every name before any work: objective methods always, least-squares methods
/// only when the problem has residuals.
pub fn validate_methods(methods: &[String], has_residuals: bool) -> Result<()> {
    if methods.is_empty() {
        return Err(Error::config("--methods", "no methods given"));
    }
    for m in methods {
        if LSQ_METHODS.contains(&m.as_str()) {
            if !has_residuals {
                return Err(Error::NotApplicable {
                    method: m.clone(),
                    why:
                        "the problem has no residuals (least-squares methods need a sum of squares)"
                            .into(),
                });
            }
        } else {
            MethodSpec::new(m).build()?;
        }
    }
    Ok(())
}

/// Runs every method from `x0`: objective methods under `opts` with each method's own
/// gradient tolerance ([`MethodSpec::default_gtol`]) — as each runs alone by default —
/// least-squares ones under `fit_opts`. `lsq` is the problem as least squares, when it is one
/// (its `f` is then Σr², the same value the objective reports). `stop` is polled every
/// iteration (Ctrl-C): a run it stops ends with `observer_stop` and no later method
/// starts; the finished ones are returned.
#[allow(clippy::too_many_arguments)] // the problem, its two views, and the run settings
pub fn compare(
    problem: &dyn Objective,
    lsq: Option<&dyn LeastSquares>,
    methods: &[String],
    x0: &[f64],
    opts: &Options,
    fit_opts: &FitOptions,
    f_star: Option<f64>,
    mut progress: impl FnMut(&str),
    stop: &dyn Fn() -> bool,
) -> Result<Vec<Entry>> {
    validate_methods(methods, lsq.is_some())?;
    let mut out = Vec::new();
    for m in methods {
        if stop() {
            break;
        }
        progress(m);
        let entry = if LSQ_METHODS.contains(&m.as_str()) {
            let mut log = Log::new(x0, stop);
            let s = fit(
                lsq.expect("validated"),
                LsqMethod::parse(m)?,
                x0,
                fit_opts,
                &mut log,
            )?;
            Entry {
                method: m.clone(),
                f: s.rss,
                converged: s.converged,
                reached_target: None,
                iterations: s.iterations,
                f_evals: s.f_evals,
                g_evals: 0,
                h_evals: 0,
                jac_evals: s.jac_evals,
                seconds: s.seconds,
                termination: s.termination.as_str().into(),
                log: log.reports,
                path: log.path,
            }
        } else {
            let spec = MethodSpec::new(m);
            let mut mm = spec.build()?;
            let opts = Options {
                gtol: spec.default_gtol(),
                ..opts.clone()
            };
            run_logged(m, problem, mm.as_mut(), x0, &opts, stop)?
        };
        let reached = f_star.map(|fs| entry.f - fs <= 1e-8 * fs.abs().max(1.0));
        out.push(Entry {
            reached_target: reached,
            ..entry
        });
    }
    Ok(out)
}

/// Runs one minimizer from `x0`, logging every iteration (and, for problems of at most
/// [`PATH_MAX_DIM`] variables, every iterate); `stop` is polled every iteration.
pub fn run_logged(
    label: &str,
    problem: &dyn Objective,
    method: &mut dyn Minimizer,
    x0: &[f64],
    opts: &Options,
    stop: &dyn Fn() -> bool,
) -> Result<Entry> {
    let mut log = Log::new(x0, stop);
    let s = minimize(problem, method, x0, opts, &mut log)?;
    Ok(Entry {
        method: label.into(),
        f: s.f,
        converged: s.converged,
        reached_target: None,
        iterations: s.iterations,
        f_evals: s.counts.f_evals,
        g_evals: s.counts.g_evals,
        h_evals: s.counts.h_evals,
        jac_evals: 0,
        seconds: s.seconds,
        termination: s.termination.as_str().into(),
        log: log.reports,
        path: log.path,
    })
}

/// The summary as a markdown table.
pub fn markdown_table(entries: &[Entry]) -> String {
    let mut s = String::from("| method | final f | target | iterations | f evals | ∇f evals | ∇²f evals | J evals | seconds | termination |\n|---|---|---|---|---|---|---|---|---|---|\n");
    for e in entries {
        let target = match e.reached_target {
            Some(true) => "yes",
            Some(false) => "no",
            None => "—",
        };
        s.push_str(&format!(
            "| {} | {:.6e} | {} | {} | {} | {} | {} | {} | {:.4} | {} |\n",
            e.method,
            e.f,
            target,
            e.iterations,
            e.f_evals,
            e.g_evals,
            e.h_evals,
            e.jac_evals,
            e.seconds,
            e.termination
        ));
    }
    s
}
