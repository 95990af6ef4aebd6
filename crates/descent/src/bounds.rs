//! Box constraints `l ≤ x ≤ u`, either side possibly infinite: parsing, checking,
//! projection, the projected gradient and the active set — what every bounded method
//! shares (L-BFGS-B, the projected step rules, bounded least squares).

use crate::error::{Error, Result};
use crate::linalg::{CHUNK, PARALLEL_LEN};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Lower and upper bounds per variable. Built only through [`Bounds::new`] (or
/// [`Bounds::parse`]), which refuses NaN and `l > u`, so a `Bounds` is always a non-empty
/// box.
#[derive(Clone, Debug, PartialEq)]
pub struct Bounds {
    // Shared, not copied, by every holder of the box (the caller, the method, its
    // state): at ten million variables each copy of the pair is 160 MB.
    lower: Arc<[f64]>,
    upper: Arc<[f64]>,
}

impl Bounds {
    /// The box `lower ≤ x ≤ upper`. Refuses different lengths, NaN, `+inf` as a lower or
    /// `−inf` as an upper bound, and `l > u`, naming the variable (counted from 1).
    pub fn new(lower: Vec<f64>, upper: Vec<f64>) -> Result<Self> {
        if lower.len() != upper.len() {
            return Err(Error::DimensionMismatch {
                what: "upper bounds".into(),
                expected: lower.len(),
                got: upper.len(),
            });
        }
        for (i, (&l, &u)) in lower.iter().zip(&upper).enumerate() {
            let var = i + 1;
            if l.is_nan() || u.is_nan() {
                return Err(Error::config(
                    "bounds",
                    format!("variable {var} has a NaN bound"),
                ));
            }
            if l == f64::INFINITY || u == f64::NEG_INFINITY {
                return Err(Error::config(
                    "bounds",
                    format!("variable {var} has the empty range {l}:{u}"),
                ));
            }
            if l > u {
                return Err(Error::config(
                    "bounds",
                    format!("variable {var} has lower bound {l} above its upper bound {u}"),
                ));
            }
        }
        Ok(Bounds {
            lower: lower.into(),
            upper: upper.into(),
        })
    }

    /// The same range `[lo, hi]` for all `n` variables.
    pub fn uniform(n: usize, lo: f64, hi: f64) -> Result<Self> {
        Bounds::new(vec![lo; n], vec![hi; n])
    }

    /// No bounds at all (every variable free), for `n` variables.
    pub fn unbounded(n: usize) -> Self {
        Bounds {
            lower: vec![f64::NEG_INFINITY; n].into(),
            upper: vec![f64::INFINITY; n].into(),
        }
    }

    /// The box a method keeps to on `n` variables: `bounds`, checked against `n`, or none
    /// at all.
    pub fn for_dim(bounds: Option<&Bounds>, n: usize) -> Result<Self> {
        match bounds {
            None => Ok(Bounds::unbounded(n)),
            Some(b) if b.dim() == n => Ok(b.clone()),
            Some(b) => Err(Error::DimensionMismatch {
                what: "bounds".into(),
                expected: n,
                got: b.dim(),
            }),
        }
    }

    /// Parses `LO:HI,LO:HI,…` — one pair per variable, or a single pair for all `n` —
    /// where each side is a number, `-inf`/`inf`, or empty (no bound on that side).
    pub fn parse(text: &str, n: usize) -> Result<Self> {
        let pairs: Vec<(f64, f64)> = text
            .split(',')
            .map(|p| parse_pair(p.trim()))
            .collect::<Result<_>>()?;
        match pairs.len() {
            1 => Bounds::uniform(n, pairs[0].0, pairs[0].1),
            k if k == n => {
                let (lower, upper) = pairs.into_iter().unzip();
                Bounds::new(lower, upper)
            }
            k => Err(Error::config(
                "bounds",
                format!("{k} pairs given for {n} variables (give one pair per variable, or one for all)"),
            )),
        }
    }

    /// Parses `NAME=LO:HI,…` for the variables `names` (a fit's parameters); a name not
    /// listed is unbounded.
    pub fn parse_named(text: &str, names: &[String]) -> Result<Self> {
        let n = names.len();
        let (mut lower, mut upper) = (vec![f64::NEG_INFINITY; n], vec![f64::INFINITY; n]);
        let mut seen = vec![false; n];
        for item in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let Some((name, range)) = item.split_once('=') else {
                return Err(Error::config(
                    "bounds",
                    format!("'{item}' is not NAME=LO:HI"),
                ));
            };
            let name = name.trim();
            let Some(i) = names.iter().position(|p| p == name) else {
                return Err(Error::config(
                    "bounds",
                    format!(
                        "'{name}' is not a parameter (parameters: {})",
                        names.join(", ")
                    ),
                ));
            };
            if seen[i] {
                return Err(Error::config("bounds", format!("{name} is bounded twice")));
            }
            seen[i] = true;
            (lower[i], upper[i]) = parse_pair(range.trim())?;
        }
        Bounds::new(lower, upper).map_err(|e| match e {
            Error::InvalidConfig { why, .. } => {
                // Name the parameter, not its position.
                let why = (0..n).rev().fold(why, |w, i| {
                    w.replace(&format!("variable {}", i + 1), &names[i])
                });
                Error::config("bounds", why)
            }
            other => other,
        })
    }

    /// Number of variables.
    pub fn dim(&self) -> usize {
        self.lower.len()
    }
    /// Lower bounds.
    pub fn lower(&self) -> &[f64] {
        &self.lower
    }
    /// Upper bounds.
    pub fn upper(&self) -> &[f64] {
        &self.upper
    }
    /// Whether no variable has a finite bound.
    pub fn is_unbounded(&self) -> bool {
        self.lower.iter().all(|l| *l == f64::NEG_INFINITY)
            && self.upper.iter().all(|u| *u == f64::INFINITY)
    }
    /// Whether every variable has both bounds finite.
    pub fn is_boxed(&self) -> bool {
        self.lower.iter().all(|l| l.is_finite()) && self.upper.iter().all(|u| u.is_finite())
    }

    /// Whether `l ≤ x ≤ u` holds for every entry.
    pub fn contains(&self, x: &[f64]) -> bool {
        // A point of another dimension is not in the box (zip would have compared a part).
        x.len() == self.lower.len()
            && x.iter()
                .zip(self.lower.iter().zip(self.upper.iter()))
                .all(|(v, (l, u))| *l <= *v && *v <= *u)
    }

    /// Clamps `x` into the box.
    pub fn project(&self, x: &mut [f64]) {
        for (v, (l, u)) in x.iter_mut().zip(self.lower.iter().zip(self.upper.iter())) {
            *v = v.clamp(*l, *u);
        }
    }

    /// Moves a start outside the box onto its nearest point inside; returns the indices
    /// (from 0) that moved, for the caller to report.
    pub fn move_inside(&self, x: &mut [f64]) -> Vec<usize> {
        let before = x.to_vec();
        self.project(x);
        (0..x.len())
            .filter(|&i| x[i].to_bits() != before[i].to_bits())
            .collect()
    }

    /// The step `α ≥ 0` at which `xᵢ + α·dᵢ` reaches the bound `dᵢ` points at (∞ when it
    /// points at none, or `dᵢ = 0`).
    pub fn step_along(&self, i: usize, xi: f64, di: f64) -> f64 {
        let room = if di < 0.0 {
            self.lower[i] - xi
        } else if di > 0.0 {
            self.upper[i] - xi
        } else {
            return f64::INFINITY;
        };
        if room.is_finite() {
            (room / di).max(0.0)
        } else {
            f64::INFINITY
        }
    }

    /// The largest `α` with `x + αd` in the box (∞ when nothing limits it), for `x` in it.
    pub fn max_step(&self, x: &[f64], d: &[f64]) -> f64 {
        (0..x.len())
            .map(|i| self.step_along(i, x[i], d[i]))
            .fold(f64::INFINITY, f64::min)
    }

    /// `‖P(x − g) − x‖∞`, the projected gradient's max-norm: zero exactly at a first-order
    /// point of the bounded problem (Byrd, Lu, Nocedal & Zhu 1995, eq. 6.1, SciPy's
    /// `projgr`).
    pub fn projected_gradient_norm(&self, x: &[f64], g: &[f64]) -> f64 {
        let worst_in = |r: std::ops::Range<usize>| {
            let mut worst: f64 = 0.0;
            for i in r {
                let step = (x[i] - g[i]).clamp(self.lower[i], self.upper[i]) - x[i];
                if step.is_nan() {
                    return f64::NAN;
                }
                worst = worst.max(step.abs());
            }
            worst
        };
        if x.len() < PARALLEL_LEN {
            return worst_in(0..x.len());
        }
        // The largest of the chunks' largest: the same value, split across threads.
        use rayon::prelude::*;
        (0..x.len().div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| worst_in(c * CHUNK..((c + 1) * CHUNK).min(x.len())))
            .reduce(
                || 0.0,
                |a, b| {
                    if a.is_nan() || b.is_nan() {
                        f64::NAN
                    } else {
                        a.max(b)
                    }
                },
            )
    }

    /// The indices of the variables within `rtol·max(1, |bound|)` of a bound (SciPy's
    /// `active_mask` test, rtol 1e-10): interior-point methods (`trf`) end a hair inside.
    pub fn active_within(&self, x: &[f64], rtol: f64) -> Vec<usize> {
        let near = |v: f64, b: f64| b.is_finite() && (v - b).abs() <= rtol * b.abs().max(1.0);
        (0..x.len())
            .filter(|&i| near(x[i], self.lower[i]) || near(x[i], self.upper[i]))
            .collect()
    }

    /// The indices (from 0) of the variables that sit on one of their bounds.
    pub fn active(&self, x: &[f64]) -> Vec<usize> {
        (0..x.len())
            .filter(|&i| {
                #[allow(clippy::float_cmp)] // on a bound means exactly on it
                let at = x[i] == self.lower[i] || x[i] == self.upper[i];
                at
            })
            .collect()
    }
}

fn parse_side(text: &str, infinite: f64) -> Result<f64> {
    match text.trim().to_ascii_lowercase().as_str() {
        "" => Ok(infinite),
        "inf" | "+inf" | "infinity" | "+infinity" => Ok(f64::INFINITY),
        "-inf" | "-infinity" => Ok(f64::NEG_INFINITY),
        t => t
            .parse::<f64>()
            .ok()
            .filter(|v| !v.is_nan())
            .ok_or_else(|| Error::config("bounds", format!("'{text}' is not a number"))),
    }
}

fn parse_pair(text: &str) -> Result<(f64, f64)> {
    let Some((lo, hi)) = text.split_once(':') else {
        return Err(Error::config(
            "bounds",
            format!("'{text}' is not a LO:HI pair"),
        ));
    };
    Ok((
        parse_side(lo, f64::NEG_INFINITY)?,
        parse_side(hi, f64::INFINITY)?,
    ))
}

/// Serialized as `[[lo, hi], …]` with `null` for an infinite side (JSON has no infinity).
impl Serialize for Bounds {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let finite = |v: f64| v.is_finite().then_some(v);
        let mut seq = s.serialize_seq(Some(self.dim()))?;
        for (l, u) in self.lower.iter().zip(self.upper.iter()) {
            seq.serialize_element(&[finite(*l), finite(*u)])?;
        }
        seq.end()
    }
}

/// Read from the form [`Bounds`] is written in (checkpoints carry their bounds).
impl<'de> Deserialize<'de> for Bounds {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let pairs: Vec<[Option<f64>; 2]> = Vec::deserialize(d)?;
        let lower = pairs
            .iter()
            .map(|p| p[0].unwrap_or(f64::NEG_INFINITY))
            .collect();
        let upper = pairs
            .iter()
            .map(|p| p[1].unwrap_or(f64::INFINITY))
            .collect();
        Bounds::new(lower, upper).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pairs_infinities_and_one_pair_for_all() {
        let b = Bounds::parse("0:1,-inf:2, :inf", 3).unwrap();
        assert_eq!(b.lower(), &[0.0, f64::NEG_INFINITY, f64::NEG_INFINITY]);
        assert_eq!(b.upper(), &[1.0, 2.0, f64::INFINITY]);
        let all = Bounds::parse("-1:1", 4).unwrap();
        assert_eq!(all.dim(), 4);
        assert!(all.is_boxed());
        assert!(Bounds::parse(":", 2).unwrap().is_unbounded());
    }

    #[test]
    fn refuses_bad_bounds_naming_the_variable() {
        let msg = |t: &str, n| Bounds::parse(t, n).unwrap_err().to_string();
        assert!(
            msg("0:1,2:1", 2).contains("variable 2"),
            "{}",
            msg("0:1,2:1", 2)
        );
        assert!(msg("0:1,0:1", 3).contains("2 pairs given for 3 variables"));
        assert!(msg("nan:1", 1).contains("not a number"));
        assert!(msg("0-1", 1).contains("not a LO:HI pair"));
        assert!(msg("inf:inf", 1).contains("empty range"));
        assert!(Bounds::new(vec![f64::NAN], vec![1.0]).is_err());
    }

    #[test]
    fn projection_active_set_and_projected_gradient() {
        let b = Bounds::parse("0:1,0:1,-inf:inf", 3).unwrap();
        let mut x = vec![-0.5, 0.5, 7.0];
        assert_eq!(b.move_inside(&mut x), vec![0]);
        assert_eq!(x, vec![0.0, 0.5, 7.0]);
        assert!(b.contains(&x));
        assert_eq!(b.active(&x), vec![0]);
        // At x₁ = 0 a positive gradient points out of the box: it does not count.
        assert!(b.projected_gradient_norm(&x, &[3.0, 0.0, 0.0]).abs() < 1e-300);
        // Inside, the step to the bound limits it: P(0.5 − 2) − 0.5 = −0.5.
        assert!((b.projected_gradient_norm(&x, &[0.0, 2.0, 0.0]) - 0.5).abs() < 1e-15);
        assert!((b.projected_gradient_norm(&x, &[-1.0, 0.0, 0.25]) - 1.0).abs() < 1e-15);
    }

    #[test]
    fn named_bounds_for_a_fit() {
        let names = vec!["Vm".to_string(), "K".to_string()];
        let b = Bounds::parse_named("K=0:0.05", &names).unwrap();
        assert_eq!(b.lower(), &[f64::NEG_INFINITY, 0.0]);
        assert_eq!(b.upper(), &[f64::INFINITY, 0.05]);
        let msg = |t: &str| Bounds::parse_named(t, &names).unwrap_err().to_string();
        assert!(msg("Q=0:1").contains("'Q' is not a parameter"));
        assert!(
            msg("K=1:0").contains("K has lower bound"),
            "{}",
            msg("K=1:0")
        );
        assert!(msg("K=0:1,K=0:2").contains("twice"));
        assert!(msg("K").contains("NAME=LO:HI"));
    }

    #[test]
    fn json_has_null_for_infinite_sides() {
        let b = Bounds::parse("0:inf,-inf:2", 2).unwrap();
        let text = serde_json::to_string(&b).unwrap();
        assert_eq!(text, "[[0.0,null],[null,2.0]]");
        assert_eq!(serde_json::from_str::<Bounds>(&text).unwrap(), b);
        assert!(serde_json::from_str::<Bounds>("[[2.0,1.0]]").is_err());
    }
}
