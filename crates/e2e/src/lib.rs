//! End-to-end tests of the whole system live in `tests/`: they start the
//! workspace's binaries (`picket`, `nsca`, `send_nsca`, `tcpd`) as real
//! processes on 127.0.0.0/8. `cargo test --workspace` builds those binaries
//! before running any test; run alone, this crate's tests say so and fail
//! if the binaries are missing.
