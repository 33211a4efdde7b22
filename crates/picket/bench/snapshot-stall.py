#!/usr/bin/env python3
"""How long the engine stops for a retention snapshot (benchmark, not a test).

    cargo build --release -p picket && cargo build --release -p picket-config --example gen_config
    python3 crates/picket/bench/snapshot-stall.py [SERVICES] [RUNS]     # default 100000 4

Generates SERVICES services with `gen_config` (checks switched off, retention on),
starts `picket`, and for each run writes to the command FIFO: a no-op command
(`DISABLE_FLAP_DETECTION`, timed until it is logged: the baseline), then
`SAVE_STATE_INFORMATION` followed 10 ms later by the no-op again, timed until that
one is logged: how long a command waits behind a snapshot.
"""

import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
PICKET = os.environ.get("PICKET", os.path.join(TARGET, "release", "picket"))
GEN = os.path.join(TARGET, "release", "examples", "gen_config")
NOOP = b"DISABLE_FLAP_DETECTION"


def main():
    services = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    for p in (PICKET, GEN):
        if not os.path.exists(p):
            sys.exit(f"missing {p}: see the usage at the top of this file")
    with tempfile.TemporaryDirectory(prefix="snapshot-stall-") as d:
        subprocess.run([GEN, str(services), d], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        cfg = os.path.join(d, "nagios.cfg")
        drop = ("execute_", "retain", "state_retention", "log_file", "command_file",
                "check_external")
        lines = [l for l in open(cfg) if not l.startswith(drop)]
        lines += [f"{l}\n" for l in (
            "execute_service_checks=0", "execute_host_checks=0", "retain_state_information=1",
            f"state_retention_file={d}/retention.dat", f"log_file={d}/picket.log",
            f"command_file={d}/picket.cmd", "check_external_commands=1")]
        open(cfg, "w").writelines(lines)
        log, fifo = os.path.join(d, "picket.log"), os.path.join(d, "picket.cmd")
        p = subprocess.Popen([PICKET, cfg], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 120
            while not os.path.exists(fifo) and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(2)

            def wait(n):
                while True:
                    with open(log, "rb") as f:
                        if f.read().count(NOOP) >= n:
                            return
                    time.sleep(0.001)

            fd = os.open(fifo, os.O_WRONLY)
            for i in range(1, runs + 1):
                t0 = time.perf_counter()
                os.write(fd, b"[%d] %s\n" % (int(time.time()), NOOP))
                wait(2 * i - 1)
                t1 = time.perf_counter()
                os.write(fd, b"[%d] SAVE_STATE_INFORMATION\n" % int(time.time()))
                time.sleep(0.01)
                os.write(fd, b"[%d] %s\n" % (int(time.time()), NOOP))
                wait(2 * i)
                t2 = time.perf_counter()
                print(f"{services} services: plain command {1e3 * (t1 - t0):.1f} ms; "
                      f"command behind a save {1e3 * (t2 - t1):.1f} ms "
                      f"(snapshot {os.path.getsize(os.path.join(d, 'retention.dat')) >> 20} MiB)")
                time.sleep(1.5)
            os.close(fd)
        finally:
            p.terminate()
            p.wait(timeout=60)


if __name__ == "__main__":
    main()
