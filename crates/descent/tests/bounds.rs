//! Bound constraints: L-BFGS-B against published solutions (Hock & Schittkowski's box
//! problems), closed forms, a guard that no point outside the box is ever evaluated, the
//! projected step rules, exact resume, and refusals.

use descent::expr::ExprObjective;
use descent::lbfgsb::Lbfgsb;
use descent::{minimize, minimize_from, Bounds, MethodSpec, NoObserver, Objective, Options, Start};
use std::cell::Cell;

/// Wraps an objective and counts evaluations outside `bounds` (returning NaN there, as an
/// objective undefined outside its box would).
struct Guard<'a> {
    inner: &'a dyn Objective,
    bounds: &'a Bounds,
    outside: Cell<usize>,
}

impl Objective for Guard<'_> {
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn value(&self, x: &[f64]) -> f64 {
        if !self.bounds.contains(x) {
            self.outside.set(self.outside.get() + 1);
            return f64::NAN;
        }
        self.inner.value(x)
    }
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        if !self.bounds.contains(x) {
            self.outside.set(self.outside.get() + 1);
            g.iter_mut().for_each(|v| *v = f64::NAN);
            return f64::NAN;
        }
        self.inner.value_grad(x, g)
    }
}

struct Case {
    name: &'static str,
    expr: &'static str,
    x0: &'static [f64],
    bounds: &'static str,
    f_star: f64,
    x_star: Vec<f64>,
}

/// Hock & Schittkowski, *Test examples for nonlinear programming codes* (1981): the
/// problems with bounds only, their starts and solutions.
fn hock_schittkowski() -> Vec<Case> {
    let third = std::f64::consts::FRAC_PI_3;
    vec![
        Case {
            name: "hs1",
            expr: "100*(x2 - x1^2)^2 + (1 - x1)^2",
            x0: &[-2.0, 1.0],
            bounds: "-inf:inf,-1.5:inf",
            f_star: 0.0,
            x_star: vec![1.0, 1.0],
        },
        Case {
            name: "hs2",
            expr: "100*(x2 - x1^2)^2 + (1 - x1)^2",
            // The start (x₂ = 1) is outside; moved to (−2, 1.5) it lies in the basin of
            // the local minimizer on the bound at x₁ < 0 (HS list f = 4.9412 there too;
            // the global one, f = 0.0504 at (1.2244, 1.5), is across the ridge).
            x0: &[-2.0, 1.0],
            bounds: "-inf:inf,1.5:inf",
            f_star: 4.941_229_317_9,
            x_star: vec![-1.221_026_242, 1.5],
        },
        Case {
            name: "hs3",
            expr: "x2 + 1e-5*(x2 - x1)^2",
            x0: &[10.0, 1.0],
            bounds: "-inf:inf,0:inf",
            f_star: 0.0,
            x_star: vec![0.0, 0.0],
        },
        Case {
            name: "hs4",
            expr: "(x1 + 1)^3/3 + x2",
            x0: &[1.125, 0.125],
            bounds: "1:inf,0:inf",
            f_star: 8.0 / 3.0,
            x_star: vec![1.0, 0.0],
        },
        Case {
            name: "hs5",
            expr: "sin(x1 + x2) + (x1 - x2)^2 - 1.5*x1 + 2.5*x2 + 1",
            x0: &[0.0, 0.0],
            bounds: "-1.5:4,-3:3",
            f_star: -(3f64.sqrt()) / 2.0 - third,
            x_star: vec![0.5 - third, -0.5 - third],
        },
        Case {
            name: "hs38",
            expr: "100*(x2 - x1^2)^2 + (1 - x1)^2 + 90*(x4 - x3^2)^2 + (1 - x3)^2 + 10.1*((x2 - 1)^2 + (x4 - 1)^2) + 19.8*(x2 - 1)*(x4 - 1)",
            x0: &[-3.0, -1.0, -3.0, -1.0],
            bounds: "-10:10",
            f_star: 0.0,
            x_star: vec![1.0, 1.0, 1.0, 1.0],
        },
        Case {
            name: "hs45",
            expr: "2 - x1*x2*x3*x4*x5/120",
            x0: &[2.0, 2.0, 2.0, 2.0, 2.0],
            bounds: "0:1,0:2,0:3,0:4,0:5",
            f_star: 1.0,
            x_star: vec![1.0, 2.0, 3.0, 4.0, 5.0],
        },
    ]
}

fn run_lbfgsb(p: &dyn Objective, bounds: &Bounds, x0: &[f64]) -> descent::Summary {
    let spec = MethodSpec::new("lbfgsb");
    let mut m = spec.build_bounded(bounds).unwrap();
    minimize(p, m.as_mut(), x0, &spec.default_options(), &mut NoObserver).unwrap()
}

#[test]
fn lbfgsb_reaches_the_hock_schittkowski_box_solutions_without_leaving_the_box() {
    for case in hock_schittkowski() {
        let p = ExprObjective::parse(case.expr).unwrap();
        let bounds = Bounds::parse(case.bounds, p.dim()).unwrap();
        let guard = Guard {
            inner: &p,
            bounds: &bounds,
            outside: Cell::new(0),
        };
        let s = run_lbfgsb(&guard, &bounds, case.x0);
        assert_eq!(
            guard.outside.get(),
            0,
            "{}: evaluated outside the box",
            case.name
        );
        assert!(
            s.f - case.f_star <= 1e-8 * case.f_star.abs().max(1.0),
            "{}: f = {} (f* = {}), {}",
            case.name,
            s.f,
            case.f_star,
            s.termination
        );
        for (x, e) in s.x.iter().zip(&case.x_star) {
            assert!(
                (x - e).abs() <= 1e-4 * e.abs().max(1.0),
                "{}: x = {:?}",
                case.name,
                s.x
            );
        }
        assert!(bounds.contains(&s.x));
    }
}

#[test]
fn a_separable_quadratic_in_a_box_ends_at_the_clamped_minimizer() {
    // f = Σ dᵢ(xᵢ − cᵢ)²/2: the box's solution is clamp(c), with the clamped variables
    // active — in a handful of iterations, and exactly on the bounds.
    let n = 50;
    let c: Vec<f64> = (0..n).map(|i| 3.0 * ((i as f64) * 0.7).sin()).collect();
    let d: Vec<f64> = (0..n).map(|i| 1.0 + (i % 7) as f64).collect();
    let (c2, d2) = (c.clone(), d.clone());
    let p = descent::FnObjective::new(n, move |x: &[f64], g: Option<&mut [f64]>| {
        if let Some(g) = g {
            for i in 0..x.len() {
                g[i] = d2[i] * (x[i] - c2[i]);
            }
        }
        (0..x.len())
            .map(|i| 0.5 * d2[i] * (x[i] - c2[i]).powi(2))
            .sum()
    });
    let bounds = Bounds::uniform(n, -1.0, 2.0).unwrap();
    let s = run_lbfgsb(&p, &bounds, &vec![0.0; n]);
    let expected: Vec<f64> = c.iter().map(|v| v.clamp(-1.0, 2.0)).collect();
    for (x, e) in s.x.iter().zip(&expected) {
        assert!((x - e).abs() < 1e-6, "x = {x}, expected {e}");
    }
    let clamped: Vec<usize> = (0..n).filter(|&i| c[i] < -1.0 || c[i] > 2.0).collect();
    assert_eq!(bounds.active(&s.x), clamped);
    assert!(s.converged, "{}", s.termination);
    assert!(s.iterations <= 30, "{} iterations", s.iterations);
}

#[test]
fn an_objective_undefined_outside_its_box_still_solves() {
    // log and sqrt are NaN below 0: the solution sits on the bound x₁ = 0.5 and inside
    // in x₂; the start is outside and is moved in.
    let p = ExprObjective::parse("(log(x1) + 1)^2 + x1 + (sqrt(x2) - 2)^2").unwrap();
    let bounds = Bounds::parse("0.5:10,0:10", 2).unwrap();
    let guard = Guard {
        inner: &p,
        bounds: &bounds,
        outside: Cell::new(0),
    };
    let s = run_lbfgsb(&guard, &bounds, &[-3.0, 25.0]);
    assert_eq!(guard.outside.get(), 0);
    // ∂f/∂x₁ = 2(log x₁ + 1)/x₁ + 1 > 0 from x₁ ≈ 0.314 on: the lower bound; x₂ = 4.
    assert!(
        (s.x[0] - 0.5).abs() < 1e-12 && (s.x[1] - 4.0).abs() < 1e-6,
        "{:?}",
        s.x
    );
    assert_eq!(bounds.active(&s.x), vec![0]);
}

#[test]
fn without_bounds_lbfgsb_takes_lbfgs_steps() {
    let p = descent::problems::mgh::MghProblem::parse("rosenbrock").unwrap();
    let bounds = Bounds::unbounded(2);
    let s = run_lbfgsb(&p, &bounds, &p.x0());
    assert!(s.f < 1e-12 && s.converged);
    let spec = MethodSpec::new("lbfgs");
    let mut m = spec.build().unwrap();
    let l = minimize(
        &p,
        m.as_mut(),
        &p.x0(),
        &spec.default_options(),
        &mut NoObserver,
    )
    .unwrap();
    // The same model (compact form vs two-loop): within a few evaluations of each other.
    let (a, b) = (s.counts.f_evals as i64, l.counts.f_evals as i64);
    assert!((a - b).abs() <= 5, "lbfgsb {a} vs lbfgs {b} evaluations");
}

#[test]
fn step_rules_are_projected_onto_the_box() {
    // Rosenbrock with x₁ ≤ 0.5: the solution is (0.5, 0.25), x₁ active.
    let p = ExprObjective::parse("(1 - x1)^2 + 100*(x2 - x1^2)^2").unwrap();
    let bounds = Bounds::parse("-inf:0.5,-inf:inf", 2).unwrap();
    for method in ["adam:lr=0.01", "gd:lr=1e-3", "momentum:lr=1e-3"] {
        let spec = MethodSpec::parse(method).unwrap();
        let mut m = spec.build_bounded(&bounds).unwrap();
        let guard = Guard {
            inner: &p,
            bounds: &bounds,
            outside: Cell::new(0),
        };
        let opts = Options {
            max_iter: 100_000,
            ..spec.default_options()
        };
        let s = minimize(&guard, m.as_mut(), &[-1.2, 1.0], &opts, &mut NoObserver).unwrap();
        assert_eq!(guard.outside.get(), 0, "{method}");
        assert!(
            (s.x[0] - 0.5).abs() < 1e-9 && (s.x[1] - 0.25).abs() < 1e-6,
            "{method}: {:?}",
            s.x
        );
        assert!(s.converged, "{method}: {}", s.termination);
    }
}

#[test]
fn methods_that_cannot_keep_to_a_box_are_refused() {
    let bounds = Bounds::uniform(2, 0.0, 1.0).unwrap();
    for method in ["newton", "cg", "bfgs", "gd:line_search=wolfe", "scg"] {
        let err = MethodSpec::parse(method)
            .unwrap()
            .build_bounded(&bounds)
            .err()
            .unwrap_or_else(|| panic!("{method} was built with bounds"))
            .to_string();
        assert!(err.contains("bounds"), "{method}: {err}");
    }
    // Unbounded boxes build the plain method.
    assert!(MethodSpec::new("newton")
        .build_bounded(&Bounds::unbounded(2))
        .is_ok());
    // Bounds of the wrong size are an error, not a panic.
    let p = ExprObjective::parse("x1^2 + x2^2").unwrap();
    let mut m = Lbfgsb::new(5, Some(Bounds::uniform(3, 0.0, 1.0).unwrap()));
    assert!(minimize(
        &p,
        &mut m,
        &[0.5, 0.5],
        &Options::default(),
        &mut NoObserver
    )
    .is_err());
}

#[test]
fn a_bounded_run_resumes_exactly() {
    let p = ExprObjective::parse(hock_schittkowski()[5].expr).unwrap();
    let bounds = Bounds::parse("-10:0.8,-10:10,-10:10,-10:10", 4).unwrap();
    let x0 = [-3.0, -1.0, -3.0, -1.0];
    let spec = MethodSpec::new("lbfgsb");
    let straight = {
        let mut m = spec.build_bounded(&bounds).unwrap();
        minimize(
            &p,
            m.as_mut(),
            &x0,
            &spec.default_options(),
            &mut NoObserver,
        )
        .unwrap()
    };
    let first = {
        let opts = Options {
            max_iter: 7,
            keep_checkpoint: true,
            ..spec.default_options()
        };
        let mut m = spec.build_bounded(&bounds).unwrap();
        minimize(&p, m.as_mut(), &x0, &opts, &mut NoObserver).unwrap()
    };
    let c = first.checkpoint.unwrap();
    let json = serde_json::to_string(&c).unwrap();
    let c: descent::Checkpoint = serde_json::from_str(&json).unwrap();
    let mut m = spec.build_bounded(&bounds).unwrap();
    let resumed = minimize_from(
        &p,
        m.as_mut(),
        Start::Resume(&c),
        &spec.default_options(),
        &mut NoObserver,
    )
    .unwrap();
    assert_eq!(resumed.iterations, straight.iterations);
    assert_eq!(resumed.counts, straight.counts);
    assert_eq!(resumed.f.to_bits(), straight.f.to_bits());
    for (a, b) in resumed.x.iter().zip(&straight.x) {
        assert_eq!(a.to_bits(), b.to_bits());
    }
}
