#!/usr/bin/env bash
# Tracking ingest and the bulk path: touchpoints/s through POST /v1/touchpoints in batches of
# 1,000, then `cosell import` of generated touchpoints and conversions (attributed and settled)
# under /usr/bin/time -v. Loopback only; data files go to a temporary directory.
# Usage: tests/bench/tracking.sh [path/to/release/cosell] [BATCHES] [CONVERSIONS]
#   DATABASE_URL=postgres://… runs against PostgreSQL (the database must be empty).
#   Needs curl, jq and python3.
set -euo pipefail
BIN=$(realpath "${1:-target/release/cosell}")
BATCHES=${2:-300}
CONVERSIONS=${3:-1000000}
HERE=$(dirname "$(realpath "$0")")
. "$HERE/ready.sh"
PORT=${PORT:-18081}
BASE=http://127.0.0.1:$PORT
WORK=$(mktemp -d)
export COSELL_DATA_DIR=$WORK/data
trap 'kill $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT

KEY=$("$BIN" api-key create --operator --name bench 2>/dev/null)
"$BIN" serve --listen 127.0.0.1:$PORT 2>/dev/null &
PID=$!
wait_ready $PID "$BASE/readyz"

post() {
  local auth=()
  [ -n "$2" ] && auth=(-H "authorization: Bearer $2")
  curl -sf -X POST "$BASE$1" "${auth[@]}" -H 'content-type: application/json' -d "$3"
}
token() { post /v1/auth/token "" "{\"api_key\":\"$1\"}" | jq -r .access_token; }
OP=$(token "$KEY")
partner() {
  local id key
  id=$(post /v1/partners "$OP" "{\"name\":\"$1\",\"slug\":\"$1\",\"contact_email\":\"b@$1.test\"}" | jq -r .id)
  key=$(post /v1/api-keys "$OP" "{\"name\":\"bench\",\"partner_id\":\"$id\"}" | jq -r .secret)
  echo "$id $(token "$key")"
}
read -r M MT <<<"$(partner shop)"
REFERRERS=()
for r in blog news deals; do
  read -r R RT <<<"$(partner $r)"
  P=$(post /v1/partnerships "$MT" "{\"invitee_id\":\"$R\",\"commission_percent\":\"10\",\"currency\":\"EUR\",\"attribution_window_days\":30,\"hold_days\":14}" | jq -r .id)
  post "/v1/partnerships/$P/accept" "$RT" '{}' >/dev/null
  REFERRERS+=("$R")
  [ "$r" = blog ] && BLOG_TOKEN=$RT
done

echo "# POST /v1/touchpoints: $BATCHES batches of 1,000 on 2 connections"
python3 "$HERE/touchpoints_load.py" "$BASE" "$BLOG_TOKEN" "$BATCHES" 2
echo "# server RSS after the load: $(grep VmRSS /proc/$PID/status)"
kill $PID; wait $PID 2>/dev/null || true

echo "# generating $CONVERSIONS conversions and $((CONVERSIONS * 3)) touchpoints"
python3 "$HERE/gen_tracking.py" "$WORK" "$CONVERSIONS" "$M" "${REFERRERS[@]}"
ls -la "$WORK"/*.jsonl
for step in "touchpoints $WORK/touchpoints.jsonl" "conversions $WORK/conversions.jsonl --settle-as-of $(date -u -d yesterday +%F)"; do
  echo "# cosell import $step"
  # shellcheck disable=SC2086
  /usr/bin/time -v "$BIN" import $step 2>"$WORK/time.txt" </dev/null
  grep -E "Elapsed|Maximum resident|Percent of CPU" "$WORK/time.txt"
done
