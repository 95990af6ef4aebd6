//! Runs methods over the 38 Moré–Garbow–Hillstrom benchmark instances and prints, per
//! method, how many reach a known minimum (f − f* ≤ 1e-8·max(1, |f*|)) and the median
//! number of function evaluations.
//!
//! `cargo run --release --example mgh_suite -- bfgs lbfgs cg newton` (`lbfgs:M` sets the
//! memory, `cg:BETA` the β formula; `GTOL=T` overrides the gradient tolerance).

use descent::problems::mgh::{benchmark_instances, MghProblem};
use descent::{minimize, MethodSpec, Recorder};

fn main() {
    let methods: Vec<String> = std::env::args().skip(1).collect();
    let methods = if methods.is_empty() {
        vec!["lbfgs".into(), "bfgs".into()]
    } else {
        methods
    };
    let verbose = std::env::var("VERBOSE").is_ok();
    for method in &methods {
        let mut reached = 0;
        let mut evals = Vec::new();
        let mut failed = Vec::new();
        let mut firsts = Vec::new();
        for spec in benchmark_instances() {
            let p = MghProblem::parse(&spec).expect("instance");
            // `lbfgs:M` sets the memory, `cg:BETA` the β formula.
            let (name, option) = match method.split_once(':') {
                Some((n, o)) => (n, Some(o)),
                None => (method.as_str(), None),
            };
            let mut ms = MethodSpec::new(name);
            if let Some(o) = option {
                let setting = if name == "cg" { "beta" } else { "memory" };
                ms.set(setting, o).expect("method option");
            }
            let mut m = ms.build().expect("method");
            let mut rec = Recorder::default();
            let mut o = ms.default_options();
            if let Ok(v) = std::env::var("GTOL") {
                o.gtol = v.parse().expect("GTOL");
            }
            let s = minimize(&p, m.as_mut(), &p.x0(), &o, &mut rec).expect("run");
            let first = rec
                .reports
                .iter()
                .find(|r| p.reaches_known_minimum(r.f))
                .map(|r| r.counts.f_evals)
                .unwrap_or(0);
            let ok = p.reaches_known_minimum(s.f);
            if ok {
                reached += 1;
                evals.push(s.counts.f_evals);
                firsts.push(first);
            } else {
                failed.push(format!("{spec} (f={:.6e}, {})", s.f, s.termination));
            }
            if std::env::var("TRACE").is_ok_and(|t| t == spec) {
                for r in &rec.reports {
                    println!(
                        "    it {:>4} f={:<22.15e} |g|={:<10.3e} alpha={:<10.3e} fev={}",
                        r.iter, r.f, r.grad_norm, r.alpha, r.counts.f_evals
                    );
                }
            }
            if verbose {
                println!(
                    "  {method:8} {spec:26} f={:<14.8e} it={:<5} fev={:<5} first={first:<5} {} {}",
                    s.f,
                    s.iterations,
                    s.counts.f_evals,
                    s.termination,
                    if ok { "" } else { "MISSED" }
                );
            }
        }
        evals.sort_unstable();
        let median = if evals.is_empty() {
            0
        } else {
            evals[evals.len() / 2]
        };
        firsts.sort_unstable();
        let median_first = if firsts.is_empty() {
            0
        } else {
            firsts[firsts.len() / 2]
        };
        println!("{method}: reached {reached}/38, median f evals {median} (first reaching f*: {median_first})");
        for f in failed {
            println!("    missed {f}");
        }
    }
}
