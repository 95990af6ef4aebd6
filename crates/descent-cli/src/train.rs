//! `descent train` and `descent predict`: parse the options into the library's
//! [`ExperimentConfig`], run the experiment, print.

use anyhow::{Context, Result};
use clap::Args;
use descent::nn::{
    load_model, predict, Activation, EpochReport, Experiment, ExperimentConfig, Init, Loss,
    Metrics, Outcome, Precision, TrainConfig, TrainObserver,
};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use std::io::IsTerminal;
use std::path::PathBuf;

pub use descent::nn::default_epochs;

/// A prepared training run (the library's experiment).
pub type Prepared = Experiment;

#[derive(Args)]
pub struct TrainArgs {
    /// Training data: mnist:DIR[,n=COUNT], csv:FILE[,target=COL], or synthetic:NAME[:N]
    /// (spirals, moons, xor, parity, sine).
    #[arg(long)]
    data: String,
    /// Separate test set, same forms (default: MNIST's t10k for mnist:, else 20% held out).
    #[arg(long)]
    test: Option<String>,
    /// Standardize features (and a regression target) with training-split statistics
    /// (the default for CSV data).
    #[arg(long, conflicts_with = "no_standardize")]
    standardize: bool,
    /// Do not standardize CSV data.
    #[arg(long)]
    no_standardize: bool,
    /// Layer widths, inputs first, e.g. 784,128,10.
    #[arg(long)]
    layers: Option<String>,
    /// Hidden activation: identity sigmoid tanh relu leaky-relu softplus elu gelu.
    #[arg(long, default_value = "relu")]
    activation: String,
    /// Loss: auto (from the data: mse for a continuous target or one output with many
    /// values, cross-entropy for classes), cross-entropy, binary-cross-entropy, mse.
    #[arg(long, default_value = "auto")]
    loss: String,
    /// Optimizer: auto (chosen from the problem, said in the output), a mini-batch step
    /// rule (sgd adam ...), a full-batch method (lbfgs scg rprop ...) or a least-squares
    /// one for squared error (lm br gn); see `descent methods`.
    #[arg(long, default_value = "auto")]
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
    /// What --patience, --plateau and the best weights watch: loss (the validation loss)
    /// or score (the validation accuracy, or R² for a regression; higher is better).
    #[arg(long, default_value = "loss", value_parser = ["loss", "score"])]
    monitor: String,
    /// Performance goal: stop when the training loss (in the units it is reported in)
    /// reaches this (stop reason `goal`), as MATLAB's trainParam.goal.
    #[arg(long)]
    goal: Option<f64>,
    /// Full-batch methods stop when the max-norm of the loss gradient is at most this, as
    /// MATLAB's trainParam.min_grad (default 1e-7).
    #[arg(long)]
    min_grad: Option<f64>,
    /// Clip each mini-batch gradient to this Euclidean norm (any step rule).
    #[arg(long)]
    clip_norm: Option<f64>,
    /// Momentum μ.
    #[arg(long)]
    momentum: Option<f64>,
    /// Decoupled weight decay: the method's own (adamw, lion) or composed with any other
    /// step rule.
    #[arg(long)]
    weight_decay: Option<f64>,
    /// L2 penalty ½·λ·‖W‖² on the weights (not the biases), added to the full-batch
    /// objective (lbfgs, cg, scg, rprop, …): scikit-learn's MLP alpha is λ·n_samples.
    #[arg(long)]
    l2: Option<f64>,
    /// L-BFGS memory.
    #[arg(long)]
    memory: Option<usize>,
    /// Full-batch and least-squares methods: stop after this many evaluations of the loss
    /// (or residuals) in this run (stop reason `max_evaluations`), as scikit-learn's
    /// max_fun.
    #[arg(long)]
    max_evals: Option<u64>,
    /// Take every epoch's mini-batches in the rows' own order instead of shuffling them.
    #[arg(long)]
    no_shuffle: bool,
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
    /// The weights a mini-batch step rule steps in an f32 network: f32 (the network's
    /// own, as torch.optim) or f64 (master weights the network rounds at every step)
    /// [default: f32].
    #[arg(long)]
    master_weights: Option<String>,
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
    /// With --save: also save there every N epochs while training, so that a run that is
    /// killed resumes (--resume) from its last checkpoint and ends exactly as if it had
    /// not been stopped.
    #[arg(long, value_name = "N", requires = "save", value_parser = clap::value_parser!(u64).range(1..))]
    checkpoint_every: Option<u64>,
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
    /// Data, as for train (labels, when present, give the accuracy); a CSV file whose
    /// columns are exactly the model's inputs (no target=) holds rows without labels.
    #[arg(long)]
    data: String,
    /// Print one JSON object on stdout.
    #[arg(long)]
    json: bool,
}

struct Progress {
    bar: Option<ProgressBar>,
    epochs: usize,
    /// Prints nothing (a worker other than rank 0).
    quiet: bool,
    json: bool,
    /// Multiplies a training loss into the target's units (as the JSON reports it).
    loss_scale: f64,
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
        if self.quiet {
            return;
        }
        let line = format!(
            "epoch {:>4}  train loss {:.5}{}{}{}  {:.1} s",
            r.epoch,
            r.train_loss * self.loss_scale,
            r.val_loss.map_or(String::new(), |v| format!(
                "  val loss {:.5}",
                v * self.loss_scale
            )),
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

pub fn parse_layers(s: &str) -> Result<Vec<usize>> {
    s.split(',')
        .map(|t| {
            t.trim()
                .parse::<usize>()
                .with_context(|| format!("--layers: '{t}' is not a width"))
        })
        .collect()
}

pub fn run_train(mut a: TrainArgs) -> Result<()> {
    if let Some(path) = &a.save {
        crate::checkpoints::check_save_path(path)?;
    }
    let world = crate::distributed::world()?;
    if world.is_some() && a.threads.is_none() {
        a.threads = crate::distributed::default_threads();
    }
    // Of a distributed run, each rank keeps only its own rows; rank 0 prints and saves,
    // the others train their share quietly.
    let root = world.as_ref().is_none_or(|w| w.is_root());
    let prep = match world {
        Some(w) => Experiment::prepare_distributed(&a.config()?, w).map_err(as_flag)?,
        None => prepare(&a)?,
    };
    let (net, cfg) = (&prep.net, &prep.cfg);
    if let (Some(ch), false, false, true) = (&prep.auto, a.json, a.quiet, root) {
        eprintln!("optimizer auto: {} ({})", ch.optimizer, ch.reason);
    }
    let show_bar = root && !a.quiet && !a.json && std::io::stderr().is_terminal();
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
        quiet: !root,
        json: a.json,
        loss_scale: prep.unscale(1.0),
    };
    let Outcome {
        result,
        test,
        checkpoint_error,
    } = prep.run(&mut progress).map_err(as_flag)?;
    if let Some(b) = &progress.bar {
        b.finish_and_clear();
    }
    let unscale = |l: f64| prep.unscale(l);
    // A save that fails does not lose the run: its results are printed first, then the
    // failure, in one line, with a non-zero exit.
    // A checkpoint that failed stopped the run; the file keeps the last one saved.
    let saved = match checkpoint_error {
        Some(e) => Some(Err(e)),
        None => a.save.as_ref().map(|path| prep.save(path, &result)),
    };
    if !root {
        return Ok(());
    }
    let outputs = net.arch.sizes.last().copied().unwrap_or(1);
    let held_out = test.as_ref().map(|m| m.loss);
    let warning = result
        .above_chance(net.arch.loss, outputs, held_out)
        .map(|(reading, chance)| {
            let on = if held_out.is_some() { "test" } else { "final" };
            format!(
                "the {on} loss {reading:.5} is above {chance:.5}, the loss of guessing every \
                 class as equally likely: the network predicts worse than chance (training \
                 diverged, did not learn, or does not generalize; check --lr and --epochs)"
            )
        });
    if let (Some(w), false) = (&warning, a.quiet) {
        eprintln!("warning: {w}");
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
            "loss": net.arch.loss.as_str(),
            "layers": net.arch.sizes,
            "precision": prep.precision.as_str(),
            "threads": prep.threads,
            "workers": prep.communicator().size(),
            "epochs": epochs,
            "params": net.num_params(),
            "samples_per_second": result.samples_per_second,
            "stop": result.stop,
            "train_samples": prep.train_set.total_len(),
            "val_samples": prep.val_set.total_len(),
        });
        if let Some(w) = &warning {
            out["warning"] = json!(w);
        }
        if let Some(ch) = &prep.auto {
            out["optimizer_chosen"] = json!(ch.optimizer);
            out["optimizer_reason"] = json!(ch.reason);
        }
        if let Some(m) = test {
            out["test_loss"] = json!(m.loss);
            out["test_samples"] = json!(prep.test_set.as_ref().map_or(0, |t| t.total_len()));
            if let Some(acc) = m.accuracy {
                out["test_accuracy"] = json!(acc);
            }
            if let Some(r2) = m.r2 {
                out["test_r2"] = json!(r2);
            }
        }
        println!("{out}");
    } else {
        println!(
            "stopped: {}; {} parameters; {:.0} samples/s",
            result.stop,
            net.num_params(),
            result.samples_per_second
        );
        if let Some(m) = test {
            print_metrics("test", &m);
        }
        if let (Some(p), Some(Ok(()))) = (&a.save, &saved) {
            println!(
                "saved {} (and {})",
                p.display(),
                descent::nn::state_path(p).display()
            );
        }
    }
    if let Some(Err(e)) = saved {
        return Err(e.into());
    }
    Ok(())
}

fn print_metrics(what: &str, m: &Metrics) {
    print!("{what} loss {:.5}", m.loss);
    if let Some(acc) = m.accuracy {
        print!("  {what} accuracy {:.2}%", 100.0 * acc);
    }
    if let Some(r2) = m.r2 {
        print!("  {what} R² {r2:.5}");
    }
    println!();
}

/// An optimizer `descent train` can use: a registered method that trains on mini-batches
/// or on the full batch.
pub fn check_optimizer(name: &str) -> Result<()> {
    if name == "auto" {
        return Ok(());
    }
    let cfg = TrainConfig {
        optimizer: name.into(),
        ..TrainConfig::default()
    };
    cfg.method_spec()
        .map(|_| ())
        .map_err(|e| anyhow::anyhow!("--optimizer: {e}"))
}

pub fn parse_loss(s: &str) -> Result<Loss> {
    Loss::parse(s).with_context(|| {
        format!("unknown --loss '{s}' (expected auto, cross-entropy, binary-cross-entropy, mse)")
    })
}

pub fn parse_activation(s: &str) -> Result<Activation> {
    Activation::parse(s).with_context(|| format!("unknown --activation '{s}'"))
}

pub fn parse_init(s: &str) -> Result<Init> {
    Init::parse(s).with_context(|| {
        format!(
            "unknown --init '{s}' (expected glorot, glorot-normal, he, lecun, standard, pytorch, nguyen-widrow)"
        )
    })
}

impl TrainArgs {
    /// The options as the library's experiment settings.
    pub fn config(&self) -> Result<ExperimentConfig> {
        let loss_from_data = self.loss == "auto";
        let loss = if loss_from_data {
            descent::nn::Loss::CrossEntropy
        } else {
            parse_loss(&self.loss)?
        };
        let activation = parse_activation(&self.activation)?;
        let init = parse_init(&self.init)?;
        check_optimizer(&self.optimizer)?;
        let precision =
            Precision::parse(&self.precision).map_err(|e| anyhow::anyhow!("--precision: {e}"))?;
        let master = self
            .master_weights
            .as_deref()
            .map(Precision::parse)
            .transpose()
            .map_err(|e| anyhow::anyhow!("--master-weights: {e}"))?;
        if precision == Precision::F64 && master == Some(Precision::F32) {
            anyhow::bail!(
                "--master-weights f32 needs --precision f32 (an f64 network's weights are f64)"
            );
        }
        let plateau = match &self.plateau {
            Some(s) => {
                let (f, p) = s
                    .split_once(':')
                    .context("--plateau expects FACTOR:PATIENCE")?;
                let f: f64 = f.parse().context("--plateau FACTOR is not a number")?;
                let p: usize = p.parse().context("--plateau PATIENCE is not a count")?;
                if !(f > 0.0 && f < 1.0) {
                    anyhow::bail!("--plateau FACTOR must be in (0, 1)");
                }
                Some((f, p))
            }
            None => None,
        };
        let mut c = ExperimentConfig::new(&self.data);
        c.test = self.test.clone();
        c.standardize = match (self.standardize, self.no_standardize) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        };
        c.layers = self.layers.as_deref().map(parse_layers).transpose()?;
        c.activation = activation;
        c.loss = loss;
        c.loss_from_data = loss_from_data;
        c.init = init;
        c.seed = self.seed;
        if let Some(t) = self.threads {
            c.threads = t;
        }
        c.precision = precision;
        c.val_frac = self.val_frac;
        c.epochs = self.epochs;
        c.resume = self.resume.clone();
        c.checkpoint_to = self.save.clone();
        c.train = TrainConfig {
            optimizer: self.optimizer.clone(),
            lr: self.lr,
            schedule: self.schedule.clone(),
            momentum: self.momentum,
            weight_decay: self.weight_decay,
            batch_size: self.batch_size,
            patience: self.patience,
            plateau,
            diagnostics: self.diagnostics,
            memory: self.memory,
            goal: self.goal,
            min_grad: self.min_grad,
            clip_norm: self.clip_norm,
            checkpoint_every: self.checkpoint_every.map(|n| n as usize),
            f64_master_weights: master == Some(Precision::F64),
            l2: self.l2,
            shuffle: !self.no_shuffle,
            monitor_score: self.monitor == "score",
            max_evals: self.max_evals,
            ..TrainConfig::default()
        };
        Ok(c)
    }
}

/// Checks every setting, loads and splits the data, builds the network.
pub fn prepare(a: &TrainArgs) -> Result<Prepared> {
    Experiment::prepare(&a.config()?).map_err(as_flag)
}

/// The library names its settings; the CLI says which flag sets them.
pub fn as_flag(e: descent::Error) -> anyhow::Error {
    const FLAGS: &[&str] = &[
        "goal",
        "max_evals",
        "min_grad",
        "monitor",
        "clip_norm",
        "layers",
        "lr",
        "momentum",
        "weight_decay",
        "l2",
        "schedule",
        "memory",
        "batch size",
        "threads",
        "epochs",
        "plateau",
        "master_weights",
        "precision",
    ];
    match e {
        // (The flag says the opposite of the setting: --no-shuffle sets shuffle off.)
        descent::Error::InvalidConfig { what, why } if what == "shuffle" => {
            anyhow::anyhow!("--no-shuffle: {why}")
        }
        descent::Error::InvalidConfig { what, why } if FLAGS.contains(&what.as_str()) => {
            anyhow::anyhow!("--{}: {why}", what.replace(['_', ' '], "-"))
        }
        other => other.into(),
    }
}

pub fn run_predict(a: PredictArgs) -> Result<()> {
    let saved = load_model(&a.model)?;
    let p = predict(&saved, &a.data)?;
    let samples = p.predictions.len();
    // Rows without targets have no metrics: `loss` is then null.
    let (loss, accuracy, r2) = match &p.metrics {
        Some(m) => (Some(m.loss), m.accuracy, m.r2),
        None => (None, None, None),
    };
    if a.json {
        let mut out = json!({ "predictions": p.predictions, "loss": loss, "samples": samples });
        if let Some(acc) = accuracy {
            out["accuracy"] = json!(acc);
        }
        if let Some(r2) = r2 {
            out["r2"] = json!(r2);
        }
        println!("{out}");
    } else {
        for v in &p.predictions {
            println!("{}", json!(v));
        }
        if let Some(acc) = accuracy {
            eprintln!("accuracy {:.2}% on {samples} samples", 100.0 * acc);
        }
        if let Some(r2) = r2 {
            eprintln!("R² {r2:.5} on {samples} samples");
        }
    }
    Ok(())
}
