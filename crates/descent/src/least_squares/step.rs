//! The linear algebra of one step: minimize `‖J h + r‖² + μ‖D h‖²`.
//!
//! With the column scaling `h = D⁻¹z` this is `min ‖Js z + r‖² + μ‖z‖²`, `Js = J D⁻¹`,
//! whose normal equations `(JsᵀJs + μI) z = −Jsᵀr` are solved by Cholesky when their
//! condition number (estimated from the Cholesky diagonal) is below 10¹⁰, else by QR of the
//! augmented matrix `[Js; √μ I]` (Householder, through faer), which squares nothing.

use crate::linalg::DenseMatrix;
use faer::linalg::solvers::SolveLstsq;
use faer::Mat;

/// Largest condition number of the normal equations that Cholesky may solve.
const MAX_NORMAL_CONDITION: f64 = 1e10;

/// Rows and columns of the block of `JᵀJ` accumulated at once: 4×8 sums stay in eight
/// AVX2 registers while the rows of J stream past.
const GRAM_BLOCK_ROWS: usize = 4;
const GRAM_BLOCK_COLS: usize = 8;

/// Columns of J from which `JᵀJ` is formed in tiles of matrix products across the
/// threads (`gram_in_tiles`): below, the entry-by-entry sums, whose rounding the small
/// problems (NIST StRD, the method matrix, the distributed runs' tests) keep.
const GRAM_TILES_FROM: usize = 128;

/// Rows and columns of a tile of `JᵀJ` in `gram_in_tiles`.
const GRAM_TILE: usize = 128;

/// `JᵀJ` of a finite J. With fewer than `GRAM_TILES_FROM` columns each entry is summed
/// over the rows of J in order (so the result does not depend on the blocking); its lower
/// triangle is computed in 4×8 blocks, then mirrored. Wider J: `gram_in_tiles`.
pub fn gram(j: &DenseMatrix) -> DenseMatrix {
    gram_into(j, Vec::new())
}

/// [`gram`] written into `storage` (its contents stale, its allocation reused): a caller
/// that forms many Gram matrices of thousands of columns (a network's leaves, at every
/// evaluation) would otherwise have fresh pages zeroed by the kernel for each.
pub fn gram_into(j: &DenseMatrix, mut storage: Vec<f64>) -> DenseMatrix {
    let n = j.cols;
    // Every entry is written below (the lower triangle, then its mirror).
    storage.truncate(n * n);
    storage.resize(n * n, 0.0);
    let mut a = DenseMatrix {
        rows: n,
        cols: n,
        data: storage,
    };
    if n >= GRAM_TILES_FROM {
        gram_in_tiles_into(
            faer::MatRef::from_row_major_slice(&j.data, j.rows, n),
            &mut a,
        );
        return a;
    }
    for ib in (0..n).step_by(GRAM_BLOCK_ROWS) {
        let ie = (ib + GRAM_BLOCK_ROWS).min(n);
        for kb in (0..ie).step_by(GRAM_BLOCK_COLS) {
            if ie - ib == GRAM_BLOCK_ROWS && kb + GRAM_BLOCK_COLS <= n {
                gram_block(j, ib, kb, &mut a);
            } else {
                // An edge block, entry by entry (in the same order).
                for i in ib..ie {
                    for k in kb..(kb + GRAM_BLOCK_COLS).min(i + 1) {
                        let mut sum = 0.0;
                        for row in 0..j.rows {
                            sum += j.data[row * n + i] * j.data[row * n + k];
                        }
                        a.data[i * n + k] = sum;
                    }
                }
            }
        }
    }
    for i in 0..n {
        for k in 0..i {
            a.data[k * n + i] = a.data[i * n + k];
        }
    }
    a
}

/// `JᵀJ` of a wide J (a network's Jacobian: thousands of weights, as many residuals or
/// more; or `JJᵀ` of a long one, given `Jᵀ`): its lower triangle in tiles of
/// [`GRAM_TILE`]² entries, each `J_Iᵀ J_K` one one-thread product of faer's kernels
/// (blocked, vectorized, fused multiply-adds) over all the rows, the bands of tiles spread
/// over the threads, then mirrored. A tile's
/// shape alone sets its arithmetic, so the result is the same on any number of threads
/// and in every worker of a distributed run. Measured: a 784-2-10 squared-error network
/// (1 600 weights) on 500 MNIST rows spent 79 % of its Levenberg–Marquardt time in the
/// entry-by-entry sums on one thread.
fn gram_in_tiles(jm: faer::MatRef<'_, f64>) -> DenseMatrix {
    let mut a = DenseMatrix::zeros(jm.ncols(), jm.ncols());
    gram_in_tiles_into(jm, &mut a);
    a
}

/// `gram_in_tiles` into `a` (n × n; every entry written).
fn gram_in_tiles_into(jm: faer::MatRef<'_, f64>, a: &mut DenseMatrix) {
    use faer::linalg::matmul::matmul;
    use faer::{Accum, MatMut, Par};
    use rayon::prelude::*;
    let n = jm.ncols();
    debug_assert_eq!((a.rows, a.cols), (n, n));
    a.data
        .par_chunks_mut(GRAM_TILE * n)
        .enumerate()
        .for_each(|(band, rows)| {
            let i0 = band * GRAM_TILE;
            let height = rows.len() / n;
            let mut out = MatMut::from_row_major_slice_mut(rows, height, n);
            let left = jm.subcols(i0, height).transpose();
            for k0 in (0..i0 + height).step_by(GRAM_TILE) {
                let width = GRAM_TILE.min(n - k0);
                matmul(
                    out.as_mut().subcols_mut(k0, width),
                    Accum::Replace,
                    left,
                    jm.subcols(k0, width),
                    1.0,
                    Par::Seq,
                );
            }
            crate::simd::clear_upper_vector_state();
        });
    for i in 0..n {
        for k in i + 1..n {
            a.data[i * n + k] = a.data[k * n + i];
        }
    }
}

/// Rows `ib..ib+4`, columns `kb..kb+8` of `JᵀJ` into `a` (the entries above the
/// diagonal are computed too, and left for the mirror to overwrite).
fn gram_block(j: &DenseMatrix, ib: usize, kb: usize, a: &mut DenseMatrix) {
    let n = j.cols;
    let mut sums = [[0.0f64; GRAM_BLOCK_COLS]; GRAM_BLOCK_ROWS];
    for row in j.data.chunks_exact(n) {
        let cols: &[f64; GRAM_BLOCK_COLS] = row[kb..kb + GRAM_BLOCK_COLS]
            .try_into()
            .expect("a full block");
        for (r, sum) in sums.iter_mut().enumerate() {
            let v = row[ib + r];
            for (s, c) in sum.iter_mut().zip(cols) {
                *s += v * c;
            }
        }
    }
    for (r, sum) in sums.iter().enumerate() {
        let i = ib + r;
        let end = (kb + GRAM_BLOCK_COLS).min(i + 1);
        if kb < end {
            a.data[i * n + kb..i * n + end].copy_from_slice(&sum[..end - kb]);
        }
    }
}

/// Solves for the scaled step `z` (then `h = z ./ d`). `js` is `J` with columns divided
/// by `d`. Returns `None` when the system is singular (μ = 0 and rank-deficient `J`).
pub fn scaled_step(js: &DenseMatrix, r: &[f64], mu: f64) -> Option<Vec<f64>> {
    let (m, n) = (js.rows, js.cols);
    if m < n && mu > 0.0 {
        if let Some(z) = dual_step(js, r, mu) {
            return Some(z);
        }
    }
    scaled_step_with(js, r, mu, &NormalEquations::new(js, r))
}

/// [`scaled_step`] with the normal equations of `js` and `r` already formed (for m ≥ n:
/// Levenberg–Marquardt tries several μ at one point, and forms them once there).
pub fn scaled_step_with(
    js: &DenseMatrix,
    r: &[f64],
    mu: f64,
    normal: &NormalEquations,
) -> Option<Vec<f64>> {
    normal.solve(mu).or_else(|| qr_step(js, r, mu))
}

/// The normal equations `JsᵀJs z = −Jsᵀr` of one point, without the damping.
#[derive(Clone, Debug)]
pub struct NormalEquations {
    a: DenseMatrix,
    b: Vec<f64>,
}

impl NormalEquations {
    /// Forms `JsᵀJs` and `−Jsᵀr`.
    pub fn new(js: &DenseMatrix, r: &[f64]) -> Self {
        let mut b = vec![0.0; js.cols];
        js.tr_mul_vec(r, &mut b);
        b.iter_mut().for_each(|v| *v = -*v);
        NormalEquations { a: gram(js), b }
    }

    /// The normal equations from `JᵀJ` and `Jᵀr` formed elsewhere (summed across workers),
    /// scaled by the columns' `d`: `JsᵀJs = D⁻¹JᵀJD⁻¹`, `Jsᵀr = D⁻¹Jᵀr`.
    pub fn from_parts(jtj: DenseMatrix, jtr: &[f64], d: &[f64]) -> Self {
        let n = jtr.len();
        let mut a = jtj;
        for i in 0..n {
            for k in 0..n {
                a.data[i * n + k] /= d[i] * d[k];
            }
        }
        let b = jtr.iter().zip(d).map(|(v, di)| -v / di).collect();
        NormalEquations { a, b }
    }

    /// `z` with `(JsᵀJs + μI) z = −Jsᵀr` by Cholesky; `None` when the system's condition
    /// number is above 10¹⁰ (the caller then solves by QR).
    pub fn solve(&self, mu: f64) -> Option<Vec<f64>> {
        let (z, cond) = crate::linalg::shifted_cholesky_solve_with_condition(&self.a, mu, &self.b)?;
        (cond <= MAX_NORMAL_CONDITION).then_some(z)
    }
}

/// Fewer residuals than parameters (a network with more weights than its data has
/// outputs): `z = −Jsᵀu` with `(JsJsᵀ + μI)u = r`, an m×m system instead of n×n — the
/// same step, since `(JsᵀJs + μI)Jsᵀ = Jsᵀ(JsJsᵀ + μI)`. `None` when it is too
/// ill-conditioned for Cholesky (the caller then takes the QR path).
fn dual_step(js: &DenseMatrix, r: &[f64], mu: f64) -> Option<Vec<f64>> {
    let (m, n) = (js.rows, js.cols);
    let mut a = if m >= GRAM_TILES_FROM {
        gram_in_tiles(faer::MatRef::from_row_major_slice(&js.data, m, n).transpose())
    } else {
        let mut a = DenseMatrix::zeros(m, m);
        for i in 0..m {
            for k in 0..=i {
                let v = crate::linalg::dot(js.row(i), js.row(k));
                a.data[i * m + k] = v;
                a.data[k * m + i] = v;
            }
        }
        a
    };
    for i in 0..m {
        a.data[i * m + i] += mu;
    }
    let (u, cond) = crate::linalg::cholesky_solve_with_condition(&a, r)?;
    if cond > MAX_NORMAL_CONDITION {
        return None;
    }
    let mut z = vec![0.0; n];
    js.tr_mul_vec(&u, &mut z);
    z.iter_mut().for_each(|v| *v = -*v);
    Some(z)
}

/// Least-squares solve of `[Js; √μ I] z ≈ [−r; 0]` by column-pivoted QR.
fn qr_step(js: &DenseMatrix, r: &[f64], mu: f64) -> Option<Vec<f64>> {
    let (m, n) = (js.rows, js.cols);
    let sq = mu.max(0.0).sqrt();
    let aug = Mat::from_fn(m + n, n, |i, j| {
        if i < m {
            js.get(i, j)
        } else if i - m == j {
            sq
        } else {
            0.0
        }
    });
    let rhs = Mat::from_fn(m + n, 1, |i, _| if i < m { -r[i] } else { 0.0 });
    let qr = aug.col_piv_qr();
    // A rank-deficient system shows as a negligible diagonal of R.
    let rdiag: Vec<f64> = {
        let rr = qr.R();
        (0..n).map(|i| rr[(i, i)].abs()).collect()
    };
    let rmax = rdiag.iter().cloned().fold(0.0, f64::max);
    if rdiag.iter().any(|d| *d <= 1e-14 * rmax) || rmax == 0.0 {
        return None;
    }
    let sol = qr.solve_lstsq(&rhs);
    let z: Vec<f64> = (0..n).map(|i| sol[(i, 0)]).collect();
    crate::linalg::all_finite(&z).then_some(z)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_blocked_gram_is_the_plain_sum_bit_for_bit() {
        // Sizes around the 4×8 blocks, each entry against Σ_rows in order.
        for (m, n) in [(1, 1), (3, 5), (7, 8), (9, 12), (33, 16), (5, 19), (40, 31)] {
            let mut j = DenseMatrix::zeros(m, n);
            for (i, v) in j.data.iter_mut().enumerate() {
                *v = ((i * 7919 % 101) as f64 - 50.0) / 7.0 + 1e-3 * i as f64;
            }
            let a = gram(&j);
            for i in 0..n {
                for k in 0..n {
                    let mut sum = 0.0;
                    for row in 0..m {
                        sum += j.get(row, i.max(k)) * j.get(row, i.min(k));
                    }
                    assert_eq!(a.get(i, k).to_bits(), sum.to_bits(), "{m}×{n} ({i}, {k})");
                }
            }
        }
    }

    #[test]
    fn the_tiled_gram_is_the_sum_to_rounding_and_the_same_on_any_number_of_threads() {
        // Widths at, between and past the tiles (an edge tile of 3 columns), rows more and
        // fewer than the columns; symmetric, each entry Σ_rows to rounding, and the same
        // bits on one thread and on three.
        for (m, n) in [(300, GRAM_TILES_FROM), (90, 2 * GRAM_TILE + 3), (700, 260)] {
            let mut j = DenseMatrix::zeros(m, n);
            for (i, v) in j.data.iter_mut().enumerate() {
                *v = ((i * 7919 % 101) as f64 - 50.0) / 7.0 + 1e-3 * (i % 977) as f64;
            }
            let one = rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .build()
                .unwrap();
            let three = rayon::ThreadPoolBuilder::new()
                .num_threads(3)
                .build()
                .unwrap();
            let a = one.install(|| gram(&j));
            let b = three.install(|| gram(&j));
            assert!(a
                .data
                .iter()
                .zip(&b.data)
                .all(|(x, y)| x.to_bits() == y.to_bits()));
            for i in 0..n {
                for k in 0..n {
                    let (mut sum, mut size) = (0.0, 0.0);
                    for row in 0..m {
                        sum += j.get(row, i) * j.get(row, k);
                        size += (j.get(row, i) * j.get(row, k)).abs();
                    }
                    let got = a.get(i, k);
                    assert!((got - sum).abs() <= 1e-13 * size, "{m}×{n} ({i}, {k})");
                    assert_eq!(got.to_bits(), a.get(k, i).to_bits());
                }
            }
        }
    }

    #[test]
    fn cholesky_and_qr_paths_agree() {
        let js = DenseMatrix {
            rows: 4,
            cols: 2,
            data: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.5, 7.0, 8.0],
        };
        let r = [1.0, -1.0, 0.5, 2.0];
        for mu in [0.0, 1e-3, 10.0] {
            let z1 = scaled_step(&js, &r, mu).unwrap();
            let z2 = qr_step(&js, &r, mu).unwrap();
            for (a, b) in z1.iter().zip(&z2) {
                assert!(
                    (a - b).abs() < 1e-10 * a.abs().max(1.0),
                    "mu={mu}: {a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn the_dual_step_of_a_long_system_in_tiles_is_the_qr_step() {
        // Fewer residuals than parameters, past the tiles' threshold both ways.
        for (m, n) in [(GRAM_TILES_FROM + 5, 2 * GRAM_TILE + 40), (20, 50)] {
            let mut js = DenseMatrix::zeros(m, n);
            for (i, v) in js.data.iter_mut().enumerate() {
                *v = ((i * 7919 % 101) as f64 - 50.0) / 40.0;
            }
            let r: Vec<f64> = (0..m).map(|i| (i as f64 * 0.7).cos()).collect();
            for mu in [1e-2, 10.0] {
                let z1 = dual_step(&js, &r, mu).unwrap();
                let z2 = qr_step(&js, &r, mu).unwrap();
                let scale = z2.iter().fold(0.0f64, |a, v| a.max(v.abs()));
                for (a, b) in z1.iter().zip(&z2) {
                    assert!((a - b).abs() < 1e-9 * scale, "{m}×{n}, mu={mu}: {a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn rank_deficient_without_damping_is_none() {
        let js = DenseMatrix {
            rows: 3,
            cols: 2,
            data: vec![1.0, 2.0, 2.0, 4.0, 3.0, 6.0],
        };
        assert!(scaled_step(&js, &[1.0, 1.0, 1.0], 0.0).is_none());
        assert!(scaled_step(&js, &[1.0, 1.0, 1.0], 1e-3).is_some());
    }
}

#[cfg(test)]
mod dual_tests {
    use super::*;

    #[test]
    fn the_dual_step_is_the_primal_step() {
        // 3 residuals, 6 parameters: the m×m system gives the n×n (QR) solution.
        let mut js = DenseMatrix::zeros(3, 6);
        for (i, v) in js.data.iter_mut().enumerate() {
            *v = ((i * 7919 % 13) as f64 - 6.0) / 3.0;
        }
        let r = [0.5, -1.25, 2.0];
        for mu in [1e-3, 0.1, 10.0] {
            let dual = dual_step(&js, &r, mu).expect("well conditioned");
            let primal = qr_step(&js, &r, mu).expect("full rank with damping");
            for (a, b) in dual.iter().zip(&primal) {
                assert!(
                    (a - b).abs() <= 1e-12 * (1.0 + b.abs()),
                    "{dual:?} vs {primal:?}"
                );
            }
        }
    }
}
