//! The applications of interactive calls on a fake channel: `GotoIf`, `AMD`,
//! `WaitForSilence` and `Read` (timings in `ivr`).

use super::clock::FakeMillis;
use super::dialplan::{AppOutcome, Env, Run, audio_millis};
use super::{expr, ivr};

fn secs_to_ms(s: f64) -> FakeMillis {
    (s * 1000.0).round() as FakeMillis
}

impl Run {
    /// Seconds since the answer.
    fn since_answer(&self, now: FakeMillis) -> f64 {
        (now - self.answered_at) as f64 / 1000.0
    }

    /// Sets the results now and lasts until `at` (seconds after the answer), unless the callee
    /// hangs up first: then `on_hangup` is what the application reports, and `h` runs.
    fn lasts_until(
        &mut self,
        now: FakeMillis,
        at: f64,
        results: &[(&str, String)],
        on_hangup: &[(&str, &str)],
    ) -> AppOutcome {
        let end = self.answered_at + secs_to_ms(at);
        if self.hangup_at.is_some_and(|h| h < end) {
            for (k, v) in on_hangup {
                self.vars.insert(k.to_string(), v.to_string());
            }
        } else {
            for (k, v) in results {
                self.vars.insert(k.to_string(), v.clone());
            }
        }
        AppOutcome::Lasts((end - now).max(0))
    }

    /// `GotoIf(cond?yes[:no])` to a priority or label of the same extension.
    pub(super) fn goto_if(&mut self, data: &str, env: &Env<'_>) -> AppOutcome {
        let Some((cond, targets)) = data.split_once('?') else {
            self.errors.push(format!("GotoIf({data}): no `?`"));
            return AppOutcome::HangUp;
        };
        let (yes, no) = targets.split_once(':').unwrap_or((targets, ""));
        let target = if expr::condition(cond) { yes } else { no };
        if target.is_empty() {
            return AppOutcome::Continue;
        }
        if target.contains(',') {
            self.errors.push(format!(
                "GotoIf({data}): only targets in the same extension are simulated"
            ));
            return AppOutcome::HangUp;
        }
        match env
            .dialplan
            .and_then(|d| d.priority_of(&self.context, &self.exten, target))
        {
            Some(p) => AppOutcome::Goto(p),
            None => {
                self.warnings.push(format!(
                    "GotoIf: no priority `{target}` in {}@{}",
                    self.exten, self.context
                ));
                AppOutcome::HangUp
            }
        }
    }

    /// `AMD()` with amd.conf's defaults (arguments are not simulated).
    pub(super) fn amd(
        &mut self,
        data: &str,
        now: FakeMillis,
        note: &mut Option<String>,
    ) -> AppOutcome {
        if !data.trim().is_empty() {
            self.errors.push(format!(
                "AMD({data}): arguments are not supported by the fake"
            ));
            return AppOutcome::HangUp;
        }
        let (at, status, cause) = ivr::amd(&self.party, self.since_answer(now));
        *note = Some(format!("AMDSTATUS={status} AMDCAUSE={cause}"));
        self.lasts_until(
            now,
            at,
            &[("AMDSTATUS", status.to_string()), ("AMDCAUSE", cause)],
            &[("AMDSTATUS", "HANGUP"), ("AMDCAUSE", "")],
        )
    }

    /// `WaitForSilence(ms,1,timeout)`.
    pub(super) fn wait_for_silence(
        &mut self,
        data: &str,
        now: FakeMillis,
        note: &mut Option<String>,
    ) -> AppOutcome {
        let a: Vec<&str> = data.split(',').map(str::trim).collect();
        let need = a.first().and_then(|s| s.parse::<f64>().ok());
        let times = a.get(1).copied().unwrap_or("1");
        let timeout = a.get(2).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
        let Some(need) = need.filter(|_| times == "1") else {
            self.errors.push(format!(
                "WaitForSilence({data}): only (ms,1,timeout) is simulated"
            ));
            return AppOutcome::HangUp;
        };
        let (at, status) =
            ivr::wait_for_silence(&self.party, self.since_answer(now), need / 1000.0, timeout);
        *note = Some(format!("WAITSTATUS={status}"));
        self.lasts_until(
            now,
            at,
            &[("WAITSTATUS", status.to_string())],
            &[("WAITSTATUS", "HANGUP")],
        )
    }

    /// `Read(var,prompt,maxdigits,options,1,timeout)`; options: `t(enders)` only.
    pub(super) fn read(
        &mut self,
        data: &str,
        now: FakeMillis,
        env: &Env<'_>,
        note: &mut Option<String>,
    ) -> AppOutcome {
        let a: Vec<&str> = data.split(',').collect();
        let var = a.first().copied().unwrap_or("").trim().to_string();
        let prompt = a.get(1).copied().unwrap_or("").trim();
        let max = a
            .get(2)
            .and_then(|s| s.trim().parse::<usize>().ok())
            .filter(|m| (1..=255).contains(m))
            .unwrap_or(255);
        let options = a.get(3).copied().unwrap_or("").trim();
        let attempts = a.get(4).copied().unwrap_or("").trim();
        let timeout = a.get(5).and_then(|s| s.trim().parse::<f64>().ok());
        let enders = match options {
            "" => "#".to_string(),
            o => match o.strip_prefix("t(").and_then(|x| x.strip_suffix(')')) {
                Some(e) => e.to_string(),
                None if o == "t" => String::new(),
                None => {
                    self.errors
                        .push(format!("Read options `{o}` are not supported by the fake"));
                    return AppOutcome::HangUp;
                }
            },
        };
        let Some(timeout) = timeout.filter(|t| *t > 0.0) else {
            self.errors
                .push(format!("Read({data}): the fake needs a timeout above 0"));
            return AppOutcome::HangUp;
        };
        if var.is_empty() || !(attempts.is_empty() || attempts == "1") {
            self.errors.push(format!(
                "Read({data}): only one attempt into a variable is simulated"
            ));
            return AppOutcome::HangUp;
        }
        self.vars.insert("READSTATUS".into(), "ERROR".into());
        let prompt_secs = if prompt.is_empty() {
            0.0
        } else {
            match audio_millis(prompt, env.sounds_dir) {
                Ok(ms) => ms as f64 / 1000.0,
                Err(why) => {
                    // ast_streamfile failed: getdata gives up, Read says ERROR.
                    self.warnings.push(format!("Read: prompt {prompt}: {why}"));
                    self.vars.insert(var, String::new());
                    return AppOutcome::Continue;
                }
            }
        };
        let keys = match &self.party {
            super::callee::Party::Person { keys, .. } => keys.clone(),
            _ => Vec::new(),
        };
        let end = ivr::read(
            &keys,
            self.since_answer(now),
            prompt_secs,
            max,
            &enders,
            timeout,
        );
        *note = Some(format!("READSTATUS={} {var}={}", end.status, end.digits));
        self.lasts_until(
            now,
            end.at,
            &[
                (var.as_str(), end.digits.clone()),
                ("READSTATUS", end.status.to_string()),
            ],
            &[("READSTATUS", "HANGUP")],
        )
    }
}
