#!/usr/bin/env python3
"""What writing status.dat costs the engine (benchmark, not a test).

    cargo build --release -p picket && cargo build --release -p picket-config --example gen_config
    python3 crates/picket/bench/status-stall.py [SERVICES] [SECONDS]     # default 100000 20

Generates SERVICES services with `gen_config` (checks switched off), then runs `picket`
twice: without `status_file`, and with `status_file` and `status_update_interval=1`
(so the engine thread copies the state every second, and the writer thread renders and
renames a file of ~1.5 KB per object). Meanwhile a no-op command
(`DISABLE_FLAP_DETECTION`) goes into the command FIFO every 20 ms and the time until it
is in the log is measured: p50, p99 and max in each run, and how many status.dat files
were written and how large they were.
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


def run(d, services, seconds, status):
    cfg = os.path.join(d, "nagios.cfg")
    drop = ("execute_", "retain", "state_retention", "log_file", "command_file",
            "check_external", "status_")
    lines = [l for l in open(os.path.join(d, "nagios.cfg.orig")) if not l.startswith(drop)]
    lines += [f"{l}\n" for l in (
        "execute_service_checks=0", "execute_host_checks=0", "retain_state_information=0",
        f"log_file={d}/picket.log", f"command_file={d}/picket.cmd",
        "check_external_commands=1")]
    st = os.path.join(d, "status.dat")
    if status:
        lines += [f"status_file={st}\n", "status_update_interval=1\n"]
    open(cfg, "w").writelines(lines)
    log, fifo = os.path.join(d, "picket.log"), os.path.join(d, "picket.cmd")
    for f in (log, st):
        if os.path.exists(f):
            os.remove(f)
    p = subprocess.Popen([PICKET, cfg], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not os.path.exists(fifo) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(3)
        logf = open(log, "rb")
        logf.seek(0, 2)
        fd = os.open(fifo, os.O_WRONLY)
        lat, writes, size, last_ino = [], 0, 0, None
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            t0 = time.perf_counter()
            os.write(fd, b"[%d] %s\n" % (int(time.time()), NOOP))
            buf = b""
            while NOOP not in buf:
                buf += logf.read()
                if NOOP not in buf:
                    time.sleep(0.0002)
            lat.append(time.perf_counter() - t0)
            if status:
                try:
                    s = os.stat(st)
                    if s.st_ino != last_ino:
                        writes, size, last_ino = writes + 1, s.st_size, s.st_ino
                except FileNotFoundError:
                    pass
            time.sleep(0.02)
        os.close(fd)
        lat.sort()
        q = lambda f: 1e3 * lat[min(len(lat) - 1, int(f * len(lat)))]
        what = (f"status.dat every 1 s: {writes} files seen in {seconds} s, {size / 1e6:.0f} MB"
                if status else "no status_file")
        print(f"{services} services, {what}: command latency p50 {q(0.5):.1f} ms, "
              f"p99 {q(0.99):.1f} ms, max {1e3 * lat[-1]:.1f} ms ({len(lat)} commands)")
    finally:
        p.terminate()
        p.wait(timeout=60)


def main():
    services = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    for p in (PICKET, GEN):
        if not os.path.exists(p):
            sys.exit(f"missing {p}: see the usage at the top of this file")
    with tempfile.TemporaryDirectory(prefix="status-stall-") as d:
        subprocess.run([GEN, str(services), d], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        os.rename(os.path.join(d, "nagios.cfg"), os.path.join(d, "nagios.cfg.orig"))
        run(d, services, seconds, False)
        run(d, services, seconds, True)


if __name__ == "__main__":
    main()
