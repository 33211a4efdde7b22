//! `nsca-ng.cfg` / `send_nsca.cfg` and the authorization decision.
#![no_main]
use libfuzzer_sys::fuzz_target;
use picket_nsca_ng_proto::config::{NoLoader, parse_client, parse_server};

fuzz_target!(|data: &[u8]| {
    let (cfg, cmd) = data.split_at(data.len() / 2);
    let text = String::from_utf8_lossy(cfg);
    if let Ok(c) = parse_server("fuzz.cfg", &text, &mut NoLoader) {
        let a = picket_nsca_ng_proto::Authorizer::new(&c);
        let _ = a.decide("fuzz", cmd);
    }
    let _ = parse_client("fuzz.cfg", &text, &NoLoader);
});
