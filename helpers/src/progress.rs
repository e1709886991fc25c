//! Progress for long loops. In a notebook it prints whole lines every few
//! steps, because evcxr reads output line by line and cannot show a `\r`
//! progress bar; in a terminal it draws a bar on stderr. It also keeps the
//! losses it is given, for a loss curve at the end.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use crate::plot::{Line, line};

/// Progress of a loop of known length.
///
/// ```
/// use aiguide::Progress;
/// let mut progress = Progress::new(300).every(100);
/// for step in 0..300 {
///     let loss = 1.0 / (step + 1) as f64;
///     progress.step(loss); // prints at steps 100, 200 and 300 in a notebook
/// }
/// let curve = progress.finish(); // a loss-curve plot
/// ```
#[derive(Debug)]
pub struct Progress {
    total: usize,
    every: usize,
    done: usize,
    start: Instant,
    losses: Vec<f64>,
    bar: bool,
    last_draw: Option<Instant>,
}

impl Progress {
    /// Progress over `total` steps, reporting every tenth of the way.
    pub fn new(total: usize) -> Progress {
        // evcxr sets EVCXR_IS_RUNTIME in the process that runs cells.
        let notebook = std::env::var_os("EVCXR_IS_RUNTIME").is_some();
        Progress {
            total,
            every: (total / 10).max(1),
            done: 0,
            start: Instant::now(),
            losses: Vec::new(),
            bar: !notebook && std::io::stderr().is_terminal(),
            last_draw: None,
        }
    }

    /// Prints a line every `n` steps instead.
    pub fn every(mut self, n: usize) -> Progress {
        self.every = n.max(1);
        self
    }

    /// Counts one step without a loss.
    pub fn tick(&mut self) {
        self.advance(None);
    }

    /// Counts one step and records its loss.
    pub fn step(&mut self, loss: f64) {
        self.advance(Some(loss));
    }

    fn advance(&mut self, loss: Option<f64>) {
        self.done += 1;
        self.losses.extend(loss);
        let now = Instant::now();
        if self.bar {
            // Redraw at most ten times a second, and always at the end.
            let due = self
                .last_draw
                .is_none_or(|t| now - t >= Duration::from_millis(100));
            if due || self.done == self.total {
                self.last_draw = Some(now);
                let mut err = std::io::stderr().lock();
                // Progress output is best effort: a closed stderr must not stop training.
                let _ = write!(err, "\r{}", self.bar_text(now - self.start));
                let _ = err.flush();
            }
        } else if self.done.is_multiple_of(self.every) || self.done == self.total {
            println!("{}", self.line_text(now - self.start));
        }
    }

    /// `step 100/1000 (10%) loss 0.2345 | 3.2s elapsed, ETA 28.8s`
    fn line_text(&self, elapsed: Duration) -> String {
        let pct = 100 * self.done / self.total.max(1);
        let mut text = format!("step {}/{} ({pct}%)", self.done, self.total);
        if let Some(loss) = self.recent_loss() {
            text += &format!(" loss {loss:.4}");
        }
        text + &format!(
            " | {} elapsed, ETA {}",
            clock(elapsed),
            clock(self.eta(elapsed))
        )
    }

    /// `[#######-------------]  100/1000 loss 0.2345 ETA 28.8s`
    fn bar_text(&self, elapsed: Duration) -> String {
        const WIDTH: usize = 30;
        let filled = WIDTH * self.done.min(self.total) / self.total.max(1);
        let mut text = format!(
            "[{}{}] {}/{}",
            "#".repeat(filled),
            "-".repeat(WIDTH - filled),
            self.done,
            self.total
        );
        if let Some(loss) = self.recent_loss() {
            text += &format!(" loss {loss:.4}");
        }
        text + &format!(" ETA {}   ", clock(self.eta(elapsed)))
    }

    /// Mean loss over the last `every` steps: smoother than the last one.
    fn recent_loss(&self) -> Option<f64> {
        let recent = &self.losses[self.losses.len().saturating_sub(self.every)..];
        (!recent.is_empty()).then(|| recent.iter().sum::<f64>() / recent.len() as f64)
    }

    fn eta(&self, elapsed: Duration) -> Duration {
        if self.done == 0 {
            return Duration::ZERO;
        }
        elapsed.mul_f64(self.total.saturating_sub(self.done) as f64 / self.done as f64)
    }

    /// The recorded losses, one per [`Progress::step`].
    pub fn losses(&self) -> &[f64] {
        &self.losses
    }

    /// Prints a closing line and returns the loss curve (log scale), which a
    /// notebook shows when it is the cell's last value.
    pub fn finish(&mut self) -> Line {
        if self.bar {
            eprintln!();
        }
        let elapsed = self.start.elapsed();
        let mut text = format!("done: {} steps in {}", self.done, clock(elapsed));
        if let Some(last) = self.recent_loss() {
            text += &format!(", final loss {last:.4}");
        }
        println!("{text}");
        self.loss_curve()
    }

    /// The recorded losses as a line chart on a log scale.
    pub fn loss_curve(&self) -> Line {
        line("loss", &self.losses)
            .log_y()
            .x_label("step")
            .y_label("loss")
    }
}

/// `850ms`, `3.2s`, `2m05s`, `1h02m`.
fn clock(d: Duration) -> String {
    let s = d.as_secs_f64();
    match s {
        s if s < 1.0 => format!("{}ms", d.as_millis()),
        s if s < 60.0 => format!("{s:.1}s"),
        s if s < 3600.0 => format!("{}m{:02}s", s as u64 / 60, s as u64 % 60),
        s => format!("{}h{:02}m", s as u64 / 3600, s as u64 % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(total: usize) -> Progress {
        let mut p = Progress::new(total);
        p.bar = false;
        p
    }

    #[test]
    fn lines_show_rate_and_eta() {
        let mut p = progress(1000).every(100);
        for i in 0..100 {
            p.losses.push(if i < 50 { 1.0 } else { 0.0 });
        }
        p.done = 100;
        assert_eq!(
            p.line_text(Duration::from_secs(10)),
            "step 100/1000 (10%) loss 0.5000 | 10.0s elapsed, ETA 1m30s"
        );
        assert!(
            p.bar_text(Duration::from_secs(10))
                .starts_with("[###---------------------------] 100/1000 loss 0.5000 ETA 1m30s")
        );
    }

    #[test]
    fn steps_record_losses() {
        let mut p = progress(3);
        p.step(2.0);
        p.tick();
        p.step(1.0);
        assert_eq!(p.losses(), [2.0, 1.0]);
        assert!(p.finish().figure().is_ok());
    }

    #[test]
    fn clock_formats() {
        assert_eq!(clock(Duration::from_millis(850)), "850ms");
        assert_eq!(clock(Duration::from_secs(125)), "2m05s");
        assert_eq!(clock(Duration::from_secs(3720)), "1h02m");
    }
}
