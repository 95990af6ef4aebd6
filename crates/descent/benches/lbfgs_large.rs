//! L-BFGS at 10⁵–10⁷ variables: the direction alone (m = 10 stored pairs), with the bytes
//! it streams so that criterion's throughput compares with the machine's bandwidth
//! (`examples/machine_bounds`), and 20 iterations on extended Rosenbrock from its start,
//! of L-BFGS, L-BFGS-B and nonlinear CG.
//! SciPy side by side: `bench/lbfgs_large_vs_scipy.py`.
//!
//! `cargo bench -p descent --bench lbfgs_large`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use descent::direction::{Direction, Lbfgs};
use descent::method::MethodSpec;
use descent::problems::mgh::MghProblem;
use descent::{minimize, Iterate, NoObserver, Options};
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
        // Below 2^17 entries the textbook loops stream 10m vectors; above, two passes over
        // the 2m + 1 vectors and d written: 4m + 3 (`direction/lbfgs_dots.rs`).
        let streams = if n < 1 << 17 {
            10 * MEMORY
        } else {
            4 * MEMORY + 3
        };
        g.throughput(Throughput::Bytes((streams * n * 8) as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| lbfgs.direction(&problem, &it, black_box(&mut d)).unwrap())
        });
    }
    g.finish();
}

fn iterations(c: &mut Criterion) {
    // What `descent minimize --problem extended-rosenbrock:N --method M --max-iter 20`
    // runs, for L-BFGS, L-BFGS-B (no bound given) and nonlinear CG (the memory fills on
    // the way); the time per iteration is a twentieth.
    let mut g = c.benchmark_group("20_iterations_extended_rosenbrock");
    g.sample_size(10);
    for method in ["lbfgs", "lbfgsb", "cg"] {
        let spec = MethodSpec::new(method);
        let opts = Options {
            gtol: 1e-6,
            max_iter: 20,
            ..spec.default_options()
        };
        for n in [100_000, 1_000_000, 10_000_000] {
            let problem = MghProblem::new("extended-rosenbrock", Some(n), None).unwrap();
            let x0 = problem.x0();
            g.bench_with_input(BenchmarkId::new(method, n), &n, |b, _| {
                b.iter(|| {
                    let mut m = spec.build().unwrap();
                    let s = minimize(&problem, m.as_mut(), &x0, &opts, &mut NoObserver).unwrap();
                    assert_eq!(s.iterations, 20);
                    black_box(s.f)
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, direction, iterations);
criterion_main!(benches);
