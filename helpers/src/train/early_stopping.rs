//! Early stopping: end training once the validation loss has stopped
//! improving, the guide's first defence against overfitting, and give back
//! the weights of the best epoch rather than those of the last one.

use tch::Tensor;
use tch::nn::VarStore;

use crate::Result;

/// Watches a loss per epoch and says when it has not improved for `patience`
/// epochs.
///
/// Stopping alone leaves the model with the weights of the *last* epoch,
/// which are `patience` epochs past the best. With
/// [`restore_best_weights`](Self::restore_best_weights) the watcher also
/// keeps a copy of every variable (weights and buffers such as BatchNorm's
/// running statistics) each time the loss improves, and
/// [`restore`](Self::restore) puts the best copy back, like Keras's
/// `EarlyStopping(restore_best_weights=True)`.
/// [`Trainer`](super::Trainer) calls `restore` when training ends.
///
/// ```
/// use aiguide::train::EarlyStopping;
/// let mut stop = EarlyStopping::new(2);
/// let losses = [1.0, 0.8, 0.85, 0.9];
/// let stopped_at = losses.iter().enumerate().find(|&(epoch, &loss)| stop.update(epoch, loss));
/// assert_eq!(stopped_at.map(|(epoch, _)| epoch), Some(3));
/// assert_eq!(stop.best(), Some((1, 0.8)));
/// ```
#[derive(Debug)]
pub struct EarlyStopping {
    patience: usize,
    min_delta: f64,
    best: Option<(usize, f64)>,
    since_best: usize,
    keep: Option<Kept>,
}

/// The model's live variables and a copy of them from the best epoch.
#[derive(Debug)]
struct Kept {
    live: Vec<(String, Tensor)>,
    best: Option<Vec<Tensor>>,
}

impl Clone for EarlyStopping {
    /// The clone watches the same model (its variables are shared, as in a
    /// `VarStore`); kept copies are shared too, since they are never changed
    /// in place.
    fn clone(&self) -> EarlyStopping {
        let shallow = |ts: &[Tensor]| ts.iter().map(Tensor::shallow_clone).collect();
        EarlyStopping {
            keep: self.keep.as_ref().map(|k| Kept {
                live: k
                    .live
                    .iter()
                    .map(|(n, t)| (n.clone(), t.shallow_clone()))
                    .collect(),
                best: k.best.as_deref().map(shallow),
            }),
            ..*self
        }
    }
}

impl PartialEq for EarlyStopping {
    /// Same settings and progress, and both keep (or both do not keep) weights.
    fn eq(&self, other: &EarlyStopping) -> bool {
        (self.patience, self.min_delta, self.best, self.since_best)
            == (
                other.patience,
                other.min_delta,
                other.best,
                other.since_best,
            )
            && self.keep.is_some() == other.keep.is_some()
    }
}

impl EarlyStopping {
    /// Stops after `patience` epochs without improvement.
    pub fn new(patience: usize) -> EarlyStopping {
        EarlyStopping {
            patience: patience.max(1),
            min_delta: 0.0,
            best: None,
            since_best: 0,
            keep: None,
        }
    }

    /// Only a decrease larger than `delta` counts as an improvement.
    pub fn min_delta(mut self, delta: f64) -> EarlyStopping {
        self.min_delta = delta.max(0.0);
        self
    }

    /// Keeps a copy of all of `vs`'s variables at every improvement, so that
    /// [`restore`](Self::restore) can bring the best epoch back. The copy
    /// stays on the variables' device and costs one model's memory.
    pub fn restore_best_weights(mut self, vs: &VarStore) -> EarlyStopping {
        let mut live: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
        live.sort_by(|a, b| a.0.cmp(&b.0));
        self.keep = Some(Kept { live, best: None });
        self
    }

    /// Whether this watcher keeps the best weights.
    pub fn keeps_weights(&self) -> bool {
        self.keep.is_some()
    }

    /// Records the loss of `epoch`; true when training should stop. A NaN
    /// loss never counts as an improvement. When weights are kept, an
    /// improvement copies them (on their device, without waiting for it).
    pub fn update(&mut self, epoch: usize, loss: f64) -> bool {
        let improved = match self.best {
            None => !loss.is_nan(),
            Some((_, best)) => loss < best - self.min_delta,
        };
        if improved {
            self.best = Some((epoch, loss));
            self.since_best = 0;
            if let Some(keep) = self.keep.as_mut() {
                let copy = tch::no_grad(|| keep.live.iter().map(|(_, t)| t.copy()).collect());
                keep.best = Some(copy);
            }
        } else {
            self.since_best += 1;
        }
        self.since_best >= self.patience
    }

    /// The best epoch and its loss so far.
    pub fn best(&self) -> Option<(usize, f64)> {
        self.best
    }

    /// Copies the weights of the best epoch back into the model. Returns the
    /// epoch restored, or `None` when no weights are kept (no
    /// [`restore_best_weights`](Self::restore_best_weights), or no improvement
    /// recorded yet).
    pub fn restore(&self) -> Result<Option<usize>> {
        let (Some(keep), Some((epoch, _))) = (&self.keep, self.best) else {
            return Ok(None);
        };
        let Some(best) = &keep.best else {
            return Ok(None);
        };
        tch::no_grad(|| -> Result<()> {
            for ((_, live), saved) in keep.live.iter().zip(best) {
                let mut live = live.shallow_clone();
                live.f_copy_(saved)?;
            }
            Ok(())
        })?;
        Ok(Some(epoch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::nn::{self, Module};
    use tch::{Device, Kind};

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
        assert_eq!(stop.restore().unwrap(), None, "no weights kept");
    }

    #[test]
    fn restores_weights_and_buffers_of_the_best_epoch() {
        let vs = nn::VarStore::new(Device::Cpu);
        let layer = nn::linear(vs.root() / "fc", 2, 1, Default::default());
        let norm = nn::batch_norm1d(vs.root() / "bn", 1, Default::default());
        let mut stop = EarlyStopping::new(2).restore_best_weights(&vs);
        assert!(stop.keeps_weights() && stop.restore().unwrap().is_none());
        let set = |v: f64| {
            tch::no_grad(|| {
                let _ = layer.ws.shallow_clone().fill_(v);
                let _ = norm.running_mean.shallow_clone().fill_(v);
            })
        };
        let mut stopped = None;
        for (epoch, (value, loss)) in [(1.0, 0.9), (2.0, 0.5), (3.0, 0.7), (4.0, 0.8)]
            .into_iter()
            .enumerate()
        {
            set(value);
            if stop.update(epoch + 1, loss) {
                stopped = Some(epoch + 1);
                break;
            }
        }
        assert_eq!(stopped, Some(4));
        assert_eq!(
            layer.ws.double_value(&[0, 0]),
            4.0,
            "the last epoch's weights"
        );
        let clone = stop.clone();
        assert_eq!(clone, stop);
        assert_eq!(clone.restore().unwrap(), Some(2));
        assert_eq!(
            layer.ws.double_value(&[0, 1]),
            2.0,
            "the best epoch's weights"
        );
        assert_eq!(norm.running_mean.double_value(&[0]), 2.0, "and buffers");
        let x = Tensor::ones([1, 2], (Kind::Float, Device::Cpu));
        assert!(layer.ws.requires_grad() && layer.forward(&x).requires_grad());
    }
}
