//! Reverse-mode differentiation of an expression: one forward pass that keeps every
//! intermediate value, one backward pass that carries the adjoints ∂f/∂node from the
//! result to the variables (Griewank & Walther, *Evaluating Derivatives*, 2nd ed., §3.2).
//! The gradient then costs a small multiple of one evaluation whatever the number of
//! variables, where forward mode costs one dual evaluation per variable.
//!
//! Values follow the forward-mode evaluation exactly (a power with a constant exponent as
//! [`crate::ad::Scalar::pow`] takes it: `powi` for an integer, `exp(c·ln x)` otherwise), so
//! the two modes differ only by the rounding of the derivatives.

use super::parse::{Expr, Func, Op};
use crate::linalg::sign;

/// One node of the evaluated program: its value and the nodes it was computed from.
struct Node {
    value: f64,
    args: [usize; 2],
    /// Whether the node depends on no variable (a power's exponent is then a constant).
    constant: bool,
}

impl Expr {
    /// `f(x)` and its gradient into `g`, by reverse mode.
    pub fn value_grad_reverse(&self, x: &[f64], g: &mut [f64]) -> f64 {
        let program = self.program();
        let mut nodes: Vec<Node> = Vec::with_capacity(program.len());
        let mut stack: Vec<usize> = Vec::new();
        for op in program {
            let node = match op {
                Op::Num(v) => leaf(*v, true),
                Op::Var(i) => leaf(x[*i], false),
                Op::Neg | Op::Call(_) => {
                    let a = stack.pop().expect("valid program");
                    let va = nodes[a].value;
                    let value = match op {
                        Op::Call(f) => f.apply(va),
                        _ => -va,
                    };
                    Node {
                        value,
                        args: [a, a],
                        constant: nodes[a].constant,
                    }
                }
                _ => {
                    let b = stack.pop().expect("valid program");
                    let a = stack.pop().expect("valid program");
                    let (va, vb) = (nodes[a].value, nodes[b].value);
                    let value = match op {
                        Op::Add => va + vb,
                        Op::Sub => va - vb,
                        Op::Mul => va * vb,
                        Op::Div => va / vb,
                        _ if nodes[b].constant => constant_power(va, vb),
                        _ => (vb * va.ln()).exp(),
                    };
                    Node {
                        value,
                        args: [a, b],
                        constant: nodes[a].constant && nodes[b].constant,
                    }
                }
            };
            stack.push(nodes.len());
            nodes.push(node);
        }
        g.fill(0.0);
        let Some(last) = stack.pop() else {
            return f64::NAN;
        };
        let mut adjoint = vec![0.0; nodes.len()];
        adjoint[last] = 1.0;
        for (k, op) in program.iter().enumerate().rev() {
            let w = adjoint[k];
            if nodes[k].constant {
                continue;
            }
            let Node { value: v, args, .. } = nodes[k];
            let [a, b] = args;
            let (va, vb) = (nodes[a].value, nodes[b].value);
            match op {
                Op::Num(_) => {}
                Op::Var(i) => g[*i] += w,
                Op::Neg => adjoint[a] -= w,
                Op::Call(f) => adjoint[a] += w * derivative(*f, va, v),
                Op::Add => {
                    adjoint[a] += w;
                    adjoint[b] += w;
                }
                Op::Sub => {
                    adjoint[a] += w;
                    adjoint[b] -= w;
                }
                Op::Mul => {
                    adjoint[a] += w * vb;
                    adjoint[b] += w * va;
                }
                Op::Div => {
                    adjoint[a] += w / vb;
                    adjoint[b] -= w * v / vb;
                }
                Op::Pow if nodes[b].constant => adjoint[a] += w * constant_power_slope(va, vb, v),
                Op::Pow => {
                    // v = exp(b·ln a): ∂v/∂a = v·b/a, ∂v/∂b = v·ln a.
                    adjoint[a] += w * v * vb / va;
                    adjoint[b] += w * v * va.ln();
                }
            }
        }
        nodes[last].value
    }
}

fn leaf(value: f64, constant: bool) -> Node {
    Node {
        value,
        args: [0, 0],
        constant,
    }
}

/// `x^c` for a constant `c`, as forward mode evaluates it (valid for negative `x` when `c`
/// is an integer).
fn constant_power(x: f64, c: f64) -> f64 {
    if c.fract() == 0.0 && c.abs() < i32::MAX as f64 {
        x.powi(c as i32)
    } else {
        (c * x.ln()).exp()
    }
}

/// `d/dx x^c` at `x` (with `v = x^c`), as forward mode differentiates it.
fn constant_power_slope(x: f64, c: f64, v: f64) -> f64 {
    if c.fract() == 0.0 && c.abs() < i32::MAX as f64 {
        let k = c as i32;
        if k == 0 {
            0.0
        } else {
            k as f64 * x.powi(k - 1)
        }
    } else {
        v * c / x
    }
}

/// `f'(a)` where `v = f(a)`.
fn derivative(f: Func, a: f64, v: f64) -> f64 {
    match f {
        Func::Exp => v,
        Func::Ln => 1.0 / a,
        Func::Sqrt => 0.5 / v,
        Func::Sin => a.cos(),
        Func::Cos => -a.sin(),
        Func::Tan => 1.0 + v * v,
        Func::Tanh => 1.0 - v * v,
        Func::Atan => 1.0 / (1.0 + a * a),
        Func::Abs => sign(a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ad::{Dual, Scalar};

    /// The gradient by forward mode, one dual evaluation per variable.
    fn forward_gradient(e: &Expr, x: &[f64]) -> Vec<f64> {
        let mut xd: Vec<Dual> = x.iter().map(|v| Dual::cst(*v)).collect();
        (0..x.len())
            .map(|j| {
                xd[j].d = 1.0;
                let d = e.eval(&xd).d;
                xd[j].d = 0.0;
                d
            })
            .collect()
    }

    #[test]
    fn reverse_mode_matches_forward_mode_on_every_operation() {
        let cases: &[(&str, &[f64])] = &[
            ("x1 + x2 - x3 * x4 / x5", &[1.0, -2.0, 3.0, 0.5, 1.5]),
            ("-x1^3 + x2^-2 + x3^0 + x1^2.5", &[1.3, -0.7, 2.0]),
            ("x1^x2 + x2^(x1 + 1)", &[1.7, 0.6]),
            (
                "exp(x1) + ln(x2) + sqrt(x3) + sin(x1*x2) + cos(x3)",
                &[0.3, 2.0, 4.0],
            ),
            (
                "tan(x1) + tanh(x2) + atan(x3) + abs(x1 - x2) + abs(-x3)",
                &[0.4, -1.2, 3.0],
            ),
            ("(x1*x1 + x2)^2 * exp(-x1) / (1 + x2^2)", &[0.8, -0.3]),
            ("2^x1 + pi*x2 + e", &[1.5, 2.0]),
        ];
        for (src, x) in cases {
            let e = Expr::parse(src).unwrap();
            let mut g = vec![f64::NAN; x.len()];
            let f = e.value_grad_reverse(x, &mut g);
            let f_forward = e
                .eval(&x.iter().map(|v| Dual::cst(*v)).collect::<Vec<_>>())
                .v;
            assert_eq!(f.to_bits(), f_forward.to_bits(), "{src}: value");
            for (j, (r, d)) in g.iter().zip(forward_gradient(&e, x)).enumerate() {
                assert!(
                    (r - d).abs() <= 1e-13 * (1.0 + d.abs()),
                    "{src}: ∂/∂x{}: reverse {r}, forward {d}",
                    j + 1
                );
            }
        }
    }

    #[test]
    fn a_variable_that_does_not_appear_has_a_zero_gradient() {
        let e = Expr::parse("x3^2 + x1").unwrap();
        let mut g = vec![f64::NAN; 3];
        let f = e.value_grad_reverse(&[1.0, 5.0, 2.0], &mut g);
        assert_eq!((f, g), (5.0, vec![1.0, 0.0, 4.0]));
    }
}
