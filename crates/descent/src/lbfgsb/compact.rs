//! The compact representation of the limited-memory BFGS matrix (Byrd, Nocedal & Schnabel,
//! "Representations of quasi-Newton matrices and their use in limited memory methods",
//! Math. Prog. 63, 1994; Byrd, Lu, Nocedal & Zhu 1995, eq. 3.2–3.4):
//!
//! `B = θI − W M Wᵀ`,  `W = [Y, θS]`,  `M⁻¹ = A = [[−D, Lᵀ], [L, θSᵀS]]`,
//!
//! where the columns of S and Y are the stored pairs oldest first, `D = diag(sᵢᵀyᵢ)`,
//! `Lᵢⱼ = sᵢᵀyⱼ` for `i > j` (0 otherwise) and `θ = yᵀy/sᵀy` of the newest pair. A is
//! small (2k × 2k for k pairs) and indefinite: it is factorized by LU and `M v` is a solve,
//! never an explicit inverse.

use crate::direction::PairTables;
use crate::linalg::{axpy, axpy_dot, divide, dot, dots, DenseMatrix, Lu, PARALLEL_LEN};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// A pair's vectors `(s, y)`.
pub type PairVectors = (Vec<f64>, Vec<f64>);

/// The stored pairs, their inner products and θ.
#[derive(Serialize, Deserialize)]
pub struct CompactLbfgs {
    memory: usize,
    s: VecDeque<Vec<f64>>,
    y: VecDeque<Vec<f64>>,
    /// `sy[i][j] = sᵢᵀyⱼ`.
    sy: VecDeque<VecDeque<f64>>,
    /// `ss[i][j] = sᵢᵀsⱼ`.
    ss: VecDeque<VecDeque<f64>>,
    theta: f64,
    #[serde(skip)]
    lu: Option<Lu>,
    /// Products among the pairs for the two-loop recursion from dot products (long
    /// vectors, no bound; rebuilt from the pairs on resume).
    #[serde(skip)]
    products: PairTables,
    /// Long vectors and no bound: the step is `−B⁻¹g` from [`PairTables`], whose pass
    /// also yields the products the compact form keeps, so a new pair's are taken there
    /// (one pass over the pairs an iteration instead of two) and A is not factorized.
    #[serde(skip)]
    vector_free: bool,
    /// How many of the newest pairs' products with the others are not in `sy` and `ss`
    /// yet (vector-free: until the next step is taken).
    #[serde(default)]
    pending: usize,
}

impl CompactLbfgs {
    /// No pairs yet (`B = I`), room for `memory` of them.
    pub fn new(memory: usize) -> Self {
        CompactLbfgs {
            memory: memory.max(1),
            s: VecDeque::new(),
            y: VecDeque::new(),
            sy: VecDeque::new(),
            ss: VecDeque::new(),
            theta: 1.0,
            lu: None,
            products: PairTables::default(),
            vector_free: false,
            pending: 0,
        }
    }

    /// Number of stored pairs k.
    pub fn len(&self) -> usize {
        self.s.len()
    }
    /// Whether no pair is stored (`B = θI` with θ = 1).
    pub fn is_empty(&self) -> bool {
        self.s.is_empty()
    }
    /// The stored pairs `(sᵢ, yᵢ)`, oldest first.
    pub fn pairs(&self) -> Vec<(Vec<f64>, Vec<f64>)> {
        self.s.iter().cloned().zip(self.y.iter().cloned()).collect()
    }
    /// θ.
    pub fn theta(&self) -> f64 {
        self.theta
    }

    /// Forgets every pair (`B = I`).
    pub fn reset(&mut self) {
        let (memory, vector_free) = (self.memory, self.vector_free);
        *self = CompactLbfgs::new(memory);
        self.vector_free = vector_free;
    }

    /// Takes the step from dot products and defers the compact form's products (long
    /// vectors, no bound; see the field). Turned off, the deferred products are taken and
    /// A factorized; `false` when that fails (the memory is then reset).
    pub fn set_vector_free(&mut self, on: bool) -> bool {
        self.vector_free = on;
        if on || self.pending == 0 {
            return true;
        }
        self.complete_products();
        self.factorize()
    }

    /// Whether the step comes from dot products, the products deferred.
    pub fn is_vector_free(&self) -> bool {
        self.vector_free
    }

    /// The products of every pair with every other, afresh ([`dots`]), and θ of the newest.
    fn complete_products(&mut self) {
        let k = self.len();
        let mut pairs: Vec<(&[f64], &[f64])> = Vec::with_capacity(2 * k * k);
        for i in 0..k {
            for j in 0..k {
                pairs.extend([
                    (&self.s[i][..], &self.y[j][..]),
                    (&self.s[i][..], &self.s[j][..]),
                ]);
            }
        }
        let products = dots(&pairs);
        for i in 0..k {
            for j in 0..k {
                self.sy[i][j] = products[2 * (i * k + j)];
                self.ss[i][j] = products[2 * (i * k + j) + 1];
            }
        }
        self.pending = 0;
    }

    /// [`CompactLbfgs::push_owned`] for the vector-free form: the pair's own products
    /// (from the pass that formed it: `sᵀy`, `sᵀs`, `yᵀy`) set θ and its curvature, its
    /// products with the others wait for the next step's pass. Returns the dropped pair's
    /// vectors.
    pub fn push_deferred(
        &mut self,
        s: Vec<f64>,
        y: Vec<f64>,
        (sy, ss, yy): (f64, f64, f64),
    ) -> Option<PairVectors> {
        debug_assert!(self.vector_free);
        let dropped = self.drop_oldest_if_full();
        let k = self.s.len();
        for row in self.sy.iter_mut().chain(self.ss.iter_mut()) {
            row.push_back(0.0);
        }
        let mut sy_row: VecDeque<f64> = std::iter::repeat_n(0.0, k + 1).collect();
        let mut ss_row = sy_row.clone();
        sy_row[k] = sy;
        ss_row[k] = ss;
        self.sy.push_back(sy_row);
        self.ss.push_back(ss_row);
        self.s.push_back(s);
        self.y.push_back(y);
        self.theta = yy / sy;
        self.pending = (self.pending + 1).min(k + 1);
        self.lu = None;
        dropped
    }

    /// Adds the pair `(s, y)` (dropping the oldest when full) and refactorizes A. Returns
    /// `false`, with the memory reset, when A cannot be factorized.
    pub fn push(&mut self, s: &[f64], y: &[f64]) -> bool {
        // Reuse the dropped vectors' storage.
        let (ps, py) = match self.drop_oldest_if_full() {
            Some((mut ps, mut py)) => {
                ps.clear();
                ps.extend_from_slice(s);
                py.clear();
                py.extend_from_slice(y);
                (ps, py)
            }
            None => (s.to_vec(), y.to_vec()),
        };
        self.append(ps, py);
        self.factorize()
    }

    /// [`CompactLbfgs::push`] taking the vectors themselves, without a copy; returns the
    /// dropped pair's vectors for reuse (so a long run allocates nothing per iteration).
    pub fn push_owned(&mut self, s: Vec<f64>, y: Vec<f64>) -> (bool, Option<PairVectors>) {
        let dropped = self.drop_oldest_if_full();
        self.append(s, y);
        (self.factorize(), dropped)
    }

    /// When the memory is full, forgets the oldest pair and returns its vectors.
    fn drop_oldest_if_full(&mut self) -> Option<PairVectors> {
        if self.s.len() < self.memory {
            return None;
        }
        let (old_s, old_y) = (self.s.pop_front()?, self.y.pop_front()?);
        self.sy.pop_front();
        self.ss.pop_front();
        for row in self.sy.iter_mut().chain(self.ss.iter_mut()) {
            row.pop_front();
        }
        self.products.drop_oldest();
        Some((old_s, old_y))
    }

    /// Stores the pair with its new row and column of SᵀY and SᵀS, and θ = yᵀy/sᵀy. The
    /// 3k + 3 products come from one pass over the 2k + 2 vectors ([`dots`]).
    fn append(&mut self, s: Vec<f64>, y: Vec<f64>) {
        // New row i = k of SᵀY and SᵀS, and new column j = k.
        let k = self.s.len();
        let mut pairs: Vec<(&[f64], &[f64])> = Vec::with_capacity(3 * k + 3);
        for j in 0..k {
            pairs.extend([(&s[..], &self.y[j][..]), (&s, &self.s[j]), (&self.s[j], &y)]);
        }
        pairs.extend([(&s[..], &y[..]), (&s, &s), (&y, &y)]);
        let products = dots(&pairs);
        let mut sy_row = VecDeque::with_capacity(k + 1);
        let mut ss_row = VecDeque::with_capacity(k + 1);
        for (j, p) in products.chunks_exact(3).take(k).enumerate() {
            sy_row.push_back(p[0]);
            ss_row.push_back(p[1]);
            self.sy[j].push_back(p[2]);
            self.ss[j].push_back(p[1]);
        }
        let (sy, ss, yy) = (products[3 * k], products[3 * k + 1], products[3 * k + 2]);
        sy_row.push_back(sy);
        ss_row.push_back(ss);
        self.theta = yy / sy;
        self.sy.push_back(sy_row);
        self.ss.push_back(ss_row);
        self.s.push_back(s);
        self.y.push_back(y);
    }

    /// `A = M⁻¹ = [[−D, Lᵀ], [L, θSᵀS]]`.
    pub fn middle_inverse(&self) -> DenseMatrix {
        let k = self.len();
        let mut a = DenseMatrix::zeros(2 * k, 2 * k);
        for i in 0..k {
            a.set(i, i, -self.sy[i][i]);
            for j in 0..i {
                a.set(k + i, j, self.sy[i][j]);
                a.set(j, k + i, self.sy[i][j]);
            }
            for j in 0..k {
                a.set(k + i, k + j, self.theta * self.ss[i][j]);
            }
        }
        a
    }

    /// Refactorizes A after a change; `false` (and the memory reset) when it is singular.
    pub fn factorize(&mut self) -> bool {
        if self.is_empty() {
            self.lu = None;
            return true;
        }
        let lu = Lu::new(&self.middle_inverse());
        let ok = lu.solve(&vec![1.0; 2 * self.len()]).is_some();
        if ok {
            self.lu = Some(lu);
        } else {
            self.reset();
        }
        ok
    }

    /// `M v` (a solve with A); `None` when it fails. Empty for an empty memory.
    pub fn m_times(&self, v: &[f64]) -> Option<Vec<f64>> {
        match &self.lu {
            None => Some(Vec::new()),
            Some(lu) => lu.solve(v),
        }
    }

    /// Row `i` of W: `[y₀ᵢ … yₖ₋₁ᵢ, θs₀ᵢ … θsₖ₋₁ᵢ]`, into `out` (length 2k).
    pub fn w_row(&self, i: usize, out: &mut [f64]) {
        let k = self.len();
        for j in 0..k {
            out[j] = self.y[j][i];
            out[k + j] = self.theta * self.s[j][i];
        }
    }

    /// `Wᵀv` restricted to the variables where `keep` holds (all when `None`): the 2k
    /// products in one pass over the pairs ([`dots`], split across threads for long
    /// vectors).
    pub fn wt_times(&self, v: &[f64], keep: Option<&[bool]>) -> Vec<f64> {
        let k = self.len();
        let masked: Vec<f64>;
        let v = match keep {
            // Where every kept variable's value is taken and the others are zero, the
            // restriction changes nothing (the callers' case): no copy.
            Some(f) if v.iter().zip(f).any(|(x, keep)| !keep && *x != 0.0) => {
                masked = v
                    .iter()
                    .zip(f)
                    .map(|(x, keep)| if *keep { *x } else { 0.0 })
                    .collect();
                &masked[..]
            }
            _ => v,
        };
        let pairs: Vec<(&[f64], &[f64])> = (0..k)
            .map(|j| (&self.y[j][..], v))
            .chain((0..k).map(|j| (&self.s[j][..], v)))
            .collect();
        let mut out = dots(&pairs);
        out[k..].iter_mut().for_each(|sv| *sv *= self.theta);
        out
    }

    /// `(W p)ᵢ` for one variable.
    pub fn w_times_at(&self, p: &[f64], i: usize) -> f64 {
        let k = self.len();
        (0..k)
            .map(|j| self.y[j][i] * p[j] + self.theta * self.s[j][i] * p[k + j])
            .sum()
    }

    /// `B⁻¹v` by the two-loop recursion over the same pairs (`H₀ = I/θ`; Nocedal & Wright,
    /// Algorithm 7.4) — the same vector as the compact form gives, computed without its
    /// 2k × 2k solve and so more accurately on badly scaled pairs. Used when no bound
    /// holds any variable.
    pub fn inverse_times(&self, v: &[f64]) -> Vec<f64> {
        let mut q = Vec::new();
        self.inverse_times_into(v, &mut q);
        q
    }

    /// [`CompactLbfgs::inverse_times`] into `q` (its storage reused).
    pub(crate) fn inverse_times_into(&self, v: &[f64], q: &mut Vec<f64>) {
        let k = self.len();
        q.clear();
        q.extend_from_slice(v);
        let mut alpha = vec![0.0; k];
        // Each update of q and the next product with it share one pass (`axpy_dot`).
        let mut sq = if k > 0 { dot(&self.s[k - 1], q) } else { 0.0 };
        for i in (0..k).rev() {
            alpha[i] = sq / self.sy[i][i];
            if i > 0 {
                sq = axpy_dot(-alpha[i], &self.y[i], q, &self.s[i - 1]);
            } else {
                axpy(-alpha[i], &self.y[i], q);
            }
        }
        divide(q, self.theta);
        let mut yq = if k > 0 { dot(&self.y[0], q) } else { 0.0 };
        for (i, a) in alpha.iter().enumerate() {
            let beta = yq / self.sy[i][i];
            if i + 1 < k {
                yq = axpy_dot(a - beta, &self.s[i], q, &self.y[i + 1]);
            } else {
                axpy(a - beta, &self.s[i], q);
            }
        }
    }

    /// The model's step `d = −B⁻¹g` into `d` (its storage reused), and the slope `dᵀg`:
    /// the whole step when no variable has a bound. From [`PARALLEL_LEN`] entries it is
    /// the two-loop recursion from dot products (`direction::lbfgs_dots`, as `lbfgs`
    /// takes it): two passes over the pairs instead of 2k, split across threads.
    pub fn descent_direction(&mut self, g: &[f64], d: &mut Vec<f64>) -> f64 {
        if g.len() >= PARALLEL_LEN && !self.is_empty() {
            d.resize(g.len(), 0.0);
            let k = self.len();
            let pairs: Vec<(&[f64], &[f64], f64)> = (0..k)
                .map(|i| (&self.s[i][..], &self.y[i][..], 1.0 / self.sy[i][i]))
                .collect();
            let slope = self.products.direction(&pairs, 1.0 / self.theta, g, d);
            if self.vector_free {
                // The pass took every pair's products with the new ones: the compact
                // form's tables are whole again.
                for i in 0..k {
                    for j in 0..k {
                        (self.sy[i][j], self.ss[i][j]) = self.products.products(i, j);
                    }
                }
                self.pending = 0;
            }
            return slope;
        }
        self.inverse_times_into(g, d);
        d.iter_mut().for_each(|v| *v = -*v);
        dot(d, g)
    }

    /// Checkpoints skip the factorization; this rebuilds it after loading.
    pub fn restore(&mut self) -> bool {
        if self.vector_free {
            return true;
        }
        if self.pending > 0 {
            self.complete_products();
        }
        self.factorize()
    }

    /// That restored pairs are whole: at most `memory` of them, each two vectors of one
    /// length `n`, with the k×k products of the k pairs kept.
    pub fn check_restored(&self, n: usize) -> crate::Result<()> {
        let k = self.s.len();
        let whole = self.memory >= 1
            && k <= self.memory
            && self.y.len() == k
            && self.sy.len() == k
            && self.ss.len() == k
            && self.sy.iter().chain(&self.ss).all(|row| row.len() == k)
            && self.s.iter().chain(&self.y).all(|v| v.len() == n);
        if whole {
            Ok(())
        } else {
            Err(crate::Error::config(
                "resume",
                format!("the checkpoint's L-BFGS-B pairs do not fit a problem of {n} variables"),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// B from the compact form, column by column: `Bv = θv − W M Wᵀv`.
    fn b_times(c: &CompactLbfgs, v: &[f64]) -> Vec<f64> {
        let p = c.wt_times(v, None);
        let mp = c.m_times(&p).unwrap();
        (0..v.len())
            .map(|i| c.theta() * v[i] - c.w_times_at(&mp, i))
            .collect()
    }

    #[test]
    fn compact_form_equals_the_bfgs_recursion() {
        // BFGS from B₀ = θI with the same pairs: Bₖ₊₁ = B − Bssᵀ B/sᵀBs + yyᵀ/sᵀy.
        let pairs: Vec<(Vec<f64>, Vec<f64>)> = vec![
            (vec![1.0, 0.2, -0.3], vec![2.0, 0.1, -0.2]),
            (vec![-0.4, 1.0, 0.5], vec![-0.5, 3.0, 0.4]),
            (vec![0.3, -0.2, 1.0], vec![0.2, -0.1, 1.5]),
        ];
        for memory in [2, 3] {
            let mut c = CompactLbfgs::new(memory);
            for (s, y) in &pairs {
                assert!(c.push(s, y));
            }
            let used = &pairs[pairs.len() - memory..];
            let (s_last, y_last) = used.last().unwrap();
            let theta = dot(y_last, y_last) / dot(s_last, y_last);
            let n = 3;
            let mut b = DenseMatrix::identity(n);
            b.data.iter_mut().for_each(|v| *v *= theta);
            for (s, y) in used {
                let mut bs = vec![0.0; n];
                b.mul_vec(s, &mut bs);
                let sbs = dot(s, &bs);
                let sy = dot(s, y);
                for i in 0..n {
                    for j in 0..n {
                        let v = b.get(i, j) - bs[i] * bs[j] / sbs + y[i] * y[j] / sy;
                        b.set(i, j, v);
                    }
                }
            }
            for col in 0..n {
                let mut e = vec![0.0; n];
                e[col] = 1.0;
                let back = c.inverse_times(&b_times(&c, &e));
                for (row, v) in back.iter().enumerate() {
                    assert!((v - e[row]).abs() < 1e-12, "B⁻¹B e{col} = {back:?}");
                }
                let compact = b_times(&c, &e);
                for (row, v) in compact.iter().enumerate() {
                    let diff = (v - b.get(row, col)).abs();
                    assert!(
                        diff < 1e-12,
                        "memory {memory}: B[{row},{col}] off by {diff}"
                    );
                }
            }
        }
    }

    #[test]
    fn long_vectors_take_the_same_step_from_dot_products() {
        // Above PARALLEL_LEN the step −B⁻¹g comes from the pairs' products: the two-loop
        // recursion's vector to rounding, with the memory full and pairs dropped, and its
        // slope dᵀg.
        let n = PARALLEL_LEN + 3 * crate::linalg::CHUNK + 5;
        let wave = |k: usize, i: usize| ((i * (7 + 2 * k) + k) % 1009) as f64 / 1009.0 - 0.5;
        let mut c = CompactLbfgs::new(3);
        for k in 0..5 {
            let s: Vec<f64> = (0..n).map(|i| wave(k, i)).collect();
            // y = A s for a diagonal A with entries in [1, 3]: positive curvature.
            let y: Vec<f64> = s
                .iter()
                .enumerate()
                .map(|(i, v)| v * (1.0 + (i % 3) as f64))
                .collect();
            let (ok, dropped) = c.push_owned(s, y);
            assert!(ok);
            assert_eq!(dropped.is_some(), k >= 3, "pair {k}");
            let g: Vec<f64> = (0..n).map(|i| wave(k + 11, i)).collect();
            let mut d = Vec::new();
            let slope = c.descent_direction(&g, &mut d);
            let hg = c.inverse_times(&g);
            let scale = hg.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            for (a, b) in d.iter().zip(&hg) {
                assert!(
                    (a + b).abs() <= 1e-12 * scale,
                    "pair {k}: {a} against {}",
                    -b
                );
            }
            let exact = -dot(&hg, &g);
            assert!(
                (slope - exact).abs() <= 1e-12 * exact.abs(),
                "{slope} against {exact}"
            );
        }
    }

    #[test]
    fn deferred_products_are_those_of_the_compact_form() {
        // The vector-free form takes a new pair's products in the next step's pass: after
        // it, SᵀY, SᵀS and θ are the compact form's (to rounding) and so is the step; a
        // model turned back from it takes the deferred products itself.
        let n = PARALLEL_LEN + 7;
        let wave = |k: usize, i: usize| ((i * (5 + 2 * k) + 3 * k) % 997) as f64 / 997.0 - 0.5;
        let (mut free, mut compact) = (CompactLbfgs::new(3), CompactLbfgs::new(3));
        assert!(free.set_vector_free(true));
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1e-300);
        for k in 0..5 {
            let s: Vec<f64> = (0..n).map(|i| wave(k, i)).collect();
            let y: Vec<f64> = s
                .iter()
                .enumerate()
                .map(|(i, v)| v * (1.5 + (i % 4) as f64))
                .collect();
            let own = (dot(&s, &y), dot(&s, &s), dot(&y, &y));
            free.push_deferred(s.clone(), y.clone(), own);
            assert!(compact.push(&s, &y));
            assert!(close(free.theta(), compact.theta()));
            let g: Vec<f64> = (0..n).map(|i| wave(k + 7, i)).collect();
            let (mut d_free, mut d_compact) = (Vec::new(), Vec::new());
            free.descent_direction(&g, &mut d_free);
            compact.descent_direction(&g, &mut d_compact);
            for (a, b) in d_free.iter().zip(&d_compact) {
                assert!((a - b).abs() <= 1e-10, "step, pair {k}");
            }
            assert_eq!(free.pending, 0);
            for i in 0..free.len() {
                for j in 0..free.len() {
                    assert!(
                        close(free.sy[i][j], compact.sy[i][j]),
                        "sᵀy {i} {j}, pair {k}"
                    );
                    assert!(
                        close(free.ss[i][j], compact.ss[i][j]),
                        "sᵀs {i} {j}, pair {k}"
                    );
                }
            }
        }
        let s: Vec<f64> = (0..n).map(|i| wave(9, i)).collect();
        let y: Vec<f64> = s.iter().map(|v| 2.0 * v).collect();
        free.push_deferred(
            s.clone(),
            y.clone(),
            (dot(&s, &y), dot(&s, &s), dot(&y, &y)),
        );
        assert!(compact.push(&s, &y));
        assert_eq!(free.pending, 1);
        assert!(free.set_vector_free(false));
        assert_eq!(free.pending, 0);
        for i in 0..free.len() {
            for j in 0..free.len() {
                assert!(
                    close(free.sy[i][j], compact.sy[i][j])
                        && close(free.ss[i][j], compact.ss[i][j])
                );
            }
        }
    }
}
