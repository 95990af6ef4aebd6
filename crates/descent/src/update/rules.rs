//! The step rules. Defaults are those of the cited papers.

use super::one_pass::{StateValue, CHUNK, PARALLEL_MIN};
use super::{restore, Coordinatewise, Moved, Schedule, StatePrecision, StepPoint, StepRule};
use std::ops::Range;

/// Plain gradient descent: `Δ = −ρₖ g` (lecture eq. 1).
#[derive(Clone, Debug)]
pub struct Sgd {
    /// Learning rate schedule.
    pub lr: Schedule,
}

impl StepRule for Sgd {
    fn name(&self) -> String {
        "gradient descent (fixed rate)".into()
    }
    fn reset(&mut self, _n: usize) {}
    fn update(&mut self, t: u64, _x: &[f64], g: &[f64], delta: &mut [f64]) {
        let r = self.lr.at(t);
        for (d, gi) in delta.iter_mut().zip(g) {
            *d = -r * gi;
        }
    }
    fn step_point(
        &mut self,
        t: u64,
        at: StepPoint<'_>,
        s: f64,
        part: Range<usize>,
    ) -> Option<Moved> {
        let rule = SgdAt(self.lr.at(t));
        Some(at.on(part).moved_by::<_, f64, 0>(&rule, [], s))
    }
    fn rate(&self, t: u64) -> f64 {
        self.lr.at(t)
    }
}

/// Which of the lecture's two momentum formulas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MomentumForm {
    /// `w₊ = w − ρ∇e(w) + μ(w − w₋)`: keeps the previous point.
    HeavyBall,
    /// `Δ₊ = −ρ∇e + μΔ`, `w₊ = w + Δ₊`: keeps the velocity.
    Velocity,
}

/// Momentum (heavy ball). With a constant rate both forms give the same iterates; they
/// differ in what they store (and so in how they continue after `x` is changed outside).
/// Default μ = 0.9 (Sutskever et al. 2013).
#[derive(Clone, Debug)]
pub struct Momentum {
    /// Learning rate schedule.
    pub lr: Schedule,
    /// Momentum μ.
    pub mu: f64,
    /// Formula.
    pub form: MomentumForm,
    /// Heavy ball: w₋; velocity: Δ.
    memory: Vec<f64>,
    started: bool,
}

impl Momentum {
    /// Momentum with rate `lr`, coefficient `mu` and the given form.
    pub fn new(lr: Schedule, mu: f64, form: MomentumForm) -> Self {
        Momentum {
            lr,
            mu,
            form,
            memory: Vec::new(),
            started: false,
        }
    }
}

impl StepRule for Momentum {
    fn name(&self) -> String {
        match self.form {
            MomentumForm::HeavyBall => "momentum (heavy ball)".into(),
            MomentumForm::Velocity => "momentum (velocity)".into(),
        }
    }
    fn reset(&mut self, n: usize) {
        crate::resources::zeroed(&mut self.memory, n);
        self.started = false;
    }
    fn update(&mut self, t: u64, x: &[f64], g: &[f64], delta: &mut [f64]) {
        let r = self.lr.at(t);
        match self.form {
            MomentumForm::HeavyBall => {
                for i in 0..g.len() {
                    let prev = if self.started {
                        x[i] - self.memory[i]
                    } else {
                        0.0
                    };
                    delta[i] = -r * g[i] + self.mu * prev;
                    self.memory[i] = x[i];
                }
                self.started = true;
            }
            MomentumForm::Velocity => {
                for i in 0..g.len() {
                    self.memory[i] = self.mu * self.memory[i] - r * g[i];
                    delta[i] = self.memory[i];
                }
            }
        }
    }
    fn step_point(
        &mut self,
        t: u64,
        at: StepPoint<'_>,
        s: f64,
        part: Range<usize>,
    ) -> Option<Moved> {
        // The heavy ball keeps the previous point and a flag: it goes through `update`.
        if self.form == MomentumForm::HeavyBall {
            return None;
        }
        let rule = VelocityAt {
            r: self.lr.at(t),
            mu: self.mu,
        };
        Some(
            at.on(part.clone())
                .moved_by(&rule, [&mut self.memory[part]], s),
        )
    }
    fn rate(&self, t: u64) -> f64 {
        self.lr.at(t)
    }
    fn state(&self) -> Vec<(&'static str, Vec<f64>)> {
        vec![
            ("memory", self.memory.clone()),
            ("started", vec![self.started as u8 as f64]),
        ]
    }
    fn set_state(&mut self, state: &[(String, Vec<f64>)]) {
        for (k, v) in state {
            match k.as_str() {
                "memory" => self.memory.clone_from(v),
                "started" => self.started = v.first().is_some_and(|s| *s != 0.0),
                _ => {}
            }
        }
    }
}

/// Nesterov's accelerated gradient: `v₊ = μv − ρ∇e(w + μv)`, `w₊ = w + v₊`.
///
/// Stored in the look-ahead variable `u = w + μv` (Sutskever et al. 2013, eq. 7; the form
/// PyTorch and Optax use), so that the gradient the caller evaluates at the current point
/// *is* the gradient at the look-ahead point and each step costs one gradient:
/// `v₊ = μv − ρ∇e(u)`, `u₊ = u + μv₊ − ρ∇e(u)`. Default μ = 0.9.
#[derive(Clone, Debug)]
pub struct Nesterov {
    /// Learning rate schedule.
    pub lr: Schedule,
    /// Momentum μ.
    pub mu: f64,
    v: Vec<f64>,
}

impl Nesterov {
    /// Nesterov momentum with rate `lr` and coefficient `mu`.
    pub fn new(lr: Schedule, mu: f64) -> Self {
        Nesterov {
            lr,
            mu,
            v: Vec::new(),
        }
    }
}

impl StepRule for Nesterov {
    fn name(&self) -> String {
        "Nesterov momentum".into()
    }
    fn reset(&mut self, n: usize) {
        crate::resources::zeroed(&mut self.v, n);
    }
    fn update(&mut self, t: u64, _x: &[f64], g: &[f64], delta: &mut [f64]) {
        let r = self.lr.at(t);
        for i in 0..g.len() {
            self.v[i] = self.mu * self.v[i] - r * g[i];
            delta[i] = self.mu * self.v[i] - r * g[i];
        }
    }
    fn step_point(
        &mut self,
        t: u64,
        at: StepPoint<'_>,
        s: f64,
        part: Range<usize>,
    ) -> Option<Moved> {
        let rule = NesterovAt {
            r: self.lr.at(t),
            mu: self.mu,
        };
        Some(at.on(part.clone()).moved_by(&rule, [&mut self.v[part]], s))
    }
    fn rate(&self, t: u64) -> f64 {
        self.lr.at(t)
    }
    fn state(&self) -> Vec<(&'static str, Vec<f64>)> {
        vec![("v", self.v.clone())]
    }
    fn set_state(&mut self, state: &[(String, Vec<f64>)]) {
        restore(state, "v", &mut self.v);
    }
}

/// Adam with bias correction (Kingma & Ba 2015, Algorithm 1), and its kin:
/// AdamW's decoupled weight decay `Δ −= ρλw` (Loshchilov & Hutter 2019) and AMSGrad's
/// running maximum of the second moment (Reddi et al. 2018).
///
/// `m = β₁m + (1−β₁)g`, `v = β₂v + (1−β₂)g²`, `m̂ = m/(1−β₁ᵗ)`, `v̂ = v/(1−β₂ᵗ)`,
/// `Δ = −ρ m̂/(√v̂ + ε)`. Defaults α = 1e-3, β₁ = 0.9, β₂ = 0.999, ε = 1e-8 (the paper's).
///
/// For an f32 network the moments are kept in f32 ([`StatePrecision::F32`], as
/// `torch.optim.Adam` keeps them in the parameters' dtype): a step then streams 16 bytes a
/// parameter less; the arithmetic stays f64, rounded once where the moments are stored.
#[derive(Clone, Debug)]
pub struct Adam {
    /// Learning rate schedule α.
    pub lr: Schedule,
    /// β₁.
    pub beta1: f64,
    /// β₂.
    pub beta2: f64,
    /// ε.
    pub eps: f64,
    /// Decoupled weight decay λ (0 for Adam; AdamW's default is 1e-2).
    pub weight_decay: f64,
    /// AMSGrad variant.
    pub amsgrad: bool,
    /// Whether to apply bias correction (on by default; off only to show why it exists).
    pub bias_correction: bool,
    precision: StatePrecision,
    /// The moments in f64 (empty when kept in f32).
    wide: Moments<f64>,
    /// The moments in f32 (empty when kept in f64).
    narrow: Moments<f32>,
}

/// Adam's moments (AMSGrad's running maximum of v empty without AMSGrad).
#[derive(Clone, Debug, Default)]
struct Moments<E> {
    m: Vec<E>,
    v: Vec<E>,
    vmax: Vec<E>,
}

impl<E: StateValue + Default> Moments<E> {
    /// `n` zeros each (in the memory the moments have: a reset maps them).
    fn zero(&mut self, n: usize, amsgrad: bool) {
        crate::resources::zeroed(&mut self.m, n);
        crate::resources::zeroed(&mut self.v, n);
        crate::resources::zeroed(&mut self.vmax, if amsgrad { n } else { 0 });
    }

    /// Δ of step `k` into `delta` (the update alone), the moments updated.
    fn update(&mut self, k: AdamConstants, amsgrad: bool, x: &[f64], g: &[f64], delta: &mut [f64]) {
        if amsgrad && self.vmax.len() != g.len() {
            self.vmax = vec![E::default(); g.len()];
        }
        let plain = |m: &mut [E], v: &mut [E], x: &[f64], g: &[f64], delta: &mut [f64]| {
            for ((((m, v), x), g), d) in m.iter_mut().zip(v.iter_mut()).zip(x).zip(g).zip(delta) {
                let (mut mi, mut vi) = (m.load(), v.load());
                *d = k.delta(&mut mi, &mut vi, *x, *g);
                (*m, *v) = (E::store(mi), E::store(vi));
            }
        };
        let with_max =
            |m: &mut [E], v: &mut [E], vmax: &mut [E], x: &[f64], g: &[f64], delta: &mut [f64]| {
                for (((((m, v), vm), x), g), d) in m
                    .iter_mut()
                    .zip(v.iter_mut())
                    .zip(vmax.iter_mut())
                    .zip(x)
                    .zip(g)
                    .zip(delta)
                {
                    let (mut mi, mut vi, mut vmi) = (m.load(), v.load(), vm.load());
                    *d = k.delta_amsgrad(&mut mi, &mut vi, &mut vmi, *x, *g);
                    (*m, *v, *vm) = (E::store(mi), E::store(vi), E::store(vmi));
                }
            };
        if g.len() < PARALLEL_MIN {
            let (m, v, vmax) = (&mut self.m, &mut self.v, &mut self.vmax);
            crate::simd::vectorized(
                #[inline(always)]
                || {
                    if amsgrad {
                        with_max(m, v, vmax, x, g, delta);
                    } else {
                        plain(m, v, x, g, delta);
                    }
                },
            );
            return;
        }
        use rayon::prelude::*;
        let c = CHUNK;
        let mv = self.m.par_chunks_mut(c).zip(self.v.par_chunks_mut(c));
        let xgd = x
            .par_chunks(c)
            .zip(g.par_chunks(c))
            .zip(delta.par_chunks_mut(c));
        if amsgrad {
            mv.zip(self.vmax.par_chunks_mut(c))
                .zip(xgd)
                .for_each(|(((m, v), vm), ((x, g), d))| {
                    crate::simd::vectorized(
                        #[inline(always)]
                        || with_max(m, v, vm, x, g, d),
                    )
                });
        } else {
            mv.zip(xgd).for_each(|((m, v), ((x, g), d))| {
                crate::simd::vectorized(
                    #[inline(always)]
                    || plain(m, v, x, g, d),
                )
            });
        }
    }

    /// Step `k` in one pass on the coordinates `part` of `x`, `g` and `next` (all of the
    /// parameters' length): the moments there updated and `next = x + s·Δ`.
    fn step_to(
        &mut self,
        k: AdamConstants,
        amsgrad: bool,
        at: StepPoint<'_>,
        s: f64,
        part: Range<usize>,
    ) -> Moved {
        if amsgrad && self.vmax.len() != self.m.len() {
            self.vmax = vec![E::default(); self.m.len()];
        }
        let at = at.on(part.clone());
        let (m, v) = (&mut self.m[part.clone()], &mut self.v[part.clone()]);
        if amsgrad {
            let state = [m, v, &mut self.vmax[part]];
            return at.moved_by(&AmsGrad(k), state, s);
        }
        at.moved_by(&k, [m, v], s)
    }

    /// The moments as f64, for checkpoints.
    fn saved(&self) -> Vec<(&'static str, Vec<f64>)> {
        let wide = |v: &[E]| v.iter().map(|e| e.load()).collect();
        vec![
            ("m", wide(&self.m)),
            ("v", wide(&self.v)),
            ("vmax", wide(&self.vmax)),
        ]
    }

    /// Restores saved moments.
    fn restore(&mut self, state: &[(String, Vec<f64>)]) {
        for (key, saved) in state {
            let into = match key.as_str() {
                "m" => &mut self.m,
                "v" => &mut self.v,
                "vmax" => &mut self.vmax,
                _ => continue,
            };
            *into = saved.iter().map(|v| E::store(*v)).collect();
        }
    }
}

impl Adam {
    /// Adam with the paper's defaults and rate `lr`.
    pub fn new(lr: Schedule) -> Self {
        Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            amsgrad: false,
            bias_correction: true,
            precision: StatePrecision::F64,
            wide: Moments::default(),
            narrow: Moments::default(),
        }
    }
    /// AdamW: Adam with decoupled weight decay λ (default 1e-2, as in PyTorch).
    pub fn adamw(lr: Schedule, weight_decay: f64) -> Self {
        Adam {
            weight_decay,
            ..Adam::new(lr)
        }
    }
    /// AMSGrad.
    pub fn amsgrad(lr: Schedule) -> Self {
        Adam {
            amsgrad: true,
            ..Adam::new(lr)
        }
    }

    fn constants(&self, t: u64) -> AdamConstants {
        let r = self.lr.at(t);
        let (b1, b2) = (self.beta1, self.beta2);
        let (c1, c2) = if self.bias_correction {
            (1.0 - b1.powf(t as f64), 1.0 - b2.powf(t as f64))
        } else {
            (1.0, 1.0)
        };
        AdamConstants {
            b1,
            b2,
            rc1: r / c1,
            inv_sc2: 1.0 / c2.sqrt(),
            eps: self.eps,
            decay: r * self.weight_decay,
        }
    }
}

/// Adam's coefficients at one step: (m/c1)/(√(v/c2)+ε) = (r/c1)·m / (√v/√c2 + ε), with
/// the constants hoisted so that a coordinate costs one square root and one division and
/// the loops vectorize.
#[derive(Clone, Copy)]
struct AdamConstants {
    b1: f64,
    b2: f64,
    /// r/c1.
    rc1: f64,
    /// 1/√c2.
    inv_sc2: f64,
    eps: f64,
    /// r·λ.
    decay: f64,
}

impl AdamConstants {
    /// The coefficients rounded to f32, for [`super::adam32`].
    fn narrow(&self) -> super::adam32::AdamF32 {
        super::adam32::AdamF32 {
            b1: self.b1 as f32,
            b2: self.b2 as f32,
            one_b1: (1.0 - self.b1) as f32,
            one_b2: (1.0 - self.b2) as f32,
            rc1: self.rc1 as f32,
            inv_sc2: self.inv_sc2 as f32,
            eps: self.eps as f32,
            decay: self.decay as f32,
        }
    }

    /// Updates the moments at one coordinate and returns its Δ.
    #[inline(always)]
    fn delta(&self, m: &mut f64, v: &mut f64, x: f64, g: f64) -> f64 {
        *m = self.b1 * *m + (1.0 - self.b1) * g;
        *v = self.b2 * *v + (1.0 - self.b2) * g * g;
        -(self.rc1 * *m / (v.sqrt() * self.inv_sc2 + self.eps) + self.decay * x)
    }

    /// The same with AMSGrad's running maximum of v.
    #[inline(always)]
    fn delta_amsgrad(&self, m: &mut f64, v: &mut f64, vmax: &mut f64, x: f64, g: f64) -> f64 {
        *m = self.b1 * *m + (1.0 - self.b1) * g;
        *v = self.b2 * *v + (1.0 - self.b2) * g * g;
        *vmax = vmax.max(*v);
        -(self.rc1 * *m / (vmax.sqrt() * self.inv_sc2 + self.eps) + self.decay * x)
    }
}

impl Coordinatewise<2> for AdamConstants {
    #[inline(always)]
    fn delta(&self, [m, v]: &mut [f64; 2], x: f64, g: f64) -> f64 {
        AdamConstants::delta(self, m, v, x, g)
    }
}

/// Adam's coefficients with AMSGrad's maximum as a third state vector.
struct AmsGrad(AdamConstants);

impl Coordinatewise<3> for AmsGrad {
    #[inline(always)]
    fn delta(&self, [m, v, vmax]: &mut [f64; 3], x: f64, g: f64) -> f64 {
        self.0.delta_amsgrad(m, v, vmax, x, g)
    }
}

impl StepRule for Adam {
    fn name(&self) -> String {
        if self.amsgrad {
            "AMSGrad".into()
        } else if self.weight_decay > 0.0 {
            "AdamW".into()
        } else {
            "Adam".into()
        }
    }
    fn reset(&mut self, n: usize) {
        // The moments live in one precision; the other's stay empty.
        let (wide, narrow) = match self.precision {
            StatePrecision::F64 => (n, 0),
            StatePrecision::F32 => (0, n),
        };
        self.wide.zero(wide, self.amsgrad);
        self.narrow.zero(narrow, self.amsgrad);
    }
    fn state_precision(&mut self, precision: StatePrecision) {
        if precision == self.precision {
            return;
        }
        // Moments already there (told after a reset) move to the new storage.
        let held: Vec<(String, Vec<f64>)> = self
            .state()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        (self.wide, self.narrow) = (Moments::default(), Moments::default());
        self.precision = precision;
        self.set_state(&held);
    }
    fn update(&mut self, t: u64, x: &[f64], g: &[f64], delta: &mut [f64]) {
        let (k, ams) = (self.constants(t), self.amsgrad);
        match self.precision {
            StatePrecision::F64 => self.wide.update(k, ams, x, g, delta),
            StatePrecision::F32 => self.narrow.update(k, ams, x, g, delta),
        }
    }
    fn step_point(
        &mut self,
        t: u64,
        at: StepPoint<'_>,
        s: f64,
        part: Range<usize>,
    ) -> Option<Moved> {
        let (k, ams) = (self.constants(t), self.amsgrad);
        Some(match (self.precision, at) {
            (StatePrecision::F64, at) => self.wide.step_to(k, ams, at, s, part),
            // An f32 network's own weights with f32 moments: f32 arithmetic, as torch's.
            (StatePrecision::F32, StepPoint::F32 { x, g, next }) if !ams => {
                let (m, v) = (
                    &mut self.narrow.m[part.clone()],
                    &mut self.narrow.v[part.clone()],
                );
                let (x, g, next) = (&x[part.clone()], &g[part.clone()], &mut next[part]);
                super::adam32::step(&k.narrow(), m, v, x, g, s as f32, next)
            }
            (StatePrecision::F32, at) => self.narrow.step_to(k, ams, at, s, part),
        })
    }
    fn rate(&self, t: u64) -> f64 {
        self.lr.at(t)
    }
    fn state(&self) -> Vec<(&'static str, Vec<f64>)> {
        match self.precision {
            StatePrecision::F64 => self.wide.saved(),
            StatePrecision::F32 => self.narrow.saved(),
        }
    }
    fn set_state(&mut self, state: &[(String, Vec<f64>)]) {
        match self.precision {
            StatePrecision::F64 => self.wide.restore(state),
            StatePrecision::F32 => self.narrow.restore(state),
        }
    }
}

/// RMSprop (Tieleman & Hinton 2012, lecture 6.5): `v = βv + (1−β)g²`,
/// `Δ = −ρ g/(√v + ε)`. Defaults ρ = 1e-3, β = 0.9 (the lecture's), ε = 1e-8.
#[derive(Clone, Debug)]
pub struct RmsProp {
    /// Learning rate schedule.
    pub lr: Schedule,
    /// Decay β.
    pub decay: f64,
    /// ε.
    pub eps: f64,
    v: Vec<f64>,
}

impl RmsProp {
    /// RMSprop with the lecture's defaults and rate `lr`.
    pub fn new(lr: Schedule) -> Self {
        RmsProp {
            lr,
            decay: 0.9,
            eps: 1e-8,
            v: Vec::new(),
        }
    }
}

impl StepRule for RmsProp {
    fn name(&self) -> String {
        "RMSprop".into()
    }
    fn reset(&mut self, n: usize) {
        crate::resources::zeroed(&mut self.v, n);
    }
    fn update(&mut self, t: u64, _x: &[f64], g: &[f64], delta: &mut [f64]) {
        let r = self.lr.at(t);
        for i in 0..g.len() {
            self.v[i] = self.decay * self.v[i] + (1.0 - self.decay) * g[i] * g[i];
            delta[i] = -r * g[i] / (self.v[i].sqrt() + self.eps);
        }
    }
    fn step_point(
        &mut self,
        t: u64,
        at: StepPoint<'_>,
        s: f64,
        part: Range<usize>,
    ) -> Option<Moved> {
        let rule = RmsPropAt {
            r: self.lr.at(t),
            decay: self.decay,
            eps: self.eps,
        };
        Some(at.on(part.clone()).moved_by(&rule, [&mut self.v[part]], s))
    }
    fn rate(&self, t: u64) -> f64 {
        self.lr.at(t)
    }
    fn state(&self) -> Vec<(&'static str, Vec<f64>)> {
        vec![("v", self.v.clone())]
    }
    fn set_state(&mut self, state: &[(String, Vec<f64>)]) {
        restore(state, "v", &mut self.v);
    }
}

/// Adagrad (Duchi, Hazan & Singer 2011): `G += g²`, `Δ = −ρ g/(√G + ε)`.
/// Defaults ρ = 1e-2, ε = 1e-10 (as PyTorch).
#[derive(Clone, Debug)]
pub struct Adagrad {
    /// Learning rate schedule.
    pub lr: Schedule,
    /// ε.
    pub eps: f64,
    sum: Vec<f64>,
}

impl Adagrad {
    /// Adagrad with rate `lr`.
    pub fn new(lr: Schedule) -> Self {
        Adagrad {
            lr,
            eps: 1e-10,
            sum: Vec::new(),
        }
    }
}

impl StepRule for Adagrad {
    fn name(&self) -> String {
        "Adagrad".into()
    }
    fn reset(&mut self, n: usize) {
        crate::resources::zeroed(&mut self.sum, n);
    }
    fn update(&mut self, t: u64, _x: &[f64], g: &[f64], delta: &mut [f64]) {
        let r = self.lr.at(t);
        for i in 0..g.len() {
            self.sum[i] += g[i] * g[i];
            delta[i] = -r * g[i] / (self.sum[i].sqrt() + self.eps);
        }
    }
    fn step_point(
        &mut self,
        t: u64,
        at: StepPoint<'_>,
        s: f64,
        part: Range<usize>,
    ) -> Option<Moved> {
        let rule = AdagradAt {
            r: self.lr.at(t),
            eps: self.eps,
        };
        Some(
            at.on(part.clone())
                .moved_by(&rule, [&mut self.sum[part]], s),
        )
    }
    fn rate(&self, t: u64) -> f64 {
        self.lr.at(t)
    }
    fn state(&self) -> Vec<(&'static str, Vec<f64>)> {
        vec![("sum", self.sum.clone())]
    }
    fn set_state(&mut self, state: &[(String, Vec<f64>)]) {
        restore(state, "sum", &mut self.sum);
    }
}

// The rules' updates at one coordinate, with their constants at one step, for the
// one-pass loops; the same expressions as their `update`.

/// SGD at rate r: `Δ = −r g`.
struct SgdAt(f64);

impl Coordinatewise<0> for SgdAt {
    #[inline(always)]
    fn delta(&self, _: &mut [f64; 0], _x: f64, g: f64) -> f64 {
        -self.0 * g
    }
}

/// Momentum's velocity form: `Δ = v = μv − rg`.
struct VelocityAt {
    r: f64,
    mu: f64,
}

impl Coordinatewise<1> for VelocityAt {
    #[inline(always)]
    fn delta(&self, [v]: &mut [f64; 1], _x: f64, g: f64) -> f64 {
        *v = self.mu * *v - self.r * g;
        *v
    }
}

/// Nesterov in the look-ahead variable: `v = μv − rg`, `Δ = μv − rg`.
struct NesterovAt {
    r: f64,
    mu: f64,
}

impl Coordinatewise<1> for NesterovAt {
    #[inline(always)]
    fn delta(&self, [v]: &mut [f64; 1], _x: f64, g: f64) -> f64 {
        *v = self.mu * *v - self.r * g;
        self.mu * *v - self.r * g
    }
}

/// RMSprop: `v = βv + (1−β)g²`, `Δ = −r g/(√v + ε)`.
struct RmsPropAt {
    r: f64,
    decay: f64,
    eps: f64,
}

impl Coordinatewise<1> for RmsPropAt {
    #[inline(always)]
    fn delta(&self, [v]: &mut [f64; 1], _x: f64, g: f64) -> f64 {
        *v = self.decay * *v + (1.0 - self.decay) * g * g;
        -self.r * g / (v.sqrt() + self.eps)
    }
}

/// Adagrad: `G += g²`, `Δ = −r g/(√G + ε)`.
struct AdagradAt {
    r: f64,
    eps: f64,
}

impl Coordinatewise<1> for AdagradAt {
    #[inline(always)]
    fn delta(&self, [sum]: &mut [f64; 1], _x: f64, g: f64) -> f64 {
        *sum += g * g;
        -self.r * g / (sum.sqrt() + self.eps)
    }
}
