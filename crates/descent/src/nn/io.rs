//! Saving and loading: weights as safetensors (loadable by Python's `safetensors`) with the
//! architecture in the metadata, and the optimizer state beside them (`FILE.optim`, also
//! safetensors) so that a resumed run continues exactly. Saves are atomic: written to a
//! temporary file in the same directory, flushed, then renamed over the target
//! ([`crate::checkpoint::write_atomic`]).
//!
//! Tensors: `layers.L.weight` with shape `[n_in, n_out]` (row-major, so `z = x·W + b`)
//! and `layers.L.bias` with shape `[n_out]`, in the training precision.

use super::{Architecture, Mlp, TrainConfig, TrainState};
use crate::checkpoint::{check_sum, Checkpoint, Digest};
use crate::data::Standardizer;
use crate::error::{Error, Result};
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const FORMAT: &str = "descent-mlp/1";

/// What a saved model carries besides its weights.
#[derive(Clone, Debug, Default)]
pub struct ModelMeta {
    /// Feature (and target) standardization from the training split.
    pub standardizer: Option<Standardizer>,
    /// Class names (index → name) for classifiers.
    pub classes: Option<Vec<String>>,
    /// The type the class labels had where they came from, for tools that give labels
    /// back typed (the Python package: `"int"`, `"float"`, `"bool"`, `"str"`); `None`
    /// where only names are known (the CLI's CSV and IDX classes).
    pub class_type: Option<String>,
    /// Feature names.
    pub features: Vec<String>,
}

/// A loaded model.
#[derive(Clone, Debug)]
pub struct SavedModel {
    /// The network.
    pub net: Mlp,
    /// Parameters (f64).
    pub params: Vec<f64>,
    /// Metadata.
    pub meta: ModelMeta,
    /// "f32" or "f64".
    pub precision: String,
}

pub use crate::checkpoint::write_atomic;

/// The optimizer-state file beside a model file.
pub fn state_path(model: &Path) -> PathBuf {
    let mut s = model.as_os_str().to_owned();
    s.push(".optim");
    PathBuf::from(s)
}

fn bytes_of(values: &[f64], f64_out: bool) -> Vec<u8> {
    if f64_out {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    } else {
        values
            .iter()
            .flat_map(|v| (*v as f32).to_le_bytes())
            .collect()
    }
}

fn values_of(view: &TensorView<'_>) -> Result<Vec<f64>> {
    let d = view.data();
    match view.dtype() {
        Dtype::F32 => Ok(d
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4")) as f64)
            .collect()),
        Dtype::F64 => Ok(d
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("8")))
            .collect()),
        other => Err(Error::Parse(format!("unsupported tensor type {other:?}"))),
    }
}

fn st_err(path: &Path) -> impl Fn(safetensors::SafeTensorError) -> Error + '_ {
    move |e| {
        Error::Parse(format!(
            "{}: not a valid safetensors file ({e})",
            path.display()
        ))
    }
}

/// Saves the weights (and, with `state`, the optimizer state beside them).
pub fn save_model(
    path: &Path,
    net: &Mlp,
    params: &[f64],
    precision: &str,
    meta: &ModelMeta,
    state: Option<(&TrainState, &TrainConfig)>,
) -> Result<()> {
    let f64_out = precision == "f64";
    let dtype = if f64_out { Dtype::F64 } else { Dtype::F32 };
    let mut buffers: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    for l in 0..net.num_layers() {
        let (wo, bo, ni, no) = net.layer(l);
        buffers.push((
            format!("layers.{l}.weight"),
            vec![ni, no],
            bytes_of(&params[wo..wo + ni * no], f64_out),
        ));
        buffers.push((
            format!("layers.{l}.bias"),
            vec![no],
            bytes_of(&params[bo..bo + no], f64_out),
        ));
    }
    let save_id = new_save_id(&buffers);
    let mut md = HashMap::new();
    md.insert("format".to_string(), FORMAT.to_string());
    md.insert("save_id".to_string(), save_id.clone());
    md.insert("precision".to_string(), precision.to_string());
    md.insert(
        "architecture".to_string(),
        serde_json::to_string(&net.arch).expect("serializable"),
    );
    if let Some(s) = &meta.standardizer {
        md.insert(
            "standardizer".to_string(),
            serde_json::to_string(s).expect("serializable"),
        );
    }
    if let Some(c) = &meta.classes {
        md.insert(
            "classes".to_string(),
            serde_json::to_string(c).expect("serializable"),
        );
    }
    if let Some(t) = &meta.class_type {
        md.insert("class_type".to_string(), t.clone());
    }
    md.insert(
        "features".to_string(),
        serde_json::to_string(&meta.features).expect("serializable"),
    );
    let views: Vec<(String, TensorView<'_>)> = buffers
        .iter()
        .map(|(n, s, b)| {
            (
                n.clone(),
                TensorView::new(dtype, s.clone(), b).expect("consistent tensor"),
            )
        })
        .collect();
    let bytes = safetensors::serialize(views, Some(md))
        .map_err(|e| Error::Parse(format!("cannot serialize: {e}")))?;
    // State first, then the model; both carry the save's id, so that `load_state` reads
    // the model's own state and never one from another save.
    // The previous state stays, as FILE.optim.prev, until the new model is in place: a
    // save killed at any moment leaves a model whose own state can be read.
    if let Some((st, cfg)) = state {
        let (current, previous) = (state_path(path), previous_state_path(path));
        // Keep the state that belongs to the model on disk (an interrupted save may have
        // left a newer FILE.optim beside an older model and its FILE.optim.prev).
        let own = if path.exists() {
            own_state(path).ok().flatten().map(|(p, _, _)| p)
        } else {
            None
        };
        if own.as_ref() == Some(&current) {
            std::fs::rename(&current, &previous).map_err(|e| {
                Error::Io(std::io::Error::new(
                    e.kind(),
                    format!("cannot write {}: {e}", previous.display()),
                ))
            })?;
        }
        save_state(&current, st, cfg, &save_id)?;
    }
    write_atomic(path, &bytes)?;
    if state.is_some() {
        let _ = std::fs::remove_file(previous_state_path(path));
    }
    Ok(())
}

/// The optimizer-state file of `model`'s own save (FILE.optim or FILE.optim.prev, the one
/// whose save id is the model's), with its bytes and metadata; `None` when neither is.
type StateFile = (PathBuf, Vec<u8>, HashMap<String, String>);
fn own_state(model: &Path) -> Result<Option<StateFile>> {
    let model_bytes = std::fs::read(model)
        .map_err(|e| Error::Parse(format!("cannot read {}: {e}", model.display())))?;
    let (_, model_header) = SafeTensors::read_metadata(&model_bytes).map_err(st_err(model))?;
    let model_id = model_header
        .metadata()
        .as_ref()
        .and_then(|m| m.get("save_id").cloned());
    for candidate in [state_path(model), previous_state_path(model)] {
        let Ok(bytes) = std::fs::read(&candidate) else {
            continue;
        };
        let (_, header) = SafeTensors::read_metadata(&bytes).map_err(st_err(&candidate))?;
        let md = header.metadata().clone().unwrap_or_default();
        if md.get("save_id").cloned() == model_id {
            return Ok(Some((candidate, bytes, md)));
        }
    }
    Ok(None)
}

/// Where the previous optimizer state waits while a save is under way.
fn previous_state_path(model: &Path) -> PathBuf {
    let mut s = state_path(model).into_os_string();
    s.push(".prev");
    PathBuf::from(s)
}

/// An id for one save: the weights' digest and the time, written into the model and its
/// optimizer state alike.
fn new_save_id(weights: &[(String, Vec<usize>, Vec<u8>)]) -> String {
    let mut d = Digest::default();
    for (_, _, b) in weights {
        d.update(b);
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{}-{nanos:x}-{:x}", d.hex(), std::process::id())
}

fn save_state(path: &Path, st: &TrainState, cfg: &TrainConfig, save_id: &str) -> Result<()> {
    let mut buffers: Vec<(String, Vec<u8>, usize)> =
        vec![("master".into(), bytes_of(&st.params, true), st.params.len())];
    for (k, v) in &st.rule_state {
        buffers.push((format!("rule.{k}"), bytes_of(v, true), v.len()));
    }
    if let Some((_, best)) = &st.best {
        buffers.push(("best".into(), bytes_of(best, true), best.len()));
    }
    let mut md = HashMap::new();
    md.insert("format".to_string(), "descent-optim/1".to_string());
    md.insert("save_id".to_string(), save_id.to_string());
    let scalars = serde_json::json!({
        "step": st.step,
        "epoch": st.epoch,
        "batch": st.batch,
        "batch_loss_sum": st.batch_loss_sum,
        "lr_scale": st.lr_scale,
        "best_loss": st.best.as_ref().map(|(l, _)| *l),
        "best_is_score": st.best_is_score,
        "since_best": st.since_best,
        "since_plateau": st.since_plateau,
        "rule_keys": st.rule_state.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
    });
    md.insert("state".to_string(), scalars.to_string());
    md.insert(
        "history".to_string(),
        serde_json::to_string(&st.history).expect("serializable"),
    );
    md.insert(
        "config".to_string(),
        serde_json::to_string(cfg).expect("serializable"),
    );
    if let Some(c) = &st.method_checkpoint {
        // The driver's checkpoint of the method: its vectors (point, gradient, the
        // method's buffers) as tensors, the rest as JSON.
        // A vector equal to its fallback (the master weights, the iterate, the rule's
        // state) is not stored twice.
        let mut c = c.clone();
        let mut kept: HashMap<String, Vec<f64>> = HashMap::new();
        for (name, v) in checkpoint_vectors(&mut c) {
            let v = std::mem::take(v);
            let same = match fallback(&name) {
                Fallback::Master => same_bits(&v, &st.params),
                Fallback::Checkpoint(other) => kept.get(other).is_some_and(|o| same_bits(&v, o)),
                Fallback::Rule(k) => st
                    .rule_state
                    .iter()
                    .any(|(rk, rv)| rk == k && same_bits(&v, rv)),
            };
            if !same {
                buffers.push((format!("checkpoint.{name}"), bytes_of(&v, true), v.len()));
            }
            kept.insert(name, v);
        }
        md.insert(
            "method_checkpoint".to_string(),
            serde_json::to_string(&c).expect("serializable"),
        );
    }
    let tensors = buffers.iter().map(|(n, b, _)| (n.as_str(), b.as_slice()));
    md.insert("checksum".to_string(), state_digest(&md, tensors));
    let views: Vec<(String, TensorView<'_>)> = buffers
        .iter()
        .map(|(n, b, len)| {
            (
                n.clone(),
                TensorView::new(Dtype::F64, vec![*len], b).expect("consistent tensor"),
            )
        })
        .collect();
    let bytes = safetensors::serialize(views, Some(md))
        .map_err(|e| Error::Parse(format!("cannot serialize: {e}")))?;
    write_atomic(path, &bytes)
}

/// The digest of a state file's metadata (but its checksum) and tensors, each in name
/// order, so that a file changed after it was saved is refused.
fn state_digest<'a>(
    md: &HashMap<String, String>,
    tensors: impl Iterator<Item = (&'a str, &'a [u8])>,
) -> String {
    let mut d = Digest::default();
    let mut entries: Vec<_> = md.iter().filter(|(k, _)| *k != "checksum").collect();
    entries.sort();
    for (k, v) in entries {
        d.update(k.as_bytes())
            .update(&[0])
            .update(v.as_bytes())
            .update(&[0]);
    }
    let mut tensors: Vec<_> = tensors.collect();
    tensors.sort();
    for (name, bytes) in tensors {
        d.update(name.as_bytes()).update(&[0]).update(bytes);
    }
    d.hex()
}

/// The vectors of a checkpoint that the state file keeps as tensors, by name.
fn checkpoint_vectors(c: &mut Checkpoint) -> Vec<(String, &mut Vec<f64>)> {
    let mut v: Vec<(String, &mut Vec<f64>)> = vec![
        ("iterate.x".into(), &mut c.iterate.x),
        ("iterate.g".into(), &mut c.iterate.g),
        ("best.x".into(), &mut c.best.x),
        ("best.g".into(), &mut c.best.g),
    ];
    for (k, b) in c.buffers.iter_mut() {
        v.push((format!("buffer.{k}"), b));
    }
    v
}

/// Where a checkpoint vector that was not stored is found instead.
enum Fallback<'a> {
    Master,
    Checkpoint(&'a str),
    Rule(&'a str),
}

fn fallback(name: &str) -> Fallback<'_> {
    match name {
        "iterate.x" => Fallback::Master,
        "best.x" => Fallback::Checkpoint("iterate.x"),
        "best.g" => Fallback::Checkpoint("iterate.g"),
        other => Fallback::Rule(other.strip_prefix("buffer.").unwrap_or(other)),
    }
}

fn same_bits(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

/// Loads a model saved by [`save_model`].
pub fn load_model(path: &Path) -> Result<SavedModel> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::Parse(format!("cannot read {}: {e}", path.display())))?;
    parse_model(&bytes, path)
}

/// Reads a model from the bytes of a file written by [`save_model`]; `path` names it in
/// errors.
pub fn parse_model(bytes: &[u8], path: &Path) -> Result<SavedModel> {
    let st = SafeTensors::deserialize(bytes).map_err(st_err(path))?;
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(st_err(path))?;
    let md = header.metadata().clone().unwrap_or_default();
    if md.get("format").map(String::as_str) != Some(FORMAT) {
        return Err(Error::Parse(format!(
            "{}: not a descent model (no '{FORMAT}' format tag)",
            path.display()
        )));
    }
    let arch: Architecture =
        serde_json::from_str(md.get("architecture").map_or("", String::as_str)).map_err(|e| {
            Error::Parse(format!(
                "{}: bad architecture metadata ({e})",
                path.display()
            ))
        })?;
    let net = Mlp::from_arch(&arch)?;
    let mut params = vec![0.0; net.num_params()];
    for l in 0..net.num_layers() {
        let (wo, bo, ni, no) = net.layer(l);
        for (name, off, len) in [
            (format!("layers.{l}.weight"), wo, ni * no),
            (format!("layers.{l}.bias"), bo, no),
        ] {
            let v = values_of(&st.tensor(&name).map_err(st_err(path))?)?;
            if v.len() != len {
                return Err(Error::Parse(format!(
                    "{}: tensor {name} has {} values, expected {len}",
                    path.display(),
                    v.len()
                )));
            }
            params[off..off + len].copy_from_slice(&v);
        }
    }
    fn parse<T: serde::de::DeserializeOwned>(
        md: &HashMap<String, String>,
        k: &str,
        path: &Path,
    ) -> Result<Option<T>> {
        md.get(k)
            .map(|s| serde_json::from_str(s))
            .transpose()
            .map_err(|e| Error::Parse(format!("{}: bad {k} metadata ({e})", path.display())))
    }
    let meta = ModelMeta {
        standardizer: parse(&md, "standardizer", path)?,
        classes: parse(&md, "classes", path)?,
        class_type: md.get("class_type").cloned(),
        features: parse(&md, "features", path)?.unwrap_or_default(),
    };
    Ok(SavedModel {
        net,
        params,
        meta,
        precision: md.get("precision").cloned().unwrap_or_else(|| "f32".into()),
    })
}

/// Loads the optimizer state saved beside `model`.
pub fn load_state(model: &Path) -> Result<(TrainState, TrainConfig)> {
    // The model and its state are one unit: the state of the model's own save is read —
    // FILE.optim, or FILE.optim.prev when a save was interrupted after its new state was
    // written but before its model was — and a state from another save is refused.
    let path = state_path(model);
    let found = own_state(model)?;
    let Some((path, bytes, _)) = found else {
        return Err(if path.exists() {
            Error::config(
                "resume",
                format!(
                    "{} and {} are from different saves: not resumed; train from {} without --resume, or save again",
                    model.display(),
                    path.display(),
                    model.display()
                ),
            )
        } else {
            Error::Parse(format!(
                "cannot read the optimizer state {}: no such file",
                path.display()
            ))
        });
    };
    parse_state(&bytes, &path)
}

/// Reads an optimizer state from the bytes of a file written by [`save_model`]; `path`
/// names it in errors.
pub fn parse_state(bytes: &[u8], path: &Path) -> Result<(TrainState, TrainConfig)> {
    let (st, md) = open_state(bytes, path)?;
    let tensors = st.tensors();
    let digest = state_digest(&md, tensors.iter().map(|(n, v)| (n.as_str(), v.data())));
    let source = path.display().to_string();
    check_sum(&source, md.get("checksum").map(String::as_str), &digest)?;
    state_from(&st, &md, path)
}

/// [`parse_state`] without the checksum test (for the fuzzer, which forges files).
pub(crate) fn read_state(bytes: &[u8], path: &Path) -> Result<(TrainState, TrainConfig)> {
    let (st, md) = open_state(bytes, path)?;
    state_from(&st, &md, path)
}

/// A state file's tensors and metadata.
fn open_state<'a>(
    bytes: &'a [u8],
    path: &Path,
) -> Result<(SafeTensors<'a>, HashMap<String, String>)> {
    let st = SafeTensors::deserialize(bytes).map_err(st_err(path))?;
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(st_err(path))?;
    Ok((st, header.metadata().clone().unwrap_or_default()))
}

/// The training state and its settings from a state file's tensors and metadata.
fn state_from(
    st: &SafeTensors<'_>,
    md: &HashMap<String, String>,
    path: &Path,
) -> Result<(TrainState, TrainConfig)> {
    let bad = |what: &str| Error::Parse(format!("{}: bad {what}", path.display()));
    let s: serde_json::Value = serde_json::from_str(md.get("state").ok_or_else(|| bad("state"))?)
        .map_err(|_| bad("state"))?;
    let cfg: TrainConfig = serde_json::from_str(md.get("config").ok_or_else(|| bad("config"))?)
        .map_err(|_| bad("config"))?;
    let history = serde_json::from_str(md.get("history").ok_or_else(|| bad("history"))?)
        .map_err(|_| bad("history"))?;
    let params = values_of(&st.tensor("master").map_err(st_err(path))?)?;
    let mut rule_state = Vec::new();
    for k in s["rule_keys"].as_array().ok_or_else(|| bad("rule keys"))? {
        let k = k.as_str().ok_or_else(|| bad("rule key"))?;
        rule_state.push((
            k.to_string(),
            values_of(&st.tensor(&format!("rule.{k}")).map_err(st_err(path))?)?,
        ));
    }
    let best = match s["best_loss"].as_f64() {
        Some(l) => Some((l, values_of(&st.tensor("best").map_err(st_err(path))?)?)),
        None => None,
    };
    let method_checkpoint = match md.get("method_checkpoint") {
        None => None,
        Some(text) => {
            let mut c: Checkpoint =
                serde_json::from_str(text).map_err(|_| bad("method checkpoint"))?;
            let mut kept: HashMap<String, Vec<f64>> = HashMap::new();
            for (name, v) in checkpoint_vectors(&mut c) {
                let tensor = match st.tensor(&format!("checkpoint.{name}")) {
                    Ok(t) => Some(values_of(&t)?),
                    Err(_) => match fallback(&name) {
                        Fallback::Master => Some(params.clone()),
                        Fallback::Checkpoint(other) => kept.get(other).cloned(),
                        Fallback::Rule(k) => rule_state
                            .iter()
                            .find(|(rk, _)| rk == k)
                            .map(|(_, rv)| rv.clone()),
                    },
                };
                *v = tensor.ok_or_else(|| bad("method checkpoint vectors"))?;
                kept.insert(name, v.clone());
            }
            Some(c)
        }
    };
    Ok((
        TrainState {
            params,
            rule_state,
            step: s["step"].as_u64().ok_or_else(|| bad("step"))?,
            epoch: s["epoch"].as_u64().ok_or_else(|| bad("epoch"))? as usize,
            batch: s["batch"].as_u64().unwrap_or(0) as usize,
            batch_loss_sum: s["batch_loss_sum"].as_f64().unwrap_or(0.0),
            lr_scale: s["lr_scale"].as_f64().ok_or_else(|| bad("lr_scale"))?,
            best,
            best_is_score: s["best_is_score"].as_bool().unwrap_or(false),
            since_best: s["since_best"].as_u64().unwrap_or(0) as usize,
            since_plateau: s["since_plateau"].as_u64().unwrap_or(0) as usize,
            history,
            method_checkpoint,
        },
        cfg,
    ))
}
