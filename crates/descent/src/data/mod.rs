//! Data sets: reading CSV files (and, for networks, more formats).

mod csv_table;

pub use csv_table::Table;
