//! Layers created with PyTorch's default initialisation, and the argument
//! checks the models share.
//!
//! tch's own defaults differ from PyTorch's: its linear and convolution
//! weights use Kaiming-uniform with a ReLU gain (bounds about 2.4 times
//! wider), and its batch-norm scales start uniform in [0, 1) rather than
//! at one. The guide's code runs with PyTorch's defaults, so the models here
//! do too, and train the way the guide's models train.

use tch::nn::{self, Init};
use tch::{Kind, Tensor};

use crate::{Error, Result};

/// A linear layer initialised like PyTorch's `nn.Linear(in_dim, out_dim,
/// bias)`: weight and bias uniform in `±1/sqrt(in_dim)`. Use it instead of
/// `nn::linear` when porting PyTorch code whose training depends on the
/// initial scale.
///
/// ```
/// use aiguide::models::pytorch_linear;
/// use tch::{nn, Device};
/// let vs = nn::VarStore::new(Device::Cpu);
/// let layer = pytorch_linear(vs.root() / "fc", 100, 10, true);
/// assert!(layer.ws.abs().max().double_value(&[]) <= 0.1);
/// ```
pub fn pytorch_linear(path: nn::Path, in_dim: i64, out_dim: i64, bias: bool) -> nn::Linear {
    let bound = 1.0 / (in_dim as f64).sqrt();
    let uniform = Init::Uniform {
        lo: -bound,
        up: bound,
    };
    nn::linear(
        path,
        in_dim,
        out_dim,
        nn::LinearConfig {
            ws_init: uniform,
            bs_init: Some(uniform),
            bias,
        },
    )
}

/// A square convolution initialised like PyTorch's `nn.Conv2d(in_channels,
/// out_channels, kernel, padding=padding)`: weight and bias uniform in
/// `±1/sqrt(in_channels * kernel²)`.
pub fn pytorch_conv2d(
    path: nn::Path,
    in_channels: i64,
    out_channels: i64,
    kernel: i64,
    padding: i64,
) -> nn::Conv2D {
    let bound = 1.0 / ((in_channels * kernel * kernel) as f64).sqrt();
    let uniform = Init::Uniform {
        lo: -bound,
        up: bound,
    };
    nn::conv2d(
        path,
        in_channels,
        out_channels,
        kernel,
        nn::ConvConfig {
            padding,
            ws_init: uniform,
            bs_init: uniform,
            ..Default::default()
        },
    )
}

/// `nn.BatchNorm2d(channels)`: scale 1, shift 0, running statistics with
/// momentum 0.1.
pub(crate) fn batch_norm2d(path: nn::Path, channels: i64) -> nn::BatchNorm {
    nn::batch_norm2d(
        path,
        channels,
        nn::BatchNormConfig {
            ws_init: Init::Const(1.0),
            ..Default::default()
        },
    )
}

/// `nn.LayerNorm(dim)` (tch's defaults already match).
pub(crate) fn layer_norm(path: nn::Path, dim: i64) -> nn::LayerNorm {
    nn::layer_norm(path, vec![dim], Default::default())
}

/// `nn.Embedding(count, dim)`: standard normal vectors (tch's default matches).
pub(crate) fn embedding(path: nn::Path, count: i64, dim: i64) -> nn::Embedding {
    nn::embedding(path, count, dim, Default::default())
}

/// An error unless every named size is at least 1.
pub(crate) fn check_sizes(model: &str, sizes: &[(&str, i64)]) -> Result<()> {
    match sizes.iter().find(|(_, v)| *v < 1) {
        Some((name, v)) => Err(Error::InvalidArgument(format!(
            "{model}: {name} must be at least 1, got {v}"
        ))),
        None => Ok(()),
    }
}

/// An error unless `p` is a probability in `[0, 1)`.
pub(crate) fn check_dropout(model: &str, p: f64) -> Result<()> {
    if (0.0..1.0).contains(&p) {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "{model}: dropout must be in [0, 1), got {p}"
        )))
    }
}

/// An error unless `x` has `dims` dimensions and, where `last` is given, that
/// many entries along `axis`. `expected` describes the shape for the message.
pub(crate) fn check_input(
    model: &str,
    x: &Tensor,
    dims: usize,
    axis: Option<(usize, i64)>,
    expected: &str,
) -> Result<()> {
    let size = x.size();
    let axis_ok = axis.is_none_or(|(a, n)| size.get(a) == Some(&n));
    if size.len() == dims && axis_ok {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "{model}: expected input {expected}, got shape {size:?}"
        )))
    }
}

/// An error unless `ids` holds integer token ids in `0..vocab_size`.
pub(crate) fn check_token_ids(model: &str, ids: &Tensor, vocab_size: i64) -> Result<()> {
    if !matches!(ids.kind(), Kind::Int64 | Kind::Int) {
        return Err(Error::InvalidArgument(format!(
            "{model}: token ids must be Int64, got {:?} (use .to_kind(Kind::Int64))",
            ids.kind()
        )));
    }
    if ids.numel() > 0 {
        // Both ends of the range in one read-back: on a GPU each read-back
        // waits for the device, so this costs one sync, not two.
        let (lo, hi) = ids.f_aminmax(None::<i64>, false)?;
        let ends = Tensor::f_stack(&[lo, hi], 0)?
            .f_to_kind(Kind::Int64)?
            .f_to_device(tch::Device::Cpu)?;
        let (lo, hi) = (ends.int64_value(&[0]), ends.int64_value(&[1]));
        if lo < 0 || hi >= vocab_size {
            return Err(Error::InvalidArgument(format!(
                "{model}: token ids must be in 0..{vocab_size}, got values from {lo} to {hi}"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn pytorch_bounds() {
        let _rng = crate::torch_rng_lock();
        let vs = nn::VarStore::new(Device::Cpu);
        let l = pytorch_linear(vs.root() / "l", 100, 300, true);
        // Uniform in ±0.1: the extremes of 30,000 draws come close to the bound.
        let max = l.ws.abs().max().double_value(&[]);
        assert!(max <= 0.1 && max > 0.099, "{max}");
        let c = pytorch_conv2d(vs.root() / "c", 4, 8, 3, 1);
        assert!(c.ws.abs().max().double_value(&[]) <= 1.0 / 6.0);
        let bn = batch_norm2d(vs.root() / "bn", 5);
        assert_eq!(bn.ws.unwrap().sum(Kind::Float).double_value(&[]), 5.0);
    }

    #[test]
    fn checks() {
        assert!(check_sizes("m", &[("a", 1), ("b", 0)]).is_err());
        assert!(check_dropout("m", 1.0).is_err() && check_dropout("m", 0.0).is_ok());
        let x = Tensor::zeros([2, 3], (Kind::Float, tch::Device::Cpu));
        assert!(check_input("m", &x, 2, Some((1, 3)), "[N, 3]").is_ok());
        let e = check_input("m", &x, 2, Some((1, 4)), "[N, 4]").unwrap_err();
        assert_eq!(e.to_string(), "m: expected input [N, 4], got shape [2, 3]");
        let ids = Tensor::from_slice(&[0i64, 5]);
        assert!(check_token_ids("m", &ids, 6).is_ok());
        assert!(check_token_ids("m", &ids, 5).is_err());
        assert!(check_token_ids("m", &x, 5).is_err());
    }
}
