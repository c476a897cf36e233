//! The part of libphonenumber's metadata that validating a number needs, as static data: no
//! parsing or regex compiling at start-up, and a lookup touches only the regions of one
//! calling code.
//!
//! `table.in` is generated from the `phonenumber` crate's own database (the same crate
//! version the fallback path uses). A test regenerates it and fails when it differs, so a
//! `phonenumber` update that changes the metadata cannot go unnoticed; to refresh it:
//!
//! ```sh
//! DIALOUT_REGENERATE_PHONE_TABLE=1 cargo test -p dialout-dialer --lib phone::table
//! ```

/// A number pattern of the metadata (`<nationalNumberPattern>` and its lengths).
pub(super) struct Desc {
    pub pattern: &'static str,
    pub lengths: &'static [u16],
    pub local: &'static [u16],
}

/// One region's metadata, as the `phonenumber` crate holds it.
pub(super) struct Meta {
    /// ISO 3166 code, or `001` for a non-geographic calling code.
    pub id: &'static str,
    pub code: u16,
    pub general: Desc,
    /// The types `validator::number_type` tries, in its order: premium rate, toll free,
    /// shared cost, VoIP, personal number, pager, UAN, voicemail, fixed line, mobile.
    pub types: [Option<Desc>; 10],
    pub leading_digits: Option<&'static str>,
    pub international_prefix: Option<&'static str>,
    pub national_prefix: Option<&'static str>,
    pub national_prefix_for_parsing: Option<&'static str>,
    pub national_prefix_transform_rule: Option<&'static str>,
}

/// Every region, by calling code; within a code in the crate's order (its main region first).
pub(super) static REGIONS: &[Meta] = &include!("table.in");

/// The regions of a calling code, main one first, with their indices in [`REGIONS`].
pub(super) fn by_code(code: u16) -> Option<std::ops::Range<usize>> {
    let start = REGIONS.partition_point(|m| m.code < code);
    let end = REGIONS.partition_point(|m| m.code <= code);
    (start < end).then_some(start..end)
}

/// A geographic region by its ISO 3166 code (`CZ`).
pub(super) fn by_id(id: &str) -> Option<usize> {
    REGIONS.iter().position(|m| m.id == id && id != "001")
}

#[cfg(test)]
mod tests {
    use std::fmt::Write;

    use phonenumber::metadata::{DATABASE, Descriptor, Metadata};

    use super::*;

    fn desc(out: &mut String, d: &Descriptor) {
        write!(
            out,
            "Desc {{ pattern: {:?}, lengths: &{:?}, local: &{:?} }}",
            d.national_number().as_str(),
            d.possible_length(),
            d.possible_local_length()
        )
        .unwrap();
    }

    fn meta(out: &mut String, m: &Metadata) {
        let d = m.descriptors();
        write!(
            out,
            "Meta {{ id: {:?}, code: {}, general: ",
            m.id(),
            m.country_code()
        )
        .unwrap();
        desc(out, d.general());
        out.push_str(", types: [");
        for t in [
            d.premium_rate(),
            d.toll_free(),
            d.shared_cost(),
            d.voip(),
            d.personal_number(),
            d.pager(),
            d.uan(),
            d.voicemail(),
            d.fixed_line(),
            d.mobile(),
        ] {
            match t {
                Some(t) => {
                    out.push_str("Some(");
                    desc(out, t);
                    out.push_str("), ");
                }
                None => out.push_str("None, "),
            }
        }
        writeln!(
            out,
            "], leading_digits: {:?}, international_prefix: {:?}, national_prefix: {:?}, \
             national_prefix_for_parsing: {:?}, national_prefix_transform_rule: {:?} }},",
            m.leading_digits().map(|r| r.as_str()),
            m.international_prefix().map(|r| r.as_str()),
            m.national_prefix(),
            m.national_prefix_for_parsing().map(|r| r.as_str()),
            m.national_prefix_transform_rule(),
        )
        .unwrap();
    }

    /// `table.in` as it should be for the `phonenumber` crate in use.
    fn generate() -> String {
        // `DATABASE.iter()` holds one "001" region only: the codes are looked up one by one.
        let mut out = String::from(
            "// @generated from the `phonenumber` crate's metadata by phone/table.rs; do not edit.\n[\n",
        );
        for code in 1..=999 {
            for m in DATABASE.by_code(&code).into_iter().flatten() {
                meta(&mut out, m);
            }
        }
        out.push_str("]\n");
        out
    }

    #[test]
    fn the_table_is_the_crates_metadata() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/phone/table.in");
        let want = generate();
        if std::env::var_os("DIALOUT_REGENERATE_PHONE_TABLE").is_some() {
            std::fs::write(path, &want).unwrap();
        }
        let have = std::fs::read_to_string(path).unwrap();
        assert!(
            have == want,
            "{path} is not the phonenumber crate's metadata: regenerate it with \
             DIALOUT_REGENERATE_PHONE_TABLE=1 cargo test -p dialout-dialer --lib phone::table"
        );
    }

    #[test]
    fn lookups_agree_with_the_crate() {
        for code in 0..=999 {
            let ids = by_code(code).map(|r| REGIONS[r].iter().map(|m| m.id).collect::<Vec<_>>());
            assert_eq!(ids, DATABASE.region(&code), "{code}");
        }
        assert!(by_code(800).is_some());
        for m in DATABASE.iter().filter(|m| m.id() != "001") {
            assert_eq!(
                REGIONS[by_id(m.id()).unwrap()].code,
                m.country_code(),
                "{}",
                m.id()
            );
        }
        assert!(by_code(0).is_none() && by_code(999).is_none() && by_id("XX").is_none());
    }
}
