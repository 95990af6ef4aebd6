//! MNIST's IDX format (LeCun et al.), plain or gzip-compressed.
//!
//! A file is a big-endian header — magic `0x0000TTDD` (type TT = 0x08 for unsigned
//! bytes, DD dimensions), then DD 32-bit sizes — followed by the data.

use super::dataset::{Dataset, TargetData};
use crate::error::{Error, Result};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Reads an IDX file of unsigned bytes; returns (dimensions, data).
pub fn read_idx(path: &Path) -> Result<(Vec<usize>, Vec<u8>)> {
    let raw = std::fs::read(path)
        .map_err(|e| Error::Parse(format!("cannot read {}: {e}", path.display())))?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| Error::Parse(format!("{}: bad gzip data: {e}", path.display())))?;
        out
    } else {
        raw
    };
    parse_idx(&bytes, &path.display().to_string())
}

/// Parses IDX bytes.
pub fn parse_idx(bytes: &[u8], source: &str) -> Result<(Vec<usize>, Vec<u8>)> {
    if bytes.len() < 4 {
        return Err(Error::Parse(format!(
            "{source}: too short for an IDX header"
        )));
    }
    if bytes[0] != 0 || bytes[1] != 0 || bytes[2] != 0x08 || bytes[3] == 0 || bytes[3] > 4 {
        return Err(Error::Parse(format!(
            "{source}: wrong IDX magic number {:02x}{:02x}{:02x}{:02x} (expected 000008NN: unsigned bytes, NN dimensions)",
            bytes[0], bytes[1], bytes[2], bytes[3]
        )));
    }
    let nd = bytes[3] as usize;
    let header = 4 + 4 * nd;
    if bytes.len() < header {
        return Err(Error::Parse(format!("{source}: truncated IDX header")));
    }
    let dims: Vec<usize> = (0..nd)
        .map(|i| {
            u32::from_be_bytes(bytes[4 + 4 * i..8 + 4 * i].try_into().expect("4 bytes")) as usize
        })
        .collect();
    let count: usize = dims.iter().product();
    if bytes.len() - header != count {
        return Err(Error::Parse(format!(
            "{source}: header promises {count} values ({dims:?}) but the file holds {}",
            bytes.len() - header
        )));
    }
    Ok((dims, bytes[header..].to_vec()))
}

fn find(dir: &Path, stem: &str) -> Result<PathBuf> {
    for cand in [format!("{stem}.gz"), stem.to_string()] {
        let p = dir.join(cand);
        if p.exists() {
            return Ok(p);
        }
    }
    Err(Error::Parse(format!("{}: no {stem}[.gz]", dir.display())))
}

/// Mean and standard deviation of MNIST's training pixels (scaled to [0, 1]): the
/// normalization of PyTorch's MNIST example, applied by [`load_mnist`].
pub const MNIST_MEAN: f64 = 0.1307;
/// See [`MNIST_MEAN`].
pub const MNIST_STD: f64 = 0.3081;

/// Loads MNIST's training (`train = true`) or test set from `dir`: pixels scaled to
/// [0, 1], then normalized with the training set's global mean and standard deviation
/// ([`MNIST_MEAN`], [`MNIST_STD`]; zero-mean inputs train faster).
pub fn load_mnist(dir: &Path, train: bool) -> Result<Dataset> {
    let prefix = if train { "train" } else { "t10k" };
    let (idims, pixels) = read_idx(&find(dir, &format!("{prefix}-images-idx3-ubyte"))?)?;
    let (ldims, labels) = read_idx(&find(dir, &format!("{prefix}-labels-idx1-ubyte"))?)?;
    if idims.len() != 3 || ldims.len() != 1 || idims[0] != ldims[0] {
        return Err(Error::Parse(format!(
            "{}: image and label files do not match ({idims:?} vs {ldims:?})",
            dir.display()
        )));
    }
    if let Some(l) = labels.iter().find(|l| **l > 9) {
        return Err(Error::Parse(format!(
            "{}: label {l} is not a digit",
            dir.display()
        )));
    }
    let d = idims[1] * idims[2];
    Ok(Dataset {
        x: pixels
            .iter()
            .map(|p| (*p as f64 / 255.0 - MNIST_MEAN) / MNIST_STD)
            .collect(),
        d,
        targets: TargetData::Classes {
            labels: labels.iter().map(|l| *l as u32).collect(),
            names: (0..10).map(|i| i.to_string()).collect(),
        },
        feature_names: vec![],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_checks() {
        let good = [0, 0, 8, 1, 0, 0, 0, 2, 7, 9];
        assert_eq!(parse_idx(&good, "g").unwrap(), (vec![2], vec![7, 9]));
        let bad_magic = [0, 0, 9, 1, 0, 0, 0, 2, 7, 9];
        assert!(parse_idx(&bad_magic, "b")
            .unwrap_err()
            .to_string()
            .contains("magic"));
        let short = [0, 0, 8, 1, 0, 0, 0, 3, 7, 9];
        assert!(parse_idx(&short, "s").is_err());
    }
}
