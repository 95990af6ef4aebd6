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

fn mean_std(cols: usize, rows: impl Iterator<Item = Vec<f64>> + Clone) -> (Vec<f64>, Vec<f64>) {
    let mut mean = vec![0.0; cols];
    let mut n = 0.0;
    for r in rows.clone() {
        for (m, v) in mean.iter_mut().zip(&r) {
            *m += v;
        }
        n += 1.0;
    }
    mean.iter_mut().for_each(|m| *m /= n);
    let mut var = vec![0.0; cols];
    for r in rows {
        for ((s, v), m) in var.iter_mut().zip(&r).zip(&mean) {
            *s += (v - m) * (v - m);
        }
    }
    let std = var
        .iter()
        .map(|s| {
            let sd = (s / n).sqrt();
            if sd > 1e-12 {
                sd
            } else {
                1.0
            }
        })
        .collect();
    (mean, std)
}

impl Dataset {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.x.len() / self.d.max(1)
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

    /// Checks that every feature and target is finite.
    pub fn validate(&self, what: &str) -> Result<()> {
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
        }
    }

    /// Seeded split into (train, validation, test) with the given fractions.
    pub fn split(&self, val_frac: f64, test_frac: f64, seed: u64) -> (Dataset, Dataset, Dataset) {
        let n = self.len();
        let perm = permutation(n, seed);
        let n_test = ((n as f64) * test_frac).round() as usize;
        let n_val = ((n as f64) * val_frac).round() as usize;
        let (test, rest) = perm.split_at(n_test.min(n));
        let (val, train) = rest.split_at(n_val.min(rest.len()));
        (self.subset(train), self.subset(val), self.subset(test))
    }

    /// Statistics of this (training) set for standardization; `targets` also for values.
    pub fn standardizer(&self, targets: bool) -> Standardizer {
        let (mean, std) = mean_std(self.d, (0..self.len()).map(|i| self.row(i).to_vec()));
        let target = match (&self.targets, targets) {
            (TargetData::Values { y, k }, true) => {
                Some(mean_std(*k, y.chunks(*k).map(|c| c.to_vec())))
            }
            _ => None,
        };
        Standardizer { mean, std, target }
    }

    /// Applies a standardizer in place.
    pub fn standardize(&mut self, s: &Standardizer) {
        for row in self.x.chunks_mut(self.d) {
            for ((v, m), sd) in row.iter_mut().zip(&s.mean).zip(&s.std) {
                *v = (*v - m) / sd;
            }
        }
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
        let mut x = Vec::with_capacity(table.len() * d);
        for row in 0..table.len() {
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
        let raw: Vec<&str> = (0..table.len()).map(|row| table.field(row, tcol)).collect();
        let targets = match task {
            Task::Regression => {
                let y = table.numeric_column(&table.headers[tcol])?;
                TargetData::Values { y, k: 1 }
            }
            Task::Classification => {
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
                if names.len() < 2 {
                    return Err(Error::Parse(format!(
                        "{}: the target '{}' has only one class",
                        table.source, table.headers[tcol]
                    )));
                }
                let labels = raw
                    .iter()
                    .map(|s| {
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
            targets,
            feature_names: feature_cols
                .iter()
                .map(|&c| table.headers[c].clone())
                .collect(),
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
        };
        let (tr, va, te) = d.split(0.2, 0.2, 1);
        assert_eq!((tr.len(), va.len(), te.len()), (6, 2, 2));
        let s = tr.standardizer(true);
        let mut t2 = tr.clone();
        t2.standardize(&s);
        let m: f64 = (0..t2.len()).map(|i| t2.row(i)[0]).sum::<f64>() / t2.len() as f64;
        assert!(m.abs() < 1e-12);
        assert_eq!(permutation(10, 7), permutation(10, 7));
        assert_ne!(permutation(10, 7), permutation(10, 8));
    }
}
