//! Mini-batch training as one more [`Minimizer`]: a [`StepRule`] over a
//! [`SampledObjective`], one mini-batch a step, the batches of each epoch in an order
//! shuffled from the seed (batch size N is batch gradient descent, 1 < k < N mini-batch,
//! k = 1 online).
//!
//! The iterate holds the point and the value and gradient of the **next** batch at that
//! point, so that a step is: `x₊ = x + s·Δ(g_B(x))`, then `f_B'(x₊), g_B'(x₊)` for the
//! following batch `B'`. A candidate that is not finite, or whose next batch value or
//! gradient is not finite, is never committed: the run ends with
//! [`Termination::NonFinite`] at the last finite point. Everything about epochs
//! (validation, early stopping, reduce-on-plateau, progress) is an observer's business;
//! a plateau observer scales the rate through a shared [`RateScale`].

use crate::data::permutation;
use crate::driver::{
    resumed_counts, run, state_from_json, state_to_json, Dims, Iterate, Minimizer, Observer,
    Options, ProblemKind, Start, StepOutcome, Summary, Termination,
};
use crate::error::{Error, Result};
use crate::problem::{Counted, OwnWeights, SampledObjective};
use crate::update::{move_by, Moved, StepPoint, StepRule};
use serde::{Deserialize, Serialize};
use std::cell::Cell;
use std::rc::Rc;

/// Problems that are finite sums evaluated on batches ([`SampledObjective`]).
pub struct OnSampled;
impl ProblemKind for OnSampled {
    type Problem<'a> = dyn SampledObjective + 'a;
    fn dim(problem: &Self::Problem<'_>) -> usize {
        problem.dim()
    }
    fn sample_count(problem: &Self::Problem<'_>) -> usize {
        problem.sample_count()
    }
}

/// A multiplier of the learning rate shared between a [`MiniBatch`] method and whoever
/// adjusts it during a run (reduce-on-plateau).
#[derive(Clone, Debug)]
pub struct RateScale(Rc<Cell<f64>>);

impl RateScale {
    /// Starts at `scale`.
    pub fn new(scale: f64) -> Self {
        RateScale(Rc::new(Cell::new(scale)))
    }
    /// The current multiplier.
    pub fn get(&self) -> f64 {
        self.0.get()
    }
    /// Sets the multiplier.
    pub fn set(&self, scale: f64) {
        self.0.set(scale)
    }
}

impl Default for RateScale {
    fn default() -> Self {
        RateScale::new(1.0)
    }
}

/// The seed of epoch `epoch`'s (1-based) shuffle.
pub fn epoch_seed(seed: u64, epoch: u64) -> u64 {
    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(epoch + 1)
}

/// Batches per epoch of `n` samples in batches of `batch_size` (the last may be short).
pub fn batches_per_epoch(n: usize, batch_size: usize) -> usize {
    n.div_ceil(batch_size.clamp(1, n.max(1))).max(1)
}

/// Where a [`MiniBatch`] run is in its epochs (all of it small, so it is the JSON part
/// of a checkpoint; the rule's vectors go in its buffers).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
struct Position {
    /// Steps taken (the step rules' `t`).
    steps: u64,
    /// The epoch (1-based) of the batch the iterate was evaluated on.
    epoch: u64,
    /// Index of that batch in its epoch.
    batch: usize,
    batch_size: usize,
    seed: u64,
    rate_scale: f64,
    /// Whether each epoch takes the samples in a fresh order (else in their own order:
    /// scikit-learn's `shuffle=False`). Runs saved before the flag shuffled.
    #[serde(default = "shuffled_by_default")]
    shuffled: bool,
}

/// Serde's default of the shuffling flags (of a checkpoint's position and of
/// [`crate::nn::TrainConfig::shuffle`]): runs saved before them shuffled.
pub(crate) fn shuffled_by_default() -> bool {
    true
}

/// A step rule on shuffled mini-batches of a [`SampledObjective`].
pub struct MiniBatch<R> {
    /// The rule.
    pub rule: R,
    scale: RateScale,
    at: Position,
    /// The current epoch's order of the samples.
    order: Vec<usize>,
    /// ‖g‖∞ of the iterate (computed with the finiteness check).
    grad_norm: f64,
    /// Δ, for a rule without a one-pass form (allocated at its first step).
    delta: Vec<f64>,
    /// The candidate point: as long as the parameters once allocated.
    trial: Vec<f64>,
    g_trial: Vec<f64>,
    /// Whether the workers of a distributed problem share the step ([`SharedStep`](crate::SharedStep)).
    sharing: Sharing,
    /// Whether the steps are taken on the problem's own f32 weights ([`OwnWeights`]).
    own: Own,
}

/// Whether a [`MiniBatch`] steps the problem's own weights ([`OwnWeights`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Own {
    /// The problem has no weights of its own, or the rule does not step f32 points: the
    /// iterate's f64 point is the weights.
    No,
    /// The next step tries (the first, or the first after a resume): the problem's
    /// weights and gradient are loaded from the iterate.
    Untried,
    /// The steps go to the problem's weights; the iterate's point and gradient are
    /// written out only when read (at an epoch's end, by [`Minimizer::complete`]):
    /// `current` tells whether they are.
    Stepping { current: bool },
}

/// Whether a [`MiniBatch`]'s workers share its step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sharing {
    /// Not tried yet: the first step tries (the rule may not be coordinate-wise).
    Untried,
    /// Each worker steps its part: the gradient between steps, and the rule's state, are
    /// whole only on that part.
    Shared,
    /// Every worker steps every coordinate.
    Whole,
}

impl<R: StepRule> MiniBatch<R> {
    /// `rule` on batches of `batch_size` (at least 1; capped at the sample count),
    /// shuffled per epoch from `seed`.
    pub fn new(rule: R, batch_size: usize, seed: u64) -> Result<Self> {
        if batch_size == 0 {
            return Err(Error::config("batch size", "must be at least 1"));
        }
        Ok(MiniBatch {
            rule,
            scale: RateScale::default(),
            at: Position {
                steps: 0,
                epoch: 1,
                batch: 0,
                batch_size,
                seed,
                rate_scale: 1.0,
                shuffled: true,
            },
            order: Vec::new(),
            grad_norm: f64::NAN,
            delta: Vec::new(),
            trial: Vec::new(),
            g_trial: Vec::new(),
            sharing: Sharing::Untried,
            own: Own::Untried,
        })
    }

    /// Shares the learning-rate multiplier `scale` (its current value is used).
    pub fn with_rate_scale(mut self, scale: RateScale) -> Self {
        self.scale = scale;
        self
    }

    /// Takes every epoch's batches in the samples' own order instead of shuffling them
    /// (for data whose order means something, or to compare with a run that does not
    /// shuffle).
    pub fn in_order(mut self) -> Self {
        self.at.shuffled = false;
        self
    }

    /// Continues a run that did not keep a checkpoint: `steps` steps and `epochs` whole
    /// epochs already done, the rule's state already set by the caller.
    pub fn continuing(mut self, steps: u64, epochs: u64) -> Self {
        self.at.steps = steps;
        self.at.epoch = epochs + 1;
        self
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.at.steps
    }

    fn shuffle(&mut self, n: usize) {
        self.order = if self.at.shuffled {
            permutation(n, epoch_seed(self.at.seed, self.at.epoch))
        } else {
            (0..n).collect()
        };
    }

    /// Where the current batch's rows are in `order`.
    fn rows(&self) -> std::ops::Range<usize> {
        let bs = self.at.batch_size.min(self.order.len()).max(1);
        let lo = self.at.batch * bs;
        lo..(lo + bs).min(self.order.len())
    }

    /// Moves to the next batch, reshuffling at the start of an epoch.
    fn advance(&mut self, n: usize) {
        self.at.batch += 1;
        if self.at.batch >= batches_per_epoch(n, self.at.batch_size) {
            self.at.batch = 0;
            self.at.epoch += 1;
            self.shuffle(n);
        }
    }

    fn allocate(&mut self, n: usize) {
        self.delta = Vec::new();
        self.trial = vec![0.0; n];
        self.g_trial = vec![0.0; n];
        self.sharing = Sharing::Untried;
        self.own = Own::Untried;
    }

    /// Step `t` on the problem's own weights, and the value and `‖g‖∞` of the next batch
    /// there; `None` when the rule does not step f32 points (nothing was changed then).
    fn own_step(
        &mut self,
        own: &dyn OwnWeights,
        problem: &dyn SampledObjective,
        t: u64,
        s: f64,
        it: &Iterate,
    ) -> Option<Moved> {
        if self.own == Own::Untried {
            own.load(&it.x, &it.g);
        }
        let shared = problem
            .step_sharing()
            .filter(|_| self.sharing != Sharing::Whole);
        let part = shared.map_or(0..it.x.len(), |s| s.part());
        let rule = &mut self.rule;
        let moved = own.step(part.clone(), &mut |x, g, next| {
            rule.step_point(t, StepPoint::F32 { x, g, next }, s, part.clone())
        })?;
        if let Some(shared) = shared.filter(|_| self.sharing == Sharing::Untried) {
            shared.share(true);
            self.sharing = Sharing::Shared;
        }
        self.own = Own::Stepping { current: false };
        Some(moved)
    }

    /// Writes the problem's own weights and last gradient into the iterate, when the
    /// steps go there and the iterate is behind.
    fn write_out(&mut self, problem: &dyn SampledObjective, it: &mut Iterate) {
        if let (Own::Stepping { current: false }, Some(own)) = (self.own, problem.own_weights()) {
            own.store(&mut it.x, &mut it.g);
            self.own = Own::Stepping { current: true };
        }
    }

    /// Step `t` from `it` into `self.trial`. Workers that can share the step take their
    /// part of it and join the parts; the first step finds out whether the rule can (its
    /// gradient is whole), and from then on the problem sums gradients on the part only.
    fn move_to_trial(
        &mut self,
        problem: &dyn SampledObjective,
        t: u64,
        s: f64,
        it: &Iterate,
    ) -> Moved {
        if self.sharing != Sharing::Whole {
            if let Some(shared) = problem.step_sharing() {
                let part = shared.part();
                if let Some(moved) = self
                    .rule
                    .step_part(t, &it.x, &it.g, s, &mut self.trial, part)
                {
                    if self.sharing == Sharing::Untried {
                        shared.share(true);
                        self.sharing = Sharing::Shared;
                    }
                    return shared.join_step(&mut self.trial, moved);
                }
                // A rule answers the same at every step: one that stepped parts has
                // left the gradient and its state whole only on its part.
                debug_assert!(
                    self.sharing == Sharing::Untried,
                    "a rule stopped stepping parts"
                );
                // (A problem left sharing by an earlier run sums whole gradients again.)
                shared.share(false);
            }
            self.sharing = Sharing::Whole;
        }
        match self.rule.step_to(t, &it.x, &it.g, s, &mut self.trial) {
            Some(moved) => moved,
            None => {
                // A rule without a one-pass form: Δ, then the move.
                self.delta.resize(it.x.len(), 0.0);
                self.rule.update(t, &it.x, &it.g, &mut self.delta);
                move_by(&it.x, s, &self.delta, &mut self.trial)
            }
        }
    }
}

impl<R: StepRule> Minimizer<OnSampled> for MiniBatch<R> {
    fn name(&self) -> String {
        self.rule.name()
    }

    fn init(&mut self, problem: &dyn SampledObjective, x0: &[f64]) -> Result<Iterate> {
        let n = problem.sample_count();
        if n == 0 {
            return Err(Error::config("data", "there are no samples to train on"));
        }
        if self.at.steps == 0 {
            self.rule.reset(x0.len());
        }
        self.at.batch = 0;
        self.grad_norm = f64::NAN;
        self.allocate(x0.len());
        self.shuffle(n);
        // The first gradient is whole (a problem left sharing by an earlier run is told):
        // the first step finds out whether the rule can take a part.
        if let Some(shared) = problem.step_sharing() {
            shared.share(false);
        }
        let mut g = vec![0.0; x0.len()];
        let f = problem.batch_value_grad(x0, &self.order[self.rows()], &mut g);
        Ok(Iterate {
            x: x0.to_vec(),
            f,
            g,
        })
    }

    fn step(&mut self, problem: &dyn SampledObjective, it: &mut Iterate) -> Result<StepOutcome> {
        let n = problem.sample_count();
        if self.order.len() != n {
            // A resumed run: the order is recomputed from the seed and the epoch.
            self.shuffle(n);
        }
        let t = self.at.steps + 1;
        let s = self.scale.get();
        if let Some(own) = problem.own_weights().filter(|_| self.own != Own::No) {
            if let Some(moved) = self.own_step(own, problem, t, s, it) {
                if !moved.finite {
                    return Ok(StepOutcome::Stop(Termination::NonFinite));
                }
                self.at.steps = t;
                self.advance(n);
                let (f, grad_norm) = own.value_grad(&self.order[self.rows()], true);
                let (true, Some(grad_norm)) = (f.is_finite(), grad_norm) else {
                    return Ok(StepOutcome::Stop(Termination::NonFinite));
                };
                self.grad_norm = grad_norm;
                it.f = f;
                // An epoch's end is where its observers read the point.
                if self.at.batch == 0 {
                    self.write_out(problem, it);
                }
                return Ok(StepOutcome::Accepted {
                    step_norm: moved.step_sq.sqrt(),
                    alpha: s * self.rule.rate(t),
                });
            }
            self.own = Own::No;
        }
        let moved = self.move_to_trial(problem, t, s, it);
        if !moved.finite {
            return Ok(StepOutcome::Stop(Termination::NonFinite));
        }
        self.at.steps = t;
        self.advance(n);
        let rows = &self.order[self.rows()];
        let (f, grad_norm) = problem.batch_value_grad_norm(&self.trial, rows, &mut self.g_trial);
        let (true, Some(grad_norm)) = (f.is_finite(), grad_norm) else {
            return Ok(StepOutcome::Stop(Termination::NonFinite));
        };
        self.grad_norm = grad_norm;
        std::mem::swap(&mut it.x, &mut self.trial);
        std::mem::swap(&mut it.g, &mut self.g_trial);
        it.f = f;
        Ok(StepOutcome::Accepted {
            step_norm: moved.step_sq.sqrt(),
            alpha: s * self.rule.rate(t),
        })
    }

    fn monotone(&self) -> bool {
        false
    }

    fn stochastic(&self) -> bool {
        true
    }

    fn point_of_record(&self) -> Option<&[f64]> {
        self.rule.averaged_point()
    }

    fn grad_norm(&self, it: &Iterate) -> f64 {
        if self.grad_norm.is_nan() {
            crate::linalg::norm_inf(&it.g)
        } else {
            self.grad_norm
        }
    }

    fn extra(&self) -> Vec<(&'static str, f64)> {
        vec![
            (
                "lr",
                self.scale.get() * self.rule.rate(self.at.steps.max(1)),
            ),
            ("epoch", self.at.epoch as f64),
        ]
    }

    fn save_state(&self) -> Result<serde_json::Value> {
        let at = Position {
            rate_scale: self.scale.get(),
            ..self.at.clone()
        };
        state_to_json(&(at, self.trial.len()))
    }

    fn load_state(&mut self, state: &serde_json::Value) -> Result<()> {
        let (at, n): (Position, usize) = state_from_json(state)?;
        for (what, saved, now) in [
            (
                "batch size",
                at.batch_size as u64,
                self.at.batch_size as u64,
            ),
            ("seed", at.seed, self.at.seed),
        ] {
            if saved != now {
                return Err(Error::config(
                    what,
                    format!("the saved run used {saved}, this one {now}; resume with the same"),
                ));
            }
        }
        // (Even at an epoch's end: the saved iterate is the next epoch's first batch,
        // drawn in the saved run's order.)
        if at.shuffled != self.at.shuffled {
            let order = |shuffled| if shuffled { "shuffled" } else { "in order" };
            return Err(Error::config(
                "shuffling",
                format!(
                    "the run was saved taking its samples {}, and this one takes them {}; \
                     resume with the same (--no-shuffle, scikit-learn's shuffle)",
                    order(at.shuffled),
                    order(self.at.shuffled)
                ),
            ));
        }
        self.scale.set(at.rate_scale);
        self.at = at;
        self.rule.reset(n);
        self.allocate(n);
        self.grad_norm = f64::NAN;
        self.order.clear();
        Ok(())
    }

    fn state_buffers(&self) -> Vec<(String, Vec<f64>)> {
        self.rule
            .state()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    }

    fn load_buffers(&mut self, buffers: &[(String, Vec<f64>)]) -> Result<()> {
        crate::update::restore_state(&mut self.rule, self.trial.len(), buffers)
    }

    fn complete(&mut self, problem: &dyn SampledObjective, it: &mut Iterate) {
        self.write_out(problem, it);
        let Some(shared) = problem
            .step_sharing()
            .filter(|_| self.sharing == Sharing::Shared)
        else {
            return;
        };
        // The gradient and the rule's coordinate-wise vectors, each worker's part joined
        // (every worker does this at the same iteration, so every one ends whole).
        shared.join(&mut it.g);
        let n = it.x.len();
        let mut state = self.state_buffers();
        for (_, v) in state.iter_mut().filter(|(_, v)| v.len() == n) {
            shared.join(v);
        }
        self.rule.set_state(&state);
    }

    fn check_restored(&self, dims: Dims) -> Result<()> {
        dims.length("parameters", self.trial.len(), dims.n)?;
        // The batch the iterate was evaluated on must be one of its epoch's.
        let batches = batches_per_epoch(dims.samples, self.at.batch_size) as u64;
        if self.at.batch_size == 0 || self.at.batch as u64 >= batches.max(1) {
            return Err(Error::config(
                "resume",
                format!(
                    "the checkpoint's batch {} (of size {}) is not one of the {batches} of an epoch",
                    self.at.batch, self.at.batch_size
                ),
            ));
        }
        Ok(())
    }
}

/// Runs `method` on the sampled objective `problem` (the driver's loop, counting every
/// batch evaluation as one value and one gradient).
pub fn minimize_sampled<R: StepRule>(
    problem: &dyn SampledObjective,
    method: &mut MiniBatch<R>,
    start: Start<'_>,
    opts: &Options,
    obs: &mut dyn Observer,
) -> Result<Summary> {
    let counted = Counted::from(problem, resumed_counts(start));
    run::<OnSampled>(&counted, &|| counted.counts(), method, start, opts, obs)
}
