//! The deep-learning chapter's models, written once as ordinary tch modules
//! so that notebooks and a learner's own projects use the same code.
//!
//! Each model follows the guide's PyTorch definition layer for layer, with
//! PyTorch's default initialisation and PyTorch's parameter names (so
//! [`parameter_table`] reads like `model.state_dict()`, and the parameter
//! counts are those PyTorch prints):
//!
//! - [`Mlp`]: a multi-layer perceptron with GELU, LayerNorm and Dropout;
//! - [`ResidualBlock`] and [`SimpleCnn`]: a small ResNet-style classifier;
//! - [`SimpleRnn`]: the recurrence `h_t = tanh(W_ih x_t + W_hh h_{t-1})`
//!   written as a loop, and [`TextClassifier`], a bidirectional LSTM (or, with
//!   [`RecurrentCell`], a plain RNN or GRU in its place);
//! - [`MultiHeadSelfAttention`], [`TransformerBlock`] (pre-norm) and
//!   [`MiniGpt`], a decoder-only language model with [`Sampling`] strategies.
//!
//! [`pytorch_linear`] and [`pytorch_conv2d`] are the layers they are built
//! from: tch's layers with PyTorch's initialisation.
//!
//! Models take a [`tch::nn::Path`] to create their variables under, like tch's
//! own layers, and implement [`ModuleT`](tch::nn::ModuleT) (dropout and batch
//! normalisation behave differently in training), so they work with
//! [`Trainer`](crate::train::Trainer).

mod attention;
mod cnn;
mod init;
mod mlp;
mod params;
mod rnn;
mod transformer;

pub use attention::{MultiHeadSelfAttention, causal_mask};
pub use cnn::{ResidualBlock, SimpleCnn, SimpleCnnConfig};
pub use init::{pytorch_conv2d, pytorch_linear};
pub use mlp::Mlp;
pub use params::{parameter_count, parameter_table};
pub use rnn::{RecurrentCell, SimpleRnn, TextClassifier, TextClassifierConfig};
pub use transformer::{MiniGpt, MiniGptConfig, Sampling, TransformerBlock};
