//! Neural networks: the multilayer perceptron as one more problem for the optimizers.
//!
//! - [`Mlp`]: dense layers of any depth and width, the usual activations, losses and
//!   initializations; one flat parameter vector; batched forward and backward passes.
//! - [`Real`]: networks compute in `f32` (default) or `f64`.

mod activation;
mod adapters;
mod auto;
mod experiment;
mod goal;
mod io;
pub(crate) use io::read_state;
mod loss;
mod mlp;
mod real;
mod sampled;
mod train;

pub use activation::Activation;
pub use adapters::{BatchData, FullBatch, NetLeastSquares};
pub use auto::{choose_optimizer, AutoChoice};
pub use experiment::{
    dataset_from_table, infer_loss, load_data, open_data, predict, predict_data, DataSource,
    DataSpec, Experiment, ExperimentConfig, Metrics, Outcome, Precision, Prediction, Predictions,
};
pub use goal::{goal_epochs, median, GoalRun, GoalSummary};
pub use io::{
    load_model, load_state, parse_model, parse_state, save_model, state_path, write_atomic,
    ModelMeta, SavedModel,
};
pub use loss::{Loss, Targets};
pub use mlp::{Architecture, Init, Mlp, Workspace, TRANSPOSE_INPUT_FROM};
pub use real::{row_major_operands, Real};
pub use sampled::NetBatches;
pub use train::{
    batch_data, check_compatible, default_epochs, evaluate, evaluate_shared, train,
    train_distributed, train_with, EpochReport, LayerStats, Optimizer, Silent, TrainConfig,
    TrainObserver, TrainResult, TrainState, TrainStop,
};
