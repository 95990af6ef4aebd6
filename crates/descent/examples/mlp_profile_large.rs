//! Times forward and backward of a large network against the GEMM flops they hold, and
//! the same matrix products alone (with the layouts the network uses), so that what the
//! rest of a pass costs shows:
//! `cargo run --release -p descent --example mlp_profile_large -- THREADS BATCH N0,N1,...`.
//! `bench/gemm_vs_torch.py` runs PyTorch's side of the same measurements.
mod common;

use descent::nn::Real;
use faer::Par;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let threads: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(2);
    let b: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(512);
    let sizes: Vec<usize> = args
        .get(3)
        .map(|s| s.split(',').map(|t| t.parse().unwrap()).collect())
        .unwrap_or(vec![784, 2048, 2048, 2048, 10]);
    let mut run = common::Profiled::new(&sizes, b, threads);
    let macs: usize = sizes.windows(2).map(|w| w[0] * w[1]).sum();
    let n = 20;
    common::pool(threads).install(|| {
        for i in 0..4 {
            let t = run.time(1, true);
            println!("warm-up step {i}: {:.1} ms", t * 1e3);
        }
        let tf = run.time(n, false);
        let tfb = run.time(n, true);
        let ff = 2.0 * (macs * b) as f64;
        let bf = 2.0 * ((2 * macs - sizes[0] * sizes[1]) * b) as f64;
        println!(
            "forward {:.2} ms ({:.0} GF/s), backward {:.2} ms ({:.0} GF/s), {:.0} samples/s",
            tf * 1e3,
            ff / tf / 1e9,
            (tfb - tf) * 1e3,
            bf / (tfb - tf) / 1e9,
            b as f64 / tfb
        );
        let (pf, pb) = products_alone(&sizes, b, n, run.par);
        println!(
            "products alone: forward {:.2} ms ({:.0} GF/s), backward {:.2} ms ({:.0} GF/s)",
            pf * 1e3,
            ff / pf / 1e9,
            pb * 1e3,
            bf / pb / 1e9
        );
    });
}

/// Seconds per pass of the forward products `Z = A·W` and the backward ones (`dW = Aᵀ·dZ`
/// on a transposed copy of A, `dA = dZ·Wᵀ` for all but the first layer), row-major as the
/// network lays them out, `n` passes each.
fn products_alone(sizes: &[usize], b: usize, n: usize, par: Par) -> (f64, f64) {
    let fill = |len: usize| -> Vec<f32> { (0..len).map(|i| ((i % 97) as f32) * 0.01).collect() };
    let layers: Vec<_> = sizes
        .windows(2)
        .map(|w| {
            let (ni, no) = (w[0], w[1]);
            (
                ni,
                no,
                fill(b * ni),
                fill(ni * no),
                fill(b * no),
                fill(ni * no),
            )
        })
        .collect();
    let (mut z, mut da) = (
        vec![0.0f32; b * sizes.iter().max().unwrap()],
        vec![0.0f32; b * sizes.iter().max().unwrap()],
    );
    let t = Instant::now();
    for _ in 0..n {
        for (ni, no, a, w, _, _) in &layers {
            f32::gemm(b, *no, *ni, a, false, w, false, &mut z[..b * no], true, par);
        }
    }
    let forward = t.elapsed().as_secs_f64() / n as f64;
    let mut dw = layers.iter().map(|l| l.5.clone()).collect::<Vec<_>>();
    let t = Instant::now();
    for _ in 0..n {
        for (l, (ni, no, a_t, w, dz, _)) in layers.iter().enumerate().rev() {
            // (The transposed copy's cost is the network's, not the product's.)
            f32::gemm(*ni, *no, b, a_t, false, dz, false, &mut dw[l], false, par);
            if l > 0 {
                f32::gemm(
                    b,
                    *ni,
                    *no,
                    dz,
                    false,
                    w,
                    true,
                    &mut da[..b * ni],
                    false,
                    par,
                );
            }
        }
    }
    (forward, t.elapsed().as_secs_f64() / n as f64)
}
