//! Secant methods on a dense approximation `H ≈ (∇²f)⁻¹`: `d = −H g`.
//!
//! Nocedal & Wright (2nd ed.), with `s = x₊ − x`, `y = g₊ − g`, `ρ = 1/yᵀs`:
//! - BFGS (eq. 6.17): `H₊ = (I − ρsyᵀ) H (I − ρysᵀ) + ρssᵀ`
//! - DFP (eq. 6.15, inverse form): `H₊ = H − Hyyᵀ H / yᵀHy + ssᵀ/yᵀs`
//! - SR1 (eq. 6.25, inverse form): `H₊ = H + (s − Hy)(s − Hy)ᵀ / (s − Hy)ᵀy`, skipped when
//!   `|(s − Hy)ᵀy| < 10⁻⁸‖y‖‖s − Hy‖` (eq. 6.26).
//!
//! Each update makes `H₊ y = s`, i.e. the secant equation `B₊ s = y` for `B₊ = H₊⁻¹`.
//! Before the first update `H₀` is rescaled to `(yᵀs / yᵀy) I` (eq. 6.20). BFGS and DFP
//! skip an update whose curvature `yᵀs ≤ 10⁻¹⁰ ‖s‖‖y‖` would destroy positive
//! definiteness (possible with a line search that does not enforce the Wolfe conditions).

use super::Direction;
use crate::driver::{Iterate, Termination};
use crate::linalg::{dot, norm, DenseMatrix};
use crate::problem::Objective;

/// Which secant update.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum QuasiNewtonKind {
    /// Broyden–Fletcher–Goldfarb–Shanno.
    Bfgs,
    /// Davidon–Fletcher–Powell.
    Dfp,
    /// Symmetric rank one.
    Sr1,
}

/// Dense quasi-Newton direction.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct QuasiNewton {
    /// The update formula.
    pub kind: QuasiNewtonKind,
    /// The inverse Hessian approximation.
    pub h: DenseMatrix,
    updated: bool,
    /// Whether `H₀` has been scaled (once, at the first pair of positive curvature, if
    /// no update came before it).
    #[serde(default)]
    scaled: bool,
    skipped: u64,
    hy: Vec<f64>,
}

impl QuasiNewton {
    /// A new direction with the given update.
    pub fn new(kind: QuasiNewtonKind) -> Self {
        QuasiNewton {
            kind,
            h: DenseMatrix::zeros(0, 0),
            updated: false,
            scaled: false,
            skipped: 0,
            hy: Vec::new(),
        }
    }
    /// Updates skipped so far (curvature or SR1 skip rule).
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Applies the secant update for `(s, y)` to `H`.
    pub fn secant_update(&mut self, s: &[f64], y: &[f64]) {
        let n = s.len();
        let sy = dot(s, y);
        let yy = dot(y, y);
        if !self.scaled && !self.updated && sy > 0.0 && yy > 0.0 {
            // N&W eq. 6.20: scale H₀ before the first update — once. For SR1 the scaled
            // H₀ = (sᵀy/yᵀy)·I meets the secant equation along y already (`(s − H₀y)ᵀy =
            // 0`), so the skip rule passes over this first pair; scaling again at every
            // skipped pair kept SR1 from ever updating: it ran as steepest descent with
            // Barzilai–Borwein steps (MGH: 33 of 38 reached, median 398 evaluations;
            // scaled once: 36, median 32). Never after an update (an SR1 pair of negative
            // curvature is learnt, not skipped), nor on resuming a run saved before this
            // flag existed, which reads it as false but has its matrix.
            self.scaled = true;
            let gamma = sy / yy;
            self.h = DenseMatrix::identity(n);
            self.h.data.iter_mut().for_each(|v| *v *= gamma);
        }
        self.h.mul_vec(y, &mut self.hy);
        let hy = &self.hy;
        let h = &mut self.h.data;
        match self.kind {
            QuasiNewtonKind::Bfgs | QuasiNewtonKind::Dfp => {
                if sy.is_nan() || sy <= 1e-10 * norm(s) * yy.sqrt() {
                    self.skipped += 1;
                    return;
                }
                let yhy = dot(y, hy);
                if self.kind == QuasiNewtonKind::Bfgs {
                    let rho = 1.0 / sy;
                    let c = rho * rho * yhy + rho;
                    for i in 0..n {
                        let row = &mut h[i * n..(i + 1) * n];
                        for j in 0..n {
                            row[j] += -rho * (hy[i] * s[j] + s[i] * hy[j]) + c * s[i] * s[j];
                        }
                    }
                } else {
                    if yhy.is_nan() || yhy <= 0.0 {
                        self.skipped += 1;
                        return;
                    }
                    for i in 0..n {
                        let row = &mut h[i * n..(i + 1) * n];
                        for j in 0..n {
                            row[j] += -hy[i] * hy[j] / yhy + s[i] * s[j] / sy;
                        }
                    }
                }
            }
            QuasiNewtonKind::Sr1 => {
                let u: Vec<f64> = s.iter().zip(hy).map(|(a, b)| a - b).collect();
                let uy = dot(&u, y);
                if uy.abs() < 1e-8 * norm(&u) * yy.sqrt() || uy == 0.0 {
                    self.skipped += 1;
                    return;
                }
                for i in 0..n {
                    let row = &mut h[i * n..(i + 1) * n];
                    for j in 0..n {
                        row[j] += u[i] * u[j] / uy;
                    }
                }
            }
        }
        self.updated = true;
    }
}

impl Direction for QuasiNewton {
    crate::driver::whole_state!();
    fn check_restored(&self, dims: crate::driver::Dims) -> crate::error::Result<()> {
        dims.matrix("inverse Hessian", &self.h, dims.n, dims.n)?;
        dims.vector_or_empty("H·y", &self.hy)
    }
    fn dense_values(&self, n: usize) -> u128 {
        // The inverse Hessian.
        (n as u128).pow(2)
    }
    fn name(&self) -> String {
        match self.kind {
            QuasiNewtonKind::Bfgs => "BFGS",
            QuasiNewtonKind::Dfp => "DFP",
            QuasiNewtonKind::Sr1 => "SR1",
        }
        .into()
    }
    fn init(&mut self, n: usize) {
        self.h = DenseMatrix::identity(n);
        self.hy = vec![0.0; n];
        self.updated = false;
        self.scaled = false;
        self.skipped = 0;
    }
    fn direction(
        &mut self,
        _p: &dyn Objective,
        it: &Iterate,
        d: &mut [f64],
    ) -> Result<(), Termination> {
        self.h.mul_vec(&it.g, d);
        d.iter_mut().for_each(|v| *v = -*v);
        Ok(())
    }
    fn update(&mut self, s: &[f64], y: &[f64], _it: &Iterate) {
        self.secant_update(s, y);
    }
    fn reset(&mut self) {
        // SR1's H may be indefinite by design (it tracks the true inverse Hessian, not a
        // positive definite model): a non-descent direction is replaced by steepest
        // descent for that one step and H is kept. BFGS/DFP start over.
        if self.kind != QuasiNewtonKind::Sr1 {
            let n = self.h.rows;
            self.init(n);
        }
    }
    fn unit_step(&self) -> bool {
        self.updated
    }
    fn extra(&self) -> Vec<(&'static str, f64)> {
        vec![("skipped", self.skipped as f64)]
    }
    fn inverse_hessian(&self) -> Option<crate::driver::InverseHessian> {
        (self.h.rows > 0).then(|| crate::driver::InverseHessian::Dense(self.h.clone()))
    }
}
