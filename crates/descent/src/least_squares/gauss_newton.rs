//! Gauss–Newton and diagonal Gauss–Newton: a direction from the linearized residuals and
//! the library's Armijo line search ([`Backtracking`]) on `f = Σ rᵢ²`.
//!
//! - Gauss–Newton: `JᵀJ h = −Jᵀr`, solved as the least-squares problem `min ‖J h + r‖`
//!   (Cholesky of the scaled normal equations, QR when ill-conditioned; a tiny damping
//!   when J is rank-deficient) — Nocedal & Wright §10.3.
//! - Diagonal Gauss–Newton: `h = −Jᵀr / diag(JᵀJ)`, a gradient method scaled by the
//!   diagonal of the Gauss–Newton matrix (the lecture's diagonal Fisher approximation).
//!
//! Trial points cost residuals only; the Jacobian is evaluated once, at the accepted
//! point ([`ResidualView`]).

use super::levenberg_marquardt::evaluate_start;
use super::scaling::{column_norms, scale_columns, scaled_norm, Scaling};
use super::step::scaled_step;
use super::view::ResidualView;
use crate::driver::{Iterate, Minimizer, OnLeastSquares, StepOutcome, Termination};
use crate::error::Result;
use crate::linalg::{all_finite, dot, norm, DenseMatrix};
use crate::linesearch::{Backtracking, Line, LineSearch};
use crate::problem::LeastSquares;
use serde::{Deserialize, Serialize};

/// Gauss–Newton (or its diagonal variant) with a backtracking line search.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GaussNewton {
    /// Use only the diagonal of JᵀJ.
    pub diagonal: bool,
    /// Relative reduction of Σr² below which the run has converged (default 1e-15).
    pub ftol: f64,
    /// Relative scaled step below which the run has converged (default 1e-15).
    pub xtol: f64,
    r: Vec<f64>,
    j: DenseMatrix,
    d: Vec<f64>,
    pending: Option<Termination>,
}

impl GaussNewton {
    /// Gauss–Newton (`diagonal = false`) or diagonal Gauss–Newton.
    pub fn new(diagonal: bool) -> Self {
        GaussNewton {
            diagonal,
            ftol: 1e-15,
            xtol: 1e-15,
            r: Vec::new(),
            j: DenseMatrix::zeros(0, 0),
            d: Vec::new(),
            pending: None,
        }
    }
}

impl Minimizer<OnLeastSquares> for GaussNewton {
    fn name(&self) -> String {
        if self.diagonal {
            "diagonal Gauss-Newton".into()
        } else {
            "Gauss-Newton".into()
        }
    }

    fn init(&mut self, problem: &dyn LeastSquares, x0: &[f64]) -> Result<Iterate> {
        let (r, j, it) = evaluate_start(problem, x0)?;
        self.d = column_norms(&j);
        self.r = r;
        self.j = j;
        self.pending = None;
        Ok(it)
    }

    fn stop_test(&self, it: &Iterate) -> Option<Termination> {
        self.pending
            .or((it.f == 0.0).then_some(Termination::TargetCost))
    }

    fn step(&mut self, problem: &dyn LeastSquares, it: &mut Iterate) -> Result<StepOutcome> {
        Scaling::RunningMax.update(&mut self.d, &self.j);
        let js = scale_columns(&self.j, &self.d);
        let z = if self.diagonal {
            // diag(JsᵀJs) = 1 after column scaling: z = −Jsᵀr.
            let mut g = vec![0.0; js.cols];
            js.tr_mul_vec(&self.r, &mut g);
            g.iter().map(|v| -v).collect()
        } else {
            match scaled_step(&js, &self.r, 0.0).or_else(|| scaled_step(&js, &self.r, 1e-12)) {
                Some(z) => z,
                None => return Ok(StepOutcome::Stop(Termination::Breakdown)),
            }
        };
        let h: Vec<f64> = z.iter().zip(&self.d).map(|(zi, di)| zi / di).collect();
        let slope = dot(&it.g, &h);
        if slope.is_nan() || slope >= 0.0 {
            return Ok(StepOutcome::Stop(Termination::NotDescentDirection));
        }
        let view = ResidualView::new(problem);
        let mut line = Line::new(&view, &it.x, &h);
        let Some(step) = Backtracking::default().search(&mut line, it.f, slope, 1.0) else {
            return Ok(StepOutcome::Stop(Termination::LineSearchFailed));
        };
        let n = it.x.len();
        let (mut x_new, mut g_new) = (vec![0.0; n], vec![0.0; n]);
        let f_new = line.finish(step.alpha, &mut x_new, &mut g_new);
        drop(line);
        let (r_new, j_new) = view
            .take(&x_new)
            .expect("the line search evaluated the accepted point with its gradient");
        if !all_finite(&j_new.data) {
            return Ok(StepOutcome::Stop(Termination::NonFinite));
        }
        let reduction = (it.f - f_new) / it.f;
        let scaled_step_norm = step.alpha * norm(&z);
        let xnorm_scaled = scaled_norm(&it.x, &self.d);
        let step_norm = step.alpha * norm(&h);
        it.x = x_new;
        it.f = f_new;
        it.g = g_new;
        self.r = r_new;
        self.j = j_new;
        self.pending = if reduction <= self.ftol {
            Some(Termination::CostChangeTolerance)
        } else if scaled_step_norm <= self.xtol * xnorm_scaled {
            Some(Termination::StepTolerance)
        } else {
            None
        };
        Ok(StepOutcome::Accepted {
            step_norm,
            alpha: step.alpha,
        })
    }

    crate::driver::whole_state!();
    fn dense_values(&self, dims: crate::driver::Dims) -> u128 {
        // The Jacobian, the normal matrix and its factor.
        let (m, n) = (dims.m as u128, dims.n as u128);
        m * n + 2 * n * n
    }

    fn check_restored(&self, dims: crate::driver::Dims) -> crate::error::Result<()> {
        dims.length("residuals", self.r.len(), dims.m)?;
        dims.matrix("Jacobian", &self.j, dims.m, dims.n)?;
        dims.vector_or_empty("scaling", &self.d)
    }
}
