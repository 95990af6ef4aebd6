//! Test problems.
pub mod mgh;
