//! The side effects of patterns and options, behind a trait so that evaluation stays
//! sans-I/O. `tcpd` performs them; `tcpdmatch`/`tcpdchk` use a dry run ([`DryRun`]).

/// Result of reading a file for a `/file` pattern or a `banners` option.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileRead {
    /// `ENOENT`: silently no match / no banner.
    Missing,
    /// Another error, with its `strerror()` text.
    Error(String),
    /// The bytes of the file.
    Content(Vec<u8>),
}

/// Side effects. Every method has a default that does nothing (a dry run that cannot
/// read files): implement what you need.
pub trait Effects {
    /// Reads the file named by a `/path` client pattern.
    fn pattern_file(&mut self, _path: &str) -> FileRead {
        FileRead::Missing
    }

    /// `banners DIR`: reads `DIR/DAEMON`. `dir_error` is returned when the file cannot be
    /// opened and `stat(DIR)` fails (logged as `DIR: %m`).
    fn banner_file(&mut self, _dir: &str, _daemon: &str) -> BannerRead {
        BannerRead::Missing
    }

    /// Writes already-expanded banner bytes to the client.
    fn write_banner(&mut self, _data: &[u8]) {}

    /// `spawn CMD` (already expanded and sanitised): run `/bin/sh -c CMD` with
    /// stdin/stdout/stderr on `/dev/null` and wait for it.
    fn spawn(&mut self, _cmd: &str) {}

    /// Debian `aclexec CMD`: run it and return its exit status; `None` = not run (dry run).
    fn aclexec(&mut self, _cmd: &str) -> Option<i32> {
        None
    }

    /// `setenv NAME VALUE`. An error message denies (`memory allocation failure`).
    fn setenv(&mut self, _name: &str, _value: &str) -> Result<(), String> {
        Ok(())
    }

    /// `umask MASK` (already validated, ≤ 0777).
    fn umask(&mut self, _mask: u32) {}

    /// `nice [N]`; a returned message is logged as a warning.
    fn nice(&mut self, _value: i32) -> Option<String> {
        None
    }

    /// `keepalive`; a returned message is logged as a warning.
    fn keepalive(&mut self) -> Option<String> {
        None
    }

    /// `linger SECS`; a returned message is logged as a warning.
    fn linger(&mut self, _secs: i32) -> Option<String> {
        None
    }

    /// `group NAME` (also the `.group` part of `user u.g`). An error message denies,
    /// e.g. `unknown group: "x"`.
    fn group(&mut self, _group: &str) -> Result<(), String> {
        Ok(())
    }

    /// `user NAME` (after the group part, if any). An error message denies, e.g.
    /// `unknown user: "x"`.
    fn user(&mut self, _user: &str, _group_given: bool) -> Result<(), String> {
        Ok(())
    }
}

/// Result of looking for a banner file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BannerRead {
    /// No banner file, directory exists: nothing happens.
    Missing,
    /// Neither file nor directory: warning `DIR: %m` with this `strerror()` text.
    DirError(String),
    /// The banner file's bytes.
    Content(Vec<u8>),
}

/// Effects that do nothing (the defaults).
#[derive(Debug, Clone, Copy, Default)]
pub struct DryRun;

impl Effects for DryRun {}

/// Records every effect, for tests and for callers that want to apply them later.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recorder {
    /// Pattern files served by [`Effects::pattern_file`], by path.
    pub files: Vec<(String, Vec<u8>)>,
    /// Commands given to `spawn`.
    pub spawned: Vec<String>,
    /// Commands given to `aclexec` (all "succeed" with status `aclexec_status`).
    pub aclexec: Vec<String>,
    /// The status returned for `aclexec`.
    pub aclexec_status: Option<i32>,
    /// `setenv` calls.
    pub env: Vec<(String, String)>,
    /// Banner bytes written.
    pub banners: Vec<u8>,
}

impl Effects for Recorder {
    fn pattern_file(&mut self, path: &str) -> FileRead {
        match self.files.iter().find(|(p, _)| p == path) {
            Some((_, d)) => FileRead::Content(d.clone()),
            None => FileRead::Missing,
        }
    }
    fn write_banner(&mut self, data: &[u8]) {
        self.banners.extend_from_slice(data);
    }
    fn spawn(&mut self, cmd: &str) {
        self.spawned.push(cmd.to_string());
    }
    fn aclexec(&mut self, cmd: &str) -> Option<i32> {
        self.aclexec.push(cmd.to_string());
        self.aclexec_status
    }
    fn setenv(&mut self, name: &str, value: &str) -> Result<(), String> {
        self.env.push((name.to_string(), value.to_string()));
        Ok(())
    }
}
