//! The same problems and methods in descent and in argmin (the peer), for the comparison
//! bench and the evaluation-count test. Both sides get the same analytic gradients and
//! Hessians and the same gradient tolerance value (descent tests the max-norm of the
//! gradient, argmin the 2-norm).

#![allow(dead_code)]

use argmin::core::{CostFunction, Executor, Gradient, Hessian, State};
use argmin::solver::conjugategradient::{beta::PolakRibierePlus, NonlinearConjugateGradient};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::newton::Newton as ArgminNewton;
use argmin::solver::quasinewton::{BFGS, LBFGS};
use descent::linalg::DenseMatrix;
use descent::{minimize, MethodSpec, NoObserver, Objective, Options};
use nalgebra::{DMatrix, DVector};

/// Extended Rosenbrock, f = Σ 100(x₂ᵢ − x₂ᵢ₋₁²)² + (1 − x₂ᵢ₋₁)², with analytic derivatives.
#[derive(Clone, Copy)]
pub struct ExtRosenbrock {
    pub n: usize,
}

impl ExtRosenbrock {
    pub fn x0(&self) -> Vec<f64> {
        (0..self.n)
            .map(|i| if i % 2 == 0 { -1.2 } else { 1.0 })
            .collect()
    }
    fn f(&self, x: &[f64]) -> f64 {
        x.chunks(2)
            .map(|p| 100.0 * (p[1] - p[0] * p[0]).powi(2) + (1.0 - p[0]).powi(2))
            .sum()
    }
    fn g(&self, x: &[f64], g: &mut [f64]) {
        for (p, q) in x.chunks(2).zip(g.chunks_mut(2)) {
            let t = p[1] - p[0] * p[0];
            q[0] = -400.0 * t * p[0] - 2.0 * (1.0 - p[0]);
            q[1] = 200.0 * t;
        }
    }
    fn h(&self, x: &[f64], h: &mut dyn FnMut(usize, usize, f64)) {
        for (k, p) in x.chunks(2).enumerate() {
            let i = 2 * k;
            h(i, i, 1200.0 * p[0] * p[0] - 400.0 * p[1] + 2.0);
            h(i, i + 1, -400.0 * p[0]);
            h(i + 1, i, -400.0 * p[0]);
            h(i + 1, i + 1, 200.0);
        }
    }
}

impl Objective for ExtRosenbrock {
    fn dim(&self) -> usize {
        self.n
    }
    fn value(&self, x: &[f64]) -> f64 {
        self.f(x)
    }
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        self.g(x, g);
        self.f(x)
    }
    fn has_exact_hessian(&self) -> bool {
        true
    }
    fn hessian(&self, x: &[f64], h: &mut DenseMatrix) {
        h.data.iter_mut().for_each(|v| *v = 0.0);
        self.h(x, &mut |i, j, v| h.set(i, j, v));
    }
}

impl CostFunction for ExtRosenbrock {
    type Param = DVector<f64>;
    type Output = f64;
    fn cost(&self, p: &Self::Param) -> Result<f64, argmin::core::Error> {
        Ok(self.f(p.as_slice()))
    }
}
impl Gradient for ExtRosenbrock {
    type Param = DVector<f64>;
    type Gradient = DVector<f64>;
    fn gradient(&self, p: &Self::Param) -> Result<Self::Gradient, argmin::core::Error> {
        let mut g = vec![0.0; self.n];
        self.g(p.as_slice(), &mut g);
        Ok(DVector::from_vec(g))
    }
}
impl Hessian for ExtRosenbrock {
    type Param = DVector<f64>;
    type Hessian = DMatrix<f64>;
    fn hessian(&self, p: &Self::Param) -> Result<Self::Hessian, argmin::core::Error> {
        let mut m = DMatrix::zeros(self.n, self.n);
        self.h(p.as_slice(), &mut |i, j, v| m[(i, j)] = v);
        Ok(m)
    }
}

/// The same problem over ndarray, for argmin's BFGS (whose outer products the nalgebra
/// backend does not provide).
#[derive(Clone, Copy)]
pub struct NdRosenbrock(pub ExtRosenbrock);

impl CostFunction for NdRosenbrock {
    type Param = ndarray::Array1<f64>;
    type Output = f64;
    fn cost(&self, p: &Self::Param) -> Result<f64, argmin::core::Error> {
        Ok(self.0.f(p.as_slice().expect("contiguous")))
    }
}
impl Gradient for NdRosenbrock {
    type Param = ndarray::Array1<f64>;
    type Gradient = ndarray::Array1<f64>;
    fn gradient(&self, p: &Self::Param) -> Result<Self::Gradient, argmin::core::Error> {
        let mut g = vec![0.0; self.0.n];
        self.0.g(p.as_slice().expect("contiguous"), &mut g);
        Ok(ndarray::Array1::from_vec(g))
    }
}

/// What one run cost.
#[derive(Debug, Clone, Copy)]
pub struct Work {
    pub f: f64,
    pub cost_evals: u64,
    pub grad_evals: u64,
    pub hess_evals: u64,
}

pub const GTOL: f64 = 1e-8;
pub const METHODS: [&str; 4] = ["lbfgs", "bfgs", "cg", "newton"];

pub fn run_descent(p: &ExtRosenbrock, method: &str) -> Work {
    let mut m = MethodSpec::new(method).build().unwrap();
    let opts = Options {
        gtol: GTOL,
        ..Options::default()
    };
    let s = minimize(p, m.as_mut(), &p.x0(), &opts, &mut NoObserver).unwrap();
    Work {
        f: s.f,
        cost_evals: s.counts.f_evals,
        grad_evals: s.counts.g_evals,
        hess_evals: s.counts.h_evals,
    }
}

fn work<S: State<Float = f64>>(st: &S) -> Work {
    let counts = st.get_func_counts();
    let get = |k: &str| counts.get(k).copied().unwrap_or(0);
    Work {
        f: st.get_best_cost(),
        cost_evals: get("cost_count"),
        grad_evals: get("gradient_count"),
        hess_evals: get("hessian_count"),
    }
}

pub fn run_argmin(p: &ExtRosenbrock, method: &str) -> Work {
    let x0 = DVector::from_vec(p.x0());
    match method {
        "lbfgs" => {
            let ls = MoreThuenteLineSearch::new().with_c(1e-4, 0.9).unwrap();
            let s = LBFGS::new(ls, 10)
                .with_tolerance_grad(GTOL)
                .unwrap()
                .with_tolerance_cost(0.0)
                .unwrap();
            work(
                &Executor::new(*p, s)
                    .configure(|st| st.param(x0).counting(true).max_iters(10_000))
                    .run()
                    .unwrap()
                    .state,
            )
        }
        "bfgs" => {
            let ls = MoreThuenteLineSearch::new().with_c(1e-4, 0.9).unwrap();
            let s = BFGS::new(ls)
                .with_tolerance_grad(GTOL)
                .unwrap()
                .with_tolerance_cost(0.0)
                .unwrap();
            let h0 = ndarray::Array2::<f64>::eye(p.n);
            let x0 = ndarray::Array1::from_vec(p.x0());
            work(
                &Executor::new(NdRosenbrock(*p), s)
                    .configure(|st| {
                        st.param(x0)
                            .counting(true)
                            .inv_hessian(h0)
                            .max_iters(10_000)
                    })
                    .run()
                    .unwrap()
                    .state,
            )
        }
        "cg" => {
            // argmin's nonlinear CG has no gradient test: stop it on the cost instead, at
            // a value below what the gradient tolerance implies.
            let ls = MoreThuenteLineSearch::new().with_c(1e-4, 0.1).unwrap();
            let s = NonlinearConjugateGradient::new(ls, PolakRibierePlus::new())
                .restart_iters(p.n as u64)
                .restart_orthogonality(0.2);
            work(
                &Executor::new(*p, s)
                    .configure(|st| {
                        st.param(x0)
                            .counting(true)
                            .max_iters(10_000)
                            .target_cost(1e-16)
                    })
                    .run()
                    .unwrap()
                    .state,
            )
        }
        "newton" => {
            let k = argmin_newton_iterations(p);
            run_argmin_newton(p, k)
        }
        _ => unreachable!(),
    }
}

/// argmin's Newton takes full steps and has no stopping test: the fewest iterations after
/// which its iterate meets the gradient tolerance (found once, outside any timing).
pub fn argmin_newton_iterations(p: &ExtRosenbrock) -> u64 {
    (1..100)
        .find(|&k| {
            let w = run_argmin_newton(p, k);
            w.f.is_finite() && {
                let x = argmin_newton_point(p, k);
                let mut g = vec![0.0; p.n];
                p.g(&x, &mut g);
                g.iter().map(|v| v * v).sum::<f64>().sqrt() <= GTOL
            }
        })
        .unwrap_or(100)
}

fn argmin_newton_point(p: &ExtRosenbrock, k: u64) -> Vec<f64> {
    let st = Executor::new(*p, ArgminNewton::<f64>::new())
        .configure(|st| st.param(DVector::from_vec(p.x0())).max_iters(k))
        .run()
        .unwrap()
        .state;
    st.get_param().expect("param").as_slice().to_vec()
}

/// `k` iterations of argmin's Newton, plus the one gradient a stopping test needs.
pub fn run_argmin_newton(p: &ExtRosenbrock, k: u64) -> Work {
    let st = Executor::new(*p, ArgminNewton::<f64>::new())
        .configure(|st| {
            st.param(DVector::from_vec(p.x0()))
                .counting(true)
                .max_iters(k)
        })
        .run()
        .unwrap()
        .state;
    let x = st.get_param().expect("param");
    let mut g = vec![0.0; p.n];
    p.g(x.as_slice(), &mut g);
    let mut w = work(&st);
    w.f = p.f(x.as_slice());
    w.grad_evals += 1;
    w
}
