//! descent versus argmin on the same problems in one run: L-BFGS, BFGS, nonlinear CG
//! (PR+) and Newton on extended Rosenbrock (n = 2, 10, 100), same analytic derivatives,
//! same gradient tolerance. Prints the evaluation counts, then criterion times both.
//!
//! `cargo bench -p descent --bench compare_argmin`

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

#[path = "../tests/common/argmin_peer.rs"]
mod peer;
use peer::{
    argmin_newton_iterations, run_argmin, run_argmin_newton, run_descent, ExtRosenbrock, METHODS,
};

fn compare(c: &mut Criterion) {
    println!(
        "{:<8} {:>5}  {:>28}  {:>28}",
        "method", "n", "descent f/g/H evals", "argmin f/g/H evals"
    );
    for n in [2, 10, 100] {
        let p = ExtRosenbrock { n };
        for method in METHODS {
            let d = run_descent(&p, method);
            let a = run_argmin(&p, method);
            println!(
                "{method:<8} {n:>5}  {:>10}/{:>5}/{:>5} f={:<8.1e}  {:>10}/{:>5}/{:>5} f={:<8.1e}",
                d.cost_evals,
                d.grad_evals,
                d.hess_evals,
                d.f,
                a.cost_evals,
                a.grad_evals,
                a.hess_evals,
                a.f
            );
        }
    }
    for n in [2, 10, 100] {
        let p = ExtRosenbrock { n };
        let k = argmin_newton_iterations(&p);
        let mut g = c.benchmark_group(format!("ext-rosenbrock-{n}"));
        for method in METHODS {
            g.bench_function(format!("descent/{method}"), |b| {
                b.iter(|| black_box(run_descent(&p, method)))
            });
            if method == "newton" {
                g.bench_function("argmin/newton", |b| {
                    b.iter(|| black_box(run_argmin_newton(&p, k)))
                });
            } else {
                g.bench_function(format!("argmin/{method}"), |b| {
                    b.iter(|| black_box(run_argmin(&p, method)))
                });
            }
        }
        g.finish();
    }
}

criterion_group!(benches, compare);
criterion_main!(benches);
