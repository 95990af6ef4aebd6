//! The two-loop recursion from dot products, for long vectors ("vector-free L-BFGS": Chen,
//! Wang & Zhou, "Large-scale L-BFGS using MapReduce", NeurIPS 2014).
//!
//! Every vector the two-loop recursion forms is a combination of the 2k + 1 vectors
//! `s_i`, `y_i`, `g`, so each dot product it takes is a combination of the products among
//! them. With `q = g − Σ_{j>i} α_j y_j` and `r = γ(g − Σ_j α_j y_j) + Σ_{j<i} (α_j − β_j) s_j`,
//!
//! ```text
//!   α_i = ρ_i (s_iᵀg − Σ_{j>i} α_j s_iᵀy_j)                      (i = k−1, …, 0)
//!   β_i = ρ_i (γ y_iᵀg − γ Σ_j α_j y_iᵀy_j + Σ_{j<i} (α_j − β_j) s_jᵀy_i)   (i = 0, …, k−1)
//!   d   = −(γ g − γ Σ_j α_j y_j + Σ_j (α_j − β_j) s_j)
//! ```
//!
//! The tables `s_iᵀy_j` and `y_iᵀy_j` change by one row and column per new pair. So an
//! iteration reads the vectors twice: once for `Sᵀg`, `Yᵀg` and the newest pair's products,
//! once to write `d`. That is 4k + 3 vector streams, where the textbook loops take 10k
//! (a dot product and an update per pair and loop). At n = 10⁷ and k = 10 that is 3.4 GB
//! an iteration instead of 8 GB. The arithmetic is the recursion's, with the products
//! summed in another order.

use crate::linalg::CHUNK;
use rayon::prelude::*;
use std::ops::Range;

/// The pieces the first pass reads: 64 KiB of `g` and of the newest pair stay in the L2
/// cache while every older pair's piece streams past them once.
const GATHER_CHUNK: usize = 1 << 13;

/// The products among the stored pairs, indexed as the pairs are (oldest first).
#[derive(Clone, Debug, Default)]
pub(crate) struct PairTables {
    /// Side of the square tables (the memory).
    side: usize,
    /// `sy[i·side + j] = s_iᵀy_j`.
    sy: Vec<f64>,
    /// `yy[i·side + j] = y_iᵀy_j`.
    yy: Vec<f64>,
    /// `ss[i·side + j] = s_iᵀs_j` (for L-BFGS-B's compact form, which holds `SᵀS`).
    ss: Vec<f64>,
    /// How many of the oldest pairs have all their products with each other in the tables.
    known: usize,
}

impl PairTables {
    /// Forgets every product (after a reset or a resume; they are recomputed from the
    /// vectors, with the same sums, so a resumed run goes on bitwise as before).
    pub(crate) fn clear(&mut self) {
        self.known = 0;
    }

    /// The oldest pair was dropped: every index moves down by one.
    pub(crate) fn drop_oldest(&mut self) {
        let s = self.side;
        if self.known == 0 || s == 0 {
            return;
        }
        for table in [&mut self.sy, &mut self.yy, &mut self.ss] {
            for i in 1..self.known {
                for j in 1..self.known {
                    table[(i - 1) * s + (j - 1)] = table[i * s + j];
                }
            }
        }
        self.known -= 1;
    }

    /// `(s_iᵀy_j, s_iᵀs_j)`, for pairs whose products are known (after
    /// [`PairTables::direction`] with them).
    pub(crate) fn products(&self, i: usize, j: usize) -> (f64, f64) {
        debug_assert!(i < self.known && j < self.known);
        let s = self.side;
        (self.sy[i * s + j], self.ss[i * s + j])
    }

    /// Tables of side `side`, keeping the products known.
    fn grow(&mut self, side: usize) {
        let (old, known) = (self.side, self.known);
        let mut sy = vec![0.0; side * side];
        let mut yy = vec![0.0; side * side];
        let mut ss = vec![0.0; side * side];
        for i in 0..known {
            for j in 0..known {
                sy[i * side + j] = self.sy[i * old + j];
                yy[i * side + j] = self.yy[i * old + j];
                ss[i * side + j] = self.ss[i * old + j];
            }
        }
        (self.side, self.sy, self.yy, self.ss) = (side, sy, yy, ss);
    }

    /// Writes `d = −H g` for the pairs `(s_i, y_i, ρ_i)` (oldest first) and `H₀ = γI`,
    /// taking the products it does not know yet in the same pass as `Sᵀg`, `Yᵀg`;
    /// returns the slope `dᵀg`.
    pub(crate) fn direction(
        &mut self,
        pairs: &[(&[f64], &[f64], f64)],
        gamma: f64,
        g: &[f64],
        d: &mut [f64],
    ) -> f64 {
        let k = pairs.len();
        if self.side < k {
            self.grow(k.max(2 * self.side));
        }
        let s = self.side;
        let new = self.known.min(k)..k;
        let sums = self.gather(pairs, g, new.clone());
        // The first 2k sums are Sᵀg and Yᵀg; then, per new pair j, its four products with
        // every pair i ≤ j.
        let (sg, rest) = sums.split_at(k);
        let (yg, mut rest) = rest.split_at(k);
        for j in new {
            for i in 0..=j {
                self.sy[i * s + j] = rest[0];
                self.sy[j * s + i] = rest[1];
                self.yy[i * s + j] = rest[2];
                self.yy[j * s + i] = rest[2];
                self.ss[i * s + j] = rest[3];
                self.ss[j * s + i] = rest[3];
                rest = &rest[4..];
            }
        }
        self.known = k;
        let (sy, yy) = (&self.sy, &self.yy);
        let mut alpha = vec![0.0; k];
        for i in (0..k).rev() {
            let later: f64 = (i + 1..k).map(|j| alpha[j] * sy[i * s + j]).sum();
            alpha[i] = pairs[i].2 * (sg[i] - later);
        }
        let mut beta = vec![0.0; k];
        for i in 0..k {
            let along_y: f64 = (0..k).map(|j| alpha[j] * yy[i * s + j]).sum();
            let along_s: f64 = (0..i).map(|j| (alpha[j] - beta[j]) * sy[j * s + i]).sum();
            beta[i] = pairs[i].2 * (gamma * yg[i] - gamma * along_y + along_s);
        }
        // d = −γ g + Σ_j γ α_j y_j − Σ_j (α_j − β_j) s_j, a chunk at a time.
        let y_coef: Vec<f64> = alpha.iter().map(|a| gamma * a).collect();
        let s_coef: Vec<f64> = alpha.iter().zip(&beta).map(|(a, b)| b - a).collect();
        // The slope dᵀg is summed on each chunk while it is in cache.
        let slopes: Vec<f64> = d
            .par_chunks_mut(CHUNK)
            .enumerate()
            .map(|(c, dc)| {
                let r = c * CHUNK..c * CHUNK + dc.len();
                scaled(-gamma, &g[r.clone()], dc);
                for (j, (sj, yj, _)) in pairs.iter().enumerate() {
                    add_two(dc, y_coef[j], &yj[r.clone()], s_coef[j], &sj[r.clone()]);
                }
                crate::linalg::lane_dot(dc, &g[r])
            })
            .collect();
        slopes.iter().sum()
    }

    /// One pass over the vectors: `s_iᵀg`, `y_iᵀg` for every pair, then for each pair `j`
    /// in `new` and each `i ≤ j`: `s_iᵀy_j`, `s_jᵀy_i`, `y_iᵀy_j`, `s_iᵀs_j`.
    ///
    /// The products of a new pair `j` are taken with [`six_products`] of `(s_i, y_i)`
    /// against `(g, s_j, y_j)`, whatever else is new: the tables then hold the same values
    /// whether the pairs arrived one by one or all at once (a resumed run).
    fn gather(&self, pairs: &[(&[f64], &[f64], f64)], g: &[f64], new: Range<usize>) -> Vec<f64> {
        let k = pairs.len();
        let count = 2 * k + 4 * new.clone().map(|j| j + 1).sum::<usize>();
        let n = g.len();
        let parts: Vec<Vec<f64>> = (0..n.div_ceil(GATHER_CHUNK))
            .into_par_iter()
            .map(|c| {
                let r = c * GATHER_CHUNK..((c + 1) * GATHER_CHUNK).min(n);
                let mut out = vec![0.0; count];
                let (with_g, products) = out.split_at_mut(2 * k);
                let (sg, yg) = with_g.split_at_mut(k);
                let mut products = products.chunks_exact_mut(4);
                if new.is_empty() {
                    for (i, (si, yi, _)) in pairs.iter().enumerate() {
                        [sg[i], yg[i]] =
                            two_products(&si[r.clone()], &yi[r.clone()], &g[r.clone()]);
                    }
                }
                for j in new.clone() {
                    let (sj, yj) = (&pairs[j].0[r.clone()], &pairs[j].1[r.clone()]);
                    for i in 0..=j {
                        let (si, yi) = (&pairs[i].0[r.clone()], &pairs[i].1[r.clone()]);
                        let [s_g, y_g, s_yj, y_yj, sj_y, s_sj] =
                            six_products(si, yi, &g[r.clone()], sj, yj);
                        // The last new pair is the newest: its sweep covers every i.
                        (sg[i], yg[i]) = (s_g, y_g);
                        let slot = products.next().expect("four sums per pair of pairs");
                        slot.copy_from_slice(&[s_yj, sj_y, y_yj, s_sj]);
                    }
                }
                out
            })
            .collect();
        let mut sums = vec![0.0; count];
        for part in &parts {
            for (total, v) in sums.iter_mut().zip(part) {
                *total += v;
            }
        }
        sums
    }
}

/// Lanes of the product kernels: each product is summed in eight lanes, added pairwise.
const LANES: usize = 8;

#[inline(always)]
fn total(acc: &[f64; LANES]) -> f64 {
    ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]))
}

crate::simd::kernel! {
    /// `(sᵀg, yᵀg)`.
    fn two_products(s: &[f64], y: &[f64], g: &[f64]) -> [f64; 2] {
        let mut acc = [[0.0f64; LANES]; 2];
        let whole = s.len() - s.len() % LANES;
        for ((sc, yc), gc) in s[..whole]
            .chunks_exact(LANES)
            .zip(y[..whole].chunks_exact(LANES))
            .zip(g[..whole].chunks_exact(LANES))
        {
            for l in 0..LANES {
                acc[0][l] += sc[l] * gc[l];
                acc[1][l] += yc[l] * gc[l];
            }
        }
        let mut out = [total(&acc[0]), total(&acc[1])];
        for e in whole..s.len() {
            out[0] += s[e] * g[e];
            out[1] += y[e] * g[e];
        }
        out
    }
}

crate::simd::kernel! {
    /// `(sᵀg, yᵀg, sᵀy_j, yᵀy_j, s_jᵀy, sᵀs_j)` in one sweep: six products for five loads
    /// an element, where separate dot products would take twelve.
    fn six_products(s: &[f64], y: &[f64], g: &[f64], s_j: &[f64], y_j: &[f64]) -> [f64; 6] {
        let mut acc = [[0.0f64; LANES]; 6];
        let whole = s.len() - s.len() % LANES;
        for ((((sc, yc), gc), sjc), yjc) in s[..whole]
            .chunks_exact(LANES)
            .zip(y[..whole].chunks_exact(LANES))
            .zip(g[..whole].chunks_exact(LANES))
            .zip(s_j[..whole].chunks_exact(LANES))
            .zip(y_j[..whole].chunks_exact(LANES))
        {
            for l in 0..LANES {
                acc[0][l] += sc[l] * gc[l];
                acc[1][l] += yc[l] * gc[l];
                acc[2][l] += sc[l] * yjc[l];
                acc[3][l] += yc[l] * yjc[l];
                acc[4][l] += sjc[l] * yc[l];
                acc[5][l] += sc[l] * sjc[l];
            }
        }
        let mut out = acc.map(|a| total(&a));
        for e in whole..s.len() {
            out[0] += s[e] * g[e];
            out[1] += y[e] * g[e];
            out[2] += s[e] * y_j[e];
            out[3] += y[e] * y_j[e];
            out[4] += s_j[e] * y[e];
            out[5] += s[e] * s_j[e];
        }
        out
    }
}

crate::simd::kernel! {
    /// `d = c·g`.
    fn scaled(c: f64, g: &[f64], d: &mut [f64]) {
        for (di, gi) in d.iter_mut().zip(g) {
            *di = c * gi;
        }
    }
}

crate::simd::kernel! {
    /// `d += a·y + b·s`.
    fn add_two(d: &mut [f64], a: f64, y: &[f64], b: f64, s: &[f64]) {
        for ((di, yi), si) in d.iter_mut().zip(y).zip(s) {
            *di += a * yi + b * si;
        }
    }
}
