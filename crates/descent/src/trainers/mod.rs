//! MATLAB's classical full-batch trainers that are not a direction with a line search:
//! each is its own [`crate::Minimizer`] on objectives (a network with its whole training
//! set is one), run by the driver like every method.
//!
//! | trainer | MATLAB | reference |
//! |---|---|---|
//! | [`ScaledCg`] | `trainscg` | Møller 1993 |
//! | [`IRpropPlus`] | — | Igel & Hüsken 2000 |
//! | [`AdaptiveRate`] | `traingda`, `traingdx` | the "bold driver" (Vogl et al. 1988; MATLAB) |
//!
//! The one-step secant (`trainoss`) and Powell–Beale CG (`traincgb`) are directions
//! ([`crate::direction::OneStepSecant`], [`crate::direction::PowellBeale`]); Rprop as
//! `trainrp` is a step rule ([`crate::update::Rprop`]).

mod adaptive_rate;
mod irprop_plus;
mod scg;

pub use adaptive_rate::AdaptiveRate;
pub use irprop_plus::IRpropPlus;
pub use scg::ScaledCg;
