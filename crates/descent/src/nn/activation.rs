//! Activation functions and their derivatives.

use super::Real;
use serde::{Deserialize, Serialize};

/// A hidden-layer activation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Activation {
    /// `z`.
    Identity,
    /// Logistic sigmoid `1/(1 + e^{−z})`.
    Sigmoid,
    /// `tanh z`.
    Tanh,
    /// `max(0, z)`.
    Relu,
    /// `z` for z > 0, else `0.01 z`.
    LeakyRelu,
    /// `ln(1 + e^z)`.
    Softplus,
    /// `z` for z > 0, else `e^z − 1` (α = 1, Clevert et al. 2016).
    Elu,
    /// `z·Φ(z)`, tanh approximation (Hendrycks & Gimpel 2016).
    Gelu,
}

impl Activation {
    /// Parses a name (`identity sigmoid|logistic tanh relu leaky-relu softplus elu gelu`).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "identity" | "linear" => Activation::Identity,
            "sigmoid" | "logistic" => Activation::Sigmoid,
            "tanh" => Activation::Tanh,
            "relu" => Activation::Relu,
            "leaky-relu" | "leaky_relu" | "leakyrelu" => Activation::LeakyRelu,
            "softplus" => Activation::Softplus,
            "elu" => Activation::Elu,
            "gelu" => Activation::Gelu,
            _ => return None,
        })
    }

    /// Applies the activation to `z` in place.
    pub fn apply<T: Real>(self, z: &mut [T]) {
        crate::simd::vectorized(
            #[inline(always)]
            || self.apply_here(z),
        )
    }

    #[inline(always)]
    fn apply_here<T: Real>(self, z: &mut [T]) {
        let one = T::one();
        match self {
            Activation::Identity => {}
            Activation::Sigmoid => z.iter_mut().for_each(|v| *v = sigmoid(*v)),
            Activation::Tanh => z.iter_mut().for_each(|v| *v = v.tanh()),
            Activation::Relu => z.iter_mut().for_each(|v| *v = v.max(T::zero())),
            Activation::LeakyRelu => z.iter_mut().for_each(|v| {
                if *v < T::zero() {
                    *v = *v * T::of(0.01)
                }
            }),
            Activation::Softplus => z.iter_mut().for_each(|v| *v = softplus(*v)),
            Activation::Elu => z.iter_mut().for_each(|v| {
                if *v < T::zero() {
                    *v = v.exp() - one
                }
            }),
            Activation::Gelu => z.iter_mut().for_each(|v| *v = gelu(*v)),
        }
    }

    /// Multiplies `grad` (∂L/∂a) by the derivative a'(z), given `z` and `a = act(z)`.
    pub fn backprop<T: Real>(self, z: &[T], a: &[T], grad: &mut [T]) {
        crate::simd::vectorized(
            #[inline(always)]
            || self.backprop_here(z, a, grad),
        )
    }

    #[inline(always)]
    fn backprop_here<T: Real>(self, z: &[T], a: &[T], grad: &mut [T]) {
        let one = T::one();
        match self {
            Activation::Identity => {}
            Activation::Sigmoid => grad
                .iter_mut()
                .zip(a)
                .for_each(|(g, a)| *g = *g * *a * (one - *a)),
            Activation::Tanh => grad
                .iter_mut()
                .zip(a)
                .for_each(|(g, a)| *g = *g * (one - *a * *a)),
            Activation::Relu => grad.iter_mut().zip(z).for_each(|(g, z)| {
                if *z <= T::zero() {
                    *g = T::zero()
                }
            }),
            Activation::LeakyRelu => grad.iter_mut().zip(z).for_each(|(g, z)| {
                if *z < T::zero() {
                    *g = *g * T::of(0.01)
                }
            }),
            Activation::Softplus => grad
                .iter_mut()
                .zip(z)
                .for_each(|(g, z)| *g = *g * sigmoid(*z)),
            Activation::Elu => grad.iter_mut().zip(a).zip(z).for_each(|((g, a), z)| {
                if *z < T::zero() {
                    *g = *g * (*a + one)
                }
            }),
            Activation::Gelu => grad
                .iter_mut()
                .zip(z)
                .for_each(|(g, z)| *g = *g * gelu_prime(*z)),
        }
    }

    /// The derivative a'(z) as a function of z alone (for Jacobian-vector products).
    pub fn derivative<T: Real>(self, z: T) -> T {
        let one = T::one();
        match self {
            Activation::Identity => one,
            Activation::Sigmoid => {
                let s = sigmoid(z);
                s * (one - s)
            }
            Activation::Tanh => {
                let t = z.tanh();
                one - t * t
            }
            Activation::Relu => {
                if z > T::zero() {
                    one
                } else {
                    T::zero()
                }
            }
            Activation::LeakyRelu => {
                if z > T::zero() {
                    one
                } else {
                    T::of(0.01)
                }
            }
            Activation::Softplus => sigmoid(z),
            Activation::Elu => {
                if z > T::zero() {
                    one
                } else {
                    z.exp()
                }
            }
            Activation::Gelu => gelu_prime(z),
        }
    }

    /// Whether a unit is saturated: sigmoid output within 0.01 of 0 or 1 (Glorot & Bengio
    /// 2010), |tanh| > 0.99, or a ReLU that is off (dead for this input).
    pub fn saturated<T: Real>(self, a: T) -> bool {
        match self {
            Activation::Sigmoid => a.f64() < 0.01 || a.f64() > 0.99,
            Activation::Tanh => a.f64().abs() > 0.99,
            Activation::Relu => a.f64() <= 0.0,
            _ => false,
        }
    }
}

#[inline]
pub(crate) fn sigmoid<T: Real>(z: T) -> T {
    // Stable for large |z|.
    if z >= T::zero() {
        T::one() / (T::one() + (-z).exp())
    } else {
        let e = z.exp();
        e / (T::one() + e)
    }
}

#[inline]
fn softplus<T: Real>(z: T) -> T {
    // ln(1 + e^z) = max(z, 0) + ln(1 + e^{−|z|}).
    z.max(T::zero()) + (-z.abs()).exp().ln_1p()
}

const GELU_C: f64 = 0.797_884_560_802_865_4; // √(2/π)

#[inline]
fn gelu<T: Real>(z: T) -> T {
    let u = T::of(GELU_C) * (z + T::of(0.044715) * z * z * z);
    T::of(0.5) * z * (T::one() + u.tanh())
}

#[inline]
fn gelu_prime<T: Real>(z: T) -> T {
    let c = T::of(GELU_C);
    let k = T::of(0.044715);
    let u = c * (z + k * z * z * z);
    let t = u.tanh();
    let du = c * (T::one() + T::of(3.0) * k * z * z);
    T::of(0.5) * (T::one() + t) + T::of(0.5) * z * (T::one() - t * t) * du
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivatives_match_finite_differences() {
        for act in [
            Activation::Identity,
            Activation::Sigmoid,
            Activation::Tanh,
            Activation::Relu,
            Activation::LeakyRelu,
            Activation::Softplus,
            Activation::Elu,
            Activation::Gelu,
        ] {
            for &z in &[-2.3f64, -0.4, 0.3, 1.7] {
                let h = 1e-6;
                let f = |v: f64| {
                    let mut a = [v];
                    act.apply(&mut a);
                    a[0]
                };
                let fd = (f(z + h) - f(z - h)) / (2.0 * h);
                assert!((act.derivative(z) - fd).abs() < 1e-6, "{act:?} at {z}");
                let mut g = [1.0];
                act.backprop(&[z], &[f(z)], &mut g);
                assert!((g[0] - fd).abs() < 1e-6, "{act:?} backprop at {z}");
            }
        }
    }
}
