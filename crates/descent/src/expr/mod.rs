//! Expressions typed by the user — objectives for `descent minimize --expr` and, later,
//! models for curve fitting — with exact derivatives.
//!
//! Grammar: numbers (`2`, `1.5e-3`), variables (`x1 … xn` or any names), `+ − * / ^`,
//! parentheses, unary minus, the constants `pi` and `e`, and the functions `exp log ln
//! sqrt sin cos tan tanh atan abs`. `^` binds tighter than unary minus and is right
//! associative (`-x^2^3 = -(x^(2^3))`).
//!
//! An expression compiles to a postfix program evaluated generically over
//! [`crate::ad::Scalar`], so gradients and Hessians come from forward-mode automatic
//! differentiation: exact to rounding, no finite differences. Beyond a few variables the
//! gradient comes from reverse mode (one forward and one backward pass over the program).

mod model;
mod objective;
mod parse;
mod reverse;

pub use model::ExprModel;
pub use objective::ExprObjective;
pub use parse::Expr;
