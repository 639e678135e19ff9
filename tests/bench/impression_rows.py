#!/usr/bin/env python3
"""What an anonymous answer's rows cost SQLite to write, with the customer indexes over all rows
and with them partial (WHERE customer_ref IS NOT NULL), alternated on copies of one database.

Usage: tests/bench/impression_rows.py DIR/data/cosell.db [ANSWERS]
(DIR from `PREPARE=DIR tests/bench/recommendations.sh BIN`; both indexes are rebuilt either way
before each run). Each answer is three impressions without a customer, one through
a partner offer, and that offer's touchpoint, as the server writes them: time-ordered ids, 500
answers per transaction, WAL with synchronous=NORMAL. Prints microseconds per answer, Python's
own binding included (the same in both)."""
import datetime, os, shutil, sqlite3, sys, time, uuid

INDEXES = """
DROP INDEX ix_recommendation_impressions_customer;
CREATE INDEX ix_recommendation_impressions_customer ON recommendation_impressions
  (merchant_id, customer_ref, shown_at) {where};
DROP INDEX ix_touchpoints_customer;
CREATE INDEX ix_touchpoints_customer ON touchpoints (customer_ref) {where};
"""
BATCH = 500


def copy(source, target):
    for ext in ("", "-wal", "-shm"):
        if os.path.exists(source + ext):
            shutil.copy(source + ext, target + ext)


def answers(count):
    """The rows of `count` answers, with ids in time order as UUID v7 gives them."""
    seq = 0

    def ordered_id():
        nonlocal seq
        seq += 1
        return (0x01A2 << 112 | seq << 64 | 0x7000).to_bytes(16, "big")

    merchant, partner, offer = (uuid.uuid4().bytes for _ in range(3))
    impressions, touchpoints = [], []
    for _ in range(count):
        shown_at = datetime.datetime.now(datetime.timezone.utc).isoformat()
        for item in range(3):
            through = offer if item == 0 else None
            impressions.append((ordered_id(), merchant, None, uuid.uuid4().bytes, 0, through, shown_at))
        ref = str(uuid.UUID(bytes=ordered_id()))
        touchpoints.append((ordered_id(), partner, "recommendation:" + ref, partner, offer,
                            "impression", None, ref, 0, shown_at))
    return impressions, touchpoints


def run(database, partial, count):
    work = "/tmp/impression_rows.db"
    copy(database, work)
    db = sqlite3.connect(work, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(INDEXES.format(where="WHERE customer_ref IS NOT NULL" if partial else ""))
    impressions, touchpoints = answers(count)
    start = time.perf_counter()
    for first in range(0, count, BATCH):
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO recommendation_impressions (id, merchant_id, customer_ref, subject_id,"
            " is_bundle, offer_id, shown_at) VALUES (?,?,?,?,?,?,?)",
            impressions[3 * first:3 * (first + BATCH)])
        db.executemany(
            "INSERT INTO touchpoints (id, sender_id, event_id, partner_id, offer_id, kind,"
            " customer_ref, click_id, bot, occurred_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            touchpoints[first:first + BATCH])
        db.execute("COMMIT")
    elapsed = time.perf_counter() - start
    db.close()
    return elapsed / count * 1e6


def main():
    database = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 200_000
    for partial in (False, True, False, True):
        label = "partial" if partial else "full   "
        print(f"{label} customer indexes: {run(database, partial, count):.1f} µs per answer")


main()
