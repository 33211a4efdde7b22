#!/bin/sh
# Recognizer throughput on one core (BENCHMARKS.md, "Sensor"). Usage: bench/sensor/run.sh [LINES]
set -eu
cd "$(dirname "$0")/../.."
cargo build --release -q -p picket-sensor --example recognize
bin="${CARGO_TARGET_DIR:-target}/release/examples/recognize"
for i in 1 2 3; do taskset -c 0 "$bin" "${1:-1000000}"; done
