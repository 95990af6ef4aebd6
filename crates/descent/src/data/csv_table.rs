//! A CSV file with a header row, read whole, with errors that name the file and line.

use crate::error::{Error, Result};
use std::path::Path;

/// A CSV table: the header and the rows as text (parsed to numbers on demand).
#[derive(Clone, Debug)]
pub struct Table {
    /// Where it came from (for messages).
    pub source: String,
    /// Column names.
    pub headers: Vec<String>,
    /// Rows of fields, with their 1-based line numbers.
    pub rows: Vec<(usize, Vec<String>)>,
}

/// Fields in the first line (commas + 1), read a block at a time: at most about
/// [`MAX_COLUMNS`] fields' worth of the line is looked at.
fn header_columns(r: &mut impl std::io::BufRead) -> std::io::Result<usize> {
    let mut columns = 1;
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(columns);
        }
        let end = buf.iter().position(|b| *b == b'\n');
        let part = &buf[..end.unwrap_or(buf.len())];
        columns += part.iter().filter(|b| **b == b',').count();
        let used = part.len() + usize::from(end.is_some());
        r.consume(used);
        if end.is_some() || columns > MAX_COLUMNS {
            return Ok(columns);
        }
    }
}

/// Most columns a CSV file may have.
pub const MAX_COLUMNS: usize = 100_000;

impl Table {
    /// Reads `path`. Every row must have as many fields as the header.
    pub fn read(path: &Path) -> Result<Self> {
        let source = path.display().to_string();
        let file = std::fs::File::open(path)
            .map_err(|e| Error::Parse(format!("cannot open {source}: {e}")))?;
        // The table holds every field as text (about four times the file's bytes): a file
        // that cannot fit is refused before it is read.
        let bytes = file.metadata().map_or(0, |m| m.len());
        crate::resources::check_memory(&format!("reading {source}"), bytes as u128, 1, 4)?;
        // The header's width, counted on the raw bytes before the parser holds it.
        let mut reader = std::io::BufReader::new(file);
        let columns = header_columns(&mut reader)
            .map_err(|e| Error::Parse(format!("cannot read {source}: {e}")))?;
        if columns > MAX_COLUMNS {
            return Err(Error::Parse(format!(
                "{source}: more than {MAX_COLUMNS} columns, the most descent reads (features of one network input)"
            )));
        }
        use std::io::Seek;
        reader
            .seek(std::io::SeekFrom::Start(0))
            .map_err(|e| Error::Parse(format!("cannot read {source}: {e}")))?;
        Self::from_reader(reader, &source)
    }

    /// Reads CSV text from any reader; `source` names it in messages.
    pub fn from_reader<R: std::io::Read>(reader: R, source: &str) -> Result<Self> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(reader);
        let headers: Vec<String> = rdr
            .headers()
            .map_err(|e| Error::Parse(format!("{source}: cannot read the header row: {e}")))?
            .iter()
            .map(str::to_string)
            .collect();
        if headers.is_empty() || headers.iter().all(|h| h.is_empty()) {
            return Err(Error::Parse(format!("{source}: empty header row")));
        }
        if headers.len() > MAX_COLUMNS {
            return Err(Error::Parse(format!(
                "{source}: {} columns; descent reads at most {MAX_COLUMNS} (features of one network input)",
                headers.len()
            )));
        }
        let mut rows = Vec::new();
        for rec in rdr.records() {
            let rec = rec.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line());
                Error::Parse(format!("{source}:{line}: {e}"))
            })?;
            let line = rec.position().map_or(0, |p| p.line() as usize);
            if rec.iter().all(|f| f.is_empty()) {
                continue;
            }
            if rec.len() != headers.len() {
                return Err(Error::Parse(format!(
                    "{source}:{line}: expected {} fields (as in the header), found {}",
                    headers.len(),
                    rec.len()
                )));
            }
            rows.push((line, rec.iter().map(str::to_string).collect()));
        }
        if rows.is_empty() {
            return Err(Error::Parse(format!("{source}: no data rows")));
        }
        Ok(Table {
            source: source.to_string(),
            headers,
            rows,
        })
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
        self.rows
            .iter()
            .map(|(line, fields)| {
                let f = &fields[c];
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
}
