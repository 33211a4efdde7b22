#!/bin/sh
# Benchmark (not a test): 10,000 passive services, 200,000 PROCESS_SERVICE_CHECK_RESULT
# lines written to the command FIFO as fast as `cat` can; time from the first byte
# written until the last result is processed and logged. Picket and nagios4 run the
# same configuration in the same run, one after the other.
#
#   crates/picket/bench/passive-throughput.sh [LINES] [HOSTS] [SERVICES_PER_HOST]
#
# Needs: nagios4 (apt-get install -y nagios4-core), python3, a release build of picket
# (built here with cargo unless PICKET=/path/to/picket is given). Results are printed as a table; the run dirs are under
# $BENCH_TMP (default /tmp/picket-bench).
set -eu
LINES=${1:-200000}
HOSTS=${2:-1000}
PER_HOST=${3:-10}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
tmp=${BENCH_TMP:-/tmp/picket-bench}
rm -rf "$tmp"
mkdir -p "$tmp"

# PICKET=/path/to/picket skips the build.
if [ -z "${PICKET:-}" ]; then
    (cd "$root" && cargo build --release -q -p picket)
    PICKET="$root/target/release/picket"
fi
NAGIOS=${NAGIOS:-/usr/sbin/nagios4}

# The objects both engines run (shared with bench/pipeline/bench.py).
python3 "$root/bench/lib/nagios_bench.py" objects "$tmp/objects.cfg" "$HOSTS" "$PER_HOST"
python3 - "$tmp" "$LINES" "$HOSTS" "$PER_HOST" <<'PY'
import sys, time
tmp, lines, hosts, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
now = int(time.time())
total = hosts * per
with open(f"{tmp}/lines.txt", "w") as f:
    for i in range(lines):
        svc = i % total
        rc = 2 if (i // total) % 50 == 1 else 0
        f.write(f"[{now}] PROCESS_SERVICE_CHECK_RESULT;h{svc // per};svc{svc % per};{rc};OK - result {i} | value={i}\n")
    f.write(f"[{now}] PROCESS_SERVICE_CHECK_RESULT;h0;svc0;0;BENCH-END\n")
PY

run() { # name binary
    name=$1; bin=$2; w="$tmp/$name"
    mkdir -p "$w"
    python3 "$root/bench/lib/nagios_bench.py" main-cfg "$w" "$tmp/objects.cfg"
    "$bin" "$w/nagios.cfg" > "$w/engine.out" 2>&1 &
    pid=$!
    i=0
    while [ ! -p "$w/nagios.cmd" ]; do sleep 0.05; i=$((i+1)); [ $i -lt 1200 ] || { echo "$name: no FIFO" >&2; kill $pid; return 1; }; done
    # readiness: a no-op command must come back in the log
    echo "[$(date +%s)] ENABLE_NOTIFICATIONS" > "$w/nagios.cmd"
    until grep -q "EXTERNAL COMMAND: ENABLE_NOTIFICATIONS" "$w/nagios.log" 2>/dev/null; do sleep 0.05; done
    sleep 0.5
    # One process writes the FIFO and watches the log (no polling processes competing
    # for the 2 cores): prints the seconds from the first byte written to BENCH-END.
    secs=$(python3 - "$w/nagios.cmd" "$w/nagios.log" "$tmp/lines.txt" <<'PY'
import os, sys, threading, time
fifo, log, lines = sys.argv[1:4]
data = open(lines, "rb").read()
pos = os.path.getsize(log)
fd = os.open(fifo, os.O_WRONLY)
def writer():
    view = memoryview(data)
    while view:
        n = os.write(fd, view[:1 << 20])
        view = view[n:]
t0 = time.perf_counter()
th = threading.Thread(target=writer)
th.start()
lf = os.open(log, os.O_RDONLY)
seen = pos
while True:
    size = os.fstat(lf).st_size
    if size > seen:
        # only the tail is read: the watcher must not compete for the CPU
        if b"BENCH-END" in os.pread(lf, 4096, max(pos, size - 4096)):
            break
        seen = size
    time.sleep(0.0005)
t1 = time.perf_counter()
th.join()
os.close(fd)
print("%.4f" % (t1 - t0))
PY
)
    sleep 0.2
    # CPU of the daemon's process and its reaped children (utime stime cutime cstime),
    # start-up included: robust where wall time is not, on a shared machine.
    ticks=$(awk '{sub(/.*\) /, ""); print $12 + $13 + $14 + $15}' "/proc/$pid/stat")
    kill $pid; wait $pid 2>/dev/null || true
    n=$(grep -c "EXTERNAL COMMAND: PROCESS_SERVICE_CHECK_RESULT" "$w/nagios.log" || true)
    alerts=$(grep -c "SERVICE ALERT" "$w/nagios.log" || true)
    rate=$(echo "$n / $secs" | bc -l)
    cpu_us=$(echo "$ticks * 1000000 / $(getconf CLK_TCK) / $n" | bc -l)
    printf '%-8s %9d results  %7d alerts  %8.3f s  %12.0f results/s  %6.2f µs CPU/result\n' "$name" "$n" "$alerts" "$secs" "$rate" "$cpu_us"
    echo "$rate" > "$w/rate"
}

echo "lines=$LINES services=$((HOSTS * PER_HOST)) ($(nproc) cores)"
run picket "$PICKET"
if [ -x "$NAGIOS" ]; then
    run nagios4 "$NAGIOS"
    printf 'speed-up: %.1fx\n' "$(echo "$(cat "$tmp/picket/rate") / $(cat "$tmp/nagios4/rate")" | bc -l)"
else
    echo "nagios4 not installed: apt-get install -y nagios4-core" >&2
fi
