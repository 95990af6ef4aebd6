//! Built-in test problems: the Moré–Garbow–Hillstrom set and the NIST StRD nonlinear
//! regression problems.
pub mod mgh;
pub mod nist;
