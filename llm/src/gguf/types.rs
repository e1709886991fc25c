//! ggml tensor types: their names, their block layout, and dequantisation of
//! the ones the course's models use.
//!
//! A quantised tensor is a run of blocks. Each block stores `block_size`
//! weights in `type_size` bytes: one or two f16 numbers (a scale `d`, for
//! Q4_1 also a minimum `m`) followed by small integers `q`; the weight is
//! `q * d` (Q8_0), `(q - 8) * d` (Q4_0) or `q * d + m` (Q4_1).

use std::fmt;

use half::{bf16, f16};

use crate::{Error, Result};

/// A ggml tensor type, as the number GGUF stores. Known types have a name and
/// a block layout; [`GgmlType::dequantize`] reads the supported ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GgmlType(pub u32);

/// (id, name, weights per block, bytes per block), as in ggml's `ggml.h` and
/// the `gguf` Python package's `GGML_QUANT_SIZES`.
const TYPES: &[(u32, &str, u64, u64)] = &[
    (0, "F32", 1, 4),
    (1, "F16", 1, 2),
    (2, "Q4_0", 32, 18),
    (3, "Q4_1", 32, 20),
    (6, "Q5_0", 32, 22),
    (7, "Q5_1", 32, 24),
    (8, "Q8_0", 32, 34),
    (9, "Q8_1", 32, 40),
    (10, "Q2_K", 256, 84),
    (11, "Q3_K", 256, 110),
    (12, "Q4_K", 256, 144),
    (13, "Q5_K", 256, 176),
    (14, "Q6_K", 256, 210),
    (15, "Q8_K", 256, 292),
    (16, "IQ2_XXS", 256, 66),
    (17, "IQ2_XS", 256, 74),
    (18, "IQ3_XXS", 256, 98),
    (19, "IQ1_S", 256, 50),
    (20, "IQ4_NL", 32, 18),
    (21, "IQ3_S", 256, 110),
    (22, "IQ2_S", 256, 82),
    (23, "IQ4_XS", 256, 136),
    (24, "I8", 1, 1),
    (25, "I16", 1, 2),
    (26, "I32", 1, 4),
    (27, "I64", 1, 8),
    (28, "F64", 1, 8),
    (29, "IQ1_M", 256, 56),
    (30, "BF16", 1, 2),
    (34, "TQ1_0", 256, 54),
    (35, "TQ2_0", 256, 66),
    (39, "MXFP4", 32, 17),
];

impl GgmlType {
    /// 32-bit floats.
    pub const F32: GgmlType = GgmlType(0);
    /// 16-bit IEEE floats.
    pub const F16: GgmlType = GgmlType(1);
    /// 4-bit blocks of 32 with one f16 scale.
    pub const Q4_0: GgmlType = GgmlType(2);
    /// 4-bit blocks of 32 with an f16 scale and an f16 minimum.
    pub const Q4_1: GgmlType = GgmlType(3);
    /// 8-bit blocks of 32 with one f16 scale.
    pub const Q8_0: GgmlType = GgmlType(8);
    /// bfloat16.
    pub const BF16: GgmlType = GgmlType(30);

    fn entry(self) -> Option<&'static (u32, &'static str, u64, u64)> {
        TYPES.iter().find(|t| t.0 == self.0)
    }

    /// The ggml name (`"Q4_1"`), or `None` for a number ggml does not define.
    pub fn name(self) -> Option<&'static str> {
        self.entry().map(|t| t.1)
    }

    /// Bytes taken by `n` weights, or `None` when the type is unknown or `n`
    /// is not a whole number of blocks.
    pub fn byte_size(self, n: u64) -> Option<u64> {
        let &(_, _, block, bytes) = self.entry()?;
        n.is_multiple_of(block).then(|| n / block * bytes)
    }

    /// The weights in `bytes` (`n` of them) as f32. `tensor` names the tensor
    /// in errors.
    pub fn dequantize(self, tensor: &str, bytes: &[u8], n: usize) -> Result<Vec<f32>> {
        let unsupported = || Error::UnsupportedTensorType {
            tensor: tensor.to_string(),
            ty: self.to_string(),
        };
        let expected = self
            .byte_size(n as u64)
            .ok_or_else(unsupported)
            .map(|b| b as usize)?;
        if bytes.len() != expected {
            return Err(Error::InvalidArgument(format!(
                "tensor `{tensor}`: {n} {self} weights take {expected} bytes, got {}",
                bytes.len()
            )));
        }
        let le16 = |b: &[u8]| u16::from_le_bytes([b[0], b[1]]);
        let scale = |b: &[u8]| f16::from_bits(le16(b)).to_f32();
        let mut out = Vec::with_capacity(n);
        match self {
            GgmlType::F32 => out.extend(
                bytes
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            ),
            GgmlType::F16 => out.extend(bytes.chunks_exact(2).map(scale)),
            GgmlType::BF16 => out.extend(
                bytes
                    .chunks_exact(2)
                    .map(|b| bf16::from_bits(le16(b)).to_f32()),
            ),
            GgmlType::Q8_0 => {
                for block in bytes.chunks_exact(34) {
                    let d = scale(block);
                    out.extend(block[2..].iter().map(|&q| f32::from(q as i8) * d));
                }
            }
            GgmlType::Q4_0 | GgmlType::Q4_1 => {
                // Q4_0 centres its nibbles on 8; Q4_1 adds a stored minimum.
                let has_min = self == GgmlType::Q4_1;
                let header = if has_min { 4 } else { 2 };
                for block in bytes.chunks_exact(header + 16) {
                    let d = scale(block);
                    let m = if has_min {
                        scale(&block[2..])
                    } else {
                        -8.0 * d
                    };
                    let qs = &block[header..];
                    // Low nibbles are weights 0..16, high nibbles 16..32.
                    out.extend(qs.iter().map(|&q| f32::from(q & 0x0f) * d + m));
                    out.extend(qs.iter().map(|&q| f32::from(q >> 4) * d + m));
                }
            }
            _ => return Err(unsupported()),
        }
        Ok(out)
    }
}

impl fmt::Display for GgmlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "unknown ggml type {}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f16_bytes(x: f32) -> [u8; 2] {
        f16::from_f32(x).to_bits().to_le_bytes()
    }

    #[test]
    fn names_and_sizes() {
        assert_eq!(GgmlType(12).to_string(), "Q4_K");
        assert_eq!(GgmlType(99).to_string(), "unknown ggml type 99");
        assert_eq!(GgmlType::Q4_1.byte_size(64), Some(40));
        assert_eq!(GgmlType::Q8_0.byte_size(33), None);
        assert_eq!(GgmlType(99).byte_size(32), None);
    }

    #[test]
    fn q4_blocks_by_hand() {
        // d = 0.5, m = -1: nibble q becomes 0.5 q - 1 (Q4_1) or 0.5 (q - 8) (Q4_0).
        let mut q4_1 = [f16_bytes(0.5), f16_bytes(-1.0)].concat();
        q4_1.extend((0..16u8).map(|j| j | ((15 - j) << 4)));
        let w = GgmlType::Q4_1.dequantize("t", &q4_1, 32).unwrap();
        assert_eq!(w[0], -1.0);
        assert_eq!(w[15], 6.5);
        assert_eq!(w[16], 6.5);
        assert_eq!(w[31], -1.0);
        let q4_0 = [&f16_bytes(0.5)[..], &q4_1[4..]].concat();
        let w = GgmlType::Q4_0.dequantize("t", &q4_0, 32).unwrap();
        assert_eq!((w[0], w[15], w[16]), (-4.0, 3.5, 3.5));
    }

    #[test]
    fn q8_block_by_hand() {
        let mut block = f16_bytes(0.25).to_vec();
        block.extend((0..32).map(|j| (j as i8 - 16) as u8));
        let w = GgmlType::Q8_0.dequantize("t", &block, 32).unwrap();
        assert_eq!((w[0], w[16], w[31]), (-4.0, 0.0, 3.75));
    }

    #[test]
    fn unsupported_type_is_named() {
        let err = GgmlType(12).dequantize("blk.0.ffn_up.weight", &[0; 144], 256);
        let msg = err.unwrap_err().to_string();
        assert!(
            msg.contains("blk.0.ffn_up.weight") && msg.contains("Q4_K"),
            "{msg}"
        );
    }

    #[test]
    fn wrong_byte_count_is_an_error() {
        assert!(GgmlType::F32.dequantize("t", &[0; 7], 2).is_err());
    }
}
