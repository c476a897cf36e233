//! The do-not-call list through [`Dialer`]: what the CLI's `dialout dnc` and the HTTP
//! API's `/v1/dnc` call. Numbers are read as `send` reads recipients and kept in E.164.

use jiff::Timestamp;
use serde::Serialize;

use crate::api::errors::Error;
use crate::delivery::blocking;
use crate::dialer::Dialer;
use dialout_model::dnc::DncEntry;
use dialout_model::phone::PhoneNumber;

/// The answer of [`Dialer::dnc_check`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DncCheck {
    pub number: PhoneNumber,
    /// Whether a call to it would be refused now.
    pub listed: bool,
    /// Its entry, also when expired.
    pub entry: Option<DncEntry>,
}

/// The answer of [`Dialer::dnc_import`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DncImport {
    /// Numbers not listed before.
    pub added: usize,
    /// Numbers already listed, whose reason and end were replaced.
    pub updated: usize,
    /// `(index in the input, text, why)` of numbers that could not be read: nothing is
    /// stored when there is any, unless the caller asked to skip them.
    pub invalid: Vec<(usize, String, String)>,
}

/// A reason is one line of text, up to 500 characters.
fn check_reason(reason: Option<String>) -> Result<Option<String>, Error> {
    let Some(r) = reason
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())
    else {
        return Ok(None);
    };
    if r.chars().count() > 500 || r.chars().any(char::is_control) {
        return Err(Error::InvalidDnc(
            "a reason is one line of up to 500 characters".into(),
        ));
    }
    Ok(Some(r))
}

impl Dialer {
    fn dnc_number(&self, number: &str) -> Result<PhoneNumber, Error> {
        Ok(PhoneNumber::parse(number, self.default_region())?)
    }

    /// Lists `number` (or replaces its entry): calls to it are refused at send, and
    /// messages already queued for it end in ERROR before they are published.
    pub async fn dnc_add(
        &self,
        number: &str,
        reason: Option<String>,
        until: Option<Timestamp>,
    ) -> Result<DncEntry, Error> {
        let now = Timestamp::now();
        if until.is_some_and(|u| u <= now) {
            return Err(Error::InvalidDnc(format!(
                "until ({}) is in the past: the entry would never apply",
                until.map(|u| u.to_string()).unwrap_or_default()
            )));
        }
        let entry = DncEntry {
            number: self.dnc_number(number)?,
            reason: check_reason(reason)?,
            until: until.map(dialout_store::sql::micros),
            added_at: dialout_store::sql::micros(now),
        };
        let stored = entry.clone();
        blocking(self.store(), move |s| s.dnc_add(&[stored])).await?;
        Ok(entry)
    }

    /// Takes `number` off the list; false when it was not listed.
    pub async fn dnc_remove(&self, number: &str) -> Result<bool, Error> {
        let number = self.dnc_number(number)?;
        Ok(blocking(self.store(), move |s| s.dnc_remove(&number)).await?)
    }

    /// Every entry, expired ones included, by number.
    pub async fn dnc_list(&self) -> Result<Vec<DncEntry>, Error> {
        Ok(blocking(self.store(), |s| s.dnc_list()).await?)
    }

    pub async fn dnc_check(&self, number: &str) -> Result<DncCheck, Error> {
        let number = self.dnc_number(number)?;
        let wanted = number.clone();
        // Entries end after they were added (never before 1970): expired ones too.
        let entry = blocking(self.store(), move |s| {
            Ok(s.dnc_find(&[wanted], Timestamp::UNIX_EPOCH)?.pop())
        })
        .await?;
        let listed = entry.as_ref().is_some_and(|e| e.applies(Timestamp::now()));
        Ok(DncCheck {
            number,
            listed,
            entry,
        })
    }

    /// Lists many numbers in one transaction, all with the same reason and end. With any
    /// unreadable number and `skip_invalid` false, nothing is stored and they are returned.
    pub async fn dnc_import(
        &self,
        numbers: Vec<String>,
        reason: Option<String>,
        until: Option<Timestamp>,
        skip_invalid: bool,
    ) -> Result<DncImport, Error> {
        let reason = check_reason(reason)?;
        let now = dialout_store::sql::micros(Timestamp::now());
        let mut out = DncImport::default();
        let mut entries = Vec::with_capacity(numbers.len());
        let mut seen = std::collections::HashSet::new();
        for (i, text) in numbers.into_iter().enumerate() {
            match PhoneNumber::parse(&text, self.default_region()) {
                Ok(number) if seen.insert(number.clone()) => entries.push(DncEntry {
                    number,
                    reason: reason.clone(),
                    until: until.map(dialout_store::sql::micros),
                    added_at: now,
                }),
                Ok(_) => {}
                Err(e) => out.invalid.push((i, text, e.to_string())),
            }
        }
        if !out.invalid.is_empty() && !skip_invalid {
            return Ok(out);
        }
        let n = entries.len();
        out.added = blocking(self.store(), move |s| s.dnc_add(&entries)).await?;
        out.updated = n - out.added;
        Ok(out)
    }
}
