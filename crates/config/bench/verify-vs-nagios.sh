#!/bin/sh
# Benchmark `picket -v` against `nagios4 -v` on generated configurations.
#
# Usage: crates/config/bench/verify-vs-nagios.sh [SIZES...]   (default: 1000 10000 100000)
# Needs: nagios4-core, GNU time (`apt-get install -y nagios4-core time`).
# Prints one Markdown table row per tool and size: wall time (s) and peak RSS (MB),
# median of RUNS runs (default 5; all wall times listed) on a shared machine.
set -eu
cd "$(dirname "$0")/../../.."
SIZES=${*:-"1000 10000 100000"}
RUNS=${RUNS:-5}
OUT=${OUT:-/tmp/picket-bench}
NAGIOS=${NAGIOS:-/usr/sbin/nagios4}
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "GNU time missing: apt-get install -y time" >&2; exit 1; }
[ -x "$NAGIOS" ] || { echo "nagios4 missing: apt-get install -y nagios4-core" >&2; exit 1; }

cargo build --release -q -p picket
cargo build --release -q -p picket-config --example gen_config
TARGET=${CARGO_TARGET_DIR:-target}
PICKET=$TARGET/release/picket

measure() { # label, command...
    label=$1; shift
    : > "$OUT/runs.txt"
    i=0
    while [ "$i" -lt "$RUNS" ]; do
        i=$((i + 1))
        "$TIME" -f '%e %M' -o "$OUT/time.txt" "$@" > "$OUT/out.txt" 2>&1 || true
        cat "$OUT/time.txt" >> "$OUT/runs.txt"
    done
    med_wall=$(sort -n -k1,1 "$OUT/runs.txt" | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
    med_rss=$(sort -n -k2,2 "$OUT/runs.txt" | awk '{a[NR]=$2} END{printf "%.0f", a[int((NR+1)/2)]/1024}')
    walls=$(awk '{printf "%s%s", sep, $1; sep=" "}' "$OUT/runs.txt")
    services=$(grep -Eo 'Checked [0-9]+ services' "$OUT/out.txt" | grep -Eo '[0-9]+' || echo '?')
    errors=$(grep -E 'Total Errors' "$OUT/out.txt" | grep -Eo '[0-9]+' || echo '?')
    printf '| %s | %s | %s | %s | %s | %s |\n' "$label" "$services" "$errors" "$med_wall" "$med_rss" "$walls"
}

mkdir -p "$OUT"
echo "| tool | services | errors | median wall (s) | median peak RSS (MB) | all walls (s) |"
echo "|---|---|---|---|---|---|"
for n in $SIZES; do
    dir="$OUT/gen$n"
    rm -rf "$dir"
    "$TARGET"/release/examples/gen_config "$n" "$dir" 2>/dev/null
    chmod -R a+rwX "$dir"   # nagios4 checks temp_path/check_result_path as its user
    measure "picket -v ($n)" "$PICKET" -q -v "$dir/nagios.cfg"
    measure "nagios4 -v ($n)" "$NAGIOS" -v "$dir/nagios.cfg"
done
