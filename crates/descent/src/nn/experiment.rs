//! The experiment: everything between "this data, this network, this optimizer" and a
//! trained, evaluated, saved model — data specs, the validation/test split,
//! standardization with training statistics, target inference, default epochs, the
//! network (fresh or resumed), training, test metrics in the target's units, saving, and
//! prediction. `descent train`, `compare --data` and `report` all go through it, so a
//! library user gets the same experiment without the command line.

use super::auto::{choose_optimizer, AutoChoice};
use super::io::{load_model, load_state, save_model, ModelMeta, SavedModel};
use super::train::{
    batch_data, check_compatible, default_epochs, evaluate, evaluate_shared, train_distributed,
    EpochReport, Optimizer,
};
use super::{
    Activation, Init, Loss, Mlp, Real, TrainConfig, TrainObserver, TrainResult, TrainState,
};
use crate::comm::{Communicator, Local};
use crate::data::{
    split_rows, synthetic, Dataset, HeldRows, MnistImages, Part, Standardizer, Table, TargetData,
    Task,
};
use crate::error::{Error, Result};
use faer::Par;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Default validation fraction, and the most samples it holds out by default: enough to
/// monitor, while the rest trains.
const DEFAULT_VAL_FRAC: f64 = 0.05;
const MAX_DEFAULT_VAL: f64 = 1000.0;
/// Fraction held out for testing when no test set is given (MNIST brings its own).
const DEFAULT_TEST_FRAC: f64 = 0.2;

/// Compute precision of a network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    /// 32-bit floats (the default).
    F32,
    /// 64-bit floats.
    F64,
}

impl Precision {
    /// Parses `f32` or `f64`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "f32" => Ok(Precision::F32),
            "f64" => Ok(Precision::F64),
            _ => Err(Error::config(
                "precision",
                format!("must be f32 or f64, got '{s}'"),
            )),
        }
    }
    /// `f32` or `f64`.
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::F64 => "f64",
        }
    }
}

/// Where training data comes from: `mnist:DIR[,n=COUNT]`, `csv:FILE[,target=COL]` or
/// `synthetic:NAME[:N]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DataSpec {
    /// MNIST's IDX files in a folder, the first `limit` training samples if given.
    Mnist {
        /// The folder.
        dir: PathBuf,
        /// How many training samples to keep (all when `None`).
        limit: Option<usize>,
    },
    /// A CSV file with a header row.
    Csv {
        /// The file.
        file: PathBuf,
        /// The target column (the last when `None`).
        target: Option<String>,
    },
    /// A generated set (see [`synthetic`]): its name and options.
    Synthetic(String),
}

impl DataSpec {
    /// Parses a data spec; reads nothing.
    pub fn parse(spec: &str) -> Result<Self> {
        let bad = |why: String| Error::config("data", format!("'{spec}': {why}"));
        let (kind, rest) = spec.split_once(':').ok_or_else(|| {
            bad("expected mnist:DIR, csv:FILE[,target=COL] or synthetic:NAME".into())
        })?;
        let mut parts = rest.split(',');
        let path = PathBuf::from(parts.next().unwrap_or(""));
        match kind {
            "mnist" => {
                let mut limit = None;
                for p in parts {
                    match p.split_once('=') {
                        Some(("n", _)) if limit.is_some() => {
                            return Err(bad("n= is given twice".into()))
                        }
                        Some(("n", v)) => {
                            limit = Some(
                                v.parse::<usize>()
                                    .map_err(|_| bad(format!("n={v} is not a count")))?,
                            )
                        }
                        _ => return Err(bad(format!("unknown option '{p}' (expected n=COUNT)"))),
                    }
                }
                if limit == Some(0) {
                    return Err(bad("n must be at least 1".into()));
                }
                Ok(DataSpec::Mnist { dir: path, limit })
            }
            "csv" => {
                let mut target = None;
                for p in parts {
                    match p.split_once('=') {
                        Some(("target", _)) if target.is_some() => {
                            return Err(bad("target= is given twice".into()))
                        }
                        Some(("target", col)) => target = Some(col.to_string()),
                        _ => {
                            return Err(bad(format!("unknown option '{p}' (expected target=COL)")))
                        }
                    }
                }
                Ok(DataSpec::Csv { file: path, target })
            }
            "synthetic" => Ok(DataSpec::Synthetic(rest.to_string())),
            other => Err(bad(format!(
                "unknown kind '{other}' (expected mnist, csv or synthetic)"
            ))),
        }
    }
}

/// Loads a data spec ([`DataSpec`]) for a network trained with `loss`. For `mnist:` the
/// second set is the t10k test set (`test_part` loads only it). A CSV target that is not
/// numeric is read as classes even for squared error (one-hot targets).
pub fn load_data(
    spec: &str,
    loss: Loss,
    seed: u64,
    test_part: bool,
) -> Result<(Dataset, Option<Dataset>)> {
    let (data, test) = open_data(spec, loss, seed, test_part)?;
    Ok((data.all()?, test.map(|t| t.all()).transpose()?))
}

/// A data spec opened ([`open_data`]): its number of samples known, its rows read and
/// turned into samples on demand, so that a worker of a distributed run reads and keeps
/// only its own (MNIST's files and a CSV file opened with its target column; a CSV read
/// whole holds its text until then; samples in f64 are 8 bytes a value).
pub enum DataSource {
    /// MNIST's files, opened; the first `len` of their images.
    Mnist(MnistImages, usize),
    /// A CSV table, its target column and task.
    Csv(Table, Option<String>, Task),
    /// A CSV file read one worker's rows at a time ([`Table::read_marked`]), its target
    /// column and task, and that column of every row ([`Table::read_column`]).
    CsvFile {
        /// The file.
        path: PathBuf,
        /// The target column's name (default: the last).
        target: Option<String>,
        /// Classes or values.
        task: Task,
        /// The target column of every row.
        column: Table,
    },
    /// Samples already made (the synthetic sets).
    Samples(Dataset),
}

impl DataSource {
    /// Number of samples.
    pub fn len(&self) -> usize {
        match self {
            DataSource::Mnist(_, len) => *len,
            DataSource::Csv(table, ..) => table.len(),
            DataSource::CsvFile { column, .. } => column.len(),
            DataSource::Samples(d) => d.len(),
        }
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The samples `rows` (each below [`DataSource::len`]), in that order.
    pub fn rows(&self, rows: &[usize]) -> Result<Dataset> {
        match self {
            DataSource::Mnist(..) | DataSource::CsvFile { .. } => {
                Ok(self.read_sets(&[rows])?.remove(0))
            }
            DataSource::Csv(table, target, task) => {
                Dataset::from_csv_rows(table, target.as_deref(), *task, Some(rows))
            }
            DataSource::Samples(d) => Ok(d.subset(rows)),
        }
    }

    /// The samples of each of `sets` (rows each below [`DataSource::len`]); MNIST's files
    /// and a CSV file are read once for all of them.
    fn read_sets(&self, sets: &[&[usize]]) -> Result<Vec<Dataset>> {
        if let DataSource::Mnist(images, _) = self {
            return images.read_sets(sets);
        }
        let DataSource::CsvFile {
            path,
            target,
            task,
            column,
        } = self
        else {
            return sets.iter().map(|rows| self.rows(rows)).collect();
        };
        let rows_read = HeldRows::of(sets, column.len());
        let table = Table::read_marked(path, rows_read.marks())?;
        sets.iter()
            .map(|rows| {
                let local = rows_read.local(rows);
                Dataset::from_csv_columns(&table, &local, column, rows, target.as_deref(), *task)
            })
            .collect()
    }

    /// Every sample.
    pub fn all(self) -> Result<Dataset> {
        match self {
            DataSource::Samples(d) => Ok(d),
            other => other.rows(&(0..other.len()).collect::<Vec<_>>()),
        }
    }

    /// Of each of `sets` (rows of the whole set), the rows that are worker `comm`'s own
    /// (those of its leaves, [`crate::comm::tree::own_leaves`]), marked as its [`Part`] of
    /// that set; all of them for one process.
    pub fn own_rows(&self, sets: &[&[usize]], comm: &dyn Communicator) -> Result<Vec<Dataset>> {
        if comm.size() <= 1 {
            return self.read_sets(sets);
        }
        let owns: Vec<std::ops::Range<usize>> = sets
            .iter()
            .map(|rows| crate::comm::tree::own_leaves(rows.len(), comm.rank(), comm.size()).0)
            .collect();
        let mine: Vec<&[usize]> = sets.iter().zip(&owns).map(|(r, o)| &r[o.clone()]).collect();
        let mut parts = self.read_sets(&mine)?;
        for ((part, own), rows) in parts.iter_mut().zip(owns).zip(sets) {
            part.part = Some(Part {
                total: rows.len(),
                first: own.start,
            });
        }
        Ok(parts)
    }
}

/// Opens a data spec ([`load_data`]) without turning its rows into samples yet.
pub fn open_data(
    spec: &str,
    loss: Loss,
    seed: u64,
    test_part: bool,
) -> Result<(DataSource, Option<DataSource>)> {
    open_source(spec, loss, seed, test_part, false)
}

/// [`open_data`]; with `by_rows`, a CSV file is left to be read a worker's rows at a time
/// (its target column read now).
fn open_source(
    spec: &str,
    loss: Loss,
    seed: u64,
    test_part: bool,
    by_rows: bool,
) -> Result<(DataSource, Option<DataSource>)> {
    let task = if loss == Loss::SquaredError {
        Task::Regression
    } else {
        Task::Classification
    };
    Ok(match DataSpec::parse(spec)? {
        DataSpec::Mnist { dir, limit } => {
            // The first COUNT training samples (a subset for full-batch methods); the test
            // set stays whole.
            let test = || -> Result<DataSource> {
                let images = MnistImages::open(&dir, false)?;
                let len = images.len();
                Ok(DataSource::Mnist(images, len))
            };
            if test_part {
                (test()?, None)
            } else {
                let train = MnistImages::open(&dir, true)?;
                let len = match limit {
                    Some(n) if n > train.len() => {
                        return Err(Error::config(
                            "data",
                            format!("'{spec}': n must be in 1..={}", train.len()),
                        ))
                    }
                    Some(n) => n,
                    None => train.len(),
                };
                (DataSource::Mnist(train, len), Some(test()?))
            }
        }
        DataSpec::Csv { file, target } if by_rows => {
            let column = Table::read_column(&file, target.as_deref())?;
            let task = table_task(&column, target.as_deref(), task);
            let path = file;
            let source = DataSource::CsvFile {
                path,
                target,
                task,
                column,
            };
            (source, None)
        }
        DataSpec::Csv { file, target } => {
            let table = Table::read(&file)?;
            let task = table_task(&table, target.as_deref(), task);
            (DataSource::Csv(table, target, task), None)
        }
        DataSpec::Synthetic(rest) => (DataSource::Samples(synthetic(&rest, seed)?), None),
    })
}

/// A CSV table as a data set for `task`; for squared error, a target column that is not
/// numeric is read as classes.
pub fn dataset_from_table(table: &Table, target: Option<&str>, task: Task) -> Result<Dataset> {
    Dataset::from_csv(table, target, table_task(table, target, task))
}

/// The task a table's target column supports: for squared error, a target column that is
/// not numeric is read as classes.
fn table_task(table: &Table, target: Option<&str>, task: Task) -> Task {
    if task != Task::Regression {
        return task;
    }
    let col = target
        .map(str::to_string)
        .unwrap_or_else(|| table.headers.last().cloned().unwrap_or_default());
    if table.numeric_column(&col).is_ok() {
        Task::Regression
    } else {
        Task::Classification
    }
}

/// The loss the data asks for, as scikit-learn tells a regression from a classification
/// (`type_of_target`): a CSV target that is numeric with a fractional value anywhere is
/// continuous — the squared error; integer or text labels are classes — cross-entropy,
/// or with a single output and two labels the binary cross-entropy (with more, one output
/// can only regress: the squared error). MNIST and the synthetic class sets are classes;
/// the synthetic regression sets (`sine`, `matlab-sin`, `noisy-sine`, `matlab-parity`
/// with its single 0/1 output) regress.
pub fn infer_loss(spec: &str, outputs: Option<usize>) -> Result<Loss> {
    let one_output = outputs == Some(1);
    let classes = |distinct: usize| {
        if !one_output {
            Loss::CrossEntropy
        } else if distinct == 2 {
            Loss::BinaryCrossEntropy
        } else {
            Loss::SquaredError
        }
    };
    let (kind, rest) = spec.split_once(':').unwrap_or((spec, ""));
    Ok(match kind {
        "csv" => {
            let mut parts = rest.split(',');
            let table = Table::read(Path::new(parts.next().unwrap_or("")))?;
            let target = parts
                .find_map(|p| p.strip_prefix("target="))
                .map(str::to_string)
                .or_else(|| table.headers.last().cloned())
                .unwrap_or_default();
            match table.numeric_column(&target) {
                Ok(v) if v.iter().any(|x| x.fract() != 0.0) => Loss::SquaredError,
                Ok(v) => {
                    let mut distinct: Vec<u64> = v.iter().map(|x| x.to_bits()).collect();
                    distinct.sort_unstable();
                    distinct.dedup();
                    classes(distinct.len())
                }
                // Text labels (or a column that is not there, which loading reports).
                Err(_) => classes(usize::MAX),
            }
        }
        "synthetic" => {
            let name = rest.split(':').next().unwrap_or("");
            if matches!(name, "sine" | "matlab-sin" | "noisy-sine" | "matlab-parity") {
                Loss::SquaredError
            } else {
                classes(usize::MAX)
            }
        }
        _ => classes(usize::MAX),
    })
}

/// Everything an experiment is made of. [`ExperimentConfig::new`] gives the defaults.
#[derive(Clone, Debug)]
pub struct ExperimentConfig {
    /// Training data spec (see [`load_data`]).
    pub data: String,
    /// A separate test set (same forms); default: MNIST's t10k, else 20 % held out.
    pub test: Option<String>,
    /// Standardize features (and a regression target) with training-split statistics;
    /// default: yes for CSV data (as MATLAB maps inputs by default), no otherwise (MNIST
    /// has its own normalization).
    pub standardize: Option<bool>,
    /// Layer widths, inputs first (required unless resuming).
    pub layers: Option<Vec<usize>>,
    /// Hidden activation (default ReLU).
    pub activation: Activation,
    /// Loss (default cross-entropy).
    pub loss: Loss,
    /// Choose the loss from the data instead ([`infer_loss`]; default false).
    pub loss_from_data: bool,
    /// Initialization (default Glorot uniform).
    pub init: Init,
    /// Seed of the initialization, splits and shuffles.
    pub seed: u64,
    /// Threads (default: all cores).
    pub threads: usize,
    /// Compute precision (default f32).
    pub precision: Precision,
    /// Validation fraction (default 5 %, at most 1000 samples).
    pub val_frac: Option<f64>,
    /// Epochs (default [`default_epochs`]); overrides `train.epochs`.
    pub epochs: Option<usize>,
    /// The optimizer and its schedule, batch size, early stopping, … (`train.epochs` is
    /// set from `epochs`).
    pub train: TrainConfig,
    /// A model saved by [`Experiment::save`] to continue from.
    pub resume: Option<PathBuf>,
    /// Where the checkpoints of `train.checkpoint_every` are saved while training (as
    /// [`Experiment::save`] saves: the model and its optimizer state, one unit).
    pub checkpoint_to: Option<PathBuf>,
}

/// Refuses a set with a value beyond f32's range for an f32 network: converted, it
/// would be infinite (a feature of 1e200 trained as `inf`, the loss with it).
fn fits_f32(set: Option<&Dataset>, what: &str) -> Result<()> {
    let Some(set) = set else { return Ok(()) };
    let values: &[f64] = match &set.targets {
        TargetData::Values { y, .. } => y,
        TargetData::Classes { .. } => &[],
    };
    for (kind, v) in [("feature", &set.x[..]), ("target", values)] {
        if let Some(big) = v.iter().find(|v| v.abs() > f32::MAX as f64) {
            return Err(Error::config(
                "precision",
                format!(
                    "the {what} data has a {kind} value {big:e}, beyond f32's range \
                     (±3.4e38): train with --precision f64"
                ),
            ));
        }
    }
    Ok(())
}

/// Refuses to resume a run on other training data than it was saved with: the saved
/// model's standardization (each feature's mean and deviation over the training split) and
/// class names are those of its data, and a resumed run would train other rows, scaled by
/// other statistics than the weights learned. Summed in another order with another number
/// of workers, the statistics agree to rounding: compared to 1e-9. (Labels changed among
/// the same rows and classes, or unstandardized data such as MNIST's, pass.)
fn same_training_data(
    saved: &ModelMeta,
    now: Option<&Standardizer>,
    train: &Dataset,
) -> Result<()> {
    let differ = |why: String| {
        Err(Error::config(
            "resume",
            format!("the training data are not the data the run was saved with ({why})"),
        ))
    };
    if let (TargetData::Classes { names, .. }, Some(known)) = (&train.targets, &saved.classes) {
        if names != known {
            return differ(format!(
                "classes {} then, {} now",
                known.join(", "),
                names.join(", ")
            ));
        }
    }
    if let (Some(then), Some(now)) = (&saved.standardizer, now) {
        let close = |a: &[f64], b: &[f64]| {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|(x, y)| (x - y).abs() <= 1e-9 * x.abs().max(y.abs()))
        };
        let targets = |s: &Standardizer| s.target.clone().unwrap_or_default();
        let (t_then, t_now) = (targets(then), targets(now));
        if !close(&then.mean, &now.mean)
            || !close(&then.std, &now.std)
            || !close(&t_then.0, &t_now.0)
            || !close(&t_then.1, &t_now.1)
        {
            return differ("their means or deviations differ".into());
        }
    }
    Ok(())
}

/// Most threads a run starts: beyond a machine's cores they only cost memory and start-up
/// time (a run asked for 100 000 took minutes and 2 GB before the system refused their
/// stacks and the process aborted).
pub const MOST_THREADS: usize = 1024;

impl ExperimentConfig {
    /// Training on `data` with every other setting at its default.
    pub fn new(data: &str) -> Self {
        ExperimentConfig {
            data: data.into(),
            test: None,
            standardize: None,
            layers: None,
            activation: Activation::Relu,
            loss: Loss::CrossEntropy,
            loss_from_data: false,
            init: Init::GlorotUniform,
            seed: 0,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            precision: Precision::F32,
            val_frac: None,
            epochs: None,
            train: TrainConfig {
                optimizer: "auto".into(),
                ..TrainConfig::default()
            },
            resume: None,
            checkpoint_to: None,
        }
    }
}

/// A prepared experiment: settings checked, data loaded, split and standardized, the
/// network built (or loaded to resume).
pub struct Experiment {
    /// The network.
    pub net: Mlp,
    /// Where training starts (fresh weights or a resumed run).
    pub state: TrainState,
    /// Training settings (epochs resolved).
    pub cfg: TrainConfig,
    /// Training split.
    pub train_set: Dataset,
    /// Validation split (may be empty).
    pub val_set: Dataset,
    /// Test set, when there is one.
    pub test_set: Option<Dataset>,
    /// Training-split statistics, when standardizing.
    pub standardizer: Option<Standardizer>,
    /// Threads.
    pub threads: usize,
    /// Compute precision.
    pub precision: Precision,
    /// The loss.
    pub loss: Loss,
    /// What `auto` chose, when the optimizer was `auto`.
    pub auto: Option<AutoChoice>,
    /// How the weights were initialized (fresh weights for other seeds use it too).
    pub init: Init,
    /// Where checkpoints are saved ([`ExperimentConfig::checkpoint_to`]).
    checkpoint_to: Option<PathBuf>,
    /// The workers the run is shared with ([`Experiment::distribute`]).
    comm: Arc<dyn Communicator>,
}

/// What a training loss is multiplied by to be in the target's units: the mean variance
/// of a standardized regression target for the squared error, 1 otherwise.
fn loss_scale(standardizer: Option<&Standardizer>, loss: Loss) -> f64 {
    let variance = standardizer
        .and_then(|s| s.target.as_ref())
        .map_or(1.0, |(_, sd)| {
            sd.iter().map(|v| v * v).sum::<f64>() / sd.len() as f64
        });
    if loss == Loss::SquaredError {
        variance
    } else {
        1.0
    }
}

/// Loss, and accuracy (classification) or R² (regression), of a model on a data set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Metrics {
    /// Mean loss (in the target's units for regression).
    pub loss: f64,
    /// Fraction classified correctly.
    pub accuracy: Option<f64>,
    /// Coefficient of determination.
    pub r2: Option<f64>,
}

/// A finished training run and its test metrics.
pub struct Outcome {
    /// The run.
    pub result: TrainResult,
    /// Metrics on the test set, when there is one.
    pub test: Option<Metrics>,
    /// A checkpoint that could not be saved: it stopped the run (the file keeps the last
    /// checkpoint that was).
    pub checkpoint_error: Option<Error>,
}

/// Saves every checkpoint the training loop hands over, passing everything else on; a
/// failed save stops the run.
struct SaveCheckpoints<'a> {
    inner: &'a mut (dyn TrainObserver + Send),
    experiment: &'a Experiment,
    path: &'a Path,
    error: Option<Error>,
}

impl TrainObserver for SaveCheckpoints<'_> {
    fn on_batch(&mut self, epoch: usize, batch: usize, batches: usize, loss: f64) {
        self.inner.on_batch(epoch, batch, batches, loss)
    }
    fn on_epoch(&mut self, report: &EpochReport) {
        self.inner.on_epoch(report)
    }
    fn should_stop(&self) -> bool {
        self.error.is_some() || self.inner.should_stop()
    }
    fn on_checkpoint(&mut self, state: &TrainState) {
        if self.error.is_none() {
            self.error = self.experiment.save_state(self.path, state).err();
        }
        self.inner.on_checkpoint(state)
    }
}

impl Experiment {
    /// Checks every setting, loads and splits the data, builds the network.
    pub fn prepare(c: &ExperimentConfig) -> Result<Experiment> {
        Experiment::prepare_distributed(c, Arc::new(Local))
    }

    /// [`Experiment::prepare`] as one worker of `comm`, every worker with the same
    /// settings: the data is opened and split as one process splits it, and each worker
    /// turns into samples only its own rows of the training, validation and test sets
    /// (those of its leaves, [`crate::comm::tree::own_leaves`]: a K-th of each) and
    /// standardizes them with the statistics of the whole training set, summed across
    /// the workers. [`Experiment::run`] then trains the one process's run, shared.
    pub fn prepare_distributed(
        c: &ExperimentConfig,
        comm: Arc<dyn Communicator>,
    ) -> Result<Experiment> {
        // A worker that cannot load its part stops every worker (they would wait for it
        // in the first sum).
        let mut prepared = agree(&*comm, Experiment::prepare_part(c, &*comm))?;
        prepared.comm = comm;
        Ok(prepared)
    }

    /// [`Experiment::prepare_distributed`] on this worker alone.
    fn prepare_part(c: &ExperimentConfig, comm: &dyn Communicator) -> Result<Experiment> {
        if c.threads == 0 {
            return Err(Error::config("threads", "must be at least 1"));
        }
        if c.epochs == Some(0) {
            return Err(Error::config("epochs", "must be at least 1"));
        }
        if c.threads > MOST_THREADS {
            return Err(Error::config(
                "threads",
                format!(
                    "{} is more than {MOST_THREADS} (this machine runs {} at once)",
                    c.threads,
                    std::thread::available_parallelism().map_or(1, |n| n.get())
                ),
            ));
        }
        if c.val_frac.is_some_and(|f| !(0.0..0.9).contains(&f)) {
            return Err(Error::config("validation fraction", "must be in [0, 0.9)"));
        }
        // The optimizer and its settings, before any work (`auto` is resolved below, once
        // the network and the data are known).
        let auto = c.train.optimizer == "auto";
        if !auto {
            c.train.method_spec()?;
        }
        let loss = if c.loss_from_data && c.resume.is_none() {
            infer_loss(&c.data, c.layers.as_ref().and_then(|l| l.last().copied()))?
        } else {
            c.loss
        };
        // Each worker loads its part; the first sum (the standardizer's) waits until every
        // worker has.
        let (mut train_set, mut val_set, mut test_set) = agree(comm, load_parts(c, loss, comm))?;
        let standardize = c
            .standardize
            .unwrap_or_else(|| c.data.trim_start().starts_with("csv:"));
        let standardizer = standardize.then(|| train_set.shared_standardizer(true, comm));
        if let Some(s) = &standardizer {
            train_set.standardize(s);
            val_set.standardize(s);
            if let Some(t) = test_set.as_mut() {
                t.standardize(s);
            }
        }
        let (net, state, saved_cfg) = match &c.resume {
            Some(path) => {
                let saved = load_model(path)?;
                let (st, cfg) = load_state(path)?;
                if let Some(l) = &c.layers {
                    if *l != saved.net.arch.sizes {
                        return Err(Error::config(
                            "layers",
                            format!(
                                "{l:?} do not match the saved model's {:?}",
                                saved.net.arch.sizes
                            ),
                        ));
                    }
                }
                same_training_data(&saved.meta, standardizer.as_ref(), &train_set)?;
                (saved.net, st, Some(cfg))
            }
            None => {
                let sizes = c
                    .layers
                    .as_ref()
                    .ok_or_else(|| Error::config("layers", "are required (e.g. 784,128,10)"))?;
                let net = Mlp::new(sizes, &[c.activation], loss)?;
                let p0 = net.init_params(c.init, c.seed);
                (net, TrainState::new(p0), None)
            }
        };
        check_compatible(&net, &train_set, "training")?;
        if let Some(t) = &test_set {
            check_compatible(&net, t, "test")?;
        }
        if c.precision == Precision::F32 {
            for (what, set) in [
                ("training", Some(&train_set)),
                ("validation", Some(&val_set)),
                ("test", test_set.as_ref()),
            ] {
                fits_f32(set, what)?;
            }
        }
        let mut cfg = c.train.clone();
        cfg.threads = c.threads;
        cfg.seed = c.seed;
        // The goal is in the units losses are reported in (the target's); training sees
        // the standardized target's.
        cfg.goal = cfg
            .goal
            .map(|g| g / loss_scale(standardizer.as_ref(), net.arch.loss));
        let choice = auto.then(|| {
            let step_rule_settings = cfg.lr.is_some()
                || cfg.schedule.is_some()
                || cfg.plateau.is_some()
                || cfg.clip_norm.is_some()
                || !cfg.shuffle
                || cfg.f64_master_weights;
            choose_optimizer(
                &net,
                train_set.total_len(),
                cfg.batch_size,
                step_rule_settings,
            )
        });
        let choice = choice.map(|mut ch| {
            // Settings only some step rules have pick those rules.
            if cfg.momentum.is_some() {
                ch.optimizer = "momentum".into();
                ch.reason = "momentum was given: heavy-ball momentum".into();
                ch.patience = None;
            } else if cfg.weight_decay.is_some() {
                ch.optimizer = "adamw".into();
                ch.reason = "weight decay was given: AdamW".into();
                ch.patience = None;
            } else if cfg.l2.is_some() && ch.optimizer != "lbfgs" {
                ch.optimizer = "lbfgs".into();
                ch.reason = "an L2 penalty was given, a term of the full-batch objective: \
                             full-batch L-BFGS"
                    .into();
                ch.patience = Some(crate::nn::auto::MAX_FAIL);
            } else if cfg.max_evals.is_some() && ch.optimizer != "lbfgs" && ch.optimizer != "lm" {
                ch.optimizer = "lbfgs".into();
                ch.reason = "a budget of evaluations was given, which full-batch methods \
                             count: full-batch L-BFGS"
                    .into();
                ch.patience = Some(crate::nn::auto::MAX_FAIL);
            }
            ch
        });
        if let Some(ch) = &choice {
            cfg.optimizer = ch.optimizer.clone();
            cfg.method_spec()?;
            if cfg.patience.is_none() && val_set.total_len() > 0 {
                cfg.patience = ch.patience;
            }
        }
        cfg.epochs = c.epochs.unwrap_or_else(|| {
            default_epochs(&cfg.optimizer, train_set.total_len(), cfg.batch_size)
        });
        if let Some(saved) = &saved_cfg {
            if saved.optimizer != cfg.optimizer {
                return Err(Error::config(
                    "resume",
                    format!(
                        "the run was saved with optimizer {}, not {}",
                        saved.optimizer, cfg.optimizer
                    ),
                ));
            }
            cfg.lr = cfg.lr.or(saved.lr);
            // The objective goes on as it was: its penalty unless another is given.
            cfg.l2 = cfg.l2.or(saved.l2);
        }
        Ok(Experiment {
            loss: net.arch.loss,
            net,
            state,
            cfg,
            train_set,
            val_set,
            test_set,
            standardizer,
            threads: c.threads,
            precision: c.precision,
            auto: choice,
            init: c.init,
            checkpoint_to: c.checkpoint_to.clone(),
            comm: Arc::new(Local),
        })
    }

    /// Shares the run with the workers of `comm` ([`crate::nn::train_distributed`]): every
    /// worker prepares the same experiment and calls [`Experiment::run`]; they end with the
    /// same result, and only rank 0 saves.
    pub fn distribute(&mut self, comm: Arc<dyn Communicator>) {
        self.comm = comm;
    }

    /// The workers the run is shared with.
    pub fn communicator(&self) -> &dyn Communicator {
        &*self.comm
    }

    /// A loss in the original units of the target (regression with a standardized
    /// target: the squared error scales with the target's variance).
    pub fn unscale(&self, l: f64) -> f64 {
        l * loss_scale(self.standardizer.as_ref(), self.loss)
    }

    /// Trains from the prepared state and evaluates on the test set.
    pub fn run(&self, obs: &mut (dyn TrainObserver + Send)) -> Result<Outcome> {
        self.run_with(&self.cfg, obs)
    }

    /// [`Experiment::run`] with other training settings (another optimizer on the same
    /// data, network and initial weights).
    pub fn run_with(
        &self,
        cfg: &TrainConfig,
        obs: &mut (dyn TrainObserver + Send),
    ) -> Result<Outcome> {
        self.run_from(cfg, self.state.clone(), obs)
    }

    /// [`Experiment::run_with`] from another start (other initial weights).
    pub fn run_from(
        &self,
        cfg: &TrainConfig,
        state: TrainState,
        obs: &mut (dyn TrainObserver + Send),
    ) -> Result<Outcome> {
        let pool = self.pool()?;
        let (result, checkpoint_error) = match (&self.checkpoint_to, cfg.checkpoint_every) {
            (Some(path), Some(_)) => {
                let mut saver = SaveCheckpoints {
                    inner: obs,
                    experiment: self,
                    path,
                    error: None,
                };
                let result = pool.install(|| self.train_here(cfg, state, &mut saver))?;
                (result, saver.error)
            }
            _ => (pool.install(|| self.train_here(cfg, state, obs))?, None),
        };
        let test = self.test_set.as_ref().map(|t| {
            let m = pool.install(|| self.metrics(&result.state.params, t));
            Metrics {
                loss: self.unscale(m.loss),
                ..m
            }
        });
        Ok(Outcome {
            result,
            test,
            checkpoint_error,
        })
    }

    /// The experiment's threads.
    pub(crate) fn pool(&self) -> Result<rayon::ThreadPool> {
        rayon::ThreadPoolBuilder::new()
            .num_threads(self.threads)
            .build()
            .map_err(|e| Error::config("threads", format!("cannot start them: {e}")))
    }

    /// Trains from `state` on the current thread (inside [`Experiment::pool`]).
    pub(crate) fn train_here(
        &self,
        cfg: &TrainConfig,
        state: TrainState,
        obs: &mut (dyn TrainObserver + Send),
    ) -> Result<TrainResult> {
        // Every worker asks of the whole set (a worker's part of it may be empty).
        let val = (self.val_set.total_len() > 0).then_some(&self.val_set);
        let (net, data, comm) = (&self.net, &self.train_set, &*self.comm);
        let optimizer = || cfg.method_spec().map(Optimizer::Method);
        match self.precision {
            Precision::F64 => {
                train_distributed::<f64>(net, data, val, cfg, optimizer()?, state, obs, comm)
            }
            Precision::F32 => {
                train_distributed::<f32>(net, data, val, cfg, optimizer()?, state, obs, comm)
            }
        }
    }

    /// Metrics of `params` on `data` (loss in training units), in the experiment's
    /// precision.
    fn metrics(&self, params: &[f64], data: &Dataset) -> Metrics {
        fn on<T: Real>(
            net: &Mlp,
            params: &[f64],
            data: &Dataset,
            threads: usize,
            comm: &dyn Communicator,
        ) -> Metrics {
            let p: Vec<T> = params.iter().map(|v| T::of(*v)).collect();
            let par = if threads > 1 {
                Par::rayon(threads)
            } else {
                Par::Seq
            };
            let (loss, accuracy, r2) =
                evaluate_shared(net, &p, &batch_data::<T>(data, net), par, comm);
            Metrics { loss, accuracy, r2 }
        }
        match self.precision {
            Precision::F64 => on::<f64>(&self.net, params, data, self.threads, &*self.comm),
            Precision::F32 => on::<f32>(&self.net, params, data, self.threads, &*self.comm),
        }
    }

    /// Saves the trained model (safetensors, with the standardizer, class names and
    /// feature names) and the optimizer state beside it, atomically.
    pub fn save(&self, path: &Path, result: &TrainResult) -> Result<()> {
        self.save_state(path, &result.state)
    }

    /// [`Experiment::save`] of a training state (a checkpoint during the run). Of a
    /// distributed run, only rank 0 writes (every worker holds the same state).
    pub fn save_state(&self, path: &Path, state: &TrainState) -> Result<()> {
        if !self.comm.is_root() {
            return Ok(());
        }
        let meta = ModelMeta {
            standardizer: self.standardizer.clone(),
            classes: match &self.train_set.targets {
                TargetData::Classes { names, .. } => Some(names.clone()),
                _ => None,
            },
            class_type: None,
            features: self.train_set.feature_names.clone(),
        };
        save_model(
            path,
            &self.net,
            &state.params,
            self.precision.as_str(),
            &meta,
            Some((state, &self.cfg)),
        )
    }
}

/// `result` on every worker of `comm` if it is `Ok` on every worker; else this worker's
/// error, or one saying that another worker failed (which says why). Every worker calls it
/// at the same point (it sums).
fn agree<T>(comm: &dyn Communicator, result: Result<T>) -> Result<T> {
    if crate::comm::any_worker(comm, result.is_err()) {
        result?;
        return Err(Error::config(
            "distributed run",
            "another worker could not prepare its part of the run (it says why)",
        ));
    }
    result
}

/// The training, validation and test sets of an experiment, split as one process splits
/// them: of a distributed run, this worker's part of each ([`DataSource::own_rows`]).
fn load_parts(
    c: &ExperimentConfig,
    loss: Loss,
    comm: &dyn Communicator,
) -> Result<(Dataset, Dataset, Option<Dataset>)> {
    let by_rows = comm.size() > 1;
    let (full, mnist_test) = open_source(&c.data, loss, c.seed, false, by_rows)?;
    let n = full.len();
    let test_frac = if c.test.is_none() && mnist_test.is_none() {
        DEFAULT_TEST_FRAC
    } else {
        0.0
    };
    let val_frac = c
        .val_frac
        .unwrap_or_else(|| DEFAULT_VAL_FRAC.min(MAX_DEFAULT_VAL / n.max(1) as f64));
    let [train_rows, val_rows, held_out] = split_rows(n, val_frac, test_frac, c.seed);
    let mut sets = full
        .own_rows(&[&train_rows, &val_rows, &held_out], comm)?
        .into_iter();
    let mut next = || sets.next().expect("a set for each of three");
    let (train_set, val_set, held_out_set) = (next(), next(), next());
    if train_set.is_empty() && !train_rows.is_empty() {
        return Err(Error::config(
            "distributed run",
            format!(
                "worker {} of {} holds none of the {} training rows: run at most {} workers",
                comm.rank(),
                comm.size(),
                train_rows.len(),
                train_rows.len(),
            ),
        ));
    }
    train_set.validate("training data")?;
    if !val_set.is_empty() {
        val_set.validate("validation data")?;
    }
    let test_source = match &c.test {
        Some(spec) => Some(open_source(spec, loss, c.seed, true, by_rows)?.0),
        None => mnist_test,
    };
    let test_set = match test_source {
        Some(t) => {
            let all: Vec<usize> = (0..t.len()).collect();
            t.own_rows(&[&all], comm)?.pop()
        }
        None => (!held_out.is_empty()).then_some(held_out_set),
    };
    if let Some(t) = test_set.as_ref().filter(|t| !t.is_empty()) {
        t.validate("test data")?;
    }
    Ok((train_set, val_set, test_set))
}

/// What a model predicts for one sample.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum Prediction {
    /// A class name (classification).
    Class(String),
    /// One value (regression with one target), in the target's units.
    Value(f64),
    /// Several values (regression with several targets), in the targets' units.
    Values(Vec<f64>),
}

/// A saved model's predictions on a data set, with its metrics when the data has targets.
#[derive(Clone, Debug)]
pub struct Predictions {
    /// One per sample.
    pub predictions: Vec<Prediction>,
    /// Loss, accuracy or R² on the data; `None` for rows without a target.
    pub metrics: Option<Metrics>,
}

/// Predicts with a saved model on `spec` (same forms as [`load_data`]; `mnist:` uses its
/// test set): the data is standardized with the model's training statistics; classes are
/// the argmax (softmax) or σ > 0.5 (binary); regression outputs are mapped back to the
/// target's units. A CSV file without `target=` whose columns are exactly the model's
/// inputs holds rows to predict, without targets (and so without metrics).
pub fn predict(model: &SavedModel, spec: &str) -> Result<Predictions> {
    if let DataSpec::Csv { file, target: None } = DataSpec::parse(spec)? {
        let table = Table::read(&file)?;
        if table.headers.len() == model.net.inputs() {
            let columns = table
                .headers
                .iter()
                .map(|h| table.numeric_column(h))
                .collect::<Result<Vec<_>>>()?;
            let n = table.len();
            let x: Vec<f64> = (0..n)
                .flat_map(|r| columns.iter().map(move |c| c[r]))
                .collect();
            return Ok(Predictions {
                predictions: answers(model, x, n)?,
                metrics: None,
            });
        }
    }
    let loss = model.net.arch.loss;
    let (mut data, mnist_test) = load_data(spec, loss, 0, false)?;
    if let Some(t) = mnist_test {
        data = t;
    }
    predict_data(model, data)
}

/// [`predict`] on a data set in memory (in its raw units).
pub fn predict_data(model: &SavedModel, mut data: Dataset) -> Result<Predictions> {
    data.validate("data")?;
    if let Some(s) = &model.meta.standardizer {
        data.standardize(s);
    }
    if let (TargetData::Classes { labels, names }, Some(known)) =
        (&mut data.targets, &model.meta.classes)
    {
        // The data's labels are numbered by the classes it holds; the model's outputs by
        // the classes it was trained on: matched by name (rows with a subset of the
        // classes, or other names, would otherwise be scored against the wrong outputs).
        let index: Vec<u32> = names
            .iter()
            .map(|name| {
                known
                    .iter()
                    .position(|k| k == name)
                    .map(|i| i as u32)
                    .ok_or_else(|| {
                        Error::config(
                            "labels",
                            format!(
                                "the data's class '{name}' is not one the model knows ({})",
                                known.join(", ")
                            ),
                        )
                    })
            })
            .collect::<Result<_>>()?;
        labels.iter_mut().for_each(|l| *l = index[*l as usize]);
        *names = known.clone();
    }
    check_compatible(&model.net, &data, "prediction")?;
    let net = &model.net;
    let (l, accuracy, r2) = evaluate(net, &model.params, &batch_data::<f64>(&data, net), Par::Seq);
    // (Standardized already: `answers` takes raw inputs.)
    let predictions = answers_standardized(model, &data.x, data.len())?;
    Ok(Predictions {
        predictions,
        metrics: Some(Metrics {
            loss: l,
            accuracy,
            r2,
        }),
    })
}

/// What the model answers for `n` rows of raw inputs `x` (n×inputs).
fn answers(model: &SavedModel, mut x: Vec<f64>, n: usize) -> Result<Vec<Prediction>> {
    if let Some(s) = &model.meta.standardizer {
        s.features(&mut x);
    }
    answers_standardized(model, &x, n)
}

/// What the model answers for `n` rows of standardized inputs `x`: classes are the
/// argmax (softmax) or σ > 0.5 (binary), values are mapped back to the target's units.
fn answers_standardized(model: &SavedModel, x: &[f64], n: usize) -> Result<Vec<Prediction>> {
    let (net, loss) = (&model.net, model.net.arch.loss);
    let z = net.answer(&model.params, x, n)?;
    let k = net.outputs();
    let target_scale = model
        .meta
        .standardizer
        .as_ref()
        .and_then(|s| s.target.clone());
    let class = |c: usize| {
        Prediction::Class(
            model
                .meta
                .classes
                .as_ref()
                .and_then(|n| n.get(c).cloned())
                .unwrap_or_else(|| c.to_string()),
        )
    };
    Ok(z.chunks(k)
        .map(|row| match loss {
            Loss::CrossEntropy => {
                class(
                    row.iter()
                        .enumerate()
                        .fold(0, |b, (c, v)| if *v > row[b] { c } else { b }),
                )
            }
            Loss::BinaryCrossEntropy => class((row[0] > 0.5) as usize),
            Loss::SquaredError => {
                let vals: Vec<f64> = row
                    .iter()
                    .enumerate()
                    .map(|(i, v)| match &target_scale {
                        Some((m, sd)) => v * sd[i] + m[i],
                        None => *v,
                    })
                    .collect();
                if vals.len() == 1 {
                    Prediction::Value(vals[0])
                } else {
                    Prediction::Values(vals)
                }
            }
        })
        .collect())
}
