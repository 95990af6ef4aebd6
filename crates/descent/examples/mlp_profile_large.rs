//! Times forward and backward of a large network against the GEMM flops they hold:
//! `cargo run --release -p descent --example mlp_profile_large -- THREADS BATCH W1,W2,...`.
use descent::nn::{Activation, Init, Loss, Mlp, Targets};
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
    let par = if threads > 1 {
        Par::rayon(threads)
    } else {
        Par::Seq
    };
    let hidden = vec![Activation::Relu; sizes.len() - 2];
    let net = Mlp::new(&sizes, &hidden, Loss::CrossEntropy).unwrap();
    let p: Vec<f32> = net
        .init_params(Init::GlorotUniform, 0)
        .iter()
        .map(|v| *v as f32)
        .collect();
    let d = sizes[0];
    let x: Vec<f32> = (0..b * d)
        .map(|i| ((i * 31 % 255) as f32) / 255.0)
        .collect();
    let labels: Vec<u32> = (0..b as u32).map(|i| i % 10).collect();
    let mut ws = net.workspace::<f32>(b);
    let mut g = vec![0.0f32; net.num_params()];
    let macs: usize = sizes.windows(2).map(|w| w[0] * w[1]).sum();
    let n = 20;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        for i in 0..4 {
            let t = Instant::now();
            net.forward(&p, &x, b, &mut ws, par);
            net.backward(&p, &x, b, Targets::Classes(&labels), &mut ws, &mut g, par);
            println!(
                "warm-up step {i}: {:.1} ms",
                t.elapsed().as_secs_f64() * 1e3
            );
        }
        let t = Instant::now();
        for _ in 0..n {
            net.forward(&p, &x, b, &mut ws, par);
        }
        let tf = t.elapsed().as_secs_f64() / n as f64;
        let t = Instant::now();
        for _ in 0..n {
            net.forward(&p, &x, b, &mut ws, par);
            net.backward(&p, &x, b, Targets::Classes(&labels), &mut ws, &mut g, par);
        }
        let tfb = t.elapsed().as_secs_f64() / n as f64;
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
    });
}
