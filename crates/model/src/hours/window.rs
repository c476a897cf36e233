//! Weekly calling windows in one zone: parsing `mon-fri = "09:00-20:00"` and finding, from an
//! instant, whether a window is open and when the next one opens or the current one closes.

use std::collections::BTreeSet;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const DAY_SECS: u32 = 24 * 3600;
/// How far ahead a window is looked for before the hours are deemed never open.
pub(crate) const HORIZON_DAYS: i64 = 400;

/// Open windows per weekday (Monday first) as `[start, end)` seconds of the local day, sorted
/// and not overlapping; and the local dates that are closed all day.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Week {
    days: [Vec<(u32, u32)>; 7],
    holidays: BTreeSet<Date>,
}

impl Week {
    /// Sets the windows of the days `key` names (`mon`, `mon-fri`, `fri-mon`) from `value`
    /// (`"09:00-20:00"`, several separated by commas). A day may be given once only.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let days = parse_days(key)?;
        let windows = parse_windows(value)?;
        for d in days {
            if !self.days[d].is_empty() {
                return Err(format!("{} is given twice", DAYS[d]));
            }
            self.days[d] = windows.clone();
        }
        Ok(())
    }

    pub fn add_holiday(&mut self, date: &str) -> Result<(), String> {
        let d: Date = date.parse().map_err(|_| {
            format!("{date:?} is not a date: expected YYYY-MM-DD, such as 2026-12-24")
        })?;
        self.holidays.insert(d);
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.days.iter().all(Vec::is_empty)
    }

    fn windows(&self, d: Date) -> &[(u32, u32)] {
        if self.holidays.contains(&d) {
            return &[];
        }
        &self.days[usize::from(d.weekday().to_monday_zero_offset() as u8)]
    }

    /// The window of `t`'s local day that `t` is in.
    fn window_at(&self, t: Timestamp, tz: &TimeZone) -> Option<(Date, (u32, u32))> {
        let local = t.to_zoned(tz.clone());
        let (d, time) = (local.date(), local.time());
        let secs = u32::from(time.hour() as u8) * 3600
            + u32::from(time.minute() as u8) * 60
            + time.second() as u32;
        self.windows(d)
            .iter()
            .find(|(s, e)| *s <= secs && secs < *e)
            .map(|w| (d, *w))
    }

    pub fn is_open(&self, t: Timestamp, tz: &TimeZone) -> bool {
        self.window_at(t, tz).is_some()
    }

    /// `t` when open, else the start of the next window; None when none opens in
    /// [`HORIZON_DAYS`].
    pub fn next_open(&self, t: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        if self.is_open(t, tz) {
            return Some(t);
        }
        let mut d = t.to_zoned(tz.clone()).date();
        for _ in 0..HORIZON_DAYS {
            for &(start, _) in self.windows(d) {
                let at = instant(d, start, tz)?;
                if at > t {
                    return Some(at);
                }
            }
            d = d.tomorrow().ok()?;
        }
        None
    }

    /// When the window `t` is in closes (`t` itself when closed).
    pub fn next_close(&self, t: Timestamp, tz: &TimeZone) -> Timestamp {
        match self.window_at(t, tz) {
            Some((d, (_, end))) => instant(d, end, tz).unwrap_or(Timestamp::MAX),
            None => t,
        }
    }
}

/// The instant of `secs` into local day `d` (24:00 is the next midnight). A time skipped by
/// a DST change is read as the same time after the change ("compatible").
fn instant(d: Date, secs: u32, tz: &TimeZone) -> Option<Timestamp> {
    let (d, secs) = if secs >= DAY_SECS {
        (d.tomorrow().ok()?, secs - DAY_SECS)
    } else {
        (d, secs)
    };
    let time = jiff::civil::Time::new((secs / 3600) as i8, (secs / 60 % 60) as i8, 0, 0).ok()?;
    d.to_datetime(time)
        .to_zoned(tz.clone())
        .ok()
        .map(|z| z.timestamp())
}

fn day(name: &str) -> Result<usize, String> {
    DAYS.iter().position(|d| *d == name).ok_or_else(|| {
        format!(
            "{name:?} is not a day: expected mon, tue, wed, thu, fri, sat, sun or a range such as mon-fri"
        )
    })
}

fn parse_days(key: &str) -> Result<Vec<usize>, String> {
    match key.split_once('-') {
        None => Ok(vec![day(key)?]),
        Some((a, b)) => {
            let (a, b) = (day(a)?, day(b)?);
            // A range may wrap around the week's end (fri-mon).
            let len = (b + 7 - a) % 7 + 1;
            Ok((0..len).map(|i| (a + i) % 7).collect())
        }
    }
}

fn parse_time(s: &str) -> Result<u32, String> {
    let bad = || {
        format!("{s:?} is not a time of day: expected HH:MM, such as 09:00 (24:00 ends the day)")
    };
    let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
    let all_digits =
        |x: &str| !x.is_empty() && x.len() <= 2 && x.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(h) || m.len() != 2 || !all_digits(m) {
        return Err(bad());
    }
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m > 59 || h > 24 || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 3600 + m * 60)
}

fn parse_windows(value: &str) -> Result<Vec<(u32, u32)>, String> {
    let mut out = Vec::new();
    for part in value.split(',') {
        let (a, b) = part.split_once('-').ok_or_else(|| {
            format!("{part:?} is not a window: expected START-END, such as \"09:00-20:00\"")
        })?;
        let (start, end) = (parse_time(a)?, parse_time(b)?);
        if start >= end {
            return Err(format!(
                "{:?}: the window must end after it starts (a window past midnight is two: \"22:00-24:00\" and the next day's \"00:00-02:00\")",
                part.trim()
            ));
        }
        out.push((start, end));
    }
    out.sort_unstable();
    if out.windows(2).any(|w| w[0].1 > w[1].0) {
        return Err(format!("{value:?}: the windows overlap"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn week(pairs: &[(&str, &str)]) -> Week {
        let mut w = Week::default();
        for (k, v) in pairs {
            w.set(k, v).unwrap();
        }
        w
    }

    fn tz(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap()
    }

    fn at(local: &str, zone: &str) -> Timestamp {
        local
            .parse::<jiff::civil::DateTime>()
            .unwrap()
            .to_zoned(tz(zone))
            .unwrap()
            .timestamp()
    }

    #[test]
    fn days_ranges_and_times_parse() {
        assert_eq!(parse_days("mon-fri").unwrap(), vec![0, 1, 2, 3, 4]);
        assert_eq!(parse_days("fri-mon").unwrap(), vec![4, 5, 6, 0]);
        assert_eq!(parse_days("sun").unwrap(), vec![6]);
        assert_eq!(parse_time("09:00").unwrap(), 9 * 3600);
        assert_eq!(parse_time("24:00").unwrap(), DAY_SECS);
        assert_eq!(
            parse_windows("13:00-20:00, 09:00-12:00").unwrap(),
            vec![(9 * 3600, 12 * 3600), (13 * 3600, 20 * 3600)]
        );
    }

    #[test]
    fn bad_windows_say_why() {
        for (key, value, says) in [
            ("monday", "09:00-20:00", "not a day"),
            ("mon-fry", "09:00-20:00", "not a day"),
            ("mon", "9-20", "not a time"),
            ("mon", "09:00", "not a window"),
            ("mon", "20:00-09:00", "end after it starts"),
            ("mon", "09:60-10:00", "not a time"),
            ("mon", "24:30-25:00", "not a time"),
            ("mon", "09:00-12:00,11:00-13:00", "overlap"),
        ] {
            let e = Week::default().set(key, value).unwrap_err();
            assert!(e.contains(says), "{key} = {value}: {e}");
        }
        let mut w = week(&[("mon-fri", "09:00-20:00")]);
        assert!(
            w.set("fri", "10:00-11:00")
                .unwrap_err()
                .contains("fri is given twice")
        );
        assert!(
            w.add_holiday("24.12.2026")
                .unwrap_err()
                .contains("YYYY-MM-DD")
        );
    }

    #[test]
    fn open_is_start_inclusive_end_exclusive() {
        let w = week(&[("mon-fri", "09:00-20:00")]);
        let ny = tz("America/New_York");
        // 2026-03-02 is a Monday.
        assert!(!w.is_open(at("2026-03-02T08:59:59", "America/New_York"), &ny));
        assert!(w.is_open(at("2026-03-02T09:00", "America/New_York"), &ny));
        assert!(w.is_open(at("2026-03-02T19:59:59", "America/New_York"), &ny));
        assert!(!w.is_open(at("2026-03-02T20:00", "America/New_York"), &ny));
        assert!(!w.is_open(at("2026-03-07T12:00", "America/New_York"), &ny));
    }

    #[test]
    fn next_open_skips_the_weekend_and_holidays() {
        let mut w = week(&[("mon-fri", "09:00-20:00"), ("sat", "10:00-14:00")]);
        let z = tz("Europe/Prague");
        let fri_night = at("2026-12-18T21:00", "Europe/Prague");
        assert_eq!(
            w.next_open(fri_night, &z),
            Some(at("2026-12-19T10:00", "Europe/Prague"))
        );
        w.add_holiday("2026-12-19").unwrap();
        assert_eq!(
            w.next_open(fri_night, &z),
            Some(at("2026-12-21T09:00", "Europe/Prague"))
        );
        let noon = at("2026-12-21T12:00", "Europe/Prague");
        assert_eq!(w.next_open(noon, &z), Some(noon));
        assert_eq!(
            w.next_close(noon, &z),
            at("2026-12-21T20:00", "Europe/Prague")
        );
    }

    #[test]
    fn windows_follow_local_time_across_dst() {
        let w = week(&[("mon-sun", "09:00-20:00")]);
        let z = tz("Europe/Prague");
        // Prague goes to summer time on 2026-03-29: 09:00 is 08:00 UTC the day before, 07:00 UTC after.
        let sat = w
            .next_open(at("2026-03-28T00:00", "Europe/Prague"), &z)
            .unwrap();
        let sun = w
            .next_open(at("2026-03-29T00:00", "Europe/Prague"), &z)
            .unwrap();
        assert_eq!(sat.to_string(), "2026-03-28T08:00:00Z");
        assert_eq!(sun.to_string(), "2026-03-29T07:00:00Z");
        let ny = tz("America/New_York");
        // New York leaves summer time on 2026-11-01.
        let before = w
            .next_open(at("2026-10-31T00:00", "America/New_York"), &ny)
            .unwrap();
        let after = w
            .next_open(at("2026-11-01T00:00", "America/New_York"), &ny)
            .unwrap();
        assert_eq!(before.to_string(), "2026-10-31T13:00:00Z");
        assert_eq!(after.to_string(), "2026-11-01T14:00:00Z");
    }

    #[test]
    fn a_window_starting_in_a_skipped_hour_opens_after_the_change() {
        let w = week(&[("sun", "02:30-05:00")]);
        let ny = tz("America/New_York");
        // 2026-03-08 02:30 does not exist in New York: 03:30 EDT.
        let open = w
            .next_open(at("2026-03-08T00:00", "America/New_York"), &ny)
            .unwrap();
        assert_eq!(open.to_string(), "2026-03-08T07:30:00Z");
    }

    #[test]
    fn never_open_is_none() {
        let mut w = week(&[("mon", "09:00-10:00")]);
        let z = tz("UTC");
        let mut d: Date = "2026-01-05".parse().unwrap();
        for _ in 0..60 {
            w.add_holiday(&d.to_string()).unwrap();
            d = d.checked_add(jiff::Span::new().weeks(1)).unwrap();
        }
        assert_eq!(w.next_open(at("2026-01-04T00:00", "UTC"), &z), None);
    }

    proptest::proptest! {
        #[test]
        fn next_open_is_open_and_nothing_before_it_is(
            secs in 1_767_225_600i64..1_830_297_600i64,
            zone in proptest::sample::select(vec!["America/New_York", "Europe/Prague", "Australia/Sydney", "Asia/Kolkata"]),
        ) {
            let w = week(&[("mon-fri", "09:00-12:00,13:00-20:00"), ("sat", "10:00-14:00")]);
            let z = tz(zone);
            let t = Timestamp::from_second(secs).unwrap();
            let open = w.next_open(t, &z).unwrap();
            proptest::prop_assert!(open >= t);
            proptest::prop_assert!(w.is_open(open, &z));
            // A minute before the opening (when after t) is closed.
            let before = open - jiff::SignedDuration::from_secs(60);
            if before >= t {
                proptest::prop_assert!(!w.is_open(before, &z));
            }
            let close = w.next_close(open, &z);
            proptest::prop_assert!(close > open);
            proptest::prop_assert!(!w.is_open(close, &z));
        }
    }
}
