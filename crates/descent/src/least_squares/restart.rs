//! A second attempt from the start when the first does not converge.
//!
//! Levenberg–Marquardt with MINPACK's running-maximum scaling and with Marquardt's
//! current-column scaling follow different paths through curved valleys (NIST's MGH10
//! from start 1 needs the second). [`Restarted`] runs `first` for at most
//! `first_iterations`; if it stops without converging, `second` starts again from the
//! original point within what is left of the driver's budget, and the run ends at the
//! better of the two (the driver keeps the best point).

use crate::driver::{
    state_from_json, state_to_json, Iterate, Minimizer, ProblemKind, StepOutcome, Termination,
};
use crate::error::Result;
use serde::{Deserialize, Serialize};

/// Where a [`Restarted`] run is.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
enum Phase {
    First {
        iterations: u64,
    },
    Second {
        first_f: f64,
        first_stop: Termination,
    },
}

/// Runs `first`, then `second` from the same start if `first` did not converge.
pub struct Restarted<A, B> {
    /// The first attempt.
    pub first: A,
    /// The second attempt.
    pub second: B,
    /// Iterations the first attempt may take.
    pub first_iterations: u64,
    x0: Vec<f64>,
    phase: Phase,
}

impl<A, B> Restarted<A, B> {
    /// `first` for at most `first_iterations`, then `second`.
    pub fn new(first: A, second: B, first_iterations: u64) -> Self {
        Restarted {
            first,
            second,
            first_iterations,
            x0: Vec::new(),
            phase: Phase::First { iterations: 0 },
        }
    }
}

/// Starts the second attempt from the original point; the first ended at `it.f`. When the
/// problem is no longer finite at the start (it turned faulty on the way), there is no
/// second attempt: `Some(first_stop)`, the run ends where the first one did.
fn restart<K: ProblemKind, B: Minimizer<K>>(
    second: &mut B,
    x0: &[f64],
    phase: &mut Phase,
    problem: &K::Problem<'_>,
    it: &mut Iterate,
    first_stop: Termination,
) -> Result<Option<Termination>> {
    let start = match second.init(problem, x0) {
        Err(crate::error::Error::NonFiniteStart(_)) => return Ok(Some(first_stop)),
        other => other?,
    };
    if !start.f.is_finite() || !crate::linalg::all_finite(&start.g) {
        return Ok(Some(first_stop));
    }
    *phase = Phase::Second {
        first_f: it.f,
        first_stop,
    };
    *it = start;
    Ok(None)
}

/// The saved form of a [`Restarted`] run.
#[derive(Serialize, Deserialize)]
struct RestartState {
    x0: Vec<f64>,
    phase: Phase,
    first_iterations: u64,
    method: serde_json::Value,
}

impl<K, A, B> Minimizer<K> for Restarted<A, B>
where
    K: ProblemKind,
    A: Minimizer<K>,
    B: Minimizer<K>,
{
    fn name(&self) -> String {
        self.first.name()
    }

    fn init(&mut self, problem: &K::Problem<'_>, x0: &[f64]) -> Result<Iterate> {
        self.x0 = x0.to_vec();
        self.phase = Phase::First { iterations: 0 };
        self.first.init(problem, x0)
    }

    fn stop_test(&self, it: &Iterate) -> Option<Termination> {
        match &self.phase {
            // The first attempt's tests are convergence tests: no restart after them.
            Phase::First { .. } => self.first.stop_test(it),
            Phase::Second {
                first_f,
                first_stop,
            } => self.second.stop_test(it).map(|t| {
                // The run ends at the better attempt, with that attempt's reason.
                if it.f <= *first_f {
                    t
                } else {
                    *first_stop
                }
            }),
        }
    }

    fn step(&mut self, problem: &K::Problem<'_>, it: &mut Iterate) -> Result<StepOutcome> {
        if let Phase::First { iterations } = self.phase {
            if iterations >= self.first_iterations {
                if let Some(t) = restart(
                    &mut self.second,
                    &self.x0,
                    &mut self.phase,
                    problem,
                    it,
                    Termination::MaxIterations,
                )? {
                    return Ok(StepOutcome::Stop(t));
                }
            } else {
                self.phase = Phase::First {
                    iterations: iterations + 1,
                };
                return match self.first.step(problem, it)? {
                    StepOutcome::Stop(t) if !t.converged() => {
                        match restart(&mut self.second, &self.x0, &mut self.phase, problem, it, t)?
                        {
                            Some(t) => Ok(StepOutcome::Stop(t)),
                            // The iterate moved back to the start.
                            None => Ok(StepOutcome::Rejected),
                        }
                    }
                    outcome => Ok(outcome),
                };
            }
        }
        let Phase::Second {
            first_f,
            first_stop,
        } = self.phase
        else {
            unreachable!("the first phase returned above")
        };
        Ok(match self.second.step(problem, it)? {
            // The run ends at the first attempt's point, with its reason.
            StepOutcome::Stop(_) if it.f > first_f => StepOutcome::Stop(first_stop),
            outcome => outcome,
        })
    }

    fn monotone(&self) -> bool {
        self.first.monotone() && self.second.monotone()
    }

    fn extra(&self) -> Vec<(&'static str, f64)> {
        match self.phase {
            Phase::First { .. } => self.first.extra(),
            Phase::Second { .. } => {
                let mut e = self.second.extra();
                e.push(("restarted", 1.0));
                e
            }
        }
    }

    fn save_state(&self) -> Result<serde_json::Value> {
        let method = match self.phase {
            Phase::First { .. } => self.first.save_state()?,
            Phase::Second { .. } => self.second.save_state()?,
        };
        state_to_json(&RestartState {
            x0: self.x0.clone(),
            phase: self.phase,
            first_iterations: self.first_iterations,
            method,
        })
    }

    fn load_state(&mut self, state: &serde_json::Value) -> Result<()> {
        let s: RestartState = state_from_json(state)?;
        match s.phase {
            Phase::First { .. } => self.first.load_state(&s.method)?,
            Phase::Second { .. } => self.second.load_state(&s.method)?,
        }
        self.x0 = s.x0;
        self.phase = s.phase;
        self.first_iterations = s.first_iterations;
        Ok(())
    }

    fn complete(&mut self, problem: &K::Problem<'_>, it: &mut Iterate) {
        match self.phase {
            Phase::First { .. } => self.first.complete(problem, it),
            Phase::Second { .. } => self.second.complete(problem, it),
        }
    }

    fn check_restored(&self, dims: crate::driver::Dims) -> Result<()> {
        dims.vector("restart point", &self.x0)?;
        match self.phase {
            Phase::First { .. } => self.first.check_restored(dims),
            Phase::Second { .. } => self.second.check_restored(dims),
        }
    }

    fn dense_values(&self, dims: crate::driver::Dims) -> u128 {
        self.first
            .dense_values(dims)
            .max(self.second.dense_values(dims))
    }
}
