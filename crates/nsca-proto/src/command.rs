//! The external-command line a check result becomes, exactly as the C `nsca`
//! 2.10.2 writes it (`nsca.c:1421-1442`), plus the checks that keep a
//! hostile result from becoming a second command.
//!
//! ```text
//! [<now>] PROCESS_SERVICE_CHECK_RESULT;<host>;<service>;<rc>;<output>\n
//! [<now>] PROCESS_HOST_CHECK_RESULT;<host>;<rc>;<output>\n      (empty service)
//! ```
//!
//! Host and service names are cut at the first newline; in the output `\`
//! becomes `\\` and a newline the two characters `\n`, as the C daemon does.
//! Unlike the C daemon, the other characters that end a line for some reader
//! ([`picket_text::is_line_break`]: `\r`, U+000B, U+000C, U+001C–U+001E,
//! U+0085, U+2028, U+2029) also cut a name and become a space in the output:
//! Nagios logs a command line as it is, and a reader that splits lines the
//! Unicode way would see a forged line in `nagios.log`. Anything else is
//! unchanged (a tab too), so the line is byte-for-byte the C daemon's.
//!
//! What the C daemon lets through, and [`NamePolicy::Strict`] refuses: a `;`
//! in a host or service name (it shifts the fields Nagios parses, so a result
//! can land on another service), control characters and line breaks in
//! names, and an empty host name.

use std::io::Write;

use crate::packet::CheckResult;

/// How host and service names are checked before a line is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum NamePolicy {
    /// Refuse results whose names would make a malformed command: `;`, any
    /// control character or line break, or an empty host name. The default.
    #[default]
    Strict,
    /// Do what the C daemon does: cut names at the first newline (here: line
    /// break), nothing else.
    Compat,
}

/// Why a result was not turned into a command line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RejectReason {
    /// The host name is empty.
    #[error("empty host name")]
    EmptyHost,
    /// A name holds a byte that would change the command's fields.
    #[error("{field} contains {what} (byte {byte:#04x} at offset {offset})")]
    BadNameByte {
        /// `host_name` or `svc_description`.
        field: &'static str,
        /// What the byte is.
        what: &'static str,
        /// The byte.
        byte: u8,
        /// Where it is.
        offset: usize,
    },
}

/// Checks a result's names under `policy`.
pub fn check_names(result: &CheckResult, policy: NamePolicy) -> Result<(), RejectReason> {
    if policy == NamePolicy::Compat {
        return Ok(());
    }
    if result.host_name.is_empty() {
        return Err(RejectReason::EmptyHost);
    }
    for (field, name) in [
        ("host_name", &result.host_name),
        ("svc_description", &result.service),
    ] {
        for (offset, &byte) in name.iter().enumerate() {
            let what = match byte {
                b';' => "a ';' field separator",
                0..=0x1f | 0x7f => "a control character",
                _ => continue,
            };
            return Err(RejectReason::BadNameByte {
                field,
                what,
                byte,
                offset,
            });
        }
        // The multi-byte ones (U+0085, U+2028, U+2029).
        if let Some((offset, _)) = picket_text::find_line_break(name) {
            return Err(RejectReason::BadNameByte {
                field,
                what: "a Unicode line break",
                byte: name[offset],
                offset,
            });
        }
    }
    Ok(())
}

/// Appends the command line for `result` to `out`, stamped with `now` (the
/// daemon's clock when it writes, as the C daemon does). Call
/// [`check_names`] first; this function only applies the C escaping.
pub fn write_command(out: &mut Vec<u8>, now: u64, result: &CheckResult) {
    // Writing to a Vec cannot fail.
    let _ = write!(out, "[{now}] ");
    if result.is_host_result() {
        out.extend_from_slice(b"PROCESS_HOST_CHECK_RESULT;");
        out.extend_from_slice(name_field(&result.host_name));
    } else {
        out.extend_from_slice(b"PROCESS_SERVICE_CHECK_RESULT;");
        out.extend_from_slice(name_field(&result.host_name));
        out.push(b';');
        out.extend_from_slice(name_field(&result.service));
    }
    let _ = write!(out, ";{};", result.return_code);
    escape_output(out, &result.plugin_output);
    out.push(b'\n');
}

/// Appends the Nagios check-result file the C daemon writes for `result`
/// when `check_result_path` is set (`nsca.c:1447-1511`): `now` is the server
/// time and `ctime` its `ctime(3)` text without the newline. Names are cut at
/// newlines and the output escaped as in command lines, so every `key=value`
/// stays on its line.
pub fn write_checkresult(out: &mut Vec<u8>, now: u64, ctime: &str, result: &CheckResult) {
    let _ = write!(
        out,
        "### NSCA Passive Check Result ###\n# Time: {ctime}\nfile_time={now}\n\n"
    );
    if result.is_host_result() {
        out.extend_from_slice(b"### Host Check Result ###\nhost_name=");
        out.extend_from_slice(name_field(&result.host_name));
    } else {
        out.extend_from_slice(b"### Service Check Result ###\nhost_name=");
        out.extend_from_slice(name_field(&result.host_name));
        out.extend_from_slice(b"\nservice_description=");
        out.extend_from_slice(name_field(&result.service));
    }
    let _ = write!(
        out,
        "\ncheck_type=1\nscheduled_check=0\nreschedule_check=0\nlatency=0\n\
         start_time={now}.0\nfinish_time={now}.0\nreturn_code={}\noutput=",
        result.return_code
    );
    escape_output(out, &result.plugin_output);
    out.extend_from_slice(b"\n\n");
}

/// One result of a Nagios check-result file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileResult {
    /// `host_name`.
    pub host: String,
    /// `service_description` (`None`: a host result).
    pub service: Option<String>,
    /// `start_time`, whole seconds (`None`: not given).
    pub start_time: Option<i64>,
    /// `return_code` (`atoi`, as Nagios).
    pub return_code: i32,
    /// `output`, still escaped as written (`\n`, `\\`).
    pub output: String,
}

impl FileResult {
    /// The external command the result stands for, `[time] PROCESS_…;…\n`
    /// (`now` when the file had no `start_time`); `Err` when a name holds
    /// `;` or a control character (it would shift or split the command's
    /// fields).
    pub fn command_line(&self, now: i64) -> Result<Vec<u8>, String> {
        let bad = |s: &str| s.is_empty() || s.contains(';') || s.chars().any(char::is_control);
        if bad(&self.host) || self.service.as_deref().is_some_and(bad) {
            return Err(format!(
                "host {:?} / service {:?}: empty, or holds `;` or a control character",
                self.host, self.service
            ));
        }
        let t = self.start_time.unwrap_or(now);
        let out: String = self
            .output
            .chars()
            .map(|c| if c.is_control() && c != '\t' { ' ' } else { c })
            .collect();
        Ok(match &self.service {
            Some(s) => format!(
                "[{t}] PROCESS_SERVICE_CHECK_RESULT;{};{s};{};{out}\n",
                self.host, self.return_code
            ),
            None => format!(
                "[{t}] PROCESS_HOST_CHECK_RESULT;{};{};{out}\n",
                self.host, self.return_code
            ),
        }
        .into_bytes())
    }
}

/// Reads a check-result file as Nagios 4's `process_check_result_file()`
/// does: `key=value` lines, `#` comments and blank lines skipped, unknown
/// keys ignored; each `host_name` starts a new result, so one file may hold
/// several; `file_time` is returned for the age test. A result without
/// `return_code` is taken as 0 (`atoi` of nothing), one without `output`
/// with an empty output.
pub fn read_checkresults(text: &[u8]) -> (Option<i64>, Vec<FileResult>) {
    let text = String::from_utf8_lossy(text);
    let mut file_time = None;
    let mut out: Vec<FileResult> = Vec::new();
    let atoi = |v: &str| -> i64 {
        let v = v.trim_start();
        let end = v
            .char_indices()
            .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && (c == '-' || c == '+'))))
            .map_or(v.len(), |(i, _)| i);
        v[..end].parse().unwrap_or(0)
    };
    let blank = || FileResult {
        host: String::new(),
        service: None,
        start_time: None,
        return_code: 0,
        output: String::new(),
    };
    // Keys before a result's `host_name` are its own (NRDP writes `start_time`
    // first); a second `host_name` ends the result before it.
    let mut cur = blank();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        match k {
            "file_time" => file_time = Some(atoi(v)),
            "host_name" => {
                if !cur.host.is_empty() {
                    out.push(std::mem::replace(&mut cur, blank()));
                }
                cur.host = v.to_string();
            }
            "service_description" => cur.service = Some(v.to_string()),
            "start_time" => cur.start_time = Some(atoi(v)),
            "return_code" => cur.return_code = i32::try_from(atoi(v)).unwrap_or(3),
            "output" => cur.output = v.to_string(),
            _ => {}
        }
    }
    if !cur.host.is_empty() {
        out.push(cur);
    }
    (file_time, out)
}

/// `escape_newlines()` of nsca.c: `\` to `\\`, newline to `\n`; and every
/// other line break ([`picket_text::is_line_break`]) to a space, so the
/// output cannot end a line for any reader of the command file or of the log
/// Nagios writes from it.
pub fn escape_output(out: &mut Vec<u8>, output: &[u8]) {
    out.reserve(output.len());
    let mut rest = output;
    while let Some(i) = rest.iter().position(|&b| {
        matches!(
            b,
            b'\\' | b'\n' | b'\r' | 0x0b | 0x0c | 0x1c..=0x1e | 0xc2 | 0xe2
        )
    }) {
        out.extend_from_slice(&rest[..i]);
        let (with, len): (&[u8], usize) = match rest[i] {
            b'\\' => (b"\\\\", 1),
            b'\n' => (b"\\n", 1),
            _ => match picket_text::line_break_len(&rest[i..]) {
                Some(n) => (b" ", n),
                None => (&rest[i..=i], 1),
            },
        };
        out.extend_from_slice(with);
        rest = &rest[i + len..];
    }
    out.extend_from_slice(rest);
}

/// A host or service name as it goes into a command line: cut at the first
/// line break (the C daemon cuts at the first newline).
pub fn name_field(name: &[u8]) -> &[u8] {
    match picket_text::find_line_break(name) {
        Some((i, _)) => &name[..i],
        None => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(host: &[u8], svc: &[u8], rc: i16, out: &[u8]) -> CheckResult {
        CheckResult {
            timestamp: 0,
            return_code: rc,
            host_name: host.to_vec(),
            service: svc.to_vec(),
            plugin_output: out.to_vec(),
        }
    }

    fn line(r: &CheckResult) -> String {
        let mut v = Vec::new();
        write_command(&mut v, 1234, r);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn service_and_host_lines() {
        assert_eq!(
            line(&result(b"h", b"s", 2, b"bad")),
            "[1234] PROCESS_SERVICE_CHECK_RESULT;h;s;2;bad\n"
        );
        assert_eq!(
            line(&result(b"h", b"", -1, b"x")),
            "[1234] PROCESS_HOST_CHECK_RESULT;h;-1;x\n"
        );
    }

    #[test]
    fn output_newlines_and_backslashes_are_escaped() {
        let r = result(b"h", b"s", 0, b"a\n[123] DEL_ALL_SVC_DOWNTIME;h;s\\n\\");
        assert_eq!(
            line(&r),
            "[1234] PROCESS_SERVICE_CHECK_RESULT;h;s;0;a\\n[123] DEL_ALL_SVC_DOWNTIME;h;s\\\\n\\\\\n"
        );
        assert_eq!(line(&r).matches('\n').count(), 1);
    }

    #[test]
    fn checkresult_file_like_the_c_daemon() {
        // Recorded from Debian's nsca 2.10.2 with check_result_path set.
        let mut v = Vec::new();
        write_checkresult(
            &mut v,
            1795601653,
            "Wed Nov 25 10:14:13 2026",
            &result(b"web01", b"HTTP", 1, b"WARN a\\b\nline2"),
        );
        assert_eq!(
            String::from_utf8(v).unwrap(),
            "### NSCA Passive Check Result ###\n# Time: Wed Nov 25 10:14:13 2026\n\
             file_time=1795601653\n\n### Service Check Result ###\nhost_name=web01\n\
             service_description=HTTP\ncheck_type=1\nscheduled_check=0\nreschedule_check=0\n\
             latency=0\nstart_time=1795601653.0\nfinish_time=1795601653.0\nreturn_code=1\n\
             output=WARN a\\\\b\\nline2\n\n"
        );
        let mut v = Vec::new();
        write_checkresult(
            &mut v,
            1795601653,
            "Wed Nov 25 10:14:13 2026",
            &result(b"db01", b"", 3, b"host out"),
        );
        assert_eq!(
            String::from_utf8(v).unwrap(),
            "### NSCA Passive Check Result ###\n# Time: Wed Nov 25 10:14:13 2026\n\
             file_time=1795601653\n\n### Host Check Result ###\nhost_name=db01\n\
             check_type=1\nscheduled_check=0\nreschedule_check=0\n\
             latency=0\nstart_time=1795601653.0\nfinish_time=1795601653.0\nreturn_code=3\n\
             output=host out\n\n"
        );
    }

    #[test]
    fn no_line_break_for_any_reader_survives_in_a_command_line() {
        let breaks = [
            "\r", "\u{0b}", "\u{0c}", "\u{1c}", "\u{1d}", "\u{1e}", "\u{85}", "\u{2028}",
            "\u{2029}",
        ];
        for b in breaks {
            let forged = format!("ok{b}[0] DISABLE_NOTIFICATIONS\tstill");
            let r = result(b"h", b"s", 2, forged.as_bytes());
            assert_eq!(
                line(&r),
                "[1234] PROCESS_SERVICE_CHECK_RESULT;h;s;2;ok [0] DISABLE_NOTIFICATIONS\tstill\n",
                "{b:?}"
            );
            let r = result(
                format!("h{b}x").as_bytes(),
                format!("s{b}y").as_bytes(),
                0,
                b"o",
            );
            assert!(check_names(&r, NamePolicy::Strict).is_err(), "{b:?}");
            assert_eq!(
                line(&r),
                "[1234] PROCESS_SERVICE_CHECK_RESULT;h;s;0;o\n",
                "{b:?}"
            );
        }
        // Non-UTF-8 bytes and other characters pass as they are.
        let r = result(
            b"h",
            b"s",
            0,
            b"\xc2\xe2\x80\x85\xff caf\xc3\xa9 \xe2\x80\x94",
        );
        let mut want = b"[1234] PROCESS_SERVICE_CHECK_RESULT;h;s;0;".to_vec();
        want.extend_from_slice(b"\xc2\xe2\x80\x85\xff caf\xc3\xa9 \xe2\x80\x94\n");
        let mut v = Vec::new();
        write_command(&mut v, 1234, &r);
        assert_eq!(v, want);
    }

    #[test]
    fn names_are_cut_at_newline_in_compat() {
        let r = result(b"h\nX", b"s\n[1] DEL", 0, b"o");
        assert!(check_names(&r, NamePolicy::Compat).is_ok());
        assert_eq!(line(&r), "[1234] PROCESS_SERVICE_CHECK_RESULT;h;s;0;o\n");
    }

    #[test]
    fn strict_refuses_separators_and_controls() {
        let semi = result(b"h;inj", b"s", 0, b"o");
        assert!(matches!(
            check_names(&semi, NamePolicy::Strict),
            Err(RejectReason::BadNameByte {
                field: "host_name",
                byte: b';',
                offset: 1,
                ..
            })
        ));
        let cr = result(b"h", b"s\r", 0, b"o");
        assert!(check_names(&cr, NamePolicy::Strict).is_err());
        assert_eq!(
            check_names(&result(b"", b"s", 0, b""), NamePolicy::Strict),
            Err(RejectReason::EmptyHost)
        );
        // High bytes (UTF-8 names) are fine.
        assert!(check_names(&result("hôte".as_bytes(), b"s", 0, b""), NamePolicy::Strict).is_ok());
    }
    #[test]
    fn check_result_files_read_back() {
        let mut v = Vec::new();
        write_checkresult(
            &mut v,
            1795601653,
            "x",
            &result(b"web01", b"HTTP", 1, b"WARN a\\b\nline2"),
        );
        write_checkresult(
            &mut v,
            1795601654,
            "x",
            &result(b"db01", b"", 3, b"host out"),
        );
        let (ft, r) = read_checkresults(&v);
        assert_eq!(ft, Some(1795601654));
        assert_eq!(r.len(), 2);
        assert_eq!(
            String::from_utf8(r[0].command_line(0).expect("line")).expect("utf-8"),
            "[1795601653] PROCESS_SERVICE_CHECK_RESULT;web01;HTTP;1;WARN a\\\\b\\nline2\n"
        );
        assert_eq!(
            String::from_utf8(r[1].command_line(0).expect("line")).expect("utf-8"),
            "[1795601654] PROCESS_HOST_CHECK_RESULT;db01;3;host out\n"
        );
        let (_, r) = read_checkresults(b"### NRDP Check ###\nstart_time=12.0\n# Time: x\nhost_name=h\nservice_description=s\ncheck_type=1\nreturn_code=2\noutput=o\\n\n");
        assert_eq!(
            String::from_utf8(r[0].command_line(0).expect("line")).expect("utf-8"),
            "[12] PROCESS_SERVICE_CHECK_RESULT;h;s;2;o\\n\n"
        );
        let (_, r) = read_checkresults(b"host_name=a;b\nreturn_code=x\n");
        assert_eq!(r[0].return_code, 0);
        assert!(r[0].command_line(0).is_err());
    }
}
