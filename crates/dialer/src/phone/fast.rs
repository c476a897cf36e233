//! A quicker answer for the common case: a number written with its country code that
//! libphonenumber would keep digit for digit.
//!
//! The `phonenumber` crate reaches every pattern through a shared, locked regex cache keyed
//! by the pattern's text, and its parser runs several general-purpose regexes per number:
//! about 4 µs a number, an eighth of a `send`. This module compiles each country's patterns
//! once and repeats the crate's own validity rules with them (`validator::is_valid_with` and
//! `number_type` of phonenumber 0.3). It only ever answers "valid, and this is its E.164
//! form"; anything else, or any case where the crate's parser would change a digit (a
//! national prefix after the code, an international prefix after the `+`), goes to the
//! crate. A property test checks every "valid" answer against the crate.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, RwLock};

use phonenumber::metadata::{DATABASE, Descriptor, Metadata};
use regex::{Regex, RegexBuilder};

/// `rest` is a country calling code and then the national number, digits only. `Some` when
/// the number is valid and libphonenumber would keep its digits as they are: its E.164 form
/// is then `+` and `rest`.
pub(super) fn valid_international(rest: &str) -> Option<()> {
    // Lengths where the crate's own length rules could refuse or reshape the number.
    if !(7..=17).contains(&rest.len()) {
        return None;
    }
    let (code, national) = super::split_calling_code(rest)?;
    let country = country(code)?;
    let main = country.regions.first()?;
    // The parser would strip these; only the crate knows how.
    if main.idd.as_ref().is_some_and(|re| starts(re, rest))
        || main
            .prefix
            .as_deref()
            .is_some_and(|p| national.starts_with(p))
        || main
            .prefix_for_parsing
            .as_ref()
            .is_some_and(|re| starts(re, national))
    {
        return None;
    }
    let region = if country.regions.len() == 1 {
        main
    } else {
        country.regions.iter().find(|r| match &r.leading_digits {
            Some(re) => starts(re, national),
            None => r.any_type(national),
        })?
    };
    region.any_type(national).then_some(())
}

/// What the crate's `Descriptor::is_match` tests: a possible length, and a match of the
/// pattern from the first digit.
struct Pattern {
    re: Regex,
    lengths: Vec<u16>,
}

impl Pattern {
    fn new(d: &Descriptor) -> Option<Self> {
        Some(Pattern {
            re: compile(d.national_number().as_str())?,
            lengths: d.possible_length().to_vec(),
        })
    }

    fn is_match(&self, value: &str) -> bool {
        (self.lengths.is_empty() || self.lengths.contains(&(value.len() as u16)))
            && starts(&self.re, value)
    }
}

/// One region's metadata, compiled.
struct Region {
    general: Pattern,
    /// The types `number_type` tries; a number is valid when it matches one of them.
    types: Vec<Pattern>,
    leading_digits: Option<Regex>,
    idd: Option<Regex>,
    prefix: Option<String>,
    prefix_for_parsing: Option<Regex>,
}

impl Region {
    fn new(m: &Metadata) -> Option<Self> {
        let d = m.descriptors();
        let types = [
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
        ];
        Some(Region {
            general: Pattern::new(d.general())?,
            types: types
                .into_iter()
                .flatten()
                .map(Pattern::new)
                .collect::<Option<_>>()?,
            leading_digits: optional(m.leading_digits().map(|r| r.as_str()))?,
            idd: optional(m.international_prefix().map(|r| r.as_str()))?,
            prefix: m.national_prefix().map(str::to_string),
            prefix_for_parsing: optional(m.national_prefix_for_parsing().map(|r| r.as_str()))?,
        })
    }

    /// `number_type(…) != Unknown` of the crate.
    fn any_type(&self, national: &str) -> bool {
        self.general.is_match(national) && self.types.iter().any(|t| t.is_match(national))
    }
}

/// The regions of one calling code, in the crate's order (the main one first).
struct Country {
    regions: Vec<Region>,
}

/// Compiled on first use, per calling code; `None` if a pattern does not compile here.
fn country(code: u16) -> Option<Arc<Country>> {
    static COUNTRIES: LazyLock<RwLock<HashMap<u16, Option<Arc<Country>>>>> =
        LazyLock::new(Default::default);
    if let Some(found) = COUNTRIES.read().ok()?.get(&code) {
        return found.clone();
    }
    let built = DATABASE.by_code(&code).and_then(|metas| {
        let regions = metas
            .into_iter()
            .map(Region::new)
            .collect::<Option<Vec<_>>>()?;
        Some(Arc::new(Country { regions }))
    });
    COUNTRIES.write().ok()?.insert(code, built.clone());
    built
}

/// Compiled as the crate compiles its metadata's patterns, anchored at the start: a match
/// from the first digit exists exactly when the leftmost match (the crate's `find`) starts
/// there, and `is_match` can stop at the first one.
fn compile(pattern: &str) -> Option<Regex> {
    RegexBuilder::new(&format!("^(?:{pattern})"))
        .ignore_whitespace(true)
        .build()
        .ok()
}

/// `Some(None)` when there is no pattern; `None` when it does not compile.
fn optional(pattern: Option<&str>) -> Option<Option<Regex>> {
    match pattern {
        None => Some(None),
        Some(p) => compile(p).map(Some),
    }
}

fn starts(re: &Regex, value: &str) -> bool {
    re.is_match(value)
}

#[cfg(test)]
mod tests {
    use super::*;
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

    fn collect_examples() -> Vec<String> {
        let mut out = Vec::new();
        for m in DATABASE.iter() {
            let d = m.descriptors();
            let all = [
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
            ];
            for e in all.into_iter().flatten().filter_map(Descriptor::example) {
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
}
