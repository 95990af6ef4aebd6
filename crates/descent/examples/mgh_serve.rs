//! Serves a Moré–Garbow–Hillstrom problem's value and gradient over stdin/stdout, so that
//! other optimizers (SciPy: `bench/mgh_vs_scipy.py`) run on exactly the same functions.
//!
//! `cargo run --release -p descent --example mgh_serve -- NAME[:N[:M]]`: prints the start
//! point and the known minima on the first two lines; then reads one point per line
//! (space-separated) and answers `f g1 … gn`; a line `h x1 … xn` is answered with the
//! Hessian, row by row. `--list` prints the 38 benchmark instances.

use descent::problems::mgh::MghProblem;
use descent::Objective;
use std::io::{BufRead, Write};

fn main() {
    let spec = std::env::args().nth(1).expect("problem name, or --list");
    if spec == "--list" {
        for name in descent::problems::mgh::benchmark_instances() {
            println!("{name}");
        }
        return;
    }
    let p = MghProblem::parse(&spec).expect("problem");
    let out = std::io::stdout();
    let mut out = out.lock();
    let join = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:e}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    writeln!(out, "{}", join(&p.x0())).unwrap();
    writeln!(out, "{}", join(&p.known_minima())).unwrap();
    out.flush().unwrap();
    let n = p.dim();
    let mut g = vec![0.0; n];
    let mut h = descent::linalg::DenseMatrix::zeros(n, n);
    for line in std::io::stdin().lock().lines() {
        let line = line.unwrap();
        let (hessian, line) = match line.strip_prefix("h ") {
            Some(rest) => (true, rest),
            None => (false, line.as_str()),
        };
        let x: Vec<f64> = line
            .split_whitespace()
            .map(|t| t.parse().unwrap())
            .collect();
        if hessian {
            p.hessian(&x, &mut h);
            writeln!(out, "{}", join(&h.data)).unwrap();
        } else {
            let f = p.value_grad(&x, &mut g);
            writeln!(out, "{f:e} {}", join(&g)).unwrap();
        }
        out.flush().unwrap();
    }
}
