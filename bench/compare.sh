#!/usr/bin/env bash
# Benchmark (not a test): the export against two references, on one stack and one database.
#
#   1. starts the embedded stack (`realm-export stack --env-file`) and generates N messages;
#   2. COPY:   PostgreSQL writing the same rows as JSON itself (two parallel COPYs);
#   3. naive:  a bare JDBC + Jackson loop on 2 threads writing the same messages-NNNNNN.json files
#              (bench/NaiveExport.java), then `tar -czf` of them;
#   4. export: producer, 2 shard workers and assembler as separate processes, -Xmx256m each,
#              `request --wait` from request to finished tarball.
#
# and prints ONE line per run on stdout: the three times, export/naive, export/COPY, each
# service's peak RSS (the kernel's VmHWM) and the load average. Details go to stderr and $OUT.
#
# The services are started once. Run 1 is their first export (services=cold): every JVM meets
# the export's code for the first time, and its JIT compilers and not-yet-compiled code cost ~20
# CPU seconds more than any later export. Run 2 on (services=warm) is what a long-running
# deployment sees for every export after its first; both are printed, by default one of each.
#
#   bench/compare.sh                          # 1M messages, two runs (cold, then warm services)
#   MESSAGES=100000 RUNS=3 bench/compare.sh   # repeat steps 2-4 on the same data
#   PROFILE=1 bench/compare.sh                # also a JFR recording of each service in $OUT/jfr
#   SCALING=1 MESSAGES=300000 bench/compare.sh  # instead of 2-4: the export with 1 worker, then 2
#   HOLD=1 bench/compare.sh                   # instead of 2-4: keep the services up and write
#                                             # $OUT/export.sh and $OUT/naive.sh, one run each, to time
#                                             # alternately with any harness (A B A B ...)
#
# SCALING=1 prints one line per run: the export's time with one shard worker and with two, and the
# speedup. Every timed export runs on warm services: a warm-up export first, and another after the
# second worker is started again, so JIT compilation counts in neither.
#
# No output is deleted before the script ends (each export has a directory of its own under
# $OUT/export, each naive run $OUT/naive-K): on a file system without a journal (this machine's root),
# ext4 skips inodes freed in the last minutes when it allocates new ones, scanning past them, so a
# side that runs right after thousands of files were deleted pays for it in its own time (measured: 2 s
# of kernel CPU in the export's file creations). Needs the disk space of every run's outputs
# (~3.5 GB per run at 1M messages). Before each timed step the page cache is written back (`sync`),
# so that no step's time includes the writeback of the outputs of the one before (the export's
# fsyncs would queue behind it).
#
# Options (environment): MESSAGES (1000000), RUNS (2), WORKERS (2), HEAP (256m), OUT (a new
# temporary directory; removed unless KEEP=1), PROFILE (0), SCALING (0), HOLD (0),
# JAVA_OPTS (more JVM options for the services). Needs Java 17, Maven, tar and gzip.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

MESSAGES=${MESSAGES:-1000000}
RUNS=${RUNS:-2}
WORKERS=${WORKERS:-2}
HEAP=${HEAP:-256m}
PROFILE=${PROFILE:-0}
SCALING=${SCALING:-0}
HOLD=${HOLD:-0}
KEEP=${KEEP:-0}
OUT=${OUT:-$(mktemp -d /tmp/realm-export-compare.XXXXXX)}
mkdir -p "$OUT/logs"
say() { echo "compare: $*" >&2; }
now() { date +%s.%N; }
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
load() { cut -d' ' -f1-3 /proc/loadavg | tr ' ' '/'; }
# CPU seconds (user+sys, with reaped children) of the given pids, and of PostgreSQL's postmaster tree
cpu_of() { local t=0 pid; for pid in "$@"; do
  t=$(( t + $(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$pid/stat" 2>/dev/null || echo 0) )); done; echo "$t"; }
pg_cpu() { cpu_of "$postmaster" $(pgrep -P "$postmaster" 2>/dev/null || true); }
ticks() { awk -v t="$1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", t / hz }'; }
peak_mb() { awk '/^VmHWM:/ { printf "%d", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "?"; }

./realm-export --version >/dev/null   # builds the jar first, outside every measurement
classes="$OUT/bench-classes"
mkdir -p "$classes"
javac -nowarn -cp "$root/cli/target/lib/*" -d "$classes" bench/NaiveExport.java

pids=()   # every process started here, stopped on exit (by pid)
stop() {
  local pid
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "$@"; do wait "$pid" 2>/dev/null || true; done
}
cleanup() {
  stop "${services[@]:-}"
  stop "${pids[@]:-}"
  if [ "$KEEP" = 1 ] || [ "$PROFILE" = 1 ]; then say "kept $OUT"; else rm -rf "$OUT"; fi
}
services=()
trap cleanup EXIT

# -- the stack -----------------------------------------------------------------------------------
env_file="$OUT/stack.env"
./realm-export stack --env-file "$env_file" >"$OUT/logs/stack.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 600); do
  [ -f "$env_file" ] && break
  kill -0 "${pids[0]}" 2>/dev/null || { cat "$OUT/logs/stack.log" >&2; say "the stack did not start"; exit 1; }
  sleep 0.5
done
[ -f "$env_file" ] || { say "the stack did not start in 300 s"; exit 1; }
set -a; . "$env_file"; set +a
pg_port=$(sed -n 's|.*jdbc:postgresql://[^:/]*:\([0-9]*\)/.*|\1|p' <<<"$JDBC_URL")
postmaster=$(pgrep -f -- "postgres -D .* -p $pg_port( |$)" | head -1 || true)

say "generating $MESSAGES messages (load $(load))"
./realm-export generate --messages "$MESSAGES" >"$OUT/logs/generate.log" 2>&1 \
  || { cat "$OUT/logs/generate.log" >&2; exit 1; }
grep -E '^generated|^realm ' "$OUT/logs/generate.log" >&2
# what a production database would be: vacuumed (hint bits set, visibility map), analyzed
java -cp "$root/cli/target/lib/*:$classes" NaiveExport vacuum zulip "$OUT/copy" 2>>"$OUT/logs/copy.log"
AVATAR_SALT=$(sed -n 's/.*AVATAR_SALT=\([^ ]*\).*/\1/p' "$OUT/logs/generate.log" | head -1)
export AVATAR_SALT

# -- the services, started once and reused by every run --------------------------------------------
start_service() { # name command...
  local name=$1; shift
  local opts="-Xmx$HEAP ${JAVA_OPTS:-}"
  if [ "$PROFILE" = 1 ]; then
    mkdir -p "$OUT/jfr"
    opts="$opts -XX:StartFlightRecording=filename=$OUT/jfr/$name.jfr,settings=profile,dumponexit=true"
  fi
  REALM_EXPORT_JAVA_OPTS="$opts" ./realm-export "$@" >"$OUT/logs/$name.log" 2>&1 &
  services+=($!)
  names+=("$name")
}
names=()
await_service() { # index
  local i=$1
  for _ in $(seq 1 240); do
    grep -q 'running (Kafka' "$OUT/logs/${names[$i]}.log" 2>/dev/null && return 0
    kill -0 "${services[$i]}" 2>/dev/null || { cat "$OUT/logs/${names[$i]}.log" >&2; say "${names[$i]} died"; exit 1; }
    sleep 0.5
  done
}
start_service producer producer
for w in $(seq 1 "$WORKERS"); do start_service "worker$w" shard-worker; done
start_service assembler assembler --state-dir "$OUT/assembler-state"
for i in "${!names[@]}"; do await_service "$i"; done
say "services started: ${names[*]}"
# the first client command after a build writes the clients' class-data-sharing archive as it exits
# (./realm-export): done here, outside every measurement, as on any machine that ran a client before
./realm-export status >/dev/null 2>>"$OUT/logs/status.log" || true

# one export through the services, from request to finished tarball; prints its seconds
timed_export() {
  local t0 t1
  sync
  t0=$(now)
  /usr/bin/time -f '%U %S' -o "$OUT/time.request" \
    ./realm-export request --realm zulip --type full --output "$OUT/export" --wait \
    >>"$OUT/logs/request.log" 2>>"$OUT/logs/request.err" || { tail -5 "$OUT/logs/request.err" >&2; say "the export failed"; exit 1; }
  t1=$(now)
  seconds "$t0" "$t1"
}

if [ "$HOLD" = 1 ]; then
  # one script per side, each a whole process to time from outside (e.g. paired A B A B)
  cat >"$OUT/export.sh" <<SCRIPT
#!/usr/bin/env bash
set -euo pipefail
cd "$root"; set -a; . "$env_file"; set +a
exec ./realm-export request --realm zulip --type full --output "$OUT/export" --wait >/dev/null 2>>"$OUT/logs/request.err"
SCRIPT
  cat >"$OUT/naive.sh" <<SCRIPT
#!/usr/bin/env bash
set -euo pipefail
set -a; . "$env_file"; set +a
run=naive-\$(date +%s%N)
java -cp "$root/cli/target/lib/*:$classes" NaiveExport loop zulip "$OUT/\$run" 2 2>>"$OUT/logs/naive.log"
exec tar -czf "$OUT/\$run.tar.gz" -C "$OUT" "\$run"
SCRIPT
  chmod +x "$OUT/export.sh" "$OUT/naive.sh"
  echo "ready: $OUT/export.sh (one export through the services) and $OUT/naive.sh (the naive reference); Ctrl-C stops all"
  while :; do
    sleep 60
    rss=""; for i in "${!names[@]}"; do rss="$rss ${names[$i]}=$(peak_mb "${services[$i]}")MB"; done
    say "peak-rss:$rss load=$(load)"
  done
fi

if [ "$SCALING" = 1 ]; then
  [ "$WORKERS" = 2 ] || { say "SCALING=1 needs WORKERS=2"; exit 2; }
  w2=2   # index of worker2 in services/names: producer, worker1, worker2, assembler
  say "warm-up export with 2 workers: $(timed_export) s"
  for run in $(seq 1 "$RUNS"); do
    stop "${services[$w2]}"
    sleep 2   # the group has rebalanced onto worker1 once worker2 has left it
    one=$(timed_export)
    REALM_EXPORT_JAVA_OPTS="-Xmx$HEAP ${JAVA_OPTS:-}" ./realm-export shard-worker >"$OUT/logs/worker2.log" 2>&1 &
    services[$w2]=$!
    await_service "$w2"
    say "warm-up export with 2 workers: $(timed_export) s"
    two=$(timed_export)
    echo "messages=$MESSAGES run=$run workers1=${one}s workers2=${two}s speedup=$(ratio "$one" "$two") load=$(load)"
  done
  exit 0
fi

for run in $(seq 1 "$RUNS"); do
  load_before=$(load)
  naive=naive-$run
  sync

  t0=$(now); pg0=$(pg_cpu)
  /usr/bin/time -f '%U %S' -o "$OUT/time.copy" \
    java -cp "$root/cli/target/lib/*:$classes" NaiveExport copy zulip "$OUT/copy-$run" 2 2>>"$OUT/logs/copy.log"
  t1=$(now); pg1=$(pg_cpu)
  copy_s=$(seconds "$t0" "$t1")
  say "cpu of COPY: client $(awk '{ print $1 + $2 }' "$OUT/time.copy") s, PostgreSQL $(ticks $((pg1 - pg0))) s"

  sync
  t0=$(now); pg0=$(pg_cpu)
  /usr/bin/time -f '%U %S' -o "$OUT/time.loop" \
    java -cp "$root/cli/target/lib/*:$classes" NaiveExport loop zulip "$OUT/$naive" 2 2>>"$OUT/logs/naive.log"
  t1=$(now); pg1=$(pg_cpu)
  /usr/bin/time -f '%U %S' -o "$OUT/time.tar" tar -czf "$OUT/$naive.tar.gz" -C "$OUT" "$naive"
  t2=$(now)
  say "cpu of naive: loop $(awk '{ print $1 + $2 }' "$OUT/time.loop") s, PostgreSQL $(ticks $((pg1 - pg0))) s," \
      "tar -czf $(awk '{ print $1 + $2 }' "$OUT/time.tar") s"
  loop_s=$(seconds "$t0" "$t1"); tar_s=$(seconds "$t1" "$t2"); naive_s=$(seconds "$t0" "$t2")

  svc0=(); for pid in "${services[@]}"; do svc0+=("$(cpu_of "$pid")"); done
  pg0=$(pg_cpu); stack0=$(cpu_of "${pids[0]}")
  export_s=$(timed_export)
  pg1=$(pg_cpu)
  cpu=""; for i in "${!names[@]}"; do cpu="$cpu ${names[$i]} $(ticks $(( $(cpu_of "${services[$i]}") - ${svc0[$i]} ))) s,"; done
  say "cpu of export:$cpu request $(awk '{ print $1 + $2 }' "$OUT/time.request") s, PostgreSQL $(ticks $((pg1 - pg0))) s," \
      "the stack's JVM (Kafka broker) $(ticks $(( $(cpu_of "${pids[0]}") - stack0 ))) s"
  tail -1 "$OUT/logs/request.err" | cut -c1-300 >&2
  rss=""
  for i in "${!names[@]}"; do rss="$rss ${names[$i]}=$(peak_mb "${services[$i]}")MB"; done

  [ "$run" = 1 ] && services_state=cold || services_state=warm
  echo "messages=$MESSAGES run=$run services=$services_state export=${export_s}s naive=${naive_s}s(loop ${loop_s}+tar ${tar_s}) copy=${copy_s}s" \
       "export/naive=$(ratio "$export_s" "$naive_s") export/copy=$(ratio "$export_s" "$copy_s")" \
       "peak-rss:${rss} load=${load_before}..$(load)"
done
