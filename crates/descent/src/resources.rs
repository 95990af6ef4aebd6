//! Bounded resources: an input that would need absurd memory — a network of 10¹⁰
//! weights, a problem of 10⁹ variables, a file whose header declares such sizes — is
//! refused before anything is allocated, with a line saying how much it would need.
//! Nothing here guesses what a run will use to the byte: the checks are about inputs
//! that cannot fit at all, so that they end in an error instead of an abort.

use crate::error::{Error, Result};

/// The machine's physical memory in bytes (`MemTotal` of `/proc/meminfo`; 16 GiB where
/// it cannot be read).
pub fn memory_bytes() -> u128 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            let line = m.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kib: u128 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib * 1024)
        })
        .unwrap_or(16 << 30)
}

/// Refuses `what` when `values` numbers of `bytes_each` bytes, held `copies` times over,
/// exceed the machine's memory. The arithmetic cannot overflow.
pub fn check_memory(what: &str, values: u128, bytes_each: u128, copies: u128) -> Result<()> {
    let needs = values.saturating_mul(bytes_each).saturating_mul(copies);
    let has = memory_bytes();
    if needs > has {
        return Err(Error::TooLarge {
            what: what.into(),
            needs: human(needs),
            has: human(has),
        });
    }
    Ok(())
}

/// Bytes in words: `8.0 TB`, `206 GB`, `512 MB`.
pub fn human(bytes: u128) -> String {
    let units = ["B", "KB", "MB", "GB", "TB", "PB", "EB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < units.len() {
        v /= 1000.0;
        u += 1;
    }
    if v >= 10.0 || u == 0 {
        format!("{v:.0} {}", units[u])
    } else {
        format!("{v:.1} {}", units[u])
    }
}

/// Sets `buf` to `n` zeros in the memory it already has, writing every entry: buffers are
/// mapped when they are set up (a step rule's reset, a trainer's construction), not page by
/// page at the first step that writes them, and setting them up again allocates nothing.
pub(crate) fn zeroed<E: Copy + Default>(buf: &mut Vec<E>, n: usize) {
    buf.clear();
    buf.resize(n, E::default());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absurd_sizes_are_refused_in_words() {
        assert!(check_memory("x", 1000, 8, 4).is_ok());
        let e = check_memory("a network of 10¹² weights", 1_000_000_000_000, 8, 4).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("32 TB") && text.contains("this machine has"),
            "{text}"
        );
        assert!(check_memory("overflow", u128::MAX, 8, 8).is_err());
        assert_eq!(human(206_000_000_000), "206 GB");
        assert_eq!(human(512), "512 B");
    }
}
