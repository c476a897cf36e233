//! The README's "From Rust" example must compile as shown (it is not run: it would create
//! `dialout.db` in the working directory).

#[allow(dead_code)]
#[rustfmt::skip] // kept exactly as the README shows it
async fn from_rust() -> Result<(), Box<dyn std::error::Error>> {
    // README-BEGIN
use dialout_dialer::{Config, Dialer, MessageFilter, SendRequest};

let config = Config::load(None)?;                       // ./dialout.toml if present, env overrides
let dialer = Dialer::open(&config)?;                    // the database and the backends
let mut request = SendRequest::new("+420777123456", "Your order has shipped");
request.options.related = vec!["order:42".into()];
let sent = dialer.send(request).await?;                 // or send_many(Vec<_>) in one transaction
println!("{} {}", sent.message.id, sent.message.state);

let page = dialer.messages(MessageFilter { limit: Some(50), ..Default::default() }).await?;
for m in &page.messages {                               // newest first; page.next goes on
    println!("{} {}", m.id, m.state);
}
    // README-END
    Ok(())
}

#[test]
fn the_readme_shows_this_example() {
    let me = include_str!("readme_from_rust.rs");
    let start = me.find("// README-BEGIN\n").unwrap() + "// README-BEGIN\n".len();
    let end = me.find("    // README-END").unwrap();
    let readme = include_str!("../../../README.md");
    assert!(
        readme.contains(&me[start..end]),
        "README's 'From Rust' differs from tests/readme_from_rust.rs"
    );
}
