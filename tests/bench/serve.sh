#!/usr/bin/env bash
# Measures `cosell serve` on the embedded default: time from start on a fresh data directory
# to a ready /readyz, idle memory, and GET /v1/products throughput and latency with wrk.
# Usage: tests/bench/serve.sh [path/to/release/cosell]   (needs curl, jq, wrk; loopback only)
set -euo pipefail
. "$(dirname "$0")/ready.sh"
BIN=${1:-target/release/cosell}
PORT=${PORT:-18080}
BASE=http://127.0.0.1:$PORT
WORK=$(mktemp -d)
trap 'kill $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT

ms() { date +%s%3N; }

echo "# startup: fresh data directory to ready /readyz (5 runs)"
for run in 1 2 3 4 5; do
  DATA="$WORK/startup-$run"
  start=$(ms)
  COSELL_DATA_DIR=$DATA "$BIN" serve --listen 127.0.0.1:$PORT 2>/dev/null &
  PID=$!
  wait_ready $PID "$BASE/readyz"
  echo "run $run: $(( $(ms) - start )) ms"
  kill $PID; wait $PID 2>/dev/null || true
done

DATA="$WORK/load"
KEY=$(COSELL_DATA_DIR=$DATA "$BIN" api-key create --operator --name bench 2>/dev/null)
COSELL_DATA_DIR=$DATA "$BIN" serve --listen 127.0.0.1:$PORT 2>/dev/null &
PID=$!
wait_ready $PID "$BASE/readyz"
sleep 1
echo "# idle memory after start: $(grep VmRSS /proc/$PID/status)"

token() { curl -s -X POST "$BASE/v1/auth/token" -H 'content-type: application/json' -d "{\"api_key\":\"$1\"}" | jq -r .access_token; }
OP=$(token "$KEY")
PARTNER=$(curl -s -X POST "$BASE/v1/partners" -H "authorization: Bearer $OP" -H 'content-type: application/json' \
  -d '{"name":"Bench","slug":"bench","contact_email":"b@bench.test"}' | jq -r .id)
PKEY=$(curl -s -X POST "$BASE/v1/api-keys" -H "authorization: Bearer $OP" -H 'content-type: application/json' \
  -d "{\"name\":\"bench\",\"partner_id\":\"$PARTNER\"}" | jq -r .secret)
PT=$(token "$PKEY")
PRODUCTS=$(jq -nc '{products: [range(100) | {sku: "SKU-\(.)", title: "Product \(.)", category: "c\(. % 5)", price: "19.99", unit_cost: "7.50", currency: "EUR"}]}')
curl -s -X POST "$BASE/v1/products/bulk" -H "authorization: Bearer $PT" -H 'content-type: application/json' -d "$PRODUCTS" | jq '.items | length' >/dev/null
echo "# idle memory with 100 products: $(grep VmRSS /proc/$PID/status)"

echo "# GET /v1/products?limit=100 (100 products, one partner)"
wrk -t2 -c32 -d15s --latency -H "authorization: Bearer $PT" "$BASE/v1/products?limit=100"
echo "# GET /healthz (trivial handler, same run)"
wrk -t2 -c32 -d10s --latency "$BASE/healthz"
echo "# memory after load: $(grep VmRSS /proc/$PID/status)"
