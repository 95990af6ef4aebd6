//! A network with its training set as a [`SampledObjective`]: the mean loss over a batch
//! of rows and its gradient, for the mini-batch methods ([`crate::minibatch`]).
//!
//! Data parallelism: each thread runs forward and backward on its own slice of the batch
//! with sequential matrix products, and the slices' gradients are summed in a fixed order.
//! On small networks this scales far better than splitting each matrix product across
//! threads (whose barriers cost as much as the arithmetic at batch 128).

use super::adapters::BatchData;
use super::{Loss, Mlp, Real, Targets};
use crate::problem::SampledObjective;
use faer::Par;
use std::cell::RefCell;

/// Chunk length of the parallel element-wise loops.
const CHUNK: usize = 1 << 13;

/// Fewest samples per thread when a batch is split across threads.
const MIN_SHARD: usize = 32;

/// One thread's slice of a batch: its rows, buffers and gradient.
struct Shard<T: Real> {
    ws: super::Workspace<T>,
    x: Vec<T>,
    labels: Vec<u32>,
    values: Vec<T>,
    grad: Vec<T>,
    /// Rows it can hold.
    capacity: usize,
    /// Rows of the last slice run.
    rows: usize,
}

impl<T: Real> Shard<T> {
    fn new(net: &Mlp, rows: usize) -> Self {
        Shard {
            ws: net.workspace::<T>(rows),
            x: vec![T::zero(); rows * net.inputs()],
            labels: vec![0; rows],
            values: vec![T::zero(); rows * net.outputs()],
            grad: vec![T::zero(); net.num_params()],
            capacity: rows,
            rows: 0,
        }
    }

    /// Gathers `rows` of the data, runs forward and backward; returns the mean loss, the
    /// mean gradient in `self.grad`.
    fn run(&mut self, net: &Mlp, params: &[T], td: &BatchData<T>, rows: &[usize], par: Par) -> f64 {
        let mut grad = std::mem::take(&mut self.grad);
        let loss = self.run_into(net, params, td, rows, par, &mut grad);
        self.grad = grad;
        loss
    }

    /// [`Shard::run`] with the gradient written into `grad`.
    fn run_into(
        &mut self,
        net: &Mlp,
        params: &[T],
        td: &BatchData<T>,
        rows: &[usize],
        par: Par,
        grad: &mut [T],
    ) -> f64 {
        let (d, k, b) = (net.inputs(), net.outputs(), rows.len());
        self.rows = b;
        let classes = net.arch.loss == Loss::CrossEntropy;
        for (r, &i) in rows.iter().enumerate() {
            self.x[r * d..(r + 1) * d].copy_from_slice(&td.x[i * d..(i + 1) * d]);
            if classes {
                self.labels[r] = td.labels[i];
            } else {
                self.values[r * k..(r + 1) * k].copy_from_slice(&td.values[i * k..(i + 1) * k]);
            }
        }
        let targets = if classes {
            Targets::Classes(&self.labels[..b])
        } else {
            Targets::Values(&self.values[..b * k])
        };
        let x = &self.x[..b * d];
        net.forward(params, x, b, &mut self.ws, par);
        net.backward(params, x, b, targets, &mut self.ws, grad, par)
    }
}

/// (network, training data, loss) as a finite sum over the rows.
pub struct NetBatches<'a, T: Real> {
    net: &'a Mlp,
    data: &'a BatchData<T>,
    threads: usize,
    par: Par,
    shards: RefCell<Vec<Shard<T>>>,
    /// The parameters in the compute type.
    params: RefCell<Vec<T>>,
}

impl<'a, T: Real> NetBatches<'a, T> {
    /// The batches of `data` for `net`, on `threads` threads, with buffers for batches of
    /// `batch_size` rows (larger batches grow them).
    pub fn new(net: &'a Mlp, data: &'a BatchData<T>, threads: usize, batch_size: usize) -> Self {
        let threads = threads.max(1);
        let bs = batch_size.clamp(1, data.n.max(1));
        let shards = Self::shards_for(threads, bs);
        NetBatches {
            net,
            data,
            threads,
            par: if threads > 1 {
                Par::rayon(threads)
            } else {
                Par::Seq
            },
            shards: RefCell::new(
                (0..shards)
                    .map(|_| Shard::new(net, bs.div_ceil(shards)))
                    .collect(),
            ),
            params: RefCell::new(vec![T::zero(); net.num_params()]),
        }
    }

    fn shards_for(threads: usize, rows: usize) -> usize {
        threads.min(rows / MIN_SHARD).max(1)
    }
}

impl<T: Real> SampledObjective for NetBatches<'_, T> {
    fn dim(&self) -> usize {
        self.net.num_params()
    }

    fn sample_count(&self) -> usize {
        self.data.n
    }

    fn batch_value_grad(&self, x: &[f64], indices: &[usize], g: &mut [f64]) -> f64 {
        self.value_grad(x, indices, g, false).0
    }

    fn batch_value_grad_norm(
        &self,
        x: &[f64],
        indices: &[usize],
        g: &mut [f64],
    ) -> (f64, Option<f64>) {
        self.value_grad(x, indices, g, true)
    }
}

impl<T: Real> NetBatches<'_, T> {
    /// The batch's mean loss and gradient, and `‖g‖∞` when `norm` is asked for (taken
    /// in the pass that writes `g` where there is one; a caller that sums the gradient
    /// with other workers' takes the norm of the sum instead).
    fn value_grad(
        &self,
        x: &[f64],
        indices: &[usize],
        g: &mut [f64],
        norm: bool,
    ) -> (f64, Option<f64>) {
        use rayon::prelude::*;
        let b = indices.len();
        if b == 0 {
            g.iter_mut().for_each(|v| *v = 0.0);
            return (0.0, Some(0.0));
        }
        // An f64 network computes at `x` itself; an f32 one at its rounding.
        let mut converted = self.params.borrow_mut();
        let params: &[T] = match T::same(x) {
            Some(same) => same,
            None => {
                converted
                    .par_chunks_mut(CHUNK)
                    .zip(x.par_chunks(CHUNK))
                    .for_each(|(p, x)| {
                        crate::simd::vectorized(|| {
                            p.iter_mut().zip(x).for_each(|(p, x)| *p = T::of(*x));
                        })
                    });
                &converted
            }
        };
        let mut workers = self.shards.borrow_mut();
        let shards = Self::shards_for(self.threads, b);
        let per = b.div_ceil(shards);
        if workers.len() < shards || workers[0].capacity < per {
            *workers = (0..shards).map(|_| Shard::new(self.net, per)).collect();
        }
        let (net, td) = (self.net, self.data);
        if shards == 1 {
            if let Some(grad) = T::same_mut(g) {
                // One slice of an f64 network: its gradient is the batch's, written in
                // place (1·g is g).
                let loss = workers[0].run_into(net, params, td, indices, self.par, grad);
                // (As the general case below computes the mean, to the bit.)
                let loss = loss * b as f64 / b as f64;
                return (
                    loss,
                    norm.then(|| crate::linalg::finite_norm_inf(g)).flatten(),
                );
            }
        }
        let loss = if shards == 1 {
            workers[0].run(net, params, td, indices, self.par) * b as f64
        } else {
            workers
                .par_iter_mut()
                .zip(indices.par_chunks(per))
                .map(|(w, rows)| w.run(net, params, td, rows, Par::Seq) * rows.len() as f64)
                .sum::<f64>()
        } / b as f64;
        // Batch gradient = Σ (bᵢ/b)·(mean gradient of slice i), into f64.
        let used = &workers[..b.div_ceil(per)];
        // ‖g‖∞ and the finiteness check in the same pass, per chunk, in chunk order.
        let parts: Vec<(f64, bool)> = g
            .par_chunks_mut(CHUNK)
            .enumerate()
            .map(|(c, g)| {
                crate::simd::vectorized(|| {
                    let lo = c * CHUNK;
                    let hi = lo + g.len();
                    for (s, w) in used.iter().enumerate() {
                        let wt = w.rows as f64 / b as f64;
                        let part = &w.grad[lo..hi];
                        if s == 0 {
                            g.iter_mut().zip(part).for_each(|(a, b)| *a = wt * b.f64());
                        } else {
                            g.iter_mut().zip(part).for_each(|(a, b)| *a += wt * b.f64());
                        }
                    }
                    crate::linalg::finite_norm_inf_chunk(g)
                })
            })
            .collect();
        let ok = parts.iter().all(|p| p.1);
        (loss, ok.then(|| parts.iter().fold(0.0, |m, p| p.0.max(m))))
    }
}
