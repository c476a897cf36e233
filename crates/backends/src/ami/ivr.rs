//! Interactive calls on AMI: the dialplan's `Phase: amd` / `Phase: read` UserEvents and the
//! `dialout-ivr/<id>` AstDB record that keeps the same for a reconnect or a new process.

use super::proto::Packet;
use super::{AmiError, Inner, lock};
use crate::shared::ivr::{IvrReport, ReadResult};
use dialout_model::id::MessageId;

/// The AstDB family of the interactive results.
pub const FAMILY: &str = "dialout-ivr";

impl Inner {
    /// Reads `dialout-ivr/<id>` into the call's report.
    pub(super) async fn read_ivr(&self, id: MessageId) -> Result<(), AmiError> {
        if let Some(v) = self.db_get_in(FAMILY, id).await?
            && let Some(c) = lock(&self.calls).by_id.get_mut(&id)
        {
            apply_db(&mut c.ivr, &v);
        }
        Ok(())
    }
}

/// Applies a `DialoutReport` UserEvent of phase `amd` or `read`; false for other phases.
pub fn apply_event(ivr: &mut IvrReport, p: &Packet, now: i64) -> bool {
    let get = |k: &str| p.get(k).unwrap_or("").trim().to_string();
    match p.get("Phase").unwrap_or("") {
        "amd" => {
            ivr.amd = Some((now, get("AMDSTATUS"), get("AMDCAUSE")));
            true
        }
        "read" => {
            ivr.read = Some(ReadResult {
                at: now,
                try_no: get("Try").parse().unwrap_or(1),
                status: get("READSTATUS"),
                digits: get("DIGITS"),
            });
            true
        }
        _ => false,
    }
}

/// Applies the AstDB value `amd EPOCH STATUS CAUSE` or `read EPOCH TRY STATUS DIGITS
/// AMDSTATUS AMDCAUSE` (fields split on single spaces: an empty one keeps its place).
pub fn apply_db(ivr: &mut IvrReport, value: &str) {
    let f: Vec<&str> = value.split(' ').collect();
    let word = |i: usize| f.get(i).map_or(String::new(), |s| s.trim().to_string());
    let at = f.get(1).and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
    match f[0] {
        "amd" => ivr.amd = Some((at, word(2), word(3))),
        "read" => {
            ivr.read = Some(ReadResult {
                at,
                try_no: word(2).parse().unwrap_or(1),
                status: word(3),
                digits: word(4),
            });
            if !word(5).is_empty() {
                ivr.amd = Some((at, word(5), word(6)));
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn astdb_values_and_events_read_alike() {
        let mut a = IvrReport::default();
        apply_db(&mut a, "read 1796249006 2 TIMEOUT 12 HUMAN HUMAN-816-800");
        let r = a.read.clone().unwrap();
        assert_eq!(
            (r.try_no, r.status.as_str(), r.digits.as_str()),
            (2, "TIMEOUT", "12")
        );
        assert_eq!(a.amd.as_ref().unwrap().1, "HUMAN");
        let mut b = IvrReport::default();
        apply_db(&mut b, "read 1796249006 1 OK 1  ");
        assert_eq!(b.amd, None, "no detection asked");
        let p = Packet(
            [
                ("Phase", "read"),
                ("Try", "1"),
                ("READSTATUS", "OK"),
                ("DIGITS", ""),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        );
        let mut c = IvrReport::default();
        assert!(apply_event(&mut c, &p, 5));
        assert_eq!(c.read.unwrap().digits, "");
    }
}
