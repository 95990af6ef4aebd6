//! Synthetic data sets: two spirals, two moons, XOR, n-bit parity, Gaussian blobs, sine
//! fitting, and MATLAB's SIN and PARITY benchmark problems.

use super::dataset::{Dataset, TargetData};
use crate::error::{Error, Result};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn unif(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

fn classes(x: Vec<f64>, d: usize, labels: Vec<u32>, k: usize) -> Dataset {
    Dataset {
        x,
        d,
        targets: TargetData::Classes {
            labels,
            names: (0..k).map(|i| i.to_string()).collect(),
        },
        feature_names: vec![],
        part: None,
    }
}

/// `NAME[:N]`: `spirals` (2 classes, N points, default 400), `moons` (default 400),
/// `xor` (the 4 points), `parity` (`parity:BITS`, all 2^BITS patterns, default 4 bits),
/// `blobs` (N points, default 3000, of 10 overlapping Gaussian classes in 64 dimensions —
/// an MNIST-like task without the download), `sine` (N points of sin on [−π, π], default
/// 100, regression), `matlab-sin` (N points of sin(πx) evenly on [−1, 1], default 41: the
/// SIN problem of MATLAB's training-function benchmark), `matlab-parity` (`:BITS`, default
/// 3, one 0/1 output: its PARITY problem), `noisy-sine` (N points, default 30, of
/// sin(πx) at uniform x on [−1, 1] plus Gaussian noise of standard deviation 0.1).
pub fn synthetic(spec: &str, seed: u64) -> Result<Dataset> {
    let (name, n) =
        match spec.split_once(':') {
            Some((a, b)) => (
                a,
                Some(b.parse::<usize>().map_err(|_| {
                    Error::Parse(format!("synthetic '{spec}': '{b}' is not a count"))
                })?),
            ),
            None => (spec, None),
        };
    // A count the set cannot have is refused (it was quietly changed).
    match (name, n) {
        ("xor", Some(_)) => {
            return Err(Error::Parse(format!(
                "synthetic '{spec}': xor is its 4 points and takes no count"
            )))
        }
        ("parity" | "matlab-parity", Some(bits)) if !(1..=16).contains(&bits) => {
            return Err(Error::Parse(format!(
                "synthetic '{spec}': the number of bits must be 1 to 16"
            )))
        }
        (_, Some(points)) if points < 2 && !name.ends_with("parity") => {
            return Err(Error::Parse(format!(
                "synthetic '{spec}': needs at least 2 points"
            )))
        }
        _ => {}
    }
    // Point counts are checked against the memory they need (parity's N is its bits); blobs have 64 features, the others one or two.
    if let Some(points) = n.filter(|_| !name.ends_with("parity")) {
        let per_point = if name == "blobs" { 66 } else { 4 };
        crate::resources::check_memory(
            &format!("the synthetic set '{spec}'"),
            points as u128,
            8 * per_point,
            2,
        )?;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Ok(match name {
        "spirals" => {
            let n = n.unwrap_or(400);
            let (mut x, mut l) = (Vec::new(), Vec::new());
            for i in 0..n {
                let c = (i % 2) as u32;
                let t = (i / 2) as f64 / (n / 2) as f64 * 3.0 * std::f64::consts::PI + 0.5;
                let r = t / (3.0 * std::f64::consts::PI);
                let s = if c == 0 { 1.0 } else { -1.0 };
                x.push(s * r * t.cos() + 0.02 * (unif(&mut rng) - 0.5));
                x.push(s * r * t.sin() + 0.02 * (unif(&mut rng) - 0.5));
                l.push(c);
            }
            classes(x, 2, l, 2)
        }
        "moons" => {
            let n = n.unwrap_or(400);
            let (mut x, mut l) = (Vec::new(), Vec::new());
            for i in 0..n {
                let c = (i % 2) as u32;
                let t = std::f64::consts::PI * unif(&mut rng);
                let (px, py) = if c == 0 {
                    (t.cos(), t.sin())
                } else {
                    (1.0 - t.cos(), 0.5 - t.sin())
                };
                x.push(px + 0.1 * (unif(&mut rng) - 0.5));
                x.push(py + 0.1 * (unif(&mut rng) - 0.5));
                l.push(c);
            }
            classes(x, 2, l, 2)
        }
        "xor" => classes(
            vec![0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0],
            2,
            vec![0, 1, 1, 0],
            2,
        ),
        "parity" => {
            let bits = n.unwrap_or(4);
            let (x, l) = parity_patterns(bits);
            classes(x, bits, l, 2)
        }
        "blobs" => {
            let (n, d, k) = (n.unwrap_or(3000), 64, 10);
            let mut normal = || {
                let (u, v) = (unif(&mut rng).max(f64::MIN_POSITIVE), unif(&mut rng));
                (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
            };
            let centers: Vec<f64> = (0..k * d).map(|_| normal()).collect();
            let (mut x, mut l) = (Vec::with_capacity(n * d), Vec::with_capacity(n));
            for i in 0..n {
                let c = i % k;
                for j in 0..d {
                    x.push(centers[c * d + j] + 1.5 * normal());
                }
                l.push(c as u32);
            }
            classes(x, d, l, k)
        }
        "sine" => {
            let n = n.unwrap_or(100);
            let x: Vec<f64> = (0..n)
                .map(|i| {
                    -std::f64::consts::PI + 2.0 * std::f64::consts::PI * i as f64 / (n - 1) as f64
                })
                .collect();
            let y = x.iter().map(|v| v.sin()).collect();
            Dataset {
                x,
                d: 1,
                targets: TargetData::Values { y, k: 1 },
                feature_names: vec!["x".into()],
                part: None,
            }
        }
        "matlab-sin" => {
            // MATLAB's SIN benchmark problem: 1 input, 1 output, inputs on [−1, 1].
            let n = n.unwrap_or(41);
            let x: Vec<f64> = (0..n)
                .map(|i| -1.0 + 2.0 * i as f64 / (n - 1) as f64)
                .collect();
            values(x.iter().map(|v| (std::f64::consts::PI * v).sin()).collect(), x)
        }
        "noisy-sine" => {
            // A noisy regression: sin(πx) at uniform x on [−1, 1], plus N(0, 0.1²).
            let n = n.unwrap_or(30);
            let x: Vec<f64> = (0..n).map(|_| 2.0 * unif(&mut rng) - 1.0).collect();
            let y = x
                .iter()
                .map(|v| {
                    let (u, w) = (unif(&mut rng).max(f64::MIN_POSITIVE), unif(&mut rng));
                    let noise = (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * w).cos();
                    (std::f64::consts::PI * v).sin() + 0.1 * noise
                })
                .collect();
            values(y, x)
        }
        "matlab-parity" => {
            // MATLAB's PARITY benchmark: BITS inputs, one 0/1 output (1 for an odd count).
            let bits = n.unwrap_or(3);
            let (x, l) = parity_patterns(bits);
            let y = l.iter().map(|c| *c as f64).collect();
            Dataset {
                x,
                d: bits,
                targets: TargetData::Values { y, k: 1 },
                feature_names: (1..=bits).map(|b| format!("b{b}")).collect(),
                part: None,
            }
        }
        other => {
            return Err(Error::Unknown {
                kind: "synthetic data set",
                name: other.into(),
                hint: " (expected spirals, moons, xor, parity, blobs, sine, matlab-sin, matlab-parity, noisy-sine)".into(),
            })
        }
    })
}

/// Every pattern of `bits` bits (row by row) and its parity (1 for an odd count).
fn parity_patterns(bits: usize) -> (Vec<f64>, Vec<u32>) {
    let (mut x, mut l) = (Vec::new(), Vec::new());
    for p in 0..(1usize << bits) {
        for b in 0..bits {
            x.push(((p >> b) & 1) as f64);
        }
        l.push(p.count_ones() % 2);
    }
    (x, l)
}

/// One input `x` and one target `y`.
fn values(y: Vec<f64>, x: Vec<f64>) -> Dataset {
    Dataset {
        x,
        d: 1,
        targets: TargetData::Values { y, k: 1 },
        feature_names: vec!["x".into()],
        part: None,
    }
}
