"""Drives POST /v1/touchpoints with prebuilt batches of 1,000 events on keep-alive connections
and prints touchpoints per second. Usage: touchpoints_load.py BASE TOKEN BATCHES CONNECTIONS"""
import http.client, json, sys, threading, time, urllib.parse
from datetime import datetime, timedelta, timezone

base, token, batches, conns = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
url = urllib.parse.urlparse(base)
now = datetime.now(timezone.utc)
kinds = ["impression", "click", "referral"]
bodies = []
for b in range(batches):
    events = [{"event_id": f"load-{b}-{i}", "kind": kinds[i % 3], "customer_ref": f"cust-{(b * 1000 + i) % 200000}",
               "occurred_at": (now - timedelta(seconds=i)).isoformat()} for i in range(1000)]
    bodies.append(json.dumps({"events": events}).encode())
headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
errors, accepted, lock = [], [0], threading.Lock()

def worker(mine):
    c = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    for body in mine:
        c.request("POST", "/v1/touchpoints", body, headers)
        r = c.getresponse()
        data = r.read()
        with lock:
            if r.status != 200:
                errors.append((r.status, data[:200]))
            else:
                accepted[0] += json.loads(data)["accepted"]

start = time.perf_counter()
threads = [threading.Thread(target=worker, args=(bodies[k::conns],)) for k in range(conns)]
for t in threads: t.start()
for t in threads: t.join()
elapsed = time.perf_counter() - start
print(f"{accepted[0]} touchpoints accepted in {elapsed:.2f} s: {accepted[0] / elapsed:,.0f} touchpoints/s "
      f"({batches / elapsed:.1f} requests/s), errors: {len(errors)} {errors[:1]}")
