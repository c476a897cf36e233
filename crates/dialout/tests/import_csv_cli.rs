//! `dialout import` and `dialout dnc import` on the files people really have, through the
//! built binary: empty template variables (a cell, `--context order=`), rows with more fields
//! than the header, a quote never closed, and the line numbers of each in LF, CRLF and
//! CRLF-with-BOM files (Excel's "CSV UTF-8"); `dnc import` of a CSV file without `--column`;
//! the words of the summaries (one row, one number).

mod runner;

use std::path::Path;

use dialout_dialer::Message;
use dialout_store::{self as store, MessageFilter};
use runner::{Dialout, Run};

fn dialout(dir: &Path, args: &[&str]) -> Run {
    Dialout::new().dir(dir).args(args).run()
}

fn stored(dir: &Path) -> Vec<Message> {
    let db = dir.join("dialout.db");
    if !db.exists() {
        return Vec::new();
    }
    let mut all = store::open(&format!("sqlite://{}", db.display()))
        .unwrap()
        .messages(&MessageFilter::default())
        .unwrap();
    all.reverse();
    all
}

/// The file as written with `\n` line ends, with `\r\n`, and with `\r\n` after a BOM.
fn endings(lf: &str) -> [(&'static str, Vec<u8>); 3] {
    let crlf = lf.replace('\n', "\r\n");
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(crlf.as_bytes());
    [
        ("LF", lf.as_bytes().to_vec()),
        ("CRLF", crlf.into_bytes()),
        ("BOM+CRLF", bom),
    ]
}

/// `(line, reason)` of each bad row in a `--json` summary.
fn bad_rows(run: &Run) -> Vec<(u64, String)> {
    run.json()["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap(),
                e["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn an_empty_template_variable_is_a_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    dialout(
        d,
        &[
            "template",
            "add",
            "pickup",
            "--body",
            "Hello {{ name }}, order {{ order }} is ready.",
        ],
    )
    .ok();
    std::fs::write(
        d.join("t.csv"),
        "phone,Customer,Order No\n+420777000001,Ann,A1\n+420777000002,Petr,\n+420777000003,Eva,\"  \"\n",
    )
    .unwrap();
    let args = [
        "import",
        "t.csv",
        "--template",
        "pickup",
        "--recipient-column",
        "phone",
        "--column",
        "name=Customer",
        "--column",
        "order=Order No",
    ];
    let refused = dialout(d, &args).assert_code(2);
    for line in ["line 3: ", "line 4: "] {
        let said = refused
            .stderr
            .lines()
            .find(|l| l.starts_with(line))
            .unwrap_or_else(|| panic!("no {line:?} in {}", refused.stderr));
        assert!(
            said.contains("pickup") && said.contains("no value for order (empty)"),
            "{said}"
        );
    }
    assert!(
        refused
            .stderr
            .contains("2 bad rows: nothing stored; fix them or pass --skip-invalid"),
        "{}",
        refused.stderr
    );
    assert!(stored(d).is_empty(), "nothing stored");

    let mut skip = args.to_vec();
    skip.extend(["--skip-invalid", "--json"]);
    let run = dialout(d, &skip).ok();
    assert_eq!(run.json()["stored"], 1);
    let all = stored(d);
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].content, "Hello Ann, order A1 is ready.");

    // The same from the command line: `--context order=` is no order.
    let send = dialout(
        d,
        &[
            "send-template",
            "+420777000009",
            "pickup",
            "--context",
            "name=Petr",
            "--context",
            "order=",
        ],
    )
    .assert_code(2);
    assert!(
        send.stderr.contains("no value for order (empty)"),
        "{}",
        send.stderr
    );
    assert_eq!(stored(d).len(), 1, "nothing more stored");
    dialout(
        d,
        &[
            "send-template",
            "+420777000009",
            "pickup",
            "--context",
            "name=Petr",
            "--context",
            "order=0",
        ],
    )
    .ok();
    assert_eq!(stored(d)[1].content, "Hello Petr, order 0 is ready.");
}

/// Line 2-3 a quoted field over two lines, 4 a bad number, 5 a comma that cut the text, 6
/// good, 7 a quote never closed (the end of the file).
const BROKEN: &str = "recipient,name,content\n\
    +420777000001,Ann,\"Two\nlines\"\n\
    12,Bob,bad number\n\
    +420777123456,Jan,Hello 1, your order is ready\n\
    +420777000002,Eve,fine\n\
    +420777000003,Max,\"unterminated\n";

#[test]
fn broken_rows_are_bad_rows_on_their_own_lines_in_lf_and_crlf_files() {
    for (name, bytes) in endings(BROKEN) {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("c.csv"), &bytes).unwrap();
        let run = dialout(d, &["--json", "import", "c.csv", "--report", "bad.csv"]).assert_code(2);
        assert_eq!(run.json()["rows"], 5, "{name}: {}", run.stdout);
        let bad = bad_rows(&run);
        let lines: Vec<u64> = bad.iter().map(|b| b.0).collect();
        assert_eq!(lines, [4, 5, 7], "{name}: {bad:?}");
        assert!(
            bad[1].1.contains("4 fields where the header line has 3")
                && bad[1].1.contains("in quotes"),
            "{name}: {bad:?}"
        );
        assert!(bad[2].1.contains("never closed"), "{name}: {bad:?}");
        let report = std::fs::read_to_string(d.join("bad.csv")).unwrap();
        let starts: Vec<&str> = report
            .lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap())
            .collect();
        assert_eq!(starts, ["4", "5", "7"], "{name}: {report}");
        assert!(stored(d).is_empty(), "{name}: nothing stored");

        let text = dialout(d, &["import", "c.csv"]).assert_code(2);
        assert!(
            text.stderr.contains("line 5: 4 fields")
                && text.stderr.contains("line 7: a quote opened"),
            "{name}: {}",
            text.stderr
        );

        let skip = dialout(d, &["--json", "import", "c.csv", "--skip-invalid"]).ok();
        assert_eq!(skip.json()["stored"], 2, "{name}");
        let contents: Vec<String> = stored(d).into_iter().map(|m| m.content).collect();
        assert_eq!(contents, ["Two\nlines", "fine"], "{name}");
    }
}

#[test]
fn a_crlf_file_without_errors_is_read_whole_and_its_lines_are_right() {
    for (name, bytes) in endings(
        "recipient;content\n+420777000001;\"Hello; you\"\n\n+420777000002;\"a \"\"quote\"\"\"\n99;x\n",
    ) {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("c.csv"), &bytes).unwrap();
        let run = dialout(d, &["--json", "import", "c.csv", "--skip-invalid"]).ok();
        let bad: Vec<u64> = bad_rows(&run).iter().map(|b| b.0).collect();
        assert_eq!(bad, [5], "{name}: the blank line 3 counts");
        let contents: Vec<String> = stored(d).into_iter().map(|m| m.content).collect();
        assert_eq!(contents, ["Hello; you", "a \"quote\""], "{name}");
    }
}

#[test]
fn one_row_and_one_bad_row_are_said_in_the_singular() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("one.csv"), "recipient,content\n+420777000001,hi\n").unwrap();
    let one = dialout(d, &["import", "one.csv", "--dry-run"]).ok();
    assert!(one.stdout.starts_with("1 row: 0 bad;"), "{}", one.stdout);
    std::fs::write(
        d.join("bad.csv"),
        "recipient,content\n+420777000001,hi\n1,x\n",
    )
    .unwrap();
    let bad = dialout(d, &["import", "bad.csv"]).assert_code(2);
    assert!(bad.stdout.starts_with("2 rows: 1 bad;"), "{}", bad.stdout);
    assert!(
        bad.stderr
            .contains("1 bad row: nothing stored; fix it or pass --skip-invalid"),
        "{}",
        bad.stderr
    );
}

#[test]
fn dnc_import_of_a_csv_file_needs_its_column_and_says_which() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let crm = "name,Phone number,city\nJo,+420 777 000 001,Brno\nAl,00420777000002,Praha\n";
    std::fs::write(d.join("crm.csv"), crm).unwrap();
    let run = dialout(d, &["dnc", "import", "crm.csv"]).assert_code(2);
    assert!(
        run.stderr.contains("looks like a CSV header")
            && run.stderr.contains("name, Phone number, city")
            && run.stderr.contains("--column \"Phone number\""),
        "{}",
        run.stderr
    );
    let json = dialout(d, &["--json", "dnc", "import", "crm.csv"]).assert_code(2);
    assert!(json.stderr.contains("\"--column\""), "{}", json.stderr);
    assert!(
        dialout(d, &["--json", "dnc", "list"])
            .ok()
            .json()
            .as_array()
            .unwrap()
            .is_empty(),
        "nothing listed"
    );
    let ok = dialout(d, &["dnc", "import", "crm.csv", "--column", "phone number"]).ok();
    assert!(
        ok.stdout.contains("2 numbers added, 0 updated"),
        "{}",
        ok.stdout
    );
    // A list of numbers is still one per line.
    std::fs::write(d.join("list.txt"), "+420777000003\n").unwrap();
    let one = dialout(d, &["dnc", "import", "list.txt"]).ok();
    assert!(
        one.stdout.contains("1 number added, 0 updated"),
        "{}",
        one.stdout
    );
}

#[test]
fn dnc_import_names_the_right_lines_and_what_skip_invalid_does() {
    for (name, bytes) in endings("name;phone\n\"Doe;\nJohn\";+420777000003\nX;bad\n") {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("list.csv"), &bytes).unwrap();
        let run = dialout(d, &["dnc", "import", "list.csv", "--column", "phone"]).assert_code(2);
        assert!(
            run.stderr.contains("line 4: bad:"),
            "{name}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains(
                "1 unreadable number: nothing stored (fix it or pass --skip-invalid to store \
                 the readable numbers and skip this one)"
            ),
            "{name}: {}",
            run.stderr
        );
        let skip = dialout(
            d,
            &[
                "dnc",
                "import",
                "list.csv",
                "--column",
                "phone",
                "--skip-invalid",
            ],
        )
        .ok();
        assert!(
            skip.stdout.contains("1 number added"),
            "{name}: {}",
            skip.stdout
        );
    }
    for (name, bytes) in endings("name,phone\nJo,+420777000001\nAl,\"+420777000002\n") {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("open.csv"), &bytes).unwrap();
        let run = dialout(d, &["dnc", "import", "open.csv", "--column", "phone"]).assert_code(2);
        assert!(
            run.stderr.contains("line 3: a quote opened"),
            "{name}: {}",
            run.stderr
        );
    }
    for (name, bytes) in endings("name,phone\nJo,+420777000001\nAl,+420777000002,x\n") {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("wide.csv"), &bytes).unwrap();
        let run = dialout(d, &["dnc", "import", "wide.csv", "--column", "phone"]).assert_code(2);
        assert!(
            run.stderr
                .contains("line 3: 3 fields where the header line has 2"),
            "{name}: {}",
            run.stderr
        );
        assert!(
            dialout(d, &["--json", "dnc", "list"])
                .ok()
                .json()
                .as_array()
                .unwrap()
                .is_empty(),
            "{name}: nothing listed"
        );
    }
}
