//! Fuzzes the hosts.allow/hosts.deny reader and the option-string splitter: any bytes must
//! parse without panicking, and every rule's option string must split into fields.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket_tcpwrap::options::{option_fields, split_option};
use picket_tcpwrap::{Entry, Table};

fuzz_target!(|data: &[u8]| {
    let table = Table::parse("hosts.deny", data);
    for entry in table.entries() {
        if let Entry::Rule(rule) = entry {
            assert!(rule.daemons.iter().all(|w| !w.is_empty()));
            assert!(rule.clients.iter().all(|w| !w.is_empty()));
            if let Some(opts) = &rule.options {
                for field in option_fields(opts) {
                    let (key, _value) = split_option(&field);
                    assert!(!key.contains([' ', '\t', '=']));
                }
            }
        }
    }
});
