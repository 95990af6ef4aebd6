//! Every exact derivative is checked against central finite differences: MGH gradients,
//! Jacobians, Hessians and Hessian-vector products, and typed expressions.

#![allow(clippy::needless_range_loop)] // index loops mirror the matrix formulas

use descent::expr::ExprObjective;
use descent::linalg::DenseMatrix;
use descent::problem::{finite_difference_hessian, Objective};
use descent::problems::mgh::{names, MghProblem};
use descent::LeastSquares;
use proptest::prelude::*;

fn close(a: f64, b: f64, scale: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * (scale.max(1.0))
}

/// A point near the standard start (perturbed), where everything is finite.
fn test_point(p: &MghProblem, seed: u64) -> Vec<f64> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    p.x0()
        .iter()
        .map(|v| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = ((s >> 11) as f64 / (1u64 << 53) as f64) - 0.5;
            v + 0.1 * u * v.abs().max(0.5)
        })
        .collect()
}

fn small_instance(name: &str) -> MghProblem {
    match name {
        "extended-rosenbrock" | "extended-powell" => MghProblem::new(name, Some(8), None).unwrap(),
        _ => MghProblem::new(name, None, None).unwrap(),
    }
}

#[test]
fn mgh_gradients_match_finite_differences() {
    for name in names() {
        let p = small_instance(name);
        for seed in 0..3 {
            let x = test_point(&p, seed);
            let mut g = vec![0.0; p.n];
            let f = p.value_grad(&x, &mut g);
            assert!(
                (f - p.value(&x)).abs() <= 1e-12 * f.abs().max(1.0),
                "{name}: value"
            );
            for j in 0..p.n {
                let h = 1e-6 * x[j].abs().max(1.0);
                let mut xp = x.clone();
                xp[j] += h;
                let mut xm = x.clone();
                xm[j] -= h;
                let fd = (p.value(&xp) - p.value(&xm)) / (2.0 * h);
                let scale = g[j].abs().max(f.abs() / h * 1e-9);
                assert!(
                    close(g[j], fd, scale, 1e-6),
                    "{name} seed {seed}: dg[{j}] = {} vs fd {fd}",
                    g[j]
                );
            }
        }
    }
}

#[test]
fn mgh_jacobians_match_finite_differences() {
    for name in names() {
        let p = small_instance(name);
        let x = test_point(&p, 7);
        let mut jac = DenseMatrix::zeros(p.m, p.n);
        p.jacobian(&x, &mut jac);
        let (mut rp, mut rm) = (vec![0.0; p.m], vec![0.0; p.m]);
        for j in 0..p.n {
            let h = 1e-6 * x[j].abs().max(1.0);
            let mut xp = x.clone();
            xp[j] += h;
            let mut xm = x.clone();
            xm[j] -= h;
            p.residuals(&xp, &mut rp);
            p.residuals(&xm, &mut rm);
            for i in 0..p.m {
                let fd = (rp[i] - rm[i]) / (2.0 * h);
                let a = jac.get(i, j);
                // Rounding in the difference of two large residuals: ~ε|r|/h.
                let rounding = 4.0 * f64::EPSILON * rp[i].abs().max(rm[i].abs()) / h;
                assert!(
                    (a - fd).abs() <= 1e-6 * a.abs().max(1.0) + rounding,
                    "{name}: J[{i},{j}] = {a} vs {fd}"
                );
            }
        }
    }
}

#[test]
fn mgh_hessians_match_finite_differences_of_gradients() {
    for name in names() {
        let p = small_instance(name);
        let x = test_point(&p, 3);
        let mut h = DenseMatrix::zeros(p.n, p.n);
        p.hessian(&x, &mut h);
        let mut fd = DenseMatrix::zeros(p.n, p.n);
        finite_difference_hessian(&p, &x, &mut fd);
        let scale = h.frobenius();
        for i in 0..p.n {
            for j in 0..p.n {
                assert!(
                    (h.get(i, j) - fd.get(i, j)).abs() <= 1e-5 * scale.max(1.0),
                    "{name}: H[{i},{j}] = {} vs {}",
                    h.get(i, j),
                    fd.get(i, j)
                );
            }
        }
        // Hessian-vector product agrees with the full Hessian.
        let v: Vec<f64> = (0..p.n).map(|i| (i as f64 * 0.7).sin()).collect();
        let mut hv = vec![0.0; p.n];
        p.hess_vec(&x, &v, &mut hv);
        let mut hv2 = vec![0.0; p.n];
        h.mul_vec(&v, &mut hv2);
        for i in 0..p.n {
            assert!(
                (hv[i] - hv2[i]).abs() <= 1e-9 * scale.max(1.0),
                "{name}: Hv[{i}]"
            );
        }
    }
}

#[test]
fn known_minima_are_attained_at_published_points() {
    let check = |name: &str, x: &[f64]| {
        let p = MghProblem::parse(name).unwrap();
        let f = p.value(x);
        assert!((f - p.f_star().unwrap()).abs() <= 1e-10, "{name}: f = {f}");
    };
    check("rosenbrock", &[1.0, 1.0]);
    check("freudenstein-roth", &[5.0, 4.0]);
    check("beale", &[3.0, 0.5]);
    check("helical-valley", &[1.0, 0.0, 0.0]);
    check("gulf", &[50.0, 25.0, 1.5]);
    check("box-3d", &[1.0, 10.0, 1.0]);
    check("wood", &[1.0; 4]);
    check("biggs-exp6", &[1.0, 10.0, 1.0, 5.0, 4.0, 3.0]);
    check("variably-dimensioned", &[1.0; 10]);
    check("brown-badly-scaled", &[1e6, 2e-6]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn expression_gradient_and_hessian_match_finite_differences(
        x1 in 0.2f64..2.0, x2 in -1.5f64..1.5, x3 in 0.1f64..3.0
    ) {
        let p = ExprObjective::parse(
            "exp(x1*x2) + sin(x3)^2 / (1 + x1^2) - log(x3)*sqrt(x1) + tanh(x2 - x3) + abs(x2)^3 + x1^x3"
        ).unwrap();
        let x = [x1, x2, x3];
        let mut g = [0.0; 3];
        p.value_grad(&x, &mut g);
        for j in 0..3 {
            let h = 1e-6;
            let mut xp = x; xp[j] += h;
            let mut xm = x; xm[j] -= h;
            let fd = (p.value(&xp) - p.value(&xm)) / (2.0 * h);
            prop_assert!((g[j] - fd).abs() <= 1e-6 * g[j].abs().max(1.0), "g[{}]={} fd={}", j, g[j], fd);
        }
        let mut hm = DenseMatrix::zeros(3, 3);
        p.hessian(&x, &mut hm);
        let mut fdh = DenseMatrix::zeros(3, 3);
        finite_difference_hessian(&p, &x, &mut fdh);
        for k in 0..9 {
            prop_assert!((hm.data[k] - fdh.data[k]).abs() <= 1e-5 * hm.data[k].abs().max(1.0));
        }
    }
}
