//! Times the pieces of one MNIST-sized training step (784-128-10, batch 128, f32):
//! `cargo run --release -p descent --example mlp_profile -- THREADS`.
use descent::nn::{Activation, Init, Loss, Mlp, Targets};
use descent::update::{Adam, Schedule, StepRule};
use faer::Par;
use std::time::Instant;

fn main() {
    let threads: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let par = if threads > 1 {
        Par::rayon(threads)
    } else {
        Par::Seq
    };
    let net = Mlp::new(&[784, 128, 10], &[Activation::Relu], Loss::CrossEntropy).unwrap();
    let p64 = net.init_params(Init::GlorotUniform, 0);
    let p: Vec<f32> = p64.iter().map(|v| *v as f32).collect();
    let b = 128;
    let x: Vec<f32> = (0..b * 784)
        .map(|i| ((i * 31 % 255) as f32) / 255.0)
        .collect();
    let labels: Vec<u32> = (0..b as u32).map(|i| i % 10).collect();
    let mut ws = net.workspace::<f32>(b);
    let mut g = vec![0.0f32; net.num_params()];
    let n = 2000;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
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
        let mut adam = Adam::new(Schedule::Constant(1e-3));
        adam.reset(net.num_params());
        let g64: Vec<f64> = g.iter().map(|v| *v as f64).collect();
        let mut d = vec![0.0; net.num_params()];
        let t = Instant::now();
        for s in 0..n {
            adam.update(s as u64 + 1, &p64, &g64, &mut d);
        }
        let ta = t.elapsed().as_secs_f64() / n as f64;
        println!(
            "forward {:.3} ms, forward+backward {:.3} ms, adam {:.3} ms => {:.0} samples/s (no data copy)",
            tf * 1e3,
            tfb * 1e3,
            ta * 1e3,
            b as f64 / (tfb + ta)
        );
    });
}
