//! `--save FILE [--checkpoint-every N]` of `minimize` and `fit`: checkpoints while the
//! run goes, and its final state after it.

use descent::{Checkpoint, Observer, SaveEvery};
use std::path::PathBuf;

/// Where and how often a run saves itself, and under which labels (a resume must use the
/// same method on the same problem).
pub struct Saving<'a> {
    /// `--save`.
    pub path: &'a Option<PathBuf>,
    /// `--checkpoint-every`.
    pub every: Option<u64>,
    /// The method's spec.
    pub method: String,
    /// The problem's label.
    pub problem: &'a str,
}

impl Saving<'_> {
    /// Runs `run` with `watch` as its observer, saving a checkpoint every N iterations
    /// when asked; returns what `run` returned and the error of a checkpoint that failed
    /// (it stopped the run).
    pub fn run<T>(
        &self,
        watch: &mut dyn Observer,
        run: impl FnOnce(&mut dyn Observer) -> T,
    ) -> (T, Option<descent::Error>) {
        match (self.path, self.every) {
            (Some(path), Some(every)) => {
                let mut saver = SaveEvery::new(watch, path, every, &self.method, self.problem);
                let out = run(&mut saver);
                (out, saver.error())
            }
            _ => (run(watch), None),
        }
    }

    /// Saves the run's final state (not after a failed checkpoint: the file keeps the last
    /// one saved).
    pub fn finish(
        &self,
        checkpoint: Option<&Checkpoint>,
        failed: &Option<descent::Error>,
    ) -> anyhow::Result<()> {
        if let (Some(path), Some(c), None) = (self.path, checkpoint, failed) {
            let c = Checkpoint {
                method: self.method.clone(),
                problem: self.problem.to_string(),
                ..c.clone()
            };
            c.save(path)?;
        }
        Ok(())
    }
}

/// Refuses, before any work, a `--save` path that cannot be written: a directory, or a
/// file in a directory that does not exist (found after a whole run, the work was lost).
pub fn check_save_path(path: &std::path::Path) -> anyhow::Result<()> {
    if path.is_dir() {
        anyhow::bail!(
            "--save {}: is a directory; give a file name",
            path.display()
        );
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    if !dir.is_dir() {
        anyhow::bail!(
            "--save {}: there is no directory {}",
            path.display(),
            dir.display()
        );
    }
    Ok(())
}
