//! Reading CSV files as people save them: UTF-8 with or without a byte order mark, `,` or
//! `;` between fields (whichever the header line has more of), quoted fields.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use super::Failure;

/// A CSV reader over `path` and its separator.
pub fn open(path: &Path) -> Result<(csv::Reader<Box<dyn Read + Send>>, u8), Failure> {
    let file = std::fs::File::open(path)
        .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?;
    let mut input = BufReader::with_capacity(1 << 16, file);
    let head = input
        .fill_buf()
        .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?;
    let bom = head.starts_with(b"\xEF\xBB\xBF");
    let sep = separator(if bom { &head[3..] } else { head });
    if bom {
        input.consume(3);
    }
    let reader = csv::ReaderBuilder::new()
        .delimiter(sep)
        .flexible(true)
        .buffer_capacity(1 << 16)
        .from_reader(Box::new(input) as Box<dyn Read + Send>);
    Ok((reader, sep))
}

/// `;` when the first line has more of them than commas, outside quotes.
pub fn separator(head: &[u8]) -> u8 {
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let (mut commas, mut semicolons, mut quoted) = (0, 0, false);
    for b in line {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => commas += 1,
            b';' if !quoted => semicolons += 1,
            _ => {}
        }
    }
    if semicolons > commas { b';' } else { b',' }
}

/// The index of the column named `name` (exact, then ignoring case and spaces around).
pub fn column(headers: &csv::StringRecord, name: &str, option: &str) -> Result<usize, Failure> {
    let found = headers.iter().position(|h| h == name).or_else(|| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name.trim()))
    });
    found.ok_or_else(|| {
        let known: Vec<&str> = headers.iter().collect();
        Failure::usage(format!(
            "{option}: no column {name:?} in the header line (columns: {})",
            known.join(", ")
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separator_is_what_the_header_has_more_of() {
        assert_eq!(separator(b"recipient,content\n"), b',');
        assert_eq!(separator(b"recipient;content;name\n+420;a,b"), b';');
        assert_eq!(separator(b"\"a;b;c\",d\n"), b',');
        assert_eq!(separator(b"single\n"), b',');
    }
}
