//! Exact line minimization: bracket a minimum of φ, then Brent's method.
//!
//! Bracketing by golden-ratio expansion with parabolic extrapolation (Press et al.,
//! *Numerical Recipes*, §10.1 "mnbrak"), then Brent's parabolic interpolation with golden
//! section fallback (Brent, *Algorithms for Minimization without Derivatives*, 1973, ch. 5).
//! This is the lecture's ρ* = argmin_ρ e(w − ρ∇e(w)) (eq. 3).

use super::{Line, LineSearch, LineStep};

const GOLD: f64 = 1.618_033_988_749_895;
const CGOLD: f64 = 0.381_966_011_250_105;

/// Minimizes φ along the line to a relative tolerance in α.
#[derive(Clone, Debug)]
pub struct Exact {
    /// Relative tolerance on α (default 1e-8 ≈ √ε, the best a value-only search can do).
    pub tol: f64,
    /// Iteration budget for Brent's method (default 100).
    pub max_iter: usize,
}

impl Default for Exact {
    fn default() -> Self {
        Exact {
            tol: 1e-8,
            max_iter: 100,
        }
    }
}

impl LineSearch for Exact {
    fn name(&self) -> &'static str {
        "exact"
    }
    fn search(&self, line: &mut Line<'_>, f0: f64, _slope0: f64, alpha0: f64) -> Option<LineStep> {
        let (a, b, c) = bracket(line, f0, alpha0)?;
        let (alpha, f) = brent(line, a, b, c, self.tol, self.max_iter);
        (f < f0 && alpha > 0.0).then_some(LineStep { alpha, f })
    }
}

/// Returns (a, b, c) with a < b < c (or reversed) and φ(b) < φ(a), φ(b) ≤ φ(c).
fn bracket(line: &mut Line<'_>, f0: f64, alpha0: f64) -> Option<(f64, f64, f64)> {
    let finite = |f: f64| if f.is_finite() { f } else { f64::INFINITY };
    let mut b = alpha0;
    let mut fb = finite(line.value(b));
    // Shrink until the first trial decreases φ: it then lies inside the bracket.
    let mut shrinks = 0;
    while fb >= f0 {
        if shrinks > 60 {
            return None;
        }
        let c = b;
        b *= 0.2;
        fb = finite(line.value(b));
        shrinks += 1;
        if fb < f0 {
            return Some((0.0, b, c));
        }
    }
    // Expand: φ(0) > φ(b); step out until φ rises.
    let mut a_prev = 0.0;
    for _ in 0..100 {
        let c = b + GOLD * (b - a_prev);
        let fc = finite(line.value(c));
        if fc >= fb {
            return Some((a_prev, b, c));
        }
        a_prev = b;
        b = c;
        fb = fc;
    }
    None
}

/// Brent's method on the bracket (a, b, c). Returns (α, φ(α)).
/// The exact float equalities below test whether two of Brent's points coincide, as in
/// the original algorithm.
#[allow(clippy::float_cmp)]
fn brent(line: &mut Line<'_>, a: f64, b: f64, c: f64, tol: f64, max_iter: usize) -> (f64, f64) {
    let finite = |f: f64| if f.is_finite() { f } else { f64::INFINITY };
    let (mut lo, mut hi) = if a < c { (a, c) } else { (c, a) };
    let (mut x, mut w, mut v) = (b, b, b);
    let fx0 = finite(line.value(x));
    let (mut fx, mut fw, mut fv) = (fx0, fx0, fx0);
    let mut d: f64 = 0.0;
    let mut e: f64 = 0.0;
    for _ in 0..max_iter {
        let xm = 0.5 * (lo + hi);
        let tol1 = tol * x.abs() + 1e-20;
        let tol2 = 2.0 * tol1;
        if (x - xm).abs() <= tol2 - 0.5 * (hi - lo) {
            break;
        }
        let mut golden = true;
        if e.abs() > tol1 {
            let r = (x - w) * (fx - fv);
            let mut q = (x - v) * (fx - fw);
            let mut p = (x - v) * q - (x - w) * r;
            q = 2.0 * (q - r);
            if q > 0.0 {
                p = -p;
            }
            q = q.abs();
            let etemp = e;
            e = d;
            if p.abs() < (0.5 * q * etemp).abs() && p > q * (lo - x) && p < q * (hi - x) {
                d = p / q;
                let u = x + d;
                if u - lo < tol2 || hi - u < tol2 {
                    d = tol1.copysign(xm - x);
                }
                golden = false;
            }
        }
        if golden {
            e = if x >= xm { lo - x } else { hi - x };
            d = CGOLD * e;
        }
        let u = if d.abs() >= tol1 {
            x + d
        } else {
            x + tol1.copysign(d)
        };
        let fu = finite(line.value(u));
        if fu <= fx {
            if u >= x {
                lo = x;
            } else {
                hi = x;
            }
            (v, fv, w, fw, x, fx) = (w, fw, x, fx, u, fu);
        } else {
            if u < x {
                lo = u;
            } else {
                hi = u;
            }
            if fu <= fw || w == x {
                (v, fv, w, fw) = (w, fw, u, fu);
            } else if fu <= fv || v == x || v == w {
                (v, fv) = (u, fu);
            }
        }
    }
    (x, fx)
}
