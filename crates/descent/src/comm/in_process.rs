//! Workers as threads of one process, talking through channels: a distributed run without
//! MPI, for tests and to try a data-parallel setting on one machine.

use super::Communicator;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Mutex;

/// One worker of a group of threads (made by [`InProcess::run`]).
pub struct InProcess {
    rank: usize,
    size: usize,
    /// `to[j]`: the channel to worker j.
    to: Vec<Sender<Vec<f64>>>,
    /// `from[j]`: the channel from worker j (messages from one sender arrive in order).
    from: Vec<Mutex<Receiver<Vec<f64>>>>,
}

impl InProcess {
    /// Runs `work` on `size` threads, each with its worker of one group, and returns what
    /// each returned, in rank order. A worker that panics makes the run panic.
    pub fn run<R: Send>(size: usize, work: impl Fn(&InProcess) -> R + Sync) -> Vec<R> {
        let workers = InProcess::group(size);
        InProcess::on_threads(&workers, |w| work(w))
    }

    /// [`InProcess::run`] with each worker handed over shared (for what keeps its
    /// communicator, as [`crate::nn::Experiment::prepare_distributed`] does).
    pub fn run_shared<R: Send>(
        size: usize,
        work: impl Fn(std::sync::Arc<InProcess>) -> R + Sync,
    ) -> Vec<R> {
        let workers: Vec<std::sync::Arc<InProcess>> = InProcess::group(size)
            .into_iter()
            .map(std::sync::Arc::new)
            .collect();
        InProcess::on_threads(&workers, |w| work(w.clone()))
    }

    /// The workers of a group of `size` (at least one).
    fn group(size: usize) -> Vec<InProcess> {
        let size = size.max(1);
        // channels[i][j] carries messages from i to j.
        let mut senders: Vec<Vec<Option<Sender<Vec<f64>>>>> = vec![];
        let mut receivers: Vec<Vec<Option<Receiver<Vec<f64>>>>> = (0..size)
            .map(|_| (0..size).map(|_| None).collect())
            .collect();
        for i in 0..size {
            let mut row = vec![];
            for receiver_row in receivers.iter_mut() {
                let (tx, rx) = channel();
                row.push(Some(tx));
                receiver_row[i] = Some(rx);
            }
            senders.push(row);
        }
        senders
            .into_iter()
            .zip(receivers)
            .enumerate()
            .map(|(rank, (to, from))| InProcess {
                rank,
                size,
                to: to.into_iter().flatten().collect(),
                from: from.into_iter().flatten().map(Mutex::new).collect(),
            })
            .collect()
    }

    /// `work` on each of `workers`, a thread each; the results in order.
    fn on_threads<W: Sync, R: Send>(workers: &[W], work: impl Fn(&W) -> R + Sync) -> Vec<R> {
        std::thread::scope(|s| {
            let handles: Vec<_> = workers
                .iter()
                .map(|w| {
                    let work = &work;
                    s.spawn(move || work(w))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        })
    }
}

impl Communicator for InProcess {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.size
    }
    fn send(&self, buf: &[f64], to: usize) {
        self.to[to]
            .send(buf.to_vec())
            .expect("in-process worker: the receiving worker has ended");
    }
    fn receive(&self, buf: &mut [f64], from: usize) {
        let got = self.from[from]
            .lock()
            .expect("in-process worker: a receiver panicked")
            .recv()
            .expect("in-process worker: the sending worker has ended");
        assert_eq!(
            got.len(),
            buf.len(),
            "in-process worker: message of another length"
        );
        buf.copy_from_slice(&got);
    }
    fn exchange(&self, send: &[f64], recv: &mut [f64], partner: usize) {
        // Channels do not block the sender: send, then receive.
        self.send(send, partner);
        self.receive(recv, partner);
    }
    fn broadcast(&self, buf: &mut [f64], root: usize) {
        if self.rank == root {
            for to in (0..self.size).filter(|&j| j != root) {
                self.send(buf, to);
            }
        } else {
            self.receive(buf, root);
        }
    }
}
