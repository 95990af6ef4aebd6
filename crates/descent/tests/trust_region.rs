//! Trust-region methods: the subproblem solvers against their defining conditions
//! (Moré–Sorensen's for the exact one, the Cauchy decrease for dogleg and Steihaug), closed
//! forms on quadratics, and the radius rules.

#[path = "common/noisy.rs"]
mod noisy;

use descent::linalg::{symmetric_eigenvalues, DenseMatrix};
use descent::trust_region::{Dogleg, ExactSubproblem, Steihaug, Subproblem};
use descent::{minimize, MethodSpec, NoObserver, Objective, Quadratic};

fn matrix(n: usize, f: impl Fn(usize, usize) -> f64) -> DenseMatrix {
    let mut m = DenseMatrix::zeros(n, n);
    for i in 0..n {
        for j in 0..n {
            m.set(i, j, f(i, j));
        }
    }
    m.symmetrize();
    m
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

/// The model's decrease −(gᵀp + ½pᵀHp).
fn decrease(g: &[f64], h: &DenseMatrix, p: &[f64]) -> f64 {
    let mut hp = vec![0.0; p.len()];
    h.mul_vec(p, &mut hp);
    -(dot(g, p) + 0.5 * dot(p, &hp))
}

/// The Cauchy point's decrease: the best step along −g within the radius.
fn cauchy_decrease(g: &[f64], h: &DenseMatrix, radius: f64) -> f64 {
    let mut hg = vec![0.0; g.len()];
    h.mul_vec(g, &mut hg);
    let (gg, ghg) = (dot(g, g), dot(g, &hg));
    let t_max = radius / gg.sqrt();
    let t = if ghg > 0.0 {
        (gg / ghg).min(t_max)
    } else {
        t_max
    };
    let p: Vec<f64> = g.iter().map(|v| -t * v).collect();
    decrease(g, h, &p)
}

fn cases() -> Vec<(DenseMatrix, Vec<f64>)> {
    let n = 5;
    vec![
        // Positive definite.
        (
            matrix(n, |i, j| {
                if i == j {
                    2.0 + i as f64
                } else {
                    0.3 / (1.0 + (i + j) as f64)
                }
            }),
            vec![1.0, -0.5, 0.2, 0.0, 0.7],
        ),
        // Indefinite.
        (
            matrix(n, |i, j| {
                if i == j {
                    i as f64 - 2.0
                } else {
                    0.1 * ((i * j) as f64).sin()
                }
            }),
            vec![0.3, 0.1, -0.4, 0.8, -0.2],
        ),
        // The hard case: g orthogonal to the eigenvector of the smallest eigenvalue (e₁ of
        // a diagonal matrix).
        (
            matrix(n, |i, j| {
                if i == j {
                    [-1.0, 1.0, 2.0, 3.0, 4.0][i]
                } else {
                    0.0
                }
            }),
            vec![0.0, 0.1, 0.1, 0.1, 0.1],
        ),
    ]
}

struct NoProblem(usize);
impl Objective for NoProblem {
    fn dim(&self) -> usize {
        self.0
    }
    fn value(&self, _x: &[f64]) -> f64 {
        0.0
    }
    fn value_grad(&self, _x: &[f64], _g: &mut [f64]) -> f64 {
        0.0
    }
}

/// Serves H·v for Steihaug from a fixed matrix.
struct Fixed<'a>(&'a DenseMatrix);
impl Objective for Fixed<'_> {
    fn dim(&self) -> usize {
        self.0.rows
    }
    fn value(&self, _x: &[f64]) -> f64 {
        0.0
    }
    fn value_grad(&self, _x: &[f64], _g: &mut [f64]) -> f64 {
        0.0
    }
    fn hess_vec(&self, _x: &[f64], v: &[f64], out: &mut [f64]) {
        self.0.mul_vec(v, out);
    }
}

#[test]
fn the_exact_step_meets_more_and_sorensens_conditions() {
    for (h, g) in cases() {
        let n = g.len();
        for radius in [0.05, 0.3, 1.0, 10.0] {
            let s = ExactSubproblem
                .solve(&NoProblem(n), &vec![0.0; n], &g, Some(&h), radius)
                .unwrap();
            let pn = norm(&s.p);
            assert!(pn <= radius * (1.0 + 1e-9), "‖p‖ = {pn} > Δ = {radius}");
            // (H + λI)p = −g for one λ ≥ 0, with H + λI positive semi-definite and λ = 0
            // unless ‖p‖ = Δ: recover λ from the first nonzero component and check them all.
            let mut hp = vec![0.0; n];
            h.mul_vec(&s.p, &mut hp);
            let i = (0..n)
                .max_by(|&a, &b| s.p[a].abs().total_cmp(&s.p[b].abs()))
                .unwrap();
            let lambda = (-g[i] - hp[i]) / s.p[i];
            for k in 0..n {
                let r = hp[k] + lambda * s.p[k] + g[k];
                assert!(r.abs() < 1e-8, "residual {r} at {k} (λ = {lambda})");
            }
            assert!(lambda >= -1e-10, "λ = {lambda}");
            let min_eig = symmetric_eigenvalues(&h).unwrap()[0];
            assert!(
                min_eig + lambda >= -1e-8,
                "H + λI indefinite: {}",
                min_eig + lambda
            );
            if lambda > 1e-10 {
                assert!(
                    (pn - radius).abs() <= 1e-8 * radius,
                    "λ > 0 off the boundary"
                );
            }
            // The global minimizer beats the Cauchy point and the dogleg.
            assert!(s.predicted >= cauchy_decrease(&g, &h, radius) - 1e-12);
            let dl = Dogleg
                .solve(&NoProblem(n), &vec![0.0; n], &g, Some(&h), radius)
                .unwrap();
            assert!(s.predicted >= dl.predicted - 1e-12);
            assert!((s.predicted - decrease(&g, &h, &s.p)).abs() < 1e-12);
        }
    }
}

#[test]
fn dogleg_and_steihaug_decrease_the_model_at_least_as_the_cauchy_point() {
    for (h, g) in cases() {
        let n = g.len();
        for radius in [0.05, 0.3, 1.0, 10.0] {
            let cauchy = cauchy_decrease(&g, &h, radius);
            let dl = Dogleg
                .solve(&NoProblem(n), &vec![0.0; n], &g, Some(&h), radius)
                .unwrap();
            assert!(norm(&dl.p) <= radius * (1.0 + 1e-12));
            assert!(
                dl.predicted >= cauchy - 1e-12,
                "dogleg {} < Cauchy {cauchy}",
                dl.predicted
            );
            let st = Steihaug
                .solve(&Fixed(&h), &vec![0.0; n], &g, None, radius)
                .unwrap();
            assert!(norm(&st.p) <= radius * (1.0 + 1e-12));
            assert!(
                st.predicted >= cauchy - 1e-12,
                "Steihaug {} < Cauchy {cauchy}",
                st.predicted
            );
            assert!((st.predicted - decrease(&g, &h, &st.p)).abs() < 1e-12);
        }
    }
}

#[test]
fn on_a_convex_quadratic_the_first_step_is_newtons() {
    // f = ½xᵀAx − bᵀx from 0 with Δ₀ = 100: the Newton step A⁻¹b is inside, so one step
    // ends at the minimizer. Steihaug's CG stops at its forcing tolerance
    // min(½, √‖g‖)·‖g‖ instead, so its steps converge superlinearly, not in one.
    let a = matrix(4, |i, j| if i == j { 3.0 + i as f64 } else { 0.5 });
    let b = vec![1.0, 2.0, -1.0, 0.5];
    let q = Quadratic { a, b };
    for method in [
        "trust-exact:radius=100",
        "trust-dogleg:radius=100",
        "trust-ncg:radius=100",
    ] {
        let spec = MethodSpec::parse(method).unwrap();
        let mut m = spec.build().unwrap();
        let s = minimize(
            &q,
            m.as_mut(),
            &[0.0; 4],
            &spec.default_options(),
            &mut NoObserver,
        )
        .unwrap();
        let most = if method.starts_with("trust-ncg") {
            8
        } else {
            1
        };
        assert!(
            s.iterations <= most,
            "{method}: {} iterations",
            s.iterations
        );
        assert!(s.grad_norm < 1e-10, "{method}: ‖g‖ = {}", s.grad_norm);
    }
}

#[test]
fn radius_settings_are_checked() {
    assert!(MethodSpec::parse("trust-exact:radius=0").is_err());
    assert!(MethodSpec::parse("trust-ncg:eta=1.5").is_err());
    let spec = MethodSpec::parse("trust-dogleg:radius=10:max_radius=1").unwrap();
    assert!(spec.build().is_err());
}

#[test]
fn trust_regions_converge_where_values_no_longer_resolve_the_decrease() {
    // Near the minimizer the predicted decreases fall below f's rounding: a gain ratio
    // from values alone is noise there, and the region shrank until the run stopped with
    // `trust_region_too_small` far above the gradient tolerance. The ratio then reads the
    // decrease from the gradients (exact on a quadratic), and the run ends on ‖∇f‖.
    for method in ["trust-ncg", "trust-exact", "trust-dogleg"] {
        noisy::assert_ends_on_the_gradient(method);
    }
}

/// `10¹⁰ + ½x² + 1000·exp(−x²/(2·0.05²))`: a narrow bump on a parabola, lifted so far that
/// the model's predicted decreases fall below f's resolution while the bump does not.
struct Bump;

impl Objective for Bump {
    fn dim(&self) -> usize {
        1
    }
    fn value(&self, x: &[f64]) -> f64 {
        let b = 1000.0 * (-x[0] * x[0] / (2.0 * 0.05 * 0.05)).exp();
        1e10 + 0.5 * x[0] * x[0] + b
    }
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        let b = 1000.0 * (-x[0] * x[0] / (2.0 * 0.05 * 0.05)).exp();
        g[0] = x[0] - b * x[0] / (0.05 * 0.05);
        1e10 + 0.5 * x[0] * x[0] + b
    }
}

#[test]
fn a_rise_above_f_s_resolution_is_a_rise_even_for_a_gradient_read_gain_ratio() {
    // From x = 1 the model's step lands on the bump's top (x = 0, f up by 1000): the
    // gradients there say "decrease" (the trapezoid rule does not see the bump), the
    // values say otherwise by far more than rounding, and the values decide.
    for method in ["trust-ncg", "trust-exact", "trust-dogleg"] {
        let spec = MethodSpec::new(method);
        let mut m = spec.build().unwrap();
        let s = minimize(
            &Bump,
            m.as_mut(),
            &[1.0],
            &spec.default_options(),
            &mut NoObserver,
        )
        .unwrap();
        assert!(s.x[0] > 0.2, "{method}: ended at {:?}", s.x);
        assert!(s.f < Bump.value(&[1.0]), "{method}: f = {}", s.f);
    }
}
