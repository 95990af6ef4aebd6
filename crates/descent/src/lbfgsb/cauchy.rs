//! The generalized Cauchy point: the first local minimizer of the quadratic model
//! `m(x) = f + gᵀ(x − x₀) + ½(x − x₀)ᵀB(x − x₀)` along the projected steepest-descent path
//! `P(x₀ − t g)`, t ≥ 0 (Byrd, Lu, Nocedal & Zhu 1995, §4, Algorithm CP).
//!
//! The path bends at the breakpoints `tᵢ` where variable i reaches its bound. On each
//! piece the model is a parabola in t with slope `f'` and curvature `f''`; both are updated
//! from one piece to the next in O(k²) operations with the compact form of B, so the
//! whole search costs O(n log n + breakpoints·k²).

use super::compact::CompactLbfgs;
use crate::bounds::Bounds;
use crate::linalg::dot;

/// The generalized Cauchy point and what subspace minimization needs of it, with the
/// search's breakpoints: one value is reused from one iteration to the next
/// ([`CauchyPoint::find`]), so that a long run allocates no n-vector per iteration.
#[derive(Default)]
pub struct CauchyPoint {
    /// The point.
    pub x: Vec<f64>,
    /// `c = Wᵀ(x_cp − x₀)`.
    pub c: Vec<f64>,
    /// The variables left free at the point (not held at a bound by the path).
    pub free: Vec<bool>,
    /// The breakpoints `(tᵢ, i)`.
    breaks: Vec<(f64, usize)>,
}

/// Computes the generalized Cauchy point from `x` (inside the box) with gradient `g`.
/// `None` when a solve with the compact form fails (the caller resets the memory).
pub fn generalized_cauchy_point(
    x: &[f64],
    g: &[f64],
    bounds: &Bounds,
    model: &CompactLbfgs,
) -> Option<CauchyPoint> {
    let mut cp = CauchyPoint::default();
    cp.find(x, g, bounds, model, &mut Vec::new())?;
    Some(cp)
}

impl CauchyPoint {
    /// [`generalized_cauchy_point`] into `self`, its vectors reused; `d` holds the path's
    /// direction (the projected steepest descent, zero where held) while the search needs
    /// it, and is the caller's to reuse after (the method writes its step there).
    pub fn find(
        &mut self,
        x: &[f64],
        g: &[f64],
        bounds: &Bounds,
        model: &CompactLbfgs,
        d: &mut Vec<f64>,
    ) -> Option<()> {
        let CauchyPoint {
            x: xcp,
            c,
            free,
            breaks,
        } = self;
        let n = x.len();
        let (lower, upper) = (bounds.lower(), bounds.upper());
        let k2 = 2 * model.len();
        let theta = model.theta();
        d.clear();
        d.resize(n, 0.0);
        free.clear();
        free.resize(n, true);
        breaks.clear();
        for i in 0..n {
            let at_lower = x[i] <= lower[i];
            let at_upper = x[i] >= upper[i];
            // Held: on a bound with the gradient pushing out of the box.
            if (at_lower && g[i] >= 0.0) || (at_upper && g[i] <= 0.0) {
                free[i] = false;
                continue;
            }
            d[i] = -g[i];
            if d[i] < 0.0 && lower[i].is_finite() {
                breaks.push(((x[i] - lower[i]) / g[i], i));
            } else if d[i] > 0.0 && upper[i].is_finite() {
                breaks.push(((upper[i] - x[i]) / d[i], i));
            }
        }
        let mut p = model.wt_times(d, None);
        c.clear();
        c.resize(k2, 0.0);
        xcp.clear();
        xcp.extend_from_slice(x);
        // Slope and curvature of the model along d at t = 0.
        let mut f1 = -dot(d, d);
        if f1 == 0.0 {
            return Some(());
        }
        let mut f2 = -theta * f1;
        if k2 > 0 {
            f2 -= dot(&p, &model.m_times(&p)?);
        }
        let f2_original = f2;
        let mut dt_min = -f1 / f2;
        // In place; ties in the order they were found (by index), as a stable sort
        // leaves them.
        breaks.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut t_old = 0.0;
        let mut wb = vec![0.0; k2];
        let mut reached = 0;
        for &(t, b) in breaks.iter() {
            let dt = t - t_old;
            if dt_min < dt {
                break;
            }
            // Variable b reaches its bound: fix it there and update the parabola.
            reached += 1;
            let db = d[b];
            let (bound, zb) = if db > 0.0 {
                (upper[b], upper[b] - x[b])
            } else {
                (lower[b], lower[b] - x[b])
            };
            xcp[b] = bound;
            d[b] = 0.0;
            free[b] = false;
            f1 += dt * f2 + db * db - theta * db * zb;
            f2 -= theta * db * db;
            if k2 > 0 {
                for (ci, pi) in c.iter_mut().zip(&p) {
                    *ci += dt * pi;
                }
                model.w_row(b, &mut wb);
                let mwb = model.m_times(&wb)?;
                let (wmc, wmp, wmw) = (dot(c, &mwb), dot(&p, &mwb), dot(&wb, &mwb));
                for (pi, wi) in p.iter_mut().zip(&wb) {
                    *pi -= db * wi;
                }
                f1 += db * wmc;
                f2 += 2.0 * db * wmp - db * db * wmw;
            }
            f2 = f2.max(f64::EPSILON * f2_original);
            t_old = t;
            dt_min = -f1 / f2;
            if f1 >= 0.0 {
                // The model stopped decreasing exactly at this breakpoint.
                dt_min = 0.0;
                break;
            }
        }
        if reached == breaks.len() && d.iter().all(|v| *v == 0.0) {
            // Every moving variable reached its bound: the path ends there.
            dt_min = 0.0;
        }
        let dt_min = dt_min.max(0.0);
        let t_final = t_old + dt_min;
        for i in 0..n {
            if d[i] != 0.0 {
                xcp[i] = (x[i] + t_final * d[i]).clamp(lower[i], upper[i]);
            }
        }
        for (ci, pi) in c.iter_mut().zip(&p) {
            *ci += dt_min * pi;
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_identity_the_cauchy_point_is_the_projected_gradient_step() {
        // B = I: the model along P(x − tg) decreases until t = 1 for the free variables,
        // and the ones that hit a bound earlier stay there: x_cp = P(x − g).
        let model = CompactLbfgs::new(5);
        let b = Bounds::parse("0:1,0:1,-inf:inf", 3).unwrap();
        let x = [0.5, 0.5, 0.0];
        let g = [2.0, -0.25, 3.0];
        let cp = generalized_cauchy_point(&x, &g, &b, &model).unwrap();
        let expected = [0.0, 0.75, -3.0];
        for (a, e) in cp.x.iter().zip(expected) {
            assert!((a - e).abs() < 1e-15, "{:?}", cp.x);
        }
        assert_eq!(cp.free, vec![false, true, true]);
    }

    #[test]
    fn the_cauchy_point_minimizes_the_model_along_the_path() {
        // A model with pairs: compare with a fine scan of m(P(x − tg)).
        let mut model = CompactLbfgs::new(3);
        assert!(model.push(&[1.0, 0.5, -0.2, 0.1], &[3.0, 0.2, -0.1, 0.3]));
        assert!(model.push(&[-0.3, 1.0, 0.4, 0.0], &[-0.2, 0.7, 0.5, 0.1]));
        let b = Bounds::parse("-1:0.3,-0.2:2,-inf:0.1,-5:5", 4).unwrap();
        let x = [0.0, 0.0, 0.0, 0.0];
        let g = [-1.0, 0.8, -0.6, 0.3];
        let cp = generalized_cauchy_point(&x, &g, &b, &model).unwrap();
        let model_at = |z: &[f64]| {
            let s: Vec<f64> = z.iter().zip(&x).map(|(a, b)| a - b).collect();
            let p = model.wt_times(&s, None);
            let mp = model.m_times(&p).unwrap();
            let bs: Vec<f64> = (0..4)
                .map(|i| model.theta() * s[i] - model.w_times_at(&mp, i))
                .collect();
            dot(&g, &s) + 0.5 * dot(&s, &bs)
        };
        let path = |t: f64| -> Vec<f64> {
            let mut z: Vec<f64> = x.iter().zip(&g).map(|(a, gi)| a - t * gi).collect();
            b.project(&mut z);
            z
        };
        // The first local minimizer along the path: scan until the model rises.
        let (mut best_t, mut best) = (0.0, 0.0);
        let mut t = 0.0;
        while t < 10.0 {
            t += 1e-5;
            let m = model_at(&path(t));
            if m > best + 1e-15 {
                break;
            }
            (best_t, best) = (t, m);
        }
        let scanned = path(best_t);
        for (a, e) in cp.x.iter().zip(&scanned) {
            assert!((a - e).abs() < 1e-4, "cp {:?} vs scan {:?}", cp.x, scanned);
        }
        assert!(model_at(&cp.x) <= best + 1e-10);
    }
}
