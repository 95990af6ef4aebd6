//! The bodies of the fuzz targets (`fuzz/`, run by `cargo fuzz`), kept in the library so
//! that the committed corpora and every input that once failed run as ordinary tests
//! (`tests/fuzz_corpora.rs`) on every build.
//!
//! Each target takes arbitrary bytes and drives one parser the way the CLI does — and
//! then uses what it parsed (evaluates the expression, predicts with the model, resumes
//! the checkpoint), because a file that parses can still break what reads it next. A
//! target must never panic, hang or allocate without bound: every outcome is a value or
//! a typed error. Sizes the fuzzer may pick are kept small where the work, not the input,
//! would grow (a resumed run does two iterations, not the checkpoint's budget).

use crate::data::{read_idx_reader, synthetic, Dataset, Table, TargetData, Task};
use crate::driver::{minimize_from, NoObserver, Options, Start};
use crate::expr::{Expr, ExprModel, ExprObjective};
use crate::nn::read_state;
use crate::nn::{
    dataset_from_table, parse_model, parse_state, predict_data, train, DataSpec, Loss, Mlp, Silent,
};
use crate::problem::{LeastSquares, Objective};
use crate::problems::{mgh::MghProblem, nist::NistProblem};
use crate::update::Schedule;
use crate::{Bounds, Checkpoint, MethodSpec};
use std::path::Path;
use std::time::Duration;

/// A target's body: arbitrary bytes in, nothing out (an error is a fine outcome).
pub type Target = fn(&[u8]);

/// Every target, by the name of its `fuzz/fuzz_targets/NAME.rs` and corpus folder.
pub const TARGETS: &[(&str, Target)] = &[
    ("expr", expr),
    ("model", model),
    ("csv", csv),
    ("idx", idx),
    ("nist", nist),
    ("safetensors_model", safetensors_model),
    ("optimizer_state", optimizer_state),
    ("checkpoint", checkpoint),
    ("method_spec", method_spec),
    ("problem_spec", problem_spec),
    ("schedule", schedule),
    ("data_spec", data_spec),
    ("bounds", bounds),
];

/// Variables beyond which an expression is parsed but not differentiated (its gradient
/// costs a pass per variable).
const MAX_EVALUATED_DIM: usize = 256;

/// A two-iteration budget for runs the fuzzer starts or resumes.
fn short_run(iterations_before: u64) -> Options {
    Options {
        max_iter: iterations_before.saturating_add(2),
        max_evals: None,
        time_limit: Some(Duration::from_millis(200)),
        ..Options::default()
    }
}

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// `minimize --expr TEXT`: parse, then the value and gradient at a point.
pub fn expr(data: &[u8]) {
    let Some(src) = text(data) else { return };
    let Ok(p) = ExprObjective::parse(src) else {
        return;
    };
    if p.dim() <= MAX_EVALUATED_DIM {
        let x: Vec<f64> = (0..p.dim()).map(|i| 0.5 + 0.25 * i as f64).collect();
        let mut g = vec![0.0; p.dim()];
        let f = p.value_grad(&x, &mut g);
        let _ = (f, p.value(&x));
    }
}

/// `fit --model TEXT`: parse, bind `x` to a data column and the other variables as
/// parameters, then residuals and Jacobian at a point.
pub fn model(data: &[u8]) {
    let Some(src) = text(data) else { return };
    let Ok(e) = Expr::parse(src) else { return };
    let params: Vec<String> = e
        .variables()
        .iter()
        .filter(|v| *v != "x")
        .cloned()
        .collect();
    if params.len() > MAX_EVALUATED_DIM {
        return;
    }
    let inputs = vec!["x".to_string()];
    let column = vec![0.5, 1.0, 2.0];
    let Ok(m) = ExprModel::new(src, &params, &inputs, vec![column], vec![1.0, 2.0, 3.0]) else {
        return;
    };
    let x = vec![1.0; m.dim()];
    let mut r = vec![0.0; m.residual_count()];
    m.residuals(&x, &mut r);
    let mut j = crate::linalg::DenseMatrix::zeros(m.residual_count(), m.dim());
    m.jacobian(&x, &mut j);
}

/// `--data csv:FILE[,target=COL]`: the first byte picks the target, the task and
/// whether targets are standardized; the rest is the file. Then the split and the
/// standardization `train` does.
pub fn csv(data: &[u8]) {
    let Some((&flags, file)) = data.split_first() else {
        return;
    };
    let Ok(table) = Table::from_reader(file, "fuzz.csv") else {
        return;
    };
    let target = match flags & 3 {
        0 => None,
        1 => table.headers.first().cloned(),
        2 => Some("y".to_string()),
        _ => table.headers.last().cloned(),
    };
    let task = if flags & 4 == 0 {
        Task::Regression
    } else {
        Task::Classification
    };
    let Ok(set) = dataset_from_table(&table, target.as_deref(), task) else {
        return;
    };
    if set.validate("fuzz").is_err() {
        return;
    }
    let Ok((mut train, mut val, _)) = set.split(0.2, 0.2, u64::from(flags)) else {
        return;
    };
    let s = train.standardizer(flags & 8 != 0);
    train.standardize(&s);
    val.standardize(&s);
}

/// An IDX file, plain or gzip (MNIST's images and labels).
pub fn idx(data: &[u8]) {
    let _ = read_idx_reader(data, "fuzz.idx");
}

/// `fit --nist FILE`: parse, then the model's residuals and Jacobian at both starts.
pub fn nist(data: &[u8]) {
    let Some(src) = text(data) else { return };
    let Ok(p) = NistProblem::parse(src, "fuzz.dat", "fuzz") else {
        return;
    };
    let Ok(m) = p.least_squares() else { return };
    if m.dim() > MAX_EVALUATED_DIM {
        return;
    }
    for start in &p.starts {
        if start.len() != m.dim() {
            continue;
        }
        let mut r = vec![0.0; m.residual_count()];
        m.residuals(start, &mut r);
        let mut j = crate::linalg::DenseMatrix::zeros(m.residual_count(), m.dim());
        m.jacobian(start, &mut j);
    }
}

/// `predict --model FILE`: load the model, then predict on three rows of its input size.
pub fn safetensors_model(data: &[u8]) {
    let Ok(saved) = parse_model(data, Path::new("fuzz.safetensors")) else {
        return;
    };
    let (d, k) = (saved.net.inputs(), saved.net.outputs());
    let rows = 3;
    let targets = match saved.net.arch.loss {
        Loss::SquaredError => TargetData::Values {
            y: vec![0.25; rows * k],
            k,
        },
        _ => TargetData::Classes {
            labels: vec![0; rows],
            names: (0..k.max(2)).map(|c| c.to_string()).collect(),
        },
    };
    let set = Dataset {
        x: (0..rows * d).map(|i| i as f64 * 0.1).collect(),
        d,
        targets,
        feature_names: Vec::new(),
        part: None,
    };
    let _ = predict_data(&saved, set);
}

/// `train --resume FILE`: read the optimizer state, then continue it one epoch on a
/// 2-3-1 network (13 weights; the seed corpus holds states of that network).
///
/// A mutated file fails its checksum; the target goes on with it anyway (as a forged file
/// would), so that what reads the state is fuzzed too.
pub fn optimizer_state(data: &[u8]) {
    let path = Path::new("fuzz.safetensors.optim");
    let _ = parse_state(data, path);
    let Ok((state, mut cfg)) = read_state(data, path) else {
        return;
    };
    let Ok(net) = Mlp::new(
        &[2, 3, 1],
        &[crate::nn::Activation::Tanh],
        Loss::SquaredError,
    ) else {
        return;
    };
    let set = Dataset {
        x: (0..16).map(|i| (i as f64 * 0.37).sin()).collect(),
        d: 2,
        targets: TargetData::Values {
            y: (0..8).map(|i| (i as f64 * 0.5).cos()).collect(),
            k: 1,
        },
        feature_names: Vec::new(),
        part: None,
    };
    cfg.epochs = state.epoch.saturating_add(1);
    cfg.threads = 1;
    cfg.batch_size = cfg.batch_size.clamp(1, 8);
    cfg.patience = None;
    let _ = train::<f64>(&net, &set, None, &cfg, state, &mut Silent);
}

/// `minimize --resume FILE`: read the checkpoint, build its method, resume two
/// iterations on Rosenbrock's function.
///
/// A mutated file fails its checksum; the target signs it again and goes on (as a forged
/// file would), so that resuming is fuzzed too.
pub fn checkpoint(data: &[u8]) {
    let _ = Checkpoint::from_bytes(data, "fuzz.json");
    let Ok(c) = serde_json::from_slice::<Checkpoint>(data) else {
        return;
    };
    let Ok(text) = c
        .signed()
        .and_then(|c| serde_json::to_vec(&c).map_err(|e| crate::Error::Parse(e.to_string())))
    else {
        return;
    };
    let Ok(c) = Checkpoint::from_bytes(&text, "fuzz.json") else {
        return;
    };
    let Ok(spec) = MethodSpec::parse(&c.method) else {
        return;
    };
    let Ok(problem) = MghProblem::parse("rosenbrock") else {
        return;
    };
    let Ok(mut method) = spec.build() else { return };
    let opts = short_run(c.iterations);
    let _ = minimize_from(
        &problem,
        method.as_mut(),
        Start::Resume(&c),
        &opts,
        &mut NoObserver,
    );
}

/// `minimize --method SPEC`: parse, build, run two iterations on Rosenbrock's function
/// (the least-squares methods on its residuals).
pub fn method_spec(data: &[u8]) {
    let Some(src) = text(data) else { return };
    let Ok(spec) = MethodSpec::parse(src) else {
        return;
    };
    let Ok(problem) = MghProblem::parse("rosenbrock") else {
        return;
    };
    let x0 = problem.x0();
    if let Ok(mut method) = spec.build() {
        let _ = minimize_from(
            &problem,
            method.as_mut(),
            Start::At(&x0),
            &short_run(0),
            &mut NoObserver,
        );
    }
    if let Ok(b) = Bounds::uniform(2, -2.0, 2.0) {
        let _ = spec.build_bounded(&b);
    }
}

/// `minimize --problem SPEC`: parse, then the value and gradient at the standard start
/// of problems small enough to evaluate quickly.
pub fn problem_spec(data: &[u8]) {
    let Some(src) = text(data) else { return };
    let Ok(p) = MghProblem::parse(src) else {
        return;
    };
    // A gradient by forward differentiation costs n value passes of m residuals (dense
    // ones, such as Chebyquad's, each over all n variables): legitimate but slow work.
    let n = Objective::dim(&p);
    if n.saturating_mul(p.residual_count()) <= 20_000 {
        let x = p.x0();
        let mut g = vec![0.0; n];
        let _ = p.value_grad(&x, &mut g);
        let mut r = vec![0.0; p.residual_count()];
        p.residuals(&x, &mut r);
    }
}

/// `--schedule SPEC`: parse, then the rate at a few steps, the last ones extreme.
pub fn schedule(data: &[u8]) {
    let Some(src) = text(data) else { return };
    let Ok(s) = Schedule::parse(src, 0.01) else {
        return;
    };
    // Steps count from 1.
    for k in [1, 2, 7, 100, 10_000, 1 << 40, u64::MAX - 1, u64::MAX] {
        let _ = s.at(k);
    }
}

/// `--data SPEC`: parse; generate the synthetic sets of modest size (reading files is
/// the `csv` and `idx` targets' job).
pub fn data_spec(data: &[u8]) {
    let Some(src) = text(data) else { return };
    let Ok(DataSpec::Synthetic(rest)) = DataSpec::parse(src) else {
        return;
    };
    let modest = rest
        .split(|c: char| !c.is_ascii_digit())
        .all(|digits| digits.len() <= 4);
    if modest {
        let _ = synthetic(&rest, 0);
    }
}

/// `--bounds TEXT` for a problem of 0–7 variables (the first byte), by position and by
/// name, then a start moved onto the box.
pub fn bounds(data: &[u8]) {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let Some(src) = text(rest) else { return };
    let n = usize::from(n % 8);
    if let Ok(b) = Bounds::parse(src, n) {
        let mut x = vec![0.0; n];
        let _ = b.move_inside(&mut x);
    }
    let names: Vec<String> = ["a", "b", "x1", "rate"][..n.min(4)]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let _ = Bounds::parse_named(src, &names);
}
