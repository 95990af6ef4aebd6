//! The workers of an MPI job (the `mpi` cargo feature: rsmpi over the system's MPI).

use super::Communicator;
use crate::error::{Error, Result};
use mpi::environment::Universe;
use mpi::topology::{Communicator as _, SimpleCommunicator};
use mpi::traits::{Destination, Root, Source};
use mpi::Threading;

/// `MPI_COMM_WORLD` of the job this process was started in (`mpirun -np K …`); a process
/// started alone is a job of one. MPI is finalized when it is dropped.
pub struct Mpi {
    world: SimpleCommunicator,
    // Dropped last: finalizes MPI.
    _universe: Universe,
}

// SAFETY: MPI is initialized with `MPI_THREAD_SERIALIZED` (checked in `init`), which lets
// any thread call MPI as long as no two call it at once. A run calls its communicator from
// one thread at a time: the adapters reduce outside their parallel regions, on the thread
// that drives the run.
unsafe impl Send for Mpi {}
unsafe impl Sync for Mpi {}

impl Mpi {
    /// Initializes MPI (once per process).
    pub fn init() -> Result<Mpi> {
        let (universe, threading) = mpi::initialize_with_threading(Threading::Serialized)
            .ok_or_else(|| Error::config("MPI", "it was initialized already in this process"))?;
        if threading < Threading::Serialized {
            return Err(Error::config(
                "MPI",
                "the MPI library does not let more than one thread call it (MPI_THREAD_SERIALIZED)",
            ));
        }
        Ok(Mpi {
            world: universe.world(),
            _universe: universe,
        })
    }

    /// Whether this process was started by an MPI launcher (the environment variables
    /// that OpenMPI, MPICH and Slurm's PMI set), so that `init` finds a job of several.
    pub fn launched() -> bool {
        [
            "OMPI_COMM_WORLD_SIZE",
            "PMI_SIZE",
            "PMIX_RANK",
            "MPI_LOCALNRANKS",
        ]
        .iter()
        .any(|v| std::env::var_os(v).is_some())
    }

    /// The processes of this job on this machine (to share its cores), when the launcher
    /// says.
    pub fn local_size() -> Option<usize> {
        ["OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS"]
            .iter()
            .find_map(|v| std::env::var(v).ok()?.parse().ok())
    }
}

impl Communicator for Mpi {
    fn rank(&self) -> usize {
        self.world.rank() as usize
    }
    fn size(&self) -> usize {
        self.world.size() as usize
    }
    fn send(&self, buf: &[f64], to: usize) {
        self.world.process_at_rank(to as i32).send(buf);
    }
    fn receive(&self, buf: &mut [f64], from: usize) {
        self.world.process_at_rank(from as i32).receive_into(buf);
    }
    fn exchange(&self, send: &[f64], recv: &mut [f64], partner: usize) {
        let process = self.world.process_at_rank(partner as i32);
        mpi::point_to_point::send_receive_into(send, &process, recv, &process);
    }
    fn exchange_f32(&self, send: &[f32], recv: &mut [f32], partner: usize) {
        let process = self.world.process_at_rank(partner as i32);
        mpi::point_to_point::send_receive_into(send, &process, recv, &process);
    }
    fn broadcast(&self, buf: &mut [f64], root: usize) {
        self.world.process_at_rank(root as i32).broadcast_into(buf);
    }
}
