//! L-BFGS at 10⁵–10⁷ variables: the direction alone (m = 10 stored pairs) and a whole
//! iteration on extended Rosenbrock, with the bytes each must stream, so that criterion's
//! throughput is comparable with the machine's bandwidth (`examples/machine_bounds`).
//! SciPy side by side: `bench/lbfgs_large_vs_scipy.py`.
//!
//! `cargo bench -p descent --bench lbfgs_large`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use descent::direction::{Direction, Lbfgs, LineSearchMethod};
use descent::problems::mgh::MghProblem;
use descent::{Iterate, Minimizer};
use std::hint::black_box;

const MEMORY: usize = 10;

fn pseudo_random(n: usize, seed: u64) -> Vec<f64> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        })
        .collect()
}

fn direction(c: &mut Criterion) {
    let mut g = c.benchmark_group("lbfgs_direction");
    g.sample_size(10);
    for n in [100_000, 1_000_000, 10_000_000] {
        let problem = MghProblem::new("extended-rosenbrock", Some(n), None).unwrap();
        let x = problem.x0();
        let it = Iterate::evaluate(&problem, &x);
        let mut lbfgs = Lbfgs::new(MEMORY);
        lbfgs.init(n);
        for k in 0..MEMORY as u64 {
            let s = pseudo_random(n, 2 * k);
            // y = s + noise: positive curvature.
            let y: Vec<f64> = s
                .iter()
                .zip(pseudo_random(n, 2 * k + 1))
                .map(|(a, b)| a + 0.1 * b)
                .collect();
            lbfgs.update(&s, &y, &it);
        }
        let mut d = vec![0.0; n];
        // The gradient and the 2m pair vectors read, d written: the two-loop's minimum.
        g.throughput(Throughput::Bytes(((2 * MEMORY + 2) * n * 8) as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| lbfgs.direction(&problem, &it, black_box(&mut d)).unwrap())
        });
    }
    g.finish();
}

fn iteration(c: &mut Criterion) {
    let mut g = c.benchmark_group("lbfgs_iteration_extended_rosenbrock");
    g.sample_size(10);
    for n in [100_000, 1_000_000, 10_000_000] {
        let problem = MghProblem::new("extended-rosenbrock", Some(n), None).unwrap();
        let mut method = LineSearchMethod::lbfgs(MEMORY);
        let mut it = method.init(&problem, &problem.x0()).unwrap();
        // Fill the memory first: the steady state is what a long run spends its time in.
        for _ in 0..MEMORY + 2 {
            method.step(&problem, &mut it).unwrap();
        }
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| black_box(method.step(&problem, &mut it).unwrap()))
        });
    }
    g.finish();
}

criterion_group!(benches, direction, iteration);
criterion_main!(benches);
