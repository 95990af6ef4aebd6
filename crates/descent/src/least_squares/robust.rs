//! Robust losses for least squares: minimize `cost = ½C²·Σ ρ((rᵢ/C)²)` instead of `½Σrᵢ²`,
//! so that residuals much larger than the scale C (outliers) pull less.
//!
//! ρ is defined as SciPy's `least_squares` defines it (`z = (r/C)²`, ρ(z) ≈ z near 0), so
//! that results compare number for number: `linear` z, `soft_l1` 2(√(1+z) − 1), `huber`
//! z for z ≤ 1 and 2√z − 1 beyond, `cauchy` ln(1 + z), `arctan` arctan z. Ceres' two more,
//! in the same units: `tukey` (Tukey's biweight, `TukeyLoss` with a = 1: ⅓(1 − (1 − z)³)
//! for z ≤ 1, ⅓ beyond) and `tolerant` (`TolerantLoss` with a = b = 1:
//! `ln(1 + e^{z−1}) − ln(1 + e^{−1})`, near 0 below the scale and growing like z above it).
//!
//! **How the Jacobian is corrected.** SciPy scales J by `√(ρ' + 2zρ'')` (clipped at a tiny
//! number where that is negative) and Ceres by Triggs' correction with a clamped root; both
//! are approximations of the robust cost's Hessian that differ where ρ'' < 0, and both
//! keep the plain residuals' cost beside the scaled ones. descent instead fits the
//! **square-root residuals** `r̂ᵢ = sign(rᵢ)·C·√ρ(zᵢ)`, for which `Σr̂ᵢ² = C²Σρ = 2·cost`
//! exactly, with their exact Jacobian `∂r̂ᵢ/∂x = ρ'(zᵢ)·√zᵢ/√ρ(zᵢ)·∂rᵢ/∂x` (→ √ρ'(0)·∂rᵢ/∂x
//! as rᵢ → 0). Every least-squares method then minimizes the robust cost itself — its
//! gain ratios, stop tests and covariance see the true cost, with no clipping — and its
//! first-order points are the robust cost's (∇Σr̂² = ∇(C²Σρ)), so the solution is SciPy's
//! where both converge. The Gauss–Newton model `r̂ + Ĵh` is positive semi-definite for
//! every ρ, including the non-convex cauchy, arctan and tukey.

use crate::error::{Error, Result};
use crate::linalg::DenseMatrix;
use crate::problem::LeastSquares;
use std::cell::RefCell;

/// A loss ρ applied to squared scaled residuals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RobustLoss {
    /// ρ(z) = z: ordinary least squares.
    Linear,
    /// ρ(z) = 2(√(1+z) − 1).
    SoftL1,
    /// ρ(z) = z (z ≤ 1), 2√z − 1 (z > 1).
    Huber,
    /// ρ(z) = ln(1 + z).
    Cauchy,
    /// ρ(z) = arctan(z).
    Arctan,
    /// ρ(z) = ln(1 + e^{z−1}) − ln(1 + e^{−1}) (Ceres' TolerantLoss, a = b = 1).
    Tolerant,
    /// ρ(z) = ⅓(1 − (1 − z)³) (z ≤ 1), ⅓ (z > 1) (Ceres' TukeyLoss, a = 1).
    Tukey,
}

/// The names [`RobustLoss::parse`] accepts.
pub const LOSS_NAMES: &[&str] = &[
    "linear", "soft_l1", "huber", "cauchy", "arctan", "tolerant", "tukey",
];

impl RobustLoss {
    /// Parses a name of [`LOSS_NAMES`] (`soft-l1` also).
    pub fn parse(name: &str) -> Result<Self> {
        Ok(match name {
            "linear" => RobustLoss::Linear,
            "soft_l1" | "soft-l1" => RobustLoss::SoftL1,
            "huber" => RobustLoss::Huber,
            "cauchy" => RobustLoss::Cauchy,
            "arctan" => RobustLoss::Arctan,
            "tolerant" => RobustLoss::Tolerant,
            "tukey" => RobustLoss::Tukey,
            _ => {
                return Err(Error::Unknown {
                    kind: "loss",
                    name: name.into(),
                    hint: format!(" (expected one of {})", LOSS_NAMES.join(", ")),
                })
            }
        })
    }

    /// The name as [`RobustLoss::parse`] reads it.
    pub fn as_str(self) -> &'static str {
        match self {
            RobustLoss::Linear => "linear",
            RobustLoss::SoftL1 => "soft_l1",
            RobustLoss::Huber => "huber",
            RobustLoss::Cauchy => "cauchy",
            RobustLoss::Arctan => "arctan",
            RobustLoss::Tolerant => "tolerant",
            RobustLoss::Tukey => "tukey",
        }
    }

    /// `(ρ(z), ρ'(z))` for z ≥ 0, in forms that keep full precision as z → 0.
    pub fn rho(self, z: f64) -> (f64, f64) {
        match self {
            RobustLoss::Linear => (z, 1.0),
            RobustLoss::SoftL1 => {
                let root = (1.0 + z).sqrt();
                (2.0 * z / (root + 1.0), 1.0 / root)
            }
            RobustLoss::Huber => {
                if z <= 1.0 {
                    (z, 1.0)
                } else {
                    let root = z.sqrt();
                    (2.0 * root - 1.0, 1.0 / root)
                }
            }
            RobustLoss::Cauchy => (z.ln_1p(), 1.0 / (1.0 + z)),
            RobustLoss::Arctan => (z.atan(), 1.0 / (1.0 + z * z)),
            RobustLoss::Tolerant => {
                // ln((1 + e^{z−1})/(1 + e^{−1})) = ln(1 + e^{−1}·expm1(z)/(1 + e^{−1})).
                let e = (-1.0f64).exp();
                let rho = if z < 30.0 {
                    (e * z.exp_m1() / (1.0 + e)).ln_1p()
                } else {
                    z - 1.0 + (-(z - 1.0)).exp().ln_1p() - e.ln_1p()
                };
                let derivative = 1.0 / (1.0 + (1.0 - z).exp());
                (rho, derivative)
            }
            RobustLoss::Tukey => {
                if z <= 1.0 {
                    let w = 1.0 - z;
                    (z * (1.0 - z + z * z / 3.0), w * w)
                } else {
                    (1.0 / 3.0, 0.0)
                }
            }
        }
    }

    /// `√ρ(z)/√z` and `ρ'(z)·√z/√ρ(z)`: the factors that turn r into r̂ and its
    /// derivative, with their limits at z = 0 (√ρ'(0) for both).
    fn factors(self, z: f64) -> (f64, f64) {
        let (rho, d) = self.rho(z);
        if z == 0.0 || rho <= 0.0 {
            let d0 = self.rho(0.0).1.sqrt();
            return (d0, d0);
        }
        let ratio = (rho / z).sqrt();
        (ratio, d / ratio)
    }
}

/// A least-squares problem seen through a robust loss with scale `C`: its residuals are
/// the square-root residuals `r̂ᵢ = sign(rᵢ)·C·√ρ((rᵢ/C)²)` (see the module documentation).
pub struct Robust<L> {
    inner: L,
    loss: RobustLoss,
    scale: f64,
    /// The last point's plain residuals: the Jacobian's factors need them, and the
    /// methods ask for the Jacobian where they have just asked for the residuals. Where
    /// they have not (the covariance's Jacobian after a rejected trial), the residuals are
    /// evaluated once more, outside the counters.
    last: RefCell<(Vec<f64>, Vec<f64>)>,
}

impl<L: LeastSquares> Robust<L> {
    /// `inner` with `loss` at scale `f_scale` (> 0 and finite).
    pub fn new(inner: L, loss: RobustLoss, f_scale: f64) -> Result<Self> {
        if !(f_scale > 0.0 && f_scale.is_finite()) {
            return Err(Error::config(
                "f_scale",
                format!("must be positive and finite, got {f_scale}"),
            ));
        }
        Ok(Robust {
            inner,
            loss,
            scale: f_scale,
            last: RefCell::new((Vec::new(), Vec::new())),
        })
    }

    /// `½C²Σρ((rᵢ/C)²)` for plain residuals `r` (SciPy's `cost`).
    pub fn cost(&self, r: &[f64]) -> f64 {
        let c2 = self.scale * self.scale;
        0.5 * c2
            * r.iter()
                .map(|ri| self.loss.rho((ri / self.scale).powi(2)).0)
                .sum::<f64>()
    }
}

impl<L: LeastSquares> LeastSquares for Robust<L> {
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn residual_count(&self) -> usize {
        self.inner.residual_count()
    }
    fn observation_count(&self) -> usize {
        self.inner.observation_count()
    }
    fn residuals(&self, x: &[f64], r: &mut [f64]) {
        self.inner.residuals(x, r);
        let mut last = self.last.borrow_mut();
        last.0.clear();
        last.0.extend_from_slice(x);
        last.1.clear();
        last.1.extend_from_slice(r);
        for ri in r.iter_mut() {
            let z = (*ri / self.scale).powi(2);
            *ri *= self.loss.factors(z).0;
        }
    }
    fn jacobian(&self, x: &[f64], j: &mut DenseMatrix) {
        let same_point = {
            let last = self.last.borrow();
            last.0.len() == x.len()
                && last
                    .0
                    .iter()
                    .zip(x)
                    .all(|(a, b)| a.to_bits() == b.to_bits())
        };
        if !same_point {
            let mut r = vec![0.0; self.residual_count()];
            self.residuals(x, &mut r);
        }
        let r = self.last.borrow().1.clone();
        self.inner.jacobian(x, j);
        for (i, ri) in r.iter().enumerate() {
            let z = (ri / self.scale).powi(2);
            let factor = self.loss.factors(z).1;
            for c in 0..j.cols {
                let v = j.get(i, c) * factor;
                j.set(i, c, v);
            }
        }
    }
}

/// Residuals divided by known standard deviations σᵢ (`curve_fit`'s `sigma`): the fit
/// minimizes `Σ(rᵢ/σᵢ)²`.
pub struct Weighted<L> {
    inner: L,
    inverse_sigma: Vec<f64>,
}

impl<L: LeastSquares> Weighted<L> {
    /// `inner` weighted by `sigma` (one positive, finite value per residual).
    pub fn new(inner: L, sigma: &[f64]) -> Result<Self> {
        if sigma.len() != inner.residual_count() {
            return Err(Error::DimensionMismatch {
                what: "sigma".into(),
                expected: inner.residual_count(),
                got: sigma.len(),
            });
        }
        if let Some(i) = sigma.iter().position(|s| !(*s > 0.0 && s.is_finite())) {
            return Err(Error::config(
                "sigma",
                format!(
                    "row {} has σ = {} (must be positive and finite)",
                    i + 1,
                    sigma[i]
                ),
            ));
        }
        Ok(Weighted {
            inner,
            inverse_sigma: sigma.iter().map(|s| 1.0 / s).collect(),
        })
    }
}

impl<L: LeastSquares> LeastSquares for Weighted<L> {
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn residual_count(&self) -> usize {
        self.inner.residual_count()
    }
    fn observation_count(&self) -> usize {
        self.inner.observation_count()
    }
    fn residuals(&self, x: &[f64], r: &mut [f64]) {
        self.inner.residuals(x, r);
        for (ri, w) in r.iter_mut().zip(&self.inverse_sigma) {
            *ri *= w;
        }
    }
    fn jacobian(&self, x: &[f64], j: &mut DenseMatrix) {
        self.inner.jacobian(x, j);
        for (i, w) in self.inverse_sigma.iter().enumerate() {
            for c in 0..j.cols {
                let v = j.get(i, c) * w;
                j.set(i, c, v);
            }
        }
    }
    fn second_directional(&self, x: &[f64], v: &[f64], out: &mut [f64]) {
        self.inner.second_directional(x, v, out);
        for (o, w) in out.iter_mut().zip(&self.inverse_sigma) {
            *o *= w;
        }
    }
    fn has_exact_second_directional(&self) -> bool {
        self.inner.has_exact_second_directional()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOSSES: [RobustLoss; 7] = [
        RobustLoss::Linear,
        RobustLoss::SoftL1,
        RobustLoss::Huber,
        RobustLoss::Cauchy,
        RobustLoss::Arctan,
        RobustLoss::Tolerant,
        RobustLoss::Tukey,
    ];

    #[test]
    fn rho_matches_its_definition_and_its_derivative() {
        let e = (-1.0f64).exp();
        let naive = |loss: RobustLoss, z: f64| -> f64 {
            match loss {
                RobustLoss::Linear => z,
                RobustLoss::SoftL1 => 2.0 * ((1.0 + z).sqrt() - 1.0),
                RobustLoss::Huber if z <= 1.0 => z,
                RobustLoss::Huber => 2.0 * z.sqrt() - 1.0,
                RobustLoss::Cauchy => (1.0 + z).ln(),
                RobustLoss::Arctan => z.atan(),
                RobustLoss::Tolerant => (1.0 + (z - 1.0).exp()).ln() - (1.0 + e).ln(),
                RobustLoss::Tukey if z <= 1.0 => (1.0 - (1.0 - z).powi(3)) / 3.0,
                RobustLoss::Tukey => 1.0 / 3.0,
            }
        };
        for loss in LOSSES {
            for z in [0.01, 0.3, 0.9, 1.7, 4.0, 25.0, 40.0] {
                let (rho, d) = loss.rho(z);
                assert!(
                    (rho - naive(loss, z)).abs() < 1e-12 * rho.abs().max(1.0),
                    "{loss:?} ρ({z})"
                );
                let h = 1e-6 * z.max(1e-3);
                let fd = (naive(loss, z + h) - naive(loss, z - h)) / (2.0 * h);
                assert!(
                    (d - fd).abs() < 1e-6 * d.abs().max(1.0),
                    "{loss:?} ρ'({z}) = {d}, fd {fd}"
                );
            }
            assert_eq!(RobustLoss::parse(loss.as_str()).unwrap(), loss);
        }
        assert!(RobustLoss::parse("l2").is_err());
    }

    /// r(x) = (x₀ + x₁tᵢ − yᵢ)/1, with an outlier.
    struct Line;
    const T: [f64; 5] = [0.0, 1.0, 2.0, 3.0, 4.0];
    const Y: [f64; 5] = [1.0, 3.1, 4.9, 7.2, 30.0];
    impl LeastSquares for Line {
        fn dim(&self) -> usize {
            2
        }
        fn residual_count(&self) -> usize {
            5
        }
        fn residuals(&self, x: &[f64], r: &mut [f64]) {
            for i in 0..5 {
                r[i] = x[0] + x[1] * T[i] - Y[i];
            }
        }
        fn jacobian(&self, _x: &[f64], j: &mut DenseMatrix) {
            for (i, t) in T.iter().enumerate() {
                j.set(i, 0, 1.0);
                j.set(i, 1, *t);
            }
        }
    }

    #[test]
    fn square_root_residuals_carry_the_cost_and_their_jacobian_is_exact() {
        let x = [0.7, 1.9];
        for loss in LOSSES {
            let p = Robust::new(&Line, loss, 1.5).unwrap();
            let mut r_plain = [0.0; 5];
            Line.residuals(&x, &mut r_plain);
            let mut r = [0.0; 5];
            p.residuals(&x, &mut r);
            let sum: f64 = r.iter().map(|v| v * v).sum();
            assert!((0.5 * sum - p.cost(&r_plain)).abs() < 1e-12, "{loss:?}");
            let mut j = DenseMatrix::zeros(5, 2);
            p.jacobian(&x, &mut j);
            for c in 0..2 {
                let h = 1e-6;
                let (mut xp, mut xm) = (x, x);
                xp[c] += h;
                xm[c] -= h;
                let (mut rp, mut rm) = ([0.0; 5], [0.0; 5]);
                p.residuals(&xp, &mut rp);
                p.residuals(&xm, &mut rm);
                for i in 0..5 {
                    let fd = (rp[i] - rm[i]) / (2.0 * h);
                    assert!(
                        (j.get(i, c) - fd).abs() < 1e-6,
                        "{loss:?} J[{i},{c}] {} vs {fd}",
                        j.get(i, c)
                    );
                }
            }
        }
    }

    #[test]
    fn bad_scale_and_sigma_are_refused() {
        assert!(Robust::new(&Line, RobustLoss::Huber, 0.0).is_err());
        assert!(Robust::new(&Line, RobustLoss::Huber, f64::NAN).is_err());
        assert!(Weighted::new(&Line, &[1.0; 4]).is_err());
        assert!(Weighted::new(&Line, &[1.0, 1.0, 0.0, 1.0, 1.0]).is_err());
    }
}
