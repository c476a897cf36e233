//! Benchmark: what calling hours cost per message in the delivery path.
//!
//! ```sh
//! cargo run --release -p dialout-dialer --example hours_bench -- [N]
//! ```
//!
//! For N messages (default 1,000,000) to numbers across zones (New York, a two-zone Idaho
//! prefix, Sydney, Prague), does what the delivery does for each under calling hours: the
//! number's zones, whether the window is open (else its next opening), the give-up time
//! counted in open hours, and the window's end for the backend. Prints decisions per second.

use std::time::{Duration, Instant};

use dialout_dialer::PhoneNumber;
use dialout_model::hours::CallingHours;
use jiff::Timestamp;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let table = toml::from_str(
        "mon-fri = \"09:00-20:00\"\nsat = \"10:00-14:00\"\nholidays = [\"2026-12-24\"]",
    )
    .unwrap();
    let hours = CallingHours::from_table(&table, None).unwrap();
    let numbers: Vec<PhoneNumber> = [
        "+12125550100",
        "+12082991234",
        "+61291234567",
        "+420777123456",
    ]
    .iter()
    .map(|n| PhoneNumber::from_e164(n).unwrap())
    .collect();
    let start: Timestamp = "2026-03-09T13:30:00Z".parse().unwrap();
    let (mut open, mut waiting) = (0usize, 0usize);
    let t0 = Instant::now();
    for i in 0..n {
        let number = &numbers[i % numbers.len()];
        // A different instant for each: a minute apart, over about two years.
        let now = start + jiff::SignedDuration::from_mins((i % 1_000_000) as i64);
        let zones = hours.zones(number, None);
        match hours.next_open(now, &zones) {
            Some(t) if t <= now => {
                open += 1;
                std::hint::black_box(hours.after_open(now, Duration::from_secs(3600), &zones));
                std::hint::black_box(hours.next_close(now, &zones));
            }
            other => {
                waiting += 1;
                std::hint::black_box(other);
            }
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "{n} calling-hours decisions in {secs:.2} s: {:.0} per second ({open} open, {waiting} waiting)",
        n as f64 / secs
    );
}
