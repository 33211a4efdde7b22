//! Pieces shared by the three tools: command-line flags for the tables, table loading, and the
//! dry-run side effects of `tcpdmatch`/`tcpdchk`.

use std::io::Write;
use std::path::PathBuf;

use picket_tcpwrap::system::{read_banner, read_pattern_file, read_table};
use picket_tcpwrap::{BannerRead, Effects, FileRead, Tables};

/// Where the tables are, and how they are named in diagnostics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TablePaths {
    /// hosts.allow path.
    pub allow: String,
    /// hosts.deny path.
    pub deny: String,
}

impl Default for TablePaths {
    fn default() -> Self {
        TablePaths {
            allow: "/etc/hosts.allow".into(),
            deny: "/etc/hosts.deny".into(),
        }
    }
}

impl TablePaths {
    /// `-d`: the files in the current directory, named `hosts.allow`/`hosts.deny`.
    #[must_use]
    pub fn current_dir() -> Self {
        TablePaths {
            allow: "hosts.allow".into(),
            deny: "hosts.deny".into(),
        }
    }

    /// Reads both tables now (they are re-read for every connection).
    #[must_use]
    pub fn load(&self) -> Tables {
        Tables {
            allow: read_table(&PathBuf::from(&self.allow), &self.allow),
            deny: read_table(&PathBuf::from(&self.deny), &self.deny),
        }
    }
}

/// Simulated process identity for Debian's inverted `user`/`group` test (spec §6.3): in
/// tcpdmatch and tcpdchk the options "really" call `setgid()`/`setuid()`. We compute what
/// those calls would return instead of changing the identity of the process.
#[derive(Debug, Clone, Copy)]
pub struct SimIds {
    uid: u32,
    gid: u32,
}

impl SimIds {
    /// The current real uid/gid.
    #[must_use]
    pub fn current() -> Self {
        SimIds {
            uid: nix::unistd::getuid().as_raw(),
            gid: nix::unistd::getgid().as_raw(),
        }
    }
}

/// Dry-run effects of tcpdmatch/tcpdchk: files are read, banners written to stdout, commands
/// not run, `user`/`group` simulated with Debian's inverted test.
#[derive(Debug)]
pub struct DryRunEffects<W: Write> {
    /// Where banners go (tcpdmatch: stdout).
    pub out: W,
    /// Simulated identity.
    pub ids: SimIds,
}

impl<W: Write> DryRunEffects<W> {
    /// New dry run writing banners to `out`.
    pub fn new(out: W) -> Self {
        DryRunEffects {
            out,
            ids: SimIds::current(),
        }
    }

    fn setgid(&mut self, gid: u32, shown: &str) -> Result<(), String> {
        if self.ids.uid == 0 || gid == self.ids.gid {
            self.ids.gid = gid;
            Ok(())
        } else {
            Err(format!("setgid({shown}): Operation not permitted"))
        }
    }
}

impl<W: Write> Effects for DryRunEffects<W> {
    fn pattern_file(&mut self, path: &str) -> FileRead {
        read_pattern_file(path)
    }

    fn banner_file(&mut self, dir: &str, daemon: &str) -> BannerRead {
        read_banner(dir, daemon)
    }

    fn write_banner(&mut self, data: &[u8]) {
        let _ = self.out.write_all(data);
        let _ = self.out.flush();
    }

    fn group(&mut self, group: &str) -> Result<(), String> {
        let g = nix::unistd::Group::from_name(group)
            .ok()
            .flatten()
            .ok_or_else(|| format!("unknown group: \"{group}\""))?;
        self.setgid(g.gid.as_raw(), group)
    }

    fn user(&mut self, user: &str, group_given: bool) -> Result<(), String> {
        let pw = nix::unistd::User::from_name(user)
            .ok()
            .flatten()
            .ok_or_else(|| format!("unknown user: \"{user}\""))?;
        let uid = pw.uid.as_raw();
        if self.ids.uid == 0 || uid == self.ids.uid {
            self.ids.uid = uid;
        } else {
            return Err(format!("setuid({user}): Operation not permitted"));
        }
        if !group_given {
            self.setgid(pw.gid.as_raw(), user)?;
        }
        Ok(())
    }
}

/// Parses `-d`, `-i FILE`, `--allow FILE`, `--deny FILE` (getopt style, options first;
/// `-di FILE` and `-iFILE` work) and returns the remaining arguments.
///
/// `letters` are the single-letter flags that take no value (besides `d`), e.g. `"av"` for
/// tcpdchk.
pub fn parse_flags(args: &[String], letters: &str) -> Result<Flags, String> {
    let mut f = Flags::default();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if a == "--" {
            i += 1;
            break;
        }
        if let Some(long) = a.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let mut value = || -> Result<String, String> {
                if let Some(v) = inline.clone() {
                    return Ok(v);
                }
                i += 1;
                args.get(i)
                    .cloned()
                    .ok_or_else(|| format!("option --{name} requires a value"))
            };
            match name {
                "allow" => f.allow = Some(value()?),
                "deny" => f.deny = Some(value()?),
                _ => return Err(format!("unknown option --{name}")),
            }
            i += 1;
            continue;
        }
        if !a.starts_with('-') || a == "-" {
            break;
        }
        let chars: Vec<char> = a[1..].chars().collect();
        let mut k = 0;
        while k < chars.len() {
            let c = chars[k];
            match c {
                'd' => f.current_dir = true,
                'i' => {
                    let rest: String = chars[k + 1..].iter().collect();
                    if rest.is_empty() {
                        i += 1;
                        f.inetcf = Some(
                            args.get(i)
                                .cloned()
                                .ok_or("option requires an argument -- 'i'")?,
                        );
                    } else {
                        f.inetcf = Some(rest);
                    }
                    k = chars.len();
                    continue;
                }
                c if letters.contains(c) => f.letters.push(c),
                c => return Err(format!("invalid option -- '{c}'")),
            }
            k += 1;
        }
        i += 1;
    }
    f.rest = args[i.min(args.len())..].to_vec();
    Ok(f)
}

/// Parsed flags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flags {
    /// `-d`.
    pub current_dir: bool,
    /// `-i FILE`.
    pub inetcf: Option<String>,
    /// `--allow FILE`.
    pub allow: Option<String>,
    /// `--deny FILE`.
    pub deny: Option<String>,
    /// Other single-letter flags seen, in order.
    pub letters: Vec<char>,
    /// Positional arguments.
    pub rest: Vec<String>,
}

impl Flags {
    /// The table paths these flags select.
    #[must_use]
    pub fn tables(&self) -> TablePaths {
        let mut t = if self.current_dir {
            TablePaths::current_dir()
        } else {
            TablePaths::default()
        };
        if let Some(a) = &self.allow {
            t.allow = a.clone();
        }
        if let Some(d) = &self.deny {
            t.deny = d.clone();
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn getopt_like() {
        let f =
            parse_flags(&v(&["-di", "x.conf", "in.telnetd", "1.2.3.4"]), "").unwrap_or_default();
        assert!(f.current_dir);
        assert_eq!(f.inetcf.as_deref(), Some("x.conf"));
        assert_eq!(f.rest, v(&["in.telnetd", "1.2.3.4"]));
        let f =
            parse_flags(&v(&["--allow=/a", "--deny", "/d", "-av", "x"]), "av").unwrap_or_default();
        assert_eq!(
            f.tables(),
            TablePaths {
                allow: "/a".into(),
                deny: "/d".into()
            }
        );
        assert_eq!(f.letters, vec!['a', 'v']);
        assert!(parse_flags(&v(&["-x"]), "").is_err());
    }
}
