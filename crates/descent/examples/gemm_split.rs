//! How a product is best split across threads: the network's products (784-2048-2048-10,
//! batch 512, and smaller batches and widths) on one thread, split by faer itself, and
//! split by descent (`Real::gemm`: one one-thread product per part of the output), in
//! GFLOP/s: `cargo run --release -p descent --example gemm_split -- THREADS`.
use descent::nn::{row_major_operands, Real};
use faer::{linalg::matmul::matmul, Accum, Par};
use std::time::Instant;

/// Seconds per call of `f`, the best of five runs of five calls after one warm-up call.
fn seconds<F: FnMut()>(mut f: F) -> f64 {
    f();
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        for _ in 0..5 {
            f();
        }
        best = best.min(t.elapsed().as_secs_f64() / 5.0);
    }
    best
}

fn main() {
    let threads: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    // (name, m, n, k, a transposed, b transposed, accumulate), as `nn::mlp` calls them.
    let products = [
        ("forward, layer 1, b512", 512, 2048, 784, false, false, true),
        (
            "forward, layer 2, b512",
            512,
            2048,
            2048,
            false,
            false,
            true,
        ),
        ("backward dZ·Wᵀ, b512", 512, 2048, 2048, false, true, false),
        ("backward Aᵀ·dZ, b512", 2048, 2048, 512, false, false, false),
        ("backward Xᵀ·dZ, b512", 784, 2048, 512, false, false, false),
        (
            "forward, layer 2, b128",
            128,
            2048,
            2048,
            false,
            false,
            true,
        ),
        ("forward, layer 2, b32", 32, 2048, 2048, false, false, true),
        ("backward Aᵀ·dZ, b32", 2048, 2048, 32, false, false, false),
        ("forward 512-512, b32", 32, 512, 512, false, false, true),
    ];
    println!("product (m×n×k): one thread, faer's split, descent's split (GFLOP/s)");
    for &(name, m, n, k, a_t, b_t, acc) in &products {
        let a: Vec<f32> = (0..m * k).map(|i| (i % 13) as f32 * 0.01).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i % 11) as f32 * 0.01).collect();
        let mut c = vec![0.0f32; m * n];
        let gflop = 2.0 * (m * n * k) as f64 / 1e9;
        let one = seconds(|| f32::gemm(m, n, k, &a, a_t, &b, b_t, &mut c, acc, Par::Seq));
        let faers = pool
            .install(|| seconds(|| faer_product(m, n, k, &a, a_t, &b, b_t, &mut c, acc, threads)));
        let ours = pool.install(|| {
            seconds(|| f32::gemm(m, n, k, &a, a_t, &b, b_t, &mut c, acc, Par::rayon(threads)))
        });
        println!(
            "{name} ({m}×{n}×{k}): {:.0}, {:.0}, {:.0}",
            gflop / one,
            gflop / faers,
            gflop / ours
        );
    }
}

/// The same product as `Real::gemm`, split across threads by faer.
#[allow(clippy::too_many_arguments)]
fn faer_product(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    a_t: bool,
    b: &[f32],
    b_t: bool,
    c: &mut [f32],
    acc: bool,
    threads: usize,
) {
    let (a, b, c) = row_major_operands(m, n, k, a, a_t, b, b_t, c);
    let accum = if acc { Accum::Add } else { Accum::Replace };
    matmul(c, accum, a, b, 1.0, Par::rayon(threads));
}
