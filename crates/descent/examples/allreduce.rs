//! Latency and bandwidth of `Communicator::sum` (binomial tree + broadcast) over MPI, for
//! the α–β model of the README's scaling section.
//!
//! `cargo build --release -p descent --features mpi --example allreduce`, then
//! `mpirun -np 2 target/release/examples/allreduce`. Prints one JSON line per size from
//! rank 0: the median seconds of one sum, and of a bare MPI point-to-point send of the
//! same buffer one way (its α + nβ).

#[cfg(feature = "mpi")]
fn main() {
    use descent::comm::{Communicator, Mpi};
    use std::time::Instant;
    let comm = Mpi::init().expect("MPI");
    let sizes = [
        1usize,
        16,
        256,
        4096,
        1 << 14,
        1 << 16,
        1 << 18,
        1 << 20,
        1 << 22,
    ];
    for &n in &sizes {
        let mut buf = vec![1.0; n];
        let reps = (50_000_000 / (n * 8 + 2000)).clamp(5, 2000);
        let median = |times: &mut Vec<f64>| {
            times.sort_by(f64::total_cmp);
            times[times.len() / 2]
        };
        let mut sum_times = Vec::with_capacity(reps);
        let mut send_times = Vec::with_capacity(reps);
        for _ in 0..reps {
            comm.broadcast(&mut buf[..1], 0); // line the ranks up
            let t = Instant::now();
            comm.sum(&mut buf);
            sum_times.push(t.elapsed().as_secs_f64());
            buf.iter_mut().for_each(|v| *v = 1.0);
            comm.broadcast(&mut buf[..1], 0);
            let t = Instant::now();
            // A ping-pong between ranks 0 and 1: half of it is one send.
            if comm.rank() == 0 {
                comm.send(&buf, 1);
                comm.receive(&mut buf, 1);
            } else if comm.rank() == 1 {
                comm.receive(&mut buf, 0);
                comm.send(&buf, 0);
            }
            send_times.push(t.elapsed().as_secs_f64() / 2.0);
        }
        if comm.is_root() {
            println!(
                "{{\"values\": {n}, \"bytes\": {}, \"workers\": {}, \"sum_seconds\": {:.3e}, \"send_seconds\": {:.3e}}}",
                n * 8,
                comm.size(),
                median(&mut sum_times),
                median(&mut send_times)
            );
        }
    }
}

#[cfg(not(feature = "mpi"))]
fn main() {
    eprintln!("build with --features mpi and run under mpirun");
    std::process::exit(2);
}
