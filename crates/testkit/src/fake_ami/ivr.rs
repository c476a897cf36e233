//! The `ivr` extension of dialout's AMI dialplan: `AMD()`, `WaitForSilence()`, the message,
//! then `Read()` with its repeats, with the UserEvents (`Phase: amd`, `complete`, `read`) and
//! the AstDB writes (`dialout-ivr/<id>`, `dialout/<id>`) the real applications make. Timings
//! come from the fake Asterisk's model (fake seconds after the answer), played `scale` times
//! faster in real time.

use std::time::{Duration, Instant};

use super::{Originated, epoch};
use crate::fake_asterisk::Party;
use crate::fake_asterisk::ivr::{amd, read, wait_for_silence};

/// Sends `UserEvent(DialoutReport,Id: ..,<headers>)` on the caller half; false once cut.
pub(crate) type UserEvent<'a> = dyn Fn(&[(&str, String)]) -> bool + Sync + 'a;

/// What the call's dialplan can do to the outside world.
pub(crate) struct Line<'a> {
    pub user_event: &'a UserEvent<'a>,
    /// `Set(DB(<family>/<id>)=<value>)`.
    pub db: &'a (dyn Fn(&str, String) + Sync),
}

/// The timeline of one call, in fake seconds after the answer.
pub(crate) struct Timeline {
    pub answered: Instant,
    pub scale: f64,
    pub hangup_at: Option<f64>,
}

impl Timeline {
    /// Sleeps until fake second `t`; false when the callee hangs up first (then it sleeps
    /// until the hangup).
    async fn until(&self, t: f64) -> bool {
        let stop = self.hangup_at.filter(|h| *h < t);
        let at = stop.unwrap_or(t);
        tokio::time::sleep_until(
            (self.answered + Duration::from_secs_f64(at.max(0.0) * self.scale)).into(),
        )
        .await;
        stop.is_none()
    }
}

/// Runs the extension; returns when the channel hangs up (either side).
pub(crate) async fn run(
    line: &Line<'_>,
    o: &Originated,
    party: &Party,
    tl: &Timeline,
    (message_secs, prompt_secs): (f64, f64),
) {
    let var = |k: &str| o.variable(k).unwrap_or("").to_string();
    let mut t;
    let mut amd_vars = (String::new(), String::new());
    if !var("DIALOUT_MACHINE").is_empty() {
        let (at, status, cause) = amd(party, 0.0);
        if !tl.until(at).await {
            return; // AMDSTATUS=HANGUP: the next priority does not run
        }
        t = at;
        (line.db)("dialout-ivr", format!("amd {} {status} {cause}", epoch()));
        (line.user_event)(&[
            ("Phase", "amd".into()),
            ("AMDSTATUS", status.into()),
            ("AMDCAUSE", cause.clone()),
        ]);
        amd_vars = (status.to_string(), cause);
        if status == "MACHINE" {
            match var("DIALOUT_MACHINE").as_str() {
                "hangup" => return,
                "leave_message" => {
                    let (w, _) = wait_for_silence(party, t, 1.5, 30.0);
                    if !tl.until(w).await || !tl.until(w + message_secs).await {
                        return;
                    }
                    complete(line);
                    return;
                }
                _ => {}
            }
        }
    } else {
        // Wait(1) before the message, as for a plain message.
        t = 1.0;
        if !tl.until(t).await {
            return;
        }
    }
    t += message_secs;
    if !tl.until(t).await {
        return;
    }
    let Ok(tries) = var("DIALOUT_GATHER").parse::<u32>() else {
        complete(line);
        return;
    };
    // `gathering` until `h` makes it `complete`.
    (line.db)("dialout", format!("gathering {} SUCCESS", epoch()));
    (line.user_event)(&[
        ("Phase", "complete".into()),
        ("PlaybackStatus", "SUCCESS".into()),
    ]);
    let keys: &[(f64, char)] = match party {
        Party::Person { keys, .. } => keys,
        _ => &[],
    };
    let max = var("DIALOUT_DIGITS").parse().unwrap_or(255);
    let timeout = var("DIALOUT_TIMEOUT").parse().unwrap_or(5.0);
    let prompt = if var("DIALOUT_PROMPT").is_empty() {
        0.0
    } else {
        prompt_secs
    };
    let allowed = var("DIALOUT_KEYS");
    for attempt in 1..=tries {
        let end = read(keys, t, prompt, max, &var("DIALOUT_FINISH"), timeout);
        if !tl.until(end.at).await {
            return; // READSTATUS=HANGUP: `h` runs
        }
        t = end.at;
        (line.db)(
            "dialout-ivr",
            format!(
                "read {} {attempt} {} {} {} {}",
                epoch(),
                end.status,
                end.digits,
                amd_vars.0,
                amd_vars.1
            ),
        );
        (line.user_event)(&[
            ("Phase", "read".into()),
            ("Try", attempt.to_string()),
            ("READSTATUS", end.status.into()),
            ("DIGITS", end.digits.clone()),
        ]);
        let usable = !end.digits.is_empty() && end.digits.chars().all(|c| allowed.contains(c));
        if usable {
            return;
        }
    }
}

fn complete(line: &Line<'_>) {
    (line.db)("dialout", format!("complete {} SUCCESS", epoch()));
    (line.user_event)(&[
        ("Phase", "complete".into()),
        ("PlaybackStatus", "SUCCESS".into()),
    ]);
}
