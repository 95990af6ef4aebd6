//! A supervised data set: features (n×d, row-major) and targets (class labels or values).

use super::Table;
use crate::error::{Error, Result};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Targets of a data set.
#[derive(Clone, Debug, PartialEq)]
pub enum TargetData {
    /// One class index per sample, and the class names (index → name).
    Classes {
        /// Labels in 0..names.len().
        labels: Vec<u32>,
        /// Class names.
        names: Vec<String>,
    },
    /// `k` values per sample.
    Values {
        /// n×k values.
        y: Vec<f64>,
        /// Values per sample.
        k: usize,
    },
}

/// Whether a target column holds classes or values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    /// Class labels (integers or strings).
    Classification,
    /// Numeric targets.
    Regression,
}

/// Features and targets.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// n×d features, row-major.
    pub x: Vec<f64>,
    /// Features per sample.
    pub d: usize,
    /// Targets.
    pub targets: TargetData,
    /// Feature names (may be empty).
    pub feature_names: Vec<String>,
    /// The rows of a larger set this one holds, when it holds only some: a worker of a
    /// distributed run keeps its own (`None`: the whole set).
    pub part: Option<Part>,
}

/// Where a data set's rows sit in the whole set the workers of a distributed run share:
/// it holds rows `first..first + len` of `total`, the rows of its worker's leaves
/// ([`crate::comm::tree::own_leaves`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Part {
    /// Rows of the whole set.
    pub total: usize,
    /// The first row held, counted in the whole set.
    pub first: usize,
}

/// Per-feature mean and standard deviation (from a training split), to standardize.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Standardizer {
    /// Feature means.
    pub mean: Vec<f64>,
    /// Feature standard deviations (1 where a feature is constant).
    pub std: Vec<f64>,
    /// Target mean and std per output (regression only).
    pub target: Option<(Vec<f64>, Vec<f64>)>,
}

impl Standardizer {
    /// Standardizes rows of features in place (`x` is rows × the standardizer's columns).
    pub fn features(&self, x: &mut [f64]) {
        for row in x.chunks_mut(self.mean.len().max(1)) {
            for ((v, m), sd) in row.iter_mut().zip(&self.mean).zip(&self.std) {
                *v = (*v - m) / sd;
            }
        }
    }
}

/// Per-column mean and standard deviation (1 for a constant column) of `total` rows, of
/// which these are one worker's: the sums over the rows are summed across the workers of
/// `comm` (one process: [`crate::comm::Local`], the rows are all of them).
fn mean_std<'a>(
    cols: usize,
    total: usize,
    rows: impl Iterator<Item = &'a [f64]> + Clone,
    comm: &dyn crate::comm::Communicator,
) -> (Vec<f64>, Vec<f64>) {
    let n = total.max(1) as f64;
    let mut mean = vec![0.0; cols];
    for r in rows.clone() {
        mean.iter_mut().zip(r).for_each(|(m, v)| *m += v);
    }
    comm.sum(&mut mean);
    mean.iter_mut().for_each(|m| *m /= n);
    let mut var = vec![0.0; cols];
    for r in rows.clone() {
        for ((s, v), m) in var.iter_mut().zip(r).zip(&mean) {
            *s += (v - m) * (v - m);
        }
    }
    comm.sum(&mut var);
    let mut std: Vec<f64> = var.iter().map(|s| standard_deviation(s / n)).collect();
    // Deviations beyond 1e154 square to infinity, and every value would be scaled to 0:
    // such columns are summed again with their deviations scaled by 2⁻⁶⁰⁰ (exactly). Every
    // worker sees the same sums, so they all take this pass or none does.
    if var.iter().any(|s| s.is_infinite()) {
        let scale = 2f64.powi(-600);
        let mut scaled = vec![0.0; cols];
        for r in rows {
            for (((s, v), m), total) in scaled.iter_mut().zip(r).zip(&mean).zip(&var) {
                if total.is_infinite() {
                    *s += ((v - m) * scale) * ((v - m) * scale);
                }
            }
        }
        comm.sum(&mut scaled);
        for ((sd, s), total) in std.iter_mut().zip(&scaled).zip(&var) {
            if total.is_infinite() {
                *sd = (s / n).sqrt() / scale;
            }
        }
    }
    (mean, std)
}

/// The standard deviation of a variance, 1 for a constant feature (nothing to scale).
fn standard_deviation(variance: f64) -> f64 {
    let sd = variance.sqrt();
    if sd > 1e-12 {
        sd
    } else {
        1.0
    }
}

/// The rows of a seeded split of `n` rows into [train, validation, test] with the given
/// fractions ([`Dataset::split`]).
pub fn split_rows(n: usize, val_frac: f64, test_frac: f64, seed: u64) -> [Vec<usize>; 3] {
    let perm = permutation(n, seed);
    let n_test = ((n as f64) * test_frac).round() as usize;
    let n_val = ((n as f64) * val_frac).round() as usize;
    let (test, rest) = perm.split_at(n_test.min(n));
    let (val, train) = rest.split_at(n_val.min(rest.len()));
    [train.to_vec(), val.to_vec(), test.to_vec()]
}

impl Dataset {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.x.len() / self.d.max(1)
    }
    /// Number of samples of the whole set this one is a part of (its own length when it
    /// is whole).
    pub fn total_len(&self) -> usize {
        self.part.map_or(self.len(), |p| p.total)
    }
    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }
    /// Outputs a network needs: number of classes, or values per sample.
    pub fn outputs(&self) -> usize {
        match &self.targets {
            TargetData::Classes { names, .. } => names.len(),
            TargetData::Values { k, .. } => *k,
        }
    }
    /// Features of sample `i`.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.x[i * self.d..(i + 1) * self.d]
    }

    /// Checks that the set is whole — n×d features, one target (or k values) per row,
    /// labels within the class names — and that every feature and target is finite.
    pub fn validate(&self, what: &str) -> Result<()> {
        if self.d == 0 || !self.x.len().is_multiple_of(self.d) {
            return Err(Error::config(
                what,
                format!(
                    "{} feature values are not rows of {} features",
                    self.x.len(),
                    self.d
                ),
            ));
        }
        let n = self.len();
        match &self.targets {
            TargetData::Classes { labels, names } => {
                if labels.len() != n {
                    return Err(Error::config(
                        what,
                        format!("{} labels for {n} rows", labels.len()),
                    ));
                }
                if let Some(l) = labels.iter().find(|l| **l as usize >= names.len()) {
                    return Err(Error::config(
                        what,
                        format!("label {l} is not one of the {} classes", names.len()),
                    ));
                }
            }
            TargetData::Values { y, k } => {
                if *k == 0 || Some(y.len()) != n.checked_mul(*k) {
                    return Err(Error::config(
                        what,
                        format!("{} target values are not {n} rows of {k}", y.len()),
                    ));
                }
            }
        }
        if let Some(i) = self.x.iter().position(|v| !v.is_finite()) {
            return Err(Error::config(
                what,
                format!(
                    "sample {} feature {} is {} (NaN or infinite)",
                    i / self.d + 1,
                    i % self.d + 1,
                    self.x[i]
                ),
            ));
        }
        if let TargetData::Values { y, k } = &self.targets {
            if let Some(i) = y.iter().position(|v| !v.is_finite()) {
                return Err(Error::config(
                    what,
                    format!("sample {} target is {}", i / k + 1, y[i]),
                ));
            }
        }
        if self.is_empty() {
            return Err(Error::config(what, "no samples"));
        }
        Ok(())
    }

    /// The samples at `idx`, in that order.
    pub fn subset(&self, idx: &[usize]) -> Dataset {
        let mut x = Vec::with_capacity(idx.len() * self.d);
        for &i in idx {
            x.extend_from_slice(self.row(i));
        }
        let targets = match &self.targets {
            TargetData::Classes { labels, names } => TargetData::Classes {
                labels: idx.iter().map(|&i| labels[i]).collect(),
                names: names.clone(),
            },
            TargetData::Values { y, k } => {
                let mut v = Vec::with_capacity(idx.len() * k);
                for &i in idx {
                    v.extend_from_slice(&y[i * k..(i + 1) * k]);
                }
                TargetData::Values { y: v, k: *k }
            }
        };
        Dataset {
            x,
            d: self.d,
            targets,
            feature_names: self.feature_names.clone(),
            part: None,
        }
    }

    /// Seeded split into (train, validation, test) with the given fractions.
    ///
    /// Errors when a fraction is not in [0, 1) or they leave no training rows.
    pub fn split(
        &self,
        val_frac: f64,
        test_frac: f64,
        seed: u64,
    ) -> Result<(Dataset, Dataset, Dataset)> {
        for (name, f) in [("val_frac", val_frac), ("test_frac", test_frac)] {
            if !(0.0..1.0).contains(&f) {
                return Err(Error::config(name, format!("must be in [0, 1), got {f}")));
            }
        }
        let [train, val, test] = split_rows(self.len(), val_frac, test_frac, seed);
        if train.is_empty() {
            return Err(Error::config(
                "val_frac",
                format!(
                    "validation {val_frac} and test {test_frac} leave none of the {} rows \
                     for training",
                    self.len()
                ),
            ));
        }
        Ok((self.subset(&train), self.subset(&val), self.subset(&test)))
    }

    /// Statistics of this training set for standardization ([`Dataset::standardizer`]),
    /// as one worker of `comm` that holds its [`Part`] of the set: the sums are taken over
    /// every worker's rows. Of a whole set, the set's own statistics.
    pub fn shared_standardizer(
        &self,
        targets: bool,
        comm: &dyn crate::comm::Communicator,
    ) -> Standardizer {
        let comm = if self.part.is_some() {
            comm
        } else {
            &crate::comm::Local
        };
        let n = self.total_len();
        let (mean, std) = mean_std(self.d, n, self.x.chunks(self.d.max(1)), comm);
        let target = match (&self.targets, targets) {
            (TargetData::Values { y, k }, true) => Some(mean_std(*k, n, y.chunks(*k), comm)),
            _ => None,
        };
        Standardizer { mean, std, target }
    }

    /// Statistics of this (training) set for standardization; `targets` also for values.
    pub fn standardizer(&self, targets: bool) -> Standardizer {
        self.shared_standardizer(targets, &crate::comm::Local)
    }

    /// Applies a standardizer in place.
    pub fn standardize(&mut self, s: &Standardizer) {
        s.features(&mut self.x);
        if let (TargetData::Values { y, k }, Some((m, sd))) = (&mut self.targets, &s.target) {
            for row in y.chunks_mut(*k) {
                for ((v, mm), ss) in row.iter_mut().zip(m).zip(sd) {
                    *v = (*v - mm) / ss;
                }
            }
        }
    }

    /// Reads a CSV with a header row; `target` names the target column (default: the
    /// last). For classification the labels may be integers or strings; classes are
    /// numbered in sorted order (numerically for integers).
    pub fn from_csv(table: &Table, target: Option<&str>, task: Task) -> Result<Dataset> {
        Dataset::from_csv_rows(table, target, task, None)
    }

    /// [`Dataset::from_csv`] of the table's `rows` only, in that order (all of them for
    /// `None`): only those rows' features are parsed and kept, while the classes are
    /// named from the whole target column, so that every part of a table numbers them
    /// alike.
    pub fn from_csv_rows(
        table: &Table,
        target: Option<&str>,
        task: Task,
        rows: Option<&[usize]>,
    ) -> Result<Dataset> {
        let all: Vec<usize>;
        let rows = match rows {
            Some(r) => r,
            None => {
                all = (0..table.len()).collect();
                &all
            }
        };
        Dataset::from_csv_columns(table, rows, table, rows, target, task)
    }

    /// The samples of a worker that read only some rows of a CSV file
    /// ([`Table::read_marked`]): their features from rows `feature_rows` of `table`, their
    /// targets from rows `target_rows` of `targets`, a table that holds the target column
    /// of every row of the file ([`Table::read_column`]; it may be `table` itself), so
    /// that the classes are named from the whole column.
    pub fn from_csv_columns(
        table: &Table,
        feature_rows: &[usize],
        targets: &Table,
        target_rows: &[usize],
        target: Option<&str>,
        task: Task,
    ) -> Result<Dataset> {
        let rows = feature_rows;
        let tcol = match target {
            Some(t) => table.column_index(t)?,
            None => table.headers.len() - 1,
        };
        if table.headers.len() < 2 {
            return Err(Error::Parse(format!(
                "{}: need at least one feature column and a target column",
                table.source
            )));
        }
        let feature_cols: Vec<usize> = (0..table.headers.len()).filter(|c| *c != tcol).collect();
        let d = feature_cols.len();
        let mut x = Vec::with_capacity(rows.len() * d);
        for &row in rows {
            let line = table.line(row);
            for &c in &feature_cols {
                let f = table.field(row, c);
                let v: f64 = f.parse().map_err(|_| {
                    Error::Parse(format!(
                        "{}:{line}: feature '{}' = '{f}' is not a number",
                        table.source, table.headers[c]
                    ))
                })?;
                if !v.is_finite() {
                    return Err(Error::Parse(format!(
                        "{}:{line}: feature '{}' is {v} (must be finite)",
                        table.source, table.headers[c]
                    )));
                }
                x.push(v);
            }
        }
        let column = targets.column_index(&table.headers[tcol])?;
        let raw: Vec<&str> = (0..targets.len())
            .map(|row| targets.field(row, column))
            .collect();
        let target_data = match task {
            Task::Regression => {
                let y = targets.numeric_column(&table.headers[tcol])?;
                TargetData::Values {
                    y: target_rows.iter().map(|&r| y[r]).collect(),
                    k: 1,
                }
            }
            Task::Classification => {
                // A missing label would become a class of its own.
                if let Some(row) = raw.iter().position(|s| {
                    let t = s.trim();
                    t.is_empty() || ["nan", "na", "n/a"].contains(&t.to_ascii_lowercase().as_str())
                }) {
                    return Err(Error::Parse(format!(
                        "{}:{}: the target '{}' is missing ('{}')",
                        targets.source,
                        targets.line(row),
                        table.headers[tcol],
                        raw[row]
                    )));
                }
                let ints: Option<Vec<i64>> = raw.iter().map(|s| s.parse::<i64>().ok()).collect();
                let names: Vec<String> = match &ints {
                    Some(v) => {
                        let mut u: Vec<i64> = v.clone();
                        u.sort_unstable();
                        u.dedup();
                        u.iter().map(|i| i.to_string()).collect()
                    }
                    None => {
                        let mut u: Vec<String> = raw.iter().map(|s| s.to_string()).collect();
                        u.sort();
                        u.dedup();
                        u
                    }
                };
                // (One class is refused for training, not here: a few rows to predict
                // may well share one.)
                let labels = target_rows
                    .iter()
                    .map(|&r| {
                        let s = raw[r];
                        let key = match s.parse::<i64>() {
                            Ok(i) if ints.is_some() => i.to_string(),
                            _ => s.to_string(),
                        };
                        names
                            .binary_search_by(|n| cmp_names(n, &key, ints.is_some()))
                            .expect("label in names") as u32
                    })
                    .collect();
                TargetData::Classes { labels, names }
            }
        };
        Ok(Dataset {
            x,
            d,
            targets: target_data,
            feature_names: feature_cols
                .iter()
                .map(|&c| table.headers[c].clone())
                .collect(),
            part: None,
        })
    }
}

fn cmp_names(a: &str, b: &str, numeric: bool) -> std::cmp::Ordering {
    if numeric {
        a.parse::<i64>()
            .unwrap_or(0)
            .cmp(&b.parse::<i64>().unwrap_or(0))
    } else {
        a.cmp(b)
    }
}

/// A seeded random permutation of 0..n (Fisher–Yates on ChaCha8, reproducible across
/// platforms and versions).
pub fn permutation(n: usize, seed: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut p: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        p.swap(i, j);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_classes_as_strings_and_integers() {
        let t = Table::from_reader("a,b,label\n1,2,cat\n3,4,dog\n5,6,cat\n".as_bytes(), "t.csv")
            .unwrap();
        let d = Dataset::from_csv(&t, None, Task::Classification).unwrap();
        assert_eq!(
            d.targets,
            TargetData::Classes {
                labels: vec![0, 1, 0],
                names: vec!["cat".into(), "dog".into()]
            }
        );
        let t = Table::from_reader("a,y,b\n1,10,2\n3,2,4\n5,10,6\n".as_bytes(), "t.csv").unwrap();
        let d = Dataset::from_csv(&t, Some("y"), Task::Classification).unwrap();
        assert_eq!(
            d.targets,
            TargetData::Classes {
                labels: vec![1, 0, 1],
                names: vec!["2".into(), "10".into()]
            }
        );
        assert_eq!(d.x, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let t = Table::from_reader("a,b,label\n1,x,cat\n".as_bytes(), "t.csv").unwrap();
        let e = Dataset::from_csv(&t, None, Task::Classification)
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.csv:2") && e.contains("'b'"), "{e}");
    }

    #[test]
    fn split_and_standardize() {
        let x: Vec<f64> = (0..20).map(|i| i as f64).collect();
        let d = Dataset {
            x,
            d: 2,
            targets: TargetData::Values {
                y: (0..10).map(|i| i as f64).collect(),
                k: 1,
            },
            feature_names: vec![],
            part: None,
        };
        let (tr, va, te) = d.split(0.2, 0.2, 1).unwrap();
        assert_eq!((tr.len(), va.len(), te.len()), (6, 2, 2));
        let s = tr.standardizer(true);
        let mut t2 = tr.clone();
        t2.standardize(&s);
        let m: f64 = (0..t2.len()).map(|i| t2.row(i)[0]).sum::<f64>() / t2.len() as f64;
        assert!(m.abs() < 1e-12);
        assert_eq!(permutation(10, 7), permutation(10, 7));
        assert_ne!(permutation(10, 7), permutation(10, 8));
    }

    #[test]
    fn columns_whose_deviations_square_past_f64_are_still_scaled() {
        // Column 0 spreads by 1e200 (its squares overflow), column 1 by 1: both end with
        // unit standard deviation (before, column 0's was infinite and it became all 0).
        let rows = [[1e200, 1.0], [3e200, 3.0], [-2e200, -2.0], [6e200, 6.0]];
        let (mean, std) = mean_std(2, 4, rows.iter().map(|r| &r[..]), &crate::comm::Local);
        for c in 0..2 {
            let unit = if c == 0 { 1e200 } else { 1.0 };
            let direct: f64 = rows
                .iter()
                .map(|r| (r[c] / unit - 2.0).powi(2))
                .sum::<f64>()
                / 4.0;
            assert!((mean[c] / unit - 2.0).abs() < 1e-12, "{mean:?}");
            assert!(
                (std[c] / unit - direct.sqrt()).abs() < 1e-12 * direct.sqrt(),
                "{std:?}"
            );
        }
    }
}
