//! Line search for the strong Wolfe conditions.
//!
//! Nocedal & Wright (2nd ed.), Algorithms 3.5 (bracketing) and 3.6 (zoom), with the trial
//! steps chosen by safeguarded cubic interpolation (§3.5, eq. 3.59). A trial at which f is
//! not finite is treated as "too far" and the interval shrinks.
//!
//! Where the decrease a step can make is below what f's values resolve (`α|φ'(0)|` under
//! 10⁻¹⁰·|φ(0)|), the sufficient-decrease test compares rounding, and the search used to
//! fail there with the gradient still well above its tolerance. Such a trial is judged by
//! its slope instead — Hager and Zhang's approximate Wolfe conditions (SIAM J. Optim. 16,
//! 2005, §4): `|φ'(α)| ≤ c₂|φ'(0)|`, which on a quadratic implies the decrease
//! `(φ'(0) + φ'(α))α/2 ≤ c₁αφ'(0)` by the trapezoid rule (for c₂ ≤ 1 − 2c₁, as every
//! method's), with `φ(α)` no higher than `φ(0)` by more than that resolution. What the
//! resolution takes for rounding may be structure: a bump of f smaller than 10⁻¹⁰·|f| is
//! below it, and a step may land on it (at f = 0 the test never applies).
//!
//! A zoom interval so short that no point of it can decrease f by that much is bracketed
//! by the sign of the slope and searched by the secant on φ' (the values there being
//! rounding): CG, whose c₂ = 0.1 asks for the line's minimum, followed the noise out of
//! the bracket and failed.

use super::{cubic_min, Line, LineSearch, LineStep};
use crate::driver::VALUE_RESOLUTION;

/// Finds α with `φ(α) ≤ φ(0) + c₁αφ'(0)` and `|φ'(α)| ≤ c₂|φ'(0)|`.
#[derive(Clone, Debug)]
pub struct StrongWolfe {
    /// Sufficient decrease c₁ (default 1e-4, N&W §3.1).
    pub c1: f64,
    /// Curvature c₂ (default 0.9 for Newton and quasi-Newton; 0.1 suits nonlinear CG,
    /// N&W §3.1 and §5.2).
    pub c2: f64,
    /// Largest step (default 1e10).
    pub alpha_max: f64,
    /// Evaluation budget (default 40).
    pub max_evals: usize,
}

impl Default for StrongWolfe {
    fn default() -> Self {
        StrongWolfe {
            c1: 1e-4,
            c2: 0.9,
            alpha_max: 1e10,
            max_evals: 40,
        }
    }
}

impl StrongWolfe {
    /// With curvature constant `c2`.
    pub fn with_c2(c2: f64) -> Self {
        StrongWolfe {
            c2,
            ..Default::default()
        }
    }
}

#[derive(Clone, Copy)]
struct Pt {
    a: f64,
    f: f64,
    s: f64,
}

impl LineSearch for StrongWolfe {
    fn name(&self) -> &'static str {
        "wolfe"
    }
    fn sufficient_decrease(&self) -> bool {
        true
    }
    fn search(&self, line: &mut Line<'_>, f0: f64, slope0: f64, alpha0: f64) -> Option<LineStep> {
        let armijo = |p: &Pt| p.f <= f0 + self.c1 * p.a * slope0;
        let curvature = |p: &Pt| p.s.abs() <= -self.c2 * slope0;
        let mut prev = Pt {
            a: 0.0,
            f: f0,
            s: slope0,
        };
        let mut alpha = alpha0.min(self.alpha_max);
        let mut evals = 0;
        // Best point meeting sufficient decrease, returned if the budget runs out.
        let mut best_armijo: Option<Pt> = None;
        let mut first = true;
        let mut flat = 0;
        while evals < self.max_evals {
            let (f, s) = line.value_slope(alpha);
            evals += 1;
            let cur = Pt { a: alpha, f, s };
            if at_noise_level(f, f0) {
                flat += 1;
            }
            if !f.is_finite() || !s.is_finite() {
                // Too far: search (prev, alpha) by bisection-like shrinking.
                return self.zoom(
                    line,
                    f0,
                    slope0,
                    prev,
                    Pt {
                        a: alpha,
                        f: f64::INFINITY,
                        s: f64::NAN,
                    },
                    evals,
                    best_armijo,
                    flat,
                );
            }
            if self.approximately_wolfe(f0, slope0, &cur) {
                return Some(LineStep { alpha, f });
            }
            if !armijo(&cur) || (!first && f >= prev.f) {
                return self.zoom(line, f0, slope0, prev, cur, evals, best_armijo, flat);
            }
            best_armijo = Some(cur);
            if curvature(&cur) {
                return Some(LineStep { alpha, f });
            }
            if s >= 0.0 {
                return self.zoom(line, f0, slope0, cur, prev, evals, best_armijo, flat);
            }
            if alpha >= self.alpha_max {
                break;
            }
            // Extrapolate: cubic step, kept within [α + 1.1(α − α₋), α + 8(α − α₋)].
            let lo = alpha + 1.1 * (alpha - prev.a);
            let hi = alpha + 8.0 * (alpha - prev.a);
            let next = cubic_min(prev.a, prev.f, prev.s, alpha, f, s)
                .filter(|t| *t > alpha)
                .unwrap_or(hi)
                .clamp(lo, hi)
                .min(self.alpha_max);
            prev = cur;
            alpha = next;
            first = false;
        }
        best_armijo.map(|p| LineStep { alpha: p.a, f: p.f })
    }
}

impl StrongWolfe {
    /// Hager and Zhang's approximate Wolfe conditions, for a trial whose decrease f's
    /// values cannot resolve (see the module's note).
    fn approximately_wolfe(&self, f0: f64, slope0: f64, p: &Pt) -> bool {
        let resolution = VALUE_RESOLUTION * f0.abs();
        p.a * slope0.abs() <= resolution && p.f <= f0 + resolution && p.s.abs() <= -self.c2 * slope0
    }

    /// N&W Algorithm 3.6: `lo` satisfies sufficient decrease and has the lowest φ so far;
    /// `hi` is the other end, with `φ'(lo)(hi − lo) < 0`.
    #[allow(clippy::too_many_arguments)]
    fn zoom(
        &self,
        line: &mut Line<'_>,
        f0: f64,
        slope0: f64,
        mut lo: Pt,
        mut hi: Pt,
        mut evals: usize,
        mut best_armijo: Option<Pt>,
        mut flat: usize,
    ) -> Option<LineStep> {
        let resolution = VALUE_RESOLUTION * f0.abs();
        loop {
            let width = hi.a - lo.a;
            let (a_min, a_max) = (lo.a.min(hi.a), lo.a.max(hi.a));
            // The interval's ends in order of α (lo may lie right of hi).
            let (left, right) = if lo.a < hi.a { (lo, hi) } else { (hi, lo) };
            // No point of the interval can decrease f by more than its values resolve:
            // the values are rounding, and the slopes alone locate the minimum.
            let by_slope = a_max * slope0.abs() <= resolution;
            // Otherwise two trials whose values differ from φ(0) only by rounding mean
            // the line is flat to working precision: more trials cannot tell points apart.
            if evals >= self.max_evals
                || (flat >= 2 && !by_slope)
                || width.abs() <= 1e-16 * lo.a.abs().max(1e-300)
            {
                break;
            }
            let margin = 0.1 * width.abs();
            let interp = if !(hi.f.is_finite() && hi.s.is_finite()) {
                None
            } else if by_slope {
                // The secant on φ' between a negative and a positive slope.
                let (l, r) = (left, right);
                (l.s < 0.0 && r.s > 0.0)
                    .then(|| l.a - l.s * (r.a - l.a) / (r.s - l.s))
                    .filter(|t| t.is_finite())
            } else {
                cubic_min(lo.a, lo.f, lo.s, hi.a, hi.f, hi.s)
            };
            // The interpolated minimizer, kept at least a tenth of the interval from
            // either end (N&W §3.5's safeguard). Clamped, not replaced by the midpoint:
            // where φ rises steeply past a short step — a unit quasi-Newton step 10⁵ times
            // too long on an ill-conditioned quadratic — the cubic's minimizer lies near
            // `lo`, and coming back by halving took 17 trials (README, MGH: the figures).
            let alpha = match interp {
                Some(t) => t.clamp(a_min + margin, a_max - margin),
                None if !hi.f.is_finite() => lo.a + 0.2 * width,
                None => lo.a + 0.5 * width,
            };
            let (f, s) = line.value_slope(alpha);
            evals += 1;
            let cur = Pt { a: alpha, f, s };
            if at_noise_level(f, f0) {
                flat += 1;
            }
            if !f.is_finite() || !s.is_finite() {
                hi = Pt {
                    a: alpha,
                    f: f64::INFINITY,
                    s: f64::NAN,
                };
                continue;
            }
            if self.approximately_wolfe(f0, slope0, &cur) {
                return Some(LineStep { alpha, f });
            }
            if by_slope {
                // Bracket by the sign of the slope, the left end descending, the right
                // end too far (a rising slope, or a value above φ(0) by more than
                // rounding).
                (lo, hi) = if f > f0 + resolution || s >= 0.0 {
                    (left, cur)
                } else {
                    (cur, right)
                };
                continue;
            }
            if f > f0 + self.c1 * alpha * slope0 || f >= lo.f {
                hi = cur;
            } else {
                best_armijo = Some(cur);
                if s.abs() <= -self.c2 * slope0 {
                    return Some(LineStep { alpha, f });
                }
                if s * (hi.a - lo.a) >= 0.0 {
                    hi = lo;
                }
                lo = cur;
            }
        }
        best_armijo
            .filter(|p| p.f < f0)
            .map(|p| LineStep { alpha: p.a, f: p.f })
    }
}

/// Whether `f` differs from `f0` by no more than rounding in `f0` (a few ulps).
pub(crate) fn at_noise_level(f: f64, f0: f64) -> bool {
    (f - f0).abs() <= 8.0 * f64::EPSILON * f0.abs().max(f64::MIN_POSITIVE)
}
