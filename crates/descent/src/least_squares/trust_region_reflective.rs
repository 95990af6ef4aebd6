//! The trust-region reflective method for bounded least squares (`trf`; Branch, Coleman &
//! Li, "A subspace, interior, and conjugate gradient method for large-scale
//! bound-constrained minimization problems", SIAM J. Sci. Comput. 21(1), 1999), as SciPy's
//! `least_squares(method="trf")` runs it on dense problems.
//!
//! The iterates stay strictly inside the box. Coleman and Li's scaling `vᵢ` — the distance
//! to the bound the gradient points at, 1 where there is none — turns the first-order
//! conditions into `v∘g = 0` and the model into `½‖r + JDp̂‖² + ½p̂ᵀ diag(g∘v')·D² p̂`
//! in the scaled variables `p = Dp̂`, `D = diag(√v)`. Each iteration solves that model in a
//! trust region of radius Δ exactly (Moré's algorithm on the SVD of the augmented
//! matrix), then — if the step leaves the box — picks the best of three candidates: the
//! step cut at the bound (pulled inside by θ = max(0.995, 1 − ‖v∘g‖∞)), its *reflection*
//! off the bound, and the scaled steepest-descent step. The radius follows the gain
//! ratio (Δ ← ¼‖p̂‖ below ¼, ×2 above ¾ on the boundary). Stop tests are SciPy's: ftol on
//! the relative reduction (with ρ > ¼), xtol on the relative step, gtol on `‖v∘g‖∞`.

use super::scaling::gradient;
use crate::bounds::Bounds;
use crate::driver::{Iterate, Minimizer, OnLeastSquares, StepOutcome, Termination};
use crate::error::Result;
use crate::linalg::{all_finite, dot, norm, norm_inf, DenseMatrix};
use crate::problem::LeastSquares;
use faer::Mat;
use serde::{Deserialize, Serialize};

/// Settings (SciPy's defaults where it has them).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrfConfig {
    /// Relative reduction of the cost (with a gain ratio above ¼).
    pub ftol: f64,
    /// Relative step.
    pub xtol: f64,
    /// `‖v∘g‖∞` of the cost `½‖r‖²`.
    pub gtol: f64,
    /// The box (default none: then trf is a trust-region Gauss–Newton method).
    pub bounds: Option<Bounds>,
}

/// The trust-region reflective method, a [`Minimizer`] of least squares.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrustRegionReflective {
    /// Settings.
    pub config: TrfConfig,
    bounds: Bounds,
    r: Vec<f64>,
    j: DenseMatrix,
    radius: f64,
    /// Moré's α of the last subproblem (its next first guess).
    alpha: f64,
    pending: Option<Termination>,
    rho: f64,
}

impl TrustRegionReflective {
    /// With `config`.
    pub fn new(config: TrfConfig) -> Self {
        TrustRegionReflective {
            config,
            bounds: Bounds::unbounded(0),
            r: Vec::new(),
            j: DenseMatrix::zeros(0, 0),
            radius: 1.0,
            alpha: 0.0,
            pending: None,
            rho: 0.0,
        }
    }

    /// Coleman–Li's `v` and `v'` at x for the gradient g.
    fn scaling(&self, x: &[f64], g: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let (lo, hi) = (self.bounds.lower(), self.bounds.upper());
        let n = x.len();
        let (mut v, mut dv) = (vec![1.0; n], vec![0.0; n]);
        for i in 0..n {
            if g[i] < 0.0 && hi[i].is_finite() {
                v[i] = hi[i] - x[i];
                dv[i] = -1.0;
            } else if g[i] > 0.0 && lo[i].is_finite() {
                v[i] = x[i] - lo[i];
                dv[i] = 1.0;
            }
        }
        (v, dv)
    }
}

/// x moved strictly inside the box: on or beyond a bound, `step` in from it (relative to
/// the bound's size; 0 means the next representable number).
fn strictly_inside(x: &mut [f64], b: &Bounds, step: f64) {
    let (lo, hi) = (b.lower(), b.upper());
    for i in 0..x.len() {
        if x[i] <= lo[i] {
            x[i] = if step == 0.0 {
                next_toward(lo[i], hi[i])
            } else {
                lo[i] + step * lo[i].abs().max(1.0)
            };
        } else if x[i] >= hi[i] {
            x[i] = if step == 0.0 {
                next_toward(hi[i], lo[i])
            } else {
                hi[i] - step * hi[i].abs().max(1.0)
            };
        }
        if x[i] < lo[i] || x[i] > hi[i] {
            x[i] = 0.5 * (lo[i] + hi[i]);
        }
    }
}

/// The representable number after `a` in the direction of `b` (C's `nextafter`).
fn next_toward(a: f64, b: f64) -> f64 {
    #[allow(clippy::float_cmp)] // nextafter's own test: already there
    if a == b || !a.is_finite() {
        return a;
    }
    let up = b > a;
    if a == 0.0 {
        let tiny = f64::from_bits(1);
        return if up { tiny } else { -tiny };
    }
    let bits = a.to_bits();
    if (a > 0.0) == up {
        f64::from_bits(bits + 1)
    } else {
        f64::from_bits(bits - 1)
    }
}

/// The smallest step along `s` from `x` to a bound, and which variables reach it then
/// (their sign of `s`).
fn step_to_bound(x: &[f64], s: &[f64], b: &Bounds) -> (f64, Vec<f64>) {
    let steps: Vec<f64> = (0..x.len()).map(|i| b.step_along(i, x[i], s[i])).collect();
    let min = steps.iter().copied().fold(f64::INFINITY, f64::min);
    #[allow(clippy::float_cmp)] // the variables whose step is that same minimum
    let hits = (0..x.len())
        .map(|i| if steps[i] == min { s[i].signum() } else { 0.0 })
        .collect();
    (min, hits)
}

/// The two t with `‖x + t s‖ = Δ`, ascending.
fn trust_region_intersections(x: &[f64], s: &[f64], radius: f64) -> (f64, f64) {
    let a = dot(s, s);
    let b = dot(x, s);
    let c = dot(x, x) - radius * radius;
    let d = (b * b - a * c).max(0.0).sqrt();
    let q = -(b + d.copysign(b));
    let (t1, t2) = (q / a, c / q);
    (t1.min(t2), t1.max(t2))
}

/// The scaled model `½‖J_h s‖² + ½sᵀdiag(h)s + g_hᵀs` along `s₀ + t·s`: `(a, b, c)` of
/// `a t² + b t + c`.
fn quadratic_1d(
    j: &DenseMatrix,
    g: &[f64],
    diag: &[f64],
    s: &[f64],
    s0: Option<&[f64]>,
) -> (f64, f64, f64) {
    let mut js = vec![0.0; j.rows];
    j.mul_vec(s, &mut js);
    let mut a = dot(&js, &js) + s.iter().zip(diag).map(|(v, d)| d * v * v).sum::<f64>();
    a *= 0.5;
    let mut b = dot(g, s);
    let mut c = 0.0;
    if let Some(s0) = s0 {
        let mut u = vec![0.0; j.rows];
        j.mul_vec(s0, &mut u);
        b += dot(&u, &js) + (0..s.len()).map(|i| s0[i] * diag[i] * s[i]).sum::<f64>();
        c = 0.5 * dot(&u, &u)
            + dot(g, s0)
            + 0.5 * (0..s.len()).map(|i| diag[i] * s0[i] * s0[i]).sum::<f64>();
    }
    (a, b, c)
}

/// The minimum of `a t² + b t + c` on [lo, hi]: `(t, value)`.
fn minimize_1d(a: f64, b: f64, c: f64, lo: f64, hi: f64) -> (f64, f64) {
    let mut best = (lo, a * lo * lo + b * lo + c);
    let mut consider = |t: f64| {
        let y = a * t * t + b * t + c;
        if y < best.1 {
            best = (t, y);
        }
    };
    consider(hi);
    if a != 0.0 {
        let t = -0.5 * b / a;
        if lo < t && t < hi {
            consider(t);
        }
    }
    best
}

/// The model's value at `s` (scaled): `½‖J_h s‖² + ½sᵀdiag(h)s + g_hᵀs`.
fn model_value(j: &DenseMatrix, g: &[f64], diag: &[f64], s: &[f64]) -> f64 {
    let (a, b, _) = quadratic_1d(j, g, diag, s, None);
    a + b
}

/// Moré's algorithm for `min ½‖f + Ap‖²` over `‖p‖ ≤ Δ` with `A = U diag(σ) Vᵀ`
/// (SciPy's `solve_lsq_trust_region`): the Gauss–Newton step when it fits and A has full
/// rank, otherwise `p(α) = −V diag(σ/(σ² + α)) Uᵀf` with `‖p(α)‖ = Δ` to 1 %.
fn lsq_trust_region(
    uf: &[f64],
    s: &[f64],
    v: &Mat<f64>,
    m: usize,
    radius: f64,
    alpha0: f64,
) -> (Vec<f64>, f64) {
    let n = s.len();
    let suf: Vec<f64> = s.iter().zip(uf).map(|(a, b)| a * b).collect();
    let from = |coef: &dyn Fn(usize) -> f64| -> Vec<f64> {
        (0..v.nrows())
            .map(|i| -(0..n).map(|k| v[(i, k)] * coef(k)).sum::<f64>())
            .collect()
    };
    let full_rank = m >= n && n > 0 && s[n - 1] > f64::EPSILON * m as f64 * s[0];
    if full_rank {
        let p = from(&|k| uf[k] / s[k]);
        if norm(&p) <= radius {
            return (p, 0.0);
        }
    }
    let phi = |alpha: f64| -> (f64, f64) {
        let pn = (0..n)
            .map(|k| (suf[k] / (s[k] * s[k] + alpha)).powi(2))
            .sum::<f64>()
            .sqrt();
        let d = -(0..n)
            .map(|k| suf[k].powi(2) / (s[k] * s[k] + alpha).powi(3))
            .sum::<f64>()
            / pn;
        (pn - radius, d)
    };
    let mut upper = norm(&suf) / radius;
    let mut lower = if full_rank {
        let (f, d) = phi(0.0);
        -f / d
    } else {
        0.0
    };
    let guess = |lo: f64, hi: f64| (0.001 * hi).max((lo * hi).sqrt());
    let mut alpha = if alpha0 == 0.0 && !full_rank {
        guess(lower, upper)
    } else {
        alpha0
    };
    for _ in 0..10 {
        if alpha < lower || alpha > upper {
            alpha = guess(lower, upper);
        }
        let (f, d) = phi(alpha);
        if f < 0.0 {
            upper = alpha;
        }
        let ratio = f / d;
        lower = lower.max(alpha - ratio);
        alpha -= (f + radius) * ratio / radius;
        if f.abs() < 0.01 * radius {
            break;
        }
    }
    let mut p = from(&|k| suf[k] / (s[k] * s[k] + alpha));
    let pn = norm(&p);
    if pn > 0.0 {
        p.iter_mut().for_each(|v| *v *= radius / pn);
    }
    (p, alpha)
}

impl Minimizer<OnLeastSquares> for TrustRegionReflective {
    fn name(&self) -> String {
        "trust-region reflective".into()
    }

    fn init(&mut self, problem: &dyn LeastSquares, x0: &[f64]) -> Result<Iterate> {
        let n = x0.len();
        self.bounds = Bounds::for_dim(self.config.bounds.as_ref(), n)?;
        let mut x = x0.to_vec();
        self.bounds.project(&mut x);
        // SciPy's make_strictly_feasible(x0, lb, ub, rstep=1e-10).
        strictly_inside(&mut x, &self.bounds, 1e-10);
        let (r, j, mut it) = super::levenberg_marquardt::evaluate_start(problem, &x)?;
        let g: Vec<f64> = it.g.iter().map(|v| 0.5 * v).collect();
        let (v, _) = self.scaling(&x, &g);
        let scaled: Vec<f64> = x.iter().zip(&v).map(|(a, b)| a / b.sqrt()).collect();
        self.radius = norm(&scaled);
        if self.radius == 0.0 || !self.radius.is_finite() {
            self.radius = 1.0;
        }
        self.alpha = 0.0;
        self.pending = None;
        self.rho = 0.0;
        self.r = r;
        self.j = j;
        it.x = x;
        Ok(it)
    }

    fn stop_test(&self, it: &Iterate) -> Option<Termination> {
        if let Some(t) = self.pending {
            return Some(t);
        }
        (self.grad_norm(it) < self.config.gtol).then_some(Termination::GradientTolerance)
    }

    fn step(&mut self, problem: &dyn LeastSquares, it: &mut Iterate) -> Result<StepOutcome> {
        let (m, n) = (self.r.len(), it.x.len());
        // The cost ½‖r‖² and its gradient Jᵀr (the driver's f and g are twice these).
        let cost = 0.5 * it.f;
        let g: Vec<f64> = it.g.iter().map(|v| 0.5 * v).collect();
        let (v, dv) = self.scaling(&it.x, &g);
        let g_norm = (0..n).map(|i| (g[i] * v[i]).abs()).fold(0.0, f64::max);
        let d: Vec<f64> = v.iter().map(|a| a.sqrt()).collect();
        let diag_h: Vec<f64> = (0..n).map(|i| g[i] * dv[i]).collect();
        let g_h: Vec<f64> = (0..n).map(|i| d[i] * g[i]).collect();
        let mut j_h = self.j.clone();
        for row in j_h.data.chunks_mut(n) {
            for (a, di) in row.iter_mut().zip(&d) {
                *a *= di;
            }
        }
        // SVD of the augmented [J_h; diag(√diag_h)], and Uᵀ[r; 0].
        let aug = Mat::from_fn(m + n, n, |i, k| {
            if i < m {
                j_h.get(i, k)
            } else if i - m == k {
                diag_h[k].max(0.0).sqrt()
            } else {
                0.0
            }
        });
        let Ok(svd) = aug.thin_svd() else {
            return Ok(StepOutcome::Stop(Termination::Breakdown));
        };
        let (u, s_diag, vmat) = (svd.U(), svd.S().column_vector(), svd.V().to_owned());
        let sigma: Vec<f64> = (0..n).map(|k| s_diag[k]).collect();
        let uf: Vec<f64> = (0..n)
            .map(|k| (0..m).map(|i| u[(i, k)] * self.r[i]).sum())
            .collect();
        let theta = (1.0 - g_norm).max(0.995);
        let radius = self.radius;
        let (p_h0, alpha) = lsq_trust_region(&uf, &sigma, &vmat, m + n, radius, self.alpha);
        let (step, step_h, predicted) =
            self.select_step(&it.x, &j_h, &diag_h, &g_h, p_h0, &d, radius, theta);
        let mut x_new: Vec<f64> = it.x.iter().zip(&step).map(|(a, b)| a + b).collect();
        strictly_inside(&mut x_new, &self.bounds, 0.0);
        let mut r_new = vec![0.0; m];
        problem.residuals(&x_new, &mut r_new);
        let step_h_norm = norm(&step_h);
        if !all_finite(&r_new) {
            self.radius = 0.25 * step_h_norm;
            self.alpha = alpha;
            return Ok(if self.radius > 0.0 {
                StepOutcome::Rejected
            } else {
                StepOutcome::Stop(Termination::NonFinite)
            });
        }
        let cost_new = 0.5 * dot(&r_new, &r_new);
        let actual = cost - cost_new;
        self.rho = if predicted > 0.0 {
            actual / predicted
        } else if predicted == 0.0 && actual == 0.0 {
            1.0
        } else {
            0.0
        };
        let new_radius = if self.rho < 0.25 {
            0.25 * step_h_norm
        } else if self.rho > 0.75 && step_h_norm > 0.95 * radius {
            2.0 * radius
        } else {
            radius
        };
        let step_norm = norm(&step);
        let ftol_met = actual < self.config.ftol * cost && self.rho > 0.25;
        let xtol_met = step_norm < self.config.xtol * (self.config.xtol + norm(&it.x));
        let done = if ftol_met {
            Some(Termination::CostChangeTolerance)
        } else if xtol_met {
            Some(Termination::StepTolerance)
        } else {
            None
        };
        if actual <= 0.0 {
            if let Some(t) = done {
                return Ok(StepOutcome::Stop(t));
            }
            // SciPy scales α with the radius for the next attempt.
            self.alpha = alpha * radius / new_radius.max(f64::MIN_POSITIVE);
            self.radius = new_radius;
            if self.radius <= f64::EPSILON * norm(&it.x).max(f64::MIN_POSITIVE) {
                return Ok(StepOutcome::Stop(Termination::TrustRegionTooSmall));
            }
            return Ok(StepOutcome::Rejected);
        }
        self.alpha = alpha * radius / new_radius.max(f64::MIN_POSITIVE);
        self.radius = new_radius;
        let mut j_new = DenseMatrix::zeros(m, n);
        problem.jacobian(&x_new, &mut j_new);
        if !all_finite(&j_new.data) {
            return Ok(StepOutcome::Stop(Termination::NonFinite));
        }
        it.g = gradient(&j_new, &r_new);
        it.f = 2.0 * cost_new;
        it.x = x_new;
        self.r = r_new;
        self.j = j_new;
        self.pending = done;
        Ok(StepOutcome::Accepted {
            step_norm,
            alpha: 1.0,
        })
    }

    fn grad_norm(&self, it: &Iterate) -> f64 {
        // ‖v∘g‖∞ of the cost ½‖r‖² (SciPy's optimality).
        let g: Vec<f64> = it.g.iter().map(|v| 0.5 * v).collect();
        let (v, _) = self.scaling(&it.x, &g);
        norm_inf(&g.iter().zip(&v).map(|(a, b)| a * b).collect::<Vec<_>>())
    }

    fn extra(&self) -> Vec<(&'static str, f64)> {
        vec![("radius", self.radius), ("rho", self.rho)]
    }

    crate::driver::whole_state!();
    fn dense_values(&self, dims: crate::driver::Dims) -> u128 {
        // The Jacobian and its trial copy, the scaled normal matrix and its factor.
        let (m, n) = (dims.m as u128, dims.n as u128);
        2 * m * n + 2 * n * n
    }

    fn check_restored(&self, dims: crate::driver::Dims) -> crate::error::Result<()> {
        dims.length("bounds", self.bounds.dim(), dims.n)?;
        if let Some(b) = &self.config.bounds {
            dims.length("bounds", b.dim(), dims.n)?;
        }
        dims.length("residuals", self.r.len(), dims.m)?;
        dims.matrix("Jacobian", &self.j, dims.m, dims.n)
    }
}

impl TrustRegionReflective {
    /// SciPy's `select_step`: the trust-region step if it stays inside; otherwise the
    /// best of the step cut at the bound (θ inside), its reflection, and the scaled
    /// steepest-descent step. Returns (step, scaled step, predicted reduction).
    #[allow(clippy::too_many_arguments)]
    fn select_step(
        &self,
        x: &[f64],
        j_h: &DenseMatrix,
        diag_h: &[f64],
        g_h: &[f64],
        mut p_h: Vec<f64>,
        d: &[f64],
        radius: f64,
        theta: f64,
    ) -> (Vec<f64>, Vec<f64>, f64) {
        let n = x.len();
        let scaled = |h: &[f64]| -> Vec<f64> { h.iter().zip(d).map(|(a, b)| a * b).collect() };
        let mut p = scaled(&p_h);
        let inside = {
            let mut y: Vec<f64> = x.iter().zip(&p).map(|(a, b)| a + b).collect();
            let before = y.clone();
            self.bounds.project(&mut y);
            y == before
        };
        if inside {
            let value = model_value(j_h, g_h, diag_h, &p_h);
            return (p, p_h, -value);
        }
        let (p_stride, hits) = step_to_bound(x, &p, &self.bounds);
        // The reflection off the bound.
        let mut r_h = p_h.clone();
        for i in 0..n {
            if hits[i] != 0.0 {
                r_h[i] = -r_h[i];
            }
        }
        let r = scaled(&r_h);
        p_h.iter_mut().for_each(|v| *v *= p_stride);
        p.iter_mut().for_each(|v| *v *= p_stride);
        let on_bound: Vec<f64> = x.iter().zip(&p).map(|(a, b)| a + b).collect();
        let (_, to_tr) = trust_region_intersections(&p_h, &r_h, radius);
        let (to_bound, _) = step_to_bound(&on_bound, &r, &self.bounds);
        let r_stride = to_bound.min(to_tr);
        let (lo, hi) = if r_stride > 0.0 {
            let lo = (1.0 - theta) * p_stride / r_stride;
            #[allow(clippy::float_cmp)] // which of the two limits won
            let hi = if r_stride == to_bound {
                theta * to_bound
            } else {
                to_tr
            };
            (lo, hi)
        } else {
            (0.0, -1.0)
        };
        let (reflected_h, r_value) = if lo <= hi {
            let (a, b, c) = quadratic_1d(j_h, g_h, diag_h, &r_h, Some(&p_h));
            let (t, value) = minimize_1d(a, b, c, lo, hi);
            let rh: Vec<f64> = (0..n).map(|i| p_h[i] + t * r_h[i]).collect();
            (Some(rh), value)
        } else {
            (None, f64::INFINITY)
        };
        // The cut step, pulled θ inside.
        p_h.iter_mut().for_each(|v| *v *= theta);
        p.iter_mut().for_each(|v| *v *= theta);
        let p_value = model_value(j_h, g_h, diag_h, &p_h);
        // Scaled steepest descent, to the model's minimum, the region or θ of the bound.
        let ag_h: Vec<f64> = g_h.iter().map(|v| -v).collect();
        let ag = scaled(&ag_h);
        let to_tr = radius / norm(&ag_h);
        let (to_bound, _) = step_to_bound(x, &ag, &self.bounds);
        let ag_max = if to_bound < to_tr {
            theta * to_bound
        } else {
            to_tr
        };
        let (a, b, _) = quadratic_1d(j_h, g_h, diag_h, &ag_h, None);
        let (t, ag_value) = minimize_1d(a, b, 0.0, 0.0, ag_max);
        if p_value < r_value && p_value < ag_value {
            (p, p_h, -p_value)
        } else if r_value < p_value && r_value < ag_value {
            let rh = reflected_h.unwrap_or_default();
            (scaled(&rh), rh, -r_value)
        } else {
            let gh: Vec<f64> = ag_h.iter().map(|v| v * t).collect();
            (scaled(&gh), gh, -ag_value)
        }
    }
}
