//! Hostile text on its way into a log line or a command file: which
//! characters end a line for *some* reader.
//!
//! A line-oriented file (`nagios.log`, the command file, the `nsca` log) is
//! read by more than one kind of reader. Nagios and `tail` split on `\n`
//! only; Python's `str.splitlines`, many log shippers and some terminals also
//! split on `\r`, U+000B, U+000C, U+001C–U+001E, U+0085 (NEL), U+2028 (LINE
//! SEPARATOR) and U+2029 (PARAGRAPH SEPARATOR). A plugin output or NSCA
//! result that carries one of them raw into such a file forges a second line
//! (`…\u{2028}[0] DISABLE_NOTIFICATIONS`) for those readers.
//!
//! [`is_line_break`] owns that set; every sanitizer calls it (the engine's
//! `log_safe`, the NSCA command-line writer and name checks, `send_nsca`'s
//! input, the web API's field checks) instead of listing characters itself.
//! A tab is not a line break: Nagios logs it as it is, and so does Picket.

#![forbid(unsafe_code)]

/// Whether `c` ends a line for some reader of a line-oriented file: `\n`,
/// `\r`, U+000B, U+000C, U+001C, U+001D, U+001E, U+0085, U+2028, U+2029 —
/// exactly what Python's `str.splitlines` splits on.
pub const fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r' | '\u{0b}' | '\u{0c}' | '\u{1c}'
            ..='\u{1e}' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

/// The length in bytes of the line break (UTF-8 encoded) that `bytes` starts
/// with, if it starts with one. For byte strings that need not be UTF-8
/// (NSCA fields): a lone `0x85` byte is not U+0085.
pub fn line_break_len(bytes: &[u8]) -> Option<usize> {
    // Line breaks are one to three bytes long in UTF-8.
    let n = match *bytes.first()? {
        b if b < 0x80 => 1,
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => return None,
    };
    let c = std::str::from_utf8(bytes.get(..n)?).ok()?.chars().next()?;
    is_line_break(c).then_some(n)
}

/// `bytes` with every line break but `\n` replaced by one space (a multi-byte break by
/// one space), and, with `controls`, every other control character but `\t` (and DEL)
/// too: what a sender does to an output so that no reader of the command file or of the
/// log it becomes splits it where the sender did not.
pub fn spaces_for_line_breaks(bytes: &[u8], controls: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match line_break_len(&bytes[i..]) {
            Some(_) if bytes[i] == b'\n' => {
                out.push(b'\n');
                i += 1;
            }
            Some(n) => {
                out.push(b' ');
                i += n;
            }
            None => {
                let b = bytes[i];
                let control = (b < 0x20 && b != b'\t') || b == 0x7f;
                out.push(if controls && control { b' ' } else { b });
                i += 1;
            }
        }
    }
    out
}

/// Where the first line break in `bytes` starts, and how long it is.
pub fn find_line_break(bytes: &[u8]) -> Option<(usize, usize)> {
    (0..bytes.len()).find_map(|i| {
        // Only these bytes can start a line break; skip the rest cheaply.
        if matches!(
            bytes[i],
            b'\n' | b'\r' | 0x0b | 0x0c | 0x1c..=0x1e | 0xc2 | 0xe2
        ) {
            line_break_len(&bytes[i..]).map(|n| (i, n))
        } else {
            None
        }
    })
}

/// Whether `s` holds a line break.
pub fn has_line_break(s: &str) -> bool {
    s.chars().any(is_line_break)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What Python's `str.splitlines` splits on, from its documentation.
    const SPLITLINES: [char; 10] = [
        '\n', '\r', '\u{0b}', '\u{0c}', '\u{1c}', '\u{1d}', '\u{1e}', '\u{85}', '\u{2028}',
        '\u{2029}',
    ];

    #[test]
    fn the_set_is_what_splitlines_splits_on() {
        for c in SPLITLINES {
            assert!(is_line_break(c), "{c:?}");
        }
        let others = (0..=0x10ffff_u32)
            .filter_map(char::from_u32)
            .filter(|&c| is_line_break(c))
            .count();
        assert_eq!(others, SPLITLINES.len());
        assert!(!is_line_break('\t'));
        assert!(!is_line_break(' '));
        assert!(!is_line_break('\u{1b}'));
        assert!(!is_line_break('\u{1f}'));
    }

    #[test]
    fn byte_strings() {
        for c in SPLITLINES {
            let mut b = [0u8; 4];
            let enc = c.encode_utf8(&mut b).as_bytes();
            assert_eq!(line_break_len(enc), Some(enc.len()), "{c:?}");
            let mut text = b"ab".to_vec();
            text.extend_from_slice(enc);
            text.extend_from_slice(b"cd");
            assert_eq!(find_line_break(&text), Some((2, enc.len())), "{c:?}");
        }
        // A lone 0x85 (Latin-1 NEL) or a cut sequence is not UTF-8: no break.
        assert_eq!(find_line_break(b"a\x85b"), None);
        assert_eq!(find_line_break(b"a\xe2\x80"), None);
        assert_eq!(find_line_break("é…\u{2027}\u{202a}".as_bytes()), None);
        assert_eq!(find_line_break(b"tab\there"), None);
    }

    #[test]
    fn spaces_for_line_breaks_keeps_newlines_and_tabs() {
        let input = "a\nb\rc\u{2028}d\te\x01f\x7f".as_bytes();
        assert_eq!(
            spaces_for_line_breaks(input, false),
            b"a\nb c d\te\x01f\x7f"
        );
        assert_eq!(spaces_for_line_breaks(input, true), b"a\nb c d\te f ");
        // A byte that only looks like the start of U+0085 is kept.
        assert_eq!(spaces_for_line_breaks(b"\x85\xc2", true), b"\x85\xc2");
    }
}
