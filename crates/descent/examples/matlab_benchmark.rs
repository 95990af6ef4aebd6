//! MATLAB's "Choose a multilayer neural network training function" benchmark as a
//! recipe: SIN (1-5-1 tanh, 41 points on [−1, 1], MSE goal 0.002) and 3-bit PARITY
//! (3-10-10-1 tanh, goal 0.001), every full-batch trainer, 10 seeds from Nguyen–Widrow
//! weights: success rate, median epochs and median milliseconds to the goal (each seed's
//! time the fastest of 7 identical runs).
//!
//!     cargo run --release -p descent --example matlab_benchmark

use descent::data::{synthetic, Dataset, TargetData};
use descent::nn::{train, Activation, Init, Loss, Mlp, Silent, TrainConfig, TrainState, TrainStop};
use std::time::Instant;

/// Identical runs per seed; the fastest is its time.
const REPEATS: usize = 7;

fn parity3() -> Dataset {
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for p in 0..8u32 {
        for b in 0..3 {
            x.push(((p >> b) & 1) as f64);
        }
        y.push((p.count_ones() % 2) as f64);
    }
    Dataset {
        x,
        d: 3,
        targets: TargetData::Values { y, k: 1 },
        feature_names: vec!["b1".into(), "b2".into(), "b3".into()],
    }
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut sin = synthetic("sine:41", 0).expect("sine");
    sin.x.iter_mut().for_each(|v| *v /= std::f64::consts::PI);
    let problems = [
        ("SIN", sin, vec![1, 5, 1], 0.002),
        ("PARITY", parity3(), vec![3, 10, 10, 1], 0.001),
    ];
    // Trainers (with settings, `lm:tau=1e-2`) from the command line, or all of them.
    let given: Vec<String> = std::env::args().skip(1).collect();
    let all = [
        "lm", "br", "scg", "rprop", "irprop+", "oss", "cgb", "bfgs", "lbfgs", "gda", "gdx",
    ];
    let trainers: Vec<&str> = if given.is_empty() {
        all.to_vec()
    } else {
        given.iter().map(String::as_str).collect()
    };
    println!("| problem | trainer | reached | median epochs | median ms |");
    println!("|---|---|---|---|---|");
    for (name, data, sizes, goal) in &problems {
        let acts = vec![Activation::Tanh; sizes.len() - 2];
        let net = Mlp::new(sizes, &acts, Loss::SquaredError).expect("network");
        for &opt in &trainers {
            let epochs = if opt.starts_with("gd") { 10_000 } else { 1000 };
            let (mut ep, mut ms, mut ok) = (Vec::new(), Vec::new(), 0);
            for seed in 0..10 {
                let cfg = TrainConfig {
                    optimizer: opt.into(),
                    epochs,
                    goal: Some(*goal),
                    ..TrainConfig::default()
                };
                let start = TrainState::new(net.init_params(Init::NguyenWidrow, seed));
                // Sub-millisecond runs: the fastest of REPEATS identical runs is the time.
                let mut fastest = f64::INFINITY;
                let mut r = None;
                for _ in 0..REPEATS {
                    let t = Instant::now();
                    let run = train::<f64>(&net, data, None, &cfg, start.clone(), &mut Silent)
                        .expect("run");
                    fastest = fastest.min(t.elapsed().as_secs_f64());
                    r = Some(run);
                }
                let r = r.expect("at least one run");
                if r.stop == TrainStop::Goal {
                    ok += 1;
                    ep.push(r.state.epoch as f64);
                    ms.push(1e3 * fastest);
                }
            }
            println!(
                "| {name} | {opt} | {ok}/10 | {:.0} | {:.2} |",
                median(&mut ep),
                median(&mut ms)
            );
        }
    }
}
