//! A small, complete training loop on tch: the loop the guide writes by hand
//! in chapter 2, written once with mini-batches, validation, learning-rate
//! schedule, early stopping (with the best weights restored) and a history
//! to plot.

use std::time::Instant;

use tch::nn::{ModuleT, Optimizer};
use tch::{Kind, Reduction, Tensor};

use super::metrics::correct_predictions;
use super::{EarlyStopping, Epoch, History, Schedule, batches};
use crate::{Error, Result};

/// The loss a [`Trainer`] minimizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    /// Multi-class: logits `[N, C]`, Int64 class targets `[N]`. Accuracy is recorded.
    CrossEntropy,
    /// Binary: one logit per sample, 0/1 targets. Accuracy is recorded.
    BinaryCrossEntropy,
    /// Regression: outputs and targets of the same size.
    Mse,
}

impl Loss {
    /// The mean loss of a batch.
    pub fn compute(self, output: &Tensor, targets: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Loss::CrossEntropy => {
                output.f_cross_entropy_loss::<Tensor>(targets, None, Reduction::Mean, -100, 0.0)?
            }
            Loss::BinaryCrossEntropy => {
                let logits = output.f_reshape([-1])?;
                let targets = targets.f_reshape([-1])?.f_to_kind(logits.kind())?;
                logits.f_binary_cross_entropy_with_logits::<Tensor>(
                    &targets,
                    None,
                    None,
                    Reduction::Mean,
                )?
            }
            Loss::Mse => {
                let output = output.f_reshape(targets.size())?;
                output.f_mse_loss(&targets.f_to_kind(output.kind())?, Reduction::Mean)?
            }
        })
    }

    fn is_classification(self) -> bool {
        self != Loss::Mse
    }
}

/// Settings of a training run; [`Trainer::fit`] runs it.
///
/// ```no_run
/// use aiguide::prelude::*;
/// # fn main() -> aiguide::Result<()> {
/// let vs = nn::VarStore::new(Device::Cpu);
/// let model = nn::seq()
///     .add(nn::linear(vs.root() / "l1", 784, 256, Default::default()))
///     .add_fn(|x| x.relu())
///     .add(nn::linear(vs.root() / "l2", 256, 10, Default::default()));
/// let mut opt = nn::Adam::default().build(&vs, 1e-3)?;
/// # let (x, y) = (Tensor::zeros([100, 784], (Kind::Float, Device::Cpu)), Tensor::zeros([100], (Kind::Int64, Device::Cpu)));
/// let history = Trainer::new(20)
///     .batch_size(64)
///     .schedule(1e-3, Schedule::WarmupCosine { warmup: 100, total: 20 * 2 })
///     // stop after 3 epochs without progress, and end with the best epoch's weights
///     .early_stopping(EarlyStopping::new(3).restore_best_weights(&vs))
///     .fit(&model, &mut opt, (&x, &y), Some((&x, &y)))?;
/// history.plot()?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Trainer {
    epochs: usize,
    batch_size: i64,
    loss: Loss,
    schedule: Option<(f64, Schedule)>,
    early_stopping: Option<EarlyStopping>,
    verbose: bool,
}

impl Trainer {
    /// Up to `epochs` passes over the data; batches of 64, cross-entropy,
    /// the optimizer's own learning rate, one printed line per epoch.
    pub fn new(epochs: usize) -> Trainer {
        Trainer {
            epochs,
            batch_size: 64,
            loss: Loss::CrossEntropy,
            schedule: None,
            early_stopping: None,
            verbose: true,
        }
    }

    /// Samples per optimizer step.
    pub fn batch_size(mut self, batch_size: i64) -> Trainer {
        self.batch_size = batch_size;
        self
    }

    /// The loss to minimize.
    pub fn loss(mut self, loss: Loss) -> Trainer {
        self.loss = loss;
        self
    }

    /// Sets the learning rate to `base * schedule.factor(step)` before every
    /// optimizer step (steps count batches, from 0).
    pub fn schedule(mut self, base: f64, schedule: Schedule) -> Trainer {
        self.schedule = Some((base, schedule));
        self
    }

    /// Stops when the validation loss (training loss without validation
    /// data) stops improving. If `early_stopping` keeps weights
    /// ([`EarlyStopping::restore_best_weights`]), `fit` ends by putting the
    /// best epoch's weights back into the model, whether it stopped early or
    /// ran all its epochs.
    pub fn early_stopping(mut self, early_stopping: EarlyStopping) -> Trainer {
        self.early_stopping = Some(early_stopping);
        self
    }

    /// No per-epoch lines.
    pub fn quiet(mut self) -> Trainer {
        self.verbose = false;
        self
    }

    /// Optimizer steps per epoch for `samples` training samples, to size a schedule.
    pub fn steps_per_epoch(&self, samples: usize) -> usize {
        samples.div_ceil(self.batch_size.max(1) as usize)
    }

    /// Trains `model` with `optimizer` on `train` (inputs, targets), shuffling
    /// every epoch, and evaluates on `valid` after each epoch. Data and model
    /// must be on the same device.
    ///
    /// The training loss and accuracy are summed on the device and read once
    /// per epoch: reading them after every batch would make the CPU wait for
    /// the GPU each time and stall the queue of work.
    pub fn fit<M: ModuleT + ?Sized>(
        &self,
        model: &M,
        optimizer: &mut Optimizer,
        train: (&Tensor, &Tensor),
        valid: Option<(&Tensor, &Tensor)>,
    ) -> Result<History> {
        let (x, y) = train;
        if x.size().first() != y.size().first() {
            return Err(Error::InvalidArgument(format!(
                "fit: {:?} inputs but {:?} targets",
                x.size(),
                y.size()
            )));
        }
        if self.loss == Loss::CrossEntropy && y.kind() != Kind::Int64 {
            return Err(Error::InvalidArgument(format!(
                "fit: cross-entropy needs Int64 class targets, got {:?}",
                y.kind()
            )));
        }
        let mut early_stopping = self.early_stopping.clone();
        let mut history = History::default();
        let mut step = 0;
        // The optimizer's own rate is not readable from tch: None until a
        // schedule sets one.
        let mut lr = None;
        for epoch in 1..=self.epochs {
            let start = Instant::now();
            let mut sums = DeviceSums::default();
            for (xb, yb) in batches(x, y, self.batch_size, true)? {
                if let Some((base, schedule)) = self.schedule {
                    let rate = schedule.lr(base, step);
                    optimizer.set_lr(rate);
                    lr = Some(rate);
                }
                let output = model.forward_t(&xb, true);
                let loss = self.loss.compute(&output, &yb)?;
                optimizer.backward_step(&loss);
                sums.add(&output, &yb, &loss, self.loss)?;
                step += 1;
            }
            let (train_loss, train_accuracy) = sums.read()?;
            let (val_loss, val_accuracy) = match valid {
                Some((vx, vy)) => {
                    let (loss, acc) = evaluate(model, vx, vy, self.loss, self.batch_size)?;
                    (Some(loss), acc)
                }
                None => (None, None),
            };
            let record = Epoch {
                epoch,
                train_loss,
                train_accuracy,
                val_loss,
                val_accuracy,
                lr,
                seconds: start.elapsed().as_secs_f64(),
            };
            if self.verbose {
                println!("{}", epoch_line(&record, self.epochs));
            }
            let monitored = record.val_loss.unwrap_or(record.train_loss);
            history.epochs.push(record);
            if let Some(stop) = early_stopping.as_mut()
                && stop.update(epoch, monitored)
            {
                if self.verbose
                    && let Some((best, loss)) = stop.best()
                {
                    println!(
                        "early stopping after epoch {epoch}: best was epoch {best} (loss {loss:.4})"
                    );
                }
                break;
            }
        }
        if let Some(stop) = &early_stopping
            && let Some(best) = stop.restore()?
            && self.verbose
        {
            println!("restored the weights of epoch {best}");
        }
        Ok(history)
    }
}

/// Loss and correct predictions summed over an epoch's batches on the device.
#[derive(Default)]
struct DeviceSums {
    loss: Option<Tensor>,
    correct: Option<Tensor>,
    seen: i64,
}

impl DeviceSums {
    /// Adds a batch: its mean `loss` times its size, and (for classification)
    /// its correct predictions. Nothing is copied to the host.
    fn add(&mut self, output: &Tensor, targets: &Tensor, loss: &Tensor, kind: Loss) -> Result<()> {
        let n = targets.size().first().copied().unwrap_or(0);
        tch::no_grad(|| -> Result<()> {
            let batch_loss = loss.f_detach()?.f_to_kind(Kind::Double)?.f_mul_scalar(n)?;
            self.loss = Some(match self.loss.take() {
                Some(total) => total.f_add(&batch_loss)?,
                None => batch_loss,
            });
            if kind.is_classification() {
                let right = correct_predictions(output, targets)?;
                self.correct = Some(match self.correct.take() {
                    Some(total) => total.f_add(&right)?,
                    None => right,
                });
            }
            Ok(())
        })?;
        self.seen += n;
        Ok(())
    }

    /// Mean loss and accuracy, read from the device once. NaN loss without batches.
    fn read(&self) -> Result<(f64, Option<f64>)> {
        let seen = self.seen.max(1) as f64;
        let loss = match &self.loss {
            Some(total) => total.f_double_value(&[])? / seen,
            None => f64::NAN,
        };
        let accuracy = match &self.correct {
            Some(total) => Some(total.f_double_value(&[])? / seen),
            None => None,
        };
        Ok((loss, accuracy))
    }
}

/// Mean loss and (for classification losses) accuracy of `model` on `(x, y)`,
/// in evaluation mode and without gradients.
pub fn evaluate<M: ModuleT + ?Sized>(
    model: &M,
    x: &Tensor,
    y: &Tensor,
    loss: Loss,
    batch_size: i64,
) -> Result<(f64, Option<f64>)> {
    tch::no_grad(|| {
        let mut sums = DeviceSums::default();
        for (xb, yb) in batches(x, y, batch_size, false)? {
            let output = model.forward_t(&xb, false);
            sums.add(&output, &yb, &loss.compute(&output, &yb)?, loss)?;
        }
        if sums.seen == 0 {
            return Err(Error::InvalidArgument("evaluate: no samples".into()));
        }
        sums.read()
    })
}

/// `epoch  3/20  train loss 0.4123 acc 88.10% | val loss 0.4500 acc 86.00% | lr 1.00e-3 | 2.1s`
fn epoch_line(e: &Epoch, epochs: usize) -> String {
    let width = epochs.to_string().len();
    let mut line = format!(
        "epoch {:>width$}/{epochs}  train loss {:.4}",
        e.epoch, e.train_loss
    );
    if let Some(acc) = e.train_accuracy {
        line += &format!(" acc {:.2}%", 100.0 * acc);
    }
    if let Some(loss) = e.val_loss {
        line += &format!(" | val loss {loss:.4}");
    }
    if let Some(acc) = e.val_accuracy {
        line += &format!(" acc {:.2}%", 100.0 * acc);
    }
    if let Some(lr) = e.lr {
        line += &format!(" | lr {lr:.2e}");
    }
    line + &format!(" | {:.1}s", e.seconds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;
    use tch::nn::{self, Module, OptimizerConfig};

    /// Two well-separated Gaussian blobs.
    fn blobs(n: i64) -> (Tensor, Tensor) {
        let y = Tensor::arange(n, (Kind::Int64, Device::Cpu)).remainder(2);
        let centre = (y.to_kind(Kind::Float) * 4.0 - 2.0)
            .unsqueeze(1)
            .repeat([1, 2]);
        let x = Tensor::randn([n, 2], (Kind::Float, Device::Cpu)) * 0.5 + centre;
        (x, y)
    }

    #[test]
    fn learns_a_separable_problem() {
        let _rng = crate::torch_rng_lock();
        crate::seed_all(0);
        let (x, y) = blobs(200);
        let vs = nn::VarStore::new(Device::Cpu);
        let model = nn::seq()
            .add(nn::linear(vs.root() / "l1", 2, 8, Default::default()))
            .add_fn(|t| t.relu())
            .add(nn::linear(vs.root() / "l2", 8, 2, Default::default()));
        let mut opt = nn::Adam::default().build(&vs, 1e-2).unwrap();
        let trainer = Trainer::new(15)
            .batch_size(32)
            .schedule(1e-2, Schedule::Cosine { total: 15 * 7 })
            .quiet();
        assert_eq!(trainer.steps_per_epoch(200), 7);
        let history = trainer
            .fit(&model, &mut opt, (&x, &y), Some((&x, &y)))
            .unwrap();
        assert_eq!(history.epochs.len(), 15);
        let last = history.epochs.last().unwrap();
        assert!(last.val_accuracy.unwrap() > 0.95, "{last:?}");
        assert!(last.train_loss < history.epochs[0].train_loss);
        let last_lr = last.lr.expect("a schedule records the rate");
        assert!(last_lr < 1e-3, "cosine decayed to {last_lr}");
        let (loss, acc) = evaluate(&model, &x, &y, Loss::CrossEntropy, 50).unwrap();
        assert!((loss - last.val_loss.unwrap()).abs() < 1e-9 && acc == last.val_accuracy);
        let _ = model.forward(&x);
    }

    #[test]
    fn early_stopping_ends_the_run() {
        let _rng = crate::torch_rng_lock();
        crate::seed_all(0);
        let x = Tensor::randn([64, 3], (Kind::Float, Device::Cpu));
        let y = Tensor::randn([64], (Kind::Float, Device::Cpu));
        let vs = nn::VarStore::new(Device::Cpu);
        let model = nn::linear(vs.root(), 3, 1, Default::default());
        // A learning rate of 0 never improves (beyond rounding, which
        // min_delta ignores), so patience 2 stops at epoch 3.
        let mut opt = nn::Sgd::default().build(&vs, 0.0).unwrap();
        let history = Trainer::new(50)
            .loss(Loss::Mse)
            .early_stopping(EarlyStopping::new(2).min_delta(1e-6))
            .quiet()
            .fit(&model, &mut opt, (&x, &y), None)
            .unwrap();
        assert_eq!(history.epochs.len(), 3);
        assert!(history.epochs[0].train_accuracy.is_none());
        // The losses summed on the device over batches are the plain mean loss.
        let (loss, _) = evaluate(&model, &x, &y, Loss::Mse, 64).unwrap();
        assert!((history.epochs[0].train_loss - loss).abs() < 1e-6);
        assert_eq!(history.epochs[0].lr, None, "no schedule: rate unknown");
    }

    #[test]
    fn early_stopping_restores_the_best_weights() {
        // Training pulls w from 0 towards 1 (x = 1, y = 1); validation wants
        // 0 (y = 0), so validation gets worse every epoch and epoch 1 is best.
        let vs = nn::VarStore::new(Device::Cpu);
        let config = nn::LinearConfig {
            ws_init: nn::Init::Const(0.0),
            bias: false,
            ..Default::default()
        };
        let model = nn::linear(vs.root(), 1, 1, config);
        let x = Tensor::ones([4, 1], (Kind::Float, Device::Cpu));
        let (y, y_val) = (x.ones_like(), x.zeros_like());
        let mut opt = nn::Sgd::default().build(&vs, 0.1).unwrap();
        let history = Trainer::new(20)
            .loss(Loss::Mse)
            .batch_size(4)
            .early_stopping(EarlyStopping::new(2).restore_best_weights(&vs))
            .quiet()
            .fit(&model, &mut opt, (&x, &y), Some((&x, &y_val)))
            .unwrap();
        assert_eq!(history.epochs.len(), 3, "stopped after two worse epochs");
        // One SGD step on (w - 1)^2 from w = 0: w = 0.2 after epoch 1.
        assert!((model.ws.double_value(&[0, 0]) - 0.2).abs() < 1e-6);
        let (val, _) = evaluate(&model, &x, &y_val, Loss::Mse, 4).unwrap();
        assert!((val - history.epochs[0].val_loss.unwrap()).abs() < 1e-9);
        assert!(history.epochs[2].val_loss.unwrap() > val);
    }

    #[test]
    fn bad_targets_are_errors() {
        let _rng = crate::torch_rng_lock();
        let vs = nn::VarStore::new(Device::Cpu);
        let model = nn::linear(vs.root(), 3, 2, Default::default());
        let mut opt = nn::Sgd::default().build(&vs, 0.1).unwrap();
        let x = Tensor::zeros([4, 3], (Kind::Float, Device::Cpu));
        let float_y = Tensor::zeros([4], (Kind::Float, Device::Cpu));
        assert!(
            Trainer::new(1)
                .fit(&model, &mut opt, (&x, &float_y), None)
                .is_err()
        );
        let short_y = Tensor::zeros([3], (Kind::Int64, Device::Cpu));
        assert!(
            Trainer::new(1)
                .fit(&model, &mut opt, (&x, &short_y), None)
                .is_err()
        );
        let binary = Loss::BinaryCrossEntropy
            .compute(&Tensor::zeros([4, 1], (Kind::Float, Device::Cpu)), &float_y)
            .unwrap();
        assert!((binary.double_value(&[]) - 2f64.ln()).abs() < 1e-6);
    }

    #[test]
    fn epoch_lines() {
        let e = Epoch {
            epoch: 3,
            train_loss: 0.41234,
            train_accuracy: Some(0.881),
            val_loss: Some(0.45),
            val_accuracy: Some(0.86),
            lr: Some(1e-3),
            seconds: 2.06,
        };
        assert_eq!(
            epoch_line(&e, 20),
            "epoch  3/20  train loss 0.4123 acc 88.10% | val loss 0.4500 acc 86.00% | lr 1.00e-3 | 2.1s"
        );
    }
}
