//! Data-parallel mini-batches: every worker takes its share of each global batch, and the
//! shares' gradients are summed across the workers.

use super::{can_share, join_parts, part, share, sum_part, sum_part_f32, Communicator};
use crate::problem::{GuestRows, OwnWeights, SampledObjective, SharedStep, WeightStep};
use crate::update::Moved;
use std::cell::{Cell, RefCell};

/// A [`SampledObjective`] whose batches are split across the workers of `comm`.
///
/// Every worker walks the same global sequence of batches (the same seed, the same
/// shuffles); of a batch of b indices, worker r evaluates the contiguous part
/// [`share`]`(b, r, K)` on its own copy of the problem, and the batch's mean value and
/// gradient are `Σᵣ (bᵣ/b)·(mean over part r)`, summed by [`Communicator::sum`]. That is
/// what one process computes with its batch split the same way across its threads, so
/// nothing about the run (the batches, the steps, a checkpoint) depends on K: a run saved
/// with K workers resumes with any other number.
///
/// Workers that hold only their own rows ([`DistributedBatches::holding`]) take instead
/// the indices of each batch that fall in their rows: the same global batches, shares of
/// a size that varies a little from batch to batch — unless the problem can lend its rows
/// ([`GuestRows`]), when the workers over their [`share`] of a batch lend their surplus
/// rows to those under it and every worker evaluates its share.
///
/// With a power of two of workers the step is shared ([`SharedStep`]): once the method
/// asks for it, a batch gradient is summed on this worker's [`part`] of the coordinates
/// only (the first half of the sum), and the method's new point is joined from the
/// workers' parts (its second half).
pub struct DistributedBatches<'a, S: ?Sized> {
    inner: &'a S,
    comm: &'a dyn Communicator,
    /// The gradient and the value, summed in one message.
    buf: RefCell<Vec<f64>>,
    /// The sum's scratch, kept from step to step.
    scratch: RefCell<Vec<f64>>,
    /// Whether gradients are summed on this worker's part only ([`SharedStep`]).
    shared: Cell<bool>,
    /// The value and norms of a shared step, summed in one message.
    scalars: RefCell<Vec<f64>>,
    /// The other worker's f32 half in the first round of an f32 sum ([`sum_part_f32`]).
    theirs: RefCell<Vec<f32>>,
    /// The rows this worker holds, when it holds only its own ([`DistributedBatches::holding`]).
    held: Option<Held>,
    /// This worker's indices of the current batch, counted in the rows it holds.
    mine: RefCell<Vec<usize>>,
    /// Every worker's count of the current batch's indices.
    counts: RefCell<Vec<usize>>,
    /// Records of rows lent or borrowed ([`GuestRows`]).
    records: RefCell<Vec<f64>>,
}

/// The rows of the whole set each worker holds: its leaves' ([`super::tree::own_leaves`]).
struct Held {
    /// Samples of the whole set.
    total: usize,
    /// Each worker's first row, and the end of the last worker's rows.
    starts: Vec<usize>,
}

impl Held {
    /// Worker `rank`'s indices of a batch (counted in the rows it holds) into `mine`, and
    /// every worker's count of them into `counts` (each worker knows every batch).
    fn split(
        &self,
        indices: &[usize],
        rank: usize,
        mine: &mut Vec<usize>,
        counts: &mut Vec<usize>,
    ) {
        let (first, end) = (self.starts[rank], self.starts[rank + 1]);
        mine.clear();
        mine.extend(
            indices
                .iter()
                .filter(|&&i| (first..end).contains(&i))
                .map(|i| i - first),
        );
        counts.clear();
        counts.resize(self.starts.len() - 1, 0);
        for &i in indices {
            counts[self.starts.partition_point(|&s| s <= i) - 1] += 1;
        }
    }
}

impl<'a, S: SampledObjective + ?Sized> DistributedBatches<'a, S> {
    /// `inner`'s batches split across `comm`.
    pub fn new(inner: &'a S, comm: &'a dyn Communicator) -> Self {
        DistributedBatches {
            inner,
            comm,
            buf: RefCell::new(vec![0.0; inner.dim() + 1]),
            scratch: RefCell::new(Vec::new()),
            shared: Cell::new(false),
            scalars: RefCell::new(Vec::new()),
            theirs: RefCell::new(Vec::new()),
            held: None,
            mine: RefCell::new(Vec::new()),
            counts: RefCell::new(Vec::new()),
            records: RefCell::new(Vec::new()),
        }
    }

    /// The batches of a set of `total` samples of which `inner` holds only this worker's
    /// rows, those of its leaves ([`super::tree::own_leaves`]): of every batch, the worker
    /// evaluates the indices that fall in its rows. Every worker still walks the same
    /// global batches, so the run is the run of one process that holds them all. The
    /// workers' rows of a batch differ a little in number from batch to batch; a problem
    /// that lends rows ([`GuestRows`]) evens them out to each worker's [`share`].
    pub fn holding(mut self, total: usize) -> Self {
        let size = self.comm.size();
        let mut starts: Vec<usize> = (0..size)
            .map(|r| super::tree::own_leaves(total, r, size).0.start)
            .collect();
        starts.push(total);
        self.held = Some(Held { total, starts });
        self
    }
}

impl<S: SampledObjective + ?Sized> DistributedBatches<'_, S> {
    /// Calls `with` on this worker's indices of a batch (counted in the rows it holds),
    /// their weight (this worker's fraction of the batch), and whether every worker has
    /// the same number of them.
    fn with_mine<R>(&self, indices: &[usize], with: impl FnOnce(&[usize], f64, bool) -> R) -> R {
        let (b, rank, size) = (indices.len(), self.comm.rank(), self.comm.size());
        let Some(held) = &self.held else {
            let mine = &indices[share(b, rank, size)];
            return with(mine, mine.len() as f64 / b.max(1) as f64, b % size == 0);
        };
        let mut mine = self.mine.borrow_mut();
        let mut counts = self.counts.borrow_mut();
        held.split(indices, rank, &mut mine, &mut counts);
        let even = match self.inner.guest_rows() {
            Some(guests) => {
                // (The rows lent to it follow its own: `GuestRows::host`.)
                self.even_out(&counts, &mut mine, self.inner.sample_count(), guests);
                b % size == 0
            }
            None => b % size == 0 && counts.iter().all(|&c| c == b / size),
        };
        with(&mine, mine.len() as f64 / b.max(1) as f64, even)
    }

    /// Evens out the workers' shares of a batch of b indices that fall `counts[r]` times
    /// on worker r's rows (b/K each on average, give or take √(b/K), and every step waits
    /// for the largest share): the workers with more than their [`share`] of the batch
    /// lend the last of their indices to those with fewer, so that each evaluates its
    /// share. `mine` (this worker's indices, of its `held` rows) ends with the rows it was
    /// lent, as the indices `held..`.
    fn even_out(
        &self,
        counts: &[usize],
        mine: &mut Vec<usize>,
        held: usize,
        guests: &dyn GuestRows,
    ) {
        let (rank, size) = (self.comm.rank(), self.comm.size());
        let b = counts.iter().sum::<usize>();
        let target = share(b, rank, size).len();
        let mut records = self.records.borrow_mut();
        records.clear();
        let (mut lent, mut borrowed) = (target, 0);
        lending_plan(
            counts,
            |r| share(b, r, size).len(),
            |from, to, rows| {
                if from == rank {
                    records.clear();
                    guests.write_records(&mine[lent..lent + rows], &mut records);
                    self.comm.send(&records, to);
                    lent += rows;
                } else if to == rank {
                    let start = records.len();
                    records.resize(start + rows * guests.record_len(), 0.0);
                    self.comm.receive(&mut records[start..], from);
                    borrowed += rows;
                }
            },
        );
        // A lender keeps its first `target` indices; the others have no more than that.
        mine.truncate(target);
        if borrowed > 0 {
            guests.host(&records);
            mine.extend(held..held + borrowed);
        }
    }

    /// The inner problem's mean value and gradient on `mine`, a worker's share: none
    /// (zero) when it has no rows of the batch.
    fn share_value_grad(&self, x: &[f64], mine: &[usize], g: &mut [f64]) -> f64 {
        if mine.is_empty() {
            g.iter_mut().for_each(|v| *v = 0.0);
            return 0.0;
        }
        self.inner.batch_value_grad(x, mine, g)
    }

    /// This worker's share of the batch, weighted by its part of the rows, and the value,
    /// summed over the workers in one message; the mean value returned, the gradient in
    /// `g`.
    fn sum_shares(&self, x: &[f64], indices: &[usize], g: &mut [f64]) -> f64 {
        self.with_mine(indices, |mine, weight, _| {
            let mut buf = self.buf.borrow_mut();
            let n = g.len();
            buf.resize(n + 1, 0.0);
            let f = self.share_value_grad(x, mine, &mut buf[..n]);
            buf[..n].iter_mut().for_each(|s| *s *= weight);
            buf[n] = weight * f;
            self.comm.sum_with(&mut buf, &mut self.scratch.borrow_mut());
            g.copy_from_slice(&buf[..n]);
            buf[n]
        })
    }

    /// [`DistributedBatches::sum_shares`] for a shared step: the gradient summed on this
    /// worker's part of `g` only, in place; the value and `‖g‖∞` (`None` if an entry is
    /// not finite) of the whole batch, from one more message of `1 + K` numbers.
    fn sum_part_of_shares(
        &self,
        x: &[f64],
        indices: &[usize],
        g: &mut [f64],
    ) -> (f64, Option<f64>) {
        self.with_mine(indices, |mine, weight, even| {
            let f = self.share_value_grad(x, mine, g);
            let (_, f, norm) = self.sum_on_part(f, weight, even, g);
            (f, norm)
        })
    }

    /// The rest of [`DistributedBatches::sum_part_of_shares`] once this worker's share is
    /// evaluated (its mean value `f` and gradient `g`, of weight `weight`): the part, and
    /// the batch's value and `‖g‖∞`.
    fn sum_on_part(
        &self,
        f: f64,
        weight: f64,
        even: bool,
        g: &mut [f64],
    ) -> (std::ops::Range<usize>, f64, Option<f64>) {
        // When every worker has b/K rows, every weight is 1/K, a power of two: weighting
        // the sum of the gradients is then weighting each of them, to the bit (outside
        // the subnormal range), and it is done on the part only, in the pass that takes
        // its norm.
        if !even {
            crate::linalg::scale(weight, g);
        }
        let own = sum_part(self.comm, g, &mut self.scratch.borrow_mut());
        let norm = if even {
            crate::linalg::scale_finite_norm_inf(&mut g[own.clone()], weight)
        } else {
            crate::linalg::finite_norm_inf(&g[own.clone()])
        };
        let (f, norm) = self.batch_value_and_norm(weight * f, norm);
        (own, f, norm)
    }

    /// The batch's value and `‖g‖∞` from each worker's weighted value `weighted_f` and
    /// `‖g‖∞` of its part (`None`: not finite), in one message of `1 + K` numbers.
    fn batch_value_and_norm(&self, weighted_f: f64, norm: Option<f64>) -> (f64, Option<f64>) {
        let (rank, size) = (self.comm.rank(), self.comm.size());
        // The value in slot 0 (added in the tree's order, as in the whole sum); each
        // worker's ‖g‖∞ of its part in a slot of its own (a sum of zeros and one number
        // is that number), infinite for a part that is not finite.
        let mut scalars = self.scalars.borrow_mut();
        scalars.clear();
        scalars.resize(1 + size, 0.0);
        scalars[0] = weighted_f;
        scalars[1 + rank] = norm.unwrap_or(f64::INFINITY);
        self.comm
            .sum_with(&mut scalars, &mut self.scratch.borrow_mut());
        let norm = scalars[1..].iter().fold(0.0_f64, |m, v| m.max(*v));
        (scalars[0], norm.is_finite().then_some(norm))
    }

    /// [`OwnWeights::value_grad`] of a shared step: the f32 gradients summed on this
    /// worker's part ([`sum_part_f32`]: f32 halves in the first round), scaled by `after`
    /// and rounded back to f32 in the pass that takes the part's norm; `weighted_f` is this
    /// worker's share of the batch's value. Workers with `b/K` rows each weight the sum
    /// (`after = 1/K`, a power of two for the shared step: exact); others weight their
    /// own gradients before it (`after = 1`).
    fn sum_own_part(
        &self,
        own: &dyn OwnWeights,
        weighted_f: f64,
        after: f64,
    ) -> (f64, Option<f64>) {
        if self.comm.size() == 2 {
            // One round: the halves are added, scaled and rounded back in one pass.
            let mut norm = None;
            own.gradient(&mut |g| {
                norm = sum_pair_rounded(self.comm, g, after, &mut self.theirs.borrow_mut())
            });
            return self.batch_value_and_norm(weighted_f, norm);
        }
        let mut wide = self.buf.borrow_mut();
        let mut part = 0..0;
        own.gradient(&mut |g| {
            part = sum_part_f32(
                self.comm,
                g,
                &mut wide,
                &mut self.theirs.borrow_mut(),
                &mut self.scratch.borrow_mut(),
            );
        });
        let mut norm = None;
        own.gradient(&mut |g| {
            norm = scale_round_norm(&mut wide[part.clone()], after, &mut g[part.clone()]);
        });
        self.batch_value_and_norm(weighted_f, norm)
    }
}

/// Who lends how many rows to whom so that each worker r has `target(r)` of a batch of
/// which it holds `counts[r]` (the counts and targets adding up to the same b): the
/// workers over their target lend, in rank order, to those under it, in rank order,
/// `lend(from, to, rows)` for each loan in that order. Every worker calls it with the
/// same numbers and takes its part in each loan; since lender i's borrowers come after
/// lender i − 1's, and a borrower's lenders in rank order, blocking sends and receives
/// taken in this order cannot wait on each other in a cycle.
fn lending_plan(
    counts: &[usize],
    target: impl Fn(usize) -> usize,
    mut lend: impl FnMut(usize, usize, usize),
) {
    let mut short = counts
        .iter()
        .enumerate()
        .filter(|&(r, &c)| c < target(r))
        .map(|(r, &c)| (r, target(r) - c));
    let mut next = short.next();
    for (from, &c) in counts.iter().enumerate() {
        let mut over = c.saturating_sub(target(from));
        while over > 0 {
            let Some((to, wanted)) = next.as_mut() else {
                return;
            };
            let rows = over.min(*wanted);
            lend(from, *to, rows);
            over -= rows;
            *wanted -= rows;
            if *wanted == 0 {
                next = short.next();
            }
        }
    }
}

/// [`sum_part_f32`] then [`scale_round_norm`] for two workers, in one pass over this
/// worker's half: its [`part`] of `g` becomes `f32((g + g') · s)` with `g'` the other
/// worker's values there, added in f64 (the same bits as the two passes: the same
/// operations in the same order); returns `‖(g + g')·s‖∞` of the part, or `None` when an
/// entry is not finite.
fn sum_pair_rounded<C: Communicator + ?Sized>(
    comm: &C,
    g: &mut [f32],
    s: f64,
    theirs: &mut Vec<f32>,
) -> Option<f64> {
    use rayon::prelude::*;
    let keep = super::exchange_first_round_f32(comm, g, theirs);
    let parts: Vec<(f64, bool)> = g[keep]
        .par_chunks_mut(1 << 13)
        .zip(theirs.par_chunks(1 << 13))
        .map(|(g, t)| add_scale_round_norm_chunk(g, t, s))
        .collect();
    crate::linalg::finite_norm_of_parts(&parts)
}

crate::simd::kernel! {
    /// [`sum_pair_rounded`] of one chunk.
    fn add_scale_round_norm_chunk(g: &mut [f32], theirs: &[f32], s: f64) -> (f64, bool) {
        const BLOCK: usize = 256;
        let mut wide = [0.0f64; BLOCK];
        let (mut top, mut finite) = (0.0f64, true);
        for (g, t) in g.chunks_mut(BLOCK).zip(theirs.chunks(BLOCK)) {
            let w = &mut wide[..g.len()];
            w.iter_mut().zip(g.iter()).zip(t).for_each(|((w, a), b)| {
                *w = (f64::from(*a) + f64::from(*b)) * s;
            });
            g.iter_mut().zip(w.iter()).for_each(|(g, w)| *g = *w as f32);
            let (m, ok) = crate::linalg::finite_norm_inf_chunk(w);
            top = top.max(m);
            finite &= ok;
        }
        (top, finite)
    }
}

/// `s·w` into `w` and, rounded to f32, into `g`; `‖s·w‖∞` from the same pass (chunks in
/// parallel), or `None` when an entry is not finite.
fn scale_round_norm(w: &mut [f64], s: f64, g: &mut [f32]) -> Option<f64> {
    use rayon::prelude::*;
    let parts: Vec<(f64, bool)> = w
        .par_chunks_mut(1 << 13)
        .zip(g.par_chunks_mut(1 << 13))
        .map(|(w, g)| scale_round_norm_chunk(w, s, g))
        .collect();
    crate::linalg::finite_norm_of_parts(&parts)
}

crate::simd::kernel! {
    /// [`scale_round_norm`] of one chunk.
    fn scale_round_norm_chunk(w: &mut [f64], s: f64, g: &mut [f32]) -> (f64, bool) {
        w.iter_mut().zip(g.iter_mut()).for_each(|(w, g)| {
            *w *= s;
            *g = *w as f32;
        });
        crate::linalg::finite_norm_inf_chunk(w)
    }
}

/// The workers' own f32 weights: each evaluates its share of the batch at its copy of the
/// weights; the shares' gradients are summed in f64, in the order of
/// [`Communicator::sum`] (the same sum as [`SampledObjective::batch_value_grad`]'s), and
/// rounded to f32 once. With a shared step each worker sums and steps its part, and the
/// parts of the new weights are joined in f32.
impl<S: SampledObjective + ?Sized> OwnWeights for DistributedBatches<'_, S> {
    fn load(&self, x: &[f64], g: &[f64]) {
        self.own().load(x, g)
    }
    fn store(&self, x: &mut [f64], g: &mut [f64]) {
        self.own().store(x, g)
    }
    fn value_grad(&self, indices: &[usize], norm: bool) -> (f64, Option<f64>) {
        let own = self.own();
        if self.comm.size() <= 1 {
            return own.value_grad(indices, norm);
        }
        self.with_mine(indices, |mine, weight, even| {
            let f = if mine.is_empty() {
                own.gradient(&mut |g| g.iter_mut().for_each(|v| *v = 0.0));
                0.0
            } else {
                own.value_grad(mine, false).0
            };
            self.sum_own_share(own, f, weight, even)
        })
    }
    fn gradient(&self, with: &mut dyn FnMut(&mut [f32])) {
        self.own().gradient(with)
    }
    fn weights(&self, with: &mut dyn FnMut(&mut [f32])) {
        self.own().weights(with)
    }
    fn step(&self, part: std::ops::Range<usize>, step: &mut WeightStep<'_>) -> Option<Moved> {
        let own = self.own();
        let moved = own.step(part.clone(), step)?;
        if part == (0..self.inner.dim()) {
            return Some(moved);
        }
        own.weights(&mut |w| join_parts(self.comm, w));
        let mut sums = [moved.step_sq, f64::from(u8::from(!moved.finite))];
        self.comm
            .sum_with(&mut sums, &mut self.scratch.borrow_mut());
        Some(Moved {
            step_sq: sums[0],
            finite: sums[1] == 0.0,
        })
    }
}

impl<S: SampledObjective + ?Sized> DistributedBatches<'_, S> {
    /// [`OwnWeights::value_grad`] once this worker's share is evaluated (mean value `f`,
    /// the gradient in the network's buffer, weight `weight`): the shares summed across
    /// the workers, whole or on this worker's part.
    fn sum_own_share(
        &self,
        own: &dyn OwnWeights,
        f: f64,
        weight: f64,
        even: bool,
    ) -> (f64, Option<f64>) {
        if self.shared.get() && even {
            return self.sum_own_part(own, weight * f, weight);
        }
        if self.shared.get() && self.held.is_some() {
            // Shares of different sizes (workers that hold their own rows): each weights
            // its f32 gradient (a rounding of f32's order), and the sum is taken in f32
            // halves as for even shares.
            let w = weight as f32;
            own.gradient(&mut |g| {
                crate::simd::vectorized(
                    #[inline(always)]
                    || g.iter_mut().for_each(|v| *v *= w),
                )
            });
            return self.sum_own_part(own, weight * f, 1.0);
        }
        let mut buf = self.buf.borrow_mut();
        let n = self.inner.dim();
        buf.resize(n + 1, 0.0);
        own.gradient(&mut |g| {
            buf[..n]
                .iter_mut()
                .zip(g.iter())
                .for_each(|(s, v)| *s = f64::from(*v))
        });
        if self.shared.get() {
            let (part, f, norm) = self.sum_on_part(f, weight, false, &mut buf[..n]);
            own.gradient(&mut |g| {
                g[part.clone()]
                    .iter_mut()
                    .zip(&buf[part.clone()])
                    .for_each(|(g, v)| *g = *v as f32)
            });
            return (f, norm);
        }
        buf[..n].iter_mut().for_each(|s| *s *= weight);
        buf[n] = weight * f;
        self.comm.sum_with(&mut buf, &mut self.scratch.borrow_mut());
        own.gradient(&mut |g| {
            g.iter_mut()
                .zip(&buf[..n])
                .for_each(|(g, v)| *g = *v as f32)
        });
        (buf[n], crate::linalg::finite_norm_inf(&buf[..n]))
    }
}

impl<S: SampledObjective + ?Sized> DistributedBatches<'_, S> {
    /// The inner problem's weights (asked for only when it has them).
    fn own(&self) -> &dyn OwnWeights {
        self.inner
            .own_weights()
            .expect("own weights are asked for only of a problem that has them")
    }
}

impl<S: SampledObjective + ?Sized> SharedStep for DistributedBatches<'_, S> {
    fn part(&self) -> std::ops::Range<usize> {
        part(self.inner.dim(), self.comm.rank(), self.comm.size())
    }
    fn share(&self, on: bool) {
        self.shared.set(on);
    }
    fn join_step(&self, next: &mut [f64], moved: Moved) -> Moved {
        join_parts(self.comm, next);
        let mut sums = [moved.step_sq, f64::from(u8::from(!moved.finite))];
        self.comm
            .sum_with(&mut sums, &mut self.scratch.borrow_mut());
        Moved {
            step_sq: sums[0],
            finite: sums[1] == 0.0,
        }
    }
    fn join(&self, v: &mut [f64]) {
        join_parts(self.comm, v);
    }
}

impl<S: SampledObjective + ?Sized> SampledObjective for DistributedBatches<'_, S> {
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn sample_count(&self) -> usize {
        self.held
            .as_ref()
            .map_or_else(|| self.inner.sample_count(), |h| h.total)
    }
    fn batch_value_grad_norm(
        &self,
        x: &[f64],
        indices: &[usize],
        g: &mut [f64],
    ) -> (f64, Option<f64>) {
        if self.comm.size() <= 1 {
            return self.inner.batch_value_grad_norm(x, indices, g);
        }
        if self.shared.get() {
            return self.sum_part_of_shares(x, indices, g);
        }
        let f = self.sum_shares(x, indices, g);
        (f, crate::linalg::finite_norm_inf(g))
    }
    fn batch_value_grad(&self, x: &[f64], indices: &[usize], g: &mut [f64]) -> f64 {
        if self.comm.size() <= 1 {
            return self.inner.batch_value_grad(x, indices, g);
        }
        if self.shared.get() {
            return self.sum_part_of_shares(x, indices, g).0;
        }
        self.sum_shares(x, indices, g)
    }
    fn step_sharing(&self) -> Option<&dyn SharedStep> {
        can_share(self.comm, self.inner.dim()).then_some(self as &dyn SharedStep)
    }
    fn own_weights(&self) -> Option<&dyn OwnWeights> {
        self.inner.own_weights().map(|_| self as &dyn OwnWeights)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every way of spreading b indices over K workers (b ≤ 7, K ≤ 4) is evened out to
    /// the workers' [`share`]s, each loan from a worker over its share to one under it,
    /// the loans ordered by lender and by borrower alike (no cycle of blocking sends).
    #[test]
    fn the_lending_plan_evens_out_every_spread_without_crossing_loans() {
        fn spreads(b: usize, k: usize) -> Vec<Vec<usize>> {
            if k == 1 {
                return vec![vec![b]];
            }
            (0..=b)
                .flat_map(|c| {
                    spreads(b - c, k - 1).into_iter().map(move |mut rest| {
                        rest.insert(0, c);
                        rest
                    })
                })
                .collect()
        }
        for k in 1..=4 {
            for b in 0..=7 {
                let target = |r: usize| share(b, r, k).len();
                for counts in spreads(b, k) {
                    let mut now = counts.clone();
                    let mut loans = Vec::new();
                    lending_plan(&counts, target, |from, to, rows| {
                        assert!(rows > 0 && counts[from] > target(from) && counts[to] < target(to));
                        now[from] -= rows;
                        now[to] += rows;
                        loans.push((from, to));
                    });
                    assert!((0..k).all(|r| now[r] == target(r)), "{counts:?} → {now:?}");
                    assert!(loans
                        .windows(2)
                        .all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1));
                }
            }
        }
    }
}
