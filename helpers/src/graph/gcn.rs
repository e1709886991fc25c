//! Kipf and Welling's graph convolution ("Semi-Supervised Classification
//! with Graph Convolutional Networks", ICLR 2017) and the guide's two-layer
//! node classifier.

use tch::Tensor;
use tch::nn::{self, Init};

use crate::{Error, Result};

/// One graph convolution: `Â X W + b`, where `Â` is
/// [`Graph::normalized_adjacency`](super::Graph::normalized_adjacency).
/// `X W` transforms every node's features alike; multiplying by `Â` then
/// replaces each node's row by a degree-weighted mean over the node and its
/// neighbours: one round of message passing.
#[derive(Debug)]
pub struct GcnConv {
    weight: Tensor,
    bias: Tensor,
}

impl GcnConv {
    /// A layer from `in_dim` to `out_dim` features, initialised as PyTorch
    /// Geometric's `GCNConv`: Glorot-uniform weight, zero bias.
    pub fn new(path: &nn::Path, in_dim: i64, out_dim: i64) -> GcnConv {
        let bound = (6.0 / (in_dim + out_dim) as f64).sqrt();
        GcnConv {
            weight: path.var(
                "weight",
                &[in_dim, out_dim],
                Init::Uniform {
                    lo: -bound,
                    up: bound,
                },
            ),
            bias: path.var("bias", &[out_dim], Init::Const(0.0)),
        }
    }

    /// `Â X W + b` for node features `x` `[n, in_dim]` and the `[n, n]`
    /// propagation matrix `a_hat` (sparse or dense).
    pub fn forward(&self, a_hat: &Tensor, x: &Tensor) -> Result<Tensor> {
        let (n, in_dim) = (a_hat.size()[0], self.weight.size()[0]);
        if x.dim() != 2 || x.size() != [n, in_dim] {
            return Err(Error::InvalidArgument(format!(
                "GcnConv expects node features [{n}, {in_dim}] (one row per node of the \
                 adjacency), got {:?}",
                x.size()
            )));
        }
        Ok(a_hat.mm(&x.mm(&self.weight)) + &self.bias)
    }
}

/// The guide's GCN: graph convolution to a hidden width, ReLU, dropout, a
/// second graph convolution to one logit per class. Two layers let a node
/// hear from neighbours up to two hops away.
#[derive(Debug)]
pub struct Gcn {
    conv1: GcnConv,
    conv2: GcnConv,
    dropout: f64,
}

impl Gcn {
    /// A GCN with `hidden` units (the guide uses 64) and dropout `dropout`
    /// (0.5) between the layers.
    pub fn new(
        path: &nn::Path,
        num_features: i64,
        hidden: i64,
        num_classes: i64,
        dropout: f64,
    ) -> Gcn {
        Gcn {
            conv1: GcnConv::new(&(path / "conv1"), num_features, hidden),
            conv2: GcnConv::new(&(path / "conv2"), hidden, num_classes),
            dropout,
        }
    }

    /// The hidden representation of every node after the first layer and
    /// its ReLU: the node embedding a plot shows.
    pub fn embed(&self, a_hat: &Tensor, x: &Tensor) -> Result<Tensor> {
        Ok(self.conv1.forward(a_hat, x)?.relu())
    }

    /// Class logits `[n, num_classes]`; dropout only when `train`. The guide
    /// returns `log_softmax`; logits with `cross_entropy_for_logits` compute
    /// the same loss.
    pub fn forward_t(&self, a_hat: &Tensor, x: &Tensor, train: bool) -> Result<Tensor> {
        let hidden = self.embed(a_hat, x)?.dropout(self.dropout, train);
        self.conv2.forward(a_hat, &hidden)
    }
}

#[cfg(test)]
mod tests {
    use tch::{Device, Kind};

    use super::*;
    use crate::graph::Graph;

    #[test]
    fn sparse_and_dense_propagation_agree_forward_and_backward() {
        let _guard = crate::torch_rng_lock();
        tch::manual_seed(0);
        let g = Graph::new(5, [(0, 1), (1, 2), (2, 3), (3, 4), (4, 0), (0, 2)]).unwrap();
        let vs = nn::VarStore::new(Device::Cpu);
        let gcn = Gcn::new(&vs.root(), 3, 4, 2, 0.5);
        let x = Tensor::randn([5, 3], (Kind::Float, Device::Cpu));
        let sparse = gcn
            .forward_t(&g.normalized_adjacency(Device::Cpu), &x, false)
            .unwrap();
        let dense = gcn
            .forward_t(&g.dense_normalized_adjacency(Device::Cpu), &x, false)
            .unwrap();
        assert!((&sparse - &dense).abs().max().double_value(&[]) < 1e-6);
        let weight = &gcn.conv1.weight;
        let grad_of = |out: &Tensor| {
            let grads = Tensor::run_backward(&[out.sum(Kind::Float)], &[weight], true, false);
            grads[0].shallow_clone()
        };
        let difference = (grad_of(&sparse) - grad_of(&dense))
            .abs()
            .max()
            .double_value(&[]);
        assert!(difference < 1e-5, "gradients differ by {difference}");
    }

    #[test]
    fn a_wrong_feature_shape_names_the_expected_one() {
        let g = Graph::new(3, [(0, 1)]).unwrap();
        let vs = nn::VarStore::new(Device::Cpu);
        let conv = GcnConv::new(&vs.root(), 4, 2);
        let x = Tensor::zeros([3, 5], (Kind::Float, Device::Cpu));
        let message = conv
            .forward(&g.normalized_adjacency(Device::Cpu), &x)
            .unwrap_err()
            .to_string();
        assert!(message.contains("[3, 4]"), "{message}");
    }
}
