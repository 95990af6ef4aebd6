//! Small dense vector helpers and the factorizations the methods need (through `faer`).
//!
//! Vectors are plain slices. Matrices are row-major [`DenseMatrix`]; factorizations are
//! delegated to faer, and no method forms an explicit inverse.

use faer::linalg::solvers::Solve;
use faer::{Mat, Side};

/// Vectors at least this long are split across threads in [`CHUNK`]-sized pieces (2 MiB
/// a pair of vectors: large enough that each piece pays for its hand-off to the pool).
/// Shorter ones are summed in element order, so that every result below this length is
/// bitwise that of the plain loop (the golden method matrix and the MGH counts rely on it).
pub const PARALLEL_LEN: usize = 1 << 17;

/// The pieces of a long vector: 64 KiB of f64, a few of them fit in the L2 cache.
pub const CHUNK: usize = 1 << 13;

/// Dot product: in element order below [`PARALLEL_LEN`]; above it, each chunk summed in
/// eight lanes and the chunks' sums added in chunk order (the same value on any number of
/// threads).
#[inline]
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    debug_assert_eq!(a.len(), b.len());
    if a.len() >= PARALLEL_LEN {
        return in_chunks(a.len(), |r| {
            crate::simd::vectorized(
                #[inline(always)]
                || lane_dot(&a[r.clone()], &b[r]),
            )
        });
    }
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The dot product of every pair, bitwise what [`dot`] gives for each, in one pass over
/// memory: above [`PARALLEL_LEN`] each chunk's vectors are read from memory once and the
/// pairs' products taken while they are in cache (the chunks' sums then added in chunk
/// order, as [`dot`] does). So k vectors paired in many ways are streamed once, not once
/// a pair.
pub fn dots(pairs: &[(&[f64], &[f64])]) -> Vec<f64> {
    use rayon::prelude::*;
    let n = pairs.first().map_or(0, |p| p.0.len());
    debug_assert!(pairs.iter().all(|p| p.0.len() == n && p.1.len() == n));
    if n < PARALLEL_LEN {
        return pairs.iter().map(|(a, b)| dot(a, b)).collect();
    }
    let parts: Vec<Vec<f64>> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| lane_dots(pairs, c * CHUNK..((c + 1) * CHUNK).min(n)))
        .collect();
    (0..pairs.len())
        .map(|i| parts.iter().map(|p| p[i]).sum())
        .collect()
}

/// Sums `piece(range)` over the [`CHUNK`]-sized ranges of `0..n`, in parallel, adding the
/// pieces' values in order.
pub fn in_chunks(n: usize, piece: impl Fn(std::ops::Range<usize>) -> f64 + Sync) -> f64 {
    use rayon::prelude::*;
    let parts: Vec<f64> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| piece(c * CHUNK..((c + 1) * CHUNK).min(n)))
        .collect();
    parts.iter().sum()
}

crate::simd::kernel! {
    /// `aᵀb` summed in sixteen lanes (four vector registers of additions in flight, so
    /// that their latency does not bound the loop; a fixed order for a given length).
    pub(crate) fn lane_dot(a: &[f64], b: &[f64]) -> f64 {
        const LANES: usize = 16;
        let mut acc = [0.0f64; LANES];
        let (ac, bc) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
        let tail: f64 = ac.remainder().iter().zip(bc.remainder()).map(|(x, y)| x * y).sum();
        for (x, y) in ac.zip(bc) {
            for i in 0..LANES {
                acc[i] += x[i] * y[i];
            }
        }
        lane_total(&acc) + tail
    }
}

/// Elements of each vector [`lane_dots`] reads at a time: 2 KiB, so that the pieces of
/// some twenty vectors stay in the L1 cache while every pair is multiplied.
const DOTS_BLOCK: usize = 256;

crate::simd::kernel! {
    /// [`lane_dot`] of every pair over `r`, bitwise (each pair's sixteen lanes take their
    /// elements in the same order), with the range walked in blocks of [`DOTS_BLOCK`] so
    /// that each vector is read from memory once however many pairs it is in: taken pair
    /// by pair, a chunk of twenty vectors does not fit in the L2 cache and is read again
    /// for every pair.
    fn lane_dots(pairs: &[(&[f64], &[f64])], r: std::ops::Range<usize>) -> Vec<f64> {
        const LANES: usize = 16;
        let mut acc = vec![[0.0f64; LANES]; pairs.len()];
        let whole = r.start + (r.len() - r.len() % LANES);
        let mut start = r.start;
        while start < whole {
            let end = (start + DOTS_BLOCK).min(whole);
            for ((a, b), acc) in pairs.iter().zip(acc.iter_mut()) {
                for (x, y) in a[start..end].chunks_exact(LANES).zip(b[start..end].chunks_exact(LANES)) {
                    for i in 0..LANES {
                        acc[i] += x[i] * y[i];
                    }
                }
            }
            start = end;
        }
        pairs
            .iter()
            .zip(&acc)
            .map(|((a, b), acc)| {
                let tail: f64 = a[whole..r.end].iter().zip(&b[whole..r.end]).map(|(x, y)| x * y).sum();
                lane_total(acc) + tail
            })
            .collect()
    }
}

/// The sum of sixteen lanes, pairwise.
#[inline(always)]
pub(crate) fn lane_total(acc: &[f64; 16]) -> f64 {
    let mut half = [0.0; 8];
    for i in 0..8 {
        half[i] = acc[i] + acc[i + 8];
    }
    let quarter = [
        half[0] + half[4],
        half[1] + half[5],
        half[2] + half[6],
        half[3] + half[7],
    ];
    (quarter[0] + quarter[2]) + (quarter[1] + quarter[3])
}

/// Euclidean norm.
#[inline]
pub fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

/// The sign of `v`, with sign(0) = 0 (as torch's and MATLAB's).
#[inline]
pub fn sign(v: f64) -> f64 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// Max-norm ‖a‖∞.
#[inline]
pub fn norm_inf(a: &[f64]) -> f64 {
    if a.len() >= PARALLEL_LEN {
        // A maximum is exact in any order: the same value as the loop below.
        use rayon::prelude::*;
        return a.par_chunks(CHUNK).map(norm_inf).reduce(|| 0.0, f64::max);
    }
    // Eight independent maxima, so that the loop vectorizes; a maximum is exact in any
    // order. NaN entries are skipped, as `f64::max` does.
    let mut m = [0.0f64; 8];
    let chunks = a.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for (mi, v) in m.iter_mut().zip(c) {
            *mi = mi.max(v.abs());
        }
    }
    let m = m.iter().fold(0.0f64, |a, b| a.max(*b));
    rest.iter().fold(m, |m, v| m.max(v.abs()))
}

/// `y += a·x`.
#[inline]
pub fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    if y.len() >= PARALLEL_LEN {
        use rayon::prelude::*;
        y.par_chunks_mut(CHUNK)
            .zip(x.par_chunks(CHUNK))
            .for_each(|(yc, xc)| axpy(a, xc, yc));
        return;
    }
    crate::simd::vectorized(
        #[inline(always)]
        || {
            for (yi, xi) in y.iter_mut().zip(x) {
                *yi += a * xi;
            }
        },
    )
}

/// `y += a·x`, then `zᵀy` of the new `y`: bitwise [`axpy`] then [`dot`], but above
/// [`PARALLEL_LEN`] in one pass over memory (each chunk of `y` is updated and multiplied
/// while it is in cache), for recursions whose next product is with the vector just
/// updated.
pub fn axpy_dot(a: f64, x: &[f64], y: &mut [f64], z: &[f64]) -> f64 {
    if y.len() < PARALLEL_LEN {
        axpy(a, x, y);
        return dot(z, y);
    }
    use rayon::prelude::*;
    let parts: Vec<f64> = y
        .par_chunks_mut(CHUNK)
        .zip(x.par_chunks(CHUNK).zip(z.par_chunks(CHUNK)))
        .map(|(yc, (xc, zc))| {
            axpy(a, xc, yc);
            crate::simd::vectorized(
                #[inline(always)]
                || lane_dot(zc, yc),
            )
        })
        .collect();
    parts.iter().sum()
}

/// `y += x`.
pub fn add_assign(y: &mut [f64], x: &[f64]) {
    crate::simd::vectorized(
        #[inline(always)]
        || y.iter_mut().zip(x).for_each(|(y, x)| *y += x),
    )
}

/// `x *= a`.
pub fn scale(a: f64, x: &mut [f64]) {
    if x.len() >= PARALLEL_LEN {
        use rayon::prelude::*;
        x.par_chunks_mut(CHUNK).for_each(|c| scale(a, c));
        return;
    }
    crate::simd::vectorized(
        #[inline(always)]
        || x.iter_mut().for_each(|v| *v *= a),
    )
}

/// `x /= a` (a division, not a product with 1/a, so that the bits are the plain loop's).
pub fn divide(x: &mut [f64], a: f64) {
    if x.len() >= PARALLEL_LEN {
        use rayon::prelude::*;
        x.par_chunks_mut(CHUNK).for_each(|c| divide(c, a));
        return;
    }
    crate::simd::vectorized(
        #[inline(always)]
        || x.iter_mut().for_each(|v| *v /= a),
    )
}

/// True when every entry is finite.
pub fn all_finite(a: &[f64]) -> bool {
    if a.len() >= PARALLEL_LEN {
        use rayon::prelude::*;
        return a.par_chunks(CHUNK).all(all_finite);
    }
    // Blocks without early exit vectorize; the exit is per block.
    a.chunks(256)
        .all(|c| c.iter().fold(true, |ok, v| ok & v.is_finite()))
}

/// `‖g‖∞` in one pass (chunks in parallel), or `None` when an entry is not finite (of f64
/// values, or of an f32 network's gradient).
pub fn finite_norm_inf<F: num_traits::Float + Into<f64> + Sync>(g: &[F]) -> Option<f64> {
    use rayon::prelude::*;
    let parts: Vec<(f64, bool)> = g
        .par_chunks(1 << 13)
        .map(|c| {
            crate::simd::vectorized(
                #[inline(always)]
                || finite_norm_inf_chunk(c),
            )
        })
        .collect();
    finite_norm_of_parts(&parts)
}

/// Scales `g` by `s` and returns the scaled `‖g‖∞` in the same pass (chunks in parallel),
/// or `None` when an entry is not finite.
pub fn scale_finite_norm_inf(g: &mut [f64], s: f64) -> Option<f64> {
    use rayon::prelude::*;
    let parts: Vec<(f64, bool)> = g
        .par_chunks_mut(1 << 13)
        .map(|c| scale_finite_norm_inf_chunk(c, s))
        .collect();
    finite_norm_of_parts(&parts)
}

crate::simd::kernel! {
    /// [`scale_finite_norm_inf`] of one chunk.
    fn scale_finite_norm_inf_chunk(c: &mut [f64], s: f64) -> (f64, bool) {
        c.iter_mut().for_each(|v| *v *= s);
        finite_norm_inf_chunk(c)
    }
}

/// `‖g‖∞` from its chunks' `(max |gᵢ|, all finite)`, or `None` when an entry is not
/// finite.
pub(crate) fn finite_norm_of_parts(parts: &[(f64, bool)]) -> Option<f64> {
    let ok = parts.iter().all(|p| p.1);
    ok.then(|| parts.iter().fold(0.0, |m, p| p.0.max(m)))
}

/// `(max |gᵢ|, all finite)` of one chunk, in sixteen independent lanes.
///
/// Both halves are branch-free lane updates, so the loop is a few vector instructions per
/// lane group: the maximum is a plain compare-and-select (one `maxp`; a NaN leaves the lane
/// as it was), and finiteness is carried as a number, `Σ gᵢ·0`, which stays zero until an
/// infinity or a NaN makes it NaN. (A `bool` and-ed per entry made the compiler reduce the
/// lanes' comparison masks on every group, which cost more than the rest of the pass.)
#[inline(always)]
pub(crate) fn finite_norm_inf_chunk<F: num_traits::Float + Into<f64>>(g: &[F]) -> (f64, bool) {
    const LANES: usize = 16;
    let (mut top, mut poison) = ([F::zero(); LANES], [F::zero(); LANES]);
    let groups = g.chunks_exact(LANES);
    let rest = groups.remainder();
    for c in groups {
        for i in 0..LANES {
            let a = c[i].abs();
            top[i] = if a > top[i] { a } else { top[i] };
            poison[i] = poison[i] + c[i] * F::zero();
        }
    }
    let mut m = top.iter().fold(F::zero(), |a, b| a.max(*b));
    let mut ok = poison.iter().all(|p| *p == F::zero());
    for v in rest {
        m = m.max(v.abs());
        ok &= v.is_finite();
    }
    (m.into(), ok)
}

/// A dense row-major matrix.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DenseMatrix {
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// Entries, row-major.
    pub data: Vec<f64>,
}

impl DenseMatrix {
    /// An all-zero matrix.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        DenseMatrix {
            rows,
            cols,
            data: vec![0.0; rows * cols],
        }
    }
    /// The identity.
    pub fn identity(n: usize) -> Self {
        let mut m = Self::zeros(n, n);
        for i in 0..n {
            m.set(i, i, 1.0);
        }
        m
    }
    /// Entry (i, j).
    #[inline]
    pub fn get(&self, i: usize, j: usize) -> f64 {
        self.data[i * self.cols + j]
    }
    /// Sets entry (i, j).
    #[inline]
    pub fn set(&mut self, i: usize, j: usize, v: f64) {
        self.data[i * self.cols + j] = v;
    }
    /// Row `i` as a slice.
    #[inline]
    pub fn row(&self, i: usize) -> &[f64] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }
    /// `out = self · v`.
    pub fn mul_vec(&self, v: &[f64], out: &mut [f64]) {
        for (i, o) in out.iter_mut().enumerate().take(self.rows) {
            *o = dot(self.row(i), v);
        }
    }
    /// `out = selfᵀ · v`.
    pub fn tr_mul_vec(&self, v: &[f64], out: &mut [f64]) {
        out.iter_mut().for_each(|o| *o = 0.0);
        for (i, vi) in v.iter().enumerate().take(self.rows) {
            axpy(*vi, self.row(i), out);
        }
    }
    /// Frobenius norm.
    pub fn frobenius(&self) -> f64 {
        norm(&self.data)
    }
    /// Symmetrizes in place: `(A + Aᵀ)/2`.
    pub fn symmetrize(&mut self) {
        for i in 0..self.rows {
            for j in 0..i {
                let v = 0.5 * (self.get(i, j) + self.get(j, i));
                self.set(i, j, v);
                self.set(j, i, v);
            }
        }
    }
    fn to_faer(&self) -> Mat<f64> {
        Mat::from_fn(self.rows, self.cols, |i, j| self.get(i, j))
    }
}

/// Below this size a plain in-place Cholesky beats faer's blocked one (measured on
/// Newton steps for n = 2…100: faer's setup dominates for tiny matrices).
const SMALL_CHOLESKY: usize = 32;

/// Solves `A x = b` for symmetric positive definite `A` by Cholesky. `None` when `A` is
/// not (numerically) positive definite.
pub fn cholesky_solve(a: &DenseMatrix, b: &[f64]) -> Option<Vec<f64>> {
    if a.rows <= SMALL_CHOLESKY {
        return small_cholesky_solve(a, b);
    }
    faer_cholesky_solve(a, b)
}

/// Unblocked Cholesky–Banachiewicz factorization and two triangular solves.
fn small_cholesky_solve(a: &DenseMatrix, b: &[f64]) -> Option<Vec<f64>> {
    unblocked_cholesky_solve_with_condition(a, b).map(|(x, _)| x)
}

/// Order from which [`cholesky_solve_with_condition`] factorizes by faer's blocked
/// Cholesky: below, the unblocked loops, whose rounding the small problems keep (NIST
/// StRD, the method matrix); above, the n³/3 multiply-adds of a network's normal equations
/// (3 190 weights: 1.1·10¹⁰) run in faer's vectorized blocks instead of one dot product at
/// a time.
const BLOCKED_CHOLESKY_FROM: usize = 128;

/// Solves `A x = b` by a Cholesky factorization `A = LLᵀ` (unblocked below
/// `BLOCKED_CHOLESKY_FROM`, faer's blocked one from there) and returns `x` with the
/// estimate `(max Lᵢᵢ / min Lᵢᵢ)²` of cond(A). `None` when a pivot is not positive
/// beyond rounding (A is not numerically positive definite).
pub fn cholesky_solve_with_condition(a: &DenseMatrix, b: &[f64]) -> Option<(Vec<f64>, f64)> {
    if a.rows >= BLOCKED_CHOLESKY_FROM {
        blocked_cholesky_solve_with_condition(a, 0.0, b)
    } else {
        unblocked_cholesky_solve_with_condition(a, b)
    }
}

/// [`cholesky_solve_with_condition`] of `A + μI`, without a copy of `A` for the shift
/// where the factorization makes its own (each is n² values: a damped method tries several
/// μ on one `A`).
pub fn shifted_cholesky_solve_with_condition(
    a: &DenseMatrix,
    mu: f64,
    b: &[f64],
) -> Option<(Vec<f64>, f64)> {
    if a.rows >= BLOCKED_CHOLESKY_FROM {
        return blocked_cholesky_solve_with_condition(a, mu, b);
    }
    let mut shifted = a.clone();
    let n = a.rows;
    for i in 0..n {
        shifted.data[i * n + i] += mu;
    }
    unblocked_cholesky_solve_with_condition(&shifted, b)
}

/// [`cholesky_solve_with_condition`] by the unblocked Cholesky–Banachiewicz loops.
fn unblocked_cholesky_solve_with_condition(a: &DenseMatrix, b: &[f64]) -> Option<(Vec<f64>, f64)> {
    let n = a.rows;
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut sum = a.get(i, j);
            for k in 0..j {
                sum -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                // Same acceptance as a pivot test: positive and not lost to rounding.
                if sum.is_nan() || sum <= f64::EPSILON * a.get(i, i).abs() {
                    return None;
                }
                l[i * n + i] = sum.sqrt();
            } else {
                l[i * n + j] = sum / l[j * n + j];
            }
        }
    }
    let (dmax, dmin) = (0..n)
        .map(|i| l[i * n + i])
        .fold((0.0f64, f64::INFINITY), |(hi, lo), d| {
            (hi.max(d), lo.min(d))
        });
    let mut x = b.to_vec();
    for i in 0..n {
        let mut v = x[i];
        for k in 0..i {
            v -= l[i * n + k] * x[k];
        }
        x[i] = v / l[i * n + i];
    }
    for i in (0..n).rev() {
        let mut v = x[i];
        for k in i + 1..n {
            v -= l[k * n + i] * x[k];
        }
        x[i] = v / l[i * n + i];
    }
    all_finite(&x).then_some((x, (dmax / dmin).powi(2)))
}

/// [`cholesky_solve_with_condition`] by faer's blocked factorization, with the same
/// acceptance of a pivot (`Lᵢᵢ² > ε·|aᵢᵢ|`) and the same estimate of the condition.
fn blocked_cholesky_solve_with_condition(
    a: &DenseMatrix,
    mu: f64,
    b: &[f64],
) -> Option<(Vec<f64>, f64)> {
    let shifted = |i: usize, j: usize| {
        if i == j {
            a.get(i, j) + mu
        } else {
            a.get(i, j)
        }
    };
    let llt = Mat::from_fn(a.rows, a.cols, shifted)
        .llt(Side::Lower)
        .ok()?;
    let l = llt.L();
    let (mut dmax, mut dmin) = (0.0f64, f64::INFINITY);
    for i in 0..a.rows {
        let d = l[(i, i)];
        // As the unblocked loops: the pivot L²ᵢᵢ positive and not lost to rounding.
        if d.is_nan() || d * d <= f64::EPSILON * shifted(i, i).abs() {
            return None;
        }
        (dmax, dmin) = (dmax.max(d), dmin.min(d));
    }
    Some((solve_factored(&llt, b)?, (dmax / dmin).powi(2)))
}

/// Cholesky through faer (blocked, for larger matrices).
pub fn faer_cholesky_solve(a: &DenseMatrix, b: &[f64]) -> Option<Vec<f64>> {
    solve_factored(&a.to_faer().llt(Side::Lower).ok()?, b)
}

/// `x` with `LLᵀx = b` from faer's factorization; `None` when an entry is not finite.
fn solve_factored(llt: &faer::linalg::solvers::Llt<f64>, b: &[f64]) -> Option<Vec<f64>> {
    let mut rhs = Mat::from_fn(b.len(), 1, |i, _| b[i]);
    llt.solve_in_place(rhs.as_mut());
    let x: Vec<f64> = (0..b.len()).map(|i| rhs[(i, 0)]).collect();
    all_finite(&x).then_some(x)
}

/// Solves `(A + τI) x = b` with the smallest τ ≥ 0 from the sequence of Nocedal & Wright,
/// *Numerical Optimization* (2nd ed.), Algorithm 3.3 ("Cholesky with added multiple of the
/// identity") that makes `A + τI` positive definite. Returns `(x, τ)`.
///
/// This is how Newton's method stays a descent method when the Hessian is indefinite.
/// β = 10⁻³·max(1, max|aᵢᵢ|) scales N&W's β = 10⁻³ to the matrix.
pub fn shifted_cholesky_solve(a: &DenseMatrix, b: &[f64]) -> Option<(Vec<f64>, f64)> {
    let n = a.rows;
    let min_diag = (0..n).map(|i| a.get(i, i)).fold(f64::INFINITY, f64::min);
    let max_diag = (0..n).map(|i| a.get(i, i).abs()).fold(0.0, f64::max);
    let beta = 1e-3 * max_diag.max(1e-8 * a.frobenius()).max(f64::MIN_POSITIVE);
    let mut tau = if min_diag > 0.0 {
        0.0
    } else {
        -min_diag + beta
    };
    let mut shifted = a.clone();
    for _ in 0..80 {
        for i in 0..n {
            shifted.set(i, i, a.get(i, i) + tau);
        }
        if let Some(x) = cholesky_solve(&shifted, b) {
            return Some((x, tau));
        }
        tau = (2.0 * tau).max(beta);
    }
    None
}

/// An LU factorization with full pivoting of a small square matrix, for the indefinite
/// systems of the compact limited-memory representation (L-BFGS-B).
pub struct Lu(faer::linalg::solvers::FullPivLu<f64>);

impl Lu {
    /// Factorizes `a` (square).
    pub fn new(a: &DenseMatrix) -> Lu {
        Lu(a.to_faer().full_piv_lu())
    }
    /// Solves `A x = b`; `None` when the solution is not finite (A singular to working
    /// precision).
    pub fn solve(&self, b: &[f64]) -> Option<Vec<f64>> {
        let rhs = Mat::from_fn(b.len(), 1, |i, _| b[i]);
        let x = self.0.solve(&rhs);
        let x: Vec<f64> = (0..b.len()).map(|i| x[(i, 0)]).collect();
        all_finite(&x).then_some(x)
    }
}

/// The upper-triangular `R` with `RᵀR = A` (Cholesky), or `None` when `A` is not
/// numerically positive definite.
pub fn cholesky_factor(a: &DenseMatrix) -> Option<DenseMatrix> {
    let llt = a.to_faer().llt(Side::Lower).ok()?;
    let l = llt.L();
    let n = a.rows;
    let mut r = DenseMatrix::zeros(n, n);
    for i in 0..n {
        for j in 0..=i {
            r.set(j, i, l[(i, j)]);
        }
    }
    all_finite(&r.data).then_some(r)
}

/// Symmetric eigendecomposition `A = QΛQᵀ`: eigenvalues ascending and the eigenvectors
/// as the columns of Q.
pub fn symmetric_eigen(a: &DenseMatrix) -> Option<(Vec<f64>, DenseMatrix)> {
    let evd = a.to_faer().self_adjoint_eigen(Side::Lower).ok()?;
    let n = a.rows;
    let s = evd.S().column_vector();
    let values: Vec<f64> = (0..n).map(|i| s[i]).collect();
    let u = evd.U();
    let mut q = DenseMatrix::zeros(n, n);
    for i in 0..n {
        for j in 0..n {
            q.set(i, j, u[(i, j)]);
        }
    }
    (all_finite(&values) && all_finite(&q.data)).then_some((values, q))
}

/// Symmetric eigenvalues, ascending.
pub fn symmetric_eigenvalues(a: &DenseMatrix) -> Option<Vec<f64>> {
    a.to_faer().self_adjoint_eigenvalues(Side::Lower).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_finite_infinity_norm_finds_the_largest_entry_and_every_non_finite_one() {
        // Lengths around the lane groups (16) and the parallel chunks (2¹³), the extreme
        // entry and the non-finite one at every kind of position (in a group, in the rest).
        for n in [1usize, 15, 16, 17, 33, 255, 8192, 8193, 20_000] {
            let base: Vec<f64> = (0..n)
                .map(|i| ((i * 37 % 101) as f64 - 50.0) / 64.0)
                .collect();
            let expected = base.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            assert_eq!(finite_norm_inf(&base), Some(expected), "n = {n}");
            let narrow: Vec<f32> = base.iter().map(|v| *v as f32).collect();
            assert_eq!(finite_norm_inf(&narrow), Some(expected), "f32, n = {n}");
            for at in [0, n / 2, n - 1] {
                let mut g = base.clone();
                g[at] = -1e300;
                assert_eq!(finite_norm_inf(&g), Some(1e300), "n = {n}, at {at}");
                for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                    g[at] = bad;
                    assert_eq!(finite_norm_inf(&g), None, "{bad} at {at} of {n}");
                    let mut narrow = narrow.clone();
                    narrow[at] = bad as f32;
                    assert_eq!(finite_norm_inf(&narrow), None, "f32: {bad} at {at} of {n}");
                }
            }
        }
    }

    #[test]
    fn the_blocked_cholesky_solves_and_estimates_the_condition_as_the_unblocked_one() {
        // A = BᵀB + I/10 (positive definite, condition ~10⁴), past the blocked threshold.
        let n = BLOCKED_CHOLESKY_FROM + 22;
        let bmat: Vec<f64> = (0..n * n)
            .map(|i| ((i * 7919 % 211) as f64 - 105.0) / 50.0)
            .collect();
        let mut a = DenseMatrix::zeros(n, n);
        for i in 0..n {
            for k in 0..n {
                let v: f64 = (0..n).map(|r| bmat[r * n + i] * bmat[r * n + k]).sum();
                a.set(i, k, v + if i == k { 0.1 } else { 0.0 });
            }
        }
        let rhs: Vec<f64> = (0..n).map(|i| (i as f64 * 0.3).sin()).collect();
        let (x, cond) = blocked_cholesky_solve_with_condition(&a, 0.0, &rhs).unwrap();
        let (y, cond_unblocked) = unblocked_cholesky_solve_with_condition(&a, &rhs).unwrap();
        let scale = y.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(x.iter().zip(&y).all(|(p, q)| (p - q).abs() <= 1e-9 * scale));
        assert!((cond - cond_unblocked).abs() <= 1e-9 * cond_unblocked);
        assert!(cond > 10.0);
        // The dispatcher takes the blocked route at this size.
        let (z, _) = cholesky_solve_with_condition(&a, &rhs).unwrap();
        assert!(z.iter().zip(&x).all(|(p, q)| p.to_bits() == q.to_bits()));
        // A shift: the same bits as the shifted matrix, on both routes.
        for size in [n, BLOCKED_CHOLESKY_FROM - 1] {
            let mut small = DenseMatrix::zeros(size, size);
            for i in 0..size {
                for k in 0..size {
                    small.set(i, k, a.get(i, k));
                }
            }
            let mut plus = small.clone();
            for i in 0..size {
                plus.data[i * size + i] += 0.37;
            }
            let (s, sc) =
                shifted_cholesky_solve_with_condition(&small, 0.37, &rhs[..size]).unwrap();
            let (p, pc) = cholesky_solve_with_condition(&plus, &rhs[..size]).unwrap();
            assert!(
                s.iter().zip(&p).all(|(u, v)| u.to_bits() == v.to_bits()),
                "{size}"
            );
            assert_eq!(sc.to_bits(), pc.to_bits(), "{size}");
        }
        // Indefinite (one negative pivot): refused by both.
        a.set(n - 1, n - 1, -1.0);
        assert!(blocked_cholesky_solve_with_condition(&a, 0.0, &rhs).is_none());
        assert!(unblocked_cholesky_solve_with_condition(&a, &rhs).is_none());
    }

    #[test]
    fn axpy_dot_is_axpy_then_dot_to_the_bit() {
        for n in [0, 1, 17, PARALLEL_LEN - 1, PARALLEL_LEN + 3 * CHUNK + 5] {
            let v = |k: usize| -> Vec<f64> {
                (0..n)
                    .map(|i| ((i * (7 + k) + k) % 1013) as f64 / 97.0 - 5.0)
                    .collect()
            };
            let (x, z, y0) = (v(0), v(1), v(2));
            let mut y = y0.clone();
            let fused = axpy_dot(-0.37, &x, &mut y, &z);
            let mut expected = y0;
            axpy(-0.37, &x, &mut expected);
            assert_eq!(dot(&z, &expected).to_bits(), fused.to_bits(), "n = {n}");
            assert!(y
                .iter()
                .zip(&expected)
                .all(|(a, b)| a.to_bits() == b.to_bits()));
        }
    }

    #[test]
    fn dots_of_many_pairs_are_each_pairs_dot_to_the_bit() {
        for n in [
            0,
            1,
            17,
            PARALLEL_LEN - 1,
            PARALLEL_LEN,
            PARALLEL_LEN + 3 * CHUNK + 5,
        ] {
            let vecs: Vec<Vec<f64>> = (0..3)
                .map(|v| {
                    (0..n)
                        .map(|i| ((i * (7 + v) + v) % 1013) as f64 / 97.0 - 5.0 + 1e-9 * i as f64)
                        .collect()
                })
                .collect();
            let pairs: Vec<(&[f64], &[f64])> = vec![
                (&vecs[0], &vecs[1]),
                (&vecs[1], &vecs[2]),
                (&vecs[2], &vecs[2]),
                (&vecs[0], &vecs[2]),
            ];
            let fused = dots(&pairs);
            for (p, d) in pairs.iter().zip(&fused) {
                assert_eq!(dot(p.0, p.1).to_bits(), d.to_bits(), "n = {n}");
            }
        }
    }

    #[test]
    fn cholesky_solves_spd() {
        let a = DenseMatrix {
            rows: 2,
            cols: 2,
            data: vec![4.0, 1.0, 1.0, 3.0],
        };
        let x = cholesky_solve(&a, &[1.0, 2.0]).unwrap();
        let mut r = [0.0; 2];
        a.mul_vec(&x, &mut r);
        assert!((r[0] - 1.0).abs() < 1e-14 && (r[1] - 2.0).abs() < 1e-14);
    }

    #[test]
    fn small_and_faer_cholesky_agree() {
        for n in [1, 3, 10, 31, 40] {
            let mut a = DenseMatrix::zeros(n, n);
            for i in 0..n {
                for j in 0..n {
                    a.set(
                        i,
                        j,
                        1.0 / (1.0 + (i as f64 - j as f64).abs())
                            + if i == j { n as f64 } else { 0.0 },
                    );
                }
            }
            let b: Vec<f64> = (0..n).map(|i| (i as f64).sin()).collect();
            let x1 = small_cholesky_solve(&a, &b).unwrap();
            let x2 = faer_cholesky_solve(&a, &b).unwrap();
            for (u, v) in x1.iter().zip(&x2) {
                assert!((u - v).abs() < 1e-12 * (n as f64));
            }
        }
        let indefinite = DenseMatrix {
            rows: 2,
            cols: 2,
            data: vec![1.0, 2.0, 2.0, 1.0],
        };
        assert!(small_cholesky_solve(&indefinite, &[1.0, 1.0]).is_none());
        assert!(faer_cholesky_solve(&indefinite, &[1.0, 1.0]).is_none());
    }

    #[test]
    fn shifted_cholesky_handles_indefinite() {
        let a = DenseMatrix {
            rows: 2,
            cols: 2,
            data: vec![1.0, 0.0, 0.0, -2.0],
        };
        assert!(cholesky_solve(&a, &[1.0, 1.0]).is_none());
        let (x, tau) = shifted_cholesky_solve(&a, &[1.0, 1.0]).unwrap();
        assert!(tau > 2.0);
        // Descent: gᵀx > 0 for the system H x = g.
        assert!(x[0] + x[1] > 0.0);
    }
}
