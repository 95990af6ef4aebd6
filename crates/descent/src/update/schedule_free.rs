//! Schedule-free AdamW (Defazio, Yang, Mehta, Mishchenko, Khaled & Cutkosky, *The road less
//! scheduled*, NeurIPS 2024, Algorithm 1; as `AdamWScheduleFreeReference` of
//! facebookresearch/schedule_free), with its defaults: lr 0.0025, β = (0.9, 0.999),
//! ε = 1e-8, weight decay 0, no warmup, r = 0, weight power 2.
//!
//! Three sequences replace the schedule: `z` takes Adam-scaled gradient steps, `x` is
//! their weighted average, and gradients are taken at the interpolation `y`:
//!
//! ```text
//!   ρₜ = lr·min(1, t/warmup),  wₜ = tʳ·(max ρ)^power,  cₜ = wₜ / Σ w
//!   z ← z − ρₜλ·y,   v ← β₂v + (1−β₂)g²,   z ← z − ρₜ·g / (√(v/(1−β₂ᵗ)) + ε)
//!   x ← (1−cₜ)x + cₜz,   y ← β₁x + (1−β₁)z
//! ```
//!
//! The iterate the driver sees is `y`; the model is `x` ([`StepRule::averaged_point`]),
//! which is what validation, the reported result, saved weights and predictions use.

use super::{restore, StepRule};

/// Schedule-free AdamW (see the module documentation).
#[derive(Clone, Debug)]
pub struct ScheduleFreeAdamW {
    /// Base learning rate.
    pub lr: f64,
    /// β₁: interpolation between the average and the steps.
    pub beta1: f64,
    /// β₂: decay of the second moment.
    pub beta2: f64,
    /// ε added to the root.
    pub eps: f64,
    /// Decoupled weight decay λ (applied at y).
    pub weight_decay: f64,
    /// Steps of linear warmup.
    pub warmup: u64,
    /// Power r of the polynomial weighting of the average.
    pub r: f64,
    /// Power of the largest rate so far in the averaging weights.
    pub weight_lr_power: f64,
    z: Vec<f64>,
    x: Vec<f64>,
    v: Vec<f64>,
    /// The largest rate so far and the sum of the averaging weights.
    lr_max: f64,
    weight_sum: f64,
}

impl ScheduleFreeAdamW {
    /// The reference defaults with base rate `lr`.
    pub fn new(lr: f64) -> Self {
        ScheduleFreeAdamW {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            warmup: 0,
            r: 0.0,
            weight_lr_power: 2.0,
            z: Vec::new(),
            x: Vec::new(),
            v: Vec::new(),
            lr_max: -1.0,
            weight_sum: 0.0,
        }
    }
}

impl StepRule for ScheduleFreeAdamW {
    fn name(&self) -> String {
        "schedule-free AdamW".into()
    }
    fn reset(&mut self, n: usize) {
        // z and x start at the first point the rule sees.
        self.z.clear();
        self.x.clear();
        crate::resources::zeroed(&mut self.v, n);
        self.lr_max = -1.0;
        self.weight_sum = 0.0;
    }
    fn update(&mut self, t: u64, y: &[f64], g: &[f64], delta: &mut [f64]) {
        if self.z.len() != y.len() {
            self.z = y.to_vec();
            self.x = y.to_vec();
        }
        let rate = self.rate(t);
        self.lr_max = self.lr_max.max(rate);
        let weight = (t as f64).powf(self.r) * self.lr_max.powf(self.weight_lr_power);
        self.weight_sum += weight;
        let c = if self.weight_sum > 0.0 {
            weight / self.weight_sum
        } else {
            0.0
        };
        let (b1, b2, eps, decay) = (self.beta1, self.beta2, self.eps, rate * self.weight_decay);
        let bias2 = 1.0 - b2.powi(t.min(i32::MAX as u64) as i32);
        for i in 0..g.len() {
            let mut z = self.z[i] - decay * y[i];
            self.v[i] = b2 * self.v[i] + (1.0 - b2) * g[i] * g[i];
            z -= rate * g[i] / ((self.v[i] / bias2).sqrt() + eps);
            let x = (1.0 - c) * self.x[i] + c * z;
            (self.z[i], self.x[i]) = (z, x);
            delta[i] = b1 * x + (1.0 - b1) * z - y[i];
        }
    }
    fn rate(&self, t: u64) -> f64 {
        if t <= self.warmup {
            self.lr * t as f64 / self.warmup as f64
        } else {
            self.lr
        }
    }
    fn averaged_point(&self) -> Option<&[f64]> {
        (!self.x.is_empty()).then_some(&self.x[..])
    }
    fn resume_point(&self) -> Option<Vec<f64>> {
        let b1 = self.beta1;
        (!self.x.is_empty()).then(|| {
            self.x
                .iter()
                .zip(&self.z)
                .map(|(x, z)| b1 * x + (1.0 - b1) * z)
                .collect()
        })
    }
    fn state(&self) -> Vec<(&'static str, Vec<f64>)> {
        vec![
            ("z", self.z.clone()),
            ("x", self.x.clone()),
            ("v", self.v.clone()),
            ("averaging", vec![self.lr_max, self.weight_sum]),
        ]
    }
    fn set_state(&mut self, state: &[(String, Vec<f64>)]) {
        restore(state, "z", &mut self.z);
        restore(state, "x", &mut self.x);
        restore(state, "v", &mut self.v);
        let mut averaging = Vec::new();
        restore(state, "averaging", &mut averaging);
        if let [lr_max, weight_sum] = averaging[..] {
            (self.lr_max, self.weight_sum) = (lr_max, weight_sum);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On f(w) = ½w², one step from w = 1 by hand: v = 0.001, v̂ = 1, z = 1 − 0.0025,
    /// c = 1 (the first weight is the whole sum), so x = z and y = z.
    #[test]
    fn first_step_by_hand() {
        let mut r = ScheduleFreeAdamW::new(0.0025);
        r.reset(1);
        let mut d = [0.0];
        r.update(1, &[1.0], &[1.0], &mut d);
        let z = 1.0 - 0.0025 / (1.0 + 1e-8);
        assert!((d[0] - (z - 1.0)).abs() < 1e-15, "{d:?}");
        assert_eq!(r.averaged_point(), Some(&[z][..]));
        // Second step: c = 1/2, x halfway between the old x and the new z.
        let y = 1.0 + d[0];
        r.update(2, &[y], &[y], &mut d);
        let x = r.averaged_point().unwrap()[0];
        let z2 = r.z[0];
        assert!((x - 0.5 * (z + z2)).abs() < 1e-15);
        assert!((y + d[0] - (0.9 * x + 0.1 * z2)).abs() < 1e-15);
    }
}
