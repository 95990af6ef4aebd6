//! Learning-rate schedules: ρₖ as a function of the step count k (1-based).

/// A learning-rate schedule.
#[derive(Clone, Debug, PartialEq)]
pub enum Schedule {
    /// ρₖ = ρ.
    Constant(f64),
    /// ρₖ = ρ·γ^⌊(k−1)/every⌋ (step decay).
    Step {
        /// Base rate.
        rate: f64,
        /// Decay factor γ.
        gamma: f64,
        /// Period in steps.
        every: u64,
    },
    /// ρₖ = ρ·γ^(k−1).
    Exponential {
        /// Base rate.
        rate: f64,
        /// Decay factor per step.
        gamma: f64,
    },
    /// Cosine annealing from ρ to ρ_min over `total` steps (Loshchilov & Hutter 2017).
    Cosine {
        /// Base rate.
        rate: f64,
        /// Final rate.
        min_rate: f64,
        /// Length in steps.
        total: u64,
    },
    /// ρₖ = ρ/(1 + decay·(k−1)) (Robbins–Monro style).
    InverseTime {
        /// Base rate.
        rate: f64,
        /// Decay.
        decay: f64,
    },
    /// Linear warm-up from 0 over `steps`, then `then`.
    Warmup {
        /// Warm-up length.
        steps: u64,
        /// Schedule afterwards (its step count starts after the warm-up).
        then: Box<Schedule>,
    },
}

impl Schedule {
    /// The rate at step `k` (1-based).
    pub fn at(&self, k: u64) -> f64 {
        let k = k.max(1);
        match self {
            Schedule::Constant(r) => *r,
            Schedule::Step { rate, gamma, every } => {
                rate * gamma.powi(((k - 1) / (*every).max(1)) as i32)
            }
            Schedule::Exponential { rate, gamma } => rate * gamma.powf((k - 1) as f64),
            Schedule::Cosine {
                rate,
                min_rate,
                total,
            } => {
                let p = ((k - 1) as f64 / (*total).max(1) as f64).min(1.0);
                min_rate + 0.5 * (rate - min_rate) * (1.0 + (std::f64::consts::PI * p).cos())
            }
            Schedule::InverseTime { rate, decay } => rate / (1.0 + decay * (k - 1) as f64),
            Schedule::Warmup { steps, then } => {
                if k <= *steps {
                    then.at(1) * k as f64 / *steps as f64
                } else {
                    then.at(k - steps)
                }
            }
        }
    }

    /// Parses `const`, `step:GAMMA:EVERY`, `exp:GAMMA`, `cosine:TOTAL[:MIN]`,
    /// `inverse:DECAY`, `warmup:STEPS[:INNER...]` with base rate `rate`.
    pub fn parse(spec: &str, rate: f64) -> Result<Schedule, String> {
        let parts: Vec<&str> = spec.split(':').collect();
        let short = || spec.chars().take(40).collect::<String>();
        let arg = |i: usize, what: &str| -> Result<&str, String> {
            parts
                .get(i)
                .copied()
                .ok_or_else(|| format!("schedule '{}' needs {what}", short()))
        };
        // A rate factor or decay: finite, and positive (or at least zero where `zero` is).
        let num = |i: usize, what: &str, zero: bool| -> Result<f64, String> {
            let v = arg(i, what)?
                .parse::<f64>()
                .map_err(|_| format!("schedule '{}': {what} is not a number", short()))?;
            if !v.is_finite() || v < 0.0 || (v == 0.0 && !zero) {
                let want = if zero { "at least 0" } else { "above 0" };
                return Err(format!(
                    "schedule '{}': {what} must be finite and {want}",
                    short()
                ));
            }
            Ok(v)
        };
        // A number of steps: a whole number, at least 1.
        let steps = |i: usize, what: &str| -> Result<u64, String> {
            arg(i, what)?
                .parse::<u64>()
                .ok()
                .filter(|&n| n >= 1)
                .ok_or_else(|| {
                    format!(
                        "schedule '{}': {what} must be a whole number of steps, at least 1",
                        short()
                    )
                })
        };
        let at_most = |n: usize| -> Result<(), String> {
            if parts.len() > n {
                return Err(format!(
                    "schedule '{}': {} takes {} argument{}",
                    short(),
                    parts[0],
                    n - 1,
                    if n == 2 { "" } else { "s" }
                ));
            }
            Ok(())
        };
        Ok(match parts[0] {
            "const" | "constant" => {
                at_most(1)?;
                Schedule::Constant(rate)
            }
            "step" => {
                at_most(3)?;
                Schedule::Step {
                    rate,
                    gamma: num(1, "GAMMA", false)?,
                    every: steps(2, "EVERY")?,
                }
            }
            "exp" | "exponential" => {
                at_most(2)?;
                Schedule::Exponential {
                    rate,
                    gamma: num(1, "GAMMA", false)?,
                }
            }
            "cosine" => {
                at_most(3)?;
                let min_rate = if parts.len() > 2 {
                    num(2, "MIN", true)?
                } else {
                    0.0
                };
                Schedule::Cosine {
                    rate,
                    total: steps(1, "TOTAL")?,
                    min_rate,
                }
            }
            "inverse" => {
                at_most(2)?;
                Schedule::InverseTime {
                    rate,
                    decay: num(1, "DECAY", true)?,
                }
            }
            "warmup" => {
                let steps = steps(1, "STEPS")?;
                let inner = if parts.len() > 2 {
                    parts[2..].join(":")
                } else {
                    "const".into()
                };
                if parts.get(2) == Some(&"warmup") {
                    return Err(format!(
                        "schedule '{}…': a warmup's inner schedule cannot be another warmup",
                        short()
                    ));
                }
                Schedule::Warmup {
                    steps,
                    then: Box::new(Schedule::parse(&inner, rate)?),
                }
            }
            other => {
                return Err(format!(
                "unknown schedule '{other}' (expected const, step, exp, cosine, inverse, warmup)"
            ))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_that_would_stall_reverse_or_blow_up_the_rate_are_refused() {
        for bad in [
            "cosine:0",
            "cosine:2.5",
            "cosine:-3",
            "cosine:100:-1",
            "cosine:100:inf",
            "step:0:10",
            "step:-1:5",
            "step:0.5:0",
            "exp:nan",
            "exp:0",
            "inverse:-1",
            "inverse:inf",
            "warmup:0",
            "warmup:5:cosine:0",
            "const:5",
            "exp:0.9:3",
            "step:0.5:10:2",
            "cosine:100:0:1",
        ] {
            assert!(Schedule::parse(bad, 0.1).is_err(), "{bad} was accepted");
        }
        for good in [
            "const",
            "cosine:1",
            "cosine:100:0",
            "step:2:1",
            "inverse:0",
            "warmup:1",
        ] {
            assert!(Schedule::parse(good, 0.1).is_ok(), "{good} was refused");
        }
    }

    #[test]
    fn schedules_give_expected_sequences() {
        let s = Schedule::Step {
            rate: 1.0,
            gamma: 0.5,
            every: 2,
        };
        let v: Vec<f64> = (1..=5).map(|k| s.at(k)).collect();
        assert_eq!(v, vec![1.0, 1.0, 0.5, 0.5, 0.25]);
        let c = Schedule::Cosine {
            rate: 1.0,
            min_rate: 0.0,
            total: 4,
        };
        assert!(
            (c.at(1) - 1.0).abs() < 1e-15 && (c.at(3) - 0.5).abs() < 1e-15 && c.at(5).abs() < 1e-15
        );
        let w = Schedule::parse("warmup:4", 2.0).unwrap();
        assert_eq!(
            (1..=6).map(|k| w.at(k)).collect::<Vec<_>>(),
            vec![0.5, 1.0, 1.5, 2.0, 2.0, 2.0]
        );
        assert!(Schedule::parse("bogus", 1.0).is_err());
    }
}
