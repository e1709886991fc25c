//! Recurrent networks: the guide's hand-written RNN (a loop over time steps)
//! and its LSTM text classifier, whose recurrent layer can also be a plain
//! RNN or a GRU so that the three can be compared on one task.

use std::fmt;

use tch::Tensor;
use tch::nn::{self, Init, Module, ModuleT};

use super::init::{
    check_dropout, check_input, check_sizes, check_token_ids, embedding, pytorch_linear,
};
use crate::{Error, Result};

/// The plain (Elman) recurrent network, written as the loop it is:
/// `h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)`, starting from
/// `h_0 = 0`.
///
/// It is the same computation as PyTorch's `nn.RNN` and libtorch's
/// `rnn_tanh`, which run the loop in C++; [`SimpleRnn::weights`] hands its
/// weights over in their order so the two can be compared.
#[derive(Debug)]
pub struct SimpleRnn {
    hidden_size: i64,
    /// Input to hidden: weight `[hidden, input]` and bias.
    pub w_ih: nn::Linear,
    /// Hidden to hidden: weight `[hidden, hidden]` and bias.
    pub w_hh: nn::Linear,
}

impl SimpleRnn {
    /// An RNN from `input_size` features to a `hidden_size` state, with
    /// variables `W_ih.*` and `W_hh.*` under `path`.
    pub fn new(path: &nn::Path, input_size: i64, hidden_size: i64) -> Result<SimpleRnn> {
        check_sizes(
            "SimpleRnn",
            &[("input_size", input_size), ("hidden_size", hidden_size)],
        )?;
        Ok(SimpleRnn {
            hidden_size,
            w_ih: pytorch_linear(path / "W_ih", input_size, hidden_size, true),
            w_hh: pytorch_linear(path / "W_hh", hidden_size, hidden_size, true),
        })
    }

    /// Runs over `x` `[batch, seq_len, input]`, one time step at a time;
    /// returns every step's state `[batch, seq_len, hidden]` and the last
    /// state `[batch, hidden]`.
    pub fn forward(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let input = self.w_ih.ws.size()[1];
        check_input(
            "SimpleRnn",
            x,
            3,
            Some((2, input)),
            &format!("[batch, seq_len, {input}]"),
        )?;
        let (batch, steps) = (x.size()[0], x.size()[1]);
        if steps == 0 {
            return Err(Error::InvalidArgument(
                "SimpleRnn: the sequence is empty (seq_len 0)".into(),
            ));
        }
        let mut h = Tensor::zeros([batch, self.hidden_size], (x.kind(), x.device()));
        let mut outputs = Vec::with_capacity(steps as usize);
        for t in 0..steps {
            h = (self.w_ih.forward(&x.select(1, t)) + self.w_hh.forward(&h)).tanh();
            outputs.push(h.shallow_clone());
        }
        Ok((Tensor::stack(&outputs, 1), h))
    }

    /// The weights in PyTorch's `nn.RNN` order (`weight_ih_l0`,
    /// `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`), as `Tensor::rnn_tanh`
    /// takes them.
    pub fn weights(&self) -> Vec<Tensor> {
        let bias = |l: &nn::Linear| l.bs.as_ref().map(Tensor::shallow_clone);
        [
            Some(self.w_ih.ws.shallow_clone()),
            Some(self.w_hh.ws.shallow_clone()),
            bias(&self.w_ih),
            bias(&self.w_hh),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// The recurrent layer of a [`TextClassifier`]. All three apply the same
/// weights at every time step; they differ in how the state is updated, and
/// so in how far back a gradient reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecurrentCell {
    /// PyTorch's `nn.RNN`: `h_t = tanh(W_ih x_t + W_hh h_{t-1} + b)`. Each
    /// step multiplies the gradient by `W_hh` and `tanh'`, so it vanishes or
    /// explodes over long sequences.
    Rnn,
    /// PyTorch's `nn.GRU`: update and reset gates blend the old state with a
    /// candidate (three blocks of weights per layer).
    Gru,
    /// PyTorch's `nn.LSTM`: input, forget and output gates around an
    /// additive cell state (four blocks of weights per layer), the guide's
    /// choice.
    Lstm,
}

impl RecurrentCell {
    /// Blocks of `hidden` rows in each weight matrix (PyTorch stacks the
    /// gates of a layer into one matrix).
    fn blocks(self) -> i64 {
        match self {
            RecurrentCell::Rnn => 1,
            RecurrentCell::Gru => 3,
            RecurrentCell::Lstm => 4,
        }
    }

    /// PyTorch's class name.
    fn class(self) -> &'static str {
        match self {
            RecurrentCell::Rnn => "RNN",
            RecurrentCell::Gru => "GRU",
            RecurrentCell::Lstm => "LSTM",
        }
    }

    /// The attribute name a PyTorch model would give the layer (`self.lstm`
    /// in the guide), which prefixes the variable names.
    fn field(self) -> &'static str {
        match self {
            RecurrentCell::Rnn => "rnn",
            RecurrentCell::Gru => "gru",
            RecurrentCell::Lstm => "lstm",
        }
    }
}

/// Settings of a [`TextClassifier`]. [`TextClassifierConfig::new`] gives the
/// guide's two-layer bidirectional LSTM with dropout 0.3 between layers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TextClassifierConfig {
    /// Number of distinct token ids.
    pub vocab_size: i64,
    /// Size of each token's embedding vector.
    pub embed_dim: i64,
    /// Size of the LSTM state, per direction.
    pub hidden_dim: i64,
    /// Number of classes (outputs).
    pub num_classes: i64,
    /// Stacked LSTM layers (the guide: 2).
    pub num_layers: i64,
    /// Dropout between LSTM layers in training (the guide: 0.3).
    pub dropout: f64,
    /// Read the sequence both ways (the guide: true).
    pub bidirectional: bool,
    /// The recurrent layer (the guide: [`RecurrentCell::Lstm`]).
    pub cell: RecurrentCell,
}

impl TextClassifierConfig {
    /// The guide's settings for the given sizes.
    pub fn new(vocab_size: i64, embed_dim: i64, hidden_dim: i64, num_classes: i64) -> Self {
        TextClassifierConfig {
            vocab_size,
            embed_dim,
            hidden_dim,
            num_classes,
            num_layers: 2,
            dropout: 0.3,
            bidirectional: true,
            cell: RecurrentCell::Lstm,
        }
    }

    fn directions(&self) -> i64 {
        if self.bidirectional { 2 } else { 1 }
    }
}

/// The guide's LSTM text classifier: token ids → embeddings → stacked
/// (bidirectional) LSTM → the last layer's final states of both directions,
/// concatenated → linear layer → class logits.
///
/// Variables follow PyTorch's names (`embedding.weight`,
/// `lstm.weight_ih_l0`, `lstm.bias_hh_l1_reverse`, ..., `classifier.weight`)
/// and initialisation (recurrent weights uniform in `±1/sqrt(hidden_dim)`).
/// `TextClassifierConfig::new(10_000, 128, 256, 5)` has the guide's
/// 3,650,053 parameters. With [`RecurrentCell::Rnn`] or
/// [`RecurrentCell::Gru`] in the config, the same model has a plain RNN or a
/// GRU in place of the LSTM (variables `rnn.*` or `gru.*`), everything else
/// unchanged: the way to see what the LSTM's gates add.
///
/// Unlike tch's `nn::LSTM`, whose dropout setting is fixed when it is built,
/// the training flag of [`ModuleT::forward_t`] switches the between-layer
/// dropout on and off, as `model.train()` / `model.eval()` do in PyTorch.
#[derive(Debug)]
pub struct TextClassifier {
    config: TextClassifierConfig,
    embedding: nn::Embedding,
    /// The recurrent layer's weights in PyTorch's order (per layer and
    /// direction: `weight_ih`, `weight_hh`, `bias_ih`, `bias_hh`).
    recurrent: Vec<Tensor>,
    classifier: nn::Linear,
}

impl TextClassifier {
    /// Creates the model under `path`.
    pub fn new(path: &nn::Path, config: TextClassifierConfig) -> Result<TextClassifier> {
        let c = config;
        check_sizes(
            "TextClassifier",
            &[
                ("vocab_size", c.vocab_size),
                ("embed_dim", c.embed_dim),
                ("hidden_dim", c.hidden_dim),
                ("num_classes", c.num_classes),
                ("num_layers", c.num_layers),
            ],
        )?;
        check_dropout("TextClassifier", c.dropout)?;
        let layer_path = path / c.cell.field();
        let bound = 1.0 / (c.hidden_dim as f64).sqrt();
        let init = Init::Uniform {
            lo: -bound,
            up: bound,
        };
        let gates = c.cell.blocks() * c.hidden_dim;
        let mut recurrent = Vec::new();
        for layer in 0..c.num_layers {
            let inputs = if layer == 0 {
                c.embed_dim
            } else {
                c.hidden_dim * c.directions()
            };
            for direction in 0..c.directions() {
                let suffix = if direction == 1 { "_reverse" } else { "" };
                let name = |what: &str| format!("{what}_l{layer}{suffix}");
                recurrent.push(layer_path.var(&name("weight_ih"), &[gates, inputs], init));
                recurrent.push(layer_path.var(&name("weight_hh"), &[gates, c.hidden_dim], init));
                recurrent.push(layer_path.var(&name("bias_ih"), &[gates], init));
                recurrent.push(layer_path.var(&name("bias_hh"), &[gates], init));
            }
        }
        Ok(TextClassifier {
            config,
            embedding: embedding(path / "embedding", c.vocab_size, c.embed_dim),
            recurrent,
            classifier: pytorch_linear(
                path / "classifier",
                c.hidden_dim * c.directions(),
                c.num_classes,
                true,
            ),
        })
    }

    /// The configuration the model was built with.
    pub fn config(&self) -> TextClassifierConfig {
        self.config
    }

    /// Logits `[batch, classes]` for token ids `[batch, seq_len]` (Int64, in
    /// `0..vocab_size`), or an error naming what is wrong with the input.
    pub fn try_forward_t(&self, ids: &Tensor, train: bool) -> Result<Tensor> {
        let c = self.config;
        check_input("TextClassifier", ids, 2, None, "token ids [batch, seq_len]")?;
        check_token_ids("TextClassifier", ids, c.vocab_size)?;
        if ids.size()[1] == 0 {
            return Err(Error::InvalidArgument(
                "TextClassifier: the sequences are empty (seq_len 0)".into(),
            ));
        }
        let emb = self.embedding.forward(ids);
        let state = Tensor::f_zeros(
            [c.num_layers * c.directions(), ids.size()[0], c.hidden_dim],
            (emb.kind(), emb.device()),
        )?;
        let weights = &self.recurrent;
        let (layers, dropout, both_ways) = (c.num_layers, c.dropout, c.bidirectional);
        // Every cell returns the final states of each layer and direction,
        // h_n; the LSTM also returns its final cell states, not needed here.
        let h_n = match c.cell {
            RecurrentCell::Lstm => {
                let h0 = [state.shallow_clone(), state];
                let (_output, h_n, _c_n) =
                    emb.f_lstm(&h0, weights, true, layers, dropout, train, both_ways, true)?;
                h_n
            }
            RecurrentCell::Gru => {
                emb.f_gru(
                    &state, weights, true, layers, dropout, train, both_ways, true,
                )?
                .1
            }
            RecurrentCell::Rnn => {
                emb.f_rnn_tanh(
                    &state, weights, true, layers, dropout, train, both_ways, true,
                )?
                .1
            }
        };
        // h_n is [layers * directions, batch, hidden]; the last layer's
        // forward and backward states are its last two rows.
        let hidden = if c.bidirectional {
            Tensor::f_cat(&[h_n.get(-2), h_n.get(-1)], 1)?
        } else {
            h_n.get(-1)
        };
        Ok(self.classifier.forward(&hidden))
    }
}

impl ModuleT for TextClassifier {
    /// Panics with [`TextClassifier::try_forward_t`]'s message on bad input.
    fn forward_t(&self, ids: &Tensor, train: bool) -> Tensor {
        self.try_forward_t(ids, train)
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

/// The structure in PyTorch's `print(model)` format.
impl fmt::Display for TextClassifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.config;
        writeln!(f, "TextClassifier(")?;
        writeln!(
            f,
            "  (embedding): Embedding({}, {})",
            c.vocab_size, c.embed_dim
        )?;
        writeln!(
            f,
            "  ({}): {}({}, {}, num_layers={}, batch_first=True, dropout={}, bidirectional={})",
            c.cell.field(),
            c.cell.class(),
            c.embed_dim,
            c.hidden_dim,
            c.num_layers,
            c.dropout,
            if c.bidirectional { "True" } else { "False" }
        )?;
        write!(
            f,
            "  (classifier): Linear(in_features={}, out_features={}, bias=True)\n)",
            c.hidden_dim * c.directions(),
            c.num_classes
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::parameter_count;
    use tch::{Device, Kind};

    #[test]
    fn hand_written_loop_matches_libtorch() {
        let _rng = crate::torch_rng_lock();
        crate::seed_all(3);
        let vs = nn::VarStore::new(Device::Cpu);
        let rnn = SimpleRnn::new(&vs.root(), 5, 7).unwrap();
        assert_eq!(parameter_count(&vs), 5 * 7 + 7 * 7 + 2 * 7);
        let x = Tensor::randn([3, 4, 5], (Kind::Float, Device::Cpu));
        let (outputs, last) = rnn.forward(&x).unwrap();
        assert_eq!(outputs.size(), [3, 4, 7]);
        let h0 = Tensor::zeros([1, 3, 7], (Kind::Float, Device::Cpu));
        let (expected, expected_last) =
            x.rnn_tanh(&h0, &rnn.weights(), true, 1, 0.0, false, false, true);
        assert!(outputs.allclose(&expected, 1e-5, 1e-6, false));
        assert!(last.allclose(&expected_last.squeeze_dim(0), 1e-5, 1e-6, false));
        assert!(rnn.forward(&x.narrow(1, 0, 0)).is_err());
    }

    #[test]
    fn guide_sized_text_classifier() {
        let _rng = crate::torch_rng_lock();
        let vs = nn::VarStore::new(Device::Cpu);
        let config = TextClassifierConfig::new(10_000, 128, 256, 5);
        let model = TextClassifier::new(&vs.root(), config).unwrap();
        assert_eq!(parameter_count(&vs), 3_650_053);
        let ids = Tensor::randint(10_000, [8, 50], (Kind::Int64, Device::Cpu));
        assert_eq!(model.forward_t(&ids, true).size(), [8, 5]);
        let names = vs.variables();
        assert!(names.contains_key("lstm.bias_hh_l1_reverse"));
        assert_eq!(names["lstm.weight_ih_l1"].size(), [1024, 512]);
        assert!(model.to_string().contains("num_layers=2"));
    }

    #[test]
    fn dropout_only_in_training() {
        let _rng = crate::torch_rng_lock();
        let vs = nn::VarStore::new(Device::Cpu);
        let mut config = TextClassifierConfig::new(20, 4, 6, 3);
        config.dropout = 0.5;
        let model = TextClassifier::new(&vs.root(), config).unwrap();
        let ids = Tensor::randint(20, [16, 5], (Kind::Int64, Device::Cpu));
        let eval = model.forward_t(&ids, false);
        assert!(eval.equal(&model.forward_t(&ids, false)));
        assert!(!eval.allclose(&model.forward_t(&ids, true), 1e-6, 1e-6, false));
        let e = model.try_forward_t(&(ids + 20), false).unwrap_err();
        assert!(e.to_string().contains("0..20"), "{e}");
        let one_way = TextClassifierConfig {
            bidirectional: false,
            ..config
        };
        let vs = nn::VarStore::new(Device::Cpu);
        let model = TextClassifier::new(&vs.root(), one_way).unwrap();
        let ids = Tensor::zeros([2, 3], (Kind::Int64, Device::Cpu));
        assert_eq!(model.forward_t(&ids, false).size(), [2, 3]);
    }

    #[test]
    fn plain_rnn_and_gru_in_place_of_the_lstm() {
        let _rng = crate::torch_rng_lock();
        // PyTorch: per layer and direction, blocks x hidden x (inputs + hidden)
        // weights and two bias vectors of blocks x hidden.
        let layer = |blocks: i64, inputs: i64, hidden: i64| {
            2 * (blocks * hidden * (inputs + hidden) + 2 * blocks * hidden)
        };
        for (cell, blocks, name) in [
            (RecurrentCell::Rnn, 1, "rnn"),
            (RecurrentCell::Gru, 3, "gru"),
            (RecurrentCell::Lstm, 4, "lstm"),
        ] {
            let vs = nn::VarStore::new(Device::Cpu);
            let config = TextClassifierConfig {
                cell,
                ..TextClassifierConfig::new(30, 6, 5, 2)
            };
            let model = TextClassifier::new(&vs.root(), config).unwrap();
            let expected = 30 * 6 + layer(blocks, 6, 5) + layer(blocks, 10, 5) + 10 * 2 + 2;
            assert_eq!(parameter_count(&vs), expected, "{cell:?}");
            let names = vs.variables();
            assert_eq!(
                names[&format!("{name}.weight_hh_l1_reverse")].size(),
                [blocks * 5, 5]
            );
            let printed = model.to_string();
            assert!(
                printed.contains(&format!("({name}): {}(6, 5,", cell.class())),
                "{printed}"
            );
            let ids = Tensor::randint(30, [4, 7], (Kind::Int64, Device::Cpu));
            let logits = model.forward_t(&ids, false);
            assert_eq!(logits.size(), [4, 2]);
            assert!(logits.isfinite().all().int64_value(&[]) == 1);
        }
    }

    #[test]
    fn rnn_cell_is_libtorchs_rnn_tanh() {
        // The classifier's plain RNN layer computes the recurrence written
        // out in SimpleRnn: same weights, same final state.
        let _rng = crate::torch_rng_lock();
        let vs = nn::VarStore::new(Device::Cpu);
        let config = TextClassifierConfig {
            num_layers: 1,
            bidirectional: false,
            cell: RecurrentCell::Rnn,
            ..TextClassifierConfig::new(12, 4, 3, 2)
        };
        let model = TextClassifier::new(&vs.root(), config).unwrap();
        let rnn_vs = nn::VarStore::new(Device::Cpu);
        let rnn = SimpleRnn::new(&rnn_vs.root(), 4, 3).unwrap();
        tch::no_grad(|| {
            for (mine, theirs) in rnn.weights().iter_mut().zip(&model.recurrent) {
                mine.copy_(theirs);
            }
        });
        let ids = Tensor::from_slice(&[3i64, 1, 4, 1, 5]).view([1, 5]);
        let (_, last) = rnn.forward(&model.embedding.forward(&ids)).unwrap();
        let expected = model.classifier.forward(&last);
        assert!(
            model
                .forward_t(&ids, false)
                .allclose(&expected, 1e-5, 1e-6, false)
        );
    }
}
