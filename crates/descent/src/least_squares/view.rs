//! A least-squares problem seen as the objective `f = Σ rᵢ²` by a line search, remembering
//! the residuals and the Jacobian of the last point it evaluated — so that a Gauss–Newton
//! step costs residuals for each trial and one Jacobian at the accepted point, no more.

use crate::linalg::{dot, DenseMatrix};
use crate::problem::{LeastSquares, Objective};
use std::cell::RefCell;

/// The last point evaluated and what is known there.
struct Cached {
    x: Vec<f64>,
    r: Vec<f64>,
    j: Option<DenseMatrix>,
}

/// `Σr²` over a least-squares problem, with a one-point cache.
pub struct ResidualView<'a> {
    problem: &'a dyn LeastSquares,
    cache: RefCell<Option<Cached>>,
}

impl<'a> ResidualView<'a> {
    /// A view of `problem` with an empty cache.
    pub fn new(problem: &'a dyn LeastSquares) -> Self {
        ResidualView {
            problem,
            cache: RefCell::new(None),
        }
    }

    /// The residuals and Jacobian of the last point evaluated with its gradient.
    pub fn take(self, x: &[f64]) -> Option<(Vec<f64>, DenseMatrix)> {
        let c = self.cache.into_inner()?;
        (c.x == x).then_some(())?;
        Some((c.r, c.j?))
    }

    /// Makes sure the cache holds the residuals at `x` (evaluating them if not).
    fn residuals_at(&self, x: &[f64]) {
        if self.cache.borrow().as_ref().is_some_and(|c| c.x == x) {
            return;
        }
        let mut r = vec![0.0; self.problem.residual_count()];
        self.problem.residuals(x, &mut r);
        *self.cache.borrow_mut() = Some(Cached {
            x: x.to_vec(),
            r,
            j: None,
        });
    }
}

impl Objective for ResidualView<'_> {
    fn dim(&self) -> usize {
        self.problem.dim()
    }
    fn value(&self, x: &[f64]) -> f64 {
        self.residuals_at(x);
        let cache = self.cache.borrow();
        let r = &cache.as_ref().expect("just filled").r;
        dot(r, r)
    }
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        self.residuals_at(x);
        let mut cache = self.cache.borrow_mut();
        let c = cache.as_mut().expect("just filled");
        let mut j = DenseMatrix::zeros(c.r.len(), x.len());
        self.problem.jacobian(x, &mut j);
        j.tr_mul_vec(&c.r, g);
        g.iter_mut().for_each(|v| *v *= 2.0);
        c.j = Some(j);
        dot(&c.r, &c.r)
    }
    fn lower_bound(&self) -> Option<f64> {
        Some(0.0)
    }
}
