//! What the network-profiling examples share: an f32 MLP (ReLU, cross-entropy) with a
//! fixed batch, and the timing of its forward pass and of forward and backward together.
use descent::nn::{Activation, Init, Loss, Mlp, Targets, Workspace};
use faer::Par;
use std::time::Instant;

/// A network of `sizes` with one batch of `b` rows, its buffers, and how many threads its
/// products split across.
pub struct Profiled {
    pub net: Mlp,
    /// The initial weights.
    pub p: Vec<f32>,
    pub x: Vec<f32>,
    pub labels: Vec<u32>,
    pub b: usize,
    pub ws: Workspace<f32>,
    pub g: Vec<f32>,
    pub par: Par,
}

/// A pool of `threads` threads to run a [`Profiled`] network in.
pub fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
}

impl Profiled {
    pub fn new(sizes: &[usize], b: usize, threads: usize) -> Self {
        let hidden = vec![Activation::Relu; sizes.len() - 2];
        let net = Mlp::new(sizes, &hidden, Loss::CrossEntropy).unwrap();
        let p = net
            .init_params(Init::GlorotUniform, 0)
            .iter()
            .map(|v| *v as f32)
            .collect();
        let x = (0..b * sizes[0])
            .map(|i| ((i * 31 % 255) as f32) / 255.0)
            .collect();
        let ws = net.workspace::<f32>(b);
        let g = vec![0.0f32; net.num_params()];
        Profiled {
            net,
            p,
            x,
            labels: (0..b as u32).map(|i| i % 10).collect(),
            b,
            ws,
            g,
            par: if threads > 1 {
                Par::rayon(threads)
            } else {
                Par::Seq
            },
        }
    }

    /// One forward pass, and the backward pass too when `backward`.
    pub fn pass(&mut self, backward: bool) {
        let (net, p, x, b, par) = (&self.net, &self.p, &self.x, self.b, self.par);
        net.forward(p, x, b, &mut self.ws, par);
        if backward {
            let t = Targets::Classes(&self.labels);
            net.backward(p, x, b, t, &mut self.ws, &mut self.g, par);
        }
    }

    /// Seconds per pass over `n` passes (forward, and backward when `backward`).
    pub fn time(&mut self, n: usize, backward: bool) -> f64 {
        let t = Instant::now();
        for _ in 0..n {
            self.pass(backward);
        }
        t.elapsed().as_secs_f64() / n as f64
    }
}
