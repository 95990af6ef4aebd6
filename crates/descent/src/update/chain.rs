//! Transformations that compose with any step rule (Optax's `chain` is the model):
//! clipping the gradient by its norm before the rule sees it, and decoupled weight decay
//! after it (Loshchilov & Hutter 2019: `Δ −= ρₜ·λ·x`, with the rule's own rate ρₜ).

use super::{StepRule, WeightMatrix};

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
}

impl<R: StepRule> Chained<R> {
    /// `rule` with gradient clipping at `clip_norm` and decoupled decay `weight_decay`.
    pub fn new(rule: R, clip_norm: Option<f64>, weight_decay: f64) -> Self {
        Chained {
            rule,
            clip_norm,
            weight_decay,
            clipped: Vec::new(),
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
}
