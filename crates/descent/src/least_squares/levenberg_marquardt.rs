//! Levenberg–Marquardt as a trust-region method of the one driver.
//!
//! Madsen, Nielsen & Tingleff, *Methods for Non-Linear Least Squares Problems* (2004),
//! Algorithm 3.16: each iteration solves the damped model
//!
//! ```text
//!   min ‖r + J h‖² + μ‖D h‖²        (JsᵀJs + μI) z = −Jsᵀr,  Js = J D⁻¹,  h = D⁻¹z
//! ```
//!
//! and the gain ratio ρ = (actual reduction)/(reduction predicted by the linear model)
//! decides: a step with ρ > 0 is accepted, the damping — the strategy, as Ceres'
//! `LevenbergMarquardtStrategy` — follows Nielsen's rule ([`Damping`]). D is
//! MINPACK's running maximum of the Jacobian's column norms (Moré 1978), which makes the
//! method invariant to the units of the parameters. Networks are damped on the unscaled
//! JᵀJ, as MATLAB's `trainlm` damps them (`nn::train`: D = I, μ₀ = 0.1·max diag(JᵀJ)
//! where trainlm starts at 0.001, μ ≤ 10¹⁰ as trainlm's `mu_max`): their weights share
//! units, and there the column scaling costs trials (on MATLAB's SIN benchmark, a median
//! of 15.5 against 3). trainlm's own rule for μ (×0.1 after a success, ×10 after a
//! failure) is [`DampingRule::Matlab`]. Geodesic acceleration (Transtrum & Sethna 2012)
//! adds the second-order correction `½a`, `(JsᵀJs + μI) a = −Js^T r''ᵥ`.
//!
//! **Bounds** (`LmConfig::bounds`): a projected, active-set Levenberg–Marquardt
//! (Kanzow, Yamashita & Fukushima, "Levenberg–Marquardt methods with strong local
//! convergence properties for solving nonlinear equations with convex constraints", JCAM
//! 172, 2004, with an active set as in Bertsekas' projected Newton methods): a variable on
//! a bound whose gradient pushes it out is held there (its column of J drops out of the
//! damped system), the others take the damped step, and the new point is projected onto
//! the box. The gain ratio is that of the projected step, predicted by the linear model
//! along it, so the damping sees exactly the step taken; geodesic acceleration is off.
//! Measured against SciPy's `trf` and `curve_fit(bounds=…)` in `bench/fit_vs_scipy.py`.
//!
//! MINPACK's stop tests are the method's stop reasons: the relative reduction (actual and
//! predicted) ≤ ftol, the relative scaled step ≤ xtol, and the cosine between r and each
//! column of J ≤ gtol. The initial damping τ and the cap on one step's decrease of μ (10
//! instead of Nielsen's 3) were chosen by measurement on the 54 NIST StRD fits (fewest
//! residual evaluations at equal accuracy).

use super::scaling::{gradient, gradient_cosine, scale_columns, scaled_norm, Scaling};
use super::step::{scaled_step, scaled_step_with, NormalEquations};
use crate::bounds::Bounds;
use crate::driver::{Iterate, Minimizer, OnLeastSquares, StepOutcome, Termination};
use crate::error::{Error, Result};
use crate::linalg::{all_finite, dot, norm, DenseMatrix};
use crate::problem::LeastSquares;
use serde::{Deserialize, Serialize};

/// Largest factor by which one successful step may decrease μ (Nielsen's rule uses 3;
/// 10 was measured to need fewer evaluations on the NIST StRD problems at equal accuracy).
const MU_MAX_DECREASE: f64 = 10.0;

/// Default damping ceiling: beyond it the trust region is taken to have collapsed.
pub const MU_MAX: f64 = 1e100;

/// How μ follows the gain ratio ρ of each trial.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum DampingRule {
    /// Nielsen's rule (Madsen, Nielsen & Tingleff 2004, eq. 3.16): after an accepted step
    /// `μ ← μ·max(1/10, 1 − (2ρ − 1)³)`, `ν ← 2`; after a rejected one `μ ← μν`, `ν ← 2ν`.
    #[default]
    Nielsen,
    /// MATLAB's `trainlm`: `μ ← μ·mu_dec` (0.1) after an accepted step, `μ ← μ·mu_inc`
    /// (10) after a rejected one.
    Matlab,
}

impl std::str::FromStr for DampingRule {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "nielsen" => Ok(DampingRule::Nielsen),
            "matlab" => Ok(DampingRule::Matlab),
            _ => Err(Error::Unknown {
                kind: "damping rule",
                name: s.into(),
                hint: " (expected nielsen or matlab)".into(),
            }),
        }
    }
}

/// MATLAB `trainlm`'s factors (`mu_dec`, `mu_inc`).
const MATLAB_MU_DEC: f64 = 0.1;
const MATLAB_MU_INC: f64 = 10.0;

/// The damping μ and its rule.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Damping {
    /// Damping μ (the inverse of a trust radius).
    pub mu: f64,
    nu: f64,
    /// μ beyond which the region has collapsed ([`LmConfig::mu_max`]).
    #[serde(default = "default_mu_max")]
    ceiling: f64,
    #[serde(default)]
    rule: DampingRule,
}

fn default_mu_max() -> f64 {
    MU_MAX
}

impl Damping {
    /// Nielsen's rule, starting at `mu`.
    pub fn new(mu: f64) -> Self {
        Damping {
            mu,
            nu: 2.0,
            ceiling: MU_MAX,
            rule: DampingRule::Nielsen,
        }
    }
    /// The same start with another rule.
    pub fn with_rule(mut self, rule: DampingRule) -> Self {
        self.rule = rule;
        self
    }
    /// The same rule with the run stopping once μ exceeds `ceiling`.
    pub fn with_ceiling(mut self, ceiling: f64) -> Self {
        self.ceiling = ceiling;
        self
    }
    /// A step with gain ratio `rho > 0` was accepted.
    pub fn step_accepted(&mut self, rho: f64) {
        match self.rule {
            DampingRule::Nielsen => {
                self.mu *= (1.0 / MU_MAX_DECREASE).max(1.0 - (2.0 * rho - 1.0).powi(3));
                self.nu = 2.0;
            }
            DampingRule::Matlab => self.mu *= MATLAB_MU_DEC,
        }
    }
    /// A step was rejected: damp more (with Nielsen's rule, faster each time).
    pub fn step_rejected(&mut self) {
        match self.rule {
            DampingRule::Nielsen => {
                self.mu *= self.nu;
                self.nu *= 2.0;
            }
            DampingRule::Matlab => self.mu *= MATLAB_MU_INC,
        }
    }
    /// Whether the region has collapsed (μ beyond the ceiling).
    pub fn collapsed(&self) -> bool {
        self.mu > self.ceiling || !self.mu.is_finite()
    }
}

/// Settings of Levenberg–Marquardt (defaults: [`LevenbergMarquardt::default`]).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LmConfig {
    /// MINPACK's ftol: relative reduction, actual and predicted (default 1e-15, near
    /// machine precision: certified NIST values need it).
    pub ftol: f64,
    /// MINPACK's xtol: relative scaled step (default 1e-15).
    pub xtol: f64,
    /// MINPACK's gtol: cosine between r and every column of J (default 1e-15).
    pub gtol: f64,
    /// Initial damping relative to the largest diagonal of the scaled JᵀJ (default 1e-3,
    /// Madsen, Nielsen & Tingleff's τ).
    pub tau: f64,
    /// Geodesic acceleration (default on; exact for typed models, two residual
    /// evaluations and a Jacobian by finite differences otherwise).
    pub geodesic: bool,
    /// Column scaling (default MINPACK's running maximum).
    pub scaling: Scaling,
    /// How μ follows the gain ratio (default Nielsen's rule).
    #[serde(default)]
    pub damping: DampingRule,
    /// Box the parameters are kept in (default none).
    #[serde(default)]
    pub bounds: Option<Bounds>,
    /// Damping ceiling: the run stops (`trust_region_too_small`) when a rejected step
    /// raises μ above it. MATLAB's `trainlm` stops at `mu_max` = 1e10 (on its own,
    /// unscaled μ); the default 1e100 only catches a collapsed region.
    #[serde(default = "default_mu_max")]
    pub mu_max: f64,
}

impl Default for LmConfig {
    fn default() -> Self {
        LmConfig {
            ftol: 1e-15,
            xtol: 1e-15,
            gtol: 1e-15,
            tau: 1e-3,
            geodesic: true,
            scaling: Scaling::RunningMax,
            damping: DampingRule::Nielsen,
            bounds: None,
            mu_max: MU_MAX,
        }
    }
}

/// Levenberg–Marquardt: a [`Minimizer`] of least-squares problems.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LevenbergMarquardt {
    /// Settings.
    pub config: LmConfig,
    damping: Damping,
    /// Residuals and Jacobian at the current point.
    r: Vec<f64>,
    j: DenseMatrix,
    /// Column scaling D.
    d: Vec<f64>,
    /// A MINPACK test met by the last accepted step, reported before the next one.
    pending: Option<Termination>,
    /// Gain ratio of the last trial (for reports).
    rho: f64,
    /// MINPACK's cosine at the current point (changes only when a step is accepted).
    cosine: f64,
    /// The scaled Jacobian (held columns removed) and its normal equations at the current
    /// point: formed at its first trial, reused by the trials after a rejection, which
    /// change only μ.
    #[serde(skip)]
    system: Option<(DenseMatrix, Option<NormalEquations>)>,
}

impl Default for LevenbergMarquardt {
    fn default() -> Self {
        Self::new(LmConfig::default())
    }
}

impl LmConfig {
    /// The damping of these settings (rule and ceiling), starting at `mu`.
    fn damping_from(&self, mu: f64) -> Damping {
        Damping::new(mu)
            .with_rule(self.damping)
            .with_ceiling(self.mu_max)
    }
}

impl LevenbergMarquardt {
    /// With `config`.
    pub fn new(config: LmConfig) -> Self {
        LevenbergMarquardt {
            damping: config.damping_from(config.tau),
            config,
            r: Vec::new(),
            j: DenseMatrix::zeros(0, 0),
            d: Vec::new(),
            pending: None,
            rho: 0.0,
            cosine: 1.0,
            system: None,
        }
    }
}

/// Evaluates residuals and Jacobian at the start of a least-squares method, refusing a
/// start where either is not finite. Returns (r, J, the iterate with f = Σr², ∇f = 2Jᵀr).
pub(crate) fn evaluate_start(
    problem: &dyn LeastSquares,
    x0: &[f64],
) -> Result<(Vec<f64>, DenseMatrix, Iterate)> {
    let (m, n) = (problem.residual_count(), problem.dim());
    let mut r = vec![0.0; m];
    problem.residuals(x0, &mut r);
    if !all_finite(&r) {
        return Err(Error::NonFiniteStart(
            "the residuals are NaN or infinite at the starting point".into(),
        ));
    }
    let mut j = DenseMatrix::zeros(m, n);
    problem.jacobian(x0, &mut j);
    if !all_finite(&j.data) {
        return Err(Error::NonFiniteStart(
            "the Jacobian is NaN or infinite at the starting point".into(),
        ));
    }
    let it = Iterate {
        x: x0.to_vec(),
        f: dot(&r, &r),
        g: gradient(&j, &r),
    };
    Ok((r, j, it))
}

impl LevenbergMarquardt {
    /// The variables held on their bounds at `x` with gradient `g`: on a bound, the
    /// gradient pushing out of the box. None without bounds.
    fn held(&self, x: &[f64], g: &[f64]) -> Option<Vec<bool>> {
        let b = self.config.bounds.as_ref()?;
        let (lower, upper) = (b.lower(), b.upper());
        Some(
            (0..x.len())
                .map(|i| (x[i] <= lower[i] && g[i] > 0.0) || (x[i] >= upper[i] && g[i] < 0.0))
                .collect(),
        )
    }

    /// MINPACK's cosine over the columns of the variables not held on a bound.
    fn free_cosine(&self, j: &DenseMatrix, r: &[f64], x: &[f64], g: &[f64]) -> f64 {
        match self.held(x, g) {
            None => gradient_cosine(j, r),
            Some(held) => gradient_cosine(&without_columns(j, &held), r),
        }
    }
}

/// J with the columns where `drop` holds set to zero.
fn without_columns(j: &DenseMatrix, drop: &[bool]) -> DenseMatrix {
    let mut out = j.clone();
    for row in out.data.chunks_mut(j.cols) {
        for (v, d) in row.iter_mut().zip(drop) {
            if *d {
                *v = 0.0;
            }
        }
    }
    out
}

impl Minimizer<OnLeastSquares> for LevenbergMarquardt {
    fn name(&self) -> String {
        match self.config.scaling {
            Scaling::RunningMax => "Levenberg-Marquardt".into(),
            Scaling::Current => "Levenberg-Marquardt (Marquardt scaling)".into(),
            Scaling::Identity => "Levenberg-Marquardt (unscaled)".into(),
        }
    }

    fn init(&mut self, problem: &dyn LeastSquares, x0: &[f64]) -> Result<Iterate> {
        let mut x = x0.to_vec();
        if let Some(b) = &self.config.bounds {
            Bounds::for_dim(Some(b), x.len())?.project(&mut x);
        }
        let (r, j, it) = evaluate_start(problem, &x)?;
        // μ₀ = τ·max diag(JsᵀJs) (Madsen, Nielsen & Tingleff's start): with D the column
        // norms every diagonal is 1 and μ₀ = τ; with D = I it is τ times the largest
        // squared column norm of J.
        self.d = vec![0.0; j.cols];
        self.config.scaling.update(&mut self.d, &j);
        let largest_diagonal = super::scaling::column_norms(&j)
            .iter()
            .zip(&self.d)
            .fold(0.0f64, |a, (c, d)| a.max((c / d).powi(2)));
        self.damping = self.config.damping_from(self.config.tau * largest_diagonal);
        self.cosine = self.free_cosine(&j, &r, &it.x, &it.g);
        self.r = r;
        self.j = j;
        self.pending = None;
        self.rho = 0.0;
        self.system = None;
        Ok(it)
    }

    fn stop_test(&self, it: &Iterate) -> Option<Termination> {
        if let Some(t) = self.pending {
            return Some(t);
        }
        if it.f == 0.0 {
            return Some(Termination::TargetCost);
        }
        (self.cosine <= self.config.gtol).then_some(Termination::GradientTolerance)
    }

    fn step(&mut self, problem: &dyn LeastSquares, it: &mut Iterate) -> Result<StepOutcome> {
        let cfg = &self.config;
        // The held set, D and Js change only with the point (an accepted step).
        let held = self.held(&it.x, &it.g);
        if self.system.is_none() {
            cfg.scaling.update(&mut self.d, &self.j);
            let js = match &held {
                None => scale_columns(&self.j, &self.d),
                Some(h) => without_columns(&scale_columns(&self.j, &self.d), h),
            };
            // A problem that holds JᵀJ and Jᵀr more exactly than its Jacobian (summed across
            // workers) gives them (without held columns, which would drop out of them).
            let given = held
                .is_none()
                .then(|| problem.normal_equations(&it.x))
                .flatten();
            let normal = (js.rows >= js.cols).then(|| match given {
                Some((jtj, jtr)) => NormalEquations::from_parts(jtj, &jtr, &self.d),
                None => NormalEquations::new(&js, &self.r),
            });
            self.system = Some((js, normal));
        }
        let Some((js, normal)) = &self.system else {
            unreachable!("formed just above")
        };
        let xnorm_scaled = scaled_norm(&it.x, &self.d);
        let rss = it.f;
        let mu = self.damping.mu;
        let z = match normal {
            Some(ne) => scaled_step_with(js, &self.r, mu, ne),
            None => scaled_step(js, &self.r, mu),
        };
        let Some(mut z) = z else {
            return Ok(StepOutcome::Stop(Termination::Breakdown));
        };
        let mut clipped = false;
        if let (Some(b), Some(held)) = (&cfg.bounds, &held) {
            // Held variables do not move — exactly: a QR solve of the damped system leaves
            // ~1e-11 in their zeroed columns, which would lift them off their bound.
            for (zi, h) in z.iter_mut().zip(held) {
                if *h {
                    *zi = 0.0;
                }
            }
            // The step actually taken: to the projection of x + D⁻¹z. Only the components
            // the box moved change (recomputing every one as (x₊ − x)·D rounds it anew,
            // and compared by bits every step looked cut: at an interior minimum the
            // "cut" steps were rejected until the damping collapsed).
            let step: Vec<f64> = (0..z.len()).map(|i| it.x[i] + z[i] / self.d[i]).collect();
            let mut x_new = step.clone();
            b.project(&mut x_new);
            for i in 0..z.len() {
                if x_new[i].to_bits() != step[i].to_bits() {
                    clipped = true;
                    z[i] = (x_new[i] - it.x[i]) * self.d[i];
                }
            }
        }
        // Reduction predicted by the linear model ‖r + Js z‖².
        let mut lin = self.r.clone();
        for (i, li) in lin.iter_mut().enumerate() {
            *li += dot(js.row(i), &z);
        }
        let pred = rss - dot(&lin, &lin);
        if cfg.geodesic && cfg.bounds.is_none() {
            // Keep the acceleration only while 2‖a‖/‖v‖ ≤ 0.75 (Transtrum & Sethna's α).
            let h: Vec<f64> = z.iter().zip(&self.d).map(|(zi, di)| zi / di).collect();
            let mut rvv = vec![0.0; self.r.len()];
            problem.second_directional(&it.x, &h, &mut rvv);
            if let Some(a) = all_finite(&rvv)
                .then(|| scaled_step(js, &rvv, mu))
                .flatten()
            {
                if 2.0 * norm(&a) > 0.75 * norm(&z) {
                    // Too curved for this damping: a rejected step, without evaluating.
                    self.damping.step_rejected();
                    return Ok(StepOutcome::Rejected);
                }
                z.iter_mut().zip(&a).for_each(|(zi, ai)| *zi += 0.5 * ai);
            }
        }
        let znorm = norm(&z);
        if clipped && pred <= cfg.ftol * rss {
            // The box cut the step so that the model no longer gains: not convergence, a
            // step too long for the region — damp more (a shorter, less clipped step).
            self.damping.step_rejected();
            if self.damping.collapsed() {
                return Ok(StepOutcome::Stop(Termination::TrustRegionTooSmall));
            }
            return Ok(StepOutcome::Rejected);
        }
        if pred.max(0.0) <= cfg.ftol * rss {
            // The model predicts no further relative reduction.
            return Ok(StepOutcome::Stop(Termination::CostChangeTolerance));
        }
        if znorm <= cfg.xtol * xnorm_scaled {
            return Ok(StepOutcome::Stop(Termination::StepTolerance));
        }
        let mut x_new: Vec<f64> =
            it.x.iter()
                .zip(z.iter().zip(&self.d))
                .map(|(a, (zi, di))| a + zi / di)
                .collect();
        if let Some(b) = &cfg.bounds {
            // Only rounding can have left it outside.
            b.project(&mut x_new);
        }
        let mut r_new = vec![0.0; self.r.len()];
        problem.residuals(&x_new, &mut r_new);
        let rss_new = dot(&r_new, &r_new);
        self.rho = if all_finite(&r_new) {
            (rss - rss_new) / pred
        } else {
            -1.0
        };
        if self.rho <= 0.0 {
            self.damping.step_rejected();
            if self.damping.collapsed() {
                return Ok(StepOutcome::Stop(Termination::TrustRegionTooSmall));
            }
            return Ok(StepOutcome::Rejected);
        }
        let mut j_new = DenseMatrix::zeros(self.j.rows, self.j.cols);
        problem.jacobian(&x_new, &mut j_new);
        if !all_finite(&j_new.data) {
            return Ok(StepOutcome::Stop(Termination::NonFinite));
        }
        self.damping.step_accepted(self.rho);
        let actual = (rss - rss_new) / rss;
        let step_norm =
            it.x.iter()
                .zip(&x_new)
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f64>()
                .sqrt();
        it.x = x_new;
        it.f = rss_new;
        it.g = gradient(&j_new, &r_new);
        self.cosine = self.free_cosine(&j_new, &r_new, &it.x, &it.g);
        self.r = r_new;
        self.j = j_new;
        self.system = None;
        self.pending = if actual <= cfg.ftol && pred <= cfg.ftol * rss_new && self.rho <= 2.0 {
            Some(Termination::CostChangeTolerance)
        } else if znorm <= cfg.xtol * xnorm_scaled {
            Some(Termination::StepTolerance)
        } else {
            None
        };
        Ok(StepOutcome::Accepted {
            step_norm,
            alpha: 1.0,
        })
    }

    fn grad_norm(&self, it: &Iterate) -> f64 {
        match &self.config.bounds {
            Some(b) => b.projected_gradient_norm(&it.x, &it.g),
            None => crate::linalg::norm_inf(&it.g),
        }
    }

    fn extra(&self) -> Vec<(&'static str, f64)> {
        vec![
            ("mu", self.damping.mu),
            ("rho", self.rho),
            ("cosine", self.cosine),
        ]
    }

    crate::driver::whole_state!();
    fn dense_values(&self, dims: crate::driver::Dims) -> u128 {
        // The Jacobian and its trial copy, the normal matrix and its factor.
        let (m, n) = (dims.m as u128, dims.n as u128);
        2 * m * n + 2 * n * n
    }

    fn check_restored(&self, dims: crate::driver::Dims) -> crate::error::Result<()> {
        if let Some(b) = &self.config.bounds {
            dims.length("bounds", b.dim(), dims.n)?;
        }
        dims.length("residuals", self.r.len(), dims.m)?;
        dims.matrix("Jacobian", &self.j, dims.m, dims.n)?;
        dims.vector_or_empty("scaling", &self.d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::method::MethodSpec;

    #[test]
    fn the_damping_ceiling_ends_a_run_of_rejections() {
        // μ: 1 → 2 → 8 → 64 (ν doubles each time): the third rejection passes 10.
        let mut d = Damping::new(1.0).with_ceiling(10.0);
        d.step_rejected();
        d.step_rejected();
        assert!(!d.collapsed());
        d.step_rejected();
        assert!(d.collapsed());
        assert!(!Damping::new(64.0).collapsed());
        // The registry's setting reaches the fit's options; a ceiling must be positive.
        let spec = MethodSpec::parse("lm:mu_max=1e10").unwrap();
        let opts = spec.fit_options(&crate::least_squares::FitOptions::default());
        assert!((opts.mu_max - 1e10).abs() < 1.0);
        assert!(MethodSpec::parse("lm:mu_max=0").is_err());
        assert!(crate::least_squares::FitOptions::default().mu_max >= MU_MAX);
    }

    #[test]
    fn a_box_that_does_not_bind_leaves_the_fit_as_it_is_without_one() {
        // y = a·e^(−b·x) + c, its minimum (1.5, 0.7, 0.3) well inside the box: the bounded
        // fit takes the free fit's steps, to the bit, and converges with it (it ended
        // `trust_region_too_small`: each step, rounded anew, looked cut by the box).
        use crate::least_squares::{fit, FitOptions, LsqMethod};
        let x: Vec<f64> = (0..50).map(|i| 4.0 * i as f64 / 49.0).collect();
        let y = x
            .iter()
            .map(|t| 1.5 * (-0.7 * t).exp() + 0.3 + 0.01 * (7.0 * t).sin())
            .collect();
        let names: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let model = crate::expr::ExprModel::new("a*exp(-b*x)+c", &names, &["x".into()], vec![x], y)
            .unwrap();
        // (Geodesic acceleration is off in a box: off here for both.)
        let free_opts = FitOptions {
            ftol: 1e-8,
            xtol: 1e-8,
            gtol: 1e-8,
            geodesic: false,
            ..FitOptions::default()
        };
        let boxed_opts = FitOptions {
            bounds: Some(Bounds::new(vec![0.0; 3], vec![2.0, 5.0, 5.0]).unwrap()),
            ..free_opts.clone()
        };
        let run = |opts: &FitOptions| {
            let lm = LsqMethod::LevenbergMarquardt;
            fit(&model, lm, &[1.0, 1.0, 1.0], opts, &mut crate::NoObserver).unwrap()
        };
        let (free, boxed) = (run(&free_opts), run(&boxed_opts));
        assert!(free.converged && boxed.converged, "{:?}", boxed.termination);
        assert_eq!(
            (free.iterations, free.f_evals),
            (boxed.iterations, boxed.f_evals)
        );
        assert_eq!(free.x, boxed.x);
    }
}
