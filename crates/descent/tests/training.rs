//! Training end to end on small problems.

use descent::data::{synthetic, Dataset};
use descent::nn::{
    batch_data, evaluate, train, Activation, EpochReport, Init, Loss, Mlp, Silent, TrainConfig,
    TrainObserver, TrainResult, TrainState, TrainStop,
};
use faer::Par;
use std::time::Instant;

/// Trains `net` from freshly initialized weights (`init`, `seed`).
fn fresh<T: descent::nn::Real>(
    net: &Mlp,
    data: &Dataset,
    val: Option<&Dataset>,
    cfg: &TrainConfig,
    init: Init,
    seed: u64,
) -> descent::nn::TrainResult {
    train::<T>(
        net,
        data,
        val,
        cfg,
        TrainState::new(net.init_params(init, seed)),
        &mut Silent,
    )
    .unwrap()
}

fn sine() -> Dataset {
    synthetic("sine:100", 0).unwrap()
}

#[test]
fn levenberg_marquardt_fits_sine_with_1_10_1_tanh_fast() {
    let net = Mlp::new(&[1, 10, 1], &[Activation::Tanh], Loss::SquaredError).unwrap();
    let data = sine();
    // Nguyen–Widrow weights, which MATLAB's trainers are tuned with (from Glorot weights
    // the unscaled damping of `lm` on networks needs a median of 47 iterations here).
    let p0 = net.init_params(Init::NguyenWidrow, 1);
    let cfg = TrainConfig {
        optimizer: "lm".into(),
        epochs: 100,
        ..TrainConfig::default()
    };
    let t = Instant::now();
    let r = train::<f64>(
        &net,
        &data,
        None,
        &cfg,
        TrainState::new(p0.clone()),
        &mut Silent,
    )
    .unwrap();
    let lm_time = t.elapsed().as_secs_f64();
    let bd = batch_data::<f64>(&data, &net);
    let (mse, _, r2) = evaluate(&net, &r.state.params, &bd, Par::Seq);
    let first = r
        .state
        .history
        .iter()
        .position(|e| e.train_loss <= 1e-5)
        .map(|i| i + 1);
    assert!(
        mse <= 1e-5,
        "LM MSE {mse} after {} iterations ({:?})",
        r.state.epoch,
        r.stop
    );
    assert!(first.is_some_and(|it| it <= 100));
    assert!(r2.unwrap() > 0.9999);
    let _ = lm_time; // the time comparison with Adam is a bench: benches/lm_vs_adam.rs
}

#[test]
fn adam_and_lbfgs_learn_two_spirals_and_xor() {
    let data = synthetic("spirals:400", 3).unwrap();
    let (tr, va, _) = data.split(0.2, 0.0, 1).unwrap();
    let net = Mlp::new(&[2, 32, 32, 2], &[Activation::Tanh], Loss::CrossEntropy).unwrap();
    let p0 = net.init_params(Init::GlorotUniform, 2);
    let cfg = TrainConfig {
        optimizer: "adam".into(),
        lr: Some(1e-2),
        epochs: 300,
        batch_size: 32,
        ..TrainConfig::default()
    };
    let r = train::<f32>(
        &net,
        &tr,
        Some(&va),
        &cfg,
        TrainState::new(p0.clone()),
        &mut Silent,
    )
    .unwrap();
    let acc = r.state.history.last().unwrap().val_accuracy.unwrap();
    assert!(acc > 0.95, "Adam spirals accuracy {acc}");
    let cfg = TrainConfig {
        optimizer: "lbfgs".into(),
        epochs: 500,
        ..TrainConfig::default()
    };
    let r = train::<f64>(&net, &tr, Some(&va), &cfg, TrainState::new(p0), &mut Silent).unwrap();
    let acc = r.state.history.last().unwrap().val_accuracy.unwrap();
    assert!(acc > 0.95, "L-BFGS spirals accuracy {acc} ({:?})", r.stop);
    let xor = synthetic("xor", 0).unwrap();
    let net = Mlp::new(&[2, 4, 2], &[Activation::Tanh], Loss::CrossEntropy).unwrap();
    for opt in ["bfgs", "cg", "newton-cg"] {
        let cfg = TrainConfig {
            optimizer: opt.into(),
            epochs: 300,
            ..TrainConfig::default()
        };
        let r = fresh::<f64>(&net, &xor, Some(&xor), &cfg, Init::GlorotUniform, 4);
        assert_eq!(
            r.state.history.last().unwrap().val_accuracy,
            Some(1.0),
            "{opt}"
        );
    }
}

#[test]
fn resume_continues_exactly() {
    let data = synthetic("moons:200", 1).unwrap();
    let net = Mlp::new(&[2, 8, 2], &[Activation::Relu], Loss::CrossEntropy).unwrap();
    let p0 = net.init_params(Init::He, 9);
    for opt in [
        "adam", "momentum", "sgd", "rmsprop", "nesterov", "adagrad", "amsgrad", "adamw", "muon",
        "sf-adamw",
    ] {
        let cfg4 = TrainConfig {
            optimizer: opt.into(),
            epochs: 4,
            batch_size: 16,
            seed: 5,
            ..TrainConfig::default()
        };
        let straight = train::<f32>(
            &net,
            &data,
            None,
            &cfg4,
            TrainState::new(p0.clone()),
            &mut Silent,
        )
        .unwrap();
        let cfg2 = TrainConfig {
            epochs: 2,
            ..cfg4.clone()
        };
        let half = train::<f32>(
            &net,
            &data,
            None,
            &cfg2,
            TrainState::new(p0.clone()),
            &mut Silent,
        )
        .unwrap();
        let resumed = train::<f32>(&net, &data, None, &cfg4, half.state, &mut Silent).unwrap();
        assert_eq!(straight.state.params, resumed.state.params, "{opt}");
        assert_eq!(straight.state.epoch, 4);
    }
}

/// Stops training after a number of mini-batches (as Ctrl-C would).
struct StopAfter(usize);
impl descent::nn::TrainObserver for StopAfter {
    fn on_batch(&mut self, _e: usize, _b: usize, _n: usize, _l: f64) {
        self.0 = self.0.saturating_sub(1);
    }
    fn should_stop(&self) -> bool {
        self.0 == 0
    }
}

#[test]
fn a_run_interrupted_mid_epoch_and_saved_resumes_exactly() {
    // Mini-batch training is the driver's MiniBatch method: its checkpoint (the step
    // rule's moments, the epoch's order, the position in it, the plateau scale) goes into
    // the .optim file, so a run stopped after 7 of an epoch's 13 batches, saved, loaded
    // and resumed is the uninterrupted run to the bit: weights, history, stop.
    use descent::nn::{load_state, save_model, ModelMeta};
    let data = synthetic("moons:200", 1).unwrap();
    let val = synthetic("moons:60", 2).unwrap();
    let net = Mlp::new(&[2, 8, 2], &[Activation::Tanh], Loss::CrossEntropy).unwrap();
    let p0 = net.init_params(Init::GlorotUniform, 3);
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("descent-midepoch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for opt in ["adam", "momentum", "rmsprop", "muon", "sf-adamw"] {
        let cfg = TrainConfig {
            optimizer: opt.into(),
            epochs: 5,
            batch_size: 16,
            seed: 11,
            // Schedule-free AdamW refuses a plateau schedule (its steps must stay whole).
            plateau: (opt != "sf-adamw").then_some((0.5, 1)),
            ..TrainConfig::default()
        };
        let run = |st, obs: &mut dyn descent::nn::TrainObserver| {
            train::<f32>(&net, &data, Some(&val), &cfg, st, obs).unwrap()
        };
        let straight = run(TrainState::new(p0.clone()), &mut Silent);
        let cut = run(TrainState::new(p0.clone()), &mut StopAfter(13 * 2 + 7));
        assert_eq!(cut.stop, TrainStop::Interrupted, "{opt}");
        assert_eq!((cut.state.epoch, cut.state.batch), (2, 7), "{opt}");
        let path = dir.join(format!("{opt}.safetensors"));
        let meta = ModelMeta::default();
        save_model(
            &path,
            &net,
            &cut.state.params,
            "f32",
            &meta,
            Some((&cut.state, &cfg)),
        )
        .unwrap();
        let (loaded, _) = load_state(&path).unwrap();
        let resumed = run(loaded, &mut Silent);
        assert_eq!(straight.state.params, resumed.state.params, "{opt}");
        let losses = |s: &TrainState| -> Vec<(f64, Option<f64>, f64)> {
            s.history
                .iter()
                .map(|e| (e.train_loss, e.val_loss, e.lr_scale))
                .collect()
        };
        assert_eq!(losses(&straight.state), losses(&resumed.state), "{opt}");
        assert_eq!(straight.state.step, resumed.state.step, "{opt}");
        assert_eq!(straight.stop, resumed.stop, "{opt}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn full_batch_and_least_squares_training_resume_exactly() {
    // The driver's checkpoint keeps L-BFGS's pairs and Levenberg–Marquardt's damping: a
    // run of 2 + 4 iterations is the run of 6, weights and every epoch's loss to the bit.
    let moons = synthetic("moons:200", 1).unwrap();
    let ce = Mlp::new(&[2, 16, 2], &[Activation::Tanh], Loss::CrossEntropy).unwrap();
    let sq = Mlp::new(&[2, 16, 2], &[Activation::Tanh], Loss::SquaredError).unwrap();
    for (net, opt) in [
        (&ce, "lbfgs"),
        (&ce, "cg"),
        (&ce, "bfgs"),
        (&sq, "lm"),
        (&sq, "gn"),
    ] {
        let p0 = net.init_params(Init::GlorotUniform, 4);
        let cfg = |epochs| TrainConfig {
            optimizer: opt.into(),
            epochs,
            ..TrainConfig::default()
        };
        let straight = train::<f64>(
            net,
            &moons,
            None,
            &cfg(6),
            TrainState::new(p0.clone()),
            &mut Silent,
        )
        .unwrap();
        let half = train::<f64>(
            net,
            &moons,
            None,
            &cfg(2),
            TrainState::new(p0.clone()),
            &mut Silent,
        )
        .unwrap();
        assert!(half.state.method_checkpoint.is_some(), "{opt}");
        let resumed = train::<f64>(net, &moons, None, &cfg(6), half.state, &mut Silent).unwrap();
        assert_eq!(straight.state.params, resumed.state.params, "{opt}");
        let losses = |s: &descent::nn::TrainState| -> Vec<f64> {
            s.history.iter().map(|e| e.train_loss).collect()
        };
        assert_eq!(losses(&straight.state), losses(&resumed.state), "{opt}");
        assert_eq!(straight.stop, resumed.stop, "{opt}");
    }
}

#[test]
fn a_users_own_step_rule_or_minimizer_trains_a_network() {
    use descent::nn::{train_with, Optimizer};
    let data = synthetic("moons:200", 1).unwrap();
    let net = Mlp::new(&[2, 8, 2], &[Activation::Tanh], Loss::CrossEntropy).unwrap();
    let p0 = net.init_params(Init::GlorotUniform, 2);
    let cfg = TrainConfig {
        optimizer: "adam".into(),
        epochs: 3,
        batch_size: 16,
        ..TrainConfig::default()
    };
    let by_name = train::<f64>(
        &net,
        &data,
        None,
        &cfg,
        TrainState::new(p0.clone()),
        &mut Silent,
    )
    .unwrap();
    // The same rule built by hand: the same run.
    let rule = descent::update::Adam::new(descent::update::Schedule::Constant(1e-3));
    let own = train_with::<f64>(
        &net,
        &data,
        None,
        &cfg,
        Optimizer::StepRule(Box::new(rule)),
        TrainState::new(p0.clone()),
        &mut Silent,
    )
    .unwrap();
    assert_eq!(by_name.state.params, own.state.params);
    // A minimizer assembled by hand on the full batch.
    let m = descent::direction::LineSearchMethod::new(
        descent::direction::Lbfgs::new(5),
        descent::linesearch::StrongWolfe::default(),
    );
    let full = train_with::<f64>(
        &net,
        &data,
        None,
        &TrainConfig {
            epochs: 30,
            ..cfg.clone()
        },
        Optimizer::FullBatch(Box::new(m)),
        TrainState::new(p0),
        &mut Silent,
    )
    .unwrap();
    let h = &full.state.history;
    assert!(
        h.last().unwrap().train_loss < 0.5 * h[0].train_loss,
        "{:?}",
        h.last()
    );
}

#[test]
fn diverging_learning_rate_is_a_typed_stop() {
    let data = sine();
    let net = Mlp::new(&[1, 10, 1], &[Activation::Relu], Loss::SquaredError).unwrap();
    let cfg = TrainConfig {
        optimizer: "sgd".into(),
        lr: Some(1e6),
        epochs: 50,
        batch_size: 10,
        ..TrainConfig::default()
    };
    let r = fresh::<f32>(&net, &data, None, &cfg, Init::He, 1);
    assert_eq!(r.stop, TrainStop::Diverged);
    assert!(r.state.params.iter().all(|v| v.is_finite()));
}

#[test]
fn diagnostics_report_every_hidden_layer() {
    let data = synthetic("spirals:400", 0).unwrap();
    let net = Mlp::new(
        &[2, 50, 50, 50, 50, 50, 2],
        &[Activation::Sigmoid],
        Loss::CrossEntropy,
    )
    .unwrap();
    let cfg = TrainConfig {
        optimizer: "sgd".into(),
        lr: Some(0.1),
        epochs: 2,
        batch_size: 10,
        diagnostics: true,
        ..TrainConfig::default()
    };
    let r = fresh::<f32>(&net, &data, None, &cfg, Init::Standard, 0);
    let d = r
        .state
        .history
        .last()
        .unwrap()
        .diagnostics
        .as_ref()
        .unwrap();
    assert_eq!(d.len(), 5);
    for l in d {
        assert!(
            (0.0..=1.0).contains(&l.mean) && l.std >= 0.0 && (0.0..=1.0).contains(&l.saturated)
        );
        assert_eq!(l.histogram.iter().sum::<u32>() as usize, 400 * 50);
        assert!(l.grad_norm.is_finite());
    }
}

#[test]
fn hessian_free_trains_cross_entropy_and_squared_error_networks() {
    let data = synthetic("spirals:300", 4).unwrap();
    let (tr, va, _) = data.split(0.2, 0.0, 2).unwrap();
    let net = Mlp::new(&[2, 24, 24, 2], &[Activation::Tanh], Loss::CrossEntropy).unwrap();
    let cfg = TrainConfig {
        optimizer: "hf".into(),
        epochs: 150,
        ..TrainConfig::default()
    };
    let r = fresh::<f64>(&net, &tr, Some(&va), &cfg, Init::GlorotUniform, 3);
    let best = r
        .state
        .history
        .iter()
        .filter_map(|e| e.val_accuracy)
        .fold(0.0, f64::max);
    assert!(best > 0.95, "HF spirals validation accuracy {best}");
    let net = Mlp::new(&[1, 10, 1], &[Activation::Tanh], Loss::SquaredError).unwrap();
    let cfg = TrainConfig {
        optimizer: "hf".into(),
        epochs: 200,
        ..TrainConfig::default()
    };
    let r = train::<f64>(
        &net,
        &sine(),
        None,
        &cfg,
        TrainState::new(net.init_params(Init::GlorotUniform, 1)),
        &mut Silent,
    )
    .unwrap();
    let last = r.state.history.last().unwrap().train_loss;
    assert!(last < 1e-5, "HF sine MSE {last}");
}

#[test]
fn batch_split_across_threads_matches_one_thread() {
    // Data-parallel mini-batches sum the shards' gradients weighted by their sizes: the
    // trajectory must be the one-thread trajectory up to rounding (batch 100 → shards of
    // 34/33/33 with three threads, a ragged last batch of 50).
    let data = synthetic("spirals:250", 1).unwrap();
    let net = Mlp::new(&[2, 16, 16, 2], &[Activation::Tanh], Loss::CrossEntropy).unwrap();
    let run = |threads: usize| {
        let cfg = TrainConfig {
            optimizer: "sgd".into(),
            lr: Some(0.05),
            epochs: 3,
            batch_size: 100,
            threads,
            ..TrainConfig::default()
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| fresh::<f64>(&net, &data, None, &cfg, Init::GlorotUniform, 3))
    };
    let (one, three) = (run(1), run(3));
    assert_eq!(one.state.step, three.state.step);
    for (a, b) in one.state.params.iter().zip(&three.state.params) {
        assert!((a - b).abs() <= 1e-12 * (1.0 + a.abs()), "{a} vs {b}");
    }
    let (l1, l3) = (
        one.state.history.last().unwrap().train_loss,
        three.state.history.last().unwrap().train_loss,
    );
    assert!((l1 - l3).abs() <= 1e-12, "{l1} vs {l3}");
}

/// `../shared/data/mnist` beside the checkout, or `None` (with a printed line) when it is
/// not there — unless `DESCENT_REQUIRE_SHARED` is set (as `.ci/run` does), which turns the
/// skip into a failure so that CI still runs these tests.
fn shared_mnist() -> Option<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/mnist");
    if dir.join("train-images-idx3-ubyte.gz").exists()
        || dir.join("train-images-idx3-ubyte").exists()
    {
        return Some(dir);
    }
    assert!(
        std::env::var_os("DESCENT_REQUIRE_SHARED").is_none(),
        "DESCENT_REQUIRE_SHARED is set but MNIST is not in {}",
        dir.display()
    );
    println!(
        "skipped: MNIST not found in {} (shared/ beside the checkout)",
        dir.display()
    );
    None
}

#[test]
fn top_sigmoid_layer_saturates_with_standard_init_not_with_glorot() {
    // Glorot & Bengio (2010): in a deep sigmoid network from the "standard" U[−1/√n, 1/√n]
    // initialization the top hidden layer saturates; from their normalized initialization
    // far less. 3000 MNIST images, 784-200×5-10, Adam (lr 1e-3, batch 128), 12 epochs.
    let Some(dir) = shared_mnist() else { return };
    let all = descent::data::load_mnist(&dir, true).expect("MNIST is readable");
    let data = all.subset(&(0..3000).collect::<Vec<_>>());
    let net = Mlp::new(
        &[784, 200, 200, 200, 200, 200, 10],
        &[Activation::Sigmoid],
        Loss::CrossEntropy,
    )
    .unwrap();
    let top = |init: Init| {
        let cfg = TrainConfig {
            optimizer: "adam".into(),
            epochs: 12,
            batch_size: 128,
            diagnostics: true,
            ..TrainConfig::default()
        };
        let r = fresh::<f32>(&net, &data, None, &cfg, init, 0);
        let d = r.state.history.last().unwrap().diagnostics.clone().unwrap();
        d.last().unwrap().saturated
    };
    let (standard, glorot) = (top(Init::Standard), top(Init::GlorotUniform));
    assert!(
        standard >= 0.10,
        "standard init: top layer {:.1}% saturated",
        100.0 * standard
    );
    assert!(
        standard >= 2.0 * glorot,
        "standard {:.1}% vs Glorot {:.1}% saturated",
        100.0 * standard,
        100.0 * glorot
    );
}

#[test]
fn gaussian_blobs_are_a_ten_class_64_feature_task() {
    let d = synthetic("blobs:200", 3).unwrap();
    assert_eq!((d.len(), d.d), (200, 64));
    match &d.targets {
        descent::data::TargetData::Classes { labels, .. } => {
            assert!((0..10).all(|c| labels.iter().filter(|l| **l == c).count() == 20));
        }
        _ => panic!("blobs are classes"),
    }
    assert!(d.x.iter().all(|v| v.is_finite()));
    // Seeded: the same seed gives the same set, another seed another one.
    assert_eq!(d.x, synthetic("blobs:200", 3).unwrap().x);
    assert_ne!(d.x, synthetic("blobs:200", 4).unwrap().x);
}

/// MATLAB's PARITY problem: the 8 patterns of 3 bits, the target their parity (0 or 1).
fn parity3() -> Dataset {
    let mut x = Vec::new();
    let mut y = Vec::new();
    for p in 0..8u32 {
        for b in 0..3 {
            x.push(((p >> b) & 1) as f64);
        }
        y.push((p.count_ones() % 2) as f64);
    }
    Dataset {
        x,
        d: 3,
        targets: descent::data::TargetData::Values { y, k: 1 },
        feature_names: vec!["b1".into(), "b2".into(), "b3".into()],
        part: None,
    }
}

/// For seeds 0..10, the epochs `optimizer` takes to bring the training MSE to `goal`
/// (None where it does not within `epochs`).
fn epochs_to_goal(
    net: &Mlp,
    data: &Dataset,
    optimizer: &str,
    goal: f64,
    epochs: usize,
) -> Vec<Option<usize>> {
    (0..10)
        .map(|seed| {
            let cfg = TrainConfig {
                optimizer: optimizer.into(),
                epochs,
                goal: Some(goal),
                ..TrainConfig::default()
            };
            let r = fresh::<f64>(net, data, None, &cfg, Init::NguyenWidrow, seed);
            (r.stop == TrainStop::Goal).then_some(r.state.epoch)
        })
        .collect()
}

/// Seeds (of 10) in which `optimizer` brings the training MSE to `goal` within `epochs`.
fn goal_successes(net: &Mlp, data: &Dataset, optimizer: &str, goal: f64, epochs: usize) -> usize {
    epochs_to_goal(net, data, optimizer, goal, epochs)
        .iter()
        .flatten()
        .count()
}

/// MATLAB's SIN problem: 41 points of sin(πx) on [−1, 1] (the input range MATLAB maps to
/// and Nguyen–Widrow initialization assumes).
fn matlab_sin() -> Dataset {
    let mut sin = synthetic("sine:41", 0).unwrap();
    sin.x.iter_mut().for_each(|v| *v /= std::f64::consts::PI);
    sin
}

#[test]
fn levenberg_marquardt_reaches_the_sin_goal_in_fewer_trials_than_lbfgs_takes_epochs() {
    // What makes LM the fastest trainer on MATLAB's SIN: with the damping of MATLAB's
    // trainlm (unscaled JᵀJ + μI) it needs a median of 3 trials — rejected ones counted —
    // where L-BFGS takes 12 epochs (MINPACK's column scaling took 15).
    let net = Mlp::new(&[1, 5, 1], &[Activation::Tanh], Loss::SquaredError).unwrap();
    let sin = matlab_sin();
    let median = |opt: &str| {
        let mut e: Vec<usize> = epochs_to_goal(&net, &sin, opt, 0.002, 1000)
            .into_iter()
            .map(|e| e.unwrap_or(usize::MAX))
            .collect();
        e.sort_unstable();
        e[5]
    };
    let (lm, lbfgs) = (median("lm"), median("lbfgs"));
    println!("median epochs to SIN's goal: lm {lm}, lbfgs {lbfgs}");
    assert!(2 * lm <= lbfgs, "lm {lm}, lbfgs {lbfgs}");
}

#[test]
fn matlab_trainers_reach_the_sin_and_parity_goals() {
    // MATLAB's "Choose a multilayer neural network training function" benchmarks: SIN
    // (1-5-1 tanh, MSE goal 0.002) and PARITY (3-bit, 3-10-10-1 tanh, goal 0.001). Each
    // full-batch trainer reaches the goal in at least 8 of 10 seeds within 1000 epochs,
    // from MATLAB's Nguyen–Widrow initialization.
    let sin = matlab_sin();
    let sin_net = Mlp::new(&[1, 5, 1], &[Activation::Tanh], Loss::SquaredError).unwrap();
    let parity = parity3();
    let parity_net = Mlp::new(
        &[3, 10, 10, 1],
        &[Activation::Tanh, Activation::Tanh],
        Loss::SquaredError,
    )
    .unwrap();
    let mut runs = Vec::new();
    let trainers = [
        "lm", "scg", "rprop", "irprop+", "oss", "cgb", "bfgs", "lbfgs", "gda", "gdx",
    ];
    for opt in trainers {
        // The bold driver is a first-order method: MATLAB's page gives it 10 times longer.
        let epochs = if opt.starts_with("gd") { 10_000 } else { 1000 };
        let s = goal_successes(&sin_net, &sin, opt, 0.002, epochs);
        let p = goal_successes(&parity_net, &parity, opt, 0.001, epochs);
        println!("{opt}: SIN {s}/10, PARITY {p}/10");
        runs.push((opt, s, p));
    }
    for (opt, s, p) in runs {
        assert!(s >= 8 && p >= 8, "{opt}: SIN {s}/10, PARITY {p}/10");
    }
}

/// `n` points of sin(πx) on [−1, 1] plus Gaussian noise of standard deviation `noise`.
fn noisy_sine(n: usize, noise: f64, seed: u64) -> Dataset {
    use rand_chacha::rand_core::{RngCore, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut unif = move || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    let x: Vec<f64> = (0..n).map(|_| 2.0 * unif() - 1.0).collect();
    let y = x
        .iter()
        .map(|v| {
            let (u, w) = (unif().max(1e-12), unif());
            let z = (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * w).cos();
            (std::f64::consts::PI * v).sin() + noise * z
        })
        .collect();
    Dataset {
        x,
        d: 1,
        targets: descent::data::TargetData::Values { y, k: 1 },
        feature_names: vec!["x".into()],
        part: None,
    }
}

#[test]
fn bayesian_regularization_generalizes_where_plain_lm_overfits() {
    // 61 weights (1-20-1 tanh), 30 noisy training points: LM fits the noise; Bayesian
    // regularization keeps an effective number of parameters γ well below 61 and tests
    // at most 0.7× LM's mean squared error on clean points (median over 5 seeds).
    let net = Mlp::new(&[1, 20, 1], &[Activation::Tanh], Loss::SquaredError).unwrap();
    let clean = noisy_sine(400, 0.0, 99);
    let test = batch_data::<f64>(&clean, &net);
    let (mut ratios, mut gammas) = (Vec::new(), Vec::new());
    for seed in 0..5 {
        let data = noisy_sine(30, 0.2, seed);
        let test_mse = |opt: &str| {
            let cfg = TrainConfig {
                optimizer: opt.into(),
                epochs: 300,
                ..TrainConfig::default()
            };
            let r = fresh::<f64>(&net, &data, None, &cfg, Init::NguyenWidrow, seed);
            let (mse, _, _) = evaluate(&net, &r.state.params, &test, Par::Seq);
            let gamma = r.state.history.last().and_then(|e| e.effective_parameters);
            (mse, gamma)
        };
        let (lm, _) = test_mse("lm");
        let (br, gamma) = test_mse("br");
        println!("seed {seed}: test MSE lm {lm:.4}, br {br:.4}, gamma {gamma:?}");
        ratios.push(br / lm);
        gammas.push(gamma.expect("br reports γ"));
    }
    ratios.sort_by(f64::total_cmp);
    assert!(ratios[2] <= 0.7, "median br/lm test MSE {}", ratios[2]);
    assert!(gammas.iter().all(|g| *g < 61.0 && *g > 0.0), "{gammas:?}");
}

#[test]
fn full_batch_training_stops_on_validation_checks_and_keeps_the_best_weights() {
    // LM on 40 noisy points with 31 weights overfits; with patience 3 it stops after 3
    // epochs without a better validation loss, keeps the best epoch's weights, and says
    // so; without patience it runs on.
    let data = synthetic("noisy-sine:40", 1).unwrap();
    let val = synthetic("noisy-sine:40", 2).unwrap();
    let net = Mlp::new(&[1, 10, 1], &[Activation::Tanh], Loss::SquaredError).unwrap();
    let p0 = net.init_params(Init::NguyenWidrow, 0);
    let cfg = TrainConfig {
        optimizer: "lm".into(),
        epochs: 200,
        patience: Some(3),
        ..TrainConfig::default()
    };
    let r = train::<f64>(
        &net,
        &data,
        Some(&val),
        &cfg,
        TrainState::new(p0.clone()),
        &mut Silent,
    )
    .unwrap();
    assert_eq!(r.stop, TrainStop::EarlyStopped);
    let h = &r.state.history;
    assert!(h.len() < 200);
    let best = h
        .iter()
        .map(|e| e.val_loss.unwrap())
        .fold(f64::INFINITY, f64::min);
    // The last 3 epochs did not beat the best, which is what the kept weights score.
    assert!(h[h.len() - 3..].iter().all(|e| e.val_loss.unwrap() >= best));
    let vd = descent::nn::batch_data::<f64>(&val, &net);
    let (kept, _, _) = descent::nn::evaluate(&net, &r.state.params, &vd, Par::Seq);
    assert!((kept - best).abs() <= 1e-12 * best, "{kept} vs {best}");
    let on = TrainConfig {
        patience: None,
        ..cfg
    };
    let r = train::<f64>(
        &net,
        &data,
        Some(&val),
        &on,
        TrainState::new(p0),
        &mut Silent,
    )
    .unwrap();
    assert_ne!(r.stop, TrainStop::EarlyStopped);
}

#[test]
fn the_loss_is_inferred_from_the_target() {
    use descent::nn::infer_loss;
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("descent-infer-loss-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let csv = |name: &str, rows: &[&str]| {
        let p = dir.join(name);
        std::fs::write(&p, format!("a,y\n{}\n", rows.join("\n"))).unwrap();
        format!("csv:{}", p.display())
    };
    let real = csv("real.csv", &["1,0.5", "2,1.5", "3,2"]);
    let ints = csv("ints.csv", &["1,0", "2,1", "3,2"]);
    let two = csv("two.csv", &["1,0", "2,1", "3,1"]);
    let text = csv("text.csv", &["1,cat", "2,dog"]);
    assert_eq!(infer_loss(&real, Some(3)).unwrap(), Loss::SquaredError);
    assert_eq!(infer_loss(&ints, Some(3)).unwrap(), Loss::CrossEntropy);
    assert_eq!(infer_loss(&ints, Some(1)).unwrap(), Loss::SquaredError);
    assert_eq!(infer_loss(&two, Some(1)).unwrap(), Loss::BinaryCrossEntropy);
    assert_eq!(infer_loss(&text, Some(2)).unwrap(), Loss::CrossEntropy);
    assert_eq!(
        infer_loss(&format!("{real},target=a"), None).unwrap(),
        Loss::CrossEntropy
    );
    assert_eq!(
        infer_loss("synthetic:matlab-sin", Some(1)).unwrap(),
        Loss::SquaredError
    );
    assert_eq!(
        infer_loss("synthetic:moons:50", Some(2)).unwrap(),
        Loss::CrossEntropy
    );
    assert!(infer_loss("csv:/no/such/file.csv", None).is_err());
    std::fs::remove_dir_all(&dir).ok();
}

/// SGD on 1-8-1 tanh over the sine from `start`, batches of 10, `epochs` in all.
fn sgd_on_sine(
    epochs: usize,
    seed: u64,
    shuffle: bool,
    start: TrainState,
    obs: &mut dyn TrainObserver,
) -> descent::Result<TrainResult> {
    let net = Mlp::new(&[1, 8, 1], &[Activation::Tanh], Loss::SquaredError).unwrap();
    let cfg = TrainConfig {
        optimizer: "sgd".into(),
        lr: Some(0.05),
        batch_size: 10,
        epochs,
        seed,
        shuffle,
        ..TrainConfig::default()
    };
    train::<f64>(&net, &sine(), None, &cfg, start, obs)
}

fn sine_start() -> TrainState {
    let net = Mlp::new(&[1, 8, 1], &[Activation::Tanh], Loss::SquaredError).unwrap();
    TrainState::new(net.init_params(Init::GlorotUniform, 3))
}

#[test]
fn without_shuffling_the_batches_do_not_depend_on_the_seed() {
    let run = |shuffle, seed| {
        sgd_on_sine(3, seed, shuffle, sine_start(), &mut Silent)
            .unwrap()
            .state
    };
    assert_eq!(run(false, 1).params, run(false, 2).params);
    assert_ne!(run(true, 1).params, run(true, 2).params);
    // A run saved in order resumes in order, from an epoch's end or the middle of one, and
    // refuses to go on shuffled (its next batch is drawn already).
    let saved = run(false, 1);
    let resumed =
        |shuffle, from: &TrainState| sgd_on_sine(4, 1, shuffle, from.clone(), &mut Silent);
    let straight = sgd_on_sine(4, 1, false, sine_start(), &mut Silent).unwrap();
    assert_eq!(
        resumed(false, &saved).unwrap().state.params,
        straight.state.params
    );
    // (The sine's 100 rows are 10 batches an epoch: stopped after 25 of them.)
    let cut = sgd_on_sine(4, 1, false, sine_start(), &mut StopAfter(25)).unwrap();
    assert_eq!((cut.state.epoch, cut.state.batch), (2, 5));
    assert_eq!(
        resumed(false, &cut.state).unwrap().state.params,
        straight.state.params
    );
    for from in [&saved, &cut.state] {
        let refused = resumed(true, from).expect_err("shuffled resume of an ordered run");
        assert!(
            refused
                .to_string()
                .contains("saved taking its samples in order"),
            "{refused}"
        );
    }
}

/// An observer that sets the learning rate's multiplier after each epoch.
struct Rates(Vec<f64>);

impl TrainObserver for Rates {
    fn rate_scale(&mut self, r: &EpochReport, current: f64) -> f64 {
        self.0.get(r.epoch - 1).copied().unwrap_or(current)
    }
}

#[test]
fn an_observer_sets_the_learning_rate_of_the_epochs_that_follow() {
    let run = |epochs, obs: &mut dyn TrainObserver| {
        sgd_on_sine(epochs, 0, true, sine_start(), obs).unwrap()
    };
    // A rate too small to move any weight after the first epoch: the weights are the
    // first epoch's, to the bit.
    let one = run(1, &mut Silent);
    let frozen = run(3, &mut Rates(vec![1e-300]));
    assert_eq!(frozen.state.params, one.state.params);
    let scales: Vec<f64> = frozen.state.history.iter().map(|h| h.lr_scale).collect();
    assert_eq!(scales, [1e-300; 3]);
    // Halved, then values that are not rates (the rate is kept).
    let mut halving = Rates(vec![0.5, 0.0, f64::NAN]);
    let r = run(3, &mut halving);
    let scales: Vec<f64> = r.state.history.iter().map(|h| h.lr_scale).collect();
    assert_eq!(scales, [0.5, 0.5, 0.5]);
    assert_eq!(r.state.lr_scale, 0.5);
    // It matters: a halved rate after the first epoch is another run than the full one.
    assert_ne!(r.state.params, run(3, &mut Silent).state.params);
}

#[test]
fn full_batch_methods_stop_when_their_evaluations_run_out() {
    let net = Mlp::new(&[1, 8, 1], &[Activation::Tanh], Loss::SquaredError).unwrap();
    let data = sine();
    for optimizer in ["lbfgs", "lm"] {
        let cfg = TrainConfig {
            optimizer: optimizer.into(),
            epochs: 200,
            min_grad: Some(0.0),
            max_evals: Some(9),
            ..TrainConfig::default()
        };
        let r = fresh::<f64>(&net, &data, None, &cfg, Init::GlorotUniform, 3);
        assert_eq!(r.stop, TrainStop::MaxEvaluations, "{optimizer}");
        // At most one epoch an evaluation (the first evaluation has none).
        assert!(r.state.epoch <= 8, "{optimizer}: {} epochs", r.state.epoch);
        let counts = r.state.method_checkpoint.as_ref().unwrap().counts;
        assert_eq!(counts.f_evals, 9, "{optimizer}");
        // Resumed, the run has the budget again.
        let more = train::<f64>(&net, &data, None, &cfg, r.state.clone(), &mut Silent).unwrap();
        let counts = more.state.method_checkpoint.as_ref().unwrap().counts;
        assert_eq!((more.stop, counts.f_evals), (TrainStop::MaxEvaluations, 18));
    }
    let sgd = TrainConfig {
        optimizer: "sgd".into(),
        max_evals: Some(9),
        ..TrainConfig::default()
    };
    let refused = train::<f64>(
        &net,
        &data,
        None,
        &sgd,
        TrainState::new(vec![0.0; 25]),
        &mut Silent,
    );
    assert!(refused.err().unwrap().to_string().contains("full-batch"));
}

#[test]
fn early_stopping_on_the_validation_score_keeps_the_best_scoring_weights() {
    let net = Mlp::new(&[2, 16, 2], &[Activation::Tanh], Loss::CrossEntropy).unwrap();
    let (tr, val, _) = synthetic("spirals:400", 0)
        .unwrap()
        .split(0.25, 0.0, 1)
        .unwrap();
    let cfg = TrainConfig {
        optimizer: "adam".into(),
        lr: Some(0.02),
        batch_size: 32,
        epochs: 300,
        patience: Some(4),
        monitor_score: true,
        ..TrainConfig::default()
    };
    let r = fresh::<f64>(&net, &tr, Some(&val), &cfg, Init::GlorotUniform, 2);
    assert_eq!(r.stop, TrainStop::EarlyStopped);
    let scores: Vec<f64> = r
        .state
        .history
        .iter()
        .map(|h| h.val_accuracy.unwrap())
        .collect();
    let best = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    // The first epoch to reach the best score, then four without a better one.
    let first_best = scores.iter().position(|s| *s == best).unwrap();
    assert_eq!(scores.len(), first_best + 1 + 4, "{scores:?}");
    let (_, accuracy, _) = evaluate(
        &net,
        &r.state.params,
        &batch_data::<f64>(&val, &net),
        Par::Seq,
    );
    assert_eq!(accuracy, Some(best));
    // By default the loss is watched: the weights kept are those of the lowest one.
    let by_loss = TrainConfig {
        monitor_score: false,
        ..cfg.clone()
    };
    let l = fresh::<f64>(&net, &tr, Some(&val), &by_loss, Init::GlorotUniform, 2);
    let lowest = l
        .state
        .history
        .iter()
        .map(|h| h.val_loss.unwrap())
        .fold(f64::INFINITY, f64::min);
    let (loss, _, _) = evaluate(
        &net,
        &l.state.params,
        &batch_data::<f64>(&val, &net),
        Par::Seq,
    );
    assert_eq!(loss, lowest);
    // Resumed watching the loss, the score's best is not compared with: the watch starts
    // afresh, and its best is the lowest loss of the epochs that follow.
    let then_loss = TrainConfig {
        monitor_score: false,
        epochs: r.state.epoch + 3,
        patience: Some(100),
        ..cfg.clone()
    };
    let more = train::<f64>(
        &net,
        &tr,
        Some(&val),
        &then_loss,
        r.state.clone(),
        &mut Silent,
    )
    .unwrap();
    assert!(r.state.best_is_score && !more.state.best_is_score);
    let lowest_since = more.state.history[r.state.epoch..]
        .iter()
        .map(|h| h.val_loss.unwrap())
        .fold(f64::INFINITY, f64::min);
    assert_eq!(more.state.best.as_ref().unwrap().0, lowest_since);
    // Without validation data there is no score to watch.
    let refused = train::<f64>(
        &net,
        &tr,
        None,
        &cfg,
        TrainState::new(r.state.params.clone()),
        &mut Silent,
    );
    assert!(refused.err().unwrap().to_string().contains("validation"));
}
