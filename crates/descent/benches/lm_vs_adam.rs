//! Levenberg–Marquardt versus Adam on the lecture's small network: a 1-10-1 tanh network
//! fit to sin on [−π, π] (100 points), same Nguyen–Widrow initial weights. Prints the iterations and
//! wall time each needs to reach MSE ≤ 1e-5 (Adam full batch at several learning rates),
//! then times both with criterion. `cargo bench -p descent --bench lm_vs_adam`.

use criterion::{criterion_group, criterion_main, Criterion};
use descent::data::synthetic;
use descent::nn::{
    train, Activation, EpochReport, Init, Loss, Mlp, TrainConfig, TrainObserver, TrainState,
};
use std::time::Instant;

struct Until {
    target: f64,
    start: Instant,
    hit: Option<(usize, f64)>,
}

impl TrainObserver for Until {
    fn on_epoch(&mut self, r: &EpochReport) {
        if self.hit.is_none() && r.train_loss <= self.target {
            self.hit = Some((r.epoch, self.start.elapsed().as_secs_f64()));
        }
    }
}

fn time_to_target(cfg: &TrainConfig) -> Option<(usize, f64)> {
    let net = Mlp::new(&[1, 10, 1], &[Activation::Tanh], Loss::SquaredError).unwrap();
    let data = synthetic("sine:100", 0).unwrap();
    let mut obs = Until {
        target: 1e-5,
        start: Instant::now(),
        hit: None,
    };
    let p0 = net.init_params(Init::NguyenWidrow, 1);
    let _ = train::<f64>(&net, &data, None, cfg, TrainState::new(p0), &mut obs).unwrap();
    obs.hit
}

fn bench(c: &mut Criterion) {
    let lm = TrainConfig {
        optimizer: "lm".into(),
        epochs: 100,
        ..TrainConfig::default()
    };
    let lm_hit = time_to_target(&lm);
    println!("LM: {lm_hit:?} (iterations, seconds) to MSE <= 1e-5");
    for lr in [1e-3, 3e-3, 1e-2, 3e-2] {
        let adam = TrainConfig {
            optimizer: "adam".into(),
            lr: Some(lr),
            epochs: 200_000,
            batch_size: 100,
            ..TrainConfig::default()
        };
        match (time_to_target(&adam), lm_hit) {
            (Some((e, t)), Some((_, tl))) => println!(
                "Adam lr {lr}: {e} epochs, {t:.3} s; LM is {:.0}x faster",
                t / tl
            ),
            (None, _) => println!("Adam lr {lr}: never reached MSE <= 1e-5 in 200 000 epochs"),
            _ => println!("Adam lr {lr}: LM did not reach the target"),
        }
    }
    let mut g = c.benchmark_group("sine-1-10-1-tanh");
    g.sample_size(10);
    g.bench_function("lm-to-target", |b| b.iter(|| time_to_target(&lm)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
