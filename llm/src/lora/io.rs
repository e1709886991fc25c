//! Saving and loading adapters in PEFT's layout: a folder with the matrices
//! in `adapter_model.safetensors`, named
//! `base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight`, and
//! the configuration in `adapter_config.json` (tch writes safetensors files
//! without metadata, and PEFT keeps its configuration beside them anyway).
//!
//! The files hold `B` of `q_proj` and `k_proj` in Hugging Face's row order,
//! not in the one llama.cpp's converter gave the model's weights, so that
//! PEFT can load them onto the original model; `A` (whose columns are the
//! residual stream) and the other targets need no conversion.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use super::{Adapter, Lora, LoraConfig, Target, trainable};
use crate::llama::LlamaConfig;
use crate::{Error, Result};

/// The file of the adapter's matrices, in a saved adapter's folder.
pub const WEIGHTS_FILE: &str = "adapter_model.safetensors";
/// The file of its configuration.
pub const CONFIG_FILE: &str = "adapter_config.json";

/// The fields of PEFT's `adapter_config.json` that this crate writes and
/// reads. Options it does not implement must be off when loading.
#[derive(Debug, Serialize, Deserialize)]
struct AdapterConfig {
    peft_type: String,
    #[serde(default)]
    task_type: Option<String>,
    r: usize,
    lora_alpha: f64,
    #[serde(default)]
    lora_dropout: f64,
    target_modules: Vec<String>,
    #[serde(default = "no_bias")]
    bias: String,
    #[serde(default)]
    fan_in_fan_out: bool,
    #[serde(default)]
    use_rslora: bool,
    #[serde(default)]
    use_dora: bool,
    #[serde(default)]
    inference_mode: bool,
}

fn no_bias() -> String {
    "none".into()
}

/// PEFT's name of one of the matrices (`part` is `A` or `B`).
fn tensor_name(layer: usize, target: Target, part: &str) -> String {
    format!(
        "base_model.model.model.layers.{layer}.{}.{}.lora_{part}.weight",
        target.module(),
        target.name()
    )
}

/// `b` (`[heads · head_dim, r]`) from the model's row order to Hugging
/// Face's. The converter wrote, per head, HF row `j · head_dim/2 + i` to row
/// `2i + j` (`j` = 0, 1): the two halves that HF's "rotate half" pairs up
/// become adjacent rows.
fn rows_to_hf(b: &Tensor, heads: usize) -> Tensor {
    let (out, r) = b.size2().expect("B is a matrix");
    b.view([heads as i64, out / heads as i64 / 2, 2, r])
        .transpose(1, 2)
        .reshape([out, r])
}

/// The inverse of [`rows_to_hf`]: llama.cpp's `permute`.
pub(super) fn rows_from_hf(b: &Tensor, heads: usize) -> Tensor {
    let (out, r) = b.size2().expect("B is a matrix");
    b.view([heads as i64, 2, out / heads as i64 / 2, r])
        .transpose(1, 2)
        .reshape([out, r])
}

impl Lora {
    /// Writes the adapter into the folder `dir` (made if missing), as PEFT's
    /// `save_pretrained` does: [`WEIGHTS_FILE`] and [`CONFIG_FILE`]. A few
    /// megabytes, against hundreds for the model.
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<()> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let mut tensors = Vec::new();
        for (i, adapters) in self.layers.iter().enumerate() {
            for adapter in adapters {
                let b = match adapter.target.permuted_heads(&self.model) {
                    Some(heads) => rows_to_hf(&adapter.b, heads),
                    None => adapter.b.shallow_clone(),
                };
                tensors.push((tensor_name(i, adapter.target, "A"), adapter.a.detach()));
                tensors.push((tensor_name(i, adapter.target, "B"), b.detach().contiguous()));
            }
        }
        Tensor::write_safetensors(&tensors, dir.join(WEIGHTS_FILE))?;
        let config = AdapterConfig {
            peft_type: "LORA".into(),
            task_type: Some("CAUSAL_LM".into()),
            r: self.config.r,
            lora_alpha: self.config.alpha,
            lora_dropout: self.config.dropout,
            target_modules: self.config.targets.clone(),
            bias: no_bias(),
            fan_in_fan_out: false,
            use_rslora: false,
            use_dora: false,
            inference_mode: true,
        };
        let path = dir.join(CONFIG_FILE);
        let json = serde_json::to_string_pretty(&config).expect("the config serialises");
        std::fs::write(&path, json).map_err(|e| Error::io(path, e))
    }

    /// Reads an adapter that [`Lora::save`] (or PEFT, for the Hugging Face
    /// version of the model) wrote into `dir`, for a model of shape `model`.
    /// Errors name the file and what is wrong: a configuration this crate
    /// does not implement, a missing, extra or misshapen matrix (an adapter
    /// for another model), or a damaged file.
    pub fn load(dir: impl AsRef<Path>, model: &LlamaConfig) -> Result<Lora> {
        let dir = dir.as_ref();
        let config_path = dir.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&config_path).map_err(|e| Error::io(&config_path, e))?;
        let saved: AdapterConfig = serde_json::from_str(&text)
            .map_err(|e| Error::corrupt(&config_path, format!("not a PEFT adapter config: {e}")))?;
        if saved.peft_type != "LORA"
            || saved.bias != "none"
            || saved.fan_in_fan_out
            || saved.use_rslora
            || saved.use_dora
        {
            return Err(Error::Unsupported(format!(
                "{}: peft_type {:?}, bias {:?}, fan_in_fan_out {}, use_rslora {}, use_dora {}: \
                 this crate loads plain LoRA adapters (LORA, bias \"none\", the others false)",
                config_path.display(),
                saved.peft_type,
                saved.bias,
                saved.fan_in_fan_out,
                saved.use_rslora,
                saved.use_dora
            )));
        }
        let config = LoraConfig {
            r: saved.r,
            alpha: saved.lora_alpha,
            dropout: saved.lora_dropout,
            targets: saved.target_modules,
        };
        let targets = config
            .parse_targets()
            .map_err(|e| Error::InvalidArgument(format!("{}: {e}", config_path.display())))?;

        let path = dir.join(WEIGHTS_FILE);
        std::fs::metadata(&path).map_err(|e| Error::io(&path, e))?;
        let mut tensors: HashMap<String, Tensor> = Tensor::read_safetensors(&path)
            .map_err(|e| Error::corrupt(&path, e.to_string()))?
            .into_iter()
            .collect();
        let r = config.r as i64;
        let mut take = |name: String, shape: [i64; 2]| -> Result<Tensor> {
            let t = tensors.remove(&name).ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "{}: no tensor `{name}`; an adapter for {} layers with targets {:?} needs it",
                    path.display(),
                    model.n_layers,
                    config.targets
                ))
            })?;
            if !matches!(t.kind(), Kind::Float | Kind::Half | Kind::BFloat16) {
                return Err(Error::corrupt(
                    &path,
                    format!("`{name}` holds {:?}, not floating-point numbers", t.kind()),
                ));
            }
            if t.size() != shape {
                return Err(Error::InvalidArgument(format!(
                    "{}: `{name}` is {:?}, this model needs {shape:?} (r = {r}); the adapter \
                     was made for another model",
                    path.display(),
                    t.size()
                )));
            }
            Ok(t.to_kind(Kind::Float))
        };
        let mut layers = Vec::new();
        for i in 0..model.n_layers {
            let mut adapters = Vec::new();
            for &target in &targets {
                let (fan_in, fan_out) = target.shape(model);
                let a = take(tensor_name(i, target, "A"), [r, fan_in as i64])?;
                let b = take(tensor_name(i, target, "B"), [fan_out as i64, r])?;
                let b = match target.permuted_heads(model) {
                    Some(heads) => rows_from_hf(&b, heads).contiguous(),
                    None => b,
                };
                adapters.push(Adapter {
                    target,
                    a: trainable(a),
                    b: trainable(b),
                });
            }
            layers.push(adapters);
        }
        if let Some(extra) = tensors.keys().min() {
            return Err(Error::InvalidArgument(format!(
                "{}: {} tensors this model has no place for, such as `{extra}`; the adapter \
                 was made for a model with more layers or other targets",
                path.display(),
                tensors.len()
            )));
        }
        Ok(Lora {
            config,
            model: model.clone(),
            layers,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// llama.cpp's `permute` on one head of 4 rows: HF rows (0, 1, 2, 3)
    /// become (0, 2, 1, 3), the halves' i-th rows side by side.
    #[test]
    fn rows_follow_llama_cpp_permute() {
        let hf = Tensor::from_slice(&[0f32, 1., 2., 3., 10., 11., 12., 13.]).view([8, 1]);
        let ours = rows_from_hf(&hf, 2);
        assert_eq!(
            Vec::<f32>::try_from(ours.flatten(0, -1)).unwrap(),
            [0., 2., 1., 3., 10., 12., 11., 13.]
        );
        assert!(rows_to_hf(&ours, 2).equal(&hf));
    }
}
