//! A typed expression as an [`Objective`] with exact gradient and Hessian.

use super::Expr;
use crate::ad::{Dual, HyperDual, Scalar};
use crate::error::{Error, Result};
use crate::linalg::DenseMatrix;
use crate::problem::Objective;

/// Variables from which the gradient is taken by reverse mode: forward mode costs one dual
/// evaluation per variable, reverse mode about three plain evaluations and a tape.
const REVERSE_MODE_FROM: usize = 4;

/// `f(x) = expression`, differentiated exactly: the gradient by forward-mode AD (n dual
/// evaluations) for up to three variables and by reverse mode beyond; the Hessian by
/// n(n+1)/2 hyper-dual evaluations, `Hv` by n of them.
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
        if x.len() >= REVERSE_MODE_FROM {
            return self.expr.value_grad_reverse(x, g);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gradient_is_exact_in_both_modes() {
        // 3 variables (forward mode) and 6 (reverse mode): against the dual evaluation
        // along each coordinate.
        for src in [
            "(x1 - 1)^2 + x2*exp(x3) + sin(x1*x3)",
            "(x1 - 1)^2 + x2*exp(x3) + sin(x1*x3) + x4^3/x5 + sqrt(x6)",
        ] {
            let f = ExprObjective::parse(src).unwrap();
            let x: Vec<f64> = (1..=f.dim()).map(|i| 0.3 * i as f64).collect();
            let mut g = vec![0.0; x.len()];
            let value = f.value_grad(&x, &mut g);
            assert!((value - f.value(&x)).abs() <= 1e-15 * value.abs().max(1.0));
            for (j, gj) in g.iter().enumerate() {
                let xd: Vec<Dual> = x
                    .iter()
                    .enumerate()
                    .map(|(i, v)| Dual::new(*v, if i == j { 1.0 } else { 0.0 }))
                    .collect();
                let d = f.expr.eval(&xd).d;
                assert!((gj - d).abs() <= 1e-14 * d.abs().max(1.0), "{src}: {j}");
            }
        }
    }
}
