//! A line every so often while a long step runs, so that minutes of
//! compilation never look like a hang (in a terminal or a CI log alike).

use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Prints `"{label} ({elapsed} s)"` every `every` until dropped.
pub struct Heartbeat {
    _stop: mpsc::Sender<()>,
}

impl Heartbeat {
    pub fn start(label: &'static str, every: Duration) -> Heartbeat {
        let (stop, stopped) = mpsc::channel::<()>();
        let start = Instant::now();
        std::thread::spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                println!("  {label} ({:.0} s)", start.elapsed().as_secs_f64());
            }
        });
        Heartbeat { _stop: stop }
    }
}
