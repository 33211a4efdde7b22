//! Following a file like `tail -F` (edge).
//!
//! [`Follower::poll`] reads what was appended since the last call and returns the complete
//! lines (a partial last line waits for its newline). Each call also checks the path:
//! * another inode at the path (rotation): the old file is read to its end first, then
//!   the new one from offset 0;
//! * the file shorter than the read position (truncation, `copytruncate`): read again
//!   from 0 (a file truncated and refilled past that position between two polls, 200 ms
//!   apart, looks like an append: its first bytes are lost);
//! * the path missing: keep the open file (it may be renamed), retry the path next time.
//!
//! The position ([`Position`]: device, inode, offset of the end of the last complete line)
//! is what the caller persists. On a restart, [`Follower::new`] resumes at the saved
//! offset when the path still has the saved inode; when it has another inode (rotated
//! while the sensor was down) and `PATH.1` has the saved one, the rest of `PATH.1` is read
//! first, then the new file from 0 — so a restart neither repeats nor skips.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Lines longer than this are cut (the rest up to the newline is skipped).
pub const MAX_LINE: usize = 64 * 1024;
/// Bytes read per call and file at most (so one busy file cannot starve the others).
pub const READ_CHUNK: usize = 4 * 1024 * 1024;

/// Where a followed file was read up to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// `st_dev`.
    pub dev: u64,
    /// `st_ino`.
    pub ino: u64,
    /// Offset after the last complete line handed out.
    pub offset: u64,
}

/// One open file being read.
#[derive(Debug)]
struct Reader {
    file: File,
    pos: Position,
    /// Read position (past `pos.offset` by the bytes of an incomplete line).
    cursor: u64,
    partial: Vec<u8>,
    /// Inside a line longer than [`MAX_LINE`] whose head was handed out.
    skipping: bool,
}

impl Reader {
    fn open(file: File, offset: u64) -> io::Result<Reader> {
        let m = file.metadata()?;
        let (dev, ino) = stat_id(&m);
        Ok(Reader {
            file,
            pos: Position { dev, ino, offset },
            cursor: offset,
            partial: Vec::new(),
            skipping: false,
        })
    }

    fn read_lines(&mut self, long_lines: &mut u64, out: &mut Vec<String>) -> io::Result<bool> {
        let len = self.file.metadata()?.len();
        let mut any = false;
        if len < self.cursor {
            // Truncated in place (`copytruncate`): from the start again.
            self.cursor = 0;
            self.pos.offset = 0;
            self.partial.clear();
            self.skipping = false;
            any = true;
        }
        self.file.seek(SeekFrom::Start(self.cursor))?;
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0usize;
        while total < READ_CHUNK {
            let n = match self.file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            total += n;
            any = true;
            let base = self.cursor;
            self.cursor += n as u64;
            let mut at = 0usize;
            while let Some(i) = buf[at..n].iter().position(|&b| b == b'\n') {
                let line = &buf[at..at + i];
                if self.skipping {
                    self.skipping = false;
                } else {
                    self.partial.extend_from_slice(line);
                    out.push(String::from_utf8_lossy(&self.partial).into_owned());
                    self.partial.clear();
                }
                at += i + 1;
                self.pos.offset = base + at as u64;
            }
            if !self.skipping {
                self.partial.extend_from_slice(&buf[at..n]);
                if self.partial.len() > MAX_LINE {
                    self.partial.truncate(MAX_LINE);
                    out.push(String::from_utf8_lossy(&self.partial).into_owned());
                    *long_lines += 1;
                    self.partial.clear();
                    self.skipping = true;
                }
            }
            if self.skipping {
                self.pos.offset = self.cursor;
            }
        }
        Ok(any)
    }
}

/// One followed path.
#[derive(Debug)]
pub struct Follower {
    path: PathBuf,
    cur: Option<Reader>,
    /// A rotated-away file still to be read to its end (restart case).
    old: Option<Reader>,
    /// Lines cut at [`MAX_LINE`].
    pub long_lines: u64,
    /// Rotations and truncations seen.
    pub reopens: u64,
}

fn stat_id(m: &std::fs::Metadata) -> (u64, u64) {
    (m.dev(), m.ino())
}

impl Follower {
    /// Follows `path`. With a saved position it resumes there (see the module doc);
    /// without one it starts at the end (`from_start` false) or at the beginning.
    pub fn new(path: &Path, saved: Option<Position>, from_start: bool) -> Follower {
        let mut f = Follower {
            path: path.to_path_buf(),
            cur: None,
            old: None,
            long_lines: 0,
            reopens: 0,
        };
        let Ok(file) = File::open(path) else {
            return f;
        };
        let Ok(m) = file.metadata() else {
            return f;
        };
        let offset = match saved {
            Some(s) if (s.dev, s.ino) == stat_id(&m) => s.offset.min(m.len()),
            Some(s) => {
                // Rotated while we were down: finish the old file if it is PATH.1.
                let mut rotated = path.as_os_str().to_owned();
                rotated.push(".1");
                if let Ok(of) = File::open(&rotated) {
                    if of.metadata().is_ok_and(|om| stat_id(&om) == (s.dev, s.ino)) {
                        f.old = Reader::open(of, s.offset).ok();
                    }
                }
                0
            }
            None if from_start => 0,
            None => m.len(),
        };
        f.cur = Reader::open(file, offset).ok();
        f
    }

    /// The path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The position to persist (end of the last complete line handed out).
    #[must_use]
    pub fn position(&self) -> Option<Position> {
        self.cur.as_ref().map(|r| r.pos)
    }

    /// Appends the complete lines available now to `out`. Returns whether anything was read.
    pub fn poll(&mut self, out: &mut Vec<String>) -> io::Result<bool> {
        let mut any = false;
        if let Some(mut old) = self.old.take() {
            any |= old.read_lines(&mut self.long_lines, out)?;
        }
        if self.cur.is_none() {
            match File::open(&self.path) {
                Ok(file) => {
                    self.cur = Some(Reader::open(file, 0)?);
                    self.reopens += 1;
                }
                Err(_) => return Ok(any),
            }
        }
        let Some(cur) = self.cur.as_mut() else {
            return Ok(any);
        };
        let before = cur.cursor;
        any |= cur.read_lines(&mut self.long_lines, out)?;
        if cur.cursor < before {
            self.reopens += 1;
        }
        let id = (cur.pos.dev, cur.pos.ino);
        if let Ok(m) = std::fs::metadata(&self.path) {
            if stat_id(&m) != id {
                // Rotated: the old file was just read to its end; switch to the new one.
                if let Ok(file) = File::open(&self.path) {
                    self.cur = Some(Reader::open(file, 0)?);
                    self.reopens += 1;
                    if let Some(cur) = self.cur.as_mut() {
                        any |= cur.read_lines(&mut self.long_lines, out)?;
                    }
                }
            }
        }
        Ok(any)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn append(p: &Path, s: &str) {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(p)
            .expect("open");
        f.write_all(s.as_bytes()).expect("write");
    }

    #[test]
    fn appends_rotation_truncation_restart() {
        let dir = tempfile::tempdir().expect("dir");
        let p = dir.path().join("auth.log");
        append(&p, "old\n");
        let mut f = Follower::new(&p, None, false);
        let mut out = Vec::new();
        f.poll(&mut out).expect("poll");
        assert!(out.is_empty(), "starts at the end");
        append(&p, "a\nb");
        f.poll(&mut out).expect("poll");
        assert_eq!(out, ["a"]);
        append(&p, "\nc\n");
        f.poll(&mut out).expect("poll");
        assert_eq!(out, ["a", "b", "c"]);
        // Rotation: rename, write to the old file, create a new one.
        std::fs::rename(&p, dir.path().join("auth.log.1")).expect("rename");
        append(&dir.path().join("auth.log.1"), "d\n");
        append(&p, "e\n");
        out.clear();
        f.poll(&mut out).expect("poll");
        assert_eq!(out, ["d", "e"]);
        // Truncation.
        // Truncation (seen while the file is shorter than the read position: a file
        // truncated and refilled past it between two polls looks like an append).
        std::fs::write(&p, "").expect("truncate");
        out.clear();
        f.poll(&mut out).expect("poll");
        append(&p, "f\n");
        f.poll(&mut out).expect("poll");
        assert_eq!(out, ["f"]);
        // Restart at the saved position, rotated while down.
        let saved = f.position().expect("pos");
        append(&p, "g\n");
        std::fs::rename(&p, dir.path().join("auth.log.1")).expect("rename");
        append(&p, "h\n");
        let mut f2 = Follower::new(&p, Some(saved), false);
        out.clear();
        f2.poll(&mut out).expect("poll");
        assert_eq!(out, ["g", "h"]);
        // Restart, not rotated: resume exactly.
        let saved = f2.position().expect("pos");
        append(&p, "i\n");
        let mut f3 = Follower::new(&p, Some(saved), false);
        out.clear();
        f3.poll(&mut out).expect("poll");
        assert_eq!(out, ["i"]);
    }

    #[test]
    fn long_lines_are_cut() {
        let dir = tempfile::tempdir().expect("dir");
        let p = dir.path().join("x.log");
        append(&p, &format!("{}\nshort\n", "x".repeat(MAX_LINE * 3)));
        let mut f = Follower::new(&p, None, true);
        let mut out = Vec::new();
        f.poll(&mut out).expect("poll");
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].len(), MAX_LINE);
        assert_eq!(out[1], "short");
        assert_eq!(f.long_lines, 1);
        let end = std::fs::metadata(&p).expect("m").len();
        assert_eq!(f.position().expect("pos").offset, end);
    }
}
