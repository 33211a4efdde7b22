//! The file-system side: read the main config, walk `cfg_file`/`cfg_dir`/includes, read
//! resource files, parse object files in parallel, then hand everything to the resolver.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diag::{Diagnostic, Diagnostics, Kind, LoadError, Location};
use crate::main_cfg::{MainConfig, looks_like_shinken};
use crate::model::{Config, Dialect};
use crate::raw::{RawFile, TopLevel, parse_main_file, parse_object_file};
use crate::resolve::{ParsedFile, ResolveOptions, resolve};

/// How to load.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Force a dialect; `None` detects Shinken from its main-config keys.
    pub dialect: Option<Dialect>,
    /// Parser threads; 0 = available parallelism.
    pub threads: usize,
}

/// Figures about a load, for progress output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadStats {
    /// Object files read.
    pub files: usize,
    /// Bytes of object configuration read.
    pub bytes: u64,
    /// `define` blocks parsed.
    pub definitions: usize,
}

/// The result of [`load`]: a configuration (partial if there were errors) and every
/// diagnostic, in the order found.
#[derive(Debug)]
pub struct Loaded {
    /// The resolved configuration.
    pub config: Config,
    /// Warnings and errors.
    pub diagnostics: Vec<Diagnostic>,
    /// Figures about the load.
    pub stats: LoadStats,
}

impl Loaded {
    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }
    /// Number of warnings.
    pub fn warning_count(&self) -> usize {
        self.diagnostics.len() - self.error_count()
    }
    /// The configuration if it has no errors, else [`LoadError::Invalid`].
    pub fn into_result(self) -> Result<(Config, Vec<Diagnostic>), LoadError> {
        let errors = self.error_count();
        if errors > 0 {
            Err(LoadError::Invalid {
                errors,
                diagnostics: self.diagnostics,
            })
        } else {
            Ok((self.config, self.diagnostics))
        }
    }
}

/// Read and check the configuration whose main file is `main_path`.
///
/// Only an unreadable main file is fatal; every other problem is a diagnostic.
pub fn load(main_path: &Path, opts: &LoadOptions) -> Result<Loaded, LoadError> {
    let main_text = read_config_file(main_path).map_err(|source| LoadError::MainConfig {
        path: main_path.to_owned(),
        source,
    })?;
    let mut diags = Diagnostics::new();
    let main_file: Arc<Path> = Arc::from(main_path);
    let (lines, bad) = parse_main_file(&main_text);
    for (line, text) in bad {
        diags.error(
            Kind::Syntax,
            Some(Location::new(&main_file, line)),
            None,
            format!("invalid main config line '{text}' (expected key=value)"),
        );
    }
    let dialect = opts.dialect.unwrap_or(if looks_like_shinken(&lines) {
        Dialect::Shinken
    } else {
        Dialect::Nagios
    });
    let base = main_path.parent().unwrap_or(Path::new(".")).to_owned();
    let main = MainConfig::from_lines(&lines, &main_file, &base, &mut diags);

    // Resource files.
    let mut macros: HashMap<Box<str>, Box<str>> = HashMap::new();
    for l in lines.iter().filter(|l| l.key == "resource_file") {
        let p = resolve_path(&base, l.value);
        read_resource(
            &p,
            Some(Location::new(&main_file, l.line)),
            &mut macros,
            &mut diags,
        );
    }

    // Object files in main-config order.
    let mut list = FileList::default();
    for l in &lines {
        let loc = Some(Location::new(&main_file, l.line));
        match l.key {
            "cfg_file" => list.add_file(resolve_path(&base, l.value), loc, &mut diags),
            "cfg_dir" => list.add_dir(&resolve_path(&base, l.value), loc, &mut diags),
            _ => {}
        }
    }
    // Includes (and, in Shinken, cfg_file/cfg_dir inside object files) are found by a
    // cheap pre-scan so that every file is read before any is parsed.
    let mut texts: Vec<(Arc<Path>, String)> = Vec::new();
    let mut next = 0;
    while next < list.files.len() {
        let (path, loc) = list.files[next].clone();
        next += 1;
        let text = match read_config_file(&path) {
            Ok(t) => t,
            Err(e) => {
                diags.error(
                    Kind::Io,
                    loc,
                    None,
                    format!("cannot read config file '{}': {e}", path.display()),
                );
                continue;
            }
        };
        let file: Arc<Path> = Arc::from(path.as_path());
        let dir = path.parent().unwrap_or(Path::new(".")).to_owned();
        for (line, key, value) in prescan_includes(&text, dialect) {
            let loc = Some(Location::new(&file, line));
            let p = resolve_path(&dir, &value);
            match key {
                "include_file" | "cfg_file" => list.add_file(p, loc, &mut diags),
                "include_dir" | "cfg_dir" => list.add_dir(&p, loc, &mut diags),
                "resource_file" => read_resource(&p, loc, &mut macros, &mut diags),
                _ => {}
            }
        }
        texts.push((file, text));
    }

    let raws = parse_parallel(&texts, opts.threads);
    let mut stats = LoadStats {
        files: texts.len(),
        bytes: texts.iter().map(|(_, t)| t.len() as u64).sum(),
        definitions: 0,
    };
    let mut files = Vec::with_capacity(raws.len());
    for ((path, _), raw) in texts.iter().zip(raws) {
        stats.definitions += raw.objects.len();
        for (line, stmt) in &raw.top {
            let loc = Some(Location::new(path, *line));
            match stmt {
                TopLevel::IncludeFile(_) | TopLevel::IncludeDir(_) => {}
                TopLevel::Macro(name, value) => {
                    if dialect == Dialect::Shinken {
                        macros.insert((*name).into(), value.as_ref().into());
                    } else {
                        diags.error(
                            Kind::Syntax,
                            loc,
                            None,
                            format!("unexpected token or statement '${name}$=…' (resource macros belong in a resource_file)"),
                        );
                    }
                }
                TopLevel::Assignment(k, _) => {
                    if dialect == Dialect::Shinken {
                        if !matches!(*k, "cfg_file" | "cfg_dir" | "resource_file") {
                            diags.warning(
                                Kind::Unsupported,
                                loc,
                                None,
                                format!("main config key '{k}' inside an object file is not used by Picket; ignored"),
                            );
                        }
                    } else {
                        diags.error(
                            Kind::Syntax,
                            loc,
                            None,
                            format!("unexpected token or statement '{k}=…'"),
                        );
                    }
                }
            }
        }
        files.push(ParsedFile {
            path: Arc::clone(path),
            raw,
        });
    }
    let (config, rdiags) = resolve(&files, main, macros, ResolveOptions { dialect });
    diags.extend(rdiags);
    Ok(Loaded {
        config,
        diagnostics: diags.into_vec(),
        stats,
    })
}

fn resolve_path(base: &Path, v: &str) -> PathBuf {
    let p = PathBuf::from(v);
    if p.is_absolute() { p } else { base.join(p) }
}

/// The most a configuration file (main, object, resource, include) may hold: 256 MiB.
/// A bigger one is refused with its path, instead of being read until memory runs out.
pub const MAX_CONFIG_FILE_BYTES: u64 = 256 << 20;

/// Reads a configuration file: only a regular file, and at most
/// [`MAX_CONFIG_FILE_BYTES`]. The file is opened first (non-blocking, so that a FIFO
/// cannot hang the open) and the opened descriptor is checked, so the file checked is
/// the file read; the read itself stops one byte past the limit, so a file that grows
/// while it is read cannot get past it either. Invalid UTF-8 is replaced.
pub fn read_config_file(path: &Path) -> std::io::Result<String> {
    read_bounded(path, MAX_CONFIG_FILE_BYTES).map(|bytes| match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// What a file that is not a regular file is, for a message: `a FIFO`, …
fn kind_of(ft: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

fn not_regular(ft: std::fs::FileType) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!("not a regular file (it is {})", kind_of(ft)),
    )
}

/// A file the daemon writes (`log_file`, `status_file`, `state_retention_file`,
/// `history_file`) may be a regular file, a character device such as `/dev/null`, or
/// not there yet; with `fifo_ok` (the log, which may be `/dev/stdout` on a pipe) a FIFO
/// too, whose open the caller makes non-blocking. Anything else cannot be written as
/// that file (a FIFO as a status or history file would block the daemon with no word
/// said): refused with what the path is (`not a regular file (it is a FIFO)`).
pub fn check_data_file(path: &Path, fifo_ok: bool) -> std::io::Result<()> {
    use std::os::unix::fs::FileTypeExt;
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() || m.file_type().is_char_device() => Ok(()),
        Ok(m) if fifo_ok && m.file_type().is_fifo() => Ok(()),
        Ok(m) => Err(not_regular(m.file_type())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

fn read_bounded(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    let meta = file.metadata()?;
    let ft = meta.file_type();
    if !ft.is_file() {
        return Err(not_regular(ft));
    }
    if meta.len() > limit {
        return Err(too_large(limit));
    }
    let cap = usize::try_from(meta.len()).unwrap_or(0);
    read_limited(file, limit, cap)
}

fn too_large(limit: u64) -> std::io::Error {
    let size = if limit % (1 << 20) == 0 {
        format!("{} MiB", limit >> 20)
    } else {
        format!("{limit} bytes")
    };
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("larger than {size}, the most a configuration file may hold"),
    )
}

/// Reads at most `limit` bytes; one more is an error.
fn read_limited(r: impl std::io::Read, limit: u64, cap: usize) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::with_capacity(cap.saturating_add(1));
    r.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(limit));
    }
    Ok(bytes)
}

fn read_resource(
    path: &Path,
    loc: Option<Location>,
    macros: &mut HashMap<Box<str>, Box<str>>,
    diags: &mut Diagnostics,
) {
    let text = match read_config_file(path) {
        Ok(t) => t,
        Err(e) => {
            diags.error(
                Kind::Io,
                loc,
                None,
                format!("cannot read resource file '{}': {e}", path.display()),
            );
            return;
        }
    };
    let file: Arc<Path> = Arc::from(path);
    let (lines, bad) = parse_main_file(&text);
    for (line, t) in bad {
        diags.error(
            Kind::Syntax,
            Some(Location::new(&file, line)),
            None,
            format!("invalid resource line '{t}' (expected $USERn$=value)"),
        );
    }
    for l in lines {
        match l.key.strip_prefix('$').and_then(|k| k.strip_suffix('$')) {
            Some(name) if !name.is_empty() => {
                if let Some(n) = name.strip_prefix("USER") {
                    if n.parse::<u16>().map_or(true, |n| n == 0 || n > 256) {
                        diags.warning(
                            Kind::InvalidValue,
                            Some(Location::new(&file, l.line)),
                            None,
                            format!("'${name}$' is outside $USER1$..$USER256$"),
                        );
                    }
                }
                macros.insert(name.into(), l.value.into());
            }
            _ => diags.warning(
                Kind::UnusedKey,
                Some(Location::new(&file, l.line)),
                None,
                format!("resource file key '{}' is not a $MACRO$; ignored", l.key),
            ),
        }
    }
}

#[derive(Default)]
struct FileList {
    files: Vec<(PathBuf, Option<Location>)>,
    seen: HashSet<PathBuf>,
}

impl FileList {
    fn add_file(&mut self, p: PathBuf, loc: Option<Location>, _diags: &mut Diagnostics) {
        if self.seen.insert(p.clone()) {
            self.files.push((p, loc));
        }
    }

    /// Every `*.cfg` below `dir`, recursively, names sorted, dot-entries skipped.
    fn add_dir(&mut self, dir: &Path, loc: Option<Location>, diags: &mut Diagnostics) {
        let mut stack = vec![dir.to_owned()];
        let mut found = Vec::new();
        let mut depth_guard = 0usize;
        while let Some(d) = stack.pop() {
            depth_guard += 1;
            if depth_guard > 100_000 {
                break;
            }
            let entries = match std::fs::read_dir(&d) {
                Ok(e) => e,
                Err(e) => {
                    diags.error(
                        Kind::Io,
                        loc.clone(),
                        None,
                        format!("cannot read config directory '{}': {e}", d.display()),
                    );
                    continue;
                }
            };
            let mut names: Vec<_> = entries.filter_map(Result::ok).collect();
            names.sort_by_key(|e| e.file_name());
            let mut subdirs = Vec::new();
            for e in names {
                let name = e.file_name();
                let name = name.to_string_lossy();
                if name.starts_with('.') {
                    continue;
                }
                let path = e.path();
                let is_dir = std::fs::metadata(&path)
                    .map(|m| m.is_dir())
                    .unwrap_or(false);
                if is_dir {
                    subdirs.push(path);
                } else if name.ends_with(".cfg") {
                    found.push(path);
                }
            }
            // Depth-first in name order: push reversed.
            stack.extend(subdirs.into_iter().rev());
        }
        for p in found {
            self.add_file(p, loc.clone(), diags);
        }
    }
}

/// Lines outside definitions that pull in more files. Cheap: only files that mention
/// one of the keys are scanned line by line.
fn prescan_includes(text: &str, dialect: Dialect) -> Vec<(u32, &'static str, String)> {
    let shinken = dialect == Dialect::Shinken;
    if !text.contains("include_")
        && !(shinken && (text.contains("cfg_") || text.contains("resource_file")))
    {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (i, l) in text.lines().enumerate() {
        let l = l.trim();
        let Some((k, v)) = l.split_once('=') else {
            continue;
        };
        let key: &'static str = match k.trim() {
            "include_file" => "include_file",
            "include_dir" => "include_dir",
            "cfg_file" if shinken => "cfg_file",
            "cfg_dir" if shinken => "cfg_dir",
            "resource_file" if shinken => "resource_file",
            _ => continue,
        };
        let v = v.split(';').next().unwrap_or("").trim();
        out.push((u32::try_from(i + 1).unwrap_or(u32::MAX), key, v.to_owned()));
    }
    out
}

/// Parse all texts, spreading files over threads by size; results in input order.
fn parse_parallel(texts: &[(Arc<Path>, String)], threads: usize) -> Vec<RawFile<'_>> {
    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        threads
    };
    let total: usize = texts.iter().map(|(_, t)| t.len()).sum();
    if threads <= 1 || texts.len() < 2 || total < 1 << 20 {
        return texts.iter().map(|(_, t)| parse_object_file(t)).collect();
    }
    // Contiguous chunks of roughly equal bytes.
    let per = total.div_ceil(threads);
    let mut chunks: Vec<&[(Arc<Path>, String)]> = Vec::new();
    let mut start = 0;
    let mut acc = 0;
    for (i, (_, t)) in texts.iter().enumerate() {
        acc += t.len();
        if acc >= per && chunks.len() + 1 < threads {
            chunks.push(&texts[start..=i]);
            start = i + 1;
            acc = 0;
        }
    }
    if start < texts.len() {
        chunks.push(&texts[start..]);
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .iter()
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|(_, t)| parse_object_file(t))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(texts.len());
        for (h, chunk) in handles.into_iter().zip(&chunks) {
            match h.join() {
                Ok(v) => out.extend(v),
                // A panicking parser thread is a bug; fall back to parsing here.
                Err(_) => out.extend(chunk.iter().map(|(_, t)| parse_object_file(t))),
            }
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_read_up_to_the_limit_and_not_one_byte_more() {
        assert_eq!(read_limited(&b"abcd"[..], 4, 0).unwrap(), b"abcd");
        let e = read_limited(&b"abcde"[..], 4, 0).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
        assert_eq!(
            e.to_string(),
            "larger than 4 bytes, the most a configuration file may hold"
        );
        // An endless stream stops one byte past the limit.
        let e = read_limited(std::io::repeat(b'x'), 1 << 20, 0).unwrap_err();
        assert!(e.to_string().starts_with("larger than 1 MiB"), "{e}");
    }

    #[test]
    fn only_regular_files_are_read() {
        let d = tempfile::tempdir().unwrap();
        let e = read_bounded(d.path(), 10).unwrap_err();
        assert_eq!(e.to_string(), "not a regular file (it is a directory)");
        let f = d.path().join("big.cfg");
        std::fs::write(&f, "0123456789A").unwrap();
        assert!(read_bounded(&f, 10).is_err());
        assert_eq!(read_bounded(&f, 11).unwrap(), b"0123456789A");
    }
}
