//! Conjugate gradient with Powell–Beale restarts (Powell 1977, "Restart procedures for the
//! conjugate gradient method", Math. Programming 12; MATLAB's `traincgb`).
//!
//! After a restart at iteration t (direction `d_t`, gradient change `y_t = g_{t+1} − g_t`)
//! the direction is Beale's three-term one,
//! `d = −g + β d₋ + γ d_t`, `β = gᵀy₋/d₋ᵀy₋` (Hestenes–Stiefel), `γ = gᵀy_t/d_tᵀy_t`
//! (γ = 0 right after the restart). It restarts (`d = −g`, and this step becomes `d_t`)
//! when consecutive gradients are far from orthogonal, `|g₋ᵀg| ≥ 0.2‖g‖²` (Powell's
//! test), when the three-term direction is not sufficiently downhill
//! (`−1.2‖g‖² ≤ dᵀg ≤ −0.8‖g‖²` fails, Powell's second test), and every n iterations.

use super::Direction;
use crate::driver::{Iterate, Termination};
use crate::linalg::dot;
use crate::problem::Objective;

/// Powell–Beale conjugate gradient direction.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct PowellBeale {
    /// The previous direction and the gradient at its start.
    prev: Option<(Vec<f64>, Vec<f64>)>,
    /// The restart direction d_t and its gradient change y_t (known one step after it).
    restart: Option<(Vec<f64>, Vec<f64>)>,
    /// Whether the last direction was a restart (its y_t is learned next).
    just_restarted: bool,
    since_restart: usize,
    n: usize,
    restarts: u64,
}

impl PowellBeale {
    fn steepest(&mut self, it: &Iterate, d: &mut [f64]) {
        for (di, gi) in d.iter_mut().zip(&it.g) {
            *di = -gi;
        }
        self.just_restarted = true;
        self.restart = None;
        self.since_restart = 0;
        self.restarts += 1;
    }
}

impl Direction for PowellBeale {
    crate::driver::whole_state!();
    fn check_restored(&self, dims: crate::driver::Dims) -> crate::error::Result<()> {
        dims.length("dimension", self.n, dims.n)?;
        for (d, g) in self.prev.iter().chain(&self.restart) {
            dims.vector("direction", d)?;
            dims.vector("gradient", g)?;
        }
        Ok(())
    }
    fn name(&self) -> String {
        "CG (Powell-Beale restarts)".into()
    }
    fn init(&mut self, n: usize) {
        *self = PowellBeale {
            n,
            ..PowellBeale::default()
        };
    }
    fn direction(
        &mut self,
        _p: &dyn Objective,
        it: &Iterate,
        d: &mut [f64],
    ) -> Result<(), Termination> {
        let g = &it.g;
        let gg = dot(g, g);
        let Some((d_prev, g_prev)) = &self.prev else {
            self.steepest(it, d);
            return Ok(());
        };
        if dot(g_prev, g).abs() >= 0.2 * gg || self.since_restart >= self.n.max(1) {
            self.steepest(it, d);
            return Ok(());
        }
        let y_prev: Vec<f64> = g.iter().zip(g_prev).map(|(a, b)| a - b).collect();
        let beta = dot(g, &y_prev) / dot(d_prev, &y_prev);
        let gamma = match &self.restart {
            Some((dt, yt)) if !self.just_restarted => dot(g, yt) / dot(dt, yt),
            _ => 0.0,
        };
        for (i, di) in d.iter_mut().enumerate() {
            *di = -g[i] + beta * d_prev[i];
        }
        if let Some((dt, _)) = &self.restart {
            for (di, ti) in d.iter_mut().zip(dt) {
                *di += gamma * ti;
            }
        }
        let dg = dot(d, g);
        let downhill = (-1.2 * gg..=-0.8 * gg).contains(&dg);
        if !(beta.is_finite() && gamma.is_finite() && downhill) {
            self.steepest(it, d);
            return Ok(());
        }
        self.just_restarted = false;
        Ok(())
    }
    fn update(&mut self, s: &[f64], y: &[f64], it: &Iterate) {
        self.since_restart += 1;
        // s = α d: the direction just used, up to its positive length.
        let g_prev: Vec<f64> = it.g.iter().zip(y).map(|(g, y)| g - y).collect();
        if self.just_restarted {
            self.restart = Some((s.to_vec(), y.to_vec()));
        }
        self.prev = Some((s.to_vec(), g_prev));
    }
    fn reset(&mut self) {
        self.prev = None;
        self.restart = None;
    }
    fn unit_step(&self) -> bool {
        false
    }
    fn extra(&self) -> Vec<(&'static str, f64)> {
        vec![("restarts", self.restarts as f64)]
    }
}
