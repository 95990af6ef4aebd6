//! One pass per step: a rule's element-wise update and the move `x₊ = x + s·Δ` in the
//! same loop, so that a step reads g, the state and x once and writes the state and x₊
//! once, instead of writing Δ and reading it back.
//!
//! At 10⁵–10⁷ parameters a step rule does a few flops per value and is bound by memory
//! traffic: for Adam the separate passes stream 10 vectors (g, m, v, x → m, v, Δ; then
//! x, Δ → x₊), the one pass 7. The arithmetic is the same expression either way, and the
//! step's squared length is added in the same grouping ([`CHUNK`]-long pieces of eight
//! lanes, the pieces in order), so a rule gives the same bits whether or not it has a
//! one-pass form, and whatever the threads.

use rayon::prelude::*;

/// Chunk length of the element-wise passes (the pieces the parallel loops split into).
pub(crate) const CHUNK: usize = 1 << 13;

/// Parameter counts from which the passes run their chunks in parallel.
pub(crate) const PARALLEL_MIN: usize = 1 << 15;

/// What a step did to the point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Moved {
    /// `‖s·Δ‖²`.
    pub step_sq: f64,
    /// Whether every coordinate of `x₊` is finite.
    pub finite: bool,
}

/// A rule's update at one coordinate, for the one-pass loops: given the rule's `S`
/// state values there, x and g, updates the state and returns Δ.
///
/// A trait with an always-inlined method rather than a closure, so that the loop is
/// compiled with the body inside it for the CPU's vector instructions (a closure may be
/// left as a call, compiled for baseline x86-64).
pub(crate) trait Coordinatewise<const S: usize>: Sync {
    /// Δ at one coordinate; updates `state` there.
    fn delta(&self, state: &mut [f64; S], x: f64, g: f64) -> f64;
}

/// Δ given (the rules without a one-pass form): the "gradient" passed is Δ itself.
struct Given;

impl Coordinatewise<0> for Given {
    #[inline(always)]
    fn delta(&self, _state: &mut [f64; 0], _x: f64, delta: f64) -> f64 {
        delta
    }
}

/// How a state vector's values are stored: f64, or f32 for the rules of f32 networks
/// (half the bytes a step streams). The arithmetic is f64 either way; an f32 state is
/// rounded once a step, where it is stored.
pub(crate) trait StateValue: Copy + Send + Sync {
    /// The value, for the arithmetic.
    fn load(self) -> f64;
    /// The value to store.
    fn store(v: f64) -> Self;
}

impl StateValue for f64 {
    #[inline(always)]
    fn load(self) -> f64 {
        self
    }
    #[inline(always)]
    fn store(v: f64) -> Self {
        v
    }
}

impl StateValue for f32 {
    #[inline(always)]
    fn load(self) -> f64 {
        f64::from(self)
    }
    #[inline(always)]
    fn store(v: f64) -> Self {
        v as f32
    }
}

/// One chunk of a move for a rule with `S` state vectors: `next[i] = x[i] + s·Δᵢ`, the
/// state updated; returns `(‖Δ‖², all finite)`. Implemented for the arrays of one to
/// three state pieces (and none), so that each piece reaches the loop as its own slice
/// argument: the compiler then knows they do not overlap and vectorizes the loop. The
/// point, gradient and next point are in the parameters' precision `P` (f64, or f32 for
/// an f32 network's own weights); the arithmetic is f64 either way, and an f32 point is
/// rounded once, where it is stored.
pub(crate) trait MoveChunk<R, P> {
    /// Runs the chunk, compiled for AVX2 when the CPU has it.
    fn run(self, rule: &R, x: &[P], g: &[P], s: f64, next: &mut [P]) -> (f64, bool);
}

macro_rules! move_chunk_for {
    ($($n:literal: [$($state:ident $k:literal),*];)*) => {$(
        impl<R: Coordinatewise<$n>, E: StateValue, P: StateValue> MoveChunk<R, P> for [&mut [E]; $n] {
            fn run(self, rule: &R, x: &[P], g: &[P], s: f64, next: &mut [P]) -> (f64, bool) {
                // The state pieces are separate arguments: that is what tells the compiler
                // they do not overlap.
                #[allow(clippy::too_many_arguments)]
                #[inline(always)]
                fn body<R: Coordinatewise<$n>, E: StateValue, P: StateValue>(
                    rule: &R,
                    $($state: &mut [E],)*
                    x: &[P],
                    g: &[P],
                    s: f64,
                    next: &mut [P],
                ) -> (f64, bool) {
                    // Eight partial sums, so that the loop vectorizes instead of being
                    // one chain of additions.
                    const LANES: usize = 8;
                    // Δ goes through a block on the stack (in L1): one plain loop for Δ
                    // and the state, one for the move and the sums, each of which the
                    // compiler vectorizes (a single loop with both does not).
                    const BLOCK: usize = 32 * LANES;
                    let n = next.len();
                    let (x, g) = (&x[..n], &g[..n]);
                    $(let $state = &mut $state[..n];)*
                    let (mut sq, mut ok, mut tail) = ([0.0; LANES], true, 0.0);
                    let whole = n - n % LANES;
                    let mut delta = [0.0; BLOCK];
                    for lo in (0..n).step_by(BLOCK) {
                        let hi = (lo + BLOCK).min(n);
                        for (i, d) in (lo..hi).zip(delta.iter_mut()) {
                            #[allow(unused_mut)]
                            let mut here = [$($state[i].load()),*];
                            *d = rule.delta(&mut here, x[i].load(), g[i].load());
                            $($state[i] = E::store(here[$k]);)*
                        }
                        let lanes = hi.min(whole);
                        let mut cs = next[lo..lanes].chunks_exact_mut(LANES);
                        let mut xs = x[lo..lanes].chunks_exact(LANES);
                        let mut ds = delta[..lanes - lo].chunks_exact(LANES);
                        for ((c, x), d) in (&mut cs).zip(&mut xs).zip(&mut ds) {
                            for lane in 0..LANES {
                                c[lane] = P::store(x[lane].load() + s * d[lane]);
                                sq[lane] += d[lane] * d[lane];
                                ok &= c[lane].load().is_finite();
                            }
                        }
                        for i in lanes..hi {
                            let d = delta[i - lo];
                            next[i] = P::store(x[i].load() + s * d);
                            tail += d * d;
                            ok &= next[i].load().is_finite();
                        }
                    }
                    (sq.iter().sum::<f64>() + tail, ok)
                }
                let [$($state),*] = self;
                #[cfg(target_arch = "x86_64")]
                {
                    #[allow(clippy::too_many_arguments)]
                    #[target_feature(enable = "avx,avx2")]
                    unsafe fn avx2<R: Coordinatewise<$n>, E: StateValue, P: StateValue>(
                        rule: &R,
                        $($state: &mut [E],)*
                        x: &[P],
                        g: &[P],
                        s: f64,
                        next: &mut [P],
                    ) -> (f64, bool) {
                        body::<R, E, P>(rule, $($state,)* x, g, s, next)
                    }
                    if std::arch::is_x86_feature_detected!("avx2") {
                        // SAFETY: the CPU has AVX2 (checked just above).
                        return unsafe { avx2::<R, E, P>(rule, $($state,)* x, g, s, next) };
                    }
                }
                body::<R, E, P>(rule, $($state,)* x, g, s, next)
            }
        }
    )*};
}

move_chunk_for! {
    0: [];
    1: [a 0];
    2: [a 0, b 1];
    3: [a 0, b 1, c 2];
}

/// Moves `next = x + s·Δ` with Δ from `rule` at every coordinate, its `S` state vectors
/// updated, in [`CHUNK`]-long pieces (in parallel from [`PARALLEL_MIN`] values); the
/// pieces' squared lengths are added in order.
pub(crate) fn move_in_chunks<R: Coordinatewise<S>, E: StateValue, P: StateValue, const S: usize>(
    rule: &R,
    states: [&mut [E]; S],
    x: &[P],
    g: &[P],
    s: f64,
    next: &mut [P],
) -> Moved
where
    for<'a> [&'a mut [E]; S]: MoveChunk<R, P>,
{
    let n = next.len();
    assert!(x.len() == n && g.len() == n && states.iter().all(|v| v.len() == n));
    let mut pieces: [_; S] = states.map(|v| v.chunks_mut(CHUNK));
    let work: Vec<_> = x
        .chunks(CHUNK)
        .zip(g.chunks(CHUNK))
        .zip(next.chunks_mut(CHUNK))
        .map(|((x, g), next)| {
            let st = std::array::from_fn(|k| pieces[k].next().expect("same length as x"));
            (st, x, g, next)
        })
        .collect();
    let run = |(st, x, g, next): Piece<'_, E, P, S>| st.run(rule, x, g, s, next);
    let parts: Vec<(f64, bool)> = if n >= PARALLEL_MIN {
        work.into_par_iter().map(run).collect()
    } else {
        work.into_iter().map(run).collect()
    };
    Moved {
        step_sq: s * s * parts.iter().map(|p| p.0).sum::<f64>(),
        finite: parts.iter().all(|p| p.1),
    }
}

/// A step's point, gradient and next point, in the parameters' precision: the driver's f64
/// point, or an f32 network's own f32 weights (its master weights in f32, as
/// `torch.optim` steps an f32 model's parameters in place).
pub enum StepPoint<'a> {
    /// f64 parameters.
    F64 {
        /// The point.
        x: &'a [f64],
        /// The gradient there.
        g: &'a [f64],
        /// The next point (written).
        next: &'a mut [f64],
    },
    /// f32 parameters.
    F32 {
        /// The point.
        x: &'a [f32],
        /// The gradient there.
        g: &'a [f32],
        /// The next point (written).
        next: &'a mut [f32],
    },
}

impl StepPoint<'_> {
    /// The coordinates `part` of the point, the gradient and the next point.
    pub(crate) fn on(self, part: std::ops::Range<usize>) -> Self {
        match self {
            StepPoint::F64 { x, g, next } => StepPoint::F64 {
                x: &x[part.clone()],
                g: &g[part.clone()],
                next: &mut next[part],
            },
            StepPoint::F32 { x, g, next } => StepPoint::F32 {
                x: &x[part.clone()],
                g: &g[part.clone()],
                next: &mut next[part],
            },
        }
    }

    /// `next = x + s·Δ` with Δ from `rule`, its state vectors updated
    /// ([`move_in_chunks`] in the point's precision).
    pub(crate) fn moved_by<R: Coordinatewise<S>, E: StateValue, const S: usize>(
        self,
        rule: &R,
        states: [&mut [E]; S],
        s: f64,
    ) -> Moved
    where
        for<'a> [&'a mut [E]; S]: MoveChunk<R, f64> + MoveChunk<R, f32>,
    {
        match self {
            StepPoint::F64 { x, g, next } => move_in_chunks(rule, states, x, g, s, next),
            StepPoint::F32 { x, g, next } => move_in_chunks(rule, states, x, g, s, next),
        }
    }
}

/// One chunk's state pieces, x, g and x₊.
type Piece<'a, E, P, const S: usize> = ([&'a mut [E]; S], &'a [P], &'a [P], &'a mut [P]);

/// `next = x + s·Δ` for a Δ already computed (the rules without a one-pass form).
pub(crate) fn move_by(x: &[f64], s: f64, delta: &[f64], next: &mut [f64]) -> Moved {
    move_in_chunks::<Given, f64, f64, 0>(&Given, [], x, delta, s, next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::update::{
        Adagrad, Adam, Momentum, MomentumForm, Nesterov, RmsProp, Schedule, Sgd, StepRule,
    };

    /// Values in ±1 that differ at every coordinate and step.
    fn wave(n: usize, phase: f64) -> Vec<f64> {
        (0..n).map(|i| (i as f64 * 0.37 + phase).sin()).collect()
    }

    /// The one-pass step is the update followed by the move, to the bit: the point, the
    /// state, the squared length and the finiteness, below and above the parallel size,
    /// with a tail that is not a whole number of lanes.
    #[test]
    fn one_pass_equals_update_then_move() {
        let lr = Schedule::Constant(1e-2);
        let in_f32 = |mut rule: Box<dyn StepRule>| {
            rule.state_precision(crate::update::StatePrecision::F32);
            rule
        };
        let rules: [&dyn Fn() -> Box<dyn StepRule>; 10] = [
            &|| Box::new(Sgd { lr: lr.clone() }),
            &|| Box::new(Momentum::new(lr.clone(), 0.9, MomentumForm::Velocity)),
            &|| Box::new(Nesterov::new(lr.clone(), 0.9)),
            &|| Box::new(RmsProp::new(lr.clone())),
            &|| Box::new(Adagrad::new(lr.clone())),
            &|| Box::new(Adam::new(lr.clone())),
            &|| Box::new(Adam::adamw(lr.clone(), 0.1)),
            &|| Box::new(Adam::amsgrad(lr.clone())),
            &|| in_f32(Box::new(Adam::adamw(lr.clone(), 0.1))),
            &|| in_f32(Box::new(Adam::amsgrad(lr.clone()))),
        ];
        for n in [1, 7, 8, CHUNK + 3, PARALLEL_MIN + 8 * CHUNK + 5] {
            for make in rules {
                let (mut fused, mut split) = (make(), make());
                fused.reset(n);
                split.reset(n);
                let x = wave(n, 0.0);
                let mut delta = vec![0.0; n];
                for t in 1..=3 {
                    let g = wave(n, t as f64);
                    let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
                    let moved = fused.step_to(t, &x, &g, 0.5, &mut a).expect("one pass");
                    split.update(t, &x, &g, &mut delta);
                    let by = move_by(&x, 0.5, &delta, &mut b);
                    assert_eq!(moved, by, "n = {n}, t = {t}");
                    assert!(a.iter().zip(&b).all(|(a, b)| a.to_bits() == b.to_bits()));
                    assert_eq!(fused.state(), split.state(), "{}", fused.name());
                }
            }
        }
    }

    /// At f32 weights (an f32 network's own), a rule's step is its f64 step from the same
    /// values, rounded once where it is stored: every coordinate of the next point, the
    /// state, the squared length; on a part, only the part moves. Adam with f32 moments
    /// computes in f32 (as torch's): its step is the f64 one to f32's precision. Rules
    /// that step only f64 points decline.
    #[test]
    fn a_step_at_f32_weights_is_the_f64_step_rounded() {
        let lr = Schedule::Constant(1e-2);
        let in_f32 = |mut rule: Box<dyn StepRule>| {
            rule.state_precision(crate::update::StatePrecision::F32);
            rule
        };
        let rules: [&dyn Fn() -> Box<dyn StepRule>; 7] = [
            &|| Box::new(Sgd { lr: lr.clone() }),
            &|| Box::new(Momentum::new(lr.clone(), 0.9, MomentumForm::Velocity)),
            &|| Box::new(Nesterov::new(lr.clone(), 0.9)),
            &|| Box::new(RmsProp::new(lr.clone())),
            &|| Box::new(Adagrad::new(lr.clone())),
            &|| in_f32(Box::new(Adam::new(lr.clone()))),
            &|| in_f32(Box::new(Adam::amsgrad(lr.clone()))),
        ];
        let narrow = |v: Vec<f64>| -> Vec<f32> { v.iter().map(|v| *v as f32).collect() };
        let wide = |v: &[f32]| -> Vec<f64> { v.iter().map(|v| f64::from(*v)).collect() };
        for n in [7, CHUNK + 3, PARALLEL_MIN + CHUNK + 5] {
            for make in rules {
                let (mut at64, mut at32) = (make(), make());
                at64.reset(n);
                at32.reset(n);
                let mut x32 = narrow(wave(n, 0.0));
                for t in 1..=3 {
                    let g32 = narrow(wave(n, t as f64));
                    let part = if t == 2 { n / 3..n - 1 } else { 0..n };
                    let mut next64 = vec![0.0; n];
                    let mut next32 = x32.clone();
                    let by64 = at64
                        .step_part(t, &wide(&x32), &wide(&g32), 0.5, &mut next64, part.clone())
                        .expect("a coordinate-wise rule");
                    let at = StepPoint::F32 {
                        x: &x32,
                        g: &g32,
                        next: &mut next32,
                    };
                    let by32 = at32
                        .step_point(t, at, 0.5, part.clone())
                        .expect("f32 weights");
                    let name = at32.name();
                    if name == "Adam" {
                        // f32 arithmetic: Δ to a few f32 ulps of its size (the step is
                        // about 1e-2, the weights about 1).
                        let rel = (by32.step_sq - by64.step_sq).abs() / by64.step_sq;
                        assert!(rel < 1e-5, "{rel}");
                        for i in part.clone() {
                            let d = (f64::from(next32[i]) - next64[i]).abs();
                            assert!(d < 1e-6, "Adam at {i}: {} vs {}", next32[i], next64[i]);
                        }
                        let states = at64.state().into_iter().zip(at32.state());
                        for ((_, a), (_, b)) in states {
                            for (a, b) in a.iter().zip(&b) {
                                assert!((a - b).abs() <= 1e-5 * a.abs() + 1e-7, "{a} {b}");
                            }
                        }
                        // The f64 rule goes on from the f32 rule's state.
                        let saved: Vec<(String, Vec<f64>)> = at32
                            .state()
                            .into_iter()
                            .map(|(k, v)| (k.to_string(), v))
                            .collect();
                        at64.set_state(&saved);
                    } else {
                        assert_eq!(by64, by32, "{name} n = {n}, t = {t}");
                        assert_eq!(at64.state(), at32.state(), "{name}");
                        for i in part.clone() {
                            let want = next64[i] as f32;
                            assert_eq!(next32[i].to_bits(), want.to_bits(), "{name} at {i}");
                        }
                    }
                    for i in (0..n).filter(|i| !part.contains(i)) {
                        assert_eq!(next32[i].to_bits(), x32[i].to_bits(), "{name} at {i}");
                    }
                    x32 = next32;
                }
            }
        }
        let mut heavy = Momentum::new(lr, 0.9, MomentumForm::HeavyBall);
        heavy.reset(3);
        let (x, g, mut next) = ([1.0f32; 3], [1.0f32; 3], [0.0f32; 3]);
        let at = StepPoint::F32 {
            x: &x,
            g: &g,
            next: &mut next,
        };
        assert!(heavy.step_point(1, at, 1.0, 0..3).is_none());
    }

    /// A step that leaves the finite numbers is reported, and the length is s²·Σ‖Δ‖².
    #[test]
    #[allow(clippy::float_cmp)] // small integers and halves: exact in binary
    fn the_move_reports_length_and_overflow() {
        let x = vec![1.0; 20];
        let mut delta = vec![2.0; 20];
        let mut next = vec![0.0; 20];
        let moved = move_by(&x, 0.5, &delta, &mut next);
        assert_eq!(moved.step_sq, 0.25 * 4.0 * 20.0);
        assert!(moved.finite && next.iter().all(|v| *v == 2.0));
        delta[19] = f64::MAX;
        assert!(!move_by(&x, 4.0, &delta, &mut next).finite);
    }

    /// Adam with f32 moments: the same f64 arithmetic, the moments rounded to f32 where
    /// they are stored: after one step from zero they are the f64 moments rounded, the
    /// checkpoint holds those values exactly, and a restored rule takes the same next step.
    #[test]
    fn adam_keeps_f32_moments_when_told() {
        let n = CHUNK + 5;
        let lr = Schedule::Constant(1e-2);
        let (mut wide, mut narrow) = (Adam::new(lr.clone()), Adam::new(lr.clone()));
        narrow.state_precision(crate::update::StatePrecision::F32);
        wide.reset(n);
        narrow.reset(n);
        let (x, g) = (wave(n, 0.0), wave(n, 1.0));
        let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
        wide.step_to(1, &x, &g, 1.0, &mut a).unwrap();
        narrow.step_to(1, &x, &g, 1.0, &mut b).unwrap();
        // The first step is computed before any rounding of the state: the same point.
        assert_eq!(a, b);
        for ((k, w), (_, f)) in wide.state().iter().zip(narrow.state()) {
            let rounded: Vec<f64> = w.iter().map(|v| f64::from(*v as f32)).collect();
            assert_eq!(rounded, f, "{k}");
        }
        let saved: Vec<(String, Vec<f64>)> = narrow
            .state()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        let g2 = wave(n, 2.0);
        narrow.step_to(2, &b, &g2, 1.0, &mut a).unwrap();
        let mut c = vec![0.0; n];
        let mut again = Adam::new(lr);
        again.state_precision(crate::update::StatePrecision::F32);
        crate::update::restore_state(&mut again, n, &saved).unwrap();
        again.step_to(2, &b, &g2, 1.0, &mut c).unwrap();
        assert_eq!(a, c);
        assert_ne!(narrow.state(), wide.state());
        // Told after a reset, a rule moves the moments it holds.
        let mut late = Adam::new(Schedule::Constant(1e-2));
        late.reset(n);
        late.step_to(1, &x, &g, 1.0, &mut c).unwrap();
        late.state_precision(crate::update::StatePrecision::F32);
        assert_eq!(
            late.state(),
            saved
                .iter()
                .map(|(k, v)| (k.as_str(), v.clone()))
                .collect::<Vec<_>>()
        );
        late.step_to(2, &b, &g2, 1.0, &mut c).unwrap();
        assert_eq!(a, c);
    }
}
