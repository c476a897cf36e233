//! A quicker answer for the common cases: a number written with its country code that
//! libphonenumber would keep digit for digit, and a national number of a default region.
//!
//! The `phonenumber` crate parses its whole metadata on first use (about 70 ms of CPU in a
//! release build: every pattern of every region goes through its regex cache), reaches
//! every pattern through a shared, locked cache keyed by the pattern's text, and its parser
//! runs several general-purpose regexes per number. This module reads the same metadata
//! from a static table ([`super::table`]), compiles a region's patterns only when a number
//! needs them, once, and repeats the crate's own rules with them
//! (`parser::helper::country_code` and `national_number`, `validator::is_valid_with`,
//! `source_for` and `number_type` of phonenumber 0.3). It only ever answers "valid, and
//! this is its E.164 form"; anything else, or any case where the crate's parser would do
//! something not repeated here (a national prefix after the code, an international prefix
//! after the `+`, a national number that starts with its country code), goes to the crate.
//! Tests check every "valid" answer against the crate.

use std::sync::{LazyLock, OnceLock};

use regex::bytes::{Regex, RegexBuilder};

use super::table::{self, Desc, Meta, REGIONS};

/// `rest` is a country calling code and then the national number, digits only. `Some` when
/// the number is valid and libphonenumber would keep its digits as they are: its E.164 form
/// is then `+` and `rest`.
pub(super) fn valid_international(rest: &str) -> Option<()> {
    // Lengths where the crate's own length rules could refuse or reshape the number.
    if !(7..=17).contains(&rest.len()) {
        return None;
    }
    let (code, national) = super::split_calling_code(rest)?;
    let regions = &compiled()[table::by_code(code)?];
    let main = regions.first()?;
    // The parser would strip these; only the crate knows how.
    if main.idd.starts(rest)?
        || main
            .meta
            .national_prefix
            .is_some_and(|p| national.starts_with(p))
        || main.prefix_for_parsing.starts(national)?
    {
        return None;
    }
    is_valid(regions, national)?.then_some(())
}

/// `digits` (ASCII digits only) is a number written without its country code in `region`
/// (`CZ`) with no international prefix before it. `Some` with its E.164 form when the crate
/// would parse it to a valid number; `None` when it would not, or when only the crate knows.
pub(super) fn valid_national(region: &str, digits: &str) -> Option<String> {
    if !(4..=17).contains(&digits.len()) {
        return None;
    }
    let index = table::by_id(region)?;
    let this = &compiled()[index];
    let meta = this.meta;
    let code = meta.code.to_string();
    // `helper::country_code`: an international prefix at the start, or the country's own
    // code, may be taken off by the crate; those are its to decide.
    if this.idd.starts(digits)? || digits.starts_with(&code) {
        return None;
    }
    // `helper::national_number`: the national prefix (and a carrier code) taken off as the
    // region's parsing rule says.
    let mut national: String = match (
        this.prefix_for_parsing.get()?,
        meta.national_prefix_transform_rule,
    ) {
        (None, _) => match meta.national_prefix {
            Some(p) if digits.starts_with(p) => digits[p.len()..].to_string(),
            _ => digits.to_string(),
        },
        (Some(parsing), transform) => match parsing.captures(digits.as_bytes()) {
            None => digits.to_string(),
            Some(caps) => {
                let end = caps.get(0)?.end();
                let last = caps.get(caps.len() - 1);
                match transform {
                    Some(transform) if last.is_some() => {
                        // The crate takes the first group as the carrier: it must exist.
                        caps.get(1)?;
                        let viable = this.general.is_match(digits)?;
                        let transformed = parsing.replace(digits.as_bytes(), transform.as_bytes());
                        let transformed = String::from_utf8(transformed.into_owned()).ok()?;
                        if viable && !this.general.is_match(&transformed)? {
                            digits.to_string()
                        } else {
                            transformed
                        }
                    }
                    _ => digits[end..].to_string(),
                }
            }
        },
    };
    // `parser::parse_with` takes the national prefix off once more when it is still there.
    if let Some(p) = meta.national_prefix
        && national.starts_with(p)
    {
        national.drain(..p.len());
    }
    // … and keeps the number as written if that made it too short for the region.
    if too_short(&meta.general, national.len()) {
        national = digits.to_string();
    }
    // The crate keeps leading zeros of the national number, but the number must fit its u64
    // and not be all zeros (printed back with one zero more).
    if !(2..=15).contains(&national.len()) || national.bytes().all(|b| b == b'0') {
        return None;
    }
    let regions = &compiled()[table::by_code(meta.code)?];
    is_valid(regions, &national)?.then(|| format!("+{code}{national}"))
}

/// The length of the digits after `region`'s international prefix (`00` in CZ, `011` in
/// US) when `digits` starts with it: as in libphonenumber, a 0 right after it means it was
/// not one. `None` when the region is unknown here.
pub(super) fn international_prefix_len(region: &str, digits: &str) -> Option<Option<usize>> {
    let this = &compiled()[table::by_id(region)?];
    let Some(idd) = this.idd.get()? else {
        return Some(None);
    };
    Some(
        idd.find(digits.as_bytes())
            .map(|m| m.end())
            .filter(|&end| end > 0 && !digits[end..].starts_with('0')),
    )
}

/// `validator::length(meta, number, Type::Unknown) == Validation::TooShort` of the crate,
/// which checks against the general descriptor's lengths.
fn too_short(general: &Desc, len: usize) -> bool {
    let len = len as u16;
    match general.lengths.first() {
        None => false,
        Some(&minimum) => !general.local.contains(&len) && len < minimum,
    }
}

/// `validator::is_valid_with` for a national number of one of a calling code's `regions`:
/// `source_for` picks the region, `number_type` must find a type. `None`: not known here.
fn is_valid(regions: &[Region], national: &str) -> Option<bool> {
    let region = if let [only] = regions {
        only
    } else {
        let mut found = None;
        for r in regions {
            let here = match r.leading_digits.get()? {
                Some(re) => starts(re, national),
                None => r.any_type(national)?,
            };
            if here {
                found = Some(r);
                break;
            }
        }
        match found {
            Some(r) => r,
            None => return Some(false),
        }
    };
    region.any_type(national)
}

/// A pattern of the table, compiled on first use.
struct Lazy {
    pattern: Option<&'static str>,
    re: OnceLock<Option<Regex>>,
}

impl Lazy {
    fn new(pattern: Option<&'static str>) -> Self {
        Lazy {
            pattern,
            re: OnceLock::new(),
        }
    }

    /// `Some(None)` when there is no pattern; `None` when it does not compile.
    fn get(&self) -> Option<Option<&Regex>> {
        match self.pattern {
            None => Some(None),
            Some(p) => self.re.get_or_init(|| compile(p)).as_ref().map(Some),
        }
    }

    /// Matches from the first digit; false without a pattern.
    fn starts(&self, value: &str) -> Option<bool> {
        Some(self.get()?.is_some_and(|re| starts(re, value)))
    }
}

/// What the crate's `Descriptor::is_match` tests: a possible length, and a match of the
/// pattern from the first digit.
struct Pattern {
    lengths: &'static [u16],
    re: Lazy,
}

impl Pattern {
    fn new(d: &'static Desc) -> Self {
        Pattern {
            lengths: d.lengths,
            re: Lazy::new(Some(d.pattern)),
        }
    }

    fn is_match(&self, value: &str) -> Option<bool> {
        if !(self.lengths.is_empty() || self.lengths.contains(&(value.len() as u16))) {
            return Some(false);
        }
        self.re.starts(value)
    }
}

/// One region's metadata, its patterns compiled when first needed.
struct Region {
    meta: &'static Meta,
    general: Pattern,
    /// The types `number_type` tries; a number is valid when it matches one of them. Which
    /// one does not matter here: fixed line and mobile come first, the most numbers' types,
    /// so that the other patterns are seldom compiled.
    types: Vec<Pattern>,
    leading_digits: Lazy,
    idd: Lazy,
    prefix_for_parsing: Lazy,
}

impl Region {
    fn new(meta: &'static Meta) -> Self {
        Region {
            meta,
            general: Pattern::new(&meta.general),
            types: meta.types[8..]
                .iter()
                .chain(&meta.types[..8])
                .flatten()
                .map(Pattern::new)
                .collect(),
            leading_digits: Lazy::new(meta.leading_digits),
            idd: Lazy::new(meta.international_prefix),
            prefix_for_parsing: Lazy::new(meta.national_prefix_for_parsing),
        }
    }

    /// `number_type(…) != Unknown` of the crate.
    fn any_type(&self, national: &str) -> Option<bool> {
        if !self.general.is_match(national)? {
            return Some(false);
        }
        for t in &self.types {
            if t.is_match(national)? {
                return Some(true);
            }
        }
        Some(false)
    }
}

/// Every region of the table, in its order; nothing compiled yet.
fn compiled() -> &'static [Region] {
    static ALL: LazyLock<Vec<Region>> = LazyLock::new(|| REGIONS.iter().map(Region::new).collect());
    &ALL
}

/// Compiled as the crate compiles its metadata's patterns, anchored at the start: a match
/// from the first digit exists exactly when the leftmost match (the crate's `find`) starts
/// there, and is the same match, with the same groups. On bytes and without Unicode classes
/// when the pattern allows it: only ASCII digits are ever matched here, and on them `\d`
/// means the same, while Unicode's `\d` makes a compile 20 to 50 times slower (3 ms instead
/// of 0.1 ms for a region's typical pattern), and a `str` regex compiles a UTF-8 decoder
/// for the unanchored search it is always ready for.
fn compile(pattern: &str) -> Option<Regex> {
    let anchored = format!("^(?:{pattern})");
    let build = |unicode| {
        RegexBuilder::new(&anchored)
            .ignore_whitespace(true)
            .unicode(unicode)
            .build()
    };
    build(false).or_else(|_| build(true)).ok()
}

fn starts(re: &Regex, value: &str) -> bool {
    re.is_match(value.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use phonenumber::metadata::{DATABASE, Descriptor};
    use proptest::prelude::*;

    /// The crate's answer for `+rest`: its E.164 form when valid.
    fn crate_answer(rest: &str) -> Option<String> {
        // Parsed as libphonenumber does a `+` number: by its code's main region (without a
        // region, the crate compiles a regex per call, too slow for thousands of cases).
        let main = super::super::split_calling_code(rest)
            .and_then(|(code, _)| super::super::main_region(code));
        let n = phonenumber::parse(main, format!("+{rest}")).ok()?;
        phonenumber::is_valid(&n).then(|| n.format().mode(phonenumber::Mode::E164).to_string())
    }

    /// Every example number of libphonenumber's metadata, of every region and type, as
    /// `code` + national digits.
    fn examples() -> &'static [String] {
        static ALL: LazyLock<Vec<String>> = LazyLock::new(collect_examples);
        &ALL
    }

    /// The example numbers (national digits) of every kind of number in a region's metadata.
    fn example_digits(m: &phonenumber::metadata::Metadata) -> Vec<&str> {
        let d = m.descriptors();
        [
            Some(d.general()),
            d.fixed_line(),
            d.mobile(),
            d.toll_free(),
            d.premium_rate(),
            d.shared_cost(),
            d.personal_number(),
            d.voip(),
            d.pager(),
            d.uan(),
            d.voicemail(),
        ]
        .into_iter()
        .flatten()
        .filter_map(Descriptor::example)
        .collect()
    }

    fn collect_examples() -> Vec<String> {
        let mut out = Vec::new();
        for m in DATABASE.iter() {
            for e in example_digits(m) {
                out.push(format!("{}{e}", m.country_code()));
            }
        }
        out.sort();
        out.dedup();
        out
    }

    #[test]
    fn every_example_number_answered_here_is_answered_alike_by_the_crate() {
        let all = examples();
        let mut quick = 0;
        for rest in all {
            if valid_international(rest).is_some() {
                quick += 1;
                assert_eq!(crate_answer(rest), Some(format!("+{rest}")), "{rest}");
            }
        }
        // Most real numbers take this path; if none did, the test above would prove nothing.
        eprintln!("{quick} of {} example numbers answered here", all.len());
        assert!(
            quick * 10 > all.len() * 7,
            "{quick} of {} examples",
            all.len()
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]
        /// Example numbers with other digits at the end: valid ones and near misses.
        #[test]
        fn every_valid_answer_is_the_crates(
            i in any::<prop::sample::Index>(),
            tail in "[0-9]{0,4}",
            cut in 0usize..4,
        ) {
            let all = examples();
            let base = i.get(all);
            let keep = base.len().saturating_sub(cut).max(1);
            let rest = format!("{}{tail}", &base[..keep]);
            if valid_international(&rest).is_some() {
                prop_assert_eq!(crate_answer(&rest), Some(format!("+{rest}")));
            }
        }
    }

    #[test]
    fn common_numbers_take_the_quick_path_and_prefixed_ones_do_not() {
        for quick in [
            "420777123456",
            "4915123456789",
            "8613912345678",
            "12015550123",
            "390612345678",
        ] {
            assert!(valid_international(quick).is_some(), "{quick}");
            assert_eq!(crate_answer(quick), Some(format!("+{quick}")));
        }
        // A national prefix after the code (GB's 0): the crate drops it, so the crate decides.
        assert!(valid_international("4407911123456").is_none());
        // Invalid numbers are never answered here.
        for bad in ["420123", "42012345678901", "1555"] {
            assert!(valid_international(bad).is_none(), "{bad}");
        }
    }

    /// The crate's answer for a national number of `region`: its E.164 form when valid.
    fn crate_national(region: &str, digits: &str) -> Option<String> {
        let id: phonenumber::country::Id = region.parse().ok()?;
        let n = phonenumber::parse(Some(id), digits).ok()?;
        phonenumber::is_valid(&n).then(|| n.format().mode(phonenumber::Mode::E164).to_string())
    }

    /// Every example number of every geographic region, as its region and national digits,
    /// also written with the region's national prefix and with its calling code.
    fn national_examples() -> &'static [(String, String)] {
        static ALL: LazyLock<Vec<(String, String)>> = LazyLock::new(|| {
            let mut out = Vec::new();
            for m in DATABASE.iter().filter(|m| m.id() != "001") {
                for e in example_digits(m) {
                    let id = m.id().to_string();
                    out.push((id.clone(), e.to_string()));
                    if let Some(p) = m.national_prefix() {
                        out.push((id.clone(), format!("{p}{e}")));
                    }
                    out.push((id, format!("{}{e}", m.country_code())));
                }
            }
            out.sort();
            out.dedup();
            out
        });
        &ALL
    }

    #[test]
    fn every_national_example_answered_here_is_answered_alike_by_the_crate() {
        let all = national_examples();
        let mut quick = 0;
        for (region, digits) in all {
            if let Some(e164) = valid_national(region, digits) {
                quick += 1;
                assert_eq!(
                    crate_national(region, digits),
                    Some(e164),
                    "{region} {digits}"
                );
            }
        }
        eprintln!("{quick} of {} national examples answered here", all.len());
        // Written bare or with the national prefix, most take this path (not with the code).
        assert!(quick * 2 > all.len(), "{quick} of {} examples", all.len());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// National examples with other digits at the end: valid ones and near misses.
        #[test]
        fn every_valid_national_answer_is_the_crates(
            i in any::<prop::sample::Index>(),
            tail in "[0-9]{0,4}",
            cut in 0usize..4,
        ) {
            let (region, base) = i.get(national_examples());
            let keep = base.len().saturating_sub(cut).max(1);
            let digits = format!("{}{tail}", &base[..keep]);
            if let Some(e164) = valid_national(region, &digits) {
                prop_assert_eq!(crate_national(region, &digits), Some(e164));
            }
        }
    }

    #[test]
    fn common_national_numbers_take_the_quick_path() {
        for (region, digits, e164) in [
            ("CZ", "777123456", "+420777123456"),
            ("SK", "0912123456", "+421912123456"),
            ("DE", "015123456789", "+4915123456789"),
            ("AT", "06641234567", "+436641234567"),
            ("PL", "512345678", "+48512345678"),
            ("GB", "07911123456", "+447911123456"),
            ("FR", "0612345678", "+33612345678"),
            ("IT", "0612345678", "+390612345678"),
            ("IT", "3123456789", "+393123456789"),
            ("ES", "612345678", "+34612345678"),
            ("US", "2015550123", "+12015550123"),
            ("CA", "6135550123", "+16135550123"),
        ] {
            assert_eq!(
                valid_national(region, digits).as_deref(),
                Some(e164),
                "{region} {digits}"
            );
            assert_eq!(
                crate_national(region, digits).as_deref(),
                Some(e164),
                "{region} {digits}"
            );
        }
        // Invalid ones are left to the crate.
        assert_eq!(valid_national("CZ", "123"), None);
        assert_eq!(valid_national("CZ", "077712345"), None);
    }

    #[test]
    fn every_pattern_of_the_table_compiles() {
        for r in compiled() {
            assert!(r.general.re.get().is_some(), "{}", r.meta.id);
            for t in &r.types {
                assert!(t.re.get().is_some(), "{}", r.meta.id);
            }
            for l in [&r.leading_digits, &r.idd, &r.prefix_for_parsing] {
                assert!(l.get().is_some(), "{}", r.meta.id);
            }
        }
    }
}
