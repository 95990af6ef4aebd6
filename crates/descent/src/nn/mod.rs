//! Neural networks: the multilayer perceptron as one more problem for the optimizers.
//!
//! - [`Mlp`]: dense layers of any depth and width, the usual activations, losses and
//!   initializations; one flat parameter vector; batched forward and backward passes.
//! - [`Real`]: networks compute in `f32` (default) or `f64`.

mod activation;
mod loss;
mod mlp;
mod real;

pub use activation::Activation;
pub use loss::{Loss, Targets};
pub use mlp::{Architecture, Init, Mlp, Workspace};
pub use real::Real;
