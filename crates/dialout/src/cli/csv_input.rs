//! Reading CSV files as people save them: UTF-8 with or without a byte order mark, `,` or
//! `;` between fields (whichever the header line has more of), quoted fields, `\n`, `\r\n`
//! (Excel's "CSV UTF-8") or `\r` line ends.
//!
//! The csv crate reads the bytes of [`Input`], not the file's. The line the csv crate gives a
//! record is where it started to read it: before the `\n` of a `\r\n` that ended the record
//! before (one line too low in a CRLF file), before any blank line. So [`Input`] follows the
//! fields as the csv crate does and notes the line each record really starts on
//! ([`Input::record_line`]), and whether the file ended inside a quoted field, which the csv
//! crate accepts without a word ([`Input::ended_in_quotes`]).

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use super::Failure;

/// A CSV reader over `path`, and its separator.
pub fn open(path: &Path) -> Result<(csv::Reader<Input>, u8), Failure> {
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
        .from_reader(Input::new(input, sep));
    Ok((reader, sep))
}

/// Where [`Input`] is among the fields, as the csv crate's reader (quote `"`, a doubled quote
/// for a quote, no escape character, no comments) would be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    /// Between records: line ends here are blank lines, skipped; anything else starts one.
    RecordStart,
    /// At the start of a field after a separator.
    FieldStart,
    /// In an unquoted field: quotes are plain characters here.
    Unquoted,
    /// Inside quotes: separators and line ends are part of the field.
    Quoted,
    /// Just after a quote inside quotes: the field's end, or the first of a doubled quote.
    QuoteInQuotes,
}

/// The file's bytes as the CSV parser reads them. Invariants: every `\r\n` and every lone
/// `\r` becomes one `\n` (also inside quoted fields: text read aloud loses nothing), nothing
/// else changes; `at` and `line` are where the parser is after the bytes handed out so far;
/// `starts` holds the line of every record (the header's too) handed out and not yet taken,
/// in order: one record, one entry. The csv crate reads at most its buffer (64 KiB) ahead of
/// the records it returned, so `starts` stays small.
pub struct Input {
    inner: BufReader<std::fs::File>,
    sep: u8,
    at: At,
    /// The line of the next byte (from 1).
    line: u64,
    starts: VecDeque<u64>,
    /// The last byte handed out was a `\r` made `\n`: a `\n` next is the same line end.
    after_cr: bool,
    /// Bytes read from the file (for progress).
    read: u64,
}

impl Input {
    fn new(inner: BufReader<std::fs::File>, sep: u8) -> Input {
        Input {
            inner,
            sep,
            at: At::RecordStart,
            line: 1,
            starts: VecDeque::new(),
            after_cr: false,
            read: 0,
        }
    }

    /// The line of the file the next record starts on: call once for every record the csv
    /// reader returns (the header included), and for every record it refuses as not UTF-8.
    pub fn record_line(&mut self) -> u64 {
        self.starts.pop_front().unwrap_or(self.line)
    }

    /// Read to its end, the file ended inside a quoted field: the csv crate took everything
    /// from the opening quote on as that field.
    pub fn ended_in_quotes(&self) -> bool {
        self.at == At::Quoted
    }

    /// How many of the file's bytes were read (the parser is up to 64 KiB behind).
    pub fn bytes_read(&self) -> u64 {
        self.read
    }

    /// Makes every line end `\n` in place; the new length.
    fn line_ends(&mut self, buf: &mut [u8]) -> usize {
        if !self.after_cr && !buf.contains(&b'\r') {
            return buf.len();
        }
        let mut kept = 0;
        for i in 0..buf.len() {
            let b = buf[i];
            if self.after_cr && b == b'\n' {
                self.after_cr = false;
                continue;
            }
            self.after_cr = b == b'\r';
            buf[kept] = if b == b'\r' { b'\n' } else { b };
            kept += 1;
        }
        kept
    }

    /// Where a field's first byte `b` (or the byte after a closing quote) leads.
    fn field(&mut self, b: u8) -> At {
        match b {
            b'"' => At::Quoted,
            b'\n' => {
                self.line += 1;
                At::RecordStart
            }
            b if b == self.sep => At::FieldStart,
            _ => At::Unquoted,
        }
    }

    /// Follows the fields over `buf` (line ends already `\n`).
    fn follow(&mut self, buf: &[u8]) {
        let (sep, mut i) = (self.sep, 0);
        while i < buf.len() {
            match self.at {
                At::RecordStart => {
                    if buf[i] == b'\n' {
                        self.line += 1;
                    } else {
                        self.starts.push_back(self.line);
                        self.at = self.field(buf[i]);
                    }
                    i += 1;
                }
                At::FieldStart | At::QuoteInQuotes => {
                    self.at = match (self.at, buf[i]) {
                        (At::QuoteInQuotes, b'"') => At::Quoted,
                        (_, b) => self.field(b),
                    };
                    i += 1;
                }
                At::Unquoted => match buf[i..].iter().position(|&b| b == sep || b == b'\n') {
                    Some(end) => {
                        self.at = self.field(buf[i + end]);
                        i += end + 1;
                    }
                    None => return,
                },
                At::Quoted => match buf[i..].iter().position(|&b| b == b'"' || b == b'\n') {
                    Some(end) if buf[i + end] == b'\n' => {
                        self.line += 1;
                        i += end + 1;
                    }
                    Some(end) => {
                        self.at = At::QuoteInQuotes;
                        i += end + 1;
                    }
                    None => return,
                },
            }
        }
    }
}

impl Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let n = self.inner.read(buf)?;
            if n == 0 {
                return Ok(0);
            }
            self.read += n as u64;
            let n = self.line_ends(&mut buf[..n]);
            self.follow(&buf[..n]);
            // Only the `\n` of a `\r\n` split between two reads: read on.
            if n > 0 {
                return Ok(n);
            }
        }
    }
}

/// What a bad row says when the file ends inside a quoted field.
pub const UNCLOSED_QUOTE: &str = "a quote opened in this row is never closed: \
    the rest of the file was read as one field; close the quote (a quote inside a quoted \
    field is written twice: \"\")";

/// What a bad row says when it has more fields than the header line.
pub fn too_many_fields(fields: usize, header: usize, sep: u8) -> String {
    format!(
        "{fields} fields where the header line has {header}: put a field that holds a `{}` \
         in quotes",
        sep as char
    )
}

/// `1 row`, `2 rows`.
pub fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
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

    fn through(bytes: &[u8], chunk: usize) -> (Vec<u8>, bool) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.csv");
        std::fs::write(&path, bytes).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let mut input = Input::new(BufReader::with_capacity(chunk, file), b',');
        let mut out = Vec::new();
        let mut buf = vec![0u8; chunk];
        loop {
            let n = input.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        assert_eq!(input.bytes_read(), bytes.len() as u64);
        (out, input.ended_in_quotes())
    }

    #[test]
    fn line_ends_become_one_newline_in_any_chunking() {
        let text = b"a,b\r\n1,\"x\r\ny\"\r\n\r\n2,z\r3,w\n";
        for chunk in 1..=text.len() {
            let (out, open) = through(text, chunk);
            assert_eq!(out, b"a,b\n1,\"x\ny\"\n\n2,z\n3,w\n", "chunk {chunk}");
            assert!(!open, "chunk {chunk}");
        }
    }

    #[test]
    fn quotes_are_followed_as_the_csv_crate_reads_them() {
        for (text, open) in [
            (&b"a,b\n1,\"unterminated\n"[..], true),
            (b"a,b\n1,\"closed\"\n", false),
            (b"a,b\n1,\"doubled \"\" inside\n", true),
            (b"a,b\n1,\"doubled \"\"\"\n", false),
            (b"a,b\n1,not \"quoted\n", false),
            (b"a,b\n1,\"x\"y,\"\n", true),
            (b"a,b\n\"", true),
        ] {
            for chunk in [1, 2, 3, 64] {
                assert_eq!(
                    through(text, chunk).1,
                    open,
                    "{:?}",
                    String::from_utf8_lossy(text)
                );
            }
        }
    }

    #[test]
    fn every_record_has_the_line_it_starts_on() {
        let text = b"a,b\r\n\r\n1,\"x\r\ny\"\r\n\n,2\r\n3,\"\"\"\n\"\n4,w";
        for chunk in [1, 2, 5, 64] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("f.csv");
            std::fs::write(&path, text).unwrap();
            let (mut reader, _) = open(&path).unwrap();
            let mut record = csv::StringRecord::new();
            let mut lines = Vec::new();
            reader.get_mut().inner =
                BufReader::with_capacity(chunk, std::fs::File::open(&path).unwrap());
            assert_eq!(&reader.headers().unwrap()[1], "b");
            assert_eq!(reader.get_mut().record_line(), 1, "the header");
            while reader.read_record(&mut record).unwrap() {
                lines.push((
                    reader.get_mut().record_line(),
                    record.get(1).unwrap().to_string(),
                ));
            }
            assert_eq!(
                lines,
                [
                    (3, "x\ny".into()),
                    (6, "2".into()),
                    (7, "\"\n".into()),
                    (9, "w".into())
                ],
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn counts() {
        assert_eq!(count(1u64, "row", "rows"), "1 row");
        assert_eq!(count(0u64, "row", "rows"), "0 rows");
        assert_eq!(count(2u64, "row", "rows"), "2 rows");
    }
}
