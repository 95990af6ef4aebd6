//! MNIST's IDX format (LeCun et al.), plain or gzip-compressed.
//!
//! A file is a big-endian header — magic `0x0000TTDD` (type TT = 0x08 for unsigned
//! bytes, DD dimensions), then DD 32-bit sizes — followed by the data.

use super::dataset::{Dataset, TargetData};
use super::held_rows::HeldRows;
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
    let dims = read_header(&mut r, source)?;
    let count: u128 = dims.iter().map(|d| *d as u128).product();
    crate::resources::check_memory(
        &format!("{source} (an IDX file of {dims:?} values)"),
        count,
        1,
        2,
    )?;
    let count = count as usize;
    let mut data = vec![0u8; count];
    let read = read_up_to(&mut r, &mut data).map_err(|e| bad_data(source, e))?;
    check_end(&mut r, source, &dims, read as u128)?;
    Ok((dims, data))
}

/// The dimensions of an IDX stream's header, read from its start (and no further).
fn read_header(r: &mut impl Read, source: &str) -> Result<Vec<usize>> {
    let bad = |e: std::io::Error| Error::Parse(format!("{source}: cannot read IDX data: {e}"));
    let mut head = [0u8; 4];
    let got = read_up_to(r, &mut head).map_err(bad)?;
    let mut header = head[..got].to_vec();
    if got == 4 && head[0] == 0 && head[1] == 0 && head[2] == 0x08 && (1..=4).contains(&head[3]) {
        let mut dims = vec![0u8; 4 * head[3] as usize];
        let got = read_up_to(r, &mut dims).map_err(bad)?;
        header.extend_from_slice(&dims[..got]);
    }
    Ok(parse_header(&header, source)?.0)
}

fn bad_data(source: &str, e: std::io::Error) -> Error {
    Error::Parse(format!("{source}: bad IDX data (or gzip stream): {e}"))
}

/// Checks, after `read` of the data's values, that they were all there and that nothing
/// follows them.
fn check_end(r: &mut impl Read, source: &str, dims: &[usize], read: u128) -> Result<()> {
    let count: u128 = dims.iter().map(|d| *d as u128).product();
    let mut extra = [0u8; 1];
    let more = read_up_to(r, &mut extra).map_err(|e| bad_data(source, e))?;
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
    Ok(())
}

/// An IDX file being read: plain (rows not wanted are skipped by seeking, never read) or
/// gzip-compressed (inflated through; rows not wanted are dropped as they come).
enum IdxStream {
    Plain(std::io::BufReader<std::fs::File>),
    // Boxed: zlib-rs's inflate state is tens of kilobytes.
    Gzip(Box<flate2::bufread::GzDecoder<std::io::BufReader<std::fs::File>>>),
}

impl IdxStream {
    fn open(path: &Path) -> Result<IdxStream> {
        let source = path.display().to_string();
        let file = std::fs::File::open(path)
            .map_err(|e| Error::Parse(format!("cannot read {source}: {e}")))?;
        let mut r = std::io::BufReader::new(file);
        let start = r
            .fill_buf()
            .map_err(|e| Error::Parse(format!("cannot read {source}: {e}")))?;
        Ok(if start.starts_with(&[0x1f, 0x8b]) {
            IdxStream::Gzip(Box::new(flate2::bufread::GzDecoder::new(r)))
        } else {
            IdxStream::Plain(r)
        })
    }

    /// Passes over the next `n` bytes.
    fn skip(&mut self, n: u64) -> std::io::Result<()> {
        match self {
            IdxStream::Plain(r) => {
                r.seek_relative(i64::try_from(n).map_err(std::io::Error::other)?)
            }
            IdxStream::Gzip(r) => {
                let passed = std::io::copy(&mut r.take(n), &mut std::io::sink())?;
                if passed < n {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                Ok(())
            }
        }
    }

    /// The length of a plain file (`None` for a gzip stream, known only once inflated).
    fn plain_len(&self) -> Option<u64> {
        match self {
            IdxStream::Plain(r) => r.get_ref().metadata().ok().map(|m| m.len()),
            IdxStream::Gzip(_) => None,
        }
    }
}

impl Read for IdxStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            IdxStream::Plain(r) => r.read(buf),
            IdxStream::Gzip(r) => r.read(buf),
        }
    }
}

/// The dimensions an IDX file's header declares (only the header is read).
pub fn idx_dims(path: &Path) -> Result<Vec<usize>> {
    read_header(&mut IdxStream::open(path)?, &path.display().to_string())
}

/// The rows of an IDX file of unsigned bytes that `marks` selects (a row is an entry of
/// the first dimension, an image; `marks[r]` for each row), in file order, one after
/// another. Of a plain file only those rows are read, a run of consecutive rows at a time;
/// a gzip stream has to be inflated through, but only the selected rows are kept. Either
/// way the file is checked to hold what its header declares.
pub fn read_idx_rows(path: &Path, marks: &[bool]) -> Result<Vec<u8>> {
    let source = path.display().to_string();
    let mut r = IdxStream::open(path)?;
    let dims = read_header(&mut r, &source)?;
    if dims[0] != marks.len() {
        return Err(Error::Parse(format!(
            "{source}: holds {} rows, not the {} expected",
            dims[0],
            marks.len()
        )));
    }
    let row: u128 = dims[1..].iter().map(|d| *d as u128).product();
    let count = dims[0] as u128 * row;
    let plain_len = r.plain_len();
    if let Some(len) = plain_len {
        let header = 4 + 4 * dims.len() as u128;
        if u128::from(len) != header + count {
            return Err(Error::Parse(format!(
                "{source}: header promises {count} values ({dims:?}) but the file holds {}",
                u128::from(len).saturating_sub(header)
            )));
        }
    }
    let held = marks.iter().filter(|m| **m).count();
    crate::resources::check_memory(
        &format!("{source} ({held} rows of {row} values)"),
        held as u128 * row,
        1,
        2,
    )?;
    if count > u128::from(u64::MAX / 2) {
        return Err(Error::Parse(format!(
            "{source}: header declares {count} values ({dims:?}), more than any file holds"
        )));
    }
    let row = row as usize;
    let ended = |e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            Error::Parse(format!(
                "{source}: header promises {count} values ({dims:?}) but the file ends before"
            ))
        } else {
            bad_data(&source, e)
        }
    };
    let mut data = vec![0u8; held * row];
    let mut filled = 0;
    let mut r0 = 0;
    while r0 < marks.len() {
        // One run of rows all kept or all passed over.
        let keep = marks[r0];
        let r1 = marks[r0..]
            .iter()
            .position(|m| *m != keep)
            .map_or(marks.len(), |k| r0 + k);
        let bytes = (r1 - r0) * row;
        if keep {
            r.read_exact(&mut data[filled..filled + bytes])
                .map_err(ended)?;
            filled += bytes;
        } else {
            r.skip(bytes as u64).map_err(ended)?;
        }
        r0 = r1;
    }
    if plain_len.is_none() {
        check_end(&mut r, &source, &dims, count)?;
    }
    Ok(data)
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
/// (`MNIST_MEAN`, `MNIST_STD`; zero-mean inputs train faster).
pub fn load_mnist(dir: &Path, train: bool) -> Result<Dataset> {
    let images = MnistImages::open(dir, train)?;
    Ok(images
        .read_sets(&[&(0..images.len()).collect::<Vec<_>>()])?
        .remove(0))
}

/// MNIST's image and label files, opened (their headers read): their rows are read and
/// turned into samples on demand, so that a worker of a distributed run reads and keeps
/// only its own ([`MnistImages::read_sets`]).
pub struct MnistImages {
    images: PathBuf,
    labels: PathBuf,
    /// Number of images.
    count: usize,
    /// Pixels per image.
    d: usize,
    /// The directory, to name in errors.
    dir: PathBuf,
}

impl MnistImages {
    /// Opens MNIST's training (`train = true`) or test images and labels in `dir`: reads
    /// their headers and checks that they match.
    pub fn open(dir: &Path, train: bool) -> Result<MnistImages> {
        let prefix = if train { "train" } else { "t10k" };
        let images = find(dir, &format!("{prefix}-images-idx3-ubyte"))?;
        let labels = find(dir, &format!("{prefix}-labels-idx1-ubyte"))?;
        let (idims, ldims) = (idx_dims(&images)?, idx_dims(&labels)?);
        if idims.len() != 3 || ldims.len() != 1 || idims[0] != ldims[0] {
            return Err(Error::Parse(format!(
                "{}: image and label files do not match ({idims:?} vs {ldims:?})",
                dir.display()
            )));
        }
        Ok(MnistImages {
            images,
            labels,
            count: idims[0],
            d: idims[1] * idims[2],
            dir: dir.to_path_buf(),
        })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The images of each of `sets` (rows each below [`MnistImages::len`]), in that
    /// order, as samples: pixels scaled and normalized as [`load_mnist`] does. The files
    /// are read once for all the sets, and only at their rows (`read_idx_rows`).
    pub fn read_sets(&self, sets: &[&[usize]]) -> Result<Vec<Dataset>> {
        let rows_read = HeldRows::of(sets, self.count);
        let pixels = read_idx_rows(&self.images, rows_read.marks())?;
        let labels = read_idx_rows(&self.labels, rows_read.marks())?;
        if let Some(l) = labels.iter().find(|l| **l > 9) {
            return Err(Error::Parse(format!(
                "{}: label {l} is not a digit",
                self.dir.display()
            )));
        }
        let d = self.d;
        Ok(sets
            .iter()
            .map(|rows| {
                use rayon::prelude::*;
                let local = rows_read.local(rows);
                // Sized once (the samples are the largest thing a run holds) and filled by
                // rows in parallel: most of the time goes to the kernel's zeroing of the
                // fresh pages on first touch, which the threads then share.
                let mut x = vec![0.0; rows.len() * d];
                x.par_chunks_mut(d.max(1))
                    .zip(local.par_iter())
                    .for_each(|(row, &h)| {
                        row.iter_mut()
                            .zip(&pixels[h * d..(h + 1) * d])
                            .for_each(|(v, p)| *v = (*p as f64 / 255.0 - MNIST_MEAN) / MNIST_STD);
                    });
                Dataset {
                    x,
                    d,
                    targets: TargetData::Classes {
                        labels: local.iter().map(|&h| u32::from(labels[h])).collect(),
                        names: (0..10).map(|i| i.to_string()).collect(),
                    },
                    feature_names: vec![],
                    part: None,
                }
            })
            .collect())
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

    #[test]
    fn marked_rows_are_read_from_plain_and_gzip_files_alike() {
        use std::io::Write;
        let dir = std::env::temp_dir().join(format!("descent-idx-rows-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // 7 rows of 2×3 bytes: row r holds 10r, 10r + 1, …
        let mut file = vec![0, 0, 8, 3, 0, 0, 0, 7, 0, 0, 0, 2, 0, 0, 0, 3];
        file.extend((0..7u8).flat_map(|r| (0..6u8).map(move |k| 10 * r + k)));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&file).unwrap();
        let (plain, zipped) = (dir.join("rows"), dir.join("rows.gz"));
        std::fs::write(&plain, &file).unwrap();
        std::fs::write(&zipped, gz.finish().unwrap()).unwrap();
        let row = |r: u8| (0..6u8).map(move |k| 10 * r + k);
        for marks in [
            vec![true; 7],
            vec![false; 7],
            vec![false, true, true, false, false, true, false],
            vec![true, false, false, false, false, false, true],
        ] {
            let want: Vec<u8> = (0..7u8)
                .filter(|&r| marks[r as usize])
                .flat_map(row)
                .collect();
            assert_eq!(read_idx_rows(&plain, &marks).unwrap(), want, "{marks:?}");
            assert_eq!(read_idx_rows(&zipped, &marks).unwrap(), want, "{marks:?}");
        }
        assert_eq!(idx_dims(&zipped).unwrap(), vec![7, 2, 3]);
        // A plain file short of its last row is refused even when that row is not wanted.
        let short = dir.join("short");
        std::fs::write(&short, &file[..file.len() - 6]).unwrap();
        let mut first = vec![false; 7];
        first[0] = true;
        let e = read_idx_rows(&short, &first).unwrap_err().to_string();
        assert!(e.contains("holds 36"), "{e}");
        // So is a gzip stream short of it, or longer than its header says.
        for (name, bytes) in [
            ("short.gz", &file[..file.len() - 6]),
            ("long.gz", &[&file[..], &[1]].concat()[..]),
        ] {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            gz.write_all(bytes).unwrap();
            let p = dir.join(name);
            std::fs::write(&p, gz.finish().unwrap()).unwrap();
            let e = read_idx_rows(&p, &first).unwrap_err().to_string();
            assert!(e.contains("header promises 42 values"), "{name}: {e}");
        }
        // Marks for another number of rows.
        let e = read_idx_rows(&plain, &[true; 6]).unwrap_err().to_string();
        assert!(e.contains("holds 7 rows, not the 6"), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
