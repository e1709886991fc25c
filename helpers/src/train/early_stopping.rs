//! Early stopping: end training once the validation loss has stopped
//! improving, the guide's first defence against overfitting.

/// Watches a loss per epoch and says when it has not improved for `patience`
/// epochs.
///
/// ```
/// use aiguide::train::EarlyStopping;
/// let mut stop = EarlyStopping::new(2);
/// let losses = [1.0, 0.8, 0.85, 0.9];
/// let stopped_at = losses.iter().enumerate().find(|&(epoch, &loss)| stop.update(epoch, loss));
/// assert_eq!(stopped_at.map(|(epoch, _)| epoch), Some(3));
/// assert_eq!(stop.best(), Some((1, 0.8)));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct EarlyStopping {
    patience: usize,
    min_delta: f64,
    best: Option<(usize, f64)>,
    since_best: usize,
}

impl EarlyStopping {
    /// Stops after `patience` epochs without improvement.
    pub fn new(patience: usize) -> EarlyStopping {
        EarlyStopping {
            patience: patience.max(1),
            min_delta: 0.0,
            best: None,
            since_best: 0,
        }
    }

    /// Only a decrease larger than `delta` counts as an improvement.
    pub fn min_delta(mut self, delta: f64) -> EarlyStopping {
        self.min_delta = delta.max(0.0);
        self
    }

    /// Records the loss of `epoch`; true when training should stop. A NaN
    /// loss never counts as an improvement.
    pub fn update(&mut self, epoch: usize, loss: f64) -> bool {
        let improved = match self.best {
            None => !loss.is_nan(),
            Some((_, best)) => loss < best - self.min_delta,
        };
        if improved {
            self.best = Some((epoch, loss));
            self.since_best = 0;
        } else {
            self.since_best += 1;
        }
        self.since_best >= self.patience
    }

    /// The best epoch and its loss so far.
    pub fn best(&self) -> Option<(usize, f64)> {
        self.best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_delta_ignores_tiny_gains() {
        let mut stop = EarlyStopping::new(2).min_delta(0.1);
        assert!(!stop.update(0, 1.0));
        assert!(!stop.update(1, 0.95));
        assert!(stop.update(2, 0.91));
        assert_eq!(stop.best(), Some((0, 1.0)));
    }

    #[test]
    fn nan_is_never_best() {
        let mut stop = EarlyStopping::new(1);
        assert!(stop.update(0, f64::NAN));
        assert_eq!(stop.best(), None);
        assert!(!stop.update(1, 2.0));
    }
}
