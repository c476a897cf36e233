//! `kind = "group"`: several Asterisk servers (AMI backends) as one. A message goes to a
//! connected member with room; a member that is down receives nothing until it is back;
//! the message records the member that placed it (`member` in its sender data).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Value;

use super::{Ami, Link};
use crate::backend::{
    Backend, BackendError, Cancel, Found, Intake, Lookup, Pacing, Publish, StatusReport,
};
use dialout_model::config_error::ConfigError;
use dialout_model::message::JsonMap;
use dialout_model::message::Message;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSettings {
    pub members: Option<Vec<String>>,
    pub strategy: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Strategy {
    LeastBusy,
    RoundRobin,
}

pub struct Group {
    name: String,
    members: Vec<(String, Arc<Ami>)>,
    strategy: Strategy,
    next: AtomicUsize,
}

fn member_of(m: &Message) -> Option<&str> {
    m.extra_sender_data.get("member").and_then(Value::as_str)
}

impl Group {
    /// `amis`: the configured backends of kind `ami`, by name.
    pub fn new(
        name: &str,
        s: &GroupSettings,
        amis: &BTreeMap<String, Arc<Ami>>,
    ) -> Result<Group, ConfigError> {
        let invalid = |key: &str, reason: String| ConfigError::Invalid {
            key: format!("backends.{name}.{key}"),
            reason,
        };
        let strategy = match s.strategy.as_deref() {
            None | Some("least_busy") => Strategy::LeastBusy,
            Some("round_robin") => Strategy::RoundRobin,
            Some(o) => {
                return Err(invalid(
                    "strategy",
                    format!("{o:?}: use \"least_busy\" or \"round_robin\""),
                ));
            }
        };
        let names = s.members.clone().unwrap_or_default();
        if names.is_empty() {
            return Err(invalid(
                "members",
                "missing: the AMI backends of this group, e.g. [\"pbx1\", \"pbx2\"]".into(),
            ));
        }
        let mut members = Vec::new();
        for n in names {
            let Some(a) = amis.get(&n) else {
                return Err(invalid(
                    "members",
                    format!("{n:?} is not a configured backend of kind \"ami\""),
                ));
            };
            if members.iter().any(|(m, _)| *m == n) {
                return Err(invalid("members", format!("{n:?} is listed twice")));
            }
            members.push((n, a.clone()));
        }
        Ok(Group::from_members(name, members, strategy))
    }

    pub fn from_members(name: &str, members: Vec<(String, Arc<Ami>)>, strategy: Strategy) -> Group {
        Group {
            name: name.to_string(),
            members,
            strategy,
            next: AtomicUsize::new(0),
        }
    }

    fn member(&self, m: &Message) -> Option<&Arc<Ami>> {
        let n = member_of(m)?;
        self.members
            .iter()
            .find(|(name, _)| name == n)
            .map(|(_, a)| a)
    }

    /// The members with room now, in the order the strategy prefers them.
    async fn candidates(&self) -> Vec<usize> {
        let mut open = Vec::new();
        for (i, (_, a)) in self.members.iter().enumerate() {
            if a.room(0).await > 0 && a.link() == Link::Up {
                open.push((i, a.live_calls()));
            }
        }
        match self.strategy {
            Strategy::LeastBusy => open.sort_by_key(|(i, live)| (*live, *i)),
            Strategy::RoundRobin => {
                let start = self.next.fetch_add(1, Ordering::Relaxed) % self.members.len().max(1);
                open.sort_by_key(|(i, _)| (*i + self.members.len() - start) % self.members.len());
            }
        }
        open.into_iter().map(|(i, _)| i).collect()
    }
}

#[async_trait]
impl Backend for Group {
    fn name(&self) -> &str {
        &self.name
    }

    async fn publish(&self, message: &Message) -> Publish {
        let attempt = super::sender_u32(message, "ami_attempt").map_or(1, |a| a + 1);
        let mut paused = None;
        for i in self.candidates().await {
            let (name, ami) = &self.members[i];
            let mut extra = JsonMap::new();
            extra.insert("member".into(), Value::String(name.clone()));
            match ami.place(message, attempt, extra).await {
                Publish::Deferred => continue,
                Publish::Paused { reason } => paused = Some(format!("member {name}: {reason}")),
                other => return other,
            }
        }
        match paused {
            // Every member with room refused the login.
            Some(reason) if self.members.iter().all(|(_, a)| a.link() != Link::Up) => {
                Publish::Paused { reason }
            }
            _ => Publish::Deferred,
        }
    }

    async fn cancel(&self, message: &Message) -> Result<Cancel, BackendError> {
        Ok(match self.member(message) {
            Some(a) => a.cancel_call(message),
            None => Cancel::TooLate("no member recorded for this message".into()),
        })
    }

    /// Every member runs the same AMI dialplan.
    fn check_interactive(
        &self,
        _ask: &dialout_model::interactive::Interactive,
    ) -> Result<(), String> {
        Ok(())
    }

    fn pacing(&self) -> Option<&dyn Pacing> {
        Some(self)
    }

    fn lookup(&self) -> Option<&dyn Lookup> {
        Some(self)
    }

    fn intake(&self) -> Option<&dyn Intake> {
        Some(self)
    }

    fn audio(&self, message: &Message, key: &str) -> Option<PathBuf> {
        self.member(message)?.audio_file(message, key)
    }

    fn forget(&self) -> Option<&dyn crate::backend::Forget> {
        Some(self)
    }
}

/// Each member forgets its own messages (a message no member placed has nothing to forget).
#[async_trait]
impl crate::backend::Forget for Group {
    async fn forget(&self, messages: &[Message]) -> Result<usize, BackendError> {
        let mut removed = 0;
        for (name, member) in &self.members {
            let mine: Vec<Message> = messages
                .iter()
                .filter(|m| member_of(m) == Some(name.as_str()))
                .cloned()
                .collect();
            if !mine.is_empty() {
                removed += crate::backend::Forget::forget(member.as_ref(), &mine).await?;
            }
        }
        Ok(removed)
    }

    async fn expire_audio(&self, age: std::time::Duration) -> Result<usize, BackendError> {
        let mut removed = 0;
        for (_, member) in &self.members {
            removed += crate::backend::Forget::expire_audio(member.as_ref(), age).await?;
        }
        Ok(removed)
    }
}

#[async_trait]
impl Pacing for Group {
    async fn capacity(&self, _in_flight: usize) -> usize {
        let mut room = 0;
        for (_, a) in &self.members {
            room += a.room(0).await;
        }
        room
    }

    /// The members' limits added up: the group's messages are counted under its name.
    fn limits(&self) -> dialout_model::pace::Pace {
        let each = self.members.iter().map(|(_, a)| Pacing::limits(a.as_ref()));
        each.fold(dialout_model::pace::Pace::NONE, |sum, p| {
            dialout_model::pace::Pace {
                max_in_flight: Some(sum.max_in_flight.unwrap_or(0) + p.max_in_flight.unwrap_or(0)),
                calls_per_second: Some(
                    sum.calls_per_second.unwrap_or(0.0) + p.calls_per_second.unwrap_or(0.0),
                ),
            }
        })
    }
}

#[async_trait]
impl Lookup for Group {
    async fn find(&self, message: &Message) -> Result<Found, BackendError> {
        if let Some(a) = self.member(message) {
            return a.find_call(message).await;
        }
        // Not recorded (a crash before the outcome was stored): ask every member.
        let mut outage = None;
        for (name, a) in &self.members {
            match a.find_call(message).await {
                Ok(Found::Yes(mut acc)) => {
                    acc.sender_data
                        .insert("member".into(), Value::String(name.clone()));
                    return Ok(Found::Yes(acc));
                }
                Ok(_) => {}
                Err(e) => outage = Some(e),
            }
        }
        match outage {
            Some(e) => Err(e),
            None => Ok(Found::No),
        }
    }
}

#[async_trait]
impl Intake for Group {
    async fn collect(&self, pending: &[Message]) -> Result<StatusReport, BackendError> {
        let mut report = StatusReport::default();
        for (name, a) in &self.members {
            let mine: Vec<Message> = pending
                .iter()
                .filter(|m| member_of(m) == Some(name.as_str()))
                .cloned()
                .collect();
            if mine.is_empty() {
                continue;
            }
            let r = a.collect_for(&mine).await;
            report.updates.extend(r.updates);
            report.failures.extend(r.failures);
            report.warnings.extend(r.warnings);
        }
        Ok(report)
    }

    fn changed(&self) -> Option<Arc<tokio::sync::Notify>> {
        self.members.first().map(|(_, a)| a.results_changed())
    }
}
