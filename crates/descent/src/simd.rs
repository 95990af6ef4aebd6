//! The instruction set of the element-wise loops (activations, losses, step rules, the
//! trainer's sums), chosen at run time: the same binary runs its loops as AVX2 code on a
//! CPU that has it and as baseline x86-64 code elsewhere, whatever `target-cpu` it was
//! built for. Arithmetic is the same either way (no fused multiply-adds are introduced:
//! Rust does not contract `a * b + c`), so results do not depend on the choice.

/// Runs `f` compiled for AVX2 when the CPU has it: the closure is inlined into a function
/// built with that target feature — if it is inlined at all, so every caller marks it
/// `#[inline(always)]`. (Without the mark, rustc left a closure holding a few loops out
/// of line now and then, built for baseline x86-64: the trainer's sum of the slices'
/// gradients ran as two-lane SSE code, 12 % of a 784-1024-10 run at batch 128, and a
/// change elsewhere in the crate sent the activations' loops the same way.)
#[inline]
pub(crate) fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            return unsafe { with_avx2(f) };
        }
    }
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx,avx2")]
unsafe fn with_avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// Declares a kernel function whose body is compiled twice, for baseline x86-64 and for
/// AVX2, the copy chosen at run time. Unlike [`vectorized`] with a closure, the AVX2 copy
/// cannot be lost to a closure the compiler declines to inline.
macro_rules! kernel {
    ($(#[$meta:meta])* $vis:vis fn $name:ident $(<$($g:ident: $bound:path),+>)? ($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$meta])*
        $vis fn $name $(<$($g: $bound),+>)? ($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn body $(<$($g: $bound),+>)? ($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx,avx2")]
                unsafe fn avx2 $(<$($g: $bound),+>)? ($($arg: $ty),*) $(-> $ret)? {
                    body($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU has AVX2 (checked just above).
                    return unsafe { avx2($($arg),*) };
                }
            }
            body($($arg),*)
        }
    };
}
pub(crate) use kernel;

/// Clears the upper halves of the vector registers (`vzeroupper`) after a product: faer
/// picks its kernels at run time (AVX2 or AVX-512 wherever the CPU has them), and they
/// leave that state dirty. The code that runs next — the C library's `expf`, `tanhf`, …
/// and our own element-wise loops, SSE-encoded when the crate is built for the baseline
/// x86-64 — then pays a state-transition penalty on every instruction (measured: a
/// 2-16-16-2 tanh network at batch 720 trained at 1/7 of its speed; MNIST's softmax in a
/// baseline build took 40 times as long). So the check is made at run time, not at
/// compile time: a dependency build or `cargo install` without `target-cpu=native` gets
/// it too.
#[inline]
pub(crate) fn clear_upper_vector_state() {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx") {
            // SAFETY: the CPU has AVX (checked just above).
            unsafe { zero_upper() }
        }
    }
}

/// `vzeroupper`: zeroes bits 128 and up of the vector registers, which no live value holds
/// between the Rust statements around the call.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn zero_upper() {
    std::arch::x86_64::_mm256_zeroupper();
}
