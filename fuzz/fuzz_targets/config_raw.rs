//! Raw object-file parser, then the whole resolver, on arbitrary input: must never panic.
#![no_main]

use std::path::Path;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use picket_config::raw::{parse_main_file, parse_object_file};
use picket_config::resolve::{resolve, ParsedFile, ResolveOptions};
use picket_config::{Dialect, MainConfig};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = parse_main_file(&text);
    let raw = parse_object_file(&text);
    let files = vec![ParsedFile {
        path: Arc::from(Path::new("fuzz.cfg")),
        raw,
    }];
    for dialect in [Dialect::Nagios, Dialect::Shinken] {
        let _ = resolve(
            &files,
            MainConfig::default(),
            Default::default(),
            ResolveOptions { dialect },
        );
    }
});
