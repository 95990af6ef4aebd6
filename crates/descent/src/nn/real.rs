//! The one small trait that makes networks work in `f32` and `f64`: elementary functions
//! (through `num-traits`) and the matrix product (through faer's GEMM).

use faer::{linalg::matmul::matmul, Accum, MatMut, MatRef, Par};
use num_traits::Float;

/// A floating-point type a network can compute in.
pub trait Real:
    Float + Default + Send + Sync + std::fmt::Debug + std::ops::AddAssign + Into<f64> + 'static
{
    /// Conversion from f64.
    fn of(v: f64) -> Self;
    /// Conversion to f64.
    fn f64(self) -> f64;
    /// Name ("f32" or "f64").
    const NAME: &'static str;
    /// The precision a step rule keeps its state in for a network of this type.
    const STATE: crate::update::StatePrecision;
    /// `x` itself, when this type is f64: the parameters and gradient need no conversion.
    fn same(x: &[f64]) -> Option<&[Self]>;
    /// `x` itself, when this type is f64 (mutable).
    fn same_mut(x: &mut [f64]) -> Option<&mut [Self]>;
    /// `v` itself as f32, when this type is f32 (mutable).
    fn as_f32_mut(v: &mut [Self]) -> Option<&mut [f32]>;
    /// `c = a·b` (or `c += a·b`), row-major slices, with optional transposes:
    /// `op(a)` is m×k, `op(b)` is k×n, `c` is m×n.
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        m: usize,
        n: usize,
        k: usize,
        a: &[Self],
        a_t: bool,
        b: &[Self],
        b_t: bool,
        c: &mut [Self],
        acc: bool,
        par: Par,
    );
}

macro_rules! impl_real {
    ($t:ty, $name:literal, $state:ident, $same:ident, $narrow:ident) => {
        impl Real for $t {
            const NAME: &'static str = $name;
            const STATE: crate::update::StatePrecision = crate::update::StatePrecision::$state;
            #[inline]
            fn same(x: &[f64]) -> Option<&[Self]> {
                $same!(x)
            }
            #[inline]
            fn same_mut(x: &mut [f64]) -> Option<&mut [Self]> {
                $same!(x)
            }
            #[inline]
            fn as_f32_mut(v: &mut [Self]) -> Option<&mut [f32]> {
                $narrow!(v)
            }
            #[inline]
            fn of(v: f64) -> Self {
                v as $t
            }
            #[inline]
            fn f64(self) -> f64 {
                self as f64
            }
            fn gemm(
                m: usize,
                n: usize,
                k: usize,
                a: &[Self],
                a_t: bool,
                b: &[Self],
                b_t: bool,
                c: &mut [Self],
                acc: bool,
                par: Par,
            ) {
                let a = if a_t {
                    MatRef::from_row_major_slice(a, k, m).transpose()
                } else {
                    MatRef::from_row_major_slice(a, m, k)
                };
                let b = if b_t {
                    MatRef::from_row_major_slice(b, n, k).transpose()
                } else {
                    MatRef::from_row_major_slice(b, k, n)
                };
                let c = MatMut::from_row_major_slice_mut(c, m, n);
                matmul(
                    c,
                    if acc { Accum::Add } else { Accum::Replace },
                    a,
                    b,
                    1.0 as $t,
                    par,
                );
                clear_upper_vector_state();
            }
        }
    };
}

/// Clears the upper halves of the vector registers (`vzeroupper`) after a product: faer
/// picks its kernels at run time (AVX2 or AVX-512 wherever the CPU has them), and they
/// leave that state dirty. The code that runs next — the C library's `expf`, `tanhf`, …
/// and our own element-wise loops, SSE-encoded when the crate is built for the baseline
/// x86-64 — then pays a state-transition penalty on every instruction (measured: a
/// 2-16-16-2 tanh network at batch 720 trained at 1/7 of its speed; MNIST's softmax in a
/// baseline build took 40 times as long). So the check is made at run time, not at
/// compile time: a dependency build or `cargo install` without `target-cpu=native` gets
/// it too.
#[inline]
fn clear_upper_vector_state() {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx") {
            // SAFETY: the CPU has AVX (checked just above).
            unsafe { zero_upper() }
        }
    }
}

/// `vzeroupper`: zeroes bits 128 and up of the vector registers, which no live value holds
/// between the Rust statements around the call.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn zero_upper() {
    std::arch::x86_64::_mm256_zeroupper();
}

/// `Some(x)`: the type is the one asked for (f64 for `same`, f32 for `as_f32_mut`).
macro_rules! itself {
    ($x:ident) => {
        Some($x)
    };
}
/// `None`: the type is not the one asked for.
macro_rules! not_itself {
    ($x:ident) => {{
        let _ = $x;
        None
    }};
}
impl_real!(f32, "f32", F32, not_itself, itself);
impl_real!(f64, "f64", F64, itself, not_itself);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemm_with_transposes_matches_naive() {
        let (m, n, k) = (3, 4, 5);
        let a: Vec<f64> = (0..m * k).map(|i| i as f64 * 0.3 - 1.0).collect();
        let b: Vec<f64> = (0..k * n).map(|i| (i as f64).sin()).collect();
        let naive =
            |a_at: &dyn Fn(usize, usize) -> f64, b_at: &dyn Fn(usize, usize) -> f64| -> Vec<f64> {
                let mut c = vec![0.0; m * n];
                for i in 0..m {
                    for j in 0..n {
                        c[i * n + j] = (0..k).map(|p| a_at(i, p) * b_at(p, j)).sum();
                    }
                }
                c
            };
        let mut c = vec![0.0; m * n];
        f64::gemm(m, n, k, &a, false, &b, false, &mut c, false, Par::Seq);
        let e = naive(&|i, p| a[i * k + p], &|p, j| b[p * n + j]);
        assert!(c.iter().zip(&e).all(|(x, y)| (x - y).abs() < 1e-12));
        // a stored as k×m (transposed), b stored as n×k (transposed).
        let at: Vec<f64> = (0..k * m).map(|i| i as f64 * 0.1).collect();
        let bt: Vec<f64> = (0..n * k).map(|i| (i as f64).cos()).collect();
        f64::gemm(m, n, k, &at, true, &bt, true, &mut c, false, Par::Seq);
        let e = naive(&|i, p| at[p * m + i], &|p, j| bt[j * k + p]);
        assert!(c.iter().zip(&e).all(|(x, y)| (x - y).abs() < 1e-12));
    }
}
