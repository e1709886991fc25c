//! Multi-head self-attention, the core of the Transformer, written out the
//! way the guide explains it.

use tch::nn::{self, Module};
use tch::{Device, Kind, Tensor};

use super::init::{check_input, check_sizes, pytorch_linear};
use crate::{Error, Result};

/// The GPT-style causal mask for `seq_len` tokens: `[1, 1, seq_len,
/// seq_len]`, 1 on and below the diagonal (token `a` may look at token `b <=
/// a`), 0 above it. It broadcasts over batch and heads.
pub fn causal_mask(seq_len: i64, device: Device) -> Tensor {
    Tensor::ones([seq_len, seq_len], (Kind::Float, device))
        .tril(0)
        .view([1, 1, seq_len, seq_len])
}

/// Multi-head self-attention: every token builds a query, a key and a value;
/// each head compares queries with keys (`softmax(Q Kᵀ / sqrt(d_k))`) and
/// averages the values with those weights; the heads' results are
/// concatenated and projected back to `d_model`.
///
/// The four projections are public so that a notebook can redo the
/// computation step by step with the same weights.
#[derive(Debug)]
pub struct MultiHeadSelfAttention {
    d_model: i64,
    n_heads: i64,
    /// Query projection ("what am I looking for?").
    pub w_q: nn::Linear,
    /// Key projection ("what do I contain?").
    pub w_k: nn::Linear,
    /// Value projection ("what do I pass on?").
    pub w_v: nn::Linear,
    /// Output projection after the heads are merged.
    pub w_o: nn::Linear,
}

impl MultiHeadSelfAttention {
    /// Attention over `d_model` features split into `n_heads` heads of
    /// `d_model / n_heads` each (variables `W_q`, `W_k`, `W_v`, `W_o` under
    /// `path`). `d_model` must be a multiple of `n_heads`.
    pub fn new(path: &nn::Path, d_model: i64, n_heads: i64) -> Result<MultiHeadSelfAttention> {
        check_sizes(
            "MultiHeadSelfAttention",
            &[("d_model", d_model), ("n_heads", n_heads)],
        )?;
        if d_model % n_heads != 0 {
            return Err(Error::InvalidArgument(format!(
                "MultiHeadSelfAttention: d_model ({d_model}) must be a multiple of n_heads \
                 ({n_heads}); choose e.g. n_heads = {}",
                largest_divisor_up_to(d_model, n_heads)
            )));
        }
        let proj = |name: &str| pytorch_linear(path / name, d_model, d_model, true);
        Ok(MultiHeadSelfAttention {
            d_model,
            n_heads,
            w_q: proj("W_q"),
            w_k: proj("W_k"),
            w_v: proj("W_v"),
            w_o: proj("W_o"),
        })
    }

    /// Number of heads.
    pub fn n_heads(&self) -> i64 {
        self.n_heads
    }

    /// Features per head, `d_model / n_heads`.
    pub fn d_k(&self) -> i64 {
        self.d_model / self.n_heads
    }

    /// Attends over `x` `[batch, seq_len, d_model]`. Where `mask` (which must
    /// broadcast to `[batch, heads, seq_len, seq_len]`, e.g. [`causal_mask`])
    /// is 0, a token may not look. Returns `[batch, seq_len, d_model]`.
    pub fn forward(&self, x: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
        Ok(self.forward_with_weights(x, mask)?.0)
    }

    /// Like [`forward`](Self::forward), and also returns the attention
    /// weights `[batch, heads, seq_len, seq_len]`: row `a` of a head says how
    /// much token `a` takes from each token `b` (each row sums to 1).
    pub fn forward_with_weights(
        &self,
        x: &Tensor,
        mask: Option<&Tensor>,
    ) -> Result<(Tensor, Tensor)> {
        let d = self.d_model;
        check_input(
            "MultiHeadSelfAttention",
            x,
            3,
            Some((2, d)),
            &format!("[batch, seq_len, {d}]"),
        )?;
        let (b, t) = (x.size()[0], x.size()[1]);
        // (B, T, d_model) -> (B, heads, T, d_k)
        let heads = |p: &nn::Linear| -> Result<Tensor> {
            Ok(p.forward(x)
                .f_view([b, t, self.n_heads, self.d_k()])?
                .f_transpose(1, 2)?)
        };
        let (q, k, v) = (heads(&self.w_q)?, heads(&self.w_k)?, heads(&self.w_v)?);
        let mut scores = q.f_matmul(&k.f_transpose(-2, -1)?)? / (self.d_k() as f64).sqrt();
        if let Some(mask) = mask {
            scores = scores.f_masked_fill(&mask.f_eq(0.0)?, f64::NEG_INFINITY)?;
        }
        // No explicit dtype: CUDA autocast runs softmax in fp32 when the
        // caller leaves the dtype open (its `fp32_set_opt_dtype` policy), so
        // the attention weights keep fp32 precision. Passing `scores.kind()`
        // would pin them to the 16-bit kind of the scores. (CPU autocast has
        // no fp32 rule for softmax: there the weights follow the scores.)
        let weights = scores.f_softmax(-1, None::<Kind>)?;
        let context = weights
            .f_matmul(&v)?
            .f_transpose(1, 2)?
            .f_contiguous()?
            .f_view([b, t, d])?;
        Ok((self.w_o.forward(&context), weights))
    }
}

fn largest_divisor_up_to(n: i64, limit: i64) -> i64 {
    (1..=limit.min(n)).rev().find(|h| n % h == 0).unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::parameter_count;

    #[test]
    fn shapes_weights_and_causality() {
        let _rng = crate::torch_rng_lock();
        crate::seed_all(5);
        let vs = nn::VarStore::new(Device::Cpu);
        let attn = MultiHeadSelfAttention::new(&vs.root(), 16, 4).unwrap();
        assert_eq!(parameter_count(&vs), 4 * (16 * 16 + 16));
        assert_eq!(attn.d_k(), 4);
        let x = Tensor::randn([2, 5, 16], (Kind::Float, Device::Cpu));
        let mask = causal_mask(5, Device::Cpu);
        let (out, w) = attn.forward_with_weights(&x, Some(&mask)).unwrap();
        assert_eq!((out.size(), w.size()), (vec![2, 5, 16], vec![2, 4, 5, 5]));
        let row_sums = w.sum_dim_intlist(-1, false, Kind::Float);
        assert!(row_sums.allclose(&row_sums.ones_like(), 1e-5, 1e-6, false));
        // Nothing above the diagonal: the first token attends only to itself.
        assert_eq!(w.triu(1).abs().sum(Kind::Float).double_value(&[]), 0.0);
        // Changing the last token cannot change earlier outputs.
        let x2 = x.copy();
        let _ = x2.narrow(1, 4, 1).fill_(3.0);
        let out2 = attn.forward(&x2, Some(&mask)).unwrap();
        assert!(
            out.narrow(1, 0, 4)
                .allclose(&out2.narrow(1, 0, 4), 1e-5, 1e-6, false)
        );
        // libtorch's fused kernel computes the same attention.
        let split = |p: &nn::Linear| p.forward(&x).view([2, 5, 4, 4]).transpose(1, 2);
        let fused = Tensor::scaled_dot_product_attention(
            &split(&attn.w_q),
            &split(&attn.w_k),
            &split(&attn.w_v),
            None::<Tensor>,
            0.0,
            true,
            None,
            false,
        );
        let fused = attn.w_o.forward(&fused.transpose(1, 2).reshape([2, 5, 16]));
        assert!(out.allclose(&fused, 1e-4, 1e-5, false));
    }

    #[test]
    fn softmax_dtype_is_left_to_autocast() {
        let _rng = crate::torch_rng_lock();
        crate::seed_all(3);
        let vs = nn::VarStore::new(Device::Cpu);
        let attn = MultiHeadSelfAttention::new(&vs.root(), 16, 4).unwrap();
        let x = Tensor::randn([2, 5, 16], (Kind::Float, Device::Cpu));
        let mask = causal_mask(5, Device::Cpu);
        let (reference, _) = attn.forward_with_weights(&x, Some(&mask)).unwrap();
        for kind in [Kind::BFloat16, Kind::Half] {
            let ((out, w), plain) = crate::amp::autocast(Device::Cpu, kind, || {
                // What autocast makes of a softmax whose dtype is left open.
                let probe = Tensor::zeros([2, 3], (kind, Device::Cpu));
                let plain = probe.softmax(-1, None::<Kind>).kind();
                (attn.forward_with_weights(&x, Some(&mask)).unwrap(), plain)
            })
            .unwrap();
            assert_eq!(
                w.kind(),
                plain,
                "{kind:?}: the attention softmax follows autocast's policy"
            );
            let sums = w
                .to_kind(Kind::Float)
                .sum_dim_intlist(-1, false, Kind::Float);
            assert!(
                sums.allclose(&sums.ones_like(), 1e-2, 1e-2, false),
                "{kind:?}"
            );
            let err = (out.to_kind(Kind::Float) - &reference)
                .abs()
                .max()
                .double_value(&[]);
            assert!(err < 0.05, "{kind:?}: max error {err}");
        }
        if tch::Cuda::is_available() {
            let cuda = Device::Cuda(0);
            let vs = nn::VarStore::new(cuda);
            let attn = MultiHeadSelfAttention::new(&vs.root(), 16, 4).unwrap();
            let x = Tensor::randn([2, 5, 16], (Kind::Float, cuda));
            let (out, w) = crate::amp::autocast(cuda, Kind::Half, || {
                attn.forward_with_weights(&x, Some(&causal_mask(5, cuda)))
                    .unwrap()
            })
            .unwrap();
            assert_eq!((out.kind(), w.kind()), (Kind::Half, Kind::Float));
        }
    }

    #[test]
    fn bad_arguments_are_errors() {
        let vs = nn::VarStore::new(Device::Cpu);
        let e = MultiHeadSelfAttention::new(&vs.root(), 10, 4).unwrap_err();
        assert!(e.to_string().contains("n_heads = 2"), "{e}");
        let attn = MultiHeadSelfAttention::new(&vs.root(), 8, 2).unwrap();
        let x = Tensor::zeros([1, 3, 6], (Kind::Float, Device::Cpu));
        assert!(attn.forward(&x, None).is_err());
    }
}
