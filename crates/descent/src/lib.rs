//! # descent
//!
//! Every classical and modern optimizer in one place, from plain gradient descent to
//! Newton's method, measured side by side.
//!
//! ## Problems
//! - [`Objective`]: value and gradient; optional Hessian and Hessian-vector product
//!   (finite-difference defaults, documented as such).
//! - [`LeastSquares`]: residuals and Jacobian; [`SumOfSquares`] makes it an objective.
//! - [`SampledObjective`]: finite sums for mini-batch and online training.
//!
//! ## Methods and what they need
//! | method | needs | pick it when |
//! |---|---|---|
//! | gradient descent (fixed rate or line search) | ∇f | teaching; the baseline |
//! | momentum, Nesterov | ∇f | cheap steps, ill-conditioned valleys |
//! | Adam, AdamW, AMSGrad, RMSprop, Adagrad | ∇f | noisy (mini-batch) gradients |
//! | nonlinear CG (FR, PR, PR+, HS, DY, HZ) | ∇f | large n, little memory |
//! | BFGS, DFP, SR1 | ∇f | n up to a few thousand, smooth f |
//! | L-BFGS | ∇f | the default for smooth problems of any size |
//! | Newton | ∇²f (or finite differences) | small n, exact Hessian, fast local convergence |
//! | Newton-CG | ∇²f·v | large n with Hessian-vector products |
//! | [`lbfgsb`] (L-BFGS-B) | ∇f | bounds `l ≤ x ≤ u` ([`Bounds`]); never evaluates outside |
//! | [`trust_region`] (dogleg, Steihaug CG, exact) | ∇²f or ∇²f·v | robust Newton-type steps without a line search |
//! | [`least_squares`] (LM, trf, GN, robust losses, weights) | r, J | fitting models to data, with bounds |
//! | [`linear_cg`](fn@linear_cg) | A·v | SPD linear systems, quadratics |
//!
//! Line searches ([`linesearch`]): exact (bracketing + Brent), backtracking (Armijo),
//! strong Wolfe (N&W zoom with cubic interpolation). Any direction runs with any of them.
//!
//! ## Example
//! ```
//! use descent::{minimize, MethodSpec, NoObserver, Options, problems::mgh};
//! let p = mgh::MghProblem::parse("rosenbrock").unwrap();
//! let mut m = MethodSpec::new("lbfgs").build().unwrap();
//! let s = minimize(&p, m.as_mut(), &p.x0(), &Options::default(), &mut NoObserver).unwrap();
//! assert!(s.f < 1e-12);
//! ```
#![warn(missing_docs)]
#![deny(clippy::float_cmp)]

pub mod ad;
pub mod bounds;
pub mod checkpoint;
pub mod comm;
pub mod compare;
pub mod data;
pub mod direction;
pub mod driver;
pub mod error;
pub mod expr;
#[doc(hidden)]
pub mod fuzzing;
pub mod lbfgsb;
pub mod least_squares;
pub mod linalg;
pub mod linear_cg;
pub mod linesearch;
pub mod method;
pub mod minibatch;
pub mod nn;
pub mod problem;
pub mod problems;
pub mod resources;
mod simd;
pub mod trainers;
pub mod trust_region;
pub mod update;

pub use bounds::Bounds;
pub use checkpoint::{Checkpoint, SaveEvery};
pub use driver::{
    minimize, minimize_from, Control, Dims, InverseHessian, IterReport, Iterate, Minimizer,
    NoObserver, Observer, OnLeastSquares, OnObjective, Options, ProblemKind, Recorder, Start,
    StepOutcome, Summary, Termination,
};
pub use error::{Error, Result};
pub use linear_cg::{linear_cg, LinearCgResult};
pub use method::{LineSearchKind, MethodSpec, REGISTRY};
pub use problem::{
    Counted, Counts, FnObjective, GuestRows, LeastSquares, Objective, OwnWeights, Quadratic,
    SampledObjective, SharedStep, SumOfSquares,
};
