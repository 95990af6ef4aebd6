//! A progress display for long runs: a spinner on stderr with the iteration, f and ‖∇f‖,
//! shown only when stderr is a terminal.

use descent::{Control, IterReport, Observer, Summary};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// Spinner observer; does nothing when stderr is not a terminal or `quiet` is set.
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    pub fn new(quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let b = ProgressBar::new_spinner();
            b.set_style(
                ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
                    .expect("valid template"),
            );
            b.enable_steady_tick(Duration::from_millis(120));
            b
        });
        Progress { bar }
    }
}

impl Observer for Progress {
    fn on_iter(&mut self, r: &IterReport) -> Control {
        if let Some(b) = &self.bar {
            if r.iter % 16 == 1 || r.seconds > 0.5 {
                b.set_message(format!(
                    "iter {:>7}  f = {:<14.8e} |g| = {:<10.3e} f evals {}",
                    r.iter, r.f, r.grad_norm, r.counts.f_evals
                ));
            }
        }
        Control::Continue
    }
    fn on_finish(&mut self, _s: &Summary) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}
