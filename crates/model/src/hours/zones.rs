//! The time zones of a phone number: libphonenumber's map from E.164 prefixes to IANA zones
//! (data/map_data.txt, Apache-2.0), embedded and parsed once.

use std::collections::HashMap;
use std::sync::OnceLock;

const MAP_DATA: &str = include_str!("data/map_data.txt");

struct Map {
    by_prefix: HashMap<&'static str, Vec<&'static str>>,
    longest: usize,
}

fn map() -> &'static Map {
    static MAP: OnceLock<Map> = OnceLock::new();
    MAP.get_or_init(|| {
        let mut by_prefix = HashMap::new();
        let mut longest = 0;
        for line in MAP_DATA.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((prefix, zones)) = line.split_once('|') else {
                continue;
            };
            longest = longest.max(prefix.len());
            by_prefix.insert(prefix, zones.split('&').collect());
        }
        Map { by_prefix, longest }
    })
}

/// The zones libphonenumber gives for an E.164 number (`+12125550100`), by its longest
/// known prefix; empty when the map does not know the number's country.
pub fn number_zones(e164: &str) -> &'static [&'static str] {
    let digits = e164.strip_prefix('+').unwrap_or(e164);
    let m = map();
    (1..=digits.len().min(m.longest))
        .rev()
        .find_map(|n| m.by_prefix.get(&digits[..n]))
        .map_or(&[], Vec::as_slice)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_zone_countries_and_split_ones() {
        assert_eq!(number_zones("+420777123456"), ["Europe/Prague"]);
        assert_eq!(number_zones("+12125550100"), ["America/New_York"]);
        assert_eq!(number_zones("+61291234567"), ["Australia/Sydney"]);
        assert_eq!(
            number_zones("+61891234567"),
            ["Australia/Adelaide", "Australia/Perth"]
        );
        // Florida's panhandle: 850 is Eastern, some of its exchanges Central.
        assert_eq!(number_zones("+18505551234"), ["America/New_York"]);
        assert_eq!(number_zones("+18502001234"), ["America/Chicago"]);
        // Toll-free: no prefix finer than the whole +1 plan.
        assert!(number_zones("+18005550100").len() > 40);
        // Idaho's 208-2: two zones.
        assert_eq!(
            number_zones("+12082991234"),
            ["America/Boise", "America/Los_Angeles"]
        );
    }

    #[test]
    fn every_zone_in_the_map_is_known_to_the_tz_database() {
        for zones in map().by_prefix.values() {
            for z in zones {
                assert!(jiff::tz::TimeZone::get(z).is_ok(), "unknown zone {z}");
            }
        }
        assert!(map().by_prefix.len() > 3000);
    }
}
