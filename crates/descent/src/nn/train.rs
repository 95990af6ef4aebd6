//! The trainer: epochs of shuffled mini-batches with any step rule (batch size N is batch
//! gradient descent, 1 < k < N mini-batch, k = 1 online), full-batch training with any
//! deterministic method of the library, and Levenberg–Marquardt / Gauss–Newton for
//! squared-error networks. Early stopping restores the best weights; reduce-on-plateau
//! scales the learning rate; per-layer diagnostics show saturation.

use super::adapters::{BatchData, FullBatch, NetLeastSquares};
use super::{Activation, Loss, Mlp, Real, Targets};
use crate::data::{permutation, Dataset, TargetData};
use crate::driver::{Control, IterReport, Observer, Options, Start};
use crate::error::{Error, Result};
use crate::least_squares::{minimize_least_squares, FitOptions};
use crate::method::{AppliesTo, MethodSpec};
use crate::update::StepRule;
use faer::Par;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Chunk length of the parallel element-wise loops of a training step.
const CHUNK: usize = 1 << 13;

/// Fewest samples per thread when a mini-batch is split across threads.
const MIN_SHARD: usize = 32;

/// One thread's slice of a mini-batch: its rows, buffers and gradient.
struct Shard<T: Real> {
    ws: super::Workspace<T>,
    x: Vec<T>,
    labels: Vec<u32>,
    values: Vec<T>,
    grad: Vec<T>,
    /// Rows of the last batch slice run.
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
            rows: 0,
        }
    }

    /// Gathers `rows` of the training data, runs forward and backward; returns the mean
    /// loss, the mean gradient in `self.grad`.
    fn run(&mut self, net: &Mlp, params: &[T], td: &BatchData<T>, rows: &[usize], par: Par) -> f64 {
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
        net.backward(params, x, b, targets, &mut self.ws, &mut self.grad, par)
    }
}

/// Mini-batch steps that the default number of epochs aims at, and its bounds.
const DEFAULT_STEPS: usize = 2000;
const DEFAULT_EPOCHS: (usize, usize) = (5, 200);
/// Default iterations of full-batch and least-squares optimizers.
const DEFAULT_ITERATIONS: usize = 200;

/// Epochs when none are given: a fixed count of epochs would give a small data set a
/// handful of steps (5 epochs of 150 samples: 10 Adam steps), so the default aims at about
/// 2000 mini-batch steps, between 5 and 200 epochs (scikit-learn trains up to 200); 200
/// iterations for full-batch and least-squares optimizers. `optimizer` is a method spec;
/// an unknown one counts as full batch (training refuses it later).
pub fn default_epochs(optimizer: &str, n_train: usize, batch_size: usize) -> usize {
    let minibatch = MethodSpec::parse(optimizer)
        .and_then(|s| s.info())
        .is_ok_and(|i| i.applies(AppliesTo::Minibatch));
    if !minibatch {
        return DEFAULT_ITERATIONS;
    }
    let per_epoch = n_train.div_ceil(batch_size.max(1)).max(1);
    DEFAULT_STEPS
        .div_ceil(per_epoch)
        .clamp(DEFAULT_EPOCHS.0, DEFAULT_EPOCHS.1)
}

/// Everything about a training run except the network and the data.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Optimizer: a method spec (`adam`, `lbfgs:memory=5`, …) of a method that applies to
    /// mini-batches or to the full batch (see [`crate::method::REGISTRY`]).
    pub optimizer: String,
    /// Learning rate (step rules); default: the registry's (the same as in `minimize`).
    pub lr: Option<f64>,
    /// Schedule spec over steps (see [`Schedule::parse`]).
    pub schedule: Option<String>,
    /// Momentum μ (default 0.9).
    pub momentum: Option<f64>,
    /// AdamW weight decay (default 1e-2).
    pub weight_decay: Option<f64>,
    /// Epochs (iterations for full-batch and least-squares methods).
    pub epochs: usize,
    /// Mini-batch size (step rules).
    pub batch_size: usize,
    /// Seed of the shuffles.
    pub seed: u64,
    /// Threads for the matrix products.
    pub threads: usize,
    /// Early stopping: epochs without a better validation loss before stopping.
    pub patience: Option<usize>,
    /// Reduce-on-plateau: (factor, patience in epochs).
    pub plateau: Option<(f64, usize)>,
    /// Per-layer diagnostics after every epoch.
    pub diagnostics: bool,
    /// L-BFGS memory.
    pub memory: Option<usize>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            optimizer: "adam".into(),
            lr: None,
            schedule: None,
            momentum: None,
            weight_decay: None,
            epochs: 5,
            batch_size: 128,
            seed: 0,
            threads: 1,
            patience: None,
            plateau: None,
            diagnostics: false,
            memory: None,
        }
    }
}

/// Statistics of one hidden layer on a fixed probe batch.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LayerStats {
    /// Hidden layer (1-based).
    pub layer: usize,
    /// Mean activation.
    pub mean: f64,
    /// Standard deviation of the activations.
    pub std: f64,
    /// Fraction of saturated units (sigmoid within 0.01 of 0 or 1, |tanh| > 0.99, ReLU off).
    pub saturated: f64,
    /// ‖∂L/∂W‖ of the layer's incoming weights.
    pub grad_norm: f64,
    /// Histogram of the activations (20 bins over [min, max]).
    pub histogram: Vec<u32>,
    /// Range of the histogram.
    pub range: (f64, f64),
}

/// One epoch (or iteration, for full-batch methods).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EpochReport {
    /// Epoch number (1-based, counting across resumes).
    pub epoch: usize,
    /// Mean training loss.
    pub train_loss: f64,
    /// Validation loss.
    pub val_loss: Option<f64>,
    /// Validation accuracy (classification).
    pub val_accuracy: Option<f64>,
    /// Validation R² (regression).
    pub val_r2: Option<f64>,
    /// Seconds since training started.
    pub seconds: f64,
    /// Learning-rate multiplier from reduce-on-plateau.
    pub lr_scale: f64,
    /// Per-layer diagnostics.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnostics: Option<Vec<LayerStats>>,
}

/// Everything needed to continue a run exactly.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainState {
    /// Master parameters (f64).
    pub params: Vec<f64>,
    /// Step-rule state buffers.
    pub rule_state: Vec<(String, Vec<f64>)>,
    /// Steps taken.
    pub step: u64,
    /// Epochs completed.
    pub epoch: usize,
    /// Reduce-on-plateau multiplier.
    pub lr_scale: f64,
    /// Best validation loss and its parameters.
    pub best: Option<(f64, Vec<f64>)>,
    /// Epochs since the best validation loss.
    pub since_best: usize,
    /// Epochs since the last plateau improvement.
    pub since_plateau: usize,
    /// Reports of the epochs so far.
    pub history: Vec<EpochReport>,
    /// The driver's checkpoint of a full-batch or least-squares method (L-BFGS's pairs,
    /// Levenberg–Marquardt's damping, …), so that a resumed run continues exactly.
    #[serde(default)]
    pub method_checkpoint: Option<crate::checkpoint::Checkpoint>,
}

impl TrainState {
    /// A fresh run from `params`.
    pub fn new(params: Vec<f64>) -> Self {
        TrainState {
            params,
            rule_state: Vec::new(),
            step: 0,
            epoch: 0,
            lr_scale: 1.0,
            best: None,
            since_best: 0,
            since_plateau: 0,
            history: Vec::new(),
            method_checkpoint: None,
        }
    }
}

/// How training ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrainStop {
    /// All epochs ran.
    Completed,
    /// Validation loss stopped improving; the best weights were restored.
    EarlyStopped,
    /// The loss became NaN or infinite (e.g. a diverging learning rate); the last finite
    /// weights are kept.
    Diverged,
    /// A full-batch or least-squares method met its convergence test.
    Converged,
    /// A full-batch method stopped otherwise (line search failure, ...).
    MethodStopped,
    /// The observer asked to stop (Ctrl-C); finished epochs are kept.
    Interrupted,
}

/// The outcome of [`train`].
#[derive(Clone, Debug)]
pub struct TrainResult {
    /// State to save or continue from (its `params` are the final weights).
    pub state: TrainState,
    /// How it ended.
    pub stop: TrainStop,
    /// Training samples processed per second (forward + backward + update).
    pub samples_per_second: f64,
}

impl TrainConfig {
    /// The optimizer with the settings given here, checked against the registry: a
    /// setting the method does not have is an error naming it.
    pub fn method_spec(&self) -> Result<MethodSpec> {
        let mut spec = MethodSpec::parse(&self.optimizer)?;
        if let Some(lr) = self.lr {
            spec.set("lr", &lr.to_string())?;
        }
        if let Some(s) = &self.schedule {
            spec.set("schedule", s)?;
        }
        if let Some(mu) = self.momentum {
            spec.set("momentum", &mu.to_string())?;
        }
        if let Some(wd) = self.weight_decay {
            spec.set("weight_decay", &wd.to_string())?;
        }
        if let Some(m) = self.memory {
            spec.set("memory", &m.to_string())?;
        }
        let info = spec.check()?;
        if !(info.applies(AppliesTo::Minibatch) || info.applies(AppliesTo::Fullbatch)) {
            return Err(Error::NotApplicable {
                method: info.name.into(),
                why: "it does not train networks".into(),
            });
        }
        Ok(spec)
    }
}

/// Checks that the network fits the data.
pub fn check_compatible(net: &Mlp, data: &Dataset, what: &str) -> Result<()> {
    if net.inputs() != data.d {
        return Err(Error::config(
            "layers",
            format!(
                "the first layer has {} inputs but the {what} data has {} features",
                net.inputs(),
                data.d
            ),
        ));
    }
    match (&data.targets, net.arch.loss) {
        (TargetData::Classes { names, labels }, Loss::CrossEntropy) => {
            if names.len() > net.outputs() {
                return Err(Error::config(
                    "layers",
                    format!(
                        "the {what} data has {} classes but the output layer has {} units",
                        names.len(),
                        net.outputs()
                    ),
                ));
            }
            if let Some(l) = labels.iter().find(|l| **l as usize >= net.outputs()) {
                return Err(Error::config(
                    "labels",
                    format!("label {l} is out of range for {} outputs", net.outputs()),
                ));
            }
        }
        (TargetData::Classes { names, .. }, Loss::BinaryCrossEntropy) => {
            if names.len() != 2 || net.outputs() != 1 {
                return Err(Error::config(
                    "loss",
                    "binary cross-entropy needs 2 classes and 1 output",
                ));
            }
        }
        (TargetData::Classes { names, .. }, Loss::SquaredError) => {
            if names.len() > net.outputs() {
                return Err(Error::config(
                    "layers",
                    format!(
                        "{} classes (one-hot) need {} outputs, the network has {}",
                        names.len(),
                        names.len(),
                        net.outputs()
                    ),
                ));
            }
        }
        (TargetData::Values { k, .. }, Loss::SquaredError | Loss::BinaryCrossEntropy) => {
            if *k != net.outputs() {
                return Err(Error::config(
                    "layers",
                    format!(
                        "the {what} data has {k} targets per sample but the network has {} outputs",
                        net.outputs()
                    ),
                ));
            }
        }
        (TargetData::Values { .. }, Loss::CrossEntropy) => {
            return Err(Error::config(
                "loss",
                "cross-entropy needs class labels, but the target is numeric; use the squared error loss",
            ));
        }
    }
    Ok(())
}

/// Converts a data set to the compute type.
pub fn batch_data<T: Real>(data: &Dataset, net: &Mlp) -> BatchData<T> {
    let k = net.outputs();
    let x = data.x.iter().map(|v| T::of(*v)).collect();
    let (labels, values) = match &data.targets {
        TargetData::Classes { labels, .. } => {
            let values = match net.arch.loss {
                Loss::CrossEntropy => vec![],
                // Binary: the label itself; squared error: one-hot.
                Loss::BinaryCrossEntropy => labels.iter().map(|l| T::of(*l as f64)).collect(),
                Loss::SquaredError => {
                    let mut v = vec![T::zero(); labels.len() * k];
                    for (i, l) in labels.iter().enumerate() {
                        v[i * k + *l as usize] = T::one();
                    }
                    v
                }
            };
            (labels.clone(), values)
        }
        TargetData::Values { y, .. } => (vec![], y.iter().map(|v| T::of(*v)).collect()),
    };
    BatchData {
        x,
        labels,
        values,
        n: data.len(),
    }
}

/// Loss and accuracy (classification) or R² (regression) of `params` on `data`.
pub fn evaluate<T: Real>(
    net: &Mlp,
    params: &[T],
    data: &BatchData<T>,
    par: Par,
) -> (f64, Option<f64>, Option<f64>) {
    let (d, k) = (net.inputs(), net.outputs());
    let chunk = data.n.clamp(1, 2048);
    let mut ws = net.workspace::<T>(chunk);
    let (mut loss, mut correct) = (0.0, 0usize);
    let (mut sse, mut preds) = (0.0, Vec::new());
    let mut lo = 0;
    while lo < data.n {
        let hi = (lo + chunk).min(data.n);
        let b = hi - lo;
        let z = net.forward(params, &data.x[lo * d..hi * d], b, &mut ws, par);
        loss += b as f64
            * net
                .arch
                .loss
                .value_grad(z, k, data.targets(net.arch.loss, k, lo, hi), None);
        match net.arch.loss {
            Loss::CrossEntropy => {
                for (i, row) in z.chunks(k).enumerate() {
                    let arg = row
                        .iter()
                        .enumerate()
                        .fold(0, |best, (c, v)| if *v > row[best] { c } else { best });
                    correct += (arg as u32 == data.labels[lo + i]) as usize;
                }
            }
            Loss::BinaryCrossEntropy if !data.labels.is_empty() => {
                for (i, v) in z.iter().enumerate() {
                    correct += ((v.f64() > 0.0) as u32 == data.labels[lo + i]) as usize;
                }
            }
            Loss::SquaredError if !data.labels.is_empty() => {
                for (i, row) in z.chunks(k).enumerate() {
                    let arg = row
                        .iter()
                        .enumerate()
                        .fold(0, |best, (c, v)| if *v > row[best] { c } else { best });
                    correct += (arg as u32 == data.labels[lo + i]) as usize;
                }
            }
            _ => {
                for (i, v) in z.iter().enumerate() {
                    let t = data.values[lo * k + i].f64();
                    sse += (v.f64() - t).powi(2);
                    preds.push(t);
                }
            }
        }
        lo = hi;
    }
    let n = data.n.max(1) as f64;
    if data.labels.is_empty() {
        let mean = preds.iter().sum::<f64>() / preds.len().max(1) as f64;
        let sst: f64 = preds.iter().map(|t| (t - mean).powi(2)).sum();
        let r2 = if sst > 0.0 { 1.0 - sse / sst } else { f64::NAN };
        (loss / n, None, Some(r2))
    } else {
        (loss / n, Some(correct as f64 / n), None)
    }
}

/// Per-layer statistics of a probe batch (the first ≤ 500 training samples).
fn diagnostics<T: Real>(net: &Mlp, params: &[T], data: &BatchData<T>, par: Par) -> Vec<LayerStats> {
    let (d, k) = (net.inputs(), net.outputs());
    let b = data.n.min(500);
    let mut ws = net.workspace::<T>(b);
    let x = &data.x[..b * d];
    net.forward(params, x, b, &mut ws, par);
    let mut grad = vec![T::zero(); net.num_params()];
    net.backward(
        params,
        x,
        b,
        data.targets(net.arch.loss, k, 0, b),
        &mut ws,
        &mut grad,
        par,
    );
    net.forward(params, x, b, &mut ws, par);
    (0..net.num_layers() - 1)
        .map(|l| {
            let a = net.hidden_activations(&ws, b, l);
            let act: Activation = net.arch.activations[l];
            let n = a.len() as f64;
            let mean = a.iter().map(|v| v.f64()).sum::<f64>() / n;
            let std = (a.iter().map(|v| (v.f64() - mean).powi(2)).sum::<f64>() / n).sqrt();
            let saturated = a.iter().filter(|v| act.saturated(**v)).count() as f64 / n;
            let (wo, _, ni, no) = net.layer(l);
            let grad_norm = grad[wo..wo + ni * no]
                .iter()
                .map(|g| g.f64().powi(2))
                .sum::<f64>()
                .sqrt();
            let lo = a.iter().map(|v| v.f64()).fold(f64::INFINITY, f64::min);
            let hi = a.iter().map(|v| v.f64()).fold(f64::NEG_INFINITY, f64::max);
            let mut histogram = vec![0u32; 20];
            for v in a {
                let t = if hi > lo {
                    (v.f64() - lo) / (hi - lo)
                } else {
                    0.0
                };
                histogram[((t * 20.0) as usize).min(19)] += 1;
            }
            LayerStats {
                layer: l + 1,
                mean,
                std,
                saturated,
                grad_norm,
                histogram,
                range: (lo, hi),
            }
        })
        .collect()
}

/// Callbacks while training.
pub trait TrainObserver {
    /// After each mini-batch: (batch index, batches per epoch, batch loss).
    fn on_batch(&mut self, _epoch: usize, _batch: usize, _batches: usize, _loss: f64) {}
    /// After each epoch.
    fn on_epoch(&mut self, _report: &EpochReport) {}
    /// Polled after every mini-batch and iteration: `true` ends training
    /// ([`TrainStop::Interrupted`]).
    fn should_stop(&self) -> bool {
        false
    }
}

/// Ignores everything.
pub struct Silent;
impl TrainObserver for Silent {}

/// Trains `net` on `train` (validating on `val` when given) from `start` (fresh or
/// resumed). Computes in `T`; the optimizer keeps f64 master weights.
pub fn train<T: Real>(
    net: &Mlp,
    train: &Dataset,
    val: Option<&Dataset>,
    cfg: &TrainConfig,
    start: TrainState,
    obs: &mut dyn TrainObserver,
) -> Result<TrainResult> {
    let optimizer = Optimizer::Method(cfg.method_spec()?);
    train_with::<T>(net, train, val, cfg, optimizer, start, obs)
}

/// What trains the network: a registered method, or your own step rule or minimizer.
pub enum Optimizer {
    /// A method of the registry (checked against it: mini-batch or full batch).
    Method(MethodSpec),
    /// Your own step rule, on shuffled mini-batches of `batch_size`.
    StepRule(Box<dyn StepRule + Send>),
    /// Your own minimizer, on the network with its whole training set as one objective.
    FullBatch(Box<dyn crate::driver::Minimizer>),
}

/// [`train`] with any [`Optimizer`] (`cfg.optimizer` and its settings are then ignored
/// unless it is [`Optimizer::Method`]).
pub fn train_with<T: Real>(
    net: &Mlp,
    train: &Dataset,
    val: Option<&Dataset>,
    cfg: &TrainConfig,
    optimizer: Optimizer,
    start: TrainState,
    obs: &mut dyn TrainObserver,
) -> Result<TrainResult> {
    check_compatible(net, train, "training")?;
    train.validate("training data")?;
    if let Some(v) = val {
        check_compatible(net, v, "validation")?;
        v.validate("validation data")?;
    }
    if start.params.len() != net.num_params() {
        return Err(Error::DimensionMismatch {
            what: "parameters".into(),
            expected: net.num_params(),
            got: start.params.len(),
        });
    }
    let par = if cfg.threads > 1 {
        Par::rayon(cfg.threads)
    } else {
        Par::Seq
    };
    let td = batch_data::<T>(train, net);
    let vd = val.map(|v| batch_data::<T>(v, net));
    let (vd, method) = (vd.as_ref(), optimizer);
    let full_batch = match method {
        Optimizer::StepRule(rule) => {
            return train_step_rule(net, &td, vd, cfg, rule, start, obs, par)
        }
        Optimizer::Method(spec) if spec.info()?.applies(AppliesTo::Minibatch) => {
            let rule = spec.step_rule()?;
            return train_step_rule(net, &td, vd, cfg, rule, start, obs, par);
        }
        Optimizer::Method(spec) => FullBatchMethod::Method(spec),
        Optimizer::FullBatch(m) => FullBatchMethod::Own(m),
    };
    train_deterministic(net, &td, vd, cfg, full_batch, start, obs, par)
}

/// A deterministic method for [`train_deterministic`].
enum FullBatchMethod {
    Method(MethodSpec),
    Own(Box<dyn crate::driver::Minimizer>),
}

fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(epoch as u64 + 1)
}

#[allow(clippy::too_many_arguments)]
fn train_step_rule<T: Real>(
    net: &Mlp,
    td: &BatchData<T>,
    vd: Option<&BatchData<T>>,
    cfg: &TrainConfig,
    mut rule: Box<dyn StepRule + Send>,
    mut st: TrainState,
    obs: &mut dyn TrainObserver,
    par: Par,
) -> Result<TrainResult> {
    if cfg.batch_size == 0 {
        return Err(Error::config("batch size", "must be at least 1"));
    }
    let np = net.num_params();
    rule.reset(np);
    rule.set_state(&st.rule_state);
    let bs = cfg.batch_size.min(td.n);
    // Data parallelism: each thread runs forward and backward on its own slice of the
    // batch with sequential matrix products, and the shard gradients are summed. On small
    // networks this scales far better than splitting each matrix product across threads
    // (whose barriers cost as much as the arithmetic at batch 128).
    let shards = if cfg.threads > 1 {
        cfg.threads.min(bs / MIN_SHARD).max(1)
    } else {
        1
    };
    let shard_par = if shards > 1 { Par::Seq } else { par };
    let mut workers: Vec<Shard<T>> = (0..shards)
        .map(|_| Shard::new(net, bs.div_ceil(shards)))
        .collect();
    let mut params_t: Vec<T> = st.params.iter().map(|v| T::of(*v)).collect();
    let (mut grad, mut delta) = (vec![0.0; np], vec![0.0; np]);
    let t0 = Instant::now();
    let mut train_time = 0.0;
    let mut samples = 0usize;
    let mut stop = TrainStop::Completed;
    let batches = td.n.div_ceil(bs);
    while st.epoch < cfg.epochs {
        let epoch = st.epoch + 1;
        let te = Instant::now();
        let perm = permutation(td.n, epoch_seed(cfg.seed, epoch));
        let mut loss_sum = 0.0;
        let mut diverged = false;
        for (bi, chunk) in perm.chunks(bs).enumerate() {
            let b = chunk.len();
            let per = b.div_ceil(shards);
            let loss = if shards == 1 {
                workers[0].run(net, &params_t, td, chunk, shard_par) * b as f64
            } else {
                use rayon::prelude::*;
                workers
                    .par_iter_mut()
                    .zip(chunk.par_chunks(per))
                    .map(|(w, rows)| w.run(net, &params_t, td, rows, shard_par) * rows.len() as f64)
                    .sum::<f64>()
            } / b as f64;
            // Batch gradient = Σ (bᵢ/b)·(mean gradient of shard i), into f64.
            let finite_grad = {
                use rayon::prelude::*;
                let used = &workers[..b.div_ceil(per)];
                grad.par_chunks_mut(CHUNK)
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
                            g.iter().all(|v| v.is_finite())
                        })
                    })
                    .reduce(|| true, |a, b| a && b)
            };
            if !loss.is_finite() || !finite_grad {
                diverged = true;
                break;
            }
            st.step += 1;
            rule.update(st.step, &st.params, &grad, &mut delta);
            // The candidate w + Δ goes into `delta` (and its compute-type copy into
            // `params_t`); it replaces the weights only when every entry is finite, so a
            // diverging step leaves the last finite weights in place.
            let scale = st.lr_scale;
            let finite = {
                use rayon::prelude::*;
                st.params
                    .par_chunks(CHUNK)
                    .zip(params_t.par_chunks_mut(CHUNK))
                    .zip(delta.par_chunks_mut(CHUNK))
                    .map(|((p, pt), dl)| {
                        crate::simd::vectorized(|| {
                            let mut ok = true;
                            for ((p, pt), dl) in p.iter().zip(pt.iter_mut()).zip(dl.iter_mut()) {
                                *dl = p + scale * *dl;
                                *pt = T::of(*dl);
                                ok &= dl.is_finite();
                            }
                            ok
                        })
                    })
                    .reduce(|| true, |a, b| a && b)
            };
            if !finite {
                for (pt, p) in params_t.iter_mut().zip(&st.params) {
                    *pt = T::of(*p);
                }
                diverged = true;
                break;
            }
            std::mem::swap(&mut st.params, &mut delta);
            loss_sum += loss * b as f64;
            samples += b;
            obs.on_batch(epoch, bi + 1, batches, loss);
            if obs.should_stop() {
                stop = TrainStop::Interrupted;
                break;
            }
        }
        if stop == TrainStop::Interrupted {
            break;
        }
        train_time += te.elapsed().as_secs_f64();
        if diverged {
            stop = TrainStop::Diverged;
            // Keep the last finite weights: the best ones if validation tracked them.
            if let Some((_, best)) = &st.best {
                st.params = best.clone();
            }
            break;
        }
        st.epoch = epoch;
        let report = finish_epoch(
            net,
            &params_t,
            td,
            vd,
            cfg,
            &mut st,
            loss_sum / td.n as f64,
            t0,
            par,
        );
        obs.on_epoch(&report);
        st.history.push(report);
        if let Some(p) = cfg.patience {
            if st.since_best >= p {
                stop = TrainStop::EarlyStopped;
                break;
            }
        }
    }
    if cfg.patience.is_some() || stop == TrainStop::Diverged {
        if let Some((_, best)) = &st.best {
            if stop != TrainStop::Completed || cfg.patience.is_some() {
                st.params = best.clone();
            }
        }
    }
    st.rule_state = rule
        .state()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    Ok(TrainResult {
        state: st,
        stop,
        samples_per_second: samples as f64 / train_time.max(1e-9),
    })
}

#[allow(clippy::too_many_arguments)]
fn finish_epoch<T: Real>(
    net: &Mlp,
    params_t: &[T],
    td: &BatchData<T>,
    vd: Option<&BatchData<T>>,
    cfg: &TrainConfig,
    st: &mut TrainState,
    train_loss: f64,
    t0: Instant,
    par: Par,
) -> EpochReport {
    let (val_loss, val_accuracy, val_r2) = match vd {
        Some(v) if v.n > 0 => {
            let (l, a, r) = evaluate(net, params_t, v, par);
            (Some(l), a, r)
        }
        _ => (None, None, None),
    };
    let monitored = val_loss.unwrap_or(train_loss);
    if st.best.as_ref().is_none_or(|(b, _)| monitored < *b) {
        st.best = Some((monitored, st.params.clone()));
        st.since_best = 0;
        st.since_plateau = 0;
    } else {
        st.since_best += 1;
        st.since_plateau += 1;
        if let Some((factor, patience)) = cfg.plateau {
            if st.since_plateau >= patience {
                st.lr_scale *= factor;
                st.since_plateau = 0;
            }
        }
    }
    EpochReport {
        epoch: st.epoch,
        train_loss,
        val_loss,
        val_accuracy,
        val_r2,
        seconds: t0.elapsed().as_secs_f64(),
        lr_scale: st.lr_scale,
        diagnostics: cfg.diagnostics.then(|| diagnostics(net, params_t, td, par)),
    }
}

/// Records per-iteration reports of a deterministic method as epochs.
struct IterEpochs<'a, T: Real> {
    net: &'a Mlp,
    td: &'a BatchData<T>,
    vd: Option<&'a BatchData<T>>,
    cfg: &'a TrainConfig,
    st: &'a mut TrainState,
    obs: &'a mut dyn TrainObserver,
    t0: Instant,
    par: Par,
}

impl<T: Real> IterEpochs<'_, T> {
    fn point(&mut self, x: &[f64]) {
        self.st.params.copy_from_slice(x);
    }
    fn record(&mut self, loss: f64) {
        self.st.epoch += 1;
        let params_t: Vec<T> = self.st.params.iter().map(|v| T::of(*v)).collect();
        let rep = finish_epoch(
            self.net, &params_t, self.td, self.vd, self.cfg, self.st, loss, self.t0, self.par,
        );
        self.obs.on_epoch(&rep);
        self.st.history.push(rep);
    }
    fn control(&self) -> Control {
        if self.obs.should_stop() {
            Control::Stop
        } else {
            Control::Continue
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn train_deterministic<T: Real>(
    net: &Mlp,
    td: &BatchData<T>,
    vd: Option<&BatchData<T>>,
    cfg: &TrainConfig,
    method: FullBatchMethod,
    mut st: TrainState,
    obs: &mut dyn TrainObserver,
    par: Par,
) -> Result<TrainResult> {
    let t0 = Instant::now();
    let x0 = st.params.clone();
    let label = match &method {
        FullBatchMethod::Method(spec) => spec.to_string(),
        FullBatchMethod::Own(m) => m.name(),
    };
    // A run saved by a deterministic method continues from the driver's checkpoint (the
    // method's memory included); the epoch budget counts the total, as iterations do.
    let saved = st
        .method_checkpoint
        .take()
        .filter(|c| c.iterations == st.epoch as u64 && c.method == label);
    let (start, max_iter) = match &saved {
        Some(c) => (Start::Resume(c), cfg.epochs as u64),
        None => (Start::At(&x0), cfg.epochs.saturating_sub(st.epoch) as u64),
    };
    let evals_before = saved.as_ref().map_or(0, |c| c.counts.f_evals);
    let mut ie = IterEpochs {
        net,
        td,
        vd,
        cfg,
        st: &mut st,
        obs,
        t0,
        par,
    };
    let s = match method {
        FullBatchMethod::Method(spec) if spec.info()?.applies(AppliesTo::LeastSquares) => {
            let problem = NetLeastSquares::new(net, td)?;
            // Geodesic acceleration needs second directional derivatives (two extra
            // evaluations by differences for a network), and a restart from the initial
            // weights would replay epochs already reported: both off unless asked for.
            let base = FitOptions {
                max_iter,
                geodesic: false,
                restart: false,
                keep_checkpoint: true,
                ..FitOptions::default()
            };
            let fo = spec.fit_options(&base);
            let mut method = spec.build_least_squares(&fo)?;
            let nk = (td.n * net.outputs()) as f64;
            minimize_least_squares(
                &problem,
                method.as_mut(),
                start,
                &fo.driver_options(),
                &mut LsqObserver { ie: &mut ie, nk },
            )?
        }
        method => {
            let mut m = match method {
                FullBatchMethod::Method(spec) => spec.build()?,
                FullBatchMethod::Own(m) => m,
            };
            let obj = FullBatch::new(net, td, par);
            let opts = Options {
                max_iter,
                gtol: 1e-7,
                ftol: 1e-13,
                keep_checkpoint: true,
                ..Options::default()
            };
            crate::driver::minimize_from(
                &obj,
                m.as_mut(),
                start,
                &opts,
                &mut MinObserver { ie: &mut ie },
            )?
        }
    };
    let stop = if s.converged {
        TrainStop::Converged
    } else {
        match s.termination {
            crate::driver::Termination::MaxIterations => TrainStop::Completed,
            crate::driver::Termination::NonFinite => TrainStop::Diverged,
            crate::driver::Termination::ObserverStop => TrainStop::Interrupted,
            _ => TrainStop::MethodStopped,
        }
    };
    st.params = s.x;
    st.method_checkpoint = s.checkpoint.map(|c| crate::checkpoint::Checkpoint {
        method: label,
        problem: "network".into(),
        ..c
    });
    let secs = t0.elapsed().as_secs_f64();
    Ok(TrainResult {
        state: st,
        stop,
        samples_per_second: (s.counts.f_evals - evals_before) as f64 * td.n as f64 / secs.max(1e-9),
    })
}

struct MinObserver<'a, 'b, T: Real> {
    ie: &'b mut IterEpochs<'a, T>,
}

impl<T: Real> Observer for MinObserver<'_, '_, T> {
    fn on_point(&mut self, x: &[f64]) {
        self.ie.point(x);
    }
    fn on_iter(&mut self, r: &IterReport) -> Control {
        self.ie.record(r.f);
        self.ie.control()
    }
}

/// Least-squares reports carry Σr²; epochs report the mean squared error Σr²/(n·k).
struct LsqObserver<'a, 'b, T: Real> {
    ie: &'b mut IterEpochs<'a, T>,
    nk: f64,
}

impl<T: Real> Observer for LsqObserver<'_, '_, T> {
    fn on_point(&mut self, x: &[f64]) {
        self.ie.point(x);
    }
    fn on_iter(&mut self, r: &IterReport) -> Control {
        self.ie.record(r.f / self.nk);
        self.ie.control()
    }
}
