//! Calling hours in the recipient's time zone (`[delivery.calling_hours]`, or a backend's
//! own `[backends.NAME.calling_hours]`):
//!
//! ```toml
//! [delivery.calling_hours]
//! mon-fri = "09:00-20:00"          # local time of the recipient; end exclusive
//! sat = "10:00-14:00"              # several windows: "09:00-12:00, 13:00-20:00"
//! holidays = ["2026-12-24", "2026-12-25"]
//! default_time_zone = "Europe/Prague"  # numbers whose zone is unknown (default UTC)
//! ```
//!
//! A message's zones: the one it was sent with (`--time-zone`), else the zones libphonenumber
//! gives its number (several for some prefixes: then every one of them must be open), else
//! `default_time_zone`.

mod window;
mod zones;

use std::time::Duration;

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

pub use window::Week;
pub use zones::number_zones;

use crate::phone::PhoneNumber;

/// The key of `extra_sender_data` that tells a backend when the calling window a message is
/// published in closes (RFC 3339), so that retries of its own stay inside it.
pub const CALLING_HOURS_END: &str = "calling_hours_end";

/// `calling_hours.KEY`, or the table itself for an error about all of it.
pub fn hours_key(key: &str) -> String {
    if key.is_empty() {
        "calling_hours".into()
    } else {
        format!("calling_hours.{key}")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CallingHours {
    week: Week,
    /// For numbers the map does not know; None is UTC.
    default_zone: Option<String>,
}

/// The zones a message is called in, with their names for reasons and logs.
#[derive(Debug, Clone)]
pub struct Zones {
    names: Vec<String>,
    zones: Vec<TimeZone>,
}

impl Zones {
    pub fn names(&self) -> &[String] {
        &self.names
    }

    fn of(names: &[&str]) -> Option<Zones> {
        let zones: Vec<TimeZone> = names.iter().filter_map(|n| TimeZone::get(n).ok()).collect();
        (!zones.is_empty() && zones.len() == names.len()).then(|| Zones {
            names: names.iter().map(|n| n.to_string()).collect(),
            zones,
        })
    }
}

/// A long list (a toll-free number maps to every zone of its country) is cut short.
impl std::fmt::Display for Zones {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const SHOWN: usize = 3;
        if self.names.len() <= SHOWN + 1 {
            return f.write_str(&self.names.join(" & "));
        }
        write!(
            f,
            "{} and {} more time zones",
            self.names[..SHOWN].join(", "),
            self.names.len() - SHOWN
        )
    }
}

/// A zone name a sender may give (`Europe/Prague`, `UTC`): known to the tz database.
pub fn check_time_zone(name: &str) -> Result<(), String> {
    TimeZone::get(name).map(drop).map_err(|_| {
        format!("unknown time zone {name:?}: expected an IANA name such as Europe/Prague or America/New_York")
    })
}

impl CallingHours {
    /// Types a `calling_hours` table. An error is `(key within the table, reason)`.
    /// `inherited_zone`: the global table's `default_time_zone`, for a backend's own table.
    pub fn from_table(
        table: &toml::Table,
        inherited_zone: Option<&str>,
    ) -> Result<CallingHours, (String, String)> {
        let mut week = Week::default();
        let mut default_zone = inherited_zone.map(str::to_string);
        for (key, value) in table {
            let err = |reason: String| (key.clone(), reason);
            match key.as_str() {
                "holidays" => {
                    let list = value.as_array().ok_or_else(|| {
                        err("expected a list of dates such as [\"2026-12-24\"]".into())
                    })?;
                    for d in list {
                        let d = d
                            .as_str()
                            .ok_or_else(|| err(format!("{d}: expected a date string")))?;
                        week.add_holiday(d).map_err(err)?;
                    }
                }
                "default_time_zone" => {
                    let name = value
                        .as_str()
                        .ok_or_else(|| err("expected a time zone name".into()))?;
                    check_time_zone(name).map_err(err)?;
                    default_zone = Some(name.to_string());
                }
                days => {
                    let v = value
                        .as_str()
                        .ok_or_else(|| err("expected a window such as \"09:00-20:00\"".into()))?;
                    week.set(days, v).map_err(err)?;
                }
            }
        }
        if week.is_empty() {
            return Err((
                String::new(),
                "no day has a window, so nobody could ever be called: add one such as mon-fri = \"09:00-20:00\"".into(),
            ));
        }
        Ok(CallingHours { week, default_zone })
    }

    pub fn default_time_zone(&self) -> Option<&str> {
        self.default_zone.as_deref()
    }

    /// The zones `number` is called in: `explicit` (the sender's) when it names a known zone,
    /// else the number's, else the default.
    pub fn zones(&self, number: &PhoneNumber, explicit: Option<&str>) -> Zones {
        if let Some(z) = explicit.and_then(|n| Zones::of(&[n])) {
            return z;
        }
        if let Some(z) = Zones::of(number_zones(number.as_str())) {
            return z;
        }
        let name = self.default_zone.as_deref().unwrap_or("UTC");
        Zones::of(&[name]).unwrap_or_else(|| Zones {
            names: vec!["UTC".into()],
            zones: vec![TimeZone::UTC],
        })
    }

    /// Open in every zone at `t`.
    pub fn is_open(&self, t: Timestamp, zones: &Zones) -> bool {
        zones.zones.iter().all(|z| self.week.is_open(t, z))
    }

    /// The first instant at or after `t` when every zone is open; None when there is none
    /// within about a year (the windows never overlap).
    pub fn next_open(&self, t: Timestamp, zones: &Zones) -> Option<Timestamp> {
        let horizon = t
            .checked_add(SignedDuration::from_hours(24 * window::HORIZON_DAYS))
            .ok()?;
        let mut t = t;
        while t <= horizon {
            let mut latest = t;
            for z in &zones.zones {
                latest = latest.max(self.week.next_open(t, z)?);
            }
            if self.is_open(latest, zones) {
                return Some(latest);
            }
            // Some zone is closed at `latest`: its next opening is later still.
            t = latest;
        }
        None
    }

    /// When the time open in every zone that `t` is in ends (`t` when closed).
    pub fn next_close(&self, t: Timestamp, zones: &Zones) -> Timestamp {
        zones
            .zones
            .iter()
            .map(|z| self.week.next_close(t, z))
            .min()
            .unwrap_or(t)
    }

    /// The instant when `open` of calling hours have passed since `from` (time outside the
    /// windows does not count): how `give_up_after` is measured for a message under calling
    /// hours. None when the hours never open.
    pub fn after_open(&self, from: Timestamp, open: Duration, zones: &Zones) -> Option<Timestamp> {
        let mut left = SignedDuration::try_from(open).unwrap_or(SignedDuration::MAX);
        let mut t = self.next_open(from, zones)?;
        // Each round uses up one window; a give-up time is hours or days, never thousands of windows.
        for _ in 0..10_000 {
            let close = self.next_close(t, zones);
            let span = t.duration_until(close);
            if left <= span {
                return t.checked_add(left).ok();
            }
            left -= span;
            t = self.next_open(close, zones)?;
        }
        Some(Timestamp::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours(text: &str) -> CallingHours {
        CallingHours::from_table(&toml::from_str(text).unwrap(), None).unwrap()
    }

    fn at(local: &str, zone: &str) -> Timestamp {
        local
            .parse::<jiff::civil::DateTime>()
            .unwrap()
            .to_zoned(TimeZone::get(zone).unwrap())
            .unwrap()
            .timestamp()
    }

    fn number(n: &str) -> PhoneNumber {
        PhoneNumber::from_e164(n).unwrap()
    }

    #[test]
    fn zone_of_a_message() {
        let h = hours("mon-fri = \"09:00-20:00\"\ndefault_time_zone = \"Europe/Prague\"");
        assert_eq!(
            h.zones(&number("+12125550100"), None).names(),
            ["America/New_York"]
        );
        assert_eq!(
            h.zones(&number("+12125550100"), Some("Europe/London"))
                .names(),
            ["Europe/London"]
        );
        assert_eq!(
            h.zones(&number("+12082991234"), None).names(),
            ["America/Boise", "America/Los_Angeles"]
        );
        // +882 (international networks) has no zone in the map.
        assert_eq!(
            h.zones(&number("+88213123456"), None).names(),
            ["Europe/Prague"]
        );
        let utc = hours("mon = \"09:00-10:00\"");
        assert_eq!(utc.zones(&number("+88213123456"), None).names(), ["UTC"]);
    }

    #[test]
    fn two_zones_are_open_only_when_both_are() {
        let h = hours("mon-fri = \"09:00-20:00\"");
        let zones = h.zones(&number("+12082991234"), None);
        // 2026-03-02, Monday: Boise (Mountain) opens an hour before Los Angeles (Pacific).
        let boise_nine = at("2026-03-02T09:00", "America/Boise");
        assert!(!h.is_open(boise_nine, &zones));
        let la_nine = at("2026-03-02T09:00", "America/Los_Angeles");
        assert_eq!(h.next_open(boise_nine, &zones), Some(la_nine));
        // ... and closes when Boise does.
        assert_eq!(
            h.next_close(la_nine, &zones),
            at("2026-03-02T20:00", "America/Boise")
        );
    }

    #[test]
    fn disjoint_zones_never_open() {
        let h = hours("mon-sun = \"09:00-11:00\"");
        let zones = Zones::of(&["Europe/Prague", "Pacific/Honolulu"]).unwrap();
        assert_eq!(h.next_open(at("2026-03-02T00:00", "UTC"), &zones), None);
    }

    #[test]
    fn give_up_time_counts_open_hours_only() {
        let h = hours("mon-fri = \"09:00-20:00\"");
        let z = h.zones(&number("+12125550100"), None);
        // Due 19:50 on a Friday: 10 minutes that day, the other 50 on Monday.
        let due = at("2026-03-06T19:50", "America/New_York");
        assert_eq!(
            h.after_open(due, Duration::from_secs(3600), &z),
            Some(at("2026-03-09T09:50", "America/New_York"))
        );
        let inside = at("2026-03-09T10:00", "America/New_York");
        assert_eq!(
            h.after_open(inside, Duration::from_secs(3600), &z),
            Some(at("2026-03-09T11:00", "America/New_York"))
        );
    }

    proptest::proptest! {
        #[test]
        fn the_next_opening_in_several_zones_is_open_in_all_and_the_first(
            secs in 1_767_225_600i64..1_830_297_600i64,
            pick in proptest::sample::subsequence(
                vec!["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "Europe/London"],
                1..=3,
            ),
        ) {
            let h = hours("mon-fri = \"08:00-21:00\"\nsat = \"10:00-14:00\"");
            let zones = Zones::of(&pick).unwrap();
            let t = Timestamp::from_second(secs).unwrap();
            let open = h.next_open(t, &zones).unwrap();
            proptest::prop_assert!(open >= t && h.is_open(open, &zones));
            let before = open - SignedDuration::from_secs(60);
            if before >= t {
                proptest::prop_assert!(!h.is_open(before, &zones), "open a minute earlier");
            }
            let close = h.next_close(open, &zones);
            proptest::prop_assert!(close > open && !h.is_open(close, &zones));
            let deadline = h.after_open(t, Duration::from_secs(3600), &zones).unwrap();
            proptest::prop_assert!(deadline >= open + SignedDuration::from_secs(3600) || deadline > close);
        }
    }

    #[test]
    fn bad_tables_name_the_key() {
        for (text, key, says) in [
            ("mon-fri = \"09:00-25:00\"", "mon-fri", "not a time"),
            ("mon-fry = \"09:00-20:00\"", "mon-fry", "not a day"),
            ("mon = 9", "mon", "expected a window"),
            (
                "mon = \"09:00-20:00\"\nholidays = \"2026-12-24\"",
                "holidays",
                "list of dates",
            ),
            (
                "mon = \"09:00-20:00\"\nholidays = [\"24/12\"]",
                "holidays",
                "YYYY-MM-DD",
            ),
            (
                "mon = \"09:00-20:00\"\ndefault_time_zone = \"Mars/Olympus\"",
                "default_time_zone",
                "unknown time zone",
            ),
            ("holidays = []", "", "no day has a window"),
        ] {
            let (k, reason) =
                CallingHours::from_table(&toml::from_str(text).unwrap(), None).unwrap_err();
            assert_eq!(k, key, "{text}");
            assert!(reason.contains(says), "{text}: {reason}");
        }
    }
}
