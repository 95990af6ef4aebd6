//! The reduction seam: how the workers of a distributed run add up what each computed.
//!
//! A [`Communicator`] knows its rank among `size` workers and can send, receive and
//! broadcast a buffer of `f64`. Everything else is written once, here, over those three:
//! [`Communicator::sum`] adds a buffer across the workers on a **fixed schedule** (a
//! binomial tree to rank 0, then a broadcast), so that
//!
//! - every worker ends with the same bits (the methods take the same decisions on every
//!   rank, or they would part ways and wait for each other forever), and
//! - a run is reproducible for a given number of workers: the additions happen in the
//!   same order every time, whatever the transport does underneath.
//!
//! The problem adapters take a communicator ([`crate::nn`]'s network objectives and
//! mini-batches), so every method runs distributed without knowing it: the driver, the
//! line searches and the step rules see one objective whose value and gradient are
//! already summed over the workers.
//!
//! Implementations: [`Local`] (one worker; every operation is free), [`InProcess`]
//! (workers as threads of one process, for tests and for trying a distributed run
//! without MPI) and, with the `mpi` cargo feature, `Mpi` over the rsmpi bindings.
//!
//! A failure of the transport is not a value the adapters could hand back (an objective's
//! value is a number): MPI's default error handler ends the job and the launcher stops the
//! other ranks, and an [`InProcess`] worker whose peer is gone panics.

mod batches;
mod in_process;
#[cfg(feature = "mpi")]
mod mpi_world;
mod normal;
pub mod tree;

pub use batches::DistributedBatches;
pub use in_process::InProcess;
#[cfg(feature = "mpi")]
pub use mpi_world::Mpi;
pub use normal::NormalEquationsLeastSquares;

/// Longest piece of a buffer sent in one message by [`Communicator::sum`]: the receiver
/// adds one piece while the next is on its way, in a scratch buffer of this size.
const PIECE: usize = 1 << 15;

/// Longest buffer that [`Communicator::sum`] adds by recursive doubling (whole buffers
/// exchanged, `log₂K` messages) rather than halving and doubling (`2·log₂K` messages of
/// fewer values): a few numbers a step (a batch's value and norms, a step's length), whose
/// time is the messages' latency. Below a few hundred values a message costs its latency
/// (loopback here: α ≈ 0.4 µs, 6.4 GB/s: α buys 2.6 KB).
const SHORT: usize = 256;

/// A group of workers that add up buffers (see the module documentation).
pub trait Communicator: Send + Sync {
    /// This worker's rank, `0..size`.
    fn rank(&self) -> usize;
    /// The number of workers.
    fn size(&self) -> usize;
    /// Sends `buf` to worker `to`, blocking until it may be reused.
    fn send(&self, buf: &[f64], to: usize);
    /// Receives from worker `from` into `buf` (which has the length sent).
    fn receive(&self, buf: &mut [f64], from: usize);
    /// `buf` of worker `root` into `buf` of every worker.
    fn broadcast(&self, buf: &mut [f64], root: usize);

    /// Sends `send` to worker `partner` and receives what it sends into `recv`, at once
    /// (both sides call it; neither waits for the other to finish first).
    fn exchange(&self, send: &[f64], recv: &mut [f64], partner: usize);

    /// [`Communicator::exchange`] of f32 values (an f32 network's own weights, joined in
    /// their precision: half the bytes). The default goes through f64, which holds every
    /// f32 exactly.
    fn exchange_f32(&self, send: &[f32], recv: &mut [f32], partner: usize) {
        let wide: Vec<f64> = send.iter().map(|v| f64::from(*v)).collect();
        let mut back = vec![0.0; recv.len()];
        self.exchange(&wide, &mut back, partner);
        recv.iter_mut().zip(&back).for_each(|(r, v)| *r = *v as f32);
    }

    /// The element-wise sum of `buf` over the workers, into `buf` of every worker, added
    /// in a fixed order: that of a binomial tree, where at round `s` the partial sum of
    /// ranks `r..r + 2ˢ` is added to that of ranks `r − 2ˢ..r` (the lower ranks' sum on the
    /// left). With two workers it is `b₀ + b₁`; with four, `(b₀ + b₁) + (b₂ + b₃)`.
    ///
    /// With a power-of-two number of workers and a buffer of at least one entry each, the
    /// sum is taken by recursive halving and doubling (Rabenseifner 2004; Thakur, Rabenseifner
    /// & Gropp 2005): every worker sums `1/K` of the buffer and the pieces are exchanged,
    /// `2(K − 1)/K · n` values sent by each worker instead of the tree's `2·log₂K · n`; the
    /// order of the additions is the tree's; a short buffer (a few numbers) is summed by
    /// recursive doubling instead, in half the messages, the same order again. Otherwise
    /// the tree sums to rank 0, which broadcasts.
    fn sum(&self, buf: &mut [f64]) {
        self.sum_with(buf, &mut Vec::new());
    }

    /// [`Communicator::sum`] with a scratch buffer kept by the caller (grown as needed),
    /// so that a sum per step allocates nothing.
    fn sum_with(&self, buf: &mut [f64], scratch: &mut Vec<f64>) {
        let size = self.size();
        if size <= 1 {
            return;
        }
        if size.is_power_of_two() && buf.len() <= SHORT {
            doubling_sum(self, buf, scratch);
        } else if size.is_power_of_two() && buf.len() >= size {
            halving_doubling_sum(self, buf, scratch);
        } else {
            tree_sum(self, buf, scratch);
        }
    }

    /// Whether this worker is rank 0, the one that prints, logs and saves.
    fn is_root(&self) -> bool {
        self.rank() == 0
    }
}

/// [`Communicator::sum`] by recursive halving (each worker ends with its `1/K` of the sum)
/// then recursive doubling (the pieces gathered), for `K = 2ᵖ` workers.
fn halving_doubling_sum<C: Communicator + ?Sized>(
    comm: &C,
    buf: &mut [f64],
    scratch: &mut Vec<f64>,
) {
    sum_part(comm, buf, scratch);
    join_parts(comm, buf);
}

/// [`Communicator::sum`] by recursive doubling, for `K = 2ᵖ` workers and a short buffer:
/// at round `s` each worker exchanges its whole partial sum with worker `rank ^ 2ˢ`, and
/// both add the lower ranks' sum and the upper ranks' — the tree's grouping, on every
/// worker, in `log₂K` messages (Thakur, Rabenseifner & Gropp 2005's short-message
/// allreduce).
fn doubling_sum<C: Communicator + ?Sized>(comm: &C, buf: &mut [f64], scratch: &mut Vec<f64>) {
    let (rank, size, n) = (comm.rank(), comm.size(), buf.len());
    if scratch.len() < n {
        scratch.resize(n, 0.0);
    }
    for s in 0..size.trailing_zeros() {
        let theirs = &mut scratch[..n];
        comm.exchange(buf, theirs, rank ^ (1 << s));
        // (a + b is b + a in IEEE arithmetic: both workers get the same bits.)
        crate::linalg::add_assign(buf, theirs);
    }
}

/// Whether the workers of `comm` can share out `n` values by recursive halving
/// ([`sum_part`], [`join_parts`]): a power of two of them, two or more, each with a value.
pub fn can_share(comm: &(impl Communicator + ?Sized), n: usize) -> bool {
    let size = comm.size();
    size > 1 && size.is_power_of_two() && n >= size
}

/// The range of `n` values worker `rank` holds after `rounds` rounds of recursive
/// halving: at round `s` the range is cut in two and the rank whose bit `s` is clear
/// keeps the first half.
fn held_after(n: usize, rank: usize, rounds: u32) -> std::ops::Range<usize> {
    let (mut lo, mut hi) = (0, n);
    for s in 0..rounds {
        let mid = lo + (hi - lo) / 2;
        if rank & (1 << s) == 0 {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    lo..hi
}

/// The part of `n` values that worker `rank` of `size` (a power of two) sums in
/// [`sum_part`] and contributes in [`join_parts`]: the parts of the workers cover `0..n`
/// once, each `⌊n/size⌋` or `⌈n/size⌉` long.
pub fn part(n: usize, rank: usize, size: usize) -> std::ops::Range<usize> {
    held_after(n, rank, size.max(1).trailing_zeros())
}

/// The first half of [`Communicator::sum`] (a reduce-scatter): recursive halving, after
/// which this worker's [`part`] of `buf` holds the sum over the workers, added in the
/// tree's order (the same bits as [`Communicator::sum`] there); the rest of `buf` holds
/// partial sums, not to be read. Each worker sends `(K − 1)/K` of the buffer. For
/// [`can_share`] communicators; returns the part.
pub fn sum_part<C: Communicator + ?Sized>(
    comm: &C,
    buf: &mut [f64],
    scratch: &mut Vec<f64>,
) -> std::ops::Range<usize> {
    let (rank, size, n) = (comm.rank(), comm.size(), buf.len());
    debug_assert!(size.is_power_of_two() && n >= size);
    if scratch.len() < n.div_ceil(2) {
        scratch.resize(n.div_ceil(2), 0.0);
    }
    halving_rounds(comm, buf, scratch, 0);
    held_after(n, rank, size.trailing_zeros())
}

/// [`sum_part`] of f32 values (an f32 network's gradients) into `buf`, in f64: the first
/// round sends f32 values (half the bytes) and adds the two halves in f64, the later rounds
/// are [`sum_part`]'s on `buf`. The same bits as [`sum_part`] of the values widened to f64
/// (f64 holds every f32, and the additions are the same); returns the part, which is all
/// of `buf` that holds the sum.
pub fn sum_part_f32<C: Communicator + ?Sized>(
    comm: &C,
    g: &[f32],
    buf: &mut Vec<f64>,
    theirs: &mut Vec<f32>,
    scratch: &mut Vec<f64>,
) -> std::ops::Range<usize> {
    let (rank, size, n) = (comm.rank(), comm.size(), g.len());
    debug_assert!(size.is_power_of_two() && n >= size && size > 1);
    buf.resize(n, 0.0);
    let keep = exchange_first_round_f32(comm, g, theirs);
    buf[keep.clone()]
        .iter_mut()
        .zip(&g[keep])
        .zip(theirs.iter())
        .for_each(|((s, a), b)| *s = f64::from(*a) + f64::from(*b));
    if scratch.len() < n.div_ceil(2) {
        scratch.resize(n.div_ceil(2), 0.0);
    }
    halving_rounds(comm, buf, scratch, 1);
    held_after(n, rank, size.trailing_zeros())
}

/// The exchange of recursive halving's first round, of f32 values: this worker keeps its
/// half of `g` (returned) and receives its partner's values there into `theirs`.
pub(crate) fn exchange_first_round_f32<C: Communicator + ?Sized>(
    comm: &C,
    g: &[f32],
    theirs: &mut Vec<f32>,
) -> std::ops::Range<usize> {
    let (rank, n) = (comm.rank(), g.len());
    let keep = held_after(n, rank, 1);
    let give = if keep.start == 0 {
        keep.end..n
    } else {
        0..keep.start
    };
    theirs.resize(keep.len(), 0.0);
    comm.exchange_f32(&g[give], theirs, rank ^ 1);
    keep
}

/// The rounds `first..` of recursive halving ([`sum_part`]) on `buf`, whose range held
/// after round `first` holds this worker's partial sum.
fn halving_rounds<C: Communicator + ?Sized>(
    comm: &C,
    buf: &mut [f64],
    scratch: &mut [f64],
    first: u32,
) {
    let (rank, size, n) = (comm.rank(), comm.size(), buf.len());
    for s in first..size.trailing_zeros() {
        let partner = rank ^ (1 << s);
        let (held, keep) = (held_after(n, rank, s), held_after(n, rank, s + 1));
        let give = if keep.start == held.start {
            keep.end..held.end
        } else {
            held.start..keep.start
        };
        let theirs = &mut scratch[..keep.len()];
        comm.exchange(&buf[give], theirs, partner);
        // The lower ranks' partial sum and the upper ranks' are joined (a + b is b + a in
        // IEEE arithmetic: only the grouping of the terms matters, and it is the tree's).
        crate::linalg::add_assign(&mut buf[keep], theirs);
    }
}

/// The second half of [`Communicator::sum`] (an all-gather): recursive doubling, after
/// which every worker's `buf` holds every worker's [`part`] of its own `buf`. For
/// [`can_share`] communicators.
pub fn join_parts<C: Communicator + ?Sized, E: Wire>(comm: &C, buf: &mut [E]) {
    let (rank, size, n) = (comm.rank(), comm.size(), buf.len());
    debug_assert!(size.is_power_of_two() && n >= size);
    // Undo the rounds, each worker sending the range it holds and receiving its
    // partner's.
    for s in (0..size.trailing_zeros()).rev() {
        let partner = rank ^ (1 << s);
        let (outer, mine) = (held_after(n, rank, s), held_after(n, rank, s + 1));
        let theirs = if mine.start == outer.start {
            mine.end..outer.end
        } else {
            outer.start..mine.start
        };
        let (first, second) = buf.split_at_mut(mine.start.max(theirs.start));
        let (mine, theirs) = if mine.start < theirs.start {
            (&first[mine], &mut second[..theirs.len()])
        } else {
            (&second[..mine.len()], &mut first[theirs])
        };
        E::exchange(comm, mine, theirs, partner);
    }
}

/// The values a [`Communicator`] exchanges: f64, and f32 weights.
pub trait Wire: Copy {
    /// [`Communicator::exchange`] in this type.
    fn exchange<C: Communicator + ?Sized>(
        comm: &C,
        send: &[Self],
        recv: &mut [Self],
        partner: usize,
    );
}

impl Wire for f64 {
    fn exchange<C: Communicator + ?Sized>(
        comm: &C,
        send: &[f64],
        recv: &mut [f64],
        partner: usize,
    ) {
        comm.exchange(send, recv, partner)
    }
}

impl Wire for f32 {
    fn exchange<C: Communicator + ?Sized>(
        comm: &C,
        send: &[f32],
        recv: &mut [f32],
        partner: usize,
    ) {
        comm.exchange_f32(send, recv, partner)
    }
}

/// [`Communicator::sum`] as a binomial tree to rank 0 and a broadcast (any number of
/// workers).
fn tree_sum<C: Communicator + ?Sized>(comm: &C, buf: &mut [f64], scratch: &mut Vec<f64>) {
    let (rank, size) = (comm.rank(), comm.size());
    if scratch.len() < PIECE.min(buf.len()) {
        scratch.resize(PIECE.min(buf.len()), 0.0);
    }
    let mut step = 1;
    while step < size {
        if rank % (2 * step) == step {
            for piece in buf.chunks(PIECE) {
                comm.send(piece, rank - step);
            }
            break;
        }
        if rank % (2 * step) == 0 && rank + step < size {
            for piece in buf.chunks_mut(PIECE) {
                let theirs = &mut scratch[..piece.len()];
                comm.receive(theirs, rank + step);
                crate::linalg::add_assign(piece, theirs);
            }
        }
        step *= 2;
    }
    comm.broadcast(buf, 0);
}

/// Whether every worker holds the same `fingerprint` (of its data, settings and start):
/// one sum of `(h, h²)` over the workers, which is `(K·h, K·h²)` exactly when all agree
/// (Cauchy–Schwarz), and the same verdict on every worker. Workers that disagree would
/// compute different steps, part ways and wait for each other forever.
pub fn all_agree(comm: &dyn Communicator, fingerprint: u64) -> bool {
    if comm.size() <= 1 {
        return true;
    }
    // 20 bits, so that every sum of squares stays exact in f64 up to 2¹³ workers.
    let h = (fingerprint >> 44) as f64;
    let mut buf = [h, h * h];
    comm.sum(&mut buf);
    let k = comm.size() as f64;
    buf[0].to_bits() == (k * h).to_bits() && buf[1].to_bits() == (k * h * h).to_bits()
}

/// Whether `flag` holds on any worker: one sum of 0/1 over the workers, the same verdict
/// on every worker (a worker that failed, or stopped, alone makes the others fail or stop
/// with it instead of waiting for it in the next sum).
pub fn any_worker(comm: &dyn Communicator, flag: bool) -> bool {
    let mut count = [f64::from(u8::from(flag))];
    comm.sum(&mut count);
    count[0] > 0.0
}

/// Rank 0's `value`, on every worker (one broadcast; one worker's is its own): a
/// decision taken on rank 0 that every worker must follow.
pub fn root_value(comm: &dyn Communicator, value: f64) -> f64 {
    let mut v = [value];
    if comm.size() > 1 {
        comm.broadcast(&mut v, 0);
    }
    v[0]
}

/// FNV-1a over the bytes of `parts`: a fingerprint for [`all_agree`].
pub fn fingerprint<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> u64 {
    let mut h = Fingerprint::default();
    for part in parts {
        h.bytes(part);
    }
    h.0
}

/// A running FNV-1a hash (see [`fingerprint`]).
#[derive(Clone, Copy, Debug)]
pub struct Fingerprint(pub u64);

impl Default for Fingerprint {
    fn default() -> Self {
        Fingerprint(0xcbf2_9ce4_8422_2325)
    }
}

impl Fingerprint {
    /// Adds bytes, then a separator.
    pub fn bytes(&mut self, part: &[u8]) -> &mut Self {
        for b in part {
            self.byte(*b);
        }
        self.byte(0xff);
        self
    }
    /// Adds the bits of numbers (a word at a time: tens of millions take milliseconds),
    /// then a separator.
    pub fn numbers(&mut self, values: &[f64]) -> &mut Self {
        for v in values {
            self.0 ^= v.to_bits();
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3).rotate_left(29);
        }
        self.byte(0xff);
        self
    }
    fn byte(&mut self, b: u8) {
        self.0 ^= u64::from(b);
        self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
    }
}

/// One worker: nothing to add up.
#[derive(Clone, Copy, Debug, Default)]
pub struct Local;

impl Communicator for Local {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn send(&self, _buf: &[f64], _to: usize) {
        unreachable!("a single worker has no one to send to")
    }
    fn receive(&self, _buf: &mut [f64], _from: usize) {
        unreachable!("a single worker has no one to receive from")
    }
    fn broadcast(&self, _buf: &mut [f64], _root: usize) {}
    fn exchange(&self, _send: &[f64], _recv: &mut [f64], _partner: usize) {
        unreachable!("a single worker has no partner")
    }
}

/// The part `lo..hi` of `n` items that worker `rank` of `size` takes: contiguous, in rank
/// order, the first `n mod size` workers one item more.
pub fn share(n: usize, rank: usize, size: usize) -> std::ops::Range<usize> {
    let size = size.max(1);
    let (base, extra) = (n / size, n % size);
    let lo = rank * base + rank.min(extra);
    lo..lo + base + usize::from(rank < extra)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_cover_the_items_once_in_order() {
        for n in [0, 1, 5, 128, 1001] {
            for size in 1..=7 {
                let mut next = 0;
                for r in 0..size {
                    let s = share(n, r, size);
                    assert_eq!(s.start, next);
                    assert!(s.len() + 1 >= n / size && s.len() <= n.div_ceil(size));
                    next = s.end;
                }
                assert_eq!(next, n);
            }
        }
    }

    #[test]
    fn one_worker_s_flag_is_every_worker_s_verdict() {
        for size in 1..=4 {
            let none = InProcess::run(size, |comm| any_worker(comm, false));
            assert!(none.iter().all(|v| !v));
            let last = InProcess::run(size, |comm| any_worker(comm, comm.rank() == size - 1));
            assert!(last.iter().all(|v| *v));
        }
    }

    #[test]
    fn the_tree_adds_in_its_fixed_order_on_every_worker() {
        // Values whose sum depends on the order of the additions: the tree's order is
        // ((b0 + b1) + (b2 + b3)) + b4 for five workers, and every worker gets its bits.
        let parts = [1e16, 1.0, -1e16, 1.0, 0.5];
        for size in 1..=parts.len() {
            let expected = {
                let mut level: Vec<f64> = parts[..size].to_vec();
                while level.len() > 1 {
                    level = level
                        .chunks(2)
                        .map(|c| c.iter().copied().reduce(|a, b| a + b).unwrap())
                        .collect();
                }
                level[0]
            };
            // Short buffers (recursive doubling where K is a power of two) and long ones
            // (halving and doubling, or the tree, in pieces).
            for len in [1, 3, SHORT, SHORT + 1, PIECE + 3] {
                let sums = InProcess::run(size, |comm| {
                    let mut buf = vec![parts[comm.rank()]; len];
                    comm.sum(&mut buf);
                    buf
                });
                for buf in sums {
                    assert!(
                        buf.iter().all(|v| v.to_bits() == expected.to_bits()),
                        "{size} workers, {len} values"
                    );
                }
            }
        }
    }

    #[test]
    fn every_entry_is_summed_where_it_is() {
        for size in [2, 3, 4, 8] {
            let sums = InProcess::run(size, |comm| {
                let mut buf: Vec<f64> = (0..37).map(|i| (i * (comm.rank() + 1)) as f64).collect();
                comm.sum(&mut buf);
                buf
            });
            let factor = (size * (size + 1) / 2) as f64;
            for buf in sums {
                assert!(
                    buf.iter()
                        .enumerate()
                        .all(|(i, v)| v.to_bits() == (i as f64 * factor).to_bits()),
                    "{size}"
                );
            }
        }
    }

    #[test]
    fn the_sum_s_halves_share_out_the_parts_and_join_them() {
        for size in [2, 4, 8] {
            for n in [size, 37, 1000] {
                // The parts cover 0..n once, each ⌊n/K⌋ or ⌈n/K⌉ long.
                let mut covered = vec![0; n];
                for r in 0..size {
                    let p = part(n, r, size);
                    assert!(p.len() == n / size || p.len() == n.div_ceil(size));
                    p.for_each(|i| covered[i] += 1);
                }
                assert!(covered.iter().all(|c| *c == 1), "{size} {n}");
                let got = InProcess::run(size, |comm| {
                    let values = |r: usize| -> Vec<f64> {
                        (0..n)
                            .map(|i| ((i * 7 + r * 3) % 11) as f64 * 0.1)
                            .collect()
                    };
                    let mut whole = values(comm.rank());
                    comm.sum(&mut whole);
                    // Half a sum: the part holds the whole sum's bits.
                    let mut halved = values(comm.rank());
                    let own = sum_part(comm, &mut halved, &mut Vec::new());
                    assert_eq!(own, part(n, comm.rank(), size));
                    assert_eq!(halved[own.clone()], whole[own.clone()]);
                    // f32 values: the first round in f32, the same bits as the sum of
                    // the widened values.
                    let narrow: Vec<f32> = (0..n)
                        .map(|i| ((i * 5 + comm.rank() * 7) % 13) as f32 * 0.37 - 2.0)
                        .collect();
                    let mut widened: Vec<f64> = narrow.iter().map(|v| f64::from(*v)).collect();
                    let wide_part = sum_part(comm, &mut widened, &mut Vec::new());
                    let mut summed = Vec::new();
                    let (mut theirs, mut scratch) = (Vec::new(), Vec::new());
                    let from_f32 =
                        sum_part_f32(comm, &narrow, &mut summed, &mut theirs, &mut scratch);
                    assert_eq!(from_f32, wide_part);
                    let bits = |v: &[f64]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&summed[from_f32.clone()]), bits(&widened[wide_part]));
                    // Each worker's part of its own vector, joined (f64, and f32 values).
                    let mut joined: Vec<f64> = vec![f64::NAN; n];
                    joined[own.clone()].copy_from_slice(&whole[own.clone()]);
                    join_parts(comm, &mut joined);
                    let mut joined32: Vec<f32> = vec![f32::NAN; n];
                    joined32[own.clone()]
                        .iter_mut()
                        .zip(&whole[own])
                        .for_each(|(j, w)| *j = *w as f32);
                    join_parts(comm, &mut joined32);
                    (whole, joined, joined32)
                });
                for (whole, joined, joined32) in got {
                    assert_eq!(whole, joined, "{size} {n}");
                    let rounded: Vec<f32> = whole.iter().map(|w| *w as f32).collect();
                    assert_eq!(rounded, joined32, "{size} {n}");
                }
            }
        }
    }

    #[test]
    fn workers_agree_only_on_the_same_fingerprint() {
        let same = InProcess::run(3, |comm| all_agree(comm, fingerprint([&b"data"[..]])));
        assert!(same.iter().all(|a| *a));
        let one_differs = InProcess::run(3, |comm| {
            let data: &[u8] = if comm.rank() == 2 { b"other" } else { b"data" };
            all_agree(comm, fingerprint([data]))
        });
        assert!(one_differs.iter().all(|a| !*a));
    }

    #[test]
    fn broadcast_copies_the_root() {
        let got = InProcess::run(3, |comm| {
            let mut buf = vec![comm.rank() as f64; 4];
            comm.broadcast(&mut buf, 2);
            buf
        });
        assert!(got.iter().all(|b| b == &vec![2.0; 4]));
    }
}
