//! Calling hours through the binary: `send --time-zone`, a message waiting for its window,
//! and a bad window in the configuration.

mod runner;

use std::path::Path;

use runner::{Dialout, Run};

fn dialout(dir: &Path, args: &[&str]) -> Run {
    Dialout::new().dir(dir).args(args).run()
}

/// A configuration whose window is closed today and tomorrow (holidays in UTC's dates) and
/// open all day otherwise: the outcome does not depend on when the test runs.
fn closed_until_the_day_after_tomorrow(dir: &Path) -> jiff::Timestamp {
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let days: Vec<String> = (-1..=1)
        .map(|n| {
            today
                .checked_add(jiff::Span::new().days(n))
                .unwrap()
                .to_string()
        })
        .collect();
    std::fs::write(
        dir.join("dialout.toml"),
        format!(
            "[delivery.calling_hours]\nmon-sun = \"00:00-24:00\"\nholidays = {days:?}\n\
             default_time_zone = \"UTC\"\n"
        ),
    )
    .unwrap();
    today
        .checked_add(jiff::Span::new().days(2))
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .unwrap()
        .timestamp()
}

#[test]
fn send_outside_the_window_waits_for_its_opening() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let opening = closed_until_the_day_after_tomorrow(d);
    let v = dialout(
        d,
        &[
            "--json",
            "send",
            "+420777123456",
            "Hi",
            "--time-zone",
            "UTC",
        ],
    )
    .ok()
    .json();
    assert_eq!(v["state"], "WAITING", "{v}");
    assert_eq!(v["attempts"], 0);
    assert_eq!(v["time_zone"], "UTC");
    assert_eq!(v["next_attempt_at"], opening.to_string());

    let shown = dialout(d, &["messages", "show", v["id"].as_str().unwrap()]).ok();
    assert!(
        shown.stdout.contains("outside calling hours in UTC"),
        "{}",
        shown.stdout
    );
    assert!(shown.stdout.contains("time_zone"), "{}", shown.stdout);
}

#[test]
fn an_unknown_time_zone_is_refused_and_nothing_stored() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = dialout(
        d,
        &["send", "+420777123456", "Hi", "--time-zone", "Mars/Olympus"],
    )
    .assert_code(2);
    assert!(
        run.stderr.contains("unknown time zone \"Mars/Olympus\""),
        "{}",
        run.stderr
    );
    let listed = dialout(d, &["--json", "messages", "list"]).ok().json();
    assert_eq!(listed.as_array().map(Vec::len), Some(0), "{listed}");
}

#[test]
fn a_bad_window_is_a_configuration_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("dialout.toml"),
        "[delivery.calling_hours]\nmon-fri = \"9-20\"\n",
    )
    .unwrap();
    let run = dialout(d, &["send", "+420777123456", "Hi"]).assert_code(2);
    assert!(
        run.stderr.contains("delivery.calling_hours.mon-fri")
            && run.stderr.contains("\"9\" is not a time of day"),
        "{}",
        run.stderr
    );
}

#[test]
fn send_help_names_the_option() {
    let dir = tempfile::tempdir().unwrap();
    let run = dialout(dir.path(), &["send", "--help"]).ok();
    assert!(run.stdout.contains("--time-zone <ZONE>"), "{}", run.stdout);
    assert!(run.stdout.contains("calling hours"), "{}", run.stdout);
    let run = dialout(dir.path(), &["worker", "--help"]).ok();
    assert!(run.stdout.contains("calling hours"), "{}", run.stdout);
}

/// A fresh machine may have no /usr/share/zoneinfo (no tzdata): the tz database built into
/// dialout answers then. TZDIR at an empty directory stands in for the missing one.
#[test]
fn zones_work_without_a_system_tz_database() {
    let dir = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let v = Dialout::new()
        .dir(dir.path())
        .env("TZDIR", empty.path())
        .args([
            "--json",
            "send",
            "+12125550100",
            "Hi",
            "--time-zone",
            "America/New_York",
            "--queued",
        ])
        .run()
        .ok()
        .json();
    assert_eq!(v["time_zone"], "America/New_York", "{v}");
}

#[test]
fn a_toll_free_number_under_calling_hours_asks_for_a_time_zone() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Three hours a day: never open in every North American zone at once.
    std::fs::write(
        d.join("dialout.toml"),
        "[delivery.calling_hours]\nmon-sun = \"09:00-12:00\"\n",
    )
    .unwrap();
    let v = dialout(d, &["--json", "send", "+1 800 555 0100", "Hi"])
        .ok()
        .json();
    assert_eq!(v["state"], "ERROR", "{v}");
    let error = v["error"].as_str().unwrap();
    assert!(
        error.contains("+18005550100 is toll-free or non-geographic"),
        "{error}"
    );
    assert!(error.contains("--time-zone"), "{error}");
    assert!(
        error.contains("more time zones"),
        "the list is cut short: {error}"
    );
    assert!(error.len() < 400, "one readable line: {error}");
    // With the recipient's zone it is called (or waits for its window), not refused.
    let v = dialout(
        d,
        &[
            "--json",
            "send",
            "+1 800 555 0101",
            "Hi",
            "--time-zone",
            "America/Chicago",
        ],
    )
    .ok()
    .json();
    assert_ne!(v["state"], "ERROR", "{v}");
}
