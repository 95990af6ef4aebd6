//! The one loop: every method is a [`Minimizer`] (a small state machine that proposes,
//! evaluates and accepts a step) over the kind of problem it needs ([`ProblemKind`]:
//! objectives, least squares), and [`run`] owns the stop tests, the budgets, best-so-far
//! tracking, the observers and checkpoints. [`minimize`] is the entry for objectives,
//! [`crate::least_squares::fit`] the one for least squares.

use crate::checkpoint::{Checkpoint, FORMAT, VERSION};
use crate::error::{Error, Result};
use crate::linalg::DenseMatrix;
use crate::linalg::{all_finite, norm, norm_inf};
use crate::problem::{Counted, Counts, LeastSquares, Objective};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::{Duration, Instant};

/// A kind of problem a [`Minimizer`] works on. The marker types name the kinds; their
/// `Problem` is the trait object the method is handed (already wrapped in evaluation
/// counting by the driver).
pub trait ProblemKind {
    /// The problem as the method sees it.
    type Problem<'a>: ?Sized + 'a;
    /// Number of variables.
    fn dim(problem: &Self::Problem<'_>) -> usize;
    /// `f` and `∇f` at `x`, where the problem has one deterministic value (`None` for
    /// sampled problems, whose values are batch estimates).
    fn evaluate(_problem: &Self::Problem<'_>, _x: &[f64]) -> Option<Iterate> {
        None
    }
    /// Number of residuals (least squares; 0 for other kinds).
    fn residual_count(_problem: &Self::Problem<'_>) -> usize {
        0
    }
    /// Number of samples (sampled problems; 0 for other kinds).
    fn sample_count(_problem: &Self::Problem<'_>) -> usize {
        0
    }
}

/// The sizes a state restored from a checkpoint must fit: `n` variables and, on a
/// least-squares problem, `m` residuals (0 otherwise).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dims {
    /// Variables.
    pub n: usize,
    /// Residuals (0 unless least squares).
    pub m: usize,
    /// Samples (0 unless a sampled problem).
    pub samples: usize,
}

impl Dims {
    /// Refuses a restored quantity `what` of `got` values where `expected` belong.
    pub fn length(&self, what: &str, got: usize, expected: usize) -> Result<()> {
        if got == expected {
            Ok(())
        } else {
            Err(Error::DimensionMismatch {
                what: format!("the checkpoint's {what}"),
                expected,
                got,
            })
        }
    }
    /// A vector of `n` values.
    pub fn vector(&self, what: &str, v: &[f64]) -> Result<()> {
        self.length(what, v.len(), self.n)
    }
    /// A vector of `n` values, or none yet (a state before its first step).
    pub fn vector_or_empty(&self, what: &str, v: &[f64]) -> Result<()> {
        if v.is_empty() {
            Ok(())
        } else {
            self.vector(what, v)
        }
    }
    /// A `rows`×`cols` matrix whose entries are all there.
    pub fn matrix(&self, what: &str, a: &DenseMatrix, rows: usize, cols: usize) -> Result<()> {
        self.length(&format!("{what} rows"), a.rows, rows)?;
        self.length(&format!("{what} columns"), a.cols, cols)?;
        self.length(what, a.data.len(), rows * cols)
    }
    /// A `rows`×`cols` matrix, or an empty one (not formed yet).
    pub fn matrix_or_empty(
        &self,
        what: &str,
        a: &DenseMatrix,
        rows: usize,
        cols: usize,
    ) -> Result<()> {
        if a.rows == 0 && a.cols == 0 && a.data.is_empty() {
            Ok(())
        } else {
            self.matrix(what, a, rows, cols)
        }
    }
}

/// Problems with a value and a gradient ([`Objective`]).
pub struct OnObjective;
impl ProblemKind for OnObjective {
    type Problem<'a> = dyn Objective + 'a;
    fn dim(problem: &Self::Problem<'_>) -> usize {
        problem.dim()
    }
    fn evaluate(problem: &Self::Problem<'_>, x: &[f64]) -> Option<Iterate> {
        Some(Iterate::evaluate(problem, x))
    }
}

/// Problems with residuals and a Jacobian ([`LeastSquares`]); `f = Σ rᵢ²`, `∇f = 2Jᵀr`.
pub struct OnLeastSquares;
impl ProblemKind for OnLeastSquares {
    type Problem<'a> = dyn LeastSquares + 'a;
    fn dim(problem: &Self::Problem<'_>) -> usize {
        problem.dim()
    }
    fn residual_count(problem: &Self::Problem<'_>) -> usize {
        problem.residual_count()
    }
}

/// The current point of a run: `x`, `f(x)`, `∇f(x)`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Iterate {
    /// Point.
    pub x: Vec<f64>,
    /// Value at `x`.
    pub f: f64,
    /// Gradient at `x`.
    pub g: Vec<f64>,
}

impl Iterate {
    /// `x0` with its value and gradient (one evaluation of both).
    pub fn evaluate(problem: &dyn Objective, x0: &[f64]) -> Iterate {
        let mut g = vec![0.0; x0.len()];
        let f = problem.value_grad(x0, &mut g);
        Iterate {
            x: x0.to_vec(),
            f,
            g,
        }
    }
}

/// Why a run stopped. Only the first four count as convergence ([`Termination::converged`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Termination {
    /// `‖∇f‖∞ ≤ gtol`.
    GradientTolerance,
    /// `|f₋ − f| ≤ ftol·max(|f₋|, |f|)`.
    CostChangeTolerance,
    /// `‖Δx‖ ≤ xtol·(xtol + ‖x‖)`.
    StepTolerance,
    /// `f ≤ target` (when a target was set).
    TargetCost,
    /// The iteration budget ran out.
    MaxIterations,
    /// The evaluation budget ran out.
    MaxEvaluations,
    /// The time budget ran out.
    TimeLimit,
    /// The line search found no acceptable step (often: x is optimal to working precision).
    LineSearchFailed,
    /// The method produced a direction along which f does not decrease.
    NotDescentDirection,
    /// A trust region shrank below its floor.
    TrustRegionTooSmall,
    /// f or ∇f became NaN or infinite; the last finite point is returned.
    NonFinite,
    /// An observer asked to stop (e.g. Ctrl-C).
    ObserverStop,
    /// The method's internal linear algebra broke down (e.g. no factorization).
    Breakdown,
}

impl Termination {
    /// Whether the run met a convergence test (as opposed to running out or failing).
    pub fn converged(self) -> bool {
        matches!(
            self,
            Termination::GradientTolerance
                | Termination::CostChangeTolerance
                | Termination::StepTolerance
                | Termination::TargetCost
        )
    }
    /// Whether the run ended because it ran out of something or was stopped from outside,
    /// so that a resumed run may go on.
    pub fn resumable(self) -> bool {
        matches!(
            self,
            Termination::MaxIterations
                | Termination::MaxEvaluations
                | Termination::TimeLimit
                | Termination::ObserverStop
        )
    }
    /// snake_case name, as in the JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Termination::GradientTolerance => "gradient_tolerance",
            Termination::CostChangeTolerance => "cost_change_tolerance",
            Termination::StepTolerance => "step_tolerance",
            Termination::TargetCost => "target_cost",
            Termination::MaxIterations => "max_iterations",
            Termination::MaxEvaluations => "max_evaluations",
            Termination::TimeLimit => "time_limit",
            Termination::LineSearchFailed => "line_search_failed",
            Termination::NotDescentDirection => "not_descent_direction",
            Termination::TrustRegionTooSmall => "trust_region_too_small",
            Termination::NonFinite => "non_finite",
            Termination::ObserverStop => "observer_stop",
            Termination::Breakdown => "breakdown",
        }
    }
}

impl fmt::Display for Termination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one [`Minimizer::step`] did.
#[derive(Clone, Debug, PartialEq)]
pub enum StepOutcome {
    /// The iterate moved; `step_norm = ‖Δx‖`, `alpha` the step length used.
    Accepted {
        /// ‖x₊ − x‖.
        step_norm: f64,
        /// Line-search step or learning rate.
        alpha: f64,
    },
    /// A trial was rejected and the iterate did not move (trust-region methods).
    Rejected,
    /// The method cannot continue.
    Stop(Termination),
}

/// A method as a state machine: [`Minimizer::init`] once (it evaluates the start), then
/// [`Minimizer::step`] until the driver stops it. A step evaluates candidates and only
/// commits finite ones; a method reports its own stop tests through
/// [`Minimizer::stop_test`] or [`StepOutcome::Stop`], so the loop never asks what kind of
/// method it runs.
pub trait Minimizer<K: ProblemKind = OnObjective> {
    /// Name for reports.
    fn name(&self) -> String;
    /// Prepares state for a run from `x0` and returns the evaluated start (`f` and `∇f`
    /// at `x0`).
    fn init(&mut self, problem: &K::Problem<'_>, x0: &[f64]) -> Result<Iterate>;
    /// One iteration, updating `it` in place when it accepts a step.
    fn step(&mut self, problem: &K::Problem<'_>, it: &mut Iterate) -> Result<StepOutcome>;
    /// The method's own convergence tests, checked before every step (MINPACK's tests
    /// for Levenberg–Marquardt); `None` to go on.
    fn stop_test(&self, _it: &Iterate) -> Option<Termination> {
        None
    }
    /// Whether the relative cost-change test is meaningful (false for methods whose
    /// value may rise, such as fixed-rate step rules).
    fn monotone(&self) -> bool {
        true
    }
    /// Extra values to show in iteration reports (`("gamma", γ)`, `("mu", μ)`, ...).
    fn extra(&self) -> Vec<(&'static str, f64)> {
        Vec::new()
    }
    /// The state a resumed run needs (everything that shapes later steps). Methods that
    /// cannot be checkpointed say so.
    fn save_state(&self) -> Result<serde_json::Value> {
        Err(Error::config(
            "checkpoint",
            format!("{} cannot be saved and resumed", self.name()),
        ))
    }
    /// Restores state written by [`Minimizer::save_state`] (instead of [`Minimizer::init`]).
    fn load_state(&mut self, _state: &serde_json::Value) -> Result<()> {
        Err(Error::config(
            "checkpoint",
            format!("{} cannot be saved and resumed", self.name()),
        ))
    }
    /// Large state vectors (Adam's moments, …), kept apart from [`Minimizer::save_state`]
    /// so that a binary container (the `.optim` safetensors file) stores them as tensors
    /// rather than as JSON text.
    fn state_buffers(&self) -> Vec<(String, Vec<f64>)> {
        Vec::new()
    }
    /// Restores buffers written by [`Minimizer::state_buffers`] (after
    /// [`Minimizer::load_state`]).
    fn load_buffers(&mut self, _buffers: &[(String, Vec<f64>)]) -> Result<()> {
        Ok(())
    }
    /// That the state restored by [`Minimizer::load_state`] and
    /// [`Minimizer::load_buffers`] fits a problem of `dims` (its vectors of `n` values,
    /// its matrices `n`×`n`, …): a checkpoint of another problem, or a forged one, is
    /// refused before a step uses it. A method that keeps vectors must override this.
    fn check_restored(&self, _dims: Dims) -> Result<()> {
        Ok(())
    }
    /// Values the method will hold in dense matrices for a problem of `dims` (an n×n
    /// Hessian or its inverse, an m×n Jacobian, their factorizations), beyond a few
    /// vectors: the driver refuses a run whose matrices the machine cannot hold before
    /// `init` allocates them (BFGS at n = 200 000 asked for 320 GB and the process was
    /// killed or aborted).
    fn dense_values(&self, _dims: Dims) -> u128 {
        0
    }
    /// Whether `f` and `∇f` of the iterate are estimates from a sample (mini-batch
    /// methods). The driver then does not keep a best point by them nor apply the
    /// gradient, cost-change and step tests to them (a batch gradient is never zero);
    /// budgets, the method's own tests and the observers end the run, and the method
    /// itself commits only finite points.
    fn stochastic(&self) -> bool {
        false
    }
    /// Whether the lowest `f` seen marks the best point, to be returned when the run
    /// ends above it (true for methods on one fixed objective; false for Bayesian
    /// regularization, whose objective changes as its α and β are re-estimated).
    fn keeps_best(&self) -> bool {
        true
    }
    /// Whether every accepted step lowers `f` or leaves it (a line search with a
    /// sufficient-decrease test): the iterate is then always the best point, and the driver
    /// keeps no copy of it (two vectors less, and no copy per iteration, at large n).
    fn descends(&self) -> bool {
        false
    }
    /// `‖∇f‖∞` of the iterate: the measure the gradient stop test and the reports use. A
    /// bounded method answers with the projected gradient (zero at a first-order point
    /// on the box's edge); a mini-batch method that has the norm already (computed with
    /// its finiteness check) saves the driver a pass over the gradient.
    fn grad_norm(&self, it: &Iterate) -> f64 {
        norm_inf(&it.g)
    }
    /// The method's model of the inverse Hessian, for methods that keep one (`None`
    /// otherwise).
    fn inverse_hessian(&self) -> Option<InverseHessian> {
        None
    }
    /// The point that is the result, when it is not the iterate (schedule-free step
    /// rules take gradients at an interpolation and return an average): observers see
    /// it, and the run ends there, evaluated.
    fn point_of_record(&self) -> Option<&[f64]> {
        None
    }
    /// Makes the iterate and the method's state whole before a checkpoint is taken or the
    /// run ends. A method whose workers share its step ([`crate::SharedStep`]) holds only
    /// its part of the gradient and of its state between steps; the driver calls this on
    /// every worker at the same iteration.
    fn complete(&mut self, _problem: &K::Problem<'_>, _it: &mut Iterate) {}
}

impl<K: ProblemKind, M: Minimizer<K> + ?Sized> Minimizer<K> for Box<M> {
    fn name(&self) -> String {
        (**self).name()
    }
    fn init(&mut self, problem: &K::Problem<'_>, x0: &[f64]) -> Result<Iterate> {
        (**self).init(problem, x0)
    }
    fn step(&mut self, problem: &K::Problem<'_>, it: &mut Iterate) -> Result<StepOutcome> {
        (**self).step(problem, it)
    }
    fn stop_test(&self, it: &Iterate) -> Option<Termination> {
        (**self).stop_test(it)
    }
    fn monotone(&self) -> bool {
        (**self).monotone()
    }
    fn extra(&self) -> Vec<(&'static str, f64)> {
        (**self).extra()
    }
    fn save_state(&self) -> Result<serde_json::Value> {
        (**self).save_state()
    }
    fn load_state(&mut self, state: &serde_json::Value) -> Result<()> {
        (**self).load_state(state)
    }
    fn state_buffers(&self) -> Vec<(String, Vec<f64>)> {
        (**self).state_buffers()
    }
    fn load_buffers(&mut self, buffers: &[(String, Vec<f64>)]) -> Result<()> {
        (**self).load_buffers(buffers)
    }
    fn check_restored(&self, dims: Dims) -> Result<()> {
        (**self).check_restored(dims)
    }
    fn dense_values(&self, dims: Dims) -> u128 {
        (**self).dense_values(dims)
    }
    fn stochastic(&self) -> bool {
        (**self).stochastic()
    }
    fn keeps_best(&self) -> bool {
        (**self).keeps_best()
    }
    fn descends(&self) -> bool {
        (**self).descends()
    }
    fn grad_norm(&self, it: &Iterate) -> f64 {
        (**self).grad_norm(it)
    }
    fn inverse_hessian(&self) -> Option<InverseHessian> {
        (**self).inverse_hessian()
    }
    fn point_of_record(&self) -> Option<&[f64]> {
        (**self).point_of_record()
    }
    fn complete(&mut self, problem: &K::Problem<'_>, it: &mut Iterate) {
        (**self).complete(problem, it)
    }
}

/// A quasi-Newton method's model of the inverse Hessian at its last point (what SciPy
/// returns as `hess_inv`).
#[derive(Clone, Debug)]
pub enum InverseHessian {
    /// A dense `H ≈ (∇²f)⁻¹` (BFGS, DFP, SR1).
    Dense(DenseMatrix),
    /// Limited-memory pairs `(sᵢ, yᵢ)`, oldest first: `H` is the two-loop recursion's
    /// operator started from `γI`, `γ = sᵀy/yᵀy` of the newest pair (L-BFGS, L-BFGS-B).
    Pairs(Vec<(Vec<f64>, Vec<f64>)>),
}

/// Serializes a method's whole state with serde (for [`Minimizer::save_state`]).
pub fn state_to_json<T: Serialize>(state: &T) -> Result<serde_json::Value> {
    serde_json::to_value(state).map_err(|e| Error::Parse(format!("cannot save state: {e}")))
}

/// Implements `save_state` and `load_state` (of a [`Minimizer`] or a
/// [`crate::direction::Direction`]) by serializing the whole value — its settings and its
/// state — with serde.
macro_rules! whole_state {
    () => {
        fn save_state(&self) -> crate::error::Result<serde_json::Value> {
            crate::driver::state_to_json(self)
        }
        fn load_state(&mut self, state: &serde_json::Value) -> crate::error::Result<()> {
            *self = crate::driver::state_from_json(state)?;
            Ok(())
        }
    };
}
pub(crate) use whole_state;

/// Reads state written by [`state_to_json`].
pub fn state_from_json<T: serde::de::DeserializeOwned>(state: &serde_json::Value) -> Result<T> {
    T::deserialize(state).map_err(|e| Error::Parse(format!("checkpoint state: {e}")))
}

/// Stop tests and budgets. Defaults are tight enough to reach the known minima of the
/// Moré–Garbow–Hillstrom set to 1e-8 relative; loosen them for speed.
#[derive(Clone, Debug)]
pub struct Options {
    /// Stop when `‖∇f‖∞ ≤ gtol` (absolute; default 1e-8, see [`Options::default`]).
    pub gtol: f64,
    /// Stop when `|f₋ − f| ≤ ftol·max(|f₋|, |f|, tiny)` (default 1e-15, about 5 ulp).
    pub ftol: f64,
    /// Stop when `‖Δx‖ ≤ xtol·(xtol + ‖x‖)` (default 1e-15).
    pub xtol: f64,
    /// Stop when `f ≤ target`.
    pub target: Option<f64>,
    /// Iteration budget (default 10 000).
    pub max_iter: u64,
    /// Budget on function evaluations (default unlimited).
    pub max_evals: Option<u64>,
    /// Wall-time budget.
    pub time_limit: Option<Duration>,
    /// Keep the final state in [`Summary::checkpoint`] so that the run can be resumed
    /// (default false: saving a dense quasi-Newton matrix costs time). The driver does not
    /// know the names of the method and the problem: the caller sets the checkpoint's
    /// `method` and `problem` before saving, and checks them on resume.
    pub keep_checkpoint: bool,
}

impl Default for Options {
    /// gtol = 1e-8 (absolute, max-norm, as SciPy's BFGS `gtol` but 100× tighter so that
    /// f reaches f* to 1e-8 on badly scaled problems), ftol = xtol = 1e-15.
    fn default() -> Self {
        Options {
            gtol: 1e-8,
            ftol: 1e-15,
            xtol: 1e-15,
            target: None,
            max_iter: 10_000,
            max_evals: None,
            time_limit: None,
            keep_checkpoint: false,
        }
    }
}

impl Options {
    /// Refuses tolerances no test can use: negative or NaN ones (a negative tolerance
    /// made the step test pass at once, so a run "converged" after a few iterations far
    /// from any minimum), and a NaN target.
    pub fn check(&self) -> Result<()> {
        for (name, v) in [
            ("gtol", self.gtol),
            ("ftol", self.ftol),
            ("xtol", self.xtol),
        ] {
            if v.is_nan() || v < 0.0 {
                return Err(Error::config(
                    name,
                    format!("must be at least 0 (0 turns the test off), got {v}"),
                ));
            }
        }
        if self.target.is_some_and(f64::is_nan) {
            return Err(Error::config("target", "is NaN"));
        }
        Ok(())
    }
}

/// A starting point must have the problem's dimension and finite entries.
pub(crate) fn check_start(x0: &[f64], n: usize, what: &str) -> Result<()> {
    if x0.len() != n {
        return Err(Error::DimensionMismatch {
            what: what.into(),
            expected: n,
            got: x0.len(),
        });
    }
    if let Some(i) = x0.iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFiniteInput {
            index: i,
            value: x0[i],
        });
    }
    Ok(())
}

/// What observers are told after each iteration.
#[derive(Clone, Debug, Serialize)]
pub struct IterReport {
    /// Iteration number (1-based).
    pub iter: u64,
    /// Value.
    pub f: f64,
    /// ‖∇f‖∞.
    pub grad_norm: f64,
    /// ‖Δx‖ (0 for a rejected step).
    pub step_norm: f64,
    /// Step length or learning rate.
    pub alpha: f64,
    /// Counters so far.
    pub counts: Counts,
    /// Seconds since the start.
    pub seconds: f64,
    /// Method-specific values.
    pub extra: Vec<(&'static str, f64)>,
}

/// Whether an observer wants the run to go on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// Go on.
    Continue,
    /// Stop now ([`Termination::ObserverStop`]).
    Stop,
    /// Go on, after handing the observer a checkpoint of the run as it stands once this
    /// iteration's stop tests have passed ([`Observer::on_checkpoint`]): resumed, it
    /// continues exactly as the run itself does.
    Checkpoint,
}

/// Watches a run: progress bars, logs, Ctrl-C.
pub trait Observer {
    /// Before the first iteration.
    fn on_start(&mut self, _method: &str, _n: usize, _f0: f64) {}
    /// After each iteration.
    fn on_iter(&mut self, _r: &IterReport) -> Control {
        Control::Continue
    }
    /// The current point, just before [`Observer::on_iter`] (when reports are wanted).
    fn on_point(&mut self, _x: &[f64]) {}
    /// Whether [`Observer::on_iter`] should be called at all (building a report costs a
    /// little; an observer that ignores reports can say no).
    fn wants_reports(&self) -> bool {
        true
    }
    /// A checkpoint asked for by [`Control::Checkpoint`] (its method and problem labels
    /// are the caller's to fill in).
    fn on_checkpoint(&mut self, _c: &Checkpoint) {}
    /// After the run.
    fn on_finish(&mut self, _s: &Summary) {}
}

/// An observer that does nothing.
pub struct NoObserver;
impl Observer for NoObserver {
    fn wants_reports(&self) -> bool {
        false
    }
}

/// Records every iteration (for tests and comparisons).
#[derive(Default)]
pub struct Recorder {
    /// The reports, in order.
    pub reports: Vec<IterReport>,
}
impl Observer for Recorder {
    fn on_iter(&mut self, r: &IterReport) -> Control {
        self.reports.push(r.clone());
        Control::Continue
    }
}

/// The result of a run.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// Method name.
    pub method: String,
    /// Final point (the best finite point seen).
    pub x: Vec<f64>,
    /// Final value.
    pub f: f64,
    /// ∇f(x) at the final point (for least-squares methods, the gradient of the sum of
    /// squares); kept out of the JSON, which reports its norm.
    #[serde(skip)]
    pub gradient: Vec<f64>,
    /// ‖∇f(x)‖∞ at the final point.
    pub grad_norm: f64,
    /// Iterations.
    pub iterations: u64,
    /// Evaluation counters.
    #[serde(flatten)]
    pub counts: Counts,
    /// Whether a convergence test was met.
    pub converged: bool,
    /// Why the run stopped.
    pub termination: Termination,
    /// Wall time (over all resumed parts).
    pub seconds: f64,
    /// The final state, when [`Options::keep_checkpoint`] asked for it.
    #[serde(skip)]
    pub checkpoint: Option<Checkpoint>,
}

impl fmt::Display for Summary {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = if self.converged {
            "converged"
        } else {
            "did not converge"
        };
        writeln!(out, "{}: {} ({})", self.method, status, self.termination)?;
        writeln!(out, "  f(x)        = {:.12e}", self.f)?;
        writeln!(out, "  ‖∇f(x)‖∞    = {:.3e}", self.grad_norm)?;
        writeln!(out, "  iterations  = {}", self.iterations)?;
        write!(
            out,
            "  evaluations = f: {}, ∇f: {}, ∇²f: {}",
            self.counts.f_evals, self.counts.g_evals, self.counts.h_evals
        )?;
        if self.counts.j_evals > 0 {
            write!(out, ", J: {}", self.counts.j_evals)?;
        }
        writeln!(out)?;
        write!(out, "  time        = {:.3} s", self.seconds)
    }
}

/// The run as it stands, to continue later (method and problem labels left empty).
fn checkpoint_of<K: ProblemKind>(
    method: &dyn Minimizer<K>,
    iterations: u64,
    counts: Counts,
    seconds: f64,
    termination: Option<Termination>,
    it: &Iterate,
    best: &Iterate,
) -> Result<Checkpoint> {
    Ok(Checkpoint {
        format: FORMAT.into(),
        version: VERSION,
        method: String::new(),
        problem: String::new(),
        iterations,
        counts,
        seconds,
        termination,
        iterate: it.clone(),
        best: best.clone(),
        method_state: method.save_state()?,
        buffers: method.state_buffers(),
        checksum: None,
    })
}

/// Where a run begins.
#[derive(Clone, Copy)]
pub enum Start<'a> {
    /// A fresh run from this point.
    At(&'a [f64]),
    /// The continuation of a saved run (its method must be the same, already built).
    Resume(&'a Checkpoint),
}

/// Runs `method` on the objective `problem` from `x0` until a stop test or budget ends it.
///
/// Errors only for input that cannot be run (wrong length, non-finite `x0` or `f(x0)`);
/// everything else ends in `Ok(Summary)` with its [`Termination`].
pub fn minimize(
    problem: &dyn Objective,
    method: &mut dyn Minimizer,
    x0: &[f64],
    opts: &Options,
    obs: &mut dyn Observer,
) -> Result<Summary> {
    minimize_from(problem, method, Start::At(x0), opts, obs)
}

/// [`minimize`] from a fresh start or a checkpoint.
pub fn minimize_from(
    problem: &dyn Objective,
    method: &mut dyn Minimizer,
    start: Start<'_>,
    opts: &Options,
    obs: &mut dyn Observer,
) -> Result<Summary> {
    let counted = Counted::from(problem, resumed_counts(start));
    run::<OnObjective>(&counted, &|| counted.counts(), method, start, opts, obs)
}

/// Below this fraction of |f| a change in f is not told from rounding: about 5·10⁵ units
/// in its last place, as evaluating f often loses far more than one to cancellation
/// (½xᵀAx − bᵀx with terms of 10¹² at f ≈ 10⁶ carries errors of 10⁻⁶). Steps whose
/// decrease is smaller are judged by their slope (the line search's approximate Wolfe
/// conditions, the trust regions' gain ratio).
pub(crate) const VALUE_RESOLUTION: f64 = 1e-10;

/// The counters a run starts from.
pub(crate) fn resumed_counts(start: Start<'_>) -> Counts {
    match start {
        Start::At(_) => Counts::default(),
        Start::Resume(c) => c.counts,
    }
}

/// The one loop, for any kind of problem. `problem` is already wrapped in evaluation
/// counting, and `counts` reads its counters.
pub fn run<K: ProblemKind>(
    problem: &K::Problem<'_>,
    counts: &dyn Fn() -> Counts,
    method: &mut dyn Minimizer<K>,
    start: Start<'_>,
    opts: &Options,
    obs: &mut dyn Observer,
) -> Result<Summary> {
    opts.check()?;
    let n = K::dim(problem);
    let clock = Instant::now();
    let name = method.name();
    let dims = Dims {
        n,
        m: K::residual_count(problem),
        samples: K::sample_count(problem),
    };
    crate::resources::check_memory(
        &format!(
            "{name}'s dense matrices for n = {n}{}",
            if dims.m > 0 {
                format!(" and m = {}", dims.m)
            } else {
                String::new()
            }
        ),
        method.dense_values(dims),
        8,
        1,
    )?;
    let (mut it, best, mut iterations, seconds_before) = match start {
        Start::At(x0) => {
            check_start(x0, n, "x0")?;
            let it = method.init(problem, x0)?;
            if !it.f.is_finite() {
                return Err(Error::NonFiniteStart(format!("f(x0) = {}", it.f)));
            }
            if !all_finite(&it.g) {
                return Err(Error::NonFiniteStart(
                    "the gradient at x0 has NaN or infinite entries".into(),
                ));
            }
            (it, None, 0u64, 0.0)
        }
        Start::Resume(c) => {
            for (what, v) in [
                ("the checkpoint's point", &c.iterate.x),
                ("the checkpoint's gradient", &c.iterate.g),
                ("the checkpoint's best point", &c.best.x),
                ("the checkpoint's best gradient", &c.best.g),
            ] {
                if v.len() != n {
                    return Err(Error::DimensionMismatch {
                        what: what.into(),
                        expected: n,
                        got: v.len(),
                    });
                }
            }
            // A state another method saved does not parse: say whose it is.
            let other = |e: Error| {
                Error::Parse(format!(
                    "the checkpoint{} does not resume {name}: {e}",
                    if c.method.is_empty() {
                        String::new()
                    } else {
                        format!(" (saved by {})", c.method)
                    }
                ))
            };
            method.load_state(&c.method_state).map_err(other)?;
            method.load_buffers(&c.buffers).map_err(other)?;
            method.check_restored(dims)?;
            (
                c.iterate.clone(),
                Some(c.best.clone()),
                c.iterations,
                c.seconds,
            )
        }
    };
    let elapsed = || seconds_before + clock.elapsed().as_secs_f64();
    obs.on_start(&name, n, it.f);
    let stochastic = method.stochastic();
    // The best point seen, where it can differ from the iterate (`None`: the iterate is the
    // best). Only a method on one fixed objective whose steps may raise f needs a copy.
    let copies_best = !stochastic && method.keeps_best() && !method.descends();
    let mut best = match best {
        _ if !copies_best => None,
        Some(b) => Some(b),
        None => Some(it.clone()),
    };

    let saved_stop = match start {
        Start::Resume(c) => c.termination.filter(|t| !t.resumable()),
        Start::At(_) => None,
    };
    let mut checkpoint_wanted = false;
    let mut gradient_tested = false;
    let termination = loop {
        if let Some(t) = saved_stop {
            // The saved run had already converged or failed: nothing to continue.
            break t;
        }
        if let Some(t) = method.stop_test(&it) {
            break t;
        }
        if opts.target.is_some_and(|t| it.f <= t) {
            break Termination::TargetCost;
        }
        // After an accepted step the gradient test below has just been made on this point.
        if !stochastic && !gradient_tested && method.grad_norm(&it) <= opts.gtol {
            break Termination::GradientTolerance;
        }
        gradient_tested = false;
        if iterations >= opts.max_iter {
            break Termination::MaxIterations;
        }
        if opts.max_evals.is_some_and(|m| counts().f_evals >= m) {
            break Termination::MaxEvaluations;
        }
        if opts
            .time_limit
            .is_some_and(|t| elapsed() >= t.as_secs_f64())
        {
            break Termination::TimeLimit;
        }
        let f_prev = it.f;
        let outcome = method.step(problem, &mut it)?;
        iterations += 1;
        let (step_norm, alpha) = match outcome {
            StepOutcome::Stop(t) => break t,
            StepOutcome::Rejected => (0.0, 0.0),
            StepOutcome::Accepted { step_norm, alpha } => (step_norm, alpha),
        };
        // A stochastic method commits only finite points, and a batch value says nothing
        // about which point is best: its run ends where it is, with no tolerance tests.
        if !stochastic {
            if !it.f.is_finite() || !all_finite(&it.g) || !all_finite(&it.x) {
                break Termination::NonFinite;
            }
            if let Some(b) = best.as_mut().filter(|b| it.f <= b.f) {
                b.clone_from(&it);
            }
        }
        let grad_norm = if stochastic {
            f64::NAN
        } else {
            method.grad_norm(&it)
        };
        if obs.wants_reports() {
            let report = IterReport {
                iter: iterations,
                f: it.f,
                grad_norm: if stochastic {
                    method.grad_norm(&it)
                } else {
                    grad_norm
                },
                step_norm,
                alpha,
                counts: counts(),
                seconds: elapsed(),
                extra: method.extra(),
            };
            obs.on_point(method.point_of_record().unwrap_or(&it.x));
            match obs.on_iter(&report) {
                Control::Stop => break Termination::ObserverStop,
                Control::Checkpoint => checkpoint_wanted = true,
                Control::Continue => {}
            }
        }
        if !stochastic && matches!(outcome, StepOutcome::Accepted { .. }) {
            if grad_norm <= opts.gtol {
                break Termination::GradientTolerance;
            }
            gradient_tested = true;
            if method.monotone() {
                let scale = f_prev.abs().max(it.f.abs()).max(f64::MIN_POSITIVE);
                if (f_prev - it.f).abs() <= opts.ftol * scale {
                    break Termination::CostChangeTolerance;
                }
            }
            // A fixed-rate rule may take a zero step on its way (iRprop⁻ after a sign
            // change): for such methods only a nonzero step can be too small.
            let stalled = step_norm > 0.0 || method.monotone();
            if stalled && step_norm <= opts.xtol * (opts.xtol + norm(&it.x)) {
                break Termination::StepTolerance;
            }
        }
        if std::mem::take(&mut checkpoint_wanted) {
            method.complete(problem, &mut it);
            let best = best.as_ref().unwrap_or(&it);
            let snapshot = checkpoint_of(method, iterations, counts(), elapsed(), None, &it, best)?;
            obs.on_checkpoint(&snapshot);
        }
    };
    method.complete(problem, &mut it);
    let seconds = elapsed();
    let checkpoint = if opts.keep_checkpoint && all_finite(&it.x) && it.f.is_finite() {
        Some(checkpoint_of(
            method,
            iterations,
            counts(),
            seconds,
            Some(termination),
            &it,
            best.as_ref().unwrap_or(&it),
        )?)
    } else {
        None
    };
    // A non-monotone method may end above its best point; report the best one — unless
    // the two values differ by less than f resolves: a trust region whose gain ratio was
    // read from the gradients where f could not tell may raise f by its rounding, and the
    // last point is the one the gradient tests were passed at.
    let fin = match best {
        Some(b) if b.f < it.f - VALUE_RESOLUTION * it.f.abs() || !it.f.is_finite() => b,
        _ => it,
    };
    // A method whose result is not its iterate ends at its point of record, evaluated
    // where the problem has one value (a batch estimate stays as it is otherwise).
    let fin = match method.point_of_record() {
        Some(x) => match K::evaluate(problem, x) {
            Some(at) if at.f.is_finite() && all_finite(&at.g) => at,
            Some(_) => fin,
            None => Iterate {
                x: x.to_vec(),
                ..fin
            },
        },
        None => fin,
    };
    let grad_norm = if stochastic {
        norm_inf(&fin.g)
    } else {
        method.grad_norm(&fin)
    };
    // Steps that vanish where the gradient has not are a stall, not convergence: f
    // unbounded below along a line (x₁ + x₂/2: "converged" at f = −4e154), a singularity
    // approached (log x₁: at x₁ = 2e-38, ‖∇f‖ = 4.6e37), an indefinite quadratic. The
    // gradient test's square root (at least 1e-4) separates them from the badly scaled
    // minima the step test rightly ends at. A loose step tolerance the caller chose
    // (above 1e-10: steps of a visible size, not vanishing ones) is the caller's own
    // test, as SciPy's Newton-CG `xtol`. (Least squares keep their tests: MINPACK's step
    // test is scaled by the problem's own columns.)
    let stalled = termination == Termination::StepTolerance
        && dims.m == 0
        && opts.xtol <= 1e-10
        && (grad_norm.is_nan() || grad_norm > opts.gtol.max(1e-8).sqrt());
    let summary = Summary {
        method: name,
        grad_norm,
        x: fin.x,
        f: fin.f,
        gradient: fin.g,
        iterations,
        counts: counts(),
        converged: termination.converged() && !stalled,
        termination,
        seconds,
        checkpoint,
    };
    obs.on_finish(&summary);
    Ok(summary)
}
