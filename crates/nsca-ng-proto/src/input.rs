//! `send_nsca`'s standard input as `nsca-ng-client` 1.6 reads it, turned
//! into the monitoring commands it pushes.
//!
//! Input is a series of records ended by the separator (ETB, 0x17, by
//! default; `-e`), or with `-C` lines of raw commands. A check-result
//! record loses its trailing newlines; then every backslash becomes `\\`
//! and every newline `\n`, and it is split at each field delimiter (TAB,
//! `-d`; no run of delimiters is merged): three fields are a host result
//! `host;status;output`, four or more a service result whose output keeps
//! any further delimiters; fewer is an error. A raw command gets
//! `[<now>] ` in front unless it starts with `[` (after blanks).
//!
//! Unlike Debian's client, a line break other than the newline
//! ([`picket_text::is_line_break`]: `\r`, U+2028, …) becomes a space, and so
//! does any other control character but the tab, so that no server (Debian's
//! accepts them) can be made to write them into its command file.

/// ETB, the default record separator.
pub const DEFAULT_SEPARATOR: u8 = 0x17;
/// TAB, the default field delimiter.
pub const DEFAULT_DELIMITER: u8 = b'\t';

/// Cuts input into records at `separator`; empty records (after the
/// trailing newlines are gone) are skipped.
pub fn records(input: &[u8], separator: u8) -> Vec<&[u8]> {
    input
        .split(|&b| b == separator)
        .map(|r| {
            let end = r.iter().rposition(|&b| b != b'\n').map_or(0, |i| i + 1);
            &r[..end]
        })
        .filter(|r| !r.is_empty())
        .collect()
}

/// Line breaks but `\n` and control characters but `\t`/`\n` become spaces.
fn clean(input: &[u8]) -> Vec<u8> {
    picket_text::spaces_for_line_breaks(input, true)
}

/// The command for one check-result record, stamped `now`, with its
/// trailing newline; `Err` when it has fewer than three fields.
pub fn check_result_command(record: &[u8], delimiter: u8, now: u64) -> Result<Vec<u8>, String> {
    let esc = crate::session::escape_output(&clean(record));
    let mut fields: Vec<&[u8]> = Vec::with_capacity(4);
    let mut rest = &esc[..];
    while fields.len() < 3 {
        match rest.iter().position(|&b| b == delimiter) {
            Some(i) => {
                fields.push(&rest[..i]);
                rest = &rest[i + 1..];
            }
            None => break,
        }
    }
    let mut out = format!("[{now}] ").into_bytes();
    match fields.len() {
        2 => {
            out.extend_from_slice(b"PROCESS_HOST_CHECK_RESULT;");
            for f in &fields {
                out.extend_from_slice(f);
                out.push(b';');
            }
        }
        3 => {
            out.extend_from_slice(b"PROCESS_SERVICE_CHECK_RESULT;");
            for f in &fields {
                out.extend_from_slice(f);
                out.push(b';');
            }
        }
        _ => return Err("Input format incorrect, see the send_nsca(8) man page".into()),
    }
    out.extend_from_slice(rest);
    out.push(b'\n');
    Ok(out)
}

/// The command for one raw line (`-C`), with its trailing newline; `None`
/// for a blank line.
pub fn raw_command(line: &[u8], now: u64) -> Option<Vec<u8>> {
    let line = clean(line);
    let start = line.iter().position(|&b| b != b' ' && b != b'\t')?;
    let line = &line[start..];
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let mut out = if line.first() == Some(&b'[') {
        Vec::new()
    } else {
        format!("[{now}] ").into_bytes()
    };
    out.extend(line.iter().map(|&b| if b == b'\n' { b' ' } else { b }));
    out.push(b'\n');
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_debians_client_sent_in_the_experiment() {
        let input = b"web01\thttp\t2\tline1\nline2 \\ back\n";
        let r = records(input, DEFAULT_SEPARATOR);
        assert_eq!(
            check_result_command(r[0], b'\t', 1796221515).unwrap(),
            b"[1796221515] PROCESS_SERVICE_CHECK_RESULT;web01;http;2;line1\\nline2 \\\\ back\n"
        );
        let r = records(b"db01\tdisk\t1\tx\x17db01\thttp\t1\ty\n", DEFAULT_SEPARATOR);
        assert_eq!(r.len(), 2);
        assert_eq!(
            check_result_command(b"web01\t0\thost ok", b'\t', 5).unwrap(),
            b"[5] PROCESS_HOST_CHECK_RESULT;web01;0;host ok\n"
        );
    }

    #[test]
    fn fields_are_not_merged_and_output_keeps_delimiters() {
        assert_eq!(
            check_result_command(b"h\t\ts\t0\ta\tb", b'\t', 1).unwrap(),
            b"[1] PROCESS_SERVICE_CHECK_RESULT;h;;s;0\ta\tb\n"
        );
        assert!(check_result_command(b"h\t0", b'\t', 1).is_err());
    }

    #[test]
    fn raw_commands_and_hostile_bytes() {
        assert_eq!(
            raw_command(b"DISABLE_NOTIFICATIONS", 7).unwrap(),
            b"[7] DISABLE_NOTIFICATIONS\n"
        );
        assert_eq!(raw_command(b"  [3] X", 7).unwrap(), b"[3] X\n");
        assert_eq!(raw_command(b"  ", 7), None);
        assert_eq!(
            check_result_command("h\t0\ta\rb\u{2028}c\0d".as_bytes(), b'\t', 1).unwrap(),
            b"[1] PROCESS_HOST_CHECK_RESULT;h;0;a b c d\n"
        );
    }
}
