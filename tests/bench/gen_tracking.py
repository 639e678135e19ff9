"""Writes touchpoints.jsonl (3 per conversion) and conversions.jsonl for `cosell import`.
Usage: gen_tracking.py DIR CONVERSIONS MERCHANT_ID REFERRER_ID..."""
import json, random, sys
from datetime import datetime, timedelta, timezone

out, n, merchant, referrers = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
rng = random.Random(7)
start = datetime.now(timezone.utc) - timedelta(days=40)
kinds = ["impression", "click", "referral"]
with open(f"{out}/touchpoints.jsonl", "w") as t, open(f"{out}/conversions.jsonl", "w") as c:
    for i in range(n):
        at = start + timedelta(seconds=i * 2)
        cust = f"c{i}"
        for k in range(3):
            t.write(json.dumps({"event_id": f"e{i}-{k}", "partner_id": rng.choice(referrers), "kind": kinds[k],
                                "customer_ref": cust, "occurred_at": (at - timedelta(hours=3 - k)).isoformat()}) + "\n")
        cents = rng.randrange(500, 50000)
        c.write(json.dumps({"merchant_id": merchant, "order_id": f"o{i}", "customer_ref": cust,
                            "occurred_at": at.isoformat(), "currency": "EUR",
                            "lines": [{"sku": f"S{i % 1000}", "quantity": 1 + i % 3,
                                       "unit_price": f"{cents // 100}.{cents % 100:02d}"}]}) + "\n")
