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
                let (a, b, c) = row_major_operands(m, n, k, a, a_t, b, b_t, c);
                let accum = if acc { Accum::Add } else { Accum::Replace };
                // (Each part clears the vector state on the thread that ran it.)
                product_in_parts(c, accum, a, b, par.degree());
            }
        }
    };
}

/// The faer views of [`Real::gemm`]'s row-major slices: `op(a)` (m×k), `op(b)` (k×n) and
/// `c` (m×n).
#[allow(clippy::too_many_arguments)]
pub fn row_major_operands<'s, T>(
    m: usize,
    n: usize,
    k: usize,
    a: &'s [T],
    a_t: bool,
    b: &'s [T],
    b_t: bool,
    c: &'s mut [T],
) -> (MatRef<'s, T>, MatRef<'s, T>, MatMut<'s, T>) {
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
    (a, b, MatMut::from_row_major_slice_mut(c, m, n))
}

/// Rows or columns of a product's output per part, at least, when the product is split
/// across threads: a multiple of the kernels' register tiles.
const PART_ALIGN: usize = 64;

/// `c = a·b` (or `c += a·b`) on `threads` threads: the output is cut along its longer side
/// into one part per thread, each a one-thread product. faer's own split of a product
/// across two threads ran at 0.80–0.85 of this one's rate (f32, AVX-512, two cores,
/// measured side by side on the products of 784-2048-2048-10 at batch 512: 241–256 against
/// 285–312 GFLOP/s, one thread 148–152; `examples/gemm_split.rs`). An output too small to
/// cut into parts of [`PART_ALIGN`] is left to faer.
fn product_in_parts<T: faer::traits::ComplexField>(
    c: MatMut<'_, T>,
    accum: Accum,
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
    threads: usize,
) {
    let (m, n) = (c.nrows(), c.ncols());
    let longer = m.max(n);
    if threads <= 1 || longer < 2 * PART_ALIGN {
        let par = if threads > 1 {
            Par::rayon(threads)
        } else {
            Par::Seq
        };
        matmul(c, accum, a, b, T::one_impl(), par);
        // On whichever thread ran it.
        crate::simd::clear_upper_vector_state();
        return;
    }
    let first_threads = threads / 2;
    let cut = ((longer * first_threads / threads + PART_ALIGN / 2) / PART_ALIGN * PART_ALIGN)
        .clamp(PART_ALIGN, longer - PART_ALIGN);
    let ((c0, c1), (a0, a1), (b0, b1)) = if n >= m {
        (c.split_at_col_mut(cut), (a, a), b.split_at_col(cut))
    } else {
        (c.split_at_row_mut(cut), a.split_at_row(cut), (b, b))
    };
    rayon::join(
        || product_in_parts(c0, accum, a0, b0, first_threads),
        || product_in_parts(c1, accum, a1, b1, threads - first_threads),
    );
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

    #[test]
    fn product_split_across_threads_matches_one_thread() {
        // Outputs long in either direction, a cut that is not half (three threads), an
        // accumulating product, and transposed operands.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        for &(m, n, k, a_t, b_t, acc) in &[
            (300, 70, 33, false, false, false),
            (70, 301, 40, true, false, true),
            (200, 257, 17, false, true, true),
            (100, 100, 9, true, true, false),
        ] {
            let a: Vec<f64> = (0..m * k).map(|i| (i as f64 * 0.37).sin()).collect();
            let b: Vec<f64> = (0..k * n).map(|i| (i as f64 * 0.11).cos()).collect();
            let start: Vec<f64> = (0..m * n).map(|i| (i % 7) as f64).collect();
            let mut one = start.clone();
            f64::gemm(m, n, k, &a, a_t, &b, b_t, &mut one, acc, Par::Seq);
            let mut split = start.clone();
            pool.install(|| f64::gemm(m, n, k, &a, a_t, &b, b_t, &mut split, acc, Par::rayon(3)));
            let worst = one
                .iter()
                .zip(&split)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f64::max);
            assert!(worst < 1e-12, "{m}x{n}x{k}: {worst}");
            if !acc {
                assert!(split.iter().zip(&start).any(|(x, y)| (x - y).abs() > 1e-9));
            }
        }
    }
}
