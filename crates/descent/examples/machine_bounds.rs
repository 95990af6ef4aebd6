//! The machine's bounds that descent's speed figures are fractions of: memory bandwidth
//! (STREAM-style read, copy and triad kernels on 2 GiB arrays, on every thread of the
//! pool) and the f64 FMA peak (independent fused multiply-add chains in registers).
//!
//!     cargo run --release --example machine_bounds
//!
//! Bandwidth counts the bytes the kernel reads and writes (STREAM's convention: a copy
//! moves 16 bytes an element, a triad 24), best of five runs.

use rayon::prelude::*;
use std::time::Instant;

const N: usize = 1 << 27; // 1 GiB of f64 per array
const CHUNK: usize = 1 << 13;

fn best_of(runs: usize, mut f: impl FnMut()) -> f64 {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// Independent FMA chains per thread: 16 accumulators of 4 lanes (AVX2) hide the latency.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn fma_chains(iters: usize) -> f64 {
    use std::arch::x86_64::*;
    let mut acc = [_mm256_set1_pd(1.0); 16];
    let (a, b) = (_mm256_set1_pd(0.999_999_9), _mm256_set1_pd(1e-9));
    for _ in 0..iters {
        for v in acc.iter_mut() {
            *v = _mm256_fmadd_pd(*v, a, b);
        }
    }
    let mut out = [0.0; 4];
    let mut sum = _mm256_setzero_pd();
    for v in acc {
        sum = _mm256_add_pd(sum, v);
    }
    _mm256_storeu_pd(out.as_mut_ptr(), sum);
    out.iter().sum()
}

fn main() {
    let threads = rayon::current_num_threads();
    let mut a = vec![1.0f64; N];
    let mut b = vec![2.0f64; N];
    let c = vec![0.5f64; N];
    let gb = |bytes_per_element: usize, secs: f64| (bytes_per_element * N) as f64 / secs / 1e9;

    let read = best_of(5, || {
        // Eight partial sums, so that the adds' latency does not bound the loop.
        let lanes = |x: &[f64]| {
            let mut acc = [0.0f64; 8];
            for c in x.chunks_exact(8) {
                for i in 0..8 {
                    acc[i] += c[i];
                }
            }
            acc.iter().sum::<f64>()
        };
        let s: f64 = a.par_chunks(CHUNK).map(lanes).sum();
        std::hint::black_box(s);
    });
    let copy = best_of(5, || {
        b.par_chunks_mut(CHUNK)
            .zip(a.par_chunks(CHUNK))
            .for_each(|(y, x)| y.copy_from_slice(x));
    });
    let triad = best_of(5, || {
        a.par_chunks_mut(CHUNK)
            .zip(b.par_chunks(CHUNK).zip(c.par_chunks(CHUNK)))
            .for_each(|(y, (x, z))| {
                for ((yi, xi), zi) in y.iter_mut().zip(x).zip(z) {
                    *yi = xi + 3.0 * zi;
                }
            });
    });
    println!("threads {threads}");
    println!("read   {:6.1} GB/s", gb(8, read));
    println!("copy   {:6.1} GB/s", gb(16, copy));
    println!("triad  {:6.1} GB/s", gb(24, triad));

    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("fma") && std::arch::is_x86_feature_detected!("avx2") {
        let iters = 50_000_000;
        let secs = best_of(3, || {
            let s: f64 = (0..threads)
                .into_par_iter()
                // SAFETY: the CPU has AVX2 and FMA (checked above).
                .map(|_| unsafe { fma_chains(iters) })
                .sum();
            std::hint::black_box(s);
        });
        // 16 chains × 4 lanes × 2 flops per FMA, per iteration and thread.
        let flops = (threads * iters * 16 * 4 * 2) as f64 / secs;
        println!(
            "f64 FMA peak (AVX2) {:6.1} GFLOP/s; f32 twice that",
            flops / 1e9
        );
    }
}
