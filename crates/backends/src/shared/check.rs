//! One line of `dialout doctor`, as every backend that checks its set-up reports it.

/// One line of `dialout doctor`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Check {
    pub what: String,
    pub ok: bool,
    /// What to do about it, when not ok.
    pub fix: Option<String>,
}

pub fn pass(what: impl Into<String>) -> Check {
    Check {
        what: what.into(),
        ok: true,
        fix: None,
    }
}

pub fn fail(what: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        what: what.into(),
        ok: false,
        fix: Some(fix.into()),
    }
}
