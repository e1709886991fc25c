//! The guide's convolutional network: three convolution stages with batch
//! normalisation, max pooling and residual blocks, global average pooling
//! and a linear classifier.

use std::fmt;

use tch::Tensor;
use tch::nn::{self, Module, ModuleT};

use super::init::{batch_norm2d, check_input, check_sizes, pytorch_conv2d, pytorch_linear};
use crate::{Error, Result};

/// A residual block: `relu(bn2(conv2(relu(bn1(conv1(x))))) + x)` with two
/// 3x3 convolutions that keep the channel count and the image size.
///
/// The skip connection (`+ x`) is why deep ResNets train: the gradient
/// reaches earlier layers through the addition unchanged, and a block whose
/// convolutions learn nothing still passes its input on.
#[derive(Debug)]
pub struct ResidualBlock {
    channels: i64,
    conv1: nn::Conv2D,
    bn1: nn::BatchNorm,
    conv2: nn::Conv2D,
    bn2: nn::BatchNorm,
}

impl ResidualBlock {
    /// A block for `channels` channels with variables under `path`
    /// (`conv1`, `bn1`, `conv2`, `bn2`).
    pub fn new(path: &nn::Path, channels: i64) -> Result<ResidualBlock> {
        check_sizes("ResidualBlock", &[("channels", channels)])?;
        Ok(ResidualBlock {
            channels,
            conv1: pytorch_conv2d(path / "conv1", channels, channels, 3, 1),
            bn1: batch_norm2d(path / "bn1", channels),
            conv2: pytorch_conv2d(path / "conv2", channels, channels, 3, 1),
            bn2: batch_norm2d(path / "bn2", channels),
        })
    }
}

impl ModuleT for ResidualBlock {
    /// `x` is `[N, channels, H, W]`; the output has the same shape.
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let out = self.bn1.forward_t(&self.conv1.forward(x), train).relu();
        let out = self.bn2.forward_t(&self.conv2.forward(&out), train);
        (out + x).relu()
    }
}

/// Settings of a [`SimpleCnn`]. [`SimpleCnnConfig::new`] gives the guide's
/// network for RGB images; change `in_channels` for grey images and `widths`
/// for a smaller or larger network.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SimpleCnnConfig {
    /// Channels of the input images: 3 for RGB, 1 for grey.
    pub in_channels: i64,
    /// Number of classes (outputs).
    pub num_classes: i64,
    /// Output channels of the three stages; the guide uses `[64, 128, 256]`.
    pub widths: [i64; 3],
}

impl SimpleCnnConfig {
    /// The guide's network: RGB input, stages of 64, 128 and 256 channels.
    pub fn new(num_classes: i64) -> SimpleCnnConfig {
        SimpleCnnConfig {
            in_channels: 3,
            num_classes,
            widths: [64, 128, 256],
        }
    }
}

/// The guide's image classifier (`SimpleCNN`):
///
/// ```text
/// conv3x3(in → w0) → BN → ReLU → MaxPool2 → ResidualBlock(w0)
/// conv3x3(w0 → w1) → BN → ReLU → MaxPool2 → ResidualBlock(w1)
/// conv3x3(w1 → w2) → BN → ReLU → global average pool → Linear(w2 → classes)
/// ```
///
/// Any image of at least 4x4 pixels works, thanks to the global pooling.
/// Variables are named like the guide's `nn.Sequential` (`features.0.weight`,
/// `features.4.conv1.weight`, ..., `classifier.weight`); with
/// [`SimpleCnnConfig::new`]`(10)` it has the guide's 744,074 parameters.
///
/// ```
/// use aiguide::models::{SimpleCnn, SimpleCnnConfig};
/// use tch::{nn, nn::ModuleT, Device, Kind, Tensor};
/// let vs = nn::VarStore::new(Device::Cpu);
/// let config = SimpleCnnConfig { in_channels: 1, num_classes: 10, widths: [8, 16, 32] };
/// let cnn = SimpleCnn::new(&vs.root(), config)?;
/// let x = Tensor::zeros([2, 1, 8, 8], (Kind::Float, Device::Cpu));
/// assert_eq!(cnn.forward_t(&x, false).size(), [2, 10]);
/// # Ok::<(), aiguide::Error>(())
/// ```
#[derive(Debug)]
pub struct SimpleCnn {
    config: SimpleCnnConfig,
    convs: Vec<nn::Conv2D>,
    norms: Vec<nn::BatchNorm>,
    blocks: Vec<ResidualBlock>,
    classifier: nn::Linear,
}

impl SimpleCnn {
    /// Creates the network under `path`.
    pub fn new(path: &nn::Path, config: SimpleCnnConfig) -> Result<SimpleCnn> {
        let [w0, w1, w2] = config.widths;
        check_sizes(
            "SimpleCnn",
            &[
                ("in_channels", config.in_channels),
                ("num_classes", config.num_classes),
                ("every width", w0.min(w1).min(w2)),
            ],
        )?;
        let features = path / "features";
        // Positions in the guide's nn.Sequential: conv, bn, relu, pool, block.
        let convs = [(0, config.in_channels, w0), (5, w0, w1), (10, w1, w2)]
            .map(|(i, a, b)| pytorch_conv2d(&features / i, a, b, 3, 1));
        let norms = [(1, w0), (6, w1), (11, w2)].map(|(i, c)| batch_norm2d(&features / i, c));
        let blocks = vec![
            ResidualBlock::new(&(&features / 4), w0)?,
            ResidualBlock::new(&(&features / 9), w1)?,
        ];
        Ok(SimpleCnn {
            config,
            convs: convs.into(),
            norms: norms.into(),
            blocks,
            classifier: pytorch_linear(path / "classifier", w2, config.num_classes, true),
        })
    }

    /// The configuration the network was built with.
    pub fn config(&self) -> SimpleCnnConfig {
        self.config
    }

    /// Logits `[N, classes]` for images `[N, in_channels, H, W]` (H, W >= 4),
    /// or an error naming the expected shape.
    pub fn try_forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.check(x)?;
        let mut h = x.shallow_clone();
        for stage in 0..3 {
            h = self.norms[stage]
                .forward_t(&self.convs[stage].forward(&h), train)
                .relu();
            if let Some(block) = self.blocks.get(stage) {
                h = block.forward_t(&h.max_pool2d_default(2), train);
            }
        }
        let pooled = h.f_adaptive_avg_pool2d([1, 1])?.f_flatten(1, -1)?;
        Ok(self.classifier.forward(&pooled))
    }

    /// What the first convolution sees: the activations after the first
    /// convolution, batch norm and ReLU, in evaluation mode,
    /// `[N, widths[0], H, W]`. One channel per learned filter.
    pub fn feature_maps(&self, x: &Tensor) -> Result<Tensor> {
        self.check(x)?;
        Ok(tch::no_grad(|| {
            self.norms[0]
                .forward_t(&self.convs[0].forward(x), false)
                .relu()
        }))
    }

    /// The first convolution's filters, `[widths[0], in_channels, 3, 3]`.
    pub fn first_filters(&self) -> Tensor {
        self.convs[0].ws.detach()
    }

    fn check(&self, x: &Tensor) -> Result<()> {
        let c = self.config.in_channels;
        check_input("SimpleCnn", x, 4, Some((1, c)), &format!("[N, {c}, H, W]"))?;
        let size = x.size();
        if size[2] < 4 || size[3] < 4 {
            return Err(Error::InvalidArgument(format!(
                "SimpleCnn: images must be at least 4x4 pixels (the network pools twice by 2), \
                 got {}x{}",
                size[2], size[3]
            )));
        }
        Ok(())
    }
}

impl ModuleT for SimpleCnn {
    /// Panics with [`SimpleCnn::try_forward_t`]'s message on a wrong input shape.
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        self.try_forward_t(x, train)
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

/// The structure, one line per layer in the guide's order.
impl fmt::Display for SimpleCnn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.config;
        let [w0, w1, w2] = c.widths;
        writeln!(f, "SimpleCnn(")?;
        writeln!(f, "  (features): Sequential(")?;
        let mut index = 0;
        for (stage, (a, b)) in [(c.in_channels, w0), (w0, w1), (w1, w2)].iter().enumerate() {
            writeln!(
                f,
                "    ({index}): Conv2d({a}, {b}, kernel_size=(3, 3), padding=(1, 1))"
            )?;
            writeln!(f, "    ({}): BatchNorm2d({b})", index + 1)?;
            writeln!(f, "    ({}): ReLU()", index + 2)?;
            if let Some(block) = self.blocks.get(stage) {
                writeln!(f, "    ({}): MaxPool2d(kernel_size=2)", index + 3)?;
                writeln!(f, "    ({}): {block}", index + 4)?;
            } else {
                writeln!(f, "    ({}): AdaptiveAvgPool2d(output_size=1)", index + 3)?;
            }
            index += 5;
        }
        writeln!(f, "  )")?;
        write!(
            f,
            "  (classifier): Linear(in_features={w2}, out_features={}, bias=True)\n)",
            c.num_classes
        )
    }
}

impl fmt::Display for ResidualBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.channels;
        write!(
            f,
            "ResidualBlock(conv3x3({c}, {c}) → BN → ReLU → conv3x3({c}, {c}) → BN, + input → ReLU)"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::parameter_count;
    use tch::{Device, Kind};

    #[test]
    fn guide_sized_cnn() {
        let _rng = crate::torch_rng_lock();
        let vs = nn::VarStore::new(Device::Cpu);
        let cnn = SimpleCnn::new(&vs.root(), SimpleCnnConfig::new(10)).unwrap();
        assert_eq!(parameter_count(&vs), 744_074);
        let x = Tensor::randn([2, 3, 32, 32], (Kind::Float, Device::Cpu));
        assert_eq!(cnn.forward_t(&x, true).size(), [2, 10]);
        assert_eq!(cnn.feature_maps(&x).unwrap().size(), [2, 64, 32, 32]);
        assert_eq!(cnn.first_filters().size(), [64, 3, 3, 3]);
        let names = vs.variables();
        for name in [
            "features.4.conv2.weight",
            "features.11.running_var",
            "classifier.bias",
        ] {
            assert!(names.contains_key(name), "{name}");
        }
        let text = cnn.to_string();
        assert!(
            text.contains("(12): ReLU()") && text.contains("(13): AdaptiveAvgPool2d"),
            "{text}"
        );
    }

    #[test]
    fn residual_block_keeps_shape_and_adds_input() {
        let _rng = crate::torch_rng_lock();
        let vs = nn::VarStore::new(Device::Cpu);
        let block = ResidualBlock::new(&vs.root(), 4).unwrap();
        assert_eq!(parameter_count(&vs), 2 * (4 * 4 * 9 + 4) + 2 * 8);
        // With both convolutions zeroed, the block is relu(bn(bias) + x) = relu(x).
        tch::no_grad(|| {
            for (name, mut t) in vs.variables() {
                if name.starts_with("conv") {
                    let _ = t.zero_();
                }
            }
        });
        let x = Tensor::randn([2, 4, 5, 5], (Kind::Float, Device::Cpu));
        assert!(
            block
                .forward_t(&x, false)
                .allclose(&x.relu(), 1e-5, 1e-5, false)
        );
    }

    #[test]
    fn grey_input_and_bad_shapes() {
        let vs = nn::VarStore::new(Device::Cpu);
        let config = SimpleCnnConfig {
            in_channels: 1,
            num_classes: 3,
            widths: [2, 4, 8],
        };
        let cnn = SimpleCnn::new(&vs.root(), config).unwrap();
        let rgb = Tensor::zeros([1, 3, 8, 8], (Kind::Float, Device::Cpu));
        let e = cnn.try_forward_t(&rgb, false).unwrap_err().to_string();
        assert!(e.contains("[N, 1, H, W]"), "{e}");
        let tiny = Tensor::zeros([1, 1, 3, 8], (Kind::Float, Device::Cpu));
        let e = cnn.try_forward_t(&tiny, false).unwrap_err().to_string();
        assert!(e.contains("at least 4x4") && e.contains("3x8"), "{e}");
        let bad = SimpleCnnConfig {
            widths: [2, 0, 8],
            ..config
        };
        assert!(SimpleCnn::new(&vs.root(), bad).is_err());
    }
}
