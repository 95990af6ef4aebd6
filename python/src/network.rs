//! Networks for the scikit-learn estimators: train on arrays, answer, save and load.

use crate::value_error;
use descent::data::{Dataset, TargetData};
use descent::nn::{
    self, Activation, EpochReport, Init, Loss, Mlp, ModelMeta, TrainConfig, TrainObserver,
    TrainState, TrainStop,
};
use numpy::{PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::Path;

fn network(sizes: &[usize], activation: &str, loss: &str) -> PyResult<Mlp> {
    let act = Activation::parse(activation)
        .ok_or_else(|| PyValueError::new_err(format!("unknown activation {activation:?}")))?;
    let loss =
        Loss::parse(loss).ok_or_else(|| PyValueError::new_err(format!("unknown loss {loss:?}")))?;
    Mlp::new(sizes, &[act], loss).map_err(value_error)
}

/// Features and targets from arrays: class indices (`labels`, with `classes` classes) or
/// values (n×k).
fn dataset(
    x: &PyReadonlyArray2<'_, f64>,
    labels: Option<&PyReadonlyArray1<'_, i64>>,
    classes: usize,
    values: Option<&PyReadonlyArray2<'_, f64>>,
) -> PyResult<Dataset> {
    let xa = x.as_array();
    let (n, d) = (xa.nrows(), xa.ncols());
    let targets = match (labels, values) {
        (Some(l), _) => {
            let l = l.as_slice()?;
            if l.len() != n {
                return Err(PyValueError::new_err(format!(
                    "{} labels for {n} samples",
                    l.len()
                )));
            }
            if let Some(bad) = l.iter().find(|c| **c < 0 || **c as usize >= classes) {
                return Err(PyValueError::new_err(format!(
                    "label {bad} outside 0..{classes}"
                )));
            }
            TargetData::Classes {
                labels: l.iter().map(|c| *c as u32).collect(),
                names: (0..classes).map(|c| c.to_string()).collect(),
            }
        }
        (None, Some(v)) => {
            let v = v.as_array();
            if v.nrows() != n {
                return Err(PyValueError::new_err(format!(
                    "{} target rows for {n} samples",
                    v.nrows()
                )));
            }
            TargetData::Values {
                y: v.iter().copied().collect(),
                k: v.ncols(),
            }
        }
        (None, None) => return Err(PyValueError::new_err("no targets given")),
    };
    Ok(Dataset {
        x: xa.iter().copied().collect(),
        d,
        targets,
        feature_names: Vec::new(),
        part: None,
    })
}

/// scikit-learn's stochastic solvers' learning rate (`learning_rate`, for `solver="sgd"`).
#[derive(Clone, Copy, PartialEq)]
enum RateRule {
    /// `"constant"`.
    Constant,
    /// `"invscaling"`: after each epoch ρ = ρ₀/(t + 1)^power_t, t the samples seen so far.
    InverseScaling { power_t: f64 },
    /// `"adaptive"`: where the `tol` rule would stop, ρ is divided by 5 instead, until it
    /// is at most 10⁻⁶.
    Adaptive { lr_init: f64 },
}

/// scikit-learn's end of an epoch (`_fit_stochastic`, `_update_no_improvement_count`,
/// `SGDOptimizer.iteration_ends` and `trigger_stopping`), in that order: the count of
/// epochs that did not improve the monitored value by `tol` (the training loss, or the
/// validation score when `monitor_score`), the inverse-scaling rate, then, once the count
/// is over `patience`, a stop — or, for the adaptive rate, ρ/5 and the count restarted.
/// The count and the best value carry over from one `partial_fit` call to the next.
struct SklearnEpochs {
    /// `None`: no counting (scikit-learn's `tol` not applied in this call).
    tol: Option<f64>,
    patience: usize,
    monitor_score: bool,
    /// The best validation score, or the lowest training loss, so far.
    best: f64,
    count: usize,
    rate: RateRule,
    /// Samples seen before this call (scikit-learn's `t_`) and per epoch.
    samples_before: f64,
    samples_per_epoch: f64,
    epochs_before: usize,
    stopped: bool,
    /// scikit-learn's `verbose`: each epoch's loss (times this, in scikit-learn's units)
    /// printed to Python's `sys.stdout` as it ends.
    verbose: Option<f64>,
}

impl SklearnEpochs {
    /// With `verbose`, prints `lines` to Python's `sys.stdout` (a print that fails —
    /// stdout closed — is not the run's failure).
    fn say(&self, lines: String) {
        if self.verbose.is_none() {
            return;
        }
        Python::attach(|py| {
            let _ = py
                .import("builtins")
                .and_then(|b| b.getattr("print"))
                .and_then(|print| print.call1((lines,)));
        });
    }
}

impl TrainObserver for SklearnEpochs {
    fn on_epoch(&mut self, r: &EpochReport) {
        let Some(scale) = self.verbose else { return };
        // scikit-learn counts the call's epochs (its n_iter_).
        let epoch = r.epoch.saturating_sub(self.epochs_before);
        let mut lines = format!("Iteration {epoch}, loss = {:.8}", scale * r.train_loss);
        if let Some(score) = r.val_accuracy.or(r.val_r2) {
            lines += &format!("\nValidation score: {score:.6}");
        }
        self.say(lines);
    }
    fn rate_scale(&mut self, r: &EpochReport, current: f64) -> f64 {
        if let Some(tol) = self.tol {
            // scikit-learn's comparisons, as written: the best score or loss so far.
            let (value, no_better, better) = if self.monitor_score {
                let score = r.val_accuracy.or(r.val_r2).unwrap_or(f64::NAN);
                (score, score < self.best + tol, score > self.best)
            } else {
                let loss = r.train_loss;
                (loss, loss > self.best - tol, loss < self.best)
            };
            self.count = if no_better { self.count + 1 } else { 0 };
            if better {
                self.best = value;
            }
        }
        let mut scale = current;
        if let RateRule::InverseScaling { power_t } = self.rate {
            let epochs = r.epoch.saturating_sub(self.epochs_before) as f64;
            let seen = self.samples_before + epochs * self.samples_per_epoch;
            scale = 1.0 / (seen + 1.0).powf(power_t);
        }
        if let (Some(tol), true) = (self.tol, self.count > self.patience) {
            let what = if self.monitor_score {
                format!("Validation score did not improve more than tol={tol:.6}")
            } else {
                let tol = tol * self.verbose.unwrap_or(1.0);
                format!("Training loss did not improve more than tol={tol:.6}")
            };
            let why = format!("{what} for {} consecutive epochs.", self.patience);
            match self.rate {
                RateRule::Adaptive { lr_init } if lr_init * scale > 1e-6 => {
                    scale /= 5.0;
                    self.count = 0;
                    self.say(format!(
                        "{why} Setting learning rate to {:.6}",
                        lr_init * scale
                    ));
                }
                RateRule::Adaptive { .. } => {
                    self.stopped = true;
                    self.say(format!("{why} Learning rate too small. Stopping."));
                }
                _ => {
                    self.stopped = true;
                    self.say(format!("{why} Stopping."));
                }
            }
        }
        scale
    }
    fn should_stop(&self) -> bool {
        self.stopped
    }
}

/// Trains a network of `sizes` on arrays and returns its weights, its resumable state
/// (JSON) and the per-epoch history.
///
/// `state` continues an earlier run (`partial_fit`): `epochs` more are trained.
#[pyfunction]
#[pyo3(signature = (x, sizes, activation, loss, optimizer, *, labels=None, classes=0,
    values=None, val_x=None, val_labels=None, val_values=None, lr=None, momentum=None,
    weight_decay=None, batch_size=200, epochs=200, seed=0, init="glorot", state=None,
    patience=None, tol=None, n_iter_no_change=10, precision="f64", threads=1,
    master_weights=None, l2=None, min_grad=None, learning_rate="constant", power_t=0.5,
    samples_before=0, monitor_score=false, no_improvement=None, shuffle=true,
    max_evals=None, verbose=None, fresh_optimizer=false))]
#[allow(clippy::too_many_arguments)] // scikit-learn's hyper-parameters, one to one
pub fn train_network<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
    sizes: Vec<usize>,
    activation: &str,
    loss: &str,
    optimizer: &str,
    labels: Option<PyReadonlyArray1<'py, i64>>,
    classes: usize,
    values: Option<PyReadonlyArray2<'py, f64>>,
    val_x: Option<PyReadonlyArray2<'py, f64>>,
    val_labels: Option<PyReadonlyArray1<'py, i64>>,
    val_values: Option<PyReadonlyArray2<'py, f64>>,
    lr: Option<f64>,
    momentum: Option<f64>,
    weight_decay: Option<f64>,
    batch_size: usize,
    epochs: usize,
    seed: u64,
    init: &str,
    state: Option<String>,
    patience: Option<usize>,
    tol: Option<f64>,
    n_iter_no_change: usize,
    precision: &str,
    threads: usize,
    master_weights: Option<&str>,
    l2: Option<f64>,
    min_grad: Option<f64>,
    learning_rate: &str,
    power_t: f64,
    samples_before: u64,
    monitor_score: bool,
    no_improvement: Option<(usize, f64)>,
    shuffle: bool,
    max_evals: Option<u64>,
    verbose: Option<f64>,
    fresh_optimizer: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let rate = match learning_rate {
        "constant" => RateRule::Constant,
        "invscaling" if power_t.is_finite() => RateRule::InverseScaling { power_t },
        "invscaling" => {
            return Err(PyValueError::new_err(format!(
                "power_t must be finite, got {power_t}"
            )))
        }
        "adaptive" => RateRule::Adaptive {
            lr_init: lr.unwrap_or(1e-3),
        },
        other => {
            return Err(PyValueError::new_err(format!(
                "learning_rate must be \"constant\", \"invscaling\" or \"adaptive\", got {other:?}"
            )))
        }
    };
    let net = network(&sizes, activation, loss)?;
    let train_data = dataset(&x, labels.as_ref(), classes, values.as_ref())?;
    let val_data = match &val_x {
        Some(vx) => Some(dataset(
            vx,
            val_labels.as_ref(),
            classes,
            val_values.as_ref(),
        )?),
        None => None,
    };
    let init =
        Init::parse(init).ok_or_else(|| PyValueError::new_err(format!("unknown init {init:?}")))?;
    let start = match state {
        Some(json) => serde_json::from_str::<TrainState>(&json)
            .map_err(|e| PyValueError::new_err(format!("state: {e}")))?,
        None => TrainState::new(net.init_params(init, seed)),
    };
    let mut start = if fresh_optimizer {
        start.with_fresh_optimizer()
    } else {
        start
    };
    // Each call trains on the data it is given: the driver's checkpoint would take the
    // first step from the gradient the last call computed on its own rows. The rule's
    // state, step count and rate, written at the last call's end, go on.
    start.method_checkpoint = None;
    if !matches!(precision, "f32" | "f64") {
        return Err(PyValueError::new_err(format!(
            "precision must be f32 or f64, got {precision:?}"
        )));
    }
    let f64_master_weights =
        match master_weights {
            Some("f32") if precision == "f64" => return Err(PyValueError::new_err(
                "master_weights=\"f32\" needs precision=\"f32\" (an f64 network's weights are f64)",
            )),
            None | Some("f32") => false,
            Some("f64") => true,
            Some(other) => {
                return Err(PyValueError::new_err(format!(
                    "master_weights must be f32 or f64, got {other:?}"
                )))
            }
        };
    let cfg = TrainConfig {
        optimizer: optimizer.into(),
        lr,
        momentum,
        weight_decay,
        epochs: start.epoch + epochs,
        batch_size: batch_size.max(1),
        seed,
        threads: threads.max(1),
        patience,
        f64_master_weights,
        l2,
        min_grad,
        shuffle,
        max_evals,
        monitor_score,
        ..TrainConfig::default()
    };
    let none_yet = if monitor_score {
        f64::NEG_INFINITY
    } else {
        f64::INFINITY
    };
    let (count, best) = no_improvement.unwrap_or((0, none_yet));
    let mut watch = SklearnEpochs {
        tol,
        patience: n_iter_no_change,
        monitor_score,
        best,
        count,
        rate,
        samples_before: samples_before as f64,
        samples_per_epoch: train_data.len() as f64,
        epochs_before: start.epoch,
        stopped: false,
        verbose,
    };
    let f64_compute = precision == "f64";
    let result = py.detach(move || {
        let train = if f64_compute {
            nn::train::<f64>
        } else {
            nn::train::<f32>
        };
        let r = train(
            &net,
            &train_data,
            val_data.as_ref(),
            &cfg,
            start,
            &mut watch,
        );
        r.map(|r| (r, watch))
    });
    let (result, watch) = result.map_err(value_error)?;
    let no_improvement = watch.stopped;
    let st = &result.state;
    let out = PyDict::new(py);
    out.set_item("params", PyArray1::from_slice(py, &st.params))?;
    out.set_item(
        "loss_curve",
        st.history.iter().map(|h| h.train_loss).collect::<Vec<_>>(),
    )?;
    out.set_item(
        "val_loss",
        st.history
            .iter()
            .filter_map(|h| h.val_loss)
            .collect::<Vec<_>>(),
    )?;
    out.set_item(
        "val_score",
        st.history
            .iter()
            .filter_map(|h| h.val_accuracy.or(h.val_r2))
            .collect::<Vec<_>>(),
    )?;
    out.set_item("epochs", st.epoch)?;
    let stop = match result.stop {
        TrainStop::Interrupted if no_improvement => "no_improvement",
        TrainStop::Completed => "completed",
        TrainStop::EarlyStopped => "early_stopped",
        TrainStop::Diverged => "diverged",
        TrainStop::Converged => "converged",
        TrainStop::MethodStopped => "method_stopped",
        TrainStop::Interrupted => "interrupted",
        TrainStop::Goal => "goal",
        TrainStop::MaxEvaluations => "max_evaluations",
    };
    out.set_item("stop", stop)?;
    out.set_item("samples_per_second", result.samples_per_second)?;
    out.set_item("no_improvement", (watch.count, watch.best))?;
    out.set_item(
        "lr_scale",
        st.history.iter().map(|h| h.lr_scale).collect::<Vec<_>>(),
    )?;
    out.set_item(
        "state",
        serde_json::to_string(&result.state)
            .map_err(|e| PyValueError::new_err(format!("state: {e}")))?,
    )?;
    Ok(out)
}

/// The network's answers for the rows of `x`: class probabilities (softmax), σ outputs
/// or values.
#[pyfunction]
pub fn network_outputs<'py>(
    py: Python<'py>,
    sizes: Vec<usize>,
    activation: &str,
    loss: &str,
    params: PyReadonlyArray1<'py, f64>,
    x: PyReadonlyArray2<'py, f64>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let net = network(&sizes, activation, loss)?;
    let params = params.as_slice()?.to_vec();
    if params.len() != net.num_params() {
        return Err(PyValueError::new_err(format!(
            "{} parameters for a network that has {}",
            params.len(),
            net.num_params()
        )));
    }
    let xa = x.as_array();
    let (n, d) = (xa.nrows(), xa.ncols());
    if d != net.inputs() {
        return Err(PyValueError::new_err(format!(
            "X has {d} features, but the network expects {}",
            net.inputs()
        )));
    }
    let xs: Vec<f64> = xa.iter().copied().collect();
    let k = net.outputs();
    let out = py
        .detach(move || net.answer(&params, &xs, n))
        .map_err(value_error)?;
    PyArray1::from_vec(py, out)
        .reshape([n, k])
        .map_err(|e| PyValueError::new_err(e.to_string()))
}

/// descent's `auto` rule for this network and data: (optimizer spec, reason).
#[pyfunction]
pub fn choose_optimizer(
    sizes: Vec<usize>,
    activation: &str,
    loss: &str,
    n_train: usize,
    batch_size: usize,
    step_rule_settings: bool,
) -> PyResult<(String, String)> {
    let net = network(&sizes, activation, loss)?;
    let c = nn::choose_optimizer(&net, n_train, batch_size, step_rule_settings);
    Ok((c.optimizer, c.reason))
}

/// Saves weights as the CLI does (safetensors, `layers.L.weight` n_in×n_out and
/// `layers.L.bias`, architecture and class names in the metadata).
#[pyfunction]
#[pyo3(signature = (path, sizes, activation, loss, params, precision="f32", classes=None,
                    class_type=None))]
#[allow(clippy::too_many_arguments)] // the Python keywords, one to one
pub fn save_network(
    path: &str,
    sizes: Vec<usize>,
    activation: &str,
    loss: &str,
    params: PyReadonlyArray1<'_, f64>,
    precision: &str,
    classes: Option<Vec<String>>,
    class_type: Option<String>,
) -> PyResult<()> {
    let net = network(&sizes, activation, loss)?;
    let params = params.as_slice()?;
    if params.len() != net.num_params() {
        return Err(PyValueError::new_err(format!(
            "{} parameters for a network that has {}",
            params.len(),
            net.num_params()
        )));
    }
    let meta = ModelMeta {
        standardizer: None,
        classes,
        class_type,
        features: Vec::new(),
    };
    nn::save_model(Path::new(path), &net, params, precision, &meta, None).map_err(value_error)
}

/// A training state that starts from `params` with fresh optimizer state (a loaded model
/// fine-tuned by `warm_start` or `partial_fit`).
#[pyfunction]
pub fn fresh_state(params: PyReadonlyArray1<'_, f64>) -> PyResult<String> {
    let state = TrainState::new(params.as_slice()?.to_vec());
    serde_json::to_string(&state).map_err(|e| PyValueError::new_err(format!("state: {e}")))
}

/// Loads a model saved by `save_network` or `descent train --save`.
#[pyfunction]
pub fn load_network<'py>(py: Python<'py>, path: &str) -> PyResult<Bound<'py, PyDict>> {
    let m = nn::load_model(Path::new(path)).map_err(value_error)?;
    let out = PyDict::new(py);
    let arch = &m.net.arch;
    out.set_item("sizes", arch.sizes.clone())?;
    out.set_item(
        "activations",
        arch.activations.iter().map(serde_name).collect::<Vec<_>>(),
    )?;
    out.set_item("loss", serde_name(&arch.loss))?;
    out.set_item("params", PyArray1::from_slice(py, &m.params))?;
    out.set_item("precision", m.precision)?;
    out.set_item("classes", m.meta.classes)?;
    out.set_item("class_type", m.meta.class_type)?;
    if let Some(s) = &m.meta.standardizer {
        out.set_item("mean", s.mean.clone())?;
        out.set_item("std", s.std.clone())?;
        out.set_item("target", s.target.clone())?;
    }
    Ok(out)
}

/// The name a value has in descent's files (`"relu"`, `"cross-entropy"`).
fn serde_name<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}
