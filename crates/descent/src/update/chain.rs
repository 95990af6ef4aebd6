//! Transformations that compose with any step rule (Optax's `chain` is the model):
//! clipping the gradient by its norm before the rule sees it, and decoupled weight decay
//! after it (Loshchilov & Hutter 2019: `Δ −= ρₜ·λ·x`, with the rule's own rate ρₜ).

use super::one_pass::CHUNK;
use super::{Moved, StepPoint, StepRule, WeightMatrix};
use crate::linalg::in_chunks;
use rayon::prelude::*;

/// A step rule with its gradient clipped and/or its weights decayed.
#[derive(Clone, Debug)]
pub struct Chained<R> {
    /// The rule.
    pub rule: R,
    /// Gradients longer than this (Euclidean norm) are scaled down to it.
    pub clip_norm: Option<f64>,
    /// Decoupled weight decay λ.
    pub weight_decay: f64,
    clipped: Vec<f64>,
    /// The clipped gradient of an f32 network.
    clipped32: Vec<f32>,
}

impl<R: StepRule> Chained<R> {
    /// `rule` with gradient clipping at `clip_norm` and decoupled decay `weight_decay`.
    pub fn new(rule: R, clip_norm: Option<f64>, weight_decay: f64) -> Self {
        Chained {
            rule,
            clip_norm,
            weight_decay,
            clipped: Vec::new(),
            clipped32: Vec::new(),
        }
    }
}

impl<R: StepRule> StepRule for Chained<R> {
    fn name(&self) -> String {
        let mut s = self.rule.name();
        if let Some(c) = self.clip_norm {
            s.push_str(&format!(", clipped at {c}"));
        }
        if self.weight_decay > 0.0 {
            s.push_str(&format!(", weight decay {}", self.weight_decay));
        }
        s
    }
    fn reset(&mut self, n: usize) {
        self.rule.reset(n);
    }
    fn state_precision(&mut self, precision: crate::update::StatePrecision) {
        self.rule.state_precision(precision);
    }
    fn update(&mut self, t: u64, x: &[f64], g: &[f64], delta: &mut [f64]) {
        let norm = crate::linalg::norm(g);
        match self.clip_norm {
            Some(c) if norm > c => {
                let scale = c / norm;
                self.clipped.clear();
                self.clipped.extend(g.iter().map(|v| v * scale));
                let clipped = std::mem::take(&mut self.clipped);
                self.rule.update(t, x, &clipped, delta);
                self.clipped = clipped;
            }
            _ => self.rule.update(t, x, g, delta),
        }
        if self.weight_decay > 0.0 {
            let decay = self.rule.rate(t) * self.weight_decay;
            for (d, xi) in delta.iter_mut().zip(x) {
                *d -= decay * xi;
            }
        }
    }
    /// An f32 network's own weights: the rule's step from the clipped gradient, then the
    /// decay `x₊ −= s·ρₜ·λ·x` in a second pass. (f64 points go through
    /// [`StepRule::update`], whose bits the f64 runs keep.) Clipping needs the whole
    /// gradient: on a part of the coordinates (a shared step) only decay steps here.
    fn step_point(
        &mut self,
        t: u64,
        at: StepPoint<'_>,
        s: f64,
        part: std::ops::Range<usize>,
    ) -> Option<Moved> {
        let StepPoint::F32 { x, g, next } = at else {
            return None;
        };
        let whole = part == (0..x.len());
        if self.clip_norm.is_some() && !whole {
            return None;
        }
        // The chunks' sums added in order: the same norm on any number of threads.
        let norm = self.clip_norm.map_or(0.0, |_| {
            in_chunks(g.len(), |r| {
                g[r].iter().map(|v| f64::from(*v).powi(2)).sum()
            })
            .sqrt()
        });
        let mut clipped = std::mem::take(&mut self.clipped32);
        let g = match self.clip_norm {
            Some(c) if norm > c => {
                let scale = c / norm;
                clipped.clear();
                clipped.extend(g.iter().map(|v| (f64::from(*v) * scale) as f32));
                &clipped[..]
            }
            _ => g,
        };
        let at = StepPoint::F32 {
            x,
            g,
            next: &mut *next,
        };
        let moved = self.rule.step_point(t, at, s, part.clone());
        self.clipped32 = clipped;
        let moved = moved?;
        if self.weight_decay <= 0.0 {
            return Some(moved);
        }
        // The decay, and the step's length and finiteness measured again with it.
        let decay = s * self.rule.rate(t) * self.weight_decay;
        let (x, next) = (&x[part.clone()], &mut next[part]);
        let parts: Vec<(f64, bool)> = next
            .par_chunks_mut(CHUNK)
            .zip(x.par_chunks(CHUNK))
            .map(|(next, x)| {
                let (mut sq, mut finite) = (0.0, true);
                for (n, x) in next.iter_mut().zip(x) {
                    let v = (f64::from(*n) - decay * f64::from(*x)) as f32;
                    *n = v;
                    sq += (f64::from(v) - f64::from(*x)).powi(2);
                    finite &= v.is_finite();
                }
                (sq, finite)
            })
            .collect();
        Some(Moved {
            step_sq: parts.iter().map(|p| p.0).sum(),
            finite: parts.iter().all(|p| p.1),
        })
    }
    fn rate(&self, t: u64) -> f64 {
        self.rule.rate(t)
    }
    fn weight_matrices(&mut self, matrices: &[WeightMatrix]) {
        self.rule.weight_matrices(matrices)
    }
    fn state(&self) -> Vec<(&'static str, Vec<f64>)> {
        self.rule.state()
    }
    fn set_state(&mut self, state: &[(String, Vec<f64>)]) {
        self.rule.set_state(state)
    }
    fn averaged_point(&self) -> Option<&[f64]> {
        self.rule.averaged_point()
    }
    fn resume_point(&self) -> Option<Vec<f64>> {
        self.rule.resume_point()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::update::{Schedule, Sgd};

    #[test]
    fn clipping_scales_long_gradients_and_decay_is_decoupled() {
        let mut r = Chained::new(
            Sgd {
                lr: Schedule::Constant(0.1),
            },
            Some(1.0),
            0.5,
        );
        let (x, g) = ([2.0, 0.0], [3.0, 4.0]);
        let mut d = [0.0; 2];
        r.update(1, &x, &g, &mut d);
        // g clipped to (0.6, 0.8); Δ = −0.1·g − 0.1·0.5·x.
        assert!((d[0] - (-0.06 - 0.1)).abs() < 1e-15, "{d:?}");
        assert!((d[1] - (-0.08)).abs() < 1e-15, "{d:?}");
        let mut short = [0.0; 2];
        r.update(2, &[0.0, 0.0], &[0.3, 0.4], &mut short);
        assert!((short[0] + 0.03).abs() < 1e-15 && (short[1] + 0.04).abs() < 1e-15);
    }

    #[test]
    fn f32_weights_step_as_the_f64_update_does_to_f32_rounding() {
        // Clipping and decay around SGD and Adam on an f32 network's own weights: the
        // point the f64 path (update, then x + s·Δ) reaches, to f32 rounding, with the
        // step's length; f64 points and clipped parts are left to `update`.
        use crate::update::Adam;
        let n = 40_000;
        let wave = |k: f64| -> Vec<f64> { (0..n).map(|i| (i as f64 * 0.37 + k).sin()).collect() };
        let rules: Vec<(Box<dyn StepRule>, Box<dyn StepRule>)> = vec![
            (
                Box::new(Chained::new(
                    Sgd {
                        lr: Schedule::Constant(0.1),
                    },
                    Some(1.0),
                    0.01,
                )),
                Box::new(Chained::new(
                    Sgd {
                        lr: Schedule::Constant(0.1),
                    },
                    Some(1.0),
                    0.01,
                )),
            ),
            (
                Box::new(Chained::new(Adam::new(Schedule::Constant(1e-3)), None, 0.1)),
                Box::new(Chained::new(Adam::new(Schedule::Constant(1e-3)), None, 0.1)),
            ),
        ];
        for (mut on_f32, mut on_f64) in rules {
            on_f32.reset(n);
            on_f64.reset(n);
            let mut x64 = wave(0.0);
            let mut x32: Vec<f32> = x64.iter().map(|v| *v as f32).collect();
            x64 = x32.iter().map(|v| f64::from(*v)).collect();
            for t in 1..=3u64 {
                let g64 = wave(t as f64);
                let g32: Vec<f32> = g64.iter().map(|v| *v as f32).collect();
                let g64: Vec<f64> = g32.iter().map(|v| f64::from(*v)).collect();
                let mut next = vec![0.0f32; n];
                let at = StepPoint::F32 {
                    x: &x32,
                    g: &g32,
                    next: &mut next,
                };
                let moved = on_f32
                    .step_point(t, at, 0.5, 0..n)
                    .expect("steps f32 points");
                let mut delta = vec![0.0; n];
                on_f64.update(t, &x64, &g64, &mut delta);
                let mut step_sq = 0.0;
                for i in 0..n {
                    x64[i] += 0.5 * delta[i];
                    step_sq += (0.5 * delta[i]).powi(2);
                    let tol = 1e-6 * x64[i].abs().max(1e-3);
                    assert!((f64::from(next[i]) - x64[i]).abs() <= tol, "{t}: {i}");
                }
                assert!((moved.step_sq - step_sq).abs() <= 1e-3 * step_sq, "{t}");
                assert!(moved.finite);
                x32 = next;
            }
        }
        let mut r = Chained::new(
            Sgd {
                lr: Schedule::Constant(0.1),
            },
            Some(1.0),
            0.0,
        );
        r.reset(4);
        let (x, g, mut next) = ([0.0f32; 4], [1.0f32; 4], [0.0f32; 4]);
        let at = StepPoint::F32 {
            x: &x,
            g: &g,
            next: &mut next,
        };
        assert!(
            r.step_point(1, at, 1.0, 0..2).is_none(),
            "clipping needs the whole gradient"
        );
        let (x, g, mut next) = ([0.0; 4], [1.0; 4], [0.0; 4]);
        let at = StepPoint::F64 {
            x: &x,
            g: &g,
            next: &mut next,
        };
        assert!(
            r.step_point(1, at, 1.0, 0..4).is_none(),
            "f64 points go through update"
        );
    }
}
