//! Times the pieces of one MNIST-sized training step (784-128-10, batch 128, f32):
//! `cargo run --release -p descent --example mlp_profile -- THREADS`.
mod common;

use descent::update::{Adam, Schedule, StepRule};
use std::time::Instant;

fn main() {
    let threads: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let mut run = common::Profiled::new(&[784, 128, 10], 128, threads);
    let n = 2000;
    common::pool(threads).install(|| {
        let tf = run.time(n, false);
        let tfb = run.time(n, true);
        let np = run.net.num_params();
        let mut adam = Adam::new(Schedule::Constant(1e-3));
        adam.reset(np);
        let widen = |v: &[f32]| v.iter().map(|v| *v as f64).collect::<Vec<f64>>();
        let (p64, g64) = (widen(&run.p), widen(&run.g));
        let mut d = vec![0.0; np];
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
            run.b as f64 / (tfb + ta)
        );
    });
}
