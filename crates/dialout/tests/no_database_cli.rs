//! A command that only works on stored data, run where there is no database, says where it
//! looked and how to point at the right one, and creates nothing.

mod runner;

use runner::Dialout;

#[test]
fn read_commands_in_the_wrong_directory_create_no_database() {
    let dir = tempfile::tempdir().unwrap();
    let id = "0195f3c2-7b1e-7c4d-9a7e-2f1b8c6d5e4f";
    for args in [
        vec!["messages", "show", id],
        vec!["messages", "list"],
        vec!["messages", "cancel", id],
        vec!["template", "list"],
        vec!["template", "show", "pickup"],
        vec!["dnc", "list"],
        vec!["dnc", "check", "+420777123456"],
        vec!["token", "list"],
        vec!["check-status"],
    ] {
        let run = Dialout::new()
            .dir(dir.path())
            .env_remove("DIALOUT_DATABASE_URL")
            .env_remove("DIALOUT_CONFIG")
            .args(&args)
            .run();
        assert_eq!(run.code, 2, "{args:?}: {}{}", run.stdout, run.stderr);
        let want = format!("no database at {}", dir.path().join("dialout.db").display());
        assert!(run.stderr.contains(&want), "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains("--database"),
            "{args:?}: {}",
            run.stderr
        );
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
        assert!(
            !dir.path().join("dialout.db").exists(),
            "{args:?} created a database"
        );
    }
    // Naming the database in the configuration: the message says so.
    std::fs::write(
        dir.path().join("dialout.toml"),
        "database_url = \"sqlite://calls.db\"\n",
    )
    .unwrap();
    let run = Dialout::new()
        .dir(dir.path())
        .env_remove("DIALOUT_DATABASE_URL")
        .env_remove("DIALOUT_CONFIG")
        .args(["messages", "list"])
        .run();
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("database_url \"sqlite://calls.db\""),
        "{}",
        run.stderr
    );
    // Storing something still creates it.
    let add = Dialout::new()
        .dir(dir.path())
        .env_remove("DIALOUT_DATABASE_URL")
        .env_remove("DIALOUT_CONFIG")
        .args(["dnc", "add", "+420777123456"])
        .run();
    assert_eq!(add.code, 0, "{}", add.stderr);
    assert!(dir.path().join("calls.db").is_file());
    let list = Dialout::new()
        .dir(dir.path())
        .env_remove("DIALOUT_DATABASE_URL")
        .env_remove("DIALOUT_CONFIG")
        .args(["dnc", "list"])
        .run()
        .ok();
    assert!(list.stdout.contains("+420777123456"), "{}", list.stdout);
}
