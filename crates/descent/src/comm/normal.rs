//! Least squares split by rows across workers, without gathering the Jacobian.
//!
//! Levenberg–Marquardt and Gauss–Newton see a problem only through `JᵀJ`, `Jᵀr` and
//! `rᵀr`: the damped step `(JᵀJ + μD²)h = −Jᵀr`, the predicted reduction
//! `‖r + Jh‖² = rᵀr + 2hᵀJᵀr + hᵀJᵀJh`, the column norms and the gradient's cosines. So
//! each worker forms the Gram matrix `G = [J r]ᵀ[J r]` of its own rows, the matrices are
//! summed ([`Communicator::sum`]: (n + 1)² values, whatever the number of rows), and the
//! method is handed a problem of n + 1 residuals with the same three quantities:
//! `G = RᵀR` (Cholesky), `J̃ = R[:, ..n]`, `r̃ = R[:, n]`, so that `J̃ᵀJ̃ = JᵀJ`,
//! `J̃ᵀr̃ = Jᵀr` and `r̃ᵀr̃ = rᵀr` (to rounding).
//!
//! Levenberg–Marquardt takes `JᵀJ` and `Jᵀr` from the summed `G` itself
//! ([`LeastSquares::normal_equations`]), not from `J̃`, so that its damped systems are those
//! of one process up to the order of the sums.
//!
//! Since `r̃` needs `J`, every residual evaluation evaluates the Jacobian too (at a trial
//! point the method would have asked for residuals alone); the Jacobian the method asks
//! for next at the same point is the one already formed. The evaluation counts report
//! what the method asked for.
//!
//! Geodesic acceleration asks for the second directional derivative `r''ᵥ`, which it uses
//! only as `Jᵀr''ᵥ` (the acceleration solves `(JᵀJ + μD²)a = −Jᵀr''ᵥ`). Each worker forms
//! `Jᵀr''ᵥ` of its rows, the sums are summed like `G`, and the method is handed the
//! `s̃` with `J̃ᵀs̃ = Jᵀr''ᵥ` (`R₁₁ᵀs̃ = Jᵀr''ᵥ` by forward substitution, `s̃ₙ = 0`).
//!
//! The fit's statistics count the workers' rows ([`LeastSquares::observation_count`]), not
//! the n + 1 residuals that stand for them.

use super::tree::TreeSum;
use super::Communicator;
use crate::least_squares::gram_into;
use crate::linalg::{cholesky_factor, symmetric_eigen, DenseMatrix};
use crate::problem::LeastSquares;
use std::cell::RefCell;
use std::ops::Range;

/// What is formed at one point: `R` and the summed `G` ((n + 1)² each), and this worker's
/// own Jacobian (for `Jᵀr''ᵥ`).
struct Compressed {
    r: DenseMatrix,
    g: DenseMatrix,
    local_jacobian: DenseMatrix,
}

/// A [`LeastSquares`] problem whose residuals are split across the workers of `comm`, as
/// the equivalent problem of n + 1 residuals (see the module documentation).
pub struct NormalEquationsLeastSquares<'a, L: ?Sized> {
    /// This worker's rows.
    local: &'a L,
    comm: &'a dyn Communicator,
    /// This worker's leaves, as ranges of its rows.
    leaves: Vec<Range<usize>>,
    /// Residuals of all the workers' rows together.
    observations: usize,
    /// The points of the last two compressions, with what was formed there, the latest
    /// last: the iterate and a trial point, so that the second directional derivative at
    /// the iterate after a rejected trial finds the iterate's still formed.
    last: RefCell<Vec<(Vec<f64>, Compressed)>>,
    /// The leaves' sums, with their buffers kept from one evaluation to the next: a
    /// network's `G` is (n + 1)² values per leaf, and fresh pages for each were zeroed by
    /// the kernel at every evaluation.
    tree: RefCell<TreeSum>,
    /// A leaf's `[J r]`, reused from leaf to leaf.
    augmented: RefCell<Vec<f64>>,
}

impl<'a, L: LeastSquares + ?Sized> NormalEquationsLeastSquares<'a, L> {
    /// `local` holds this worker's rows of the residuals, cut into `leaves` (ranges of its
    /// rows, in order: [`super::tree::own_leaves`]), whose Gram matrices are added pairwise
    /// ([`TreeSum`]) before the workers' are summed. With the leaves of
    /// [`super::tree::own_leaves`], `G` is the same to the bit for one worker and for 2, 4, …
    ///
    /// Every worker calls it (it sums the workers' row counts).
    pub fn new(local: &'a L, comm: &'a dyn Communicator, leaves: Vec<Range<usize>>) -> Self {
        let mut rows = [local.observation_count() as f64];
        comm.sum(&mut rows);
        NormalEquationsLeastSquares {
            local,
            comm,
            leaves,
            observations: rows[0] as usize,
            last: RefCell::new(Vec::new()),
            tree: RefCell::new(TreeSum::default()),
            augmented: RefCell::new(Vec::new()),
        }
    }

    /// The sum over this worker's leaves (pairwise) and then over the workers of
    /// `contribution(leaf)`, a vector of `width` values.
    fn summed(
        &self,
        width: usize,
        contribution: impl Fn(&Range<usize>, Vec<f64>) -> Vec<f64>,
    ) -> Vec<f64> {
        let mut tree = self.tree.borrow_mut();
        for leaf in &self.leaves {
            let storage = tree.buffer(width);
            tree.push(contribution(leaf, storage));
        }
        let mut total = tree.finish(width);
        drop(tree);
        self.comm.sum(&mut total);
        total
    }

    /// `R` at `x`, formed once per point (with the summed `G`).
    fn compressed(&self, x: &[f64]) -> std::cell::Ref<'_, Compressed> {
        let held = |last: &[(Vec<f64>, Compressed)]| last.iter().position(|(at, _)| at == x);
        if held(&self.last.borrow()).is_none() {
            let (m, n) = (self.local.residual_count(), self.local.dim());
            // The older of the two points formed makes room, its storage reused.
            let evicted = {
                let mut last = self.last.borrow_mut();
                (last.len() == 2).then(|| last.remove(0).1)
            };
            let mut j = DenseMatrix::zeros(0, 0);
            if let Some(old) = evicted {
                j = old.local_jacobian;
                j.data.iter_mut().for_each(|v| *v = 0.0);
                self.tree.borrow_mut().recycle(old.g.data);
            }
            j.data.resize(m * n, 0.0);
            (j.rows, j.cols) = (m, n);
            let mut r = vec![0.0; m];
            self.local.residuals(x, &mut r);
            self.local.jacobian(x, &mut j);
            // [J r] of each leaf, their Gram matrices added pairwise, then over the workers.
            let mut g = DenseMatrix::zeros(0, 0);
            g.data = self.summed((n + 1) * (n + 1), |leaf, storage| {
                let mut augmented = DenseMatrix {
                    rows: leaf.len(),
                    cols: n + 1,
                    data: std::mem::take(&mut *self.augmented.borrow_mut()),
                };
                augmented.data.resize(leaf.len() * (n + 1), 0.0);
                for (a, i) in leaf.clone().enumerate() {
                    augmented.data[a * (n + 1)..a * (n + 1) + n].copy_from_slice(j.row(i));
                    augmented.data[a * (n + 1) + n] = r[i];
                }
                let leaf_gram = gram_into(&augmented, storage).data;
                *self.augmented.borrow_mut() = augmented.data;
                leaf_gram
            });
            (g.rows, g.cols) = (n + 1, n + 1);
            let r = square_root(&g);
            let formed = Compressed {
                r,
                g,
                local_jacobian: j,
            };
            self.last.borrow_mut().push((x.to_vec(), formed));
        }
        std::cell::Ref::map(self.last.borrow(), |l| &l[held(l).expect("just formed")].1)
    }
}

/// `R` with `RᵀR = G` for a symmetric positive semi-definite `G`: its Cholesky factor
/// (upper triangular, whose leading block is the factor of `JᵀJ`), or where rounding leaves
/// `G` singular, `Λ^½Qᵀ` from its eigendecomposition (eigenvalues below zero count as
/// zero). A `G` that is not finite gives a non-finite `R`, which the methods stop on.
fn square_root(g: &DenseMatrix) -> DenseMatrix {
    if let Some(r) = cholesky_factor(g) {
        return r;
    }
    let k = g.rows;
    let mut r = DenseMatrix::zeros(k, k);
    match symmetric_eigen(g) {
        Some((values, q)) => {
            for (i, l) in values.iter().enumerate() {
                let s = l.max(0.0).sqrt();
                for j in 0..k {
                    r.set(i, j, s * q.get(j, i));
                }
            }
        }
        None => r.data.iter_mut().for_each(|v| *v = f64::NAN),
    }
    r
}

impl<L: LeastSquares + ?Sized> LeastSquares for NormalEquationsLeastSquares<'_, L> {
    fn dim(&self) -> usize {
        self.local.dim()
    }
    fn residual_count(&self) -> usize {
        self.local.dim() + 1
    }
    fn observation_count(&self) -> usize {
        self.observations
    }
    fn residuals(&self, x: &[f64], r: &mut [f64]) {
        let n = self.local.dim();
        let big = &self.compressed(x).r;
        for (i, ri) in r.iter_mut().enumerate() {
            *ri = big.data[i * (n + 1) + n];
        }
    }
    fn jacobian(&self, x: &[f64], j: &mut DenseMatrix) {
        let n = self.local.dim();
        let big = &self.compressed(x).r;
        for i in 0..=n {
            j.data[i * n..(i + 1) * n].copy_from_slice(&big.data[i * (n + 1)..i * (n + 1) + n]);
        }
    }
    fn second_directional(&self, x: &[f64], v: &[f64], out: &mut [f64]) {
        let n = self.local.dim();
        let mut rvv = vec![0.0; self.local.residual_count()];
        self.local.second_directional(x, v, &mut rvv);
        let formed = self.compressed(x);
        // Jᵀr''ᵥ of the leaves, summed as G is.
        let b = self.summed(n, |leaf, mut part| {
            part.iter_mut().for_each(|v| *v = 0.0);
            for i in leaf.clone() {
                crate::linalg::axpy(rvv[i], formed.local_jacobian.row(i), &mut part);
            }
            part
        });
        // R₁₁ᵀ s̃ = b, R₁₁ upper triangular: forward substitution. An R from the
        // eigendecomposition (G singular) is not triangular: no acceleration (NaN).
        let r = &formed.r;
        let triangular = (0..=n).all(|i| (0..i).all(|k| r.get(i, k) == 0.0));
        out.iter_mut().for_each(|o| *o = f64::NAN);
        if !triangular || (0..n).any(|i| r.get(i, i) == 0.0) {
            return;
        }
        for i in 0..n {
            let known: f64 = (0..i).map(|k| r.get(k, i) * out[k]).sum();
            out[i] = (b[i] - known) / r.get(i, i);
        }
        out[n] = 0.0;
    }
    fn has_exact_second_directional(&self) -> bool {
        self.local.has_exact_second_directional()
    }
    fn normal_equations(&self, x: &[f64]) -> Option<(DenseMatrix, Vec<f64>)> {
        // The summed G itself: its leading block is JᵀJ and its last column Jᵀr.
        let n = self.local.dim();
        let g = &self.compressed(x).g;
        let mut jtj = DenseMatrix::zeros(n, n);
        for i in 0..n {
            jtj.data[i * n..(i + 1) * n].copy_from_slice(&g.data[i * (n + 1)..i * (n + 1) + n]);
        }
        let jtr = (0..n).map(|i| g.data[i * (n + 1) + n]).collect();
        Some((jtj, jtr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::comm::tree::own_leaves;
    use crate::comm::{InProcess, Local};
    use crate::least_squares::gram;

    /// r_i(x) = exp(−max(x₀, 0) tᵢ) + x₁ tᵢ² − yᵢ on 40 points.
    struct Rows(std::ops::Range<usize>);
    impl LeastSquares for Rows {
        fn dim(&self) -> usize {
            2
        }
        fn residual_count(&self) -> usize {
            self.0.len()
        }
        fn residuals(&self, x: &[f64], r: &mut [f64]) {
            for (ri, i) in r.iter_mut().zip(self.0.clone()) {
                let t = i as f64 / 10.0;
                *ri = (-x[0].max(0.0) * t).exp() + x[1] * t * t - (1.0 + (i as f64).sin());
            }
        }
        /// Writes only the entries that are not zero (x₀ < 0 leaves column 0 alone), as a
        /// sparse problem may.
        fn jacobian(&self, x: &[f64], j: &mut DenseMatrix) {
            for (row, i) in self.0.clone().enumerate() {
                let t = i as f64 / 10.0;
                if x[0] > 0.0 {
                    j.set(row, 0, -t * (-x[0] * t).exp());
                }
                j.set(row, 1, t * t);
            }
        }
    }

    #[test]
    fn the_compressed_problem_has_the_normal_equations_of_the_whole() {
        let x = [0.3, -0.02];
        let whole = Rows(0..40);
        let (mut r, mut j) = (vec![0.0; 40], DenseMatrix::zeros(40, 2));
        whole.residuals(&x, &mut r);
        whole.jacobian(&x, &mut j);
        let expected = gram(&j);
        let mut jtr = vec![0.0; 2];
        j.tr_mul_vec(&r, &mut jtr);
        let rtr: f64 = r.iter().map(|v| v * v).sum();
        let close = |a: f64, b: f64, scale: f64| (a - b).abs() <= 1e-12 * scale;
        for workers in [1, 2, 3] {
            let got = InProcess::run(workers, |comm| {
                let (rows, leaves) = own_leaves(40, comm.rank(), comm.size());
                let mine = Rows(rows);
                let p = NormalEquationsLeastSquares::new(&mine, comm, leaves);
                let (mut rt, mut jt) = (vec![0.0; 3], DenseMatrix::zeros(3, 2));
                p.residuals(&x, &mut rt);
                p.jacobian(&x, &mut jt);
                (rt, jt)
            });
            let (rt, jt) = &got[0];
            let g = gram(jt);
            let scale = expected.frobenius();
            for (a, b) in g.data.iter().zip(&expected.data) {
                assert!(close(*a, *b, scale), "{workers}: JᵀJ {a} vs {b}");
            }
            let mut jtr_t = vec![0.0; 2];
            jt.tr_mul_vec(rt, &mut jtr_t);
            for (a, b) in jtr_t.iter().zip(&jtr) {
                assert!(
                    close(*a, *b, scale.sqrt() * rtr.sqrt()),
                    "{workers}: Jᵀr {a} vs {b}"
                );
            }
            let rtr_t: f64 = rt.iter().map(|v| v * v).sum();
            assert!(close(rtr_t, rtr, rtr), "{workers}: rᵀr {rtr_t} vs {rtr}");
        }
        // One worker of its own needs no communicator of several.
        let p = NormalEquationsLeastSquares::new(&whole, &Local, own_leaves(40, 0, 1).1);
        assert_eq!(p.residual_count(), 3);
    }

    /// r = A x − y with A 300 × 130 (J wide enough for the tiled Gram matrices).
    struct Wide;
    impl LeastSquares for Wide {
        fn dim(&self) -> usize {
            130
        }
        fn residual_count(&self) -> usize {
            300
        }
        fn residuals(&self, x: &[f64], r: &mut [f64]) {
            for (i, ri) in r.iter_mut().enumerate() {
                *ri = (0..130)
                    .map(|k| ((i * 7 + k * 3) as f64).sin() * x[k])
                    .sum::<f64>()
                    - (i as f64).cos();
            }
        }
        fn jacobian(&self, _x: &[f64], j: &mut DenseMatrix) {
            for i in 0..300 {
                for k in 0..130 {
                    j.set(i, k, ((i * 7 + k * 3) as f64).sin());
                }
            }
        }
    }

    /// The storage kept from one point to the next (the leaves' Gram matrices, the
    /// evicted point's Jacobian) changes nothing: every point, formed again after being
    /// evicted or formed for the first time, gives what a fresh problem gives, to the bit.
    #[test]
    fn storage_reused_across_points_forms_what_fresh_storage_forms() {
        fn formed(p: &dyn LeastSquares, x: &[f64]) -> (Vec<f64>, Vec<f64>) {
            let n = p.dim();
            let (mut r, mut j) = (vec![0.0; n + 1], DenseMatrix::zeros(n + 1, n));
            p.residuals(x, &mut r);
            p.jacobian(x, &mut j);
            (r, j.data)
        }
        let small: Vec<Vec<f64>> = vec![vec![0.3, -0.02], vec![0.1, 0.5], vec![-0.4, 0.2]];
        let wide: Vec<Vec<f64>> = (0..3)
            .map(|s| (0..130).map(|k| ((k + s) as f64 * 0.37).sin()).collect())
            .collect();
        let rows = Rows(0..40);
        for (problem, points) in [
            (&rows as &dyn LeastSquares, &small),
            (&Wide as &dyn LeastSquares, &wide),
        ] {
            let m = problem.residual_count();
            let kept = NormalEquationsLeastSquares::new(problem, &Local, own_leaves(m, 0, 1).1);
            // Points 0, 1, 2 (0 evicted), then 0 again (1 evicted), then 2 (still held).
            for &i in &[0, 1, 2, 0, 2] {
                let fresh =
                    NormalEquationsLeastSquares::new(problem, &Local, own_leaves(m, 0, 1).1);
                assert_eq!(
                    formed(&kept, &points[i]),
                    formed(&fresh, &points[i]),
                    "point {i}"
                );
            }
        }
    }

    /// Geodesic acceleration's `Jᵀr''ᵥ` is the whole problem's: `J̃ᵀs̃` of the compressed
    /// second directional derivative, on any number of workers.
    #[test]
    fn the_second_directional_derivative_keeps_its_projection_on_the_jacobian() {
        let (x, v) = ([0.3, -0.02], [0.7, -1.3]);
        let whole = Rows(0..40);
        let (mut rvv, mut j) = (vec![0.0; 40], DenseMatrix::zeros(40, 2));
        whole.second_directional(&x, &v, &mut rvv);
        whole.jacobian(&x, &mut j);
        let mut expected = vec![0.0; 2];
        j.tr_mul_vec(&rvv, &mut expected);
        for workers in [1, 2, 3] {
            let got = InProcess::run(workers, |comm| {
                let (rows, leaves) = own_leaves(40, comm.rank(), comm.size());
                let mine = Rows(rows);
                let p = NormalEquationsLeastSquares::new(&mine, comm, leaves);
                assert_eq!(p.observation_count(), 40);
                let (mut s, mut jt) = (vec![0.0; 3], DenseMatrix::zeros(3, 2));
                p.second_directional(&x, &v, &mut s);
                p.jacobian(&x, &mut jt);
                let mut projected = vec![0.0; 2];
                jt.tr_mul_vec(&s, &mut projected);
                projected
            });
            for (a, b) in got[0].iter().zip(&expected) {
                assert!(
                    (a - b).abs() <= 1e-10 * b.abs().max(1.0),
                    "{workers}: {a} vs {b}"
                );
            }
        }
    }
}
