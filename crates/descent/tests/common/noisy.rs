//! A quadratic whose values carry noise of 10⁻¹¹ of f — as from cancellation in
//! ½xᵀAx − bᵀx with large terms — and whose gradients do not: near the minimizer f
//! cannot resolve a run's last decreases. The test bed for methods that must then judge
//! steps by their gradients (trust regions' gain ratio, the line search's approximate
//! Wolfe conditions).

use descent::linalg::DenseMatrix;
use descent::{minimize, MethodSpec, NoObserver, Objective, Quadratic};

/// ½xᵀAx − bᵀx + 10⁴, plus noise of amplitude 10⁻⁷ drawn from the bits of x — like
/// rounding, unrelated between any two points, and absent from the gradient.
pub struct NoisyQuadratic(pub Quadratic);

impl NoisyQuadratic {
    fn noise(x: &[f64]) -> f64 {
        let mut h: u64 = 0x9E37_79B9_7F4A_7C15;
        for v in x {
            h = (h ^ v.to_bits()).wrapping_mul(0x0100_0000_01B3);
            h ^= h >> 29;
        }
        1e4 + 1e-7 * ((h >> 11) as f64 / (1u64 << 53) as f64 - 0.5)
    }
}

impl Objective for NoisyQuadratic {
    fn dim(&self) -> usize {
        self.0.dim()
    }
    fn value(&self, x: &[f64]) -> f64 {
        self.0.value(x) + Self::noise(x)
    }
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        self.0.value_grad(x, g) + Self::noise(x)
    }
    fn has_exact_hessian(&self) -> bool {
        true
    }
    fn hessian(&self, x: &[f64], h: &mut DenseMatrix) {
        self.0.hessian(x, h)
    }
    fn hess_vec(&self, x: &[f64], v: &[f64], out: &mut [f64]) {
        self.0.hess_vec(x, v, out)
    }
}

/// A 12-variable quadratic of condition about 10⁴ (the plain one, to check gradients
/// on), the same with noisy values, and a start.
pub fn quadratic() -> (Quadratic, NoisyQuadratic, Vec<f64>) {
    let n = 12;
    let mut a = DenseMatrix::zeros(n, n);
    for i in 0..n {
        for j in 0..n {
            let v = if i == j {
                10f64.powf(4.0 * i as f64 / (n - 1) as f64)
            } else {
                0.3 * ((i.min(j) * 7 + i.max(j) * 3) as f64).sin()
            };
            a.set(i, j, v);
        }
    }
    let b: Vec<f64> = (0..n).map(|i| 5.0 * ((i + 1) as f64).cos()).collect();
    let q = Quadratic::new(a, b).unwrap();
    (q.clone(), NoisyQuadratic(q), vec![3.0; n])
}

/// Runs `method` at its defaults on the noisy quadratic and asserts that it converges
/// with the plain quadratic's gradient within 1e-6 (every method's default tolerance or
/// tighter; `lbfgsb` may end on its reduction test, SciPy's, first).
pub fn assert_ends_on_the_gradient(method: &str) {
    let (q, noisy, x0) = quadratic();
    let spec = MethodSpec::parse(method).unwrap();
    let mut m = spec.build().unwrap();
    let opts = spec.default_options();
    let s = minimize(&noisy, m.as_mut(), &x0, &opts, &mut NoObserver).unwrap();
    assert!(
        s.converged,
        "{method}: {:?} with ‖∇f‖∞ = {:e}",
        s.termination, s.grad_norm
    );
    let mut g = vec![0.0; x0.len()];
    q.value_grad(&s.x, &mut g);
    assert!(
        g.iter().all(|v| v.abs() <= 1e-6),
        "{method}: {:?}, {g:?}",
        s.termination
    );
}
