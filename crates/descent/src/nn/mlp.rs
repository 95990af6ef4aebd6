//! The multilayer perceptron: dense layers, one flat parameter vector, batched forward and
//! backward passes through matrix products.
//!
//! Layout of the parameters: for each layer l (inputs nₗ₋₁, outputs nₗ) the weights
//! `W` (nₗ₋₁×nₗ, row-major) then the biases `b` (nₗ). A batch `X` (B×n₀, row-major)
//! flows as `Zₗ = Aₗ₋₁·W + b`, `Aₗ = act(Zₗ)`; the last layer's `Z` goes to the loss,
//! which owns the output nonlinearity (softmax, sigmoid or none).

use super::{Activation, Loss, Real, Targets};
use crate::error::{Error, Result};
use faer::Par;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Weight initialization (biases start at zero, except for [`Init::Pytorch`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Init {
    /// Glorot & Bengio (2010) uniform: U[−√(6/(nᵢₙ+nₒᵤₜ)), +√(6/(nᵢₙ+nₒᵤₜ))].
    GlorotUniform,
    /// Glorot normal: N(0, 2/(nᵢₙ+nₒᵤₜ)).
    GlorotNormal,
    /// He et al. (2015): N(0, 2/nᵢₙ), for ReLU networks.
    He,
    /// LeCun (1998): N(0, 1/nᵢₙ).
    Lecun,
    /// The "standard" U[−1/√nᵢₙ, 1/√nᵢₙ] that Glorot & Bengio criticize.
    Standard,
    /// PyTorch's `nn.Linear` default: weights U[−1/√nᵢₙ, 1/√nᵢₙ] (Kaiming uniform with
    /// a = √5) and biases drawn from the same interval.
    Pytorch,
    /// Nguyen & Widrow (IJCNN 1990), MATLAB's `initnw`, for inputs scaled to [−1, 1]:
    /// each hidden unit's incoming weights are uniform and rescaled to length
    /// β = 0.7·H^{1/nᵢₙ} (H units in the layer), the biases spread evenly over [−β, β]
    /// (with the sign of each unit's first weight), so that the units' active regions
    /// tile the input range; the linear output layer gets the standard
    /// U[−1/√nᵢₙ, 1/√nᵢₙ] and zero biases.
    NguyenWidrow,
}

impl Init {
    /// Parses `glorot|glorot-uniform|xavier`, `glorot-normal`, `he`, `lecun`, `standard`,
    /// `pytorch`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "glorot" | "glorot-uniform" | "xavier" | "xavier-uniform" => Init::GlorotUniform,
            "glorot-normal" | "xavier-normal" => Init::GlorotNormal,
            "he" | "kaiming" => Init::He,
            "lecun" => Init::Lecun,
            "standard" | "random" => Init::Standard,
            "pytorch" | "torch" => Init::Pytorch,
            "nguyen-widrow" | "initnw" | "nw" => Init::NguyenWidrow,
            _ => return None,
        })
    }
}

/// What a network is: layer sizes, hidden activations, loss.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Architecture {
    /// Layer widths, inputs first, outputs last.
    pub sizes: Vec<usize>,
    /// One activation per hidden layer.
    pub activations: Vec<Activation>,
    /// Output and loss.
    pub loss: Loss,
}

/// A multilayer perceptron (structure only; parameters live in a flat vector).
#[derive(Clone, Debug)]
pub struct Mlp {
    /// The architecture.
    pub arch: Architecture,
    /// Offset of each layer's weights in the parameter vector (biases follow).
    offsets: Vec<usize>,
    num_params: usize,
}

/// Reusable buffers of the forward and backward passes.
pub struct Workspace<T> {
    batch: usize,
    /// Pre-activations per layer (layer 1..=L), B×nₗ.
    z: Vec<Vec<T>>,
    /// Activations per hidden layer (1..L), B×nₗ.
    a: Vec<Vec<T>>,
    /// Scratch for ∂L/∂Z.
    dz: Vec<T>,
    dz_prev: Vec<T>,
    /// A layer's input transposed (nᵢ×B), for its weight gradient's product
    /// ([`TRANSPOSE_INPUT_FROM`]); empty for networks without such layers.
    input_t: Vec<T>,
}

/// Weights of a layer from which its gradient `dW = Aᵀ·dZ` is taken on a transposed copy of
/// the input `A`: faer's product with a transposed left operand ran at about half the
/// rate of the same product on row-major operands (2048×2048×512, f32, AVX-512, measured
/// side by side: 75 against 156 GFLOP/s on one thread, 153 against 253 on two), and the
/// copy streams 2·B·nᵢ values against the product's B·nᵢ·nₒ multiply-adds. Smaller layers
/// keep the direct product.
pub const TRANSPOSE_INPUT_FROM: usize = 1 << 20;

/// `src` (rows×cols, row-major) transposed into `dst` (cols×rows), in tiles that stay in
/// cache; in bands of columns across the threads when `split`.
fn transpose_into<T: Copy + Send + Sync>(
    src: &[T],
    rows: usize,
    cols: usize,
    dst: &mut [T],
    split: bool,
) {
    const TILE: usize = 32;
    let band = |c0: usize, out: &mut [T]| {
        // `out` holds the transposed rows (source columns) c0.. of dst.
        let c_end = c0 + out.len() / rows;
        for r0 in (0..rows).step_by(TILE) {
            for c1 in (c0..c_end).step_by(TILE) {
                for r in r0..(r0 + TILE).min(rows) {
                    for c in c1..(c1 + TILE).min(c_end) {
                        out[(c - c0) * rows + r] = src[r * cols + c];
                    }
                }
            }
        }
    };
    let dst = &mut dst[..rows * cols];
    if split {
        use rayon::prelude::*;
        dst.par_chunks_mut(TILE * rows)
            .enumerate()
            .for_each(|(i, out)| band(i * TILE, out));
    } else {
        band(0, dst);
    }
}

/// Entries of a layer's B×nₒ matrices from which its element-wise passes (bias, activation
/// and its derivative, the bias gradient, the transposed input) are split across the
/// threads that share its products: one thread streams about 10 GB/s, so that a pass over
/// 2048×512 values took about a millisecond against the products' 15 at 2048×2048×512.
/// Each entry's arithmetic is the same either way (the bias gradient's column sums keep
/// their row order), so the bits are.
const SPLIT_ELEMENTWISE_FROM: usize = 1 << 16;

/// Whether a pass over `len` values is split across the threads of `par`.
fn split_elementwise(par: Par, len: usize) -> bool {
    par.degree() > 1 && len >= SPLIT_ELEMENTWISE_FROM
}

/// `f(start, chunk)` on chunks of whole rows of `data` (rows of `row_len` values), `start`
/// being the chunk's offset in `data`: across the threads when `split`, else once on all.
fn by_rows<T: Send>(
    split: bool,
    data: &mut [T],
    row_len: usize,
    f: impl Fn(usize, &mut [T]) + Sync + Send,
) {
    if !split {
        return f(0, data);
    }
    use rayon::prelude::*;
    // Rows per chunk: 16 K values or more, whole rows.
    let per = (1usize << 14).div_ceil(row_len.max(1)) * row_len.max(1);
    data.par_chunks_mut(per)
        .enumerate()
        .for_each(|(i, chunk)| f(i * per, chunk));
}

fn uniform(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    // Box–Muller.
    let u1 = uniform(rng).max(f64::MIN_POSITIVE);
    let u2 = uniform(rng);
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

impl Mlp {
    /// Builds a network. `activations` has one entry per hidden layer (or one entry for
    /// all of them).
    pub fn new(sizes: &[usize], activations: &[Activation], loss: Loss) -> Result<Self> {
        if sizes.len() < 2 {
            return Err(Error::config(
                "layers",
                "need at least an input and an output size",
            ));
        }
        if let Some(i) = sizes.iter().position(|s| *s == 0) {
            return Err(Error::config("layers", format!("layer {} has width 0", i)));
        }
        let hidden = sizes.len() - 2;
        let acts = match activations.len() {
            1 => vec![activations[0]; hidden],
            n if n == hidden => activations.to_vec(),
            0 if hidden == 0 => vec![],
            n => {
                return Err(Error::config(
                    "activations",
                    format!("{n} given for {hidden} hidden layers"),
                ))
            }
        };
        if loss == Loss::CrossEntropy && sizes[sizes.len() - 1] < 2 {
            return Err(Error::config(
                "layers",
                "cross-entropy needs at least 2 output classes",
            ));
        }
        // Counted in u128, so that widths such as 2³²×2³² are refused, not overflowed.
        let weights: u128 = sizes
            .windows(2)
            .map(|w| w[0] as u128 * w[1] as u128 + w[1] as u128)
            .sum();
        // Training holds the weights, their gradient and a step rule's two moments.
        crate::resources::check_memory(
            &format!("a network of {weights} weights ({sizes:?})"),
            weights,
            8,
            4,
        )?;
        let mut offsets = Vec::new();
        let mut p = 0;
        for w in sizes.windows(2) {
            offsets.push(p);
            p += w[0] * w[1] + w[1];
        }
        Ok(Mlp {
            arch: Architecture {
                sizes: sizes.to_vec(),
                activations: acts,
                loss,
            },
            offsets,
            num_params: p,
        })
    }

    /// Rebuilds from an architecture.
    pub fn from_arch(arch: &Architecture) -> Result<Self> {
        Mlp::new(&arch.sizes, &arch.activations, arch.loss)
    }

    /// Total number of parameters.
    pub fn num_params(&self) -> usize {
        self.num_params
    }
    /// Number of layers with weights.
    pub fn num_layers(&self) -> usize {
        self.arch.sizes.len() - 1
    }
    /// Input width.
    pub fn inputs(&self) -> usize {
        self.arch.sizes[0]
    }
    /// Output width.
    pub fn outputs(&self) -> usize {
        *self.arch.sizes.last().expect("sizes")
    }
    /// (weights offset, bias offset, n_in, n_out) of layer `l` (0-based).
    pub fn layer(&self, l: usize) -> (usize, usize, usize, usize) {
        let (i, o) = (self.arch.sizes[l], self.arch.sizes[l + 1]);
        (self.offsets[l], self.offsets[l] + i * o, i, o)
    }

    /// Where each layer's weight matrix (fan-in × fan-out) is in the parameters.
    pub fn weight_matrices(&self) -> Vec<crate::update::WeightMatrix> {
        (0..self.num_layers())
            .map(|l| {
                let (offset, _, rows, cols) = self.layer(l);
                crate::update::WeightMatrix { offset, rows, cols }
            })
            .collect()
    }

    /// Seeded initial parameters.
    pub fn init_params(&self, init: Init, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut p = vec![0.0; self.num_params];
        for l in 0..self.num_layers() {
            let (w, _, ni, no) = self.layer(l);
            let (fi, fo) = (ni as f64, no as f64);
            for v in &mut p[w..w + ni * no] {
                *v = match init {
                    Init::GlorotUniform => {
                        (6.0 / (fi + fo)).sqrt() * (2.0 * uniform(&mut rng) - 1.0)
                    }
                    Init::GlorotNormal => (2.0 / (fi + fo)).sqrt() * normal(&mut rng),
                    Init::He => (2.0 / fi).sqrt() * normal(&mut rng),
                    Init::Lecun => (1.0 / fi).sqrt() * normal(&mut rng),
                    Init::Standard | Init::Pytorch | Init::NguyenWidrow => {
                        (2.0 * uniform(&mut rng) - 1.0) / fi.sqrt()
                    }
                };
            }
            if init == Init::NguyenWidrow && l + 1 < self.num_layers() {
                let (_, b, _, _) = self.layer(l);
                let beta = 0.7 * fo.powf(1.0 / fi);
                for j in 0..no {
                    let len = (0..ni)
                        .map(|i| p[w + i * no + j].powi(2))
                        .sum::<f64>()
                        .sqrt()
                        .max(f64::MIN_POSITIVE);
                    for i in 0..ni {
                        p[w + i * no + j] *= beta / len;
                    }
                    // Centres spread evenly over the range (MATLAB's `initnw`), with the
                    // sign of the unit's first weight.
                    let spread = if no > 1 {
                        -1.0 + 2.0 * j as f64 / (fo - 1.0)
                    } else {
                        0.0
                    };
                    p[b + j] = beta * spread * p[w + j].signum();
                }
            }
            if init == Init::Pytorch {
                let (_, b, _, _) = self.layer(l);
                for v in &mut p[b..b + no] {
                    *v = (2.0 * uniform(&mut rng) - 1.0) / fi.sqrt();
                }
            }
        }
        p
    }

    /// Buffers for batches of up to `batch` samples.
    pub fn workspace<T: Real>(&self, batch: usize) -> Workspace<T> {
        let l = self.num_layers();
        let widest = *self.arch.sizes.iter().max().expect("sizes");
        Workspace {
            batch,
            z: (1..=l)
                .map(|i| vec![T::zero(); batch * self.arch.sizes[i]])
                .collect(),
            a: (1..l)
                .map(|i| vec![T::zero(); batch * self.arch.sizes[i]])
                .collect(),
            dz: vec![T::zero(); batch * widest],
            dz_prev: vec![T::zero(); batch * widest],
            input_t: if (0..l)
                .any(|i| self.arch.sizes[i] * self.arch.sizes[i + 1] >= TRANSPOSE_INPUT_FROM)
            {
                vec![T::zero(); batch * widest]
            } else {
                Vec::new()
            },
        }
    }

    /// Forward pass of `b` samples (`x` is b×n₀). Returns the output pre-activations
    /// (b×k); hidden activations stay in the workspace for [`Mlp::backward`].
    pub fn forward<'w, T: Real>(
        &self,
        params: &[T],
        x: &[T],
        b: usize,
        ws: &'w mut Workspace<T>,
        par: Par,
    ) -> &'w [T] {
        assert!(b <= ws.batch, "batch larger than the workspace");
        assert_eq!(x.len(), b * self.inputs(), "input has the wrong shape");
        let nl = self.num_layers();
        for l in 0..nl {
            let (wo, bo, ni, no) = self.layer(l);
            let (z_all, a_all) = (&mut ws.z, &ws.a);
            let input: &[T] = if l == 0 { x } else { &a_all[l - 1][..b * ni] };
            let z = &mut z_all[l][..b * no];
            let bias = &params[bo..bo + no];
            let split = split_elementwise(par, b * no);
            by_rows(split, z, no, |_, z| {
                z.chunks_mut(no).for_each(|row| row.copy_from_slice(bias))
            });
            T::gemm(
                b,
                no,
                ni,
                input,
                false,
                &params[wo..wo + ni * no],
                false,
                z,
                true,
                par,
            );
            if l + 1 < nl {
                let (act, z) = (self.arch.activations[l], &ws.z[l]);
                by_rows(split, &mut ws.a[l][..b * no], no, |start, a| {
                    a.copy_from_slice(&z[start..start + a.len()]);
                    act.apply(a);
                });
            }
        }
        &ws.z[nl - 1][..b * self.outputs()]
    }

    /// What the network answers for `n` samples (`x` is n×n₀): the outputs after the
    /// loss's output map — class probabilities (softmax), σ(z) for binary outputs, the
    /// values themselves for squared error — n×k, in chunks so memory stays bounded.
    ///
    /// Errors when `params` are not the network's count or `x` is not n×n₀.
    pub fn answer(&self, params: &[f64], x: &[f64], n: usize) -> Result<Vec<f64>> {
        if params.len() != self.num_params() {
            return Err(Error::DimensionMismatch {
                what: "parameters".into(),
                expected: self.num_params(),
                got: params.len(),
            });
        }
        if Some(x.len()) != n.checked_mul(self.inputs()) {
            return Err(Error::config(
                "inputs",
                format!(
                    "{} values are not {n} rows of the network's {} inputs",
                    x.len(),
                    self.inputs()
                ),
            ));
        }
        let (d, k) = (self.inputs(), self.outputs());
        let chunk = n.clamp(1, 2048);
        let mut ws = self.workspace::<f64>(chunk);
        let mut out = Vec::with_capacity(n * k);
        for lo in (0..n).step_by(chunk) {
            let b = chunk.min(n - lo);
            out.extend_from_slice(self.forward(
                params,
                &x[lo * d..(lo + b) * d],
                b,
                &mut ws,
                Par::Seq,
            ));
        }
        self.arch.loss.output(&mut out, k);
        Ok(out)
    }

    /// Loss of the last forward pass and its gradient into `grad` (length P, overwritten).
    #[allow(clippy::too_many_arguments)] // the pieces of one batch, all needed, none derivable
    pub fn backward<T: Real>(
        &self,
        params: &[T],
        x: &[T],
        b: usize,
        targets: Targets<'_, T>,
        ws: &mut Workspace<T>,
        grad: &mut [T],
        par: Par,
    ) -> f64 {
        let nl = self.num_layers();
        let k = self.outputs();
        let loss = {
            let (z, dz) = (&ws.z[nl - 1][..b * k], &mut ws.dz[..b * k]);
            self.arch.loss.value_grad(z, k, targets, Some(dz))
        };
        self.backprop(params, x, b, ws, grad, par);
        loss
    }

    /// Vector–Jacobian product: `grad = Jᵀu` where J is the Jacobian of the output
    /// pre-activations (b×k) with respect to the parameters, after a forward pass.
    #[allow(clippy::too_many_arguments)] // the pieces of one batch, all needed
    pub fn vjp<T: Real>(
        &self,
        params: &[T],
        x: &[T],
        b: usize,
        u: &[T],
        ws: &mut Workspace<T>,
        grad: &mut [T],
        par: Par,
    ) {
        let k = self.outputs();
        ws.dz[..b * k].copy_from_slice(&u[..b * k]);
        self.backprop(params, x, b, ws, grad, par);
    }

    /// Jacobian–vector product (the R-operator, Pearlmutter 1994): the directional
    /// derivative of the output pre-activations along parameter direction `v`, after a
    /// forward pass at `params`, into `out` (b×k).
    #[allow(clippy::too_many_arguments)] // the pieces of one batch, all needed
    pub fn jvp<T: Real>(
        &self,
        params: &[T],
        x: &[T],
        b: usize,
        v: &[T],
        ws: &Workspace<T>,
        out: &mut [T],
        par: Par,
    ) {
        let nl = self.num_layers();
        // R(A₀) = 0; R(Zₗ) = R(Aₗ₋₁)·W + Aₗ₋₁·V_W + V_b; R(Aₗ) = act'(Zₗ) ⊙ R(Zₗ).
        let mut ra: Vec<T> = Vec::new();
        for l in 0..nl {
            let (wo, bo, ni, no) = self.layer(l);
            let input: &[T] = if l == 0 { x } else { &ws.a[l - 1][..b * ni] };
            let mut rz = vec![T::zero(); b * no];
            for row in rz.chunks_mut(no) {
                row.copy_from_slice(&v[bo..bo + no]);
            }
            T::gemm(
                b,
                no,
                ni,
                input,
                false,
                &v[wo..wo + ni * no],
                false,
                &mut rz,
                true,
                par,
            );
            if l > 0 {
                T::gemm(
                    b,
                    no,
                    ni,
                    &ra,
                    false,
                    &params[wo..wo + ni * no],
                    false,
                    &mut rz,
                    true,
                    par,
                );
            }
            if l + 1 < nl {
                let act = self.arch.activations[l];
                for (r, z) in rz.iter_mut().zip(&ws.z[l][..b * no]) {
                    *r = *r * act.derivative(*z);
                }
                ra = rz;
            } else {
                out[..b * no].copy_from_slice(&rz);
            }
        }
    }

    /// Moves `ws.dz` (∂/∂Zₗ of layer `l`, l > 0) to ∂/∂Zₗ₋₁: `dA = dZ·Wᵀ`, then through
    /// the activation of layer l−1.
    fn to_previous_layer<T: Real>(
        &self,
        params: &[T],
        b: usize,
        l: usize,
        ws: &mut Workspace<T>,
        par: Par,
    ) {
        let (wo, _, ni, no) = self.layer(l);
        let dprev = &mut ws.dz_prev[..b * ni];
        T::gemm(
            b,
            ni,
            no,
            &ws.dz[..b * no],
            false,
            &params[wo..wo + ni * no],
            true,
            dprev,
            false,
            par,
        );
        let act = self.arch.activations[l - 1];
        let (z, a) = (&ws.z[l - 1], &ws.a[l - 1]);
        by_rows(split_elementwise(par, b * ni), dprev, ni, |start, d| {
            let rows = start..start + d.len();
            act.backprop(&z[rows.clone()], &a[rows], d)
        });
        std::mem::swap(&mut ws.dz, &mut ws.dz_prev);
    }

    /// Backpropagates `ws.dz` (∂L/∂Z of the output layer) into `grad`.
    fn backprop<T: Real>(
        &self,
        params: &[T],
        x: &[T],
        b: usize,
        ws: &mut Workspace<T>,
        grad: &mut [T],
        par: Par,
    ) {
        let nl = self.num_layers();
        for l in (0..nl).rev() {
            let (wo, bo, ni, no) = self.layer(l);
            let input: &[T] = if l == 0 { x } else { &ws.a[l - 1][..b * ni] };
            let dz = &ws.dz[..b * no];
            // dW = inputᵀ·dZ, db = column sums of dZ.
            if ni * no >= TRANSPOSE_INPUT_FROM && ws.input_t.len() >= b * ni {
                let input_t = &mut ws.input_t[..b * ni];
                transpose_into(input, b, ni, input_t, split_elementwise(par, b * ni));
                T::gemm(
                    ni,
                    no,
                    b,
                    input_t,
                    false,
                    dz,
                    false,
                    &mut grad[wo..wo + ni * no],
                    false,
                    par,
                );
            } else {
                T::gemm(
                    ni,
                    no,
                    b,
                    input,
                    true,
                    dz,
                    false,
                    &mut grad[wo..wo + ni * no],
                    false,
                    par,
                );
            }
            // db = column sums of dZ, each in row order (in bands of columns when split).
            let column_sums = |c0: usize, db: &mut [T]| {
                db.iter_mut().for_each(|v| *v = T::zero());
                for row in dz.chunks(no) {
                    for (d, v) in db.iter_mut().zip(&row[c0..]) {
                        *d += *v;
                    }
                }
            };
            let db = &mut grad[bo..bo + no];
            if split_elementwise(par, b * no) {
                use rayon::prelude::*;
                const BAND: usize = 256;
                db.par_chunks_mut(BAND)
                    .enumerate()
                    .for_each(|(i, d)| column_sums(i * BAND, d));
            } else {
                column_sums(0, db);
            }
            if l > 0 {
                self.to_previous_layer(params, b, l, ws, par);
            }
        }
    }

    /// Hidden activations of the last forward pass (layer 1..L−1), for diagnostics.
    pub fn hidden_activations<'w, T: Real>(
        &self,
        ws: &'w Workspace<T>,
        b: usize,
        l: usize,
    ) -> &'w [T] {
        &ws.a[l][..b * self.arch.sizes[l + 1]]
    }

    /// Jacobian of the outputs (pre-activations z of the last layer) with respect to the
    /// parameters, one row per (sample, output), after a forward pass of `b` samples:
    /// `jac[(i·k + c)·P + p] = ∂z_{ic}/∂θ_p`. Exact: one backward pass per output.
    pub fn output_jacobian<T: Real>(
        &self,
        params: &[T],
        x: &[T],
        b: usize,
        ws: &mut Workspace<T>,
        jac: &mut [T],
    ) {
        let nl = self.num_layers();
        let k = self.outputs();
        let p = self.num_params;
        jac.iter_mut().for_each(|v| *v = T::zero());
        for c in 0..k {
            // dZ_L = e_c for every sample.
            let dz = &mut ws.dz[..b * k];
            dz.iter_mut().for_each(|v| *v = T::zero());
            for i in 0..b {
                dz[i * k + c] = T::one();
            }
            for l in (0..nl).rev() {
                let (wo, bo, ni, no) = self.layer(l);
                let input: &[T] = if l == 0 { x } else { &ws.a[l - 1][..b * ni] };
                let dz = &ws.dz[..b * no];
                for i in 0..b {
                    let row = &mut jac[(i * k + c) * p..(i * k + c + 1) * p];
                    let dzi = &dz[i * no..(i + 1) * no];
                    let inp = &input[i * ni..(i + 1) * ni];
                    for (q, a) in inp.iter().enumerate() {
                        let w = &mut row[wo + q * no..wo + (q + 1) * no];
                        for (wv, d) in w.iter_mut().zip(dzi) {
                            *wv = *a * *d;
                        }
                    }
                    row[bo..bo + no].copy_from_slice(dzi);
                }
                if l > 0 {
                    self.to_previous_layer(params, b, l, ws, Par::Seq);
                }
            }
        }
    }
}
