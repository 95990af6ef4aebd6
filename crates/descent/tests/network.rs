//! The network's exact derivatives against finite differences.

use descent::nn::{Activation, Init, Loss, Mlp, Targets};
use faer::Par;

fn loss_of(net: &Mlp, p: &[f64], x: &[f64], b: usize, t: Targets<'_, f64>) -> f64 {
    let mut ws = net.workspace::<f64>(b);
    let z = net.forward(p, x, b, &mut ws, Par::Seq).to_vec();
    net.arch.loss.value_grad(&z, net.outputs(), t, None)
}

#[test]
fn backward_matches_finite_differences_for_every_activation_and_loss() {
    let b = 5;
    let x: Vec<f64> = (0..b * 3).map(|i| ((i * 7) as f64).sin()).collect();
    let labels: Vec<u32> = vec![0, 1, 3, 2, 1];
    let values: Vec<f64> = (0..b * 4)
        .map(|i| (i as f64 * 0.37).cos() * 0.5 + 0.5)
        .collect();
    for act in [
        Activation::Identity,
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Relu,
        Activation::LeakyRelu,
        Activation::Softplus,
        Activation::Elu,
        Activation::Gelu,
    ] {
        for loss in [
            Loss::SquaredError,
            Loss::CrossEntropy,
            Loss::BinaryCrossEntropy,
        ] {
            let net = Mlp::new(&[3, 6, 5, 4], &[act], loss).unwrap();
            let p = net.init_params(Init::GlorotUniform, 3);
            let t = match loss {
                Loss::CrossEntropy => Targets::Classes(&labels),
                _ => Targets::Values(&values),
            };
            let mut ws = net.workspace::<f64>(b);
            net.forward(&p, &x, b, &mut ws, Par::Seq);
            let mut g = vec![0.0; net.num_params()];
            let l = net.backward(&p, &x, b, t, &mut ws, &mut g, Par::Seq);
            assert!((l - loss_of(&net, &p, &x, b, t)).abs() < 1e-12);
            for j in 0..net.num_params() {
                let h = 1e-6;
                let mut pp = p.clone();
                pp[j] += h;
                let mut pm = p.clone();
                pm[j] -= h;
                let fd = (loss_of(&net, &pp, &x, b, t) - loss_of(&net, &pm, &x, b, t)) / (2.0 * h);
                assert!(
                    (g[j] - fd).abs() < 1e-6 * fd.abs().max(1.0),
                    "{act:?}/{loss:?} param {j}: {} vs {fd}",
                    g[j]
                );
            }
        }
    }
}

#[test]
fn output_jacobian_matches_finite_differences() {
    let b = 4;
    let net = Mlp::new(&[2, 5, 3], &[Activation::Tanh], Loss::SquaredError).unwrap();
    let p = net.init_params(Init::GlorotNormal, 1);
    let x: Vec<f64> = (0..b * 2).map(|i| (i as f64 * 0.9).sin()).collect();
    let mut ws = net.workspace::<f64>(b);
    net.forward(&p, &x, b, &mut ws, Par::Seq);
    let np = net.num_params();
    let mut jac = vec![0.0; b * 3 * np];
    net.output_jacobian(&p, &x, b, &mut ws, &mut jac);
    let out = |pp: &[f64]| {
        let mut w = net.workspace::<f64>(b);
        net.forward(pp, &x, b, &mut w, Par::Seq).to_vec()
    };
    for j in 0..np {
        let h = 1e-6;
        let mut pp = p.clone();
        pp[j] += h;
        let mut pm = p.clone();
        pm[j] -= h;
        let (op, om) = (out(&pp), out(&pm));
        for r in 0..b * 3 {
            let fd = (op[r] - om[r]) / (2.0 * h);
            assert!((jac[r * np + j] - fd).abs() < 1e-7, "row {r} param {j}");
        }
    }
}

#[test]
fn f32_and_f64_agree() {
    let b = 8;
    let net = Mlp::new(&[4, 16, 3], &[Activation::Relu], Loss::CrossEntropy).unwrap();
    let p = net.init_params(Init::He, 5);
    let x: Vec<f64> = (0..b * 4).map(|i| (i as f64 * 0.31).sin()).collect();
    let labels: Vec<u32> = (0..b as u32).map(|i| i % 3).collect();
    let mut ws = net.workspace::<f64>(b);
    net.forward(&p, &x, b, &mut ws, Par::Seq);
    let mut g = vec![0.0; net.num_params()];
    let l64 = net.backward(
        &p,
        &x,
        b,
        Targets::Classes(&labels),
        &mut ws,
        &mut g,
        Par::Seq,
    );
    let p32: Vec<f32> = p.iter().map(|v| *v as f32).collect();
    let x32: Vec<f32> = x.iter().map(|v| *v as f32).collect();
    let mut ws32 = net.workspace::<f32>(b);
    net.forward(&p32, &x32, b, &mut ws32, Par::Seq);
    let mut g32 = vec![0.0f32; net.num_params()];
    let l32 = net.backward(
        &p32,
        &x32,
        b,
        Targets::Classes(&labels),
        &mut ws32,
        &mut g32,
        Par::Seq,
    );
    assert!((l64 - l32).abs() < 1e-5);
    for (a, b) in g.iter().zip(&g32) {
        assert!((a - *b as f64).abs() < 1e-5);
    }
}

#[test]
fn gauss_newton_products_match_explicit_jacobians() {
    use descent::nn::{batch_data, FullBatch};
    use descent::Objective;
    let data = descent::data::synthetic("moons:12", 2).unwrap();
    for loss in [Loss::SquaredError, Loss::CrossEntropy] {
        let net = Mlp::new(&[2, 5, 2], &[Activation::Tanh], loss).unwrap();
        let p = net.init_params(Init::GlorotUniform, 7);
        let bd = batch_data::<f64>(&data, &net);
        let obj = FullBatch::new(&net, &bd, Par::Seq);
        let np = net.num_params();
        let v: Vec<f64> = (0..np).map(|i| ((i * 13) as f64).sin()).collect();
        let mut gv = vec![0.0; np];
        assert!(obj.gauss_newton_vec(&p, &v, &mut gv));
        // Explicit: Σᵢ Jᵢᵀ Hᵢ Jᵢ v with Jᵢ from output_jacobian and Hᵢ the loss Hessian.
        let n = data.len();
        let k = 2;
        let mut ws = net.workspace::<f64>(n);
        let z = net.forward(&p, &bd.x, n, &mut ws, Par::Seq).to_vec();
        let mut jac = vec![0.0; n * k * np];
        net.output_jacobian(&p, &bd.x, n, &mut ws, &mut jac);
        let mut jv = vec![0.0; n * k];
        for r in 0..n * k {
            jv[r] = (0..np).map(|c| jac[r * np + c] * v[c]).sum();
        }
        let mut hjv = vec![0.0; n * k];
        loss.hessian_vec(&z, k, n, &jv, &mut hjv);
        for c in 0..np {
            let e: f64 = (0..n * k).map(|r| jac[r * np + c] * hjv[r]).sum();
            assert!(
                (gv[c] - e).abs() < 1e-10 * e.abs().max(1e-3),
                "{loss:?} component {c}: {} vs {e}",
                gv[c]
            );
        }
        // And G is positive semi-definite along v.
        assert!(descent::linalg::dot(&v, &gv) >= -1e-12);
    }
}

/// The L2 penalty of the full-batch objective (`TrainConfig::l2`, scikit-learn's
/// `alpha / n`): the value is the loss plus `½·λ·‖W‖²` over the weights alone (the biases
/// go free), the gradient matches central differences of that value, and the Gauss–Newton
/// product gains `λ·v` on the weights.
#[test]
fn the_l2_penalty_weighs_the_weights_not_the_biases() {
    use descent::nn::{batch_data, FullBatch};
    use descent::Objective;
    let data = descent::data::synthetic("moons:12", 2).unwrap();
    let net = Mlp::new(&[2, 5, 2], &[Activation::Tanh], Loss::CrossEntropy).unwrap();
    let p = net.init_params(Init::GlorotUniform, 7);
    let bd = batch_data::<f64>(&data, &net);
    let lambda = 0.3;
    let plain = FullBatch::new(&net, &bd, Par::Seq);
    let penalized = FullBatch::new(&net, &bd, Par::Seq).with_l2(lambda);
    let squares: f64 = net
        .weight_matrices()
        .iter()
        .map(|w| {
            p[w.offset..w.offset + w.rows * w.cols]
                .iter()
                .map(|a| a * a)
                .sum::<f64>()
        })
        .sum();
    let expected = plain.value(&p) + 0.5 * lambda * squares;
    assert!((penalized.value(&p) - expected).abs() < 1e-14 * expected);
    let np = net.num_params();
    let mut g = vec![0.0; np];
    let f = penalized.value_grad(&p, &mut g);
    assert!((f - expected).abs() < 1e-14 * expected);
    for j in 0..np {
        let h = 1e-6;
        let (mut a, mut b) = (p.clone(), p.clone());
        a[j] += h;
        b[j] -= h;
        let fd = (penalized.value(&a) - penalized.value(&b)) / (2.0 * h);
        assert!((g[j] - fd).abs() < 1e-7, "component {j}: {} vs {fd}", g[j]);
    }
    // A bias's gradient is the loss's alone; a weight's gains λ·w.
    let mut g0 = vec![0.0; np];
    plain.value_grad(&p, &mut g0);
    let (w_at, b_at, _, _) = net.layer(0);
    assert_eq!(g[b_at], g0[b_at]);
    assert!((g[w_at] - g0[w_at] - lambda * p[w_at]).abs() < 1e-15);
    let v: Vec<f64> = (0..np).map(|i| ((i * 13) as f64).sin()).collect();
    let (mut gv, mut gv0) = (vec![0.0; np], vec![0.0; np]);
    penalized.gauss_newton_vec(&p, &v, &mut gv);
    plain.gauss_newton_vec(&p, &v, &mut gv0);
    assert_eq!(gv[b_at], gv0[b_at]);
    assert!((gv[w_at] - gv0[w_at] - lambda * v[w_at]).abs() < 1e-15);
}

/// Layers of a million weights or more take their weight gradient on a transposed copy
/// of their input (`nn::TRANSPOSE_INPUT_FROM`): the same gradient as the direct product
/// of a smaller layer's, checked against finite differences at sampled weights of both
/// large layers and of the small one after them.
#[test]
fn large_layers_weight_gradients_match_finite_differences() {
    let (b, w) = (3, 1024);
    assert!(w * w >= descent::nn::TRANSPOSE_INPUT_FROM);
    let net = Mlp::new(&[1100, w, w, 3], &[Activation::Tanh], Loss::CrossEntropy).unwrap();
    let p = net.init_params(Init::GlorotUniform, 5);
    let x: Vec<f64> = (0..b * 1100).map(|i| ((i * 13) as f64).sin()).collect();
    let labels = [2, 0, 1];
    let t = Targets::Classes(&labels);
    let mut ws = net.workspace::<f64>(b);
    net.forward(&p, &x, b, &mut ws, Par::Seq);
    let mut g = vec![0.0; net.num_params()];
    net.backward(&p, &x, b, t, &mut ws, &mut g, Par::Seq);
    // Weights of layer 1 (1100×1024, transposed input: the data), layer 2 (1024×1024,
    // transposed input: hidden activations) and layer 3 (1024×3, direct product).
    let (l1, l2) = (1100 * w + w, 1100 * w + w + w * w + w);
    for j in [
        0,
        1100 * w - 1,
        77 * w + 5,
        l1,
        l1 + 513 * w + 7,
        l2 - w - 1,
        l2,
        l2 + 1500,
    ] {
        let h = 1e-5;
        let (mut pp, mut pm) = (p.clone(), p.clone());
        pp[j] += h;
        pm[j] -= h;
        let fd = (loss_of(&net, &pp, &x, b, t) - loss_of(&net, &pm, &x, b, t)) / (2.0 * h);
        assert!(
            (g[j] - fd).abs() < 1e-7 + 1e-5 * fd.abs(),
            "param {j}: {} vs {fd}",
            g[j]
        );
    }
}

/// The element-wise passes of large layers (bias, activation, its derivative, the bias
/// gradient, the transposed input) are split across threads from 2¹⁶ entries: the loss
/// and every gradient entry agree with the one-thread passes.
#[test]
fn split_elementwise_passes_match_one_thread() {
    let (b, w) = (80, 1024);
    let net = Mlp::new(&[1100, w, w, 3], &[Activation::Tanh], Loss::CrossEntropy).unwrap();
    let p = net.init_params(Init::GlorotUniform, 7);
    let x: Vec<f64> = (0..b * 1100).map(|i| ((i * 7) as f64).cos()).collect();
    let labels: Vec<u32> = (0..b as u32).map(|i| i % 3).collect();
    let t = Targets::Classes(&labels);
    let run = |par: Par| {
        let mut ws = net.workspace::<f64>(b);
        let out = net.forward(&p, &x, b, &mut ws, par).to_vec();
        let mut g = vec![0.0; net.num_params()];
        let loss = net.backward(&p, &x, b, t, &mut ws, &mut g, par);
        (out, loss, g)
    };
    let (out1, loss1, g1) = run(Par::Seq);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let (out2, loss2, g2) = pool.install(|| run(Par::rayon(2)));
    assert!((loss1 - loss2).abs() <= 1e-12 * loss1.abs());
    for (a, b) in out1.iter().zip(&out2) {
        assert!(
            (a - b).abs() <= 1e-12 * (1.0 + a.abs()),
            "output {a} vs {b}"
        );
    }
    let scale = g1.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for (j, (a, b)) in g1.iter().zip(&g2).enumerate() {
        assert!((a - b).abs() <= 1e-12 * scale, "entry {j}: {a} vs {b}");
    }
}
