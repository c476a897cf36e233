//! A small interpreter for the subset of `extensions.conf` dialout's dialplan uses.
//!
//! Supported: `[context]`, `exten => NAME,PRIO,App(args)` (PRIO a number or `n`),
//! `same => n,App(args)`, `;` comments (`\;` escapes), `${VAR}` substitution, the `h` and
//! `failed` extensions, and the applications Answer, Playback, Hangup, Wait, NoOp and Set
//! (with the `FILE()` function). Anything else is a [`DialplanError`] naming it.

use std::collections::{BTreeMap, HashMap};
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::callee::Party;
use super::clock::{FakeMillis, secs};

/// A dialplan outside the supported subset, or unreadable.
#[derive(Debug, thiserror::Error)]
pub enum DialplanError {
    #[error("cannot read dialplan {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("dialplan line {line}: unsupported {what} in `{text}`")]
    Unsupported {
        line: usize,
        what: String,
        text: String,
    },
}

const APPS: [&str; 10] = [
    "Answer",
    "Playback",
    "Hangup",
    "Wait",
    "NoOp",
    "Set",
    "GotoIf",
    "AMD",
    "Read",
    "WaitForSilence",
];

/// One priority of an extension.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// Application name as canonically spelled (`Playback`, ...).
    pub app: String,
    /// Raw argument text, before substitution.
    pub args: String,
    /// Line in the dialplan file.
    pub line: usize,
}

/// A parsed dialplan: context → extension → priority → step.
#[derive(Clone, Debug, Default)]
pub struct Dialplan {
    contexts: HashMap<String, HashMap<String, BTreeMap<i32, Step>>>,
    /// (context, extension, label) → priority, from `n(label)`.
    labels: HashMap<(String, String, String), i32>,
}

impl Dialplan {
    /// Read and check a dialplan file.
    pub fn load(path: impl AsRef<Path>) -> Result<Dialplan, DialplanError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| DialplanError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Dialplan::parse(&text)
    }

    /// Parse and check dialplan text.
    pub fn parse(text: &str) -> Result<Dialplan, DialplanError> {
        let mut dp = Dialplan::default();
        let mut context: Option<String> = None;
        let mut last_exten: Option<String> = None;
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let unsupported = |what: &str| DialplanError::Unsupported {
                line,
                what: what.to_string(),
                text: raw.trim().to_string(),
            };
            let stripped = strip_conf_comment(raw);
            let l = stripped.trim();
            if l.is_empty() {
                continue;
            }
            if let Some(rest) = l.strip_prefix('[') {
                let Some(name) = rest.strip_suffix(']') else {
                    return Err(unsupported("context header (templates/options)"));
                };
                if name.is_empty() || name.contains(['[', ']', '(', ')']) {
                    return Err(unsupported("context name"));
                }
                context = Some(name.to_string());
                last_exten = None;
                dp.contexts.entry(name.to_string()).or_default();
                continue;
            }
            let Some((key, value)) = l.split_once('=') else {
                return Err(unsupported("syntax (no `=>`)"));
            };
            let value = value.strip_prefix('>').unwrap_or(value).trim();
            let key = key.trim().to_ascii_lowercase();
            let Some(ctx) = context.clone() else {
                return Err(unsupported("line outside any [context]"));
            };
            let (exten, prio, app) = match key.as_str() {
                "exten" => {
                    let mut parts = value.splitn(3, ',');
                    let name = parts.next().unwrap_or("").trim();
                    let prio = parts.next().unwrap_or("").trim();
                    let app = parts
                        .next()
                        .ok_or_else(|| unsupported("exten without application"))?;
                    if name.is_empty() || name.starts_with('_') || name.contains('/') {
                        return Err(unsupported(&format!(
                            "extension name `{name}` (patterns and caller-id matches)"
                        )));
                    }
                    (name.to_string(), prio.to_string(), app.trim().to_string())
                }
                "same" => {
                    let Some(exten) = last_exten.clone() else {
                        return Err(unsupported("`same` before any `exten`"));
                    };
                    let Some((prio, app)) = value.split_once(',') else {
                        return Err(unsupported("same without application"));
                    };
                    (exten, prio.trim().to_string(), app.trim().to_string())
                }
                other => return Err(unsupported(&format!("keyword `{other}`"))),
            };
            let (prio, label) = match prio.strip_prefix("n(").and_then(|l| l.strip_suffix(')')) {
                Some(l) if !l.is_empty() => ("n".to_string(), Some(l.to_string())),
                _ => (prio, None),
            };
            let ctx_name = ctx.clone();
            let prios = dp
                .contexts
                .entry(ctx)
                .or_default()
                .entry(exten.clone())
                .or_default();
            let number = if prio == "n" {
                prios.keys().next_back().map_or(1, |p| p + 1)
            } else {
                match prio.parse::<i32>() {
                    Ok(n) if n >= 1 => n,
                    _ => {
                        return Err(unsupported(&format!(
                            "priority `{prio}` (only numbers and `n`)"
                        )));
                    }
                }
            };
            let (app_name, args) = split_app(&app).map_err(|w| unsupported(&w))?;
            check_expressions(&args).map_err(|w| unsupported(&w))?;
            if app_name == "Set" {
                let lhs = args.split_once('=').map_or(args.as_str(), |(l, _)| l);
                if let Some((func, _)) = lhs.split_once('(')
                    && !func.eq_ignore_ascii_case("FILE")
                {
                    return Err(unsupported(&format!("function `{func}`")));
                }
            }
            if prios.contains_key(&number) {
                return Err(unsupported(&format!(
                    "duplicate priority {number} of `{exten}`"
                )));
            }
            prios.insert(
                number,
                Step {
                    app: app_name,
                    args,
                    line,
                },
            );
            if let Some(l) = label {
                dp.labels.insert((ctx_name, exten.clone(), l), number);
            }
            last_exten = Some(exten);
        }
        Ok(dp)
    }

    /// The step at (context, extension, priority), if any.
    pub fn step(&self, context: &str, exten: &str, priority: i32) -> Option<&Step> {
        self.contexts.get(context)?.get(exten)?.get(&priority)
    }

    /// The priority a `GotoIf` target names: a number or a label of the same extension.
    pub fn priority_of(&self, context: &str, exten: &str, target: &str) -> Option<i32> {
        if let Ok(n) = target.parse::<i32>() {
            return Some(n);
        }
        self.labels
            .get(&(context.to_string(), exten.to_string(), target.to_string()))
            .copied()
    }

    /// Whether the context exists.
    pub fn has_context(&self, context: &str) -> bool {
        self.contexts.contains_key(context)
    }

    /// Whether `exten` has a priority 1 in `context`.
    pub fn has_exten(&self, context: &str, exten: &str) -> bool {
        self.step(context, exten, 1).is_some()
    }
}

/// `;` starts a comment unless escaped as `\;`.
fn strip_conf_comment(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&';') => {
                out.push(';');
                chars.next();
            }
            ';' => break,
            c => out.push(c),
        }
    }
    out
}

/// `App(args)` or `App` → (canonical name, args).
fn split_app(app: &str) -> Result<(String, String), String> {
    let (name, args) = match app.find('(') {
        Some(open) => {
            let Some(close) = app.rfind(')') else {
                return Err(format!("application syntax `{app}` (missing `)`)"));
            };
            if !app[close + 1..].trim().is_empty() || close < open {
                return Err(format!("application syntax `{app}`"));
            }
            (app[..open].trim(), &app[open + 1..close])
        }
        None if app.contains(',') => {
            return Err(format!("application syntax `{app}` (use App(args))"));
        }
        None => (app.trim(), ""),
    };
    let canon = APPS
        .iter()
        .find(|a| a.eq_ignore_ascii_case(name))
        .ok_or_else(|| format!("application `{name}`"))?;
    Ok((canon.to_string(), args.to_string()))
}

/// Only `${NAME}`, `${FILTER(..)}` and simple `$[...]` are in the subset (see `expr`): a dry
/// run with every variable `1` finds anything else.
fn check_expressions(args: &str) -> Result<(), String> {
    super::expr::substitute(args, &|_| "1".to_string()).map(|_| ())
}

/// What one application did, in fake time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppRun {
    /// `OutgoingSpoolFailed` for the `failed` extension, else the dialed channel.
    pub channel: String,
    /// Context/extension/priority it ran at (empty for the Application form).
    pub context: String,
    pub exten: String,
    pub priority: i32,
    pub app: String,
    /// Data after variable substitution (Application form: as in the file, not substituted).
    pub data: String,
    pub started: FakeMillis,
    pub ended: FakeMillis,
    /// The callee hung up while it ran.
    pub interrupted: bool,
    /// Asterisk's warning, if any (missing audio, application not simulated, ...).
    pub note: Option<String>,
}

/// Where a run goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Progress {
    SleepUntil(FakeMillis),
    Finished(FakeMillis),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    Main,
    H,
    Done,
}

#[derive(Clone, Debug)]
struct Pending {
    until: FakeMillis,
    interrupted: bool,
}

/// What a run needs from outside.
pub(crate) struct Env<'a> {
    pub dialplan: Option<&'a Dialplan>,
    pub sounds_dir: &'a Path,
}

/// One channel executing dialplan (or one application) in fake time.
#[derive(Clone, Debug)]
pub(crate) struct Run {
    pub(super) channel: String,
    /// `Some((app, data))`: Application form, one application, no substitution, no `h`.
    single: Option<(String, String)>,
    pub(super) context: String,
    pub(super) exten: String,
    pub(super) priority: i32,
    pub(super) vars: HashMap<String, String>,
    pub(super) hangup_at: Option<FakeMillis>,
    phase: Phase,
    pending: Option<Pending>,
    started_any: bool,
    pub apps: Vec<AppRun>,
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
    /// `CDR(...)` writes from `Set:` lines.
    pub cdr: Vec<(String, String)>,
    /// Who answered, and when (AMD, WaitForSilence and Read count from there).
    pub(super) party: Party,
    pub(super) answered_at: FakeMillis,
}

impl Run {
    /// Dialplan form: start at (context, exten, priority).
    pub(crate) fn dialplan(channel: &str, context: &str, exten: &str, priority: i32) -> Run {
        Run::new(channel, None, context, exten, priority)
    }

    /// Application form.
    pub(crate) fn application(channel: &str, app: &str, data: &str) -> Run {
        Run::new(
            channel,
            Some((app.to_string(), data.to_string())),
            "",
            "",
            1,
        )
    }

    fn new(
        channel: &str,
        single: Option<(String, String)>,
        context: &str,
        exten: &str,
        priority: i32,
    ) -> Run {
        Run {
            channel: channel.to_string(),
            single,
            context: context.to_string(),
            exten: exten.to_string(),
            priority,
            vars: HashMap::new(),
            hangup_at: None,
            phase: Phase::Main,
            pending: None,
            started_any: false,
            apps: Vec::new(),
            errors: Vec::new(),
            warnings: Vec::new(),
            cdr: Vec::new(),
            party: Party::person(&[]),
            answered_at: 0,
        }
    }

    /// The callee answered at `at` as `party`.
    pub(crate) fn answered_as(&mut self, at: FakeMillis, party: Party) {
        self.answered_at = at;
        self.party = party;
    }

    /// The callee hangs up at this instant.
    pub(crate) fn callee_hangs_up_at(&mut self, t: Option<FakeMillis>) {
        self.hangup_at = t;
    }

    /// A plain channel variable (`REASON`, `AST_OUTGOING_ATTEMPT`).
    pub(crate) fn set_var(&mut self, name: &str, value: &str) {
        self.vars.insert(name.to_string(), value.to_string());
    }

    /// The call file's `Set:` lines, applied as `ast_set_variables` does (functions evaluated).
    pub(crate) fn apply_call_file_vars(&mut self, vars: &[(String, String)], now: FakeMillis) {
        for (name, value) in vars {
            if let Err(e) = self.assign(name, value, now) {
                self.errors.push(format!("Set: {name}: {e}"));
            }
        }
    }

    pub(crate) fn variables(&self) -> &HashMap<String, String> {
        &self.vars
    }

    /// Clean stop: the channel is hung up now.
    pub(crate) fn force_hangup(&mut self, now: FakeMillis, env: &Env<'_>) -> FakeMillis {
        if self.phase == Phase::Main {
            if let Some(p) = self.pending.take()
                && let Some(last) = self.apps.last_mut()
            {
                last.ended = now.min(p.until);
                last.interrupted = true;
            }
            self.enter_h();
        }
        match self.advance(now, env) {
            Progress::Finished(t) | Progress::SleepUntil(t) => t,
        }
    }

    /// Run everything due at `now`.
    pub(crate) fn advance(&mut self, now: FakeMillis, env: &Env<'_>) -> Progress {
        loop {
            match self.phase {
                Phase::Done => return Progress::Finished(now),
                Phase::H => {
                    self.run_h(now, env);
                    self.phase = Phase::Done;
                }
                Phase::Main => {
                    if let Some(p) = &self.pending {
                        if now < p.until {
                            return Progress::SleepUntil(p.until);
                        }
                        let interrupted = p.interrupted;
                        self.pending = None;
                        if interrupted {
                            self.enter_h();
                            continue;
                        }
                        self.priority += 1;
                    }
                    if self.hangup_at.is_some_and(|h| h <= now) {
                        self.enter_h();
                        continue;
                    }
                    if let Some(sleep) = self.exec_next(now, env) {
                        return Progress::SleepUntil(sleep);
                    }
                }
            }
        }
    }

    fn enter_h(&mut self) {
        self.pending = None;
        self.phase = if self.single.is_some() {
            Phase::Done
        } else {
            Phase::H
        };
    }

    /// Execute the next priority; `Some(t)` when it lasts until `t`.
    fn exec_next(&mut self, now: FakeMillis, env: &Env<'_>) -> Option<FakeMillis> {
        let (app, data, ctx, exten, prio) = match &self.single {
            Some((app, data)) => {
                if self.started_any {
                    self.enter_h();
                    return None;
                }
                (app.clone(), data.clone(), String::new(), String::new(), 1)
            }
            None => {
                let step = env
                    .dialplan
                    .and_then(|d| d.step(&self.context, &self.exten, self.priority));
                let Some(step) = step.cloned() else {
                    if !self.started_any {
                        self.warnings.push(format!(
                            "no extension {}@{} priority {}: channel hung up",
                            self.exten, self.context, self.priority
                        ));
                    }
                    self.enter_h();
                    return None;
                };
                let data = match self.substitute(&step.args, now) {
                    Ok(d) => d,
                    Err(e) => {
                        self.errors
                            .push(format!("dialplan line {}: {e}", step.line));
                        self.enter_h();
                        return None;
                    }
                };
                (
                    step.app,
                    data,
                    self.context.clone(),
                    self.exten.clone(),
                    self.priority,
                )
            }
        };
        self.started_any = true;
        let mut run = AppRun {
            channel: self.channel.clone(),
            context: ctx,
            exten,
            priority: prio,
            app: app.clone(),
            data: data.clone(),
            started: now,
            ended: now,
            interrupted: false,
            note: None,
        };
        let outcome = self.exec_app(&app, &data, now, env, &mut run.note);
        match outcome {
            AppOutcome::Continue => {
                self.apps.push(run);
                if self.single.is_some() {
                    self.enter_h();
                } else {
                    self.priority += 1;
                }
                None
            }
            AppOutcome::HangUp => {
                self.apps.push(run);
                self.enter_h();
                None
            }
            AppOutcome::Goto(p) => {
                self.apps.push(run);
                self.priority = p;
                None
            }
            AppOutcome::Lasts(ms) => {
                let end = now + ms;
                let (until, interrupted) = match self.hangup_at {
                    Some(h) if h < end => (h, true),
                    _ => (end, false),
                };
                run.ended = until;
                run.interrupted = interrupted;
                self.apps.push(run);
                if ms == 0 && !interrupted {
                    if self.single.is_some() {
                        self.enter_h();
                    } else {
                        self.priority += 1;
                    }
                    return None;
                }
                self.pending = Some(Pending { until, interrupted });
                Some(until)
            }
        }
    }

    /// The `h` extension, after hangup: everything is instant, waits and playbacks fail.
    fn run_h(&mut self, now: FakeMillis, env: &Env<'_>) {
        let Some(dp) = env.dialplan else { return };
        if !dp.has_exten(&self.context, "h") {
            return;
        }
        let mut prio = 1;
        while let Some(step) = dp.step(&self.context, "h", prio).cloned() {
            let data = match self.substitute(&step.args, now) {
                Ok(d) => d,
                Err(e) => {
                    self.errors
                        .push(format!("dialplan line {}: {e}", step.line));
                    return;
                }
            };
            let mut run = AppRun {
                channel: self.channel.clone(),
                context: self.context.clone(),
                exten: "h".to_string(),
                priority: prio,
                app: step.app.clone(),
                data: data.clone(),
                started: now,
                ended: now,
                interrupted: false,
                note: None,
            };
            let outcome = match step.app.as_str() {
                "Playback" | "Wait" | "AMD" | "Read" | "WaitForSilence" => {
                    run.note = Some("channel already hung up".to_string());
                    AppOutcome::HangUp
                }
                _ => self.exec_app(&step.app, &data, now, env, &mut run.note),
            };
            self.apps.push(run);
            if outcome == AppOutcome::HangUp {
                return;
            }
            prio += 1;
        }
    }

    fn exec_app(
        &mut self,
        app: &str,
        data: &str,
        now: FakeMillis,
        env: &Env<'_>,
        note: &mut Option<String>,
    ) -> AppOutcome {
        let canon = APPS.iter().find(|a| a.eq_ignore_ascii_case(app)).copied();
        match canon {
            Some("Answer") | Some("NoOp") => AppOutcome::Continue,
            Some("Hangup") => AppOutcome::HangUp,
            Some("Set") => match data.split_once('=') {
                Some((name, value)) => match self.assign(name, value, now) {
                    Ok(()) => AppOutcome::Continue,
                    Err(e) => {
                        self.errors.push(format!("Set({data}): {e}"));
                        AppOutcome::HangUp
                    }
                },
                None => {
                    *note = Some("Set requires a variable=value".to_string());
                    AppOutcome::Continue
                }
            },
            Some("Wait") => match data.trim().parse::<f64>() {
                Ok(s) if s >= 0.0 => AppOutcome::Lasts((s * 1000.0) as i64),
                _ => {
                    self.errors
                        .push(format!("Wait({data}): not a number of seconds"));
                    AppOutcome::HangUp
                }
            },
            Some("Playback") => self.playback(data, env, note),
            Some("GotoIf") => self.goto_if(data, env),
            Some("AMD") => self.amd(data, now, note),
            Some("WaitForSilence") => self.wait_for_silence(data, now, note),
            Some("Read") => self.read(data, now, env, note),
            _ => {
                // Application form only: the dialplan parser refuses unknown applications.
                *note = Some(format!("application {app} is not simulated by the fake"));
                self.warnings
                    .push(format!("application {app}({data}) not simulated"));
                AppOutcome::Continue
            }
        }
    }

    fn playback(&mut self, data: &str, env: &Env<'_>, note: &mut Option<String>) -> AppOutcome {
        let (files, options) = data.split_once(',').unwrap_or((data, ""));
        if !options.trim().is_empty() {
            self.errors.push(format!(
                "Playback option `{options}` is not supported by the fake"
            ));
            return AppOutcome::HangUp;
        }
        let mut total = 0;
        let mut failed = Vec::new();
        for name in files.split('&') {
            match audio_millis(name, env.sounds_dir) {
                Ok(ms) => total += ms,
                Err(why) => failed.push(format!("{name}: {why}")),
            }
        }
        // app_playback warns, sets PLAYBACKSTATUS=FAILED and lets the dialplan go on.
        if failed.is_empty() {
            self.vars.insert("PLAYBACKSTATUS".into(), "SUCCESS".into());
        } else {
            self.vars.insert("PLAYBACKSTATUS".into(), "FAILED".into());
            let w = format!("Playback failed for {}", failed.join("; "));
            self.warnings.push(w.clone());
            *note = Some(w);
        }
        AppOutcome::Lasts(total)
    }

    /// `Set(name=value)`: a variable, or a function write.
    fn assign(&mut self, name: &str, value: &str, _now: FakeMillis) -> Result<(), String> {
        if let Some((func, rest)) = name.split_once('(') {
            let Some(args) = rest.strip_suffix(')') else {
                return Err(format!("malformed function call `{name}`"));
            };
            if func.eq_ignore_ascii_case("FILE") {
                return file_write(args, value);
            }
            if func.eq_ignore_ascii_case("CDR") {
                self.cdr.push((args.to_string(), value.to_string()));
                return Ok(());
            }
            return Err(format!("function `{func}` is not supported by the fake"));
        }
        let plain = name
            .strip_prefix("__")
            .or_else(|| name.strip_prefix('_'))
            .unwrap_or(name);
        self.vars.insert(plain.to_string(), value.to_string());
        Ok(())
    }

    /// `${NAME}`, `${FILTER(..)}` and `$[...]`; unknown variables are empty, as in Asterisk.
    fn substitute(&self, text: &str, now: FakeMillis) -> Result<String, String> {
        let var = |name: &str| match name {
            "EPOCH" => secs(now).to_string(),
            "CHANNEL" => self.channel.clone(),
            _ => self.vars.get(name).cloned().unwrap_or_default(),
        };
        super::expr::substitute(text, &var)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AppOutcome {
    Continue,
    HangUp,
    Lasts(FakeMillis),
    /// Go on at this priority of the same extension.
    Goto(i32),
}

/// `FILE(path,offset,length,options,format)=value`, for the forms the fake knows.
fn file_write(args: &str, value: &str) -> Result<(), String> {
    let parts: Vec<&str> = args.split(',').collect();
    let path = parts[0];
    let offset = parts.get(1).copied().unwrap_or("");
    let length = parts.get(2).copied().unwrap_or("");
    let options = parts.get(3).copied().unwrap_or("");
    let format = parts.get(4).copied().unwrap_or("");
    if parts.len() > 5 || !offset.is_empty() || !length.is_empty() {
        return Err(format!(
            "FILE({args}): offsets/lengths are not supported by the fake"
        ));
    }
    let mut opts: Vec<char> = options.chars().collect();
    opts.sort_unstable();
    let (append, line) = match opts.as_slice() {
        [] => (false, false),
        ['a'] => (true, false),
        ['a', 'l'] => (true, true),
        _ => {
            return Err(format!(
                "FILE options `{options}` are not supported by the fake"
            ));
        }
    };
    if !(format.is_empty() || (line && format == "u")) {
        return Err(format!(
            "FILE format `{format}` is not supported by the fake"
        ));
    }
    if path.is_empty() {
        return Err("FILE: empty path".into());
    }
    let mut f = OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(path)
        .map_err(|e| format!("FILE: cannot open {path}: {e}"))?;
    let mut text = value.as_bytes().to_vec();
    if line {
        text.push(b'\n');
    }
    f.write_all(&text)
        .map_err(|e| format!("FILE: cannot write {path}: {e}"))
}

/// Length of a sound as Asterisk would play it, trying the formats it can read.
pub(super) fn audio_millis(name: &str, sounds_dir: &Path) -> Result<FakeMillis, String> {
    let base = if Path::new(name).is_absolute() {
        PathBuf::from(name)
    } else {
        sounds_dir.join(name)
    };
    let with = |ext: &str| PathBuf::from(format!("{}.{ext}", base.display()));
    for (ext, rate) in [
        ("wav", 8000u32),
        ("sln", 8000),
        ("sln16", 16000),
        ("wav16", 16000),
    ] {
        let p = with(ext);
        if !p.is_file() {
            continue;
        }
        if ext.starts_with("sln") {
            let len = std::fs::metadata(&p).map_err(|e| e.to_string())?.len();
            return Ok((len as i64 / 2) * 1000 / i64::from(rate));
        }
        let reader = hound::WavReader::open(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        let spec = reader.spec();
        if spec.sample_rate != rate || spec.channels != 1 || spec.bits_per_sample != 16 {
            return Err(format!(
                "{} is {} Hz, {} channel(s), {} bit: `.{ext}` must be {rate} Hz mono 16-bit",
                p.display(),
                spec.sample_rate,
                spec.channels,
                spec.bits_per_sample
            ));
        }
        return Ok(i64::from(reader.duration()) * 1000 / i64::from(rate));
    }
    Err("no .wav, .sln, .sln16 or .wav16 file".into())
}
