//! Problems as traits of capabilities: [`Objective`] (value and gradient, optional Hessian),
//! [`LeastSquares`] (residuals and Jacobian) and [`SampledObjective`] (finite sums for
//! mini-batches). [`Counted`] counts evaluations for any of them.

use crate::error::{Error, Result};
use crate::linalg::{axpy, DenseMatrix};
use std::cell::Cell;

/// A smooth function `f: ℝⁿ → ℝ` to be minimized.
///
/// Implementors provide the value and the gradient. The Hessian and the Hessian-vector
/// product are optional: their defaults use **central finite differences of the gradient**
/// (step `h = ε^{1/3}·max(1, |xᵢ|)`), accurate to about `1e-10` relative, and
/// [`Objective::has_exact_hessian`] then returns `false` so that reports can say so.
pub trait Objective {
    /// Number of variables.
    fn dim(&self) -> usize;
    /// `f(x)`.
    fn value(&self, x: &[f64]) -> f64;
    /// `f(x)`, writing `∇f(x)` into `g`.
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64;
    /// Whether [`Objective::hessian`] is exact (not finite differences).
    fn has_exact_hessian(&self) -> bool {
        false
    }
    /// The Hessian `∇²f(x)` into `h` (n×n). Default: central differences of gradients
    /// (2n gradient evaluations), symmetrized.
    fn hessian(&self, x: &[f64], h: &mut DenseMatrix) {
        finite_difference_hessian(self, x, h);
    }
    /// `∇²f(x)·v` into `out`. Default: central difference of gradients along `v`
    /// (two gradient evaluations).
    fn hess_vec(&self, x: &[f64], v: &[f64], out: &mut [f64]) {
        finite_difference_hess_vec(self, x, v, out);
    }
    /// The generalized Gauss–Newton matrix times `v` (`JᵀHJv`: positive semi-definite
    /// curvature of a composition "model, then convex loss"), into `out`, where the problem
    /// has that structure (networks, least squares). Returns `false` when it does not; the
    /// default has none.
    fn gauss_newton_vec(&self, _x: &[f64], _v: &[f64], _out: &mut [f64]) -> bool {
        false
    }
    /// A number `f` never goes below, where one is known (0 for sums of squares and for
    /// the usual losses); `None` (the default) when not. Methods may use it to size their
    /// first step (a decrease below it is impossible), never to stop.
    fn lower_bound(&self) -> Option<f64> {
        None
    }
}

/// Central-difference Hessian from gradients: column j is `(g(x+hⱼeⱼ) − g(x−hⱼeⱼ))/2hⱼ`.
pub fn finite_difference_hessian<P: Objective + ?Sized>(p: &P, x: &[f64], h: &mut DenseMatrix) {
    let n = x.len();
    let mut xp = x.to_vec();
    let (mut gp, mut gm) = (vec![0.0; n], vec![0.0; n]);
    for j in 0..n {
        let step = f64::EPSILON.cbrt() * x[j].abs().max(1.0);
        xp[j] = x[j] + step;
        p.value_grad(&xp, &mut gp);
        xp[j] = x[j] - step;
        p.value_grad(&xp, &mut gm);
        xp[j] = x[j];
        for i in 0..n {
            h.set(i, j, (gp[i] - gm[i]) / (2.0 * step));
        }
    }
    h.symmetrize();
}

/// Central-difference Hessian-vector product from two gradients.
pub fn finite_difference_hess_vec<P: Objective + ?Sized>(
    p: &P,
    x: &[f64],
    v: &[f64],
    out: &mut [f64],
) {
    let n = x.len();
    let vn = crate::linalg::norm(v);
    if vn == 0.0 {
        out.iter_mut().for_each(|o| *o = 0.0);
        return;
    }
    let xn = crate::linalg::norm(x);
    let step = f64::EPSILON.cbrt() * xn.max(1.0) / vn;
    let mut xp = x.to_vec();
    axpy(step, v, &mut xp);
    let mut gp = vec![0.0; n];
    p.value_grad(&xp, &mut gp);
    let mut xm = x.to_vec();
    axpy(-step, v, &mut xm);
    p.value_grad(&xm, out);
    for (o, g) in out.iter_mut().zip(&gp) {
        *o = (g - *o) / (2.0 * step);
    }
}

/// A nonlinear least-squares problem: residuals `r: ℝⁿ → ℝᵐ`.
///
/// As an objective (through [`SumOfSquares`]) its value is `f = Σ rᵢ²` (the convention of
/// Moré, Garbow & Hillstrom and of NIST's residual sum of squares), gradient `2Jᵀr`.
pub trait LeastSquares {
    /// Number of parameters n.
    fn dim(&self) -> usize;
    /// Number of residuals m.
    fn residual_count(&self) -> usize;
    /// Number of observations the residuals stand for: the degrees of freedom `m − n` of
    /// the fit's statistics and Bayesian regularization's data count. The residual count
    /// (the default), except for a problem that stands in for others, as the normal
    /// equations of rows split across workers ([`crate::comm::NormalEquationsLeastSquares`])
    /// stand for all the workers' rows with n + 1 residuals.
    fn observation_count(&self) -> usize {
        self.residual_count()
    }
    /// `r(x)` into `r` (length m).
    fn residuals(&self, x: &[f64], r: &mut [f64]);
    /// The Jacobian `J(x)` (m×n, `Jᵢⱼ = ∂rᵢ/∂xⱼ`) into `j`.
    fn jacobian(&self, x: &[f64], j: &mut DenseMatrix);
    /// The second directional derivative `r''ᵥ = Σⱼₖ ∂²r/∂xⱼ∂xₖ vⱼvₖ` into `out`, used by
    /// geodesic acceleration. Default: [`finite_difference_second_directional`] (two
    /// residual evaluations and one Jacobian). Problems that override it with an exact
    /// formula say so in [`LeastSquares::has_exact_second_directional`].
    fn second_directional(&self, x: &[f64], v: &[f64], out: &mut [f64]) {
        finite_difference_second_directional(self, x, v, out);
    }
    /// Whether [`LeastSquares::second_directional`] is exact (its own evaluation, counted
    /// as one second-derivative evaluation) rather than the finite-difference default
    /// (counted as the residuals and Jacobian it costs).
    fn has_exact_second_directional(&self) -> bool {
        false
    }
    /// `JᵀJ` and `Jᵀr` at `x`, where the problem holds them more exactly than its
    /// [`LeastSquares::jacobian`] would give them (a problem whose rows are split across
    /// workers sums them, and its Jacobian is only a factor of the sum); `None`, the
    /// default, when not. Asked at a point whose residuals and Jacobian were just
    /// evaluated; not an evaluation of its own.
    fn normal_equations(&self, _x: &[f64]) -> Option<(DenseMatrix, Vec<f64>)> {
        None
    }
}

/// A borrowed least-squares problem is one too (so adapters can own or borrow theirs).
impl<L: LeastSquares + ?Sized> LeastSquares for &L {
    fn dim(&self) -> usize {
        (**self).dim()
    }
    fn residual_count(&self) -> usize {
        (**self).residual_count()
    }
    fn observation_count(&self) -> usize {
        (**self).observation_count()
    }
    fn residuals(&self, x: &[f64], r: &mut [f64]) {
        (**self).residuals(x, r)
    }
    fn jacobian(&self, x: &[f64], j: &mut DenseMatrix) {
        (**self).jacobian(x, j)
    }
    fn second_directional(&self, x: &[f64], v: &[f64], out: &mut [f64]) {
        (**self).second_directional(x, v, out)
    }
    fn has_exact_second_directional(&self) -> bool {
        (**self).has_exact_second_directional()
    }
    fn normal_equations(&self, x: &[f64]) -> Option<(DenseMatrix, Vec<f64>)> {
        (**self).normal_equations(x)
    }
}

/// `r''ᵥ ≈ (2/h)[(r(x + hv) − r(x))/h − Jv]` with h = 0.1 (Transtrum & Sethna 2012): two
/// residual evaluations and one Jacobian.
pub fn finite_difference_second_directional<L: LeastSquares + ?Sized>(
    p: &L,
    x: &[f64],
    v: &[f64],
    out: &mut [f64],
) {
    let h = 0.1;
    let m = p.residual_count();
    let xp: Vec<f64> = x.iter().zip(v).map(|(a, b)| a + h * b).collect();
    let mut rp = vec![0.0; m];
    p.residuals(&xp, &mut rp);
    let mut r0 = vec![0.0; m];
    p.residuals(x, &mut r0);
    let mut j = DenseMatrix::zeros(m, x.len());
    p.jacobian(x, &mut j);
    let mut jv = vec![0.0; m];
    j.mul_vec(v, &mut jv);
    for i in 0..m {
        out[i] = 2.0 / h * ((rp[i] - r0[i]) / h - jv[i]);
    }
}

/// Any [`LeastSquares`] problem viewed as the [`Objective`] `f = Σ rᵢ²`.
///
/// Its Hessian defaults to finite differences of the exact gradient `2Jᵀr`.
pub struct SumOfSquares<L>(pub L);

impl<L: LeastSquares> Objective for SumOfSquares<L> {
    fn dim(&self) -> usize {
        self.0.dim()
    }
    fn value(&self, x: &[f64]) -> f64 {
        let mut r = vec![0.0; self.0.residual_count()];
        self.0.residuals(x, &mut r);
        crate::linalg::dot(&r, &r)
    }
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        let m = self.0.residual_count();
        let mut r = vec![0.0; m];
        self.0.residuals(x, &mut r);
        let mut j = DenseMatrix::zeros(m, self.0.dim());
        self.0.jacobian(x, &mut j);
        j.tr_mul_vec(&r, g);
        g.iter_mut().for_each(|v| *v *= 2.0);
        crate::linalg::dot(&r, &r)
    }
    fn gauss_newton_vec(&self, x: &[f64], v: &[f64], out: &mut [f64]) -> bool {
        // ∇²Σr² ≈ 2JᵀJ.
        let m = self.0.residual_count();
        let mut j = DenseMatrix::zeros(m, self.0.dim());
        self.0.jacobian(x, &mut j);
        let mut jv = vec![0.0; m];
        j.mul_vec(v, &mut jv);
        j.tr_mul_vec(&jv, out);
        out.iter_mut().for_each(|o| *o *= 2.0);
        true
    }
    fn lower_bound(&self) -> Option<f64> {
        Some(0.0)
    }
}

/// A finite sum `f(x) = (1/N) Σᵢ fᵢ(x)` whose terms can be evaluated in batches, for
/// mini-batch and online (stochastic) methods.
pub trait SampledObjective {
    /// Number of variables.
    fn dim(&self) -> usize;
    /// Number of terms N.
    fn sample_count(&self) -> usize;
    /// Mean value and mean gradient over the terms in `indices`.
    fn batch_value_grad(&self, x: &[f64], indices: &[usize], g: &mut [f64]) -> f64;
    /// [`SampledObjective::batch_value_grad`] and `‖g‖∞`, or `None` for the norm when an
    /// entry of `g` is not finite. The default makes one more pass over `g`; an
    /// implementation that writes `g` in a pass of its own can compute both there.
    fn batch_value_grad_norm(
        &self,
        x: &[f64],
        indices: &[usize],
        g: &mut [f64],
    ) -> (f64, Option<f64>) {
        let f = self.batch_value_grad(x, indices, g);
        (f, crate::linalg::finite_norm_inf(g))
    }
    /// How the workers of a distributed problem share each step, when they can (see
    /// [`SharedStep`]); `None` (the default): every worker steps every coordinate.
    fn step_sharing(&self) -> Option<&dyn SharedStep> {
        None
    }
    /// The problem's own f32 weights, when it keeps them (an f32 network with f32 master
    /// weights: see [`OwnWeights`]); `None` (the default): the method's f64 point is the
    /// weights.
    fn own_weights(&self) -> Option<&dyn OwnWeights> {
        None
    }
    /// The problem's rows as records another worker can evaluate (see [`GuestRows`]);
    /// `None` (the default): its rows stay where they are.
    fn guest_rows(&self) -> Option<&dyn GuestRows> {
        None
    }
}

/// A sampled objective whose rows can be lent to another worker's copy of the problem:
/// workers that each hold only their own rows of the data even out their shares of every
/// batch that way (a batch of b indices falls on a worker's rows about b/K times, give or
/// take √(b/K); every step waits for the largest share, so the workers lend their rows
/// beyond b/K to those short of it: [`crate::comm::DistributedBatches::holding`]).
pub trait GuestRows {
    /// Values in one row's record.
    fn record_len(&self) -> usize;
    /// Appends the records of `rows` (indices of the problem's own rows) to `out`.
    fn write_records(&self, rows: &[usize], out: &mut Vec<f64>);
    /// Takes `records` (written by [`GuestRows::write_records`] on another worker) as the
    /// rows lent for the next batch, in place of those lent before: record `j` is then the
    /// batch index `sample_count() + j`.
    fn host(&self, records: &[f64]);
}

/// A step of [`OwnWeights::step`] on `(w, g, next)`: the step taken, or `None` when the
/// rule declines.
pub type WeightStep<'a> =
    dyn FnMut(&[f32], &[f32], &mut [f32]) -> Option<crate::update::Moved> + 'a;

/// A sampled objective that keeps its weights in f32 (an f32 network whose master
/// weights are f32, as a `torch.optim` rule steps an f32 model's parameters): a mini-batch
/// method steps them where they are, so that between steps neither the point nor the
/// gradient goes through f64 (a step streams the weights, gradient and state in f32, not
/// an f64 copy of each and the conversions between them). The f64 point is written out
/// only when it is read: at epochs' ends, checkpoints and the run's end.
pub trait OwnWeights {
    /// Sets the weights to `x` and the last batch gradient to `g`, rounded to f32 (a
    /// resumed run's; exact for values written by [`OwnWeights::store`]).
    fn load(&self, x: &[f64], g: &[f64]);
    /// The weights into `x`, and the last batch gradient into `g`.
    fn store(&self, x: &mut [f64], g: &mut [f64]);
    /// The mean value over the rows `indices` at the weights, and `‖g‖∞` (`None` if an
    /// entry is not finite) when `norm` is asked for; the gradient is kept for the next
    /// step.
    fn value_grad(&self, indices: &[usize], norm: bool) -> (f64, Option<f64>);
    /// `with(g)` on the last batch gradient (a distributed problem sums it in place).
    fn gradient(&self, with: &mut dyn FnMut(&mut [f32]));
    /// `with(w)` on the weights (a distributed problem joins its workers' parts).
    fn weights(&self, with: &mut dyn FnMut(&mut [f32]));
    /// One step: `step(w, g, next)` with the weights, the last gradient and the new
    /// weights to write, on the coordinates `part`: all of them, or this worker's part of
    /// a distributed problem whose workers share the step (then the parts are joined
    /// into every worker's weights, which is what the rest of `next` is left for). `None`
    /// when `step` declines (then nothing changed).
    fn step(
        &self,
        part: std::ops::Range<usize>,
        step: &mut WeightStep<'_>,
    ) -> Option<crate::update::Moved>;
}

/// Workers that share the step of a mini-batch method (ZeRO stage 1: Rajbhandari et al.
/// 2020): instead of every worker summing the whole gradient and taking the whole step,
/// each sums the gradient on its own part of the coordinates only, steps that part (with
/// its part of a coordinate-wise rule's state), and the parts of the new point are
/// joined. The large messages are those of one sum (with two sums of a few numbers: the
/// value and norms, the step's length); the step's work is divided by the workers. A
/// coordinate's arithmetic is the same, so the run is the same to the bit (only the
/// reported step length, added part by part, may differ in its last bits with K).
pub trait SharedStep {
    /// The coordinates this worker steps.
    fn part(&self) -> std::ops::Range<usize>;
    /// With `true`, from now on the problem's batch gradients are summed over the
    /// workers on [`SharedStep::part`] only (the rest of `g` holds what is not to be
    /// read; the value and `‖g‖∞` stay those of the whole batch gradient); with `false`,
    /// whole again.
    fn share(&self, on: bool);
    /// Joins the workers' parts of `next` (each stepped its own) into every worker's
    /// `next`, and sums what the steps did.
    fn join_step(&self, next: &mut [f64], moved: crate::update::Moved) -> crate::update::Moved;
    /// Joins the workers' parts of `v` (a gradient, a rule's state) into every worker's.
    fn join(&self, v: &mut [f64]);
}

/// Evaluation counters: what was computed, the same meaning for every method.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counts {
    /// Objective values, including those computed together with a gradient; for a
    /// least-squares problem, residual-vector evaluations.
    pub f_evals: u64,
    /// Gradients (objectives and sampled objectives).
    pub g_evals: u64,
    /// Second-order evaluations: Hessians, Hessian-vector and Gauss–Newton-vector
    /// products, and exact second directional derivatives of residuals.
    pub h_evals: u64,
    /// Jacobians of residuals (least squares).
    #[serde(default)]
    pub j_evals: u64,
}

/// Wraps a problem and counts every evaluation ("evaluation counts come for free").
pub struct Counted<'a, P: ?Sized> {
    inner: &'a P,
    f: Cell<u64>,
    g: Cell<u64>,
    h: Cell<u64>,
    j: Cell<u64>,
}

impl<'a, P: ?Sized> Counted<'a, P> {
    /// Starts counting from zero.
    pub fn new(inner: &'a P) -> Self {
        Self::from(inner, Counts::default())
    }
    /// Goes on counting from `counts` (a resumed run).
    pub fn from(inner: &'a P, counts: Counts) -> Self {
        Counted {
            inner,
            f: Cell::new(counts.f_evals),
            g: Cell::new(counts.g_evals),
            h: Cell::new(counts.h_evals),
            j: Cell::new(counts.j_evals),
        }
    }
    /// The counts so far.
    pub fn counts(&self) -> Counts {
        Counts {
            f_evals: self.f.get(),
            g_evals: self.g.get(),
            h_evals: self.h.get(),
            j_evals: self.j.get(),
        }
    }
}

fn bump(c: &Cell<u64>) {
    c.set(c.get() + 1);
}

/// A batch evaluation counts as one value and one gradient.
impl<P: SampledObjective + ?Sized> SampledObjective for Counted<'_, P> {
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn sample_count(&self) -> usize {
        self.inner.sample_count()
    }
    fn batch_value_grad(&self, x: &[f64], indices: &[usize], g: &mut [f64]) -> f64 {
        bump(&self.f);
        bump(&self.g);
        self.inner.batch_value_grad(x, indices, g)
    }
    fn batch_value_grad_norm(
        &self,
        x: &[f64],
        indices: &[usize],
        g: &mut [f64],
    ) -> (f64, Option<f64>) {
        bump(&self.f);
        bump(&self.g);
        self.inner.batch_value_grad_norm(x, indices, g)
    }
    fn step_sharing(&self) -> Option<&dyn SharedStep> {
        self.inner.step_sharing()
    }
    fn own_weights(&self) -> Option<&dyn OwnWeights> {
        self.inner.own_weights().map(|_| self as &dyn OwnWeights)
    }
    fn guest_rows(&self) -> Option<&dyn GuestRows> {
        self.inner.guest_rows()
    }
}

/// A batch evaluation at the problem's own weights counts as one value and one gradient.
impl<P: SampledObjective + ?Sized> OwnWeights for Counted<'_, P> {
    fn load(&self, x: &[f64], g: &[f64]) {
        self.own().load(x, g)
    }
    fn store(&self, x: &mut [f64], g: &mut [f64]) {
        self.own().store(x, g)
    }
    fn value_grad(&self, indices: &[usize], norm: bool) -> (f64, Option<f64>) {
        bump(&self.f);
        bump(&self.g);
        self.own().value_grad(indices, norm)
    }
    fn gradient(&self, with: &mut dyn FnMut(&mut [f32])) {
        self.own().gradient(with)
    }
    fn weights(&self, with: &mut dyn FnMut(&mut [f32])) {
        self.own().weights(with)
    }
    fn step(
        &self,
        part: std::ops::Range<usize>,
        step: &mut WeightStep<'_>,
    ) -> Option<crate::update::Moved> {
        self.own().step(part, step)
    }
}

impl<P: SampledObjective + ?Sized> Counted<'_, P> {
    /// The inner problem's weights (asked for only through [`Counted::own_weights`],
    /// which has them when the inner problem has).
    fn own(&self) -> &dyn OwnWeights {
        self.inner
            .own_weights()
            .expect("own weights are asked for only of a problem that has them")
    }
}

impl<P: Objective + ?Sized> Objective for Counted<'_, P> {
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn value(&self, x: &[f64]) -> f64 {
        bump(&self.f);
        self.inner.value(x)
    }
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        bump(&self.f);
        bump(&self.g);
        self.inner.value_grad(x, g)
    }
    fn has_exact_hessian(&self) -> bool {
        self.inner.has_exact_hessian()
    }
    fn hessian(&self, x: &[f64], h: &mut DenseMatrix) {
        bump(&self.h);
        self.inner.hessian(x, h)
    }
    fn hess_vec(&self, x: &[f64], v: &[f64], out: &mut [f64]) {
        bump(&self.h);
        self.inner.hess_vec(x, v, out)
    }
    fn gauss_newton_vec(&self, x: &[f64], v: &[f64], out: &mut [f64]) -> bool {
        bump(&self.h);
        self.inner.gauss_newton_vec(x, v, out)
    }
    fn lower_bound(&self) -> Option<f64> {
        self.inner.lower_bound()
    }
}

impl<P: LeastSquares + ?Sized> LeastSquares for Counted<'_, P> {
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn residual_count(&self) -> usize {
        self.inner.residual_count()
    }
    fn observation_count(&self) -> usize {
        self.inner.observation_count()
    }
    fn residuals(&self, x: &[f64], r: &mut [f64]) {
        bump(&self.f);
        self.inner.residuals(x, r)
    }
    fn jacobian(&self, x: &[f64], j: &mut DenseMatrix) {
        bump(&self.j);
        self.inner.jacobian(x, j)
    }
    fn second_directional(&self, x: &[f64], v: &[f64], out: &mut [f64]) {
        if self.inner.has_exact_second_directional() {
            bump(&self.h);
            self.inner.second_directional(x, v, out)
        } else {
            // The problem's own approximation — the finite differences of the default,
            // or a problem's that stands for others (the normal equations of rows split
            // across workers take their rows' differences): counted as the two residual
            // evaluations and the Jacobian the differences cost.
            bump(&self.f);
            bump(&self.f);
            bump(&self.j);
            self.inner.second_directional(x, v, out)
        }
    }
    fn has_exact_second_directional(&self) -> bool {
        self.inner.has_exact_second_directional()
    }
    fn normal_equations(&self, x: &[f64]) -> Option<(DenseMatrix, Vec<f64>)> {
        self.inner.normal_equations(x)
    }
}

/// An objective given by closures (value-and-gradient), handy in tests and examples.
pub struct FnObjective<F> {
    n: usize,
    f: F,
}

impl<F: Fn(&[f64], Option<&mut [f64]>) -> f64> FnObjective<F> {
    /// `f(x, Some(g))` must fill `g` with the gradient.
    pub fn new(n: usize, f: F) -> Self {
        FnObjective { n, f }
    }
}

impl<F: Fn(&[f64], Option<&mut [f64]>) -> f64> Objective for FnObjective<F> {
    fn dim(&self) -> usize {
        self.n
    }
    fn value(&self, x: &[f64]) -> f64 {
        (self.f)(x, None)
    }
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        (self.f)(x, Some(g))
    }
}

/// A quadratic `f(x) = ½xᵀAx − bᵀx` with exact Hessian `A` — the closed-form test bed
/// for Newton (one step) and conjugate gradients (n steps).
#[derive(Clone, Debug)]
pub struct Quadratic {
    /// Symmetric matrix A.
    pub a: DenseMatrix,
    /// Linear term b.
    pub b: Vec<f64>,
}

impl Quadratic {
    /// `½xᵀAx − bᵀx`, checked: A square, symmetric and finite, of b's length. (The
    /// fields are public for reading; a quadratic built from them unchecked, with A of
    /// another size than b, is not a quadratic any method can minimize.)
    pub fn new(a: DenseMatrix, b: Vec<f64>) -> Result<Self> {
        let n = b.len();
        if a.rows != n || a.cols != n || a.data.len() != n * n {
            return Err(Error::config(
                "quadratic",
                format!("A is {}×{} but b has {n} entries", a.rows, a.cols),
            ));
        }
        for i in 0..n {
            for j in 0..n {
                let (aij, aji) = (a.get(i, j), a.get(j, i));
                if !aij.is_finite() || (aij - aji).abs() > 1e-12 * aij.abs().max(aji.abs()) {
                    return Err(Error::config(
                        "quadratic",
                        format!("A is not finite and symmetric at ({i}, {j}): {aij} and {aji}"),
                    ));
                }
            }
        }
        if b.iter().any(|v| !v.is_finite()) {
            return Err(Error::config("quadratic", "b has NaN or infinite entries"));
        }
        Ok(Quadratic { a, b })
    }
}

impl Objective for Quadratic {
    fn dim(&self) -> usize {
        self.b.len()
    }
    fn value(&self, x: &[f64]) -> f64 {
        let mut ax = vec![0.0; x.len()];
        self.a.mul_vec(x, &mut ax);
        0.5 * crate::linalg::dot(x, &ax) - crate::linalg::dot(&self.b, x)
    }
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        self.a.mul_vec(x, g);
        let f = 0.5 * crate::linalg::dot(x, g) - crate::linalg::dot(&self.b, x);
        for (gi, bi) in g.iter_mut().zip(&self.b) {
            *gi -= bi;
        }
        f
    }
    fn has_exact_hessian(&self) -> bool {
        true
    }
    fn hessian(&self, _x: &[f64], h: &mut DenseMatrix) {
        h.data.copy_from_slice(&self.a.data);
    }
    fn hess_vec(&self, _x: &[f64], v: &[f64], out: &mut [f64]) {
        self.a.mul_vec(v, out);
    }
}
