#!/usr/bin/env bash
# Paired runs: for each round and each build in turn, a fresh copy of a prepared data
# directory, the server started on it, wrk on one request and then on GET /healthz; prints
# requests/s and the CPU time per request of the server (/proc/PID/stat) and of wrk
# (/usr/bin/time), so that builds are compared under the same conditions; then each build's means.
# Usage: ROUNDS=3 SECS=8 tests/bench/cpu_per_request.sh DIR reco.lua|known.lua BIN...
# DIR comes from `PREPARE=DIR tests/bench/recommendations.sh BIN` (needs wrk, curl).
set -euo pipefail
. "$(dirname "$0")/ready.sh"
DIR=$1; LUA=$2; shift 2
ROUNDS=${ROUNDS:-3}; SECS=${SECS:-8}; PORT=${PORT:-18081}; BASE=http://127.0.0.1:$PORT
RUN=$(mktemp -d)
trap 'kill $PID 2>/dev/null || true; rm -rf "$RUN"' EXIT
TICK=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
# load one wrk run: "<req/s> <server µs/req> <wrk µs/req> <non-2xx>"
load() {
  local before after out n
  before=$(cpu)
  out=$({ /usr/bin/time -f "WRKCPU %U %S" wrk -t2 -c16 -d"${SECS}s" "$@"; } 2>&1)
  after=$(cpu)
  n=$(awk '/requests in/{print $1}' <<<"$out")
  awk -v n="$n" -v b="$before" -v a="$after" -v t="$TICK" '
    /Requests\/sec/ {rps = $2} /WRKCPU/ {w = $2 + $3} /Non-2xx/ {bad = $NF}
    END {printf "%s %.1f %.1f %d", rps, (a - b) / t / n * 1e6, w / n * 1e6, bad}' <<<"$out"
}
echo "round build req/s server_us wrk_us non2xx healthz_req/s server_us wrk_us ratio load"
for round in $(seq 1 "$ROUNDS"); do
  for BIN in "$@"; do
    rm -rf "$RUN/data"; cp -r "$DIR/data" "$RUN/data"
    COSELL_DATA_DIR=$RUN/data "$BIN" serve --listen 127.0.0.1:$PORT 2>/dev/null &
    PID=$!
    wait_ready $PID "$BASE/readyz"; sleep 2
    avg=$(cut -d' ' -f1 /proc/loadavg)
    read -r rps s w bad <<<"$(load -s "$DIR/$LUA" "$BASE/v1/recommendations")"
    read -r hrps hs hw _ <<<"$(load "$BASE/healthz")"
    kill $PID; wait $PID 2>/dev/null || true
    echo "$round $BIN $rps $s $w $bad $hrps $hs $hw $(awk -v a="$rps" -v b="$hrps" 'BEGIN{printf "%.1f%%", a / b * 100}') $avg" | tee -a "$RUN/rows"
  done
done
# Single runs scatter widely on a shared two-core machine: compare the builds' means.
echo "build runs mean_req/s mean_server_us mean_ratio"
awk '{n[$2]++; r[$2] += $3; s[$2] += $4; q[$2] += $3 / $7}
  END {for (b in n) printf "%s %d %.0f %.1f %.1f%%\n", b, n[b], r[b] / n[b], s[b] / n[b], q[b] / n[b] * 100}' "$RUN/rows"
