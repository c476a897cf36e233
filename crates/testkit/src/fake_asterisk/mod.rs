//! A faithful fake of Asterisk's call-file spooler (`pbx_spool`), for dialout's tests.
//!
//! **Deliberate duplicate.** This module reads call files on its own, by Asterisk's rules,
//! and never calls dialout's parser or renderer (the crate does not even depend on
//! `dialout-callfile` or `dialout-dialer`). It is the one place where the project's "no code
//! written twice" rule does not apply: a second, independent reading is what lets a wrong
//! file fail a test as it would fail on a real PBX. Its specification is
//! `shared/reference/asterisk-callfiles.md`; where the fake and that page differ, the page wins.
//!
//! # Two ways to run it
//!
//! **Step mode** ([`FakeAsteriskBuilder::build`]): nothing runs on its own. The test spools
//! files, then calls [`FakeAsterisk::run_until_idle`] (or `run_until`, `run_for`,
//! `run_until_observed`). Each run first takes the files that appeared since the last one
//! (a new name or a new inode, as inotify would report a rename or a first close), then
//! processes events in fake-time order, **jumping** the clock from one event to the next.
//! A day of retries costs what its file operations cost, nothing more.
//!
//! ```no_run
//! use dialout_testkit::fake_asterisk::{Callee, Callees, FakeAsterisk, Status};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut fake = FakeAsterisk::builder("/tmp/spool/outgoing")
//!     .start_at_unix(1_800_000_000)
//!     .dialplan_file("dialplan/extensions.conf")?
//!     .sounds_dir("/tmp/sounds")
//!     .callees(Callees::new(Callee::answers()).exact("PJSIP/555", Callee::busy()))
//!     .build()?;
//! // ... spool files into /tmp/spool/outgoing ...
//! fake.run_until_idle()?;
//! let obs = fake.observations();
//! assert_eq!(obs.end_of("x.call").map(|e| e.status), Some(Status::Completed));
//! # Ok(()) }
//! ```
//!
//! **Background mode** ([`FakeAsteriskBuilder::spawn`]`(speed)`): a thread watches the spool
//! dir with inotify (the `notify` crate): a file renamed in is taken at once, a file created in
//! place at its first close-write; a rescan (default every 500 ms, [`FakeAsteriskBuilder::rescan_every`])
//! catches anything inotify missed. Fake time starts at the wall clock and runs `speed` times
//! faster (`spawn(1000.0)`: one fake second per real millisecond). The test inspects it with
//! [`BackgroundAsterisk::observations`], [`BackgroundAsterisk::wait_until`] and
//! [`BackgroundAsterisk::wait_idle`] while a real process (say `dialout worker`) writes files
//! and is killed. With `speed > 1` fake time runs ahead of the wall clock, so an mtime a real
//! process sets "60 s from now" comes due early; use `speed` 1.0 to test such scheduling.
//!
//! # Keeping 1,000 calls fast
//!
//! Every duration in the fake — ringing, WaitTime, Playback (the WAV's length), Wait,
//! RetryTime, mtime holds — is fake time. In step mode the clock jumps over idle stretches;
//! in background mode a high speed shrinks them (at 1000×, a 30 s message takes 30 ms and a
//! RetryTime of 300 s takes 0.3 s). Tests keep real WaitTime/RetryTime values: no test needs
//! unrealistically short ones. `tests/fake_asterisk_scale.rs` runs 1,000 calls with retries
//! through the shipped dialplan in both modes, each in a few seconds of a debug build.
//!
//! # Callees
//!
//! [`Callees`] maps a channel (`Tech/Dest` exactly as in the file, or a predicate) to a
//! [`Callee`]: answers and stays on, answers then hangs up after N seconds, busy (REASON 5),
//! no answer until WaitTime (3), congestion (8), rejects (1), unreachable (0). A sequence gives
//! the n-th dial of a channel the n-th behaviour (busy, then answers). An unknown channel
//! technology ([`FakeAsteriskBuilder::technologies`]) fails with REASON 0 without a callee.
//!
//! # Observations
//!
//! [`Observations`] holds every [`Attempt`] (file, channel, the [`CallFile`] as the fake read
//! it, attempt number, callee, outcome/REASON, every application run with its substituted data
//! and fake start/end, channel variables, warnings and errors), every [`FileEnd`] (status and
//! whether archived, deleted, left or gone), dials per file name, the most files seen in the
//! spool at once, and the `DelayedRetry` count. [`Observations::errors`] lists whatever left
//! the fake's supported subset: assert it is empty.
//!
//! # Dialplan subset
//!
//! See [`Dialplan`]: `[context]`, `exten => NAME,PRIO,App(args)`, `same => n,App(args)`, `;`
//! comments, `${VAR}` (call-file `Set:` variables, `REASON`, `EPOCH` from the fake clock,
//! `AST_OUTGOING_ATTEMPT`, `PLAYBACKSTATUS`, `CHANNEL`), the `h` and `failed` extensions and
//! Answer, Playback, Hangup, Wait, NoOp, Set (with `FILE(path,,,al,u)`). Anything else is a
//! [`DialplanError`] naming it, at load time.
//!
//! For interactive calls (issue 29): priority labels `n(name)`, `GotoIf(cond?a[:b])` within
//! the extension, `${FILTER(keys,text)}`, `$[...]` with blank-separated operators, and
//! `AMD()`, `WaitForSilence(ms,1,timeout)` and `Read(var,prompt,max,t(enders),1,timeout)`,
//! timed as `shared/reference/asterisk-interactive.md` records (see the `ivr` module) for the
//! [`Party`] a [`Callee::Talks`] is: a person who speaks and presses keys at given times,
//! silence, no media, or an answering machine with a greeting and a beep. Keys pressed before
//! `Read()` starts are lost; a plain answering callee is a person who presses nothing.
//!
//! # Facts of the reference → tests
//!
//! Test files are `crates/testkit/tests/fake_asterisk_{reader,lifecycle,dialplan,background,scale}.rs`.
//!
//! | fact (reference section) | test |
//! | --- | --- |
//! | *Where and when:* `outgoing`; `outgoing_done` created on first use | `lifecycle::archive_dir_is_created_on_first_use` |
//! | scanned once at start-up | `lifecycle::files_present_at_start_are_taken` |
//! | every regular file, no name filter (dot-files, no `.call`) | `lifecycle::dot_files_and_names_without_call_are_dialed` |
//! | a renamed-in file is taken at once | `background::renamed_file_is_taken_at_once` |
//! | a file created in place is taken at its first close, half-written | `background::file_written_in_place_is_read_at_first_close` |
//! | the mtime is the schedule (1 s resolution) | `lifecycle::future_mtime_holds_the_file_until_then`, `background::future_mtime_is_held_in_fake_time` |
//! | an mtime set after writing in place does not delay | `background::mtime_set_after_writing_in_place_does_not_delay` |
//! | only regular files directly in `outgoing`; a subdirectory is skipped (also across a restart); rename from it is taken | `lifecycle::subdirectory_and_its_files_are_ignored`, `background::staging_subdirectory_is_not_watched_and_rename_from_it_is_taken` |
//! | Asterisk appends and changes the mtime; utime needs ownership, else the schedule does not survive a restart | `lifecycle::attempt_appends_start_retry_and_bumps_mtime`, `lifecycle::file_not_owned_keeps_its_mtime` |
//! | an unreadable file is deleted without archive | `lifecycle::unreadable_file_is_deleted_without_archive` |
//! | *Grammar:* key before the first `:` | `reader::first_colon_separates_key_and_value` |
//! | keys case-insensitive | `reader::keys_are_case_insensitive` |
//! | keys not trimmed (` Channel:`, `Channel :`) | `reader::keys_are_not_trimmed` |
//! | a line without `:` is ignored | `reader::line_without_colon_is_ignored` |
//! | leading blanks skipped, trailing bytes < 33 trimmed, CRLF works | `reader::value_blanks_and_control_bytes_are_trimmed`, `reader::crlf_files_work` |
//! | `;` comments, `\;` escape | `reader::semicolon_starts_a_comment_unless_escaped` |
//! | `#` at line start or after blank/tab; `a#b` kept, `a #b` cut; no escape | `reader::hash_comment_rules` |
//! | 1022 bytes per line, longer skipped | `reader::line_of_1022_is_read_1023_is_skipped` |
//! | old Asterisk: 255-byte chunks, the rest injects keys | `reader::old_asterisk_long_line_injects_a_key` |
//! | a last line without newline is read | `reader::last_line_without_newline_is_read` |
//! | `Set:` function names are evaluated (`FILE` writes) | `dialplan::set_line_with_file_function_writes_a_file` |
//! | unknown keys ignored | `reader::unknown_keys_are_ignored` |
//! | last value wins; a smuggled `Application:` runs | `reader::repeated_key_last_wins`, `dialplan::smuggled_second_application_runs` |
//! | *Keys:* Channel split at the first `/`; `Local/..&SIP/..` expires undialed | `reader::channel_splits_at_first_slash`, `dialplan::local_channel_with_ampersand_expires_undialed` |
//! | CallerID forms, 79 bytes, number shrunk | `reader::caller_id_forms` |
//! | CallerID split as `ast_callerid_split` does (from main/callerid.c): one pair of quotes, last `<`, last `>` after it, blanks = bytes < 33, backslash escapes in the name, 79-byte cut inside a character | `reader::caller_id_is_split_as_asterisk_does` |
//! | Application cut to 31 bytes, Context and Extension to 79 when dialed; `WaitTime * 1000` wraps as an int (from main/pbx.c, main/dial.c) | `reader::application_context_extension_are_cut_and_wait_time_overflows`, `lifecycle::long_application_name_is_cut_to_31_bytes`, `lifecycle::overflowing_wait_time_rings_without_limit_or_for_a_wrapped_time` |
//! | Application wins over Context | `reader::application_wins_over_context`, `dialplan::application_form_runs_the_application_by_name` |
//! | Priority a number, default 1 | `reader::priority_defaults_to_1_and_must_be_a_positive_number` |
//! | WaitTime default 45, < 1 → 45 | `reader::wait_time_default_and_replacement`, `dialplan::wait_time_default_rings_45_seconds` |
//! | MaxRetries default 0, attempts = +1, negative expires at once | `reader::max_retries_default_and_parsing`, `lifecycle::max_retries_counts_attempts`, `lifecycle::negative_max_retries_expires_at_once` |
//! | RetryTime default 300, < 1 → 300 | `reader::retry_time_default_and_replacement`, `lifecycle::failed_attempt_appends_end_retry_and_retries_later` |
//! | Account, Codecs | `reader::account_and_codecs_are_read`, `dialplan::failed_extension_runs_on_every_failed_attempt` |
//! | Set/SetVar split at the first `=`, name untrimmed, `_`/`__` | `reader::set_and_setvar_split_at_first_equals`, `dialplan::set_variables_reach_dialplan_with_inheritance_prefixes` |
//! | AlwaysDelete truthiness (yes/true/y/t/1/on) | `reader::always_delete_truthiness`, `lifecycle::always_delete_no_leaves_a_future_file` |
//! | `early_media`, not `EarlyMedia` | `reader::early_media_needs_the_underscore` |
//! | AMI-only keys are unknown | `reader::ami_only_keys_are_unknown` |
//! | validity: Channel + (Application or Extension); invalid archived `Failed` only if Archive was read | `reader::validity_needs_channel_and_application_or_extension`, `lifecycle::file_without_channel_or_target_is_invalid` |
//! | *Life cycle:* `StartRetry` after an empty line, mtime bumped | `lifecycle::attempt_appends_start_retry_and_bumps_mtime` |
//! | `EndRetry`, next attempt RetryTime later | `lifecycle::failed_attempt_appends_end_retry_and_retries_later` |
//! | `DelayedRetry`/`AbortRetry` | `reader::retry_bookkeeping_lines_are_counted`, `lifecycle::crash_then_restart_dials_again`, `lifecycle::resubmitted_archive_sits_in_outgoing` |
//! | `AST_OUTGOING_ATTEMPT` | `lifecycle::ast_outgoing_attempt_counts_attempts` |
//! | the attempt blocks: archive at hangup | `lifecycle::archive_appears_at_hangup` |
//! | archive under the same name, overwriting | `lifecycle::archive_overwrites_same_name` |
//! | rename, then `Status:` with no newline before it | `lifecycle::status_is_appended_after_the_rename_without_newline`, `background::archive_race_is_visible_to_a_watcher` |
//! | `Completed` = answered (missing context/app, 1 s call) | `lifecycle::answered_is_completed_even_without_context` |
//! | `Expired` = every failure alike | `lifecycle::all_failures_are_expired` |
//! | without Archive: deleted, no trace | `lifecycle::without_archive_the_file_is_deleted` |
//! | *Dialplan:* `failed` on every failed attempt, REASON, Set vars, account, pseudo channel | `dialplan::failed_extension_runs_on_every_failed_attempt` |
//! | REASON 0/1/3/5/8 | `dialplan::reason_codes_per_callee` |
//! | the dialplan runs on answer; `h` sees how far it got | `dialplan::shipped_dialplan_writes_report_lines`, `dialplan::h_runs_after_callee_hangs_up_mid_playback` |
//! | `Set(FILE(path,,,al,u)=text)` appends a line | `dialplan::shipped_dialplan_writes_report_lines`, `dialplan::wait_and_hangup_and_epoch_follow_the_fake_clock` |
//! | *Crashes:* clean stop → call in progress `Expired` | `lifecycle::clean_stop_archives_call_in_progress_expired`, `dialplan::stop_runs_h_for_an_answered_call` |
//! | kill -9 → dialed again even with MaxRetries 0; archive may be lost | `lifecycle::crash_then_restart_dials_again`, `lifecycle::crash_between_rename_and_status_loses_the_status`, `lifecycle::short_retry_time_after_restart_archives_expired_during_the_call`, `background::crash_and_restart_dial_again_in_background` |
//! | a resubmitted archive sits in `outgoing` for ever | `lifecycle::resubmitted_archive_sits_in_outgoing` |
//! | *Audio:* name without extension; `.wav` 8 kHz mono 16-bit, `.sln`, `.sln16`/`.wav16` | `dialplan::playback_reads_sln_and_wav16`, `dialplan::shipped_dialplan_writes_report_lines` |
//! | 16–22 kHz audio must be converted for `.wav` | `dialplan::playback_of_a_16khz_wav_fails` |
//!
//! Other tests exercise the harness itself: the callee sequences, the subset errors of the
//! dialplan, `run_until_observed`, dial counts, pacing under a concurrent writer and the
//! 1,000-call runs.
//!
//! Not covered: the cross-filesystem rename (a writer's concern, nothing for the spooler to
//! do) and AMI Originate (a later backend).
//!
//! # Read from Asterisk's source, beyond the page
//!
//! - Queue mechanics of `pbx_spool.c`: a launched attempt re-queues the file at start +
//!   RetryTime, so after a quick failure the next attempt starts RetryTime after the previous
//!   *start*; the last failed attempt writes no `EndRetry`; a `Retry:` line counts as a retry.
//! - `app_playback`: a missing or unreadable sound only warns (`PLAYBACKSTATUS=FAILED`) and the
//!   dialplan goes on (`dialplan::playback_of_a_missing_file_warns_and_continues`).
//! - pbx.c copies the Application into `char[32]` and Context/Extension into `char[80]`
//!   (`struct pbx_outgoing`), so longer ones are cut when dialed ([`CallFile::dialed_application`]
//!   and friends); the `failed` extension still gets the whole context. A WaitTime above
//!   2,147,483 wraps `waittime * 1000`: a non-positive timeout means no limit
//!   (`ast_dial_set_global_timeout`), played as [`UNLIMITED_RING_SECS`] of ringing.
//! - `h` runs at the end of every PBX run, the `failed` pseudo channel's included
//!   (`dialplan::h_also_runs_after_the_failed_extension`).
//! - A file created in `outgoing` but never opened (a hard link) is taken 2 s after its
//!   creation (`background::hard_link_created_but_never_opened_is_taken_after_two_seconds`).
//!
//! # Simplifications
//!
//! Local channels only check that the target extension exists, then use the chosen callee
//! (no second leg); `early_media`, Codecs and CallerID are read and recorded, not simulated;
//! queue entries of a file the fake removed are dropped (Asterisk keeps them; they find
//! nothing); `max_files_in_spool` is sampled at scans and inotify events. The rescan fallback
//! is the fake's own safety net (Asterisk relies on inotify alone); it skips files inotify
//! reported created and not yet closed.

mod apps;
mod callee;
mod clock;
mod dialplan;
mod expr;
pub(crate) mod ivr;
mod reader;
mod runner;
mod spooler;

pub use callee::{Callee, Callees, Party, UNLIMITED_RING_SECS, reason};
pub use clock::{FakeMillis, real_unix_millis, secs};
pub use dialplan::{AppRun, Dialplan, DialplanError, Step};
pub use reader::{
    CallFile, CallerId, Invalid, LineMode, MAX_LINE, ast_true, read_call_file, scan_int,
};
pub use runner::{BackgroundAsterisk, FakeAsterisk, FakeAsteriskBuilder, FakeError};
pub use spooler::{Attempt, AttemptOutcome, Disposition, FileEnd, Observations, Status};
