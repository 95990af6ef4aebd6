//! `mpirun -np K descent train …` and `descent fit …`: the workers of the job, when there
//! are several.
//!
//! Built with the `mpi` feature, a process started by an MPI launcher joins its job; rank 0
//! alone prints and saves, and the others work on their share in silence. Built without
//! it, a process that finds itself in a job of several refuses to start, rather than do K
//! times the same work alone.

use anyhow::Result;
use descent::comm::Communicator;
use std::sync::Arc;

/// The job's workers, or `None` for a process on its own.
pub fn world() -> Result<Option<Arc<dyn Communicator>>> {
    #[cfg(feature = "mpi")]
    {
        use descent::comm::Mpi;
        if !Mpi::launched() {
            return Ok(None);
        }
        let mpi = Mpi::init().map_err(|e| anyhow::anyhow!("{e}"))?;
        if mpi.size() <= 1 {
            return Ok(None);
        }
        announce_termination(mpi.rank());
        Ok(Some(Arc::new(mpi)))
    }
    #[cfg(not(feature = "mpi"))]
    {
        let size = ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE"]
            .iter()
            .find_map(|v| std::env::var(v).ok()?.parse::<usize>().ok());
        match size {
            Some(k) if k > 1 => anyhow::bail!(
                "this descent was built without MPI, so the {k} processes of this job would each \
                 work alone; build it with `cargo build --release --features mpi`"
            ),
            _ => Ok(None),
        }
    }
}

/// Threads per worker when `--threads` is not given: the machine's cores shared among the
/// job's processes on it.
pub fn default_threads() -> Option<usize> {
    #[cfg(feature = "mpi")]
    {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        descent::comm::Mpi::local_size().map(|local| (cores / local.max(1)).max(1))
    }
    #[cfg(not(feature = "mpi"))]
    None
}

/// When one rank dies, the launcher ends the others with SIGTERM: each says so in one line
/// and what to do next, instead of vanishing.
#[cfg(feature = "mpi")]
fn announce_termination(rank: usize) {
    use std::sync::OnceLock;
    static MESSAGE: OnceLock<Vec<u8>> = OnceLock::new();
    MESSAGE.get_or_init(|| {
        format!(
            "descent: rank {rank} stopped by the MPI launcher (another rank ended or the job was \
             cancelled); a run saved with --checkpoint-every resumes with --resume\n"
        )
        .into_bytes()
    });
    extern "C" fn on_term(_: libc::c_int) {
        if let Some(m) = MESSAGE.get() {
            // SAFETY: write(2) and _exit(2) are async-signal-safe; the message was built
            // before the handler was installed and is never changed.
            unsafe {
                libc::write(2, m.as_ptr().cast(), m.len());
                libc::_exit(143);
            }
        }
    }
    let handler: extern "C" fn(libc::c_int) = on_term;
    // SAFETY: installs a handler that only calls async-signal-safe functions.
    unsafe {
        libc::signal(libc::SIGTERM, handler as libc::sighandler_t);
    }
}
