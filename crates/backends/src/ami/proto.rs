//! AMI framing: `Key: Value\r\n` lines, a blank line ends a message; the first line of a
//! connection is the banner.

/// One message from Asterisk (a response or an event), headers in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Packet(pub Vec<(String, String)>);

impl Packet {
    /// The first value of `key`, case-insensitively.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    pub fn is(&self, key: &str, value: &str) -> bool {
        self.get(key).is_some_and(|v| v.eq_ignore_ascii_case(value))
    }
}

/// An action as written on the wire. A value with a line break would start a new header
/// (or end the action): such an action is refused.
pub fn encode(headers: &[(&str, &str)]) -> Result<String, String> {
    let mut out = String::with_capacity(256);
    for (k, v) in headers {
        if k.contains(['\r', '\n', ':']) || v.contains(['\r', '\n']) {
            return Err(format!("the {k} header holds a line break"));
        }
        out.push_str(k);
        out.push_str(": ");
        out.push_str(v);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    Ok(out)
}

/// Cuts received bytes into the banner and then packets.
#[derive(Default)]
pub struct Framer {
    buf: Vec<u8>,
    banner: Option<String>,
}

impl Framer {
    /// The banner line once received.
    pub fn banner(&self) -> Option<&str> {
        self.banner.as_deref()
    }

    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<Packet>) {
        self.buf.extend_from_slice(bytes);
        if self.banner.is_none() {
            let Some(end) = self.buf.windows(2).position(|w| w == b"\r\n") else {
                return;
            };
            let line: Vec<u8> = self.buf.drain(..end + 2).collect();
            self.banner = Some(String::from_utf8_lossy(&line[..end]).into_owned());
        }
        let mut start = 0;
        while let Some(len) = self.buf[start..].windows(4).position(|w| w == b"\r\n\r\n") {
            let text = String::from_utf8_lossy(&self.buf[start..start + len]);
            let mut p = Packet::default();
            for line in text.split("\r\n") {
                if let Some((k, v)) = line.split_once(':') {
                    p.0.push((k.trim().to_string(), v.trim_start_matches(' ').to_string()));
                }
            }
            if !p.0.is_empty() {
                out.push(p);
            }
            start += len + 4;
        }
        self.buf.drain(..start);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banner_then_packets_in_pieces() {
        let mut f = Framer::default();
        let mut out = Vec::new();
        let wire = b"Asterisk Call Manager/11.0.0\r\nResponse: Success\r\nActionID: 1\r\nMessage: Authentication accepted\r\n\r\nEvent: FullyBooted\r\nAccountCode: \r\n\r\n";
        for chunk in wire.chunks(7) {
            f.push(chunk, &mut out);
        }
        assert_eq!(f.banner(), Some("Asterisk Call Manager/11.0.0"));
        assert_eq!(out.len(), 2);
        assert!(out[0].is("response", "success"));
        assert_eq!(out[0].get("actionid"), Some("1"));
        assert_eq!(out[1].get("AccountCode"), Some(""));
    }

    #[test]
    fn line_breaks_in_values_are_refused() {
        assert!(encode(&[("Action", "Ping")]).unwrap().ends_with("\r\n\r\n"));
        assert!(encode(&[("CallerID", "x\r\nAction: Command")]).is_err());
    }
}
