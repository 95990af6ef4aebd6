//! Steihaug–Toint truncated conjugate gradients (Steihaug 1983, Toint 1981; Nocedal &
//! Wright Algorithm 7.2): CG on `Bp = −g` from p = 0 with Hessian-vector products only,
//! stopped at the boundary, at negative curvature (followed to the boundary) or when
//! `‖r‖ ≤ min(½, √‖g‖)·‖g‖` (SciPy's `trust-ncg` forcing sequence: superlinear
//! convergence).

use super::{to_boundary, ModelStep, Subproblem};
use crate::linalg::{axpy, dot, norm, DenseMatrix};
use crate::problem::Objective;

/// The Steihaug–Toint CG subproblem.
#[derive(Clone, Debug, Default)]
pub struct Steihaug;

impl Subproblem for Steihaug {
    fn name(&self) -> &'static str {
        "Steihaug-Toint CG"
    }
    fn needs_hessian(&self) -> bool {
        false
    }
    fn solve(
        &mut self,
        problem: &dyn Objective,
        x: &[f64],
        g: &[f64],
        _h: Option<&DenseMatrix>,
        radius: f64,
    ) -> Option<ModelStep> {
        let n = g.len();
        let gnorm = norm(g);
        let tolerance = gnorm.sqrt().min(0.5) * gnorm;
        let mut z = vec![0.0; n];
        // Bz, kept alongside z so that the model's value needs no more products.
        let mut bz = vec![0.0; n];
        let mut r = g.to_vec();
        let mut d: Vec<f64> = g.iter().map(|v| -v).collect();
        let mut bd = vec![0.0; n];
        let decrease = |p: &[f64], bp: &[f64]| -(dot(g, p) + 0.5 * dot(p, bp));
        let boundary = |z: &[f64], bz: &[f64], d: &[f64], bd: &[f64]| {
            let tau = to_boundary(z, d, radius);
            let p: Vec<f64> = z.iter().zip(d).map(|(a, b)| a + tau * b).collect();
            let bp: Vec<f64> = bz.iter().zip(bd).map(|(a, b)| a + tau * b).collect();
            ModelStep {
                predicted: decrease(&p, &bp),
                p,
                on_boundary: true,
            }
        };
        for _ in 0..n.max(1) * 2 {
            problem.hess_vec(x, &d, &mut bd);
            let curvature = dot(&d, &bd);
            if curvature.is_nan() {
                return None;
            }
            if curvature <= 0.0 {
                return Some(boundary(&z, &bz, &d, &bd));
            }
            let rr = dot(&r, &r);
            let alpha = rr / curvature;
            let z_next: Vec<f64> = z.iter().zip(&d).map(|(a, b)| a + alpha * b).collect();
            if norm(&z_next) >= radius {
                return Some(boundary(&z, &bz, &d, &bd));
            }
            z = z_next;
            axpy(alpha, &bd, &mut bz);
            axpy(alpha, &bd, &mut r);
            let rr_next = dot(&r, &r);
            if rr_next.sqrt() < tolerance {
                break;
            }
            let beta = rr_next / rr;
            for (di, ri) in d.iter_mut().zip(&r) {
                *di = -ri + beta * *di;
            }
        }
        Some(ModelStep {
            predicted: decrease(&z, &bz),
            p: z,
            on_boundary: false,
        })
    }
}
