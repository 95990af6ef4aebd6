//! Adam in f32 arithmetic, for an f32 network's own f32 weights with f32 moments (as
//! `torch.optim.Adam` steps an f32 model): the same expression as the f64 rule,
//!
//!   m ← β₁m + (1−β₁)g,   v ← β₂v + (1−β₂)g²,   Δ = −((r/c₁)·m / (√v·(1/√c₂) + ε) + rλ·w),
//!   w₊ = w + s·Δ,
//!
//! each operation rounded to f32. Its square root and division are what bound a step of an
//! f32 network's Adam on AVX2 (about 4 cycles a coordinate in f64, four lanes; a quarter of
//! that in f32, eight lanes); the step reads g, m, v, w and writes m, v, w₊ once, in
//! [`CHUNK`]-long pieces (in parallel from [`PARALLEL_MIN`] values) whose squared lengths
//! are added in order.

use super::one_pass::{Moved, CHUNK, PARALLEL_MIN};
use rayon::prelude::*;

/// Adam's coefficients at one step, rounded to f32 (see the module documentation).
#[derive(Clone, Copy, Debug)]
pub(super) struct AdamF32 {
    pub b1: f32,
    pub b2: f32,
    /// 1 − β₁ and 1 − β₂ (rounded from f64, as the f64 rule computes them).
    pub one_b1: f32,
    pub one_b2: f32,
    /// r/c₁.
    pub rc1: f32,
    /// 1/√c₂.
    pub inv_sc2: f32,
    pub eps: f32,
    /// r·λ.
    pub decay: f32,
}

impl AdamF32 {
    /// Δ at one coordinate, the moments updated.
    #[inline(always)]
    fn delta(&self, m: &mut f32, v: &mut f32, w: f32, g: f32) -> f32 {
        *m = self.b1 * *m + self.one_b1 * g;
        *v = self.b2 * *v + self.one_b2 * g * g;
        -(self.rc1 * *m / (v.sqrt() * self.inv_sc2 + self.eps) + self.decay * w)
    }
}

/// One Adam step at f32 weights `w` with gradient `g`: `next = w + s·Δ`, the moments `m`
/// and `v` updated.
pub(super) fn step(
    k: &AdamF32,
    m: &mut [f32],
    v: &mut [f32],
    w: &[f32],
    g: &[f32],
    s: f32,
    next: &mut [f32],
) -> Moved {
    let n = next.len();
    assert!(m.len() == n && v.len() == n && w.len() == n && g.len() == n);
    let work: Vec<_> = m
        .chunks_mut(CHUNK)
        .zip(v.chunks_mut(CHUNK))
        .zip(w.chunks(CHUNK).zip(g.chunks(CHUNK)))
        .zip(next.chunks_mut(CHUNK))
        .collect();
    let run = |(((m, v), (w, g)), next): Piece<'_>| chunk(k, m, v, w, g, s, next);
    let parts: Vec<(f64, bool)> = if n >= PARALLEL_MIN {
        work.into_par_iter().map(run).collect()
    } else {
        work.into_iter().map(run).collect()
    };
    let s = f64::from(s);
    Moved {
        step_sq: s * s * parts.iter().map(|p| p.0).sum::<f64>(),
        finite: parts.iter().all(|p| p.1),
    }
}

/// One chunk's moments, weights, gradient and next weights.
type Piece<'a> = (
    ((&'a mut [f32], &'a mut [f32]), (&'a [f32], &'a [f32])),
    &'a mut [f32],
);

crate::simd::kernel! {
    /// One chunk, compiled for AVX2 when the CPU has it: `(Σ Δ², all of next finite)`.
    fn chunk(
        k: &AdamF32,
        m: &mut [f32],
        v: &mut [f32],
        w: &[f32],
        g: &[f32],
        s: f32,
        next: &mut [f32],
    ) -> (f64, bool) {
        // Eight lanes of partial sums, in f64 per block of lanes so that a long chunk's sum
        // keeps its precision; Δ goes through a block on the stack (in L1): one loop for Δ
        // and the moments, one for the move and the sums, each of which vectorizes.
        const LANES: usize = 8;
        const BLOCK: usize = 32 * LANES;
        let n = next.len();
        let (m, v, w, g) = (&mut m[..n], &mut v[..n], &w[..n], &g[..n]);
        let (mut sq, mut ok) = (0.0f64, true);
        let mut delta = [0.0f32; BLOCK];
        for lo in (0..n).step_by(BLOCK) {
            let hi = (lo + BLOCK).min(n);
            for (i, d) in (lo..hi).zip(delta.iter_mut()) {
                *d = k.delta(&mut m[i], &mut v[i], w[i], g[i]);
            }
            let mut lanes = [0.0f32; LANES];
            let whole = lo + (hi - lo) / LANES * LANES;
            let mut cs = next[lo..whole].chunks_exact_mut(LANES);
            let mut ws = w[lo..whole].chunks_exact(LANES);
            let mut ds = delta[..whole - lo].chunks_exact(LANES);
            for ((c, w), d) in (&mut cs).zip(&mut ws).zip(&mut ds) {
                for lane in 0..LANES {
                    c[lane] = w[lane] + s * d[lane];
                    lanes[lane] += d[lane] * d[lane];
                    ok &= c[lane].is_finite();
                }
            }
            sq += lanes.iter().map(|l| f64::from(*l)).sum::<f64>();
            for i in whole..hi {
                let d = delta[i - lo];
                next[i] = w[i] + s * d;
                sq += f64::from(d * d);
                ok &= next[i].is_finite();
            }
        }
        (sq, ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vectorized, chunked and parallel loop is the scalar expression, to the bit, at
    /// every coordinate (below and above the parallel size, with a tail of fewer than
    /// eight), and a step that overflows is reported.
    #[test]
    fn the_loop_is_the_scalar_expression() {
        let k = AdamF32 {
            b1: 0.9,
            b2: 0.999,
            one_b1: (1.0 - 0.9f64) as f32,
            one_b2: (1.0 - 0.999f64) as f32,
            rc1: 0.01,
            inv_sc2: 1.3,
            eps: 1e-8,
            decay: 1e-3,
        };
        let wave = |n: usize, p: f32| -> Vec<f32> {
            (0..n).map(|i| (i as f32 * 0.37 + p).sin()).collect()
        };
        for n in [5, CHUNK + 3, PARALLEL_MIN + CHUNK + 13] {
            let (w, g) = (wave(n, 0.0), wave(n, 1.0));
            let (mut m, mut v) = (
                wave(n, 2.0),
                wave(n, 3.0).iter().map(|x| x * x).collect::<Vec<f32>>(),
            );
            let (mut m1, mut v1): (Vec<f32>, Vec<f32>) = (m.clone(), v.clone());
            let mut next = vec![0.0; n];
            let moved = step(&k, &mut m, &mut v, &w, &g, 0.5, &mut next);
            let mut sq = 0.0f64;
            for i in 0..n {
                let d = k.delta(&mut m1[i], &mut v1[i], w[i], g[i]);
                assert_eq!(next[i].to_bits(), (w[i] + 0.5 * d).to_bits(), "at {i}");
                sq += f64::from(d) * f64::from(d);
            }
            assert_eq!((m, v), (m1, v1));
            assert!(moved.finite);
            assert!(
                (moved.step_sq - 0.25 * sq).abs() <= 1e-5 * sq,
                "{} {sq}",
                moved.step_sq
            );
            let mut huge = w.clone();
            huge[n - 1] = f32::MAX;
            let (mut m, mut v) = (vec![0.0; n], vec![0.0; n]);
            let far = step(&k, &mut m, &mut v, &huge, &g, 1e30, &mut next);
            assert!(!far.finite);
        }
    }
}
