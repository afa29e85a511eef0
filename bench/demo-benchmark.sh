#!/usr/bin/env bash
# Benchmark (not a test): runs the demo at 1,000,000 messages with -Xmx256m for the WHOLE JVM
# (embedded broker, producer, workers, assembler) and reports the export's elapsed time,
# messages per second and the JVM's peak RSS. PostgreSQL runs as its own processes and is
# reported apart.
#
#   bench/demo-benchmark.sh                 # 1M messages, 2 workers
#   MESSAGES=200000 WORKERS=4 bench/demo-benchmark.sh
set -euo pipefail
cd "$(dirname "$0")/.."

MESSAGES=${MESSAGES:-1000000}
WORKERS=${WORKERS:-2}
HEAP=${HEAP:-256m}
OUT=${OUT:-$(mktemp -d /tmp/realm-export-bench.XXXXXX)}
LOG="$OUT/demo.log"

./realm-export --version >/dev/null   # builds the jar first, outside the measurement

echo "demo: $MESSAGES messages, $WORKERS workers, -Xmx$HEAP, output $OUT" >&2
start=$(date +%s.%N)
REALM_EXPORT_JAVA_OPTS="-Xmx$HEAP ${REALM_EXPORT_JAVA_OPTS:-}" \
  ./realm-export demo --messages "$MESSAGES" --workers "$WORKERS" --output "$OUT/export" >"$LOG" 2>&1 &
launcher=$!

# sample the JVM's RSS (VmHWM is the kernel's own high-water mark) and PostgreSQL's total RSS
peak_jvm_kb=0; peak_pg_kb=0; jvm=""
while kill -0 "$launcher" 2>/dev/null; do
  [ -n "$jvm" ] || jvm=$(pgrep -f 'realm-export.jar demo' | head -1 || true)
  if [ -n "$jvm" ] && [ -r "/proc/$jvm/status" ]; then
    hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$jvm/status" 2>/dev/null || true)
    [ "${hwm:-0}" -gt "$peak_jvm_kb" ] && peak_jvm_kb=$hwm || true
    # ps fails while no postgres runs yet: not an error here
    pg=$( (ps -o rss= -C postgres 2>/dev/null || true) | awk '{s+=$1} END {print s+0}')
    [ "$pg" -gt "$peak_pg_kb" ] && peak_pg_kb=$pg || true
  fi
  sleep 0.5
done
wait "$launcher" && rc=0 || rc=$?
end=$(date +%s.%N)

cat "$LOG"
echo
echo "=== realm-export demo benchmark ==="
echo "messages:          $MESSAGES (workers $WORKERS, heap -Xmx$HEAP)"
echo "exit code:         $rc"
grep -E '^generated|^export time:|^tarball:' "$LOG" | sed 's/^/demo says:         /' || true
grep -E 'planned:|SUCCEEDED:' "$LOG" | sed 's/^.* - /service says:      /' | cut -c1-400 || true
printf 'wall (incl. gen):  %.1f s\n' "$(echo "$end - $start" | bc)"
echo "peak JVM RSS:      $((peak_jvm_kb / 1024)) MB"
echo "peak PostgreSQL:   $((peak_pg_kb / 1024)) MB (all postgres processes, summed)"
exit "$rc"
