//! Mini-batches over a pair of tensors, built on tch's `Iter2` with the
//! settings a training loop wants.

use tch::Tensor;
use tch::data::Iter2;

use crate::{Error, Result};

/// Mini-batches of `(x, y)` rows, `batch_size` at a time, in a fresh random
/// order when `shuffle` is set (drawn from libtorch's generator, so
/// [`seed_all`](crate::seed_all) makes it reproducible). Unlike tch's
/// default, the last, smaller batch is kept, so every sample is seen. Batches
/// stay on the tensors' device.
///
/// ```
/// use aiguide::train::batches;
/// use tch::{Device, Kind, Tensor};
/// let x = Tensor::zeros([10, 3], (Kind::Float, Device::Cpu));
/// let y = Tensor::zeros([10], (Kind::Int64, Device::Cpu));
/// let sizes: Vec<i64> = batches(&x, &y, 4, true)?.map(|(xb, _)| xb.size()[0]).collect();
/// assert_eq!(sizes, [4, 4, 2]);
/// # Ok::<(), aiguide::Error>(())
/// ```
pub fn batches(x: &Tensor, y: &Tensor, batch_size: i64, shuffle: bool) -> Result<Iter2> {
    if batch_size < 1 {
        return Err(Error::InvalidArgument(format!(
            "batch size must be >= 1, got {batch_size}"
        )));
    }
    let mut iter = Iter2::f_new(x, y, batch_size)?;
    // Iter2 draws its permutation on its own device, which must be the data's.
    iter.to_device(x.device()).return_smaller_last_batch();
    if shuffle {
        iter.shuffle();
    }
    Ok(iter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn covers_every_row_once_in_shuffled_order() {
        let _rng = crate::torch_rng_lock();
        crate::seed_all(1);
        let x = Tensor::arange(10, (Kind::Int64, Device::Cpu));
        let mut seen: Vec<i64> = Vec::new();
        for (xb, yb) in batches(&x, &(&x * 2), 3, true).unwrap() {
            assert_eq!(
                Vec::<i64>::try_from(&(&xb * 2)).unwrap(),
                Vec::<i64>::try_from(&yb).unwrap()
            );
            seen.extend(Vec::<i64>::try_from(&xb).unwrap());
        }
        assert_ne!(seen, (0..10).collect::<Vec<_>>(), "shuffled");
        seen.sort();
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn rejects_bad_inputs() {
        let x = Tensor::zeros([4], (Kind::Float, Device::Cpu));
        let y = Tensor::zeros([5], (Kind::Float, Device::Cpu));
        assert!(batches(&x, &y, 2, false).is_err());
        assert!(batches(&x, &x, 0, false).is_err());
        assert_eq!(batches(&x, &x, 3, false).unwrap().count(), 2);
    }
}
