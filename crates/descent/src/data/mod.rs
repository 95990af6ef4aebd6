//! Data sets: CSV files, MNIST's IDX format (plain or gzip), synthetic sets; splits and
//! standardization with statistics from the training split only.

mod csv_table;
mod dataset;
mod held_rows;
mod idx;
mod synthetic;

pub use csv_table::Table;
pub use dataset::{permutation, split_rows, Dataset, Part, Standardizer, TargetData, Task};
pub use held_rows::HeldRows;
pub use idx::{load_mnist, parse_idx, read_idx, read_idx_reader, MnistImages};
pub use synthetic::synthetic;
