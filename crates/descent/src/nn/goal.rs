//! Runs to a goal, over seeds: MATLAB's "Choose a multilayer neural network training
//! function" benchmark as a recipe. Each trainer trains the same network from fresh
//! weights for each seed until the training loss reaches the goal (or its epochs run
//! out), and is summed up by how many seeds reached it and the median epochs and seconds
//! of those that did.
//!
//! Time is wall-clock time of the training call (the data and threads are ready). Runs of a few milliseconds are
//! at the mercy of the machine's noise, so a short run is repeated (identically: same
//! seed, same weights) and the fastest counts — up to [`REPEATS`] runs while they add up
//! to less than [`REPEAT_WITHIN`] seconds.

use super::experiment::Experiment;
use super::train::{Silent, TrainConfig, TrainState, TrainStop};
use crate::error::{Error, Result};
use serde::Serialize;
use std::time::Instant;

/// Most identical runs timed for one seed.
pub const REPEATS: usize = 5;
/// A seed's runs are repeated while their total time stays below this (seconds).
pub const REPEAT_WITHIN: f64 = 0.05;

/// Epochs a trainer gets to reach the goal unless told otherwise: MATLAB's default
/// `trainParam.epochs` (1000), and ten times that for first-order methods whose rate
/// only adapts (the bold driver `gda`, `gdx`, and the mini-batch step rules), as MATLAB's
/// benchmark gives them.
pub fn goal_epochs(method: &str) -> usize {
    let name = method.split(':').next().unwrap_or(method);
    let first_order =
        crate::method::lookup(name).is_ok_and(|m| m.applies(crate::method::AppliesTo::Minibatch));
    if first_order || matches!(name, "gda" | "gdx") {
        10_000
    } else {
        1000
    }
}

/// One seed's run.
#[derive(Clone, Debug, Serialize)]
pub struct GoalRun {
    /// The seed of the initial weights and of the shuffles.
    pub seed: u64,
    /// Whether the training loss reached the goal.
    pub reached: bool,
    /// Epochs run.
    pub epochs: usize,
    /// Seconds (the fastest of the identical runs).
    pub seconds: f64,
    /// The last training loss (in the target's units, as the goal).
    pub train_loss: f64,
    /// How it ended.
    pub stop: TrainStop,
}

/// A trainer's runs and their summary.
#[derive(Clone, Debug, Serialize)]
pub struct GoalSummary {
    /// The trainer (as given: name and settings).
    pub method: String,
    /// Seeds run.
    pub seeds: usize,
    /// Seeds that reached the goal.
    pub reached: usize,
    /// Median epochs of the runs that reached the goal.
    pub median_epochs: Option<f64>,
    /// Median seconds of the runs that reached the goal.
    pub median_seconds: Option<f64>,
    /// Every run.
    pub runs: Vec<GoalRun>,
}

impl GoalSummary {
    fn new(method: &str, runs: Vec<GoalRun>) -> Self {
        let reached: Vec<&GoalRun> = runs.iter().filter(|r| r.reached).collect();
        GoalSummary {
            method: method.into(),
            seeds: runs.len(),
            reached: reached.len(),
            median_epochs: median(reached.iter().map(|r| r.epochs as f64).collect()),
            median_seconds: median(reached.iter().map(|r| r.seconds).collect()),
            runs,
        }
    }
}

/// The median (the mean of the middle two for an even count); `None` when empty.
pub fn median(mut v: Vec<f64>) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some(0.5 * (v[n / 2 - 1] + v[n / 2])),
    }
}

impl Experiment {
    /// Trains with `cfg` (its `goal` set) from fresh weights for each seed in `seeds`,
    /// calling `progress(seed)` before each.
    pub fn to_goal(
        &self,
        cfg: &TrainConfig,
        seeds: std::ops::Range<u64>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<GoalSummary> {
        if cfg.goal.is_none() {
            return Err(Error::config("goal", "a run to a goal needs one (--goal)"));
        }
        if seeds.is_empty() {
            return Err(Error::config("seeds", "must be at least 1"));
        }
        let pool = self.pool()?;
        let mut runs = Vec::new();
        for seed in seeds {
            progress(seed);
            let cfg = TrainConfig {
                seed,
                ..cfg.clone()
            };
            let start = TrainState::new(self.net.init_params(self.init, seed));
            let (mut fastest, mut total, mut outcome) = (f64::INFINITY, 0.0, None);
            for _ in 0..REPEATS {
                let t = Instant::now();
                let r = pool.install(|| self.train_here(&cfg, start.clone(), &mut Silent))?;
                let secs = t.elapsed().as_secs_f64();
                (fastest, total) = (fastest.min(secs), total + secs);
                outcome = Some(r);
                if total >= REPEAT_WITHIN {
                    break;
                }
            }
            let r = outcome.expect("at least one run");
            runs.push(GoalRun {
                seed,
                reached: r.stop == TrainStop::Goal,
                epochs: r.state.epoch,
                seconds: fastest,
                train_loss: r
                    .state
                    .history
                    .last()
                    .map_or(f64::NAN, |e| self.unscale(e.train_loss)),
                stop: r.stop,
            });
        }
        Ok(GoalSummary::new(&cfg.optimizer, runs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_budgets() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(goal_epochs("lm"), 1000);
        assert_eq!(goal_epochs("scg"), 1000);
        assert_eq!(goal_epochs("gdx"), 10_000);
        assert_eq!(goal_epochs("adam:lr=0.01"), 10_000);
    }
}
