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
        let num = |i: usize, what: &str| -> Result<f64, String> {
            parts
                .get(i)
                .ok_or_else(|| format!("schedule '{spec}' needs {what}"))?
                .parse::<f64>()
                .map_err(|_| format!("schedule '{spec}': {what} is not a number"))
        };
        Ok(match parts[0] {
            "const" | "constant" => Schedule::Constant(rate),
            "step" => Schedule::Step {
                rate,
                gamma: num(1, "GAMMA")?,
                every: num(2, "EVERY")? as u64,
            },
            "exp" | "exponential" => Schedule::Exponential {
                rate,
                gamma: num(1, "GAMMA")?,
            },
            "cosine" => Schedule::Cosine {
                rate,
                total: num(1, "TOTAL")? as u64,
                min_rate: if parts.len() > 2 { num(2, "MIN")? } else { 0.0 },
            },
            "inverse" => Schedule::InverseTime {
                rate,
                decay: num(1, "DECAY")?,
            },
            "warmup" => {
                let steps = num(1, "STEPS")? as u64;
                let inner = if parts.len() > 2 {
                    parts[2..].join(":")
                } else {
                    "const".into()
                };
                if parts.get(2) == Some(&"warmup") {
                    return Err(format!(
                        "schedule '{}…': a warmup's inner schedule cannot be another warmup",
                        spec.chars().take(40).collect::<String>()
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
