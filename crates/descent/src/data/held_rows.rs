//! The rows of a file that a reader keeps: those of several sets (a worker's training,
//! validation and test rows), read in one pass in file order, then found again per set.

/// Which of a file's rows are read, and where each lands among those read.
pub struct HeldRows {
    /// One mark per row of the file.
    marks: Vec<bool>,
    /// The rows read, in file order: row r of the file is `held.binary_search(r)` of them.
    held: Vec<usize>,
}

impl HeldRows {
    /// The rows of `sets` (each below `len`) among a file's `len` rows.
    pub fn of(sets: &[&[usize]], len: usize) -> HeldRows {
        let mut marks = vec![false; len];
        for &r in sets.iter().flat_map(|rows| rows.iter()) {
            marks[r] = true;
        }
        let held = (0..len).filter(|&r| marks[r]).collect();
        HeldRows { marks, held }
    }

    /// One mark per row of the file: whether it is read.
    pub fn marks(&self) -> &[bool] {
        &self.marks
    }

    /// Where `rows` (rows of the file, each of the sets given) land among those read.
    pub fn local(&self, rows: &[usize]) -> Vec<usize> {
        rows.iter()
            .map(|r| self.held.binary_search(r).expect("a row of the sets"))
            .collect()
    }
}
