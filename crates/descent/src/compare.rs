//! Running several methods on the same problem from the same start, recording every
//! iteration — the data behind `descent compare`.

use crate::driver::{minimize, Control, IterReport, Minimizer, Observer, Options, Start};
use crate::error::{Error, Result};
use crate::least_squares::{fit_with, FitOptions};
use crate::method::{AppliesTo, MethodSpec};
use crate::problem::{LeastSquares, Objective};
use serde::Serialize;
use std::time::Duration;

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

/// What the caller of a comparison sets; everything left `None` is each method's own
/// default, so that every method runs as it would alone (`minimize`, `fit`).
#[derive(Clone, Debug, Default)]
pub struct RunSettings {
    /// Gradient tolerance of objective methods (default: each method's
    /// [`MethodSpec::default_gtol`]). Least-squares methods keep MINPACK's cosine test.
    pub gtol: Option<f64>,
    /// Relative cost-change tolerance (objective and least-squares methods).
    pub ftol: Option<f64>,
    /// Relative step tolerance (objective and least-squares methods).
    pub xtol: Option<f64>,
    /// Iteration budget per method (default: `minimize`'s 10 000, `fit`'s 2000).
    pub max_iter: Option<u64>,
    /// Evaluation budget per method.
    pub max_evals: Option<u64>,
    /// Time budget per method.
    pub time_limit: Option<Duration>,
}

impl RunSettings {
    /// The driver options `spec` runs with on an objective.
    pub fn objective_options(&self, spec: &MethodSpec) -> Options {
        let d = spec.default_options();
        Options {
            gtol: self.gtol.unwrap_or(d.gtol),
            ftol: self.ftol.unwrap_or(d.ftol),
            xtol: self.xtol.unwrap_or(d.xtol),
            max_iter: self.max_iter.unwrap_or(d.max_iter),
            max_evals: self.max_evals.or(d.max_evals),
            time_limit: self.time_limit.or(d.time_limit),
            ..d
        }
    }
    /// The options `spec` runs with on a least-squares problem.
    pub fn fit_options(&self, spec: &MethodSpec) -> FitOptions {
        let d = spec.fit_options(&FitOptions::default());
        FitOptions {
            ftol: self.ftol.unwrap_or(d.ftol),
            xtol: self.xtol.unwrap_or(d.xtol),
            max_iter: self.max_iter.unwrap_or(d.max_iter),
            max_evals: self.max_evals.unwrap_or(d.max_evals),
            time_limit: self.time_limit.or(d.time_limit),
            ..d
        }
    }
}

/// Checks every method before any work: each must apply to the problem (least-squares
/// methods need residuals) and its settings must be its own.
pub fn validate_methods(methods: &[MethodSpec], has_residuals: bool) -> Result<()> {
    if methods.is_empty() {
        return Err(Error::config("methods", "no methods given"));
    }
    for m in methods {
        let info = m.check()?;
        if info.applies(AppliesTo::LeastSquares) {
            if !has_residuals {
                return Err(Error::NotApplicable {
                    method: m.to_string(),
                    why:
                        "the problem has no residuals (least-squares methods need a sum of squares)"
                            .into(),
                });
            }
        } else if !info.applies(AppliesTo::Objective) {
            return Err(Error::NotApplicable {
                method: m.to_string(),
                why: "it does not minimize objectives".into(),
            });
        } else {
            m.build()?;
        }
    }
    Ok(())
}

/// Runs every method from `x0` with `settings` over each method's own defaults.
/// `lsq` is the problem as least squares, when it is one (its `f` is then Σr², the same
/// value the objective reports). `stop` is polled every iteration (Ctrl-C): a run it stops
/// ends with `observer_stop` and no later method starts; the finished ones are returned.
#[allow(clippy::too_many_arguments)] // the problem, its two views, and the run settings
pub fn compare(
    problem: &dyn Objective,
    lsq: Option<&dyn LeastSquares>,
    methods: &[MethodSpec],
    x0: &[f64],
    settings: &RunSettings,
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
        let label = m.to_string();
        progress(&label);
        let entry = if m.check()?.applies(AppliesTo::LeastSquares) {
            let mut log = Log::new(x0, stop);
            let fo = settings.fit_options(m);
            let s = fit_with(
                lsq.expect("validated"),
                m.build_least_squares(&fo)?.as_mut(),
                Start::At(x0),
                &fo,
                &mut log,
            )?;
            Entry {
                method: label,
                f: s.rss,
                converged: s.converged,
                reached_target: None,
                iterations: s.iterations,
                f_evals: s.f_evals,
                g_evals: 0,
                h_evals: s.h_evals,
                jac_evals: s.jac_evals,
                seconds: s.seconds,
                termination: s.termination.as_str().into(),
                log: log.reports,
                path: log.path,
            }
        } else {
            let mut mm = m.build()?;
            run_logged(
                &label,
                problem,
                mm.as_mut(),
                x0,
                &settings.objective_options(m),
                stop,
            )?
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
        jac_evals: s.counts.j_evals,
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
