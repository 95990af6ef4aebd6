//! Losses, fused with the output layer where that is more stable.

use super::Real;
use serde::{Deserialize, Serialize};

/// Output layer and loss together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Loss {
    /// Linear outputs, mean squared error over all outputs (as PyTorch's `MSELoss`).
    SquaredError,
    /// Softmax outputs and categorical cross-entropy, fused (log-sum-exp) for stability.
    CrossEntropy,
    /// Sigmoid outputs and binary cross-entropy per output, fused (log-sigmoid).
    BinaryCrossEntropy,
}

impl Loss {
    /// Parses `mse|squared-error`, `cross-entropy|ce`, `binary-cross-entropy|bce`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "mse" | "squared-error" | "sse" => Loss::SquaredError,
            "cross-entropy" | "ce" | "categorical-cross-entropy" => Loss::CrossEntropy,
            "binary-cross-entropy" | "bce" => Loss::BinaryCrossEntropy,
            _ => return None,
        })
    }

    /// The name `parse` reads (`mse`, `cross-entropy`, `binary-cross-entropy`).
    pub fn as_str(self) -> &'static str {
        match self {
            Loss::SquaredError => "mse",
            Loss::CrossEntropy => "cross-entropy",
            Loss::BinaryCrossEntropy => "binary-cross-entropy",
        }
    }

    /// The loss, in the units it is reported in, of a network that has learnt nothing
    /// about its inputs and predicts every class as equally likely: `ln k` for
    /// cross-entropy over k classes, `ln 2` for binary cross-entropy (a mean over
    /// outputs). A trained network ends below it; one that ends above it diverged or
    /// did not learn. `None` for the squared error, whose floor is the target's variance
    /// (R² = 0 says it there).
    pub fn chance_level(self, outputs: usize) -> Option<f64> {
        match self {
            Loss::CrossEntropy => Some((outputs.max(1) as f64).ln()),
            Loss::BinaryCrossEntropy => Some(std::f64::consts::LN_2),
            Loss::SquaredError => None,
        }
    }

    /// Mean loss over the batch and `∂L/∂z` of the output pre-activations into `grad`
    /// (when given). `z` is batch×k; targets are class indices (cross-entropy) or a
    /// batch×k array.
    pub fn value_grad<T: Real>(
        self,
        z: &[T],
        k: usize,
        targets: Targets<'_, T>,
        grad: Option<&mut [T]>,
    ) -> f64 {
        crate::simd::vectorized(
            #[inline(always)]
            || self.value_grad_here(z, k, targets, grad),
        )
    }

    #[inline(always)]
    fn value_grad_here<T: Real>(
        self,
        z: &[T],
        k: usize,
        targets: Targets<'_, T>,
        mut grad: Option<&mut [T]>,
    ) -> f64 {
        let b = z.len() / k;
        let mut total = 0.0f64;
        match (self, targets) {
            (Loss::CrossEntropy, Targets::Classes(labels)) => {
                let inv_b = T::of(1.0 / b as f64);
                for (i, row) in z.chunks(k).enumerate() {
                    let max = row.iter().cloned().fold(T::neg_infinity(), T::max);
                    let sum: T = row.iter().fold(T::zero(), |s, v| s + (*v - max).exp());
                    let lse = max + sum.ln();
                    let y = labels[i] as usize;
                    total += (lse - row[y]).f64();
                    if let Some(g) = grad.as_deref_mut() {
                        let gr = &mut g[i * k..(i + 1) * k];
                        for (c, (gv, zv)) in gr.iter_mut().zip(row).enumerate() {
                            let p = (*zv - lse).exp();
                            *gv = (p - if c == y { T::one() } else { T::zero() }) * inv_b;
                        }
                    }
                }
                total / b as f64
            }
            (Loss::SquaredError, Targets::Values(t)) => {
                let n = (b * k) as f64;
                let scale = T::of(2.0 / n);
                for (idx, zv) in z.iter().enumerate() {
                    let d = *zv - t[idx];
                    total += d.f64() * d.f64();
                    if let Some(g) = grad.as_deref_mut() {
                        g[idx] = scale * d;
                    }
                }
                total / n
            }
            (Loss::BinaryCrossEntropy, Targets::Values(t)) => {
                let n = (b * k) as f64;
                let inv = T::of(1.0 / n);
                for (idx, zv) in z.iter().enumerate() {
                    // −[t log σ(z) + (1 − t) log(1 − σ(z))] = softplus(z) − t z.
                    let zz = *zv;
                    let sp = zz.max(T::zero()) + (-zz.abs()).exp().ln_1p();
                    total += (sp - t[idx] * zz).f64();
                    if let Some(g) = grad.as_deref_mut() {
                        g[idx] = (super::activation::sigmoid(zz) - t[idx]) * inv;
                    }
                }
                total / n
            }
            (loss, _) => panic!("{loss:?} got the wrong kind of targets (a programming error)"),
        }
    }

    /// Product of the Hessian of the loss with respect to the output pre-activations with
    /// `u` (both b×k), for a mean over `n_total` samples: softmax + cross-entropy gives
    /// `(diag(p) − ppᵀ)u/n`, sigmoid + binary cross-entropy `σ(1−σ)u/(n·k)`, squared error
    /// `2u/(n·k)`. These are positive semi-definite: the middle factor of the generalized
    /// Gauss–Newton matrix `JᵀHJ` (Schraudolph 2002).
    pub fn hessian_vec<T: Real>(self, z: &[T], k: usize, n_total: usize, u: &[T], out: &mut [T]) {
        match self {
            Loss::SquaredError => {
                let c = T::of(2.0 / (n_total * k) as f64);
                out.iter_mut().zip(u).for_each(|(o, v)| *o = c * *v);
            }
            Loss::BinaryCrossEntropy => {
                let c = T::of(1.0 / (n_total * k) as f64);
                for ((o, v), zz) in out.iter_mut().zip(u).zip(z) {
                    let s = super::activation::sigmoid(*zz);
                    *o = c * s * (T::one() - s) * *v;
                }
            }
            Loss::CrossEntropy => {
                let c = T::of(1.0 / n_total as f64);
                for ((zr, ur), or) in z.chunks(k).zip(u.chunks(k)).zip(out.chunks_mut(k)) {
                    let mut p: Vec<T> = zr.to_vec();
                    Loss::CrossEntropy.output(&mut p, k);
                    let pu = p.iter().zip(ur).fold(T::zero(), |s, (a, b)| s + *a * *b);
                    for ((o, pi), ui) in or.iter_mut().zip(&p).zip(ur) {
                        *o = c * *pi * (*ui - pu);
                    }
                }
            }
        }
    }

    /// Turns output pre-activations into outputs (probabilities for the cross-entropies).
    pub fn output<T: Real>(self, z: &mut [T], k: usize) {
        match self {
            Loss::SquaredError => {}
            Loss::BinaryCrossEntropy => z
                .iter_mut()
                .for_each(|v| *v = super::activation::sigmoid(*v)),
            Loss::CrossEntropy => {
                for row in z.chunks_mut(k) {
                    let max = row.iter().cloned().fold(T::neg_infinity(), T::max);
                    let mut sum = T::zero();
                    for v in row.iter_mut() {
                        *v = (*v - max).exp();
                        sum += *v;
                    }
                    row.iter_mut().for_each(|v| *v = *v / sum);
                }
            }
        }
    }
}

/// Targets of a batch.
#[derive(Clone, Copy, Debug)]
pub enum Targets<'a, T> {
    /// One class index per sample.
    Classes(&'a [u32]),
    /// batch×k values.
    Values(&'a [T]),
}
