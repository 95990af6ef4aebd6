//! A CSV file with a header row, read as a stream into compact storage, with errors that
//! name the file and line.
//!
//! Every field is kept as text in one buffer, with its end offset (parsed to numbers on
//! demand): the table takes the file's bytes plus 8 per field. The bytes read are counted
//! as they arrive and the table's size is checked against the machine's memory as it
//! grows, so a file too large for memory — or a stream without end, such as a pipe — is
//! refused with a line saying what it would need, never read until the process is killed.

use crate::error::{Error, Result};
use std::path::Path;

/// A CSV table: the header and the rows' fields as text.
#[derive(Clone, Debug)]
pub struct Table {
    /// Where it came from (for messages).
    pub source: String,
    /// Column names.
    pub headers: Vec<String>,
    /// Every field of every row, one after another.
    text: String,
    /// The end of each field in `text` (row-major, `headers.len()` per row).
    ends: Vec<usize>,
    /// The 1-based line of each row.
    lines: Vec<usize>,
}

/// Which data rows, and which of their fields, [`Table::read_rows`] keeps.
#[derive(Clone, Copy)]
enum Keep<'a> {
    /// Every row.
    All,
    /// The rows of a range (the reading stops at its end).
    Range(&'a std::ops::Range<usize>),
    /// The rows marked `true`.
    Rows(&'a [bool]),
    /// The column of that name (default: the last) of every row, as a table of that one
    /// column.
    Column(Option<&'a str>),
}

/// Fields in the first line (commas + 1), read a block at a time: at most about
/// [`MAX_COLUMNS`] fields' worth of the line is looked at. Returns the count and the bytes
/// read, which the parser reads again (so that a pipe is read once).
fn header_columns(r: &mut impl std::io::BufRead) -> std::io::Result<(usize, Vec<u8>)> {
    let mut columns = 1;
    let mut seen = Vec::new();
    loop {
        if seen.len() > MAX_HEADER_BYTES {
            return Err(std::io::Error::other(format!(
                "its first line is longer than {}, too long for a header row",
                crate::resources::human(MAX_HEADER_BYTES as u128)
            )));
        }
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok((columns, seen));
        }
        let end = buf.iter().position(|b| *b == b'\n');
        let part = &buf[..end.unwrap_or(buf.len())];
        columns += part.iter().filter(|b| **b == b',').count();
        let used = part.len() + usize::from(end.is_some());
        seen.extend_from_slice(&buf[..used]);
        r.consume(used);
        if end.is_some() || columns > MAX_COLUMNS {
            return Ok((columns, seen));
        }
    }
}

/// Most columns a CSV file may have.
pub const MAX_COLUMNS: usize = 100_000;

/// Longest header row read (a hundred bytes a column name at the most columns).
const MAX_HEADER_BYTES: usize = 100 * MAX_COLUMNS;

/// The share of the machine's memory a table may take (the data set made from it takes
/// as much again).
fn table_budget() -> u128 {
    crate::resources::memory_bytes() / 2
}

impl Table {
    /// Reads `path`. Every row must have as many fields as the header.
    pub fn read(path: &Path) -> Result<Self> {
        let source = path.display().to_string();
        let file = std::fs::File::open(path)
            .map_err(|e| Error::Parse(format!("cannot open {source}: {e}")))?;
        // A file larger than the table may be is refused before it is read.
        let bytes = file.metadata().map_or(0, |m| m.len());
        if u128::from(bytes) > table_budget() {
            return Err(Error::TooLarge {
                what: format!(
                    "reading {source} ({})",
                    crate::resources::human(bytes.into())
                ),
                needs: format!(
                    "at least {}",
                    crate::resources::human(2 * u128::from(bytes))
                ),
                has: crate::resources::human(crate::resources::memory_bytes()),
            });
        }
        Self::from_reader(Self::open(file, &source)?, &source)
    }

    /// The rows `part(total)` of `path` alone, `total` being the file's count of data
    /// rows, and that count: a worker's share of a file too large for one machine reads
    /// the file twice (the count, then its rows) and holds only its own rows. Every row's
    /// width is checked, the others' as well.
    pub fn read_part(
        path: &Path,
        part: impl FnOnce(usize) -> std::ops::Range<usize>,
    ) -> Result<(Self, usize)> {
        let source = path.display().to_string();
        let open = || {
            std::fs::File::open(path)
                .map_err(|e| Error::Parse(format!("cannot open {source}: {e}")))
                .and_then(|f| Self::open(f, &source))
        };
        let (_, total) = Self::read_rows(open()?, &source, Keep::Range(&(0..0)))?;
        if total == 0 {
            return Err(Error::Parse(format!("{source}: no data rows")));
        }
        let rows = part(total);
        if rows.is_empty() || rows.end > total {
            return Err(Error::config(
                "data",
                format!(
                    "{source} has {total} data rows; this worker's part {rows:?} is empty or \
                     past them (more workers than rows?)"
                ),
            ));
        }
        let (table, _) = Self::read_rows(open()?, &source, Keep::Range(&rows))?;
        Ok((table, total))
    }

    /// The column `column` (default: the last) of every data row of `path`, as a table of
    /// that one column: what a worker that reads only its own rows
    /// ([`Table::read_marked`]) needs to know of the others' (a target's classes).
    pub fn read_column(path: &Path, column: Option<&str>) -> Result<Self> {
        let source = path.display().to_string();
        let file = std::fs::File::open(path)
            .map_err(|e| Error::Parse(format!("cannot open {source}: {e}")))?;
        let (table, _) =
            Self::read_rows(Self::open(file, &source)?, &source, Keep::Column(column))?;
        if table.lines.is_empty() {
            return Err(Error::Parse(format!("{source}: no data rows")));
        }
        Ok(table)
    }

    /// The data rows of `path` marked in `rows` (one mark per data row of the file), in the
    /// file's order: a worker's own rows of a file too large for one machine. Every row's
    /// width is checked, the others' as well.
    pub fn read_marked(path: &Path, rows: &[bool]) -> Result<Self> {
        let source = path.display().to_string();
        let file = std::fs::File::open(path)
            .map_err(|e| Error::Parse(format!("cannot open {source}: {e}")))?;
        let (table, total) =
            Self::read_rows(Self::open(file, &source)?, &source, Keep::Rows(rows))?;
        if total != rows.len() {
            return Err(Error::Parse(format!(
                "{source} has {total} data rows, not the {} it had (changed while read?)",
                rows.len()
            )));
        }
        Ok(table)
    }

    /// The file as a reader, its header's width checked on the raw bytes before the CSV
    /// parser holds them.
    fn open(file: std::fs::File, source: &str) -> Result<impl std::io::Read> {
        let mut reader = std::io::BufReader::new(file);
        let (columns, header) = header_columns(&mut reader)
            .map_err(|e| Error::Parse(format!("cannot read {source}: {e}")))?;
        if columns > MAX_COLUMNS {
            return Err(Error::Parse(format!(
                "{source}: more than {MAX_COLUMNS} columns, the most descent reads (features of one network input)"
            )));
        }
        use std::io::Read;
        Ok(std::io::Cursor::new(header).chain(reader))
    }

    /// Reads CSV text from any reader; `source` names it in messages.
    pub fn from_reader<R: std::io::Read>(reader: R, source: &str) -> Result<Self> {
        let (table, _) = Self::read_rows(reader, source, Keep::All)?;
        if table.lines.is_empty() {
            return Err(Error::Parse(format!("{source}: no data rows")));
        }
        Ok(table)
    }

    /// Reads CSV text, keeping the data rows (or the column) `keep` says, and counts the
    /// data rows (all of them, but for a range that ends before the last: those up to its
    /// end).
    fn read_rows<R: std::io::Read>(
        reader: R,
        source: &str,
        keep: Keep<'_>,
    ) -> Result<(Self, usize)> {
        // The table, and the data set made from it (8 bytes a value), must fit: the
        // bytes that arrive are counted, and a stream longer than that is refused as it
        // passes the limit (a part is limited by the rows it keeps alone).
        let budget = table_budget();
        let counted = Counted {
            inner: reader,
            read: 0,
            limit: if matches!(keep, Keep::All) {
                u64::try_from(budget).unwrap_or(u64::MAX)
            } else {
                u64::MAX
            },
        };
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(counted);
        let too_large = |read: u64| Error::TooLarge {
            what: format!(
                "reading {source} (more than {} of it)",
                crate::resources::human(u128::from(read))
            ),
            needs: format!("more than {}", crate::resources::human(budget)),
            has: crate::resources::human(crate::resources::memory_bytes()),
        };
        let headers = rdr
            .headers()
            .map(|h| h.iter().map(str::to_string).collect::<Vec<String>>())
            .map_err(|e| e.to_string());
        let headers = match headers {
            Ok(h) => h,
            Err(_) if rdr.get_ref().over() => return Err(too_large(rdr.get_ref().read)),
            Err(e) => {
                return Err(Error::Parse(format!(
                    "{source}: cannot read the header row: {e}"
                )))
            }
        };
        if headers.is_empty() || headers.iter().all(|h| h.is_empty()) {
            return Err(Error::Parse(format!("{source}: empty header row")));
        }
        if headers.len() > MAX_COLUMNS {
            return Err(Error::Parse(format!(
                "{source}: {} columns; descent reads at most {MAX_COLUMNS} (features of one network input)",
                headers.len()
            )));
        }
        let width = headers.len();
        let column = match keep {
            Keep::Column(Some(name)) => Some(headers.iter().position(|h| h == name).ok_or_else(
                || Error::Unknown {
                    kind: "column",
                    name: name.into(),
                    hint: format!(" in {source} (columns: {})", headers.join(", ")),
                },
            )?),
            Keep::Column(None) => Some(width - 1),
            _ => None,
        };
        let headers = match column {
            Some(c) => vec![headers[c].clone()],
            None => headers,
        };
        let mut table = Table {
            source: source.to_string(),
            headers,
            text: String::new(),
            ends: Vec::new(),
            lines: Vec::new(),
        };
        let mut rec = csv::StringRecord::new();
        let mut rows = 0;
        loop {
            if let Keep::Range(k) = keep {
                if !k.is_empty() && rows >= k.end {
                    break;
                }
            }
            match rdr.read_record(&mut rec) {
                Ok(true) => {}
                Ok(false) => break,
                Err(_) if rdr.get_ref().over() => return Err(too_large(rdr.get_ref().read)),
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    return Err(Error::Parse(format!("{source}:{line}: {e}")));
                }
            }
            let line = rec.position().map_or(0, |p| p.line() as usize);
            if rec.iter().all(|f| f.is_empty()) {
                continue;
            }
            if rec.len() != width {
                return Err(Error::Parse(format!(
                    "{source}:{line}: expected {width} fields (as in the header), found {}",
                    rec.len()
                )));
            }
            rows += 1;
            let row = rows - 1;
            let kept = match keep {
                Keep::All | Keep::Column(_) => true,
                Keep::Range(k) => k.contains(&row),
                Keep::Rows(marks) => marks.get(row).copied().unwrap_or(false),
            };
            if !kept {
                continue;
            }
            match column {
                Some(c) => {
                    table.text.push_str(&rec[c]);
                    table.ends.push(table.text.len());
                }
                None => {
                    for field in rec.iter() {
                        table.text.push_str(field);
                        table.ends.push(table.text.len());
                    }
                }
            }
            table.lines.push(line);
            // Text, offsets, and the numbers they will become.
            let held = (table.text.len() + 16 * table.ends.len()) as u128;
            if held > budget {
                return Err(too_large(rdr.get_ref().read));
            }
        }
        table.text.shrink_to_fit();
        table.ends.shrink_to_fit();
        Ok((table, rows))
    }

    /// Number of data rows.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Whether there are no data rows (never, for a table that was read).
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The 1-based line of row `row` in the file.
    pub fn line(&self, row: usize) -> usize {
        self.lines[row]
    }

    /// The field of row `row` in column `col`.
    pub fn field(&self, row: usize, col: usize) -> &str {
        let i = row * self.headers.len() + col;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }

    /// Index of the column called `name`.
    pub fn column_index(&self, name: &str) -> Result<usize> {
        self.headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| Error::Unknown {
                kind: "column",
                name: name.into(),
                hint: format!(" in {} (columns: {})", self.source, self.headers.join(", ")),
            })
    }

    /// The column `name` as numbers; a field that is not a finite number is an error that
    /// names its line.
    pub fn numeric_column(&self, name: &str) -> Result<Vec<f64>> {
        let c = self.column_index(name)?;
        (0..self.len())
            .map(|row| {
                let (line, f) = (self.line(row), self.field(row, c));
                match f.parse::<f64>() {
                    Ok(v) if v.is_finite() => Ok(v),
                    Ok(v) => Err(Error::Parse(format!(
                        "{}:{line}: column '{name}' is {v} (must be finite)",
                        self.source
                    ))),
                    Err(_) => Err(Error::Parse(format!(
                        "{}:{line}: column '{name}': '{f}' is not a number",
                        self.source
                    ))),
                }
            })
            .collect()
    }
}

/// A reader that counts its bytes and fails once they pass `limit`.
struct Counted<R> {
    inner: R,
    read: u64,
    limit: u64,
}

impl<R> Counted<R> {
    fn over(&self) -> bool {
        self.read > self.limit
    }
}

impl<R: std::io::Read> std::io::Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.over() {
            return Err(std::io::Error::other("more data than memory holds"));
        }
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_numbers_and_reports_bad_lines() {
        let t = Table::from_reader("x,y\n1,2\n3, 4\n".as_bytes(), "t.csv").unwrap();
        assert_eq!(t.numeric_column("y").unwrap(), vec![2.0, 4.0]);
        let e = Table::from_reader("x,y\n1,2\n3\n".as_bytes(), "t.csv")
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.csv:3"), "{e}");
        let t = Table::from_reader("x,y\n1,2\n3,abc\n".as_bytes(), "t.csv").unwrap();
        let e = t.numeric_column("y").unwrap_err().to_string();
        assert!(e.contains("t.csv:3") && e.contains("abc"), "{e}");
        let e = t.numeric_column("z").unwrap_err().to_string();
        assert!(e.contains("'z'"), "{e}");
        let t = Table::from_reader("x,y\n1,NaN\n".as_bytes(), "t.csv").unwrap();
        assert!(t.numeric_column("y").is_err());
    }

    /// A directory of its own holding `t.csv` with `text`: (the directory, the file).
    fn temp_csv(tag: &str, text: &str) -> (std::path::PathBuf, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("descent-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.csv");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    /// A column of every row, and marked rows alone (their lines kept); a malformed row
    /// anywhere is found, and a file whose rows are not the marks' count is refused.
    #[test]
    fn a_column_and_marked_rows() {
        let (dir, path) = temp_csv("marked", "x,y,kind\n1,2,a\n\n3,4,b\n5,6,a\n");
        let last = Table::read_column(&path, None).unwrap();
        assert_eq!(last.headers, ["kind"]);
        assert_eq!(
            (0..3).map(|r| last.field(r, 0)).collect::<Vec<_>>(),
            ["a", "b", "a"]
        );
        assert_eq!(last.line(2), 5);
        let y = Table::read_column(&path, Some("y")).unwrap();
        assert_eq!(y.numeric_column("y").unwrap(), [2.0, 4.0, 6.0]);
        let e = Table::read_column(&path, Some("z"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("'z'") && e.contains("kind"), "{e}");
        let t = Table::read_marked(&path, &[true, false, true]).unwrap();
        assert_eq!((t.len(), t.field(1, 1), t.line(1)), (2, "6", 5));
        let e = Table::read_marked(&path, &[true, false])
            .unwrap_err()
            .to_string();
        assert!(e.contains("3 data rows"), "{e}");
        std::fs::write(&path, "x,y,kind\n1,2,a\n3,4\n").unwrap();
        let e = Table::read_marked(&path, &[true, false])
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.csv:3"), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }

    /// A part holds its rows alone (their lines kept), the count is the file's, and a
    /// malformed row outside the part is still found.
    #[test]
    fn a_part_reads_its_rows_and_counts_them_all() {
        let (dir, path) = temp_csv("part", "x,y\n1,2\n\n3,4\n5,6\n7,8\n");
        let (t, total) = Table::read_part(&path, |n| n / 2..n).unwrap();
        assert_eq!(total, 4);
        assert_eq!(t.numeric_column("x").unwrap(), vec![5.0, 7.0]);
        assert_eq!((t.line(0), t.line(1)), (5, 6));
        let (t, _) = Table::read_part(&path, |_| 0..1).unwrap();
        assert_eq!(t.numeric_column("y").unwrap(), vec![2.0]);
        assert!(Table::read_part(&path, |n| 0..n + 1).is_err());
        std::fs::write(&path, "x,y\n1,2\n3,4\n5\n").unwrap();
        let e = Table::read_part(&path, |_| 0..1).unwrap_err().to_string();
        assert!(e.contains("t.csv:4"), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
