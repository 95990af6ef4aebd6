//! Parameter covariance `s²(JᵀJ)⁻¹` at a least-squares solution, by a QR factorization of
//! the (column-scaled) Jacobian: `(JᵀJ)⁻¹ = D⁻¹R⁻¹R⁻ᵀD⁻¹` — no normal equations, no
//! explicit inverse of `JᵀJ`.

use crate::linalg::DenseMatrix;
use faer::Mat;

/// `s²(JᵀJ)⁻¹` with `s² = rss/(m − n)`. `None` when `J` is rank-deficient (the
/// covariance does not exist) or `m ≤ n`.
pub fn covariance(j: &DenseMatrix, rss: f64) -> Option<DenseMatrix> {
    covariance_of_observations(j, rss, j.rows)
}

/// [`covariance`] with `s² = rss/(m − n)` for `m` observations that `J` stands for (a
/// Jacobian of fewer rows with the same `JᵀJ`: the normal equations of rows split across
/// workers).
pub fn covariance_of_observations(j: &DenseMatrix, rss: f64, m: usize) -> Option<DenseMatrix> {
    let n = j.cols;
    if m <= n {
        return None;
    }
    scaled_inverse_gram(j, rss / (m - n) as f64)
}

/// `(JᵀJ)⁻¹` unscaled: the covariance when the residuals were divided by known standard
/// deviations (`curve_fit`'s `absolute_sigma=True`). `None` when `J` is rank-deficient.
pub fn absolute_covariance(j: &DenseMatrix) -> Option<DenseMatrix> {
    scaled_inverse_gram(j, 1.0)
}

/// `s2·(JᵀJ)⁻¹` by QR of the column-scaled J.
fn scaled_inverse_gram(j: &DenseMatrix, s2: f64) -> Option<DenseMatrix> {
    let (m, n) = (j.rows, j.cols);
    if m < n {
        return None;
    }
    let d: Vec<f64> = (0..n)
        .map(|c| (0..m).map(|i| j.get(i, c).powi(2)).sum::<f64>().sqrt())
        .collect();
    if d.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
        return None;
    }
    let js = Mat::from_fn(m, n, |i, c| j.get(i, c) / d[c]);
    let qr = js.qr();
    let r = qr.thin_R();
    let rmax = (0..n).map(|i| r[(i, i)].abs()).fold(0.0, f64::max);
    if (0..n).any(|i| r[(i, i)].abs() <= 1e-13 * rmax) {
        return None;
    }
    // Rinv = R⁻¹ by back substitution on the identity (upper triangular).
    let mut rinv = vec![0.0; n * n];
    for col in 0..n {
        for i in (0..=col).rev() {
            let mut v = if i == col { 1.0 } else { 0.0 };
            for k in i + 1..=col {
                v -= r[(i, k)] * rinv[k * n + col];
            }
            rinv[i * n + col] = v / r[(i, i)];
        }
    }
    let mut cov = DenseMatrix::zeros(n, n);
    for a in 0..n {
        for b in 0..n {
            let v: f64 = (0..n).map(|k| rinv[a * n + k] * rinv[b * n + k]).sum();
            cov.set(a, b, s2 * v / (d[a] * d[b]));
        }
    }
    Some(cov)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn straight_line_covariance_matches_closed_form() {
        // y = a + b t: cov = s² (XᵀX)⁻¹ with XᵀX = [[m, Σt], [Σt, Σt²]].
        let t = [0.0, 1.0, 2.0, 3.0, 4.0];
        let mut j = DenseMatrix::zeros(5, 2);
        for (i, ti) in t.iter().enumerate() {
            j.set(i, 0, 1.0);
            j.set(i, 1, *ti);
        }
        let rss = 3.0;
        let cov = covariance(&j, rss).unwrap();
        let (m, st, st2) = (5.0, 10.0, 30.0);
        let det = m * st2 - st * st;
        let s2 = rss / 3.0;
        assert!((cov.get(0, 0) - s2 * st2 / det).abs() < 1e-12);
        assert!((cov.get(0, 1) + s2 * st / det).abs() < 1e-12);
        assert!((cov.get(1, 1) - s2 * m / det).abs() < 1e-12);
    }
}
