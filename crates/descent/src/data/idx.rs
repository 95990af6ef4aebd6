//! MNIST's IDX format (LeCun et al.), plain or gzip-compressed.
//!
//! A file is a big-endian header — magic `0x0000TTDD` (type TT = 0x08 for unsigned
//! bytes, DD dimensions), then DD 32-bit sizes — followed by the data.

use super::dataset::{Dataset, TargetData};
use crate::error::{Error, Result};
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

/// Reads an IDX file of unsigned bytes; returns (dimensions, data). The header is read
/// first, and a gzip stream is inflated only as far as the header says the data goes: a
/// small file that would inflate far beyond it, or a header that declares more data than
/// the machine's memory, is refused before the data is read.
pub fn read_idx(path: &Path) -> Result<(Vec<usize>, Vec<u8>)> {
    let source = path.display().to_string();
    let file = std::fs::File::open(path)
        .map_err(|e| Error::Parse(format!("cannot read {source}: {e}")))?;
    read_idx_reader(std::io::BufReader::new(file), &source)
}

/// [`read_idx`] on a stream, plain or gzip-compressed (told by gzip's magic bytes);
/// `source` names it in errors.
pub fn read_idx_reader(mut r: impl BufRead, source: &str) -> Result<(Vec<usize>, Vec<u8>)> {
    let start = r
        .fill_buf()
        .map_err(|e| Error::Parse(format!("cannot read {source}: {e}")))?;
    if start.starts_with(&[0x1f, 0x8b]) {
        read_idx_from(flate2::bufread::GzDecoder::new(r), source)
    } else {
        read_idx_from(r, source)
    }
}

/// Reads the header, then exactly the data it declares (and checks that nothing follows).
fn read_idx_from(mut r: impl Read, source: &str) -> Result<(Vec<usize>, Vec<u8>)> {
    let bad = |e: std::io::Error| Error::Parse(format!("{source}: cannot read IDX data: {e}"));
    let mut head = [0u8; 4];
    let got = read_up_to(&mut r, &mut head).map_err(bad)?;
    let mut header = head[..got].to_vec();
    if got == 4 && head[0] == 0 && head[1] == 0 && head[2] == 0x08 && (1..=4).contains(&head[3]) {
        let mut dims = vec![0u8; 4 * head[3] as usize];
        let got = read_up_to(&mut r, &mut dims).map_err(bad)?;
        header.extend_from_slice(&dims[..got]);
    }
    let (dims, _) = parse_header(&header, source)?;
    let count: u128 = dims.iter().map(|d| *d as u128).product();
    crate::resources::check_memory(
        &format!("{source} (an IDX file of {dims:?} values)"),
        count,
        1,
        2,
    )?;
    let count = count as usize;
    let mut data = vec![0u8; count];
    let read = read_up_to(&mut r, &mut data)
        .map_err(|e| Error::Parse(format!("{source}: bad IDX data (or gzip stream): {e}")))?;
    let mut extra = [0u8; 1];
    let more = read_up_to(&mut r, &mut extra)
        .map_err(|e| Error::Parse(format!("{source}: bad IDX data (or gzip stream): {e}")))?;
    if read != count || more > 0 {
        return Err(Error::Parse(format!(
            "{source}: header promises {count} values ({dims:?}) but the file holds {}",
            if more > 0 {
                "more".to_string()
            } else {
                read.to_string()
            }
        )));
    }
    Ok((dims, data))
}

/// Fills `buf` as far as the stream goes; returns how much was read.
fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Parses IDX bytes.
pub fn parse_idx(bytes: &[u8], source: &str) -> Result<(Vec<usize>, Vec<u8>)> {
    let (dims, header) = parse_header(bytes, source)?;
    let count: u128 = dims.iter().map(|d| *d as u128).product();
    if (bytes.len() - header) as u128 != count {
        return Err(Error::Parse(format!(
            "{source}: header promises {count} values ({dims:?}) but the file holds {}",
            bytes.len() - header
        )));
    }
    Ok((dims, bytes[header..].to_vec()))
}

/// The dimensions an IDX header declares, and the header's length.
fn parse_header(bytes: &[u8], source: &str) -> Result<(Vec<usize>, usize)> {
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
    let dims = (0..nd)
        .map(|i| {
            u32::from_be_bytes(bytes[4 + 4 * i..8 + 4 * i].try_into().expect("4 bytes")) as usize
        })
        .collect();
    Ok((dims, header))
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
    let images = MnistImages::read(dir, train)?;
    Ok(images.rows(&(0..images.len()).collect::<Vec<_>>()))
}

/// MNIST's images and labels as the files hold them (a byte a pixel), to be turned into
/// samples a few rows at a time: a worker of a distributed run keeps only its own rows in
/// f64, an eighth of the bytes per row it does not hold.
pub struct MnistImages {
    pixels: Vec<u8>,
    labels: Vec<u8>,
    /// Pixels per image.
    d: usize,
}

impl MnistImages {
    /// Reads MNIST's training (`train = true`) or test images and labels from `dir`.
    pub fn read(dir: &Path, train: bool) -> Result<MnistImages> {
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
        Ok(MnistImages {
            pixels,
            labels,
            d: idims[1] * idims[2],
        })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The images `rows` (each below [`MnistImages::len`]), in that order, as samples:
    /// pixels scaled and normalized as [`load_mnist`] does.
    pub fn rows(&self, rows: &[usize]) -> Dataset {
        let d = self.d;
        // Sized once: the samples are the largest thing a run holds.
        let mut x = Vec::with_capacity(rows.len() * d);
        for &r in rows {
            x.extend(
                self.pixels[r * d..(r + 1) * d]
                    .iter()
                    .map(|p| (*p as f64 / 255.0 - MNIST_MEAN) / MNIST_STD),
            );
        }
        Dataset {
            x,
            d,
            targets: TargetData::Classes {
                labels: rows.iter().map(|&r| u32::from(self.labels[r])).collect(),
                names: (0..10).map(|i| i.to_string()).collect(),
            },
            feature_names: vec![],
            part: None,
        }
    }
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

    #[test]
    fn a_gzip_stream_is_read_only_as_far_as_its_header_says() {
        use std::io::Write;
        let gz = |bytes: &[u8]| {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            e.write_all(bytes).unwrap();
            e.finish().unwrap()
        };
        let dir = std::env::temp_dir().join(format!("descent-idx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, bytes: &[u8]| {
            let p = dir.join(name);
            std::fs::write(&p, bytes).unwrap();
            p
        };
        // Exactly as declared, compressed or not.
        let good = [0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9];
        assert_eq!(
            read_idx(&write("g", &good)).unwrap(),
            (vec![3], vec![7, 8, 9])
        );
        assert_eq!(
            read_idx(&write("g.gz", &gz(&good))).unwrap(),
            (vec![3], vec![7, 8, 9])
        );
        // 64 MB of zeros behind a 3-value header: refused after 4 bytes of data.
        let mut bomb = good[..8].to_vec();
        bomb.extend(std::iter::repeat_n(0u8, 64 << 20));
        let e = read_idx(&write("bomb.gz", &gz(&bomb)))
            .unwrap_err()
            .to_string();
        assert!(e.contains("holds more"), "{e}");
        // A header declaring 2³²·2³² values: refused before reading, saying how much.
        let huge = [0, 0, 8, 2, 255, 255, 255, 255, 255, 255, 255, 255, 1];
        let e = read_idx(&write("huge.gz", &gz(&huge)))
            .unwrap_err()
            .to_string();
        assert!(e.contains("would need") && e.contains("EB"), "{e}");
        // Short data.
        let e = read_idx(&write("short", &good[..9]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("holds 1"), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
