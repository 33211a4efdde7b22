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
//! becomes `\\` and a newline the two characters `\n`. Nothing else is
//! changed, so the line is byte-for-byte the C daemon's.
//!
//! What the C daemon lets through, and [`NamePolicy::Strict`] refuses: a `;`
//! in a host or service name (it shifts the fields Nagios parses, so a result
//! can land on another service), control characters in names, and an empty
//! host name.

use std::io::Write;

use crate::packet::CheckResult;

/// How host and service names are checked before a line is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum NamePolicy {
    /// Refuse results whose names would make a malformed command: `;`, any
    /// control character, or an empty host name. The default.
    #[default]
    Strict,
    /// Do what the C daemon does: cut names at the first newline, nothing else.
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
        out.extend_from_slice(cut_at_newline(&result.host_name));
    } else {
        out.extend_from_slice(b"PROCESS_SERVICE_CHECK_RESULT;");
        out.extend_from_slice(cut_at_newline(&result.host_name));
        out.push(b';');
        out.extend_from_slice(cut_at_newline(&result.service));
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
        out.extend_from_slice(cut_at_newline(&result.host_name));
    } else {
        out.extend_from_slice(b"### Service Check Result ###\nhost_name=");
        out.extend_from_slice(cut_at_newline(&result.host_name));
        out.extend_from_slice(b"\nservice_description=");
        out.extend_from_slice(cut_at_newline(&result.service));
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

/// `escape_newlines()` of nsca.c: `\` to `\\`, newline to `\n`.
pub fn escape_output(out: &mut Vec<u8>, output: &[u8]) {
    out.reserve(output.len());
    let mut rest = output;
    while let Some(i) = rest.iter().position(|&b| b == b'\\' || b == b'\n') {
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(if rest[i] == b'\\' { b"\\\\" } else { b"\\n" });
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest);
}

fn cut_at_newline(name: &[u8]) -> &[u8] {
    match name.iter().position(|&b| b == b'\n') {
        Some(i) => &name[..i],
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
}
