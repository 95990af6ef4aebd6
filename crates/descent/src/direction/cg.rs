//! Nonlinear conjugate gradient: `d₊ = −g₊ + β d`.
//!
//! β formulas (Nocedal & Wright §5.2; Hager & Zhang, "A survey of nonlinear conjugate
//! gradient methods", 2006), with `y = g₊ − g`:
//! - Fletcher–Reeves: `g₊ᵀg₊ / gᵀg`
//! - Polak–Ribière: `g₊ᵀy / gᵀg`; PR+ takes `max(0, ·)` (Gilbert & Nocedal 1992)
//! - Hestenes–Stiefel: `g₊ᵀy / dᵀy`
//! - Dai–Yuan: `g₊ᵀg₊ / dᵀy`
//! - Hager–Zhang: `(y − 2d‖y‖²/dᵀy)ᵀg₊ / dᵀy`, bounded below by `−1/(‖d‖ min(0.01, ‖g‖))`
//!
//! Restarts (`d = −g`): every `restart_every` iterations (default n), and, for FR, HS, DY
//! and HZ, when successive gradients are far from orthogonal, `|g₊ᵀg| ≥ 0.2‖g₊‖²` (Powell
//! 1977). PR and PR+ restart themselves where that test would fire: gradients far from
//! orthogonal after a short step make `g₊ᵀy` small, so β ≈ 0 and `d₊ ≈ −g₊` (Nocedal &
//! Wright §5.2) — and on the MGH set Powell's test cost them evaluations: median over the
//! 38 instances PR 88 → 83 without it (35/38 reached either way); PR+ 88 → 83 (34/38:
//! Osborne 1, reached with the test only at the 10 000-iteration limit, is not). For the
//! other formulas the test pays: without it FR needs 105 instead of 97 and HS, DY, HZ
//! reach 1–2 instances fewer.

use super::Direction;
use crate::driver::{Iterate, Termination};
use crate::linalg::{dot, norm, CHUNK, PARALLEL_LEN};
use crate::problem::Objective;
use rayon::prelude::*;

/// The β formula.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CgBeta {
    /// Fletcher–Reeves.
    FletcherReeves,
    /// Polak–Ribière.
    PolakRibiere,
    /// Polak–Ribière, clipped at 0.
    PolakRibierePlus,
    /// Hestenes–Stiefel.
    HestenesStiefel,
    /// Dai–Yuan.
    DaiYuan,
    /// Hager–Zhang.
    HagerZhang,
}

impl CgBeta {
    /// Parses `fr pr prplus hs dy hz`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "fr" => CgBeta::FletcherReeves,
            "pr" => CgBeta::PolakRibiere,
            "prplus" | "pr+" => CgBeta::PolakRibierePlus,
            "hs" => CgBeta::HestenesStiefel,
            "dy" => CgBeta::DaiYuan,
            "hz" => CgBeta::HagerZhang,
            _ => return None,
        })
    }
    /// Short name.
    pub fn as_str(self) -> &'static str {
        match self {
            CgBeta::FletcherReeves => "fr",
            CgBeta::PolakRibiere => "pr",
            CgBeta::PolakRibierePlus => "prplus",
            CgBeta::HestenesStiefel => "hs",
            CgBeta::DaiYuan => "dy",
            CgBeta::HagerZhang => "hz",
        }
    }
}

/// Nonlinear conjugate gradient direction.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct NonlinearCg {
    /// The β formula.
    pub beta: CgBeta,
    /// Restart period; `None` means n.
    pub restart_every: Option<usize>,
    /// Powell's orthogonality restart test (default: on except for PR and PR+).
    pub powell_restart: bool,
    d_prev: Vec<f64>,
    g_prev: Vec<f64>,
    have_prev: bool,
    since_restart: usize,
    last_beta: f64,
    n: usize,
    /// `dᵀg` of the last direction, when summed while writing it (long vectors).
    #[serde(skip)]
    slope: Option<f64>,
}

impl NonlinearCg {
    /// With formula `beta`, restarts every n iterations, and Powell restarts except for
    /// PR and PR+ (see the module notes).
    pub fn new(beta: CgBeta) -> Self {
        NonlinearCg {
            beta,
            restart_every: None,
            powell_restart: !matches!(beta, CgBeta::PolakRibiere | CgBeta::PolakRibierePlus),
            d_prev: Vec::new(),
            g_prev: Vec::new(),
            have_prev: false,
            since_restart: 0,
            last_beta: 0.0,
            n: 0,
            slope: None,
        }
    }

    fn compute_beta(&self, g: &[f64]) -> f64 {
        let (gp, dp) = (&self.g_prev, &self.d_prev);
        let y: Vec<f64> = g.iter().zip(gp).map(|(a, b)| a - b).collect();
        let gg_prev = dot(gp, gp);
        let dy = dot(dp, &y);
        let b = match self.beta {
            CgBeta::FletcherReeves => dot(g, g) / gg_prev,
            CgBeta::PolakRibiere => dot(g, &y) / gg_prev,
            CgBeta::PolakRibierePlus => (dot(g, &y) / gg_prev).max(0.0),
            CgBeta::HestenesStiefel => dot(g, &y) / dy,
            CgBeta::DaiYuan => dot(g, g) / dy,
            CgBeta::HagerZhang => {
                let yy = dot(&y, &y);
                let num = dot(&y, g) - 2.0 * yy / dy * dot(dp, g);
                let b = num / dy;
                let eta = -1.0 / (norm(dp) * 0.01f64.min(norm(gp)));
                b.max(eta)
            }
        };
        if b.is_finite() {
            b
        } else {
            0.0
        }
    }

    /// β from [`LongSums`] (the same formulas, the sums taken in one pass).
    fn beta_from(&self, s: &LongSums) -> f64 {
        let b = match self.beta {
            CgBeta::FletcherReeves => s.gg / s.gg_prev,
            CgBeta::PolakRibiere => s.gy / s.gg_prev,
            CgBeta::PolakRibierePlus => (s.gy / s.gg_prev).max(0.0),
            CgBeta::HestenesStiefel => s.gy / s.dy,
            CgBeta::DaiYuan => s.gg / s.dy,
            CgBeta::HagerZhang => {
                let num = s.gy - 2.0 * s.yy / s.dy * s.dg;
                let eta = -1.0 / (s.dd.sqrt() * 0.01f64.min(s.gg_prev.sqrt()));
                (num / s.dy).max(eta)
            }
        };
        if b.is_finite() {
            b
        } else {
            0.0
        }
    }

    /// The direction for long vectors: the sums β and Powell's test need from one pass
    /// over g, g₋ and d₋ (y formed on the fly, never stored), then `d = −g + βd₋` with its
    /// slope, kept as d₋ and g₋, in a second: 8 vector streams where the short path's
    /// separate loops take about 19. Split across threads.
    fn long_direction(&mut self, g: &[f64], d: &mut [f64]) {
        let period = self.restart_every.unwrap_or(self.n).max(1);
        let mut restart = !self.have_prev || self.since_restart >= period;
        if !restart {
            let s = LongSums::of(g, &self.g_prev, &self.d_prev);
            if self.powell_restart && s.ggp.abs() >= 0.2 * s.gg {
                restart = true;
            } else {
                self.last_beta = self.beta_from(&s);
            }
        }
        if restart {
            self.last_beta = 0.0;
            self.since_restart = 0;
        }
        let beta = self.last_beta;
        let (dp, gp) = (&mut self.d_prev, &mut self.g_prev);
        let slope: f64 = d
            .par_chunks_mut(CHUNK)
            .zip(dp.par_chunks_mut(CHUNK).zip(gp.par_chunks_mut(CHUNK)))
            .zip(g.par_chunks(CHUNK))
            .map(|((d, (dp, gp)), g)| {
                let mut slope = 0.0;
                for i in 0..d.len() {
                    let v = -g[i] + beta * dp[i];
                    d[i] = v;
                    dp[i] = v;
                    gp[i] = g[i];
                    slope += v * g[i];
                }
                slope
            })
            .collect::<Vec<f64>>()
            .iter()
            .sum();
        self.slope = Some(slope);
        if slope >= 0.0 {
            // Not a descent direction: steepest descent, and a restart.
            d.par_iter_mut()
                .zip(dp.par_iter_mut())
                .zip(g.par_iter())
                .for_each(|((d, dp), g)| {
                    *d = -g;
                    *dp = -g;
                });
            self.slope = Some(-dot(g, g));
            self.since_restart = 0;
        }
        self.have_prev = true;
        self.since_restart += 1;
    }
}

/// The sums of one pass over `g`, `g₋` and `d₋` (with `y = g − g₋`).
#[derive(Clone, Copy, Default)]
struct LongSums {
    gg: f64,
    gg_prev: f64,
    ggp: f64,
    gy: f64,
    dy: f64,
    yy: f64,
    dg: f64,
    dd: f64,
}

impl LongSums {
    fn of(g: &[f64], gp: &[f64], dp: &[f64]) -> Self {
        let parts: Vec<LongSums> = g
            .par_chunks(CHUNK)
            .zip(gp.par_chunks(CHUNK).zip(dp.par_chunks(CHUNK)))
            .map(|(g, (gp, dp))| {
                let mut s = LongSums::default();
                for i in 0..g.len() {
                    let y = g[i] - gp[i];
                    s.gg += g[i] * g[i];
                    s.gg_prev += gp[i] * gp[i];
                    s.ggp += g[i] * gp[i];
                    s.gy += g[i] * y;
                    s.dy += dp[i] * y;
                    s.yy += y * y;
                    s.dg += dp[i] * g[i];
                    s.dd += dp[i] * dp[i];
                }
                s
            })
            .collect();
        parts.iter().fold(LongSums::default(), |a, b| LongSums {
            gg: a.gg + b.gg,
            gg_prev: a.gg_prev + b.gg_prev,
            ggp: a.ggp + b.ggp,
            gy: a.gy + b.gy,
            dy: a.dy + b.dy,
            yy: a.yy + b.yy,
            dg: a.dg + b.dg,
            dd: a.dd + b.dd,
        })
    }
}

impl Direction for NonlinearCg {
    crate::driver::whole_state!();
    fn check_restored(&self, dims: crate::driver::Dims) -> crate::error::Result<()> {
        dims.length("dimension", self.n, dims.n)?;
        dims.vector_or_empty("previous direction", &self.d_prev)?;
        dims.vector_or_empty("previous gradient", &self.g_prev)
    }
    fn name(&self) -> String {
        format!("nonlinear CG ({})", self.beta.as_str())
    }
    fn init(&mut self, n: usize) {
        self.n = n;
        self.d_prev = vec![0.0; n];
        self.g_prev = vec![0.0; n];
        self.have_prev = false;
        self.since_restart = 0;
    }
    fn direction(
        &mut self,
        _p: &dyn Objective,
        it: &Iterate,
        d: &mut [f64],
    ) -> Result<(), Termination> {
        let g = &it.g;
        if g.len() >= PARALLEL_LEN {
            self.long_direction(g, d);
            return Ok(());
        }
        self.slope = None;
        let period = self.restart_every.unwrap_or(self.n).max(1);
        let mut restart = !self.have_prev || self.since_restart >= period;
        if !restart && self.powell_restart && dot(g, &self.g_prev).abs() >= 0.2 * dot(g, g) {
            restart = true;
        }
        let beta = if restart { 0.0 } else { self.compute_beta(g) };
        self.last_beta = beta;
        if restart {
            self.since_restart = 0;
        }
        for i in 0..d.len() {
            d[i] = -g[i] + beta * self.d_prev[i];
        }
        if dot(d, g) >= 0.0 {
            for (di, gi) in d.iter_mut().zip(g) {
                *di = -gi;
            }
            self.since_restart = 0;
        }
        self.d_prev.copy_from_slice(d);
        self.g_prev.copy_from_slice(g);
        self.have_prev = true;
        self.since_restart += 1;
        Ok(())
    }
    fn update(&mut self, _s: &[f64], _y: &[f64], _it: &Iterate) {}
    fn reset(&mut self) {
        self.have_prev = false;
        self.d_prev.iter_mut().for_each(|v| *v = 0.0);
    }
    fn unit_step(&self) -> bool {
        false
    }
    fn slope(&self) -> Option<f64> {
        self.slope
    }
    fn extra(&self) -> Vec<(&'static str, f64)> {
        vec![("beta", self.last_beta)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_vectors_take_the_short_path_s_direction() {
        // From PARALLEL_LEN entries the sums come from one pass: every β formula gives the
        // direction of the separate loops, to rounding, with its slope.
        let n = PARALLEL_LEN + CHUNK + 3;
        let wave =
            |k: f64| -> Vec<f64> { (0..n).map(|i| (i as f64 * 0.013 * k + k).sin()).collect() };
        let x = vec![0.0; n];
        for beta in ["fr", "pr", "prplus", "hs", "dy", "hz"] {
            let mut cg = NonlinearCg::new(CgBeta::parse(beta).unwrap());
            cg.init(n);
            let mut d = vec![0.0; n];
            let problem = crate::problems::mgh::MghProblem::parse("extended-rosenbrock:2").unwrap();
            for step in 0..3 {
                let g = wave(1.0 + step as f64 * 0.7);
                let (dp, expected_beta) =
                    (cg.d_prev.clone(), cg.have_prev.then(|| cg.compute_beta(&g)));
                let it = Iterate {
                    x: x.clone(),
                    g: g.clone(),
                    f: 0.0,
                };
                cg.direction(&problem, &it, &mut d).unwrap();
                let b = cg.last_beta;
                if let Some(e) = expected_beta.filter(|_| b != 0.0) {
                    assert!(
                        (b - e).abs() <= 1e-10 * e.abs(),
                        "{beta}: β {b} against {e}"
                    );
                }
                for i in 0..n {
                    assert!(
                        (d[i] - (-g[i] + b * dp[i])).abs() <= 1e-12,
                        "{beta}: d at {i}"
                    );
                }
                let slope = dot(&d, &g);
                assert!(
                    (cg.slope().unwrap() - slope).abs() <= 1e-10 * slope.abs(),
                    "{beta}"
                );
                assert!(slope < 0.0);
            }
        }
    }
}
