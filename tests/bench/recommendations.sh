#!/usr/bin/env bash
# Measures POST /v1/recommendations on the release build, next to GET /healthz with the
# same tool in the same run. The shop sells every item of groceries.csv (its name as the
# co-purchase item key), the model is mined from those baskets, a partner with an active
# partnership offers a product next to whole milk, and each request is an anonymous web
# checkout of whole milk and rolls/buns (three items shown; the partner offer's touchpoint written).
# Then the same cart for 100,000 known customers picked at random: each request reads the
# customer's profile and shown impressions; most customers are asked once in the run and get
# a full answer, a few again (and are then at the contact cap of 3).
# Usage: tests/bench/recommendations.sh [path/to/release/cosell] [path/to/groceries.csv]
# (needs curl, jq, python3, wrk; loopback only)
# PREPARE=DIR: no load; the prepared data directory (with the customers) and the two wrk
# scripts (tokens valid for a day) go to DIR, for tests/bench/cpu_per_request.sh.
# OMIT_FIGURES=1: the customers' profiles leave out return rate, service cost and revenue
# (computed from conversions on every request).
set -euo pipefail
. "$(dirname "$0")/ready.sh"
BIN=${1:-target/release/cosell}
BASKETS=${2:-../shared/datasets/groceries.csv}
PORT=${PORT:-18081}
BASE=http://127.0.0.1:$PORT
WORK=$(mktemp -d)
PID=
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; rm -rf "$WORK"' EXIT
export COSELL_DATA_DIR=$WORK/data
PREPARE=${PREPARE:-}
[ -n "$PREPARE" ] && export COSELL_TOKEN_TTL_SECONDS=86400

# The key comes first: `api-key create` creates the database, `import` needs one.
KEY=$("$BIN" api-key create --operator --name bench 2>/dev/null)
"$BIN" import baskets "$BASKETS" 2>/dev/null | tail -1
"$BIN" serve --listen 127.0.0.1:$PORT 2>/dev/null &
PID=$!
wait_ready $PID "$BASE/readyz"

post() { curl -sf -X POST "$BASE$1" -H "authorization: Bearer $2" -H 'content-type: application/json' -d "$3"; }
token() { post /v1/auth/token "" "{\"api_key\":\"$1\"}" | jq -r .access_token; }
partner() {
  local id key
  id=$(post /v1/partners "$OP" "{\"name\":\"$1\",\"slug\":\"$1\",\"contact_email\":\"b@$1.test\"}" | jq -r .id)
  key=$(post /v1/api-keys "$OP" "{\"name\":\"bench\",\"partner_id\":\"$id\"}" | jq -r .secret)
  echo "$id $(token "$key")"
}
OP=$(token "$KEY")
read -r SHOP ST < <(partner shop)
read -r ACME AT < <(partner acme)

PRODUCTS=$(python3 - "$BASKETS" <<'PY'
import json, sys
names = sorted({n.strip() for line in open(sys.argv[1]) for n in line.split(',') if n.strip()})
print(json.dumps({"products": [
    {"sku": f"G-{i}", "title": n, "category": f"c{i % 20}", "price": "4.99", "unit_cost": "2.00",
     "currency": "EUR", "attributes": {"item_key": n}} for i, n in enumerate(names)]}))
PY
)
post /v1/products/bulk "$ST" "$PRODUCTS" > "$WORK/products.json"
id_of() { jq -r --arg n "$1" '.items[] | select(.title == $n) | .id' "$WORK/products.json"; }
MILK=$(id_of "whole milk"); ROLLS=$(id_of "rolls/buns")
echo "# $(jq '.items | length' "$WORK/products.json") products"

PS=$(post /v1/partnerships "$ST" "{\"invitee_id\":\"$ACME\",\"commission_percent\":\"10\",\"currency\":\"EUR\",\"attribution_window_days\":30,\"hold_days\":14}" | jq -r .id)
post "/v1/partnerships/$PS/accept" "$AT" '{}' >/dev/null
WINE=$(post /v1/products "$AT" '{"sku":"WINE","title":"Red wine","category":"wine","price":"12.00","unit_cost":"6.00","currency":"EUR"}' | jq -r .id)
OFFER=$(post /v1/offers "$AT" "{\"product_id\":\"$WINE\",\"anchor_partner_id\":\"$SHOP\",\"anchor_product_ids\":[\"$MILK\"],\"discount_percent\":\"10\",\"channels\":[\"checkout\"]}" | jq -r .id)
post "/v1/offers/$OFFER/publish" "$AT" '{}' >/dev/null

BODY="{\"anchor_product_ids\":[\"$MILK\",\"$ROLLS\"],\"moment\":\"checkout\",\"channel\":\"web\"}"
echo "# one answer:"; post /v1/recommendations "$ST" "$BODY" | jq -c '.items[] | {name, price, reasons}'
cat > "$WORK/reco.lua" <<LUA
wrk.method = "POST"
wrk.body = '$BODY'
wrk.headers["content-type"] = "application/json"
wrk.headers["authorization"] = "Bearer $ST"
LUA

if [ -z "$PREPARE" ]; then
  echo "# POST /v1/recommendations"
  wrk -t2 -c16 -d15s --latency -s "$WORK/reco.lua" "$BASE/v1/recommendations"
  echo "# GET /healthz (trivial handler, same run)"
  wrk -t2 -c16 -d15s --latency "$BASE/healthz"
fi

CUSTOMERS=100000
python3 - "$PORT" "$ST" "$CUSTOMERS" <<'PY'
import http.client, json, os, sys
port, token, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
conn = http.client.HTTPConnection("127.0.0.1", int(port))
profile = {"satisfaction": "ok", "consents": ["web"], "currency": "EUR"}
if not os.environ.get("OMIT_FIGURES"):
    profile.update({"return_rate": "0", "service_cost": "0", "revenue": "100"})
body = json.dumps(profile)
headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
for i in range(1, count + 1):
    conn.request("PUT", f"/v1/customers/c{i}", body, headers)
    reply = conn.getresponse()
    reply.read()
    assert reply.status in (200, 201), reply.status
PY
KNOWN="{\"customer_ref\":\"c%d\",${BODY:1}"
echo "# one answer for a known customer:"; post /v1/recommendations "$ST" "$(printf "$KNOWN" 1)" | jq -c '[.suppressed, (.items | length)]'
cat > "$WORK/known.lua" <<LUA
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.headers["authorization"] = "Bearer $ST"
request = function()
  return wrk.format(nil, nil, nil, string.format('$KNOWN', math.random($CUSTOMERS)))
end
LUA
if [ -n "$PREPARE" ]; then
  kill $PID; wait $PID 2>/dev/null || true
  mkdir -p "$PREPARE"
  cp -r "$WORK/data" "$WORK/reco.lua" "$WORK/known.lua" "$PREPARE/"
  echo "# prepared in $PREPARE"
  exit 0
fi
echo "# POST /v1/recommendations for $CUSTOMERS known customers"
wrk -t2 -c16 -d15s --latency -s "$WORK/known.lua" "$BASE/v1/recommendations"
