//! A reader for GGUF, llama.cpp's single-file model format.
//!
//! A GGUF file is a header (magic `GGUF`, version, counts), metadata
//! key/values (hyperparameters, the tokenizer's vocabulary, the chat
//! template), one descriptor per tensor (name, shape, type, offset), and then
//! the tensors' bytes, each aligned to `general.alignment` (32 by default).
//! [`Gguf::open`] reads everything but the tensors' bytes and checks that
//! every tensor lies inside the file; [`Gguf::tensor`] then reads and
//! dequantises one tensor at a time, so a model is never in memory twice.
//!
//! Bad input never panics: each problem is an [`Error`] that names it (wrong
//! magic, unsupported version, truncation with offset and size, an
//! unsupported tensor type, a missing tensor or key).

mod types;

use std::fmt;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use tch::Tensor;

pub use types::GgmlType;

use crate::{Error, Result};

/// A metadata value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `UINT8`
    U8(u8),
    /// `INT8`
    I8(i8),
    /// `UINT16`
    U16(u16),
    /// `INT16`
    I16(i16),
    /// `UINT32`
    U32(u32),
    /// `INT32`
    I32(i32),
    /// `UINT64`
    U64(u64),
    /// `INT64`
    I64(i64),
    /// `FLOAT32`
    F32(f32),
    /// `FLOAT64`
    F64(f64),
    /// `BOOL`
    Bool(bool),
    /// `STRING` (UTF-8)
    String(String),
    /// `ARRAY` of values of one type.
    Array(Vec<Value>),
}

impl Value {
    /// An integer of any width, if it is one.
    pub fn as_i64(&self) -> Option<i64> {
        Some(match *self {
            Value::U8(v) => v.into(),
            Value::I8(v) => v.into(),
            Value::U16(v) => v.into(),
            Value::I16(v) => v.into(),
            Value::U32(v) => v.into(),
            Value::I32(v) => v.into(),
            Value::U64(v) => i64::try_from(v).ok()?,
            Value::I64(v) => v,
            _ => return None,
        })
    }

    /// A float (or an integer) as f64.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::F32(v) => Some(v.into()),
            Value::F64(v) => Some(v),
            _ => self.as_i64().map(|v| v as f64),
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The elements, if this is an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(v) => Some(v),
            _ => None,
        }
    }

    /// The GGUF type name, for error messages.
    fn type_name(&self) -> &'static str {
        match self {
            Value::U8(_) => "UINT8",
            Value::I8(_) => "INT8",
            Value::U16(_) => "UINT16",
            Value::I16(_) => "INT16",
            Value::U32(_) => "UINT32",
            Value::I32(_) => "INT32",
            Value::U64(_) => "UINT64",
            Value::I64(_) => "INT64",
            Value::F32(_) => "FLOAT32",
            Value::F64(_) => "FLOAT64",
            Value::Bool(_) => "BOOL",
            Value::String(_) => "STRING",
            Value::Array(_) => "ARRAY",
        }
    }
}

/// Short form: arrays longer than 8 show their first elements and length.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::String(s) if s.chars().count() > 80 => {
                let head: String = s.chars().take(80).collect();
                write!(f, "{head:?}… ({} chars)", s.chars().count())
            }
            Value::String(s) => write!(f, "{s:?}"),
            Value::Bool(v) => write!(f, "{v}"),
            Value::F32(v) => write!(f, "{v}"),
            Value::F64(v) => write!(f, "{v}"),
            Value::Array(items) => {
                let shown: Vec<String> = items.iter().take(8).map(|v| v.to_string()).collect();
                match items.len() {
                    n if n > 8 => write!(f, "[{}, …] ({n} items)", shown.join(", ")),
                    _ => write!(f, "[{}]", shown.join(", ")),
                }
            }
            Value::U64(v) => write!(f, "{v}"),
            _ => write!(f, "{}", self.as_i64().unwrap_or_default()),
        }
    }
}

/// Conversion of a metadata value to a Rust type, for [`Gguf::get`].
pub trait FromValue<'a>: Sized {
    /// What the error message says was expected.
    const EXPECTED: &'static str;
    /// The converted value, or `None` when the value has another type.
    fn from_value(value: &'a Value) -> Option<Self>;
}

impl FromValue<'_> for i64 {
    const EXPECTED: &'static str = "an integer";
    fn from_value(value: &Value) -> Option<Self> {
        value.as_i64()
    }
}

impl FromValue<'_> for usize {
    const EXPECTED: &'static str = "a non-negative integer";
    fn from_value(value: &Value) -> Option<Self> {
        usize::try_from(value.as_i64()?).ok()
    }
}

impl FromValue<'_> for f64 {
    const EXPECTED: &'static str = "a number";
    fn from_value(value: &Value) -> Option<Self> {
        value.as_f64()
    }
}

impl FromValue<'_> for bool {
    const EXPECTED: &'static str = "a BOOL";
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
}

impl<'a> FromValue<'a> for &'a str {
    const EXPECTED: &'static str = "a STRING";
    fn from_value(value: &'a Value) -> Option<Self> {
        value.as_str()
    }
}

impl<'a> FromValue<'a> for Vec<&'a str> {
    const EXPECTED: &'static str = "an ARRAY of STRING";
    fn from_value(value: &'a Value) -> Option<Self> {
        value.as_array()?.iter().map(Value::as_str).collect()
    }
}

impl FromValue<'_> for Vec<i64> {
    const EXPECTED: &'static str = "an ARRAY of integers";
    fn from_value(value: &Value) -> Option<Self> {
        value.as_array()?.iter().map(Value::as_i64).collect()
    }
}

/// Where a tensor is and how it is stored.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorInfo {
    /// Name, e.g. `blk.0.attn_q.weight`.
    pub name: String,
    /// Shape in ggml order: the first dimension varies fastest, so a weight
    /// matrix `[out, in]` in PyTorch is `[in, out]` here.
    pub dims: Vec<u64>,
    /// Storage type.
    pub ty: GgmlType,
    /// Offset of the first byte from the start of the tensor data section.
    pub offset: u64,
}

impl TensorInfo {
    /// Number of weights.
    pub fn len(&self) -> u64 {
        self.dims.iter().product()
    }

    /// Whether the tensor has no weights.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Shape in PyTorch order (ggml's reversed).
    pub fn shape(&self) -> Vec<i64> {
        self.dims.iter().rev().map(|&d| d as i64).collect()
    }
}

/// An open GGUF file: its metadata and tensor descriptors, read once; tensor
/// data is read on demand.
#[derive(Clone, Debug)]
pub struct Gguf {
    path: PathBuf,
    version: u32,
    metadata: Vec<(String, Value)>,
    tensors: Vec<TensorInfo>,
    data_start: u64,
}

/// Value type codes of the GGUF spec.
const STRING: u32 = 8;
const ARRAY: u32 = 9;

impl Gguf {
    /// Reads the header, metadata and tensor descriptors of the file at `path`
    /// and checks that every tensor's bytes lie inside the file.
    pub fn open(path: impl AsRef<Path>) -> Result<Gguf> {
        let path = path.as_ref().to_path_buf();
        let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
        let file_len = file.metadata().map_err(|e| Error::io(&path, e))?.len();
        let mut r = HeaderReader {
            inner: BufReader::with_capacity(1 << 16, file),
            pos: 0,
            file_len,
            path: &path,
        };
        let magic = r.bytes(4, "the magic number")?;
        if magic != b"GGUF" {
            return Err(Error::BadMagic {
                found: String::from_utf8_lossy(&magic).into_owned(),
                path,
            });
        }
        let version = r.u32("the version")?;
        if !(2..=3).contains(&version) {
            return Err(Error::UnsupportedVersion { path, version });
        }
        let n_tensors = r.u64("the tensor count")?;
        let n_kv = r.u64("the metadata count")?;
        // Each key/value takes at least 12 bytes and each tensor descriptor at
        // least 24: a count beyond that is a damaged header, not a big model.
        r.check_count(n_kv, 12, "metadata entries")?;
        let mut metadata = Vec::with_capacity(n_kv as usize);
        for _ in 0..n_kv {
            let key = r.string("a metadata key")?;
            let ty = r.u32(&format!("the type of `{key}`"))?;
            let value = r.value(ty, &key, 0)?;
            metadata.push((key, value));
        }
        r.check_count(n_tensors, 24, "tensor descriptors")?;
        let mut tensors = Vec::with_capacity(n_tensors as usize);
        for _ in 0..n_tensors {
            let name = r.string("a tensor name")?;
            let n_dims = r.u32(&format!("the rank of `{name}`"))?;
            if n_dims > 8 {
                return Err(Error::corrupt(
                    &path,
                    format!("tensor `{name}` has {n_dims} dimensions"),
                ));
            }
            let dims = (0..n_dims)
                .map(|_| r.u64(&format!("the shape of `{name}`")))
                .collect::<Result<Vec<_>>>()?;
            let ty = GgmlType(r.u32(&format!("the type of `{name}`"))?);
            let offset = r.u64(&format!("the offset of `{name}`"))?;
            tensors.push(TensorInfo {
                name,
                dims,
                ty,
                offset,
            });
        }
        let alignment = match metadata.iter().find(|(k, _)| k == "general.alignment") {
            None => 32,
            Some((_, v)) => v
                .as_i64()
                .filter(|&a| a > 0 && (a as u64).is_power_of_two())
                .ok_or_else(|| Error::corrupt(&path, format!("general.alignment is {v}")))?
                as u64,
        };
        let data_start = r.pos.div_ceil(alignment) * alignment;
        let gguf = Gguf {
            path,
            version,
            metadata,
            tensors,
            data_start,
        };
        for t in &gguf.tensors {
            if t.dims
                .iter()
                .try_fold(1u64, |n, &d| n.checked_mul(d))
                .is_none()
            {
                return Err(Error::corrupt(
                    &gguf.path,
                    format!("tensor `{}` is too large", t.name),
                ));
            }
            // Tensors of unknown types cannot be sized; reading them fails later.
            if let Some(size) = t.ty.byte_size(t.len()) {
                gguf.check_extent(
                    &format!("tensor `{}`", t.name),
                    gguf.data_start + t.offset,
                    size,
                    file_len,
                )?;
            }
        }
        Ok(gguf)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The GGUF version (2 or 3).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// All metadata, in file order.
    pub fn metadata(&self) -> &[(String, Value)] {
        &self.metadata
    }

    /// The value of metadata `key`, if present.
    pub fn value(&self, key: &str) -> Option<&Value> {
        self.metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Metadata `key` converted to `T`, e.g. `gguf.get::<usize>("llama.block_count")`.
    /// Errors name the key when it is missing or of another type.
    pub fn get<'a, T: FromValue<'a>>(&'a self, key: &str) -> Result<T> {
        let value = self.value(key).ok_or_else(|| Error::MissingKey {
            path: self.path.clone(),
            key: key.to_string(),
        })?;
        T::from_value(value).ok_or_else(|| Error::WrongType {
            path: self.path.clone(),
            key: key.to_string(),
            expected: T::EXPECTED,
            found: format!("{} {value}", value.type_name()),
        })
    }

    /// All tensor descriptors, in file order.
    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    /// The descriptor of tensor `name`.
    pub fn tensor_info(&self, name: &str) -> Result<&TensorInfo> {
        self.tensors
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| Error::MissingTensor {
                path: self.path.clone(),
                name: name.to_string(),
            })
    }

    /// The raw bytes of tensor `name`, as stored.
    pub fn tensor_bytes(&self, name: &str) -> Result<Vec<u8>> {
        let info = self.tensor_info(name)?;
        let size = info
            .ty
            .byte_size(info.len())
            .ok_or_else(|| Error::UnsupportedTensorType {
                tensor: name.to_string(),
                ty: info.ty.to_string(),
            })?;
        let what = format!("tensor `{name}`");
        let offset = self.data_start + info.offset;
        let mut file = File::open(&self.path).map_err(|e| Error::io(&self.path, e))?;
        let file_len = file.metadata().map_err(|e| Error::io(&self.path, e))?.len();
        // The file may have changed since `open`.
        self.check_extent(&what, offset, size, file_len)?;
        let mut buf = vec![0; size as usize];
        file.seek(SeekFrom::Start(offset))
            .and_then(|_| file.read_exact(&mut buf))
            .map_err(|e| Error::io(&self.path, e))?;
        Ok(buf)
    }

    /// Tensor `name` dequantised to f32, in PyTorch's shape (ggml's dims
    /// reversed: `token_embd.weight` is `[vocab, d_model]`).
    pub fn tensor(&self, name: &str) -> Result<Tensor> {
        let info = self.tensor_info(name)?;
        let bytes = self.tensor_bytes(name)?;
        let weights = info.ty.dequantize(name, &bytes, info.len() as usize)?;
        Ok(Tensor::from_slice(&weights).reshape(info.shape()))
    }

    fn check_extent(&self, what: &str, offset: u64, size: u64, file_len: u64) -> Result<()> {
        if offset.checked_add(size).is_none_or(|end| end > file_len) {
            return Err(Error::Truncated {
                path: self.path.clone(),
                what: what.to_string(),
                offset,
                size,
                file_len,
            });
        }
        Ok(())
    }
}

/// Reads the header sequentially, tracking the offset for error messages.
struct HeaderReader<'p> {
    inner: BufReader<File>,
    pos: u64,
    file_len: u64,
    path: &'p Path,
}

impl HeaderReader<'_> {
    fn bytes(&mut self, n: u64, what: &str) -> Result<Vec<u8>> {
        if self
            .pos
            .checked_add(n)
            .is_none_or(|end| end > self.file_len)
        {
            return Err(Error::Truncated {
                path: self.path.to_path_buf(),
                what: what.to_string(),
                offset: self.pos,
                size: n,
                file_len: self.file_len,
            });
        }
        let mut buf = vec![0; n as usize];
        self.inner
            .read_exact(&mut buf)
            .map_err(|e| Error::io(self.path, e))?;
        self.pos += n;
        Ok(buf)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let bytes = self.bytes(N as u64, what)?;
        Ok(bytes.try_into().expect("read N bytes"))
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        self.array(what).map(u32::from_le_bytes)
    }

    fn u64(&mut self, what: &str) -> Result<u64> {
        self.array(what).map(u64::from_le_bytes)
    }

    fn string(&mut self, what: &str) -> Result<String> {
        let len = self.u64(what)?;
        let bytes = self.bytes(len, what)?;
        String::from_utf8(bytes).map_err(|_| {
            Error::corrupt(
                self.path,
                format!("{what} is not UTF-8 (offset {})", self.pos - len),
            )
        })
    }

    /// Fails when `count` items of at least `min_size` bytes cannot fit in the
    /// rest of the file, before anything is allocated for them.
    fn check_count(&self, count: u64, min_size: u64, what: &str) -> Result<()> {
        let left = self.file_len - self.pos;
        if count.checked_mul(min_size).is_none_or(|n| n > left) {
            return Err(Error::Truncated {
                path: self.path.to_path_buf(),
                what: format!("{count} {what}"),
                offset: self.pos,
                size: count.saturating_mul(min_size),
                file_len: self.file_len,
            });
        }
        Ok(())
    }

    fn value(&mut self, ty: u32, key: &str, depth: u32) -> Result<Value> {
        let what = format!("the value of `{key}`");
        Ok(match ty {
            0 => Value::U8(self.array::<1>(&what)?[0]),
            1 => Value::I8(self.array::<1>(&what)?[0] as i8),
            2 => Value::U16(u16::from_le_bytes(self.array(&what)?)),
            3 => Value::I16(i16::from_le_bytes(self.array(&what)?)),
            4 => Value::U32(u32::from_le_bytes(self.array(&what)?)),
            5 => Value::I32(i32::from_le_bytes(self.array(&what)?)),
            6 => Value::F32(f32::from_le_bytes(self.array(&what)?)),
            7 => match self.array::<1>(&what)?[0] {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                b => {
                    return Err(Error::corrupt(
                        self.path,
                        format!("`{key}` is a BOOL of value {b}"),
                    ));
                }
            },
            STRING => Value::String(self.string(&what)?),
            ARRAY if depth < 4 => {
                let item_ty = self.u32(&what)?;
                let count = self.u64(&what)?;
                let min_size = match item_ty {
                    0 | 1 | 7 => 1,
                    2 | 3 => 2,
                    4..=6 => 4,
                    STRING | 10..=12 => 8,
                    _ => 12,
                };
                self.check_count(count, min_size, &format!("items of `{key}`"))?;
                Value::Array(
                    (0..count)
                        .map(|_| self.value(item_ty, key, depth + 1))
                        .collect::<Result<_>>()?,
                )
            }
            ARRAY => {
                return Err(Error::corrupt(
                    self.path,
                    format!("`{key}` nests arrays deeper than 4"),
                ));
            }
            10 => Value::U64(u64::from_le_bytes(self.array(&what)?)),
            11 => Value::I64(i64::from_le_bytes(self.array(&what)?)),
            12 => Value::F64(f64::from_le_bytes(self.array(&what)?)),
            _ => {
                return Err(Error::corrupt(
                    self.path,
                    format!("`{key}` has value type {ty}, which GGUF does not define"),
                ));
            }
        })
    }
}

#[cfg(test)]
mod tests;
