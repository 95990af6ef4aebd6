//! Muon: momentum orthogonalized by Newton–Schulz on each weight matrix (Jordan et al.,
//! *Muon: an optimizer for hidden layers in neural networks*, 2024), the other parameters
//! (biases) by AdamW — as `torch.optim.Muon` with `torch.optim.AdamW` beside it, with
//! their defaults: Muon lr 1e-3, momentum 0.95, Nesterov, weight decay 0.1, five
//! Newton–Schulz steps with Jordan's quintic (a, b, c) = (3.4445, −4.7750, 2.0315),
//! ε = 1e-7; AdamW lr 1e-3, β = (0.9, 0.999), ε = 1e-8, weight decay 0.01.
//!
//! For a weight matrix W (fan-in × fan-out here; torch stores its transpose, and the
//! orthogonalization commutes with transposing) with gradient G:
//!
//! ```text
//!   B ← μB + (1−μ)G,   U = (1−μ)G + μB (Nesterov) or B,
//!   X₀ = U/max(‖U‖_F, ε),  Xₖ₊₁ = aXₖ + (b·XₖXₖᵀ + c·(XₖXₖᵀ)²)Xₖ   (5 times),
//!   W ← W − ρλW − ρ·√max(1, fan-out/fan-in)·X₅
//! ```
//!
//! torch runs the Newton–Schulz steps in bfloat16; here they run in f64 (what torch's
//! steps compute in exact arithmetic, to rounding).

use super::{Adam, Schedule, StepRule, WeightMatrix};
use crate::nn::Real;

/// Muon on the weight matrices, AdamW on the rest (see the module documentation).
#[derive(Clone, Debug)]
pub struct Muon {
    /// Learning rate ρ of the matrices.
    pub lr: Schedule,
    /// Momentum μ.
    pub momentum: f64,
    /// Nesterov's form of the momentum.
    pub nesterov: bool,
    /// Decoupled weight decay λ of the matrices.
    pub weight_decay: f64,
    /// Newton–Schulz steps.
    pub ns_steps: usize,
    /// Newton–Schulz coefficients (a, b, c).
    pub coefficients: (f64, f64, f64),
    /// Floor of the norm the momentum is divided by.
    pub eps: f64,
    /// The rule of the parameters outside the matrices.
    pub rest: Adam,
    matrices: Vec<WeightMatrix>,
    /// Indices of the parameters outside the matrices.
    rest_index: Vec<usize>,
    buffer: Vec<f64>,
    work: Orthogonalizer,
    rest_x: Vec<f64>,
    rest_g: Vec<f64>,
    rest_delta: Vec<f64>,
}

impl Muon {
    /// torch's defaults with matrix rate `lr`, and AdamW with its defaults for the rest.
    pub fn new(lr: Schedule) -> Self {
        Muon {
            lr,
            momentum: 0.95,
            nesterov: true,
            weight_decay: 0.1,
            ns_steps: 5,
            coefficients: (3.4445, -4.7750, 2.0315),
            eps: 1e-7,
            rest: Adam::adamw(Schedule::Constant(1e-3), 1e-2),
            matrices: Vec::new(),
            rest_index: Vec::new(),
            buffer: Vec::new(),
            work: Orthogonalizer::default(),
            rest_x: Vec::new(),
            rest_g: Vec::new(),
            rest_delta: Vec::new(),
        }
    }

    /// The parameters of `n` not in any matrix.
    fn index_rest(&mut self, n: usize) {
        let mut in_matrix = vec![false; n];
        for m in &self.matrices {
            let end = (m.offset + m.rows * m.cols).min(n);
            in_matrix[m.offset.min(end)..end].fill(true);
        }
        self.rest_index = (0..n).filter(|&i| !in_matrix[i]).collect();
        let k = self.rest_index.len();
        self.rest.reset(k);
        (self.rest_x, self.rest_g, self.rest_delta) = (vec![0.0; k], vec![0.0; k], vec![0.0; k]);
    }
}

impl StepRule for Muon {
    fn name(&self) -> String {
        "Muon".into()
    }
    fn reset(&mut self, n: usize) {
        crate::resources::zeroed(&mut self.buffer, n);
        self.index_rest(n);
    }
    fn weight_matrices(&mut self, matrices: &[WeightMatrix]) {
        self.matrices = matrices.to_vec();
        self.index_rest(self.buffer.len());
    }
    fn update(&mut self, t: u64, x: &[f64], g: &[f64], delta: &mut [f64]) {
        if self.buffer.len() != g.len() {
            self.reset(g.len());
        }
        let (rate, mu) = (self.lr.at(t), self.momentum);
        for m in &self.matrices {
            let range = m.offset..m.offset + m.rows * m.cols;
            let u = self.work.input(m.rows * m.cols);
            for ((b, u), g) in self.buffer[range.clone()]
                .iter_mut()
                .zip(u)
                .zip(&g[range.clone()])
            {
                *b += (1.0 - mu) * (g - *b);
                *u = if self.nesterov { g + mu * (*b - g) } else { *b };
            }
            let o =
                self.work
                    .orthogonalize(m.rows, m.cols, self.ns_steps, self.coefficients, self.eps);
            let adjusted = rate * (m.cols as f64 / m.rows as f64).max(1.0).sqrt();
            let decay = rate * self.weight_decay;
            for ((d, x), o) in delta[range.clone()].iter_mut().zip(&x[range]).zip(o) {
                *d = -decay * x - adjusted * o;
            }
        }
        for (k, &i) in self.rest_index.iter().enumerate() {
            (self.rest_x[k], self.rest_g[k]) = (x[i], g[i]);
        }
        self.rest
            .update(t, &self.rest_x, &self.rest_g, &mut self.rest_delta);
        for (k, &i) in self.rest_index.iter().enumerate() {
            delta[i] = self.rest_delta[k];
        }
    }
    fn rate(&self, t: u64) -> f64 {
        self.lr.at(t)
    }
    fn state(&self) -> Vec<(&'static str, Vec<f64>)> {
        let mut s = vec![("momentum", self.buffer.clone())];
        for (k, v) in self.rest.state() {
            s.push((adamw_key(k), v));
        }
        s
    }
    fn set_state(&mut self, state: &[(String, Vec<f64>)]) {
        super::restore(state, "momentum", &mut self.buffer);
        let rest: Vec<(String, Vec<f64>)> = state
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("adamw_")?.to_string(), v.clone())))
            .collect();
        self.rest.set_state(&rest);
    }
}

/// The checkpoint name of the rest's AdamW state `key`.
fn adamw_key(key: &str) -> &'static str {
    match key {
        "m" => "adamw_m",
        "v" => "adamw_v",
        _ => "adamw_vmax",
    }
}

/// Newton–Schulz orthogonalization with its buffers kept between steps.
#[derive(Clone, Debug, Default)]
struct Orthogonalizer {
    u: Vec<f64>,
    x: Vec<f64>,
    next: Vec<f64>,
    gram: Vec<f64>,
    poly: Vec<f64>,
}

impl Orthogonalizer {
    /// The buffer the matrix to orthogonalize is written into.
    fn input(&mut self, len: usize) -> &mut [f64] {
        self.u.resize(len, 0.0);
        &mut self.u
    }

    /// Orthogonalizes the `rows × cols` row-major input in place and returns it.
    fn orthogonalize(
        &mut self,
        rows: usize,
        cols: usize,
        steps: usize,
        (a, b, c): (f64, f64, f64),
        eps: f64,
    ) -> &[f64] {
        // X is p × q with p ≤ q, so that the Gram matrix XXᵀ is the small one.
        let wide = rows <= cols;
        let (p, q) = if wide { (rows, cols) } else { (cols, rows) };
        self.x.resize(p * q, 0.0);
        if wide {
            self.x.copy_from_slice(&self.u);
        } else {
            transpose(&self.u, rows, cols, &mut self.x);
        }
        let norm = crate::linalg::norm(&self.x).max(eps);
        self.x.iter_mut().for_each(|v| *v /= norm);
        self.gram.resize(p * p, 0.0);
        self.poly.resize(p * p, 0.0);
        self.next.resize(p * q, 0.0);
        let seq = faer::Par::Seq;
        for _ in 0..steps {
            f64::gemm(
                p,
                p,
                q,
                &self.x,
                false,
                &self.x,
                true,
                &mut self.gram,
                false,
                seq,
            );
            f64::gemm(
                p,
                p,
                p,
                &self.gram,
                false,
                &self.gram,
                false,
                &mut self.poly,
                false,
                seq,
            );
            for (y, a2) in self.poly.iter_mut().zip(&self.gram) {
                *y = c * *y + b * a2;
            }
            self.next.copy_from_slice(&self.x);
            self.next.iter_mut().for_each(|v| *v *= a);
            f64::gemm(
                p,
                q,
                p,
                &self.poly,
                false,
                &self.x,
                false,
                &mut self.next,
                true,
                seq,
            );
            std::mem::swap(&mut self.x, &mut self.next);
        }
        if wide {
            self.u.copy_from_slice(&self.x);
        } else {
            transpose(&self.x, p, q, &mut self.u);
        }
        &self.u
    }
}

/// `out` (cols × rows) = `m`ᵀ for `m` rows × cols, row-major.
fn transpose(m: &[f64], rows: usize, cols: usize, out: &mut [f64]) {
    for i in 0..rows {
        for j in 0..cols {
            out[j * rows + i] = m[i * cols + j];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Five quintic steps take every singular value of a well-conditioned matrix into
    /// Jordan's band (≈ 0.7–1.2), whatever the matrix's scale: XᵀX ≈ I, loosely.
    #[test]
    fn newton_schulz_nearly_orthogonalizes_both_shapes() {
        for (rows, cols) in [(3, 5), (5, 3), (4, 4)] {
            let mut o = Orthogonalizer::default();
            let u = o.input(rows * cols);
            for (k, v) in u.iter_mut().enumerate() {
                *v = 100.0
                    * (((k * 7 + 3) % 11) as f64 - 5.0
                        + if k % (cols + 1) == 0 { 9.0 } else { 0.0 });
            }
            let x = o
                .orthogonalize(rows, cols, 5, (3.4445, -4.7750, 2.0315), 1e-7)
                .to_vec();
            let p = rows.min(cols);
            let mut gram = vec![0.0; p * p];
            if rows <= cols {
                f64::gemm(
                    p,
                    p,
                    cols,
                    &x,
                    false,
                    &x,
                    true,
                    &mut gram,
                    false,
                    faer::Par::Seq,
                );
            } else {
                f64::gemm(
                    p,
                    p,
                    rows,
                    &x,
                    true,
                    &x,
                    false,
                    &mut gram,
                    false,
                    faer::Par::Seq,
                );
            }
            for i in 0..p {
                assert!(
                    (0.4..1.5).contains(&gram[i * p + i]),
                    "{rows}x{cols}: {gram:?}"
                );
            }
        }
    }

    /// Without matrices Muon is AdamW with its own defaults on every parameter.
    #[test]
    fn without_matrices_it_is_adamw() {
        let (x, g) = ([1.0, -2.0], [0.5, 0.25]);
        let mut muon = Muon::new(Schedule::Constant(1e-3));
        muon.reset(2);
        let mut adamw = Adam::adamw(Schedule::Constant(1e-3), 1e-2);
        adamw.reset(2);
        let (mut d1, mut d2) = ([0.0; 2], [0.0; 2]);
        for t in 1..4 {
            muon.update(t, &x, &g, &mut d1);
            adamw.update(t, &x, &g, &mut d2);
            assert!(d1.iter().zip(&d2).all(|(a, b)| a.to_bits() == b.to_bits()));
        }
    }
}
