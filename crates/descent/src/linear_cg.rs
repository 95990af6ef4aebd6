//! Linear conjugate gradient for `A x = b`, `A` symmetric positive definite, optionally
//! preconditioned (Nocedal & Wright, Algorithms 5.2 and 5.3; the lecture's eqs. 14–16).
//! In exact arithmetic it terminates in at most n iterations.

use crate::error::{Error, Result};
use crate::linalg::{axpy, dot, norm};

/// Outcome of [`linear_cg`].
#[derive(Clone, Debug)]
pub struct LinearCgResult {
    /// The solution.
    pub x: Vec<f64>,
    /// Iterations used.
    pub iterations: usize,
    /// Final residual norm ‖b − Ax‖.
    pub residual_norm: f64,
    /// Whether the tolerance was met.
    pub converged: bool,
    /// Whether a direction of non-positive curvature stopped it (A not SPD).
    pub negative_curvature: bool,
}

/// A linear operator `out = A v` (or a preconditioner `out = M⁻¹ v`).
pub type LinearOperator<'a> = &'a dyn Fn(&[f64], &mut [f64]);

/// Solves `A x = b` by (preconditioned) conjugate gradients.
///
/// Errors when `x0` is not `b`'s length or `tol` is negative or NaN.
///
/// `apply_a(v, out)` computes `out = A v`; `precond(r, out)`, if given, applies `M⁻¹` for
/// an SPD preconditioner M. Stops when `‖r‖ ≤ tol·‖b‖` or after `max_iter` iterations.
pub fn linear_cg(
    apply_a: LinearOperator<'_>,
    b: &[f64],
    x0: &[f64],
    tol: f64,
    max_iter: usize,
    precond: Option<LinearOperator<'_>>,
) -> Result<LinearCgResult> {
    let n = b.len();
    if x0.len() != n {
        return Err(Error::DimensionMismatch {
            what: "x0".into(),
            expected: n,
            got: x0.len(),
        });
    }
    if tol.is_nan() || tol < 0.0 {
        return Err(Error::config(
            "tol",
            format!("must be at least 0, got {tol}"),
        ));
    }
    let mut x = x0.to_vec();
    let mut ax = vec![0.0; n];
    apply_a(&x, &mut ax);
    let mut r: Vec<f64> = b.iter().zip(&ax).map(|(bi, ai)| bi - ai).collect();
    let mut z = vec![0.0; n];
    let apply_m = |r: &[f64], z: &mut [f64]| match precond {
        Some(m) => m(r, z),
        None => z.copy_from_slice(r),
    };
    apply_m(&r, &mut z);
    let mut p = z.clone();
    let mut rz = dot(&r, &z);
    let bnorm = norm(b).max(f64::MIN_POSITIVE);
    let mut ap = vec![0.0; n];
    let mut it = 0;
    let mut negative_curvature = false;
    while it < max_iter && norm(&r) > tol * bnorm {
        apply_a(&p, &mut ap);
        let pap = dot(&p, &ap);
        if pap <= 0.0 {
            negative_curvature = true;
            break;
        }
        let alpha = rz / pap;
        axpy(alpha, &p, &mut x);
        axpy(-alpha, &ap, &mut r);
        apply_m(&r, &mut z);
        let rz_new = dot(&r, &z);
        let beta = rz_new / rz;
        rz = rz_new;
        for (pi, zi) in p.iter_mut().zip(&z) {
            *pi = zi + beta * *pi;
        }
        it += 1;
    }
    let residual_norm = norm(&r);
    Ok(LinearCgResult {
        x,
        iterations: it,
        residual_norm,
        converged: residual_norm <= tol * bnorm,
        negative_curvature,
    })
}
