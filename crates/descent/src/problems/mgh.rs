//! The Moré–Garbow–Hillstrom test set: problems 1–35 of
//! J. J. Moré, B. S. Garbow, K. E. Hillstrom, "Testing unconstrained optimization
//! software", ACM TOMS 7(1), 17–41, 1981.
//!
//! Each problem is a sum of squares `f = Σ fᵢ(x)²` (the paper's convention), written once
//! generic over [`Scalar`] so that its Jacobian, gradient, Hessian-vector products and
//! Hessian are exact (forward-mode AD, see [`crate::ad`]). Problems 21 and 22 (extended
//! Rosenbrock and Powell) are block-separable and are differentiated block by block, so
//! they cost O(n) per gradient at any size.
//!
//! Names on the command line: `NAME[:N[:M]]` for the scalable ones.

use crate::ad::{Dual, HyperDual, Scalar};
use crate::error::{Error, Result};
use crate::linalg::DenseMatrix;
use crate::problem::{LeastSquares, Objective};

/// A problem of the set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Kind {
    Rosenbrock,
    FreudensteinRoth,
    PowellBadlyScaled,
    BrownBadlyScaled,
    Beale,
    JennrichSampson,
    HelicalValley,
    Bard,
    Gaussian,
    Meyer,
    Gulf,
    Box3d,
    PowellSingular,
    Wood,
    KowalikOsborne,
    BrownDennis,
    Osborne1,
    BiggsExp6,
    Osborne2,
    Watson,
    ExtendedRosenbrock,
    ExtendedPowell,
    Penalty1,
    Penalty2,
    VariablyDimensioned,
    Trigonometric,
    BrownAlmostLinear,
    DiscreteBoundary,
    DiscreteIntegral,
    BroydenTridiagonal,
    BroydenBanded,
    LinearFullRank,
    LinearRank1,
    LinearRank1Zero,
    Chebyquad,
}

/// Size rule of a problem: fixed (n, m) or scalable.
#[derive(Clone, Copy)]
enum Size {
    /// Fixed n; m fixed or variable with (default, min, max).
    Fixed {
        n: usize,
        m: usize,
        m_range: Option<(usize, usize)>,
    },
    /// Variable n (default) with m a function of n (or variable, default given by fn).
    Scalable { n_default: usize },
}

struct Info {
    kind: Kind,
    number: u32,
    name: &'static str,
    size: Size,
}

const TABLE: &[Info] = &[
    Info {
        kind: Kind::Rosenbrock,
        number: 1,
        name: "rosenbrock",
        size: Size::Fixed {
            n: 2,
            m: 2,
            m_range: None,
        },
    },
    Info {
        kind: Kind::FreudensteinRoth,
        number: 2,
        name: "freudenstein-roth",
        size: Size::Fixed {
            n: 2,
            m: 2,
            m_range: None,
        },
    },
    Info {
        kind: Kind::PowellBadlyScaled,
        number: 3,
        name: "powell-badly-scaled",
        size: Size::Fixed {
            n: 2,
            m: 2,
            m_range: None,
        },
    },
    Info {
        kind: Kind::BrownBadlyScaled,
        number: 4,
        name: "brown-badly-scaled",
        size: Size::Fixed {
            n: 2,
            m: 3,
            m_range: None,
        },
    },
    Info {
        kind: Kind::Beale,
        number: 5,
        name: "beale",
        size: Size::Fixed {
            n: 2,
            m: 3,
            m_range: None,
        },
    },
    Info {
        kind: Kind::JennrichSampson,
        number: 6,
        name: "jennrich-sampson",
        size: Size::Fixed {
            n: 2,
            m: 10,
            m_range: Some((2, 10_000)),
        },
    },
    Info {
        kind: Kind::HelicalValley,
        number: 7,
        name: "helical-valley",
        size: Size::Fixed {
            n: 3,
            m: 3,
            m_range: None,
        },
    },
    Info {
        kind: Kind::Bard,
        number: 8,
        name: "bard",
        size: Size::Fixed {
            n: 3,
            m: 15,
            m_range: None,
        },
    },
    Info {
        kind: Kind::Gaussian,
        number: 9,
        name: "gaussian",
        size: Size::Fixed {
            n: 3,
            m: 15,
            m_range: None,
        },
    },
    Info {
        kind: Kind::Meyer,
        number: 10,
        name: "meyer",
        size: Size::Fixed {
            n: 3,
            m: 16,
            m_range: None,
        },
    },
    Info {
        kind: Kind::Gulf,
        number: 11,
        name: "gulf",
        size: Size::Fixed {
            n: 3,
            m: 99,
            m_range: Some((3, 100)),
        },
    },
    Info {
        kind: Kind::Box3d,
        number: 12,
        name: "box-3d",
        size: Size::Fixed {
            n: 3,
            m: 10,
            m_range: Some((3, 10_000)),
        },
    },
    Info {
        kind: Kind::PowellSingular,
        number: 13,
        name: "powell-singular",
        size: Size::Fixed {
            n: 4,
            m: 4,
            m_range: None,
        },
    },
    Info {
        kind: Kind::Wood,
        number: 14,
        name: "wood",
        size: Size::Fixed {
            n: 4,
            m: 6,
            m_range: None,
        },
    },
    Info {
        kind: Kind::KowalikOsborne,
        number: 15,
        name: "kowalik-osborne",
        size: Size::Fixed {
            n: 4,
            m: 11,
            m_range: None,
        },
    },
    Info {
        kind: Kind::BrownDennis,
        number: 16,
        name: "brown-dennis",
        size: Size::Fixed {
            n: 4,
            m: 20,
            m_range: Some((4, 10_000)),
        },
    },
    Info {
        kind: Kind::Osborne1,
        number: 17,
        name: "osborne1",
        size: Size::Fixed {
            n: 5,
            m: 33,
            m_range: None,
        },
    },
    Info {
        kind: Kind::BiggsExp6,
        number: 18,
        name: "biggs-exp6",
        size: Size::Fixed {
            n: 6,
            m: 13,
            m_range: Some((6, 10_000)),
        },
    },
    Info {
        kind: Kind::Osborne2,
        number: 19,
        name: "osborne2",
        size: Size::Fixed {
            n: 11,
            m: 65,
            m_range: None,
        },
    },
    Info {
        kind: Kind::Watson,
        number: 20,
        name: "watson",
        size: Size::Scalable { n_default: 6 },
    },
    Info {
        kind: Kind::ExtendedRosenbrock,
        number: 21,
        name: "extended-rosenbrock",
        size: Size::Scalable { n_default: 100 },
    },
    Info {
        kind: Kind::ExtendedPowell,
        number: 22,
        name: "extended-powell",
        size: Size::Scalable { n_default: 100 },
    },
    Info {
        kind: Kind::Penalty1,
        number: 23,
        name: "penalty1",
        size: Size::Scalable { n_default: 10 },
    },
    Info {
        kind: Kind::Penalty2,
        number: 24,
        name: "penalty2",
        size: Size::Scalable { n_default: 10 },
    },
    Info {
        kind: Kind::VariablyDimensioned,
        number: 25,
        name: "variably-dimensioned",
        size: Size::Scalable { n_default: 10 },
    },
    Info {
        kind: Kind::Trigonometric,
        number: 26,
        name: "trigonometric",
        size: Size::Scalable { n_default: 10 },
    },
    Info {
        kind: Kind::BrownAlmostLinear,
        number: 27,
        name: "brown-almost-linear",
        size: Size::Scalable { n_default: 10 },
    },
    Info {
        kind: Kind::DiscreteBoundary,
        number: 28,
        name: "discrete-boundary",
        size: Size::Scalable { n_default: 10 },
    },
    Info {
        kind: Kind::DiscreteIntegral,
        number: 29,
        name: "discrete-integral",
        size: Size::Scalable { n_default: 10 },
    },
    Info {
        kind: Kind::BroydenTridiagonal,
        number: 30,
        name: "broyden-tridiagonal",
        size: Size::Scalable { n_default: 10 },
    },
    Info {
        kind: Kind::BroydenBanded,
        number: 31,
        name: "broyden-banded",
        size: Size::Scalable { n_default: 10 },
    },
    Info {
        kind: Kind::LinearFullRank,
        number: 32,
        name: "linear-full-rank",
        size: Size::Scalable { n_default: 10 },
    },
    Info {
        kind: Kind::LinearRank1,
        number: 33,
        name: "linear-rank1",
        size: Size::Scalable { n_default: 10 },
    },
    Info {
        kind: Kind::LinearRank1Zero,
        number: 34,
        name: "linear-rank1-zero",
        size: Size::Scalable { n_default: 10 },
    },
    Info {
        kind: Kind::Chebyquad,
        number: 35,
        name: "chebyquad",
        size: Size::Scalable { n_default: 8 },
    },
];

/// All problem names, in the paper's order.
pub fn names() -> Vec<&'static str> {
    TABLE.iter().map(|i| i.name).collect()
}

/// The 38 instances of the usual benchmark: every problem at n = 10 or its fixed size,
/// plus Watson n = 6 and 9, extended Rosenbrock n = 100 and 1000, extended Powell n = 100
/// and Chebyquad n = 8 and 9.
pub fn benchmark_instances() -> Vec<String> {
    let mut v = Vec::new();
    for info in TABLE {
        match info.kind {
            Kind::Watson => v.extend(["watson:6".into(), "watson:9".into()]),
            Kind::ExtendedRosenbrock => v.extend([
                "extended-rosenbrock:100".into(),
                "extended-rosenbrock:1000".into(),
            ]),
            Kind::ExtendedPowell => v.push("extended-powell:100".into()),
            Kind::Chebyquad => v.extend(["chebyquad:8".into(), "chebyquad:9".into()]),
            _ => v.push(info.name.to_string()),
        }
    }
    v
}

/// One instance: a problem with its n and m.
#[derive(Clone, Debug)]
pub struct MghProblem {
    /// Which problem.
    pub kind: Kind,
    /// Number in the paper (1–35).
    pub number: u32,
    /// Command-line name.
    pub name: &'static str,
    /// Variables.
    pub n: usize,
    /// Residuals.
    pub m: usize,
}

fn parse_usize(s: &str, what: &str, spec: &str) -> Result<usize> {
    s.parse::<usize>().map_err(|_| {
        Error::Parse(format!(
            "problem '{spec}': {what} '{s}' is not a positive integer"
        ))
    })
}

impl MghProblem {
    /// Parses `NAME[:N[:M]]`.
    pub fn parse(spec: &str) -> Result<Self> {
        let mut parts = spec.split(':');
        let name = parts.next().unwrap_or("");
        let n = parts
            .next()
            .map(|s| parse_usize(s, "N", spec))
            .transpose()?;
        let m = parts
            .next()
            .map(|s| parse_usize(s, "M", spec))
            .transpose()?;
        if parts.next().is_some() {
            return Err(Error::Parse(format!(
                "problem '{spec}': expected NAME[:N[:M]]"
            )));
        }
        Self::new(name, n, m)
    }

    /// The problem `name` with dimension `n` and residual count `m` (defaults if `None`).
    pub fn new(name: &str, n: Option<usize>, m: Option<usize>) -> Result<Self> {
        let info = TABLE
            .iter()
            .find(|i| i.name == name)
            .ok_or_else(|| Error::Unknown {
                kind: "problem",
                name: name.into(),
                hint: " (run `descent problems` for the list)".into(),
            })?;
        let bad = |why: String| Err(Error::config(format!("size of '{name}'"), why));
        let (n, m) = match info.size {
            Size::Fixed {
                n: fixed_n,
                m: fixed_m,
                m_range,
            } => {
                if let Some(req) = n {
                    if req != fixed_n {
                        return bad(format!("n is fixed at {fixed_n}, got {req}"));
                    }
                }
                let m = match (m, m_range) {
                    (None, _) => fixed_m,
                    (Some(req), Some((lo, hi))) if (lo..=hi).contains(&req) => req,
                    (Some(req), Some((lo, hi))) => {
                        return bad(format!("m must be in {lo}..={hi}, got {req}"))
                    }
                    (Some(req), None) if req == fixed_m => req,
                    (Some(req), None) => return bad(format!("m is fixed at {fixed_m}, got {req}")),
                };
                (fixed_n, m)
            }
            Size::Scalable { n_default } => {
                let n = n.unwrap_or(n_default);
                if n == 0 {
                    return bad("n must be at least 1".into());
                }
                // A method holds a few vectors of n, and residuals up to 2n of them.
                crate::resources::check_memory(
                    &format!("problem {name} with n = {n}"),
                    n as u128,
                    8,
                    6,
                )?;
                let m_default = match info.kind {
                    Kind::Watson => 31,
                    Kind::Penalty1 | Kind::VariablyDimensioned => {
                        n + if info.kind == Kind::Penalty1 { 1 } else { 2 }
                    }
                    Kind::Penalty2 => 2 * n,
                    Kind::LinearFullRank | Kind::LinearRank1 | Kind::LinearRank1Zero => 2 * n,
                    _ => n,
                };
                let m_free = matches!(
                    info.kind,
                    Kind::LinearFullRank
                        | Kind::LinearRank1
                        | Kind::LinearRank1Zero
                        | Kind::Chebyquad
                );
                let m = match m {
                    None => m_default,
                    Some(req) if m_free && req >= n => req,
                    Some(req) if m_free => {
                        return bad(format!("m must be at least n = {n}, got {req}"))
                    }
                    Some(req) if req == m_default => req,
                    Some(req) => return bad(format!("m is {m_default} for n = {n}, got {req}")),
                };
                // The residuals, their trial copy and a least-squares method's work vectors.
                crate::resources::check_memory(
                    &format!("problem {name} with m = {m} residuals"),
                    m as u128,
                    8,
                    4,
                )?;
                match info.kind {
                    Kind::Watson if !(2..=31).contains(&n) => {
                        return bad(format!("n must be in 2..=31, got {n}"))
                    }
                    Kind::ExtendedRosenbrock if !n.is_multiple_of(2) => {
                        return bad(format!("n must be even, got {n}"))
                    }
                    Kind::ExtendedPowell if !n.is_multiple_of(4) => {
                        return bad(format!("n must be a multiple of 4, got {n}"))
                    }
                    Kind::LinearRank1Zero if n < 3 => {
                        return bad(format!("n must be at least 3, got {n}"))
                    }
                    Kind::LinearRank1Zero if m < 3 => {
                        return bad(format!("m must be at least 3, got {m}"))
                    }
                    _ => {}
                }
                (n, m)
            }
        };
        Ok(MghProblem {
            kind: info.kind,
            number: info.number,
            name: info.name,
            n,
            m,
        })
    }

    /// `name:n` for scalable problems, `name` otherwise.
    pub fn label(&self) -> String {
        let info = TABLE
            .iter()
            .find(|i| i.kind == self.kind)
            .expect("in table");
        match info.size {
            Size::Scalable { .. } => format!("{}:{}", self.name, self.n),
            Size::Fixed { .. } => self.name.to_string(),
        }
    }

    /// The paper's standard starting point.
    pub fn x0(&self) -> Vec<f64> {
        let n = self.n;
        let h = 1.0 / (n as f64 + 1.0);
        match self.kind {
            Kind::Rosenbrock => vec![-1.2, 1.0],
            Kind::FreudensteinRoth => vec![0.5, -2.0],
            Kind::PowellBadlyScaled => vec![0.0, 1.0],
            Kind::BrownBadlyScaled => vec![1.0, 1.0],
            Kind::Beale => vec![1.0, 1.0],
            Kind::JennrichSampson => vec![0.3, 0.4],
            Kind::HelicalValley => vec![-1.0, 0.0, 0.0],
            Kind::Bard => vec![1.0, 1.0, 1.0],
            Kind::Gaussian => vec![0.4, 1.0, 0.0],
            Kind::Meyer => vec![0.02, 4000.0, 250.0],
            Kind::Gulf => vec![5.0, 2.5, 0.15],
            Kind::Box3d => vec![0.0, 10.0, 20.0],
            Kind::PowellSingular => vec![3.0, -1.0, 0.0, 1.0],
            Kind::Wood => vec![-3.0, -1.0, -3.0, -1.0],
            Kind::KowalikOsborne => vec![0.25, 0.39, 0.415, 0.39],
            Kind::BrownDennis => vec![25.0, 5.0, -5.0, -1.0],
            Kind::Osborne1 => vec![0.5, 1.5, -1.0, 0.01, 0.02],
            Kind::BiggsExp6 => vec![1.0, 2.0, 1.0, 1.0, 1.0, 1.0],
            Kind::Osborne2 => vec![1.3, 0.65, 0.65, 0.7, 0.6, 3.0, 5.0, 7.0, 2.0, 4.5, 5.5],
            Kind::Watson => vec![0.0; n],
            Kind::ExtendedRosenbrock => (0..n)
                .map(|i| if i % 2 == 0 { -1.2 } else { 1.0 })
                .collect(),
            Kind::ExtendedPowell => (0..n).map(|i| [3.0, -1.0, 0.0, 1.0][i % 4]).collect(),
            Kind::Penalty1 => (1..=n).map(|j| j as f64).collect(),
            Kind::Penalty2 => vec![0.5; n],
            Kind::VariablyDimensioned => (1..=n).map(|j| 1.0 - j as f64 / n as f64).collect(),
            Kind::Trigonometric => vec![1.0 / n as f64; n],
            Kind::BrownAlmostLinear => vec![0.5; n],
            Kind::DiscreteBoundary | Kind::DiscreteIntegral => (1..=n)
                .map(|j| {
                    let t = j as f64 * h;
                    t * (t - 1.0)
                })
                .collect(),
            Kind::BroydenTridiagonal | Kind::BroydenBanded => vec![-1.0; n],
            Kind::LinearFullRank | Kind::LinearRank1 | Kind::LinearRank1Zero => vec![1.0; n],
            Kind::Chebyquad => (1..=n).map(|j| j as f64 * h).collect(),
        }
    }

    /// Whether `f` is within `1e-8·max(1, |f*|)` of a published minimum (the benchmark's
    /// "reached").
    pub fn reaches_known_minimum(&self, f: f64) -> bool {
        self.known_minima()
            .iter()
            .any(|fs| f - fs <= 1e-8 * fs.abs().max(1.0))
    }

    /// Known minimum values from the paper (and later literature), lowest first. A run has
    /// found a minimum when it gets within 1e-8·max(1, |f*|) of one of them. Empty when
    /// the instance has no published value.
    pub fn known_minima(&self) -> Vec<f64> {
        let (n, m) = (self.n as f64, self.m as f64);
        match self.kind {
            Kind::FreudensteinRoth => vec![0.0, 48.984_253_679_240_5],
            Kind::JennrichSampson if self.m == 10 => vec![124.362_182_355_4],
            Kind::JennrichSampson => vec![],
            Kind::Bard => vec![8.214_877_306_578_9e-3, 17.428_639_508_5],
            Kind::Gaussian => vec![1.127_932_769_618_9e-8],
            Kind::Meyer => vec![87.945_855_170_4],
            Kind::KowalikOsborne => vec![3.075_056_038_492_4e-4, 1.027_343_729_8e-3],
            Kind::BrownDennis if self.m == 20 => vec![85_822.201_626_356_2],
            Kind::BrownDennis => vec![],
            Kind::Osborne1 => vec![5.464_894_697_482_7e-5],
            Kind::BiggsExp6 if self.m == 13 => vec![0.0, 5.655_649_925_5e-3],
            Kind::BiggsExp6 => vec![0.0],
            Kind::Osborne2 => vec![4.013_773_629_354_5e-2],
            Kind::Watson => match self.n {
                6 => vec![2.287_670_053_552_3e-3],
                9 => vec![1.399_760_138_3e-6],
                12 => vec![4.722_381_03e-10],
                _ => vec![],
            },
            Kind::Penalty1 => match self.n {
                4 => vec![2.249_978_282_00e-5],
                10 => vec![7.087_651_467_090_4e-5],
                _ => vec![],
            },
            Kind::Penalty2 => match self.n {
                4 => vec![9.376_293_201_24e-6],
                10 => vec![2.936_605_374_2e-4],
                _ => vec![],
            },
            Kind::Trigonometric => vec![0.0, 2.795_056_121_876_6e-5],
            Kind::BrownAlmostLinear => vec![0.0, 1.0],
            Kind::LinearFullRank => vec![m - n],
            Kind::LinearRank1 => vec![m * (m - 1.0) / (2.0 * (2.0 * m + 1.0))],
            Kind::LinearRank1Zero => vec![(m * m + 3.0 * m - 6.0) / (2.0 * (2.0 * m - 3.0))],
            Kind::Chebyquad => match self.n {
                1..=7 | 9 => vec![0.0],
                8 => vec![3.516_873_725_677_3e-3],
                10 => vec![6.503_951_520_3e-3],
                _ => vec![],
            },
            _ => vec![0.0],
        }
    }

    /// The lowest known minimum, if published.
    pub fn f_star(&self) -> Option<f64> {
        self.known_minima().first().copied()
    }

    /// Block structure of separable problems: (variables per block, residuals per block,
    /// the problem each block is).
    fn blocks(&self) -> Option<(usize, usize, Kind)> {
        match self.kind {
            Kind::ExtendedRosenbrock => Some((2, 2, Kind::Rosenbrock)),
            Kind::ExtendedPowell => Some((4, 4, Kind::PowellSingular)),
            _ => None,
        }
    }

    /// Evaluates the residuals in any [`Scalar`] type.
    pub fn eval<T: Scalar>(&self, x: &[T], r: &mut [T]) {
        if let Some((b, rb, base)) = self.blocks() {
            for (xb, r_blk) in x.chunks(b).zip(r.chunks_mut(rb)) {
                residuals(base, xb, r_blk);
            }
        } else {
            residuals(self.kind, x, r);
        }
    }

    /// The pieces that differentiation works on: (variable range, residual range) pairs.
    fn pieces(&self) -> Vec<(std::ops::Range<usize>, std::ops::Range<usize>, Kind)> {
        match self.blocks() {
            Some((b, rb, base)) => (0..self.n / b)
                .map(|k| (k * b..(k + 1) * b, k * rb..(k + 1) * rb, base))
                .collect(),
            None => vec![(0..self.n, 0..self.m, self.kind)],
        }
    }
}

fn c<T: Scalar>(v: f64) -> T {
    T::cst(v)
}

const BARD_Y: [f64; 15] = [
    0.14, 0.18, 0.22, 0.25, 0.29, 0.32, 0.35, 0.39, 0.37, 0.58, 0.73, 0.96, 1.34, 2.10, 4.39,
];
const GAUSSIAN_Y: [f64; 15] = [
    0.0009, 0.0044, 0.0175, 0.0540, 0.1295, 0.2420, 0.3521, 0.3989, 0.3521, 0.2420, 0.1295, 0.0540,
    0.0175, 0.0044, 0.0009,
];
const MEYER_Y: [f64; 16] = [
    34780.0, 28610.0, 23650.0, 19630.0, 16370.0, 13720.0, 11540.0, 9744.0, 8261.0, 7030.0, 6005.0,
    5147.0, 4427.0, 3820.0, 3307.0, 2872.0,
];
const KOWALIK_Y: [f64; 11] = [
    0.1957, 0.1947, 0.1735, 0.1600, 0.0844, 0.0627, 0.0456, 0.0342, 0.0323, 0.0235, 0.0246,
];
const KOWALIK_U: [f64; 11] = [
    4.0, 2.0, 1.0, 0.5, 0.25, 0.167, 0.125, 0.1, 0.0833, 0.0714, 0.0625,
];
const OSBORNE1_Y: [f64; 33] = [
    0.844, 0.908, 0.932, 0.936, 0.925, 0.908, 0.881, 0.850, 0.818, 0.784, 0.751, 0.718, 0.685,
    0.658, 0.628, 0.603, 0.580, 0.558, 0.538, 0.522, 0.506, 0.490, 0.478, 0.467, 0.457, 0.448,
    0.438, 0.431, 0.424, 0.420, 0.414, 0.411, 0.406,
];
const OSBORNE2_Y: [f64; 65] = [
    1.366, 1.191, 1.112, 1.013, 0.991, 0.885, 0.831, 0.847, 0.786, 0.725, 0.746, 0.679, 0.608,
    0.655, 0.616, 0.606, 0.602, 0.626, 0.651, 0.724, 0.649, 0.649, 0.694, 0.644, 0.624, 0.661,
    0.612, 0.558, 0.533, 0.495, 0.500, 0.423, 0.395, 0.375, 0.372, 0.391, 0.396, 0.405, 0.428,
    0.429, 0.523, 0.562, 0.607, 0.653, 0.672, 0.708, 0.633, 0.668, 0.645, 0.632, 0.591, 0.559,
    0.597, 0.625, 0.739, 0.710, 0.729, 0.720, 0.636, 0.581, 0.428, 0.292, 0.162, 0.098, 0.054,
];

/// The residuals fᵢ of problem `kind` (0-based indices; the paper's are 1-based).
fn residuals<T: Scalar>(kind: Kind, x: &[T], r: &mut [T]) {
    let n = x.len();
    let m = r.len();
    let one = c::<T>(1.0);
    match kind {
        Kind::Rosenbrock => Rosenbrock::residuals(x, r),
        Kind::FreudensteinRoth => {
            r[0] = c::<T>(-13.0) + x[0] + ((c::<T>(5.0) - x[1]) * x[1] - c(2.0)) * x[1];
            r[1] = c::<T>(-29.0) + x[0] + ((x[1] + one) * x[1] - c(14.0)) * x[1];
        }
        Kind::PowellBadlyScaled => {
            r[0] = c::<T>(1e4) * x[0] * x[1] - one;
            r[1] = (-x[0]).exp() + (-x[1]).exp() - c(1.0001);
        }
        Kind::BrownBadlyScaled => {
            r[0] = x[0] - c(1e6);
            r[1] = x[1] - c(2e-6);
            r[2] = x[0] * x[1] - c(2.0);
        }
        Kind::Beale => {
            let y = [1.5, 2.25, 2.625];
            for i in 0..3 {
                r[i] = c::<T>(y[i]) - x[0] * (one - x[1].powi(i as i32 + 1));
            }
        }
        Kind::JennrichSampson => {
            for (i, ri) in r.iter_mut().enumerate() {
                let k = (i + 1) as f64;
                *ri = c::<T>(2.0 + 2.0 * k) - ((c::<T>(k) * x[0]).exp() + (c::<T>(k) * x[1]).exp());
            }
        }
        Kind::HelicalValley => {
            let two_pi = 2.0 * std::f64::consts::PI;
            let theta = if x[0].re() > 0.0 {
                (x[1] / x[0]).atan() / c(two_pi)
            } else if x[0].re() < 0.0 {
                (x[1] / x[0]).atan() / c(two_pi) + c(0.5)
            } else {
                c(if x[1].re() >= 0.0 { 0.25 } else { -0.25 })
            };
            r[0] = c::<T>(10.0) * (x[2] - c::<T>(10.0) * theta);
            r[1] = c::<T>(10.0) * ((x[0].sq() + x[1].sq()).sqrt() - one);
            r[2] = x[2];
        }
        Kind::Bard => {
            for i in 0..15 {
                let u = (i + 1) as f64;
                let v = 16.0 - u;
                let w = u.min(v);
                r[i] =
                    c::<T>(BARD_Y[i]) - (x[0] + c::<T>(u) / (c::<T>(v) * x[1] + c::<T>(w) * x[2]));
            }
        }
        Kind::Gaussian => {
            for i in 0..15 {
                let t = (8.0 - (i + 1) as f64) / 2.0;
                r[i] = x[0] * (-x[1] * (c::<T>(t) - x[2]).sq() / c(2.0)).exp() - c(GAUSSIAN_Y[i]);
            }
        }
        Kind::Meyer => {
            for i in 0..16 {
                let t = 45.0 + 5.0 * (i + 1) as f64;
                r[i] = x[0] * (x[1] / (c::<T>(t) + x[2])).exp() - c(MEYER_Y[i]);
            }
        }
        Kind::Gulf => {
            for (i, ri) in r.iter_mut().enumerate() {
                let t = (i + 1) as f64 / 100.0;
                let y = 25.0 + (-50.0 * t.ln()).powf(2.0 / 3.0);
                *ri = (-(c::<T>(y) - x[1]).abs().pow(x[2]) / x[0]).exp() - c(t);
            }
        }
        Kind::Box3d => {
            for (i, ri) in r.iter_mut().enumerate() {
                let t = 0.1 * (i + 1) as f64;
                *ri = (c::<T>(-t) * x[0]).exp()
                    - (c::<T>(-t) * x[1]).exp()
                    - x[2] * c((-t).exp() - (-10.0 * t).exp());
            }
        }
        Kind::PowellSingular => PowellSingular::residuals(x, r),
        Kind::Wood => {
            r[0] = c::<T>(10.0) * (x[1] - x[0].sq());
            r[1] = one - x[0];
            r[2] = c::<T>(90f64.sqrt()) * (x[3] - x[2].sq());
            r[3] = one - x[2];
            r[4] = c::<T>(10f64.sqrt()) * (x[1] + x[3] - c(2.0));
            r[5] = (x[1] - x[3]) / c(10f64.sqrt());
        }
        Kind::KowalikOsborne => {
            for i in 0..11 {
                let u = KOWALIK_U[i];
                let num = c::<T>(u * u) + c::<T>(u) * x[1];
                let den = c::<T>(u * u) + c::<T>(u) * x[2] + x[3];
                r[i] = c::<T>(KOWALIK_Y[i]) - x[0] * num / den;
            }
        }
        Kind::BrownDennis => {
            for (i, ri) in r.iter_mut().enumerate() {
                let t = (i + 1) as f64 / 5.0;
                let a = x[0] + c::<T>(t) * x[1] - c(t.exp());
                let b = x[2] + x[3] * c(t.sin()) - c(t.cos());
                *ri = a.sq() + b.sq();
            }
        }
        Kind::Osborne1 => {
            for i in 0..33 {
                let t = 10.0 * i as f64;
                r[i] = c::<T>(OSBORNE1_Y[i])
                    - (x[0] + x[1] * (c::<T>(-t) * x[3]).exp() + x[2] * (c::<T>(-t) * x[4]).exp());
            }
        }
        Kind::BiggsExp6 => {
            for (i, ri) in r.iter_mut().enumerate() {
                let t = 0.1 * (i + 1) as f64;
                let y = (-t).exp() - 5.0 * (-10.0 * t).exp() + 3.0 * (-4.0 * t).exp();
                *ri = x[2] * (c::<T>(-t) * x[0]).exp() - x[3] * (c::<T>(-t) * x[1]).exp()
                    + x[5] * (c::<T>(-t) * x[4]).exp()
                    - c(y);
            }
        }
        Kind::Osborne2 => {
            for i in 0..65 {
                let t = i as f64 / 10.0;
                let tt = c::<T>(t);
                let model = x[0] * (-tt * x[4]).exp()
                    + x[1] * (-(tt - x[8]).sq() * x[5]).exp()
                    + x[2] * (-(tt - x[9]).sq() * x[6]).exp()
                    + x[3] * (-(tt - x[10]).sq() * x[7]).exp();
                r[i] = c::<T>(OSBORNE2_Y[i]) - model;
            }
        }
        Kind::Watson => {
            for (i, ri) in r.iter_mut().enumerate().take(29) {
                let t = (i + 1) as f64 / 29.0;
                let mut s1 = c::<T>(0.0);
                let mut tp = 1.0; // t^(j-2) for j = 2
                for (j, xj) in x.iter().enumerate().skip(1) {
                    s1 = s1 + c::<T>(j as f64 * tp) * *xj;
                    tp *= t;
                }
                let mut s2 = c::<T>(0.0);
                let mut tp = 1.0;
                for xj in x.iter() {
                    s2 = s2 + c::<T>(tp) * *xj;
                    tp *= t;
                }
                *ri = s1 - s2.sq() - one;
            }
            r[29] = x[0];
            r[30] = x[1] - x[0].sq() - one;
        }
        Kind::ExtendedRosenbrock | Kind::ExtendedPowell => {
            unreachable!("block-separable problems are evaluated block by block")
        }
        Kind::Penalty1 => {
            let sa = c::<T>(1e-5f64.sqrt());
            let mut s = c::<T>(0.0);
            for i in 0..n {
                r[i] = sa * (x[i] - one);
                s = s + x[i].sq();
            }
            r[n] = s - c(0.25);
        }
        Kind::Penalty2 => {
            let sa = c::<T>(1e-5f64.sqrt());
            let e = |v: T| (v / c(10.0)).exp();
            r[0] = x[0] - c(0.2);
            for i in 1..n {
                let k = (i + 1) as f64;
                let y = (k / 10.0).exp() + ((k - 1.0) / 10.0).exp();
                r[i] = sa * (e(x[i]) + e(x[i - 1]) - c(y));
            }
            for i in n..2 * n - 1 {
                r[i] = sa * (e(x[i - n + 1]) - c((-0.1f64).exp()));
            }
            let mut s = c::<T>(0.0);
            for (j, xj) in x.iter().enumerate() {
                s = s + c::<T>((n - j) as f64) * xj.sq();
            }
            r[2 * n - 1] = s - one;
        }
        Kind::VariablyDimensioned => {
            let mut s = c::<T>(0.0);
            for j in 0..n {
                r[j] = x[j] - one;
                s = s + c::<T>((j + 1) as f64) * (x[j] - one);
            }
            r[n] = s;
            r[n + 1] = s.sq();
        }
        Kind::Trigonometric => {
            let mut sc = c::<T>(0.0);
            for xj in x {
                sc = sc + xj.cos();
            }
            for i in 0..n {
                r[i] = c::<T>(n as f64) - sc + c::<T>((i + 1) as f64) * (one - x[i].cos())
                    - x[i].sin();
            }
        }
        Kind::BrownAlmostLinear => {
            let mut s = c::<T>(0.0);
            let mut p = one;
            for xj in x {
                s = s + *xj;
                p = p * *xj;
            }
            for i in 0..n - 1 {
                r[i] = x[i] + s - c((n + 1) as f64);
            }
            r[n - 1] = p - one;
        }
        Kind::DiscreteBoundary => {
            let h = 1.0 / (n as f64 + 1.0);
            for i in 0..n {
                let t = (i + 1) as f64 * h;
                let prev = if i > 0 { x[i - 1] } else { c(0.0) };
                let next = if i + 1 < n { x[i + 1] } else { c(0.0) };
                r[i] = c::<T>(2.0) * x[i] - prev - next
                    + c::<T>(h * h / 2.0) * (x[i] + c(t + 1.0)).powi(3);
            }
        }
        Kind::DiscreteIntegral => {
            let h = 1.0 / (n as f64 + 1.0);
            let t: Vec<f64> = (1..=n).map(|j| j as f64 * h).collect();
            let cube: Vec<T> = (0..n).map(|j| (x[j] + c(t[j] + 1.0)).powi(3)).collect();
            // Prefix sums of tⱼ·cubeⱼ and suffix sums of (1 − tⱼ)·cubeⱼ: O(n) per evaluation.
            let mut prefix = vec![c::<T>(0.0); n];
            let mut acc = c::<T>(0.0);
            for j in 0..n {
                acc = acc + c::<T>(t[j]) * cube[j];
                prefix[j] = acc;
            }
            let mut suffix = vec![c::<T>(0.0); n + 1];
            for j in (0..n).rev() {
                suffix[j] = suffix[j + 1] + c::<T>(1.0 - t[j]) * cube[j];
            }
            for i in 0..n {
                r[i] = x[i]
                    + c::<T>(h / 2.0)
                        * (c::<T>(1.0 - t[i]) * prefix[i] + c::<T>(t[i]) * suffix[i + 1]);
            }
        }
        Kind::BroydenTridiagonal => {
            for i in 0..n {
                let prev = if i > 0 { x[i - 1] } else { c(0.0) };
                let next = if i + 1 < n { x[i + 1] } else { c(0.0) };
                r[i] = (c::<T>(3.0) - c::<T>(2.0) * x[i]) * x[i] - prev - c::<T>(2.0) * next + one;
            }
        }
        Kind::BroydenBanded => {
            for i in 0..n {
                let lo = i.saturating_sub(5);
                let hi = (i + 1).min(n - 1);
                let mut s = c::<T>(0.0);
                for (j, xj) in x.iter().enumerate().take(hi + 1).skip(lo) {
                    if j != i {
                        s = s + *xj * (one + *xj);
                    }
                }
                r[i] = x[i] * (c::<T>(2.0) + c::<T>(5.0) * x[i].sq()) + one - s;
            }
        }
        Kind::LinearFullRank => {
            let mut s = c::<T>(0.0);
            for xj in x {
                s = s + *xj;
            }
            let t = c::<T>(2.0 / m as f64) * s + one;
            for (i, ri) in r.iter_mut().enumerate() {
                *ri = if i < n { x[i] - t } else { -t };
            }
        }
        Kind::LinearRank1 => {
            let mut s = c::<T>(0.0);
            for (j, xj) in x.iter().enumerate() {
                s = s + c::<T>((j + 1) as f64) * *xj;
            }
            for (i, ri) in r.iter_mut().enumerate() {
                *ri = c::<T>((i + 1) as f64) * s - one;
            }
        }
        Kind::LinearRank1Zero => {
            let mut s = c::<T>(0.0);
            for (j, xj) in x.iter().enumerate().take(n - 1).skip(1) {
                s = s + c::<T>((j + 1) as f64) * *xj;
            }
            for (i, ri) in r.iter_mut().enumerate() {
                *ri = if i == 0 || i == m - 1 {
                    -one
                } else {
                    c::<T>(i as f64) * s - one
                };
            }
        }
        Kind::Chebyquad => {
            for ri in r.iter_mut() {
                *ri = c(0.0);
            }
            for xj in x {
                let y = c::<T>(2.0) * *xj - one;
                let (mut t_prev, mut t_cur) = (one, y);
                for ri in r.iter_mut() {
                    *ri = *ri + t_cur;
                    let t_next = c::<T>(2.0) * y * t_cur - t_prev;
                    t_prev = t_cur;
                    t_cur = t_next;
                }
            }
            for (i, ri) in r.iter_mut().enumerate() {
                let k = (i + 1) as f64;
                let integral = if (i + 1) % 2 == 0 {
                    -1.0 / (k * k - 1.0)
                } else {
                    0.0
                };
                *ri = *ri / c(n as f64) - c(integral);
            }
        }
    }
}

impl LeastSquares for MghProblem {
    fn dim(&self) -> usize {
        self.n
    }
    fn residual_count(&self) -> usize {
        self.m
    }
    fn residuals(&self, x: &[f64], r: &mut [f64]) {
        self.eval(x, r);
    }
    fn jacobian(&self, x: &[f64], j: &mut DenseMatrix) {
        j.data.iter_mut().for_each(|v| *v = 0.0);
        for (vars, res, kind) in self.pieces() {
            let mut xd: Vec<Dual> = x[vars.clone()].iter().map(|v| Dual::cst(*v)).collect();
            let mut rd = vec![Dual::cst(0.0); res.len()];
            for (local, col) in vars.clone().enumerate() {
                xd[local].d = 1.0;
                residuals_piece(self, kind, &xd, &mut rd);
                xd[local].d = 0.0;
                for (k, row) in res.clone().enumerate() {
                    j.set(row, col, rd[k].d);
                }
            }
        }
    }
}

/// Largest block of a block-separable problem (Extended Powell's 4).
const MAX_BLOCK: usize = 4;

/// Blocks per parallel chunk; below two chunks the sum runs on one thread.
const BLOCKS_PER_CHUNK: usize = 1 << 14;

/// Σ over blocks of `b` variables of `block(x_block, g_block)` (each block writes its
/// part of the gradient when `g` is not empty). Large problems run in parallel, in fixed
/// chunks whose partial sums are added in order, so the value does not depend on the
/// threads.
fn block_sum(
    x: &[f64],
    b: usize,
    g: &mut [f64],
    block: impl Fn(&[f64], &mut [f64]) -> f64 + Sync,
) -> f64 {
    use rayon::prelude::*;
    let chunk = b * BLOCKS_PER_CHUNK;
    let run = |xc: &[f64], gc: &mut [f64]| -> f64 {
        let mut f = 0.0;
        if gc.is_empty() {
            for xb in xc.chunks(b) {
                f += block(xb, &mut []);
            }
        } else {
            for (xb, gb) in xc.chunks(b).zip(gc.chunks_mut(b)) {
                f += block(xb, gb);
            }
        }
        f
    };
    if x.len() < 2 * chunk {
        return run(x, g);
    }
    let partial: Vec<f64> = if g.is_empty() {
        x.par_chunks(chunk).map(|xc| run(xc, &mut [])).collect()
    } else {
        x.par_chunks(chunk)
            .zip(g.par_chunks_mut(chunk))
            .map(|(xc, gc)| run(xc, gc))
            .collect()
    };
    partial.iter().sum()
}

/// The block of a block-separable problem: `B` variables, `RB` residuals, one code for
/// every [`Scalar`] type, so that the whole sum compiles into one loop.
trait Block {
    const VARIABLES: usize;
    const RESIDUALS: usize;
    fn residuals<T: Scalar>(x: &[T], r: &mut [T]);
    /// `‖r‖²` of the block and its gradient, by forward mode (one dual evaluation per
    /// variable). A block may give it in closed form instead, operation for operation as
    /// the dual numbers compute it, so that values do not depend on which runs (tested).
    #[inline(always)]
    fn value_grad(x: &[f64], g: &mut [f64]) -> f64 {
        forward_value_grad::<Self>(x, g)
    }
}

/// [`Block::value_grad`] by forward mode.
#[inline(always)]
fn forward_value_grad<K: Block + ?Sized>(xb: &[f64], gb: &mut [f64]) -> f64 {
    let (b, rb) = (K::VARIABLES, K::RESIDUALS);
    let mut xd = [Dual::cst(0.0); MAX_BLOCK];
    let mut rd = [Dual::cst(0.0); MAX_BLOCK];
    for (d, v) in xd.iter_mut().zip(xb) {
        *d = Dual::cst(*v);
    }
    let mut f = 0.0;
    for local in 0..b {
        xd[local].d = 1.0;
        K::residuals(&xd[..b], &mut rd[..rb]);
        xd[local].d = 0.0;
        gb[local] = 2.0 * rd[..rb].iter().map(|r| r.v * r.d).sum::<f64>();
        f = rd[..rb].iter().map(|r| r.v * r.v).sum::<f64>();
    }
    f
}

/// Rosenbrock's function, the block of Extended Rosenbrock.
struct Rosenbrock;

impl Block for Rosenbrock {
    const VARIABLES: usize = 2;
    const RESIDUALS: usize = 2;
    #[inline(always)]
    fn residuals<T: Scalar>(x: &[T], r: &mut [T]) {
        r[0] = c::<T>(10.0) * (x[1] - x[0].sq());
        r[1] = c::<T>(1.0) - x[0];
    }
    /// With `r₁ = 10(x₂ − x₁²)`, `r₂ = 1 − x₁`: `∂/∂x₁ = 2(r₁·10(−2x₁) − r₂)`,
    /// `∂/∂x₂ = 2(r₁·10)`, in the dual numbers' order of operations.
    #[inline(always)]
    fn value_grad(x: &[f64], g: &mut [f64]) -> f64 {
        let (x1, x2) = (x[0], x[1]);
        let r1 = 10.0 * (x2 - x1 * x1);
        let r2 = 1.0 - x1;
        g[0] = 2.0 * (r1 * (10.0 * -(x1 + x1)) - r2);
        g[1] = 2.0 * (r1 * 10.0);
        r1 * r1 + r2 * r2
    }
}

/// Powell's singular function, the block of Extended Powell.
struct PowellSingular;

impl Block for PowellSingular {
    const VARIABLES: usize = 4;
    const RESIDUALS: usize = 4;
    #[inline(always)]
    fn residuals<T: Scalar>(x: &[T], r: &mut [T]) {
        r[0] = x[0] + c::<T>(10.0) * x[1];
        r[1] = c::<T>(5f64.sqrt()) * (x[2] - x[3]);
        r[2] = (x[1] - c::<T>(2.0) * x[2]).sq();
        r[3] = c::<T>(10f64.sqrt()) * (x[0] - x[3]).sq();
    }
}

/// Σ‖r(block)‖² over the blocks of `x`.
fn separable_value<K: Block>(x: &[f64]) -> f64 {
    block_sum(x, K::VARIABLES, &mut [], |xb, _| {
        let mut r = [0.0; MAX_BLOCK];
        K::residuals(xb, &mut r[..K::RESIDUALS]);
        r[..K::RESIDUALS].iter().map(|v| v * v).sum()
    })
}

/// The value and gradient, block by block on the stack ([`Block::value_grad`]).
fn separable_value_grad<K: Block>(x: &[f64], g: &mut [f64]) -> f64 {
    block_sum(x, K::VARIABLES, g, K::value_grad)
}

/// Evaluates one differentiation piece (the whole problem, or one block).
fn residuals_piece<T: Scalar>(p: &MghProblem, kind: Kind, x: &[T], r: &mut [T]) {
    if p.blocks().is_some() {
        residuals(kind, x, r);
    } else {
        p.eval(x, r);
    }
}

impl Objective for MghProblem {
    fn dim(&self) -> usize {
        self.n
    }
    fn lower_bound(&self) -> Option<f64> {
        Some(0.0)
    }
    fn value(&self, x: &[f64]) -> f64 {
        match self.kind {
            Kind::ExtendedRosenbrock => return separable_value::<Rosenbrock>(x),
            Kind::ExtendedPowell => return separable_value::<PowellSingular>(x),
            _ => {}
        }
        let mut r = vec![0.0; self.m];
        self.eval(x, &mut r);
        r.iter().map(|v| v * v).sum()
    }
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        match self.kind {
            Kind::ExtendedRosenbrock => return separable_value_grad::<Rosenbrock>(x, g),
            Kind::ExtendedPowell => return separable_value_grad::<PowellSingular>(x, g),
            _ => {}
        }
        let mut f = 0.0;
        for (vars, res, kind) in self.pieces() {
            let mut xd: Vec<Dual> = x[vars.clone()].iter().map(|v| Dual::cst(*v)).collect();
            let mut rd = vec![Dual::cst(0.0); res.len()];
            for (local, col) in vars.clone().enumerate() {
                xd[local].d = 1.0;
                residuals_piece(self, kind, &xd, &mut rd);
                xd[local].d = 0.0;
                g[col] = 2.0 * rd.iter().map(|r| r.v * r.d).sum::<f64>();
            }
            if vars.is_empty() {
                continue;
            }
            f += rd.iter().map(|r| r.v * r.v).sum::<f64>();
        }
        f
    }
    fn has_exact_hessian(&self) -> bool {
        true
    }
    fn hessian(&self, x: &[f64], h: &mut DenseMatrix) {
        h.data.iter_mut().for_each(|v| *v = 0.0);
        for (vars, res, kind) in self.pieces() {
            let base: Vec<HyperDual> = x[vars.clone()].iter().map(|v| HyperDual::cst(*v)).collect();
            let mut rd = vec![HyperDual::cst(0.0); res.len()];
            let len = vars.len();
            for a in 0..len {
                for b in a..len {
                    let mut xd = base.clone();
                    xd[a].a = 1.0;
                    xd[b].b = 1.0;
                    residuals_piece(self, kind, &xd, &mut rd);
                    let v: f64 = rd.iter().map(|r| 2.0 * (r.a * r.b + r.v * r.ab)).sum();
                    h.set(vars.start + a, vars.start + b, v);
                    h.set(vars.start + b, vars.start + a, v);
                }
            }
        }
    }
    fn hess_vec(&self, x: &[f64], v: &[f64], out: &mut [f64]) {
        for (vars, res, kind) in self.pieces() {
            let mut xd: Vec<HyperDual> = vars
                .clone()
                .map(|i| HyperDual::new(x[i], 0.0, v[i]))
                .collect();
            let mut rd = vec![HyperDual::cst(0.0); res.len()];
            for (local, col) in vars.clone().enumerate() {
                xd[local].a = 1.0;
                residuals_piece(self, kind, &xd, &mut rd);
                xd[local].a = 0.0;
                out[col] = rd.iter().map(|r| 2.0 * (r.a * r.b + r.v * r.ab)).sum();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Closed-form block gradients agree with forward mode to the last bit (up to the sign
    /// of an exact zero), so that which one runs changes no result.
    #[test]
    #[allow(clippy::float_cmp)] // exact agreement is the claim
    fn closed_form_blocks_follow_forward_mode_exactly() {
        let mut state = 0x9e3779b97f4a7c15u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let unit = (state >> 11) as f64 / (1u64 << 53) as f64;
            // Spread over magnitudes 1e-6 to 1e6, both signs.
            (unit - 0.5) * 10f64.powf(12.0 * ((state >> 3) % 1000) as f64 / 1000.0 - 6.0)
        };
        for _ in 0..100_000 {
            let x = [next(), next()];
            let (mut closed, mut forward) = ([0.0; 2], [0.0; 2]);
            let f_closed = Rosenbrock::value_grad(&x, &mut closed);
            let f_forward = forward_value_grad::<Rosenbrock>(&x, &mut forward);
            assert_eq!(f_closed, f_forward, "value at {x:?}");
            assert_eq!(closed, forward, "gradient at {x:?}");
        }
    }
}
