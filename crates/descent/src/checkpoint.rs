//! Checkpoints: everything a run needs to continue exactly where it stopped — the driver's
//! iterate, best point, counters and iteration count, and the method's own state — in one
//! versioned JSON file written atomically (a temporary file in the same folder, flushed to
//! disk, then renamed over the old one).
//!
//! Floating-point numbers are written in their shortest round-trip form and read back
//! correctly rounded (serde_json's `float_roundtrip`), so a resumed run continues bit for
//! bit.

use crate::driver::{Control, IterReport, Iterate, Observer, Summary, Termination};
use crate::error::{Error, Result};
use crate::problem::Counts;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The `format` field every checkpoint file carries.
pub const FORMAT: &str = "descent-checkpoint";
/// The current layout version.
pub const VERSION: u32 = 1;

/// The state of a run between two iterations.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Always [`FORMAT`].
    pub format: String,
    /// Layout version ([`VERSION`]).
    pub version: u32,
    /// The method, as its spec (`lbfgs:memory=5`): a resume must use the same.
    pub method: String,
    /// What was minimized (a problem label): a resume must be on the same problem.
    pub problem: String,
    /// Iterations done.
    pub iterations: u64,
    /// Evaluations done.
    pub counts: Counts,
    /// Wall time spent so far, in seconds.
    pub seconds: f64,
    /// How the saved run ended; a resume continues only runs that ran out of a budget or
    /// were stopped by an observer.
    pub termination: Option<Termination>,
    /// The current iterate.
    pub iterate: Iterate,
    /// The best finite iterate seen.
    pub best: Iterate,
    /// The method's own state ([`crate::Minimizer::save_state`]).
    pub method_state: serde_json::Value,
    /// The method's large state vectors ([`crate::Minimizer::state_buffers`]).
    #[serde(default)]
    pub buffers: Vec<(String, Vec<f64>)>,
    /// A digest of everything else in the file ([`Digest`]), written by
    /// [`Checkpoint::save`]: a file changed after it was written is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
}

/// FNV-1a (64 bits) over bytes: detects a file changed after descent wrote it — a
/// flipped bit, a truncated or edited number — though not a deliberate forgery.
#[derive(Clone, Copy, Debug)]
pub struct Digest(u64);

impl Default for Digest {
    fn default() -> Self {
        Digest(0xcbf2_9ce4_8422_2325)
    }
}

impl Digest {
    /// Adds `bytes`.
    pub fn update(&mut self, bytes: &[u8]) -> &mut Self {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
        }
        self
    }
    /// The digest so far, as 16 hexadecimal digits.
    pub fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

impl Checkpoint {
    /// Writes the checkpoint to `path` atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        // The checksum is the last field: the signed text is the unsigned one with it
        // appended (no copy of the checkpoint's vectors).
        let mut text = match self.checksum {
            None => self.unsigned_json()?,
            Some(_) => self.clone().signed()?.unsigned_json()?,
        };
        let sum = Digest::default().update(&text).hex();
        debug_assert_eq!(text.last(), Some(&b'}'));
        text.pop();
        text.extend_from_slice(format!(",\"checksum\":\"{sum}\"}}").as_bytes());
        write_atomic(path, &text)
    }

    /// The checkpoint with its checksum set (as [`Checkpoint::save`] writes it).
    pub fn signed(mut self) -> Result<Self> {
        self.checksum = None;
        self.checksum = Some(Digest::default().update(&self.unsigned_json()?).hex());
        Ok(self)
    }

    /// The JSON text of the checkpoint without its checksum (which reads back to the same
    /// text: numbers round-trip, objects keep their keys sorted), for its digest.
    fn unsigned_json(&self) -> Result<Vec<u8>> {
        let text = if self.checksum.is_none() {
            serde_json::to_vec(self)
        } else {
            serde_json::to_vec(&Checkpoint {
                checksum: None,
                ..self.clone()
            })
        };
        text.map_err(|e| Error::Parse(e.to_string()))
    }

    /// Reads a checkpoint written by [`Checkpoint::save`].
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read(path).map_err(|e| {
            Error::Io(std::io::Error::new(
                e.kind(),
                format!("cannot read checkpoint {}: {e}", path.display()),
            ))
        })?;
        Self::from_bytes(&text, &path.display().to_string())
    }

    /// Reads a checkpoint from the bytes of its file; `source` names it in errors.
    pub fn from_bytes(bytes: &[u8], source: &str) -> Result<Self> {
        let mut c: Checkpoint = serde_json::from_slice(bytes)
            .map_err(|e| Error::Parse(format!("{source} is not a descent checkpoint ({e})")))?;
        if c.format != FORMAT || c.version != VERSION {
            return Err(Error::Parse(format!(
                "{source} is not a version-{VERSION} descent checkpoint"
            )));
        }
        let stored = c.checksum.take();
        let computed = Digest::default().update(&c.unsigned_json()?).hex();
        check_sum(source, stored.as_deref(), &computed)?;
        c.checksum = stored;
        Ok(c)
    }

    /// Refuses to resume with another method or on another problem.
    pub fn check_matches(&self, method: &str, problem: &str) -> Result<()> {
        if self.method != method {
            return Err(Error::config(
                "resume",
                format!(
                    "the checkpoint was saved by method '{}', not '{method}'",
                    self.method
                ),
            ));
        }
        if self.problem != problem {
            return Err(Error::config(
                "resume",
                format!(
                    "the checkpoint was saved on problem '{}', not '{problem}'",
                    self.problem
                ),
            ));
        }
        Ok(())
    }
}

/// Refuses a file whose stored checksum is not the one its content gives, or is missing.
pub(crate) fn check_sum(source: &str, stored: Option<&str>, computed: &str) -> Result<()> {
    match stored {
        Some(sum) if sum == computed => Ok(()),
        Some(_) => Err(Error::Parse(format!(
            "{source} is damaged: it changed after it was saved (its checksum does not match); it cannot be resumed"
        ))),
        None => Err(Error::Parse(format!(
            "{source} has no checksum (damaged, or saved by an older descent); it cannot be resumed"
        ))),
    }
}

/// Saves the run to a checkpoint file every `every` iterations while passing everything
/// to the observer it wraps, so that a run killed at any moment resumes from its last
/// checkpoint and ends exactly as if it had not been stopped. A save that fails stops the
/// run ([`Termination::ObserverStop`]) and keeps its error ([`SaveEvery::error`]); the
/// file on disk stays the previous checkpoint.
pub struct SaveEvery<'a> {
    inner: &'a mut dyn Observer,
    path: PathBuf,
    every: u64,
    method: String,
    problem: String,
    error: Option<Error>,
}

impl<'a> SaveEvery<'a> {
    /// Checkpoints of the run of `method` (its spec) on `problem` (its label), written to
    /// `path` every `every` iterations (at least 1).
    pub fn new(
        inner: &'a mut dyn Observer,
        path: &Path,
        every: u64,
        method: &str,
        problem: &str,
    ) -> Self {
        SaveEvery {
            inner,
            path: path.to_path_buf(),
            every: every.max(1),
            method: method.to_string(),
            problem: problem.to_string(),
            error: None,
        }
    }

    /// The error of the save that stopped the run, if one failed.
    pub fn error(self) -> Option<Error> {
        self.error
    }
}

impl Observer for SaveEvery<'_> {
    fn on_start(&mut self, method: &str, n: usize, f0: f64) {
        self.inner.on_start(method, n, f0)
    }
    fn on_iter(&mut self, r: &IterReport) -> Control {
        match self.inner.on_iter(r) {
            Control::Stop => Control::Stop,
            _ if self.error.is_some() => Control::Stop,
            _ if r.iter.is_multiple_of(self.every) => Control::Checkpoint,
            other => other,
        }
    }
    fn on_point(&mut self, x: &[f64]) {
        self.inner.on_point(x)
    }
    fn on_checkpoint(&mut self, c: &Checkpoint) {
        let c = Checkpoint {
            method: self.method.clone(),
            problem: self.problem.clone(),
            ..c.clone()
        };
        if let Err(e) = c.save(&self.path) {
            self.error = Some(e);
        }
        self.inner.on_checkpoint(&c);
    }
    fn on_finish(&mut self, s: &Summary) {
        self.inner.on_finish(s)
    }
}

/// Removes `.NAME.tmp-PID` files in `dir` whose process is gone (Linux: no `/proc/PID`).
fn remove_stale_temporaries(dir: &Path, name: &str) {
    let prefix = format!(".{name}.tmp-");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let file = e.file_name();
        let Some(pid) = file.to_str().and_then(|f| f.strip_prefix(&prefix)) else {
            continue;
        };
        let alive = pid
            .parse::<u32>()
            .is_ok_and(|p| p == std::process::id() || Path::new(&format!("/proc/{p}")).exists());
        if !alive && Path::new("/proc/self").exists() {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Writes `bytes` to `path` so that a reader sees the old file or the new one, never a
/// mixture: a temporary file beside it, flushed to disk, renamed over `path`, the folder
/// flushed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| {
        Error::config(
            "save path",
            format!("'{}' is not a file name", path.display()),
        )
    })?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    // A temporary file left by a process that was killed mid-write is removed here, by
    // the next save of the same file.
    remove_stale_temporaries(dir, &name.to_string_lossy());
    let res = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // The rename is durable once the folder's entry is on disk.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::Io(std::io::Error::new(
            e.kind(),
            format!("cannot write {}: {e}", path.display()),
        )));
    }
    Ok(())
}
