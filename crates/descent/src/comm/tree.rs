//! Sums over a fixed binary tree of leaves, so that a sum split across workers is the sum
//! one process takes, to the bit.
//!
//! A full-batch objective cuts its rows into a number of leaves that depends on the data
//! alone ([`leaf_count`]). Whoever evaluates them, one process or K workers each with a
//! contiguous run of leaves, adds the leaves' vectors pairwise, `(l₀ + l₁) + (l₂ + l₃)`
//! and so on up the tree. When K is a power of two dividing the leaf count, each worker's
//! leaves form whole subtrees, and [`super::Communicator::sum`]'s binomial tree joins them
//! the way the one process joins the same subtrees. So the value and gradient do not
//! depend on K, and neither does the run: every iteration of L-BFGS on two workers is the
//! iteration on one.

use super::share;
use std::ops::Range;

/// Most leaves of a tree (more only when there are more workers than this).
pub const MAX_LEAVES: usize = 16;

/// Fewest rows a leaf is worth evaluating on its own.
pub const MIN_LEAF_ROWS: usize = 64;

/// The number of leaves of `rows` rows for `workers` workers: a power of two, at most
/// [`MAX_LEAVES`] and with at least [`MIN_LEAF_ROWS`] rows each where the rows allow, and at
/// least one per worker.
pub fn leaf_count(rows: usize, workers: usize) -> usize {
    let by_rows = (rows / MIN_LEAF_ROWS).clamp(1, MAX_LEAVES);
    let pow2 = 1 << by_rows.ilog2();
    pow2.max(workers)
}

/// This worker's leaves of `rows` rows: the rows they cover together, and each leaf's rows
/// counted from the first of those.
pub fn own_leaves(rows: usize, rank: usize, size: usize) -> (Range<usize>, Vec<Range<usize>>) {
    let count = leaf_count(rows, size);
    let leaves: Vec<Range<usize>> = share(count, rank, size)
        .map(|leaf| share(rows, leaf, count))
        .collect();
    let start = leaves.first().map_or(0, |l| l.start);
    let end = leaves.last().map_or(0, |l| l.end);
    let local = leaves
        .iter()
        .map(|l| l.start - start..l.end - start)
        .collect();
    (start..end, local)
}

/// Pairwise sum of leaf vectors pushed in order (a binary counter: two partial sums of the
/// same number of leaves are joined, left + right, as soon as both exist).
#[derive(Default)]
pub struct TreeSum {
    /// Partial sums and the leaves each covers, left to right.
    stack: Vec<(usize, Vec<f64>)>,
    /// Buffers to reuse.
    spare: Vec<Vec<f64>>,
}

impl TreeSum {
    /// A buffer of `width` entries for the next leaf (its contents are stale: overwrite).
    pub fn buffer(&mut self, width: usize) -> Vec<f64> {
        let mut b = self.spare.pop().unwrap_or_default();
        b.resize(width, 0.0);
        b
    }

    /// Adds the next leaf.
    pub fn push(&mut self, leaf: Vec<f64>) {
        let mut right = (1, leaf);
        while let Some(left) = self.stack.last_mut() {
            if left.0 != right.0 {
                break;
            }
            crate::linalg::add_assign(&mut left.1, &right.1);
            left.0 += right.0;
            self.spare.push(right.1);
            right = self.stack.pop().expect("the partial just read");
        }
        self.stack.push(right);
    }

    /// The sum of the leaves pushed (zeros when none were), joining what is left from the
    /// right; the tree is empty again after it. Hand the buffer back with
    /// [`TreeSum::recycle`].
    pub fn finish(&mut self, width: usize) -> Vec<f64> {
        let Some((_, mut total)) = self.stack.pop() else {
            let mut b = self.buffer(width);
            b.iter_mut().for_each(|v| *v = 0.0);
            return b;
        };
        while let Some((_, mut left)) = self.stack.pop() {
            crate::linalg::add_assign(&mut left, &total);
            self.spare.push(std::mem::replace(&mut total, left));
        }
        total
    }

    /// Returns a buffer for reuse.
    pub fn recycle(&mut self, buffer: Vec<f64>) {
        self.spare.push(buffer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Recursive halving of a power-of-two count.
    fn pairwise(v: &[f64]) -> f64 {
        if v.len() == 1 {
            return v[0];
        }
        pairwise(&v[..v.len() / 2]) + pairwise(&v[v.len() / 2..])
    }

    #[test]
    fn leaves_are_added_pairwise() {
        // Numbers whose sum depends on the association.
        let leaves: Vec<f64> = (0..16)
            .map(|i| if i % 3 == 0 { 1e16 } else { 1.0 + i as f64 } * if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        for count in [1, 2, 4, 8, 16] {
            let mut tree = TreeSum::default();
            for l in &leaves[..count] {
                let mut b = tree.buffer(1);
                b[0] = *l;
                tree.push(b);
            }
            let total = tree.finish(1)[0];
            assert_eq!(
                total.to_bits(),
                pairwise(&leaves[..count]).to_bits(),
                "{count}"
            );
        }
    }

    #[test]
    fn halves_summed_then_joined_are_the_whole() {
        let leaves: Vec<f64> = (0..16)
            .map(|i| (i as f64 * 0.37).sin() * 10f64.powi(i % 7))
            .collect();
        let sum = |ls: &[f64]| {
            let mut tree = TreeSum::default();
            for l in ls {
                tree.push(vec![*l]);
            }
            tree.finish(1)[0]
        };
        for parts in [2, 4, 8] {
            let w = 16 / parts;
            let mut level: Vec<f64> = (0..parts)
                .map(|p| sum(&leaves[p * w..(p + 1) * w]))
                .collect();
            while level.len() > 1 {
                level = level.chunks(2).map(|c| c[0] + c[1]).collect();
            }
            assert_eq!(level[0].to_bits(), sum(&leaves).to_bits(), "{parts}");
        }
    }

    #[test]
    fn leaf_counts_are_powers_of_two_within_bounds() {
        assert_eq!(leaf_count(10, 1), 1);
        assert_eq!(leaf_count(200, 1), 2);
        assert_eq!(leaf_count(10_000, 1), 16);
        assert_eq!(leaf_count(10_000, 2), 16);
        assert_eq!(leaf_count(100, 3), 3);
        assert_eq!(leaf_count(1_000_000, 32), 32);
    }
}
