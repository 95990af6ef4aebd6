//! Subspace minimization: from the generalized Cauchy point, minimize the quadratic model
//! over the variables it left free, the others held at their bounds (Byrd, Lu, Nocedal &
//! Zhu 1995, §5.1, the direct primal method), then return to the box as Morales & Nocedal
//! ("Remark on Algorithm 778", ACM TOMS 38(1), 2011) correct it.
//!
//! With Z the free columns of the identity, the reduced model's Newton step solves
//! `(ZᵀBZ) d = r`, `r = −Zᵀ(g + B(x_cp − x))`. With `B = θI − WMWᵀ` and `V = ZᵀW`,
//! Sherman–Morrison–Woodbury gives `(ZᵀBZ)⁻¹ = I/θ + V K⁻¹ Vᵀ/θ²`, `K = M⁻¹ − VᵀV/θ`:
//! one 2k × 2k solve.
//!
//! The original algorithm truncated `x_cp + d` at the first bound along it. Morales and
//! Nocedal project it onto the box instead, and keep the projection when it is a descent
//! direction from x — `(P(x_cp + d) − x)ᵀg ≤ 0`; otherwise they fall back to the
//! truncation. The projection lets several variables reach their bounds in one
//! iteration, which the truncation could not.

use super::cauchy::CauchyPoint;
use super::compact::CompactLbfgs;
use crate::bounds::Bounds;
use crate::linalg::Lu;

/// The subspace minimizer from `cp` (see the module documentation), or `cp.x` when no
/// variable is free or the memory is empty. `None` when the reduced system is singular
/// (the caller resets the memory).
pub fn subspace_minimum(
    x: &[f64],
    g: &[f64],
    bounds: &Bounds,
    model: &CompactLbfgs,
    cp: &CauchyPoint,
) -> Option<Vec<f64>> {
    let mut z = Vec::new();
    subspace_minimum_into(
        x,
        g,
        bounds,
        model,
        cp,
        &mut SubspaceWork::default(),
        &mut z,
    )?;
    Some(z)
}

/// The n-vector of [`subspace_minimum_into`], kept from one iteration to the next: the
/// reduced gradient `r`, then, over it, the step `du` from the Cauchy point.
#[derive(Default)]
pub struct SubspaceWork {
    du: Vec<f64>,
}

/// [`subspace_minimum`] into `z`, with `work` for its vectors (no n-vector allocated).
pub fn subspace_minimum_into(
    x: &[f64],
    g: &[f64],
    bounds: &Bounds,
    model: &CompactLbfgs,
    cp: &CauchyPoint,
    work: &mut SubspaceWork,
    z: &mut Vec<f64>,
) -> Option<()> {
    let n = x.len();
    let k = model.len();
    if k == 0 || !cp.free.iter().any(|f| *f) {
        z.clear();
        z.extend_from_slice(&cp.x);
        return Some(());
    }
    let du = &mut work.du;
    if cp.free.iter().all(|f| *f) {
        // Nothing held: the reduced model is the whole model, whose minimizer
        // x − B⁻¹g the two-loop recursion gives directly.
        model.inverse_times_into(g, du);
        for i in 0..n {
            du[i] = x[i] - du[i] - cp.x[i];
        }
        back_into_the_box(x, g, bounds, cp, du, z);
        return Some(());
    }
    let theta = model.theta();
    // r = −Zᵀ(g + θ(x_cp − x) − W M c).
    let mc = model.m_times(&cp.c)?;
    let r = du;
    r.clear();
    r.resize(n, 0.0);
    for i in 0..n {
        if cp.free[i] {
            r[i] = -g[i] - theta * (cp.x[i] - x[i]) + model.w_times_at(&mc, i);
        }
    }
    // K = A − VᵀV/θ and the right-hand side Vᵀr.
    let mut kmat = model.middle_inverse();
    let mut w = vec![0.0; 2 * k];
    for i in (0..n).filter(|&i| cp.free[i]) {
        model.w_row(i, &mut w);
        for a in 0..2 * k {
            let wa = w[a] / theta;
            for (b, wb) in w.iter().enumerate() {
                let v = kmat.get(a, b) - wa * wb;
                kmat.set(a, b, v);
            }
        }
    }
    let vtr = model.wt_times(r, Some(&cp.free));
    let v = Lu::new(&kmat).solve(&vtr)?;
    // du = (r + W v / θ) / θ on the free variables, written over r (zero elsewhere).
    for i in (0..n).filter(|&i| cp.free[i]) {
        r[i] = (r[i] + model.w_times_at(&v, i) / theta) / theta;
    }
    back_into_the_box(x, g, bounds, cp, r, z);
    Some(())
}

/// Morales & Nocedal's projection, or the truncated step when the projection is not a
/// descent direction from `x`, into `z`.
fn back_into_the_box(
    x: &[f64],
    g: &[f64],
    bounds: &Bounds,
    cp: &CauchyPoint,
    du: &[f64],
    z: &mut Vec<f64>,
) {
    let n = x.len();
    let (lower, upper) = (bounds.lower(), bounds.upper());
    z.clear();
    z.extend((0..n).map(|i| cp.x[i] + du[i]));
    bounds.project(z);
    let hit = (0..n).any(|i| cp.free[i] && (z[i] <= lower[i] || z[i] >= upper[i]));
    let slope: f64 = (0..n).map(|i| (z[i] - x[i]) * g[i]).sum();
    if !hit || slope <= 0.0 {
        return;
    }
    // The largest α ≤ 1 keeping x_cp + α·du in the box; the variable that limits it is
    // put exactly on its bound.
    let mut alpha = 1.0;
    let mut limiting = None;
    for i in (0..n).filter(|&i| cp.free[i]) {
        let a = bounds.step_along(i, cp.x[i], du[i]);
        if a < alpha {
            alpha = a;
            limiting = Some(i);
        }
    }
    for i in 0..n {
        z[i] = cp.x[i] + alpha * du[i];
    }
    if let Some(i) = limiting {
        z[i] = if du[i] > 0.0 { upper[i] } else { lower[i] };
    }
    bounds.project(z);
}

/// `(z − x)ᵀg`, for tests.
#[cfg(test)]
fn slope_to(x: &[f64], g: &[f64], z: &[f64]) -> f64 {
    use crate::linalg::dot;
    let d: Vec<f64> = z.iter().zip(x).map(|(a, b)| a - b).collect();
    dot(&d, g)
}

#[cfg(test)]
mod tests {
    use super::super::cauchy::generalized_cauchy_point;
    use super::*;

    #[test]
    fn unbounded_subspace_step_is_the_quasi_newton_step() {
        // No bounds: x_cp + d must be x − B⁻¹g whatever the Cauchy point is.
        let mut model = CompactLbfgs::new(4);
        assert!(model.push(&[1.0, 0.5, -0.2], &[3.0, 0.2, -0.1]));
        assert!(model.push(&[-0.3, 1.0, 0.4], &[-0.2, 0.7, 0.5]));
        let b = Bounds::unbounded(3);
        let x = [0.2, -0.1, 0.4];
        let g = [0.5, -1.0, 0.25];
        let cp = generalized_cauchy_point(&x, &g, &b, &model).unwrap();
        let z = subspace_minimum(&x, &g, &b, &model, &cp).unwrap();
        // B(z − x) must equal −g.
        let s: Vec<f64> = z.iter().zip(&x).map(|(a, b)| a - b).collect();
        let p = model.wt_times(&s, None);
        let mp = model.m_times(&p).unwrap();
        for i in 0..3 {
            let bs = model.theta() * s[i] - model.w_times_at(&mp, i);
            assert!((bs + g[i]).abs() < 1e-12, "B s + g = {}", bs + g[i]);
        }
        assert!(slope_to(&x, &g, &z) < 0.0);
    }
}
