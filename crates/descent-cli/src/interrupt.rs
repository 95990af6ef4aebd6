//! Ctrl-C: the first press asks long jobs to stop and keep what finished; a second one
//! exits at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Installs the handler (once).
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = ctrlc::set_handler(|| {
            if REQUESTED.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
            eprintln!("\ninterrupted: finishing up and keeping the finished results (Ctrl-C again to quit)");
        });
    });
}

/// Whether Ctrl-C was pressed.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Passes everything to `inner` and stops the run when Ctrl-C was pressed (the run then
/// ends with `observer_stop`, and a `--save` keeps its state).
pub struct StopOnInterrupt<'a, O: descent::Observer>(pub &'a mut O);

impl<O: descent::Observer> descent::Observer for StopOnInterrupt<'_, O> {
    fn on_start(&mut self, method: &str, n: usize, f0: f64) {
        self.0.on_start(method, n, f0)
    }
    fn on_iter(&mut self, r: &descent::IterReport) -> descent::Control {
        if requested() {
            return descent::Control::Stop;
        }
        self.0.on_iter(r)
    }
    fn on_point(&mut self, x: &[f64]) {
        self.0.on_point(x)
    }
    fn on_checkpoint(&mut self, c: &descent::Checkpoint) {
        self.0.on_checkpoint(c)
    }
    fn on_finish(&mut self, s: &descent::Summary) {
        self.0.on_finish(s)
    }
}
