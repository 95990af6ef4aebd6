//! One training step of the MNIST network (784-128-10 ReLU, batch 128, f32, Adam) on 1
//! and 2 threads, and the forward pass alone. `cargo bench -p descent --bench mlp_train`.
//! The side-by-side comparison with PyTorch is `bench/mnist_vs_torch.py`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use descent::nn::{Activation, Init, Loss, Mlp, Targets};
use descent::update::{Adam, Schedule, StepRule};
use faer::Par;
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let net = Mlp::new(&[784, 128, 10], &[Activation::Relu], Loss::CrossEntropy).unwrap();
    let mut p64 = net.init_params(Init::GlorotUniform, 0);
    let mut p: Vec<f32> = p64.iter().map(|v| *v as f32).collect();
    let b = 128;
    let x: Vec<f32> = (0..b * 784)
        .map(|i| (((i * 31) % 255) as f32 / 255.0 - 0.13) / 0.31)
        .collect();
    let labels: Vec<u32> = (0..b as u32).map(|i| i % 10).collect();
    let np = net.num_params();
    let mut g = vec![0.0f32; np];
    let (mut g64, mut d) = (vec![0.0; np], vec![0.0; np]);
    let mut ws = net.workspace::<f32>(b);
    let mut group = c.benchmark_group("mnist-784-128-10-batch-128");
    group.throughput(Throughput::Elements(b as u64));
    for threads in [1usize, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let par = if threads > 1 {
            Par::rayon(threads)
        } else {
            Par::Seq
        };
        let mut adam = Adam::new(Schedule::Constant(1e-3));
        adam.reset(np);
        let mut t = 0u64;
        group.bench_function(format!("train-step/{threads}-threads"), |bch| {
            bch.iter(|| {
                pool.install(|| {
                    net.forward(&p, &x, b, &mut ws, par);
                    let l =
                        net.backward(&p, &x, b, Targets::Classes(&labels), &mut ws, &mut g, par);
                    for (a, v) in g64.iter_mut().zip(&g) {
                        *a = *v as f64;
                    }
                    t += 1;
                    adam.update(t, &p64, &g64, &mut d);
                    for ((q, q32), dv) in p64.iter_mut().zip(p.iter_mut()).zip(&d) {
                        *q += dv;
                        *q32 = *q as f32;
                    }
                    black_box(l)
                })
            })
        });
        group.bench_function(format!("forward/{threads}-threads"), |bch| {
            bch.iter(|| pool.install(|| black_box(net.forward(&p, &x, b, &mut ws, par)[0])))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
