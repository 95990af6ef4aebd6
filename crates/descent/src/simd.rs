//! The instruction set of the element-wise loops (activations, losses, step rules, the
//! trainer's sums), chosen at run time: the same binary runs its loops as AVX2 code on a
//! CPU that has it and as baseline x86-64 code elsewhere, whatever `target-cpu` it was
//! built for. Arithmetic is the same either way (no fused multiply-adds are introduced:
//! Rust does not contract `a * b + c`), so results do not depend on the choice.

/// Runs `f` compiled for AVX2 when the CPU has it (the closure is inlined into a function
/// built with that target feature).
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
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn body($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx,avx2")]
                unsafe fn avx2($($arg: $ty),*) $(-> $ret)? {
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
