//! The step rules at 10⁵–10⁷ parameters: a whole step in one pass (`StepRule::step_to`:
//! read g, the state and x, write the state and x₊), against the rule's update alone
//! (`StepRule::update`, which writes Δ and is only the first of the two passes a step
//! takes without a one-pass form), with the bytes each streams as criterion's throughput,
//! to compare with the machine's bandwidth
//! (`cargo run --release --example machine_bounds`).
//!
//! `cargo bench -p descent --bench step_rules`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use descent::update::{Adam, Schedule, Sgd, StatePrecision, StepRule};
use std::hint::black_box;

/// Values in ±1, different at every coordinate.
fn wave(n: usize, phase: f64) -> Vec<f64> {
    (0..n).map(|i| (i as f64 * 0.37 + phase).sin()).collect()
}

/// One rule: the one pass and the update alone, `vectors` and `update_vectors` being the
/// f64 vectors each streams (read and written).
fn rule(
    c: &mut Criterion,
    name: &str,
    make: impl Fn() -> Box<dyn StepRule>,
    vectors: u64,
    update_vectors: u64,
) {
    let mut group = c.benchmark_group(format!("step_rule/{name}"));
    group.sample_size(10);
    for n in [100_000usize, 1_000_000, 10_000_000] {
        let (x, g) = (wave(n, 0.0), wave(n, 1.0));
        let mut next = vec![0.0; n];
        let mut one = make();
        one.reset(n);
        group.throughput(Throughput::Bytes(vectors * 8 * n as u64));
        group.bench_with_input(BenchmarkId::new("one pass", n), &n, |b, _| {
            b.iter(|| black_box(one.step_to(1, &x, &g, 1.0, &mut next)))
        });
        let mut update = make();
        update.reset(n);
        let mut delta = vec![0.0; n];
        group.throughput(Throughput::Bytes(update_vectors * 8 * n as u64));
        group.bench_with_input(BenchmarkId::new("update alone", n), &n, |b, _| {
            b.iter(|| {
                update.update(1, &x, &g, &mut delta);
                black_box(&delta);
            })
        });
    }
    group.finish();
}

fn step_rules(c: &mut Criterion) {
    // SGD's step reads g and x and writes x₊, its update reads g and writes Δ; Adam's
    // also read and write m and v (its update reads x, for the weight decay).
    let sgd = || -> Box<dyn StepRule> {
        Box::new(Sgd {
            lr: Schedule::Constant(1e-3),
        })
    };
    rule(c, "sgd", sgd, 3, 2);
    let adam = || -> Box<dyn StepRule> { Box::new(Adam::new(Schedule::Constant(1e-3))) };
    rule(c, "adam", adam, 7, 7);
    // An f32 network's Adam keeps its moments in f32: the four moment streams take half
    // the bytes (five f64 vectors' worth a step, and the update alone).
    let adam_f32 = || -> Box<dyn StepRule> {
        let mut adam = Adam::new(Schedule::Constant(1e-3));
        adam.state_precision(StatePrecision::F32);
        Box::new(adam)
    };
    rule(c, "adam (f32 state)", adam_f32, 5, 5);
}

criterion_group!(benches, step_rules);
criterion_main!(benches);
