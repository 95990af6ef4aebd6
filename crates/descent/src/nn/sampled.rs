//! A network with its training set as a [`SampledObjective`]: the mean loss over a batch
//! of rows and its gradient, for the mini-batch methods ([`crate::minibatch`]).
//!
//! Data parallelism: each thread runs forward and backward on its own slice of the batch
//! with sequential matrix products, and the slices' gradients are summed in a fixed order.
//! On small networks this scales far better than splitting each matrix product across
//! threads (whose barriers cost as much as the arithmetic at batch 128); from a million
//! parameters the products are split instead ([`SPLIT_PRODUCTS_FROM`]).

use super::adapters::BatchData;
use super::{Loss, Mlp, Real, Targets};
use crate::problem::{GuestRows, OwnWeights, SampledObjective, WeightStep};
use crate::update::Moved;
use faer::Par;
use std::cell::RefCell;

/// Chunk length of the parallel element-wise loops.
const CHUNK: usize = 1 << 13;

/// Fewest samples per thread when a batch is split across threads.
const MIN_SHARD: usize = 32;

/// Parameters from which a batch is not split into slices across the threads, which
/// split each matrix product instead: the slices' gradients cost a pass over all of them
/// per step, which from here costs more than the products' synchronization. Measured on
/// 2 threads, f32, alternating runs (784-512-10 at batch 512: slices 90–91k samples/s,
/// products 75–77k; 784-2048-2048-2048-10 at batch 512: slices 2.1–2.2k, products
/// 2.6–2.7k; 784-2048-2048-10 Adam at batch 128: 3.0–3.1k against 3.5–3.8k; 784-2048-10
/// Adam at batch 128: 11–14k against 17.5–19k).
const SPLIT_PRODUCTS_FROM: usize = 1 << 20;

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

    /// Gathers `rows` of the data (and of the guests from `data.n` on), runs forward and
    /// backward; returns the mean loss, the mean gradient in `self.grad`.
    fn run(&mut self, net: &Mlp, params: &[T], data: Rows<'_, T>, rows: &[usize], par: Par) -> f64 {
        let mut grad = std::mem::take(&mut self.grad);
        let loss = self.run_into(net, params, data, rows, par, &mut grad);
        self.grad = grad;
        loss
    }

    /// [`Shard::run`] with the gradient written into `grad`.
    fn run_into(
        &mut self,
        net: &Mlp,
        params: &[T],
        data: Rows<'_, T>,
        rows: &[usize],
        par: Par,
        grad: &mut [T],
    ) -> f64 {
        let (d, k, b) = (net.inputs(), net.outputs(), rows.len());
        self.rows = b;
        let classes = targets_are_labels(net);
        let (td, guests) = data;
        for (r, &i) in rows.iter().enumerate() {
            // A row of the data, or a guest's.
            let (x, labels, values, i) = if i < td.n {
                (&td.x[..], &td.labels[..], &td.values[..], i)
            } else {
                let j = i - td.n;
                (&guests.x[..], &guests.labels[..], &guests.values[..], j)
            };
            self.x[r * d..(r + 1) * d].copy_from_slice(&x[i * d..(i + 1) * d]);
            if classes {
                self.labels[r] = labels[i];
            } else {
                self.values[r * k..(r + 1) * k].copy_from_slice(&values[i * k..(i + 1) * k]);
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

/// Whether a batch's targets are its rows' class labels (cross-entropy) rather than target
/// values (the other losses: one-hot rows for classes): what a shard gathers and a lent
/// row's record carries.
fn targets_are_labels(net: &Mlp) -> bool {
    net.arch.loss == Loss::CrossEntropy
}

/// The rows a shard gathers: the data's, then the guests'.
type Rows<'r, T> = (&'r BatchData<'r, T>, &'r Guests<T>);

/// Rows lent by other workers for the current batch ([`GuestRows`]), in the data's layout.
struct Guests<T> {
    x: Vec<T>,
    labels: Vec<u32>,
    values: Vec<T>,
}

/// (network, training data, loss) as a finite sum over the rows.
pub struct NetBatches<'a, T: Real> {
    net: &'a Mlp,
    data: &'a BatchData<'a, T>,
    /// Rows lent by other workers, the batch indices from `data.n` on.
    guests: RefCell<Guests<T>>,
    threads: usize,
    par: Par,
    shards: RefCell<Vec<Shard<T>>>,
    /// The parameters in the compute type: the f64 point's rounding, or the network's own
    /// weights ([`OwnWeights`]).
    params: RefCell<Vec<T>>,
    /// With own weights: the next weights a step writes, and the last batch gradient.
    next: RefCell<Vec<T>>,
    grad: RefCell<Vec<T>>,
    /// Whether an f32 network keeps its own weights (`--master-weights f32`).
    own: bool,
}

impl<'a, T: Real> NetBatches<'a, T> {
    /// The batches of `data` for `net`, on `threads` threads, with buffers for batches of
    /// `batch_size` rows (larger batches grow them).
    pub fn new(
        net: &'a Mlp,
        data: &'a BatchData<'a, T>,
        threads: usize,
        batch_size: usize,
    ) -> Self {
        let threads = threads.max(1);
        let bs = batch_size.clamp(1, data.n.max(1));
        let shards = Self::shards_for(net, threads, bs);
        NetBatches {
            net,
            data,
            guests: RefCell::new(Guests {
                x: Vec::new(),
                labels: Vec::new(),
                values: Vec::new(),
            }),
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
            next: RefCell::new(Vec::new()),
            grad: RefCell::new(Vec::new()),
            own: false,
        }
    }

    /// With `true`, an f32 network keeps its own f32 weights, which a mini-batch method
    /// steps where they are ([`OwnWeights`]); an f64 network's weights are the method's
    /// point either way.
    pub fn with_own_weights(mut self, own: bool) -> Self {
        self.own = own && T::as_f32_mut(&mut []).is_some();
        if self.own {
            // Mapped now, not in the first step.
            let n = self.net.num_params();
            crate::resources::zeroed(self.next.get_mut(), n);
            crate::resources::zeroed(self.grad.get_mut(), n);
        }
        self
    }

    /// Values of a row's target in a record.
    fn target_len(&self) -> usize {
        if targets_are_labels(self.net) {
            1
        } else {
            self.net.outputs()
        }
    }

    fn shards_for(net: &Mlp, threads: usize, rows: usize) -> usize {
        if net.num_params() >= SPLIT_PRODUCTS_FROM {
            return 1;
        }
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

    fn own_weights(&self) -> Option<&dyn OwnWeights> {
        self.own.then_some(self as &dyn OwnWeights)
    }

    fn guest_rows(&self) -> Option<&dyn GuestRows> {
        Some(self)
    }
}

/// A row's record: its inputs, then its class label or its target values.
impl<T: Real> GuestRows for NetBatches<'_, T> {
    fn record_len(&self) -> usize {
        self.net.inputs() + self.target_len()
    }

    fn write_records(&self, rows: &[usize], out: &mut Vec<f64>) {
        let (d, k, td) = (self.net.inputs(), self.target_len(), self.data);
        for &i in rows {
            out.extend(td.x[i * d..(i + 1) * d].iter().map(|v| v.f64()));
            if targets_are_labels(self.net) {
                out.push(f64::from(td.labels[i]));
            } else {
                out.extend(td.values[i * k..(i + 1) * k].iter().map(|v| v.f64()));
            }
        }
    }

    fn host(&self, records: &[f64]) {
        let (d, len) = (self.net.inputs(), self.record_len());
        let mut guests = self.guests.borrow_mut();
        let Guests { x, labels, values } = &mut *guests;
        x.clear();
        labels.clear();
        values.clear();
        // The values were the data's type on the lender's side: exact both ways.
        for record in records.chunks_exact(len) {
            x.extend(record[..d].iter().map(|v| T::of(*v)));
            if targets_are_labels(self.net) {
                labels.push(record[d] as u32);
            } else {
                values.extend(record[d..].iter().map(|v| T::of(*v)));
            }
        }
    }
}

impl<T: Real> OwnWeights for NetBatches<'_, T> {
    fn load(&self, x: &[f64], g: &[f64]) {
        convert(x, &mut self.params.borrow_mut(), T::of);
        convert(g, &mut self.grad.borrow_mut(), T::of);
    }

    fn store(&self, x: &mut [f64], g: &mut [f64]) {
        convert(&self.params.borrow(), x, T::f64);
        convert(&self.grad.borrow(), g, T::f64);
    }

    fn value_grad(&self, indices: &[usize], norm: bool) -> (f64, Option<f64>) {
        let params = self.params.borrow();
        let mut grad = self.grad.borrow_mut();
        self.gradient_at(&params, indices, Gradient::Own(&mut grad), norm)
    }

    fn gradient(&self, with: &mut dyn FnMut(&mut [f32])) {
        if let Some(g) = T::as_f32_mut(&mut self.grad.borrow_mut()) {
            with(g)
        }
    }

    fn weights(&self, with: &mut dyn FnMut(&mut [f32])) {
        if let Some(w) = T::as_f32_mut(&mut self.params.borrow_mut()) {
            with(w)
        }
    }

    fn step(&self, _part: std::ops::Range<usize>, step: &mut WeightStep<'_>) -> Option<Moved> {
        let (mut params, mut next) = (self.params.borrow_mut(), self.next.borrow_mut());
        let mut grad = self.grad.borrow_mut();
        let (Some(w), Some(g)) = (T::as_f32_mut(&mut params), T::as_f32_mut(&mut grad)) else {
            return None;
        };
        let (w, g) = (&*w, &*g);
        // (Outside a worker's part, the caller joins the other workers' parts.)
        let next32 = T::as_f32_mut(&mut next)?;
        let moved = step(w, g, next32)?;
        std::mem::swap(&mut *params, &mut *next);
        Some(moved)
    }
}

/// `to[i] = f(from[i])` in parallel chunks.
fn convert<A: Copy + Sync, B: Send>(from: &[A], to: &mut [B], f: impl Fn(A) -> B + Sync) {
    use rayon::prelude::*;
    to.par_chunks_mut(CHUNK)
        .zip(from.par_chunks(CHUNK))
        .for_each(|(t, a)| {
            crate::simd::vectorized(
                #[inline(always)]
                || t.iter_mut().zip(a).for_each(|(t, a)| *t = f(*a)),
            )
        });
}

/// Where a batch gradient goes: an f64 vector (the method's), or the network's own
/// gradient in its compute type.
enum Gradient<'g, T> {
    F64(&'g mut [f64]),
    Own(&'g mut [T]),
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
        // An f64 network computes at `x` itself; an f32 one at its rounding.
        let mut converted = self.params.borrow_mut();
        let params: &[T] = match T::same(x) {
            Some(same) => same,
            None => {
                convert(x, &mut converted, T::of);
                &converted
            }
        };
        self.gradient_at(params, indices, Gradient::F64(g), norm)
    }

    /// The batch's mean loss at `params` and its gradient into `out`, with `‖g‖∞` when
    /// `norm` is asked for.
    fn gradient_at(
        &self,
        params: &[T],
        indices: &[usize],
        out: Gradient<'_, T>,
        norm: bool,
    ) -> (f64, Option<f64>) {
        let b = indices.len();
        if b == 0 {
            match out {
                Gradient::F64(g) => g.iter_mut().for_each(|v| *v = 0.0),
                Gradient::Own(g) => g.iter_mut().for_each(|v| *v = T::zero()),
            }
            return (0.0, Some(0.0));
        }
        let mut workers = self.shards.borrow_mut();
        let shards = Self::shards_for(self.net, self.threads, b);
        let per = b.div_ceil(shards);
        if workers.len() < shards || workers[0].capacity < per {
            *workers = (0..shards).map(|_| Shard::new(self.net, per)).collect();
        }
        let guests = self.guests.borrow();
        let (net, td) = (self.net, (self.data, &*guests));
        if shards == 1 {
            // One slice: its gradient is the batch's, written in place (1·g is g) where
            // it is in the compute type. (The loss as the general case below computes
            // the mean, to the bit.)
            let grad = match out {
                Gradient::Own(g) => g,
                Gradient::F64(g) if T::same(&[]).is_some() => {
                    T::same_mut(g).expect("the compute type is f64")
                }
                other => return self.combined(&mut workers, 1, params, indices, other),
            };
            let loss = workers[0].run_into(net, params, td, indices, self.par, grad);
            let loss = loss * b as f64 / b as f64;
            return (
                loss,
                norm.then(|| crate::linalg::finite_norm_inf(grad)).flatten(),
            );
        }
        self.combined(&mut workers, shards, params, indices, out)
    }

    /// The batch split into `shards` slices of the workers, each run on its own thread;
    /// the batch gradient `Σ (bᵢ/b)·(mean gradient of slice i)` is added in f64, in slice
    /// order, and stored in `out`, with its `‖g‖∞` in the same pass.
    fn combined(
        &self,
        workers: &mut [Shard<T>],
        shards: usize,
        params: &[T],
        indices: &[usize],
        out: Gradient<'_, T>,
    ) -> (f64, Option<f64>) {
        use rayon::prelude::*;
        let b = indices.len();
        let per = b.div_ceil(shards);
        let guests = self.guests.borrow();
        let (net, td) = (self.net, (self.data, &*guests));
        let loss = if shards == 1 {
            workers[0].run(net, params, td, indices, self.par) * b as f64
        } else {
            workers
                .par_iter_mut()
                .zip(indices.par_chunks(per))
                .map(|(w, rows)| w.run(net, params, td, rows, Par::Seq) * rows.len() as f64)
                .sum::<f64>()
        } / b as f64;
        let used = &workers[..b.div_ceil(per)];
        // ‖g‖∞ and the finiteness check in the pass that sums, per chunk, in chunk order.
        let parts: Vec<(f64, bool)> = match out {
            Gradient::F64(g) => g
                .par_chunks_mut(CHUNK)
                .enumerate()
                .map(|(c, g)| shard_sum(g, used, b, c * CHUNK))
                .collect(),
            Gradient::Own(g) => g
                .par_chunks_mut(CHUNK)
                .enumerate()
                .map(|(c, g)| shard_sum(g, used, b, c * CHUNK))
                .collect(),
        };
        (loss, crate::linalg::finite_norm_of_parts(&parts))
    }
}

crate::simd::kernel! {
    /// The batch gradient `Σ (bᵢ/b)·(mean gradient of slice i)` over `out`'s entries
    /// (from `from` on), added in f64 in slice order and rounded once to `out`'s type;
    /// returns `out`'s `‖·‖∞` and whether every entry is finite. Blocks of 256 entries
    /// keep the f64 partial sums in the L1 cache.
    fn shard_sum<P: Real, O: Real>(out: &mut [O], shards: &[Shard<P>], batch: usize, from: usize) -> (f64, bool) {
        const BLOCK: usize = 256;
        let mut wide = [0.0f64; BLOCK];
        let (mut top, mut finite) = (0.0f64, true);
        for (k, out) in out.chunks_mut(BLOCK).enumerate() {
            let lo = from + k * BLOCK;
            let sum = &mut wide[..out.len()];
            for (s, shard) in shards.iter().enumerate() {
                let weight = shard.rows as f64 / batch as f64;
                let part = &shard.grad[lo..lo + sum.len()];
                if s == 0 {
                    sum.iter_mut().zip(part).for_each(|(a, p)| *a = weight * p.f64());
                } else {
                    sum.iter_mut().zip(part).for_each(|(a, p)| *a += weight * p.f64());
                }
            }
            out.iter_mut().zip(sum.iter()).for_each(|(o, a)| *o = O::of(*a));
            let (m, ok) = crate::linalg::finite_norm_inf_chunk(out);
            top = top.max(m);
            finite &= ok;
        }
        (top, finite)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Activation, Init};
    use std::borrow::Cow;

    /// Six rows of three inputs, with class labels or two target values each.
    fn six_rows<T: Real>(loss: Loss) -> BatchData<'static, T> {
        let x = (0..18).map(|i| T::of(((i * 7 % 11) as f64 - 5.0) / 3.0));
        let classes = loss == Loss::CrossEntropy;
        BatchData {
            x: Cow::Owned(x.collect()),
            labels: Cow::Owned(if classes {
                vec![0, 1, 1, 0, 1, 0]
            } else {
                vec![]
            }),
            values: Cow::Owned(if classes {
                vec![]
            } else {
                (0..12).map(|i| T::of((i as f64).sin())).collect()
            }),
            n: 6,
            total: 6,
            first: 0,
        }
    }

    /// Rows lent as records and hosted by another worker's batches are, in a batch of
    /// that worker's, the rows themselves: the same loss and gradient to the bit.
    fn hosted_rows_are_the_rows<T: Real>(loss: Loss) {
        let net = Mlp::new(&[3, 4, 2], &[Activation::Tanh], loss).unwrap();
        let p = net.init_params(Init::GlorotUniform, 3);
        let whole = six_rows::<T>(loss);
        let (lender_rows, host_rows) = (whole.rows(0..3), whole.rows(3..6));
        let all = NetBatches::new(&net, &whole, 1, 6);
        let lender = NetBatches::new(&net, &lender_rows, 1, 6);
        let host = NetBatches::new(&net, &host_rows, 1, 6);
        let mut records = Vec::new();
        lender.write_records(&[2, 0], &mut records);
        assert_eq!(records.len(), 2 * lender.record_len());
        host.host(&records);
        let n = net.num_params();
        let (mut g_host, mut g_all) = (vec![0.0; n], vec![0.0; n]);
        // The host's row 1 (row 4 of the whole), then the guests (rows 2 and 0).
        let f_host = host.batch_value_grad(&p, &[1, 3, 4], &mut g_host);
        let f_all = all.batch_value_grad(&p, &[4, 2, 0], &mut g_all);
        assert_eq!(f_host.to_bits(), f_all.to_bits(), "{loss:?}");
        assert_eq!(g_host, g_all, "{loss:?}");
        // New guests replace the old.
        records.clear();
        lender.write_records(&[1], &mut records);
        host.host(&records);
        let f_host = host.batch_value_grad(&p, &[3], &mut g_host);
        let f_all = all.batch_value_grad(&p, &[1], &mut g_all);
        assert_eq!(f_host.to_bits(), f_all.to_bits(), "{loss:?}");
        assert_eq!(g_host, g_all, "{loss:?}");
    }

    #[test]
    fn hosted_rows_evaluate_as_the_lender_s_own() {
        for loss in [Loss::CrossEntropy, Loss::SquaredError] {
            hosted_rows_are_the_rows::<f64>(loss);
            hosted_rows_are_the_rows::<f32>(loss);
        }
    }
}
