//! The guide's multi-layer perceptron: Linear → GELU → LayerNorm → Dropout
//! between layers, a plain Linear at the end.

use std::fmt;

use tch::Tensor;
use tch::nn::{self, Module, ModuleT};

use super::init::{check_dropout, check_input, check_sizes, layer_norm, pytorch_linear};
use crate::{Error, Result};

/// A multi-layer perceptron (MLP) for `sizes = [inputs, hidden..., outputs]`.
///
/// Every layer but the last is followed by GELU, LayerNorm and Dropout, as in
/// the guide; the last layer returns logits. Variables are named like the
/// guide's `nn.Sequential` (`network.0.weight`, `network.2.bias`, ...), so
/// `Mlp::new(.., &[784, 512, 256, 128, 10], 0.1)` has the guide's 569,226
/// parameters.
///
/// ```
/// use aiguide::models::{Mlp, parameter_count};
/// use tch::{nn, nn::ModuleT, Device, Kind, Tensor};
/// let vs = nn::VarStore::new(Device::Cpu);
/// let mlp = Mlp::new(&vs.root(), &[64, 32, 10], 0.1)?;
/// let logits = mlp.forward_t(&Tensor::zeros([5, 64], (Kind::Float, Device::Cpu)), false);
/// assert_eq!(logits.size(), [5, 10]);
/// assert_eq!(parameter_count(&vs), 64 * 32 + 32 + 2 * 32 + 32 * 10 + 10);
/// # Ok::<(), aiguide::Error>(())
/// ```
#[derive(Debug)]
pub struct Mlp {
    sizes: Vec<i64>,
    dropout: f64,
    linears: Vec<nn::Linear>,
    norms: Vec<nn::LayerNorm>,
}

impl Mlp {
    /// Creates the layers under `path`; `dropout` is the probability of
    /// zeroing an activation in training (the guide uses 0.1).
    pub fn new(path: &nn::Path, sizes: &[i64], dropout: f64) -> Result<Mlp> {
        if sizes.len() < 2 {
            return Err(Error::InvalidArgument(format!(
                "Mlp: needs at least an input and an output size, got {sizes:?}"
            )));
        }
        let named: Vec<(&str, i64)> = sizes.iter().map(|&s| ("every layer size", s)).collect();
        check_sizes("Mlp", &named)?;
        check_dropout("Mlp", dropout)?;
        let net = path / "network";
        let mut linears = Vec::new();
        let mut norms = Vec::new();
        for (i, pair) in sizes.windows(2).enumerate() {
            // nn.Sequential numbers Linear, GELU, LayerNorm, Dropout as 0..3.
            linears.push(pytorch_linear(&net / (4 * i), pair[0], pair[1], true));
            if i + 2 < sizes.len() {
                norms.push(layer_norm(&net / (4 * i + 2), pair[1]));
            }
        }
        Ok(Mlp {
            sizes: sizes.to_vec(),
            dropout,
            linears,
            norms,
        })
    }

    /// The layer sizes, inputs first.
    pub fn sizes(&self) -> &[i64] {
        &self.sizes
    }

    /// Logits for `x` `[N, inputs]`, or an error naming the expected shape.
    pub fn try_forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let inputs = self.sizes[0];
        check_input("Mlp", x, 2, Some((1, inputs)), &format!("[N, {inputs}]"))?;
        let mut h = x.shallow_clone();
        for (i, lin) in self.linears.iter().enumerate() {
            h = lin.forward(&h);
            if let Some(norm) = self.norms.get(i) {
                h = norm
                    .forward(&h.f_gelu("none")?)
                    .f_dropout(self.dropout, train)?;
            }
        }
        Ok(h)
    }
}

impl ModuleT for Mlp {
    /// Panics with [`Mlp::try_forward_t`]'s message on a wrong input shape.
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        self.try_forward_t(x, train)
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

/// The structure in PyTorch's `print(model)` format.
impl fmt::Display for Mlp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Mlp(\n  (network): Sequential(")?;
        for (i, pair) in self.sizes.windows(2).enumerate() {
            let (a, b) = (pair[0], pair[1]);
            writeln!(
                f,
                "    ({}): Linear(in_features={a}, out_features={b}, bias=True)",
                4 * i
            )?;
            if i + 2 < self.sizes.len() {
                writeln!(f, "    ({}): GELU(approximate='none')", 4 * i + 1)?;
                writeln!(
                    f,
                    "    ({}): LayerNorm(({b},), eps=1e-05, elementwise_affine=True)",
                    4 * i + 2
                )?;
                writeln!(f, "    ({}): Dropout(p={})", 4 * i + 3, self.dropout)?;
            }
        }
        write!(f, "  )\n)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::parameter_count;
    use tch::{Device, Kind};

    #[test]
    fn guide_sized_mlp() {
        let _rng = crate::torch_rng_lock();
        let vs = nn::VarStore::new(Device::Cpu);
        let mlp = Mlp::new(&vs.root(), &[784, 512, 256, 128, 10], 0.1).unwrap();
        assert_eq!(parameter_count(&vs), 569_226);
        let x = Tensor::randn([4, 784], (Kind::Float, Device::Cpu));
        assert_eq!(mlp.forward_t(&x, true).size(), [4, 10]);
        // Without dropout the forward pass is deterministic.
        assert!(mlp.forward_t(&x, false).equal(&mlp.forward_t(&x, false)));
        let names = vs.variables();
        assert!(names.contains_key("network.12.weight") && names.contains_key("network.10.bias"));
        let text = mlp.to_string();
        assert!(text.contains("(12): Linear(in_features=128, out_features=10, bias=True)"));
        assert!(text.contains("(3): Dropout(p=0.1)"));
    }

    #[test]
    fn bad_arguments_are_errors() {
        let vs = nn::VarStore::new(Device::Cpu);
        assert!(Mlp::new(&vs.root(), &[4], 0.1).is_err());
        assert!(Mlp::new(&vs.root(), &[4, 0, 2], 0.1).is_err());
        assert!(Mlp::new(&vs.root(), &[4, 2], 1.5).is_err());
        let mlp = Mlp::new(&vs.root(), &[4, 2], 0.0).unwrap();
        let wrong = Tensor::zeros([3, 5], (Kind::Float, Device::Cpu));
        let e = mlp.try_forward_t(&wrong, false).unwrap_err();
        assert!(e.to_string().contains("[N, 4]"), "{e}");
    }
}
