//! Step rules: turn a gradient into an update `Δ` that is *added* to `x`.
//!
//! The same rule drives a deterministic objective (through [`FixedStep`]) and mini-batch
//! training. The learning rate is a [`Schedule`] of the step count; the sign flips in one
//! place, the final `Δ = −ρₖ·(direction)` of each rule.
//!
//! | rule | update (t = 1, 2, ...) | reference |
//! |---|---|---|
//! | [`Sgd`] | `Δ = −ρ g` | lecture eq. 1 |
//! | [`Momentum`] heavy ball | `Δ = −ρ g + μ (w − w₋)` | Polyak 1964; lecture |
//! | [`Momentum`] velocity | `v = μ v − ρ g`, `Δ = v` | Rumelhart et al. 1986; lecture |
//! | [`Nesterov`] | gradient at the look-ahead point | Nesterov 1983; Sutskever et al. 2013 |
//! | [`Adam`] | bias-corrected moments | Kingma & Ba 2015 |
//! | [`Adam`] + decoupled decay | AdamW | Loshchilov & Hutter 2019 |
//! | [`Adam`] + max of v̂ | AMSGrad | Reddi et al. 2018 |
//! | [`RmsProp`] | `v = βv + (1−β)g²`, `Δ = −ρ g/(√v + ε)` | Tieleman & Hinton 2012 |
//! | [`Adagrad`] | `G += g²`, `Δ = −ρ g/(√G + ε)` | Duchi et al. 2011 |
//! | [`NAdam`] | Adam with Nesterov momentum | Dozat 2016; torch.optim.NAdam |
//! | [`RAdam`] | Adam with a rectified adaptive rate | Liu et al. 2020; torch.optim.RAdam |
//! | [`Adamax`] | Adam with the ∞-norm | Kingma & Ba 2015 §7.1; torch.optim.Adamax |
//! | [`Adadelta`] | unit-corrected running RMS ratio | Zeiler 2012; torch.optim.Adadelta |
//! | [`Lion`] | sign of interpolated momentum | Chen et al. 2023 |
//! | [`Muon`] | momentum orthogonalized per weight matrix, AdamW elsewhere | Jordan et al. 2024; torch.optim.Muon |
//! | [`ScheduleFreeAdamW`] | Adam steps averaged, gradients at an interpolation | Defazio et al. 2024 |
//! | [`Rprop`] | per-weight step sizes from gradient signs | Riedmiller & Braun 1993; Igel & Hüsken 2000; torch.optim.Rprop |

mod adadelta;
mod adam32;
mod adamax;
mod chain;
mod fixed_step;
mod lion;
mod muon;
mod nadam;
mod one_pass;
mod radam;
mod rprop;
mod rules;
mod schedule;
mod schedule_free;

pub use adadelta::Adadelta;
pub use adamax::Adamax;
pub use chain::Chained;
pub use fixed_step::FixedStep;
pub use lion::Lion;
pub use muon::Muon;
pub use nadam::NAdam;
pub(crate) use one_pass::{move_by, Coordinatewise};
pub use one_pass::{Moved, StepPoint};

/// The precision a step rule keeps its state in ([`StepRule::state_precision`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StatePrecision {
    /// f64 (the default).
    #[default]
    F64,
    /// f32: the precision of an f32 network's parameters, half the bytes a step streams.
    F32,
}
pub use radam::RAdam;
pub use rprop::Rprop;
pub use rules::{Adagrad, Adam, Momentum, MomentumForm, Nesterov, RmsProp, Sgd};
pub use schedule::Schedule;
pub use schedule_free::ScheduleFreeAdamW;

/// Copies the saved vector `key` of `state` into `into`, where it was saved.
pub(crate) fn restore(state: &[(String, Vec<f64>)], key: &str, into: &mut Vec<f64>) {
    if let Some((_, v)) = state.iter().find(|(k, _)| k == key) {
        into.clone_from(v);
    }
}

/// Restores a saved `state` into `rule` for `n` parameters: each vector must have the
/// length the rule's own has after `reset(n)` (or `n`, for state a rule allocates on its
/// first step), so that the state of another network, or a forged one, is refused
/// before a step reads it.
pub fn restore_state<R: StepRule + ?Sized>(
    rule: &mut R,
    n: usize,
    state: &[(String, Vec<f64>)],
) -> crate::Result<()> {
    rule.reset(n);
    let own: Vec<(&'static str, usize)> = rule.state().iter().map(|(k, v)| (*k, v.len())).collect();
    for (key, v) in state {
        if let Some((_, len)) = own.iter().find(|(k, _)| k == key) {
            if v.len() != *len && v.len() != n {
                return Err(crate::Error::DimensionMismatch {
                    what: format!("the saved step-rule state '{key}'"),
                    expected: *len,
                    got: v.len(),
                });
            }
        }
    }
    rule.set_state(state);
    Ok(())
}

/// A weight matrix inside the parameter vector: `rows × cols` values, row-major, from
/// `offset` (a network layer's fan-in × fan-out).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WeightMatrix {
    /// Index of its first value.
    pub offset: usize,
    /// Rows (fan-in).
    pub rows: usize,
    /// Columns (fan-out).
    pub cols: usize,
}

/// A step rule with its own state.
pub trait StepRule {
    /// Name for reports.
    fn name(&self) -> String;
    /// Allocates (and clears) state for `n` parameters.
    fn reset(&mut self, n: usize);
    /// Writes the update for step `t` (1-based), at point `x` with gradient `g`, into
    /// `delta`; the caller then does `x += delta`.
    fn update(&mut self, t: u64, x: &[f64], g: &[f64], delta: &mut [f64]);
    /// Step `t` in one pass (`one_pass`): the update of [`StepRule::update`] and
    /// `next = x + scale·Δ` in the same loop, with the same arithmetic. `None` from rules
    /// without that form; the caller then calls `update` and moves by Δ itself. The
    /// default is [`StepRule::step_part`] on every coordinate.
    fn step_to(
        &mut self,
        t: u64,
        x: &[f64],
        g: &[f64],
        scale: f64,
        next: &mut [f64],
    ) -> Option<Moved> {
        self.step_part(t, x, g, scale, next, 0..x.len())
    }
    /// [`StepRule::step_to`] on the coordinates `part` only: their state, and `next` there
    /// (the rest of `next` and of the state is left as it is), for workers that share a
    /// step ([`crate::SharedStep`]). `None` from rules that are not coordinate-wise (a
    /// step that needs the whole gradient, such as clipping by its norm); the caller then
    /// steps every coordinate. A rule gives the same answer (`Some` or `None`) at every
    /// step.
    fn step_part(
        &mut self,
        t: u64,
        x: &[f64],
        g: &[f64],
        scale: f64,
        next: &mut [f64],
        part: std::ops::Range<usize>,
    ) -> Option<Moved> {
        self.step_point(t, StepPoint::F64 { x, g, next }, scale, part)
    }
    /// [`StepRule::step_part`] at a point of either precision: also at an f32 network's
    /// own f32 weights, with an f32 gradient (the arithmetic is f64 and the new weights
    /// are rounded once, where they are stored). `None` (the default) from rules that
    /// step only f64 points, or not part by part; the caller then keeps f64 weights.
    fn step_point(
        &mut self,
        _t: u64,
        _at: StepPoint<'_>,
        _scale: f64,
        _part: std::ops::Range<usize>,
    ) -> Option<Moved> {
        None
    }
    /// The precision to keep the state in, told before [`StepRule::reset`] (f32 for the
    /// rules of an f32 network). Rules that keep f32 state when told: [`Adam`] (and AdamW,
    /// AMSGrad); the others keep f64.
    fn state_precision(&mut self, _precision: StatePrecision) {}
    /// The learning rate at step `t`.
    fn rate(&self, t: u64) -> f64;
    /// Where the parameters hold weight matrices (a network's layers), told after
    /// [`StepRule::reset`]; rules that treat matrices as matrices (Muon) use it, the others
    /// ignore it.
    fn weight_matrices(&mut self, _matrices: &[WeightMatrix]) {}
    /// The state vectors (for checkpoints): named buffers.
    fn state(&self) -> Vec<(&'static str, Vec<f64>)> {
        Vec::new()
    }
    /// Restores state saved by [`StepRule::state`].
    fn set_state(&mut self, _state: &[(String, Vec<f64>)]) {}
    /// The point that is the model, when it is not the point gradients are taken at
    /// (schedule-free methods evaluate at an average); `None` for the others.
    fn averaged_point(&self) -> Option<&[f64]> {
        None
    }
    /// The point the next gradient is taken at, when the rule's restored state fixes it
    /// and the model point does not (schedule-free: the interpolation of z and x).
    fn resume_point(&self) -> Option<Vec<f64>> {
        None
    }
}

/// A boxed rule (as the registry builds them) is a rule.
impl<R: StepRule + ?Sized> StepRule for Box<R> {
    fn name(&self) -> String {
        (**self).name()
    }
    fn reset(&mut self, n: usize) {
        (**self).reset(n)
    }
    fn update(&mut self, t: u64, x: &[f64], g: &[f64], delta: &mut [f64]) {
        (**self).update(t, x, g, delta)
    }
    fn step_to(
        &mut self,
        t: u64,
        x: &[f64],
        g: &[f64],
        scale: f64,
        next: &mut [f64],
    ) -> Option<Moved> {
        (**self).step_to(t, x, g, scale, next)
    }
    fn step_part(
        &mut self,
        t: u64,
        x: &[f64],
        g: &[f64],
        scale: f64,
        next: &mut [f64],
        part: std::ops::Range<usize>,
    ) -> Option<Moved> {
        (**self).step_part(t, x, g, scale, next, part)
    }
    fn step_point(
        &mut self,
        t: u64,
        at: StepPoint<'_>,
        scale: f64,
        part: std::ops::Range<usize>,
    ) -> Option<Moved> {
        (**self).step_point(t, at, scale, part)
    }
    fn state_precision(&mut self, precision: StatePrecision) {
        (**self).state_precision(precision)
    }
    fn rate(&self, t: u64) -> f64 {
        (**self).rate(t)
    }
    fn weight_matrices(&mut self, matrices: &[WeightMatrix]) {
        (**self).weight_matrices(matrices)
    }
    fn state(&self) -> Vec<(&'static str, Vec<f64>)> {
        (**self).state()
    }
    fn set_state(&mut self, state: &[(String, Vec<f64>)]) {
        (**self).set_state(state)
    }
    fn averaged_point(&self) -> Option<&[f64]> {
        (**self).averaged_point()
    }
    fn resume_point(&self) -> Option<Vec<f64>> {
        (**self).resume_point()
    }
}
