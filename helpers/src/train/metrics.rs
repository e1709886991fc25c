//! Accuracy from model outputs, for classification chapters and the training loop.

use tch::{Kind, Tensor};

use crate::{Error, Result};

/// The fraction of correct predictions.
///
/// `output` is either logits `[N, C]` for C classes, compared by arg-max
/// with class indices `targets` `[N]`, or one logit per sample (`[N]` or
/// `[N, 1]`) for a binary problem, where a logit above 0 predicts 1 and
/// `targets` are 0/1.
pub fn accuracy(output: &Tensor, targets: &Tensor) -> Result<f64> {
    let correct = correct_predictions(output, targets)?;
    Ok(correct.double_value(&[]) / targets.numel() as f64)
}

/// The number of correct predictions as a 0-dimensional tensor on the
/// outputs' device (same conventions as [`accuracy`]), so that a training
/// loop can add them up without waiting for the device after every batch.
pub(crate) fn correct_predictions(output: &Tensor, targets: &Tensor) -> Result<Tensor> {
    let n = targets.numel();
    if n == 0 {
        return Err(Error::InvalidArgument("accuracy: no targets".into()));
    }
    let size = output.size();
    let predicted = match size.as_slice() {
        [rows, classes] if *classes > 1 && *rows as usize == n => output.f_argmax(-1, false)?,
        _ if output.numel() == n => output.f_reshape([-1])?.f_gt(0.0)?.f_to_kind(Kind::Int64)?,
        _ => {
            return Err(Error::InvalidArgument(format!(
                "accuracy: outputs {size:?} do not match {n} targets (expected [N, C] logits or one logit per sample)"
            )));
        }
    };
    let truth = targets.f_reshape([-1])?.f_to_kind(Kind::Int64)?;
    Ok(predicted.f_eq_tensor(&truth)?.f_sum(Kind::Double)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiclass_and_binary() {
        let logits = Tensor::from_slice(&[2.0f32, 1.0, 0.0, 3.0, 5.0, 1.0]).reshape([3, 2]);
        let targets = Tensor::from_slice(&[0i64, 1, 1]);
        assert!((accuracy(&logits, &targets).unwrap() - 2.0 / 3.0).abs() < 1e-12);
        let binary = Tensor::from_slice(&[0.3f32, -2.0, 1.0, -0.1]).reshape([4, 1]);
        let labels = Tensor::from_slice(&[1.0f32, 0.0, 0.0, 0.0]);
        assert_eq!(accuracy(&binary, &labels).unwrap(), 0.75);
    }

    #[test]
    fn mismatched_shapes_are_errors() {
        let logits = Tensor::zeros([3, 4], (Kind::Float, tch::Device::Cpu));
        assert!(accuracy(&logits, &Tensor::from_slice(&[0i64, 1])).is_err());
        assert!(accuracy(&logits, &Tensor::from_slice::<i64>(&[])).is_err());
    }
}
