//! Data-parallel mini-batches: every worker takes its share of each global batch, and the
//! shares' gradients are summed across the workers.

use super::{share, Communicator};
use crate::problem::SampledObjective;
use std::cell::RefCell;

/// A [`SampledObjective`] whose batches are split across the workers of `comm`.
///
/// Every worker walks the same global sequence of batches (the same seed, the same
/// shuffles); of a batch of b indices, worker r evaluates the contiguous part
/// [`share`]`(b, r, K)` on its own copy of the problem, and the batch's mean value and
/// gradient are `Σᵣ (bᵣ/b)·(mean over part r)`, summed by [`Communicator::sum`]. That is
/// what one process computes with its batch split the same way across its threads, so
/// nothing about the run (the batches, the steps, a checkpoint) depends on K: a run saved
/// with K workers resumes with any other number.
pub struct DistributedBatches<'a, S: ?Sized> {
    inner: &'a S,
    comm: &'a dyn Communicator,
    /// The gradient and the value, summed in one message.
    buf: RefCell<Vec<f64>>,
    /// The sum's scratch, kept from step to step.
    scratch: RefCell<Vec<f64>>,
}

impl<'a, S: SampledObjective + ?Sized> DistributedBatches<'a, S> {
    /// `inner`'s batches split across `comm`.
    pub fn new(inner: &'a S, comm: &'a dyn Communicator) -> Self {
        DistributedBatches {
            inner,
            comm,
            buf: RefCell::new(vec![0.0; inner.dim() + 1]),
            scratch: RefCell::new(Vec::new()),
        }
    }
}

impl<S: SampledObjective + ?Sized> DistributedBatches<'_, S> {
    /// This worker's share of the batch, weighted by its part of the rows, and the value,
    /// summed over the workers in one message; the mean value returned, the gradient in
    /// `g`.
    fn sum_shares(&self, x: &[f64], indices: &[usize], g: &mut [f64]) -> f64 {
        let b = indices.len();
        let mine = &indices[share(b, self.comm.rank(), self.comm.size())];
        let weight = mine.len() as f64 / b.max(1) as f64;
        let mut buf = self.buf.borrow_mut();
        let n = g.len();
        buf.resize(n + 1, 0.0);
        let f = self.inner.batch_value_grad(x, mine, &mut buf[..n]);
        buf[..n].iter_mut().for_each(|s| *s *= weight);
        buf[n] = weight * f;
        self.comm.sum_with(&mut buf, &mut self.scratch.borrow_mut());
        g.copy_from_slice(&buf[..n]);
        buf[n]
    }
}

impl<S: SampledObjective + ?Sized> SampledObjective for DistributedBatches<'_, S> {
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn sample_count(&self) -> usize {
        self.inner.sample_count()
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
        let f = self.sum_shares(x, indices, g);
        (f, crate::linalg::finite_norm_inf(g))
    }
    fn batch_value_grad(&self, x: &[f64], indices: &[usize], g: &mut [f64]) -> f64 {
        if self.comm.size() <= 1 {
            return self.inner.batch_value_grad(x, indices, g);
        }
        self.sum_shares(x, indices, g)
    }
}
