//! Distributed training through the reduction seam, with the workers as threads
//! ([`InProcess`]): the same runs as one process, to the bit where the arithmetic is the
//! same and to 1e-10 where only the order of the additions differs. The same runs over
//! MPI are `tests/mpi/run.sh` (the `mpi` feature, under `mpirun`).

use descent::comm::{Communicator, InProcess, Local};
use descent::data::{synthetic, Dataset};
use descent::nn::{
    train_distributed, Activation, Init, Loss, Mlp, Optimizer, Silent, TrainConfig, TrainResult,
    TrainState,
};

fn run<T: descent::nn::Real>(
    net: &Mlp,
    data: &Dataset,
    val: Option<&Dataset>,
    cfg: &TrainConfig,
    start: TrainState,
    comm: &dyn Communicator,
) -> TrainResult {
    let optimizer = Optimizer::Method(cfg.method_spec().unwrap());
    train_distributed::<T>(net, data, val, cfg, optimizer, start, &mut Silent, comm).unwrap()
}

/// What each of `k` workers' runs fails with (`None` where it ran).
fn errors(
    k: usize,
    net: &Mlp,
    data: impl Fn(usize) -> Dataset + Sync,
    cfg: &TrainConfig,
    p0: &[f64],
) -> Vec<Option<String>> {
    InProcess::run(k, |comm| {
        let opt = Optimizer::Method(cfg.method_spec().unwrap());
        let start = TrainState::new(p0.to_vec());
        train_distributed::<f64>(
            net,
            &data(comm.rank()),
            None,
            cfg,
            opt,
            start,
            &mut Silent,
            comm,
        )
        .err()
        .map(|e| e.to_string())
    })
}

fn losses(r: &TrainResult) -> Vec<(f64, Option<f64>)> {
    r.state
        .history
        .iter()
        .map(|e| (e.train_loss, e.val_loss))
        .collect()
}

fn assert_close(a: &[(f64, Option<f64>)], b: &[(f64, Option<f64>)], tol: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: epochs");
    for (x, y) in a.iter().zip(b) {
        let rel = |p: f64, q: f64| (p - q).abs() / p.abs().max(1e-300);
        assert!(rel(x.0, y.0) <= tol, "{what}: train {} vs {}", x.0, y.0);
        if let (Some(p), Some(q)) = (x.1, y.1) {
            assert!(rel(p, q) <= tol, "{what}: validation {p} vs {q}");
        }
    }
}

fn spirals() -> (Mlp, Dataset, Dataset) {
    let data = synthetic("spirals:600", 3).unwrap();
    let (train, val, _) = data.split(0.2, 0.0, 3).unwrap();
    let net = Mlp::new(&[2, 32, 32, 3], &[Activation::Tanh; 2], Loss::CrossEntropy).unwrap();
    (net, train, val)
}

#[test]
fn data_parallel_adam_is_one_process_with_its_batches_split_the_same_way() {
    let (net, train, val) = spirals();
    let p0 = net.init_params(Init::GlorotUniform, 7);
    let cfg = |threads| TrainConfig {
        optimizer: "adam".into(),
        epochs: 4,
        // 480 rows: five batches of 96, which two threads split 48 + 48.
        batch_size: 96,
        threads,
        ..TrainConfig::default()
    };
    let f64_run = |threads, comm: &dyn Communicator| {
        run::<f64>(
            &net,
            &train,
            Some(&val),
            &cfg(threads),
            TrainState::new(p0.clone()),
            comm,
        )
    };
    let f32_run = |comm: &dyn Communicator| {
        run::<f32>(
            &net,
            &train,
            Some(&val),
            &cfg(1),
            TrainState::new(p0.clone()),
            comm,
        )
    };
    // One process whose two threads take the two halves of every batch ...
    let one = f64_run(2, &Local);
    // ... is two workers of one thread each, to the bit (b₀/b·g₀ + b₁/b·g₁ either way).
    let two = InProcess::run(2, |comm| f64_run(1, comm));
    for r in &two {
        assert_eq!(r.state.params, one.state.params);
        // The reported batch losses are means taken as (Σ l·bᵢ)/b and Σ (bᵢ/b)·l.
        assert_close(
            &losses(r),
            &losses(&one),
            1e-15,
            "2 workers against 2 threads",
        );
    }
    // Against one thread (the whole batch at once) only the order of the additions
    // differs; three workers split the batches unevenly.
    let single = f64_run(1, &Local);
    assert_close(&losses(&two[0]), &losses(&single), 1e-10, "2 workers, f64");
    let three = InProcess::run(3, |comm| f64_run(1, comm));
    assert!(three
        .iter()
        .all(|r| r.state.params == three[0].state.params));
    assert_close(
        &losses(&three[0]),
        &losses(&single),
        1e-10,
        "3 workers, f64",
    );
    let single32 = f32_run(&Local);
    let two32 = InProcess::run(2, |comm| f32_run(comm));
    assert_close(
        &losses(&two32[0]),
        &losses(&single32),
        1e-5,
        "2 workers, f32",
    );
    // An f32 network's own weights (the default; each worker steps its part and the
    // first round of each gradient sum goes in f32) and f64 master weights: two workers
    // are one process of two threads, to the bit, either way.
    for f64_master_weights in [false, true] {
        let f32_run = |threads, comm: &dyn Communicator| {
            let cfg = TrainConfig {
                f64_master_weights,
                ..cfg(threads)
            };
            run::<f32>(
                &net,
                &train,
                Some(&val),
                &cfg,
                TrainState::new(p0.clone()),
                comm,
            )
        };
        let one = f32_run(2, &Local);
        let two = InProcess::run(2, |comm| f32_run(1, comm));
        for r in &two {
            assert_eq!(r.state.params, one.state.params, "{f64_master_weights}");
            assert_close(
                &losses(r),
                &losses(&one),
                1e-7,
                "2 workers against 2 threads, f32",
            );
        }
        if !f64_master_weights {
            // Own weights are f32 values.
            assert!(one.state.params.iter().all(|w| f64::from(*w as f32) == *w));
        }
    }
}

#[test]
fn a_run_saved_with_two_workers_resumes_with_one_or_three() {
    let (net, train, val) = spirals();
    let p0 = net.init_params(Init::GlorotUniform, 8);
    let cfg = |epochs| TrainConfig {
        optimizer: "adam".into(),
        epochs,
        batch_size: 50,
        ..TrainConfig::default()
    };
    let straight = run::<f64>(
        &net,
        &train,
        Some(&val),
        &cfg(4),
        TrainState::new(p0.clone()),
        &Local,
    );
    let half = InProcess::run(2, |comm| {
        run::<f64>(
            &net,
            &train,
            Some(&val),
            &cfg(2),
            TrainState::new(p0.clone()),
            comm,
        )
    })
    .remove(0);
    let on_one = run::<f64>(
        &net,
        &train,
        Some(&val),
        &cfg(4),
        half.state.clone(),
        &Local,
    );
    assert_close(&losses(&on_one), &losses(&straight), 1e-10, "resumed on 1");
    let on_three = InProcess::run(3, |comm| {
        run::<f64>(&net, &train, Some(&val), &cfg(4), half.state.clone(), comm)
    });
    assert_close(
        &losses(&on_three[0]),
        &losses(&straight),
        1e-10,
        "resumed on 3",
    );
}

#[test]
fn full_batch_methods_take_the_same_iterations_on_their_share_of_the_rows() {
    let (net, train, _) = spirals();
    let p0 = net.init_params(Init::GlorotUniform, 9);
    for method in ["lbfgs", "cg", "scg", "rprop", "newton-cg"] {
        let cfg = TrainConfig {
            optimizer: method.into(),
            epochs: 30,
            ..TrainConfig::default()
        };
        let one = run::<f64>(
            &net,
            &train,
            None,
            &cfg,
            TrainState::new(p0.clone()),
            &Local,
        );
        // 480 rows make four leaves: two or four workers take whole subtrees of the sum,
        // and every iteration is the one process's, to the bit.
        for k in [2, 4] {
            let many = InProcess::run(k, |comm| {
                run::<f64>(&net, &train, None, &cfg, TrainState::new(p0.clone()), comm)
            });
            for r in &many {
                assert_eq!(r.state.params, one.state.params, "{method} on {k}");
                assert_eq!(losses(r), losses(&one), "{method} on {k}");
                assert_eq!(r.stop, one.stop, "{method} on {k}");
            }
        }
        // Three workers split the leaves 2 + 1 + 1: the sums are associated otherwise,
        // the same on every worker, and the run stays close to the one process's.
        let three = InProcess::run(3, |comm| {
            run::<f64>(&net, &train, None, &cfg, TrainState::new(p0.clone()), comm)
        });
        assert!(three
            .iter()
            .all(|r| r.state.params == three[0].state.params));
        assert_close(&losses(&three[0]), &losses(&one), 1e-4, method);
    }
}

#[test]
fn levenberg_marquardt_and_gauss_newton_run_on_the_summed_normal_equations() {
    // A squared-error network (MATLAB's trainlm setting): the workers sum JᵀJ, Jᵀr and rᵀr
    // of their rows, never the Jacobian; the iterations are the one process's.
    let data = synthetic("sine:300", 0).unwrap();
    let net = Mlp::new(&[1, 8, 1], &[Activation::Tanh], Loss::SquaredError).unwrap();
    let p0 = net.init_params(Init::NguyenWidrow, 1);
    for method in ["lm", "gn"] {
        let cfg = TrainConfig {
            optimizer: method.into(),
            epochs: 25,
            ..TrainConfig::default()
        };
        let one = run::<f64>(&net, &data, None, &cfg, TrainState::new(p0.clone()), &Local);
        // 300 samples make four leaves (one per 64 rows, a power of two): two workers
        // take two each.
        let many = InProcess::run(2, |comm| {
            run::<f64>(&net, &data, None, &cfg, TrainState::new(p0.clone()), comm)
        });
        for r in &many {
            assert_eq!(r.state.params, one.state.params, "{method}");
            assert_eq!(losses(r), losses(&one), "{method}");
        }
        // Three workers group the sums otherwise: close, and the same on every worker.
        let three = InProcess::run(3, |comm| {
            run::<f64>(&net, &data, None, &cfg, TrainState::new(p0.clone()), comm)
        });
        assert!(three
            .iter()
            .all(|r| r.state.params == three[0].state.params));
        assert_close(&losses(&three[0]), &losses(&one), 1e-4, method);
    }
}

#[test]
fn bayesian_regularization_runs_on_the_summed_normal_equations() {
    // The workers sum JᵀJ, Jᵀr and rᵀr of their rows; α and β count every worker's
    // residuals. One process works on the Jacobian itself (trainbr's way), so the runs
    // agree to the rounding of the two routes, not to the bit.
    let data = synthetic("sine:300", 0).unwrap();
    let net = Mlp::new(&[1, 6, 1], &[Activation::Tanh], Loss::SquaredError).unwrap();
    let p0 = net.init_params(Init::NguyenWidrow, 2);
    let cfg = TrainConfig {
        optimizer: "br".into(),
        epochs: 20,
        ..TrainConfig::default()
    };
    let one = run::<f64>(&net, &data, None, &cfg, TrainState::new(p0.clone()), &Local);
    for k in [2, 3] {
        let many = InProcess::run(k, |comm| {
            run::<f64>(&net, &data, None, &cfg, TrainState::new(p0.clone()), comm)
        });
        assert!(many.iter().all(|r| r.state.params == many[0].state.params));
        assert_close(&losses(&many[0]), &losses(&one), 1e-6, "br");
        // Had α and β counted the n + 1 residuals that stand for the rows, the
        // regularization (and the loss) would be another.
        assert_eq!(many[0].state.history.len(), one.state.history.len());
    }
}

#[test]
fn workers_that_hold_different_data_refuse_to_start() {
    let net = Mlp::new(&[2, 8, 2], &[Activation::Tanh], Loss::CrossEntropy).unwrap();
    let p0 = net.init_params(Init::GlorotUniform, 1);
    let cfg = TrainConfig {
        optimizer: "adam".into(),
        epochs: 1,
        ..TrainConfig::default()
    };
    // Rank 1 loaded another file.
    let errors = errors(
        2,
        &net,
        |rank| synthetic("moons:100", rank as u64).unwrap(),
        &cfg,
        &p0,
    );
    for e in errors {
        assert!(e.unwrap().contains("do not all hold the same data"));
    }
}

#[test]
fn normal_equations_too_large_for_memory_are_refused_before_allocation() {
    // 40 801 weights: (n + 1)² values four times over is about 53 GB.
    let data = synthetic("sine:40", 0).unwrap();
    let net = Mlp::new(
        &[1, 200, 200, 1],
        &[Activation::Tanh; 2],
        Loss::SquaredError,
    )
    .unwrap();
    let cfg = TrainConfig {
        optimizer: "lm".into(),
        epochs: 1,
        ..TrainConfig::default()
    };
    let p0 = net.init_params(Init::GlorotUniform, 1);
    let errors = errors(2, &net, |_| data.clone(), &cfg, &p0);
    for e in errors {
        let e = e.unwrap();
        assert!(
            e.contains("normal equations") && e.contains("memory"),
            "{e}"
        );
    }
}

/// NIST StRD fits with their rows split across workers: Levenberg–Marquardt (geodesic
/// acceleration on, its default), the trust-region reflective method and Gauss–Newton see
/// only the summed normal equations, and reach the certified values and the one
/// process's parameters, standard errors and degrees of freedom.
#[test]
fn fits_split_by_rows_reach_the_certified_values() {
    use descent::comm::tree::own_leaves;
    use descent::comm::NormalEquationsLeastSquares;
    use descent::least_squares::{fit_with, FitOptions};
    use descent::problems::nist::{lre, NistProblem};
    use descent::{LeastSquares, MethodSpec, NoObserver, Start};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/nist");
    for name in [
        "Misra1a", "Chwirut2", "Thurber", "Gauss1", "Lanczos3", "Rat43",
    ] {
        let p = NistProblem::read(&dir.join(format!("{name}.dat"))).unwrap();
        let whole = p.least_squares().unwrap();
        let m = whole.residual_count();
        let x0 = &p.starts[1];
        for method in ["lm", "trf", "gn"] {
            let spec = MethodSpec::parse(method).unwrap();
            let opts = spec.fit_options(&FitOptions::default());
            let solve = |problem: &dyn LeastSquares| {
                let mut built = spec.build_least_squares(&opts).unwrap();
                fit_with(
                    problem,
                    built.as_mut(),
                    Start::At(x0),
                    &opts,
                    &mut NoObserver,
                )
                .unwrap()
            };
            let one = solve(&whole);
            for k in [2, 3] {
                let many = InProcess::run(k, |comm| {
                    let (rows, leaves) = own_leaves(m, comm.rank(), comm.size());
                    let mine = whole.rows(rows).unwrap();
                    solve(&NormalEquationsLeastSquares::new(&mine, comm, leaves))
                });
                let what = format!("{name} {method} on {k}");
                for s in &many {
                    assert_eq!(s.x, many[0].x, "{what}: every worker the same");
                }
                let s = &many[0];
                assert_eq!(s.dof, one.dof, "{what}");
                let digits =
                    s.x.iter()
                        .zip(&p.certified)
                        .map(|(a, c)| lre(*a, *c))
                        .fold(15.0, f64::min);
                assert!(digits >= 6.0, "{what}: {digits:.1} certified digits");
                assert!(lre(s.rss, p.certified_rss) >= 8.0, "{what}: rss {}", s.rss);
                let se = s.std_errors.as_ref().unwrap();
                let se_one = one.std_errors.as_ref().unwrap();
                for ((a, b), c) in se.iter().zip(se_one).zip(&p.certified_sd) {
                    assert!(
                        lre(*a, *b) >= 5.0 && lre(*a, *c) >= 4.0,
                        "{what}: σ {a} {b} {c}"
                    );
                }
            }
        }
    }
}

/// A finite sum of squares `fᵢ(x) = ½(aᵢ·x − bᵢ)²`, rows drawn from a seed.
struct Rows {
    a: Vec<f64>,
    b: Vec<f64>,
    dim: usize,
}

impl Rows {
    fn new(samples: usize, dim: usize) -> Self {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let a = (0..samples * dim).map(|_| next()).collect();
        let b = (0..samples).map(|_| next()).collect();
        Rows { a, b, dim }
    }
}

impl descent::SampledObjective for Rows {
    fn dim(&self) -> usize {
        self.dim
    }
    fn sample_count(&self) -> usize {
        self.b.len()
    }
    fn batch_value_grad(&self, x: &[f64], indices: &[usize], g: &mut [f64]) -> f64 {
        let rows = indices
            .iter()
            .map(|&i| (&self.a[i * self.dim..(i + 1) * self.dim], self.b[i]));
        mean_half_squares(x, rows, g)
    }
}

/// The mean of `½(a·x − b)²` over `rows` (each `(a, b)`), its gradient in `g`.
fn mean_half_squares<'r>(
    x: &[f64],
    rows: impl ExactSizeIterator<Item = (&'r [f64], f64)>,
    g: &mut [f64],
) -> f64 {
    g.iter_mut().for_each(|v| *v = 0.0);
    let k = rows.len().max(1) as f64;
    let mut f = 0.0;
    for (row, b) in rows {
        let r: f64 = row.iter().zip(x).map(|(a, x)| a * x).sum::<f64>() - b;
        f += 0.5 * r * r;
        g.iter_mut().zip(row).for_each(|(g, a)| *g += r * a);
    }
    g.iter_mut().for_each(|v| *v /= k);
    f / k
}

/// A step rule that counts the parts it is asked to step, or refuses them (then every
/// worker steps every coordinate).
struct Probe {
    inner: descent::update::Adam,
    parts: std::sync::atomic::AtomicUsize,
    refuse_parts: bool,
}

impl descent::update::StepRule for Probe {
    fn name(&self) -> String {
        self.inner.name()
    }
    fn reset(&mut self, n: usize) {
        self.inner.reset(n)
    }
    fn update(&mut self, t: u64, x: &[f64], g: &[f64], delta: &mut [f64]) {
        self.inner.update(t, x, g, delta)
    }
    fn step_to(
        &mut self,
        t: u64,
        x: &[f64],
        g: &[f64],
        s: f64,
        next: &mut [f64],
    ) -> Option<descent::update::Moved> {
        self.inner.step_to(t, x, g, s, next)
    }
    fn step_part(
        &mut self,
        t: u64,
        x: &[f64],
        g: &[f64],
        s: f64,
        next: &mut [f64],
        part: std::ops::Range<usize>,
    ) -> Option<descent::update::Moved> {
        if self.refuse_parts {
            return None;
        }
        self.parts
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.step_part(t, x, g, s, next, part)
    }
    fn rate(&self, t: u64) -> f64 {
        self.inner.rate(t)
    }
    fn state(&self) -> Vec<(&'static str, Vec<f64>)> {
        self.inner.state()
    }
    fn set_state(&mut self, state: &[(String, Vec<f64>)]) {
        self.inner.set_state(state)
    }
}

#[test]
fn workers_that_share_the_step_take_the_whole_step_s_path_to_the_bit() {
    use descent::driver::{NoObserver, Options, Start};
    use descent::minibatch::{minimize_sampled, MiniBatch};
    // 37 coordinates: parts of 9 and 10 on four workers, 18 and 19 on two.
    let rows = Rows::new(240, 37);
    let x0 = vec![0.1; 37];
    let opts = Options {
        max_iter: 60,
        keep_checkpoint: true,
        ..Options::default()
    };
    // (point, gradient and rule state at the end, parts stepped) of one worker's run.
    let run = |comm: &dyn Communicator, refuse_parts: bool, start: Start<'_>, max_iter| {
        let problem = descent::comm::DistributedBatches::new(&rows, comm);
        let rule = Probe {
            inner: descent::update::Adam::new(descent::update::Schedule::Constant(0.05)),
            parts: 0.into(),
            refuse_parts,
        };
        let mut method = MiniBatch::new(rule, 24, 5).unwrap();
        let opts = Options { max_iter, ..opts };
        let s = minimize_sampled(&problem, &mut method, start, &opts, &mut NoObserver).unwrap();
        let checkpoint = s.checkpoint.unwrap();
        (
            s.x,
            checkpoint.iterate.g.clone(),
            checkpoint.buffers.clone(),
            method.rule.parts.into_inner(),
            checkpoint,
        )
    };
    for k in [2, 3, 4] {
        let shared = InProcess::run(k, |comm| run(comm, false, Start::At(&x0), 60));
        let whole = InProcess::run(k, |comm| run(comm, true, Start::At(&x0), 60));
        for (s, w) in shared.iter().zip(&whole) {
            // Every worker ends with the whole point, gradient and moments: those of the
            // run in which every worker steps every coordinate, to the bit.
            assert_eq!(s.0, w.0, "{k} workers: point");
            assert_eq!(s.1, w.1, "{k} workers: gradient");
            assert_eq!(s.2, w.2, "{k} workers: rule state");
            // Shared only where the halving applies (a power of two of workers).
            assert_eq!(s.3 > 0, k != 3, "{k} workers: parts stepped");
            assert_eq!(w.3, 0);
        }
    }
    // The checkpoint of a shared run is whole: resumed (shared again, or by one
    // process), it goes on as the run that did not stop.
    let straight = InProcess::run(2, |comm| run(comm, false, Start::At(&x0), 120));
    let half = InProcess::run(2, |comm| run(comm, false, Start::At(&x0), 60)).remove(0);
    let resumed = InProcess::run(2, |comm| run(comm, false, Start::Resume(&half.4), 120));
    assert_eq!(resumed[0].0, straight[0].0, "resumed shared");
    assert_eq!(resumed[1].2, straight[1].2, "resumed shared: rule state");
}

#[test]
fn a_stop_on_one_worker_stops_every_worker_at_the_same_step() {
    // Rank 0 alone wants to stop (as when it failed to save a checkpoint); the others
    // must stop with it rather than wait for it in the next sum.
    struct StopAfter(usize, usize);
    impl descent::nn::TrainObserver for StopAfter {
        fn on_batch(&mut self, _epoch: usize, _batch: usize, _batches: usize, _loss: f64) {
            self.0 += 1;
        }
        fn on_epoch(&mut self, _report: &descent::nn::EpochReport) {
            self.0 += 1;
        }
        fn should_stop(&self) -> bool {
            self.0 >= self.1
        }
    }
    let (net, train, val) = spirals();
    let p0 = net.init_params(Init::GlorotUniform, 9);
    let cfg = TrainConfig {
        optimizer: "adam".into(),
        epochs: 6,
        batch_size: 16,
        ..TrainConfig::default()
    };
    for (k, optimizer) in [(2, "adam"), (3, "adam"), (2, "lbfgs")] {
        let cfg = TrainConfig {
            optimizer: optimizer.into(),
            ..cfg.clone()
        };
        let results = InProcess::run(k, |comm| {
            let opt = Optimizer::Method(cfg.method_spec().unwrap());
            // 20 mini-batches (within the second block of 16), or 3 full-batch epochs.
            let at = if optimizer == "lbfgs" { 3 } else { 20 };
            let limit = if comm.rank() == 0 { at } else { usize::MAX };
            let mut obs = StopAfter(0, limit);
            train_distributed::<f64>(
                &net,
                &train,
                Some(&val),
                &cfg,
                opt,
                TrainState::new(p0.clone()),
                &mut obs,
                comm,
            )
            .unwrap()
        });
        for r in &results {
            assert_eq!(
                r.stop,
                descent::nn::TrainStop::Interrupted,
                "{k} {optimizer}"
            );
            assert_eq!(r.state.params, results[0].state.params, "{k} {optimizer}");
        }
    }
}

#[test]
fn validation_and_test_sets_are_evaluated_in_shares_with_one_process_s_figures() {
    // Each worker evaluates its run of the tree's leaves and the sums are joined: with
    // 2 and 4 workers the loss and accuracy (classification) or R² (regression) are
    // those of one process to the bit, and 3 workers agree to rounding.
    use descent::nn::{batch_data, evaluate, evaluate_shared};
    let spirals = synthetic("spirals:3000", 5).unwrap();
    let classifier = Mlp::new(&[2, 16, 3], &[Activation::Tanh], Loss::CrossEntropy).unwrap();
    let sine = synthetic("noisy-sine:2500", 5).unwrap();
    let regressor = Mlp::new(&[1, 16, 1], &[Activation::Tanh], Loss::SquaredError).unwrap();
    for (net, data) in [(&classifier, &spirals), (&regressor, &sine)] {
        let params = net.init_params(Init::GlorotUniform, 11);
        let rows = batch_data::<f64>(data, net);
        let alone = evaluate(net, &params, &rows, faer::Par::Seq);
        let bits = |m: (f64, Option<f64>, Option<f64>)| {
            (m.0.to_bits(), m.1.map(f64::to_bits), m.2.map(f64::to_bits))
        };
        assert!(alone.0.is_finite() && (alone.1.is_some() != alone.2.is_some()));
        for k in [2, 4] {
            let shared = InProcess::run(k, |comm| {
                evaluate_shared(net, &params, &rows, faer::Par::Seq, comm)
            });
            for m in shared {
                assert_eq!(bits(m), bits(alone), "{k} workers");
            }
        }
        let three = InProcess::run(3, |comm| {
            evaluate_shared(net, &params, &rows, faer::Par::Seq, comm)
        });
        for m in three {
            assert!((m.0 - alone.0).abs() <= 1e-12 * alone.0);
            assert_eq!(
                m.1.map(|a| (a * 3000.0).round()),
                alone.1.map(|a| (a * 3000.0).round())
            );
            if let (Some(a), Some(b)) = (m.2, alone.2) {
                assert!((a - b).abs() <= 1e-12);
            }
        }
    }
}

/// Worker `rank`'s own rows of `data` (those of its leaves), as a part of the whole set.
fn own_part(data: &Dataset, rank: usize, size: usize) -> Dataset {
    let rows = descent::comm::tree::own_leaves(data.len(), rank, size).0;
    let mut part = data.subset(&rows.clone().collect::<Vec<_>>());
    part.part = Some(descent::data::Part {
        total: data.len(),
        first: rows.start,
    });
    part
}

#[test]
fn workers_that_hold_only_their_own_rows_train_as_one_process_that_holds_them_all() {
    let (net, train, val) = spirals();
    let p0 = net.init_params(Init::GlorotUniform, 7);
    let parted = |method: &str, epochs, f32: bool| {
        let cfg = TrainConfig {
            optimizer: method.into(),
            epochs,
            batch_size: 32,
            ..TrainConfig::default()
        };
        let go = |train: &Dataset, val: &Dataset, comm: &dyn Communicator| {
            let start = TrainState::new(p0.clone());
            if f32 {
                run::<f32>(&net, train, Some(val), &cfg, start, comm)
            } else {
                run::<f64>(&net, train, Some(val), &cfg, start, comm)
            }
        };
        let one = go(&train, &val, &Local);
        for k in [2, 3] {
            let many = InProcess::run(k, |comm| {
                let (r, s) = (comm.rank(), comm.size());
                go(&own_part(&train, r, s), &own_part(&val, r, s), comm)
            });
            let tol = if f32 { 1e-5 } else { 1e-10 };
            for r in &many {
                // Every worker ends with the same weights, to the bit ...
                assert_eq!(r.state.params, many[0].state.params, "{method} on {k}");
                // ... and the run is the one process's, but for the order of additions.
                assert_close(&losses(r), &losses(&one), tol, method);
            }
        }
    };
    // Mini-batches: each worker evaluates the rows of every global batch that it holds,
    // evened out to its share by rows the workers lend each other.
    parted("adam", 4, false);
    parted("sgd", 3, false);
    parted("adam", 3, true);
    // Full batch: each worker's rows are its leaves.
    parted("lbfgs", 15, false);
    // A part that is not the worker's own is refused.
    let wrong = InProcess::run(2, |comm| {
        let cfg = TrainConfig {
            optimizer: "adam".into(),
            epochs: 1,
            ..TrainConfig::default()
        };
        let opt = Optimizer::Method(cfg.method_spec().unwrap());
        let other = own_part(&train, 1 - comm.rank(), 2);
        train_distributed::<f64>(
            &net,
            &other,
            None,
            &cfg,
            opt,
            TrainState::new(p0.clone()),
            &mut Silent,
            comm,
        )
        .err()
        .map(|e| e.to_string())
    });
    assert!(
        wrong
            .iter()
            .all(|e| e.as_deref().is_some_and(|e| e.contains("not its own"))),
        "{wrong:?}"
    );
}

#[test]
fn least_squares_workers_that_hold_only_their_own_rows_sum_the_same_normal_equations() {
    let data = synthetic("sine:300", 0).unwrap();
    let net = Mlp::new(&[1, 8, 1], &[Activation::Tanh], Loss::SquaredError).unwrap();
    let p0 = net.init_params(Init::NguyenWidrow, 1);
    let cfg = TrainConfig {
        optimizer: "lm".into(),
        epochs: 25,
        ..TrainConfig::default()
    };
    let one = run::<f64>(&net, &data, None, &cfg, TrainState::new(p0.clone()), &Local);
    let many = InProcess::run(2, |comm| {
        let part = own_part(&data, comm.rank(), comm.size());
        run::<f64>(&net, &part, None, &cfg, TrainState::new(p0.clone()), comm)
    });
    for r in &many {
        // Four leaves, two on each worker: the same sums to the bit.
        assert_eq!(r.state.params, one.state.params);
        assert_eq!(losses(r), losses(&one));
    }
}

#[test]
fn prepared_workers_load_only_their_own_rows_and_run_the_one_process_run() {
    use descent::nn::{Experiment, ExperimentConfig, Metrics};
    let dir = std::env::temp_dir().join(format!("descent-parts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A regression (standardized target) and a classification with text labels.
    let mut reg = String::from("a,b,y\n");
    let mut cls = String::from("a,b,kind\n");
    for i in 0..403 {
        let (a, b) = (
            (i as f64 * 0.37).sin() * 3.0 + 5.0,
            (i as f64 * 0.11).cos() * 40.0,
        );
        reg.push_str(&format!(
            "{a},{b},{}\n",
            100.0 + a * b / 10.0 + (a - 5.0).powi(2)
        ));
        let kind = ["cat", "dog", "eel"][usize::from(a > 5.0) + usize::from(b > 20.0)];
        cls.push_str(&format!("{a},{b},{kind}\n"));
    }
    std::fs::write(dir.join("reg.csv"), reg).unwrap();
    std::fs::write(dir.join("cls.csv"), cls).unwrap();
    let config = |file: &str, optimizer: &str, loss: Loss| {
        let mut c = ExperimentConfig::new(&format!("csv:{}", dir.join(file).display()));
        c.layers = Some(vec![2, 16, if loss == Loss::SquaredError { 1 } else { 3 }]);
        c.activation = Activation::Tanh;
        c.loss = loss;
        c.threads = 1;
        c.precision = descent::nn::Precision::F64;
        c.epochs = Some(6);
        c.val_frac = Some(0.1);
        c.train.optimizer = optimizer.into();
        c.train.batch_size = 32;
        c
    };
    let close = |a: &Metrics, b: &Metrics, what: &str| {
        let rel = (a.loss - b.loss).abs() / b.loss;
        assert!(rel <= 1e-10, "{what}: test loss {} vs {}", a.loss, b.loss);
        assert_eq!(a.accuracy, b.accuracy, "{what}");
    };
    for (file, optimizer, loss) in [
        ("reg.csv", "adam", Loss::SquaredError),
        ("reg.csv", "lm", Loss::SquaredError),
        ("cls.csv", "adam", Loss::CrossEntropy),
        ("cls.csv", "lbfgs", Loss::CrossEntropy),
    ] {
        let c = config(file, optimizer, loss);
        let one = Experiment::prepare(&c).unwrap();
        let whole = one.run(&mut Silent).unwrap();
        for k in [2, 3] {
            let runs = InProcess::run_shared(k, |comm| {
                let prep = Experiment::prepare_distributed(&c, comm).unwrap();
                // A K-th of each set, and the whole set's statistics.
                let part = prep.train_set.part.unwrap();
                assert_eq!(part.total, one.train_set.len());
                assert!(
                    prep.train_set.len() < part.total / k + 64,
                    "{}",
                    prep.train_set.len()
                );
                assert_eq!(prep.train_set.total_len(), one.train_set.len());
                assert_eq!(prep.val_set.total_len(), one.val_set.len());
                let (s, s1) = (prep.standardizer.as_ref(), one.standardizer.as_ref());
                for (a, b) in s.unwrap().mean.iter().zip(&s1.unwrap().mean) {
                    assert!((a - b).abs() <= 1e-12 * b.abs(), "mean {a} vs {b}");
                }
                prep.run(&mut Silent).unwrap()
            });
            let what = format!("{optimizer} on {file}, {k} workers");
            for r in &runs {
                assert_eq!(r.result.state.params, runs[0].result.state.params, "{what}");
                assert_close(&losses(&r.result), &losses(&whole.result), 1e-10, &what);
                close(
                    r.test.as_ref().unwrap(),
                    whole.test.as_ref().unwrap(),
                    &what,
                );
            }
        }
    }
    // A worker that cannot read its data stops every worker with a clear error.
    let c = config("missing.csv", "adam", Loss::CrossEntropy);
    let errors = InProcess::run_shared(2, |comm| {
        Experiment::prepare_distributed(&c, comm)
            .err()
            .map(|e| e.to_string())
    });
    assert!(errors.iter().all(|e| e.is_some()), "{errors:?}");
    // A bad feature in one row: the worker whose rows hold it names its line, the other
    // says that another worker stopped.
    let text = std::fs::read_to_string(dir.join("cls.csv")).unwrap();
    let bad: String = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 7 {
                "oops,1,cat\n".to_string()
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(dir.join("bad.csv"), bad).unwrap();
    let c = config("bad.csv", "adam", Loss::CrossEntropy);
    one_worker_names_the_fault(&c, ":8: feature 'a'");
    std::fs::remove_dir_all(&dir).ok();
}

/// Two workers prepare `c`, whose data has a fault in one worker's rows: that worker's
/// error says `fault`, the other's that another worker stopped.
fn one_worker_names_the_fault(c: &descent::nn::ExperimentConfig, fault: &str) {
    let errors = InProcess::run_shared(2, |comm| {
        descent::nn::Experiment::prepare_distributed(c, comm)
            .err()
            .map(|e| e.to_string())
    });
    let named = errors
        .iter()
        .flatten()
        .filter(|e| e.contains(fault))
        .count();
    let other = errors
        .iter()
        .flatten()
        .filter(|e| e.contains("another worker"))
        .count();
    assert_eq!((named, other), (1, 1), "{errors:?}");
}

/// Writes MNIST's four files into `dir` for `train` and `test` images of 2×2 pixels
/// (label: the brightest pixel, plus 4 when the image is dark overall), gzip-compressed
/// or plain; `bad_label` puts a label 11 at that training row.
fn write_tiny_mnist(
    dir: &std::path::Path,
    train: usize,
    test: usize,
    gzip: bool,
    bad_label: Option<usize>,
) {
    use std::io::Write;
    let write = |name: &str, dims: &[u32], data: &[u8]| {
        let mut bytes = vec![0, 0, 8, dims.len() as u8];
        for d in dims {
            bytes.extend(d.to_be_bytes());
        }
        bytes.extend_from_slice(data);
        let (name, bytes) = if gzip {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(&bytes).unwrap();
            (format!("{name}.gz"), e.finish().unwrap())
        } else {
            (name.to_string(), bytes)
        };
        std::fs::write(dir.join(name), bytes).unwrap();
    };
    for (prefix, count, salt) in [("train", train, 0usize), ("t10k", test, 7919)] {
        let mut pixels = Vec::new();
        let mut labels = Vec::new();
        for i in 0..count {
            let image: Vec<u8> = (0..4)
                .map(|k| (((i + salt) * 37 + k * 101) * 2654435761 % 251) as u8)
                .collect();
            let brightest = (0..4).max_by_key(|&k| image[k]).unwrap() as u8;
            let dark = image.iter().map(|p| *p as u32).sum::<u32>() < 500;
            labels.push(brightest + if dark { 4 } else { 0 });
            pixels.extend(image);
        }
        if prefix == "train" {
            if let Some(r) = bad_label {
                labels[r] = 11;
            }
        }
        write(
            &format!("{prefix}-images-idx3-ubyte"),
            &[count as u32, 2, 2],
            &pixels,
        );
        write(
            &format!("{prefix}-labels-idx1-ubyte"),
            &[count as u32],
            &labels,
        );
    }
}

#[test]
fn prepared_workers_read_only_their_own_mnist_rows_and_run_the_one_process_run() {
    use descent::nn::{Experiment, ExperimentConfig};
    let root = std::env::temp_dir().join(format!("descent-mnist-parts-{}", std::process::id()));
    for gzip in [false, true] {
        let dir = root.join(if gzip { "gz" } else { "plain" });
        std::fs::create_dir_all(&dir).unwrap();
        write_tiny_mnist(&dir, 300, 90, gzip, None);
        let mut c = ExperimentConfig::new(&format!("mnist:{}", dir.display()));
        c.layers = Some(vec![4, 12, 10]);
        c.threads = 1;
        c.precision = descent::nn::Precision::F64;
        c.epochs = Some(4);
        c.val_frac = Some(0.1);
        c.train.optimizer = "adam".into();
        c.train.batch_size = 32;
        let one = Experiment::prepare(&c).unwrap();
        assert_eq!((one.train_set.len(), one.val_set.len()), (270, 30));
        let whole = one.run(&mut Silent).unwrap();
        for k in [2, 3] {
            let runs = InProcess::run_shared(k, |comm| {
                let rank = comm.rank();
                let prep = Experiment::prepare_distributed(&c, comm).unwrap();
                // This worker's rows of each set, and only those: the samples of its own
                // leaves of one process's sets.
                let own = own_part(&one.train_set, rank, k);
                assert_eq!(prep.train_set.x, own.x, "gzip {gzip}, {k} workers");
                assert_eq!(prep.train_set.len(), own.len());
                let test = prep.test_set.as_ref().unwrap();
                assert_eq!(test.x, own_part(one.test_set.as_ref().unwrap(), rank, k).x);
                prep.run(&mut Silent).unwrap()
            });
            let what = format!("MNIST files (gzip {gzip}), {k} workers");
            for r in &runs {
                assert_eq!(r.result.state.params, runs[0].result.state.params, "{what}");
                assert_close(&losses(&r.result), &losses(&whole.result), 1e-10, &what);
                let (a, b) = (r.test.as_ref().unwrap(), whole.test.as_ref().unwrap());
                assert!((a.loss - b.loss).abs() <= 1e-10 * b.loss, "{what}");
                assert_eq!(a.accuracy, b.accuracy, "{what}");
            }
        }
        // A bad label among one worker's rows: that worker names it, the other says that
        // another worker stopped.
        write_tiny_mnist(&dir, 300, 90, gzip, Some(123));
        one_worker_names_the_fault(&c, "label 11");
    }
    std::fs::remove_dir_all(&root).ok();
}

/// Worker `rank`'s rows of [`Rows`] (its leaves), which it lends as records (the row,
/// then its target); the sizes of the batches it evaluates are kept.
struct LendingRows<'a> {
    all: &'a Rows,
    first: usize,
    len: usize,
    guests: std::cell::RefCell<Vec<f64>>,
    sizes: std::cell::RefCell<Vec<usize>>,
}

impl LendingRows<'_> {
    /// Row `i` of the worker's batches (its own, then its guests) and its target.
    fn row(&self, i: usize) -> (Vec<f64>, f64) {
        let d = self.all.dim;
        if i < self.len {
            let i = self.first + i;
            (self.all.a[i * d..(i + 1) * d].to_vec(), self.all.b[i])
        } else {
            let record = &self.guests.borrow()[(i - self.len) * (d + 1)..][..d + 1];
            (record[..d].to_vec(), record[d])
        }
    }
}

impl descent::SampledObjective for LendingRows<'_> {
    fn dim(&self) -> usize {
        self.all.dim
    }
    fn sample_count(&self) -> usize {
        self.len
    }
    fn batch_value_grad(&self, x: &[f64], indices: &[usize], g: &mut [f64]) -> f64 {
        self.sizes.borrow_mut().push(indices.len());
        let rows: Vec<(Vec<f64>, f64)> = indices.iter().map(|&i| self.row(i)).collect();
        mean_half_squares(x, rows.iter().map(|(a, b)| (&a[..], *b)), g)
    }
    fn guest_rows(&self) -> Option<&dyn descent::GuestRows> {
        Some(self)
    }
}

impl descent::GuestRows for LendingRows<'_> {
    fn record_len(&self) -> usize {
        self.all.dim + 1
    }
    fn write_records(&self, rows: &[usize], out: &mut Vec<f64>) {
        for &i in rows {
            assert!(i < self.len, "only own rows are lent");
            let (row, b) = self.row(i);
            out.extend(row);
            out.push(b);
        }
    }
    fn host(&self, records: &[f64]) {
        *self.guests.borrow_mut() = records.to_vec();
    }
}

#[test]
fn workers_that_hold_their_own_rows_lend_rows_to_evaluate_equal_shares() {
    use descent::comm::{share, tree::own_leaves, DistributedBatches};
    use descent::SampledObjective;
    let (total, dim) = (40, 3);
    let all = Rows::new(total, dim);
    let x = [0.3, -0.2, 0.5];
    // Batches that fall unevenly on the workers' rows: all on one worker, none on some,
    // sizes that do not divide by K, a single index.
    let batches: Vec<Vec<usize>> = vec![
        (0..16).collect(),
        (24..40).rev().collect(),
        vec![39, 0, 38, 1, 37, 2, 36],
        vec![5],
        (0..40).step_by(3).collect(),
        (0..40).map(|i| (i * 17) % 40).take(33).collect(),
    ];
    for k in [2, 3, 4] {
        let workers = InProcess::run(k, |comm| {
            let rows = own_leaves(total, comm.rank(), k).0;
            let own = LendingRows {
                all: &all,
                first: rows.start,
                len: rows.len(),
                guests: Default::default(),
                sizes: Default::default(),
            };
            let problem = DistributedBatches::new(&own, comm).holding(total);
            let sums: Vec<(f64, Vec<f64>)> = batches
                .iter()
                .map(|batch| {
                    let mut g = vec![0.0; dim];
                    (problem.batch_value_grad(&x, batch, &mut g), g)
                })
                .collect();
            (sums, own.sizes.into_inner())
        });
        for (rank, (sums, sizes)) in workers.iter().enumerate() {
            // Each worker evaluated its share of every batch (a worker with no share
            // evaluates nothing) ...
            let shares: Vec<usize> = batches
                .iter()
                .map(|b| share(b.len(), rank, k).len())
                .filter(|&s| s > 0)
                .collect();
            assert_eq!(sizes, &shares, "worker {rank} of {k}");
            // ... and the batch's value and gradient are one process's.
            for ((f, g), batch) in sums.iter().zip(&batches) {
                let mut whole = vec![0.0; dim];
                let f_whole = all.batch_value_grad(&x, batch, &mut whole);
                assert!(
                    (f - f_whole).abs() <= 1e-12 * f_whole.abs(),
                    "{k}: {f} vs {f_whole}"
                );
                for (a, b) in g.iter().zip(&whole) {
                    assert!(
                        (a - b).abs() <= 1e-12 * b.abs().max(1e-3),
                        "{k}: {a} vs {b}"
                    );
                }
            }
        }
    }
}

#[test]
fn workers_that_hold_none_of_the_test_rows_still_join_the_test_sums() {
    use descent::nn::{Experiment, ExperimentConfig};
    let dir = std::env::temp_dir().join(format!("descent-tiny-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Eight rows: a test split of a row or two, which some of three workers hold none of
    // (such a worker has no labels to tell it the targets are classes).
    let mut csv = String::from("a,b,kind\n");
    for i in 0..8 {
        csv.push_str(&format!("{},{},{}\n", i % 3, i % 5, ["x", "y"][i % 2]));
    }
    std::fs::write(dir.join("tiny.csv"), csv).unwrap();
    let mut c = ExperimentConfig::new(&format!("csv:{}", dir.join("tiny.csv").display()));
    c.layers = Some(vec![2, 3, 2]);
    c.threads = 1;
    c.precision = descent::nn::Precision::F64;
    c.epochs = Some(2);
    c.train.optimizer = "adam".into();
    c.train.batch_size = 2;
    let whole = Experiment::prepare(&c).unwrap().run(&mut Silent).unwrap();
    let alone = whole.test.as_ref().expect("a test split");
    let mut one_held_none = false;
    for k in [2, 3, 4] {
        // (Workers whose sums do not match wait for each other forever: a minute is a
        // hang.)
        let c = c.clone();
        let runs = within_a_minute(move || {
            InProcess::run_shared(k, |comm| {
                let prep = Experiment::prepare_distributed(&c, comm).unwrap();
                let held = prep.test_set.as_ref().map_or(0, |t| t.len());
                (held, prep.run(&mut Silent).unwrap())
            })
        });
        one_held_none |= runs.iter().any(|(held, _)| *held == 0);
        for (_, r) in &runs {
            let test = r.test.as_ref().unwrap();
            assert!(
                (test.loss - alone.loss).abs() <= 1e-12 * alone.loss,
                "{k} workers"
            );
            assert_eq!(test.accuracy, alone.accuracy, "{k} workers");
            assert_close(&losses(&r.result), &losses(&whole.result), 1e-10, "tiny");
        }
    }
    assert!(
        one_held_none,
        "the split leaves some worker without test rows"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// `f()`, run on a thread of its own; a panic if it takes more than a minute.
fn within_a_minute<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    let (done, result) = std::sync::mpsc::channel();
    std::thread::spawn(move || done.send(f()));
    result
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the workers did not finish within a minute")
}
