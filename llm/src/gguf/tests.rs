//! The reader on hand-built files (every value type, every error) and on the
//! fixture `tests/fixtures/types.gguf`, written by the `gguf` Python package
//! together with its dequantised values (`llm/scripts/make_fixtures.py`).

use std::path::PathBuf;

use super::*;

/// Bytes of a GGUF file, built field by field.
#[derive(Default)]
struct Builder(Vec<u8>);

impl Builder {
    fn header(version: u32, n_tensors: u64, n_kv: u64) -> Builder {
        let mut b = Builder(b"GGUF".to_vec());
        b.u32(version).u64(n_tensors).u64(n_kv);
        b
    }
    fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend(v.to_le_bytes());
        self
    }
    fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend(v.to_le_bytes());
        self
    }
    fn str(&mut self, s: &str) -> &mut Self {
        self.u64(s.len() as u64);
        self.0.extend(s.as_bytes());
        self
    }
    fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.extend(bytes);
        self
    }
    fn write(&self) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.gguf");
        std::fs::write(&path, &self.0).unwrap();
        (dir, path)
    }
}

/// A file with one metadata key of every type and one F32 tensor `[2, 3]`
/// (ggml dims `[3, 2]`) holding 0..6.
fn sample() -> Builder {
    let mut b = Builder::header(3, 1, 14);
    b.str("u8").u32(0).raw(&[200]);
    b.str("i8").u32(1).raw(&[0xff]);
    b.str("u16").u32(2).raw(&500u16.to_le_bytes());
    b.str("i16").u32(3).raw(&(-500i16).to_le_bytes());
    b.str("u32").u32(4).u32(70000);
    b.str("i32").u32(5).raw(&(-70000i32).to_le_bytes());
    b.str("f32").u32(6).raw(&1.5f32.to_le_bytes());
    b.str("bool").u32(7).raw(&[1]);
    b.str("string").u32(8).str("héllo");
    b.str("u64").u32(10).u64(1 << 40);
    b.str("i64").u32(11).raw(&(-5i64).to_le_bytes());
    b.str("f64").u32(12).raw(&0.25f64.to_le_bytes());
    b.str("strings").u32(9).u32(8).u64(2).str("a").str("bc");
    b.str("nested").u32(9).u32(9).u64(1).u32(5).u64(2);
    b.raw(&3i32.to_le_bytes()).raw(&4i32.to_le_bytes());
    b.str("w").u32(2).u64(3).u64(2).u32(0).u64(0);
    b.0.resize(b.0.len().div_ceil(32) * 32, 0);
    for x in 0..6 {
        b.raw(&(x as f32).to_le_bytes());
    }
    b
}

fn open_err(b: &Builder) -> String {
    let (_dir, path) = b.write();
    Gguf::open(&path).unwrap_err().to_string()
}

#[test]
fn reads_every_value_type() {
    let (_dir, path) = sample().write();
    let g = Gguf::open(&path).unwrap();
    assert_eq!(g.version(), 3);
    assert_eq!(g.metadata().len(), 14);
    assert_eq!(g.value("u8"), Some(&Value::U8(200)));
    assert_eq!(g.value("i8"), Some(&Value::I8(-1)));
    assert_eq!(g.get::<i64>("u16").unwrap(), 500);
    assert_eq!(g.get::<i64>("i16").unwrap(), -500);
    assert_eq!(g.get::<usize>("u32").unwrap(), 70000);
    assert_eq!(g.get::<i64>("i32").unwrap(), -70000);
    assert_eq!(g.get::<f64>("f32").unwrap(), 1.5);
    assert!(g.get::<bool>("bool").unwrap());
    assert_eq!(g.get::<&str>("string").unwrap(), "héllo");
    assert_eq!(g.get::<i64>("u64").unwrap(), 1 << 40);
    assert_eq!(g.get::<i64>("i64").unwrap(), -5);
    assert_eq!(g.get::<f64>("f64").unwrap(), 0.25);
    assert_eq!(g.get::<Vec<&str>>("strings").unwrap(), ["a", "bc"]);
    let nested = Value::Array(vec![Value::Array(vec![Value::I32(3), Value::I32(4)])]);
    assert_eq!(g.value("nested"), Some(&nested));
    assert_eq!(nested.to_string(), "[[3, 4]]");
}

#[test]
fn reads_a_tensor_in_pytorch_shape() {
    let (_dir, path) = sample().write();
    let g = Gguf::open(&path).unwrap();
    let info = g.tensor_info("w").unwrap();
    assert_eq!((info.dims.clone(), info.shape()), (vec![3, 2], vec![2, 3]));
    let t = g.tensor("w").unwrap();
    assert_eq!(t.size(), [2, 3]);
    assert_eq!(
        Vec::<f32>::try_from(t.flatten(0, -1)).unwrap(),
        [0., 1., 2., 3., 4., 5.]
    );
}

#[test]
fn missing_and_mistyped_keys_and_tensors_are_named() {
    let (_dir, path) = sample().write();
    let g = Gguf::open(&path).unwrap();
    let msg = g.get::<usize>("llama.block_count").unwrap_err().to_string();
    assert!(msg.contains("no metadata key `llama.block_count`"), "{msg}");
    let msg = g.get::<usize>("string").unwrap_err().to_string();
    assert!(
        msg.contains("`string` holds STRING \"héllo\", expected a non-negative integer"),
        "{msg}"
    );
    let msg = g.tensor("output.weight").unwrap_err().to_string();
    assert!(msg.contains("no tensor named `output.weight`"), "{msg}");
}

#[test]
fn wrong_magic() {
    let mut b = sample();
    b.0[..4].copy_from_slice(b"PK\x03\x04");
    let msg = open_err(&b);
    assert!(
        msg.contains("not a GGUF file") && msg.contains("PK"),
        "{msg}"
    );
}

#[test]
fn unsupported_version() {
    let msg = open_err(&Builder::header(1, 0, 0));
    assert!(msg.contains("GGUF version 1 is not supported"), "{msg}");
    // A big-endian file reads as a huge little-endian version.
    let msg = open_err(&Builder::header(3u32.swap_bytes(), 0, 0));
    assert!(msg.contains("version 50331648"), "{msg}");
}

#[test]
fn truncated_header_names_offset_and_size() {
    let full = sample();
    let cut = Builder(full.0[..40].to_vec());
    let msg = open_err(&cut);
    assert!(
        msg.contains("truncated") && msg.contains("file has only 40 bytes"),
        "{msg}"
    );
    assert!(
        open_err(&Builder(b"GG".to_vec())).contains("the magic number needs 4 bytes at offset 0")
    );
}

#[test]
fn truncated_tensor_data_names_the_tensor() {
    let full = sample();
    let cut = Builder(full.0[..full.0.len() - 4].to_vec());
    let msg = open_err(&cut);
    assert!(msg.contains("tensor `w` needs 24 bytes at offset"), "{msg}");
}

#[test]
fn absurd_counts_fail_before_allocating() {
    let msg = open_err(&Builder::header(3, 0, u64::MAX));
    assert!(msg.contains("metadata entries"), "{msg}");
    let mut b = Builder::header(3, 0, 1);
    b.str("k").u32(8).u64(u64::MAX - 2);
    assert!(open_err(&b).contains("truncated"));
    let mut b = Builder::header(3, 0, 1);
    b.str("k").u32(9).u32(4).u64(1 << 60);
    assert!(open_err(&b).contains("items of `k`"));
}

#[test]
fn bad_values_are_corrupt_not_panics() {
    let mut b = Builder::header(3, 0, 1);
    b.str("k").u32(13);
    assert!(open_err(&b).contains("value type 13"));
    let mut b = Builder::header(3, 0, 1);
    b.str("k").u32(7).raw(&[2]);
    assert!(open_err(&b).contains("BOOL of value 2"));
    let mut b = Builder::header(3, 0, 1);
    b.u64(2).raw(&[0xff, 0xfe]).u32(4).u32(0);
    assert!(open_err(&b).contains("not UTF-8"));
}

#[test]
fn unsupported_tensor_type_is_named_when_read() {
    let mut b = Builder::header(3, 1, 0);
    b.str("blk.0.ffn_up.weight").u32(1).u64(256).u32(12).u64(0);
    b.0.resize(b.0.len().div_ceil(32) * 32 + 144, 0);
    let (_dir, path) = b.write();
    let g = Gguf::open(&path).unwrap();
    let msg = g.tensor("blk.0.ffn_up.weight").unwrap_err().to_string();
    assert!(msg.contains("stored as Q4_K"), "{msg}");
}

/// The Python package's dequantisation of each block format, value for value.
#[test]
fn dequantises_like_the_gguf_package() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let g = Gguf::open(dir.join("types.gguf")).unwrap();
    assert_eq!(g.get::<usize>("test.u32").unwrap(), 7);
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("types.json")).unwrap()).unwrap();
    let expected = expected.as_object().unwrap();
    assert_eq!(expected.len(), 6);
    for (name, want) in expected {
        let info = g.tensor_info(name).unwrap();
        assert_eq!(info.ty.name(), want["type"].as_str(), "{name}");
        let t = g.tensor(name).unwrap();
        let shape: Vec<i64> = serde_json::from_value(want["shape"].clone()).unwrap();
        assert_eq!(t.size(), shape, "{name}");
        let got = Vec::<f32>::try_from(t.flatten(0, -1)).unwrap();
        let want: Vec<f32> = serde_json::from_value(want["values"].clone()).unwrap();
        assert_eq!(got, want, "{name}");
    }
}
