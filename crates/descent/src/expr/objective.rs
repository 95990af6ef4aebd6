//! A typed expression as an [`Objective`] with exact gradient and Hessian.

use super::Expr;
use crate::ad::{Dual, HyperDual, Scalar};
use crate::error::{Error, Result};
use crate::linalg::DenseMatrix;
use crate::problem::Objective;

/// `f(x) = expression`, differentiated by forward-mode AD: the gradient costs n dual
/// evaluations, the Hessian n(n+1)/2 hyper-dual evaluations, `Hv` n of them.
#[derive(Clone, Debug)]
pub struct ExprObjective {
    expr: Expr,
}

impl ExprObjective {
    /// Parses an objective. It must have at least one variable.
    pub fn parse(src: &str) -> Result<Self> {
        let expr = Expr::parse(src)?;
        if expr.variables().is_empty() {
            return Err(Error::Parse(format!(
                "expression '{src}' has no variables to minimize over"
            )));
        }
        Ok(ExprObjective { expr })
    }
    /// Variable names.
    pub fn variables(&self) -> &[String] {
        self.expr.variables()
    }
}

impl Objective for ExprObjective {
    fn dim(&self) -> usize {
        self.expr.variables().len()
    }
    fn value(&self, x: &[f64]) -> f64 {
        self.expr.eval(x)
    }
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        let mut xd: Vec<Dual> = x.iter().map(|v| Dual::cst(*v)).collect();
        let mut f = f64::NAN;
        for j in 0..x.len() {
            xd[j].d = 1.0;
            let r = self.expr.eval(&xd);
            xd[j].d = 0.0;
            g[j] = r.d;
            f = r.v;
        }
        f
    }
    fn has_exact_hessian(&self) -> bool {
        true
    }
    fn hessian(&self, x: &[f64], h: &mut DenseMatrix) {
        let base: Vec<HyperDual> = x.iter().map(|v| HyperDual::cst(*v)).collect();
        for a in 0..x.len() {
            for b in a..x.len() {
                let mut xd = base.clone();
                xd[a].a = 1.0;
                xd[b].b = 1.0;
                let v = self.expr.eval(&xd).ab;
                h.set(a, b, v);
                h.set(b, a, v);
            }
        }
    }
    fn hess_vec(&self, x: &[f64], v: &[f64], out: &mut [f64]) {
        let mut xd: Vec<HyperDual> = x
            .iter()
            .zip(v)
            .map(|(xi, vi)| HyperDual::new(*xi, 0.0, *vi))
            .collect();
        for j in 0..x.len() {
            xd[j].a = 1.0;
            out[j] = self.expr.eval(&xd).ab;
            xd[j].a = 0.0;
        }
    }
}
