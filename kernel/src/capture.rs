//! Collecting a cell's stdout and stderr lines from evcxr.
//!
//! evcxr forwards the runtime's output line by line over channels. Before
//! `execute` returns it waits until the stdout channel is empty, i.e. until
//! our reader has taken every line; the reader holds its buffer's lock from
//! `recv` until the line is stored, so a cell's lines are all in the buffer by
//! the time the runner takes them. stderr has no such handshake: the runner
//! lets it settle briefly instead.

use crossbeam_channel::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_millis(5);

pub struct Capture {
    lines: Arc<Mutex<Vec<String>>>,
}

impl Capture {
    /// Starts a reader thread that ends when evcxr drops the sender.
    pub fn spawn(receiver: Receiver<String>) -> Capture {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let buffer = Arc::clone(&lines);
        std::thread::spawn(move || {
            loop {
                let mut guard = buffer.lock().unwrap_or_else(|poison| poison.into_inner());
                match receiver.recv_timeout(POLL) {
                    Ok(line) => guard.push(line),
                    Err(RecvTimeoutError::Timeout) => {
                        drop(guard);
                        // Give `take` a chance at the lock between polls.
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            }
        });
        Capture { lines }
    }

    /// Removes and returns the lines captured so far.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(
            &mut *self
                .lines
                .lock()
                .unwrap_or_else(|poison| poison.into_inner()),
        )
    }

    /// Waits until no new line has arrived for `quiet` (at most `limit`), then
    /// takes the lines.
    pub fn take_settled(&self, quiet: Duration, limit: Duration) -> Vec<String> {
        let start = Instant::now();
        let mut seen = self.len();
        let mut last_change = Instant::now();
        while start.elapsed() < limit && last_change.elapsed() < quiet {
            std::thread::sleep(POLL);
            let now = self.len();
            if now != seen {
                seen = now;
                last_change = Instant::now();
            }
        }
        self.take()
    }

    fn len(&self) -> usize {
        self.lines
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_sent_before_the_channel_drains_is_taken() {
        let (sender, receiver) = crossbeam_channel::unbounded();
        let capture = Capture::spawn(receiver);
        for round in 0..200 {
            sender.send(format!("line {round}")).unwrap();
            // What evcxr does before returning from `execute`.
            while !sender.is_empty() {
                std::thread::yield_now();
            }
            assert_eq!(capture.take(), vec![format!("line {round}")]);
        }
    }

    #[test]
    fn settled_take_waits_for_late_lines() {
        let (sender, receiver) = crossbeam_channel::unbounded();
        let capture = Capture::spawn(receiver);
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            sender.send("late".to_owned()).unwrap();
        });
        let lines = capture.take_settled(Duration::from_millis(60), Duration::from_secs(2));
        assert_eq!(lines, vec!["late".to_owned()]);
    }
}
