//! Who to call and how: the call-related keys of a call file.

use crate::error::{BuildError, Field};
use crate::validate;

/// The call part of a call file. Built (and validated) with [`Call::builder`].
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Call {
    pub(crate) channel: String,
    pub(crate) callerid: Option<String>,
    pub(crate) variables: Vec<(String, String)>,
    pub(crate) account: Option<String>,
    pub(crate) wait_time: Option<u32>,
    pub(crate) retry_time: Option<u32>,
    pub(crate) max_retries: Option<u32>,
    pub(crate) codecs: Option<String>,
    pub(crate) always_delete: Option<bool>,
    pub(crate) early_media: Option<bool>,
}

impl Call {
    pub fn builder() -> CallBuilder {
        CallBuilder::default()
    }
    /// `Tech/Dest`, e.g. `SIP/flowroute/18002223333`.
    pub fn channel(&self) -> &str {
        &self.channel
    }
    /// As given, e.g. `"Test User" <5555555555>`.
    pub fn callerid(&self) -> Option<&str> {
        self.callerid.as_deref()
    }
    /// `Set:` variables, in the order given.
    pub fn variables(&self) -> &[(String, String)] {
        &self.variables
    }
    pub fn account(&self) -> Option<&str> {
        self.account.as_deref()
    }
    /// Seconds to ring before an attempt fails (Asterisk's default: 45).
    pub fn wait_time(&self) -> Option<u32> {
        self.wait_time
    }
    /// Seconds between attempts (Asterisk's default: 300).
    pub fn retry_time(&self) -> Option<u32> {
        self.retry_time
    }
    /// Retries after the first attempt (Asterisk's default: 0).
    pub fn max_retries(&self) -> Option<u32> {
        self.max_retries
    }
    pub fn codecs(&self) -> Option<&str> {
        self.codecs.as_deref()
    }
    pub fn always_delete(&self) -> Option<bool> {
        self.always_delete
    }
    pub fn early_media(&self) -> Option<bool> {
        self.early_media
    }
    /// Whether some `Set:` name is a dialplan function (`CDR(userfield)`), which Asterisk evaluates.
    pub fn sets_functions(&self) -> bool {
        self.variables
            .iter()
            .any(|(n, v)| validate::variable(n, v) == Ok(validate::VarName::Function))
    }
}

/// Builds a [`Call`]; every value is checked by [`CallBuilder::build`].
#[derive(Debug, Clone, Default)]
pub struct CallBuilder {
    call: Call,
}

impl CallBuilder {
    pub fn channel(mut self, channel: impl Into<String>) -> Self {
        self.call.channel = channel.into();
        self
    }
    pub fn callerid(mut self, callerid: impl Into<String>) -> Self {
        self.call.callerid = Some(callerid.into());
        self
    }
    /// Adds one `Set: name=value` line (order is kept; a name may repeat).
    pub fn var(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.call.variables.push((name.into(), value.into()));
        self
    }
    pub fn variables<N: Into<String>, V: Into<String>>(
        mut self,
        vars: impl IntoIterator<Item = (N, V)>,
    ) -> Self {
        self.call
            .variables
            .extend(vars.into_iter().map(|(n, v)| (n.into(), v.into())));
        self
    }
    pub fn account(mut self, account: impl Into<String>) -> Self {
        self.call.account = Some(account.into());
        self
    }
    pub fn wait_time(mut self, seconds: u32) -> Self {
        self.call.wait_time = Some(seconds);
        self
    }
    pub fn retry_time(mut self, seconds: u32) -> Self {
        self.call.retry_time = Some(seconds);
        self
    }
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.call.max_retries = Some(retries);
        self
    }
    /// Comma-separated codec names, e.g. `ulaw,alaw`.
    pub fn codecs(mut self, codecs: impl Into<String>) -> Self {
        self.call.codecs = Some(codecs.into());
        self
    }
    pub fn always_delete(mut self, yes: bool) -> Self {
        self.call.always_delete = Some(yes);
        self
    }
    /// Treat early media as an answer (only meaningful with a context action).
    pub fn early_media(mut self, yes: bool) -> Self {
        self.call.early_media = Some(yes);
        self
    }

    pub fn build(self) -> Result<Call, BuildError> {
        let c = self.call;
        if c.channel.is_empty() {
            return Err(BuildError::Missing(Field::Channel));
        }
        validate::channel(&c.channel)?;
        if let Some(v) = &c.callerid {
            validate::callerid(v)?;
        }
        for (n, v) in &c.variables {
            validate::variable(n, v)?;
        }
        if let Some(v) = &c.account {
            validate::text(Field::Account, v, false, false)?;
        }
        if let Some(v) = c.wait_time {
            validate::wait_time(v)?;
        }
        if let Some(v) = c.retry_time {
            validate::at_least_one(Field::RetryTime, v)?;
        }
        if let Some(v) = c.max_retries {
            validate::fits_int(Field::MaxRetries, v)?;
        }
        if let Some(v) = &c.codecs {
            validate::codecs(v)?;
        }
        Ok(c)
    }
}
