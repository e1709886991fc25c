//! What plots accept: slices, `Vec`s, ndarray arrays and tch tensors alike, so
//! a notebook passes whatever it has without converting first.

use ndarray::{Array2, ArrayBase, Data, Dimension, Ix1, Ix2};
use tch::{Kind, Tensor};

use crate::{Error, Result};

/// A sequence of numbers: `[T]`, `Vec<T>`, `[T; N]`, a 1-D ndarray array or a
/// tensor (flattened), for any primitive number type `T`.
pub trait Values {
    /// The numbers as `f64`.
    fn to_f64s(&self) -> Result<Vec<f64>>;
}

/// A table of numbers, one row per sample: a 2-D ndarray array or a 2-D tensor.
pub trait Matrix {
    /// The numbers as an `f64` array.
    fn to_array2(&self) -> Result<Array2<f64>>;
}

/// Pixel data for image plots: a tensor or an ndarray array of `u8`, `f32`
/// or `f64`.
pub trait ImageData {
    /// The data as a CPU tensor, keeping its shape.
    fn to_tensor(&self) -> Result<Tensor>;
}

/// Primitive numbers plots accept.
pub trait Number: Copy {
    /// The value as `f64`.
    fn to_f64(self) -> f64;
}

macro_rules! number {
    ($($t:ty),*) => {$(
        impl Number for $t {
            fn to_f64(self) -> f64 {
                self as f64
            }
        }
    )*};
}
number!(f64, f32, i64, i32, i16, i8, u64, u32, u16, u8, usize, isize);

impl<T: Number> Values for [T] {
    fn to_f64s(&self) -> Result<Vec<f64>> {
        Ok(self.iter().map(|v| v.to_f64()).collect())
    }
}

impl<T: Number> Values for Vec<T> {
    fn to_f64s(&self) -> Result<Vec<f64>> {
        self.as_slice().to_f64s()
    }
}

impl<T: Number, const N: usize> Values for [T; N] {
    fn to_f64s(&self) -> Result<Vec<f64>> {
        self.as_slice().to_f64s()
    }
}

impl<S> Values for ArrayBase<S, Ix1>
where
    S: Data,
    S::Elem: Number,
{
    fn to_f64s(&self) -> Result<Vec<f64>> {
        Ok(self.iter().map(|v| v.to_f64()).collect())
    }
}

impl<S> Matrix for ArrayBase<S, Ix2>
where
    S: Data,
    S::Elem: Number,
{
    fn to_array2(&self) -> Result<Array2<f64>> {
        Ok(self.mapv(|v| v.to_f64()))
    }
}

impl Values for Tensor {
    fn to_f64s(&self) -> Result<Vec<f64>> {
        let flat = self.f_detach()?.f_to_kind(Kind::Double)?.f_reshape([-1])?;
        Ok(Vec::<f64>::try_from(&flat.f_to_device(tch::Device::Cpu)?)?)
    }
}

impl Matrix for Tensor {
    fn to_array2(&self) -> Result<Array2<f64>> {
        let size = self.size();
        let [rows, cols] = size[..] else {
            return Err(Error::InvalidArgument(format!(
                "expected a 2-D tensor (samples x features), got shape {size:?}"
            )));
        };
        Array2::from_shape_vec((rows as usize, cols as usize), self.to_f64s()?)
            .map_err(|e| Error::InvalidArgument(e.to_string()))
    }
}

impl ImageData for Tensor {
    fn to_tensor(&self) -> Result<Tensor> {
        Ok(self.f_detach()?.f_to_device(tch::Device::Cpu)?)
    }
}

impl<S, D> ImageData for ArrayBase<S, D>
where
    S: Data,
    S::Elem: tch::kind::Element + Clone,
    D: Dimension,
{
    fn to_tensor(&self) -> Result<Tensor> {
        Ok(Tensor::try_from(&self.as_standard_layout())?)
    }
}

/// Class labels from any [`Values`]: each must be a whole number >= 0.
/// `what` names the caller in the error (plots and metrics share this).
pub(crate) fn class_labels(what: &str, labels: &(impl Values + ?Sized)) -> Result<Vec<usize>> {
    labels
        .to_f64s()?
        .into_iter()
        .map(|v| {
            if v >= 0.0 && v.fract() == 0.0 {
                Ok(v as usize)
            } else {
                Err(Error::InvalidArgument(format!(
                    "{what}: class labels must be whole numbers >= 0, got {v}"
                )))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn everything_becomes_f64() {
        assert_eq!([1u8, 2].to_f64s().unwrap(), [1.0, 2.0]);
        assert_eq!(vec![0.5f32].to_f64s().unwrap(), [0.5]);
        assert_eq!(array![3usize, 4].to_f64s().unwrap(), [3.0, 4.0]);
        let t = Tensor::from_slice(&[1i64, 2, 3, 4]).reshape([2, 2]);
        assert_eq!(t.to_f64s().unwrap(), [1.0, 2.0, 3.0, 4.0]);
        assert_eq!(t.to_array2().unwrap(), array![[1.0, 2.0], [3.0, 4.0]]);
        assert!(
            Tensor::zeros([2], (Kind::Float, tch::Device::Cpu))
                .to_array2()
                .is_err()
        );
    }

    #[test]
    fn labels_must_be_whole() {
        assert_eq!(class_labels("test", &[0.0, 2.0]).unwrap(), [0, 2]);
        let message = class_labels("scatter", &[0.5]).unwrap_err().to_string();
        assert!(message.starts_with("scatter: class labels"), "{message}");
        assert!(class_labels("test", &[-1i32]).is_err());
    }

    #[test]
    fn arrays_become_tensors_even_when_transposed() {
        let a = array![[1u8, 2], [3, 4]];
        let t = a.t().to_tensor().unwrap();
        assert_eq!(Vec::<u8>::try_from(&t.reshape([-1])).unwrap(), [1, 3, 2, 4]);
    }
}
