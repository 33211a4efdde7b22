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

python3 - "$tmp" "$LINES" "$HOSTS" "$PER_HOST" <<'PY'
import sys, time
tmp, lines, hosts, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
with open(f"{tmp}/objects.cfg", "w") as f:
    f.write("""define timeperiod {
 timeperiod_name 24x7
 alias 24x7
 monday 00:00-24:00
 tuesday 00:00-24:00
 wednesday 00:00-24:00
 thursday 00:00-24:00
 friday 00:00-24:00
 saturday 00:00-24:00
 sunday 00:00-24:00
}
define command {
 command_name check_none
 command_line /bin/true
}
define command {
 command_name notify-none
 command_line /bin/true
}
define contact {
 contact_name nobody
 service_notification_period 24x7
 host_notification_period 24x7
 service_notification_options n
 host_notification_options n
 service_notification_commands notify-none
 host_notification_commands notify-none
}
define host {
 name bench-host
 register 0
 max_check_attempts 1
 active_checks_enabled 0
 passive_checks_enabled 1
 check_period 24x7
 notifications_enabled 0
 contacts nobody
}
define service {
 name bench-service
 register 0
 check_command check_none
 active_checks_enabled 0
 passive_checks_enabled 1
 max_check_attempts 1
 check_period 24x7
 notifications_enabled 0
 notification_interval 0
 contacts nobody
}
""")
    for h in range(hosts):
        f.write(f"define host {{\n use bench-host\n host_name h{h}\n address 10.{h // 65536}.{(h // 256) % 256}.{h % 256}\n}}\n")
        for s in range(per):
            f.write(f"define service {{\n use bench-service\n host_name h{h}\n service_description svc{s}\n}}\n")
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
    mkdir -p "$w/tmp" "$w/checkresults" "$w/archives"
    cat > "$w/nagios.cfg" <<CFG
log_file=$w/nagios.log
cfg_file=$tmp/objects.cfg
object_cache_file=$w/objects.cache
precached_object_file=$w/objects.precache
status_file=$w/status.dat
status_update_interval=10
nagios_user=$(id -un)
nagios_group=$(id -gn)
check_external_commands=1
command_file=$w/nagios.cmd
lock_file=$w/nagios.lock
temp_file=$w/nagios.tmp
temp_path=$w/tmp
query_socket=$w/nagios.qh
check_result_path=$w/checkresults
state_retention_file=$w/retention.dat
retain_state_information=1
retention_update_interval=60
log_rotation_method=n
log_archive_path=$w/archives
log_passive_checks=1
log_external_commands=1
log_initial_states=0
use_syslog=0
check_for_updates=0
enable_flap_detection=0
interval_length=60
event_broker_options=0
CFG
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
    kill $pid; wait $pid 2>/dev/null || true
    n=$(grep -c "EXTERNAL COMMAND: PROCESS_SERVICE_CHECK_RESULT" "$w/nagios.log" || true)
    alerts=$(grep -c "SERVICE ALERT" "$w/nagios.log" || true)
    rate=$(echo "$n / $secs" | bc -l)
    printf '%-8s %9d results  %7d alerts  %8.3f s  %12.0f results/s\n' "$name" "$n" "$alerts" "$secs" "$rate"
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
