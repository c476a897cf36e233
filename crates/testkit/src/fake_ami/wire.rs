//! AMI framing as the reference records it: `Key: Value\r\n` lines, a blank line ends a
//! message. Written here on its own, without dialout's parser.

use std::collections::VecDeque;

/// One AMI message: its headers in order (keys may repeat).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Packet(pub Vec<(String, String)>);

impl Packet {
    pub fn new() -> Self {
        Packet(Vec::new())
    }

    pub fn with(mut self, key: &str, value: impl ToString) -> Self {
        self.0.push((key.to_string(), value.to_string()));
        self
    }

    /// The first value of `key`, compared case-insensitively (as Asterisk reads actions).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn to_wire(&self) -> String {
        let mut s = String::new();
        for (k, v) in &self.0 {
            s.push_str(k);
            s.push_str(": ");
            s.push_str(v);
            s.push_str("\r\n");
        }
        s.push_str("\r\n");
        s
    }
}

/// Splits received bytes into packets; keeps an unfinished one for later.
#[derive(Default)]
pub struct Splitter {
    buf: Vec<u8>,
}

impl Splitter {
    pub fn push(&mut self, bytes: &[u8]) -> VecDeque<Packet> {
        self.buf.extend_from_slice(bytes);
        let mut out = VecDeque::new();
        while let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let raw: Vec<u8> = self.buf.drain(..end + 4).collect();
            let text = String::from_utf8_lossy(&raw[..end]);
            let mut p = Packet::new();
            for line in text.split("\r\n") {
                if let Some((k, v)) = line.split_once(':') {
                    p.0.push((
                        k.trim().to_string(),
                        v.strip_prefix(' ').unwrap_or(v).to_string(),
                    ));
                }
            }
            if !p.0.is_empty() {
                out.push_back(p);
            }
        }
        out
    }
}
