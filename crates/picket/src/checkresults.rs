//! `check_result_path`: check-result files dropped by agents (NRDP's PHP
//! server, `nsca` with `check_result_path`, scripts) are read as Nagios 4
//! reads its spool (`process_check_result_queue`): every
//! `check_result_reaper_frequency` seconds, the files named `c` plus six
//! characters that have a `<name>.ok` marker are parsed
//! (`picket_nsca_proto::command::read_checkresults`, the owner of the format),
//! handed to the engine as the equivalent external commands (journaled like
//! command-file lines), then deleted with their marker. Files older than
//! `max_check_result_file_age` (by `file_time`, else their mtime) are
//! deleted unread; what is not a regular file is left alone; every problem
//! is a `nagios.log` warning. Results go to the engine as passive results
//! whatever their `check_type`. A missing directory is created.
//!
//! **Who a file is from.** A spool file carries no identity, so, as Nagios,
//! the directory's permissions decide who may drop results. Picket can also
//! tie a file to an identity of `api_identities_file` by its owner's uid
//! (`check_result_uid_identity=UID:NAME`, repeatable; `check_result_identity=NAME`
//! for every other owner): each result of such a file is decided by that
//! identity's `hosts`/`services` scope like a result from any other path; a
//! refused one is skipped with a `Warning: authz: refusing …` line naming the
//! identity and the file, and counted in
//! `picket_ingest_total{via="check-result-spool",identity,outcome}`, while the
//! file's other results are taken. A file whose owner has no identity is taken
//! whole (Nagios' behaviour) unless `check_result_identity` is set.

use std::collections::HashMap;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::bail;

use crate::input::Input;

/// The identity keys as written: `(name, file:line)` for every other owner, and
/// per uid.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct SpoolAuthKeys {
    pub(crate) default: Option<(String, String)>,
    pub(crate) uids: Vec<(u32, String, String)>,
}

impl SpoolAuthKeys {
    /// Reads `check_result_identity` and `check_result_uid_identity`
    /// (`(key, value, file:line)` in file order).
    pub(crate) fn parse(keys: &[(String, String, String)]) -> anyhow::Result<SpoolAuthKeys> {
        let mut a = SpoolAuthKeys::default();
        for (key, v, origin) in keys {
            match key.as_str() {
                "check_result_identity" => {
                    a.default = Some((crate::web::identity_key(v, origin, key)?, origin.clone()));
                }
                "check_result_uid_identity" => {
                    let (uid, id) = crate::web::uid_identity_key(v, origin, key)?;
                    if a.uids.iter().any(|(u, _, _)| *u == uid) {
                        bail!("{origin}: check_result_uid_identity: uid {uid} is mapped twice");
                    }
                    a.uids.push((uid, id, origin.clone()));
                }
                _ => bail!("{origin}: unknown key {key}"),
            }
        }
        Ok(a)
    }

    /// Does any key name an identity?
    pub(crate) fn names_identities(&self) -> bool {
        self.default.is_some() || !self.uids.is_empty()
    }

    /// The names resolved against `api_identities_file`'s identities (`None`:
    /// the file is not set); an unknown name is an error naming its file:line.
    pub(crate) fn resolve(
        &self,
        identities: Option<&[picket_authz::Identity]>,
    ) -> anyhow::Result<SpoolAuth> {
        let find = |n: &String, origin: &String| -> anyhow::Result<SpoolIdentity> {
            let i = crate::web::find_identity(identities, n, origin, "check_result_path files")?;
            Ok(SpoolIdentity {
                name: i.name.clone(),
                scope: Arc::new(i.scope.clone()),
            })
        };
        let default = match &self.default {
            Some((n, o)) => Some(find(n, o)?),
            None => None,
        };
        let mut uids = HashMap::new();
        for (uid, n, o) in &self.uids {
            uids.insert(*uid, find(n, o)?);
        }
        Ok(SpoolAuth { default, uids })
    }
}

/// An identity a spool file's results are decided by.
#[derive(Debug, Clone)]
pub(crate) struct SpoolIdentity {
    pub(crate) name: String,
    pub(crate) scope: Arc<picket_authz::Scope>,
}

/// [`SpoolAuthKeys`] resolved: who a file owned by a uid is.
#[derive(Debug, Clone, Default)]
pub(crate) struct SpoolAuth {
    pub(crate) default: Option<SpoolIdentity>,
    pub(crate) uids: HashMap<u32, SpoolIdentity>,
}

impl SpoolAuth {
    /// The identity of a file owned by `uid` (`None`: taken unscoped).
    pub(crate) fn for_uid(&self, uid: u32) -> Option<&SpoolIdentity> {
        self.uids.get(&uid).or(self.default.as_ref())
    }

    /// `check_result_path files: uid 1001 is web-agent; every other owner: unscoped`.
    pub(crate) fn describe(&self) -> String {
        let mut parts: Vec<String> = {
            let mut u: Vec<_> = self.uids.iter().collect();
            u.sort_by_key(|(uid, _)| **uid);
            u.into_iter()
                .map(|(uid, i)| format!("uid {uid} is {}", picket_authz::safe(&i.name)))
                .collect()
        };
        parts.push(match &self.default {
            Some(i) => format!("every other owner is {}", picket_authz::safe(&i.name)),
            None => "every other owner: unscoped (the directory's permissions decide)".into(),
        });
        format!("check_result_path files: {}", parts.join("; "))
    }
}

/// Where the spool reader counts its verdicts.
#[derive(Clone)]
pub(crate) struct SpoolReport {
    pub(crate) metrics: Arc<picket_web::Metrics>,
    pub(crate) ledger: Arc<Mutex<picket_web::Ledger>>,
}

impl SpoolReport {
    /// Whether `id` may submit the command line `l` (from `file`, owned by `uid`); a
    /// refusal is logged, and either verdict counted.
    fn permits(&self, id: &SpoolIdentity, l: &[u8], file: &Path, uid: u32) -> bool {
        match id.scope.decide(l) {
            Ok(()) => {
                let object = picket_authz::command_body(l)
                    .map(|b| picket_authz::classify(b).object())
                    .unwrap_or_default();
                self.count(&id.name, picket_web::Outcome::Accepted, &object);
                true
            }
            Err(denial) => {
                let r = picket_authz::Refusal {
                    via: picket_web::Via::Spool,
                    identity: id.name.clone(),
                    peer: format!("check result file {} (uid {uid})", file.display()),
                    denial,
                };
                tracing::warn!(target: "authz", "{}", r.log_line());
                self.count(&id.name, r.denial.outcome(), "");
                false
            }
        }
    }

    fn count(&self, identity: &str, outcome: picket_web::Outcome, object: &str) {
        let via = picket_web::Via::Spool;
        picket_web::count_ingest(&self.metrics, &self.ledger, via, identity, outcome, object);
    }
}

/// How a spool file is opened: no symlink followed, no wait on a FIFO, no terminal.
fn open_flags() -> i32 {
    use nix::fcntl::OFlag;
    (OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_NOCTTY).bits()
}

/// A file bigger than this is refused (deleted with a warning).
const MAX_FILE: u64 = 1 << 20;

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn warn(msg: &str) {
    tracing::warn!(target: "checkresults", "{}", picket_engine::output::log_safe(msg));
}

/// Starts the reaper thread.
pub(crate) fn start(
    dir: PathBuf,
    every: Duration,
    max_age: u64,
    tx: SyncSender<Input>,
    auth: SpoolAuth,
    report: SpoolReport,
) -> anyhow::Result<()> {
    std::thread::Builder::new()
        .name("picket-checkresults".into())
        .spawn(move || {
            // Nagios 4 wants the directory to exist; Picket makes it (a failure
            // is reported by the first pass).
            let _ = std::fs::create_dir_all(&dir);
            let mut warned = false;
            loop {
                match reap(&dir, max_age, &tx, &auth, &report) {
                    Ok(_) => warned = false,
                    Err(Reap::Gone) => return,
                    Err(Reap::Dir(e)) => {
                        if !warned {
                            warn(&format!("check_result_path {}: {e}", dir.display()));
                            warned = true;
                        }
                    }
                }
                std::thread::sleep(every);
            }
        })?;
    Ok(())
}

enum Reap {
    /// The engine is gone: stop.
    Gone,
    /// The directory cannot be read.
    Dir(std::io::Error),
}

/// One pass over `dir`; returns the results handed on.
fn reap(
    dir: &Path,
    max_age: u64,
    tx: &SyncSender<Input>,
    auth: &SpoolAuth,
    report: &SpoolReport,
) -> Result<usize, Reap> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(Reap::Dir)?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.len() == 7 && n.starts_with('c'))
        .collect();
    names.sort();
    let mut handed = 0;
    for name in names {
        let file = dir.join(&name);
        let ok = dir.join(format!("{name}.ok"));
        if !ok.exists() {
            continue;
        }
        // Opened once (not following a symlink, not blocking on a FIFO) and everything —
        // type, size, owner, contents — taken from that descriptor, so the owner whose
        // identity decides the results is the owner of the bytes read.
        let opened = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(open_flags())
            .open(&file);
        let (mut handle, meta) = match opened.and_then(|f| f.metadata().map(|m| (f, m))) {
            Ok(x) => x,
            Err(e) if e.raw_os_error() == Some(nix::errno::Errno::ELOOP as i32) => {
                warn(&format!(
                    "check result {} is not a regular file; left alone",
                    file.display()
                ));
                continue;
            }
            Err(_) => continue,
        };
        if !meta.is_file() {
            warn(&format!(
                "check result {} is not a regular file; left alone",
                file.display()
            ));
            continue;
        }
        let remove = || {
            let _ = std::fs::remove_file(&file);
            let _ = std::fs::remove_file(&ok);
        };
        if meta.len() > MAX_FILE {
            warn(&format!(
                "check result {} is over {MAX_FILE} bytes; deleted unread",
                file.display()
            ));
            remove();
            continue;
        }
        let mut data = Vec::new();
        if let Err(e) = std::io::Read::read_to_end(
            &mut std::io::Read::take(&mut handle, MAX_FILE + 1),
            &mut data,
        ) {
            warn(&format!("check result {}: {e}", file.display()));
            continue;
        }
        if data.len() as u64 > MAX_FILE {
            // It grew past the limit after the size was read.
            warn(&format!(
                "check result {} is over {MAX_FILE} bytes; deleted unread",
                file.display()
            ));
            remove();
            continue;
        }
        let t = now();
        let (file_time, results) = picket_nsca_proto::command::read_checkresults(&data);
        let mtime = meta
            .modified()
            .ok()
            .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(0));
        let age = t.saturating_sub(file_time.or(mtime).unwrap_or(t));
        if max_age > 0 && age > i64::try_from(max_age).unwrap_or(i64::MAX) {
            warn(&format!(
                "check result {} is {age} s old (max_check_result_file_age={max_age}); deleted unread",
                file.display()
            ));
            remove();
            continue;
        }
        let who = auth.for_uid(meta.uid());
        let mut lines = Vec::new();
        for (i, r) in results.iter().enumerate() {
            match r.command_line(t) {
                Ok(l) => {
                    if who.is_none_or(|id| report.permits(id, &l, &file, meta.uid())) {
                        lines.extend_from_slice(&l);
                        handed += 1;
                    }
                }
                Err(e) => warn(&format!(
                    "check result {} (result {}): {e}; skipped",
                    file.display(),
                    i + 1
                )),
            }
        }
        if !lines.is_empty() && tx.send(Input::Lines(lines)).is_err() {
            return Err(Reap::Gone);
        }
        // Deleted only once the engine's channel has it (journaled there).
        remove();
    }
    Ok(handed)
}
