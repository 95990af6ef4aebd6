//! Numerical faults: from some evaluation on, the problem answers NaN or infinity (in the
//! value, the gradient, the residuals or the Jacobian). Every method of the registry ends
//! its run — no panic, no error, no hang — at a finite point with a finite value, and does
//! not claim to have converged past the fault.

use descent::least_squares::{minimize_least_squares, FitOptions};
use descent::linalg::DenseMatrix;
use descent::method::AppliesTo;
use descent::problems::mgh::MghProblem;
use descent::{minimize, LeastSquares, MethodSpec, NoObserver, Objective, Options, REGISTRY};
use std::cell::Cell;

/// What the fault puts where.
#[derive(Clone, Copy, Debug)]
enum Fault {
    NanValue,
    InfGradient,
    NanResiduals,
    InfJacobian,
}

/// A problem that turns faulty at its `after`-th evaluation and stays so.
struct Faulty<'a> {
    inner: &'a MghProblem,
    after: usize,
    calls: Cell<usize>,
    fault: Fault,
}

impl Faulty<'_> {
    fn faulty(&self) -> bool {
        let c = self.calls.get() + 1;
        self.calls.set(c);
        c > self.after
    }
}

impl Objective for Faulty<'_> {
    fn dim(&self) -> usize {
        Objective::dim(self.inner)
    }
    fn value(&self, x: &[f64]) -> f64 {
        let v = Objective::value(self.inner, x);
        match (self.faulty(), self.fault) {
            (true, Fault::NanValue) => f64::NAN,
            _ => v,
        }
    }
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        let v = self.inner.value_grad(x, g);
        match (self.faulty(), self.fault) {
            (true, Fault::NanValue) => f64::NAN,
            (true, _) => {
                g[0] = f64::INFINITY;
                v
            }
            _ => v,
        }
    }
}

impl LeastSquares for Faulty<'_> {
    fn dim(&self) -> usize {
        LeastSquares::dim(self.inner)
    }
    fn residual_count(&self) -> usize {
        self.inner.residual_count()
    }
    fn residuals(&self, x: &[f64], r: &mut [f64]) {
        self.inner.residuals(x, r);
        if self.faulty() && matches!(self.fault, Fault::NanResiduals) {
            r[0] = f64::NAN;
        }
    }
    fn jacobian(&self, x: &[f64], j: &mut DenseMatrix) {
        self.inner.jacobian(x, j);
        if self.faulty() && matches!(self.fault, Fault::InfJacobian) {
            j.data[0] = f64::INFINITY;
        }
    }
}

/// The run ended without an error, at a finite point with a finite value.
fn finite_end(
    s: descent::Result<descent::Summary>,
    method: &str,
    fault: Fault,
    after: usize,
) -> descent::Summary {
    let s = s.unwrap_or_else(|e| panic!("{method} ({fault:?} after {after}): {e}"));
    assert!(
        s.f.is_finite() && s.x.iter().all(|v| v.is_finite()),
        "{method} ({fault:?} after {after}): {:?} f = {}",
        s.x,
        s.f
    );
    s
}

#[test]
fn every_method_ends_at_a_finite_point_when_the_problem_turns_faulty() {
    let p = MghProblem::parse("rosenbrock").unwrap();
    let x0 = p.x0();
    let mut runs = 0;
    for info in REGISTRY {
        let spec = MethodSpec::new(info.name);
        for after in [3, 10] {
            if info.applies(AppliesTo::Objective) {
                for fault in [Fault::NanValue, Fault::InfGradient] {
                    let f = Faulty {
                        inner: &p,
                        after,
                        calls: Cell::new(0),
                        fault,
                    };
                    let mut m = spec.build().unwrap();
                    let opts = Options {
                        max_iter: 2000,
                        ..spec.default_options()
                    };
                    let s = minimize(&f, m.as_mut(), &x0, &opts, &mut NoObserver);
                    let s = finite_end(s, info.name, fault, after);
                    // Rosenbrock's minimum is not reached in 3 evaluations.
                    if after == 3 {
                        assert!(
                            s.f > 1e-6,
                            "{} claims f = {} through the fault",
                            info.name,
                            s.f
                        );
                    }
                    runs += 1;
                }
            }
            if info.applies(AppliesTo::LeastSquares) {
                for fault in [Fault::NanResiduals, Fault::InfJacobian] {
                    let f = Faulty {
                        inner: &p,
                        after,
                        calls: Cell::new(0),
                        fault,
                    };
                    let fo = FitOptions::default();
                    let mut m = spec.build_least_squares(&spec.fit_options(&fo)).unwrap();
                    let s = minimize_least_squares(
                        &f,
                        m.as_mut(),
                        descent::Start::At(&x0),
                        &fo.driver_options(),
                        &mut NoObserver,
                    );
                    finite_end(s, info.name, fault, after);
                    runs += 1;
                }
            }
        }
    }
    assert!(runs > 100, "{runs}");
}
