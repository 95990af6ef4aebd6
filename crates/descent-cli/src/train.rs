//! `descent train` and `descent predict`.

use anyhow::{bail, Context, Result};
use clap::Args;
use descent::data::{load_mnist, synthetic, Dataset, Standardizer, Table, TargetData, Task};
use descent::nn::{
    batch_data, evaluate, load_model, load_state, save_model, train, Activation, EpochReport, Init,
    Loss, Mlp, ModelMeta, Real, TrainConfig, TrainObserver, TrainResult, TrainState,
};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

pub use descent::nn::default_epochs;

/// Default validation fraction, and the most samples it holds out by default.
const DEFAULT_VAL_FRAC: f64 = 0.05;
const MAX_DEFAULT_VAL: f64 = 1000.0;

#[derive(Args)]
pub struct TrainArgs {
    /// Training data: mnist:DIR[,n=COUNT], csv:FILE[,target=COL], or synthetic:NAME[:N]
    /// (spirals, moons, xor, parity, sine).
    #[arg(long)]
    data: String,
    /// Separate test set, same forms (default: MNIST's t10k for mnist:, else 20% held out).
    #[arg(long)]
    test: Option<String>,
    /// Standardize features (and a regression target) with training-split statistics.
    #[arg(long)]
    standardize: bool,
    /// Layer widths, inputs first, e.g. 784,128,10.
    #[arg(long)]
    layers: Option<String>,
    /// Hidden activation: identity sigmoid tanh relu leaky-relu softplus elu gelu.
    #[arg(long, default_value = "relu")]
    activation: String,
    /// Loss: cross-entropy, binary-cross-entropy, mse.
    #[arg(long, default_value = "cross-entropy")]
    loss: String,
    /// Optimizer: sgd momentum nesterov adam adamw amsgrad rmsprop adagrad (mini-batch);
    /// cg bfgs dfp sr1 lbfgs newton-cg (full batch); lm gn (squared error).
    #[arg(long, default_value = "adam")]
    optimizer: String,
    /// Learning rate.
    #[arg(long)]
    lr: Option<f64>,
    /// Mini-batch size (1 = online; the training-set size = batch gradient descent).
    #[arg(long, default_value_t = 128)]
    batch_size: usize,
    /// Epochs (iterations for full-batch and least-squares optimizers) [default: for
    /// mini-batch optimizers, enough epochs for about 2000 steps, at least 5 and at most
    /// 200 (5 on MNIST at batch 128); 200 iterations for full-batch and least-squares ones].
    #[arg(long)]
    epochs: Option<usize>,
    /// Learning-rate schedule over steps: step:GAMMA:EVERY, exp:GAMMA, cosine:TOTAL[:MIN],
    /// inverse:DECAY, warmup:STEPS[:INNER].
    #[arg(long)]
    schedule: Option<String>,
    /// Reduce the learning rate by FACTOR after PATIENCE epochs without improvement.
    #[arg(long, value_name = "FACTOR:PATIENCE")]
    plateau: Option<String>,
    /// Early stopping: epochs without a better validation loss (best weights restored).
    #[arg(long)]
    patience: Option<usize>,
    /// Momentum μ.
    #[arg(long)]
    momentum: Option<f64>,
    /// AdamW weight decay.
    #[arg(long)]
    weight_decay: Option<f64>,
    /// L-BFGS memory.
    #[arg(long)]
    memory: Option<usize>,
    /// Initialization: glorot (uniform), glorot-normal, he, lecun, standard.
    #[arg(long, default_value = "glorot")]
    init: String,
    /// Seed of the initialization, splits and shuffles.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Threads for the matrix products (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Compute precision: f32 or f64.
    #[arg(long, default_value = "f32")]
    precision: String,
    /// Fraction of the training data held out for validation [default: 5%, at most
    /// 1000 samples — enough to monitor, while the rest trains].
    #[arg(long)]
    val_frac: Option<f64>,
    /// Per-layer activation and gradient statistics every epoch.
    #[arg(long)]
    diagnostics: bool,
    /// Save the model (safetensors) and the optimizer state (FILE.optim) here.
    #[arg(long)]
    save: Option<PathBuf>,
    /// Continue a run saved with --save (same data and settings; --epochs is the total).
    #[arg(long)]
    resume: Option<PathBuf>,
    /// Print one JSON object on stdout.
    #[arg(long)]
    json: bool,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(Args)]
pub struct PredictArgs {
    /// A model saved by `descent train --save`.
    #[arg(long)]
    model: PathBuf,
    /// Data, as for train (labels, when present, give the accuracy).
    #[arg(long)]
    data: String,
    /// Print one JSON object on stdout.
    #[arg(long)]
    json: bool,
}

/// Loads `spec`; for `mnist:` returns (train, test) sets.
fn load_data(
    spec: &str,
    task: Task,
    seed: u64,
    test_part: bool,
) -> Result<(Dataset, Option<Dataset>)> {
    let (kind, rest) = spec.split_once(':').with_context(|| {
        format!("data '{spec}': expected mnist:DIR, csv:FILE[,target=COL] or synthetic:NAME")
    })?;
    Ok(match kind {
        "mnist" => {
            // mnist:DIR[,n=COUNT]: the first COUNT training samples (a subset for
            // full-batch methods); the test set stays whole.
            let mut parts = rest.split(',');
            let dir = Path::new(parts.next().unwrap_or(""));
            let mut limit = None;
            for p in parts {
                match p.split_once('=') {
                    Some(("n", v)) => {
                        limit = Some(
                            v.parse::<usize>()
                                .with_context(|| format!("data '{spec}': n={v} is not a count"))?,
                        )
                    }
                    _ => bail!("data '{spec}': unknown option '{p}' (expected n=COUNT)"),
                }
            }
            if test_part {
                (load_mnist(dir, false)?, None)
            } else {
                let mut train = load_mnist(dir, true)?;
                if let Some(n) = limit {
                    if n == 0 || n > train.len() {
                        bail!("data '{spec}': n must be in 1..={}", train.len());
                    }
                    train = train.subset(&(0..n).collect::<Vec<_>>());
                }
                (train, Some(load_mnist(dir, false)?))
            }
        }
        "csv" => {
            let mut parts = rest.split(',');
            let file = parts.next().unwrap_or("");
            let mut target = None;
            for p in parts {
                match p.split_once('=') {
                    Some(("target", col)) => target = Some(col.to_string()),
                    _ => bail!("data '{spec}': unknown option '{p}' (expected target=COL)"),
                }
            }
            let table = Table::read(Path::new(file))?;
            let task = if task == Task::Regression {
                // A non-numeric target with squared error: classes, one-hot.
                let col = target
                    .clone()
                    .unwrap_or_else(|| table.headers.last().cloned().unwrap_or_default());
                if table.numeric_column(&col).is_ok() {
                    Task::Regression
                } else {
                    Task::Classification
                }
            } else {
                task
            };
            (Dataset::from_csv(&table, target.as_deref(), task)?, None)
        }
        "synthetic" => (synthetic(rest, seed)?, None),
        other => bail!("data '{spec}': unknown kind '{other}' (expected mnist, csv or synthetic)"),
    })
}

struct Progress {
    bar: Option<ProgressBar>,
    epochs: usize,
    json: bool,
}

impl TrainObserver for Progress {
    fn on_batch(&mut self, epoch: usize, batch: usize, batches: usize, loss: f64) {
        if let Some(b) = &self.bar {
            if batch == 1 {
                b.set_length(batches as u64);
                b.set_position(0);
                b.set_prefix(format!("epoch {epoch}/{}", self.epochs));
            }
            if batch.is_multiple_of(8) || batch == batches {
                b.set_position(batch as u64);
                b.set_message(format!("loss {loss:.4}"));
            }
        }
    }
    fn on_epoch(&mut self, r: &EpochReport) {
        let line = format!(
            "epoch {:>4}  train loss {:.5}{}{}{}  {:.1} s",
            r.epoch,
            r.train_loss,
            r.val_loss
                .map_or(String::new(), |v| format!("  val loss {v:.5}")),
            r.val_accuracy
                .map_or(String::new(), |v| format!("  val acc {:.2}%", 100.0 * v)),
            r.val_r2
                .map_or(String::new(), |v| format!("  val R² {v:.5}")),
            r.seconds
        );
        match &self.bar {
            Some(b) => b.println(line),
            None if !self.json => eprintln!("{line}"),
            None => {}
        }
        if let (Some(d), false) = (&r.diagnostics, self.json) {
            for l in d {
                let msg = format!(
                    "    layer {}: activation mean {:.3} std {:.3}, saturated {:.1}%, |grad W| {:.3e}",
                    l.layer, l.mean, l.std, 100.0 * l.saturated, l.grad_norm
                );
                match &self.bar {
                    Some(b) => b.println(msg),
                    None => eprintln!("{msg}"),
                }
            }
        }
    }
}

fn parse_layers(s: &str) -> Result<Vec<usize>> {
    s.split(',')
        .map(|t| {
            t.trim()
                .parse::<usize>()
                .with_context(|| format!("--layers: '{t}' is not a width"))
        })
        .collect()
}

/// Everything `descent train` sets up before training: settings checked, data loaded,
/// split and standardized, the network built (or loaded to resume).
pub struct Prepared {
    pub net: Mlp,
    pub state: TrainState,
    pub cfg: TrainConfig,
    pub train_set: Dataset,
    pub val_set: Dataset,
    pub test_set: Option<Dataset>,
    pub standardizer: Option<Standardizer>,
    pub threads: usize,
    pub precision: String,
    pub loss: Loss,
}

/// A finished training run and its test metrics (loss, accuracy, R²).
pub struct Outcome {
    pub result: TrainResult,
    pub test: Option<(f64, Option<f64>, Option<f64>)>,
}

impl Prepared {
    /// A loss in the original units of the target (regression with a standardized target).
    pub fn unscale(&self, l: f64) -> f64 {
        let scale = self
            .standardizer
            .as_ref()
            .and_then(|s| s.target.as_ref())
            .map_or(1.0, |(_, sd)| {
                sd.iter().map(|v| v * v).sum::<f64>() / sd.len() as f64
            });
        if self.loss == Loss::SquaredError {
            l * scale
        } else {
            l
        }
    }

    /// Trains from the prepared state and evaluates on the test set.
    pub fn run(&self, obs: &mut (dyn TrainObserver + Send)) -> Result<Outcome> {
        self.run_with(&self.cfg, obs)
    }

    /// [`Prepared::run`] with other training settings (another optimizer on the same data,
    /// network and initial weights).
    pub fn run_with(
        &self,
        cfg: &TrainConfig,
        obs: &mut (dyn TrainObserver + Send),
    ) -> Result<Outcome> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.threads)
            .build()
            .context("cannot start the thread pool")?;
        let val = (!self.val_set.is_empty()).then_some(&self.val_set);
        let (net, state) = (&self.net, self.state.clone());
        let result = pool.install(|| {
            if self.precision == "f64" {
                train::<f64>(net, &self.train_set, val, cfg, state, obs)
            } else {
                train::<f32>(net, &self.train_set, val, cfg, state, obs)
            }
        })?;
        let test = self.test_set.as_ref().map(|t| {
            pool.install(|| {
                if self.precision == "f64" {
                    eval_on::<f64>(net, &result.state.params, t, self.threads)
                } else {
                    eval_on::<f32>(net, &result.state.params, t, self.threads)
                }
            })
        });
        Ok(Outcome { result, test })
    }
}

pub fn run_train(a: TrainArgs) -> Result<()> {
    let prep = prepare(&a)?;
    let (net, cfg) = (&prep.net, &prep.cfg);
    let show_bar = !a.quiet && !a.json && std::io::stderr().is_terminal();
    let bar = show_bar.then(|| {
        let b = ProgressBar::new(0);
        b.set_style(
            ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed})")
                .expect("template")
                .progress_chars("=> "),
        );
        b
    });
    let mut progress = Progress {
        bar,
        epochs: cfg.epochs,
        json: a.json,
    };
    let Outcome { result, test } = prep.run(&mut progress)?;
    if let Some(b) = &progress.bar {
        b.finish_and_clear();
    }
    let unscale = |l: f64| prep.unscale(l);
    let (precision, threads, train_set, val_set, test_set, standardizer) = (
        &prep.precision,
        prep.threads,
        &prep.train_set,
        &prep.val_set,
        &prep.test_set,
        &prep.standardizer,
    );
    if let Some(path) = &a.save {
        let meta = ModelMeta {
            standardizer: standardizer.clone(),
            classes: match &train_set.targets {
                TargetData::Classes { names, .. } => Some(names.clone()),
                _ => None,
            },
            features: train_set.feature_names.clone(),
        };
        save_model(
            path,
            net,
            &result.state.params,
            precision,
            &meta,
            Some((&result.state, cfg)),
        )?;
    }
    if a.json {
        let epochs: Vec<_> = result
            .state
            .history
            .iter()
            .map(|e| {
                let mut v = json!({
                    "epoch": e.epoch,
                    "train_loss": unscale(e.train_loss),
                    "val_loss": e.val_loss.map(unscale),
                    "val_accuracy": e.val_accuracy,
                    "seconds": e.seconds,
                });
                if let Some(r2) = e.val_r2 {
                    v["val_r2"] = json!(r2);
                }
                if let Some(d) = &e.diagnostics {
                    v["diagnostics"] = json!(d);
                }
                v
            })
            .collect();
        let mut out = json!({
            "optimizer": cfg.optimizer,
            "layers": net.arch.sizes,
            "precision": precision,
            "threads": threads,
            "epochs": epochs,
            "params": net.num_params(),
            "samples_per_second": result.samples_per_second,
            "stop": result.stop,
            "train_samples": train_set.len(),
            "val_samples": val_set.len(),
        });
        if let Some((l, acc, r2)) = test {
            out["test_loss"] = json!(unscale(l));
            out["test_samples"] = json!(test_set.as_ref().map_or(0, |t| t.len()));
            if let Some(acc) = acc {
                out["test_accuracy"] = json!(acc);
            }
            if let Some(r2) = r2 {
                out["test_r2"] = json!(r2);
            }
        }
        println!("{out}");
    } else {
        println!(
            "stopped: {:?}; {} parameters; {:.0} samples/s",
            result.stop,
            net.num_params(),
            result.samples_per_second
        );
        if let Some((l, acc, r2)) = test {
            print!("test loss {:.5}", unscale(l));
            if let Some(acc) = acc {
                print!("  test accuracy {:.2}%", 100.0 * acc);
            }
            if let Some(r2) = r2 {
                print!("  test R² {r2:.5}");
            }
            println!();
        }
        if let Some(p) = &a.save {
            println!(
                "saved {} (and {})",
                p.display(),
                descent::nn::state_path(p).display()
            );
        }
    }
    Ok(())
}

/// Parses `descent train` options from words (`--data`, `synthetic:xor`, …), for the
/// commands that train on the user's behalf (`compare`, `report`).
pub fn parse_train_args<S: AsRef<str>>(words: &[S]) -> Result<TrainArgs> {
    #[derive(clap::Parser)]
    struct Wrapper {
        #[command(flatten)]
        t: TrainArgs,
    }
    use clap::Parser;
    let argv = std::iter::once("train").chain(words.iter().map(|w| w.as_ref()));
    Wrapper::try_parse_from(argv)
        .map(|w| w.t)
        .map_err(|e| anyhow::anyhow!("{}", e.to_string().trim()))
}

/// An optimizer `descent train` can use: a registered method that trains on mini-batches
/// or on the full batch.
pub fn check_optimizer(name: &str) -> Result<()> {
    let cfg = TrainConfig {
        optimizer: name.into(),
        ..TrainConfig::default()
    };
    cfg.method_spec()
        .map(|_| ())
        .map_err(|e| anyhow::anyhow!("--optimizer: {e}"))
}

/// Checks every setting, loads and splits the data, builds the network.
pub fn prepare(a: &TrainArgs) -> Result<Prepared> {
    // Validate every setting before any work.
    let loss = Loss::parse(&a.loss).with_context(|| {
        format!(
            "unknown --loss '{}' (expected cross-entropy, binary-cross-entropy, mse)",
            a.loss
        )
    })?;
    let activation = Activation::parse(&a.activation)
        .with_context(|| format!("unknown --activation '{}'", a.activation))?;
    let init = Init::parse(&a.init).with_context(|| {
        format!(
            "unknown --init '{}' (expected glorot, glorot-normal, he, lecun, standard)",
            a.init
        )
    })?;
    check_optimizer(&a.optimizer)?;
    if !["f32", "f64"].contains(&a.precision.as_str()) {
        bail!("--precision must be f32 or f64");
    }
    if a.val_frac.is_some_and(|f| !(0.0..0.9).contains(&f)) {
        bail!("--val-frac must be in [0, 0.9)");
    }
    let plateau = match &a.plateau {
        Some(s) => {
            let (f, p) = s
                .split_once(':')
                .context("--plateau expects FACTOR:PATIENCE")?;
            let f: f64 = f.parse().context("--plateau FACTOR is not a number")?;
            let p: usize = p.parse().context("--plateau PATIENCE is not a count")?;
            if !(f > 0.0 && f < 1.0) {
                bail!("--plateau FACTOR must be in (0, 1)");
            }
            Some((f, p))
        }
        None => None,
    };
    let task = if loss == Loss::SquaredError {
        Task::Regression
    } else {
        Task::Classification
    };
    let (full, mnist_test) = load_data(&a.data, task, a.seed, false)?;
    full.validate("training data")?;
    let test_frac = if a.test.is_none() && mnist_test.is_none() {
        0.2
    } else {
        0.0
    };
    let val_frac = a
        .val_frac
        .unwrap_or_else(|| DEFAULT_VAL_FRAC.min(MAX_DEFAULT_VAL / full.len().max(1) as f64));
    let (mut train_set, mut val_set, held_out) = full.split(val_frac, test_frac, a.seed);
    let mut test_set = match &a.test {
        Some(spec) => Some(load_data(spec, task, a.seed, true)?.0),
        None => mnist_test.or((!held_out.is_empty()).then_some(held_out)),
    };
    let standardizer: Option<Standardizer> = a.standardize.then(|| train_set.standardizer(true));
    if let Some(s) = &standardizer {
        train_set.standardize(s);
        val_set.standardize(s);
        if let Some(t) = test_set.as_mut() {
            t.standardize(s);
        }
    }
    let (net, state, cfg_saved) = match &a.resume {
        Some(path) => {
            let saved = load_model(path)?;
            let (st, cfg) = load_state(path)?;
            if let Some(l) = &a.layers {
                if parse_layers(l)? != saved.net.arch.sizes {
                    bail!(
                        "--layers {l} does not match the saved model's {:?}",
                        saved.net.arch.sizes
                    );
                }
            }
            (saved.net, st, Some(cfg))
        }
        None => {
            let sizes = parse_layers(
                a.layers
                    .as_deref()
                    .context("--layers is required (e.g. --layers 784,128,10)")?,
            )?;
            let net = Mlp::new(&sizes, &[activation], loss)?;
            let p0 = net.init_params(init, a.seed);
            (net, TrainState::new(p0), None)
        }
    };
    descent::nn::check_compatible(&net, &train_set, "training")?;
    if let Some(t) = &test_set {
        descent::nn::check_compatible(&net, t, "test")?;
    }
    let threads = a
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if threads == 0 {
        bail!("--threads must be at least 1");
    }
    let epochs = a
        .epochs
        .unwrap_or_else(|| default_epochs(&a.optimizer, train_set.len(), a.batch_size));
    let cfg = TrainConfig {
        optimizer: a.optimizer.clone(),
        lr: a.lr.or(cfg_saved.as_ref().and_then(|c| c.lr)),
        schedule: a.schedule.clone(),
        momentum: a.momentum,
        weight_decay: a.weight_decay,
        epochs,
        batch_size: a.batch_size,
        seed: a.seed,
        threads,
        patience: a.patience,
        plateau,
        diagnostics: a.diagnostics,
        memory: a.memory,
    };
    if let Some(saved) = &cfg_saved {
        if saved.optimizer != cfg.optimizer {
            bail!(
                "--resume: the run was saved with --optimizer {}, not {}",
                saved.optimizer,
                cfg.optimizer
            );
        }
    }
    Ok(Prepared {
        net,
        state,
        cfg,
        train_set,
        val_set,
        test_set,
        standardizer,
        threads,
        precision: a.precision.clone(),
        loss,
    })
}

fn eval_on<T: Real>(
    net: &Mlp,
    params: &[f64],
    data: &Dataset,
    threads: usize,
) -> (f64, Option<f64>, Option<f64>) {
    let p: Vec<T> = params.iter().map(|v| T::of(*v)).collect();
    let bd = batch_data::<T>(data, net);
    let par = if threads > 1 {
        faer::Par::rayon(threads)
    } else {
        faer::Par::Seq
    };
    evaluate(net, &p, &bd, par)
}

pub fn run_predict(a: PredictArgs) -> Result<()> {
    let saved = load_model(&a.model)?;
    let loss = saved.net.arch.loss;
    let task = if loss == Loss::SquaredError {
        Task::Regression
    } else {
        Task::Classification
    };
    let (mut data, mnist_test) = load_data(&a.data, task, 0, false)?;
    if let Some(t) = mnist_test {
        data = t;
    }
    data.validate("data")?;
    if let Some(s) = &saved.meta.standardizer {
        data.standardize(s);
    }
    descent::nn::check_compatible(&saved.net, &data, "prediction")?;
    let net = &saved.net;
    let p: Vec<f64> = saved.params.clone();
    let mut ws = net.workspace::<f64>(data.len());
    let mut z = net
        .forward(&p, &data.x, data.len(), &mut ws, faer::Par::Seq)
        .to_vec();
    let (l, acc, r2) = evaluate(net, &p, &batch_data::<f64>(&data, net), faer::Par::Seq);
    loss.output(&mut z, net.outputs());
    let k = net.outputs();
    let tscale = saved
        .meta
        .standardizer
        .as_ref()
        .and_then(|s| s.target.clone());
    let predictions: Vec<serde_json::Value> = z
        .chunks(k)
        .map(|row| match (loss, &saved.meta.classes) {
            (Loss::CrossEntropy, Some(names)) => {
                let arg = row
                    .iter()
                    .enumerate()
                    .fold(0, |b, (c, v)| if *v > row[b] { c } else { b });
                json!(names.get(arg).cloned().unwrap_or_else(|| arg.to_string()))
            }
            (Loss::BinaryCrossEntropy, names) => {
                let c = (row[0] > 0.5) as usize;
                json!(names
                    .as_ref()
                    .and_then(|n| n.get(c).cloned())
                    .unwrap_or_else(|| c.to_string()))
            }
            _ => {
                let vals: Vec<f64> = row
                    .iter()
                    .enumerate()
                    .map(|(i, v)| match &tscale {
                        Some((m, sd)) => v * sd[i] + m[i],
                        None => *v,
                    })
                    .collect();
                if vals.len() == 1 {
                    json!(vals[0])
                } else {
                    json!(vals)
                }
            }
        })
        .collect();
    if a.json {
        let mut out = json!({ "predictions": predictions, "loss": l, "samples": data.len() });
        if let Some(acc) = acc {
            out["accuracy"] = json!(acc);
        }
        if let Some(r2) = r2 {
            out["r2"] = json!(r2);
        }
        println!("{out}");
    } else {
        for p in &predictions {
            println!("{p}");
        }
        if let Some(acc) = acc {
            eprintln!("accuracy {:.2}% on {} samples", 100.0 * acc, data.len());
        }
        if let Some(r2) = r2 {
            eprintln!("R² {r2:.5} on {} samples", data.len());
        }
    }
    Ok(())
}
