//! Search directions, each usable with any line search through [`LineSearchMethod`].
//!
//! | direction | needs | notes |
//! |---|---|---|
//! | [`Steepest`] | gradient | `d = −∇f` |
//! | [`NonlinearCg`] | gradient | β = FR, PR, PR+, HS, DY, HZ; restarts |
//! | [`QuasiNewton`] | gradient | BFGS, DFP, SR1 on the inverse Hessian |
//! | [`Lbfgs`] | gradient | two-loop recursion, memory m |
//! | [`Newton`] | Hessian (exact or finite differences) | shifted Cholesky when indefinite |
//! | [`NewtonCg`] | Hessian-vector products | truncated Newton |
//! | [`PowellBeale`] | gradient | CG with Powell–Beale restarts (MATLAB's `traincgb`) |
//! | [`OneStepSecant`] | gradient | memoryless BFGS (Battiti 1992; MATLAB's `trainoss`) |

mod cg;
mod cgb;
mod lbfgs;
mod lbfgs_dots;
mod newton;
mod newton_cg;
mod oss;
mod quasi_newton;
mod secant;
mod steepest;

pub use cg::{CgBeta, NonlinearCg};
pub use cgb::PowellBeale;
pub use lbfgs::Lbfgs;
pub(crate) use lbfgs_dots::PairTables;
pub use newton::Newton;
pub use newton_cg::NewtonCg;
pub use oss::OneStepSecant;
pub use quasi_newton::{QuasiNewton, QuasiNewtonKind};
pub use secant::SecantPair;
pub use steepest::Steepest;

use crate::driver::{
    state_from_json, state_to_json, InverseHessian, Iterate, Minimizer, StepOutcome, Termination,
};
use crate::error::Result;
use crate::linalg::{dot, norm, CHUNK, PARALLEL_LEN};
use crate::linesearch::{Line, LineSearch, StrongWolfe};
use crate::problem::Objective;
use serde::{Deserialize, Serialize};

/// Produces a search direction from the current iterate and what it has learned.
pub trait Direction {
    /// Name for reports.
    fn name(&self) -> String;
    /// Allocates state for `n` variables.
    fn init(&mut self, n: usize);
    /// Values held in dense n×n matrices ([`Minimizer::dense_values`]).
    fn dense_values(&self, _n: usize) -> u128 {
        0
    }
    /// Writes the direction into `d`. May stop the run (e.g. no factorization).
    fn direction(
        &mut self,
        problem: &dyn Objective,
        it: &Iterate,
        d: &mut [f64],
    ) -> std::result::Result<(), Termination>;
    /// Learns from an accepted step `s = x₊ − x`, `y = g₊ − g`; `it` is the new iterate.
    fn update(&mut self, s: &[f64], y: &[f64], it: &Iterate);
    /// [`Direction::update`] with the pair handed over: a direction that stores pairs may
    /// keep these vectors and leave others in their place (of any length; the caller
    /// resizes them), saving a copy of each (L-BFGS at large n).
    ///
    /// `products`, when given, are the pair's `sᵀy`, `yᵀy`, `sᵀs`, summed by the caller in
    /// the pass that formed the pair (long vectors), so that the direction need not read
    /// the pair again for them.
    fn update_owned(
        &mut self,
        s: &mut Vec<f64>,
        y: &mut Vec<f64>,
        _products: Option<PairProducts>,
        it: &Iterate,
    ) {
        self.update(s, y, it);
    }
    /// The slope `dᵀg` of the direction just written, when it was summed while writing
    /// it (saves a pass over two long vectors); `None` has the caller compute it.
    fn slope(&self) -> Option<f64> {
        None
    }
    /// Forgets curvature information (called when `d` was not a descent direction).
    fn reset(&mut self);
    /// Whether `d` carries its own scale, so the natural first trial step is 1 (Newton,
    /// quasi-Newton after the first update). Otherwise the step is guessed from the last
    /// decrease (Nocedal & Wright eq. 3.60).
    fn unit_step(&self) -> bool;
    /// Values for iteration reports.
    fn extra(&self) -> Vec<(&'static str, f64)> {
        Vec::new()
    }
    /// The direction's model of the inverse Hessian, if it keeps one (quasi-Newton).
    fn inverse_hessian(&self) -> Option<InverseHessian> {
        None
    }
    /// What the direction has learned, for checkpoints. A direction that keeps state
    /// between iterations must override this and [`Direction::load_state`] (the library's
    /// do, through serde); the default is for stateless directions.
    fn save_state(&self) -> Result<serde_json::Value> {
        Ok(serde_json::Value::Null)
    }
    /// Restores what [`Direction::save_state`] wrote.
    fn load_state(&mut self, _state: &serde_json::Value) -> Result<()> {
        Ok(())
    }
    /// That the restored state fits a problem of `dims` (see
    /// [`Minimizer::check_restored`]); directions that keep vectors override it.
    fn check_restored(&self, _dims: crate::driver::Dims) -> Result<()> {
        Ok(())
    }
}

/// The inner products of a curvature pair `(s, y)`.
#[derive(Clone, Copy, Debug)]
pub struct PairProducts {
    /// `sᵀy`.
    pub sy: f64,
    /// `yᵀy`.
    pub yy: f64,
    /// `sᵀs`.
    pub ss: f64,
}

/// A direction combined with a line search — the classical descent method
/// `x₊ = x + α d`.
pub struct LineSearchMethod<D, L> {
    /// The direction.
    pub direction: D,
    /// The line search.
    pub line_search: L,
    /// The curvature pair the direction learns from (default: standard).
    pub secant: SecantPair,
    /// Whether the first step is bounded by the problem's lower bound (see
    /// [`LineSearchMethod::with_bounded_first_step`]).
    bounded_first_step: bool,
    /// Watchdog (relaxed full steps) on, for self-scaled directions.
    watchdog: bool,
    /// Scratch: the direction, rewritten every iteration.
    d: Vec<f64>,
    /// Scratch: the storage of the last step's pair (the step and gradient change were
    /// written over the point and gradient it replaced), or of the pair an L-BFGS memory
    /// dropped for it, reused by the next line search (no allocation per iteration at
    /// large n).
    spare: (Vec<f64>, Vec<f64>),
    memory: Memory,
}

/// What the method carries from one iteration to the next (besides the direction's own
/// state): all a checkpoint needs of it.
#[derive(Clone, Default, Serialize, Deserialize)]
struct Memory {
    f_prev: Option<f64>,
    last_alpha: f64,
    /// φ'(0) of the previous line search.
    last_slope: f64,
    resets: u64,
    saved: Option<Saved>,
    watchdog_cooldown: bool,
}

/// The point the watchdog returns to if a relaxed step does not pay off.
#[derive(Clone, Serialize, Deserialize)]
struct Saved {
    it: Iterate,
    d: Vec<f64>,
    slope: f64,
}

/// Sufficient-decrease constant of the watchdog test (as the line searches' c₁).
const WATCHDOG_C1: f64 = 1e-4;

impl<D: Direction, L: LineSearch> LineSearchMethod<D, L> {
    /// Combines `direction` with `line_search`.
    pub fn new(direction: D, line_search: L) -> Self {
        LineSearchMethod {
            direction,
            line_search,
            secant: SecantPair::Standard,
            bounded_first_step: false,
            watchdog: false,
            d: Vec::new(),
            spare: (Vec::new(), Vec::new()),
            memory: Memory::default(),
        }
    }

    /// Enables the watchdog technique (Chamberlain, Powell, Lemaréchal & Pedersen, "The
    /// watchdog technique for forcing convergence in algorithms for constrained
    /// optimization", Math. Prog. Study 16, 1982): a full step that increases f may be
    /// taken once; if the next full step does not bring f below the point before it (with
    /// sufficient decrease), the method returns there and searches the line as usual.
    /// It lets Newton's method follow its own steps through curved valleys instead of
    /// creeping along them, at the price of at most one wasted iteration per attempt.
    pub fn with_watchdog(mut self) -> Self {
        self.watchdog = true;
        self
    }

    /// Learns from the pair `secant` instead of the standard one.
    pub fn with_secant(mut self, secant: SecantPair) -> Self {
        self.secant = secant;
        self
    }

    /// Bounds the first trial step by `2(f − f_low)/|φ'(0)|` where the problem knows a
    /// lower bound `f_low` ([`Objective::lower_bound`]): a quadratic along `d` that starts
    /// at `(f, φ'(0))` and never goes below `f_low` has its minimizer no farther. For
    /// secant methods, whose first pair also sets the scale of `H₀`, it saved evaluations
    /// on the MGH set (Chebyquad's first line search: 6 → 1); nonlinear CG, whose later
    /// trial steps are extrapolated from the first, went to another basin on Broyden
    /// banded with it and keeps the unit-length first step.
    pub fn with_bounded_first_step(mut self) -> Self {
        self.bounded_first_step = true;
        self
    }

    /// Scratch vector for `n` variables.
    fn allocate(&mut self, n: usize) {
        self.d = vec![0.0; n];
    }

    fn commit(
        &mut self,
        it: &mut Iterate,
        x_new: Vec<f64>,
        g_new: Vec<f64>,
        f_new: f64,
        alpha: f64,
    ) -> StepOutcome {
        // The step s = x₊ − x and the gradient change y = g₊ − g, written over the old
        // point and gradient, with gᵀs and g₊ᵀs for the secant correction: one pass.
        let mut y = std::mem::replace(&mut it.g, g_new);
        let mut s = std::mem::replace(&mut it.x, x_new);
        let sums = secant_pass(&mut s, &mut y, &it.x, &it.g);
        let factor = self
            .secant
            .correct_with(&mut y, (it.f, f_new), (sums.gs, sums.gs_new));
        self.memory.f_prev = Some(it.f);
        self.memory.last_alpha = alpha;
        it.f = f_new;
        // Long vectors: the pair's products from the sums of the pass (y scaled by the
        // correction's factor), so that nothing reads the pair again. Short ones are
        // summed afresh, in element order, as they always were.
        let products = (s.len() >= PARALLEL_LEN).then_some(PairProducts {
            sy: factor * (sums.gs_new - sums.gs),
            yy: factor * factor * sums.yy,
            ss: sums.ss,
        });
        let step_norm = products.map_or_else(|| norm(&s), |p| p.ss.sqrt());
        // The pair's vectors go to the direction (an L-BFGS memory keeps them and hands
        // back its oldest pair's, or none); what comes back is the next trial's storage.
        self.direction.update_owned(&mut s, &mut y, products, it);
        self.spare = (s, y);
        StepOutcome::Accepted { step_norm, alpha }
    }

    /// Evaluates the full step x + d.
    fn full_step(&mut self, problem: &dyn Objective, it: &Iterate) -> (Vec<f64>, Vec<f64>, f64) {
        let (mut x, mut g) = std::mem::take(&mut self.spare);
        x.clear();
        x.extend(it.x.iter().zip(&self.d).map(|(a, b)| a + b));
        g.clear();
        g.resize(x.len(), 0.0);
        let f = problem.value_grad(&x, &mut g);
        (x, g, f)
    }

    /// First trial step. The first iteration of an unscaled direction tries a step of
    /// length ~1 in x (`1/‖d‖`, capped at 1), shortened to `2(f − f_low)/|φ'(0)|` where the
    /// problem knows a lower bound `f_low` and the method asks for it
    /// ([`LineSearchMethod::with_bounded_first_step`]); later ones use the smaller of the
    /// interpolation guess `1.01·2(f − f₋)/φ'(0)` (N&W eq. 3.60, as SciPy does) and
    /// `α₋·φ'₋(0)/φ'(0)` (eq. 3.59), capped at 1; self-scaled directions try 1.
    fn initial_step(&self, f: f64, slope: f64, unit: bool, lower: Option<f64>) -> f64 {
        if unit {
            return 1.0;
        }
        match self.memory.f_prev {
            Some(fp) if fp > f && slope < 0.0 => {
                let interpolated = 1.01 * 2.0 * (f - fp) / slope;
                // The previous step's first-order change, α₋·φ'₋(0)/φ'(0) (N&W eq. 3.59),
                // bounds the interpolation guess, which overshoots when the last decrease
                // was large against what is left (CG's last iterations).
                let same_change = self.memory.last_alpha * self.memory.last_slope / slope;
                let a = if same_change.is_finite() && same_change > 0.0 {
                    interpolated.min(same_change)
                } else {
                    interpolated
                };
                if a.is_finite() && a > 0.0 {
                    a.min(1.0).max(1e-3 * self.memory.last_alpha.min(1.0))
                } else {
                    1.0
                }
            }
            _ => {
                let unit_length = (1.0 / norm(&self.d)).min(1.0);
                lower
                    .filter(|_| self.bounded_first_step)
                    .map(|low| 2.0 * (f - low) / -slope)
                    .filter(|bound| bound.is_finite() && *bound > 0.0)
                    .map_or(unit_length, |bound| unit_length.min(bound))
            }
        }
    }
}

/// What [`secant_pass`] sums along the way.
#[derive(Clone, Copy, Default)]
pub(crate) struct StepSums {
    /// `gᵀs`.
    pub gs: f64,
    /// `g₊ᵀs`.
    pub gs_new: f64,
    /// `sᵀs`.
    pub ss: f64,
    /// `yᵀy` (the standard pair's).
    pub yy: f64,
}

/// Turns `x` into `s = x₊ − x` and `g` into `y = g₊ − g`, both in place (the old point
/// and gradient are not needed after the step, and a separate `s` would be one more
/// n-vector held), summing `gᵀs`, `g₊ᵀs` and, for long vectors, `sᵀs`, `yᵀy`: one pass
/// over the four vectors. Below [`PARALLEL_LEN`] the sums run in element order (bitwise
/// plain dot products); above it the vectors are split across threads and each chunk
/// summed in lanes.
pub(crate) fn secant_pass(x: &mut [f64], g: &mut [f64], x_new: &[f64], g_new: &[f64]) -> StepSums {
    if x.len() < PARALLEL_LEN {
        let (mut gs, mut gs_new) = (0.0, 0.0);
        for i in 0..x.len() {
            let si = x_new[i] - x[i];
            x[i] = si;
            gs += g[i] * si;
            gs_new += g_new[i] * si;
            g[i] = g_new[i] - g[i];
        }
        return StepSums {
            gs,
            gs_new,
            ..StepSums::default()
        };
    }
    use rayon::prelude::*;
    let parts: Vec<[f64; 4]> = x
        .par_chunks_mut(CHUNK)
        .zip(g.par_chunks_mut(CHUNK))
        .zip(x_new.par_chunks(CHUNK))
        .zip(g_new.par_chunks(CHUNK))
        .map(|(((x, g), x_new), g_new)| secant_lanes(x, g, x_new, g_new))
        .collect();
    let mut total = [0.0; 4];
    for part in &parts {
        for (t, v) in total.iter_mut().zip(part) {
            *t += v;
        }
    }
    let [gs, gs_new, ss, yy] = total;
    StepSums { gs, gs_new, ss, yy }
}

crate::simd::kernel! {
    /// [`secant_pass`] on one chunk: `[gᵀs, g₊ᵀs, sᵀs, yᵀy]`, each in eight lanes.
    fn secant_lanes(x: &mut [f64], g: &mut [f64], x_new: &[f64], g_new: &[f64]) -> [f64; 4] {
        const LANES: usize = 8;
        let mut acc = [[0.0f64; LANES]; 4];
        let n = x.len();
        let whole = n - n % LANES;
        for (((xc, gc), xnc), gnc) in x[..whole]
            .chunks_exact_mut(LANES)
            .zip(g[..whole].chunks_exact_mut(LANES))
            .zip(x_new[..whole].chunks_exact(LANES))
            .zip(g_new[..whole].chunks_exact(LANES))
        {
            for i in 0..LANES {
                let si = xnc[i] - xc[i];
                let yi = gnc[i] - gc[i];
                xc[i] = si;
                acc[0][i] += gc[i] * si;
                acc[1][i] += gnc[i] * si;
                acc[2][i] += si * si;
                acc[3][i] += yi * yi;
                gc[i] = yi;
            }
        }
        let mut out = acc.map(|a| a.iter().sum::<f64>());
        for i in whole..n {
            let si = x_new[i] - x[i];
            let yi = g_new[i] - g[i];
            x[i] = si;
            out[0] += g[i] * si;
            out[1] += g_new[i] * si;
            out[2] += si * si;
            out[3] += yi * yi;
            g[i] = yi;
        }
        out
    }
}

/// The library's tuned secant methods as typed constructors: exactly what the registry
/// builds for `lbfgs` and `bfgs` at their defaults (strong Wolfe with c₂ = 0.9, the
/// value-corrected curvature pair, the bounded first step).
impl LineSearchMethod<Lbfgs, StrongWolfe> {
    /// L-BFGS with memory `memory`, as `MethodSpec::new("lbfgs")` builds it (memory 10).
    pub fn lbfgs(memory: usize) -> Self {
        LineSearchMethod::new(Lbfgs::new(memory), StrongWolfe::with_c2(0.9))
            .with_secant(SecantPair::ValueCorrected)
            .with_bounded_first_step()
    }
}

impl LineSearchMethod<QuasiNewton, StrongWolfe> {
    /// BFGS, as `MethodSpec::new("bfgs")` builds it.
    pub fn bfgs() -> Self {
        LineSearchMethod::new(
            QuasiNewton::new(QuasiNewtonKind::Bfgs),
            StrongWolfe::with_c2(0.9),
        )
        .with_secant(SecantPair::ValueCorrected)
        .with_bounded_first_step()
    }
}

impl<D: Direction, L: LineSearch> Minimizer for LineSearchMethod<D, L> {
    fn name(&self) -> String {
        let pair = match self.secant {
            SecantPair::Standard => String::new(),
            other => format!(", {} pair", other.name()),
        };
        format!(
            "{} ({} line search{pair})",
            self.direction.name(),
            self.line_search.name()
        )
    }
    fn init(&mut self, problem: &dyn Objective, x0: &[f64]) -> Result<Iterate> {
        self.direction.init(x0.len());
        self.allocate(x0.len());
        self.memory = Memory::default();
        Ok(Iterate::evaluate(problem, x0))
    }
    fn step(&mut self, problem: &dyn Objective, it: &mut Iterate) -> Result<StepOutcome> {
        if let Err(t) = self.direction.direction(problem, it, &mut self.d) {
            return Ok(StepOutcome::Stop(t));
        }
        let mut slope = self
            .direction
            .slope()
            .unwrap_or_else(|| dot(&self.d, &it.g));
        let mut unit = self.direction.unit_step();
        if !slope.is_finite() || slope >= 0.0 {
            // Steepest descent carries no scale: guess the step as for gradient methods.
            unit = false;
            // Not a descent direction: restart from steepest descent.
            self.direction.reset();
            self.memory.resets += 1;
            for (di, gi) in self.d.iter_mut().zip(&it.g) {
                *di = -gi;
            }
            slope = dot(&self.d, &it.g);
            if slope.is_nan() || slope >= 0.0 {
                return Ok(StepOutcome::Stop(Termination::NotDescentDirection));
            }
        }
        if self.watchdog && self.direction.unit_step() {
            if let Some(saved) = self.memory.saved.take() {
                // Second watchdog step: the full step must beat the saved point.
                let (x, g, f) = self.full_step(problem, it);
                if f.is_finite()
                    && crate::linalg::all_finite(&g)
                    && f <= saved.it.f + WATCHDOG_C1 * saved.slope
                {
                    return Ok(self.commit(it, x, g, f, 1.0));
                }
                // It did not pay off: back to the saved point, and a line search there.
                *it = saved.it;
                self.d = saved.d;
                slope = saved.slope;
                self.memory.watchdog_cooldown = true;
            } else if !self.memory.watchdog_cooldown {
                let (x, g, f) = self.full_step(problem, it);
                if f.is_finite() && crate::linalg::all_finite(&g) {
                    if f <= it.f + WATCHDOG_C1 * slope {
                        return Ok(self.commit(it, x, g, f, 1.0));
                    }
                    self.memory.saved = Some(Saved {
                        it: it.clone(),
                        d: self.d.clone(),
                        slope,
                    });
                    return Ok(self.commit(it, x, g, f, 1.0));
                }
            } else {
                self.memory.watchdog_cooldown = false;
            }
        }
        let alpha0 = self.initial_step(it.f, slope, unit, problem.lower_bound());
        self.memory.last_slope = slope;
        let scratch = std::mem::take(&mut self.spare);
        let mut line = Line::reusing(problem, &it.x, &self.d, scratch);
        let Some(step) = self.line_search.search(&mut line, it.f, slope, alpha0) else {
            return Ok(StepOutcome::Stop(Termination::LineSearchFailed));
        };
        let (x_new, g_new, f_new) = line.finish_owned(step.alpha);
        Ok(self.commit(it, x_new, g_new, f_new, step.alpha))
    }
    fn inverse_hessian(&self) -> Option<InverseHessian> {
        self.direction.inverse_hessian()
    }
    fn descends(&self) -> bool {
        // The watchdog takes a full step that may raise f.
        !self.watchdog && self.line_search.sufficient_decrease()
    }
    fn extra(&self) -> Vec<(&'static str, f64)> {
        let mut e = self.direction.extra();
        e.push(("resets", self.memory.resets as f64));
        e
    }
    fn save_state(&self) -> Result<serde_json::Value> {
        state_to_json(&(self.direction.save_state()?, self.d.len(), &self.memory))
    }
    fn load_state(&mut self, state: &serde_json::Value) -> Result<()> {
        let (direction, n, memory): (serde_json::Value, usize, Memory) = state_from_json(state)?;
        self.direction.load_state(&direction)?;
        self.allocate(n);
        self.memory = memory;
        Ok(())
    }
    fn check_restored(&self, dims: crate::driver::Dims) -> Result<()> {
        dims.length("dimension", self.d.len(), dims.n)?;
        if let Some(saved) = &self.memory.saved {
            dims.vector("watchdog point", &saved.it.x)?;
            dims.vector("watchdog gradient", &saved.it.g)?;
            dims.vector("watchdog direction", &saved.d)?;
        }
        self.direction.check_restored(dims)
    }
    fn dense_values(&self, dims: crate::driver::Dims) -> u128 {
        self.direction.dense_values(dims.n)
    }
}
