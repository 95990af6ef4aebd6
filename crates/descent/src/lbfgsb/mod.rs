//! L-BFGS-B: limited-memory BFGS for bound-constrained problems `min f(x)`, `l ≤ x ≤ u`
//! (Byrd, Lu, Nocedal & Zhu, "A limited memory algorithm for bound constrained
//! optimization", SIAM J. Sci. Comput. 16(5), 1995; Zhu, Byrd, Lu & Nocedal, ACM TOMS 23(4),
//! 1997, Algorithm 778; with the subspace correction of Morales & Nocedal, ACM TOMS 38(1),
//! 2011).
//!
//! Each iteration:
//! 1. the generalized Cauchy point `x_cp` of the quadratic model along the projected
//!    gradient path ([`generalized_cauchy_point`]) — it fixes the variables that go to a bound;
//! 2. the model's minimizer over the free variables, projected back into the box
//!    ([`subspace_minimum`]) — the point `z`;
//! 3. a strong Wolfe line search on `x + α(z − x)`, α no larger than the step to the
//!    box's edge, every trial point clamped into the box: **no point outside the box is
//!    ever evaluated**, the start included (it is moved inside first);
//! 4. the curvature pair, kept when `sᵀy > ε·(−gᵀs)` (SciPy's test), updates the compact
//!    form ([`CompactLbfgs`]); a failed solve or line search resets the memory, as in SciPy,
//!    and so does a step the search had to cut below 10⁻⁴ of the model's.
//!
//! The run stops on the projected gradient, `‖P(x − ∇f) − x‖∞ ≤ gtol` (the driver asks
//! [`Minimizer::grad_norm`]; default 1e-10, SciPy's setting in the same-run comparison,
//! `bench/bounds_vs_scipy.py`), or on SciPy's reduction test (see [`Lbfgsb::ftol`]). Without finite bounds the step is L-BFGS's (the compact form
//! and the two-loop recursion give the same `B⁻¹g`), with SciPy's shortcut of skipping the
//! Cauchy point; from 2¹⁷ variables it is then taken from the pairs' dot products, and a
//! new pair's compact-form products from the same pass
//! ([`CompactLbfgs::set_vector_free`]). As for `lbfgs`, the curvature pair is value-corrected by default and the
//! first trial step is bounded by the problem's lower bound where known.

mod cauchy;
mod compact;
mod subspace;

pub use cauchy::{generalized_cauchy_point, CauchyPoint};
pub use compact::CompactLbfgs;
pub use subspace::{subspace_minimum, subspace_minimum_into, SubspaceWork};

use crate::bounds::Bounds;
use crate::direction::{secant_pass, SecantPair};
use crate::driver::{state_from_json, state_to_json, Iterate, Minimizer, StepOutcome, Termination};
use crate::error::Result;
use crate::linalg::{dot, norm, PARALLEL_LEN};
use crate::linesearch::{Line, LineSearch, StrongWolfe};
use crate::problem::Objective;
use serde::{Deserialize, Serialize};

/// A line-search step below this fraction of the model's step resets the memory.
const TINY_STEP: f64 = 1e-4;

/// The L-BFGS-B method.
pub struct Lbfgsb {
    /// Stored pairs m (default 10, as SciPy's `maxcor`).
    pub memory: usize,
    /// The curvature pair (default value-corrected, as `lbfgs`).
    pub secant: SecantPair,
    /// Bound the first trial step by `2(f − f_low)/|φ'(0)|` where the problem knows
    /// `f_low` (as `lbfgs`).
    pub bounded_first_step: bool,
    /// SciPy's reduction test: stop when `|f₋ − f|/max(|f₋|, |f|, 1) ≤ ftol` after an
    /// accepted step (default 1e-15; SciPy's `factr·ε`). Unlike the driver's relative
    /// test, values below 1 are measured on an absolute scale: there the last digits of a
    /// small f cost many line-search trials and say little. The change is taken in
    /// magnitude: a step the line search accepted on its slope where f's values no longer
    /// resolve the decrease (approximate Wolfe) may raise f by its rounding, which is no
    /// sign that the run is done.
    pub ftol: f64,
    bounds: Option<Bounds>,
    box_: Bounds,
    /// Whether no variable has a finite bound (then the step is L-BFGS's).
    unbounded: bool,
    state: State,
    scratch: Scratch,
}

/// Vectors reused from one iteration to the next, so that a long run allocates no
/// n-vector per iteration.
#[derive(Default)]
struct Scratch {
    /// The direction `d` (the Cauchy search's direction until `z` is written there).
    d: Vec<f64>,
    /// The generalized Cauchy point and its breakpoints.
    cauchy: CauchyPoint,
    /// The subspace minimization's vector.
    subspace: SubspaceWork,
    /// The line search's trial point and gradient (the storage of the last pair, or of
    /// the pair the memory dropped for it).
    line: (Vec<f64>, Vec<f64>),
}

/// What carries from one iteration to the next: all a checkpoint needs.
#[derive(Serialize, Deserialize)]
struct State {
    model: CompactLbfgs,
    /// Accepted iterations.
    accepted: u64,
    resets: u64,
    /// `(f₋ − f)/max(|f₋|, |f|, 1)` of the last accepted step.
    #[serde(default = "infinite")]
    last_reduction: f64,
}

fn infinite() -> f64 {
    f64::INFINITY
}

impl Lbfgsb {
    /// L-BFGS-B with memory `memory` on the box `bounds`; `None` means no bounds (the
    /// variables' count is taken from the start).
    pub fn new(memory: usize, bounds: Option<Bounds>) -> Self {
        Lbfgsb {
            memory: memory.max(1),
            secant: SecantPair::ValueCorrected,
            bounded_first_step: true,
            ftol: 1e-15,
            bounds,
            box_: Bounds::unbounded(0),
            unbounded: true,
            state: State {
                model: CompactLbfgs::new(memory),
                accepted: 0,
                resets: 0,
                last_reduction: f64::INFINITY,
            },
            scratch: Scratch::default(),
        }
    }

    /// The box the method works in (after [`Minimizer::init`]).
    pub fn bounds(&self) -> &Bounds {
        &self.box_
    }

    fn set_box(&mut self, n: usize) -> Result<()> {
        self.box_ = Bounds::for_dim(self.bounds.as_ref(), n)?;
        self.unbounded = self.box_.is_unbounded();
        Ok(())
    }

    /// The point `z` of steps 1–2 (see the module documentation) into `z`; `None` when a
    /// solve failed.
    fn target(&mut self, it: &Iterate, z: &mut Vec<f64>) -> Option<()> {
        let model = &self.state.model;
        let Scratch {
            cauchy, subspace, ..
        } = &mut self.scratch;
        // z's storage holds the Cauchy path's direction until z is written.
        cauchy.find(&it.x, &it.g, &self.box_, model, z)?;
        subspace_minimum_into(&it.x, &it.g, &self.box_, model, cauchy, subspace, z)
    }

    /// The direction `d` of steps 1–2 and its slope `dᵀg`. Without bounds the model's
    /// minimizer is `x − B⁻¹g` (SciPy skips the Cauchy point then), so `d = −B⁻¹g`.
    fn direction(&mut self, it: &Iterate, d: &mut Vec<f64>) -> Option<f64> {
        if self.unbounded {
            let model = &mut self.state.model;
            let slope = model.descent_direction(&it.g, d);
            if it.x.len() >= PARALLEL_LEN {
                return Some(slope);
            }
            // Short vectors keep the rounding of the route through the points (the
            // Cauchy point x − g from B = I, then z = x_cp + (x − B⁻¹g − x_cp)), so that
            // their runs are bitwise what they were before this shortcut.
            let through_cauchy = !model.is_empty();
            for (d, x) in d.iter_mut().zip(&it.x) {
                let z = if through_cauchy {
                    x + ((x + *d) - x)
                } else {
                    x + *d
                };
                *d = z - x;
            }
            return Some(dot(d, &it.g));
        }
        // z, then z − x where it is.
        self.target(it, d)?;
        d.iter_mut().zip(&it.x).for_each(|(d, x)| *d -= x);
        Some(dot(d, &it.g))
    }

    /// Steps 1–4 with `d` for the direction's storage.
    fn step_along(
        &mut self,
        problem: &dyn Objective,
        it: &mut Iterate,
        d: &mut Vec<f64>,
    ) -> Result<StepOutcome> {
        // Steps 1–2, once more from B = I when the memory fails us.
        let mut slope = f64::NAN;
        for _attempt in 0..2 {
            if let Some(d_slope) = self.direction(it, d) {
                slope = d_slope;
                if slope < 0.0 {
                    break;
                }
            }
            if self.state.model.is_empty() {
                break;
            }
            self.reset();
        }
        if slope.is_nan() || slope >= 0.0 {
            return Ok(StepOutcome::Stop(Termination::NotDescentDirection));
        }
        // Step 3. SciPy's first step: α ≤ 1 into a box; 1/‖d‖ unless every variable is
        // boxed; α = 1 once the model has curvature (then z is the model's minimizer).
        let constrained = !self.unbounded;
        let edge = if constrained {
            self.box_.max_step(&it.x, d)
        } else {
            f64::INFINITY
        };
        let first = self.state.accepted == 0;
        let d_norm = if first { norm(d) } else { f64::NAN };
        // A first direction shorter than 1 (a flat start: ‖∇f‖ small against the scale
        // of x) is tried at unit length, as far as the box allows; SciPy would take its
        // tiny step and stop on the relative reduction (Hock–Schittkowski 25).
        let short = first && d_norm < 1.0;
        let alpha_max = if constrained && first && !short {
            edge.min(1.0)
        } else {
            edge.min(1e10)
        };
        let mut alpha0 = if short || (first && !self.box_.is_boxed()) {
            (1.0 / d_norm).min(alpha_max)
        } else {
            alpha_max.min(1.0)
        };
        if self.state.model.is_empty() && self.bounded_first_step {
            if let Some(low) = problem.lower_bound() {
                let cap = 2.0 * (it.f - low) / -slope;
                if cap.is_finite() && cap > 0.0 {
                    alpha0 = alpha0.min(cap);
                }
            }
        }
        let search = StrongWolfe {
            alpha_max,
            ..StrongWolfe::with_c2(0.9)
        };
        let scratch = std::mem::take(&mut self.scratch.line);
        let mut line = Line::reusing(problem, &it.x, d, scratch);
        if constrained {
            line = line.within(&self.box_);
        }
        let Some(step) = search.search(&mut line, it.f, slope, alpha0) else {
            drop(line);
            if self.state.model.is_empty() {
                return Ok(StepOutcome::Stop(Termination::LineSearchFailed));
            }
            // SciPy restarts from B = I after a failed line search.
            self.reset();
            return Ok(StepOutcome::Rejected);
        };
        let n = it.x.len();
        let (x_new, g_new, f_new) = line.finish_owned(step.alpha);
        // Step 4: the curvature pair. s = x₊ − x and y = g₊ − g written over the old
        // point and gradient, with gᵀs and g₊ᵀs for the correction, in one pass.
        let mut y = std::mem::replace(&mut it.g, g_new);
        let mut s = std::mem::replace(&mut it.x, x_new);
        let sums = secant_pass(&mut s, &mut y, &it.x, &it.g);
        let factor = self
            .secant
            .correct_with(&mut y, (it.f, f_new), (sums.gs, sums.gs_new));
        // Long vectors take sᵀy and ‖s‖ from the pass's sums; short ones sum them afresh,
        // in element order, as they always were.
        let long = n >= PARALLEL_LEN;
        let sy = if long {
            factor * (sums.gs_new - sums.gs)
        } else {
            dot(&s, &y)
        };
        let step_norm = if long { sums.ss.sqrt() } else { norm(&s) };
        let descent = -sums.gs;
        let keep = sy.is_finite() && sy > f64::EPSILON * descent.max(0.0) && sy > 0.0;
        let (spare_x, spare_g) = if !keep {
            (s, y)
        } else if self.state.model.is_vector_free() {
            let own = (sy, sums.ss, factor * factor * sums.yy);
            self.state
                .model
                .push_deferred(s, y, own)
                .unwrap_or_default()
        } else {
            self.state.model.push_owned(s, y).1.unwrap_or_default()
        };
        // The pair's storage (or the dropped pair's) is the next line search's.
        self.scratch.line = (spare_x, spare_g);
        self.state.accepted += 1;
        if constrained && step.alpha < TINY_STEP && !self.state.model.is_empty() {
            // The model's step was four orders too long: its curvature misleads (a flat
            // region after a steep one, Hock–Schittkowski 25; Meyer's scaling). Start
            // again from B = I, which SciPy does only after a failed search.
            self.reset();
        }
        self.state.last_reduction = (it.f - f_new).abs() / it.f.abs().max(f_new.abs()).max(1.0);
        it.f = f_new;
        Ok(StepOutcome::Accepted {
            step_norm,
            alpha: step.alpha,
        })
    }

    /// Whether the model takes its step from dot products and defers its products
    /// ([`CompactLbfgs::set_vector_free`]): long vectors, no bound.
    fn vector_free(&self, n: usize) -> bool {
        self.unbounded && n >= PARALLEL_LEN
    }

    fn reset(&mut self) {
        self.state.model.reset();
        self.state.resets += 1;
    }
}

impl Minimizer for Lbfgsb {
    fn name(&self) -> String {
        format!("L-BFGS-B (m={})", self.memory)
    }

    fn init(&mut self, problem: &dyn Objective, x0: &[f64]) -> Result<Iterate> {
        self.set_box(x0.len())?;
        self.state = State {
            model: CompactLbfgs::new(self.memory),
            accepted: 0,
            resets: 0,
            last_reduction: f64::INFINITY,
        };
        self.state.model.set_vector_free(self.vector_free(x0.len()));
        let mut x = x0.to_vec();
        self.box_.project(&mut x);
        Ok(Iterate::evaluate(problem, &x))
    }

    fn step(&mut self, problem: &dyn Objective, it: &mut Iterate) -> Result<StepOutcome> {
        let mut d = std::mem::take(&mut self.scratch.d);
        let outcome = self.step_along(problem, it, &mut d);
        self.scratch.d = d;
        outcome
    }

    fn grad_norm(&self, it: &Iterate) -> f64 {
        self.box_.projected_gradient_norm(&it.x, &it.g)
    }

    fn descends(&self) -> bool {
        // Every accepted step passed the strong Wolfe search's sufficient decrease, or
        // raised f by no more than its resolution (approximate Wolfe): no best point to
        // keep apart from the iterate.
        true
    }

    fn stop_test(&self, _it: &Iterate) -> Option<Termination> {
        (self.state.last_reduction <= self.ftol).then_some(Termination::CostChangeTolerance)
    }

    fn inverse_hessian(&self) -> Option<crate::driver::InverseHessian> {
        Some(crate::driver::InverseHessian::Pairs(
            self.state.model.pairs(),
        ))
    }

    fn extra(&self) -> Vec<(&'static str, f64)> {
        vec![
            ("theta", self.state.model.theta()),
            ("resets", self.state.resets as f64),
        ]
    }

    fn save_state(&self) -> Result<serde_json::Value> {
        state_to_json(&(self.box_.dim(), &self.state))
    }

    fn load_state(&mut self, state: &serde_json::Value) -> Result<()> {
        let (n, state): (usize, State) = state_from_json(state)?;
        self.set_box(n)?;
        state.model.check_restored(n)?;
        self.state = state;
        let vector_free = self.vector_free(n);
        if !self.state.model.set_vector_free(vector_free) || !self.state.model.restore() {
            self.state.resets += 1;
        }
        Ok(())
    }

    fn check_restored(&self, dims: crate::driver::Dims) -> Result<()> {
        dims.length("bounds", self.box_.dim(), dims.n)?;
        self.state.model.check_restored(dims.n)
    }
}
