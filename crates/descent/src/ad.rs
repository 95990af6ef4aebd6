//! Forward-mode automatic differentiation for exact derivatives.
//!
//! Test problems and typed expressions are written once, generic over [`Scalar`], and
//! evaluated with `f64` (values), [`Dual`] (one directional first derivative) or
//! [`HyperDual`] (a mixed second derivative `∂²f/∂u∂v`). This gives gradients, Jacobians,
//! Hessian-vector products and Hessians that are exact to rounding, with no finite
//! differences and no symbolic expression swell.
//!
//! # References
//! - Griewank & Walther, *Evaluating Derivatives* (2008), ch. 3 (forward mode).
//! - Fike & Alonso, "The development of hyper-dual numbers for exact second-derivative
//!   calculations", AIAA 2011-886.

use crate::linalg::sign;
use std::ops::{Add, Div, Mul, Neg, Sub};

/// The arithmetic a function needs to be differentiated by forward mode.
pub trait Scalar:
    Copy
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    /// A constant (zero derivative).
    fn cst(v: f64) -> Self;
    /// The value part.
    fn re(&self) -> f64;
    /// e^x
    fn exp(self) -> Self;
    /// Natural logarithm.
    fn ln(self) -> Self;
    /// Square root.
    fn sqrt(self) -> Self;
    /// Sine.
    fn sin(self) -> Self;
    /// Cosine.
    fn cos(self) -> Self;
    /// Tangent.
    fn tan(self) -> Self;
    /// Hyperbolic tangent.
    fn tanh(self) -> Self;
    /// Arc tangent.
    fn atan(self) -> Self;
    /// Absolute value (derivative sign(x), 0 at 0).
    fn abs(self) -> Self;
    /// Integer power.
    fn powi(self, k: i32) -> Self;
    /// Real power `self^e` for a general exponent (`exp(e ln self)` when `e` varies).
    fn pow(self, e: Self) -> Self;
    /// `self * self`.
    fn sq(self) -> Self {
        self * self
    }
}

impl Scalar for f64 {
    fn cst(v: f64) -> Self {
        v
    }
    fn re(&self) -> f64 {
        *self
    }
    fn exp(self) -> Self {
        f64::exp(self)
    }
    fn ln(self) -> Self {
        f64::ln(self)
    }
    fn sqrt(self) -> Self {
        f64::sqrt(self)
    }
    fn sin(self) -> Self {
        f64::sin(self)
    }
    fn cos(self) -> Self {
        f64::cos(self)
    }
    fn tan(self) -> Self {
        f64::tan(self)
    }
    fn tanh(self) -> Self {
        f64::tanh(self)
    }
    fn atan(self) -> Self {
        f64::atan(self)
    }
    fn abs(self) -> Self {
        f64::abs(self)
    }
    fn powi(self, k: i32) -> Self {
        f64::powi(self, k)
    }
    fn pow(self, e: Self) -> Self {
        f64::powf(self, e)
    }
}

/// A value with one first-order tangent: `v + d·ε`, `ε² = 0`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dual {
    /// Value.
    pub v: f64,
    /// Directional derivative.
    pub d: f64,
}

impl Dual {
    /// A variable with tangent `d`.
    pub fn new(v: f64, d: f64) -> Self {
        Dual { v, d }
    }
    /// Applies a unary function with value `f` and derivative `df` at `self.v`.
    #[inline]
    fn chain(self, f: f64, df: f64) -> Self {
        Dual {
            v: f,
            d: df * self.d,
        }
    }
}

impl Add for Dual {
    type Output = Dual;
    #[inline]
    fn add(self, o: Dual) -> Dual {
        Dual {
            v: self.v + o.v,
            d: self.d + o.d,
        }
    }
}
impl Sub for Dual {
    type Output = Dual;
    #[inline]
    fn sub(self, o: Dual) -> Dual {
        Dual {
            v: self.v - o.v,
            d: self.d - o.d,
        }
    }
}
impl Mul for Dual {
    type Output = Dual;
    #[inline]
    fn mul(self, o: Dual) -> Dual {
        Dual {
            v: self.v * o.v,
            d: self.d * o.v + self.v * o.d,
        }
    }
}
impl Div for Dual {
    type Output = Dual;
    #[inline]
    fn div(self, o: Dual) -> Dual {
        let q = self.v / o.v;
        Dual {
            v: q,
            d: (self.d - q * o.d) / o.v,
        }
    }
}
impl Neg for Dual {
    type Output = Dual;
    #[inline]
    fn neg(self) -> Dual {
        Dual {
            v: -self.v,
            d: -self.d,
        }
    }
}

impl Scalar for Dual {
    fn cst(v: f64) -> Self {
        Dual { v, d: 0.0 }
    }
    fn re(&self) -> f64 {
        self.v
    }
    fn exp(self) -> Self {
        let e = self.v.exp();
        self.chain(e, e)
    }
    fn ln(self) -> Self {
        self.chain(self.v.ln(), 1.0 / self.v)
    }
    fn sqrt(self) -> Self {
        let s = self.v.sqrt();
        self.chain(s, 0.5 / s)
    }
    fn sin(self) -> Self {
        self.chain(self.v.sin(), self.v.cos())
    }
    fn cos(self) -> Self {
        self.chain(self.v.cos(), -self.v.sin())
    }
    fn tan(self) -> Self {
        let t = self.v.tan();
        self.chain(t, 1.0 + t * t)
    }
    fn tanh(self) -> Self {
        let t = self.v.tanh();
        self.chain(t, 1.0 - t * t)
    }
    fn atan(self) -> Self {
        self.chain(self.v.atan(), 1.0 / (1.0 + self.v * self.v))
    }
    fn abs(self) -> Self {
        self.chain(self.v.abs(), sign(self.v))
    }
    fn powi(self, k: i32) -> Self {
        if k == 0 {
            return Dual::cst(1.0);
        }
        self.chain(self.v.powi(k), k as f64 * self.v.powi(k - 1))
    }
    fn pow(self, e: Self) -> Self {
        if e.d == 0.0 {
            return power_const(self, e.v);
        }
        (e * self.ln()).exp()
    }
}

/// `x^c` for a constant exponent, valid for negative `x` when `c` is an integer.
fn power_const<S: Scalar>(x: S, c: f64) -> S {
    if c.fract() == 0.0 && c.abs() < i32::MAX as f64 {
        x.powi(c as i32)
    } else {
        // d/dx x^c = c x^(c-1); written through exp/ln keeps one code path for all orders.
        (S::cst(c) * x.ln()).exp()
    }
}

/// A hyper-dual number `v + a·ε₁ + b·ε₂ + ab·ε₁ε₂` with `ε₁² = ε₂² = 0`.
///
/// Seeding `a = eᵢ`, `b = eⱼ` yields `∂²f/∂xᵢ∂xⱼ` in `ab`; seeding `b = v` yields `(Hv)ᵢ`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HyperDual {
    /// Value.
    pub v: f64,
    /// First tangent.
    pub a: f64,
    /// Second tangent.
    pub b: f64,
    /// Mixed second derivative.
    pub ab: f64,
}

impl HyperDual {
    /// A variable with tangents `a` and `b` (mixed part zero).
    pub fn new(v: f64, a: f64, b: f64) -> Self {
        HyperDual { v, a, b, ab: 0.0 }
    }
    /// Unary function with value `f`, first derivative `d1`, second derivative `d2`.
    #[inline]
    fn chain(self, f: f64, d1: f64, d2: f64) -> Self {
        HyperDual {
            v: f,
            a: d1 * self.a,
            b: d1 * self.b,
            ab: d1 * self.ab + d2 * self.a * self.b,
        }
    }
}

impl Add for HyperDual {
    type Output = Self;
    #[inline]
    fn add(self, o: Self) -> Self {
        HyperDual {
            v: self.v + o.v,
            a: self.a + o.a,
            b: self.b + o.b,
            ab: self.ab + o.ab,
        }
    }
}
impl Sub for HyperDual {
    type Output = Self;
    #[inline]
    fn sub(self, o: Self) -> Self {
        HyperDual {
            v: self.v - o.v,
            a: self.a - o.a,
            b: self.b - o.b,
            ab: self.ab - o.ab,
        }
    }
}
impl Mul for HyperDual {
    type Output = Self;
    #[inline]
    fn mul(self, o: Self) -> Self {
        HyperDual {
            v: self.v * o.v,
            a: self.a * o.v + self.v * o.a,
            b: self.b * o.v + self.v * o.b,
            ab: self.ab * o.v + self.a * o.b + self.b * o.a + self.v * o.ab,
        }
    }
}
impl Div for HyperDual {
    type Output = Self;
    #[inline]
    fn div(self, o: Self) -> Self {
        let inv = 1.0 / o.v;
        // 1/o through the chain rule: d1 = -1/o², d2 = 2/o³.
        let r = o.chain(inv, -inv * inv, 2.0 * inv * inv * inv);
        self * r
    }
}
impl Neg for HyperDual {
    type Output = Self;
    #[inline]
    fn neg(self) -> Self {
        HyperDual {
            v: -self.v,
            a: -self.a,
            b: -self.b,
            ab: -self.ab,
        }
    }
}

impl Scalar for HyperDual {
    fn cst(v: f64) -> Self {
        HyperDual {
            v,
            a: 0.0,
            b: 0.0,
            ab: 0.0,
        }
    }
    fn re(&self) -> f64 {
        self.v
    }
    fn exp(self) -> Self {
        let e = self.v.exp();
        self.chain(e, e, e)
    }
    fn ln(self) -> Self {
        let i = 1.0 / self.v;
        self.chain(self.v.ln(), i, -i * i)
    }
    fn sqrt(self) -> Self {
        let s = self.v.sqrt();
        self.chain(s, 0.5 / s, -0.25 / (s * self.v))
    }
    fn sin(self) -> Self {
        let (s, c) = self.v.sin_cos();
        self.chain(s, c, -s)
    }
    fn cos(self) -> Self {
        let (s, c) = self.v.sin_cos();
        self.chain(c, -s, -c)
    }
    fn tan(self) -> Self {
        let t = self.v.tan();
        let d1 = 1.0 + t * t;
        self.chain(t, d1, 2.0 * t * d1)
    }
    fn tanh(self) -> Self {
        let t = self.v.tanh();
        let d1 = 1.0 - t * t;
        self.chain(t, d1, -2.0 * t * d1)
    }
    fn atan(self) -> Self {
        let q = 1.0 / (1.0 + self.v * self.v);
        self.chain(self.v.atan(), q, -2.0 * self.v * q * q)
    }
    fn abs(self) -> Self {
        let s = sign(self.v);
        self.chain(self.v.abs(), s, 0.0)
    }
    fn powi(self, k: i32) -> Self {
        match k {
            0 => HyperDual::cst(1.0),
            1 => self,
            _ => {
                let kf = k as f64;
                self.chain(
                    self.v.powi(k),
                    kf * self.v.powi(k - 1),
                    kf * (kf - 1.0) * self.v.powi(k - 2),
                )
            }
        }
    }
    fn pow(self, e: Self) -> Self {
        if e.a == 0.0 && e.b == 0.0 && e.ab == 0.0 {
            return power_const(self, e.v);
        }
        (e * self.ln()).exp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f<S: Scalar>(x: S, y: S) -> S {
        (x * y).sin() + x.exp() / (S::cst(1.0) + y.sq()) + x.powi(3) * y.sqrt()
    }

    #[test]
    fn dual_matches_finite_differences() {
        let (x, y) = (0.7, 1.3);
        let dx = f(Dual::new(x, 1.0), Dual::cst(y)).d;
        let h = 1e-6;
        let fd = (f(x + h, y) - f(x - h, y)) / (2.0 * h);
        assert!((dx - fd).abs() < 1e-7, "{dx} vs {fd}");
    }

    #[test]
    fn hyperdual_mixed_second_derivative() {
        let (x, y) = (0.7, 1.3);
        let hxy = f(HyperDual::new(x, 1.0, 0.0), HyperDual::new(y, 0.0, 1.0)).ab;
        let h = 1e-4;
        let fd =
            (f(x + h, y + h) - f(x + h, y - h) - f(x - h, y + h) + f(x - h, y - h)) / (4.0 * h * h);
        assert!((hxy - fd).abs() < 1e-5, "{hxy} vs {fd}");
        let hxx = f(HyperDual::new(x, 1.0, 1.0), HyperDual::cst(y)).ab;
        let fd = (f(x + h, y) - 2.0 * f(x, y) + f(x - h, y)) / (h * h);
        assert!((hxx - fd).abs() < 1e-5, "{hxx} vs {fd}");
    }

    #[test]
    fn variable_exponent_power() {
        let e = Dual::new(2.0, 0.0).pow(Dual::new(3.0, 1.0)); // d/dy 2^y = 2^y ln 2
        assert!((e.d - 8.0 * 2f64.ln()).abs() < 1e-12);
        let p = Dual::new(-2.0, 1.0).pow(Dual::cst(3.0)); // negative base, integer power
        assert!((p.v + 8.0).abs() < 1e-12 && (p.d - 12.0).abs() < 1e-12);
    }
}
