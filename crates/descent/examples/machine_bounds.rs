//! The machine's bounds that descent's speed figures are fractions of: memory bandwidth
//! (STREAM-style read, copy and triad kernels on 2 GiB arrays, on every thread of the
//! pool) and the FMA peaks (independent fused multiply-add chains in registers): f64 on
//! AVX2, and f32 on the widest vectors the CPU has (AVX-512 where present, as faer's
//! kernels use it), which is the bound of the networks' f32 matrix products.
//!
//!     cargo run --release --example machine_bounds [-- --fma]   # --fma: the peaks only
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

/// f32 FMA chains on AVX2: 16 accumulators of 8 lanes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn fma_chains_f32_avx2(iters: usize) -> f32 {
    use std::arch::x86_64::*;
    let mut acc = [_mm256_set1_ps(1.0); 16];
    let (a, b) = (_mm256_set1_ps(0.999_9), _mm256_set1_ps(1e-6));
    for _ in 0..iters {
        for v in acc.iter_mut() {
            *v = _mm256_fmadd_ps(*v, a, b);
        }
    }
    let mut sum = _mm256_setzero_ps();
    for v in acc {
        sum = _mm256_add_ps(sum, v);
    }
    let mut out = [0.0; 8];
    _mm256_storeu_ps(out.as_mut_ptr(), sum);
    out.iter().sum()
}

/// f32 FMA chains on AVX-512: 16 accumulators of 16 lanes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn fma_chains_f32_avx512(iters: usize) -> f32 {
    use std::arch::x86_64::*;
    let mut acc = [_mm512_set1_ps(1.0); 16];
    let (a, b) = (_mm512_set1_ps(0.999_9), _mm512_set1_ps(1e-6));
    for _ in 0..iters {
        for v in acc.iter_mut() {
            *v = _mm512_fmadd_ps(*v, a, b);
        }
    }
    let mut sum = _mm512_setzero_ps();
    for v in acc {
        sum = _mm512_add_ps(sum, v);
    }
    _mm512_reduce_add_ps(sum)
}

/// FLOP/s of `chains(iters)` on every thread, counting `flops_per_iter` per call and
/// iteration.
fn peak(threads: usize, iters: usize, flops_per_iter: usize, chains: fn(usize) -> f64) -> f64 {
    let secs = best_of(3, || {
        let s: f64 = (0..threads).into_par_iter().map(|_| chains(iters)).sum();
        std::hint::black_box(s);
    });
    (threads * iters * flops_per_iter) as f64 / secs
}

fn main() {
    let threads = rayon::current_num_threads();
    println!("threads {threads}");
    if !std::env::args().any(|a| a == "--fma") {
        bandwidth();
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("fma") && std::arch::is_x86_feature_detected!("avx2") {
        let iters = 50_000_000;
        // 16 chains × lanes × 2 flops per FMA, per iteration and thread.
        // SAFETY (each closure): the CPU has the features (checked here).
        let f64_peak = peak(threads, iters, 16 * 4 * 2, |n| unsafe { fma_chains(n) });
        println!("f64 FMA peak (AVX2) {:6.1} GFLOP/s", f64_peak / 1e9);
        let (f32_peak, isa) = if std::arch::is_x86_feature_detected!("avx512f") {
            let f = |n| unsafe { fma_chains_f32_avx512(n) as f64 };
            (peak(threads, iters, 16 * 16 * 2, f), "AVX-512")
        } else {
            let f = |n| unsafe { fma_chains_f32_avx2(n) as f64 };
            (peak(threads, iters, 16 * 8 * 2, f), "AVX2")
        };
        println!("f32 FMA peak ({isa}) {:6.1} GFLOP/s", f32_peak / 1e9);
    }
}

fn bandwidth() {
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
    println!("read   {:6.1} GB/s", gb(8, read));
    println!("copy   {:6.1} GB/s", gb(16, copy));
    println!("triad  {:6.1} GB/s", gb(24, triad));
}
