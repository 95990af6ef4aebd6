//! The trainer: epochs of shuffled mini-batches with any step rule (batch size N is batch
//! gradient descent, 1 < k < N mini-batch, k = 1 online), full-batch training with any
//! deterministic method of the library, and Levenberg–Marquardt / Gauss–Newton for
//! squared-error networks. Early stopping restores the best weights; reduce-on-plateau
//! scales the learning rate; per-layer diagnostics show saturation.

use super::adapters::{BatchData, FullBatch, NetLeastSquares};
use super::sampled::NetBatches;
use super::{Activation, Loss, Mlp, Real};
use crate::comm::tree::TreeSum;
use crate::comm::{
    all_agree, Communicator, DistributedBatches, Fingerprint, Local, NormalEquationsLeastSquares,
};
use crate::data::{Dataset, TargetData};
use crate::driver::{Control, IterReport, Minimizer, Observer, Options, Start, Termination};
use crate::error::{Error, Result};
use crate::least_squares::{minimize_least_squares, FitOptions, Scaling};
use crate::method::{AppliesTo, MethodSpec};
use crate::minibatch::{batches_per_epoch, minimize_sampled, MiniBatch, RateScale};
use crate::problem::LeastSquares;
use crate::update::StepRule;
use faer::Par;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::ops::Range;
use std::time::Instant;

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
    /// Schedule spec over steps (see [`crate::update::Schedule::parse`]).
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
    /// Early stopping: epochs without a better validation loss (or score:
    /// [`TrainConfig::monitor_score`]) before stopping; the best weights are restored.
    pub patience: Option<usize>,
    /// Reduce-on-plateau: (factor, patience in epochs without a better monitored value).
    pub plateau: Option<(f64, usize)>,
    /// Per-layer diagnostics after every epoch.
    pub diagnostics: bool,
    /// L-BFGS memory.
    pub memory: Option<usize>,
    /// Performance goal (MATLAB's `goal`): stop when the training loss, in the units it
    /// is reported in, is at most this.
    #[serde(default)]
    pub goal: Option<f64>,
    /// Minimum gradient (MATLAB's `min_grad`): full-batch methods stop when ‖∇loss‖∞ is
    /// at most this (default 1e-7).
    #[serde(default)]
    pub min_grad: Option<f64>,
    /// Mini-batch step rules: clip the batch gradient to this Euclidean norm.
    #[serde(default)]
    pub clip_norm: Option<f64>,
    /// Hand the observer the whole training state every this many epochs
    /// ([`TrainObserver::on_checkpoint`]; [`crate::nn::Experiment`] saves it), so that a
    /// run killed at any moment resumes from its last checkpoint exactly.
    #[serde(default)]
    pub checkpoint_every: Option<usize>,
    /// Mini-batch step rules on an f32 network: keep f64 master weights
    /// (`--master-weights f64`; the rule steps an f64 copy of the weights, which the
    /// network rounds at every step). Default: the weights are the network's own f32
    /// ones, stepped where they are, with an f32 gradient (as `torch.optim` steps an f32
    /// model): 12–20 bytes a parameter a step fewer to stream. Rules that step only f64
    /// points (Adadelta, the schedule-free ones, heavy-ball momentum) keep f64 weights.
    #[serde(default)]
    pub f64_master_weights: bool,
    /// An L2 penalty `½·λ·‖W‖²` on the weights (not the biases) added to the full-batch
    /// objective, the mean loss over the training rows: scikit-learn's MLP objective with
    /// `λ = alpha / n_samples`. Methods that minimize that objective take it (L-BFGS, CG,
    /// SCG, Rprop, BFGS, …; its reported training loss includes it, as scikit-learn's
    /// `loss_`); step rules take `weight_decay`, least-squares methods neither (`br`
    /// chooses its own regularization).
    #[serde(default)]
    pub l2: Option<f64>,
    /// Whether each epoch of a step rule takes the samples in a fresh order (the
    /// default); `false` keeps their order (`--no-shuffle`; scikit-learn's
    /// `shuffle=False`), for data whose order means something.
    #[serde(default = "crate::minibatch::shuffled_by_default")]
    pub shuffle: bool,
    /// Full-batch and least-squares methods: a budget on evaluations of the loss (or the
    /// residuals) in this run, counted from where it starts or resumes (`--max-evals`;
    /// scikit-learn's `max_fun` for L-BFGS; default none).
    #[serde(default)]
    pub max_evals: Option<u64>,
    /// What early stopping (`patience`), reduce-on-plateau and the best weights watch: the
    /// validation loss (the default; the training loss without validation data) or, when
    /// set, the validation score — accuracy for classes, R² for values, higher being
    /// better (`--monitor score`; scikit-learn's early stopping, Keras's
    /// `monitor="val_accuracy"`). Needs validation data.
    #[serde(default)]
    pub monitor_score: bool,
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
            goal: None,
            min_grad: None,
            clip_norm: None,
            checkpoint_every: None,
            f64_master_weights: false,
            l2: None,
            shuffle: true,
            max_evals: None,
            monitor_score: false,
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
    /// Bayesian regularization's effective number of parameters γ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_parameters: Option<f64>,
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
    /// Mini-batches done of the epoch under way (a run interrupted mid-epoch).
    #[serde(default)]
    pub batch: usize,
    /// Σ (batch loss × batch size) over those batches, for the epoch's mean loss.
    #[serde(default)]
    pub batch_loss_sum: f64,
    /// Reduce-on-plateau multiplier.
    pub lr_scale: f64,
    /// Best monitored value and its parameters: the validation loss (the training loss
    /// without validation data), or the validation score negated with
    /// [`TrainConfig::monitor_score`] — lower is better.
    pub best: Option<(f64, Vec<f64>)>,
    /// Whether `best` is a score (negated) rather than a loss: a run resumed watching the
    /// other starts its best, and the epochs since it, afresh.
    #[serde(default)]
    pub best_is_score: bool,
    /// Epochs since the best monitored value.
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
    /// Keeps the weights, the epochs and their history and forgets the optimizer: its
    /// state (moments, velocities, L-BFGS's pairs), step count and learning-rate
    /// multiplier, so that training goes on from these weights with a new optimizer (as a
    /// scikit-learn warm-start `fit`; `partial_fit` keeps it).
    pub fn with_fresh_optimizer(mut self) -> Self {
        self.rule_state.clear();
        self.step = 0;
        self.lr_scale = 1.0;
        self.since_plateau = 0;
        self.method_checkpoint = None;
        self
    }

    /// A fresh run from `params`.
    pub fn new(params: Vec<f64>) -> Self {
        TrainState {
            params,
            rule_state: Vec::new(),
            step: 0,
            epoch: 0,
            batch: 0,
            batch_loss_sum: 0.0,
            lr_scale: 1.0,
            best: None,
            best_is_score: false,
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
    /// The training loss reached the goal ([`TrainConfig::goal`]).
    Goal,
    /// A full-batch or least-squares method used up its budget of evaluations
    /// ([`TrainConfig::max_evals`]) before it converged.
    MaxEvaluations,
}

impl std::fmt::Display for TrainStop {
    /// What a person reads: the text output's `stopped:` line (JSON keeps the names).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TrainStop::Completed => "all epochs ran",
            TrainStop::EarlyStopped => "early stopping, the best validated weights restored",
            TrainStop::Diverged => {
                "diverged (the loss became NaN or infinite), the last finite weights kept"
            }
            TrainStop::Converged => "converged",
            TrainStop::MethodStopped => {
                "the method could go no further (e.g. its line search found no decrease)"
            }
            TrainStop::Interrupted => "interrupted, the finished epochs kept",
            TrainStop::Goal => "the training loss reached the goal",
            TrainStop::MaxEvaluations => "the budget of evaluations (--max-evals) ran out",
        })
    }
}

/// The outcome of [`train`].
#[derive(Clone, Debug)]
pub struct TrainResult {
    /// State to save or continue from (its `params` are the final weights).
    pub state: TrainState,
    /// How it ended.
    pub stop: TrainStop,
    /// Training samples processed per second (forward + backward + update): a mini-batch
    /// run's from its first batch's gradient in hand to its last step, validation
    /// excluded; a full-batch run's rows times evaluations over the run.
    pub samples_per_second: f64,
}

impl TrainResult {
    /// The loss at the weights the run returns and the chance level it ends above
    /// ([`Loss::chance_level`]), when it does: a run whose weights predict worse than
    /// guessing — a diverging rate (a loss that grew to 10⁵ while staying finite ends as
    /// `all epochs ran` otherwise) or a network that did not learn. The loss read is
    /// `held_out` (a test set's, at the returned weights: pass it when there is one) when
    /// given, else the last validation loss, else the last epoch's training loss (a mean
    /// over its batches before their steps, with any L2 penalty: the roughest reading).
    /// `None` when it learnt, for the squared error, and before an epoch has run.
    pub fn above_chance(
        &self,
        loss: Loss,
        outputs: usize,
        held_out: Option<f64>,
    ) -> Option<(f64, f64)> {
        let last = self.state.history.last()?;
        let reading = held_out.or(last.val_loss).unwrap_or(last.train_loss);
        let chance = loss.chance_level(outputs)?;
        (reading.is_nan() || reading > chance).then_some((reading, chance))
    }
}

/// Whether weight decay is composed with the method ([`crate::update::Chained`]): a step
/// rule without a decay of its own. Others take it as their setting (AdamW, Lion) or
/// refuse it.
fn composes_weight_decay(info: &crate::method::MethodInfo) -> bool {
    info.setting("weight_decay").is_none() && info.applies(AppliesTo::Minibatch)
}

impl TrainConfig {
    /// Refuses, before any work, an optimizer that cannot train `net`: a least-squares
    /// method (Levenberg–Marquardt, Gauss–Newton, Bayesian regularization) on a network
    /// whose loss is not the squared error. (`auto` chooses one that can.)
    pub fn check_trains(&self, net: &Mlp) -> Result<()> {
        if self.optimizer == "auto" {
            return Ok(());
        }
        let spec = self.method_spec()?;
        let info = spec.info()?;
        let least_squares =
            info.applies(AppliesTo::LeastSquares) && !info.applies(AppliesTo::Minibatch);
        if least_squares && net.arch.loss != Loss::SquaredError {
            return Err(squared_error_only(&spec.name));
        }
        Ok(())
    }

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
            if !(wd >= 0.0 && wd.is_finite()) {
                // (A composed decay is applied only when positive: refused here, not dropped.)
                return Err(Error::config(
                    "weight_decay",
                    format!("must be finite and at least 0, got {wd}"),
                ));
            }
            // A method with its own decay takes it; other step rules get it composed
            // (see `step_rule`); anything else refuses it.
            if !composes_weight_decay(spec.info()?) {
                spec.set("weight_decay", &wd.to_string())?;
            }
        }
        if let Some(m) = self.memory {
            spec.set("memory", &m.to_string())?;
        }
        if let Some(c) = self.clip_norm {
            if !(c > 0.0 && c.is_finite()) {
                return Err(Error::config(
                    "clip_norm",
                    format!("must be positive and finite, got {c}"),
                ));
            }
            if !spec.info()?.applies(AppliesTo::Minibatch) {
                return Err(Error::config(
                    "clip_norm",
                    "applies to mini-batch step rules only",
                ));
            }
        }
        if !self.shuffle && !spec.info()?.applies(AppliesTo::Minibatch) {
            return Err(Error::config(
                "shuffle",
                "keeping the rows in order applies to mini-batch step rules only (a \
                 full-batch method takes every row at each step)",
            ));
        }
        if let Some(m) = self.max_evals {
            if m == 0 {
                return Err(Error::config("max_evals", "must be at least 1"));
            }
            if spec.info()?.applies(AppliesTo::Minibatch) {
                return Err(Error::config(
                    "max_evals",
                    "applies to full-batch and least-squares methods (a step rule's budget is \
                     its epochs)",
                ));
            }
        }
        for (name, v) in [("goal", self.goal), ("min_grad", self.min_grad)] {
            if let Some(v) = v {
                if !(v.is_finite() && v >= 0.0) {
                    return Err(Error::config(
                        name,
                        format!("must be finite and not negative, got {v}"),
                    ));
                }
            }
        }
        let info = spec.check()?;
        if let Some((factor, _)) = self.plateau {
            if !(factor > 0.0 && factor < 1.0) {
                // (−5 drove the rate's scale to −3e10 and the run "completed".)
                return Err(Error::config(
                    "plateau",
                    format!("FACTOR must be in (0, 1), got {factor}"),
                ));
            }
        }
        if info.schedule_free && self.plateau.is_some() {
            return Err(Error::config(
                "plateau",
                format!(
                    "{} is schedule-free: no plateau reduction may scale its steps",
                    info.name
                ),
            ));
        }
        // Settings that only one kind of trainer reads are refused by the other (they
        // were ignored).
        let step_rule = info.applies(AppliesTo::Minibatch);
        if !step_rule && self.plateau.is_some() {
            return Err(Error::config(
                "plateau",
                format!("scales a step rule's learning rate; {} has none", info.name),
            ));
        }
        if !step_rule && self.f64_master_weights {
            return Err(Error::config(
                "master_weights",
                format!(
                    "f64 master weights are a step rule's; {} steps f64 weights already",
                    info.name
                ),
            ));
        }
        if step_rule && self.min_grad.is_some() {
            return Err(Error::config(
                "min_grad",
                format!(
                    "stops full-batch methods (MATLAB's min_grad); {} steps on mini-batch \
                     gradients (use --patience or --goal)",
                    info.name
                ),
            ));
        }
        if let Some(l2) = self.l2 {
            if !(l2 >= 0.0 && l2.is_finite()) {
                return Err(Error::config(
                    "l2",
                    format!("must be finite and at least 0, got {l2}"),
                ));
            }
            if step_rule {
                return Err(Error::config(
                    "l2",
                    format!(
                        "is a term of the full-batch objective; {} steps on mini-batch \
                         gradients (use --weight-decay)",
                        info.name
                    ),
                ));
            }
            if info.applies(AppliesTo::LeastSquares) {
                return Err(Error::config(
                    "l2",
                    format!(
                        "{} fits the network's residuals, whose squares take no penalty \
                         (br regularizes by its own; lbfgs, scg, cg take --l2)",
                        info.name
                    ),
                ));
            }
        }
        if !(info.applies(AppliesTo::Minibatch) || info.applies(AppliesTo::Fullbatch)) {
            return Err(Error::NotApplicable {
                method: info.name.into(),
                why: "it does not train networks".into(),
            });
        }
        Ok(spec)
    }
}

/// A least-squares method asked to train a network whose loss is not the squared error.
fn squared_error_only(method: &str) -> Error {
    Error::NotApplicable {
        method: method.into(),
        why: "it trains squared-error networks only (loss mse)".into(),
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
        (TargetData::Classes { names, .. }, _) if what == "training" && names.len() < 2 => {
            return Err(Error::config(
                "target",
                format!(
                    "the training data has only one class ({}): nothing to tell apart",
                    names.first().map_or("none", String::as_str)
                ),
            ));
        }
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
        (TargetData::Values { k, y }, Loss::SquaredError | Loss::BinaryCrossEntropy) => {
            if net.arch.loss == Loss::BinaryCrossEntropy {
                if let Some(v) = y.iter().find(|v| !(0.0..=1.0).contains(*v)) {
                    return Err(Error::config(
                        "target",
                        format!(
                            "binary cross-entropy needs targets in [0, 1]; the {what} data \
                             has {v}"
                        ),
                    ));
                }
            }
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

/// A data set in the compute type: its own samples when that is f64, converted otherwise.
pub fn batch_data<'d, T: Real>(data: &'d Dataset, net: &Mlp) -> BatchData<'d, T> {
    let k = net.outputs();
    let in_type = |v: &'d [f64]| -> Cow<'d, [T]> {
        match T::same(v) {
            Some(same) => Cow::Borrowed(same),
            // In parallel: on a large set the time is the fresh pages' zeroing.
            None => {
                use rayon::prelude::*;
                v.par_iter().map(|v| T::of(*v)).collect()
            }
        }
    };
    let x = in_type(&data.x);
    let (labels, values) = match &data.targets {
        TargetData::Classes { labels, .. } => {
            let values = match net.arch.loss {
                Loss::CrossEntropy => Cow::Owned(vec![]),
                // Binary: the label itself; squared error: one-hot.
                Loss::BinaryCrossEntropy => labels.iter().map(|l| T::of(*l as f64)).collect(),
                Loss::SquaredError => {
                    let mut v = vec![T::zero(); labels.len() * k];
                    for (i, l) in labels.iter().enumerate() {
                        v[i * k + *l as usize] = T::one();
                    }
                    Cow::Owned(v)
                }
            };
            (Cow::Borrowed(&labels[..]), values)
        }
        TargetData::Values { y, .. } => (Cow::Owned(vec![]), in_type(y)),
    };
    BatchData {
        x,
        labels,
        values,
        n: data.len(),
        total: data.total_len(),
        first: data.part.map_or(0, |p| p.first),
    }
}

/// Loss and accuracy (classification) or R² (regression) of `params` on `data`.
pub fn evaluate<T: Real>(
    net: &Mlp,
    params: &[T],
    data: &BatchData<T>,
    par: Par,
) -> (f64, Option<f64>, Option<f64>) {
    evaluate_shared(net, params, data, par, &Local)
}

/// [`evaluate`] as one worker of `comm`, every worker calling it with the same data or
/// with its own part of it ([`BatchData::holds_own_rows`]): the rows are cut into the
/// leaves of a fixed tree ([`crate::comm::tree`]), each worker evaluates its own run of
/// leaves and the sums are joined across the workers. So K
/// workers share the work, and with K a power of two they report one process's figures
/// to the bit.
pub fn evaluate_shared<T: Real>(
    net: &Mlp,
    params: &[T],
    data: &BatchData<T>,
    par: Par,
    comm: &dyn Communicator,
) -> (f64, Option<f64>, Option<f64>) {
    let k = net.outputs();
    let leaves = data.own_leaves(comm.rank(), comm.size());
    let chunk = leaves
        .iter()
        .map(|l| l.len())
        .max()
        .unwrap_or(0)
        .clamp(1, 2048);
    let mut ws = net.workspace::<T>(chunk);
    // [loss × rows, correct predictions, then each output's squared error, then each
    // output's Σ target] of the leaves.
    let width = 2 + 2 * k;
    let mut tree = TreeSum::default();
    for leaf in &leaves {
        let mut sums = tree.buffer(width);
        sums.iter_mut().for_each(|v| *v = 0.0);
        let mut lo = leaf.start;
        while lo < leaf.end {
            let hi = (lo + chunk).min(leaf.end);
            rows_sums(net, params, data, lo..hi, &mut ws, par, &mut sums);
            lo = hi;
        }
        tree.push(sums);
    }
    let mut total = tree.finish(width);
    // Whether the targets are class labels, as every worker sees it: a worker that holds
    // none of the rows has no labels to tell, and must take the same branch (and the
    // same sums) as the others.
    total.push(f64::from(u8::from(!data.labels.is_empty())));
    comm.sum(&mut total);
    let n = data.total.max(1) as f64;
    let (loss, correct) = (total[0], total[1]);
    if total[width] > 0.0 {
        return (loss / n, Some(correct / n), None);
    }
    // R² of each output, 1 − SSE/SST about that output's mean (a second sum over the
    // leaves), averaged over the outputs: scikit-learn's `r2_score` (uniform average),
    // with its finite rule for a constant target (1 if fitted exactly, else 0).
    let (sse, target_sums) = total[2..width].split_at(k);
    let means: Vec<f64> = target_sums.iter().map(|s| s / n).collect();
    let mut tree = TreeSum::default();
    for leaf in &leaves {
        let mut sums = tree.buffer(k);
        sums.iter_mut().for_each(|v| *v = 0.0);
        for row in data.values[leaf.start * k..leaf.end * k].chunks(k) {
            for ((s, t), m) in sums.iter_mut().zip(row).zip(&means) {
                *s += (t.f64() - m).powi(2);
            }
        }
        tree.push(sums);
    }
    let mut sst = tree.finish(k);
    comm.sum(&mut sst);
    let r2 = sse
        .iter()
        .zip(&sst)
        .map(|(e, t)| match (*t > 0.0, *e == 0.0) {
            (true, _) => 1.0 - e / t,
            (false, true) => 1.0,
            (false, false) => 0.0,
        })
        .sum::<f64>()
        / k.max(1) as f64;
    (loss / n, None, Some(r2))
}

/// Adds the rows `r`'s loss × rows, correct predictions, and (value targets) each
/// output's squared error and target sum to `sums`.
#[allow(clippy::too_many_arguments)]
fn rows_sums<T: Real>(
    net: &Mlp,
    params: &[T],
    data: &BatchData<T>,
    r: Range<usize>,
    ws: &mut super::mlp::Workspace<T>,
    par: Par,
    sums: &mut [f64],
) {
    let (d, k) = (net.inputs(), net.outputs());
    let (lo, hi) = (r.start, r.end);
    let b = hi - lo;
    let z = net.forward(params, &data.x[lo * d..hi * d], b, ws, par);
    sums[0] += b as f64
        * net
            .arch
            .loss
            .value_grad(z, k, data.targets(net.arch.loss, k, lo, hi), None);
    let argmax = |row: &[T]| {
        row.iter()
            .enumerate()
            .fold(0, |best, (c, v)| if *v > row[best] { c } else { best })
    };
    match net.arch.loss {
        // Class labels (cross-entropy always has them): the largest output is the class.
        Loss::CrossEntropy | Loss::SquaredError if !data.labels.is_empty() => {
            for (i, row) in z.chunks(k).enumerate() {
                sums[1] += (argmax(row) as u32 == data.labels[lo + i]) as u32 as f64;
            }
        }
        Loss::BinaryCrossEntropy if !data.labels.is_empty() => {
            for (i, v) in z.iter().enumerate() {
                sums[1] += ((v.f64() > 0.0) as u32 == data.labels[lo + i]) as u32 as f64;
            }
        }
        _ => {
            for (i, v) in z.iter().enumerate() {
                let t = data.values[lo * k + i].f64();
                sums[2 + i % k] += (v.f64() - t).powi(2);
                sums[2 + k + i % k] += t;
            }
        }
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
    /// ([`TrainStop::Interrupted`]). With several workers, mini-batch training asks every
    /// 16 batches and at each epoch's end, and stops every worker when one wants to.
    fn should_stop(&self) -> bool {
        false
    }
    /// The whole state at an epoch's end, every [`TrainConfig::checkpoint_every`] epochs:
    /// resumed, it continues exactly as the run does.
    fn on_checkpoint(&mut self, _state: &TrainState) {}
    /// After each epoch of a step rule (after [`TrainObserver::on_epoch`]): the multiplier
    /// of the learning rate for the epochs that follow, given the current one (1 at the
    /// start, then reduce-on-plateau's). The default keeps it. A schedule of the caller's
    /// that depends on how training goes: scikit-learn's `learning_rate="invscaling"` and
    /// `"adaptive"` in descent's Python package. The multiplier is kept in the training
    /// state (a resumed run goes on with it) and reported in the epoch's
    /// [`EpochReport::lr_scale`]; with several workers, rank 0's answer is taken by all. A
    /// value that is not finite and positive leaves the rate as it is.
    fn rate_scale(&mut self, _report: &EpochReport, current: f64) -> f64 {
        current
    }
}

/// Whether an epoch just finished is one to checkpoint after.
fn checkpoint_due(cfg: &TrainConfig, epoch: usize) -> bool {
    cfg.checkpoint_every
        .is_some_and(|every| every > 0 && epoch.is_multiple_of(every))
}

/// The training state with the driver's checkpoint of `method` in it.
fn snapshot(st: &TrainState, c: &crate::checkpoint::Checkpoint, method: &str) -> TrainState {
    TrainState {
        method_checkpoint: Some(crate::checkpoint::Checkpoint {
            method: method.to_string(),
            problem: "network".into(),
            ..c.clone()
        }),
        ..st.clone()
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
    train_distributed::<T>(net, train, val, cfg, optimizer, start, obs, &Local)
}

/// [`train_with`] as one worker of `comm`: every worker calls it with the same settings
/// and start, and with the same data or with its own part of it (the rows of its leaves,
/// [`Dataset::part`]; [`crate::nn::Experiment::prepare_distributed`] loads only those),
/// and takes its share of the work. Mini-batch rules evaluate their share of every
/// global batch ([`DistributedBatches`]: of whole data a contiguous K-th of the batch, of
/// a part the batch's rows it holds); full-batch methods their share of the rows
/// ([`FullBatch::distributed`]). Every worker ends with the same result, to the bit; the
/// observer of every worker sees every epoch (rank 0 is the one to print and save).
/// Validation is evaluated in shares too ([`evaluate_shared`]). Levenberg–Marquardt,
/// Gauss–Newton and Bayesian regularization see the normal equations of each worker's
/// rows, summed ([`NormalEquationsLeastSquares`]; Bayesian regularization counts all the
/// workers' residuals); a run whose workers hold different data, settings or starts is
/// refused.
#[allow(clippy::too_many_arguments)]
pub fn train_distributed<T: Real>(
    net: &Mlp,
    train: &Dataset,
    val: Option<&Dataset>,
    cfg: &TrainConfig,
    optimizer: Optimizer,
    start: TrainState,
    obs: &mut dyn TrainObserver,
    comm: &dyn Communicator,
) -> Result<TrainResult> {
    train.validate("training data")?;
    check_compatible(net, train, "training")?;
    if cfg.monitor_score && val.is_none_or(|v| v.total_len() == 0) {
        return Err(Error::config(
            "monitor",
            "the validation score needs validation data (hold some out)",
        ));
    }
    if let Some(v) = val {
        v.validate("validation data")?;
        check_compatible(net, v, "validation")?;
    }
    // A best value of the other kind (a loss where a score is watched, or a score where a
    // loss is) is not compared with: the watch starts afresh.
    let mut start = start;
    if start.best_is_score != cfg.monitor_score {
        start.best = None;
        start.since_best = 0;
        start.since_plateau = 0;
        start.best_is_score = cfg.monitor_score;
    }
    let best = start.best.as_ref().map(|(_, b)| b.len());
    for (what, got) in [
        ("parameters", Some(start.params.len())),
        ("best parameters", best),
    ] {
        if let Some(got) = got.filter(|g| *g != net.num_params()) {
            return Err(Error::DimensionMismatch {
                what: what.into(),
                expected: net.num_params(),
                got,
            });
        }
    }
    let par = if cfg.threads > 1 {
        Par::rayon(cfg.threads)
    } else {
        Par::Seq
    };
    // Every worker must hold the same data, settings and start, or their steps part ways.
    if comm.size() > 1 {
        let settings = serde_json::to_vec(cfg).unwrap_or_default();
        let layers: Vec<u8> = net
            .arch
            .sizes
            .iter()
            .flat_map(|s| s.to_le_bytes())
            .collect();
        // Workers that hold their own parts of the data agree on the whole set's size.
        let whole_x: &[f64] = if train.part.is_none() { &train.x } else { &[] };
        let mut h = Fingerprint::default();
        h.bytes(&settings)
            .bytes(&layers)
            .bytes(&train.total_len().to_le_bytes())
            .numbers(whole_x)
            .numbers(&start.params);
        if !all_agree(comm, h.0) {
            return Err(Error::config(
                "distributed run",
                "the workers do not all hold the same data, settings and starting weights \
                 (each must load the same files with the same flags)",
            ));
        }
    }
    let td = batch_data::<T>(train, net);
    let vd = val.map(|v| batch_data::<T>(v, net));
    for (what, d) in [
        ("training data", Some(&td)),
        ("validation data", vd.as_ref()),
    ] {
        if d.is_some_and(|d| !d.holds_own_rows(comm.rank(), comm.size())) {
            return Err(Error::config(
                what,
                format!(
                    "worker {} of {} holds a part of the set that is not its own \
                     (the rows of its leaves of the whole set)",
                    comm.rank(),
                    comm.size()
                ),
            ));
        }
    }
    let (vd, method) = (vd.as_ref(), optimizer);
    let full_batch = match method {
        Optimizer::StepRule(rule) => {
            let label = rule.name();
            return train_step_rule(net, &td, vd, cfg, rule, label, start, obs, par, comm);
        }
        Optimizer::Method(spec) if spec.info()?.applies(AppliesTo::Minibatch) => {
            let decay = if composes_weight_decay(spec.info()?) {
                cfg.weight_decay.unwrap_or(0.0)
            } else {
                0.0
            };
            let rule: Box<dyn StepRule + Send> = if cfg.clip_norm.is_some() || decay > 0.0 {
                Box::new(crate::update::Chained::new(
                    spec.step_rule()?,
                    cfg.clip_norm,
                    decay,
                ))
            } else {
                spec.step_rule()?
            };
            let label = spec.to_string();
            return train_step_rule(net, &td, vd, cfg, rule, label, start, obs, par, comm);
        }
        Optimizer::Method(spec) => FullBatchMethod::Method(spec),
        Optimizer::FullBatch(m) => FullBatchMethod::Own(m),
    };
    train_deterministic(net, &td, vd, cfg, full_batch, start, obs, par, comm)
}

/// A deterministic method for [`train_deterministic`].
enum FullBatchMethod {
    Method(MethodSpec),
    Own(Box<dyn crate::driver::Minimizer>),
}

/// Trains with a step rule on shuffled mini-batches: the driver runs
/// [`MiniBatch`] over the network's batches, and epochs (validation, early stopping,
/// reduce-on-plateau, diagnostics, progress) are an observer's.
#[allow(clippy::too_many_arguments)]
fn train_step_rule<T: Real>(
    net: &Mlp,
    td: &BatchData<T>,
    vd: Option<&BatchData<T>>,
    cfg: &TrainConfig,
    mut rule: Box<dyn StepRule + Send>,
    label: String,
    mut st: TrainState,
    obs: &mut dyn TrainObserver,
    par: Par,
    comm: &dyn Communicator,
) -> Result<TrainResult> {
    // A worker's share of a batch: at most ⌈b/K⌉ rows (workers that hold only their own
    // rows lend each other rows to even out their shares).
    let share = cfg.batch_size.div_ceil(comm.size());
    let own =
        NetBatches::new(net, td, cfg.threads, share).with_own_weights(!cfg.f64_master_weights);
    let problem = DistributedBatches::new(&own, comm);
    let problem = if td.is_whole() {
        problem
    } else {
        problem.holding(td.total)
    };
    let scale = RateScale::new(st.lr_scale);
    let saved = st.method_checkpoint.take().filter(|c| c.method == label);
    // The rule of an f32 network keeps its state in f32 where it can (Adam's moments:
    // 16 bytes a parameter less to stream each step).
    rule.state_precision(T::STATE);
    rule.reset(net.num_params());
    rule.weight_matrices(&net.weight_matrices());
    let method = match &saved {
        Some(_) => MiniBatch::new(rule, cfg.batch_size, cfg.seed)?,
        None => {
            // A fresh run, or one saved without the driver's checkpoint (at an epoch's
            // end): the rule's state and the step count come from the training state.
            crate::update::restore_state(&mut rule, net.num_params(), &st.rule_state)?;
            // A schedule-free rule's weights are its average; gradients go on at the
            // interpolation its state holds.
            if let Some(y) = rule.resume_point().filter(|y| y.len() == st.params.len()) {
                st.params = y;
            }
            MiniBatch::new(rule, cfg.batch_size, cfg.seed)?.continuing(st.step, st.epoch as u64)
        }
    }
    .with_rate_scale(scale.clone());
    let mut method = if cfg.shuffle {
        method
    } else {
        method.in_order()
    };
    let batches = batches_per_epoch(td.total, cfg.batch_size);
    // Budgets count the total: the epochs not yet done, less the batches of the current one.
    let remaining = (cfg.epochs.saturating_sub(st.epoch) * batches).saturating_sub(st.batch);
    let x0 = st.params.clone();
    let (start, before) = match &saved {
        Some(c) => (Start::Resume(c), c.iterations),
        None => (Start::At(&x0), 0),
    };
    let opts = Options {
        max_iter: before + remaining as u64,
        keep_checkpoint: true,
        ..Options::default()
    };
    // The ranks start the clock together (one loaded its data later than another).
    crate::comm::any_worker(comm, false);
    let t0 = Instant::now();
    let mut epochs = EpochWatch {
        net,
        label: &label,
        td,
        vd,
        cfg,
        st: &mut st,
        obs,
        scale,
        batches,
        last_f: f64::NAN,
        samples: 0,
        evaluating: 0.0,
        early_stopped: false,
        goal_reached: false,
        t0,
        loop_start: t0,
        last_step: t0,
        par,
        comm,
    };
    let s = minimize_sampled(&problem, &mut method, start, &opts, &mut epochs)?;
    let (samples, evaluating, early) = (epochs.samples, epochs.evaluating, epochs.early_stopped);
    // The training loop's time: from the first batch's gradient in hand to the end of the
    // last step (not the run's packaging into its checkpoint and state), less validation.
    let looped = epochs
        .last_step
        .duration_since(epochs.loop_start)
        .as_secs_f64();
    let stop = match s.termination {
        _ if epochs.goal_reached => TrainStop::Goal,
        _ if early => TrainStop::EarlyStopped,
        Termination::NonFinite => TrainStop::Diverged,
        Termination::ObserverStop => TrainStop::Interrupted,
        _ => TrainStop::Completed,
    };
    st.params = s.x;
    st.step = method.steps();
    st.rule_state = method.state_buffers();
    st.method_checkpoint = s.checkpoint.map(|c| crate::checkpoint::Checkpoint {
        method: label,
        problem: "network".into(),
        ..c
    });
    // Early stopping restores the best weights; a diverged run keeps the last finite
    // ones, or the best validated ones when validation tracked them.
    if cfg.patience.is_some() || stop == TrainStop::Diverged {
        if let Some((_, best)) = &st.best {
            st.params = best.clone();
        }
    }
    let train_time = (looped - evaluating).max(1e-9);
    Ok(TrainResult {
        state: st,
        stop,
        samples_per_second: samples as f64 / train_time,
    })
}

/// Whether the run is to stop: the observer's wish on any worker (rank 0 failed to save a
/// checkpoint, Ctrl-C reached one rank first), so that the workers stop at the same step
/// instead of one waiting for the others in the next sum. Every worker asks at the same
/// steps (one worker's wish is its own, at no cost).
fn stop_wanted(obs: &dyn TrainObserver, comm: &dyn Communicator) -> bool {
    crate::comm::any_worker(comm, obs.should_stop())
}

/// Turns the driver's mini-batch steps into epochs: sums the batch losses, and at each
/// epoch's end validates, tracks the best weights, applies reduce-on-plateau to the
/// shared rate scale and early stopping, and reports.
struct EpochWatch<'a, 'b, T: Real> {
    net: &'a Mlp,
    /// The method's spec, which a checkpoint carries.
    label: &'b str,
    td: &'a BatchData<'a, T>,
    vd: Option<&'a BatchData<'a, T>>,
    cfg: &'a TrainConfig,
    st: &'b mut TrainState,
    obs: &'b mut dyn TrainObserver,
    scale: RateScale,
    batches: usize,
    /// The value of the batch the next step uses (the driver's iterate).
    last_f: f64,
    samples: usize,
    /// Seconds spent validating (not training).
    evaluating: f64,
    early_stopped: bool,
    goal_reached: bool,
    t0: Instant,
    /// When the first batch's value and gradient were in hand: each of the steps timed
    /// from here is one update and the next batch's forward and backward pass, so that
    /// the samples counted are the batches evaluated in the time (the first batch's
    /// evaluation, which also touches the run's fresh buffers, is not in it).
    loop_start: Instant,
    /// When the last step's report was done with (its epoch's validation included).
    last_step: Instant,
    par: Par,
    comm: &'a dyn Communicator,
}

impl<T: Real> Observer for EpochWatch<'_, '_, T> {
    fn on_start(&mut self, _method: &str, _n: usize, f0: f64) {
        self.last_f = f0;
        self.loop_start = Instant::now();
        self.last_step = self.loop_start;
    }

    fn on_point(&mut self, x: &[f64]) {
        if self.st.batch + 1 == self.batches {
            self.st.params.copy_from_slice(x);
        }
    }

    fn on_iter(&mut self, r: &IterReport) -> Control {
        let bs = self.cfg.batch_size.clamp(1, self.td.total);
        let b = bs.min(self.td.total - self.st.batch * bs);
        let loss = std::mem::replace(&mut self.last_f, r.f);
        self.st.batch_loss_sum += loss * b as f64;
        self.samples += b;
        self.st.batch += 1;
        let epoch = self.st.epoch + 1;
        self.obs.on_batch(epoch, self.st.batch, self.batches, loss);
        if self.st.batch == self.batches {
            let te = Instant::now();
            self.st.batch = 0;
            self.st.epoch = epoch;
            let params_t: Vec<T> = self.st.params.iter().map(|v| T::of(*v)).collect();
            let train_loss = std::mem::take(&mut self.st.batch_loss_sum) / self.td.total as f64;
            let report = finish_epoch(
                self.net, &params_t, self.td, self.vd, self.cfg, self.st, train_loss, self.t0,
                self.par, self.comm,
            );
            let mut report = report;
            self.obs.on_epoch(&report);
            let wanted =
                crate::comm::root_value(self.comm, self.obs.rate_scale(&report, self.st.lr_scale));
            if wanted.is_finite() && wanted > 0.0 {
                self.st.lr_scale = wanted;
                report.lr_scale = wanted;
            }
            self.scale.set(self.st.lr_scale);
            self.st.history.push(report);
            self.evaluating += te.elapsed().as_secs_f64();
            self.last_step = Instant::now();
            if self.cfg.goal.is_some_and(|g| train_loss <= g) {
                self.goal_reached = true;
                return Control::Stop;
            }
            if self.cfg.patience.is_some_and(|p| self.st.since_best >= p) {
                self.early_stopped = true;
                return Control::Stop;
            }
        }
        // Every 16 batches, and at an epoch's end (where checkpoints are taken), when
        // there are several workers.
        let stop = (self.comm.size() <= 1 || self.st.batch.is_multiple_of(16))
            && stop_wanted(&*self.obs, self.comm);
        self.last_step = Instant::now();
        if stop {
            Control::Stop
        } else if self.st.batch == 0 && checkpoint_due(self.cfg, epoch) {
            Control::Checkpoint
        } else {
            Control::Continue
        }
    }

    fn on_checkpoint(&mut self, c: &crate::checkpoint::Checkpoint) {
        self.obs.on_checkpoint(&snapshot(self.st, c, self.label));
    }
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
    comm: &dyn Communicator,
) -> EpochReport {
    let (val_loss, val_accuracy, val_r2) = match vd {
        Some(v) if v.total > 0 => {
            let (l, a, r) = evaluate_shared(net, params_t, v, par, comm);
            (Some(l), a, r)
        }
        _ => (None, None, None),
    };
    // Lower is better: the loss, or the score negated (TrainState::best keeps it so).
    let monitored = match (cfg.monitor_score, val_accuracy.or(val_r2)) {
        (true, Some(score)) => -score,
        _ => val_loss.unwrap_or(train_loss),
    };
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
        effective_parameters: None,
    }
}

/// Records per-iteration reports of a deterministic method as epochs.
struct IterEpochs<'a, T: Real> {
    net: &'a Mlp,
    /// The method's spec, which a checkpoint carries.
    label: &'a str,
    td: &'a BatchData<'a, T>,
    vd: Option<&'a BatchData<'a, T>>,
    cfg: &'a TrainConfig,
    st: &'a mut TrainState,
    obs: &'a mut dyn TrainObserver,
    t0: Instant,
    par: Par,
    early_stopped: bool,
    comm: &'a dyn Communicator,
}

impl<T: Real> IterEpochs<'_, T> {
    fn point(&mut self, x: &[f64]) {
        self.st.params.copy_from_slice(x);
    }
    fn record(&mut self, loss: f64, r: &IterReport) {
        self.st.epoch += 1;
        let params_t: Vec<T> = self.st.params.iter().map(|v| T::of(*v)).collect();
        let mut rep = finish_epoch(
            self.net, &params_t, self.td, self.vd, self.cfg, self.st, loss, self.t0, self.par,
            self.comm,
        );
        rep.effective_parameters = r.extra.iter().find(|(k, _)| *k == "gamma").map(|e| e.1);
        self.obs.on_epoch(&rep);
        self.st.history.push(rep);
    }
    fn control(&mut self) -> Control {
        // MATLAB's validation checks: `patience` epochs without a better validation loss
        // end the run (the best weights are restored after it).
        if self.cfg.patience.is_some_and(|p| self.st.since_best >= p) {
            self.early_stopped = true;
            return Control::Stop;
        }
        if stop_wanted(&*self.obs, self.comm) {
            Control::Stop
        } else if checkpoint_due(self.cfg, self.st.epoch) {
            Control::Checkpoint
        } else {
            Control::Continue
        }
    }
    fn checkpoint(&mut self, c: &crate::checkpoint::Checkpoint) {
        self.obs.on_checkpoint(&snapshot(self.st, c, self.label));
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
    comm: &dyn Communicator,
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
        label: &label,
        td,
        vd,
        cfg,
        st: &mut st,
        obs,
        t0,
        par,
        early_stopped: false,
        comm,
    };
    let s = match method {
        FullBatchMethod::Method(spec) if spec.info()?.applies(AppliesTo::LeastSquares) => {
            // The method sees the network through JᵀJ, Jᵀr and rᵀr summed over leaves of the
            // samples (a number set by the data alone) and over the workers, each of which
            // holds only its leaves' rows: the same sums, to the bit, in one process and on
            // 2, 4, … workers (the Jacobian is never gathered). One process keeps the
            // Jacobian itself for Bayesian regularization (MATLAB's trainbr works on it)
            // and where there are fewer residuals than weights (its m×m dual system is the
            // smaller one).
            let k = net.outputs();
            let leaves = td.own_leaves(comm.rank(), comm.size());
            let summed = comm.size() > 1 || (td.n * k > net.num_params() && spec.name != "br");
            if summed {
                // G, its factor, and the method's damped copies: (n + 1)² values each.
                let side = net.num_params() as u128 + 1;
                crate::resources::check_memory(
                    "the normal equations of this network (its weights squared)",
                    side * side,
                    8,
                    4,
                )?;
            }
            // A worker that holds the whole set copies out its leaves' rows.
            let span = leaves.first().map_or(0, |l| l.start)..leaves.last().map_or(0, |l| l.end);
            let own_rows = (span != (0..td.n)).then(|| td.rows(span.clone()));
            let leaves: Vec<Range<usize>> = leaves
                .iter()
                .map(|l| l.start - span.start..l.end - span.start)
                .collect();
            let problem = NetLeastSquares::new(net, own_rows.as_ref().unwrap_or(td))
                .map_err(|_| squared_error_only(&spec.name))?;
            let residual_leaves = leaves.iter().map(|l| l.start * k..l.end * k).collect();
            let normal = NormalEquationsLeastSquares::new(&problem, comm, residual_leaves);
            let problem: &dyn LeastSquares = if summed { &normal } else { &problem };
            // Geodesic acceleration needs second directional derivatives (two extra
            // evaluations by differences for a network), and a restart from the initial
            // weights would replay epochs already reported: both off unless asked for.
            // The damping of MATLAB's trainlm, on the unscaled JᵀJ + μI (at most 10¹⁰): a
            // network's weights share their units, and MINPACK's running-maximum column
            // scaling, made for physical parameters, costs trials there (MATLAB's SIN: a
            // median of 15.5 trials to the goal against 3). μ₀ = τ·max diag(JᵀJ) with
            // τ = 0.1 and Nielsen's rule: on SIN, PARITY and noisy sines τ from 10⁻³ to 1
            // took 3–5 trials, and with validation checks on held-out CSV regressions
            // τ = 0.1 tested like MINPACK's scaling where 10⁻³ overfit (diabetes R² 40 vs
            // 12; bench/sklearn_compare.py).
            let nk = (td.total * net.outputs()) as f64;
            let budget = FitOptions::default().max_evals;
            let base = FitOptions {
                max_iter,
                max_evals: cfg
                    .max_evals
                    .map_or(budget, |m| evals_before.saturating_add(m)),
                geodesic: false,
                restart: false,
                keep_checkpoint: true,
                scaling: Scaling::Identity,
                tau: 0.1,
                mu_max: 1e10,
                ..FitOptions::default()
            };
            let fo = spec.fit_options(&base);
            let mut method = spec.build_least_squares(&fo)?;
            // The goal and the minimum gradient are in the units of the reported loss,
            // the mean squared error Σr²/(n·k).
            let mut opts = fo.driver_options();
            opts.target = cfg.goal.map(|g| g * nk);
            if let Some(m) = cfg.min_grad {
                opts.gtol = m * nk;
            }
            minimize_least_squares(
                problem,
                method.as_mut(),
                start,
                &opts,
                &mut LsqObserver { ie: &mut ie, nk },
            )?
        }
        method => {
            let mut m = match method {
                FullBatchMethod::Method(spec) => spec.build()?,
                FullBatchMethod::Own(m) => m,
            };
            let obj = FullBatch::new(net, td, par)
                .distributed(comm)
                .with_l2(cfg.l2.unwrap_or(0.0));
            let opts = Options {
                max_iter,
                max_evals: cfg.max_evals.map(|m| evals_before.saturating_add(m)),
                gtol: cfg.min_grad.unwrap_or(1e-7),
                ftol: 1e-13,
                target: cfg.goal,
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
    let early_stopped = ie.early_stopped;
    let stop = if s.termination == Termination::TargetCost {
        TrainStop::Goal
    } else if early_stopped {
        TrainStop::EarlyStopped
    } else if s.converged {
        TrainStop::Converged
    } else {
        match s.termination {
            Termination::MaxIterations => TrainStop::Completed,
            Termination::MaxEvaluations if cfg.max_evals.is_some() => TrainStop::MaxEvaluations,
            Termination::NonFinite => TrainStop::Diverged,
            Termination::ObserverStop => TrainStop::Interrupted,
            _ => TrainStop::MethodStopped,
        }
    };
    st.params = s.x;
    st.method_checkpoint = s.checkpoint.map(|c| crate::checkpoint::Checkpoint {
        method: label,
        problem: "network".into(),
        ..c
    });
    if early_stopped {
        if let Some((_, best)) = &st.best {
            st.params = best.clone();
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    Ok(TrainResult {
        state: st,
        stop,
        samples_per_second: (s.counts.f_evals - evals_before) as f64 * td.total as f64
            / secs.max(1e-9),
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
        self.ie.record(r.f, r);
        self.ie.control()
    }
    fn on_checkpoint(&mut self, c: &crate::checkpoint::Checkpoint) {
        self.ie.checkpoint(c);
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
        self.ie.record(r.f / self.nk, r);
        self.ie.control()
    }
    fn on_checkpoint(&mut self, c: &crate::checkpoint::Checkpoint) {
        self.ie.checkpoint(c);
    }
}
