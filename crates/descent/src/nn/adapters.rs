//! A network with its data as one more problem: an [`Objective`] (full batch, for CG,
//! BFGS, L-BFGS, Newton-CG) and, with squared error, a [`LeastSquares`] problem
//! (residuals = outputs − targets, Jacobian by backpropagation per output) for
//! Gauss–Newton and Levenberg–Marquardt — MATLAB's `trainlm`.

use super::{Loss, Mlp, Real, Targets, Workspace};
use crate::comm::tree::{own_leaves, TreeSum};
use crate::comm::{Communicator, Local};
use crate::linalg::DenseMatrix;
use crate::problem::{LeastSquares, Objective};
use faer::Par;
use std::borrow::Cow;
use std::cell::RefCell;

/// Training data in the compute type: borrowed from the data set when that is f64 (a
/// second copy of the samples would double a run's memory), converted otherwise.
pub struct BatchData<'d, T: Clone> {
    /// n×d inputs.
    pub x: Cow<'d, [T]>,
    /// Class labels (cross-entropy).
    pub labels: Cow<'d, [u32]>,
    /// n×k targets (squared error, binary cross-entropy).
    pub values: Cow<'d, [T]>,
    /// Samples held.
    pub n: usize,
    /// Samples of the whole set these are a part of (`n` when they are the whole set).
    pub total: usize,
    /// The whole set's index of the first sample held.
    pub first: usize,
}

impl<T: Real> BatchData<'_, T> {
    /// A copy of samples `rows` (a worker's share of the data).
    pub fn rows(&self, rows: std::ops::Range<usize>) -> BatchData<'static, T> {
        let d = self.x.len().checked_div(self.n).unwrap_or(0);
        let k = self.values.len().checked_div(self.n).unwrap_or(0);
        BatchData {
            x: self.x[rows.start * d..rows.end * d].to_vec().into(),
            labels: if self.labels.is_empty() {
                Cow::Owned(vec![])
            } else {
                self.labels[rows.clone()].to_vec().into()
            },
            values: self.values[rows.start * k..rows.end * k].to_vec().into(),
            n: rows.len(),
            total: self.total,
            first: self.first + rows.start,
        }
    }

    /// Whether these are all the samples of the set.
    pub fn is_whole(&self) -> bool {
        self.n == self.total
    }

    /// Whether a worker `rank` of `size` can evaluate its share from these samples: they
    /// are the whole set, or exactly the rows of its leaves ([`own_leaves`]).
    pub fn holds_own_rows(&self, rank: usize, size: usize) -> bool {
        let own = own_leaves(self.total, rank, size).0;
        self.is_whole() || (self.first, self.n) == (own.start, own.len())
    }

    /// The rows of worker `rank`'s leaves of the whole set ([`own_leaves`]), counted in
    /// these samples (which must [hold them](BatchData::holds_own_rows)).
    pub fn own_leaves(&self, rank: usize, size: usize) -> Vec<std::ops::Range<usize>> {
        let (rows, local) = own_leaves(self.total, rank, size);
        // Counted from the first row held: of the whole set, from its row 0.
        let shift = rows.start - self.first;
        local
            .into_iter()
            .map(|l| l.start + shift..l.end + shift)
            .collect()
    }

    /// The targets of samples `lo..hi`.
    pub fn targets(&self, loss: Loss, k: usize, lo: usize, hi: usize) -> Targets<'_, T> {
        match loss {
            Loss::CrossEntropy => Targets::Classes(&self.labels[lo..hi]),
            _ => Targets::Values(&self.values[lo * k..hi * k]),
        }
    }
}

/// (network, data, loss) as an objective in the parameters: the mean loss over the whole
/// set.
///
/// The rows are cut into leaves ([`crate::comm::tree::leaf_count`]: a number that depends
/// on the data alone), each evaluated in chunks so that memory stays bounded, and the
/// leaves' values and gradients are added pairwise ([`TreeSum`]). Distributed ([`FullBatch::distributed`]),
/// each worker evaluates a contiguous run of leaves and the runs are joined by
/// [`Communicator::sum`] in one message per evaluation: with two (or four, …) workers the
/// value and gradient are those of one process to the bit, and so is every iteration.
/// A worker may hold only the rows of its leaves ([`BatchData::holds_own_rows`]).
pub struct FullBatch<'a, T: Real> {
    net: &'a Mlp,
    data: &'a BatchData<'a, T>,
    comm: &'a dyn Communicator,
    chunk: usize,
    par: Par,
    ws: RefCell<Workspace<T>>,
    grad: RefCell<(Vec<T>, Vec<T>)>,
    tree: RefCell<TreeSum>,
    l2: f64,
}

impl<'a, T: Real> FullBatch<'a, T> {
    /// The full-batch objective of `net` on `data`.
    pub fn new(net: &'a Mlp, data: &'a BatchData<'a, T>, par: Par) -> Self {
        let chunk = data.n.clamp(1, 4096);
        FullBatch {
            net,
            data,
            comm: &Local,
            chunk,
            par,
            ws: RefCell::new(net.workspace(chunk)),
            grad: RefCell::new((
                vec![T::zero(); net.num_params()],
                vec![T::zero(); net.num_params()],
            )),
            tree: RefCell::new(TreeSum::default()),
            l2: 0.0,
        }
    }

    /// The objective with the L2 penalty `½·λ·‖W‖²` on the weights (not the biases)
    /// added: scikit-learn's MLP objective with `λ = alpha / n_samples`. Every worker adds
    /// it after the sum over the rows, so a distributed run stays one process's.
    pub fn with_l2(mut self, lambda: f64) -> Self {
        self.l2 = lambda;
        self
    }

    /// The penalty `½·λ·‖W‖²` at `x`.
    fn l2_penalty(&self, x: &[f64]) -> f64 {
        let squares: f64 = self
            .net
            .weight_matrices()
            .iter()
            .map(|w| {
                x[w.offset..w.offset + w.rows * w.cols]
                    .iter()
                    .map(|a| a * a)
                    .sum::<f64>()
            })
            .sum();
        0.5 * self.l2 * squares
    }

    /// Adds `λ·v` on the weights to `out`: the penalty's gradient (`v = x`) or its
    /// Hessian's product with `v`.
    fn add_l2_times(&self, v: &[f64], out: &mut [f64]) {
        for w in self.net.weight_matrices() {
            let span = w.offset..w.offset + w.rows * w.cols;
            for (o, vi) in out[span.clone()].iter_mut().zip(&v[span]) {
                *o += self.l2 * vi;
            }
        }
    }

    /// The objective with the rows split across the workers of `comm`.
    pub fn distributed(mut self, comm: &'a dyn Communicator) -> Self {
        self.comm = comm;
        self
    }

    /// The rows of each of this worker's leaves.
    fn leaves(&self) -> Vec<std::ops::Range<usize>> {
        self.data.own_leaves(self.comm.rank(), self.comm.size())
    }

    /// Sums a leaf's entries over its rows in chunks: `each(lo, hi, gchunk)` evaluates
    /// rows `lo..hi` (into `gchunk` when `with_grad`) and returns its weight and value; the
    /// leaf's vector is `Σ weight·gchunk` (in `T`, then `f64`) when `with_grad`, followed by
    /// `Σ weight·value` when `with_value`. Returns the sum over all leaves of all workers.
    fn tree_sum(
        &self,
        with_grad: bool,
        with_value: bool,
        mut each: impl FnMut(usize, usize, &mut [T]) -> (f64, f64),
    ) -> Vec<f64> {
        let np = self.net.num_params();
        let width = if with_grad { np } else { 0 } + usize::from(with_value);
        let mut gbuf = self.grad.borrow_mut();
        let (gsum, gchunk) = &mut *gbuf;
        let mut tree = self.tree.borrow_mut();
        for rows in self.leaves() {
            gsum.iter_mut().for_each(|v| *v = T::zero());
            let mut total = 0.0;
            let mut lo = rows.start;
            while lo < rows.end {
                let hi = (lo + self.chunk).min(rows.end);
                let (w, value) = each(lo, hi, gchunk);
                total += w * value;
                if with_grad {
                    let wt = T::of(w);
                    for (s, c) in gsum.iter_mut().zip(gchunk.iter()) {
                        *s += wt * *c;
                    }
                }
                lo = hi;
            }
            let mut leaf = tree.buffer(width);
            if with_grad {
                for (l, s) in leaf.iter_mut().zip(gsum.iter()) {
                    *l = s.f64();
                }
            }
            if with_value {
                leaf[width - 1] = total;
            }
            tree.push(leaf);
        }
        let mut sum = tree.finish(width);
        self.comm.sum(&mut sum);
        sum
    }

    fn eval(&self, x: &[f64], g: Option<&mut [f64]>) -> f64 {
        let p: Vec<T> = x.iter().map(|v| T::of(*v)).collect();
        let (n, d, k) = (self.data.total, self.net.inputs(), self.net.outputs());
        let np = self.net.num_params();
        let mut ws = self.ws.borrow_mut();
        let want_grad = g.is_some();
        let sum = self.tree_sum(want_grad, true, |lo, hi, gchunk| {
            let b = hi - lo;
            let xs = &self.data.x[lo * d..hi * d];
            let z = self.net.forward(&p, xs, b, &mut ws, self.par);
            let t = self.data.targets(self.net.arch.loss, k, lo, hi);
            let w = b as f64 / n as f64;
            let value = if want_grad {
                self.net.backward(&p, xs, b, t, &mut ws, gchunk, self.par)
            } else {
                self.net.arch.loss.value_grad(z, k, t, None)
            };
            (w, value)
        });
        if let Some(g) = g {
            g.copy_from_slice(&sum[..np]);
            if self.l2 > 0.0 {
                self.add_l2_times(x, g);
            }
        }
        let mut value = sum[sum.len() - 1];
        if self.l2 > 0.0 {
            value += self.l2_penalty(x);
        }
        self.tree.borrow_mut().recycle(sum);
        value
    }

    /// `Gv = JᵀHJv` summed over the leaves of the data set.
    fn ggn(&self, x: &[f64], v: &[f64], out: &mut [f64]) {
        let p: Vec<T> = x.iter().map(|a| T::of(*a)).collect();
        let vt: Vec<T> = v.iter().map(|a| T::of(*a)).collect();
        let (n, d, k) = (self.data.total, self.net.inputs(), self.net.outputs());
        let mut ws = self.ws.borrow_mut();
        let (mut jv, mut hjv) = (
            vec![T::zero(); self.chunk * k],
            vec![T::zero(); self.chunk * k],
        );
        let sum = self.tree_sum(true, false, |lo, hi, gchunk| {
            let b = hi - lo;
            let xs = &self.data.x[lo * d..hi * d];
            let z = self.net.forward(&p, xs, b, &mut ws, self.par).to_vec();
            self.net.jvp(&p, xs, b, &vt, &ws, &mut jv, self.par);
            self.net
                .arch
                .loss
                .hessian_vec(&z, k, n, &jv[..b * k], &mut hjv[..b * k]);
            self.net.vjp(&p, xs, b, &hjv, &mut ws, gchunk, self.par);
            // The loss's Hessian already carries the 1/n of the mean.
            (1.0, 0.0)
        });
        out.copy_from_slice(&sum);
        self.tree.borrow_mut().recycle(sum);
        if self.l2 > 0.0 {
            self.add_l2_times(v, out);
        }
    }
}

impl<T: Real> Objective for FullBatch<'_, T> {
    fn dim(&self) -> usize {
        self.net.num_params()
    }
    fn gauss_newton_vec(&self, x: &[f64], v: &[f64], out: &mut [f64]) -> bool {
        self.ggn(x, v, out);
        true
    }
    fn value(&self, x: &[f64]) -> f64 {
        self.eval(x, None)
    }
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        self.eval(x, Some(g))
    }
    fn lower_bound(&self) -> Option<f64> {
        // Every loss (squared error, cross-entropy) is ≥ 0.
        Some(0.0)
    }
}

/// A squared-error network as least squares: residuals `outputs − targets` (n·k of them),
/// so `Σ r² / (n·k)` is the mean squared error.
pub struct NetLeastSquares<'a, T: Real> {
    net: &'a Mlp,
    data: &'a BatchData<'a, T>,
    ws: RefCell<Workspace<T>>,
    /// The parameters of the forward pass held in `ws` (the Jacobian at a point whose
    /// residuals were just evaluated reuses that pass).
    forwarded: RefCell<Vec<f64>>,
    /// The Jacobian in the network's type when that is not f64, kept from one evaluation
    /// to the next (it is residuals × weights: fresh pages for it at every evaluation
    /// were a large part of a Levenberg–Marquardt run's time).
    jacobian_storage: RefCell<Vec<T>>,
}

impl<'a, T: Real> NetLeastSquares<'a, T> {
    /// Requires the squared-error loss.
    pub fn new(net: &'a Mlp, data: &'a BatchData<'a, T>) -> crate::error::Result<Self> {
        if net.arch.loss != Loss::SquaredError {
            return Err(crate::error::Error::NotApplicable {
                method: "Levenberg-Marquardt / Gauss-Newton".into(),
                why: "least-squares training needs the squared-error loss (mse)".into(),
            });
        }
        Ok(NetLeastSquares {
            net,
            data,
            ws: RefCell::new(net.workspace(data.n)),
            forwarded: RefCell::new(Vec::new()),
            jacobian_storage: RefCell::new(Vec::new()),
        })
    }
}

impl<T: Real> LeastSquares for NetLeastSquares<'_, T> {
    fn dim(&self) -> usize {
        self.net.num_params()
    }
    fn residual_count(&self) -> usize {
        self.data.n * self.net.outputs()
    }
    fn residuals(&self, x: &[f64], r: &mut [f64]) {
        let p: Vec<T> = x.iter().map(|v| T::of(*v)).collect();
        let mut ws = self.ws.borrow_mut();
        let z = self
            .net
            .forward(&p, &self.data.x, self.data.n, &mut ws, Par::Seq);
        for ((ri, zi), ti) in r.iter_mut().zip(z).zip(self.data.values.iter()) {
            *ri = (*zi - *ti).f64();
        }
        *self.forwarded.borrow_mut() = x.to_vec();
    }
    fn jacobian(&self, x: &[f64], j: &mut DenseMatrix) {
        let p: Vec<T> = x.iter().map(|v| T::of(*v)).collect();
        let mut ws = self.ws.borrow_mut();
        if self.forwarded.borrow().as_slice() != x {
            self.net
                .forward(&p, &self.data.x, self.data.n, &mut ws, Par::Seq);
            *self.forwarded.borrow_mut() = x.to_vec();
        }
        // An f64 network writes J in place; another type into its kept storage, then
        // widened.
        if let Some(out) = T::same_mut(&mut j.data) {
            self.net
                .output_jacobian(&p, &self.data.x, self.data.n, &mut ws, out);
            return;
        }
        let mut jac = self.jacobian_storage.borrow_mut();
        jac.resize(j.rows * j.cols, T::zero());
        self.net
            .output_jacobian(&p, &self.data.x, self.data.n, &mut ws, &mut jac);
        for (d, s) in j.data.iter_mut().zip(jac.iter()) {
            *d = s.f64();
        }
    }
}
