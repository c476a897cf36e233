//! Time per recipient check: `PhoneNumber::parse` against the `phonenumber` crate's own
//! parse, validity check and E.164 formatting, over 100,000 different valid numbers.
//!
//!     cargo run --release -p dialout-dialer --example phone_bench

use std::time::Instant;

use dialout_dialer::PhoneNumber;

fn main() {
    let n = 100_000;
    let numbers: Vec<String> = (0..n).map(|i| format!("+420777{i:06}")).collect();
    // libphonenumber's metadata loads on first use: not inside a measured loop.
    PhoneNumber::parse("+420777123456", None).unwrap();
    for _ in 0..3 {
        let start = Instant::now();
        for s in &numbers {
            let p = phonenumber::parse(Some(phonenumber::country::Id::CZ), s).unwrap();
            assert!(phonenumber::is_valid(&p));
            std::hint::black_box(p.format().mode(phonenumber::Mode::E164).to_string());
        }
        let crate_ns = start.elapsed().as_nanos() as f64 / n as f64;
        let start = Instant::now();
        for s in &numbers {
            std::hint::black_box(PhoneNumber::parse(s, None).unwrap());
        }
        let ours_ns = start.elapsed().as_nanos() as f64 / n as f64;
        println!(
            "phonenumber parse + is_valid + format: {crate_ns:.0} ns/number; PhoneNumber::parse: {ours_ns:.0} ns/number"
        );
    }
}
