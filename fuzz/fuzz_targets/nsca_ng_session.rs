//! The NSCA-ng line protocol, server and client side: any bytes, any split.
#![no_main]
use libfuzzer_sys::fuzz_target;
use picket_nsca_ng_proto::{ClientSession, ServerEvent, ServerSession};

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(1, |&b| usize::from(b) + 1);
    let mut s = ServerSession::new(64);
    let mut c = ClientSession::new("fuzz");
    c.push(b"[1] X\n".to_vec());
    c.finish();
    for chunk in data.chunks(split) {
        s.receive(chunk);
        while let Some(ev) = s.poll() {
            if let ServerEvent::Command(d) = ev {
                s.answer(if d.len() % 2 == 0 { Ok(()) } else { Err("no") });
            }
        }
        let _ = s.take_output();
        c.receive(chunk);
        while c.poll().is_some() {}
        let _ = c.take_output();
    }
});
