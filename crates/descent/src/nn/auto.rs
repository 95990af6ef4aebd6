//! `auto`: the optimizer chosen from the problem, with the reason said.
//!
//! The rules, measured on the held-out CSV sets of `bench/sklearn_compare.py` and on
//! MATLAB's SIN and PARITY problems (README, "Choosing the optimizer"):
//!
//! 1. Squared error with a dense Jacobian that fits (n·k residuals × N weights ≤ 4·10⁶
//!    entries, N ≤ 2000): Levenberg–Marquardt, MATLAB's default `trainlm`.
//! 2. Otherwise, when one mini-batch holds the whole training set (n ≤ batch size,
//!    N ≤ 10⁵ weights): full-batch L-BFGS. Training is batch training then anyway, and
//!    the default run would give a step rule only 200 steps (iris, 112 rows: L-BFGS
//!    98.3 % test accuracy, Adam 95.6 %).
//! 3. Otherwise mini-batch Adam at its defaults: on the larger sets full-batch L-BFGS
//!    overfits (a 4-class, 20-feature set of 2250 rows: 80.1 % test accuracy against
//!    Adam's 85.0 %). A cosine schedule over the run was measured too and lost
//!    (84.3 %; noisy moons 89.9 % against 90.9 %; digits 97.5 % against 97.3 %).
//!
//! A user who sets a step rule's setting (a learning rate, a schedule, momentum, weight
//! decay) asked for a step rule: `auto` is then Adam.

use super::{Loss, Mlp};

/// Dense Jacobian entries (n·k × N) up to which `auto` picks Levenberg–Marquardt.
const LM_JACOBIAN_ENTRIES: usize = 4_000_000;
/// Weights up to which `auto` picks Levenberg–Marquardt (an N×N solve per step).
const LM_WEIGHTS: usize = 2000;
/// Weights up to which `auto` picks full-batch L-BFGS.
const FULL_BATCH_WEIGHTS: usize = 100_000;

/// What `auto` chose and why.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AutoChoice {
    /// The method spec chosen (`lm`, `lbfgs`, `adam:schedule=cosine:STEPS`).
    pub optimizer: String,
    /// Why, in one sentence.
    pub reason: String,
    /// Validation checks for a full-batch choice: stop after this many epochs without a
    /// better validation loss and keep the best weights (MATLAB's `max_fail`, 6), unless
    /// the user set `patience`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patience: Option<usize>,
}

/// MATLAB's `trainParam.max_fail`: validation checks before a full-batch run stops.
pub const MAX_FAIL: usize = 6;

/// Chooses the optimizer for `net` on `n_train` samples in mini-batches of
/// `batch_size`. `step_rule_settings`: the user set a learning rate, a schedule, a
/// reduce-on-plateau or f64 master weights (settings of step rules only).
pub fn choose_optimizer(
    net: &Mlp,
    n_train: usize,
    batch_size: usize,
    step_rule_settings: bool,
) -> AutoChoice {
    let (n_params, k) = (net.num_params(), net.outputs());
    if step_rule_settings {
        return AutoChoice {
            optimizer: "adam".into(),
            reason: "a step-rule setting (learning rate, schedule, plateau, master weights) was given, so a step rule: Adam".into(),
            patience: None,
        };
    }
    let jacobian = n_train.saturating_mul(k).saturating_mul(n_params);
    if net.arch.loss == Loss::SquaredError
        && jacobian <= LM_JACOBIAN_ENTRIES
        && n_params <= LM_WEIGHTS
    {
        return AutoChoice {
            optimizer: "lm".into(),
            reason: format!(
                "squared error with {n_params} weights and {} residuals: the dense Jacobian fits, so Levenberg-Marquardt (MATLAB's default trainlm)",
                n_train * k
            ),
            patience: Some(MAX_FAIL),
        };
    }
    if n_train <= batch_size && n_params <= FULL_BATCH_WEIGHTS {
        return AutoChoice {
            optimizer: "lbfgs".into(),
            reason: format!(
                "{n_train} training samples fit in one mini-batch of {batch_size}: full-batch L-BFGS, which needs no learning rate"
            ),
            patience: Some(MAX_FAIL),
        };
    }
    AutoChoice {
        optimizer: "adam".into(),
        reason: format!(
            "{n_train} training samples in mini-batches of {batch_size}: Adam at its defaults"
        ),
        patience: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::Activation;

    fn net(sizes: &[usize], loss: Loss) -> Mlp {
        Mlp::new(sizes, &[Activation::Tanh], loss).unwrap()
    }

    #[test]
    fn auto_follows_its_rules_and_says_why() {
        let small_mse = net(&[1, 10, 1], Loss::SquaredError);
        let c = choose_optimizer(&small_mse, 100, 128, false);
        assert_eq!(c.optimizer, "lm");
        assert!(c.reason.contains("Levenberg-Marquardt"), "{}", c.reason);
        // Cross-entropy on a small set: full-batch L-BFGS.
        let iris = net(&[4, 16, 3], Loss::CrossEntropy);
        assert_eq!(choose_optimizer(&iris, 114, 128, false).optimizer, "lbfgs");
        // A squared-error network whose Jacobian would not fit: not LM.
        let wide = net(&[10, 500, 1], Loss::SquaredError);
        let c = choose_optimizer(&wide, 3000, 128, false);
        assert!(c.optimizer.starts_with("adam"), "{c:?}");
        // A large set: mini-batch Adam.
        let mnist = net(&[784, 128, 10], Loss::CrossEntropy);
        let c = choose_optimizer(&mnist, 57_000, 128, false);
        assert_eq!(c.optimizer, "adam");
        // A learning rate asks for a step rule.
        assert_eq!(choose_optimizer(&iris, 114, 128, true).optimizer, "adam");
    }
}
