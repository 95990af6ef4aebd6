//! descent against argmin (the peer) on the same problems: at least as accurate, with no
//! more evaluations. Time is compared in the criterion bench `compare_argmin`.

mod common;
use common::argmin_peer::{run_argmin, run_descent, ExtRosenbrock, METHODS};

#[test]
fn descent_needs_no_more_evaluations_than_argmin() {
    for n in [2, 10, 100] {
        let p = ExtRosenbrock { n };
        for method in METHODS {
            let d = run_descent(&p, method);
            let a = run_argmin(&p, method);
            println!("n={n:<4} {method:7} descent {d:?}\n             argmin  {a:?}");
            assert!(d.f <= 1e-12, "descent {method} n={n}: f = {}", d.f);
            let dw = d.cost_evals.max(d.grad_evals) + d.hess_evals;
            let aw = a.cost_evals.max(a.grad_evals) + a.hess_evals;
            if a.f <= 1e-12 {
                assert!(dw <= aw, "{method} n={n}: descent {d:?} vs argmin {a:?}");
            }
        }
    }
}
