//! Times one batch's value and gradient of an f32 network through `NetBatches` (the
//! trainer's path: gathering rows, forward, backward, joining the threads' parts), the
//! median and the fastest of many, so that changes to that path can be compared on a
//! noisy machine: `cargo run --release -p descent --example batch_step -- THREADS BATCH N0,N1,...`.
use descent::nn::{Activation, BatchData, Init, Loss, Mlp, NetBatches};
use descent::problem::SampledObjective;
use std::borrow::Cow;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let threads: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(2);
    let b: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(128);
    let sizes: Vec<usize> = args
        .get(3)
        .map(|s| s.split(',').map(|t| t.parse().unwrap()).collect())
        .unwrap_or(vec![784, 512, 10]);
    let (d, k) = (sizes[0], *sizes.last().unwrap());
    let acts = vec![Activation::Relu; sizes.len() - 2];
    let net = Mlp::new(&sizes, &acts, Loss::CrossEntropy).unwrap();
    let n = 4096;
    let x: Vec<f32> = (0..n * d)
        .map(|i| (((i * 31) % 255) as f32 / 255.0 - 0.13) / 0.31)
        .collect();
    let labels: Vec<u32> = (0..n as u32).map(|i| (i * 7) % k as u32).collect();
    let data = BatchData {
        x: Cow::Owned(x),
        labels: Cow::Owned(labels),
        values: Cow::Owned(Vec::new()),
        n,
        total: n,
        first: 0,
    };
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .unwrap();
    let batches = NetBatches::new(&net, &data, threads, b).with_own_weights(true);
    let p = net.init_params(Init::GlorotUniform, 0);
    let own = batches
        .own_weights()
        .expect("an f32 network keeps its weights");
    own.load(&p, &vec![0.0; p.len()]);
    let reps = 300;
    let mut times = Vec::with_capacity(reps);
    for r in 0..reps + 20 {
        let idx: Vec<usize> = (0..b).map(|i| (r * b + i * 13) % n).collect();
        let t = Instant::now();
        std::hint::black_box(own.value_grad(&idx, true));
        if r >= 20 {
            times.push(t.elapsed().as_secs_f64());
        }
    }
    times.sort_by(f64::total_cmp);
    let flops = {
        let macs: usize = sizes.windows(2).map(|w| w[0] * w[1]).sum();
        2.0 * (3 * macs - sizes[0] * sizes[1]) as f64 * b as f64
    };
    println!(
        "{:?} batch {b}, {threads} threads: median {:.3} ms, fastest {:.3} ms ({:.0} GFLOP/s)",
        sizes,
        times[reps / 2] * 1e3,
        times[0] * 1e3,
        flops / times[0] / 1e9
    );
}
