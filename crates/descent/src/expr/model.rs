//! A model typed as an expression, fitted to data: residuals `rᵢ = yᵢ − model(b; xᵢ)`,
//! Jacobian by forward-mode AD (exact).

use super::Expr;
use crate::ad::{Dual, HyperDual, Scalar};
use crate::error::{Error, Result};
use crate::linalg::DenseMatrix;
use crate::problem::LeastSquares;

/// `y ≈ model(b; x)` over a data set: a [`LeastSquares`] problem in the parameters b.
#[derive(Clone, Debug)]
pub struct ExprModel {
    expr: Expr,
    params: Vec<String>,
    /// Column-major data: one vector per independent variable, in `inputs` order.
    inputs: Vec<String>,
    data: Vec<Vec<f64>>,
    y: Vec<f64>,
}

impl ExprModel {
    /// Binds `model` to parameters `params` and independent variables `inputs` (with
    /// their columns `data`) and responses `y`. Every variable of the model must be a
    /// parameter or an input.
    pub fn new(
        model: &str,
        params: &[String],
        inputs: &[String],
        data: Vec<Vec<f64>>,
        y: Vec<f64>,
    ) -> Result<Self> {
        let expr = Expr::parse(model)?;
        // A name bound twice would be read as one of its meanings only (a parameter
        // named as a column shadowed the column: the data were ignored).
        for (i, name) in params.iter().chain(inputs).enumerate() {
            if params.iter().chain(inputs).take(i).any(|m| m == name) {
                let what = if params.contains(name) && inputs.contains(name) {
                    "is both a parameter and a data column"
                } else if i < params.len() {
                    "is named twice among the parameters"
                } else {
                    "is named twice among the data columns"
                };
                return Err(Error::config("parameters", format!("'{name}' {what}")));
            }
        }
        for v in expr.variables() {
            if !params.contains(v) && !inputs.contains(v) {
                return Err(Error::Unknown {
                    kind: "model variable",
                    name: v.clone(),
                    hint: format!(
                        ": it is neither a parameter (given: {}) nor a data column (available: {})",
                        if params.is_empty() {
                            "none".into()
                        } else {
                            params.join(", ")
                        },
                        if inputs.is_empty() {
                            "none".into()
                        } else {
                            inputs.join(", ")
                        }
                    ),
                });
            }
        }
        for p in params {
            if !expr.variables().contains(p) {
                return Err(Error::config(
                    "parameters",
                    format!("'{p}' does not appear in the model '{model}'"),
                ));
            }
        }
        if data.len() != inputs.len() || data.iter().any(|c| c.len() != y.len()) {
            return Err(Error::config(
                "data",
                "every column must have one value per observation",
            ));
        }
        if y.is_empty() {
            return Err(Error::config("data", "no observations"));
        }
        for (name, col) in inputs
            .iter()
            .zip(&data)
            .chain(std::iter::once((&"response".to_string(), &y)))
        {
            if let Some(i) = col.iter().position(|v| !v.is_finite()) {
                return Err(Error::config(
                    "data",
                    format!(
                        "column '{name}' has a non-finite value in observation {}",
                        i + 1
                    ),
                ));
            }
        }
        let mut order: Vec<String> = params.to_vec();
        order.extend(inputs.iter().cloned());
        let expr = expr.with_variable_order(&order)?;
        Ok(ExprModel {
            expr,
            params: params.to_vec(),
            inputs: inputs.to_vec(),
            data,
            y,
        })
    }

    /// Parameter names, in order.
    pub fn params(&self) -> &[String] {
        &self.params
    }

    /// The same model on the observations `rows` alone (a worker's share of a fit whose
    /// rows are split across workers). `None` when `rows` is empty or runs past the data.
    pub fn rows(&self, rows: std::ops::Range<usize>) -> Option<ExprModel> {
        if rows.is_empty() || rows.end > self.y.len() {
            return None;
        }
        Some(ExprModel {
            expr: self.expr.clone(),
            params: self.params.clone(),
            inputs: self.inputs.clone(),
            data: self.data.iter().map(|c| c[rows.clone()].to_vec()).collect(),
            y: self.y[rows].to_vec(),
        })
    }

    /// The model's value at `b` for observation `i`.
    fn eval_at<T: Scalar>(&self, b: &[T], i: usize, vars: &mut Vec<T>) -> T {
        vars.clear();
        vars.extend_from_slice(b);
        vars.extend(self.data.iter().map(|c| T::cst(c[i])));
        self.expr.eval(vars)
    }
}

impl LeastSquares for ExprModel {
    fn dim(&self) -> usize {
        self.params.len()
    }
    fn residual_count(&self) -> usize {
        self.y.len()
    }
    fn residuals(&self, b: &[f64], r: &mut [f64]) {
        let mut vars = Vec::with_capacity(self.params.len() + self.inputs.len());
        for (i, ri) in r.iter_mut().enumerate() {
            *ri = self.y[i] - self.eval_at(b, i, &mut vars);
        }
    }
    fn jacobian(&self, b: &[f64], j: &mut DenseMatrix) {
        let n = b.len();
        let mut bd: Vec<Dual> = b.iter().map(|v| Dual::cst(*v)).collect();
        let mut vars = Vec::with_capacity(n + self.inputs.len());
        for c in 0..n {
            bd[c].d = 1.0;
            for i in 0..self.y.len() {
                j.set(i, c, -self.eval_at(&bd, i, &mut vars).d);
            }
            bd[c].d = 0.0;
        }
    }
    fn second_directional(&self, b: &[f64], v: &[f64], out: &mut [f64]) {
        // Exact: a hyper-dual with both tangents v gives vᵀ∇²model v.
        let bd: Vec<HyperDual> = b
            .iter()
            .zip(v)
            .map(|(x, t)| HyperDual::new(*x, *t, *t))
            .collect();
        let mut vars = Vec::with_capacity(b.len() + self.inputs.len());
        for (i, o) in out.iter_mut().enumerate() {
            *o = -self.eval_at(&bd, i, &mut vars).ab;
        }
    }
    fn has_exact_second_directional(&self) -> bool {
        true
    }
}
